#!/usr/bin/env bash
# Issue 15: a resync does not dead-letter again what is dead-lettered
# already with the same value. An email consent of a member without an
# address and a consent of a purpose without a HubSpot subscription type
# (profiling) cannot go to HubSpot; each resync offered them again and
# filed them again (the dead letter's attempts and last failure moved, the
# dead-letter counter and the warning log grew at every resync). Fails
# without the fix: attempts 2 after the first resync.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_start_ready

consent() { # id member purpose status
  printf '{"event_id":"%s","type":"consent","member":"%s","occurred_at":"2026-11-01T10:00:00Z","purpose":"%s","channel":"email","status":"%s","legal_basis":"consent","source":"web_form"}\n' "$1" "$2" "$3" "$4"
}
{
  ev_points t-M1 M1 T-M1 10 earn
  consent c-M1 M1 marketing granted # M1 has no email address
  printf '{"event_id":"p-M2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"m2@example.com"}}\n'
  consent c-M2 M2 profiling granted # no subscription type for profiling
} >"$T/a.jsonl.src"
drop a.jsonl
dl_count() { sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'"; }
wait_for 30 is_eq 2 dl_count || fail "the two consents were not dead-lettered"
quiet
dl_state() { sql "SELECT member_key || ' ' || field || ' ' || attempts || ' ' || last_failed_at FROM dead_letters WHERE destination = 'hs' ORDER BY id"; }
dead_metric() { metric 'crmsyncd_dead_letters_total{connector="hs"}'; }
before=$(dl_state)
metric_before=$(dead_metric)
pass "dead letters: $(echo "$before" | cut -d' ' -f1-3 | paste -sd,)"

for round in 1 2; do
  resync_wait hs 60
  quiet
  assert_eq "$(dl_count)" 2 "resync $round: still two dead letters"
  assert_eq "$(dl_state)" "$before" "resync $round: the dead letters are not filed again (attempts, last failure)"
  assert_eq "$(dead_metric)" "$metric_before" "resync $round: the dead-letter counter did not move"
done
stop_daemon
