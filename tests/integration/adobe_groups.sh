#!/usr/bin/env bash
# Adobe Campaign lists with create_groups = no: a segment whose nms:group
# exists in Campaign gets its memberships; one whose list does not exist is
# not created behind the operator's back (the membership's rcpGroup link is
# reconciled only, _operation="none", as Adobe's "Data oriented APIs" page
# describes it) and its records are dead-lettered with Campaign's fault.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start
sim_post seed '{"collections":{"nms:group":[{"properties":{"name":"gold","label":"Gold","type":"1"}}]}}' ||
  fail "group gold not seeded"
acc_config "create_groups = no"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com"}}\n'
  printf '{"event_id":"s1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"gold","status":"in"}\n'
  printf '{"event_id":"s2","type":"segment","member":"M2","occurred_at":"2026-11-01T10:00:00Z","segment":"gold","status":"in"}\n'
  printf '{"event_id":"s3","type":"segment","member":"M3","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq "M1 M2" group_members gold || fail "gold memberships (got '$(group_members gold)')"
pass "memberships of a list that exists are written"
dl_vip() { sql "SELECT last_error FROM dead_letters WHERE destination = 'acc' AND member_key = 'M3' AND field = 'segment/vip'" | head -n 1; }
dl_has() { dl_vip | grep -q 'XTK-170026'; }
wait_for 60 dl_has || fail "the membership of a missing list is not dead-lettered with the fault (got '$(dl_vip)')"
pass "the membership of a missing list is dead-lettered: $(dl_vip | cut -c1-90)"
groups() { sim_get state | jq -r '[.collections["nms:group"][]?.properties.name] | sort | join(" ")'; }
assert_eq "$(groups)" "gold" "no list is created in Campaign"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'acc'")" 1 "only that record is dead-lettered"
stop_daemon
