#!/usr/bin/env bash
# HubSpot benchmark (issue 5, "Benchmark"): N members, each with a profile
# (email), an EMAIL marketing grant, an SMS marketing grant, a points earn and
# a segment "in", pushed by crmsyncd to the HubSpot simulator from an empty
# state; then the same bulk push by HubSpot's official Node client
# (bench/node-ref/hubspot_bulk.js); then the opt-out latency of 1,000
# withdrawals injected while the bulk push saturates the rate limit.
#
#   bench/hubspot.sh BUILD_DIR [MEMBERS]        # default 100000
#
# BUILD_DIR is a Release build without sanitizers holding crmsyncd,
# crmsyncctl and tests/sim/crmsim (this script builds nothing). Env:
# BENCH_DIR (work directory parent, default /var/tmp; not tmpfs),
# SYNC (state synchronous, default full as shipped), INFLIGHT (bulk requests
# in flight for both clients, default 4), WITHDRAWALS (default 1000),
# LAT_FILES (files the withdrawals are spread over, default 10, 0.5 s apart),
# SKIP_LATENCY=1, SKIP_NODE=1.
#
# What counts: a "record" is one item written to one HubSpot object type:
# a contact input (member_key, email, loyalty_points, consent_marketing_sms,
# _date, _source), an EMAIL subscription status, a list membership: 3 per
# member for both clients, so the minimum is ceil(N/100) requests per type.
# crmsyncd also reads subscription statuses before writing grants (one
# statuses batch read per grant batch): counted and printed apart.
set -euo pipefail

BUILD=${1:?usage: bench/hubspot.sh BUILD_DIR [MEMBERS]}
N=${2:-100000}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
CRMSYNCD=$BUILD/crmsyncd
SIM=$BUILD/tests/sim/crmsim
SYNC=${SYNC:-full}
INFLIGHT=${INFLIGHT:-4}
WITHDRAWALS=${WITHDRAWALS:-1000}
LAT_FILES=${LAT_FILES:-10}
for b in "$CRMSYNCD" "$SIM"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }; done
for t in curl jq sqlite3 node awk; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 2; }; done
[ "$WITHDRAWALS" -le "$N" ] || { echo "WITHDRAWALS > MEMBERS" >&2; exit 2; }

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/crmsync-bench-hs.XXXXXX")
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
# CPU seconds (user + system) a live process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
wait_for() { # TIMEOUT_S CMD...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# --- input: one spool file, 5 events per member ---
gen_members() { # N FILE
  awk -v n="$1" 'BEGIN {
    for (i = 0; i < n; i++) {
      m = sprintf("M%06d", i); e = sprintf("m%06d@example.com", i)
      printf "{\"event_id\":\"p%d\",\"type\":\"profile\",\"member\":\"%s\",\"occurred_at\":\"2026-11-01T09:00:00Z\",\"attributes\":{\"email\":\"%s\"}}\n", i, m, e
      printf "{\"event_id\":\"ce%d\",\"type\":\"consent\",\"member\":\"%s\",\"occurred_at\":\"2026-11-01T10:00:00Z\",\"purpose\":\"marketing\",\"channel\":\"email\",\"status\":\"granted\",\"legal_basis\":\"consent\",\"source\":\"web_form\"}\n", i, m
      printf "{\"event_id\":\"cs%d\",\"type\":\"consent\",\"member\":\"%s\",\"occurred_at\":\"2026-11-01T10:00:00Z\",\"purpose\":\"marketing\",\"channel\":\"sms\",\"status\":\"granted\",\"legal_basis\":\"consent\",\"source\":\"web_form\"}\n", i, m
      printf "{\"event_id\":\"t%d\",\"type\":\"points\",\"member\":\"%s\",\"occurred_at\":\"2026-11-01T10:00:00Z\",\"txn_id\":\"T%d\",\"delta\":%d,\"reason\":\"earn\"}\n", i, m, i, i % 1000 + 1
      printf "{\"event_id\":\"s%d\",\"type\":\"segment\",\"member\":\"%s\",\"occurred_at\":\"2026-11-01T10:00:00Z\",\"segment\":\"bench\",\"status\":\"in\"}\n", i, m
    } }' >"$2"
}

