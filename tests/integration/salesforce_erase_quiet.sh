#!/usr/bin/env bash
# After our own erasure (issue 19): the Contact crmsyncd deleted comes back
# in the next pulls (queryAll, IsDeleted) with the erased member's key. It is
# not "deleted in Salesforce" (that notice says the member's data will be
# written to a new Contact, which alarms whoever reads it after an
# erasure): nothing is logged above debug, no "deleted:<Id>" identity is
# learnt, and no Contact is created.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","last_name":"Lee"}}\n'
  ev_consent c1 M1 granted 2026-11-01T10:00:00Z
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq m1@example.com contact_field M1 Email || fail "M1's Contact not written"
ID=$(contact_id M1)
wait_for 30 is_eq "$ID" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'sf'" \
  || fail "M1's Contact id not learnt"

printf '{"event_id":"e1","type":"erasure","member":"M1","occurred_at":"2026-11-02T09:00:00Z"}\n' >"$T/b.jsonl.src"
drop b.jsonl
archived() { sim_get state | jq -r '[.collections.Contact[] | select(.properties.Member_Key__c == "M1") | .archived] | map(tostring) | join(",")'; }
wait_for 60 is_eq true archived || fail "M1's Contact not deleted: $(sim_get state | jq -c '.collections.Contact')"
pass "the erasure deleted the Contact"
n=$(pulls_done)
wait_pulls() { pulls_at_least $((n + 3)); }
wait_for 60 wait_pulls || fail "no pulls after the erasure"
! grep -q "was deleted in Salesforce" "$T/daemon.log" \
  || fail "our own erasure logged as a deletion in Salesforce: $(grep 'was deleted in Salesforce' "$T/daemon.log")"
assert_eq "$(sql "SELECT COUNT(*) FROM identities WHERE remote_id LIKE 'deleted:%' OR remote_id LIKE 'gone:%'")" 0 \
  "no deleted:/gone: identity learnt for the erased member"
assert_eq "$(archived)" true "no new Contact for M1"
pass "three pulls after the erasure: nothing alarming logged"
stop_daemon
