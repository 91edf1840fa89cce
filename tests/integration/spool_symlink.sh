#!/usr/bin/env bash
# Issue 14 item 6: a writer of the spool cannot make the daemon write or
# read through a symlink. A link planted at the old report name
# (failed/.a.jsonl.err.tmp) leaves its target alone; a spool file that is a
# link to a private file is not read and is moved to failed/; reports are
# 0600; a symlinked failed/ or a world-writable spool stops the connector.
source "$(dirname "$0")/lib/common.sh"

write_config
mkdir -p "$T/spool/done" "$T/spool/failed"
printf 'precious\n' > "$T/victim"
ln -s "$T/victim" "$T/spool/failed/.a.jsonl.err.tmp"
printf '{"event_id":"s1","type":"consent","member":"SECRET-MEMBER","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"email","status":"granted","source":"till"}\nTOP-SECRET-LINE\n' > "$T/private"
chmod 600 "$T/private"
ln -s "$T/private" "$T/spool/evil.jsonl"
start_daemon

{ ev_consent a1 A1 granted 2026-11-01T10:00:00Z; echo 'not json'; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "a.jsonl not ingested"
assert_eq "$(cat "$T/victim")" precious "the symlink target of the old report name is untouched"
assert_eq "$(stat -c %a "$T/spool/failed/a.jsonl.err")" 600 "the report is 0600"
grep -q '^a.jsonl:2: invalid JSON' "$T/spool/failed/a.jsonl.err" || fail "report content"
[ -L "$T/spool/failed/.a.jsonl.err.tmp" ] || fail "the planted link was followed or replaced"
pass "reports are created fresh under a random name (O_EXCL|O_NOFOLLOW)"

wait_for 10 test -L "$T/spool/failed/evil.jsonl" || fail "the symlinked spool file was not moved to failed/"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'SECRET-MEMBER'")" 0 "nothing is read through a symlinked spool file"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE payload LIKE '%TOP-SECRET%'")" 0 "no line of the link's target in dead letters"
grep -q 'evil.jsonl: .*symlink: refused' "$T/daemon.log" || fail "refusal not logged"
assert_eq "$(cat "$T/private" | wc -l)" 2 "the target is untouched"
pass "a symlinked spool file is refused and moved aside"
stop_daemon

# failed/ replaced by a link to the state directory: the connector refuses.
mv "$T/spool/failed" "$T/failed.old"
ln -s "$T/state" "$T/spool/failed"
# A connector that cannot start is fatal at start (issue 19): exit 1.
run_refused() {
  local rc=0
  timeout 60 "$CRMSYNCD" -c "$T/crmsyncd.conf" >"$T/$1.log" 2>&1 || rc=$?
  assert_eq "$rc" 1 "the daemon exits 1 ($1)"
}
run_refused linked
grep -q 'cannot start connector: cannot open .*/failed: .*refused' "$T/linked.log" || fail "a symlinked failed/ was accepted: $(cat "$T/linked.log")"
pass "a symlinked failed/ is refused"
rm "$T/spool/failed" && mv "$T/failed.old" "$T/spool/failed"

# A world-writable spool: refused.
chmod 0777 "$T/spool"
run_refused open
grep -q 'cannot start connector: spool .* is world-writable (mode 0777): refused' "$T/open.log" || fail "a world-writable spool was accepted: $(cat "$T/open.log")"
pass "a world-writable spool is refused"
assert_eq "$(sql 'PRAGMA integrity_check')" ok "database integrity"
