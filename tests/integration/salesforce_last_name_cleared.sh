#!/usr/bin/env bash
# A last name cleared here reaches Salesforce as the placeholder a Contact
# is created with: LastName is required, so the null that clears any other
# field was refused (REQUIRED_FIELD_MISSING, a dead letter) and Salesforce
# kept the old name. The placeholder read back is "no last name" (observed
# as empty), so a resync writes nothing again.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/salesforce.sh"

sf_sim_start
sf_config
start_daemon
profile() { # id member last_name-json at
  printf '{"event_id":"%s","type":"profile","member":"%s","occurred_at":"%s","attributes":{"email":"%s@example.com","last_name":%s}}\n' "$1" "$2" "$4" "$2" "$3"
}
for m in M1 M2; do profile "p1-$m" "$m" '"Lee"' 2026-11-01T09:00:00Z; done >"$T/a.jsonl.src"
drop a.jsonl
for m in M1 M2; do
  wait_for 60 is_eq Lee contact_field "$m" LastName || fail "$m's last name"
done
quiet
profile p2-M1 M1 null 2026-11-01T10:00:00Z >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq "(loyalty member)" contact_field M1 LastName ||
  fail "M1's cleared last name did not reach Salesforce: $(contact_field M1 LastName); dead letters: $(sql "SELECT field || ' ' || reason FROM dead_letters")"
quiet
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters")" 0 "no dead letter"
assert_eq "$(contact_field M2 LastName)" Lee "M2 keeps its last name"
assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = 'M1' AND field = 'profile/last_name' AND json_extract(value, '\$.value') IS NULL")" 1 \
  "M1's last name stays cleared locally (the placeholder read back is not a name)"
resync_wait sf 60
quiet
sim_post counters/reset '{}'
resync_wait sf 60
quiet
assert_eq "$(writes)" 0 "a resync writes no Contact whose LastName is the placeholder for a cleared name"
stop_daemon
