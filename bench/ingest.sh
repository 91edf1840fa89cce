#!/usr/bin/env bash
# Ingest benchmark (issue 2): one spool file of N events through the real
# crmsyncd, against a reference loop that executes the same SQL per change
# without parsing or merging (bench_ingest_ref.c). Builds nothing: pass a
# Release build dir without sanitizers.
#
#   bench/ingest.sh BUILD_DIR [EVENTS [MEMBERS]]
#
# Environment: MODES ("normal full"), TXN (5000, the [state] txn_max_changes
# default and the reference's transaction size), REPEAT (1; with more, a
# median row per mode follows), SEED (42), BENCH_DIR (a temp dir under
# ${TMPDIR:-/tmp}; it must be on a real disk, not tmpfs, or fsync is free),
# KEEP=1 to keep it.
#
# The daemon's time is from the atomic rename into the spool to the file
# appearing in done/ (polled every 10 ms); ingest_files.started_at /
# finished_at in the database give a cross-check that excludes the pickup
# latency. Peak RSS is VmHWM from /proc/PID/status just before SIGTERM.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [EVENTS [MEMBERS]]" >&2; exit 2; }
[ $# -ge 1 ] || usage
BUILD=$(cd "$1" && pwd)
EVENTS=${2:-1000000}
MEMBERS=${3:-200000}
MODES=${MODES:-normal full}
TXN=${TXN:-5000}
REPEAT=${REPEAT:-1}
SEED=${SEED:-42}
GEN="$BUILD/bench/bench_ingest_gen"
REF="$BUILD/bench/bench_ingest_ref"
CRMSYNCD="$BUILD/crmsyncd"
for b in "$GEN" "$REF" "$CRMSYNCD"; do
  [ -x "$b" ] || { echo "$0: $b not built" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "$0: needs the sqlite3 shell" >&2; exit 1; }

if [ -n "${BENCH_DIR:-}" ]; then
  T=$BENCH_DIR
  mkdir -p "$T"
else
  T=$(mktemp -d "${TMPDIR:-/tmp}/crmsync-bench.XXXXXX")
fi
DAEMON_PID=
cleanup() {
  if [ -n "$DAEMON_PID" ]; then kill -9 "$DAEMON_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

now() { date +%s.%N; }

echo "# generating $EVENTS events over $MEMBERS members (seed $SEED) ..." >&2
GENOUT=$("$GEN" -n "$EVENTS" -m "$MEMBERS" -s "$SEED" -o "$T/bench.jsonl.src")
CHANGES=${GENOUT##*changes=}
echo "# $GENOUT, $(du -m "$T/bench.jsonl.src" | cut -f1) MB; txn_max_changes=$TXN;" \
     "$(nproc) cores; $(uname -r)" >&2

ROWS=()
run_daemon() { # mode rep -> "seconds rate hwm_mb db_seconds"
  local mode=$1 d="$T/d-$1-$2"
  rm -rf "$d"
  mkdir -p "$d/spool" && mkdir -p -m 0700 "$d/state"
  cat > "$d/crmsyncd.conf" <<CONF
[daemon]
log_level = info

[state]
path = $d/state/state.db
synchronous = $mode
txn_max_changes = $TXN

[connector.shop]
type = spool
dir = $d/spool
scan_interval = 1s
CONF
  "$CRMSYNCD" -c "$d/crmsyncd.conf" >"$d/daemon.log" 2>&1 &
  DAEMON_PID=$!
  local i
  for i in $(seq 200); do
    grep -q running "$d/daemon.log" && break
    sleep 0.05
  done
  grep -q running "$d/daemon.log" || { cat "$d/daemon.log" >&2; exit 1; }
  # The copy is not timed: the shop writes a hidden file, then renames.
  cp "$T/bench.jsonl.src" "$d/spool/.bench.jsonl.tmp"
  sync
  sleep 1
  local t0 t1
  t0=$(now)
  mv "$d/spool/.bench.jsonl.tmp" "$d/spool/bench.jsonl"
  until [ -f "$d/spool/done/bench.jsonl" ]; do
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$d/daemon.log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(now)
  local hwm
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$DAEMON_PID/status")
  kill -TERM "$DAEMON_PID"
  wait "$DAEMON_PID" || { echo "$0: crmsyncd exited $?" >&2; exit 1; }
  DAEMON_PID=
  local db
  db=$(sqlite3 "$d/state/state.db" "SELECT (finished_at - started_at) / 1000.0,
        applied + unchanged + duplicates + rejected, rejected FROM ingest_files")
  local db_s=${db%%|*} rest=${db#*|}
  local db_changes=${rest%%|*} rejected=${rest#*|}
  if [ "$db_changes" != "$CHANGES" ] || [ "$rejected" != 0 ]; then
    echo "$0: daemon counted $db_changes changes ($rejected rejected), expected $CHANGES" >&2
    exit 1
  fi
  awk -v t0="$t0" -v t1="$t1" -v c="$CHANGES" -v h="$hwm" -v dbs="$db_s" \
    'BEGIN { s = t1 - t0; printf "%.3f %.0f %.1f %.3f %.0f\n", s, c / s, h / 1024, dbs, c / dbs }'
  [ "${KEEP:-0}" = 1 ] || rm -rf "$d"
}

run_ref() { # mode rep -> "seconds rate rss_mb"
  local db="$T/ref-$1-$2.db" out
  rm -f "$db" "$db-wal" "$db-shm"
  # The previous run's database is still being written back: let it finish
  # so it does not slow this one down.
  sync
  out=$("$REF" -d "$db" -n "$EVENTS" -m "$MEMBERS" -s "$SEED" -t "$TXN" -S "$1")
  [ "${KEEP:-0}" = 1 ] || rm -f "$db" "$db-wal" "$db-shm"
  # changes=... seconds=... rate=... maxrss_kb=...
  echo "$out" | tr ' ' '\n' | awk -F= '{v[$1] = $2}
    END { printf "%s %s %.1f %s\n", v["seconds"], v["rate"], v["maxrss_kb"] / 1024, v["changes"] }'
}

for rep in $(seq "$REPEAT"); do
  for mode in $MODES; do
    echo "# run $rep/$REPEAT, synchronous=$mode: daemon ..." >&2
    read -r ds dr dh dbs dbr < <(run_daemon "$mode" "$rep")
    echo "# run $rep/$REPEAT, synchronous=$mode: reference ..." >&2
    read -r rs rr rh rc < <(run_ref "$mode" "$rep")
    [ "$rc" = "$CHANGES" ] || { echo "$0: reference made $rc changes, not $CHANGES" >&2; exit 1; }
    ROWS+=("$mode $rep $ds $dr $dbs $dbr $dh $rs $rr $rh")
  done
done

printf '\n%-8s %-4s %9s %9s %8s %11s %11s %6s %8s %11s %8s\n' mode run events changes \
  seconds changes/s "db chg/s" "% ref" "RSS MB" "ref chg/s" "ref RSS"
for row in "${ROWS[@]}"; do
  read -r mode rep ds dr dbs dbr dh rs rr rh <<<"$row"
  printf '%-8s %-4s %9s %9s %8.2f %11.0f %11.0f %5.0f%% %8.1f %11.0f %8.1f\n' "$mode" "$rep" \
    "$EVENTS" "$CHANGES" "$ds" "$dr" "$dbr" "$(awk -v a="$dr" -v b="$rr" 'BEGIN{print 100*a/b}')" \
    "$dh" "$rr" "$rh"
done
if [ "$REPEAT" -gt 1 ]; then
  for mode in $MODES; do
    printf '%s\n' "${ROWS[@]}" | awk -v m="$mode" -v ev="$EVENTS" -v ch="$CHANGES" '
      function med(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      $1 == m { n++; ds[n] = $3; dr[n] = $4; dbr[n] = $6; dh[n] = $7; rr[n] = $9; rh[n] = $10; pc[n] = 100 * $4 / $9 }
      END {
        if (n) printf "%-8s %-4s %9s %9s %8.2f %11.0f %11.0f %5.0f%% %8.1f %11.0f %8.1f\n", m, "med",
          ev, ch, med(ds, n), med(dr, n), med(dbr, n), med(pc, n), med(dh, n), med(rr, n), med(rh, n)
      }'
  done
fi
echo
echo "seconds/changes/s: drop (rename into the spool) to done/; db chg/s: ingest_files"
echo "finished_at - started_at; % ref: daemon changes/s over the reference loop's, same"
echo "synchronous and transaction size; RSS: daemon VmHWM, reference ru_maxrss."
