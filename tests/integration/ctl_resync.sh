#!/usr/bin/env bash
# crmsyncctl resync: refused (exit 4) when no daemon holds the lock; with a
# daemon, a per-connector request is recorded, signalled, taken by the
# daemon (which resyncs only that connector) and reported accepted; an
# unknown connector exits 3.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }

write_config
mkdir -p "$T/spool2"
printf '\n[connector.shop2]\ntype = spool\ndir = %s/spool2\nscan_interval = 200ms\n' "$T" >> "$T/crmsyncd.conf"
start_daemon
stop_daemon   # leaves a database and a lock file nobody holds

assert_eq "$(rc_of ctl resync)" 4 "resync without a daemon exits 4"
grep -q 'crmsyncd is not running' "$T/err" || fail "not-running message: $(cat "$T/err")"

start_daemon
assert_eq "$(rc_of ctl resync nosuch)" 3 "unknown connector exits 3"
grep -q "no connector 'nosuch'" "$T/err" || fail "unknown connector message"

assert_eq "$(rc_of ctl resync shop2)" 0 "resync shop2 accepted"
grep -q "resync of shop2 accepted by crmsyncd (pid $DAEMON_PID)" "$T/out" || fail "accepted message: $(cat "$T/out")"
wait_for 10 grep -q 'spool\[shop2\]\|daemon\[shop2\]: full resync requested' "$T/daemon.log" || fail "daemon did not resync shop2"
grep -q 'daemon\[shop2\]: full resync requested' "$T/daemon.log" || fail "shop2 resync not logged"
! grep -q 'full resync requested for all connectors' "$T/daemon.log" || fail "a per-connector request resynced all"
assert_eq "$(sql "SELECT connector, started_at IS NOT NULL, finished_at IS NOT NULL FROM resync_requests")" "shop2|1|1" "request recorded, started and finished"
pass "per-connector resync goes through resync_requests"

assert_eq "$(rc_of ctl --json resync)" 0 "resync all accepted"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["result"]=="accepted" and d["connector"] is None, d' "$T/out" || fail "json answer"
wait_for 10 grep -q 'full resync requested for all connectors' "$T/daemon.log" || fail "resync all not logged"

# A bare SIGUSR1 still works and is recorded as a request for all.
kill -USR1 "$DAEMON_PID"
# A function, so that wait_for re-runs the query (an argument would be
# expanded once, before the daemon took the signal).
all_requests() { [ "$(sql 'SELECT COUNT(*) FROM resync_requests WHERE connector IS NULL')" = 2 ]; }
wait_for 10 all_requests || fail "bare SIGUSR1 not recorded"
pass "bare SIGUSR1 recorded as a resync of all"
stop_daemon
