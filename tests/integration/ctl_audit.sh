#!/usr/bin/env bash
# crmsyncctl audit verify: 0 on an intact chain (also after an erasure),
# 7 naming the first broken row after tampering.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }

write_config
start_daemon
{ ev_consent a1 M1 granted 2026-11-01T10:00:00Z
  ev_consent a2 M2 denied 2026-11-01T10:00:00Z
  ev_consent a3 M1 denied 2026-11-02T10:00:00Z; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "not ingested"

assert_eq "$(rc_of ctl audit verify)" 0 "intact chain exits 0"
grep -q '^audit chain holds: 3 rows verified' "$T/out" || fail "verify text: $(cat "$T/out")"
assert_eq "$(rc_of ctl member erase M2 --yes)" 0 "erase"
assert_eq "$(rc_of ctl --json audit verify)" 0 "chain holds after an erasure"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and d["rows"]==3, d' "$T/out" || fail "json"
assert_eq "$(rc_of ctl audit frobnicate)" 2 "unknown action exits 2"
stop_daemon

id=$(sql "SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET 2")
sql "UPDATE audit SET payload = replace(payload, 'denied', 'granted') WHERE id = $id"
assert_eq "$(rc_of ctl audit verify)" 7 "tampered chain exits 7"
grep -q "^audit chain BROKEN at row $id" "$T/out" || fail "first break not named: $(cat "$T/out")"
