#!/usr/bin/env bash
# Salesforce Loyalty Management (points_mode = loyalty; docs/salesforce.md
# "Loyalty", docs/salesforce-conformance.md): each ledger transaction is a
# Pending TransactionJournal (LoyaltyProgramId, JournalTypeId Accrual or
# Redemption, TransactionAmount, ExternalTransactionNumber = txn_id) on the
# member's LoyaltyProgramMember (MembershipNumber = member key, created with
# EnrollmentDate and MemberType); the program's process credits it (the
# simulator runs one, as Salesforce does: nothing credits a journal created
# Processed or without a type). A resent journal is found by lookup and not
# posted twice; a txn_id longer than the field's 40 characters is bounded.
# The balance compared is the configured currency's (loyalty_currency): the
# member's qualifying (tier) currency is not the points balance. Drift in
# Salesforce is detected by the pull and logged, nothing written.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sim_post seed '{"collections":{"LoyaltyProgram":[{"id":"1","properties":{"Name":"Club"}}],
  "JournalType":[{"id":"1","properties":{"Name":"Accrual"}},{"id":"2","properties":{"Name":"Redemption"}}]}}' \
  || fail "cannot seed the program"
PROG=$(soql "SELECT Id FROM LoyaltyProgram WHERE Name = 'Club'" | jq -r '.[0].Id')
api POST /sobjects/LoyaltyProgramCurrency '{"Name":"Points","LoyaltyProgramId":"'"$PROG"'","CurrencyType":"NonQualifying"}' >/dev/null \
  || fail "cannot create the points currency"
api POST /sobjects/LoyaltyProgramCurrency '{"Name":"Tier Points","LoyaltyProgramId":"'"$PROG"'","CurrencyType":"Qualifying"}' >/dev/null \
  || fail "cannot create the tier currency"
sf_config "points_mode = loyalty
loyalty_program = Club
loyalty_currency = Points"
start_daemon
LONG=order-2026-11-01-store-0042-till-07-receipt-000000123456
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","last_name":"Lee"}}\n'
  ev_points t1 M1 T1 100 earn
  ev_points t2 M1 T2 -30 redeem
  ev_points t3 M2 T3 5 earn
  ev_points t5 M3 "$LONG" 3 earn
} >"$T/a.jsonl.src"
drop a.jsonl

journals() { sim_get state | jq -r '[.collections.TransactionJournal[]? | .properties.ExternalTransactionNumber | select(startswith("~") | not)] | sort | join(" ")'; }
CUR=$(soql "SELECT Id FROM LoyaltyProgramCurrency WHERE Name = 'Points'" | jq -r '.[0].Id')
balance_of() { # MEMBER [CURRENCY-ID]: PointsBalance of its LoyaltyMemberCurrency
  local lpm
  lpm=$(soql "SELECT Id FROM LoyaltyProgramMember WHERE MembershipNumber = '$1'" | jq -r '.[0].Id // empty')
  [ -n "$lpm" ] || return 0
  soql "SELECT PointsBalance FROM LoyaltyMemberCurrency WHERE LoyaltyMemberId = '$lpm' AND LoyaltyProgramCurrencyId = '${2:-$CUR}'" | jq -r '.[0].PointsBalance // empty'
}
wait_for 60 is_eq "T1 T2 T3" journals || fail "journals T1 T2 T3 (got '$(journals)'; $(grep -i 'journal\|reject' "$T/daemon.log" | tail -3))"
pass "one TransactionJournal per ledger transaction, numbered by txn_id"
wait_for 30 is_eq 70 balance_of M1 || fail "M1's PointsBalance (got '$(balance_of M1)')"
pass "PointsBalance computed by the program process from Pending journals of a type: 70"
assert_eq "$(soql "SELECT Status FROM TransactionJournal WHERE ExternalTransactionNumber = 'T2'" | jq -r '.[0].Status')" Processed \
  "the debit journal was processed (Redemption type)"
assert_eq "$(soql "SELECT EnrollmentDate, MemberType FROM LoyaltyProgramMember WHERE MembershipNumber = 'M1'" | jq -r '.[0] | "\(.EnrollmentDate != null) \(.MemberType)"')" \
  "true Individual" "LoyaltyProgramMember created with EnrollmentDate and MemberType"
