#!/bin/bash
set -e
echo "installing node software"
