#!/usr/bin/env bash
# crmsyncctl dead-letters list/show/retry/drop with --connector and
# --older-than filters against a daemon with seeded dead letters.
source "$(dirname "$0")/lib/common.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }
rc_of() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo "$rc"; }

write_config
start_daemon
printf 'garbage line\n' > "$T/a.jsonl.src"
drop a.jsonl
wait_for 10 test -f "$T/spool/done/a.jsonl" || fail "not ingested"
# Two push dead letters as the engine will file them: one old, one new.
now=$(($(date +%s) * 1000))
sql "INSERT INTO dead_letters(destination, seq, origin, member_key, field, payload, reason, first_failed_at, last_failed_at)
     VALUES ('hubspot', 1, 'shop', 'M1', 'consent/marketing/email', '{\"status\":\"denied\"}', 'HTTP 400: invalid email', $((now - 10 * 86400000)), $now),
            ('hubspot', 2, 'shop', 'M2', 'segment/vip', '{\"in\":true}', 'HTTP 400: unknown list', $now, $now)"

assert_eq "$(rc_of ctl dead-letters list)" 0 "list exits 0"
assert_eq "$(grep -c '^[0-9]' "$T/out")" 3 "list shows three"
assert_eq "$(rc_of ctl dead-letters list --connector hubspot --older-than 7d --json)" 0 "filtered list"
assert_eq "$(python3 -c 'import json,sys; print([d["member_key"] for d in json.load(open(sys.argv[1]))])' "$T/out")" "['M1']" "filters by connector and age"
id=$(sql "SELECT id FROM dead_letters WHERE member_key = 'M2'")
assert_eq "$(rc_of ctl dead-letters show "$id")" 0 "show exits 0"
grep -q 'HTTP 400: unknown list' "$T/out" || fail "show lacks the reason"
assert_eq "$(rc_of ctl dead-letters show 99999)" 3 "show unknown id exits 3"
assert_eq "$(rc_of ctl dead-letters show abc)" 2 "show bad id exits 2"
assert_eq "$(rc_of ctl dead-letters retry)" 2 "retry without selection exits 2"
assert_eq "$(rc_of ctl dead-letters frob)" 2 "unknown action exits 2"
assert_eq "$(rc_of ctl dead-letters list --older-than soon)" 2 "bad duration exits 2"

# Issue 19: one member's dead letters; an input dead letter cannot be retried.
assert_eq "$(rc_of ctl dead-letters list --member M2 --json)" 0 "list --member"
assert_eq "$(python3 -c 'import json,sys; print([d["member_key"] for d in json.load(open(sys.argv[1]))])' "$T/out")" "['M2']" "--member selects that member's"
assert_eq "$(rc_of ctl dead-letters list --member nobody)" 0 "list --member with none"
grep -q '^(no dead letters)' "$T/out" || fail "--member nobody: $(cat "$T/out")"
in_id=$(sql "SELECT id FROM dead_letters WHERE destination = 'ingest'")
assert_eq "$(rc_of ctl dead-letters retry "$in_id")" 1 "retry of an input dead letter exits 1"
grep -q "dead letter $in_id is a bad input record: it cannot be retried" "$T/err" || fail "no reason: $(cat "$T/err")"
assert_eq "$(rc_of ctl dead-letters retry --connector ingest)" 1 "retry of input dead letters only exits 1"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE retry_requested_at IS NOT NULL")" 0 "nothing marked"

assert_eq "$(rc_of ctl dead-letters retry --all)" 0 "retry --all"
grep -q '^2 dead letter(s) marked for retry' "$T/out" || fail "retry count: $(cat "$T/out")"
grep -q '^1 input dead letter(s) skipped' "$T/out" || fail "ingest skip not reported"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE retry_requested_at IS NOT NULL")" 2 "retry marks push dead letters only"

assert_eq "$(rc_of ctl dead-letters drop --connector hubspot --older-than 7d)" 0 "drop filtered"
grep -q '^1 dead letter(s) dropped' "$T/out" || fail "drop count"
assert_eq "$(sql "SELECT member_key FROM dead_letters WHERE destination = 'hubspot'")" M2 "only the old one dropped"
assert_eq "$(sql "SELECT command FROM operator_actions")" "dead-letters drop" "drop recorded in operator_actions"
assert_eq "$(rc_of ctl dead-letters drop 99999)" 3 "drop unknown id exits 3"
kill -0 "$DAEMON_PID" || fail "daemon died"
stop_daemon
