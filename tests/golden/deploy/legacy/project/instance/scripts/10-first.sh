#!/bin/bash
echo first
