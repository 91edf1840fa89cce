#!/usr/bin/env bash
# Tiers in the shared runtime (connectors/crm_tier.c), end to end on Adobe
# Campaign as hubspot_tier does on HubSpot: with tiers = ..., the tier
# derived from the points balance is written with it (@loyaltyTier beside
# @loyaltyPoints), follows the balance over a threshold, and a tier edited in
# Campaign is drift, written back by the next push (Campaign is not a source
# of points or tier). Failed before the derivation moved out of the HubSpot
# connector: nothing wrote a tier to Campaign.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start
acc_config "tiers = bronze:0, silver:100, gold:500"
start_daemon

{
  ev_points t1 M1 T1 50 earn
  ev_points t2 M2 T2 700 earn
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq 50 recipient_field M1 loyaltyPoints || fail "M1's balance not in Campaign"
wait_for 30 is_eq bronze recipient_field M1 loyaltyTier || fail "M1's tier not in Campaign (got '$(recipient_field M1 loyaltyTier)')"
wait_for 30 is_eq gold recipient_field M2 loyaltyTier || fail "M2's tier not in Campaign"
pass "the tier derived from the balance is written with it"

ev_points t3 M1 T3 100 earn >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq 150 recipient_field M1 loyaltyPoints || fail "M1's new balance not in Campaign"
wait_for 30 is_eq silver recipient_field M1 loyaltyTier || fail "M1's tier did not follow the balance"
pass "the tier follows the balance over a threshold"
quiet

# An edit of the tier in Campaign (another user's Write): drift, repaired.
soap 'xtk:session#Write' '<doc><recipient xtkschema="nms:recipient" _operation="update" _key="@memberKey" memberKey="M1" loyaltyTier="gold"/></doc>' ||
  fail "tier not edited in the simulator"
# (Not waited for as "gold": the next pull may repair it before a look.)
grep -q 'Fault' "$T/soap.out" && fail "the edit was refused: $(head -c 300 "$T/soap.out")"
wait_for 30 is_eq silver recipient_field M1 loyaltyTier || fail "a tier edited in Campaign was not repaired"
pass "a tier edited in Campaign is written back"
quiet
assert_eq "$(recipient_field M1 loyaltyPoints)" 150 "the balance is unchanged"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE member_key = 'M1'")" 2 "no ledger transaction from Campaign"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'acc'")" 0 "no dead letters"
stop_daemon