# --- simulator ---
sim_start() { # NAME [crmsim options...]: sets SIM_PID, SIM_URL
  local name=$1; shift
  "$SIM" --flavor hubspot --listen 127.0.0.1:0 --token T1 "$@" >"$W/$name.sim.out" 2>"$W/$name.sim.log" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 10 test -s "$W/$name.sim.out" || { echo "crmsim did not start" >&2; exit 1; }
  SIM_URL="http://$(head -n 1 "$W/$name.sim.out" | sed 's/^listening //')"
}
sim_stop() { SIM_HWM=$(hwm_kb "$SIM_PID"); SIM_CPU=$(cpu_s "$SIM_PID"); kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; }
sim_get() { curl -sf --max-time 60 "$SIM_URL/__sim/$1"; }
api() { curl -sf --max-time 10 -X "$1" -H 'Authorization: Bearer T1' -H 'Content-Type: application/json' --data-binary "$3" "$SIM_URL$2"; }

# --- daemon ---
write_config() { # DIR HUBSPOT(0|1) [extra hubspot lines]
  local d=$1
  mkdir -p "$d/spool" && mkdir -p -m 0700 "$d/state"
  printf 'T1' >"$W/token"; chmod 600 "$W/token"
  cat >"$d/crmsyncd.conf" <<CONF
[daemon]
log_level = info
shutdown_grace = 5s
admin_listen = $d/admin.sock

[state]
path = $d/state/state.db
synchronous = $SYNC

[connector.shop]
type = spool
dir = $d/spool
scan_interval = 100ms
CONF
  if [ "$2" = 1 ]; then
    cat >>"$d/crmsyncd.conf" <<CONF

[connector.hs]
type = hubspot
base_url = $SIM_URL
allow_loopback_http = yes
token_file = $W/token
subscriptions = marketing=1001,loyalty_programme=1002
request_timeout = 30s
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
daemon_stop() { DAEMON_HWM=$(hwm_kb "$DAEMON_PID"); DAEMON_CPU=$(cpu_s "$DAEMON_PID"); kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true; }
drop() { # DIR SRC NAME: atomically, as a shop should
  cp "$2" "$1/spool/.$3.tmp" && mv "$1/spool/.$3.tmp" "$1/spool/$3"
}
# Changes not yet handled by the hubspot connector (the query of
# crmsyncctl status / the backlog gauge), all lanes.
backlog() { # DIR: 0 when every push cursor of hs is at the log's end (O(1):
  # counting the changes after the cursors cost the run 20 % of the CPU)
  sqlite3 -bail "file:$1/state/state.db?mode=ro" "PRAGMA busy_timeout=5000;" \
    "SELECT 3 - COUNT(*) FROM push_cursors WHERE connector = 'hs'
       AND seq >= (SELECT COALESCE(MAX(seq), 0) FROM changes)" 2>/dev/null | tail -n 1
}
backlog_zero() { [ "$(backlog "$1")" = 0 ]; }
# Where the push's wall time went (crmsyncd_push_phase_seconds, issue 17):
# "phase sum_s/count" per phase of the hubspot connector.
phases() { # DIR
  curl -sf --max-time 10 --unix-socket "$1/admin.sock" http://admin/metrics |
    awk -F'[{}" ]+' '/^crmsyncd_push_phase_seconds_(sum|count)\{connector="hs"/ {
      split($0, kv, "phase=\""); split(kv[2], p, "\""); v = $NF
      if ($1 ~ /_sum$/) sum[p[1]] = v; else cnt[p[1]] = v }
      END { for (k in sum) printf "%s %.2f s/%d  ", k, sum[k], cnt[k] }'
}
ingested() { test -f "$1/spool/done/$2"; }
# Polls (every 50 ms) until CMD succeeds; prints the wall ms when it did.
time_until() { # TIMEOUT_S CMD...
  local t=$1; shift
  wait_for "$t" "$@" || { echo "timed out: $*" >&2; return 1; }
  now_ms
}
# Per endpoint: requests (errors) from /__sim/counters.
counters_json() { sim_get counters; }
ep() { # COUNTERS_JSON REGEX: requests summed over matching endpoint names
  jq -r --arg re "$2" '[.endpoints | to_entries[] | select(.key | test($re)) | .value.requests] | add // 0' <<<"$1"
}

say "work dir $W; N=$N; generating input"
gen_members "$N" "$W/members.jsonl"
MIN=$(((N + 99) / 100))
REC=$((N * 3))

