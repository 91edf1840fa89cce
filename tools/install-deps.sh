#!/usr/bin/env bash
# Installs the Debian 12 packages listed in .ci/deps (build, tests, demo).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $(grep -v '^#' .ci/deps) >/dev/null
echo "dependencies installed"
