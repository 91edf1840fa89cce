#!/usr/bin/env bash
# Adobe Campaign batches up to the configured batch_size (issue 13: "Push:
# WriteCollection insertOrUpdate ... up to the configured batch (default
# 100)"): with batch_size = 250, 600 new members go out in WriteCollections
# of at most 250 recipients, the largest holding 250 (above the old cap of
# 100, which refused the option).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start
acc_config "batch_size = 250"
start_daemon
for i in $(seq 1 600); do
  printf '{"event_id":"p%d","type":"profile","member":"B%d","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"b%d@example.com"}}\n' "$i" "$i" "$i"
done >"$T/a.jsonl.src"
drop a.jsonl
recipients() { sim_get state | jq -r '[.collections["nms:recipient"][]?] | length'; }
wait_for 90 is_eq 600 recipients || fail "600 recipients expected, got $(recipients)"
pass "600 members written"
# One request-log line per call: "... in=N ... op=...#WriteCollection ...".
sizes() { grep -E '#WriteCollection( |$)' "$T/sim.log" | grep -oE ' in=[0-9]+' | cut -d= -f2; }
[ "$(sizes | wc -l)" -ge 3 ] || fail "expected at least 3 WriteCollections, got $(sizes | wc -l)"
assert_eq "$(sizes | sort -n | tail -n 1)" 250 "the largest WriteCollection holds batch_size recipients"
assert_eq "$(sizes | awk '$1 > 250' | wc -l)" 0 "no WriteCollection holds more than batch_size"
stop_daemon
