#!/usr/bin/env bash
# A second HubSpot resync right after the first writes nothing (issue 14
# item 4, DESIGN.md §4): the pull after a resync reads the memberships of
# the segments' lists back (lists search, then memberships), so a member
# HubSpot already holds in a list is not added again, and the subscription
# statuses it holds are not written again. The one documented gap
# (docs/hubspot.md): a membership "out" is an absence that cannot be read,
# so a removal is written again, in its own list's request.
# Fails without the sweep: the second resync sends add-and-remove to vip.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
hs_config
start_daemon
{
  for m in M1 M2 M3; do
    printf '{"event_id":"p%s","type":"profile","member":"%s","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"%s@example.com"}}\n' "$m" "$m" "$m"
    ev_consent "c$m" "$m" granted 2026-11-01T10:00:00Z
    printf '{"event_id":"s%s","type":"segment","member":"%s","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n' "$m" "$m"
  done
  printf '{"event_id":"g3","type":"segment","member":"M3","occurred_at":"2026-11-01T10:00:00Z","segment":"gold","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 contact_id_known M3 || fail "M3 not created"
M3ID=$(contact_id M3)
wait_for 30 list_has gold "$M3ID" || fail "M3 not in the gold list"
wait_for 30 list_has vip "$M3ID" || fail "M3 not in the vip list"
wait_for 30 is_eq SUBSCRIBED email_status M3@example.com 1001 || fail "M3's subscription"
printf '{"event_id":"g3o","type":"segment","member":"M3","occurred_at":"2026-11-02T10:00:00Z","segment":"gold","status":"out"}\n' >"$T/b.jsonl.src"
drop b.jsonl
not_in_list() { ! list_has "$@"; }
wait_for 30 not_in_list gold "$M3ID" || fail "M3 not removed from gold"
quiet

resync_wait hs
quiet

mark=$(wc -l <"$T/sim.log")
memberships_read() { sim_get counters | jq '.endpoints["lists.memberships.read"].records // 0'; }
read_before=$(memberships_read)
resync_wait hs
quiet
after() { tail -n +"$((mark + 1))" "$T/sim.log"; }
VIP=$(sim_get state | jq -r '.flavor_state.lists[] | select(.name == "crmsyncd vip") | .listId')
GOLD=$(sim_get state | jq -r '.flavor_state.lists[] | select(.name == "crmsyncd gold") | .listId')
assert_eq "$(after | grep -c "PUT [^ ]*/lists/[^/ ]*/$VIP/memberships" || true)" 0 \
  "a second resync adds no membership HubSpot holds"
assert_eq "$(after | grep -c 'statuses/batch/write' || true)" 0 \
  "nor writes a subscription status HubSpot holds"
assert_eq "$(after | grep -c 'contacts/batch/upsert' || true)" 0 "nor a contact property"
# The documented gap: M3's "out" of gold cannot be read back.
assert_eq "$(after | grep -c "PUT [^ ]*/lists/[^/ ]*/$GOLD/memberships" || true)" 1 \
  "only the absent membership is written again (documented gap)"
assert_eq "$(sim_get state | jq -r --arg id "$VIP" '.flavor_state.lists[$id].members | length')" 3 \
  "vip still holds its three members"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'")" 0 "no dead letters"
assert_eq "$(($(memberships_read) - read_before))" 3 \
  "the pull after the resync read the list memberships back"
pass "the pull after a resync reads the lists' memberships (M1 M2 M3 in vip, none in gold)"
stop_daemon
