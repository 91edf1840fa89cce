#!/usr/bin/env bash
# The README's main command ends in tools/demo.sh: run it on this build and
# check what it shows (HubSpot, Salesforce and Adobe Campaign), so the
# README stays true.
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
# Adobe Campaign: recipients with the balance, subscriptions to the mapped
# information services (the SMS grant withdrawn by the stop keyword is not
# one), the lists, and the SMS withdrawal made in HubSpot acknowledged by
# Campaign as by Salesforce.
acc_block() { sed -n "/^== Adobe Campaign $1/,/^==/p" "$T/demo.log" | sed '1d;$d'; }
[ "$(acc_block "(simulator) recipients" | grep -c '^  LOY-')" = 2 ] || fail "Campaign recipients: $(acc_block "(simulator) recipients")"
grep -qx '  LOY-0001  ada@example.com  points=175' <<<"$(acc_block "(simulator) recipients")" || fail "Campaign: LOY-0001's balance"
pass "Campaign holds both recipients with their balances"
assert_eq "$(acc_block subscriptions)" "  LOY-0001  newsletter
  LOY-0002  loyaltyNews" "Campaign subscriptions: the grants, not the withdrawn SMS one"
assert_eq "$(acc_block lists)" "  frequent_buyer: LOY-0001
  vip: LOY-0002" "Campaign lists (nms:group) and members"
check 'The SMS withdrawal made in HubSpot \(LOY-0002\), acknowledged by: campaign, salesforce$'
check 'campaign \(adobe_campaign\): running'
acc_status=$(grep -A7 '^  campaign (adobe_campaign): running' "$T/demo.log")
grep -q 'backlog: 0 urgent, 0 points, 0 bulk' <<<"$acc_status" || fail "Campaign backlog not 0: $acc_status"
grep -q 'dead letters: 0 as destination, 0 from it' <<<"$acc_status" || fail "Campaign dead letters: $acc_status"
pass "Campaign: nothing pending, no dead letters"
sf_status=$(grep -A7 '^  salesforce (salesforce): running' "$T/demo.log")
grep -q 'backlog: 0 urgent, 0 points, 0 bulk' <<<"$sf_status" || fail "Salesforce backlog not 0: $sf_status"
grep -q 'dead letters: 0 as destination, 0 from it' <<<"$sf_status" || fail "Salesforce dead letters: $sf_status"
pass "Salesforce: nothing pending, no dead letters"
check 'backlog: 0 urgent, 0 points, 0 bulk'
# The 13 lines of the shop file, and the SMS withdrawal made in HubSpot: 16
# changes, 15 effective. Besides those, a pull from Salesforce or Campaign
# that reads the old grant before the withdrawal has reached it queues the
# local value again (origin 'repair'; the 17th row seen now and then): those
# may be counted too, and must restate the withdrawal.
db="$T/demo/state/state.db"
rows() { sqlite3 "$db" "SELECT seq, origin, member_key, field, effective, value FROM changes ORDER BY seq" 2>&1; }
line=$(grep -oE 'change-log: [0-9]+ changes \([0-9]+ effective\)' "$T/demo.log") || fail "demo output lacks the change-log line"
shown=$(sed -E 's/change-log: ([0-9]+) changes.*/\1/' <<<"$line")
repairs=$(sqlite3 "$db" "SELECT COUNT(*) FROM changes WHERE origin = 'repair'")
own=$(sqlite3 "$db" "SELECT COUNT(*), SUM(effective) FROM changes WHERE origin <> 'repair'")
[ "$own" = "16|15" ] || fail "expected 16 changes, 15 effective, besides repairs; got $own: $(rows)"
[ "$shown" -ge 16 ] && [ "$((shown - 16))" -le "$repairs" ] || fail "demo shows '$line' with $repairs repair(s): $(rows)"
stale=$(sqlite3 "$db" "SELECT COUNT(*) FROM changes r WHERE r.origin = 'repair' AND r.field LIKE 'consent/%' AND r.value <> (SELECT value FROM current c WHERE c.member_key = r.member_key AND c.field = r.field)")
[ "$stale" = 0 ] || fail "$stale consent repair(s) do not restate the current value: $(rows)"
pass "demo shows: $line ($repairs repair(s) of a value a CRM had not yet received)"
