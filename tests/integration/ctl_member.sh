#!/usr/bin/env bash
# crmsyncctl member export (Art. 15 JSON: consent with proof and audit hash,
# ledger and balance, segment history, acknowledgements) and member erase
# (an erasure change written while the daemon runs; status shows it pending
# per destination), unknown keys exit 3.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }

write_config
start_daemon
{ ev_consent m1 M1 granted 2026-11-01T10:00:00Z
  ev_consent m2 M1 denied 2026-11-02T10:00:00Z
  ev_points m3 M1 T1 120 earn
  ev_points m4 M1 T2 -20 redeem
  printf '{"event_id":"m5","type":"segment","member":"M1","occurred_at":"2026-11-03T10:00:00Z","segment":"vip","status":"in"}\n'
  ev_consent m6 M2 denied 2026-11-01T10:00:00Z; } > "$T/m.jsonl.src"
drop m.jsonl
wait_for 10 test -f "$T/spool/done/m.jsonl" || fail "not ingested"
seq1=$(sql "SELECT seq FROM changes WHERE idem_key = 'shop:m2'")
sql "INSERT INTO audit_acks(seq, system, acked_at) VALUES ($seq1, 'hubspot', 1795000000000)"

assert_eq "$(rc_of ctl member export M1)" 0 "export exits 0"
python3 - "$T/out" <<'PY' || fail "export content: $(head -c 600 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["member_key"] == "M1" and d["erased"] is False
ev = d["consent_events"]
assert len(ev) == 2 and ev[1]["payload"]["value"]["status"] == "denied" and ev[1]["audit_hash"], ev
assert ev[1]["payload"]["value"]["source"] == "web_form" and ev[1]["payload"]["source_ref"], ev
assert ev[1]["acknowledged_by"][0]["system"] == "hubspot", ev[1]
assert d["points_balance"] == 100, d["points_balance"]
assert [t["txn_id"] for t in d["points_ledger"]] == ["T1", "T2"]
assert d["history_by_kind"]["segment"][0]["field"] == "segment/vip"
assert {c["field"] for c in d["current"]} >= {"consent/marketing/email", "segment/vip"}
PY
pass "export has consent with proof, acks, ledger, balance, segments"

assert_eq "$(rc_of ctl member export NOBODY)" 3 "unknown member exits 3"
grep -q "no member with key 'NOBODY'" "$T/err" || fail "unknown member message"
assert_eq "$(rc_of ctl member erase M2)" 2 "erase without --yes exits 2"
assert_eq "$(rc_of ctl member erase NOBODY --yes)" 3 "erase unknown member exits 3"

assert_eq "$(rc_of ctl member erase M2 --yes)" 0 "erase exits 0 while the daemon runs"
assert_eq "$(sql "SELECT origin || ' ' || kind FROM changes WHERE member_key = 'M2' AND kind = 'erase'")" "shop erase" "erase change recorded (through the daemon's spool)"
assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = 'M2'")" 0 "current state removed"
assert_eq "$(sql "SELECT COUNT(*) FROM tombstones")" 1 "tombstone written"
! sql "SELECT detail FROM operator_actions" | grep -q M2 || fail "operator log keeps the erased key"
assert_eq "$(rc_of ctl member erase M2 --yes)" 0 "second erase is a no-op"
grep -q 'already erased' "$T/out" || fail "already erased message"
assert_eq "$(rc_of ctl member export M2)" 0 "export of an erased member"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["erased"] is True and d["current"] == [], d' "$T/out" || fail "erased export"

# The daemon keeps working after crmsyncctl wrote, and a later event for
# the erased member does not bring it back.
ev_consent m7 M2 granted 2026-11-05T10:00:00Z > "$T/n.jsonl.src"
drop n.jsonl
wait_for 10 test -f "$T/spool/done/n.jsonl" || fail "daemon stopped ingesting after an erase"
assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = 'M2'")" 0 "erased member not re-created"
assert_eq "$(rc_of ctl status --json)" 0 "status after erase"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["erasures"]; assert e and e[0]["member_key"]=="M2", e' "$T/out" || fail "status lacks the erasure"
stop_daemon

# With the daemon stopped, crmsyncctl writes the erasure itself, under the
# daemon's lock; the daemon starts fine afterwards.
assert_eq "$(rc_of ctl member erase M1 --yes)" 0 "erase with the daemon stopped"
assert_eq "$(sql "SELECT origin FROM changes WHERE member_key = 'M1' AND kind = 'erase'")" crmsyncctl "direct erase has origin crmsyncctl"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE member_key = 'M1'")" 0 "ledger removed"
: > "$T/daemon.log"
start_daemon
ev_points m8 M1 T9 5 earn > "$T/o.jsonl.src"
drop o.jsonl
wait_for 10 test -f "$T/spool/done/o.jsonl" || fail "not ingested"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE member_key = 'M1'")" 0 "restarted daemon honours the tombstone"
stop_daemon
