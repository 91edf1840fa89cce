#!/usr/bin/env bash
# The admin endpoint: /metrics passes `promtool check metrics` and counts
# what was ingested; /healthz answers 200, turns 503 naming
# state_not_writable while another process holds the database's write lock
# (the daemon's writes time out), and 200 again once the lock is gone; the
# endpoint also serves on a Unix socket.
source "$(dirname "$0")/lib/common.sh"

command -v curl >/dev/null || fail "curl is needed"

write_config
# Port 0: the kernel picks a free port, the log says which.
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
sed -i 's/^synchronous = normal$/synchronous = normal\nbusy_timeout = 300ms/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
[ -n "$ADDR" ] || fail "no listening address in the log"
pass "admin endpoint listens on $ADDR"

code() { curl -s -o "$T/body" -w '%{http_code}' "http://$ADDR$1" || true; }
healthz_is() { [ "$(code /healthz)" = "$1" ]; }

assert_eq "$(code /healthz)" 200 "healthz is 200 on a fresh daemon"
assert_eq "$(cat "$T/body")" '{"status":"ok"}' "healthz body"
assert_eq "$(code /nope)" 404 "unknown path is 404"

{ ev_consent a1 M1 denied 2026-11-01T10:00:00Z
  ev_points a2 M1 T1 100 earn
  echo 'not json'; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "file not ingested"

assert_eq "$(code /metrics)" 200 "metrics is 200"
cp "$T/body" "$T/metrics.txt"
if command -v promtool >/dev/null; then
  promtool check metrics < "$T/metrics.txt" > "$T/promtool.out" 2>&1 \
    || { cat "$T/promtool.out" >&2; fail "promtool check metrics"; }
  pass "promtool check metrics passes"
else
  fail "promtool not installed (Debian package prometheus; see .ci/deps)"
fi
grep -qx 'crmsyncd_changes_appended_total{origin="shop",kind="consent"} 1' "$T/metrics.txt" || fail "consent change not counted"
grep -qx 'crmsyncd_changes_appended_total{origin="shop",kind="points"} 1' "$T/metrics.txt" || fail "points change not counted"
grep -qx 'crmsyncd_ingest_records_total{connector="shop",result="invalid"} 1' "$T/metrics.txt" || fail "bad line not counted"
grep -qx 'crmsyncd_dead_letters_pending{connector="ingest"} 1' "$T/metrics.txt" || fail "dead letter gauge"
grep -q '^crmsyncd_build_info{version="[0-9.]*"} 1$' "$T/metrics.txt" || fail "build info"
grep -qx 'crmsyncd_healthy 1' "$T/metrics.txt" || fail "healthy gauge"
grep -q '^# TYPE crmsyncd_request_duration_seconds histogram$' "$T/metrics.txt" || fail "latency histogram declared"
pass "metrics count ingested changes, bad lines and dead letters"

reload_wait
code /metrics >/dev/null
grep -qx 'crmsyncd_reloads_total{result="ok"} 1' "$T/body" || fail "reload not counted"
pass "reload counted"

# Hold the write lock from another process: the daemon's next write times
# out after busy_timeout and /healthz must say so.
rm -f "$T/hold"; touch "$T/hold"
( echo 'BEGIN IMMEDIATE;'
  while [ -f "$T/hold" ]; do sleep 0.1; done
  echo 'COMMIT;' ) | sqlite3 "$T/state/state.db" &
HOLDER=$!
PIDS+=("$HOLDER")
locked() { ! sqlite3 "$T/state/state.db" 'PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null; }
wait_for 10 locked || fail "lock holder did not take the lock"
ev_consent b1 M2 denied 2026-11-01T10:00:00Z > "$T/b.jsonl.src"
drop b.jsonl
wait_for 20 healthz_is 503 || fail "healthz did not turn 503 while the database is locked"
jq_reason=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"], ",".join(r["reason"] for r in d["reasons"]))' "$T/body")
assert_eq "$jq_reason" "unhealthy state_not_writable" "503 body names state_not_writable"
code /metrics >/dev/null
grep -qx 'crmsyncd_healthy 0' "$T/body" || fail "healthy gauge not 0"

rm -f "$T/hold"
wait "$HOLDER" || true
wait_for 20 test -f "$T/spool/done/b.jsonl" || fail "file not ingested after the lock was released"
wait_for 10 healthz_is 200 || fail "healthz did not return to 200"
pass "healthz is 200 again once writes succeed"
stop_daemon

# The same endpoint on a Unix socket.
sed -i "s|^admin_listen = .*|admin_listen = $T/admin.sock|" "$T/crmsyncd.conf"
: > "$T/daemon.log"
start_daemon
wait_for 10 test -S "$T/admin.sock" || fail "no socket"
assert_eq "$(curl -s --unix-socket "$T/admin.sock" http://localhost/healthz)" '{"status":"ok"}' "healthz over a Unix socket"
stop_daemon
[ ! -e "$T/admin.sock" ] || fail "socket left behind"
pass "socket removed at exit"
