#!/usr/bin/env bash
# Salesforce benchmark (issue 6, "Benchmark"): N members (email and last
# name each: two changes per member) pushed by crmsyncd to the Salesforce
# simulator from an empty state, then the same Contact upserts by jsforce
# (bench/node-ref/salesforce_bulk.js, collections of 200).
#
#   bench/salesforce.sh BUILD_DIR [MEMBERS]        # default 100000
#
# BUILD_DIR is a Release build without sanitizers holding crmsyncd and
# tests/sim/crmsim (this script builds nothing). Env: BENCH_DIR (work
# directory parent, default /var/tmp), INFLIGHT (default 4, both clients),
# BULK_THRESHOLD (default 2000, the connector's default), SKIP_NODE=1,
# SIM_ARGS (more simulator options, e.g. "--log-requests true": the
# request log is then in the kept work directory with KEEP=1).
#
# Phases: (1) ingest only (no Salesforce connector), (2) push only: the
# Salesforce connector added, timed from start until nothing is left to push.
# What counts: one Contact row per member. crmsyncd's engine forms batches
# of at most window_items (4,000) changes = 2,000 members here, so at the
# default threshold every full batch is ONE Bulk job: the minimum is
# ceil(N/2000) jobs (each job is create + upload + close + polls + 1 to 3 result
# reads); with collections the minimum is ceil(N/200) requests.
set -euo pipefail

BUILD=${1:?usage: bench/salesforce.sh BUILD_DIR [MEMBERS]}
N=${2:-100000}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
CRMSYNCD=$BUILD/crmsyncd
SIM=$BUILD/tests/sim/crmsim
INFLIGHT=${INFLIGHT:-4}
BULK_THRESHOLD=${BULK_THRESHOLD:-2000}
for b in "$CRMSYNCD" "$SIM"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }; done
for t in curl jq sqlite3 node awk openssl bc; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 2; }; done

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/crmsync-bench-sf.XXXXXX")
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

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/sf.key" 2>/dev/null
chmod 600 "$W/sf.key"
openssl pkey -in "$W/sf.key" -pubout -out "$W/sf.pub" 2>/dev/null

sim_start() { # NAME: sets SIM_PID, SIM_URL
  "$SIM" --flavor salesforce --listen 127.0.0.1:0 --token T1 --client-id CK1 \
    --sf-username int@example.com --sf-jwt-public-key "$W/sf.pub" ${SIM_ARGS:-} \
    >"$W/$1.sim.out" 2>"$W/$1.sim.log" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 10 test -s "$W/$1.sim.out" || { echo "crmsim did not start" >&2; exit 1; }
  SIM_URL="http://$(head -n 1 "$W/$1.sim.out" | sed 's/^listening //')"
}
sim_get() { curl -sf --max-time 60 "$SIM_URL/__sim/$1"; }
sim_stop() { SIM_CPU=$(cpu_s "$SIM_PID"); kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; }
# Most Bulk jobs open at once (created, not yet complete) on the
# simulator's clock, in ms (its "__sim" timeline): several in flight
# overlap the per-job delay.
jobs_overlap() { # STATE_JSON
  jq -r '[.flavor_state.jobs[]?.__sim | select(.ended_ms > 0) | [.created_ms, 1], [.ended_ms, -1]] |
    sort | reduce .[] as $e ({n: 0, max: 0}; .n += $e[1] | .max = ([.max, .n] | max)) | .max' <<<"$1"
}
# The jobs' timeline (ms, simulator clock): medians of create -> upload,
# upload -> UploadComplete, UploadComplete -> processed (the job delay
# plus the wait for the poll that sees it), processed -> first result read;
# the delays' sum against the time at least one job was waiting (their
# union): a sum above the union is the delay overlapped.
jobs_timeline() { # STATE_JSON
  jq -r '[.flavor_state.jobs[]?.__sim | select(.ended_ms > 0)] as $j | if ($j | length) == 0 then "n/a" else
    def med(f): [$j[] | f] | sort | .[(length / 2 | floor)];
    ([$j[] | [.closed_ms, .ended_ms]] | sort | reduce .[] as $i ({u: 0, end: 0};
      if $i[0] >= .end then .u += ($i[1] - $i[0]) | .end = $i[1]
      elif $i[1] > .end then .u += ($i[1] - .end) | .end = $i[1] else . end)) as $un |
    "\($j | length) jobs over \(([$j[].results_ms] | max) - ([$j[].created_ms] | min)) ms; medians: create->uploaded \(med(.uploaded_ms - .created_ms)) ms, ->closed \(med(.closed_ms - .uploaded_ms)) ms, ->processed \(med(.ended_ms - .closed_ms)) ms, ->results read \(med(.results_ms - .ended_ms)) ms; closed->processed summed \([$j[] | .ended_ms - .closed_ms] | add) ms over a union of \($un.u) ms"
    end' <<<"$1"
}

