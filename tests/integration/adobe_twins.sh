#!/usr/bin/env bash
# Campaign Enterprise (FFDA) twins: the simulator in --adobe-enterprise mode
# enforces no unique key and a key lookup sees a write only after the
# replication lag (--search-lag-ms), as Adobe documents for FFDA. A new
# member's profile (WriteCollection), grant (Subscribe, create=true) and
# list membership (WriteCollection) go out as three concurrent jobs of one
# key. With key_settle longer than the lag each write finds the recipient
# the first one made: one recipient holding all three. (With key_settle = 0
# the second and third write land inside the lag and insert twins: the
# connector's one-write-in-flight rule alone does not prevent it.)
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start --adobe-enterprise --search-lag-ms 1500
acc_config "key_settle = ${KEY_SETTLE:-3s}"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"E1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"e1@example.com"}}\n'
  ev_consent c1 E1 granted 2026-11-01T10:00:00Z
  printf '{"event_id":"s1","type":"segment","member":"E1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
backlog() {
  sql "SELECT COUNT(*) FROM changes c WHERE c.effective = 1 AND c.origin <> 'acc' AND c.seq >
         IFNULL((SELECT seq FROM push_cursors p WHERE p.connector = 'acc' AND p.lane = c.lane), 0)"
}
# The backlog is 0 before the file is read too (failed so once under load).
wait_for 60 test -f "$T/spool/done/a.jsonl" || fail "a.jsonl not ingested"
wait_for 60 is_eq 0 backlog || fail "not everything was pushed (backlog $(backlog))"
assert_eq "$(recipient_count E1)" 1 "one recipient for the new key, no twin"
assert_eq "$(recipient_field E1 email)" e1@example.com "it holds the profile"
assert_eq "$(subscribed E1 newsletter)" 1 "and the subscription"
assert_eq "$(group_members vip)" E1 "and the list membership"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'acc'")" 0 "no dead letters"
stop_daemon
