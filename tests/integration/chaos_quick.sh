#!/usr/bin/env bash
# The chaos harness's quick run (tests/chaos/README.md) as one test: a sample
# of crash points per scenario, random kills, the HubSpot, Salesforce and
# Adobe Campaign fault matrices and crash samples on a small data set, and
# the corpus replay of every fuzzer. It builds its own crash-point build (no
# sanitizer) and fuzz build (clang) inside BUILD_DIR.
set -euo pipefail
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
export CHAOS_BUILD=${CHAOS_BUILD:-$BUILD_DIR/chaos-crashpoints}
export FUZZ_BUILD=${FUZZ_BUILD:-$BUILD_DIR/chaos-fuzz}
exec bash "$SRC_DIR/tests/chaos/run.sh" quick
