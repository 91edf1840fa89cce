#!/usr/bin/env bash
# crmsyncctl status against a daemon syncing to the HubSpot simulator:
# - quota: HubSpot's daily budget (X-HubSpot-RateLimit-Daily[-Remaining]) as
#   the daemon last saw it, from the database;
# - resync progress: 250 members in HubSpot are wiped, then a resync is
#   held in each phase by simulator faults, so every check below looks at a
#   state that stays put until the test changes the faults:
#     re-pull failing          -> "pulling", nothing done;
#     first upsert ok, rest 503 -> "pushing", 0 < done < total, rate, ETA;
#     daemon stopped           -> "pushing", same done, no rate or ETA;
#     restarted, faults cleared -> "complete", done = total, all back in HubSpot.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

N=250
ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
status_json() { ctl status --json > "$T/status.json" 2> "$T/status.err" && cat "$T/status.json"; }
hs_field() { status_json | jq -c --arg k "$1" '.connectors[] | select(.name == "hs") | .[$k]'; }

hs_sim_start --daily-max 100000
# One push request at a time: the first upsert of the re-push is the batch
# holding the lowest seqs, so the cursor moves when it succeeds.
hs_config "" "max_inflight = 1"
sed -i 's/^\[daemon\]$/[daemon]\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADMIN=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
for i in $(seq 1 $N); do ev_points "p$i" "M$i" "T$i" "$i" earn; done > "$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq "$N" contact_prop "M$N" loyalty_points || fail "members not in HubSpot"
quiet

# --- quota -----------------------------------------------------------------
quota_seen() { [ "$(hs_field quota | jq -r '.limit // empty')" = 100000 ]; }
wait_for 30 quota_seen || fail "no HubSpot quota in status: $(hs_field quota)"
q=$(hs_field quota)
rem=$(jq -r .remaining <<<"$q")
served=$(sim_get counters | jq -r '[.endpoints[].requests] | add')
[ "$(jq -r .kind <<<"$q")" = daily ] || fail "quota kind: $q"
[ "$rem" -lt 100000 ] && [ "$rem" -ge $((100000 - served)) ] \
  || fail "quota remaining $rem is not what the simulator counted ($served requests served)"
pass "status --json: HubSpot daily quota $rem of 100000 (simulator served $served requests)"
assert_eq "$(sql "SELECT kind, quota_limit FROM connector_quota WHERE connector = 'hs'")" "daily|100000" \
  "quota persisted in connector_quota"
ctl status > "$T/status.txt"
grep -Eq '^    quota: [0-9]+ of 100000 daily requests left \(at ' "$T/status.txt" \
  || fail "status text lacks the quota line: $(cat "$T/status.txt")"
pass "status text shows the quota"
curl -sf --max-time 5 "http://$ADMIN/metrics" > "$T/metrics.txt" || fail "GET /metrics"
grep -Eq '^crmsyncd_quota_remaining\{connector="hs"\} [0-9]+$' "$T/metrics.txt" \
  || fail "/metrics lacks HubSpot's quota: $(grep quota "$T/metrics.txt")"
pass "/metrics has crmsyncd_quota_remaining for HubSpot"

# --- resync progress -----------------------------------------------------
# HubSpot loses every contact; a resync must re-create them all.
sim_get state | jq -c '[.collections.contacts[] | {id}] | _nwise(100) | {inputs: .}' > "$T/wipe.jsonl"
while read -r batch; do
  api POST /crm/objects/2026-09/contacts/batch/archive "$batch" > /dev/null || fail "archive contacts"
done < "$T/wipe.jsonl"
# Archived records stay in the simulator's dump: look at live ones only.
live_prop() { # MEMBER PROPERTY
  sim_get state | jq -r --arg m "$1" --arg p "$2" \
    '.collections.contacts[]? | select(.archived != true and .properties.member_key == $m) | .properties[$p] // empty'
}
[ -z "$(live_prop M1 member_key)" ] || fail "contacts not wiped"
total=$(sql "SELECT COUNT(*) FROM changes WHERE effective = 1 AND origin <> 'hs'")

