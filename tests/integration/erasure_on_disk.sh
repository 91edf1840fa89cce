#!/usr/bin/env bash
# What stays on disk (issue 19, "Erasure and what stays on disk"): files in
# spool done/ are removed after [connector] keep_done; after an erasure the
# member's email is in neither state.db (secure_delete zeroes deleted
# content) nor state.db-wal (checkpointed and truncated after an erasure).
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
on_disk() { # TEXT: how many of state.db and state.db-wal hold it
  local n=0 f
  for f in "$T/state/state.db" "$T/state/state.db-wal"; do
    [ -f "$f" ] && grep -aqF "$1" "$f" && n=$((n + 1))
  done
  echo "$n"
}

write_config "keep_done = 2s"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"erase.me.please@example.com","first_name":"Zelda"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"keep.me@example.com"}}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "not ingested"
pass "processed files go to done/"
wait_for 20 test ! -e "$T/spool/done/a.jsonl" || fail "done/a.jsonl still there after keep_done"
grep -q "keep_done: 1 file(s) older than 2 s removed from done/" "$T/daemon.log" || fail "the removal is not logged"
pass "done/ files are removed after keep_done"

[ "$(on_disk erase.me.please@example.com)" -ge 1 ] || fail "the email was never written (the check below would prove nothing)"
ctl member erase M1 --yes >/dev/null || fail "member erase failed"
gone() { [ "$(on_disk erase.me.please@example.com)" = 0 ] && [ "$(on_disk Zelda)" = 0 ]; }
wait_for 30 gone || fail "the erased member's data is still on disk ($(on_disk erase.me.please@example.com) file(s) hold the email)"
pass "the erased member's email and name are in neither state.db nor state.db-wal"
assert_eq "$(sql "SELECT json_extract(value, '\$.value') FROM current WHERE member_key = 'M2' AND field = 'profile/email'")" keep.me@example.com "another member's data stays"
stop_daemon
