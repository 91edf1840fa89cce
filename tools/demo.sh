#!/usr/bin/env bash
# The README demo: runs crmsyncd on the embedded default (a SQLite state and
# a spool directory) with a demo event file, then shows what it ingested.
# Usage: tools/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DEMO=$(pwd)/demo-run
rm -rf "$DEMO" && mkdir -p "$DEMO/spool" "$DEMO/state"
cat > "$DEMO/crmsyncd.conf" <<CONF
[daemon]
log_level = info

[state]
path = $DEMO/state/state.db

[connector.shop]
type = spool
dir = $DEMO/spool
scan_interval = 1s
CONF

"$BUILD/crmsyncd" --check-config -c "$DEMO/crmsyncd.conf"
"$BUILD/crmsyncd" -c "$DEMO/crmsyncd.conf" 2> "$DEMO/crmsyncd.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# Drop the file the way a shop should: write under a hidden name, rename.
cp config/demo/shop-2026-11-24.jsonl "$DEMO/spool/.incoming.tmp"
mv "$DEMO/spool/.incoming.tmp" "$DEMO/spool/shop-2026-11-24.jsonl"
for _ in $(seq 100); do
  [ -f "$DEMO/spool/done/shop-2026-11-24.jsonl" ] && break
  sleep 0.1
done
echo
echo "== daemon log"
cat "$DEMO/crmsyncd.log"
echo
echo "== failed/ report (bad lines with file:line)"
cat "$DEMO/spool/failed/"*.err 2>/dev/null || echo "(none)"
echo
echo "== crmsyncctl status"
"$BUILD/crmsyncctl" -c "$DEMO/crmsyncd.conf" status
kill -TERM $pid
wait $pid
trap - EXIT
echo
echo "demo state kept in $DEMO (sqlite3 $DEMO/state/state.db)"
