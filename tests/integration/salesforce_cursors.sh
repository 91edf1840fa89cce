#!/usr/bin/env bash
# The ContactPointTypeConsent and LoyaltyMemberCurrency cursors are part of
# the stored pull watermark ("cptc", "lmc"; docs/salesforce.md "Pull"): after
# a restart the pull goes on from them, neither from scratch (every row read
# again) nor past a change made while the daemon was down.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
api POST /sobjects/LoyaltyProgram '{"Name":"Club"}' >/dev/null || fail "cannot create the LoyaltyProgram"
PROG=$(soql "SELECT Id FROM LoyaltyProgram WHERE Name = 'Club'" | jq -r '.[0].Id')
api POST /sobjects/JournalType '{"Name":"Accrual"}' >/dev/null || fail "cannot create the JournalType"
api POST /sobjects/JournalType '{"Name":"Redemption"}' >/dev/null || fail "cannot create the JournalType"
api POST /sobjects/LoyaltyProgramCurrency '{"Name":"Points","LoyaltyProgramId":"'"$PROG"'","CurrencyType":"NonQualifying"}' >/dev/null \
  || fail "cannot create the currency"
sf_config "consent_mode = consent_objects
points_mode = loyalty
loyalty_program = Club
loyalty_currency = Points"
start_daemon
cptc() { # KEY FIELD
  sim_get state | jq -r --arg k "$1" --arg f "$2" '.collections.ContactPointTypeConsent[]? | select(.properties.Consent_Key__c == $k) | .properties[$f] // empty'
}
n_rows() { sim_get state | jq --arg c "$1" '[.collections[$c][]?] | length'; }
ev() { # MEMBER N
  printf '{"event_id":"c%s","type":"consent","member":"%s","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"email","status":"granted","legal_basis":"consent","source":"app"}\n' "$1" "$1"
  ev_points "p$1" "$1" "T$1" 10 earn
}
for i in 1 2 3 4 5; do ev "M$i"; done >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq 5 n_rows ContactPointTypeConsent || fail "5 consents (got $(n_rows ContactPointTypeConsent))"
wait_for 60 is_eq 5 n_rows LoyaltyMemberCurrency || fail "5 balances (got $(n_rows LoyaltyMemberCurrency))"
# Later rows get a later SystemModstamp.
sim_post clock '{"advance_ms":60000}'
ev M6 >"$T/b.jsonl.src"
drop b.jsonl
wait_for 60 is_eq 6 n_rows ContactPointTypeConsent || fail "6 consents"
wait_for 60 is_eq 6 n_rows LoyaltyMemberCurrency || fail "6 balances"
quiet
wm() { sql "SELECT pull_watermark FROM cursors WHERE connector = 'sf'"; }
stamp_of() { # COLLECTION KEYFIELD KEY: SystemModstamp in ms
  sim_get state | jq -r --arg c "$1" --arg f "$2" --arg k "$3" \
    '.collections[$c][] | select(.properties[$f] == $k) | .updatedAt' |
    xargs -I{} date -u -d {} +%s%3N
}
M6LPM=$(soql "SELECT Id FROM LoyaltyProgramMember WHERE MembershipNumber = 'M6'" | jq -r '.[0].Id')
has_cursors() {
  [ "$(wm | jq -r .cptc)" = "$(stamp_of ContactPointTypeConsent Consent_Key__c M6:marketing:email)" ] &&
    [ "$(wm | jq -r .lmc)" = "$(stamp_of LoyaltyMemberCurrency LoyaltyMemberId "$M6LPM")" ]
}
wait_for 30 has_cursors || fail "watermark $(wm) does not hold the newest rows' SystemModstamp"
pass "the watermark keeps both cursors: $(wm)"
stop_daemon

# While the daemon is down, M2 withdraws in Salesforce.
sim_post clock '{"advance_ms":60000}'
ID2=$(soql "SELECT Id FROM ContactPointTypeConsent WHERE Consent_Key__c = 'M2:marketing:email'" | jq -r '.[0].Id')
api PATCH /composite/sobjects '{"allOrNone":true,"records":[{"attributes":{"type":"ContactPointTypeConsent"},"Id":"'"$ID2"'","PrivacyConsentStatus":"OptOut","CaptureDate":"2026-11-03T10:00:00.000Z","CaptureSource":"service desk"}]}' >/dev/null
start_daemon daemon2
wait_for 60 is_eq denied current_status M2 consent/marketing/email || fail "the withdrawal made while down was missed"
pass "a change made while the daemon was down is pulled"
# The first pull cycle of the restarted daemon has ended (its counters
# start at 0): its line per object says what it read from which cursor.
wait_for 30 metric_above 'crmsyncd_pulls_total{connector="sf",result="ok"}' 0 || fail "no pull after the restart"
first() { grep -m1 "pull: [0-9]* $1 row(s), cursor was" "$T/daemon2.log"; }
first ContactPointTypeConsent >/dev/null || fail "no consent pull logged"
first LoyaltyMemberCurrency >/dev/null || fail "no balance pull logged"
assert_eq "$(first ContactPointTypeConsent | sed 's/.*pull: \([0-9]*\) .*cursor was \([0-9]*\).*/\1 \2/')" \
  "2 $(stamp_of ContactPointTypeConsent Consent_Key__c M6:marketing:email)" \
  "after the restart, consents are read from the stored cursor: M6's row (the cursor's own) and M2's change, not all 6"
assert_eq "$(first LoyaltyMemberCurrency | sed 's/.*pull: \([0-9]*\) .*cursor was \([0-9]*\).*/\1 \2/')" \
  "1 $(stamp_of LoyaltyMemberCurrency LoyaltyMemberId "$M6LPM")" \
  "after the restart, balances are read from the stored cursor: M6's, not all 6"
stop_daemon
