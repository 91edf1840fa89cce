#!/usr/bin/env bash
# crmsyncctl status (text and --json) against a running daemon with seeded
# state; bad input: unknown command/option, missing database, database from a
# newer schema version, locked database -- clear message, documented exit.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }

write_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
sed -i "s/^admin_listen = .*/admin_listen = $ADDR/" "$T/crmsyncd.conf"  # for crmsyncctl's health query
{ ev_consent s1 M1 denied 2026-11-01T10:00:00Z
  ev_points s2 M1 T1 50 earn
  echo '{"broken": '; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "file not ingested"

assert_eq "$(rc_of ctl status)" 0 "status exits 0"
grep -q "^daemon: running (pid $DAEMON_PID)" "$T/out" || fail "status does not show the daemon: $(cat "$T/out")"
grep -q '^health: ok' "$T/out" || fail "status does not show health: $(cat "$T/out")"
grep -q '^  shop (spool): running' "$T/out" || fail "connector state missing: $(cat "$T/out")"
grep -q 'last success: .* a.jsonl (done_with_errors)' "$T/out" || fail "last success missing"
grep -q 'dead letters: 0 as destination, 1 from it' "$T/out" || fail "connector dead letters"
pass "status text shows daemon, health, connector state, last input, dead letters"

assert_eq "$(rc_of ctl status --json)" 0 "status --json exits 0"
python3 - "$T/out" "$DAEMON_PID" <<'PY' || fail "status --json content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["daemon"]["running"] and d["daemon"]["pid"] == int(sys.argv[2]), d["daemon"]
assert d["daemon"]["health"]["status"] == "ok"
c = {x["name"]: x for x in d["connectors"]}["shop"]
assert c["state"] == "running" and c["type"] == "spool" and c["destination"] is False, c
assert c["pull"]["watermark"], c
assert c["dead_letters"]["from_origin"] == 1
assert d["changelog"]["changes"] == 2
PY
pass "status --json is complete"

assert_eq "$(rc_of ctl bogus)" 2 "unknown command exits 2"
grep -q "unknown command 'bogus'" "$T/err" || fail "unknown command message"
assert_eq "$(rc_of ctl status --bogus)" 2 "unknown option exits 2"
assert_eq "$(rc_of ctl status --help)" 0 "status --help exits 0"
grep -q 'Exit codes' "$T/out" || fail "status --help text"
for c in resync dead-letters member audit; do
  assert_eq "$(rc_of ctl $c --help)" 0 "$c --help exits 0"
done
assert_eq "$(rc_of "$CRMSYNCCTL" -s "$T/nope.db" status)" 6 "missing database exits 6"
grep -q 'no state database at' "$T/err" || fail "missing database message: $(cat "$T/err")"

stop_daemon
cp "$T/state/state.db" "$T/newer.db"
sqlite3 "$T/newer.db" 'PRAGMA user_version = 99'
assert_eq "$(rc_of "$CRMSYNCCTL" -s "$T/newer.db" status)" 6 "newer schema exits 6"
grep -q 'schema version 99, newer than this crmsyncctl' "$T/err" || fail "newer schema message: $(cat "$T/err")"
echo 'not a database at all, just text that is long enough to be a header.....................' > "$T/junk.db"
assert_eq "$(rc_of "$CRMSYNCCTL" -s "$T/junk.db" status)" 6 "junk file exits 6"
grep -qi 'not a SQLite database' "$T/err" || fail "junk message: $(cat "$T/err")"
! grep -q 'SQLITE\|sqlite3_' "$T/err" || fail "raw SQLite error leaked"

# Daemon stopped: status says so and still works.
assert_eq "$(rc_of ctl status)" 0 "status with the daemon stopped"
grep -q '^daemon: not running' "$T/out" || fail "not running not shown"
grep -q '^  shop (spool): stopped' "$T/out" || fail "stopped state"

# A write while another process holds the write lock: exit 5, clear message.
rm -f "$T/hold"; touch "$T/hold"
( echo 'BEGIN EXCLUSIVE;'; while [ -f "$T/hold" ]; do sleep 0.1; done; echo 'COMMIT;' ) | sqlite3 "$T/state/state.db" &
HOLDER=$!; PIDS+=("$HOLDER")
locked() { ! sqlite3 "$T/state/state.db" 'PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null; }
wait_for 10 locked || fail "lock not taken"
sed -i 's/^synchronous = normal$/synchronous = normal\nbusy_timeout = 200ms/' "$T/crmsyncd.conf"
assert_eq "$(rc_of ctl dead-letters drop --all)" 5 "locked database exits 5"
grep -q 'locked' "$T/err" || fail "locked message: $(cat "$T/err")"
rm -f "$T/hold"; wait "$HOLDER" || true
