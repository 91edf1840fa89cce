#!/usr/bin/env bash
# Installs the Debian 12 packages listed in .ci/deps (build, tests, demo),
# then the pinned npm packages of the tests that run vendor clients.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $(grep -v '^#' .ci/deps) >/dev/null
echo "dependencies installed"
# Adobe's Campaign client for tests/integration/sim_adobe_sdk.sh (Node >= 20,
# versions from package-lock.json). Without node that test skips.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    (cd tests/sim/adobe_client && npm ci --no-audit --no-fund)
    echo "npm packages installed (tests/sim/adobe_client)"
else
    echo "node/npm not found: tests/integration/sim_adobe_sdk.sh will skip"
fi
