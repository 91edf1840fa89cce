#!/usr/bin/env bash
# After an erasure, the erased member's lines leave the spool's done/ files
# (issue 19, "Erasure and what stays on disk": done/<file> kept the member's
# email until keep_done). Other members' lines stay, byte for byte; a file
# left with no line (the erasure event crmsyncctl wrote) is removed; an
# erasure made while the daemon was stopped is applied to done/ at start.
# failed/ files (set aside for the operator to resend) lose the member's
# lines too, and a rewritten done/ file keeps its time, so the erasure does
# not restart keep_done.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
done_holds() { grep -rlF "$1" "$T/spool/done" "$T/spool/failed" 2>/dev/null | wc -l; }

write_config
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"erase.me@example.com","first_name":"Zelda"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"keep.me@example.com"}}\n'
  ev_consent c1 M1 granted 2026-11-01T10:00:00Z
  printf '{"event_id":"p3","type":"profile","member":"M3","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"later@example.com"}}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "not ingested"
grep -v '"member":"M1"' "$T/a.jsonl.src" > "$T/a.kept"
assert_eq "$(done_holds erase.me@example.com)" 1 "the email is in done/a.jsonl before the erasure"
# A file set aside earlier, waiting for the operator to fix and resend it.
{
  printf '{"event_id":"f1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"erase.me@example.com"}}\n'
  printf '{"event_id":"f2","type":"profile","member":"M3","occurred_at":"2026-11-01T09:00:00Z","attributes":{"first_name":"Ola"}}\n'
} > "$T/spool/failed/old.jsonl"
mtime_before=$(stat -c %y "$T/spool/done/a.jsonl")

t0=$SECONDS
ctl member erase M1 --yes > /dev/null || fail "member erase failed"
scrubbed() { [ "$(done_holds erase.me@example.com)" = 0 ] && [ "$(done_holds '"M1"')" = 0 ]; }
wait_for 30 scrubbed || fail "done/ still holds M1: $(grep -rl '"M1"\|erase.me' "$T/spool/done")"
cmp -s "$T/a.kept" "$T/spool/done/a.jsonl" || fail "the other lines changed: $(diff "$T/a.kept" "$T/spool/done/a.jsonl")"
pass "M1's lines are gone from done/ and failed/ ($((SECONDS - t0)) s after crmsyncctl member erase), M2's and M3's kept as they were"
grep -qF '"f2"' "$T/spool/failed/old.jsonl" || fail "the other line of failed/old.jsonl was lost"
assert_eq "$(stat -c %y "$T/spool/done/a.jsonl")" "$mtime_before" "the rewritten done/ file keeps its time (keep_done is not restarted)"
grep -q 'erasure: [0-9]* line(s) of erased members removed from [0-9]* file(s) in done/' "$T/daemon.log" \
  || fail "the rewrite is not logged"
ls -A "$T/spool/done" | grep -q '^crmsyncctl-erase' && fail "the erasure's own file (only M1) is still in done/"
ls -A "$T/spool/done" | grep -q '^\.' && fail "a temporary file is left in done/: $(ls -A "$T/spool/done")"
pass "the erasure's own file is removed, no temporary file left"
stop_daemon

# Erased while the daemon is stopped (crmsyncctl writes the state itself).
printf '{"event_id":"p4","type":"profile","member":"M2","occurred_at":"2026-11-01T11:00:00Z","attributes":{"first_name":"Kim"}}\n' >> "$T/spool/done/a.jsonl"
ctl member erase M2 --yes > /dev/null || fail "member erase (daemon stopped) failed"
start_daemon daemon2
gone2() { [ "$(done_holds keep.me@example.com)" = 0 ] && [ "$(done_holds '"M2"')" = 0 ]; }
wait_for 30 gone2 || fail "done/ still holds M2 after a start: $(cat "$T/spool/done/a.jsonl")"
grep -qF later@example.com "$T/spool/done/a.jsonl" || fail "M3's line was lost"
pass "an erasure made while stopped is applied to done/ at start"
stop_daemon

ctl member --help > "$T/help" || fail "member --help"
grep -q "What remains, and for how long" "$T/help" && grep -q "done/ files until the daemon rewrites them" "$T/help" \
  || fail "member --help does not say what remains: $(cat "$T/help")"
pass "member --help says what remains after an erasure"