# Phase 1: the re-pull fails.
sim_post config '{"faults": "503:1.0", "fault-match": "/contacts"}'
ctl resync hs > /dev/null || fail "resync not accepted"
state_is() { [ "$(hs_field resync | jq -r '.state // empty')" = "$1" ]; }
wait_for 30 state_is pulling || fail "resync not shown as pulling: $(hs_field resync)"
r=$(hs_field resync)
assert_eq "$(jq -r '"\(.done)/\(.total) \(.rate_per_s) \(.eta_s)"' <<<"$r")" "0/$total null null" \
  "pulling: nothing done, total known, no rate or ETA yet"
ctl status > "$T/status.txt"
grep -Eq "^    resync: pulling since [0-9T:.-]+Z; 0 / $total changes \(0 %\), ETA unknown$" "$T/status.txt" \
  || fail "status text while pulling: $(grep resync "$T/status.txt")"
pass "status text while pulling"

# Phase 2: the re-pull succeeds, the first upsert too, every later one 503s.
sim_post config '{"faults": "503:1.0", "fault-script": "ok", "fault-match": "contacts/batch/upsert"}'
partly_done() {
  local r; r=$(hs_field resync)
  [ "$(jq -r .state <<<"$r")" = pushing ] && [ "$(jq -r .done <<<"$r")" -gt 0 ]
}
wait_for 60 partly_done || fail "re-push made no progress: $(hs_field resync)"
r=$(hs_field resync)
done_n=$(jq -r .done <<<"$r")
[ "$done_n" -lt "$total" ] || fail "done $done_n not below total $total while upserts fail"
assert_eq "$(jq -r .total <<<"$r")" "$total" "total = effective changes to re-offer"
jq -e '.rate_per_s > 0 and (.eta_s | type) == "number" and .eta_s >= 0 and .pull_done_at != null' <<<"$r" > /dev/null \
  || fail "no rate or ETA while pushing: $r"
pass "pushing: $done_n / $total done, rate $(jq -r .rate_per_s <<<"$r")/s, ETA $(jq -r .eta_s <<<"$r") s"
ctl status > "$T/status.txt"
grep -Eq "^    resync: pushing since [0-9T:.-]+Z; $done_n / $total changes \([0-9]+ %\), [0-9.]+/s, ETA [0-9hms]+$" "$T/status.txt" \
  || fail "status text while pushing: $(grep resync "$T/status.txt")"
pass "status text while pushing"

# A stopped daemon makes no progress: the phase stays, rate and ETA go.
stop_daemon
r=$(hs_field resync)
assert_eq "$(jq -r '"\(.state) \(.done) \(.rate_per_s) \(.eta_s)"' <<<"$r")" "pushing $done_n null null" \
  "daemon stopped: still pushing at $done_n, no rate or ETA"
start_daemon daemon2   # the re-push goes on from the saved cursors

# Phase 3: HubSpot answers again; the re-push completes.
curl -sf --max-time 10 -X DELETE "$SIM_URL/__sim/faults" > /dev/null
wait_for 120 state_is complete || fail "resync did not complete: $(hs_field resync)"
r=$(hs_field resync)
assert_eq "$(jq -r '"\(.done)/\(.total)"' <<<"$r")" "$total/$total" "complete: done = total"
wait_for 30 is_eq "$N" live_prop "M$N" loyalty_points || fail "M$N not re-created"
assert_eq "$(live_prop M1 loyalty_points)" 1 "M1 re-created"
assert_eq "$(sim_get state | jq '[.collections.contacts[] | select(.archived != true)] | length')" "$N" \
  "every member is back in HubSpot"
ctl status > "$T/status.txt"
grep -Eq '^    last resync: started [0-9T:.-]+Z, complete$' "$T/status.txt" \
  || fail "status text after the resync: $(grep resync "$T/status.txt")"
pass "status text after the resync"
stop_daemon
