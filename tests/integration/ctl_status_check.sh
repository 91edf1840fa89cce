#!/usr/bin/env bash
# crmsyncctl status for humans and for monitoring (issue 19):
# - --check prints one line and exits as a monitoring plugin does: 0 OK,
#   1 WARNING (dead letters wait), 2 CRITICAL (a CRM unreachable, the
#   daemon not running), 3 UNKNOWN (no readable state);
# - the text shows the spool's pull position as file:line and the push
#   cursors by lane name (it printed the watermark's JSON and "lane 0").
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }

hs_sim_start
hs_config
sed -i -e 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0\nunreachable_after = 0s/' \
  -e 's/^pull_interval = 1s$/pull_interval = 1h/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
sed -i "s/^admin_listen = .*/admin_listen = $ADDR/" "$T/crmsyncd.conf"

printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","first_name":"Ann"}}\n' >"$T/a.jsonl.src"
ev_consent c1 M1 denied 2026-11-01T09:30:00Z >> "$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq UNSUBSCRIBED email_status m1@example.com 1001 || fail "the withdrawal did not reach HubSpot"

assert_eq "$(rc_of ctl status --check)" 0 "--check exits 0 when all is well"
grep -q "^crmsyncd OK: running (pid $DAEMON_PID), 2 connector(s) | backlog=0 dead_letters=0$" "$T/out" \
  || fail "OK line: $(cat "$T/out")"
pass "OK line: $(cat "$T/out")"

assert_eq "$(rc_of ctl status)" 0 "status exits 0"
grep -q '^    pull: a.jsonl:2 (at ' "$T/out" || fail "spool position not file:line: $(grep pull: "$T/out")"
grep -q '^    push urgent at seq [0-9]' "$T/out" || fail "no lane name: $(grep push "$T/out")"
grep -q '^    push bulk   at seq [0-9]' "$T/out" || fail "no bulk lane: $(grep push "$T/out")"
grep -q 'lane [0-9]' "$T/out" && fail "a lane still shown by number"
pass "text status: $(grep -m1 'pull:' "$T/out" | sed 's/^ *//'), $(grep -m1 'push urgent' "$T/out" | sed 's/^ *//')"
assert_eq "$(rc_of ctl status --json)" 0 "status --json exits 0"
python3 - "$T/out" <<'PY' || fail "status --json positions"
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["name"]: x for x in d["connectors"]}
assert c["shop"]["pull"]["position"] == "a.jsonl:2", c["shop"]["pull"]
assert json.loads(c["shop"]["pull"]["watermark"])["line"] == 2
assert {p["lane_name"] for p in c["hs"]["push_cursors"]} <= {"urgent", "points", "bulk"}, c["hs"]
PY
pass "status --json: position and lane_name beside the raw values"

echo 'not json' > "$T/b.jsonl.src"
drop b.jsonl
wait_for 10 test -f "$T/spool/failed/b.jsonl" -o -f "$T/spool/done/b.jsonl" || fail "b.jsonl not ingested"
assert_eq "$(rc_of ctl status --check)" 1 "--check exits 1 (WARNING) with a dead letter"
grep -q '^crmsyncd WARNING: 1 dead letter(s) (crmsyncctl dead-letters list) | backlog=0 dead_letters=1$' "$T/out" \
  || fail "WARNING line: $(cat "$T/out")"

sim_post config '{"faults":"503:1.0"}' || fail "crmsim config refused"
printf '{"event_id":"p2","type":"profile","member":"M1","occurred_at":"2026-11-01T10:00:00Z","attributes":{"email":"m1@example.com","first_name":"Bea"}}\n' >"$T/c.jsonl.src"
drop c.jsonl
critical() { [ "$(rc_of ctl status --check)" = 2 ]; }
wait_for 60 critical || fail "--check not CRITICAL with HubSpot answering 503: $(cat "$T/out")"
grep -q '^crmsyncd CRITICAL: destination_unreachable hs: retrying since .*; 1 dead letter(s)' "$T/out" \
  || fail "CRITICAL line: $(cat "$T/out")"
pass "CRITICAL: $(cut -c1-100 "$T/out")"
sim_post config '{"faults":""}' || fail "crmsim config refused"

stop_daemon
assert_eq "$(rc_of ctl status --check)" 2 "--check exits 2 with the daemon stopped"
grep -q '^crmsyncd CRITICAL: the daemon is not running' "$T/out" || fail "not running line: $(cat "$T/out")"
assert_eq "$(rc_of "$CRMSYNCCTL" -s "$T/nope.db" status --check)" 3 "--check exits 3 without a state"
grep -q '^crmsyncd UNKNOWN: ' "$T/out" || fail "UNKNOWN line: $(cat "$T/out")"
assert_eq "$(rc_of ctl status --check --json)" 2 "--check with --json is a usage error"
