#!/usr/bin/env bash
# The Debian package: built by CPack from a separate Release build (no
# sanitizers), lintian reports no errors, it installs with dpkg -i, and the
# installed crmsyncd runs --version and --check-config against the installed
# /etc/crmsyncd/crmsyncd.conf. The package is removed at the end.
# Issue 19: built with Debian's hardening flags (BIND_NOW, fortified calls;
# lintian -I has no hardening-no-bindnow / hardening-no-fortify-functions),
# ships the README, docs, monitoring examples, a credentials drop-in and an
# empty /etc/crmsyncd/conf.d, and its postinst restarts a running service on
# upgrade (not on a first install).
# Needs root (CI runs as root on a throwaway machine); skipped otherwise.
source "$(dirname "$0")/lib/common.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: package_deb.sh installs a package and needs root"; exit 0
fi
for tool in cpack dpkg-deb dpkg-shlibdeps lintian; do
  command -v "$tool" >/dev/null || fail "$tool not installed (see .ci/deps)"
done
if dpkg-query -W -f '${Status}' crmsyncd 2>/dev/null | grep -q 'install ok installed'; then
  echo "SKIP: a crmsyncd package is already installed on this machine; not touching it"; exit 0
fi

DEB_BUILD=$(cd "$BUILD_DIR/.." && pwd)/build-deb
cmake -S "$SRC_DIR" -B "$DEB_BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCRMSYNC_TESTS=OFF -DCRMSYNC_SANITIZE=OFF -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON > "$T/cmake.log" \
  || { cat "$T/cmake.log"; fail "configure"; }
# Only what the package installs: the simulators and benchmarks are not in it.
cmake --build "$DEB_BUILD" -j2 --target crmsyncd crmsyncctl > "$T/build.log" 2>&1 \
  || { tail -30 "$T/build.log"; fail "build"; }
rm -f "$DEB_BUILD"/crmsyncd_*.deb
(cd "$DEB_BUILD" && cpack -G DEB) > "$T/cpack.log" 2>&1 || { cat "$T/cpack.log"; fail "cpack"; }
DEB=$(ls "$DEB_BUILD"/crmsyncd_*.deb)
pass "package built: $(basename "$DEB")"

dpkg-deb -f "$DEB" Depends | grep -q 'libmicrohttpd12' || fail "Depends lacks the shared libraries: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -c "$DEB" > "$T/contents"
grep -q ' ./etc/crmsyncd/crmsyncd.conf$' "$T/contents" || fail "config not under /etc"
grep -q ' ./lib/systemd/system/crmsyncd.service$' "$T/contents" || fail "unit not under /lib/systemd/system"
grep -q ' ./usr/share/man/man1/crmsyncctl.1.gz$' "$T/contents" || fail "man page missing"
dpkg-deb -I "$DEB" conffiles | grep -qx '/etc/crmsyncd/crmsyncd.conf' || fail "config not a conffile"
pass "paths, conffile and shared-library Depends"
for f in ' ./etc/crmsyncd/conf.d/$' ' ./usr/share/doc/crmsyncd/README.md$' ' ./usr/share/doc/crmsyncd/docs/config.md$' \
         ' ./usr/share/doc/crmsyncd/examples/credentials.conf$' ' ./usr/share/doc/crmsyncd/examples/prometheus/crmsyncd-alerts.yml$' \
         ' ./usr/share/doc/crmsyncd/examples/grafana/crmsyncd.json$'; do
  grep -q "$f" "$T/contents" || fail "package lacks${f%\$}"
done
pass "conf.d, README, docs and examples in the package"

# One contact everywhere, and it is the project's, not a leftover placeholder.
MAINT=$(dpkg-deb -f "$DEB" Maintainer)
[[ "$MAINT" == "crmsyncd developers <"*">" ]] || fail "Maintainer: $MAINT"
mkdir -p "$T/root" && dpkg-deb -x "$DEB" "$T/root"
grep -qxF "Upstream-Contact: $MAINT" "$T/root/usr/share/doc/crmsyncd/copyright" \
  || fail "copyright Upstream-Contact is not the Maintainer: $(grep Upstream-Contact "$T/root/usr/share/doc/crmsyncd/copyright")"
zcat "$T/root/usr/share/doc/crmsyncd/changelog.gz" | grep -qF " -- $MAINT  " \
  || fail "changelog trailer is not the Maintainer"
! grep -rqi 'crmsyncd maintainers\|crmsyncd authors' "$T/root/usr/share/doc/crmsyncd/copyright" \
  || fail "old placeholder left in the copyright file"
pass "Maintainer, changelog and copyright name the same contact: $MAINT"
grep -qxF "License: Apache-2.0" "$T/root/usr/share/doc/crmsyncd/copyright" \
  || fail "the copyright file does not name the licence (Apache-2.0)"
! grep -qi "unspecified" "$T/root/usr/share/doc/crmsyncd/copyright" \
  || fail "the copyright file still says the licence is unspecified"
