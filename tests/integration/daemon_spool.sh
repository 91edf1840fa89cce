#!/usr/bin/env bash
# Spool ingest through the running daemon: good lines applied, bad lines
# reported with their line numbers and dead-lettered, the same file twice
# adds nothing, and status shows it all.
source "$(dirname "$0")/lib/common.sh"

write_config
start_daemon
{
  ev_consent e1 M1 granted 2026-11-01T10:00:00Z
  ev_points e2 M1 T1 100 earn
  echo 'this is not json'
  ev_points e3 M1 T2 -30 earn
  printf '{"event_id":"e4","type":"coupon","member":"M1","occurred_at":"2026-11-01T10:00:00Z"}\n'
  printf '{"event_id":"e5","type":"consent","member":"M1","occurred_at":"9999-01-01T00:00:00Z","purpose":"marketing","channel":"sms","status":"denied","source":"till"}\n'
  echo
  ev_points e6 M1 T3 -40 redeem
  printf '{"event_id":"e7","type":"segment","member":"M2","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
  printf '{"event_id":"e8","type":"profile","member":"M2","occurred_at":"2026-11-01T10:00:00Z","attributes":{"email":"ann@example.com"}}\n'
} > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "a.jsonl not moved to done/"
assert_eq "$(sql 'SELECT COUNT(*) FROM changes')" 6 "good events and the future-dated one are in the change-log"
assert_eq "$(sql 'SELECT COUNT(*) FROM changes WHERE effective = 1')" 5 "five changes are effective"
assert_eq "$(sql "SELECT SUM(delta) FROM points_ledger WHERE member_key = 'M1'")" 60 "balance is the sum of the ledger"
assert_eq "$(wc -l < "$T/spool/failed/a.jsonl.err")" 4 "four bad lines reported"
grep -q '^a.jsonl:3: invalid JSON' "$T/spool/failed/a.jsonl.err" || fail "line 3 not named"
grep -q '^a.jsonl:4: an earn must have a positive delta' "$T/spool/failed/a.jsonl.err" || fail "line 4 not named"
grep -q '^a.jsonl:5: unknown event type "coupon"' "$T/spool/failed/a.jsonl.err" || fail "line 5 not named"
grep -q '^a.jsonl:6: .*future' "$T/spool/failed/a.jsonl.err" || fail "line 6 (year 9999) not named"
pass "bad lines are named by file:line with a reason"
assert_eq "$(sql 'SELECT COUNT(*) FROM dead_letters')" 4 "bad lines are dead letters"
assert_eq "$(sql "SELECT source FROM dead_letters WHERE reason LIKE 'unknown event type%'")" "a.jsonl:5" "dead letter names its source"
if grep -q 'ann@example.com' "$T/daemon.log"; then fail "an email address reached the log"; fi
pass "no email address in the log"

# The same file again: nothing new, not even dead letters.
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" -a ! -f "$T/spool/a.jsonl" || fail "second a.jsonl not moved"
# A function, so that wait_for re-runs the count (an argument is expanded once).
two_done() { [ "$(ls "$T/spool/done" | wc -l)" = 2 ]; }
wait_for 10 two_done || fail "second copy not kept beside the first"
assert_eq "$(sql 'SELECT COUNT(*) FROM changes')" 6 "re-ingesting the same file adds no change"
assert_eq "$(sql 'SELECT COUNT(*) FROM dead_letters')" 4 "re-ingesting adds no dead letter"
assert_eq "$(sql "SELECT duplicates FROM ingest_files ORDER BY id DESC LIMIT 1")" 6 "second pass counted six duplicates"

# Status while the daemon runs (read-only).
"$CRMSYNCCTL" -s "$T/state/state.db" status > "$T/status.txt"
grep -q 'change-log: 6 changes (5 effective)' "$T/status.txt" || fail "status change-log line: $(cat "$T/status.txt")"
grep -q 'a.jsonl' "$T/status.txt" || fail "status lists the ingested file"
"$CRMSYNCCTL" -c "$T/crmsyncd.conf" --json status > "$T/status.json"
grep -q '"rejected": 4' "$T/status.json" || fail "json status shows the rejected lines"
pass "crmsyncctl status (text and json)"
assert_eq "$(sql 'PRAGMA integrity_check')" ok "database integrity"
stop_daemon
