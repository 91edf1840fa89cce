#!/usr/bin/env bash
# A CRM that only fails its pulls is unreachable too (issue 19): with
# nothing to push, /healthz stayed 200 and crmsyncd_connector_up 1 while
# every pull of HubSpot got 503. Now pulls failing with no request through
# for [daemon] unreachable_after raise destination_unreachable ("pulls
# failing since T"), connector_up 0, and the first pull that goes through
# clears it.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0\nunreachable_after = 2s/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
health() { curl -s "http://$ADDR/healthz"; }
code() { curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/healthz"; }
wait_pulls 2
assert_eq "$(code)" 200 "healthy while pulls go through"

sim_post config '{"faults":"503:1.0"}' || fail "crmsim config refused"
unreachable() { health | jq -e '.reasons[]? | select(.reason == "destination_unreachable" and .connector == "hs")' >/dev/null; }
wait_for 60 unreachable || fail "no destination_unreachable while every pull fails: $(health)"
detail=$(health | jq -r '.reasons[] | select(.reason == "destination_unreachable") | .detail')
case "$detail" in
  "pulls failing since 20"*) pass "destination_unreachable: $detail" ;;
  *) fail "detail: $detail" ;;
esac
assert_eq "$(code)" 503 "healthz 503"
up_is() { curl -s "http://$ADDR/metrics" > "$T/metrics.txt"; grep -qx "crmsyncd_connector_up{connector=\"hs\"} $1" "$T/metrics.txt"; }
up_is 0 || fail "connector_up not 0"
pass "connector_up 0"
grep -q 'destination unreachable: pulls failing since' "$T/daemon.log" || fail "not logged"

sim_post config '{"faults":""}' || fail "crmsim config refused"
healthy() { [ "$(code)" = 200 ]; }
wait_for 60 healthy || fail "still unhealthy after the pulls went through again: $(health)"
grep -q 'destination reachable again (a pull went through)' "$T/daemon.log" || fail "recovery not logged"
up_is 1 || fail "connector_up not 1 again"
pass "healthy again once a pull goes through"
stop_daemon
