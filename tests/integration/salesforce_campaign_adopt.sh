#!/usr/bin/env bash
# A Contact added to the segment's Campaign in Salesforce (docs/salesforce.md
# "Push"): Salesforce keeps one CampaignMember per Campaign and Contact, so
# our upsert by Membership_Key__c is refused with DUPLICATE_VALUE ("Already
# a campaign member."; Object Reference, CampaignMember). The connector
# adopts that membership (found by CampaignId and ContactId, given our key)
# instead of dead-lettering the segment change; "out" then removes it.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

seg() { # ID MEMBER STATUS HOUR
  printf '{"event_id":"%s","type":"segment","member":"%s","occurred_at":"2026-11-01T%s:00:00Z","segment":"vip","status":"%s"}\n' "$1" "$2" "$4" "$3"
}
sf_sim_start
sf_config
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","last_name":"Lee"}}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m2@example.com","last_name":"Roe"}}\n'
  seg s1 M1 in 10
  # A segment name with quotes and a backslash (no spaces: the spool
  # refuses them): the Campaign upsert's JSON
  # and path must carry it whole.
  printf '{"event_id":"q1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"gold\\"plus\\"\\\\1","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq "M1:vip " campaign_members vip || fail "M1's membership not written"
campaign_name() { sim_get state | jq -r '.collections.Campaign[]? | .properties.Name' | grep -F 'gold"plus"'; }
wait_for 60 campaign_name || fail "the Campaign of a segment named with a quote was not written"
assert_eq "$(campaign_name)" 'crmsyncd gold"plus"\1' "a segment name with a quote and a backslash is sent whole"
wait_for 60 is_eq m2@example.com contact_field M2 Email || fail "M2's Contact not written"
CAMPAIGN=$(soql "SELECT Id FROM Campaign WHERE Campaign_Key__c = 'vip'" | jq -r '.[0].Id')
C2=$(contact_id M2)
[ -n "$CAMPAIGN" ] && [ -n "$C2" ] || fail "no Campaign or no Contact for M2"

# Someone adds M2 to the Campaign in Salesforce, without our key.
CM=$(api POST /sobjects/CampaignMember '{"CampaignId":"'"$CAMPAIGN"'","ContactId":"'"$C2"'","Status":"Sent"}' | jq -r .id)
[ -n "$CM" ] && [ "$CM" != null ] || fail "cannot add M2 to the Campaign in Salesforce"
# The simulator refuses a second membership as Salesforce does.
DUP=$(curl -s --max-time 10 -X POST -H 'Authorization: Bearer T1' -H 'Content-Type: application/json' \
  --data-binary '{"CampaignId":"'"$CAMPAIGN"'","ContactId":"'"$C2"'"}' "$SIM_URL/services/data/$SF_V/sobjects/CampaignMember")
assert_eq "$(jq -r '.[0].errorCode // .[0].statusCode // empty' <<<"$DUP")" DUPLICATE_VALUE "a second membership of a Contact is refused"

seg s2 M2 in 11 >"$T/b.jsonl.src"
drop b.jsonl
key_of() { sim_get state | jq -r --arg id "$1" '.collections.CampaignMember[]? | select(.id as $n | true) | select((.properties.ContactId // "")[0:15] == ($id[0:15])) | .properties.Membership_Key__c // empty'; }
wait_for 60 is_eq M2:vip key_of "$C2" || fail "the membership added in Salesforce was not adopted (key '$(key_of "$C2")')"
pass "the membership added in Salesforce is adopted: it carries our key"
assert_eq "$(soql "SELECT Id FROM CampaignMember WHERE ContactId = '$C2'" | jq length)" 1 "one membership of M2"
assert_eq "$(soql "SELECT Id FROM CampaignMember WHERE ContactId = '$C2'" | jq -r '.[0].Id' | cut -c1-15)" "$(cut -c1-15 <<<"$CM")" "it is the one added in Salesforce"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
grep -q "CampaignMember .* adopted" "$T/daemon.log" || fail "the adoption is not logged"
quiet
sim_post counters/reset '{}'
quiet
assert_eq "$(writes)" 0 "settled: nothing written again"

# Out: the adopted membership is found by our key and removed.
seg s3 M2 out 12 >"$T/c.jsonl.src"
drop c.jsonl
gone() { [ "$(soql "SELECT Id FROM CampaignMember WHERE ContactId = '$C2'" | jq length)" = 0 ]; }
wait_for 60 gone || fail "the adopted membership was not removed on segment out"
pass "segment out removes the adopted membership"
assert_eq "$(campaign_members vip)" "M1:vip " "M1 stays"
stop_daemon
