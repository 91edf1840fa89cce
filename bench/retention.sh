#!/usr/bin/env bash
# Bounded-state soak (issue 15, "Benchmark"): EVENTS events of the ingest
# benchmark's mix (bench/bench_events.h) over MEMBERS members, dropped into
# the running daemon's spool SLICE events at a time, with the HubSpot
# simulator as destination (rate limits off, so the push cursors move) and
# [state] change_retention = 0. After each slice it waits until HubSpot has
# every change (backlog 0) and compaction has caught up, then prints: the
# slice's ingest rate (changes/s from the rename into the spool to done/),
# the slice's total time with the push, database and WAL size, rows per
# table (crmsyncctl status --json) and the daemon's RSS. At the end, a full
# resync (SIGUSR1) from the compacted state, with the requests it made per
# HubSpot endpoint against the minimum (ceil(records / 100)).
#
#   bench/retention.sh BUILD_DIR [EVENTS [MEMBERS]]   # 10000000 200000
#
# BUILD_DIR: a Release build without sanitizers (crmsyncd, crmsyncctl,
# tests/sim/crmsim, bench/bench_ingest_gen); this script builds nothing.
# Env: SLICE (1000000), SYNC (state synchronous, default full as shipped),
# RATE (the HubSpot connector's rate and burst, default 1000: the limit off),
# SEED (42), BENCH_DIR (work directory parent, default /var/tmp; not tmpfs),
# KEEP=1, SKIP_RESYNC=1; [state] options: DEDUP_WINDOW (default 30d; down to
# just over the HubSpot lookback, 60s, so that a run shorter than 30 days
# prunes idempotency keys), AUDIT_RETENTION and LEDGER_RETENTION (default 0:
# keep; e.g. 5m and 30d: the audit moves to its archive, the ledger folds
# into opening balances while the soak runs), HISTORY_RETENTION (default
# 90d; e.g. 5m: push dead letters a later value resolved are deleted while
# the soak runs: the bench's email consents of members without an email
# and its "profiling" consents, which HubSpot has no subscription for, are
# dead letters by design, docs/hubspot.md "Rejected at push"). Each slice line ends with the
# load average (1, 5, 15 min) when it was printed.
# The event stream dates event i at 2026-01-01 + i seconds (bench_events.h):
# up to about 29M events lie in the past of December 2026.
set -euo pipefail

BUILD=${1:?usage: bench/retention.sh BUILD_DIR [EVENTS [MEMBERS]]}
EVENTS=${2:-10000000}
MEMBERS=${3:-200000}
SLICE=${SLICE:-1000000}
SYNC=${SYNC:-full}
SEED=${SEED:-42}
# The daemon's HubSpot request budget (requests per second and bucket). The
# simulator runs without limits; at the connector's default (10/s) the push
# of 1M events took ~20 minutes a slice, ~10.7 requests/s (crmsim counters).
RATE=${RATE:-1000}
BUILD=$(cd "$BUILD" && pwd)
CRMSYNCD=$BUILD/crmsyncd
CTL=$BUILD/crmsyncctl
SIM=$BUILD/tests/sim/crmsim
GEN=$BUILD/bench/bench_ingest_gen
for b in "$CRMSYNCD" "$CTL" "$SIM" "$GEN"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }; done
for t in curl jq sqlite3 awk; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 2; }; done

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/crmsync-bench-ret.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
wait_for() { # TIMEOUT_S CMD...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

"$SIM" --flavor hubspot --listen 127.0.0.1:0 --token T1 --threads 2 \
  --ten-secondly-max 0 --daily-max 0 --search-per-second 0 >"$W/sim.out" 2>"$W/sim.log" &
SIM_PID=$!
PIDS+=("$SIM_PID")
wait_for 10 test -s "$W/sim.out" || { echo "crmsim did not start" >&2; exit 1; }
SIM_URL="http://$(head -n 1 "$W/sim.out" | sed 's/^listening //')"
sim_get() { curl -sf --max-time 120 "$SIM_URL/__sim/$1"; }

D=$W/d
mkdir -p "$D/spool" && mkdir -p -m 0700 "$D/state"
printf 'T1' >"$W/token"; chmod 600 "$W/token"
cat >"$D/crmsyncd.conf" <<CONF
[daemon]
log_level = info
shutdown_grace = 5s

[state]
path = $D/state/state.db
synchronous = $SYNC
change_retention = 0
${DEDUP_WINDOW:+dedup_window = $DEDUP_WINDOW}
${AUDIT_RETENTION:+audit_retention = $AUDIT_RETENTION}
${LEDGER_RETENTION:+ledger_retention = $LEDGER_RETENTION}
${HISTORY_RETENTION:+history_retention = $HISTORY_RETENTION}

[connector.shop]
type = spool
dir = $D/spool
scan_interval = 100ms

[connector.hs]
type = hubspot
base_url = $SIM_URL
allow_loopback_http = yes
token_file = $W/token
subscriptions = marketing=1001,loyalty_programme=1002
request_timeout = 30s
rate = $RATE
burst = $RATE
CONF
"$CRMSYNCD" -c "$D/crmsyncd.conf" >>"$D/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
wait_for 20 grep -q running "$D/daemon.log" || { tail "$D/daemon.log" >&2; exit 1; }

DB=$D/state/state.db
q() { sqlite3 -bail "file:$DB?mode=ro" "PRAGMA busy_timeout=10000;" "$1" 2>/dev/null | tail -n 1; }
# Every push cursor of hs at the log's end (O(1)).
pushed() {
  [ "$(q "SELECT 3 - COUNT(*) FROM push_cursors WHERE connector = 'hs'
           AND seq >= (SELECT COALESCE(MAX(seq), 0) FROM changes)")" = 0 ]
}
# Compaction has walked up to the newest change but one. meta.value is
# TEXT: compared uncast, any integer is less than it and this was always
# true (the slices' rows were read before compaction had caught up).
compacted() {
  [ "$(q "SELECT (SELECT COALESCE(MAX(seq), 0) FROM changes) - 1 <=
           COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'compact_from'), 0)")" = 1 ]
}

