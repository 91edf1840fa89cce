#!/usr/bin/env bash
# Adobe Campaign benchmark (issue 13, "Proof"): N members (email and last
# name each: two changes per member) pushed by crmsyncd to crmsim --flavor
# adobe from an empty Campaign, then the same recipient upserts with Adobe's
# own Node client, @adobe/acc-js-sdk (bench/node-ref/adobe_write.js,
# WriteCollection of BATCH recipients, INFLIGHT at once), in the same run.
#
#   bench/adobe.sh BUILD_DIR [MEMBERS]        # default 10000
#
# BUILD_DIR is a Release build without sanitizers holding crmsyncd and
# tests/sim/crmsim (this script builds nothing). The SDK comes from
# tests/sim/adobe_client/node_modules (`npm ci` there; tools/install-deps.sh
# does it). Env: BENCH_DIR (work directory parent, default /var/tmp),
# INFLIGHT (default 4, both clients), BATCH (default 100 recipients per
# WriteCollection, both clients: the connector's batch_size), SKIP_NODE=1.
#
# Phases: (1) ingest only (no Campaign connector), (2) push only: the
# Campaign connector added, timed from the daemon's start until nothing is
# left to push, (3) the SDK against a fresh simulator. Printed per client:
# records/s (members written), CPU per record (user + system of the
# process), peak RSS, requests against the minimum ceil(N/BATCH)
# WriteCollection calls, and the simulator's own CPU for the run.
set -euo pipefail

BUILD=${1:?usage: bench/adobe.sh BUILD_DIR [MEMBERS]}
N=${2:-10000}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
CRMSYNCD=$BUILD/crmsyncd
SIM=$BUILD/tests/sim/crmsim
INFLIGHT=${INFLIGHT:-4}
BATCH=${BATCH:-100}
SDK_MODULES=$SRC/tests/sim/adobe_client/node_modules
for b in "$CRMSYNCD" "$SIM"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }; done
for t in curl jq sqlite3 awk bc getconf; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 2; }; done
if [ -z "${SKIP_NODE:-}" ]; then
  command -v node >/dev/null || { echo "needs node (or SKIP_NODE=1)" >&2; exit 2; }
  [ -d "$SDK_MODULES/@adobe/acc-js-sdk" ] ||
    { echo "no @adobe/acc-js-sdk: run npm ci in tests/sim/adobe_client" >&2; exit 2; }
