#!/bin/bash
set -euo pipefail
echo "main setup" >> /var/log/app-setup.log
