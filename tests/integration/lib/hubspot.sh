# Helpers for tests/integration/hubspot_*.sh (sourced after common.sh): a
# HubSpot simulator and a daemon with a spool connector "shop" and a
# HubSpot connector "hs". Needs curl and jq.
SIM_BIN=${SIM_BIN:-$BUILD_DIR/tests/sim/crmsim}
source "$(dirname "${BASH_SOURCE[0]}")/../../support/crmsim.bash"

# hs_sim_start [crmsim options...]: sets SIM_URL.
hs_sim_start() {
  crmsim_launch "$SIM_BIN" "$T/sim.out" "$T/sim.log" plain --flavor hubspot \
    --listen 127.0.0.1:0 --token T1 --log-requests "$@" || fail "crmsim did not start"
  SIM_PID=$CRMSIM_PID
  PIDS+=("$SIM_PID")
  SIM_URL=$CRMSIM_URL
}

# hs_config [auth lines] [extra hubspot lines]: spool + hubspot connector.
hs_config() {
  printf 'T1' >"$T/token"; chmod 600 "$T/token"
  local auth=${1:-"token_file = $T/token"}
  write_config "
[connector.hs]
type = hubspot
base_url = $SIM_URL
allow_loopback_http = yes
$auth
subscriptions = marketing=1001,loyalty_programme=1002
pull_interval = 1s
search_lag = 0s
request_timeout = 5s
${2:-}"
}

sim_get() { curl -sf --max-time 10 "$SIM_URL/__sim/$1"; }
sim_post() { curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary "$2" "$SIM_URL/__sim/$1" >/dev/null; }
# api METHOD PATH JSON: a HubSpot API call with the static token.
api() { curl -sf --max-time 10 -X "$1" -H 'Authorization: Bearer T1' -H 'Content-Type: application/json' --data-binary "$3" "$SIM_URL$2"; }

# contact_prop MEMBER PROPERTY: the simulator's value.
contact_prop() {
  sim_get state | jq -r --arg m "$1" --arg p "$2" \
    '.collections.contacts[]? | select(.properties.member_key == $m) | .properties[$p] // empty'
}
contact_id() {
  sim_get state | jq -r --arg m "$1" '.collections.contacts[]? | select(.properties.member_key == $m) | .id'
}
email_status() { # EMAIL SUBSCRIPTION_ID
  sim_get state | jq -r --arg e "$1" --arg s "$2" '.flavor_state.statuses[$e][$s].status // empty'
}
list_has() { # SEGMENT CONTACT_ID
  sim_get state | jq -e --arg n "crmsyncd $1" --arg id "$2" \
    '[.flavor_state.lists[] | select(.name == $n) | .members | has($id)] | any' >/dev/null
}
writes() { sim_get counters | jq -r '.records_written_total'; }
write_requests() {
  sim_get counters | jq -r '[.endpoints | to_entries[] | select(.key | test("search|read|definitions|list$|get|token") | not) | .value.requests] | add // 0'
}
pulls_done() { pulls_ok hs; }
pulls_at_least() { local n; n=$(pulls_done) && [ "$n" -ge "$1" ]; }
# wait_pulls N: waits until N more pull cycles have ended.
wait_pulls() {
  local now
  now=$(pulls_done) || fail "/metrics does not answer"
  local target=$((now + $1))
  wait_for 30 pulls_at_least "$target" || fail "no pull cycle ended"
}
# check CMD...: wait_for with the command re-evaluated (use functions).
current_status() { # MEMBER FIELD
  sql "SELECT json_extract(value, '\$.status') FROM current WHERE member_key = '$1' AND field = '$2'"
}
is_eq() { [ "$("${@:2}")" = "$1" ]; }
# quiet: the daemon has nothing in flight: two pull cycles with no write.
quiet() {
  local before
  for _ in $(seq 20); do
    before=$(writes)
    wait_pulls 2
    [ "$(writes)" = "$before" ] && return 0
  done
  fail "the daemon did not settle"
}
contact_id_known() { [ -n "$(contact_id "$1")" ]; }
# hs_start_ready [extra hubspot lines]: simulator, config (1 s lookback
# unless given), daemon, and the wait until the connector has read
# HubSpot's properties (it pushes nothing before).
hs_start_ready() {
  hs_sim_start
  hs_config "" "${1:-lookback = 1s}"
  start_daemon
  wait_for 20 is_eq 1 metric 'crmsyncd_hubspot_properties_ready{connector="hs"}' || fail "hubspot not ready"
}
