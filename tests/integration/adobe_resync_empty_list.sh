#!/usr/bin/env bash
# Adobe Campaign full resync with a list nobody is in (issue 13): the
# full read's sweep of absent memberships walks every list Campaign has
# (nms:group), not only those it found members of or this daemon wrote. A
# member's "out" of an empty list is then observed, not written again (a
# delete of nothing) by a resync in a daemon that never wrote the list.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
acc_sim_start
acc_config
start_daemon
{
  for m in M1 M2; do
    printf '{"event_id":"p%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com"}}\n' "$m" "$m" "$m"
    printf '{"event_id":"s%s","type":"segment","member":"%s","occurred_at":"2026-11-01T10:00:00Z","segment":"gold","status":"in"}\n' "$m" "$m"
  done
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq "M1 M2" group_members gold || fail "gold memberships (got '$(group_members gold)')"
{
  for m in M1 M2; do
    printf '{"event_id":"o%s","type":"segment","member":"%s","occurred_at":"2026-11-02T10:00:00Z","segment":"gold","status":"out"}\n' "$m" "$m"
  done
} >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq "" group_members gold || fail "gold not emptied (got '$(group_members gold)')"
quiet
pass "the list gold is empty in Campaign, and still there"

# A new daemon knows no list from its own writes.
stop_daemon
start_daemon
sim_post counters/reset '{}'
wait_for 20 ctl resync acc >/dev/null || fail "resync acc"
wait_for 30 metric_above 'crmsyncd_resyncs_total{connector="acc"}' 0 || fail "no resync"
quiet
assert_eq "$(writes)" 0 "a resync writes nothing, not even the members' out of the empty list"
assert_eq "$(group_members gold)" "" "gold still empty"
stop_daemon