# ===== 1. ingest only (spool connector alone) =====
say "1/4 ingest only"
I=$W/ingest
write_config "$I" 0
daemon_start "$I"
t0=$(now_ms); drop "$I" "$W/members.jsonl" members.jsonl
t1=$(time_until 1800 ingested "$I" members.jsonl)
daemon_stop
INGEST_S=$(echo "scale=3; ($t1 - $t0) / 1000" | bc)
CHANGES=$(sqlite3 "$I/state/state.db" "SELECT COUNT(*) FROM changes")
INGEST_HWM=$DAEMON_HWM

# ===== 2. push only: the ingested state, a daemon with the hubspot connector =====
THR_HS="rate = 1000
burst = 1000
max_inflight = $((INFLIGHT + 1))
pull_interval = 1d"
say "2/4 push only (rate limits off)"
sim_start push --rate-limits false
P=$W/push
write_config "$P" 1 "$THR_HS"
cp "$I/state/state.db" "$P/state/state.db"
t0=$(now_ms)
daemon_start "$P"
t1=$(time_until 1800 backlog_zero "$P")
PUSH_PHASES=$(phases "$P" || true)
daemon_stop
PUSH_S=$(echo "scale=3; ($t1 - $t0) / 1000" | bc)
PUSH_HWM=$DAEMON_HWM
PUSH_CPU=$DAEMON_CPU
PUSH_C=$(counters_json)
PUSH_DEAD=$(sqlite3 "$P/state/state.db" "SELECT COUNT(*) FROM dead_letters")
STATE=$(sim_get state)
CHECK=$(jq -r '[(.collections.contacts | length),
  ([.collections.contacts[] | select(.properties.loyalty_points != null and .properties.consent_marketing_sms == "granted")] | length),
  ([.flavor_state.statuses[] | select(.["1001"].status == "SUBSCRIBED")] | length),
  ([.flavor_state.lists[] | .members | length] | add)] | @tsv' <<<"$STATE")
unset STATE
sim_stop
PUSH_SIM_HWM=$SIM_HWM
PUSH_SIM_CPU=$SIM_CPU

# ===== 3. end to end: empty state, drop -> backlog 0 =====
say "3/4 end to end (rate limits off)"
sim_start e2e --rate-limits false
E=$W/e2e
write_config "$E" 1 "$THR_HS"
daemon_start "$E"
wait_for 20 grep -q "contact properties ready" "$E/daemon.log"
t0=$(now_ms); drop "$E" "$W/members.jsonl" members.jsonl
ti=$(time_until 1800 ingested "$E" members.jsonl)
t1=$(time_until 1800 backlog_zero "$E")
daemon_stop
E2E_S=$(echo "scale=3; ($t1 - $t0) / 1000" | bc)
E2E_INGEST_S=$(echo "scale=3; ($ti - $t0) / 1000" | bc)
E2E_HWM=$DAEMON_HWM
E2E_C=$(counters_json)
E2E_DEAD=$(sqlite3 "$E/state/state.db" "SELECT COUNT(*) FROM dead_letters")
sim_stop
E2E_SIM_HWM=$SIM_HWM

# ===== 4. Node reference: the same push with @hubspot/api-client =====
NODE_JSON='{}'
NODE_HWM=0
if [ -z "${SKIP_NODE:-}" ]; then
  say "4/4 node reference (rate limits off)"
  sim_start node --rate-limits false
  for p in member_key:string:text:true loyalty_points:number:number:false \
    consent_marketing_sms:string:text:false consent_marketing_sms_date:string:text:false \
    consent_marketing_sms_source:string:text:false; do
    IFS=: read -r name type ftype uniq <<<"$p"
    api POST /crm/properties/2026-09/contacts "{\"name\":\"$name\",\"label\":\"$name\",\"type\":\"$type\",\"fieldType\":\"$ftype\",\"groupName\":\"contactinformation\",\"hasUniqueValue\":$uniq}" >/dev/null
  done
  LIST=$(api POST /crm/lists/2026-09 '{"name":"bench","objectTypeId":"0-1","processingType":"MANUAL"}' | jq -r '.list.listId // .listId')
  /usr/bin/time -v -o "$W/node.time" node "$SRC/bench/node-ref/hubspot_bulk.js" "$SIM_URL" T1 "$N" "$LIST" "$INFLIGHT" >"$W/node.out"
  NODE_JSON=$(tail -n 1 "$W/node.out")
  NODE_HWM=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/node.time")
  NODE_C=$(counters_json)
  sim_stop
  NODE_SIM_CPU=$SIM_CPU
