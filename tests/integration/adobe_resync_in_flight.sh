#!/usr/bin/env bash
# Adobe Campaign resync asked while a pull cycle is in flight (issues 13,
# 15): the cycle began before the watermark and the shadows were cleared,
# so its end is not the resync's full read; the resync waits for it and
# pulls everything itself (engine, as for HubSpot in hubspot_resync_quiet),
# then writes nothing to a Campaign that holds it all. Taking the old
# cycle's end for the full read pushed every value again (6 writes here),
# and the old cycle's own watermark meant no full read came after it.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
acc_sim_start --threads 0
acc_config
start_daemon
{
  for m in M1 M2 M3; do
    printf '{"event_id":"p%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com"}}\n' "$m" "$m" "$m"
    printf '{"event_id":"s%s","type":"segment","member":"%s","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n' "$m" "$m"
  done
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 60 is_eq "M1 M2 M3" group_members vip || fail "vip memberships (got '$(group_members vip)')"
quiet
sim_post counters/reset '{}'
# The next request (a pull's query: nothing else is due) answers after 3 s;
# the resync comes while it is in flight.
sim_post config '{"slow-ms":3000,"fault-script":"slow"}'
sleep 1.5
before=$(resync_pulled acc)
wait_for 20 ctl resync acc >/dev/null || fail "resync acc"
wait_for 30 resync_pulled_since acc "$before" || fail "no resync pull"
quiet
assert_eq "$(writes)" 0 "a resync asked during a pull writes nothing to a Campaign that holds it all"
stop_daemon
