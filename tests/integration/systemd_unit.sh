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

# Issue 14 item 14: resource limits, no core files, private mounts.
for d in 'PrivateMounts=yes' 'LimitCORE=0' 'MemoryMax=' 'TasksMax=' 'SupplementaryGroups=crmsyncd-spool'; do
  grep -q "^$d" "$unit" || fail "unit lacks $d"
done
pass "PrivateMounts=yes, LimitCORE=0, MemoryMax=, TasksMax=, SupplementaryGroups=crmsyncd-spool"

# The spool writers have their own group (not the daemon's), the daemon is a
# member, and the spool is sticky and setgid with done/ and failed/ written
# by the daemon only: run the shipped sysusers and tmpfiles snippets into a
# scratch root and look at what they made.
R="$T/root"
mkdir -p "$R/etc" "$R/var/spool" "$R/usr/lib/sysusers.d" "$R/usr/lib/tmpfiles.d"
cp "$SRC_DIR/systemd/crmsyncd.sysusers" "$R/usr/lib/sysusers.d/crmsyncd.conf"
cp "$SRC_DIR/systemd/crmsyncd.tmpfiles" "$R/usr/lib/tmpfiles.d/crmsyncd.conf"
systemd-sysusers --root="$R" crmsyncd.conf > "$T/sysusers.out" 2>&1 || fail "sysusers: $(cat "$T/sysusers.out")"
uid=$(awk -F: '$1 == "crmsyncd" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "crmsyncd" { print $4 }' "$R/etc/passwd")
sgid=$(awk -F: '$1 == "crmsyncd-spool" { print $3 }' "$R/etc/group")
members=$(awk -F: '$1 == "crmsyncd-spool" { print $4 }' "$R/etc/group")
[ -n "$uid" ] && [ -n "$sgid" ] || fail "no crmsyncd user or crmsyncd-spool group: $(cat "$R/etc/passwd" "$R/etc/group")"
[ "$sgid" != "$gid" ] || fail "the spool group is the daemon's primary group"
assert_eq "$members" crmsyncd "the daemon is the one member of crmsyncd-spool"
systemd-tmpfiles --create --root="$R" crmsyncd.conf > "$T/tmpfiles.out" 2>&1 || fail "tmpfiles: $(cat "$T/tmpfiles.out")"
assert_eq "$(stat -c '%a %u %g' "$R/var/spool/crmsyncd")" "3770 $uid $sgid" "spool is 3770 (setgid, sticky) crmsyncd:crmsyncd-spool"
assert_eq "$(stat -c '%a %u %g' "$R/var/spool/crmsyncd/done")" "2750 $uid $sgid" "done/ is 2750, written by the daemon only"
assert_eq "$(stat -c '%a %u %g' "$R/var/spool/crmsyncd/failed")" "2750 $uid $sgid" "failed/ is 2750, written by the daemon only"
# The package's postinst applies both snippets (on upgrade too: tmpfiles
# adjusts the modes of existing directories).
grep -q 'systemd-sysusers crmsyncd.conf' "$SRC_DIR/packaging/deb/postinst" || fail "postinst does not run sysusers"
grep -q 'systemd-tmpfiles --create crmsyncd.conf' "$SRC_DIR/packaging/deb/postinst" || fail "postinst does not run tmpfiles"
pass "postinst creates the group and the spool from the shipped snippets"
