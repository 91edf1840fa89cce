#!/usr/bin/env bash
# A Contact deleted in Salesforce (docs/salesforce.md "Pull"): the pull
# reads Contacts through queryAll, sees the member's known Contact with
# IsDeleted, keeps its id only as "deleted:<Id>" and writes the member's
# local state to a new Contact (all of it: the opt-out flag and the profile,
# not only the next change). It is not an erasure: the member's local data
# stays. The CampaignMembers Salesforce deletes with the Contact are not
# taken as removals from the segment (getDeleted): the membership is
# written again, to the new Contact. A deleted Contact that is not a
# member's known Contact changes nothing.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","first_name":"Ann","last_name":"Lee"}}\n'
  ev_consent c1 M1 denied 2026-11-01T10:00:00Z
  printf '{"event_id":"s1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m2@example.com","last_name":"Roe"}}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq true contact_field M1 HasOptedOutOfEmail || fail "M1's Contact not written"
wait_for 60 is_eq m2@example.com contact_field M2 Email || fail "M2's Contact not written"
wait_for 60 is_eq "M1:vip " campaign_members vip || fail "M1's membership not written"
cm_contact() { sim_get state | jq -r '.collections.CampaignMember[]? | select(.properties.Membership_Key__c == "M1:vip") | .properties.ContactId'; }
OLD=$(contact_id M1)
wait_for 30 is_eq "$OLD" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'sf'" \
  || fail "M1's Contact id not learnt"
quiet
# A Contact of no member, deleted: nothing to do.
api POST /sobjects/Contact '{"LastName":"Nobody"}' >/dev/null || fail "cannot create a non-member Contact"
OTHER=$(soql "SELECT Id FROM Contact WHERE LastName = 'Nobody'" | jq -r '.[0].Id')
api DELETE "/sobjects/Contact/$OTHER" >/dev/null || fail "cannot delete the non-member Contact"

api DELETE "/sobjects/Contact/$OLD" >/dev/null || fail "cannot delete M1's Contact"
new_contact() { local id; id=$(contact_id M1); [ -n "$id" ] && [ "$id" != "$OLD" ]; }
wait_for 60 new_contact || fail "no new Contact for M1 after its Contact was deleted"
pass "the member's state is written to a new Contact"
NEW=$(contact_id M1)
wait_for 30 is_eq "$NEW" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'sf'" \
  || fail "the new Contact's id not learnt (identity $(sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'sf'"))"
pass "identity map holds the new Contact"
wait_for 30 is_eq true contact_field M1 HasOptedOutOfEmail || fail "the opt-out is not on the new Contact"
wait_for 30 is_eq m1@example.com contact_field M1 Email || fail "the email is not on the new Contact"
wait_for 30 is_eq Ann contact_field M1 FirstName || fail "the first name is not on the new Contact"
assert_eq "$(contact_field M1 LastName)" Lee "the new Contact carries the last name"
pass "the new Contact holds the opt-out and the profile"
# The membership went with the old Contact (Salesforce deletes it too).
new_cm() { [ "$(cm_contact | cut -c1-15)" = "$(cut -c1-15 <<<"$NEW")" ]; }
wait_for 60 new_cm || fail "M1's membership not written again for the new Contact (ContactId '$(cm_contact)', new Contact $NEW)"
pass "the membership deleted with the Contact is written again, to the new Contact"
grep -q "CampaignMember(s) deleted with their Contact: memberships kept" "$T/daemon.log" \
  || fail "the cascade is not logged"
grep -q "Contact $OLD was deleted in Salesforce" "$T/daemon.log" || fail "the deletion is not logged"
! grep -q "Contact $OTHER was deleted" "$T/daemon.log" || fail "a non-member Contact's deletion was taken up"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE kind = 'erase'")" 0 "not an erasure"
assert_eq "$(current_status M1 consent/marketing/email)" denied "local consent untouched"
assert_eq "$(current_status M1 segment/vip)" in "still in the segment locally"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE origin = 'sf' AND member_key = 'M1'")" 0 "the deleted row brings no change"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
assert_eq "$(contact_field M2 Email)" m2@example.com "M2 untouched"
sim_post counters/reset '{}'
quiet
assert_eq "$(writes)" 0 "settled: nothing written again"
stop_daemon
