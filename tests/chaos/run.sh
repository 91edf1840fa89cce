#!/usr/bin/env bash
# The chaos harness (issue 7; tests/chaos/README.md).
#   tests/chaos/run.sh quick              what CI runs (a few minutes)
#   tests/chaos/run.sh soak [--minutes M] the long run: every crash point,
#                                         SOAK_KILLS (10,000) random kills,
#                                         fuzzing for the rest of M minutes
#   tests/chaos/run.sh scenario NAME...   one or more scenarios, quick-sized
# Environment: CHAOS_BUILD (a CRMSYNC_CRASHPOINTS=ON build dir, built if
# missing; default build-chaos), FUZZ_BUILD (default build-fuzz), CHAOS_KEEP=1
# keeps every world, CHAOS_TMP (default /tmp), SEED (default 7).
# Prints "scenario NAME: runs R, crash points C, lost L, duplicated D,
# integrity failures I, violations V" per scenario; exits 1 if any is not 0.
set -uo pipefail
CHAOS_DIR=$(cd "$(dirname "$0")" && pwd)
source "$CHAOS_DIR/lib.sh"
source "$CHAOS_DIR/scenarios.sh"
[ -f "$CHAOS_DIR/scenarios_hubspot.sh" ] && source "$CHAOS_DIR/scenarios_hubspot.sh"
[ -f "$CHAOS_DIR/scenarios_disk.sh" ] && source "$CHAOS_DIR/scenarios_disk.sh"
[ -f "$CHAOS_DIR/scenarios_salesforce.sh" ] && source "$CHAOS_DIR/scenarios_salesforce.sh"
[ -f "$CHAOS_DIR/scenarios_adobe.sh" ] && source "$CHAOS_DIR/scenarios_adobe.sh"
trap chaos_cleanup EXIT
# A SIGTERM/SIGINT to run.sh must still clean up (bash runs no EXIT trap on
# a signal it does not trap: an interrupted soak left a daemon and a crmsim).
trap 'exit 143' TERM
trap 'exit 130' INT

MODE=${1:-quick}; shift || true
MINUTES=20
SEED=${SEED:-7}
TOTAL_BAD=0
NAMES=()
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    *) NAMES+=("$1"); shift ;;
  esac
done
export MODE

ensure_build || { echo "chaos: cannot build $CHAOS_BUILD" >&2; exit 2; }

run_scenario() {
  case $1 in
    spool-mixed)    crash_scenario spool-mixed mixed "$SEED" 4 40 30 ;;
    spool-flipflop) crash_scenario spool-flipflop flipflop $((SEED + 1)) 3 40 6 ;;
    spool-erasure)  crash_scenario spool-erasure erasure $((SEED + 2)) 3 40 10 ;;
    spool-sighup)   crash_scenario spool-sighup mixed $((SEED + 3)) 3 40 30 HUP ;;
    spool-sigusr1)  crash_scenario spool-sigusr1 mixed $((SEED + 4)) 3 40 30 USR1 ;;
    random-kills)   random_kills random-kills $((SEED + 5)) "${KILLS:-40}" ;;
    fuzz-replay)    fuzz_replay ;;
    fuzz-run)       fuzz_run "${FUZZ_SECONDS:-60}" ;;
    *) if declare -F "scenario_$1" >/dev/null; then "scenario_$1"; else
         echo "chaos: unknown scenario $1" >&2; TOTAL_BAD=$((TOTAL_BAD + 1)); fi ;;
  esac
}

source "$CHAOS_DIR/fuzz.sh"

case $MODE in
  quick)
    QUICK_SAMPLE=${QUICK_SAMPLE:-5}
    for s in spool-mixed spool-flipflop spool-erasure spool-sighup spool-sigusr1 \
             random-kills hubspot-faults hubspot-crash hubspot-restart-hold hubspot-list-lost \
             salesforce-faults salesforce-crash adobe-faults adobe-crash clock-jump \
             disk-full disk-readonly ${QUICK_EXTRA:-} fuzz-replay; do
      run_scenario "$s"
    done ;;
  soak)
    SOAK_START=$SECONDS
    for s in spool-mixed spool-flipflop spool-erasure spool-sighup spool-sigusr1 \
             hubspot-faults hubspot-crash hubspot-outage hubspot-restart-hold hubspot-list-lost \
             hubspot-email-change salesforce-faults salesforce-crash adobe-faults adobe-crash \
             disk-full disk-readonly clock-offset clock-jump ${SOAK_EXTRA:-}; do
      run_scenario "$s"
    done
    # Random kills: SOAK_KILLS (default 10,000) whatever the time (the
    # issue asks for at least 10,000; about 0.1 s each on 2 shared cores).
    # Then fuzzing for what is left of --minutes, at least 60 s.
    KILLS=${SOAK_KILLS:-10000} run_scenario random-kills
    left=$((SOAK_START + MINUTES * 60 - SECONDS)); [ $left -gt 60 ] || left=60
    FUZZ_SECONDS=$left run_scenario fuzz-run
    log "soak: $((SECONDS - SOAK_START)) s" ;;
  scenario)
    QUICK_SAMPLE=${QUICK_SAMPLE:-5}
    for s in "${NAMES[@]}"; do run_scenario "$s"; done ;;
  *) echo "usage: $0 quick | soak [--minutes M] | scenario NAME..." >&2; exit 2 ;;
esac
[ "$TOTAL_BAD" -eq 0 ]
