#!/usr/bin/env bash
# Issue 15 (resync at 2x the request minimum): a resync of members HubSpot
# already holds writes nothing, even when
#  - it is asked for while a pull runs: that pull reads from the old
#    watermark (minus the lookback), so taken as the resync's own pull it
#    rebuilt the shadow of the last contacts only, and every other member
#    was written again (the soak's 4,127 of 20,000; fails without the wait:
#    one contacts upsert for M1..M5);
#  - the members' email statuses were last written as resends (the address
#    came after the contact: hubspot_job.c email_moved). A resend's change
#    stays the current value, and went whatever the shadow said at every
#    resync (fails without resync_seq: one statuses write).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_start_ready

# Contacts first (points), then their addresses: the statuses go as resends.
{
  for m in M1 M2 M3 M4 M5; do
    ev_points "t-$m" "$m" "T-$m" 100 earn
  done
} >"$T/a.jsonl.src"
drop a.jsonl
for m in M1 M2 M3 M4 M5; do
  wait_for 30 contact_id_known "$m" || fail "$m's contact"
done
quiet
{
  for m in M1 M2 M3 M4 M5; do
    printf '{"event_id":"p-%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com"}}\n' "$m" "$m" "${m,,}"
    ev_consent "c-$m" "$m" granted 2026-11-01T10:00:00Z
  done
} >"$T/b.jsonl.src"
drop b.jsonl
for m in M1 M2 M3 M4 M5; do
  wait_for 30 is_eq SUBSCRIBED email_status "${m,,}@example.com" 1001 || fail "$m's email status"
done
quiet
resends=$(sql "SELECT COUNT(*) FROM current c JOIN changes x ON x.seq = c.seq
                 WHERE c.field = 'consent/marketing/email' AND x.origin = 'resend:hs'")
[ "$resends" -ge 1 ] || fail "no email status went as a resend (the case is not set up)"
pass "$resends email status(es) current as resends"

# M1..M5 are now older than the watermark minus the lookback: a later
# contact moves the watermark, and a regular pull reads only from there.
sleep 2
ev_points t-M9 M9 T-M9 5 earn >"$T/c.jsonl.src"
drop c.jsonl
wait_for 30 contact_id_known M9 || fail "M9's contact"
quiet

# Slow searches: a pull is running when the resync is asked for.
sim_post config '{"faults":"slow:1","fault-match":"/contacts/search","slow-ms":4000}'
wait_pulls 1
sleep 1.5 # the next cycle (pull_interval 1s) waits on its search
sim_post counters/reset '{}'
before=$(resync_pulled hs)
kill -USR1 "$DAEMON_PID"
wait_for 10 is_eq 1 metric 'crmsyncd_resync_phase{connector="hs"}' ||
  fail "the resync did not wait for the running pull"
sim_post config '{"faults":"","fault-match":""}'
wait_for 60 resync_pulled_since hs "$before" || fail "the resync did not complete"
assert_eq "$(metric 'crmsyncd_resync_phase{connector="hs"}')" 0 "the resync phase gauge is back to 0 after the re-pull"
quiet
requests_of() { sim_get counters | jq -r --arg e "$1" '.endpoints[$e].requests // 0'; }
assert_eq "$(requests_of contacts.batch.upsert)" 0 "a resync asked for during a pull writes no contact HubSpot holds"
assert_eq "$(requests_of prefs.statuses.batch.write)" 0 "a resync writes no email status HubSpot holds, resends included"
for m in M1 M2 M3 M4 M5; do
  assert_eq "$(email_status "${m,,}@example.com" 1001)" SUBSCRIBED "$m's status after the resync"
  assert_eq "$(contact_prop "$m" loyalty_points)" 100 "$m's balance after the resync"
done
stop_daemon
