#!/usr/bin/env bash
# The tier derived from the points balance (tiers = ...), end to end: it is
# written with the balance as a contact property, follows the balance over
# a threshold, and a tier edited in HubSpot is drift, written back by the
# next push (HubSpot is not a source of points or tier).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config "" "tiers = bronze:0, silver:100, gold:500"
start_daemon

{
  ev_points t1 M1 T1 50 earn
  ev_points t2 M2 T2 700 earn
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq 50 contact_prop M1 loyalty_points || fail "M1's balance not in HubSpot"
wait_for 30 is_eq bronze contact_prop M1 loyalty_tier || fail "M1's tier not in HubSpot"
wait_for 30 is_eq gold contact_prop M2 loyalty_tier || fail "M2's tier not in HubSpot"
pass "the tier derived from the balance is written with it"

ev_points t3 M1 T3 100 earn >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq 150 contact_prop M1 loyalty_points || fail "M1's new balance not in HubSpot"
wait_for 30 is_eq silver contact_prop M1 loyalty_tier || fail "M1's tier did not follow the balance"
pass "the tier follows the balance over a threshold"
quiet

# An edit of the tier in HubSpot: drift, repaired; the balance stays.
M1ID=$(contact_id M1)
api PATCH "/crm/objects/2026-09/contacts/$M1ID" '{"properties":{"loyalty_tier":"gold"}}' >/dev/null
wait_for 30 is_eq silver contact_prop M1 loyalty_tier || fail "a tier edited in HubSpot was not repaired"
pass "a tier edited in HubSpot is written back"
quiet
assert_eq "$(contact_prop M1 loyalty_points)" 150 "the balance is unchanged"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE member_key = 'M1'")" 2 "no ledger transaction from HubSpot"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 0 "no dead letters"
stop_daemon