assert_eq "$(contact_field M1 Loyalty_Points__c)" "" "the Contact balance field is not written in loyalty mode"
assert_eq "$(sql "SELECT remote_id FROM identities WHERE system = 'sf' AND member_key = 'program:Club'" | cut -c1-3)" "lp:" "program id kept, namespaced"
# The long txn_id: one journal, ExternalTransactionNumber bounded to 40.
long_journal() { sim_get state | jq -r '[.collections.TransactionJournal[]? | .properties.ExternalTransactionNumber | select(startswith("~"))] | map(length) | join(" ")'; }
wait_for 30 is_eq 40 long_journal || fail "the long txn_id's journal (got '$(long_journal)')"
pass "a txn_id over 40 characters is posted with a bounded ExternalTransactionNumber"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
if grep -q 'differs in the CRM' "$T/daemon.log"; then
  fail "false drift reported (the balance was read from another currency): $(grep 'differs in the CRM' "$T/daemon.log" | head -2)"
fi
pass "no false drift: only the loyalty_currency balance is compared (the tier currency differs)"
TIER=$(soql "SELECT Id FROM LoyaltyProgramCurrency WHERE Name = 'Tier Points'" | jq -r '.[0].Id')
assert_eq "$(balance_of M1 "$TIER")" 100 "(the qualifying currency moved differently)"

# A journal posted already (e.g. the answer was lost): found by lookup, not
# posted again (ExternalTransactionNumber is not unique in Salesforce).
M2LPM=$(soql "SELECT Id FROM LoyaltyProgramMember WHERE MembershipNumber = 'M2'" | jq -r '.[0].Id // empty')
ACCRUAL=$(soql "SELECT Id FROM JournalType WHERE Name = 'Accrual'" | jq -r '.[0].Id')
api POST /sobjects/TransactionJournal '{"ExternalTransactionNumber":"T4","LoyaltyProgramId":"'"$PROG"'","MemberId":"'"$M2LPM"'","ActivityDate":"2026-11-02T10:00:00Z","Status":"Pending","JournalTypeId":"'"$ACCRUAL"'","TransactionAmount":7}' >/dev/null \
  || fail "cannot pre-post T4"
ev_points t4 M2 T4 7 earn >"$T/b.jsonl.src"
drop b.jsonl
cursor_past() { [ "$(sql "SELECT COUNT(*) FROM changes c WHERE c.field = 'points/T4' AND c.seq <= (SELECT MAX(seq) FROM push_cursors WHERE connector = 'sf')")" = 1 ]; }
wait_for 60 cursor_past || fail "T4 not acknowledged"
assert_eq "$(journals)" "T1 T2 T3 T4" "T4 posted once"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "a journal found by lookup is OK, not a dead letter"
assert_eq "$(balance_of M2)" 12 "M2's balance counts T4 once"

# Drift: a journal posted in Salesforce; the pull sees PointsBalance 90
# where the ledger says 70: logged, nothing written.
M1LPM=$(soql "SELECT Id FROM LoyaltyProgramMember WHERE MembershipNumber = 'M1'" | jq -r '.[0].Id // empty')
api POST /sobjects/TransactionJournal '{"ExternalTransactionNumber":"X1","LoyaltyProgramId":"'"$PROG"'","MemberId":"'"$M1LPM"'","ActivityDate":"2026-11-02T10:00:00Z","JournalTypeId":"'"$ACCRUAL"'","TransactionAmount":20}' >/dev/null \
  || fail "cannot post X1"
drift_logged() { grep -q 'points balance of member .* differs in the CRM' "$T/daemon.log"; }
wait_for 60 drift_logged || fail "drift not detected"
pass "balance drift detected by the pull and logged"
quiet
assert_eq "$(balance_of M1)" 90 "nothing written to repair a balance (journals are the only writes)"
assert_eq "$(journals)" "T1 T2 T3 T4 X1" "no extra journal"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "drift is not a dead letter"
stop_daemon
