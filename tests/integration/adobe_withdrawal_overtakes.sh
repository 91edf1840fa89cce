#!/usr/bin/env bash
# A withdrawal overtakes a backlog of grants while the connector's request
# budget is saturated (issue 13: "opt-out p99 <= 250 ms under a saturated
# TPS limit"). 300 members are written and granted marketing/email with
# the connector's rate at 40 calls a second: one Subscribe per grant, so
# the grants take several seconds. As soon as the first member holds its
# subscription, its withdrawal is dropped. Campaign must see its
# Unsubscribe while the grants are still going, after at most a few
# consent jobs' Subscribes: a consent job holds its members (one write of
# a member's field in flight) until its last call is answered, and a job
# of 100 grants held the first member's withdrawal behind about 300 grants
# (three bulk jobs share the budget). Campaign does not throttle here
# (the simulator's limit is above what the budget passes): a 429 ends a
# job early, and the test would pass by chance. Ordered by Campaign's own
# nms:subHisto rows (one per Subscribe and Unsubscribe, in the order it
# made them), not by time.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

N=300
acc_sim_start
acc_config "rate = 40
burst = 40"
start_daemon
{
  for i in $(seq 1 $N); do
    printf '{"event_id":"p%d","type":"profile","member":"T%03d","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"t%d@example.com"}}\n' "$i" "$i" "$i"
  done
  for i in $(seq 1 $N); do
    ev_consent "g$i" "$(printf 'T%03d' "$i")" granted 2026-11-01T10:00:00Z
  done
} >"$T/a.jsonl.src"
drop a.jsonl

# nms:subHisto rows in Campaign's order: "<action> <memberKey>" a line.
histo() {
  sim_get state | jq -r '(.collections["nms:recipient"] // [] | map({key: (.id | tostring), value: .properties.memberKey}) | from_entries) as $m
    | [.collections["nms:subHisto"][]?] | sort_by(.id | tonumber) | .[] | "\(.properties.action) \($m[.properties["recipient-id"] | tostring])"'
}
first_granted() { histo | awk '$1 == 1 { print $2; exit }'; }
wait_for 60 nonempty first_granted || fail "no grant reached Campaign"
M=$(first_granted)
printf '{"event_id":"w1","type":"consent","member":"%s","occurred_at":"2026-11-20T10:00:00Z","purpose":"marketing","channel":"email","status":"denied","source":"email_footer"}\n' "$M" >"$T/w.jsonl.src"
drop w.jsonl
withdrawn() { histo | grep -qx "0 $M"; }
wait_for 120 withdrawn || fail "$M's withdrawal did not reach Campaign"
pass "$M's withdrawal reached Campaign"

wait_for 120 is_eq $N eval 'histo | grep -c "^1 "' || fail "not every grant reached Campaign ($(histo | grep -c '^1 '))"
histo >"$T/histo.txt"
# Subscribes between the member's own and its Unsubscribe.
between=$(awk -v m="$M" '$0 == "1 " m { on = 1; next } $0 == "0 " m { print n + 0; exit } on && $1 == 1 { n++ }' "$T/histo.txt")
after=$(awk -v m="$M" '$0 == "0 " m { on = 1; next } on && $1 == 1 { n++ } END { print n + 0 }' "$T/histo.txt")
echo "Subscribes between $M's grant and its withdrawal: $between; after it: $after (of $N)"
[ "$after" -gt 0 ] || fail "the withdrawal went only after every grant"
[ "$between" -le 60 ] || fail "the withdrawal waited behind $between grants (at most 60 expected)"
pass "the withdrawal went while the grants were going, after $between of them"
assert_eq "$(subscribed "$M" newsletter)" 0 "$M is not subscribed"
stop_daemon
