#!/usr/bin/env bash
# HubSpot end to end against crmsim: spool -> HubSpot (email and sms
# consent, points balance, segment list), HubSpot -> local and not back,
# the same spool file twice writes nothing, a withdrawal made in HubSpot
# wins over an older grant from the spool, and a second resync writes
# nothing.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","first_name":"Ann"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"bob@example.com"}}\n'
  ev_consent c1 M1 granted 2026-11-01T10:00:00Z
  printf '{"event_id":"c2","type":"consent","member":"M1","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"sms","status":"granted","legal_basis":"consent","source":"till"}\n'
  ev_consent c3 M2 granted 2026-11-01T10:00:00Z
  ev_points t1 M1 T1 100 earn
  ev_points t2 M1 T2 -30 redeem
  ev_points t3 M2 T3 5 earn
  printf '{"event_id":"s1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl

wait_for 30 is_eq 70 contact_prop M1 loyalty_points || fail "M1's balance not in HubSpot"
pass "points transactions arrive as the balance property"
wait_for 30 is_eq granted contact_prop M1 consent_marketing_sms || fail "sms consent"
assert_eq "$(contact_prop M1 consent_marketing_sms_date)" 2026-11-01T10:00:00.000Z "sms consent date property"
assert_eq "$(contact_prop M1 consent_marketing_sms_source)" till "sms consent source property"
wait_for 30 is_eq SUBSCRIBED email_status ann@example.com 1001 || fail "email subscription"
assert_eq "$(sim_get state | jq -r '.flavor_state.statuses["ann@example.com"]["1001"].legalBasis')" \
  CONSENT_WITH_NOTICE "legal basis from legal_basis_map"
wait_for 30 contact_id_known M1 || fail "M1 not created"
M1ID=$(contact_id M1)
wait_for 30 list_has vip "$M1ID" || fail "M1 not in the vip list"
pass "segment vip is a MANUAL list holding M1"
wait_for 30 is_eq SUBSCRIBED email_status bob@example.com 1001 || fail "M2 email subscription"
wait_for 30 is_eq "$M1ID" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'hs'" \
  || fail "M1's record id not learnt"
pass "identity map holds the HubSpot record id"
quiet

# The same file again: nothing new, no write request.
sim_post counters/reset '{}'
drop a.jsonl
wait_for 10 test ! -f "$T/spool/a.jsonl" || fail "second a.jsonl not taken"
quiet
assert_eq "$(write_requests)" 0 "the same spool file twice makes no write request"

# HubSpot -> local, and not back again.
api PATCH "/crm/objects/2026-09/contacts/$M1ID" \
  '{"properties":{"consent_marketing_sms":"denied","consent_marketing_sms_date":"2026-11-20T07:00:00Z","consent_marketing_sms_source":"sms_stop"}}' >/dev/null
sim_post counters/reset '{}'
wait_for 30 is_eq denied current_status M1 consent/marketing/sms \
  || fail "sms withdrawal made in HubSpot not pulled"
assert_eq "$(sql "SELECT origin FROM changes WHERE member_key = 'M1' AND field = 'consent/marketing/sms' ORDER BY seq DESC LIMIT 1")" hs "the change is HubSpot's"
quiet
assert_eq "$(writes)" 0 "a change pulled from HubSpot is not written back"

# A withdrawal in HubSpot racing an older grant from the spool.
api POST /communication-preferences/2026-09/statuses/batch/write \
  '{"inputs":[{"subscriberIdString":"bob@example.com","subscriptionId":1001,"statusState":"UNSUBSCRIBED","channel":"EMAIL","legalBasis":"CONSENT_WITH_NOTICE","legalBasisExplanation":"email footer"}]}' >/dev/null
ev_consent c4 M2 granted 2026-11-10T10:00:00Z >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq denied current_status M2 consent/marketing/email \
  || fail "the HubSpot withdrawal did not win locally"
quiet
assert_eq "$(email_status bob@example.com 1001)" UNSUBSCRIBED "the withdrawal stays in HubSpot"
assert_eq "$(current_status M2 consent/marketing/email)" denied "and locally"

# Our own withdrawal is not a withdrawal made in HubSpot: HubSpot dates a
# status when it is written (now), so the denial we wrote looks newer than
# a later grant dated by its event time; the grant must still go.
ev_consent c5 M1 denied 2026-11-02T10:00:00Z >"$T/c.jsonl.src"
drop c.jsonl
wait_for 30 is_eq UNSUBSCRIBED email_status ann@example.com 1001 || fail "M1's withdrawal not written"
quiet
ev_consent c6 M1 granted 2026-11-03T10:00:00Z >"$T/d.jsonl.src"
drop d.jsonl
wait_for 30 is_eq SUBSCRIBED email_status ann@example.com 1001 \
  || fail "a grant after our own withdrawal was held back as if HubSpot's withdrawal were newer"
pass "a grant after our own withdrawal is written"
quiet

# Resync twice: the second writes nothing.
resync_wait hs
quiet
sim_post counters/reset '{}'
resync_wait hs
quiet
assert_eq "$(writes)" 0 "a second resync writes nothing"
assert_eq "$(contact_prop M1 loyalty_points)" 70 "state unchanged after resyncs"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 0 "no dead letters"
if grep -q 'ann@example.com' "$T/daemon.log"; then fail "an email address reached the log"; fi
stop_daemon
