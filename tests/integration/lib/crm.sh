# Helpers every CRM's integration tests need (sourced after common.sh): the
# simulator started on a free port, its test endpoints, waiting for pull
# cycles and for the daemon to settle. A CRM's own lib (lib/adobe.sh, ...)
# sets PULL_CONNECTOR (whose pull cycles crmsyncd_pulls_total counts) and adds what is
# particular to it. Needs curl, jq.
SIM_BIN=${SIM_BIN:-$BUILD_DIR/tests/sim/crmsim}
source "$(dirname "${BASH_SOURCE[0]}")/../../support/crmsim.bash"

# crm_sim_start FLAVOR [crmsim options...]: crmsim on a free loopback port
# with the static token T1 and the request log in $T/sim.log; sets SIM_URL.
crm_sim_start() {
  local flavor=$1
  shift
  crmsim_launch "$SIM_BIN" "$T/sim.out" "$T/sim.log" plain --flavor "$flavor" \
    --listen 127.0.0.1:0 --token T1 --log-requests "$@" || fail "crmsim did not start"
  SIM_PID=$CRMSIM_PID
  PIDS+=("$SIM_PID")
  SIM_URL=$CRMSIM_URL
}

sim_get() { curl -sf --max-time 10 "$SIM_URL/__sim/$1"; }
sim_post() { curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary "$2" "$SIM_URL/__sim/$1" >/dev/null; }
writes() { sim_get counters | jq -r '.records_written_total'; }

pulls_done() { pulls_ok "$PULL_CONNECTOR"; }
pulls_at_least() { local n; n=$(pulls_done) && [ "$n" -ge "$1" ]; }
wait_pulls() {
  local now
  now=$(pulls_done) || fail "/metrics does not answer"
  local target=$((now + $1))
  wait_for 60 pulls_at_least "$target" || fail "no pull cycle ended"
}
current_status() { # MEMBER FIELD
  sql "SELECT json_extract(value, '\$.status') FROM current WHERE member_key = '$1' AND field = '$2'"
}
current_value() { # MEMBER FIELD
  sql "SELECT json_extract(value, '\$.value') FROM current WHERE member_key = '$1' AND field = '$2'"
}
is_eq() { [ "$("${@:2}")" = "$1" ]; }
# quiet: until two pull cycles pass with no record written to the CRM.
quiet() {
  local before
  for _ in $(seq 20); do
    before=$(writes)
    wait_pulls 2
    [ "$(writes)" = "$before" ] && return 0
  done
  fail "the daemon did not settle"
}
