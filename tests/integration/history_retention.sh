#!/usr/bin/env bash
# [state] history_retention (issue 15): the daemon deletes operator actions
# and finished resync requests older than it (and resolved dead letters,
# unit test_store_history); recent ones and pending requests stay.
source "$(dirname "$0")/lib/common.sh"

write_config
sed -i "s|^txn_max_changes = .*|&\nhistory_retention = 1h|" "$T/crmsyncd.conf"
start_daemon
stop_daemon
now=$(($(date +%s) * 1000))
old=$((now - 2 * 3600 * 1000))
sql "INSERT INTO operator_actions(at, command, detail) VALUES ($old, 'dead-letters drop', 'old'), ($now, 'dead-letters drop', 'new');
     INSERT INTO resync_requests(connector, requested_at, started_at, finished_at) VALUES
       ('shop', $old, $old, $old), (NULL, $old, NULL, NULL), ('shop', $now, $now, $now);"
start_daemon
gone() { [ "$(sql "SELECT COUNT(*) FROM operator_actions")" = 1 ]; }
wait_for 10 gone || fail "old operator action not deleted"
assert_eq "$(sql "SELECT detail FROM operator_actions")" new "the recent action stays"
assert_eq "$(sql "SELECT COUNT(*) FROM resync_requests")" 2 "the old finished request goes, the pending and recent stay"
stop_daemon
# 0 keeps everything.
sed -i "s|^history_retention = 1h|history_retention = 0|" "$T/crmsyncd.conf"
sql "INSERT INTO operator_actions(at, command, detail) VALUES ($old, 'dead-letters drop', 'old')"
start_daemon
sleep 2
assert_eq "$(sql "SELECT COUNT(*) FROM operator_actions")" 2 "history_retention = 0 keeps"
stop_daemon
