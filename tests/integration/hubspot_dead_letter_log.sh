#!/usr/bin/env bash
# Dead letters are logged one by one up to a burst a minute per destination
# (10), then counted: 25 email consents of members without an address made
# 25 warning lines before, and a bulk of them made tens of thousands of
# lines in the retention soak. Every one stays in dead_letters and in the
# counter; the lines held back are told as a count, at the latest when the
# daemon stops (fails without the throttle: 25 lines, no count).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_start_ready
for i in $(seq 1 25); do
  ev_points "t-M$i" "M$i" "T-M$i" 10 earn
  ev_consent "c-M$i" "M$i" granted 2026-11-01T10:00:00Z # no email address
done >"$T/a.jsonl.src"
drop a.jsonl
dl_count() { sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'"; }
wait_for 60 is_eq 25 dl_count || fail "25 consents not dead-lettered: $(dl_count)"
quiet
assert_eq "$(metric 'crmsyncd_dead_letters_total{connector="hs"}')" 25 "the dead-letter counter counts every one"
lines() { grep -c '^<4>engine\[hs\]: member M[0-9]* seq [0-9]* .*: dead letter: ' "$T/daemon.log"; }
assert_eq "$(lines)" 10 "ten dead letters logged one by one"
stop_daemon
grep -q '^<4>engine\[hs\]: 15 more dead letter(s) not logged one by one; `crmsyncctl dead-letters list` shows them$' "$T/daemon.log" \
  || fail "the 15 held back are not told at the stop: $(grep 'more dead letter' "$T/daemon.log")"
pass "the 15 held back are told at the stop"
