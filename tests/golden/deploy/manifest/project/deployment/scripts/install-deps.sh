#!/bin/bash
set -e
echo deps > /opt/myapp/deps.txt
