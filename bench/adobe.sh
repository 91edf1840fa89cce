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
# (4) opt-out latency under a saturated TPS limit (issue 13: p99 <= 250 ms):
# the members and a marketing/email grant each pushed to a simulator that
# throttles SOAP calls at ADOBE_TPS (default 100) a second with the
# connector's rate set to the same; once the bulk push has been at the
# limit and twice WITHDRAWALS members hold their subscription, WITHDRAWALS
# (default 100) denials are dropped in LAT_FILES
# (default 10) files 0.5 s apart, for members subscribed by then, and each
# one's latency is the time from its file's drop to the nms:subHisto row
# (action 0) its Unsubscribe made.
# Unsubscribe is one SOAP call per recipient and service (Campaign has no
# batch form), so withdrawals faster than the priority share of the TPS
# queue up. SKIP_LATENCY=1 leaves it out.
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

sim_start() { # NAME [crmsim options...]: sets SIM_PID, SIM_URL
  "$SIM" --flavor adobe --listen 127.0.0.1:0 --client-id BENCH --client-secret bench-secret "${@:2}" \
    >"$W/$1.sim.out" 2>"$W/$1.sim.log" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 10 test -s "$W/$1.sim.out" || { echo "crmsim did not start" >&2; exit 1; }
  SIM_URL="http://$(head -n 1 "$W/$1.sim.out" | sed 's/^listening //')"
}
sim_get() { curl -sf --max-time 120 "$SIM_URL/__sim/$1"; }
sim_stop() { SIM_CPU=$(cpu_ms "$SIM_PID"); kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; }

write_config() { # DIR CAMPAIGN(0|1) [connector lines]
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
${3:-}
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

LAT=""
if [ -z "${SKIP_LATENCY:-}" ]; then
  TPS=${ADOBE_TPS:-100}
  WITHDRAWALS=${WITHDRAWALS:-100}
  LAT_FILES=${LAT_FILES:-10}
  say "4/4 opt-out latency: $WITHDRAWALS withdrawals while the push is at $TPS SOAP calls/s"
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
    printf "{\"event_id\":\"g%d\",\"type\":\"consent\",\"member\":\"M%06d\",\"occurred_at\":\"2026-11-01T10:00:00Z\",\"purpose\":\"marketing\",\"channel\":\"email\",\"status\":\"granted\",\"legal_basis\":\"consent\",\"source\":\"signup\"}\n", i, i }' \
    >"$W/grants.jsonl"
  sim_start lat --rate-limits true --adobe-tps "$TPS"
  curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"collections":{"nms:service":[{"properties":{"name":"newsletter"}}]}}' \
    "$SIM_URL/__sim/seed" >/dev/null || { echo "cannot seed the newsletter service" >&2; exit 1; }
  L=$W/lat
  write_config "$L" 1 "services = marketing/email=newsletter