fi
TCK=$(getconf CLK_TCK)

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/crmsync-bench-acc.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
now_ms() { date +%s%3N; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# CPU (user + system) of a live process in ms.
cpu_ms() { awk -v t="$TCK" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"; }
wait_for() { # TIMEOUT_S CMD...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

gen_members() { # N FILE
  awk -v n="$1" 'BEGIN {
    for (i = 0; i < n; i++) {
      m = sprintf("M%06d", i); e = sprintf("m%06d@example.com", i)
      printf "{\"event_id\":\"p%d\",\"type\":\"profile\",\"member\":\"%s\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"attributes\":{\"email\":\"%s\",\"last_name\":\"Member %d\"}}\n", i, m, e, i
    } }' >"$2"
}

sim_start() { # NAME: sets SIM_PID, SIM_URL
  "$SIM" --flavor adobe --listen 127.0.0.1:0 --client-id BENCH --client-secret bench-secret \
    >"$W/$1.sim.out" 2>"$W/$1.sim.log" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 10 test -s "$W/$1.sim.out" || { echo "crmsim did not start" >&2; exit 1; }
  SIM_URL="http://$(head -n 1 "$W/$1.sim.out" | sed 's/^listening //')"
}
sim_get() { curl -sf --max-time 120 "$SIM_URL/__sim/$1"; }
sim_stop() { SIM_CPU=$(cpu_ms "$SIM_PID"); kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; }

write_config() { # DIR CAMPAIGN(0|1)
  local d=$1
  mkdir -p "$d/spool" && mkdir -p -m 0700 "$d/state"
  printf 'bench-secret' >"$W/acc.secret" && chmod 600 "$W/acc.secret"
  cat >"$d/crmsyncd.conf" <<CONF
[daemon]
log_level = info
shutdown_grace = 5s

[state]
path = $d/state/state.db

[connector.shop]
type = spool
dir = $d/spool
scan_interval = 100ms
CONF
  if [ "$2" = 1 ]; then
    cat >>"$d/crmsyncd.conf" <<CONF

[connector.acc]
type = adobe_campaign
base_url = $SIM_URL
ims_url = $SIM_URL/ims/token/v3
allow_loopback_http = yes
client_id = BENCH
client_secret_file = $W/acc.secret
batch_size = $BATCH
max_inflight = $INFLIGHT
rate = 1000
burst = 1000
pull_interval = 1d
reconcile_interval = 7d
request_timeout = 60s
CONF
  fi
}
daemon_start() { # DIR
  "$CRMSYNCD" -c "$1/crmsyncd.conf" >>"$1/daemon.log" 2>&1 &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  wait_for 20 grep -q "running" "$1/daemon.log" || { tail "$1/daemon.log" >&2; exit 1; }
}
daemon_stop() {
  DAEMON_HWM=$(hwm_kb "$DAEMON_PID")
  DAEMON_CPU=$(cpu_ms "$DAEMON_PID")
  kill -TERM "$DAEMON_PID"
  wait "$DAEMON_PID" || true
}
backlog() { # DIR
  sqlite3 -bail "file:$1/state/state.db?mode=ro" "PRAGMA busy_timeout=5000;" \
    "SELECT COALESCE(SUM(n),0) FROM (SELECT (SELECT COUNT(*) FROM changes c WHERE c.lane = l.lane
       AND c.effective = 1 AND c.origin <> 'acc' AND c.seq > COALESCE((SELECT seq FROM push_cursors p
       WHERE p.connector = 'acc' AND p.lane = l.lane), 0)) AS n
       FROM (SELECT 0 AS lane UNION ALL SELECT 1 UNION ALL SELECT 2) l)" 2>/dev/null | tail -n 1
}
backlog_zero() { [ "$(backlog "$1")" = 0 ]; }
ingested() { test -f "$1/spool/done/$2"; }
calls() { # STATE_JSON METHOD_REGEX: SOAP calls of matching methods
  jq -r --arg re "$2" '[.flavor_state.methods // {} | to_entries[] | select(.key | test($re)) | .value.calls] | add // 0' <<<"$1"
}
recipients() { jq '[.collections["nms:recipient"][]?] | length' <<<"$1"; }
# div A B [DIGITS]: A / B with a leading zero (bc drops it).
div() { awk -v a="$1" -v b="$2" -v p="${3:-3}" 'BEGIN { if (b == 0) print "n/a"; else printf "%.*f\n", p, a / b }'; }
ratio() { echo "$(div "$1" "$2" 2)x"; }

say "work dir $W; N=$N; batch $BATCH, inflight $INFLIGHT; load $(cut -d' ' -f1-3 /proc/loadavg)"
gen_members "$N" "$W/members.jsonl"
D=$W/d
say "1/3 ingest only"
write_config "$D" 0
daemon_start "$D"
cp "$W/members.jsonl" "$D/spool/.m.tmp" && mv "$D/spool/.m.tmp" "$D/spool/members.jsonl"
wait_for 1800 ingested "$D" members.jsonl || { echo "ingest timed out" >&2; exit 1; }
daemon_stop