fi

# ===== 5. latency: withdrawals under a saturated rate limit =====
LAT=""
if [ -z "${SKIP_LATENCY:-}" ]; then
  say "latency: rate limits on (100 per 10 s), daemon rate 10/s burst 10"
  sim_start lat --rate-limits true --ten-secondly-max 100
  L=$W/lat
  write_config "$L" 1 "rate = 10
burst = 10"
  daemon_start "$L"
  wait_for 20 grep -q "contact properties ready" "$L/daemon.log"
  drop "$L" "$W/members.jsonl" members.jsonl
  wait_for 1800 ingested "$L" members.jsonl
  sleep 12 # the bulk push has been at the limit for a full 10 s window
  LAT_C0=$(counters_json)
  per=$((WITHDRAWALS / LAT_FILES))
  : >"$W/drops.tsv"
  for f in $(seq 0 $((LAT_FILES - 1))); do
    awk -v n="$N" -v w="$WITHDRAWALS" -v f="$f" -v per="$per" 'BEGIN {
      stride = int(n / w)
      for (j = 0; j < per; j++) {
        i = (f * per + j) * stride
        printf "{\"event_id\":\"w%d\",\"type\":\"consent\",\"member\":\"M%06d\",\"occurred_at\":\"2026-11-20T10:00:00Z\",\"purpose\":\"marketing\",\"channel\":\"email\",\"status\":\"denied\",\"source\":\"email_footer\"}\n", i, i
      } }' >"$W/w$f.jsonl"
    name=$(printf 'w%02d.jsonl' "$f")
    drop "$L" "$W/w$f.jsonl" "$name"
    t=$(now_ms)
    awk -v n="$N" -v w="$WITHDRAWALS" -v f="$f" -v per="$per" -v t="$t" 'BEGIN {
      stride = int(n / w)
      for (j = 0; j < per; j++) printf "m%06d@example.com\t%s\n", (f * per + j) * stride, t }' >>"$W/drops.tsv"
    sleep 0.5
  done
  # Until every withdrawal is UNSUBSCRIBED (or 120 s): the statuses only.
  statuses() { sim_get state | jq -c '.flavor_state.statuses | with_entries(select(.value["1001"].status == "UNSUBSCRIBED") | .value = .value["1001"].timestamp)' >"$W/unsub.json"; }
  all_in() {
    statuses
    [ "$(jq -r --rawfile d "$W/drops.tsv" '. as $s | [$d | split("\n")[] | select(length > 0) | split("\t")[0] | select($s[.] != null)] | length' "$W/unsub.json")" -ge "$WITHDRAWALS" ]
  }
  wait_for 120 all_in || say "not every withdrawal arrived within 120 s"
  statuses
  LAT_C1=$(counters_json)
  LAT_429=$(jq -r '.endpoints | [to_entries[] | .value.errors] | add' <<<"$LAT_C1")
  daemon_stop
  LAT_HWM=$DAEMON_HWM
  sim_stop
  # latency = status timestamp (simulator clock = wall clock, ms) - drop time
  LAT=$(jq -r --rawfile d "$W/drops.tsv" '. as $s
    | [$d | split("\n")[] | select(length > 0) | split("\t") | select($s[.[0]] != null)
       | (($s[.[0]] | sub("\\.(?<ms>[0-9]{3})Z$"; "Z") | fromdateiso8601) * 1000
          + ($s[.[0]] | capture("\\.(?<ms>[0-9]{3})Z$").ms | tonumber) - (.[1] | tonumber))]
    | sort | length as $n
    | "\($n) \(.[(($n * 50 / 100) | ceil) - 1]) \(.[(($n * 99 / 100) | ceil) - 1]) \(.[-1])"' "$W/unsub.json")
fi

# ===== the table =====
rate() { echo "scale=0; $1 / $2" | bc; }
x() { echo "scale=2; $1 / $2" | bc; }
mb() { echo "scale=1; $1 / 1024" | bc; }
row() { printf '%-58s %s\n' "$1" "$2"; }
echo
echo "HubSpot benchmark: $N members, $REC records (contact input + EMAIL status + list membership per member), $CHANGES canonical changes"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); state synchronous=$SYNC; $INFLIGHT bulk requests in flight"
echo
row "ingest only: ${N}x5 events -> state" "$INGEST_S s ($(rate "$CHANGES" "$INGEST_S") changes/s), RSS $(mb "$INGEST_HWM") MB"
row "push only (ingested state -> empty sim, limits off)" "$PUSH_S s = $(rate "$REC" "$PUSH_S") records/s"
row "end to end (drop -> backlog 0, limits off)" "$E2E_S s = $(rate "$REC" "$E2E_S") records/s (ingest done at $E2E_INGEST_S s)"
for phase in PUSH E2E; do
  c=${phase}_C; c=${!c}
  up=$(ep "$c" 'contacts.*upsert'); sw=$(ep "$c" 'statuses.*write'); sr=$(ep "$c" 'statuses.*read')
  lm=$(ep "$c" 'memberships[.]add'); br=$(ep "$c" 'contacts[.]batch[.]read'); tot=$(jq -r .requests_total <<<"$c")
  row "requests ($phase), minimum $MIN per type" \
    "upsert $up ($(x "$up" "$MIN")x), status write $sw ($(x "$sw" "$MIN")x), list $lm ($(x "$lm" "$MIN")x); extra: status read $sr, contacts batch read $br; all $tot"
