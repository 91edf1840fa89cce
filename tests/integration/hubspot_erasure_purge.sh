#!/usr/bin/env bash
# An erased member's key is purged once every CRM has confirmed the erasure
# (state/store_purge.c): while HubSpot refuses the archive (503), the key
# stays (it is what the CRM finds the member by); once HubSpot has archived
# the contact, the change-log holds only "erased:<salted hash>", and the
# identities, shadows and dead letters of the member are gone. The tombstone
# stays: a later event for the member is still refused.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
start_daemon

{
  printf '{"event_id":"p5","type":"profile","member":"M5","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m5@example.com"}}\n'
  ev_points t5 M5 T5 50 earn
  ev_points t6 M6 T6 60 earn
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq 50 contact_prop M5 loyalty_points || fail "M5 not in HubSpot"
wait_for 30 is_eq 60 contact_prop M6 loyalty_points || fail "M6 not in HubSpot"
wait_for 30 nonempty sql "SELECT remote_id FROM identities WHERE member_key = 'M5'" || fail "M5's id not learnt"
quiet

# HubSpot refuses the archive: the erasure is not confirmed, the key stays.
sim_post config '{"faults":"503:1","fault-match":"/batch/archive"}' || fail "crmsim config refused"
printf '{"event_id":"e5","type":"erasure","member":"M5","occurred_at":"2026-11-03T10:00:00Z"}\n' >"$T/b.jsonl.src"
drop b.jsonl
# A function, so that wait_for re-runs the query (an argument is expanded once).
one_tombstone() { [ "$(sql "SELECT COUNT(*) FROM tombstones")" = 1 ]; }
wait_for 30 one_tombstone || fail "no tombstone"
wait_for 30 grep -q 'batch/archive 503' "$T/sim.log" || fail "the archive was not tried"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M5' AND kind = 'erase'")" 1 \
  "the key stays while a CRM has not confirmed the erasure"
assert_eq "$(sql "SELECT COUNT(*) FROM identities WHERE member_key = 'M5'")" 1 "and so does its identity"

# HubSpot archives it: confirmed everywhere, the key is purged.
curl -sf --max-time 10 -X DELETE "$SIM_URL/__sim/faults" >/dev/null || fail "cannot clear faults"
purged() { [ "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M5'")" = 0 ]; }
wait_for 120 purged || fail "the erased member's key was not purged"
pass "the key is purged once every CRM confirmed the erasure"
assert_eq "$(sim_get state | jq -r '[.collections.contacts[] | select(.properties.member_key == "M5") | .archived] | all')" true \
  "the contact was archived in HubSpot first"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key LIKE 'erased:%' AND kind = 'erase'")" 1 \
  "the erasure stays in the change-log under the salted hash"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE instr(member_key, 'M5') > 0 OR instr(idem_key, 'M5') > 0")" 0 \
  "no change row holds the key"
for t in identities shadow dead_letters; do
  assert_eq "$(sql "SELECT COUNT(*) FROM $t WHERE member_key = 'M5'")" 0 "no $t row of the erased member"
done
assert_eq "$(sql "SELECT COUNT(*) FROM identities WHERE member_key = 'M6'")" 1 "another member keeps its identity"
grep -q 'member key(s) purged' "$T/daemon.log" || fail "the purge is not logged"

# The tombstone still refuses the member.
printf '{"event_id":"p5b","type":"profile","member":"M5","occurred_at":"2026-11-04T09:00:00Z","attributes":{"email":"m5@example.com"}}\n' >"$T/c.jsonl.src"
drop c.jsonl
wait_for 10 test ! -f "$T/spool/c.jsonl" || fail "c.jsonl not taken"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M5'")" 0 "an event for the erased member is still refused"
assert_eq "$(sim_get state | jq -r '[.collections.contacts[] | select(.properties.member_key == "M5") | select(.archived | not)] | length')" 0 \
  "and nothing is created in HubSpot"
stop_daemon