purposes = marketing
rate = $TPS
burst = $TPS"
  # The connector's own rate and burst replace the bench's 1000 above.
  awk '/^rate = 1000$/ || /^burst = 1000$/ {next} {print}' "$L/crmsyncd.conf" >"$L/c" && mv "$L/c" "$L/crmsyncd.conf"
  daemon_start "$L"
  cat "$W/members.jsonl" "$W/grants.jsonl" >"$L/spool/.m.tmp" && mv "$L/spool/.m.tmp" "$L/spool/members.jsonl"
  wait_for 1800 eval 'ingested "$L" members.jsonl || test -f "$L/spool/failed/members.jsonl"'
  ingested "$L" members.jsonl || { echo "latency run: members.jsonl not ingested ($L/daemon.log)" >&2; exit 1; }
  # The grants are under way (recipients are written first) and twice the
  # withdrawals' members hold their subscription: the push is at the limit.
  subscribed_members() {
    sim_get state | jq -r '(.collections["nms:recipient"] // [] | map({key: .id, value: .properties.memberKey}) | from_entries) as $m
      | [.collections["nms:subscription"][]? | $m[.properties["recipient-id"]]] | unique | .[]' >"$W/subscribed.txt"
  }
  enough_subscribed() { subscribed_members; [ "$(wc -l <"$W/subscribed.txt")" -ge $((2 * WITHDRAWALS)) ]; }
  wait_for 300 enough_subscribed || say "only $(wc -l <"$W/subscribed.txt") members subscribed after 300 s"
  LAT0=$(sim_get counters 2>/dev/null || echo '{}')
  # Withdrawals of members subscribed already: Unsubscribe of a recipient
  # not subscribed does nothing in Campaign (no nms:subHisto row to time),
  # and a withdrawal newer than a grant not sent yet replaces it.
  subscribed_members
  [ "$(wc -l <"$W/subscribed.txt")" -ge "$WITHDRAWALS" ] ||
    { echo "only $(wc -l <"$W/subscribed.txt") members subscribed: raise MEMBERS or lower WITHDRAWALS" >&2; exit 1; }
  per=$((WITHDRAWALS / LAT_FILES))
  stride=$(($(wc -l <"$W/subscribed.txt") / WITHDRAWALS))
  awk -v s="$stride" '(NR - 1) % s == 0' "$W/subscribed.txt" | head -n "$WITHDRAWALS" >"$W/chosen.txt"
  : >"$W/drops.tsv"
  for f in $(seq 0 $((LAT_FILES - 1))); do
    sed -n "$((f * per + 1)),$(((f + 1) * per))p" "$W/chosen.txt" >"$W/w$f.keys"
    awk -v f="$f" '{ printf "{\"event_id\":\"w%d_%d\",\"type\":\"consent\",\"member\":\"%s\",\"occurred_at\":\"2026-11-20T10:00:00Z\",\"purpose\":\"marketing\",\"channel\":\"email\",\"status\":\"denied\",\"source\":\"email_footer\"}\n", f, NR, $1 }' \
      "$W/w$f.keys" >"$W/w$f.jsonl"
    name=$(printf 'w%02d.jsonl' "$f")
    cp "$W/w$f.jsonl" "$L/spool/.$name.tmp" && mv "$L/spool/.$name.tmp" "$L/spool/$name"
    t=$(now_ms)
    awk -v t="$t" '{ printf "%s\t%s\n", $1, t }' "$W/w$f.keys" >>"$W/drops.tsv"
    sleep 0.5
  done
  # member key -> time of its Unsubscribe (nms:subHisto action 0), ms.
  unsubs() {
    sim_get state | jq -r '(.collections["nms:recipient"] // [] | map({key: .id, value: .properties.memberKey}) | from_entries) as $m
      | .collections["nms:subHisto"][]? | select(.properties.action == "0")
      | "\($m[.properties["recipient-id"]])\t\((.createdAt | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
          + (.createdAt | capture("\\.(?<ms>[0-9]{3})Z$").ms | tonumber))"' >"$W/unsub.tsv"
  }
  all_in() { unsubs; [ "$(cut -f1 "$W/unsub.tsv" | sort -u | join - <(cut -f1 "$W/drops.tsv" | sort -u) | wc -l)" -ge "$WITHDRAWALS" ]; }
  wait_for 120 all_in || say "not every withdrawal arrived within 120 s"
  unsubs
  LAT_STATE=$(sim_get state)
  LAT_429=$(grep -c "HTTP 429" "$L/daemon.log" || true)
  daemon_stop
  LAT_HWM=$DAEMON_HWM
  sim_stop
  # latency = subHisto createdAt (simulator clock = wall clock) - drop time
  LAT=$(awk -F'\t' 'FILENAME == ARGV[1] { at[$1] = $2; next } ($1 in at) { print at[$1] - $2 }' \
          "$W/unsub.tsv" "$W/drops.tsv" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; p50 = v[int((NR * 50 + 99) / 100)]; p99 = v[int((NR * 99 + 99) / 100)];
              print NR, p50, p99, v[NR] }')
  LAT_SUBS=$(calls "$LAT_STATE" 'subscription#Subscribe$')
  LAT_UNSUBS=$(calls "$LAT_STATE" 'subscription#Unsubscribe$')
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
if [ -n "$LAT" ]; then
  read -r ln p50 p99 pmax <<<"$LAT"
  echo "opt-out latency, $ln/$WITHDRAWALS withdrawals in $LAT_FILES files 0.5 s apart, TPS limit $TPS/s (connector rate $TPS): p50 $p50 ms, p99 $p99 ms, max $pmax ms (target p99 <= 250 ms)"
  echo "  during the latency run: Subscribe $LAT_SUBS, Unsubscribe $LAT_UNSUBS, 429s logged by crmsyncd $LAT_429; peak RSS $((LAT_HWM / 1024)) MB"
elif [ -z "${SKIP_LATENCY:-}" ]; then
  echo "opt-out latency: no withdrawal arrived"
fi
