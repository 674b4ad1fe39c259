print("hello from python-app")