printf '%-6s %10s %10s %9s %9s %9s %8s %8s %8s  %s\n' slice events changes ingest_s "chg/s" \
  total_s db_MB wal_MB rss_MB "rows (changes current ledger idem_keys audit shadow opening dead_letters) | load"
done_events=0
slice=0
while [ "$done_events" -lt "$EVENTS" ]; do
  n=$SLICE
  [ $((done_events + n)) -le "$EVENTS" ] || n=$((EVENTS - done_events))
  slice=$((slice + 1))
  out=$("$GEN" -f "$done_events" -n "$n" -m "$MEMBERS" -s "$SEED" -o "$W/slice.src")
  changes=${out##*changes=}
  cp "$W/slice.src" "$D/spool/.s$slice.tmp"
  sync
  t0=$(now)
  mv "$D/spool/.s$slice.tmp" "$D/spool/s$(printf %04d $slice).jsonl"
  until [ -f "$D/spool/done/s$(printf %04d $slice).jsonl" ]; do
    kill -0 "$DAEMON_PID" 2>/dev/null || { tail "$D/daemon.log" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(now)
  wait_for 3600 pushed || { echo "push did not catch up" >&2; exit 1; }
  wait_for 600 compacted || { echo "compaction did not catch up" >&2; exit 1; }
  t2=$(now)
  rss=$(rss_kb "$DAEMON_PID")
  st=$("$CTL" -s "$DB" status --json)
  opening=$(q "SELECT COUNT(*) FROM points_opening")
  done_events=$((done_events + n))
  echo "$st" | jq -r --arg s "$slice" --arg e "$done_events" --arg c "$changes" \
    --arg t0 "$t0" --arg t1 "$t1" --arg t2 "$t2" --arg rss "$rss" --arg opening "$opening" '
    .storage as $g | (($t1 | tonumber) - ($t0 | tonumber)) as $ing |
    [$s, $e, $c, ($ing * 1000 | round / 1000), (($c | tonumber) / $ing | round),
     ((($t2 | tonumber) - ($t0 | tonumber)) * 10 | round / 10),
     ($g.db_bytes / 1e5 | round / 10), ($g.wal_bytes / 1e5 | round / 10),
     (($rss | tonumber) / 102.4 | round / 10),
     ([$g.rows.changes, $g.rows.current, $g.rows.points_ledger, $g.rows.idem_keys,
       $g.rows.audit, $g.rows.shadow, $opening, $g.rows.dead_letters] | map(tostring) | join(" "))] | @tsv' |
    awk -F'\t' -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
      '{ printf "%-6s %10s %10s %9s %9s %9s %8s %8s %8s  %s | %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, load }'
done
rejected=$(q "SELECT COALESCE(SUM(rejected), 0) FROM ingest_files")
echo "rejected lines: $rejected; daemon peak RSS (VmHWM): $(( $(hwm_kb "$DAEMON_PID") / 1024 )) MB"

if [ -z "${SKIP_RESYNC:-}" ]; then
  say "resync from the compacted state ..."
  curl -sf -X POST -H 'Content-Type: application/json' --data-binary '{}' "$SIM_URL/__sim/counters/reset" >/dev/null
  n=$(grep -c 'resync: pull complete' "$D/daemon.log" || true)
  t0=$(now)
  kill -USR1 "$DAEMON_PID"
  resynced() { [ "$(grep -c 'resync: pull complete' "$D/daemon.log")" -gt "$n" ]; }
  wait_for 3600 resynced || { echo "resync pull did not complete" >&2; exit 1; }
  sleep 2
  wait_for 3600 pushed || { echo "resync push did not complete" >&2; exit 1; }
  t1=$(now)
  echo "resync: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; requests by endpoint (minimum = ceil(records / 100)):"
  sim_get counters | jq -r '.endpoints | to_entries[] | select(.value.written > 0 or (.key | test("upsert|write|members")))
    | "\(.key) requests=\(.value.requests) records=\(.value.records) written=\(.value.written) minimum=\((.value.records + 99) / 100 | floor)"'
fi
echo
echo "ingest_s / chg/s: rename into the spool to done/ (push runs meanwhile); total_s: until"
echo "HubSpot has every change and compaction caught up; sizes from crmsyncctl status --json."
