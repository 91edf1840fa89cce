#!/usr/bin/env bash
# JWT bearer flow with our clock ahead of Salesforce's (issue 12 item 9;
# Salesforce's "OAuth 2.0 JWT Bearer Flow for Server-to-Server
# Integration": exp at most 3 minutes after the current time). An
# assertion with exp = now + 180 s was refused as soon as our clock ran a
# second ahead; with now + 150 s a clock 20 s ahead still gets a session.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
# The simulator's clock 20 s behind ours: our clock is 20 s ahead.
curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary '{"offset_ms": -20000}' \
  "$SIM_URL/__sim/clock" >/dev/null || fail "cannot set the simulator's clock"
sf_config
start_daemon
printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","last_name":"Lee"}}\n' >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq m1@example.com contact_field M1 Email \
  || fail "no session with our clock 20 s ahead: $(grep -i 'token\|assertion\|authoris' "$T/daemon.log" | tail -2)"
pass "a JWT assertion is accepted with our clock 20 s ahead"
grep -q 'exp more than 3 minutes ahead' "$T/sim.log" && fail "an assertion was refused for its exp"
pass "no assertion refused for its exp"
stop_daemon
