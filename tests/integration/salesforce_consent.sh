#!/usr/bin/env bash
# Salesforce consent objects (consent_mode = consent_objects;
# docs/salesforce.md "Consent objects"): an Individual per member linked
# from Contact.IndividualId; one DataUsePurpose per purpose, created once
# and kept namespaced ("dup:<id>"); a ContactPointTypeConsent per purpose
# and channel (sms -> ContactPointType Phone, told apart by the SMS
# EngagementChannelType it names, found by Name or created, and by
# Consent_Key__c)
# with PrivacyConsentStatus, CaptureDate (collected_at), CaptureSource
# (source); nothing echoes back; a withdrawal made in Salesforce on a
# ContactPointTypeConsent is pulled as a consent change and not written back.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config "consent_mode = consent_objects"
# An "SMS" channel type of another contact point type is not the one.
DECOY=$(api POST /sobjects/EngagementChannelType '{"Name":"SMS","ContactPointType":"Email"}' | jq -r .id)
[ -n "$DECOY" ] || fail "cannot seed the decoy EngagementChannelType"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","last_name":"Lee"}}\n'
  printf '{"event_id":"c1","type":"consent","member":"M1","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"email","status":"granted","legal_basis":"consent","source":"web_form"}\n'
  printf '{"event_id":"c2","type":"consent","member":"M1","occurred_at":"2026-11-01T11:00:00Z","purpose":"marketing","channel":"sms","status":"denied","source":"till"}\n'
  printf '{"event_id":"c3","type":"consent","member":"M2","occurred_at":"2026-11-01T12:00:00Z","purpose":"marketing","channel":"email","status":"granted","legal_basis":"consent","source":"app"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl

cptc() { # KEY FIELD
  sim_get state | jq -r --arg k "$1" --arg f "$2" '.collections.ContactPointTypeConsent[]? | select(.properties.Consent_Key__c == $k) | .properties[$f] // empty'
}
wait_for 60 is_eq OptIn cptc M2:marketing:email PrivacyConsentStatus || fail "M2's email consent"
wait_for 30 is_eq OptOut cptc M1:marketing:sms PrivacyConsentStatus || fail "M1's sms withdrawal"
pass "one ContactPointTypeConsent per purpose and channel"
assert_eq "$(cptc M1:marketing:email PrivacyConsentStatus)/$(cptc M1:marketing:email ContactPointType)" OptIn/Email "email grant: OptIn, Email"
assert_eq "$(cptc M1:marketing:sms ContactPointType)" Phone "sms is ContactPointType Phone"
ECT=$(soql "SELECT Id, ContactPointType FROM EngagementChannelType WHERE Name = 'SMS'" | jq -r '[.[] | select(.ContactPointType == "Phone")] | if length == 1 then .[0].Id else "count \(length)" end')
assert_eq "$(cptc M1:marketing:sms EngagementChannelTypeId)" "$ECT" "sms names the SMS EngagementChannelType (Phone), created once"
assert_eq "$(cptc M1:marketing:email EngagementChannelTypeId)" "" "email names no channel type"
assert_eq "$(sql "SELECT remote_id FROM identities WHERE system = 'sf' AND member_key = 'channel-type:SMS'")" "ect:$ECT" "channel type id kept"
assert_eq "$(cptc M1:marketing:email CaptureSource)" web_form "CaptureSource is our source"
cptc M1:marketing:email CaptureDate | grep -q '^2026-11-01T10:00:00' || fail "CaptureDate is collected_at (got $(cptc M1:marketing:email CaptureDate))"
pass "CaptureDate is collected_at"
IND=$(soql "SELECT Id, LastName FROM Individual WHERE Member_Key__c = 'M1'")
assert_eq "$(jq -r '.[0].LastName' <<<"$IND")" Lee "M1's Individual carries the last name"
wait_for 30 is_eq "$(jq -r '.[0].Id' <<<"$IND")" contact_field M1 IndividualId || fail "Contact.IndividualId"
pass "Contact.IndividualId links the Individual"
assert_eq "$(cptc M1:marketing:email PartyId)" "$(jq -r '.[0].Id' <<<"$IND")" "PartyId is the Individual"
assert_eq "$(soql "SELECT Id FROM DataUsePurpose" | jq length)" 1 "one DataUsePurpose for the purpose"
assert_eq "$(sql "SELECT substr(remote_id, 1, 4) FROM identities WHERE system = 'sf' AND member_key = 'purpose:marketing'")" "dup:" "purpose id kept, namespaced"
assert_eq "$(contact_field M2 LastName)" "(loyalty member)" "a new Contact gets the placeholder when linked"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
sim_post counters/reset '{}'
quiet
assert_eq "$(writes)" 0 "our consents read back are not written again"

# A withdrawal made in Salesforce.
ID2=$(soql "SELECT Id FROM ContactPointTypeConsent WHERE Consent_Key__c = 'M2:marketing:email'" | jq -r '.[0].Id')
api PATCH /composite/sobjects '{"allOrNone":true,"records":[{"attributes":{"type":"ContactPointTypeConsent"},"Id":"'"$ID2"'","PrivacyConsentStatus":"OptOut","CaptureDate":"2026-11-03T10:00:00.000Z","CaptureSource":"service desk"}]}' >/dev/null
wait_for 30 is_eq denied current_status M2 consent/marketing/email || fail "OptOut made in Salesforce not pulled"
assert_eq "$(sql "SELECT origin FROM changes WHERE member_key = 'M2' AND field = 'consent/marketing/email' ORDER BY seq DESC LIMIT 1")" sf "the change is Salesforce's"
sim_post counters/reset '{}'
quiet
assert_eq "$(writes)" 0 "a consent pulled from Salesforce is not written back"
stop_daemon
