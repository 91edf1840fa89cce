#!/usr/bin/env bash
# Small operator hints (issue 19, "Smaller"):
# - the usage line of crmsyncd and of crmsyncctl lists every option their
#   --help describes (crmsyncd's lacked --help-config and --help);
# - a configuration with no connector is valid but said to sync nothing,
#   by --check-config and in the daemon's log at start.
source "$(dirname "$0")/lib/common.sh"

usage_covers_help() { # NAME: reads $T/help
  local usage opt
  usage=$(grep -E '^(Usage: |       )[a-z]+ ' "$T/help")
  [ -n "$usage" ] || fail "$1: no usage line"
  # Each "  -x, --long" or "      --long" line: the usage names its short
  # or its long form.
  while read -r short long; do
    grep -qw -- "$long" <<<"$usage" && continue
    [ "$short" != - ] && grep -qw -- "$short" <<<"$usage" && continue
    fail "$1: the usage line lacks $short $long: $usage"
  done < <(grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' "$T/help" | sed -E 's/^ +//; s/^(-[a-zA-Z]), /\1 /; s/^(--)/- \1/')
  pass "$1: the usage line names every option of --help"
}
"$CRMSYNCD" --help > "$T/help" || fail "crmsyncd --help"
usage_covers_help crmsyncd
"$CRMSYNCCTL" --help > "$T/help" || fail "crmsyncctl --help"
usage_covers_help crmsyncctl

mkdir -p -m 0700 "$T/state"
cat > "$T/crmsyncd.conf" <<CONF
[daemon]
log_level = info
shutdown_grace = 5s

[state]
path = $T/state/state.db
CONF
"$CRMSYNCD" --check-config -c "$T/crmsyncd.conf" > "$T/out" 2> "$T/err" \
  || fail "a configuration without connectors is refused: $(cat "$T/out" "$T/err")"
grep -q 'warning: .* has no \[connector.NAME\] section' "$T/err" \
  || fail "--check-config does not warn about no connector: $(cat "$T/err")"
grep -q 'is valid (0 connector(s))' "$T/out" || fail "not said valid: $(cat "$T/out")"
pass "--check-config: valid, with a warning that nothing is synced"

start_daemon
grep -q '^<4>daemon: the configuration has no \[connector.NAME\] section' "$T/daemon.log" \
  || fail "the daemon does not warn: $(cat "$T/daemon.log")"
pass "the daemon warns at start"
stop_daemon
