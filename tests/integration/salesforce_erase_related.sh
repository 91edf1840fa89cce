#!/usr/bin/env bash
# Salesforce erasure beyond the Contact (issue 12 item 8;
# docs/salesforce-conformance.md "Erasure"): with consent_mode =
# consent_objects and points_mode = loyalty a member also lives in an
# Individual (Member_Key__c, LastName), its ContactPointTypeConsent records
# and a LoyaltyProgramMember (MembershipNumber = member key). An erasure
# deletes the consent records and the Individual, anonymises the program
# member (its journals refer to it) and deletes the Contact; another
# member's records stay.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sim_post seed '{"collections":{"LoyaltyProgram":[{"id":"1","properties":{"Name":"Club"}}],
  "JournalType":[{"id":"1","properties":{"Name":"Accrual"}},{"id":"2","properties":{"Name":"Redemption"}}],
  "LoyaltyProgramCurrency":[{"id":"1","properties":{"Name":"Points","LoyaltyProgramId":"0lpSm0000000001","CurrencyType":"NonQualifying"}}]}}' \
  || fail "cannot seed the program"
sf_config "consent_mode = consent_objects
points_mode = loyalty
loyalty_program = Club
loyalty_currency = Points"
start_daemon
{
  for m in M1 M2; do
    printf '{"event_id":"p%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com","last_name":"Lee"}}\n' "$m" "$m" "$m"
    ev_consent "c$m" "$m" granted 2026-11-01T10:00:00Z
    ev_points "t$m" "$m" "T$m" 10 earn
  done
} >"$T/a.jsonl.src"
drop a.jsonl
live() { # COLLECTION JQ-SELECT: live records matching
  sim_get state | jq --arg c "$1" "[.collections[\$c][]? | select(.archived | not) | .properties | select($2)] | length"
}
ready() {
  [ "$(live Individual '.Member_Key__c == "M1"')" = 1 ] && [ "$(live ContactPointTypeConsent '.Consent_Key__c | startswith("M1:")')" -ge 1 ] &&
    [ "$(live LoyaltyProgramMember '.MembershipNumber == "M1"')" = 1 ] && [ "$(live TransactionJournal '.ExternalTransactionNumber == "TM1"')" = 1 ]
}
wait_for 60 ready || fail "M1's Individual, consent, program member and journal not written"
quiet
pass "M1 is in Individual, ContactPointTypeConsent, LoyaltyProgramMember and Contact"

printf '{"event_id":"e1","type":"erasure","member":"M1","occurred_at":"2026-11-02T09:00:00Z"}\n' >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 test -f "$T/spool/done/b.jsonl" || fail "erasure not ingested"
last_erase=$(sql "SELECT MAX(seq) FROM changes WHERE kind = 'erase'")
erased() { [ "$(sql "SELECT COUNT(*) FROM push_cursors WHERE connector = 'sf' AND lane = 0 AND seq >= $last_erase")" = 1 ]; }
wait_for 60 erased || fail "the erasure was not acknowledged ($(grep -i erase "$T/daemon.log" | tail -3))"
assert_eq "$(live Contact '.Member_Key__c == "M1"')" 0 "M1's Contact deleted"
assert_eq "$(live Individual '.Member_Key__c == "M1"')" 0 "M1's Individual deleted"
assert_eq "$(live ContactPointTypeConsent '.Consent_Key__c | startswith("M1:")')" 0 "M1's ContactPointTypeConsent records deleted"
assert_eq "$(live LoyaltyProgramMember '.MembershipNumber == "M1"')" 0 "no program member carries M1's key"
assert_eq "$(sim_get state | jq -r '[.collections.LoyaltyProgramMember[] | .properties | select(.MembershipNumber | startswith("erased-"))
  | "\(.MemberStatus) \(.ContactId // "none")"] | join(",")')" "Inactive none" "the program member anonymised: Inactive, no Contact"
assert_eq "$(live TransactionJournal '.ExternalTransactionNumber == "TM1"')" 1 "the journal stays (the program's ledger)"
assert_eq "$(live Individual '.Member_Key__c == "M2"')/$(live LoyaltyProgramMember '.MembershipNumber == "M2"')/$(live Contact '.Member_Key__c == "M2"')" \
  "1/1/1" "M2's records stay"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
stop_daemon
