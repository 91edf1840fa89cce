#!/usr/bin/env bash
# Salesforce Loyalty Management (points_mode = loyalty; docs/salesforce.md
# "Loyalty"): each ledger transaction is a TransactionJournal with
# ExternalTransactionNumber = txn_id on the member's LoyaltyProgramMember
# (MembershipNumber = member key); PointsBalance is never written (Salesforce
# computes it) and the Contact's balance field stays empty; a journal that
# exists already (DUPLICATE_VALUE) is OK, not a dead letter; a balance that
# drifts in Salesforce is detected by the pull and logged, nothing written.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
api POST /sobjects/LoyaltyProgram '{"Name":"Club"}' >/dev/null || fail "cannot create the LoyaltyProgram"
sf_config "points_mode = loyalty
loyalty_program = Club"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","last_name":"Lee"}}\n'
  ev_points t1 M1 T1 100 earn
  ev_points t2 M1 T2 -30 redeem
  ev_points t3 M2 T3 5 earn
} >"$T/a.jsonl.src"
drop a.jsonl

journals() { sim_get state | jq -r '[.collections.TransactionJournal[]? | .properties.ExternalTransactionNumber] | sort | join(" ")'; }
balance_of() { # MEMBER: PointsBalance of its LoyaltyMemberCurrency
  local lpm
  lpm=$(soql "SELECT Id FROM LoyaltyProgramMember WHERE MembershipNumber = '$1'" | jq -r '.[0].Id // empty')
  [ -n "$lpm" ] || return 0
  soql "SELECT PointsBalance FROM LoyaltyMemberCurrency WHERE LoyaltyMemberId = '$lpm'" | jq -r '.[0].PointsBalance // empty'
}
wait_for 60 is_eq "T1 T2 T3" journals || fail "journals T1 T2 T3 (got '$(journals)')"
pass "one TransactionJournal per ledger transaction, numbered by txn_id"
wait_for 30 is_eq 70 balance_of M1 || fail "M1's PointsBalance (got '$(balance_of M1)')"
pass "PointsBalance computed by Salesforce from the journals: 70"
assert_eq "$(contact_field M1 Loyalty_Points__c)" "" "the Contact balance field is not written in loyalty mode"
assert_eq "$(sql "SELECT remote_id FROM identities WHERE system = 'sf' AND member_key = 'program:Club'" | cut -c1-3)" "lp:" "program id kept, namespaced"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"

# A journal posted already (e.g. the answer was lost): DUPLICATE_VALUE -> OK.
M2LPM=$(soql "SELECT Id FROM LoyaltyProgramMember WHERE MembershipNumber = 'M2'" | jq -r '.[0].Id // empty')
PROG=$(soql "SELECT Id FROM LoyaltyProgram WHERE Name = 'Club'" | jq -r '.[0].Id')
api POST /sobjects/TransactionJournal '{"ExternalTransactionNumber":"T4","ProgramId":"'"$PROG"'","MemberId":"'"$M2LPM"'","ActivityDate":"2026-11-02T10:00:00Z","Status":"Processed","Points__c":7}' >/dev/null \
  || fail "cannot pre-post T4"
ev_points t4 M2 T4 7 earn >"$T/b.jsonl.src"
drop b.jsonl
cursor_past() { [ "$(sql "SELECT COUNT(*) FROM changes c WHERE c.field = 'points/T4' AND c.seq <= (SELECT MAX(seq) FROM push_cursors WHERE connector = 'sf')")" = 1 ]; }
wait_for 60 cursor_past || fail "T4 not acknowledged"
assert_eq "$(journals)" "T1 T2 T3 T4" "T4 posted once"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "DUPLICATE_VALUE on ExternalTransactionNumber is OK, not a dead letter"
assert_eq "$(balance_of M2)" 12 "M2's balance counts T4 once"

# Drift: a journal changed in Salesforce; the pull sees PointsBalance 90
# where the ledger says 70: logged, nothing written.
T1ID=$(soql "SELECT Id FROM TransactionJournal WHERE ExternalTransactionNumber = 'T1'" | jq -r '.[0].Id')
api PATCH /composite/sobjects '{"allOrNone":true,"records":[{"attributes":{"type":"TransactionJournal"},"Id":"'"$T1ID"'","Points__c":120}]}' >/dev/null || fail "cannot change T1"
drift_logged() { grep -q 'points balance of member .* differs in the CRM' "$T/daemon.log"; }
wait_for 60 drift_logged || fail "drift not detected"
pass "balance drift detected by the pull and logged"
quiet
assert_eq "$(balance_of M1)" 90 "nothing written to repair a balance (journals are the only writes)"
assert_eq "$(journals)" "T1 T2 T3 T4" "no extra journal"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "drift is not a dead letter"
stop_daemon
