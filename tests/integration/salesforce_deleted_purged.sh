#!/usr/bin/env bash
# The CampaignMember deletion sweep when Salesforce purged its delete log
# (issue 12 item 7; REST API "sObject Get Deleted", GetDeletedResult
# earliestDateAvailable): getDeleted refuses a start before
# earliestDateAvailable with INVALID_REPLICATION_DATE, so retrying the same
# window never ends and every later removal made in Salesforce is missed.
# The sweep learns earliestDateAvailable, says what it cannot read, goes on
# from there, and keeps its position in the watermark ("del").
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
{
  for m in M1 M2; do
    printf '{"event_id":"s%s","type":"segment","member":"%s","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n' "$m" "$m"
  done
} >"$T/a.jsonl.src"
drop a.jsonl
cm_id() { soql "SELECT Id FROM CampaignMember WHERE Membership_Key__c = '$1:vip'" | jq -r '.[0].Id // empty'; }
wait_for 60 nonempty cm_id M2 || fail "M2's CampaignMember not written"
wait_for 30 nonempty cm_id M1 || fail "M1's CampaignMember not written"
quiet
wm() { sql "SELECT pull_watermark FROM cursors WHERE connector = 'sf'"; }
wait_for 30 is_eq true eval "wm | jq 'has(\"del\")'" || fail "the sweep position is not in the watermark: $(wm)"
pass "the getDeleted sweep position is kept in the watermark: $(wm | jq -c '{del}')"
stop_daemon

# While the daemon is down: M1's membership deleted in Salesforce and the
# delete log purged (M1's deletion is gone from it); then M2's deleted.
del_cm() { curl -sf --max-time 10 -X DELETE -H 'Authorization: Bearer T1' "$SIM_URL/services/data/$SF_V/sobjects/CampaignMember/$1" >/dev/null; }
M2CM=$(cm_id M2)
del_cm "$(cm_id M1)" || fail "cannot delete M1's CampaignMember"
sleep 1
sim_post seed '{"flavor_state":{"purgeDeleteLog":"CampaignMember"}}' || fail "cannot purge the delete log"
sleep 1
del_cm "$M2CM" || fail "cannot delete M2's CampaignMember"
start_daemon
wait_for 60 is_eq out current_status M2 segment/vip \
  || fail "M2's removal (after the purge) not read: $(grep 'getDeleted' "$T/daemon.log" | tail -2)"
pass "the sweep goes on from earliestDateAvailable: M2's removal read"
grep -q 'delete log was purged up to .*: deletions between' "$T/daemon.log" \
  || fail "the unreadable window is not logged"
pass "the window it cannot read is logged"
assert_eq "$(current_status M1 segment/vip)" in "M1's removal, purged before it was read, is not invented"
# A sweep Salesforce refuses (HTTP 400 INVALID_REPLICATION_DATE) is a 4xx.
refusals() { metric 'crmsyncd_http_errors_total{connector="sf",class="4xx"}'; }
before=$(refusals)
wait_pulls 3
assert_eq "$(refusals)" "$before" "no further refused sweeps"
stop_daemon