write_config() { # DIR SALESFORCE(0|1)
  local d=$1
  mkdir -p "$d/spool" && mkdir -p -m 0700 "$d/state"
  cat >"$d/crmsyncd.conf" <<CONF
[daemon]
log_level = info
shutdown_grace = 5s
admin_listen = 127.0.0.1:0

[state]
path = $d/state/state.db

[connector.shop]
type = spool
dir = $d/spool
scan_interval = 100ms
CONF
  if [ "$2" = 1 ]; then
    cat >>"$d/crmsyncd.conf" <<CONF

[connector.sf]
type = salesforce
login_url = $SIM_URL
allow_loopback_http = yes
client_id = CK1
username = int@example.com
private_key_file = $W/sf.key
bulk_threshold = $BULK_THRESHOLD
max_inflight = $INFLIGHT
rate = 1000
burst = 1000
pull_interval = 1d
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
cpu_s() { # PID: user + system CPU seconds so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
# Where the push's wall time went: the engine's phase sums (seconds; slot_idle
# in slot-seconds) from /metrics, read just before the daemon stops.
push_phases() { # DIR
  local addr
  addr=$(sed -n 's/.*admin endpoint listening on \([^ ]*\) .*/\1/p' "$1/daemon.log" | tail -n 1)
  [ -n "$addr" ] || return 0
  curl -sf --max-time 10 "http://$addr/metrics" |
    awk -F'[{}," ]+' '/^crmsyncd_push_phase_seconds_sum/ {
        for (i = 2; i < NF; i++) if ($i == "phase=") p = $(i + 1)
        printf "%s %.2f s, ", p, $NF } END { print "" }'
}
daemon_stop() {
  DAEMON_HWM=$(hwm_kb "$DAEMON_PID"); DAEMON_CPU=$(cpu_s "$DAEMON_PID")
  kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true
}
backlog() { # DIR
  sqlite3 -bail "file:$1/state/state.db?mode=ro" "PRAGMA busy_timeout=5000;" \
    "SELECT COALESCE(SUM(n),0) FROM (SELECT (SELECT COUNT(*) FROM changes c WHERE c.lane = l.lane
       AND c.effective = 1 AND c.origin <> 'sf' AND c.seq > COALESCE((SELECT seq FROM push_cursors p
       WHERE p.connector = 'sf' AND p.lane = l.lane), 0)) AS n
       FROM (SELECT 0 AS lane UNION ALL SELECT 1 UNION ALL SELECT 2) l)" 2>/dev/null | tail -n 1
}
# The probe of the push's end, every 50 ms while the daemon pushes: EXISTS
# stops at the first pending change (changes_push index), where the COUNT
# above read the whole backlog (22 ms of CPU a probe with 60,000 changes
# pending, on the cores the daemon and the simulator share).
backlog_zero() { # DIR
  local q="" l
  for l in 0 1 2; do
    q="$q${q:+ OR }EXISTS (SELECT 1 FROM changes WHERE lane = $l AND effective = 1 AND origin <> 'sf'
      AND seq > COALESCE((SELECT seq FROM push_cursors WHERE connector = 'sf' AND lane = $l), 0))"
  done
  [ "$(sqlite3 -bail "file:$1/state/state.db?mode=ro" "PRAGMA busy_timeout=5000;" "SELECT $q" \
    2>/dev/null | tail -n 1)" = 0 ]
}
ingested() { test -f "$1/spool/done/$2"; }
ep() { # COUNTERS_JSON REGEX: requests summed over matching endpoint names
  jq -r --arg re "$2" '[.endpoints | to_entries[] | select(.key | test($re)) | .value.requests] | add // 0' <<<"$1"
}

say "work dir $W; N=$N; generating input"
gen_members "$N" "$W/members.jsonl"
D=$W/d
say "1/3 ingest only"
write_config "$D" 0
daemon_start "$D"
cp "$W/members.jsonl" "$D/spool/.m.tmp" && mv "$D/spool/.m.tmp" "$D/spool/members.jsonl"
wait_for 1800 ingested "$D" members.jsonl || { echo "ingest timed out" >&2; exit 1; }
daemon_stop

