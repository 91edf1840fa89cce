#!/usr/bin/env bash
# Issue 15: a resync writes nothing for a member whose profile value was
# cleared. HubSpot holds the property empty (read back as null), and the
# pull takes no change from an empty property (it must not clear a local
# value), so before the fix it left no shadow either: every such member's
# contact was upserted again at every resync (fails without the fix: one
# contacts upsert for M1..M3). Now the empty property is recorded as what
# HubSpot holds (the shadow), never as a change.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_start_ready

profile() { # id member first_name-json at
  printf '{"event_id":"%s","type":"profile","member":"%s","occurred_at":"%s","attributes":{"first_name":%s}}\n' "$1" "$2" "$4" "$3"
}
for m in M1 M2 M3; do profile "p1-$m" "$m" '"Ann"' 2026-11-01T09:00:00Z; done >"$T/a.jsonl.src"
drop a.jsonl
for m in M1 M2 M3; do
  wait_for 30 is_eq Ann contact_prop "$m" firstname || fail "$m's first name"
done
quiet
for m in M1 M2 M3; do profile "p2-$m" "$m" null 2026-11-01T10:00:00Z; done >"$T/b.jsonl.src"
drop b.jsonl
for m in M1 M2 M3; do
  wait_for 30 is_eq "" contact_prop "$m" firstname || fail "$m's first name was not cleared"
done
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE field = 'profile/first_name' AND json_extract(value, '\$.value') IS NULL")" 3 \
  "three members' first names cleared locally"

sim_post counters/reset '{}'
resync_wait hs 60
quiet
requests_of() { sim_get counters | jq -r --arg e "$1" '.endpoints[$e].requests // 0'; }
assert_eq "$(requests_of contacts.batch.upsert)" 0 "a resync writes no contact whose cleared property HubSpot holds empty"
for m in M1 M2 M3; do
  assert_eq "$(contact_prop "$m" firstname)" "" "$m's first name stays cleared"
  assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = '$m' AND field = 'profile/first_name' AND json_extract(value, '\$.value') IS NULL")" 1 \
    "$m's first name stays cleared locally"
done
stop_daemon
