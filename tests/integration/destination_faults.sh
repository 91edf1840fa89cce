#!/usr/bin/env bash
# Destination faults are never the records' (issue 14 items 3 and 9), against
# the HubSpot simulator:
# - a 200 whose body is not HubSpot's answer (a proxy's HTML page) is not a
#   success: the contacts upsert is retried and the contact reaches HubSpot
#   (it used to count as "every input applied": the shadow claimed a value
#   HubSpot never received, and nothing was sent again);
# - a redirect (not followed) backs the destination off like an outage:
#   no dead letter, the change goes when the destination answers again;
# - a CRM refusing an address quotes it: the dead-letter reason and the log
#   show it masked.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
start_daemon
dead() { sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'"; }
dead_some() { [ "$(dead)" -gt 0 ]; }
faults() { sim_get counters | jq -r --arg k "$1" '.faults[$k] // 0'; }

# An unreadable 200, twice.
sim_post config '{"fault-script":"proxy-page,proxy-page","fault-match":"contacts/batch/upsert"}' \
  || fail "crmsim config refused"
printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m1@example.com","first_name":"Ann"}}\n' >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq Ann contact_prop M1 firstname \
  || fail "M1 never reached HubSpot (an unreadable 200 taken for success?)"
pass "after two unreadable 200s the contact reaches HubSpot"
assert_eq "$(faults proxy-page)" 2 "both proxy pages were answered"
grep -q 'unreadable batch upsert answer' "$T/daemon.log" || fail "the unreadable answer is not logged"
assert_eq "$(dead)" 0 "an unreadable answer files no dead letter"
# The proxy page quoted an address: logged masked.
if grep -q 'admin@proxy.example.net' "$T/daemon.log"; then fail "an address from outside reached the log"; fi

# Redirects, three times.
sim_post config '{"fault-script":"redirect,redirect,redirect","fault-match":"contacts/batch/upsert"}' \
  || fail "crmsim config refused"
printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m2@example.com","first_name":"Bo"}}\n' >"$T/b.jsonl.src"
drop b.jsonl
wait_for 90 is_eq Bo contact_prop M2 firstname || fail "M2 never reached HubSpot after the redirects"
pass "after three redirects the contact reaches HubSpot"
assert_eq "$(faults redirect)" 3 "the three redirects were answered"
metric_above 'crmsyncd_destination_pauses_total{connector="hs"}' 0 || fail "the destination was not backed off"
pass "a redirect backs the destination off"
assert_eq "$(dead)" 0 "a redirect files no dead letter"

# HubSpot refuses an address and quotes it.
printf '{"event_id":"p3","type":"profile","member":"M3","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"not valid@example.org","first_name":"Cy"}}\n' >"$T/c.jsonl.src"
drop c.jsonl
wait_for 60 dead_some || fail "the refused address was not dead-lettered (dead letters: $(dead))"
reason=$(sql "SELECT group_concat(reason, ' | ') FROM dead_letters WHERE destination = 'hs'")
case "$reason" in
  *valid@example.org*) fail "the dead-letter reason holds the address: $reason" ;;
  *v***@example.org*) pass "the dead-letter reason holds the address masked: $reason" ;;
  *) fail "unexpected dead-letter reason: $reason" ;;
esac
if grep -q 'valid@example.org' "$T/daemon.log"; then fail "the refused address reached the log"; fi
pass "the log holds no address"
# Issue 19: the dead letter's log line names the member.
grep -q '^<4>engine\[hs\]: member M3 seq [0-9]* .*: dead letter: ' "$T/daemon.log" \
  || fail "the dead letter's log line does not name member M3: $(grep 'dead letter' "$T/daemon.log")"
pass "the dead letter's log line names the member"
stop_daemon
