#!/usr/bin/env bash
# HubSpot under failure: a batch HubSpot refuses for one bad record (400
# "Property values were not valid") dead-letters that record with the
# vendor's reason and applies the others; a 429 storm converges; an OAuth
# access token expiring mid-run is refreshed once and nothing is lost.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

printf 'sim-secret' >"$T/secret"; chmod 600 "$T/secret"
printf 'R1' >"$T/refresh"; chmod 600 "$T/refresh"
hs_sim_start --refresh-token R1
hs_config "auth = oauth
client_id = sim-client
client_secret_file = $T/secret
refresh_token_file = $T/refresh
token_url = $SIM_URL/oauth/2026-03/token"
start_daemon

# 1. One invalid email among good records: rejected alone, the rest
# written in the same push.
{
  for i in 1 2 3 4; do
    printf '{"event_id":"p%s","type":"profile","member":"G%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"g%s@example.com","first_name":"G%s"}}\n' $i $i $i $i
  done
  printf '{"event_id":"pb","type":"profile","member":"BAD","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"bad@@example","first_name":"B"}}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
for i in 1 2 3 4; do
  wait_for 30 is_eq "g$i@example.com" contact_prop "G$i" email || fail "G$i not written"
done
pass "the good records of a refused batch are applied"
# The member's input is refused as a whole: both of BAD's fields in that
# batch are dead letters (docs/hubspot.md, "Refused batches").
wait_for 30 is_eq 2 sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'" \
  || fail "no dead letter: $(sql "SELECT destination, field, reason FROM dead_letters")"
assert_eq "$(sql "SELECT DISTINCT member_key FROM dead_letters WHERE destination = 'hs'")" BAD "only the bad member is dead-lettered"
# The vendor's reason, with the address it quotes masked (issue 14 item 9).
sql "SELECT reason FROM dead_letters WHERE destination = 'hs' AND field = 'profile/email'" | grep -q 'Email address b\*\*\*@example is invalid' \
  || fail "dead letter without the vendor's reason: $(sql "SELECT reason FROM dead_letters")"
pass "dead letter carries HubSpot's message"
assert_eq "$(contact_prop BAD firstname)" "" "nothing of the bad record's input is written"

# 2. A 429 storm on batch writes: every change still arrives.
# Matched on the upsert path only: "/batch/" also matched the pull's statuses
# batch read, which could take all six 429s (the engine then never saw one
# and never paused: failed now and then under load).
sim_post config '{"fault-script":"429,429,429,429,429,429","fault-match":"/contacts/batch/upsert","retry-after":1}'
{
  for i in 1 2 3 4; do ev_points "t$i" "G$i" "T$i" $((i * 10)) earn; done
} >"$T/b.jsonl.src"
drop b.jsonl
for i in 1 2 3 4; do
  wait_for 60 is_eq $((i * 10)) contact_prop "G$i" loyalty_points || fail "G$i balance after the 429 storm"
done
[ "$(sim_get counters | jq -r '.faults["429"] // 0')" -ge 1 ] || fail "no 429 was injected"
metric_above 'crmsyncd_destination_pauses_total{connector="hs"}' 0 || fail "no back-off after a 429"
pass "a 429 storm converges (Retry-After honoured by pausing)"
sim_post faults '{}' 2>/dev/null || curl -sf -X DELETE "$SIM_URL/__sim/faults" >/dev/null

# 3. Token expiry mid-run: one refresh, then the write goes through.
refreshes() { sim_get counters | jq -r '.endpoints["oauth.token"].requests // 0'; }
before=$(refreshes)
sim_post tokens/expire '{}'
ev_points t9 G1 T9 5 earn >"$T/c.jsonl.src"
drop c.jsonl
wait_for 60 is_eq 15 contact_prop G1 loyalty_points || fail "write after token expiry"
after=$(refreshes)
[ $((after - before)) -ge 1 ] && [ $((after - before)) -le 2 ] || fail "expected one refresh, saw $((after - before))"
pass "an expired access token is refreshed once, nothing lost"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 2 "no other dead letter"
if grep -q 'sim-secret\|R1' "$T/daemon.log"; then fail "a secret reached the log"; fi
stop_daemon
