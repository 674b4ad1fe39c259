"""rclaude: run tasks on cloud compute, stream their output live.

Importing this package is cheap on purpose: cloud SDKs, the web server and the CLI
framework are imported lazily where they are used.
"""

__version__ = "0.1.0"
