#!/usr/bin/env bash
# Salesforce's concurrent long-running request limit (issue 12 item 9):
# 403 REQUEST_LIMIT_EXCEEDED like the daily budget, but with the
# ConcurrentPerOrgLongTxn message. It is a wait of seconds, not the daily
# budget's quota_retry (1 h by default): the consents are written soon
# after, nothing is dead-lettered, quota_exhausted is never raised.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
wait_pulls 1
sim_post seed '{"flavor_state": {"concurrentLimit": 3}}' >/dev/null
for i in 1 2 3; do ev_consent "c$i" "C$i" denied 2026-11-01T10:00:00Z; done >"$T/a.jsonl.src"
drop a.jsonl
# Our requests Salesforce answered 403, whatever their endpoint.
refused() { admin_get /metrics | awk '/^crmsyncd_request_duration_seconds_count\{connector="sf",code="403",/ {n += $2} END {print n + 0}'; }
all_refused() { [ "$(refused)" -ge 3 ]; }
wait_for 30 all_refused || fail "the concurrent limit was not met ($(refused) request(s) answered 403)"
pass "the concurrent limit is met: $(refused) requests refused"
for m in C1 C2 C3; do
  wait_for 60 is_eq true contact_field "$m" HasOptedOutOfEmail || fail "$m not written after the concurrent limit (held like the daily budget?)"
done
pass "written seconds later: not held for quota_retry"
! grep -q 'daily API request budget spent' "$T/daemon.log" || fail "taken for the daily budget"
pass "not taken for the daily budget"
assert_eq "$(sql "SELECT count(*) FROM dead_letters WHERE destination = 'sf'")" 0 "nothing dead-lettered"
stop_daemon
