# Helpers of the chaos harness (tests/chaos/README.md), sourced by run.sh.
# A "world" is one private directory: config, state, spool, logs, inputs.

CHAOS_DIR=${CHAOS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SRC_DIR=${SRC_DIR:-$(cd "$CHAOS_DIR/../.." && pwd)}
source "$CHAOS_DIR/../support/crmsim.bash"
CHAOS_BUILD=${CHAOS_BUILD:-$SRC_DIR/build-chaos}
CRMSYNCD="$CHAOS_BUILD/crmsyncd"
CRMSYNCCTL="$CHAOS_BUILD/crmsyncctl"
CHECK="$CHAOS_BUILD/tests/chaos/chaos_check"
QUIESCE_TIMEOUT=${QUIESCE_TIMEOUT:-60}
CHAOS_PIDS=()
CHAOS_WRAP=${CHAOS_WRAP:-}  # e.g. "faketime -f +2d" (clock scenarios)

log() { echo "chaos: $*" >&2; }

# Builds the crash-point build (no sanitizer: SIGKILL and ASan's shadow memory
# do not mix well, and the runs must be fast) unless CHAOS_BUILD has one.
ensure_build() {
  if [ ! -f "$CHAOS_BUILD/CMakeCache.txt" ]; then
    cmake -S "$SRC_DIR" -B "$CHAOS_BUILD" -DCRMSYNC_CRASHPOINTS=ON -DCRMSYNC_SANITIZE=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
  fi
  grep -q '^CRMSYNC_CRASHPOINTS:BOOL=ON' "$CHAOS_BUILD/CMakeCache.txt" ||
    { log "$CHAOS_BUILD is not a CRMSYNC_CRASHPOINTS=ON build"; return 1; }
  cmake --build "$CHAOS_BUILD" -j"${CHAOS_JOBS:-2}" --target crmsyncd crmsyncctl chaos_check crmsim \
    >"$CHAOS_BUILD/chaos-build.log" 2>&1 || { tail -30 "$CHAOS_BUILD/chaos-build.log" >&2; return 1; }
}

# new_world NAME [extra INI]: sets W to a fresh directory with a config.
new_world() {
  W=$(mktemp -d "${CHAOS_TMP:-/tmp}/chaos-$1.XXXXXX")
  # A world has no CRM destination unless its scenario adds one (hs_world,
  # sf_world): a DESTS left over from an earlier scenario of the same run made
  # quiescent() wait for push cursors of a connector this world does not
  # have (soak: disk-full and disk-readonly "no convergence" after hubspot-*).
  DESTS=
  mkdir -p "$W/spool" "$W/inputs" "$W/logs" && mkdir -p -m 0700 "$W/state"
  cat > "$W/crmsyncd.conf" <<CONF
[daemon]
log_level = debug
shutdown_grace = 5s

[state]
path = $W/state/state.db
txn_max_changes = ${TXN_LINES:-16}

[connector.shop]
type = spool
dir = $W/spool
scan_interval = 100ms
# Inputs are renamed in complete, often just before the daemon starts: no
# need to wait the settle time for files found at start (2s by default).
settle_time = 0
CONF
  if [ $# -gt 1 ]; then printf '%s\n' "$2" >> "$W/crmsyncd.conf"; fi
  : > "$W/secrets"
}

# admin_socket: the world's daemon serves /healthz and /metrics on
# $W/admin.sock (a unix socket: no port to guess).
admin_socket() { sed -i "s|^\[daemon\]|[daemon]\nadmin_listen = $W/admin.sock|" "$W/crmsyncd.conf"; }
# wait_metric SECONDS SERIES VALUE: until /metrics (admin_socket) shows the
# series at that value; returns 1 when it did not in time.
wait_metric() {
  local n=0
  until curl -s --max-time 5 --unix-socket "$W/admin.sock" http://localhost/metrics 2>/dev/null |
    grep -qxF "$2 $3"; do
    [ $n -lt $(($1 * 10)) ] || return 1
    sleep 0.1; n=$((n + 1))
  done
}

# gen SEED FILES LINES MEMBERS PREFIX MODE: seeded input files into $W/inputs.
gen() {
  awk -v seed="$1" -v files="$2" -v lines="$3" -v members="$4" -v prefix="$5" \
      -v mode="$6" -v phone="${GEN_PHONE:-0}" -v outdir="$W/inputs" -v secrets="$W/secrets" -f "$CHAOS_DIR/gen_events.awk"
}

# feed FILE...: drops input files into the spool the way a shop must
# (write under a dot name, then rename).
feed() {
  local f b
  for f in "$@"; do
    b=$(basename "$f")
    cp "$f" "$W/spool/.$b.tmp" && mv "$W/spool/.$b.tmp" "$W/spool/$b"
  done
}

# start_daemon LOGNAME [CRASH_AT]: sets DPID. The daemon runs under a
# subshell that reaps it quietly (no "Killed" job notices on our stderr).
start_daemon() {
  local logf="$W/logs/$1.log" at=${2:-}
  rm -f "$W/pid"
  (
    if [ -n "$at" ]; then export CRMSYNC_CRASH_AT="$at"; else unset CRMSYNC_CRASH_AT; fi
    export CRMSYNC_CRASH_LOG="$W/crash.log"
    $CHAOS_WRAP "$CRMSYNCD" -c "$W/crmsyncd.conf" >>"$logf" 2>&1 &
    echo $! > "$W/pid"
    wait $! 2>/dev/null
  ) 2>/dev/null &
  local i=0
  while [ ! -s "$W/pid" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
  DPID=$(cat "$W/pid")
  CHAOS_PIDS+=("$DPID")
  # When each daemon process started (wall clock): the Retry-After check
  # tells a process's own requests from those of its successor.
  echo "$EPOCHREALTIME $DPID $1" >> "$W/daemon-starts"
}

# The daemon holds its state-directory lock (flock, as /proc/locks shows it;
# probing with flock(1) would itself take the lock for an instant).
holds_lock() { grep -qE "FLOCK +ADVISORY +WRITE +$DPID " /proc/locks; }

alive() { kill -0 "$DPID" 2>/dev/null && ! grep -q '^State:.*(zombie)' "/proc/$DPID/status" 2>/dev/null; }

# Quiescent: the spool is empty and every destination (DESTS) has its push
# cursors at the change-log's end for its lanes.
quiescent() {
  local n
  n=$(find "$W/spool" -maxdepth 1 -name '*.jsonl' ! -name '.*' | wc -l)
  [ "$n" -eq 0 ] || return 1
  [ -f "$W/state/state.db" ] || return 1
  local d
  for d in ${DESTS:-}; do
    n=$(sqlite3 "file:$W/state/state.db?mode=ro" "SELECT COUNT(*) FROM changes c WHERE
          c.effective = 1 AND c.origin <> '$d' AND c.seq > IFNULL((SELECT seq FROM push_cursors p
          WHERE p.connector = '$d' AND p.lane = c.lane), 0)" 2>/dev/null) || return 1
    [ "$n" = 0 ] || return 1
  done
  return 0
}

# wait_death_or_quiet TIMEOUT: 0 quiescent (daemon alive), 1 died, 2 timeout.
wait_death_or_quiet() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    if ! alive; then wait "$DPID" 2>/dev/null; return 1; fi
    if quiescent; then
      sleep 0.05  # let the loop finish the callback that emptied the spool
      alive && return 0
    fi
    sleep 0.05
  done
  return 2
}

stop_daemon() {
  if alive; then
    kill -TERM "$DPID" 2>/dev/null
    local i=0
    while alive && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    alive && kill -KILL "$DPID" 2>/dev/null
  fi
  wait "$DPID" 2>/dev/null || true
}

# run_until_quiet LOGNAME: the unmodified daemon (no CRASH_AT) until quiescence;
# returns 1 when it does not get there.
run_until_quiet() {
  start_daemon "$1"
  local rc=0
  wait_death_or_quiet "$QUIESCE_TIMEOUT" || rc=$?
  if [ $rc -ne 0 ]; then
    log "$(basename "$W"): the unmodified daemon did not reach quiescence (rc $rc); see $W/logs/$1.log"
    KEEP_WORLD=1
    stop_daemon
    return 1
  fi
  stop_daemon
  return 0
}

crash_count() { [ -f "$W/crash.log" ] && wc -l < "$W/crash.log" || echo 0; }

# Personal data seeded into the inputs must never appear in a daemon log.
scan_logs() {
  [ -s "$W/secrets" ] || { echo 0; return; }
  local n
  n=$(cat "$W"/logs/*.log 2>/dev/null | grep -c -F -f "$W/secrets" || true)
  if [ "$n" -gt 0 ]; then
    log "$(basename "$W"): $n log line(s) carry seeded personal data, e.g.:"
    cat "$W"/logs/*.log | grep -F -f "$W/secrets" | head -3 >&2
  fi
  echo "$n"
}

# check_world: runs the checker; adds to L D I V (globals).
check_world() {
  local out v
  out=$("$CHECK" --db "$W/state/state.db" --origin shop "$W"/inputs/*.jsonl 2>"$W/check.err")
  if [ -z "$out" ]; then
    log "$(basename "$W"): checker failed:"; cat "$W/check.err" >&2
    I=$((I + 1)); return
  fi
  set -- $out   # lost L duplicated D integrity I violations V
  L=$((L + $2)); D=$((D + $4)); I=$((I + $6)); V=$((V + $8))
  v=$(scan_logs); V=$((V + v))
  if [ "$2$4$6$8" != "0000" ]; then
    log "$(basename "$W"): $out"; cat "$W/check.err" >&2
    KEEP_WORLD=1
  fi
}

# finish_world: removes W unless something failed there (kept for a look).
finish_world() {
  if [ "${KEEP_WORLD:-0}" = 1 ] || [ "${CHAOS_KEEP:-0}" = 1 ]; then
    log "kept $W"
  else
    rm -rf "$W"
  fi
  KEEP_WORLD=0
}

summary() { # NAME RUNS CRASHPOINTS
  echo "scenario $1: runs $2, crash points $3, lost $L, duplicated $D, integrity failures $I, violations $V"
  TOTAL_BAD=$((TOTAL_BAD + L + D + I + V))
}

# Kills what the run started and is still running. CHAOS_PIDS keeps every
# pid ever started (thousands in a soak), and pids are reused: only a pid
# whose executable is still one of this build's binaries is signalled (a
# soak interrupted at 07:06 on 2026-11-24 killed an unrelated "sleep").
chaos_cleanup() {
  local p exe build
  build=$(cd "$CHAOS_BUILD" 2>/dev/null && pwd -P) || return 0
  for p in "${CHAOS_PIDS[@]}"; do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    case $exe in "$build"/*) ;; *) continue ;; esac
    kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null
  done
  return 0
}
