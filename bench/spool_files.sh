#!/usr/bin/env bash
# Many small spool files (issue 14 item 13): FILES files of LINES events
# each are renamed into the spool of a running crmsyncd at once; the figure
# is files per second from the first rename to the last file in done/
# (polled every 50 ms). Builds nothing: pass a Release build dir.
#
#   bench/spool_files.sh BUILD_DIR [FILES [LINES]]
#
# Environment: SYNC (full: the default of [state] synchronous; or normal),
# BENCH_DIR (a temp dir under /var/tmp: a real disk, so fsync costs what it
# costs), KEEP=1 to keep it.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [FILES [LINES]]" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
FILES=${2:-10000}
LINES=${3:-2}
SYNC=${SYNC:-full}
CRMSYNCD="$BUILD/crmsyncd"
[ -x "$CRMSYNCD" ] || { echo "$0: $CRMSYNCD not built" >&2; exit 1; }
T=${BENCH_DIR:-$(mktemp -d /var/tmp/crmsync-spoolbench.XXXXXX)}
mkdir -p "$T/spool" "$T/stage" && mkdir -p -m 0700 "$T/state"
DAEMON_PID=
cleanup() {
  if [ -n "$DAEMON_PID" ]; then kill -9 "$DAEMON_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

awk -v files="$FILES" -v lines="$LINES" -v dir="$T/stage" 'BEGIN {
  for (f = 1; f <= files; f++) {
    name = sprintf("%s/f%06d.jsonl", dir, f)
    for (l = 1; l <= lines; l++)
      printf "{\"event_id\":\"e%d-%d\",\"type\":\"points\",\"member\":\"M%d\",\"occurred_at\":\"2026-11-01T10:00:00Z\",\"txn_id\":\"T%d-%d\",\"delta\":%d,\"reason\":\"earn\"}\n", f, l, f % 1000, f, l, l > name
    close(name)
  }
}'
cat > "$T/crmsyncd.conf" <<CONF
[daemon]
log_level = notice
[state]
path = $T/state/state.db
synchronous = $SYNC
[connector.shop]
type = spool
dir = $T/spool
scan_interval = 1s
CONF
"$CRMSYNCD" -c "$T/crmsyncd.conf" > "$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do grep -q running "$T/daemon.log" && break; sleep 0.1; done
grep -q running "$T/daemon.log" || { cat "$T/daemon.log"; exit 1; }

start=$(date +%s.%N)
find "$T/stage" -name '*.jsonl' -exec mv -t "$T/spool" {} +
while [ "$(ls -f "$T/spool/done" | wc -l)" -lt $((FILES + 2)) ]; do
  sleep 0.05
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.log"; exit 1; }
done
end=$(date +%s.%N)
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=
changes=$(sqlite3 "$T/state/state.db" 'SELECT COUNT(*) FROM changes')
awk -v s="$start" -v e="$end" -v n="$FILES" -v c="$changes" -v sync="$SYNC" 'BEGIN {
  printf "%d files (%d changes), synchronous=%s: %.1f s, %.0f files/s\n", n, c, sync, e - s, n / (e - s) }'
