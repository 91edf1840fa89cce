#!/usr/bin/env bash
# --check-config runs each CRM connector's start-up validation (issue 19):
# it answered "valid" for configurations the daemon then could not run (a
# HubSpot connector without token_file, a Salesforce connector without
# credentials, subscriptions = marketing=abc, tiers out of order) and for an
# attribute_map key no input can deliver. And a connector that cannot start
# is fatal at daemon start (it used to log "cannot start connector" and run
# on as if healthy), or, with [daemon] connector_start_failure = unhealthy,
# the daemon runs without it and /healthz says connector_failed.
source "$(dirname "$0")/lib/common.sh"

printf 'T1' >"$T/token"; chmod 600 "$T/token"
refused_port # the CRMs' address: nothing listens there
hs() { # extra lines of [connector.hs]
  write_config "
[connector.hs]
type = hubspot
base_url = http://127.0.0.1:$REFUSED_PORT
allow_loopback_http = yes
$1"
}
check() { "$CRMSYNCD" --check-config -c "$T/crmsyncd.conf" >"$T/out" 2>&1; }
refused() { # what, expected text
  if check; then fail "$1 passes --check-config: $(cat "$T/out")"; fi
  grep -q "crmsyncd.conf:[0-9]*: \[connector\.[a-z]*\] .*$2" "$T/out" || fail "$1: $(cat "$T/out")"
  pass "$1 is refused with file:line: $(grep -o "\[connector.*" "$T/out" | head -1)"
}

hs "token_file = $T/token
subscriptions = marketing=1001
tiers = silver:500,gold:1000
attribute_map = first_name=firstname"
check || fail "a valid HubSpot connector is refused: $(cat "$T/out")"
pass "a valid configuration passes"
grep -q 'HubSpot at\|props' "$T/out" && fail "the connector's own log lines show at check time: $(cat "$T/out")"

hs ""
refused "HubSpot without token_file" "cannot start: .*auth = static needs token_file"
hs "token_file = $T/token
subscriptions = marketing=abc"
refused "subscriptions = marketing=abc" "cannot start: subscriptions: \"abc\" is not a subscription type id"
hs "token_file = $T/token
tiers = gold:1000,silver:500"
refused "tiers out of order" "cannot start: tiers: minimums must ascend"
hs "token_file = $T/token
attribute_map = shoe_size=shoe,first_name=firstname"
refused "an unknown attribute_map key" "attribute_map: 'shoe_size' is not a profile attribute any input accepts"
write_config "
[connector.sf]
type = salesforce
login_url = http://127.0.0.1:$REFUSED_PORT
allow_loopback_http = yes"
refused "Salesforce without credentials" "cannot start: .*client_id"

# The daemon: a connector that cannot start is fatal by default...
hs ""
rc=0
timeout 60 "$CRMSYNCD" -c "$T/crmsyncd.conf" >"$T/fatal.log" 2>&1 || rc=$?
assert_eq "$rc" 1 "the daemon exits 1 when a connector cannot start"
grep -q 'a connector cannot start (see above): exiting' "$T/fatal.log" || fail "no reason logged: $(cat "$T/fatal.log")"
grep -q 'running' "$T/fatal.log" && fail "it said running: $(cat "$T/fatal.log")"
pass "the log says why and never says running"

# ...or, behind the option, a health failure.
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nconnector_start_failure = unhealthy\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
code=$(curl -s -o "$T/healthz.json" -w '%{http_code}' "http://$ADDR/healthz")
assert_eq "$code" 503 "/healthz is 503 with a connector that cannot start"
assert_eq "$(jq -r '[.reasons[] | select(.reason == "connector_failed")][0].connector' "$T/healthz.json")" hs \
  "the reason names the connector"
curl -s "http://$ADDR/metrics" | grep -qx 'crmsyncd_healthy 0' || fail "crmsyncd_healthy is not 0"
stop_daemon
