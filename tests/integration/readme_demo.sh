#!/usr/bin/env bash
# The README's main command ends in tools/demo.sh: run it on this build and
# check what it shows (HubSpot and Salesforce), so the README stays true.
source "$(dirname "$0")/lib/common.sh"
out=$(DEMO_DIR="$T/demo" bash "$SRC_DIR/tools/demo.sh" "$BUILD_DIR" 2>&1) || { echo "$out"; fail "demo failed"; }
printf '%s\n' "$out" > "$T/demo.log"
check() { grep -qE "$1" "$T/demo.log" || fail "demo output lacks: $1"; pass "demo shows: $1"; }
check 'shop-2026-11-24.jsonl:12: an earn must have a positive delta'
# The till's 25 points over the HTTP ingest (150 from the shop file + 25).
check '"results":\[\{"index":0,"result":"applied","event_id":"till-0042-000137"\}\]'
check 'GET /v1/members/LOY-0001: points_balance 175'
check 'LOY-0001  ada@example.com  points=175  sms=denied'
check 'LOY-0002  grace@example.com  points=1200'
check 'ada@example.com  subscription 1001: SUBSCRIBED \(CONSENT_WITH_NOTICE\)'
check 'crmsyncd vip: 1 member'
check 'HubSpot records written since the withdrawal made there, besides it \(echoes\): 0$'
check 'hubspot \(hubspot\): running'
check 'salesforce \(salesforce\): running'
# Salesforce: Contacts with the balance, one consent record per purpose and
# channel (the SMS withdrawal included), Campaign members.
check '^  LOY-0001  ada@example.com  points=175$'
check '^  LOY-0002  grace@example.com  points=1200$'
check '^  LOY-0001:marketing:email  OptIn  \(web_form\)$'
check '^  LOY-0001:marketing:sms  OptOut  \(sms_stop_keyword\)$'
check '^  LOY-0002:loyalty_programme:email  OptIn  \(till\)$'
# A withdrawal made in HubSpot reaches Salesforce.
check '^  LOY-0002:marketing:sms  OptOut  \(hubspot_preferences\)$'
check '^  LOY-0001:frequent_buyer$'
check '^  LOY-0002:vip$'
sf_status=$(grep -A7 '^  salesforce (salesforce): running' "$T/demo.log")
grep -q 'backlog: 0 urgent, 0 points, 0 bulk' <<<"$sf_status" || fail "Salesforce backlog not 0: $sf_status"
grep -q 'dead letters: 0 as destination, 0 from it' <<<"$sf_status" || fail "Salesforce dead letters: $sf_status"
pass "Salesforce: nothing pending, no dead letters"
check 'backlog: 0 urgent, 0 points, 0 bulk'
# The 13 lines of the shop file, and the SMS withdrawal made in HubSpot.
check 'change-log: 16 changes \(15 effective\)'
