#!/usr/bin/env bash
# Issue 15: the state database's WAL is copied back on a thread of its own
# (src/daemon/wal_worker.h), never inside an ingest or push commit on the event
# loop. An intake that writes well past SQLite's 1,000-frame threshold must
# be checkpointed by that thread (crmsyncd_wal_checkpoint_seconds counts
# the runs; without the worker it stays at 0, SQLite's own checkpoints
# running inside the commits), the WAL must stay bounded, and every event
# must be in the database after a restart.
source "$(dirname "$0")/lib/common.sh"

N=${N:-8000}
write_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
# Small transactions: many commits, each adding frames.
sed -i 's/^txn_max_changes = .*/txn_max_changes = 50/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
count_of() { curl -s "http://$ADDR/metrics" | awk '$1 == "crmsyncd_wal_checkpoint_seconds_count" {print $2}'; }

for i in $(seq 1 "$N"); do
  ev_consent "w$i" "M$i" granted 2026-11-01T10:00:00Z
done > "$T/w.jsonl.src"
drop w.jsonl
wait_for 120 test -f "$T/spool/done/w.jsonl" || fail "file not ingested"
wait_for 20 eval '[ "$(count_of)" -ge 1 ]' ||
  fail "no WAL checkpoint ran off the loop (count '$(count_of)')"
runs=$(count_of)
pass "$runs WAL checkpoint(s) off the loop for $N events"
wal=$(stat -c %s "$T/state/state.db-wal")
# SQLite's own bound is 1,000 frames (4 MB); the worker's bound 8,000
# (32 MB). A WAL past the latter means nobody checkpointed.
[ "$wal" -lt $((33 * 1024 * 1024)) ] || fail "WAL of $wal bytes: not checkpointed"
pass "WAL bounded: $wal bytes"
stop_daemon
grep -q "WAL checkpoint(s) ran off the loop" "$T/daemon.log" || fail "no summary at stop"
assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE field = 'consent/marketing/email'")" "$N" \
  "every event is in the database after the stop"
assert_eq "$(sql 'PRAGMA integrity_check')" "ok" "the database is intact"
