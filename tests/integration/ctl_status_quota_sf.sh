#!/usr/bin/env bash
# crmsyncctl status shows Salesforce's daily API budget (Sforce-Limit-Info
# api-usage) as the daemon last saw it, read from the database: after a
# sync, the remaining count lies between what the simulator reports now
# (it only goes down) and the limit; with the daemon stopped it is still
# shown (the daemon saves it before it exits).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
sf_quota() { ctl status --json | jq -c '.connectors[] | select(.name == "sf") | .quota'; }

sf_sim_start --daily-max 50000
sf_config
start_daemon
for i in 1 2 3; do ev_consent "c$i" "Q$i" denied 2026-11-01T10:00:00Z; done > "$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq true contact_field Q3 HasOptedOutOfEmail || fail "Q3 not in Salesforce"

quota_seen() { [ "$(sf_quota | jq -r '.limit // empty')" = 50000 ]; }
wait_for 30 quota_seen || fail "no Salesforce quota in status: $(sf_quota)"
q=$(sf_quota)
now_left=$(api GET /limits | jq -r .DailyApiRequests.Remaining)
rem=$(jq -r .remaining <<<"$q")
[ "$(jq -r .kind <<<"$q")" = daily ] || fail "quota kind: $q"
[ "$rem" -lt 50000 ] && [ "$rem" -ge "$now_left" ] \
  || fail "status says $rem left; the simulator says $now_left now (limit 50000)"
pass "status --json: Salesforce daily budget $rem of 50000 (simulator: $now_left left now)"

stop_daemon
ctl status > "$T/status.txt"
grep -Eq '^    quota: [0-9]+ of 50000 daily requests left \(at ' "$T/status.txt" \
  || fail "status text without the daemon lacks the quota: $(cat "$T/status.txt")"
pass "quota still shown with the daemon stopped"
