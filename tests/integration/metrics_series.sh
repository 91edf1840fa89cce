#!/usr/bin/env bash
# /metrics for dashboards and alerts (issue 19):
# - every known series exists at 0 from the start (records_pushed_total,
#   dead_letters_total, push_retries_total appeared only after their first
#   event, so rate() and absent() saw nothing), crmsyncd_connector_up,
#   crmsyncd_last_success_timestamp_seconds per connector and direction,
#   process_start_time_seconds;
# - crmsyncd_request_duration_seconds times every request, with code and
#   endpoint labels (it counted 4 push batches where HubSpot saw ~48
#   requests): its count equals the requests the simulator served;
# - crmsyncd_http_errors_total by class, and connector_up 0 while the CRM
#   is unreachable;
# - crmsyncd_optout_latency_seconds: a withdrawal's arrival to HubSpot's
#   acknowledgement, observed once per withdrawal taken (issue 19: the
#   dashboard showed only the urgent lane's oldest age, a bound).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

command -v promtool >/dev/null || fail "promtool not installed (Debian package prometheus; see .ci/deps)"
hs_sim_start
hs_config
sed -i -e 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0\nunreachable_after = 0s/' \
  -e 's/^pull_interval = 1s$/pull_interval = 1h/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
metrics() { curl -s "http://$ADDR/metrics" > "$T/metrics.txt"; }
has() { grep -qx "$1" "$T/metrics.txt" || fail "no line '$1' in /metrics"; }

metrics
for r in ok retry reject; do has "crmsyncd_records_pushed_total{connector=\"hs\",result=\"$r\"} 0"; done
has 'crmsyncd_push_retries_total{connector="hs"} 0'
has 'crmsyncd_dead_letters_total{connector="hs"} 0'
has 'crmsyncd_destination_pauses_total{connector="hs"} 0'
for c in 429 5xx 4xx transport; do has "crmsyncd_http_errors_total{connector=\"hs\",class=\"$c\"} 0"; done
has 'crmsyncd_ingest_records_total{connector="shop",result="applied"} 0'
has 'crmsyncd_connector_up{connector="hs"} 1'
has 'crmsyncd_connector_up{connector="shop"} 1'
has 'crmsyncd_last_success_timestamp_seconds{connector="hs",direction="push"} 0'
has 'crmsyncd_optout_latency_seconds_count{connector="hs"} 0'
has 'crmsyncd_pulls_total{connector="hs",result="failed"} 0'
grep -q '^process_start_time_seconds [0-9]' "$T/metrics.txt" || fail "no process_start_time_seconds"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.out" 2>&1 || { cat "$T/promtool.out" >&2; fail "promtool check metrics"; }
pass "every series exists at start, promtool check metrics passes"

printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","first_name":"Ann"}}\n' >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq Ann contact_prop M1 firstname || fail "the change did not reach HubSpot"
pushed() { metrics; grep -qx 'crmsyncd_records_pushed_total{connector="hs",result="ok"} [1-9][0-9]*' "$T/metrics.txt"; }
wait_for 30 pushed || fail "records_pushed_total did not count the push"
ours=$(awk '/^crmsyncd_request_duration_seconds_count\{connector="hs",/ {n += $2} END {print n + 0}' "$T/metrics.txt")
theirs=$(sim_get counters | jq '[.endpoints | to_entries[] | select(.key != "unmatched") | .value.requests] | add')
assert_eq "$ours" "$theirs" "every request HubSpot served is timed"
grep -q '^crmsyncd_request_duration_seconds_count{connector="hs",code="200",endpoint="/crm/[^"]*contacts/batch/upsert"} [1-9]' "$T/metrics.txt" \
  || { grep request_duration_seconds_count "$T/metrics.txt" >&2; fail "no code/endpoint labels on the upsert"; }
pass "code and endpoint labels"
push_ts=$(awk -F' ' '/^crmsyncd_last_success_timestamp_seconds\{connector="hs",direction="push"\}/ {print $2}' "$T/metrics.txt")
start_ts=$(awk '/^process_start_time_seconds / {print $2}' "$T/metrics.txt")
python3 -c "import sys; sys.exit(0 if float('$push_ts') >= float('$start_ts') > 0 else 1)" \
  || fail "last push success $push_ts is not after the start $start_ts"
pass "last success of the push recorded"

ev_consent c1 M1 denied 2026-11-01T09:30:00Z > "$T/c.jsonl.src"
drop c.jsonl
wait_for 30 is_eq UNSUBSCRIBED email_status m1@example.com 1001 || fail "the withdrawal did not reach HubSpot"
optouts() { metrics; grep -qx 'crmsyncd_optout_latency_seconds_count{connector="hs"} 1' "$T/metrics.txt"; }
wait_for 10 optouts || { grep optout "$T/metrics.txt" >&2; fail "the withdrawal's latency was not observed"; }
grep -qx 'crmsyncd_optout_latency_seconds_bucket{connector="hs",le="+Inf"} 1' "$T/metrics.txt" || fail "optout +Inf bucket"
pass "opt-out latency observed for the withdrawal"

# HubSpot answers 503: errors by class, the connector is down.
sim_post config '{"faults":"503:1.0"}' || fail "crmsim config refused"
printf '{"event_id":"p2","type":"profile","member":"M1","occurred_at":"2026-11-01T10:00:00Z","attributes":{"email":"m1@example.com","first_name":"Bea"}}\n' >"$T/b.jsonl.src"
drop b.jsonl
down() { metrics; grep -qx 'crmsyncd_connector_up{connector="hs"} 0' "$T/metrics.txt"; }
wait_for 60 down || fail "connector_up stayed 1 with HubSpot answering 503"
grep -qx 'crmsyncd_http_errors_total{connector="hs",class="5xx"} [1-9][0-9]*' "$T/metrics.txt" || fail "5xx not counted"
grep -q '^crmsyncd_request_duration_seconds_count{connector="hs",code="503",' "$T/metrics.txt" || fail "no code=503 series"
pass "503s counted as 5xx and connector_up 0"
sim_post config '{"faults":""}' || fail "crmsim config refused"
up() { metrics; grep -qx 'crmsyncd_connector_up{connector="hs"} 1' "$T/metrics.txt"; }
wait_for 120 up || fail "connector_up did not come back"
pass "connector_up 1 again"
stop_daemon