pass "copyright names the Apache-2.0 licence"

# readelf into files: under pipefail, grep -q quitting at the first match
# would fail the pipeline (SIGPIPE); -W: names are not cut to 21 columns.
for b in usr/sbin/crmsyncd usr/bin/crmsyncctl; do
  readelf -W -d "$T/root/$b" > "$T/dynamic" && readelf -W -l "$T/root/$b" > "$T/segments" \
    && readelf -W --dyn-syms "$T/root/$b" > "$T/dynsyms" || fail "readelf $b"
  grep -q 'FLAGS.*BIND_NOW\|FLAGS_1.*NOW' "$T/dynamic" || fail "$b is not linked with -z now"
  grep -q 'GNU_RELRO' "$T/segments" || fail "$b has no RELRO"
  grep -q '__[a-z_]*_chk' "$T/dynsyms" || fail "$b calls no fortified function"
done
pass "crmsyncd and crmsyncctl: RELRO, BIND_NOW, fortified calls"

# postinst: a first install leaves the service alone; an upgrade restarts
# it when it runs (try-restart). Run in a mount namespace whose /run says
# systemd runs, with systemctl and the sysusers/tmpfiles tools stubbed.
mkdir -p "$T/ctrl" "$T/stub"
dpkg-deb -e "$DEB" "$T/ctrl"
for tool in systemctl systemd-sysusers systemd-tmpfiles; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n' "$tool" "$T" > "$T/stub/$tool"; chmod +x "$T/stub/$tool"
done
postinst() { rm -f "$T/calls"; touch "$T/calls"
  unshare -m sh -c "mount -t tmpfs none /run && mkdir -p /run/systemd/system && PATH='$T/stub':\$PATH sh '$T/ctrl/postinst' configure $1" \
    || fail "postinst configure $1 (needs unshare -m)"; }
postinst ""
grep -q 'try-restart' "$T/calls" && fail "a first install restarted the service: $(cat "$T/calls")"
grep -qx 'systemctl --system daemon-reload' "$T/calls" || fail "no daemon-reload: $(cat "$T/calls")"
postinst 0.0.9
grep -qx 'systemctl --system try-restart crmsyncd.service' "$T/calls" || fail "an upgrade did not restart the service: $(cat "$T/calls")"
pass "postinst: no restart on a first install, try-restart on an upgrade"

lintian -I --tag-display-limit 0 "$DEB" > "$T/lintian.out" 2>/dev/null || true
cat "$T/lintian.out"
! grep -q '^E:' "$T/lintian.out" || fail "lintian reports errors"
! grep -q 'hardening-no-fortify-functions\|hardening-no-bindnow\|hardening-no-relro' "$T/lintian.out" \
  || fail "lintian: the binaries lack Debian's hardening flags"
pass "lintian: no errors ($(grep -c '^W:' "$T/lintian.out" || true) warning(s))"

removed=0
remove_pkg() { [ "$removed" = 1 ] || { dpkg -r crmsyncd > /dev/null 2>&1 || true; removed=1; }; }
trap 'remove_pkg; cleanup' EXIT
DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" > "$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -i"; }
pass "installed"
assert_eq "$(/usr/sbin/crmsyncd --version)" "crmsyncd $(dpkg-deb -f "$DEB" Version)" "installed crmsyncd --version"
/usr/sbin/crmsyncd --check-config > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "check-config of the installed configuration"; }
grep -q 'configuration /etc/crmsyncd/crmsyncd.conf is valid' "$T/check.out" || fail "check-config output: $(cat "$T/check.out")"
pass "installed crmsyncd --check-config passes on /etc/crmsyncd/crmsyncd.conf"
/usr/bin/crmsyncctl --help > /dev/null || fail "installed crmsyncctl --help"
getent passwd crmsyncd > /dev/null || fail "postinst did not create the crmsyncd user"
pass "postinst created the crmsyncd user"
# Issue 14 item 14: the spool writers' own group, the daemon in it, and a
# sticky setgid spool (systemd-tmpfiles, when the machine has it).
getent group crmsyncd-spool | grep -q ':crmsyncd$' || fail "no group crmsyncd-spool with the daemon in it: $(getent group crmsyncd-spool)"
pass "postinst created the group crmsyncd-spool with the daemon as member"
if command -v systemd-tmpfiles > /dev/null; then
  assert_eq "$(stat -c '%a %U %G' /var/spool/crmsyncd)" "3770 crmsyncd crmsyncd-spool" "postinst made the spool 3770 crmsyncd:crmsyncd-spool"
  assert_eq "$(stat -c '%a %U %G' /var/spool/crmsyncd/failed)" "2750 crmsyncd crmsyncd-spool" "failed/ is written by the daemon only"
fi
remove_pkg
[ ! -e /usr/sbin/crmsyncd ] || fail "package not removed"
pass "package removed"
