#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium through chromedriver.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
SUDO=""; [[ "$(id -u)" == "0" ]] || SUDO="sudo"
echo "gcrm: installing chromium and chromium-driver with apt"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
