#!/usr/bin/env bash
# Salesforce daily budget and the pull cursor: with the budget spent the
# daemon stops spending (REQUEST_LIMIT_EXCEEDED -> records kept, not
# dead-lettered), /healthz says quota_exhausted; once the budget is raised
# it converges and the problem clears. Then 5 Contacts tied on one
# SystemModstamp across a 2-row page boundary are all pulled (no row lost).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start --rate-limits true --daily-max 1000000 --sf-query-batch 2
sf_config "quota_retry = 2s"
start_daemon
wait_pulls 1
healthz() { admin_get /healthz; }

# Spend the budget: the next call is refused.
used=$(api GET /limits | jq -r '.DailyApiRequests.Max - .DailyApiRequests.Remaining')
sim_post config "{\"daily-max\": $((used + 1))}"
for i in 1 2 3; do ev_consent "q$i" "Q$i" denied 2026-11-01T10:00:00Z; done >"$T/a.jsonl.src"
drop a.jsonl
hz_quota() { healthz | grep -q quota_exhausted; }
wait_for 30 hz_quota || fail "/healthz does not say quota_exhausted: $(healthz)"
pass "REQUEST_LIMIT_EXCEEDED noticed: /healthz reports quota_exhausted"
assert_eq "$(sql "SELECT count(*) FROM dead_letters WHERE destination = 'sf'")" 0 "nothing dead-lettered while the budget is spent"
assert_eq "$(contact_field Q1 HasOptedOutOfEmail)" "" "nothing written while the budget is spent"

sim_post config '{"daily-max": 1000000}'
for m in Q1 Q2 Q3; do
  wait_for 60 is_eq true contact_field "$m" HasOptedOutOfEmail || fail "$m not written after the budget was raised"
done
pass "converges once the budget allows"
hz_clear() { ! healthz | grep -q quota_exhausted; }
wait_for 30 hz_clear || fail "/healthz still says quota_exhausted"
pass "/healthz clear again"

# Five Contacts on one SystemModstamp, pages of 2 rows: all five pulled.
# Stamped 2 s after the simulator's now, so after the pull watermark
# whatever the daemon has read already (a fixed older stamp was only read
# when no pull had committed Q1-Q3 yet: a race the test lost under load).
at=$(sim_get state | jq -r '.now' | xargs -I{} date -u -d '{} + 2 seconds' +%Y-%m-%dT%H:%M:%SZ)
jq -cn --arg at "$at" '{collections: {Contact: [range(1; 6) | {id: (100 + . | tostring), properties: {LastName: "T\(.)",
  Member_Key__c: "TIE\(.)", HasOptedOutOfEmail: "true"}, createdAt: $at,
  updatedAt: $at}]}}' >"$T/seed.json"
curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary @"$T/seed.json" "$SIM_URL/__sim/seed" >/dev/null
tied() { sql "SELECT count(*) FROM current WHERE member_key LIKE 'TIE%' AND field = 'consent/marketing/email' AND json_extract(value, '\$.status') = 'denied'"; }
wait_for 60 is_eq 5 tied || fail "rows tied on SystemModstamp lost across a page boundary ($(tied) of 5)"
pass "5 rows tied on one SystemModstamp over 2-row pages: none lost"
stop_daemon
