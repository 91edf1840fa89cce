#!/usr/bin/env bash
# HubSpot contacts that go away without us (docs/hubspot.md "Merged and
# archived contacts"), end to end against crmsim's merge endpoint and
# archiving:
#   - a member's contact merged into a non-member contact: the identity
#     follows the survivor (a new segment goes to the survivor's id, no
#     second contact is made);
#   - a member's contact merged into another member's: the merged member's
#     contact is created again with all its local values (consent, points,
#     profile), and its identity is the new id;
#   - a member's contact archived in HubSpot: the same, found by the
#     archived sweep (archiving does not move lastmodifieddate);
#   - an erased member's contact (archived by our erasure) is not created
#     again, and the sweep writes nothing of that member back into the
#     state.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
# Cases 1 and 2 with the archived sweep once an hour: a merged contact is
# archived too, and a sweep between the search that sees the survivor and
# the merge would take it as archived (a race this test lost under load).
# Case 3 restarts the daemon with a sweep at every pull.
hs_config "" "archived_sweep = 1h"
start_daemon

sms() { # id member status
  printf '{"event_id":"%s","type":"consent","member":"%s","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"sms","status":"%s","legal_basis":"consent","source":"till"}\n' "$1" "$2" "$3"
}
profile() { # id member email
  printf '{"event_id":"%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s","first_name":"N%s"}}\n' "$1" "$2" "$3" "$2"
}
segment() { # id member segment
  printf '{"event_id":"%s","type":"segment","member":"%s","occurred_at":"2026-11-02T10:00:00Z","segment":"%s","status":"in"}\n' "$1" "$2" "$3"
}
contacts_of() { # MEMBER: live contacts holding the member key
  sim_get state | jq -r --arg m "$1" \
    '[.collections.contacts[]? | select(.archived | not) | select(.properties.member_key == $m)] | length'
}
identity() { sql "SELECT remote_id FROM identities WHERE member_key = '$1' AND system = 'hs'"; }
live_id() { # MEMBER: id of the live contact holding the member key
  sim_get state | jq -r --arg m "$1" \
    '.collections.contacts[]? | select(.archived | not) | select(.properties.member_key == $m) | .id'
}
live_prop() { # MEMBER PROPERTY
  sim_get state | jq -r --arg m "$1" --arg p "$2" \
    '.collections.contacts[]? | select(.archived | not) | select(.properties.member_key == $m) | .properties[$p] // empty'
}
new_id_known() { # MEMBER OLD_ID: a live contact other than OLD_ID, and the identity map has it
  local id
  id=$(live_id "$1")
  [ -n "$id" ] && [ "$id" != "$2" ] && [ "$(identity "$1")" = "$id" ]
}

{
  for m in 1 2 3 4 5; do
    profile "p$m" "M$m" "m$m@example.com"
    sms "s$m" "M$m" granted
    ev_points "t$m" "M$m" "T$m" "${m}0" earn
  done
  sms s2b M2 denied | sed 's/2026-11-01T10/2026-11-01T11/'
  segment g1 M1 vip
} >"$T/a.jsonl.src"
drop a.jsonl
for m in 1 2 3 4 5; do
  wait_for 30 is_eq "${m}0" live_prop "M$m" loyalty_points || fail "M$m not in HubSpot"
  wait_for 30 is_eq "$(live_id "M$m")" identity "M$m" || fail "M$m's record id not learnt"
done
M1ID=$(identity M1); M2ID=$(identity M2); M3ID=$(identity M3); M4ID=$(identity M4)
quiet

# 1. M1's contact merged into a contact that is no member's: the survivor
#    takes M1's key (it had none), and M1 follows it.
DID=$(api POST /crm/objects/2026-09/contacts '{"properties":{"email":"dup@example.com","firstname":"Dup"}}' | jq -r .id)
[ -n "$DID" ] || fail "cannot create the duplicate contact"
api POST /crm/objects/2026-09/contacts/merge \
  "{\"primaryObjectId\":\"$DID\",\"objectIdToMerge\":\"$M1ID\"}" >/dev/null || fail "merge refused"
wait_for 30 is_eq "$DID" identity M1 || fail "M1's identity did not follow the merge"
pass "a member's identity follows its contact merged into another"
segment g2 M1 gold >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 list_has gold "$DID" || fail "M1's new segment did not go to the survivor"
pass "a segment of the member goes to the survivor's record id"
quiet
assert_eq "$(contacts_of M1)" 1 "no second contact for M1"

# 2. M3's contact merged into M2's: the survivor keeps M2's key; M3's
#    contact is gone and created again with M3's local values.
api POST /crm/objects/2026-09/contacts/merge \
  "{\"primaryObjectId\":\"$M2ID\",\"objectIdToMerge\":\"$M3ID\"}" >/dev/null || fail "merge refused"
wait_for 30 new_id_known M3 "$M3ID" || fail "M3's contact was not created again"
pass "a member whose contact was merged into another member's gets its contact back"
wait_for 30 is_eq 30 live_prop M3 loyalty_points || fail "M3's balance not on the new contact"
wait_for 30 is_eq granted live_prop M3 consent_marketing_sms || fail "M3's sms consent not on the new contact"
wait_for 30 is_eq m3@example.com live_prop M3 email || fail "M3's email not on the new contact"
pass "the new contact holds the member's local values"
assert_eq "$(identity M2)" "$M2ID" "M2 keeps the survivor"
# The operator is told (no sweep ran in case 2: only the merge path re-creates).
grep -q "contact $M3ID was merged into contact $M2ID" "$T/daemon.log" || fail "the merge is not logged"

# 3. M4's contact archived in HubSpot: found by the archived sweep.
stop_daemon
sed -i 's/^archived_sweep = 1h$/archived_sweep = 0s/' "$T/crmsyncd.conf"
start_daemon
api DELETE "/crm/objects/2026-09/contacts/$M4ID" '' >/dev/null || true
wait_for 30 new_id_known M4 "$M4ID" || fail "M4's archived contact was not created again"
wait_for 30 is_eq 40 live_prop M4 loyalty_points || fail "M4's balance not on the new contact"
wait_for 30 is_eq granted live_prop M4 consent_marketing_sms || fail "M4's sms consent not on the new contact"
pass "a member whose contact was archived in HubSpot gets its contact back"
M4NEW=$(identity M4)

# 4. M5 erased locally: our erasure archives the contact; the sweep must
#    not bring it back nor write M5 into the state again.
M5ID=$(identity M5)
printf '{"event_id":"e5","type":"erasure","member":"M5","occurred_at":"2026-11-03T10:00:00Z"}\n' >"$T/c.jsonl.src"
drop c.jsonl
wait_for 30 is_eq 0 contacts_of M5 || fail "M5's contact not archived by the erasure"
quiet
quiet
assert_eq "$(contacts_of M5)" 0 "an erased member's archived contact is not created again"
# (the engine's own shadow of the confirmed erasure stays: field "erase")
assert_eq "$(sql "SELECT COUNT(*) FROM shadow WHERE member_key = 'M5' AND field != 'erase'")" 0 \
  "the sweep writes no shadow of the erased member"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M5' AND origin != 'shop' AND kind != 'erase'")" 0 \
  "no change of the erased member after the erasure"

# Settled: nothing is created twice, nothing is dead-lettered.
quiet
assert_eq "$(identity M4)" "$M4NEW" "M4 keeps its new contact"
for m in 1 2 3 4; do assert_eq "$(contacts_of "M$m")" 1 "one live contact for M$m"; done
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 0 "no dead letters"
[ -n "$M5ID" ] || fail "M5 had no id"
stop_daemon
