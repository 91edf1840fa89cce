#!/usr/bin/env bash
# Adobe Campaign end to end against crmsim --flavor adobe (IMS client
# credentials): spool -> Campaign (profile attributes, points and tier as
# extension attributes, consent as Subscribe/Unsubscribe of the mapped
# services, a segment as an nms:group list), several fields of one member
# in one recipient, the identity map learnt; one bad record dead-lettered
# with the fault text while the rest of its WriteCollection is written
# (bisection); an unsubscription and a denylist flag set in Campaign pulled
# and not written back; an erasure deletes the recipient.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start
acc_config
start_daemon
long=$(printf 'x%.0s' $(seq 140))
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","first_name":"Ann","last_name":"Lee"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"bob@example.com"}}\n'
  # Longer than nms:recipient @email (128): a data fault for this member only.
  printf '{"event_id":"p3","type":"profile","member":"M3","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com"}}\n' "$long"
  printf '{"event_id":"p4","type":"profile","member":"M4","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"dan@example.com"}}\n'
  ev_points t1 M1 T1 100 earn
  ev_points t2 M1 T2 -30 redeem
  printf '{"event_id":"s1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
  printf '{"event_id":"s2","type":"segment","member":"M2","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl

wait_for 60 is_eq 70 recipient_field M1 loyaltyPoints || fail "M1's balance not in Campaign"
pass "points transactions arrive as loyaltyPoints"
assert_eq "$(recipient_field M1 email)/$(recipient_field M1 firstName)/$(recipient_field M1 lastName)" \
  "ann@example.com/Ann/Lee" "profile attributes, several in one recipient"
wait_for 30 is_eq dan@example.com recipient_field M4 email || fail "M4 (same batch as the bad record) not written"
pass "the rest of the batch is written"
dl_reason() { sql "SELECT last_error FROM dead_letters WHERE destination = 'acc' AND member_key = 'M3'" | head -n 1; }
dl_has() { dl_reason | grep -q -E 'PGS-|SOP-330011'; }
wait_for 30 dl_has || fail "M3's bad email not dead-lettered with the fault text (got '$(dl_reason)')"
pass "one bad record dead-lettered with the fault: $(dl_reason | cut -c1-100)"
assert_eq "$(recipient_count M3)" 0 "the bad record wrote nothing"
wait_for 30 is_eq "M1 M2" group_members vip || fail "vip memberships (got '$(group_members vip)')"
pass "segment vip is an nms:group list with M1 and M2"
M1ID=$(recipient_id M1)
wait_for 30 is_eq "$M1ID" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'acc'" \
  || fail "M1's recipient id not learnt"
pass "identity map holds the recipient @id"

# Consent: grant = Subscribe, withdrawal = Unsubscribe of the mapped service.
{
  ev_consent c1 M1 granted 2026-11-01T10:00:00Z
  ev_consent c2 M2 granted 2026-11-01T10:00:00Z
  printf '{"event_id":"c3","type":"consent","member":"M2","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"sms","status":"granted","legal_basis":"consent","source":"till"}\n'
} >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq 1 subscribed M1 newsletter || fail "M1 not subscribed to newsletter"
wait_for 30 is_eq 1 subscribed M2 smsOffers || fail "M2 not subscribed to smsOffers"
pass "grants are subscriptions to the mapped services"
ev_consent c4 M1 denied 2026-11-02T10:00:00Z >"$T/c.jsonl.src"
drop c.jsonl
wait_for 30 is_eq 0 subscribed M1 newsletter || fail "M1's withdrawal not unsubscribed"
[ "$(recipient_field M1 blackList)" != 1 ] || fail "a withdrawal denylisted the recipient"
pass "a withdrawal never denylists the recipient (no empty service name)"
quiet

# Campaign -> local, and not back again: an unsubscription made there.
sim_post counters/reset '{}'
soap 'nms:subscription#Unsubscribe' '<serviceName>smsOffers</serviceName><elemRecipient><recipient _key="@memberKey" memberKey="M2"/></elemRecipient>' \
  || fail "Unsubscribe in Campaign"
wait_for 30 is_eq denied current_status M2 consent/marketing/sms || fail "unsubscription in Campaign not pulled"
assert_eq "$(sql "SELECT origin FROM changes WHERE member_key = 'M2' AND field = 'consent/marketing/sms' ORDER BY seq DESC LIMIT 1")" acc "the change is Campaign's"
# The denylist flag of a channel: every purpose on that channel.
soap 'xtk:session#Write' '<doc><recipient xtkschema="nms:recipient" _operation="update" _key="@memberKey" memberKey="M2" blackListEmail="1"/></doc>' \
  || fail "Write blackListEmail in Campaign"
wait_for 30 is_eq denied current_status M2 consent/marketing/email || fail "blackListEmail not pulled as a withdrawal"
wait_for 30 is_eq denied current_status M2 consent/loyalty_programme/email || fail "blackListEmail: every purpose"
pass "a denylist flag set in Campaign withdraws every purpose on its channel"
quiet
sim_post counters/reset '{}'
quiet
assert_eq "$(writes)" 0 "changes pulled from Campaign are not written back"
assert_eq "$(subscribed M2 smsOffers)" 0 "the unsubscription stays"

# Erasure: the recipient is deleted by key.
printf '{"event_id":"e1","type":"erasure","member":"M4","occurred_at":"2026-11-03T10:00:00Z"}\n' >"$T/d.jsonl.src"
drop d.jsonl
wait_for 30 is_eq 0 recipient_count M4 || fail "M4 not deleted in Campaign"
pass "an erasure deletes the recipient by key"
stop_daemon
