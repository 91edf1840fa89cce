#!/usr/bin/env bash
# An unsubscribe made in HubSpot that does not modify the contact is pulled
# (issue 12, item 4). HubSpot keeps a subscription status with the email
# address, not the contact record, and does not document that a status
# change moves the contact's lastmodifieddate: the pull's search (contacts
# whose lastmodifieddate moved) may never see it. crmsim's statuses write
# leaves the contact untouched, like that. The statuses sweep (status_sweep)
# reads every member's statuses on its own schedule.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config "" "lookback = 0s
status_sweep = 0s"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"A1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"B1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"bob@example.com"}}\n'
  ev_consent c1 A1 granted 2026-11-01T10:00:00Z
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq SUBSCRIBED email_status ann@example.com 1001 || fail "A1's grant not in HubSpot"
quiet
# B1's contact is modified after A1's: the watermark passes A1's contact.
printf '{"event_id":"p3","type":"profile","member":"B1","occurred_at":"2026-11-02T09:00:00Z","attributes":{"first_name":"Bob"}}\n' >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq Bob contact_prop B1 firstname || fail "B1's change not in HubSpot"
quiet
before=$(contact_prop A1 lastmodifieddate)
# The footer link: UNSUBSCRIBED for the address; the contact is untouched.
api POST /communication-preferences/2026-09/statuses/batch/write \
  '{"inputs":[{"subscriberIdString":"ann@example.com","subscriptionId":1001,"statusState":"UNSUBSCRIBED","channel":"EMAIL","legalBasis":"CONSENT_WITH_NOTICE","legalBasisExplanation":"email footer"}]}' >/dev/null
assert_eq "$(contact_prop A1 lastmodifieddate)" "$before" "the unsubscribe left the contact as it was"
wait_for 30 is_eq denied current_status A1 consent/marketing/email \
  || fail "an unsubscribe that did not modify the contact was not pulled"
pass "an unsubscribe that did not modify the contact is pulled by the statuses sweep"
assert_eq "$(sql "SELECT origin FROM changes WHERE member_key = 'A1' AND field = 'consent/marketing/email' ORDER BY seq DESC LIMIT 1")" hs "the change is HubSpot's"
quiet
assert_eq "$(email_status ann@example.com 1001)" UNSUBSCRIBED "and stays in HubSpot"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 0 "no dead letters"
stop_daemon
pass "clean exit"