done
row "  writes/minimum (push only)" "$(x "$(($(ep "$PUSH_C" 'contacts.*upsert') + $(ep "$PUSH_C" 'statuses.*write') + $(ep "$PUSH_C" 'memberships[.]add')))" "$((3 * MIN))")x"
row "dead letters (push, e2e)" "$PUSH_DEAD, $E2E_DEAD"
row "in the sim after push: contacts, with points+sms, SUBSCRIBED, listed" "$(tr '\t' ' ' <<<"$CHECK")"
row "crmsyncd peak RSS (VmHWM): push only, end to end" "$(mb "$PUSH_HWM") MB, $(mb "$E2E_HWM") MB"
row "crmsim peak RSS (for information): push, e2e" "$(mb "$PUSH_SIM_HWM") MB, $(mb "$E2E_SIM_HWM") MB"
row "push phases (sum/observations; slot_idle in slot-s)" "$PUSH_PHASES"
row "CPU, push only: crmsyncd, crmsim" "$PUSH_CPU s ($(echo "scale=1; $PUSH_CPU * 1000000 / $REC" | bc) us/record), $PUSH_SIM_CPU s"
if [ -z "${SKIP_NODE:-}" ]; then
  NODE_S=$(jq -r .seconds <<<"$NODE_JSON")
  row "node $(jq -r .client <<<"$NODE_JSON")" "$NODE_S s = $(jq -r .records_per_s <<<"$NODE_JSON") records/s, requests $(jq -r .requests_total <<<"$NODE_C"), cpu $(jq -r .cpu_s <<<"$NODE_JSON") s ($(echo "scale=1; $(jq -r .cpu_s <<<"$NODE_JSON") * 1000000 / $REC" | bc) us/record), peak RSS $(mb "$NODE_HWM") MB; crmsim CPU $NODE_SIM_CPU s"
  row "crmsyncd/node throughput (push only; end to end)" "$(x "$NODE_S" "$PUSH_S")x; $(x "$NODE_S" "$E2E_S")x   (target >= 1.2x)"
  row "crmsyncd/node peak RSS (push only; end to end)" "$(x "$PUSH_HWM" "$NODE_HWM"); $(x "$E2E_HWM" "$NODE_HWM")   (target <= 0.25)"
fi
if [ -n "$LAT" ]; then
  read -r ln p50 p99 pmax <<<"$LAT"
  dsent=$(($(ep "$LAT_C1" 'statuses.*write') - $(ep "$LAT_C0" 'statuses.*write')))
  row "opt-out latency, $ln/$WITHDRAWALS withdrawals, limit 100/10 s" "p50 $p50 ms, p99 $p99 ms, max $pmax ms   (target p99 <= 2000)"
  row "  during it: requests, 429s (whole run), status writes" "$(jq -r .requests_total <<<"$LAT_C1") total, $LAT_429 errors, $dsent status writes while injecting; RSS $(mb "$LAT_HWM") MB"
fi
