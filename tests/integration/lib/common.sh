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

# nonempty CMD...: true when CMD prints something. For wait_for, which runs
# it at each try: `wait_for 30 test -n "$(cmd)"` runs cmd once, before the
# wait, and then waits on that one answer (salesforce_deleted_purged failed
# so under load, its CampaignMember read before the push had gone).
nonempty() { [ -n "$("$@" 2>/dev/null)" ]; }

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

# refused_port: sets REFUSED_PORT to a loopback port the kernel chose, held
# bound and never listened on while the test runs, so that every connection
# to it is refused (a fixed "nothing listens there" number is a guess).
refused_port() {
  python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(3600)' >"$T/refused.port" &
  PIDS+=($!)
  wait_for 10 test -s "$T/refused.port" || fail "no port held for refused connections"
  REFUSED_PORT=$(cat "$T/refused.port")
}

# admin_default: a config without admin_listen gets one on a unix socket,
# $T/admin.sock (no port to choose), in its first [daemon] section.
admin_default() {
  grep -q '^admin_listen = ' "$T/crmsyncd.conf" ||
    sed -i "0,/^\[daemon\]\$/s||[daemon]\nadmin_listen = $T/admin.sock|" "$T/crmsyncd.conf"
}

# start_daemon [LOGNAME]: starts crmsyncd in the background; sets DAEMON_PID
# and DAEMON_LOG. A config without admin_listen gets one (admin_default), so
# that every test can read /metrics (metric, below).
# The log is appended to: a restart must wait for its own "running" line,
# not find the previous run's (ctl_resync asked a daemon that did not hold
# its lock yet and got exit 4).
start_daemon() {
  local log="$T/${1:-daemon}.log"
  local before=0
  DAEMON_LOG=$log
  admin_default
  [ -f "$log" ] && before=$(grep -c 'crmsyncd .* running: state' "$log" || true)
  "$CRMSYNCD" -c "$T/crmsyncd.conf" >>"$log" 2>&1 &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  started() { [ "$(grep -c 'crmsyncd .* running: state' "$log")" -gt "$before" ]; }
  wait_for 10 started || fail "daemon did not start (see $log)"
}

# admin_get PATH: GET on the daemon's admin endpoint, whatever the status
# (/healthz answers 503 when unhealthy): on the unix socket of its config
# (admin_default's when it has none), or on the host:port it listens on,
# read back from its log (the kernel picks the port of "127.0.0.1:0").
admin_get() {
  local a
  a=$(sed -n 's/^admin_listen = //p' "$T/crmsyncd.conf" | tail -n 1)
  # A config written again since the start has lost admin_default's line.
  [ -n "$a" ] || a=$T/admin.sock
  case "$a" in
    /*) curl -s --max-time 10 --unix-socket "$a" "http://localhost$1" ;;
    *)
      a=$(grep -o 'admin endpoint listening on [^ ]*' "${DAEMON_LOG:-$T/daemon.log}" | tail -n 1 | awk '{print $5}')
      [ -n "$a" ] && curl -s --max-time 10 "http://$a$1"
      ;;
  esac
}
# metric SERIES: the value of one series on /metrics, e.g.
# metric 'crmsyncd_reloads_total{result="ok"}'; 0 when absent, fails when
# /metrics does not answer.
metric() {
  local m
  m=$(admin_get /metrics) || return 1
  awk -v s="$1" '$1 == s {v = $2} END {print v == "" ? 0 : v}' <<<"$m"
}
# metric_above SERIES N: the series is above N.
metric_above() { local v; v=$(metric "$1") && [ "$v" -gt "$2" ]; }
# pulls_ok CONNECTOR: pull cycles the connector ended well (since start).
pulls_ok() { metric "crmsyncd_pulls_total{connector=\"$1\",result=\"ok\"}"; }
# reloads_ok: configuration reloads applied (SIGHUP) since start.
reloads_ok() { metric 'crmsyncd_reloads_total{result="ok"}'; }
# reload_wait: SIGHUP, then waits until the reload is applied (a config
# written again keeps the admin endpoint: admin_default).
reload_wait() {
  local n
  n=$(reloads_ok) || fail "no /metrics before the reload"
  admin_default
  kill -HUP "$DAEMON_PID"
  wait_for 20 metric_above 'crmsyncd_reloads_total{result="ok"}' "$n" || fail "reload not applied"
}

# resync_pulled CONNECTOR: when the connector's last full resync ended its
# re-pull (resync_progress.pull_done_at, ms; empty before the first).
resync_pulled() { sql "SELECT COALESCE(MAX(pull_done_at), '') FROM resync_progress WHERE connector = '$1'"; }
resync_pulled_since() { local t; t=$(resync_pulled "$1") && [ -n "$t" ] && [ "$t" != "$2" ]; }
# resync_wait CONNECTOR [TIMEOUT_S]: SIGUSR1 (a resync of every connector),
# then waits until CONNECTOR's re-pull is done and its re-push begins.
resync_wait() {
  local before
  before=$(resync_pulled "$1")
  kill -USR1 "$DAEMON_PID"
  wait_for "${2:-30}" resync_pulled_since "$1" "$before" || fail "the resync of $1 did not complete its pull"
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
