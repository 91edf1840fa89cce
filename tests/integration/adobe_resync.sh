#!/usr/bin/env bash
# Adobe Campaign full resync (DESIGN.md §4): after a resync of the
# connector (watermarks and shadows cleared, everything pulled and offered
# again) Campaign holds the same state, and a second resync right after the
# first writes nothing, an absent membership included (read with
# setOperator="NOT EXISTS"). Also: a segment left is removed from the
# nms:group list.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
acc_sim_start
acc_config
start_daemon
{
  for m in M1 M2 M3; do
    printf '{"event_id":"p%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com"}}\n' "$m" "$m" "$m"
    ev_consent "c$m" "$m" granted 2026-11-01T10:00:00Z
    printf '{"event_id":"s%s","type":"segment","member":"%s","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n' "$m" "$m"
  done
  ev_points t1 M1 T1 100 earn
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq "M1 M2 M3" group_members vip || fail "vip memberships (got '$(group_members vip)')"
wait_for 30 is_eq 1 subscribed M3 newsletter || fail "M3's grant"
printf '{"event_id":"s2","type":"segment","member":"M2","occurred_at":"2026-11-02T10:00:00Z","segment":"vip","status":"out"}\n' >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq "M1 M3" group_members vip || fail "M2 not removed from vip (got '$(group_members vip)')"
pass "a segment left is removed from the nms:group list"
quiet
state_of() { sim_get state | jq -S '[.collections["nms:recipient"][]?.properties] | sort_by(.memberKey)'; }
before=$(state_of)

ctl resync acc >/dev/null || fail "resync acc"
resyncs() { metric 'crmsyncd_resyncs_total{connector="acc"}'; }
wait_for 30 is_eq 1 resyncs || fail "no resync"
quiet
assert_eq "$(state_of)" "$before" "after a resync Campaign holds the same recipients"
assert_eq "$(group_members vip)" "M1 M3" "and the same list"
assert_eq "$(recipient_count M1)" 1 "no twin"
sim_post counters/reset '{}'
ctl resync acc >/dev/null || fail "second resync acc"
wait_for 30 is_eq 2 resyncs || fail "no second resync"
quiet
# A membership that is out has no nms:rcpGrpRel row: the full read's
# sweep reads the recipients NOT in vip (setOperator="NOT EXISTS") and
# observes M2's "out", so it is not written again (a delete of nothing).
assert_eq "$(writes)" 0 "a second resync right after the first writes nothing, not even M2's absent membership"
stop_daemon
