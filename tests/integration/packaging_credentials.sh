#!/usr/bin/env bash
# The credential names agree (issue 19, "credential names that match the
# example config"): every LoadCredential=NAME of the shipped drop-in
# (packaging/examples/credentials.conf) and of the unit's comment is a
# secret file the example configuration names (token_file = NAME, ...), and
# every secret file the example configuration names has its line in the
# drop-in. The drop-in named adobe.client_secret with no Adobe Campaign
# connector in the example configuration.
source "$(dirname "$0")/lib/common.sh"

CONF="$SRC_DIR/config/crmsyncd.conf"
DROPIN="$SRC_DIR/packaging/examples/credentials.conf"
UNIT="$SRC_DIR/systemd/crmsyncd.service"

conf_names=$(sed -n 's/^#\? *[a-z_]*_file *= *\([A-Za-z0-9._-]*\).*/\1/p' "$CONF" | sort -u)
dropin_names=$(sed -n 's/^#\?LoadCredential=\([^:]*\):.*/\1/p' "$DROPIN" | sort -u)
unit_names=$(sed -n 's/^# *LoadCredential=\([^:]*\):.*/\1/p' "$UNIT" | sort -u)
[ -n "$conf_names" ] && [ -n "$dropin_names" ] || fail "no names read: conf '$conf_names' drop-in '$dropin_names'"
for n in $dropin_names $unit_names; do
  grep -qx "$n" <<<"$conf_names" || fail "LoadCredential=$n names no secret file of $CONF (it has: $(echo $conf_names))"
done
pass "every credential of the drop-in and the unit is named by the example configuration"
for n in $conf_names; do
  grep -qx "$n" <<<"$dropin_names" || fail "the example configuration's $n has no LoadCredential line in $DROPIN"
done
pass "every secret file of the example configuration has its LoadCredential line"
# The Documentation= of the unit points at what the package installs.
grep -q '^Documentation=man:crmsyncd(8) man:crmsyncd.conf(5) man:crmsyncctl(1)$' "$UNIT" || fail "unit Documentation= (man pages)"
grep -q '^Documentation=file:/usr/share/doc/crmsyncd/README.md$' "$UNIT" || fail "unit Documentation= (README)"
pass "unit Documentation= names the man pages and the README"
