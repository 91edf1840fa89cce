#!/usr/bin/env bash
# Audit retention (issue 15): with [state] audit_retention = 1s the daemon
# moves old consent audit rows to the archive file next to the database;
# crmsyncctl audit verify checks archive plus table (0), member export
# shows the archived events, an erasure blanks the member's archived
# payloads, and a tampered or cut archive is reported (7).
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }
ARCHIVE=$T/state/state.db-audit.jsonl

write_config
sed -i "s|^txn_max_changes = .*|&\naudit_retention = 1s|" "$T/crmsyncd.conf"
start_daemon
{ ev_consent a1 M1 granted 2026-11-01T10:00:00Z
  ev_consent a2 M2 denied 2026-11-01T10:00:00Z
  ev_consent a3 M1 denied 2026-11-02T10:00:00Z; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "not ingested"
sleep 1.2
ev_consent a4 M2 granted 2026-11-03T10:00:00Z > "$T/b.jsonl.src"
drop b.jsonl
wait_for 10 test -f "$T/spool/done/b.jsonl" || fail "not ingested"
# The three older rows go (the newest always stays).
archived() { [ -f "$ARCHIVE" ] && [ "$(wc -l < "$ARCHIVE")" -ge 3 ]; }
wait_for 15 archived || fail "rows not archived: $(ls -l "$T/state")"
assert_eq "$(sql "SELECT COUNT(*) FROM audit")" 1 "the newest row stays in the database"
assert_eq "$(stat -c %a "$ARCHIVE")" 600 "archive is 0600"
grep -q '"M1"' "$ARCHIVE" && fail "the archive holds a member key"

assert_eq "$(rc_of ctl audit verify)" 0 "archive + table verify"
grep -q '^audit chain holds: 3 archived rows .* and 1 rows in the database verified' "$T/out" ||
  fail "verify text: $(cat "$T/out")"
assert_eq "$(rc_of ctl member export M1)" 0 "member export"
python3 - "$T/out" <<'PY' || fail "export does not read the archive: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["consent_events"]
assert len(ev) == 2 and all(e.get("archived") for e in ev), ev
assert "web_form" in ev[0]["payload"], ev
PY

# An erasure reaches the archive: M1's lines lose their payload, same length.
size=$(stat -c %s "$ARCHIVE")
assert_eq "$(rc_of ctl member erase M1 --yes)" 0 "erase"
blanked() { [ "$(grep -c '"payload":null' "$ARCHIVE")" -eq 2 ]; }
wait_for 15 blanked || fail "archived payloads of the erased member not blanked: $(cat "$ARCHIVE")"
assert_eq "$(stat -c %s "$ARCHIVE")" "$size" "archive keeps its length"
assert_eq "$(rc_of ctl --json audit verify)" 0 "chain holds after an erasure"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and d["archived_rows"]==3 and d["rows"]==1, d' "$T/out" || fail "json: $(cat "$T/out")"
stop_daemon

# Tampering with the archive: the row is named.
cp "$ARCHIVE" "$T/archive.orig"
sed -i '2s/denied/grantd/' "$ARCHIVE"
id=$(sed -n 2p "$ARCHIVE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
assert_eq "$(rc_of ctl audit verify)" 7 "tampered archive exits 7"
grep -q "^audit chain BROKEN at row $id" "$T/out" || fail "first break not named: $(cat "$T/out")"
# Its last line cut: the database's checkpoint shows it.
head -n 2 "$T/archive.orig" > "$ARCHIVE"
assert_eq "$(rc_of ctl audit verify)" 7 "cut archive exits 7"
grep -q "before the length the database recorded" "$T/out" || fail "cut not named: $(cat "$T/out")"
rm "$ARCHIVE"
assert_eq "$(rc_of ctl audit verify)" 7 "missing archive exits 7"
