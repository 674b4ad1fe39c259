#!/bin/bash
set -e
echo "starting node"
