#!/usr/bin/env bash
# Issue 15: a resync writes nothing for a member whose profile value was
# cleared. We clear a recipient attribute with "", Campaign leaves an empty
# attribute out of a queryDef's output, and the pull skipped an attribute
# it did not find, so before the fix no shadow was rebuilt for it: every
# such recipient was written again at every resync (fails without the fix:
# the second resync writes the three recipients). Now an attribute asked
# for and not returned is recorded as what Campaign holds (empty, the
# shadow), never as a change.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start
acc_config
start_daemon
profile() { # id member first_name-json at
  printf '{"event_id":"%s","type":"profile","member":"%s","occurred_at":"%s","attributes":{"email":"%s@example.com","first_name":%s}}\n' "$1" "$2" "$4" "$2" "$3"
}
for m in M1 M2 M3; do profile "p1-$m" "$m" '"Ann"' 2026-11-01T09:00:00Z; done >"$T/a.jsonl.src"
drop a.jsonl
for m in M1 M2 M3; do
  wait_for 60 is_eq Ann recipient_field "$m" firstName || fail "$m's first name"
done
quiet
for m in M1 M2 M3; do profile "p2-$m" "$m" null 2026-11-01T10:00:00Z; done >"$T/b.jsonl.src"
drop b.jsonl
for m in M1 M2 M3; do
  wait_for 30 is_eq "" recipient_field "$m" firstName || fail "$m's first name was not cleared"
done
quiet
resync_wait acc 60
quiet
sim_post counters/reset '{}'
resync_wait acc 60
quiet
assert_eq "$(writes)" 0 "a resync writes no recipient whose cleared attribute Campaign holds empty"
for m in M1 M2 M3; do
  assert_eq "$(recipient_field "$m" firstName)" "" "$m's first name stays cleared"
  assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = '$m' AND field = 'profile/first_name' AND json_extract(value, '\$.value') IS NULL")" 1 \
    "$m's first name stays cleared locally"
done
stop_daemon
