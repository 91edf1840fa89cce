#!/usr/bin/env bash
# The shipped unit stays hardened: systemd-analyze's exposure score must be
# 2.0 or lower, and the unit must keep Type=notify with a watchdog.
source "$(dirname "$0")/lib/common.sh"
unit="$SRC_DIR/systemd/crmsyncd.service"
out=$(systemd-analyze security --offline=yes "$unit" 2>&1) || true
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for crmsyncd.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no exposure level in: $out"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level is above 2.0"
pass "systemd-analyze security exposure $level <= 2.0"
grep -q '^Type=notify$' "$unit" || fail "unit is not Type=notify"
grep -q '^WatchdogSec=' "$unit" || fail "unit has no watchdog"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" || fail "reload is not SIGHUP"
pass "Type=notify, WatchdogSec, ExecReload=kill -HUP"
