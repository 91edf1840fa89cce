#!/usr/bin/env bash
# The consent audit's hash chain is verified by the daemon itself, every
# [daemon] audit_verify_interval (issue 19: "audit chain broken" needs a
# metric to alert on): crmsyncd_audit_chain_broken is 0 and
# crmsyncd_audit_chain_rows counts the rows while the chain holds; after a
# row is changed behind the daemon's back the next walk sets it to 1 and
# logs an error naming the row; a reload can turn the walk off.
source "$(dirname "$0")/lib/common.sh"

write_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0\naudit_verify_interval = 1s/' "$T/crmsyncd.conf"
start_daemon
metrics() { admin_get /metrics > "$T/metrics.txt"; }
has() { metrics; grep -qx "$1" "$T/metrics.txt"; }

has 'crmsyncd_audit_chain_broken 0' || fail "no crmsyncd_audit_chain_broken 0 at start"
{ ev_consent a1 M1 granted 2026-11-01T10:00:00Z
  ev_consent a2 M2 granted 2026-11-01T10:00:00Z
  ev_consent a3 M1 denied 2026-11-01T11:00:00Z; } > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "file not ingested"
rows=$(sql "SELECT COUNT(*) FROM audit")
[ "$rows" -ge 3 ] || fail "expected 3 audit rows, got $rows"
wait_for 15 has "crmsyncd_audit_chain_rows $rows" || { grep audit_chain "$T/metrics.txt" >&2; fail "the walk did not count $rows rows"; }
grep -qx 'crmsyncd_audit_chain_broken 0' "$T/metrics.txt" || fail "an intact chain reported broken"
grep -q '^crmsyncd_audit_chain_verified_timestamp_seconds [1-9][0-9]*$' "$T/metrics.txt" || fail "no verification time"
pass "an intact chain of $rows rows: broken 0"

# Someone edits the consent history: M1's withdrawal becomes a grant.
id=$(sql "SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET 2")
sql "UPDATE audit SET payload = replace(payload, 'denied', 'granted') WHERE id = $id"
wait_for 15 has 'crmsyncd_audit_chain_broken 1' || { grep audit_chain "$T/metrics.txt" >&2; fail "the tampered row was not noticed"; }
grep -q "consent audit chain BROKEN at row $id" "$T/daemon.log" || fail "no error naming row $id"
pass "a changed row: broken 1, logged with its id"

# Off on reload: no more walks.
sed -i 's/^audit_verify_interval = 1s$/audit_verify_interval = 0/' "$T/crmsyncd.conf"
reload_wait
sleep 1
# A walk every second would move the verification time (whole seconds).
n=$(metric crmsyncd_audit_chain_verified_timestamp_seconds)
[ "$n" != 0 ] || fail "no verification time before the reload"
sleep 3
assert_eq "$(metric crmsyncd_audit_chain_verified_timestamp_seconds)" "$n" "audit_verify_interval = 0 stops the walks"
stop_daemon
