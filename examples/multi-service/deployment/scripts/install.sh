#!/bin/bash
set -euo pipefail
echo "installing into $(pwd) for $APP_ENV"
