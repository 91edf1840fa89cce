#!/usr/bin/env bash
# Issue 14 items 1 and 13 (spool): a file written in place over a few
# seconds is taken only once complete; a last line without a newline is
# never applied; an empty file is reported; past max_rejected bad lines a
# file is abandoned to failed/; the watermark is JSON whatever the file name,
# and control characters in names are escaped in logs and crmsyncctl.
source "$(dirname "$0")/lib/common.sh"

write_config "settle_time = 1500ms
max_rejected = 5"
start_daemon

# 1. A producer that writes p.jsonl in place, a line every 0.4 s, each line
# in two writes (so that the file often ends mid-line), and once pauses
# longer than settle_time with a complete last line: the file is open for
# writing all along (inotify says so), so it is not taken before its close.
(
  for i in 1 2 3 4 5 6; do
    line=$(ev_consent "p$i" "P$i" granted 2026-11-01T10:00:00Z)
    printf '%s' "${line:0:30}"
    sleep 0.2
    printf '%s\n' "${line:30}"
    sleep 0.2
    if [ "$i" = 3 ]; then sleep 2; fi
  done
) > "$T/spool/p.jsonl"
wait_for 15 test -f "$T/spool/done/p.jsonl" || fail "p.jsonl not taken"
assert_eq "$(sql "SELECT lines FROM ingest_files WHERE name = 'p.jsonl'")" 6 "a file written in place is taken once complete: 6 lines"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key LIKE 'P%'")" 6 "all six events of the in-place file are applied"
assert_eq "$(wc -l < "$T/spool/done/p.jsonl")" 6 "the moved file holds all six lines"

# 2. An empty file is reported, not silently done.
: > "$T/spool/empty.jsonl"
wait_for 10 test -f "$T/spool/done/empty.jsonl" || fail "empty.jsonl not moved"
assert_eq "$(sql "SELECT status FROM ingest_files WHERE name = 'empty.jsonl'")" empty "an empty file has status 'empty'"
grep -q 'empty.jsonl: empty file (0 lines)' "$T/daemon.log" || fail "empty file not reported in the log"
pass "an empty file is reported in the log"

# 3. A last line without a newline (dropped by rename, so seen closed) is
# never complete: it waits the settle time, then is rejected, not applied.
{ ev_consent i1 I1 granted 2026-11-01T10:00:00Z; ev_consent i2 I2 granted 2026-11-01T10:00:00Z | tr -d '\n'; } > "$T/i.jsonl.src"
drop i.jsonl
sleep 0.5
[ -f "$T/spool/i.jsonl" ] || fail "a file ending mid-line was taken before the settle time"
wait_for 10 test -f "$T/spool/done/i.jsonl" || fail "i.jsonl not taken after the settle time"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'I2'")" 0 "the incomplete last line is not applied"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'I1'")" 1 "the complete line before it is"
grep -q '^i.jsonl:2: incomplete last line' "$T/spool/failed/i.jsonl.err" || fail "incomplete line not reported: $(cat "$T/spool/failed/i.jsonl.err")"
pass "incomplete last line reported in failed/i.jsonl.err"

# 4. More than max_rejected (5) bad lines: the file is abandoned.
{
  for i in 1 2 3; do ev_consent "g$i" "G$i" granted 2026-11-01T10:00:00Z; done
  for i in $(seq 1 40); do echo "garbage $i"; done
  ev_consent g4 G4 granted 2026-11-01T10:00:00Z
} > "$T/bad.jsonl.src"
drop bad.jsonl
wait_for 10 test -f "$T/spool/failed/bad.jsonl" || fail "bad.jsonl not moved to failed/"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE source LIKE 'bad.jsonl:%'")" 5 "only max_rejected dead letters from a garbage file"
assert_eq "$(sql "SELECT status FROM ingest_files WHERE name = 'bad.jsonl'")" failed "the abandoned file has status 'failed'"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key LIKE 'G%'")" 3 "lines before the cut applied, none after"
grep -q 'bad.jsonl:9: more than 5 rejected lines' "$T/spool/failed/bad.jsonl.err" || fail "abandon not in the report: $(tail -2 "$T/spool/failed/bad.jsonl.err")"
pass "the report says where and why the file was abandoned"

# 5. File names with a quote, an escape sequence and a newline.
ev_consent n1 N1 granted 2026-11-01T10:00:00Z > "$T/n.src"
cp "$T/n.src" "$T/spool/.q.tmp" && mv "$T/spool/.q.tmp" "$T/spool/q\"uote.jsonl"
wait_for 10 test -f "$T/spool/done/q\"uote.jsonl" || fail "q\"uote.jsonl not taken"
assert_eq "$(sql "SELECT json_valid(pull_watermark) FROM cursors WHERE connector = 'shop'")" 1 "the watermark is valid JSON with a quote in the file name"
assert_eq "$(sql "SELECT json_extract(pull_watermark, '\$.file') FROM cursors WHERE connector = 'shop'")" 'q"uote.jsonl' "the watermark names the file"
evil=$'x\e[31mred\nlast ingested files: forged.jsonl'
ev_consent n2 N2 granted 2026-11-01T10:00:00Z > "$T/n.src"
cp "$T/n.src" "$T/spool/.e.tmp" && mv "$T/spool/.e.tmp" "$T/spool/$evil.jsonl"
wait_for 10 test -f "$T/spool/done/$evil.jsonl" || fail "evil name not taken"
if grep -q $'\e' "$T/daemon.log"; then fail "an escape character reached the log"; fi
grep -q 'x\\x1b\[31mred\\x0alast' "$T/daemon.log" || fail "escaped name not in the log"
pass "control characters of a file name are escaped in the log"
"$CRMSYNCCTL" -s "$T/state/state.db" status > "$T/status.txt"
if grep -q $'\e' "$T/status.txt"; then fail "an escape character reached crmsyncctl status"; fi
if grep -q '^last ingested files: forged' "$T/status.txt"; then fail "a file name forged a status line"; fi
grep -q 'x\\x1b\[31mred\\x0alast ingested files: forged.jsonl' "$T/status.txt" || fail "escaped name not in status: $(cat "$T/status.txt")"
pass "control characters of a file name are escaped in crmsyncctl status"
"$CRMSYNCCTL" -s "$T/state/state.db" --json status | python3 -c 'import json,sys; json.load(sys.stdin)' || fail "json status does not parse"
pass "crmsyncctl --json status parses"
stop_daemon
