#!/usr/bin/env bash
# SIGHUP with a bad config keeps the old one running; SIGHUP with a good one
# adds a connector; SIGUSR1 records a resync; a second daemon on the same
# state refuses to start; SIGTERM exits 0 promptly.
source "$(dirname "$0")/lib/common.sh"

write_config
start_daemon

# A second daemon on the same state directory must refuse, naming the holder.
rc=0
"$CRMSYNCD" -c "$T/crmsyncd.conf" > "$T/second.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "second daemon exits 1"
grep -q "another crmsyncd (pid $DAEMON_PID) is running on state directory" "$T/second.out" \
  || fail "second daemon message: $(cat "$T/second.out")"
pass "second daemon names the running one"

# A bad configuration is rejected and the old one keeps running.
cp "$T/crmsyncd.conf" "$T/good.conf"
printf '\n[connector.shop2]\ntype = spool\ndirr = /tmp/x\n' >> "$T/crmsyncd.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 metric_above 'crmsyncd_reloads_total{result="failed"}' 0 || fail "bad reload not counted"
# The operator's message: the error names file and line.
grep -q "crmsyncd.conf:[0-9]*: unknown key 'dirr'" "$T/daemon.log" || fail "bad reload does not name file:line"
kill -0 "$DAEMON_PID" || fail "daemon died on a bad reload"
ev_consent r1 M9 denied 2026-11-01T10:00:00Z > "$T/r1.jsonl.src"
drop r1.jsonl
wait_for 10 test -f "$T/spool/done/r1.jsonl" || fail "old config stopped working after a bad reload"
pass "bad reload keeps the old configuration running"

# A good configuration adds a second spool connector.
cp "$T/good.conf" "$T/crmsyncd.conf"
mkdir -p "$T/spool2"
printf '\n[connector.shop2]\ntype = spool\ndir = %s/spool2\nscan_interval = 200ms\n' "$T" >> "$T/crmsyncd.conf"
reload_wait
assert_eq "$(metric 'crmsyncd_connector_up{connector="shop2"}')" 1 "the reload starts connector shop2"
ev_consent s1 M10 denied 2026-11-01T10:00:00Z > "$T/spool2/.s1.tmp" && mv "$T/spool2/.s1.tmp" "$T/spool2/s1.jsonl"
wait_for 10 test -f "$T/spool2/done/s1.jsonl" || fail "new connector did not ingest"
assert_eq "$(sql "SELECT origin FROM changes WHERE idem_key = 'shop2:s1'")" shop2 "new connector's change is recorded with its origin"

# Two SIGUSR1 in a row coalesce into at most two recorded requests, at least one.
kill -USR1 "$DAEMON_PID"
# A function, so that wait_for re-runs the query each time.
recorded() { [ "$(sql 'SELECT COUNT(*) FROM resync_requests')" -ge 1 ]; }
wait_for 10 recorded || fail "resync not recorded"
pass "SIGUSR1 records a resync request"
wait_for 10 metric_above 'crmsyncd_resyncs_total{connector="all"}' 0 || fail "resync not started"

start=$SECONDS
stop_daemon
[ $((SECONDS - start)) -le 6 ] || fail "SIGTERM took more than the 5 s grace"
grep -q "<5>daemon: stopped" "$T/daemon.log" || fail "no clean stop line"
pass "stops cleanly with syslog priority prefixes"
