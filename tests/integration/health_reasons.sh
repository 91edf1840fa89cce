#!/usr/bin/env bash
# /healthz tells an operator what is wrong (issue 19): it stayed 200 and
# crmsyncd_healthy 1 for as long as a CRM was unreachable with a withdrawal
# waiting, and `crmsyncctl status` said "running" with no last error.
# - destination_unreachable once no request has succeeded for
#   [daemon] unreachable_after, "retrying since T, last error: ...", also in
#   crmsyncctl status; cleared when the CRM answers again;
# - urgent_change_old for a withdrawal pending longer than urgent_max_age;
# - backlog_over_bound at [daemon] backlog_bound (it was hard-coded 200,000).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0\nunreachable_after = 0s\nurgent_max_age = 1s\nbacklog_bound = 1/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
# crmsyncctl asks the admin endpoint where the configuration says: the port
# the kernel picked.
sed "s/^admin_listen = .*/admin_listen = $ADDR/" "$T/crmsyncd.conf" > "$T/ctl.conf"
ctl() { "$CRMSYNCCTL" -c "$T/ctl.conf" "$@"; }
health() { curl -s "http://$ADDR/healthz"; }
reason() { health | jq -r --arg r "$1" '[.reasons[]? | select(.reason == $r and .connector == "hs")][0].detail // empty'; }
has_reason() { [ -n "$(reason "$1")" ]; }
wait_pulls 1
assert_eq "$(health)" '{"status":"ok"}' "healthy at start"

# HubSpot answers 503 to everything; a withdrawal and two profiles wait.
sim_post config '{"faults":"503:1.0"}' || fail "crmsim config refused"
{ printf '{"event_id":"p0","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com"}}\n'
  ev_consent w1 M1 denied 2026-11-01T10:00:00Z
  printf '{"event_id":"p1","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m2@example.com","first_name":"Bo"}}\n'; } >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 has_reason destination_unreachable || fail "no destination_unreachable: $(health)"
detail=$(reason destination_unreachable)
case "$detail" in
  "retrying since 20"*", last error: "*503*) pass "destination_unreachable: $detail" ;;
  *) fail "destination_unreachable detail: $detail" ;;
esac
wait_for 60 has_reason urgent_change_old || fail "no urgent_change_old: $(health)"
pass "urgent_change_old: $(reason urgent_change_old)"
has_reason backlog_over_bound || fail "no backlog_over_bound with 3 pending and backlog_bound = 1: $(health)"
case "$(reason backlog_over_bound)" in
  *"bound 1") pass "backlog_bound is the configured one: $(reason backlog_over_bound)" ;;
  *) fail "backlog_over_bound: $(reason backlog_over_bound)" ;;
esac
curl -s "http://$ADDR/metrics" | grep -qx 'crmsyncd_healthy 0' || fail "crmsyncd_healthy is not 0"
ctl status > "$T/status.txt" 2>&1 || true
grep -q 'problem: destination_unreachable: retrying since 20.*, last error: .*503' "$T/status.txt" \
  || fail "crmsyncctl status does not say retrying since / last error: $(cat "$T/status.txt")"
pass "crmsyncctl status says retrying since / last error"

# HubSpot is back: the reasons go once the changes are through.
sim_post config '{"faults":""}' || fail "crmsim config refused"
healthy() { [ "$(health)" = '{"status":"ok"}' ]; }
wait_for 120 healthy || fail "still unhealthy after HubSpot came back: $(health)"
pass "healthy again once HubSpot answers and the changes went"
grep -q 'destination reachable again' "$T/daemon.log" || fail "no log line for the recovery"
stop_daemon
