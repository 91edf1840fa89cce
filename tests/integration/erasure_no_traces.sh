#!/usr/bin/env bash
# After an erasure is confirmed and purged, nothing keyed by the member is
# written again (issue 14 item 5): HubSpot still (or again) holds a contact
# with the member's key, the next pulls see it, and no identity, shadow or
# change row comes back under the erased key (host_learn_identity and
# host_observe used to write them: they did not consult the tombstones).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
start_daemon

printf '{"event_id":"p5","type":"profile","member":"M5","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m5@example.com","first_name":"Eve"}}\n' >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq Eve contact_prop M5 firstname || fail "M5 not in HubSpot"
wait_for 30 nonempty sql "SELECT remote_id FROM identities WHERE member_key = 'M5'" || fail "M5's id not learnt"

printf '{"event_id":"e5","type":"erasure","member":"M5","occurred_at":"2026-11-03T10:00:00Z"}\n' >"$T/b.jsonl.src"
drop b.jsonl
purged() { [ "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M5'")" = 0 ]; }
wait_for 120 purged || fail "the erased member's key was not purged"
pass "the erasure is confirmed and the key purged"

# HubSpot holds the member again (restored by someone, or made anew there).
api POST /crm/objects/2026-09/contacts \
  '{"properties":{"member_key":"M5","email":"m5@example.com","firstname":"Eve"}}' >/dev/null \
  || fail "cannot create the contact again in HubSpot"
wait_pulls 3
for t in identities shadow changes current; do
  assert_eq "$(sql "SELECT COUNT(*) FROM $t WHERE member_key = 'M5'")" 0 "no $t row under the erased key after the pulls"
done
assert_eq "$(sql "SELECT COUNT(*) FROM identities WHERE instr(member_key, 'M5') > 0")" 0 "no identity names the key"
assert_eq "$(sql "SELECT COUNT(*) FROM tombstones")" 1 "the tombstone stays"
stop_daemon
