#!/usr/bin/env bash
# [state] ledger_retention (issue 15): the daemon folds old points
# transactions into an opening balance per member; crmsyncctl member export
# shows the same balance before and after, with the opening balance; a
# folded transaction sent again (another event id) is a dead letter, not
# counted twice.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
balance() { ctl member export M1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["points_balance"])'; }

write_config
sed -i "s|^txn_max_changes = .*|&\nledger_retention = 1h|" "$T/crmsyncd.conf"
start_daemon
{ ev_points e1 M1 t1 100 earn
  ev_points e2 M1 t2 -30 redeem
  ev_points e3 M1 t3 5 earn
  ev_points e4 M2 u1 9 earn; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "not ingested"
assert_eq "$(balance)" 75 "balance before folding"
# The fold runs at start, then every 10 minutes.
stop_daemon
start_daemon
folded() { [ "$(sql "SELECT COUNT(*) FROM points_opening")" = 1 ]; }
wait_for 10 folded || fail "nothing folded"
assert_eq "$(sql "SELECT balance || ' ' || txns FROM points_opening WHERE member_key = 'M1'")" "70 2" "t1 and t2 folded"
assert_eq "$(sql "SELECT group_concat(txn_id) FROM points_ledger")" "t3,u1" "each member's newest stays"
assert_eq "$(balance)" 75 "balance after folding"
ctl member export M1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["points_opening"][0]["balance"]==70, d' ||
  fail "export does not show the opening balance"

ev_points e9 M1 t1 100 earn > "$T/b.jsonl.src"
drop b.jsonl
wait_for 10 test -f "$T/spool/done/b.jsonl" || fail "replay not ingested"
assert_eq "$(balance)" 75 "a folded transaction sent again is not counted twice"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE '%opening balance%'")" 1 "it is a dead letter"
stop_daemon
