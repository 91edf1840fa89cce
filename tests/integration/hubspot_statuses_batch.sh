#!/usr/bin/env bash
# HubSpot statuses batches stay within 100 inputs (issue 12, item 2): 60
# members granting two email purposes each are 120 statuses inputs. The
# engine used to cut batches at 100 members, so one request carried 120
# inputs and crmsim (like HubSpot) refused it with 400: every consent of
# the batch was dead-lettered. Now a batch is cut by the inputs its records
# cost (connector_ops.record_cost): no request over 100, nothing refused.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
start_daemon
{
  for i in $(seq -w 1 60); do
    printf '{"event_id":"p%s","type":"profile","member":"B%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"b%s@example.com"}}\n' "$i" "$i" "$i"
    printf '{"event_id":"m%s","type":"consent","member":"B%s","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"email","status":"granted","legal_basis":"consent","source":"web_form"}\n' "$i" "$i"
    printf '{"event_id":"l%s","type":"consent","member":"B%s","occurred_at":"2026-11-01T10:00:00Z","purpose":"loyalty_programme","channel":"email","status":"granted","legal_basis":"consent","source":"web_form"}\n' "$i" "$i"
  done
} >"$T/a.jsonl.src"
drop a.jsonl

subscribed() {
  sim_get state | jq -r '[.flavor_state.statuses[] | to_entries[] | select(.value.status == "SUBSCRIBED")] | length'
}
wait_for 60 is_eq 120 subscribed || fail "not every email consent reached HubSpot ($(subscribed) of 120)"
pass "120 statuses written"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 0 "no dead letters"
max_in() { # ENDPOINT: the most inputs one request to it carried
  grep -o "POST [^ ]*$1[^ ]* [0-9]* in=[0-9]*" "$T/sim.log" | sed 's/.*in=//' | sort -n | tail -n 1
}
refused() { grep -c "POST [^ ]*statuses/batch/[a-z]*[^ ]* 400" "$T/sim.log" || true; }
assert_eq "$(refused)" 0 "no statuses request refused"
w=$(max_in statuses/batch/write)
[ -n "$w" ] && [ "$w" -le 100 ] || fail "a statuses batch write carried $w inputs"
r=$(max_in statuses/batch/read)
[ -z "$r" ] || [ "$r" -le 100 ] || fail "a statuses batch read carried $r inputs"
pass "no statuses request over 100 inputs (write max $w, read max ${r:-0})"
stop_daemon
pass "clean exit"
