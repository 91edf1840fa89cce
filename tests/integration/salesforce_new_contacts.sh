#!/usr/bin/env bash
# New Contacts without a last name, more than one collections request of
# them (docs/salesforce.md "Push", LastName): each request's refused items
# (REQUIRED_FIELD_MISSING) are resent once with the placeholder, that
# request's alone. (Every marked member was resent after the second
# request: more than 200 overran the request buffer.) Under the Bulk
# threshold the engine hands the connector one request's worth at a time
# (connector_ops.batch_max, issue 17): batches of 200 and 50.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
for i in $(seq 1 250); do
  ev_consent "c$i" "N$i" denied 2026-11-01T10:00:00Z
done >"$T/a.jsonl.src"
drop a.jsonl
pushed() { metric 'crmsyncd_records_pushed_total{connector="sf",result="ok"}'; }
batches() { metric 'crmsyncd_push_batch_duration_seconds_count{connector="sf"}'; }
wait_for 60 is_eq 250 pushed || fail "the 250 records were not acknowledged (got $(pushed))"
# One batch of 250 would be one batch; two batches and (below) two
# requests each resent once: each batch was one request's worth.
assert_eq "$(batches)" 2 "the 250 records went as two batches"
n_placeholder() {
  sim_get state | jq '[.collections.Contact[] | select((.properties.Member_Key__c // "" | startswith("N")) and .properties.LastName == "(loyalty member)" and (.properties.HasOptedOutOfEmail | tostring) == "true")] | length'
}
wait_for 60 is_eq 250 n_placeholder || fail "250 Contacts with the placeholder and the opt-out (got $(n_placeholder))"
pass "250 new Contacts without a last name written with the placeholder"
assert_eq "$(sim_get counters | jq -r '.endpoints["collections.upsert"].requests')" 4 \
  "two requests, each resent once for its own items"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'")" 0 "no dead letters"
stop_daemon
