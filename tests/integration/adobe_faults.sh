#!/usr/bin/env bash
# Adobe Campaign error classes (docs/adobe_campaign.md "Push"): injected 503s
# and the TPS throttle's 429s (with and without Retry-After) delay records,
# never dead-letter them; an IMS token Campaign refuses (XSV-350114) is
# renewed once and the write goes through; a fault that is the
# configuration's (XSV-350013, IP not allowed) stops the destination with a
# health reason instead of dead-lettering every record.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start --rate-limits --adobe-tps 0
acc_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
[ -n "$ADDR" ] || fail "no admin address in the log"
dead() { sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'acc'"; }
members_in() { sim_get state | jq -r '[.collections["nms:recipient"][]? | select(.properties.memberKey | startswith("'"$1"'"))] | length'; }

# 503s on a tenth of the calls.
sim_post config '{"faults":"503:0.1"}'
for i in $(seq 1 40); do
  printf '{"event_id":"a%s","type":"profile","member":"A%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"a%s@example.com"}}\n' "$i" "$i" "$i"
  ev_consent "ac$i" "A$i" denied 2026-11-01T10:00:00Z
done >"$T/a.jsonl.src"
drop a.jsonl
wait_for 120 is_eq 40 members_in A || fail "not every member arrived through 503s ($(members_in A))"
faults_503=$(sim_get counters | jq -r '.faults["503"] // 0')
[ "$faults_503" -gt 0 ] || fail "no 503 was injected"
assert_eq "$(dead)" 0 "503s ($faults_503 injected) delay records, never dead-letter them"
sim_post config '{"faults":""}'

# The TPS throttle: 429 with Retry-After, then without.
for ra in true false; do
  sim_post config '{"adobe-tps":2,"adobe-tps-retry-after":'"$ra"'}'
  sim_post counters/reset '{}'
  for i in $(seq 1 12); do
    printf '{"event_id":"%s%s","type":"profile","member":"%s%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"first_name":"N%s"}}\n' "$ra" "$i" "$ra" "$i" "$i"
    printf '{"event_id":"%sc%s","type":"consent","member":"%s%s","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"sms","status":"denied","legal_basis":"consent","source":"till"}\n' "$ra" "$i" "$ra" "$i"
  done >"$T/t$ra.jsonl.src"
  drop "t$ra.jsonl"
  wait_for 180 is_eq 12 members_in "$ra" || fail "not every member arrived under the throttle ($ra)"
  got429=$(sim_get counters | jq -r '[.endpoints[]?.errors] | add // 0')
  assert_eq "$(dead)" 0 "the TPS throttle (Retry-After $ra, $got429 errors answered) delays, never dead-letters"
done
sim_post config '{"adobe-tps":0}'

# A refused IMS token: renewed once, the write goes through.
ims() { sim_get counters | jq -r '[.endpoints | to_entries[] | select(.key | test("token|ims")) | .value.requests] | add // 0'; }
before=$(ims)
sim_post tokens/expire '{}'
ev_consent r1 A1 granted 2026-11-02T10:00:00Z >"$T/r.jsonl.src"
drop r.jsonl
wait_for 30 is_eq 1 subscribed A1 newsletter || fail "the grant after the token was refused"
after=$(ims)
[ "$after" -gt "$before" ] || fail "no new IMS token requested ($before -> $after)"
pass "XSV-350114: the IMS token is renewed ($before -> $after token requests) and the write delivered"

# IP not allowed: the destination stops with a health reason.
sim_post config '{"adobe-deny-ip":true}'
ev_consent x1 A2 granted 2026-11-03T10:00:00Z >"$T/x.jsonl.src"
drop x.jsonl
health() { curl -s "http://$ADDR/healthz"; }
health_says() { health | grep -q connector_failed; }
wait_for 30 health_says || fail "no health reason after XSV-350013 ($(health))"
pass "XSV-350013 stops the destination: $(health | cut -c1-160)"
sleep 2
assert_eq "$(dead)" 0 "a stopped destination dead-letters nothing"
grep -q 'destination stopped' "$T/daemon.log" || fail "no log line says the destination stopped"
pass "the log says why"
stop_daemon
