#!/usr/bin/env bash
# Issue 15: a resync writes nothing for a member whose profile value was
# cleared. We clear a Contact field with null, Salesforce reads it back as
# null, and the pull takes no change from an empty field (it must not clear
# a local value), so before the fix it left no shadow either: every such
# Contact was upserted again at every resync (fails without the fix: the
# second resync writes the three Contacts). Now the empty field is recorded
# as what Salesforce holds (the shadow), never as a change.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
profile() { # id member first_name-json at
  printf '{"event_id":"%s","type":"profile","member":"%s","occurred_at":"%s","attributes":{"email":"%s@example.com","last_name":"L%s","first_name":%s}}\n' "$1" "$2" "$4" "$2" "$2" "$3"
}
for m in M1 M2 M3; do profile "p1-$m" "$m" '"Ann"' 2026-11-01T09:00:00Z; done >"$T/a.jsonl.src"
drop a.jsonl
for m in M1 M2 M3; do
  wait_for 60 is_eq Ann contact_field "$m" FirstName || fail "$m's first name"
done
quiet
for m in M1 M2 M3; do profile "p2-$m" "$m" null 2026-11-01T10:00:00Z; done >"$T/b.jsonl.src"
drop b.jsonl
for m in M1 M2 M3; do
  wait_for 30 is_eq "" contact_field "$m" FirstName || fail "$m's first name was not cleared"
done
quiet
resync_wait sf 60
quiet
sim_post counters/reset '{}'
resync_wait sf 60
quiet
assert_eq "$(writes)" 0 "a resync writes no Contact whose cleared field Salesforce holds empty"
for m in M1 M2 M3; do
  assert_eq "$(contact_field "$m" FirstName)" "" "$m's first name stays cleared"
  assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = '$m' AND field = 'profile/first_name' AND json_extract(value, '\$.value') IS NULL")" 1 \
    "$m's first name stays cleared locally"
done
stop_daemon
