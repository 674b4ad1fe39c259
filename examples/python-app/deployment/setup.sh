#!/bin/bash
# Runs as root from the unpacked bundle; the application is already in /opt/python-app.
set -euo pipefail
cd /opt/python-app
python3 -m venv venv
venv/bin/pip install -r requirements.txt
