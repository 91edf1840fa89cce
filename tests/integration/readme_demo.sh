#!/usr/bin/env bash
# The README's main command ends in tools/demo.sh: run it on this build and
# check what it shows, so the README stays true.
source "$(dirname "$0")/lib/common.sh"
out=$(DEMO_DIR="$T/demo" bash "$SRC_DIR/tools/demo.sh" "$BUILD_DIR" 2>&1) || { echo "$out"; fail "demo failed"; }
printf '%s\n' "$out" > "$T/demo.log"
check() { grep -qE "$1" "$T/demo.log" || fail "demo output lacks: $1"; pass "demo shows: $1"; }
check 'shop-2026-11-24.jsonl:12: an earn must have a positive delta'
check 'LOY-0001  ada@example.com  points=150  sms=denied'
check 'LOY-0002  grace@example.com  points=1200'
check 'ada@example.com  subscription 1001: SUBSCRIBED \(CONSENT_WITH_NOTICE\)'
check 'crmsyncd vip: 1 member'
check 'hubspot \(hubspot\): running'
check 'backlog: 0 urgent, 0 points, 0 bulk'
check 'change-log: 14 changes \(13 effective\)'
