#!/usr/bin/env bash
# Found by fuzz_rfc3339 (issue 7): "1970-01-01T00:30:00+01:00" is a 1970
# local time the spool accepted, but its instant is before the epoch. Stored
# as the collected_at of a consent it formats as 1969-12-31T23:30:00.000Z,
# which the consent decoder then refuses, so the next consent for that field
# failed its page: the file, and every file after it, stuck in the spool
# forever. An instant outside 1970..9999 UTC must be rejected as a bad line.
source "$(dirname "$0")/lib/common.sh"

write_config
{
  printf '{"event_id":"e1","type":"consent","member":"M1","occurred_at":"1970-01-01T00:30:00+01:00","purpose":"marketing","channel":"email","status":"denied","source":"till"}\n'
  ev_consent e2 M1 granted 2026-11-01T00:30:00Z
  ev_points e3 M1 T1 10 earn
} > "$T/a.jsonl.src"
ev_points e4 M1 T2 5 earn > "$T/b.jsonl.src"
start_daemon
drop a.jsonl
drop b.jsonl
wait_for 10 test -f "$T/spool/done/b.jsonl" || fail "the spool is stuck behind a pre-epoch timestamp"
assert_eq "$(sql 'SELECT COUNT(*) FROM points_ledger')" 2 "the lines after it are applied"
assert_eq "$(sql "SELECT json_extract(value, '\$.status') FROM current WHERE field = 'consent/marketing/email'")" granted "the valid consent is applied"
stop_daemon
