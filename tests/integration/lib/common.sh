# Shared helpers for integration tests: each test sources this file, gets a
# private temporary directory, and has its daemons killed when it exits.
set -euo pipefail

BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../build" && pwd)}
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
CRMSYNCD="$BUILD_DIR/crmsyncd"
CRMSYNCCTL="$BUILD_DIR/crmsyncctl"
T=$(mktemp -d /tmp/crmsync-it.XXXXXX)
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    echo "--- test failed (rc=$rc); daemon logs:" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -40 "$f" >&2; }; done
  fi
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; pass "$3"; }

sql() { sqlite3 -bail "$T/state/state.db" "$@"; }

# wait_for TIMEOUT_S CMD...: polls CMD until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# write_config [extra INI text]: a config with one spool connector "shop".
write_config() {
  mkdir -p "$T/spool" && mkdir -p -m 0700 "$T/state" # the daemon refuses a state dir open to others
  cat > "$T/crmsyncd.conf" <<CONF
[daemon]
log_level = debug
shutdown_grace = 5s

[state]
path = $T/state/state.db
synchronous = normal
txn_max_changes = ${TXN_LINES:-1000}

[connector.shop]
type = spool
dir = $T/spool
scan_interval = 200ms
CONF
  if [ $# -gt 0 ]; then printf '%s\n' "$1" >> "$T/crmsyncd.conf"; fi
}

# start_daemon [LOGNAME]: starts crmsyncd in the background; sets DAEMON_PID.
# The log is appended to: a restart must wait for its own "running" line,
# not find the previous run's (ctl_resync asked a daemon that did not hold
# its lock yet and got exit 4).
start_daemon() {
  local log="$T/${1:-daemon}.log"
  local before=0
  [ -f "$log" ] && before=$(grep -c 'crmsyncd .* running: state' "$log" || true)
  "$CRMSYNCD" -c "$T/crmsyncd.conf" >>"$log" 2>&1 &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  started() { [ "$(grep -c 'crmsyncd .* running: state' "$log")" -gt "$before" ]; }
  wait_for 10 started || fail "daemon did not start (see $log)"
}

stop_daemon() {
  kill -TERM "$DAEMON_PID"
  local rc=0
  wait "$DAEMON_PID" || rc=$?
  assert_eq "$rc" 0 "daemon exits 0 on SIGTERM"
}

# drop NAME: moves $T/NAME.src into the spool atomically, as a shop should.
drop() { cp "$T/$1.src" "$T/spool/.$1.tmp" && mv "$T/spool/.$1.tmp" "$T/spool/$1"; }

ev_consent() { # id member status at
  printf '{"event_id":"%s","type":"consent","member":"%s","occurred_at":"%s","purpose":"marketing","channel":"email","status":"%s","legal_basis":"consent","source":"web_form"}\n' "$1" "$2" "$4" "$3"
}
ev_points() { # id member txn delta reason
  printf '{"event_id":"%s","type":"points","member":"%s","occurred_at":"2026-11-01T10:00:00Z","txn_id":"%s","delta":%s,"reason":"%s"}\n' "$1" "$2" "$3" "$4" "$5"
}
