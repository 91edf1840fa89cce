#!/usr/bin/env bash
# Salesforce erasure (docs/salesforce.md "Push", erase): a member whose
# Contact id is known has that Contact deleted; a member whose Contact id
# was never learnt (a Contact made in Salesforce, not pulled yet) has it
# found by the external id and deleted; a member Salesforce has no Contact
# for is acknowledged (nothing to delete there) and no Contact is created.
# Every erasure completes: no dead letter, the priority lane's push cursor
# passes them.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
# No pull during the test, so the Contact made in Salesforce below is not
# learnt through the identity map (the daemon still pulls once at start).
sed -i 's/^pull_interval = 1s$/pull_interval = 1h/' "$T/crmsyncd.conf"
grep -q '^pull_interval = 1h$' "$T/crmsyncd.conf" || fail "pull_interval not set"
start_daemon
printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","last_name":"Lee"}}\n' >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq m1@example.com contact_field M1 Email || fail "M1's Contact not written"
M1ID=$(contact_id M1)
wait_for 30 is_eq "$M1ID" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'sf'" \
  || fail "M1's Contact id not learnt"

# M2's Contact is made in Salesforce: the daemon does not know its id.
api POST /sobjects/Contact '{"LastName":"Roe","Email":"m2@example.com","Member_Key__c":"M2"}' >/dev/null \
  || fail "cannot create M2's Contact"
M2ID=$(contact_id M2)
[ -n "$M2ID" ] || fail "no Contact for M2"
assert_eq "$(sql "SELECT COUNT(*) FROM identities WHERE member_key = 'M2'")" 0 "M2's Contact id is not known"

upserts() { sim_get counters | jq -r '.endpoints["collections.upsert"].requests // 0'; }
upserts_before=$(upserts)
{
  printf '{"event_id":"e1","type":"erasure","member":"M1","occurred_at":"2026-11-02T09:00:00Z"}\n'
  printf '{"event_id":"e2","type":"erasure","member":"M2","occurred_at":"2026-11-02T09:00:00Z"}\n'
  printf '{"event_id":"e3","type":"erasure","member":"M3","occurred_at":"2026-11-02T09:00:00Z"}\n'
} >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 test -f "$T/spool/done/b.jsonl" || fail "erasures not ingested"
last_erase=$(sql "SELECT MAX(seq) FROM changes WHERE kind = 'erase'")
erased_all() { [ "$(sql "SELECT COUNT(*) FROM push_cursors WHERE connector = 'sf' AND lane = 0 AND seq >= $last_erase")" = 1 ]; }
wait_for 60 erased_all || fail "the erasures were not all acknowledged (lane 0 cursor $(sql "SELECT seq FROM push_cursors WHERE connector = 'sf' AND lane = 0"), last erase $last_erase)"
pass "every erasure acknowledged"
archived() { # MEMBER: the archived flag of each of its Contacts
  sim_get state | jq -r --arg m "$1" '[.collections.Contact[] | select(.properties.Member_Key__c == $m) | .archived] | map(tostring) | join(",")'
}
assert_eq "$(archived M1)" true "M1's known Contact deleted"
assert_eq "$(archived M2)" true "M2's Contact found by the external id and deleted"
assert_eq "$(sim_get state | jq '[.collections.Contact[] | select(.properties.Member_Key__c == "M3")] | length')" 0 \
  "no Contact created for M3, who has none in Salesforce"
assert_eq "$(upserts)" "$upserts_before" "an erasure upserts nothing"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
grep -q 'erase seq [0-9]*: no Contact in Salesforce, nothing to delete' "$T/daemon.log" \
  || fail "the member without a Contact is not logged"
pass "the member without a Contact is logged"
stop_daemon
