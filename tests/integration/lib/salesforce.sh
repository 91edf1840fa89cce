# Helpers for tests/integration/salesforce_*.sh (sourced after common.sh): a
# Salesforce simulator checking JWT bearer assertions with a key made here,
# and a daemon with a spool connector "shop" and a Salesforce connector
# "sf". Needs curl, jq, openssl.
SIM_BIN=${SIM_BIN:-$BUILD_DIR/tests/sim/crmsim}
source "$(dirname "${BASH_SOURCE[0]}")/../../support/crmsim.bash"
SF_V=v66.0

# sf_sim_start [crmsim options...]: sets SIM_URL; RSA key pair in $T.
sf_sim_start() {
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/sf.key" 2>/dev/null
  chmod 600 "$T/sf.key"
  openssl pkey -in "$T/sf.key" -pubout -out "$T/sf.pub" 2>/dev/null
  crmsim_launch "$SIM_BIN" "$T/sim.out" "$T/sim.log" plain --flavor salesforce \
    --listen 127.0.0.1:0 --token T1 --log-requests --client-id CK1 --sf-username int@example.com \
    --sf-jwt-public-key "$T/sf.pub" "$@" || fail "crmsim did not start"
  SIM_PID=$CRMSIM_PID
  PIDS+=("$SIM_PID")
  SIM_URL=$CRMSIM_URL
}

# sf_config [extra salesforce lines]: spool + salesforce connector (JWT).
sf_config() {
  write_config "
[connector.sf]
type = salesforce
login_url = $SIM_URL
allow_loopback_http = yes
client_id = CK1
username = int@example.com
private_key_file = $T/sf.key
pull_interval = 1s
lookback = 0s
deleted_sweep = 0s
request_timeout = 5s
${1:-}"
}

sim_get() { curl -sf --max-time 10 "$SIM_URL/__sim/$1"; }
sim_post() { curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary "$2" "$SIM_URL/__sim/$1" >/dev/null; }
# api METHOD PATH [JSON]: a REST call with the static session T1.
api() { curl -sf --max-time 10 -X "$1" -H 'Authorization: Bearer T1' -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$SIM_URL/services/data/$SF_V$2"; }

# contact_field MEMBER FIELD: the simulator's value.
contact_field() {
  sim_get state | jq -r --arg m "$1" --arg f "$2" \
    '.collections.Contact[]? | select(.properties.Member_Key__c == $m and (.archived | not)) | .properties[$f] // empty'
}
# soql QUERY: the records of a query, with the static session.
soql() { curl -sf --max-time 10 -G -H 'Authorization: Bearer T1' --data-urlencode "q=$1" "$SIM_URL/services/data/$SF_V/query" | jq -c '.records'; }
contact_id() { soql "SELECT Id FROM Contact WHERE Member_Key__c = '$1'" | jq -r '.[0].Id // empty'; }
campaign_members() { # SEGMENT: Membership_Key__c values
  sim_get state | jq -r --arg s "$1" '.collections.CampaignMember[]? | .properties.Membership_Key__c | select(endswith(":" + $s))' | sort | tr '\n' ' '
}
writes() { sim_get counters | jq -r '.records_written_total'; }
pulls_done() { pulls_ok sf; }
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
is_eq() { [ "$("${@:2}")" = "$1" ]; }
quiet() {
  local before
  for _ in $(seq 20); do
    before=$(writes)
    wait_pulls 2
    [ "$(writes)" = "$before" ] && return 0
  done
  fail "the daemon did not settle"
}
