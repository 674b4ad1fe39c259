#!/bin/bash
echo "helper two" >> /var/log/app-setup.log
