#!/usr/bin/env bash
# Issue 14 items 8 and 12: under umask 022 the state database and its WAL
# are still created 0600, an old world-readable database is made 0600, a
# state directory others can read is refused, and the daemon runs with a
# core limit of 0 unless [daemon] allow_core_dumps = yes.
source "$(dirname "$0")/lib/common.sh"

umask 022
ulimit -c unlimited 2>/dev/null || ulimit -c 1024 2>/dev/null || true
start_core=$(ulimit -c)

write_config
chmod 0755 "$T/state"
rc=0
timeout 10 "$CRMSYNCD" -c "$T/crmsyncd.conf" > "$T/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "daemon started on a state directory others can read"
grep -q "state directory $T/state is open to others (mode 0755)" "$T/refused.log" ||
  fail "no reason given: $(cat "$T/refused.log")"
[ ! -e "$T/state/state.db" ] || fail "a database was created in the open directory"
pass "a state directory others can read is refused"

chmod 0700 "$T/state"
start_daemon
wait_for 10 test -e "$T/state/state.db-wal" || fail "no WAL file"
assert_eq "$(stat -c %a "$T/state/state.db")" 600 "state.db is 0600 under umask 022"
assert_eq "$(stat -c %a "$T/state/state.db-wal")" 600 "state.db-wal is 0600 under umask 022"
core=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$DAEMON_PID/limits")
assert_eq "$core" "0 0" "core file limit is 0 (soft and hard)"
stop_daemon

# A database left world-readable by an older version is tightened.
chmod 0644 "$T/state/state.db"
write_config "[daemon]
allow_core_dumps = yes"
# write_config appends: the [daemon] section appears twice, which the config
# allows (the last value wins), so allow_core_dumps applies.
# (AddressSanitizer sets the soft core limit to 0 itself unless told not to.)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"
start_daemon second
assert_eq "$(stat -c %a "$T/state/state.db")" 600 "an old 0644 state.db is made 0600"
core=$(awk '/^Max core file size/ { print $5 }' "/proc/$DAEMON_PID/limits")
if [ "$start_core" != 0 ]; then
  [ "$core" != 0 ] || fail "allow_core_dumps = yes still has a core limit of 0"
  pass "allow_core_dumps = yes keeps the core limit it was started with ($core)"
fi
grep -q "core dumps allowed" "$T/second.log" || fail "allowing core dumps is not logged"
pass "allowing core dumps is logged as a warning"
stop_daemon
