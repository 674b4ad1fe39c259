#!/bin/bash
echo "helper one" >> /var/log/app-setup.log