say "2/3 crmsyncd push (Salesforce connector added)"
sim_start push
write_config "$D" 1
t0=$(now_ms)
daemon_start "$D"
wait_for 3600 backlog_zero "$D" || { echo "push timed out (backlog $(backlog "$D"))" >&2; exit 1; }
t1=$(now_ms)
PHASES=$(push_phases "$D")
daemon_stop
PUSH_S=$(echo "scale=3; ($t1 - $t0) / 1000" | bc)
C=$(sim_get counters)
STATE=$(sim_get state)
CONTACTS=$(jq '[.collections.Contact[]? | select(.archived | not)] | length' <<<"$STATE")
OVERLAP=$(jobs_overlap "$STATE")
TIMELINE=$(jobs_timeline "$STATE")
sim_stop
SF_SIM_CPU=$SIM_CPU
JOBS=$(ep "$C" '^bulk\.create$')
BULK_REQ=$(ep "$C" '^bulk\.')
POLLS=$(ep "$C" '^bulk\.get$')
COLL=$(ep "$C" '^collections\.upsert$')
ALL=$(ep "$C" '^(bulk|collections|query|sobjects)')
DL=$(sqlite3 "$D/state/state.db" "SELECT COUNT(*) FROM dead_letters")
MIN_COLL=$(((N + 199) / 200))
# The engine's split: full batches of 2,000 members (window_items / 2
# changes), each one job when at or above the threshold; the rest one job,
# or ceil(rest/200) collections requests when under it.
FULL=$((N / 2000)); REST=$((N - FULL * 2000))
if [ "$BULK_THRESHOLD" -gt 2000 ]; then EXP_JOBS=0; EXP_COLL=$MIN_COLL
elif [ "$REST" -ge "$BULK_THRESHOLD" ]; then EXP_JOBS=$((FULL + 1)); EXP_COLL=0
else EXP_JOBS=$FULL; EXP_COLL=$(((REST + 199) / 200)); fi
SF_HWM=$DAEMON_HWM
SF_RATE=$(echo "scale=1; $N / $PUSH_S" | bc)
[ "$CONTACTS" = "$N" ] || say "WARNING: $CONTACTS Contacts in the simulator, expected $N"

NODE_RATE="" NODE_HWM="" NODE_REQ="" NODE_CPU=""
if [ -z "${SKIP_NODE:-}" ]; then
  say "3/3 jsforce reference (collections upsert, 200 per request, $INFLIGHT in flight)"
  sim_start node
  out=$(node "$SRC/bench/node-ref/salesforce_bulk.js" "$SIM_URL" T1 "$N" "$INFLIGHT" 66.0)
  NCONTACTS=$(sim_get state | jq '[.collections.Contact[]? | select(.archived | not)] | length')
  sim_stop
  NODE_SIM_CPU=$SIM_CPU
  NODE_RATE=$(jq -r '.records_per_s | floor' <<<"$out")
  NODE_HWM=$(jq -r '.peak_rss_kb' <<<"$out")
  NODE_REQ=$(jq -r '.requests' <<<"$out")
  NODE_CPU=$(jq -r '.cpu_s' <<<"$out")
  [ "$NCONTACTS" = "$N" ] || say "WARNING: jsforce left $NCONTACTS Contacts, expected $N"
fi

echo "members: $N (2 changes each), push from an empty Salesforce; threshold $BULK_THRESHOLD, inflight $INFLIGHT"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "crmsyncd: $SF_RATE records/s ($PUSH_S s), peak RSS $((SF_HWM / 1024)) MB (VmHWM ${SF_HWM} kB), dead letters $DL, Contacts $CONTACTS"
ratio() { [ "$2" -gt 0 ] && echo "$(echo "scale=2; $1 / $2" | bc)x" || echo "n/a"; }
echo "crmsyncd push phases (sums): ${PHASES:-n/a}"
echo "crmsyncd CPU ${DAEMON_CPU} s ($(echo "scale=1; $DAEMON_CPU * 1000000 / $N" | bc) us/record), simulator CPU ${SF_SIM_CPU} s; Bulk jobs open at once: at most $OVERLAP (bulk lanes' slots: INFLIGHT - 1 = $((INFLIGHT - 1)))"
echo "crmsyncd Bulk jobs' timeline: $TIMELINE"
echo "crmsyncd writes: Bulk jobs $JOBS (minimum $EXP_JOBS: $(ratio "$JOBS" "$EXP_JOBS")) + collections upserts $COLL (minimum $EXP_COLL: $(ratio "$COLL" "$EXP_COLL")); all-collections minimum would be ceil(N/200) = $MIN_COLL"
echo "crmsyncd HTTP requests: $ALL API calls (Bulk $BULK_REQ, of which polls $POLLS; per job: create, upload, close, polls, the result lists that hold rows) = $(ratio "$ALL" "$MIN_COLL") of ceil(N/200)"
if [ -n "$NODE_RATE" ]; then
  echo "jsforce: $NODE_RATE records/s, CPU ${NODE_CPU} s ($(echo "scale=1; $NODE_CPU * 1000000 / $N" | bc) us/record), peak RSS $((NODE_HWM / 1024)) MB, simulator CPU ${NODE_SIM_CPU} s, requests $NODE_REQ (minimum $MIN_COLL: $(echo "scale=2; $NODE_REQ / $MIN_COLL" | bc)x)"
  echo "ratios crmsyncd/jsforce: throughput $(echo "scale=2; $SF_RATE / $NODE_RATE" | bc)x, peak RSS $(echo "scale=2; $SF_HWM / $NODE_HWM" | bc)x"
fi
