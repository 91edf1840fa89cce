#!/usr/bin/env bash
# A second Salesforce resync right after the first writes nothing, in the
# object modes (issue 14 item 4): consents as ContactPointTypeConsent
# (read back by the pull's cptc query) and points as Loyalty journals
# (looked up by ExternalTransactionNumber before any create: a journal the
# org holds is not posted again), besides the Contact fields.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sim_post seed '{"collections":{"LoyaltyProgram":[{"id":"1","properties":{"Name":"Club"}}],
  "JournalType":[{"id":"1","properties":{"Name":"Accrual"}},{"id":"2","properties":{"Name":"Redemption"}}]}}' \
  || fail "cannot seed the program"
PROG=$(soql "SELECT Id FROM LoyaltyProgram WHERE Name = 'Club'" | jq -r '.[0].Id')
api POST /sobjects/LoyaltyProgramCurrency '{"Name":"Points","LoyaltyProgramId":"'"$PROG"'","CurrencyType":"NonQualifying"}' >/dev/null \
  || fail "cannot create the points currency"
sf_config "consent_mode = consent_objects
points_mode = loyalty
loyalty_program = Club
loyalty_currency = Points"
start_daemon
{
  for m in M1 M2; do
    printf '{"event_id":"p%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com","last_name":"L%s"}}\n' "$m" "$m" "$m" "$m"
    ev_consent "c$m" "$m" granted 2026-11-01T10:00:00Z
    ev_points "t$m" "$m" "T$m" 10 earn
  done
  printf '{"event_id":"cs1","type":"consent","member":"M1","occurred_at":"2026-11-01T11:00:00Z","purpose":"marketing","channel":"sms","status":"denied","source":"till"}\n'
  ev_points u1 M1 U1 -4 redeem
} >"$T/a.jsonl.src"
drop a.jsonl
journals() { sim_get state | jq -r '[.collections.TransactionJournal[]? | .properties.ExternalTransactionNumber] | sort | join(" ")'; }
cptc() { sim_get state | jq -r '[.collections.ContactPointTypeConsent[]? | "\(.properties.Consent_Key__c)=\(.properties.PrivacyConsentStatus)"] | sort | join(" ")'; }
wait_for 60 is_eq "TM1 TM2 U1" journals || fail "journals (got '$(journals)')"
wait_for 30 is_eq "M1:marketing:email=OptIn M1:marketing:sms=OptOut M2:marketing:email=OptIn" cptc \
  || fail "consents (got '$(cptc)')"
quiet

resync_wait sf 60
quiet

sim_post counters/reset '{}'
mark=$(wc -l <"$T/sim.log")
resync_wait sf 60
quiet
after() { tail -n +"$((mark + 1))" "$T/sim.log"; }
after | grep -v ' GET ' >"$T/after-writes" || true
assert_eq "$(writes)" 0 "a second resync writes no record ($(head -c 600 "$T/after-writes"))"
assert_eq "$(grep -c -E ' (POST|PATCH|DELETE) ' "$T/after-writes" || true)" 0 "nor sends any write request"
assert_eq "$(journals)" "TM1 TM2 U1" "no journal posted twice"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
pass "a second resync wrote nothing (consent objects, loyalty journals, Contact fields)"
stop_daemon