say "2/3 crmsyncd push (Campaign connector added)"
sim_start push
write_config "$D" 1
t0=$(now_ms)
daemon_start "$D"
wait_for 3600 backlog_zero "$D" || { echo "push timed out (backlog $(backlog "$D"))" >&2; exit 1; }
t1=$(now_ms)
daemon_stop
PUSH_S=$(echo "scale=3; ($t1 - $t0) / 1000" | bc)
STATE=$(sim_get state)
sim_stop
D_SIM_CPU=$SIM_CPU
RCPS=$(recipients "$STATE")
WC=$(calls "$STATE" 'WriteCollection$')
W1=$(calls "$STATE" 'session#Write$')
ALL=$(calls "$STATE" '.')
DL=$(sqlite3 "$D/state/state.db" "SELECT COUNT(*) FROM dead_letters")
MIN=$(((N + BATCH - 1) / BATCH))
D_RATE=$(echo "scale=1; $N / $PUSH_S" | bc)
[ "$RCPS" = "$N" ] || say "WARNING: $RCPS recipients in the simulator, expected $N"

NODE_OUT=""
if [ -z "${SKIP_NODE:-}" ]; then
  say "3/3 @adobe/acc-js-sdk reference (WriteCollection of $BATCH, $INFLIGHT in flight)"
  sim_start node
  NODE_OUT=$(NODE_PATH=$SDK_MODULES node "$SRC/bench/node-ref/adobe_write.js" "$SIM_URL" BENCH bench-secret \
    "$N" "$INFLIGHT" "$BATCH") || { say "the SDK reference failed: ${NODE_OUT:-no output}"; NODE_OUT=""; }
  NSTATE=$(sim_get state)
  sim_stop
  N_SIM_CPU=$SIM_CPU
  NRCPS=$(recipients "$NSTATE")
  NWC=$(calls "$NSTATE" 'WriteCollection$')
  NALL=$(calls "$NSTATE" '.')
  [ "$NRCPS" = "$N" ] || say "WARNING: the SDK left $NRCPS recipients, expected $N"
  [ -n "$NODE_OUT" ] || say "no SDK figures: its run failed"
fi

echo "members: $N (2 changes each), push to an empty Campaign; WriteCollection of $BATCH, inflight $INFLIGHT; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "crmsyncd: $D_RATE records/s ($PUSH_S s), CPU $DAEMON_CPU ms = $(div "$DAEMON_CPU" "$N") ms/record, peak RSS $((DAEMON_HWM / 1024)) MB (VmHWM ${DAEMON_HWM} kB), dead letters $DL, recipients $RCPS"
echo "crmsyncd requests: WriteCollection $WC + single Write $W1 (minimum $MIN: $(ratio "$((WC + W1))" "$MIN")); all SOAP calls $ALL (pulls and schema included)"
echo "simulator CPU (crmsyncd run): $D_SIM_CPU ms = $(div "$D_SIM_CPU" "$N") ms/record"
if [ -n "$NODE_OUT" ]; then
  N_RATE=$(jq -r '.records_per_s * 10 | floor / 10' <<<"$NODE_OUT")
  N_CPU=$(jq -r '.cpu_ms' <<<"$NODE_OUT")
  N_HWM=$(jq -r '.peak_rss_kb' <<<"$NODE_OUT")
  N_S=$(jq -r '.seconds' <<<"$NODE_OUT")
  echo "acc-js-sdk: $N_RATE records/s ($N_S s), CPU $N_CPU ms = $(div "$N_CPU" "$N") ms/record, peak RSS $((N_HWM / 1024)) MB, recipients $NRCPS"
  echo "acc-js-sdk requests: WriteCollection $NWC (minimum $MIN: $(ratio "$NWC" "$MIN")); all SOAP calls $NALL (schema loads included)"
  echo "simulator CPU (SDK run): $N_SIM_CPU ms = $(div "$N_SIM_CPU" "$N") ms/record"
  echo "ratios crmsyncd/acc-js-sdk: throughput $(ratio "$D_RATE" "$N_RATE"), CPU per record $(ratio "$DAEMON_CPU" "$N_CPU"), peak RSS $(ratio "$DAEMON_HWM" "$N_HWM")"
fi
