#!/usr/bin/env bash
# Salesforce end to end against crmsim (JWT bearer with a key made here):
# spool -> Salesforce (email/sms/phone opt-out flags, points balance, tier,
# profile fields, a segment as CampaignMember), several fields of one
# member in one Contact record, the identity map learnt; one bad record
# dead-lettered with the vendor's errorCode while the others are applied;
# a withdrawal made in Salesforce pulled and not written back; session
# expiry mid-run (a 401 re-mints); a deleted CampaignMember -> segment out.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","first_name":"Ann","last_name":"Lee"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"bob@example.com"}}\n'
  # Not an email address: Salesforce refuses the item (INVALID_EMAIL_ADDRESS).
  printf '{"event_id":"p3","type":"profile","member":"M3","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"not-an-email"}}\n'
  ev_consent c1 M1 denied 2026-11-01T10:00:00Z
  printf '{"event_id":"c2","type":"consent","member":"M1","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"sms","status":"denied","source":"till"}\n'
  ev_consent c3 M2 granted 2026-11-01T10:00:00Z
  # consent_mode = contact_fields holds flag_purpose (marketing) only: the
  # dead letter must name the options that decide it (issue 19).
  printf '{"event_id":"c5","type":"consent","member":"M2","occurred_at":"2026-11-01T10:00:00Z","purpose":"profiling","channel":"email","status":"denied","source":"web"}\n'
  ev_points t1 M1 T1 100 earn
  ev_points t2 M1 T2 -30 redeem
  ev_points t3 M2 T3 5 earn
  printf '{"event_id":"s1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
  printf '{"event_id":"s2","type":"segment","member":"M2","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl

wait_for 60 is_eq 70 contact_field M1 Loyalty_Points__c || fail "M1's balance not in Salesforce"
pass "points transactions arrive as Loyalty_Points__c"
assert_eq "$(contact_field M1 HasOptedOutOfEmail)" true "email opt-out flag"
assert_eq "$(contact_field M1 SMS_Opt_Out__c)" true "sms opt-out flag (custom field)"
assert_eq "$(contact_field M1 FirstName)/$(contact_field M1 LastName)" Ann/Lee "profile fields, several in one record"
wait_for 30 is_eq false contact_field M2 HasOptedOutOfEmail || fail "M2's grant"
assert_eq "$(contact_field M2 LastName)" "(loyalty member)" "a new Contact without a last name gets the placeholder"
M1ID=$(contact_id M1)
wait_for 30 is_eq "$M1ID" sql "SELECT remote_id FROM identities WHERE member_key = 'M1' AND system = 'sf'" \
  || fail "M1's Contact id not learnt"
pass "identity map holds the Contact id"
dl_reason() { sql "SELECT last_error FROM dead_letters WHERE destination = 'sf' AND member_key = 'M3'" | head -n 1; }
dl_has() { dl_reason | grep -q INVALID_EMAIL_ADDRESS; }
wait_for 30 dl_has || fail "M3's bad email not dead-lettered with the vendor's errorCode (got '$(dl_reason)')"
pass "one bad item dead-lettered with errorCode: $(dl_reason)"
assert_eq "$(contact_field M3 Email)" "" "the bad item wrote nothing"
unrep() { sql "SELECT reason || ' ' || coalesce(last_error, '') FROM dead_letters WHERE destination = 'sf' AND member_key = 'M2' AND field = 'consent/profiling/email'"; }
unrep_names_options() { unrep | grep -q 'flag_purpose (marketing).*consent_mode = consent_objects'; }
wait_for 30 unrep_names_options || fail "unrepresentable consent's dead letter does not name the options (got '$(unrep)')"
pass "an unrepresentable value's dead letter names the options: $(unrep)"
wait_for 30 is_eq "M1:vip M2:vip " campaign_members vip || fail "vip memberships (got '$(campaign_members vip)')"
pass "segment vip is a Campaign with M1 and M2 as CampaignMember"
quiet

# Salesforce -> local, and not back again.
api PATCH "/composite/sobjects" '{"allOrNone":true,"records":[{"attributes":{"type":"Contact"},"Id":"'"$M1ID"'","DoNotCall":true}]}' >/dev/null
wait_for 30 is_eq denied current_status M1 consent/marketing/phone || fail "DoNotCall set in Salesforce not pulled"
assert_eq "$(sql "SELECT origin FROM changes WHERE member_key = 'M1' AND field = 'consent/marketing/phone' ORDER BY seq DESC LIMIT 1")" sf "the change is Salesforce's"
sim_post counters/reset '{}'
quiet
assert_eq "$(writes)" 0 "a change pulled from Salesforce is not written back"

# Session expiry mid-run: the next call gets INVALID_SESSION_ID, a new
# session is minted, nothing is lost.
tokens_before=$(sim_get counters | jq -r '.endpoints["oauth.token"].requests // 0')
sim_post tokens/expire '{}'
ev_consent c4 M2 denied 2026-11-02T10:00:00Z >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq true contact_field M2 HasOptedOutOfEmail || fail "push after session expiry"
tokens_after=$(sim_get counters | jq -r '.endpoints["oauth.token"].requests // 0')
[ "$tokens_after" -gt "$tokens_before" ] || fail "no new session minted"
pass "expired session re-minted (token requests $tokens_before -> $tokens_after), opt-out delivered"

# A CampaignMember deleted in Salesforce (hard delete): segment out locally.
CM2ID=$(soql "SELECT Id FROM CampaignMember WHERE Membership_Key__c = 'M2:vip'" | jq -r '.[0].Id // empty')
[ -n "$CM2ID" ] || fail "CampaignMember id of M2"
curl -sf --max-time 10 -X DELETE -H 'Authorization: Bearer T1' "$SIM_URL/services/data/$SF_V/sobjects/CampaignMember/$CM2ID" >/dev/null
wait_for 60 is_eq out current_status M2 segment/vip || fail "deleted CampaignMember did not become segment out"
pass "a deleted CampaignMember is segment out locally"
quiet
stop_daemon
