#!/usr/bin/env bash
# Throughput of the crmsim HubSpot simulator on loopback (keep-alive), so a
# benchmark can show the simulator is not its bottleneck. Prints figures;
# never fails on timing. Needs wrk (Debian package `wrk`).
#
#   bench/bench_sim.sh [BUILD_DIR] [SECONDS]
#
# 1. small GETs: GET one contact by id (auth + rate-limit headers on);
# 2. batch upserts of 100 contacts by email (rate limits off, as for any
#    throughput benchmark; every request rewrites the same 100 records).
set -euo pipefail
BUILD_DIR=${1:-build}
DUR=${2:-10}
SIM=$BUILD_DIR/tests/sim/crmsim
command -v wrk >/dev/null || { echo "bench_sim: needs wrk (apt-get install wrk)" >&2; exit 2; }
T=$(mktemp -d)
"$SIM" --flavor hubspot --listen 127.0.0.1:0 --token BENCH --threads 2 \
    --ten-secondly-max 0 --daily-max 0 --search-per-second 0 >"$T/out" 2>"$T/err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
URL="http://$(head -n 1 "$T/out" | cut -d' ' -f2)"

jq -cn '{inputs: [range(0; 100) | {id: "bench\(.)@example.com", idProperty: "email",
    properties: {firstname: "B\(.)", lastname: "Mark", phone: "+4412345\(.)"}}]}' >"$T/batch.json"
curl -sf -X POST -H 'Authorization: Bearer BENCH' -H 'Content-Type: application/json' \
    --data-binary @"$T/batch.json" "$URL/crm/objects/2026-09/contacts/batch/upsert" >/dev/null

cat >"$T/upsert.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer BENCH"
local f = io.open("$T/batch.json", "r")
wrk.body = f:read("*a")
f:close()
LUA

echo "== small GET /crm/objects/2026-09/contacts/1 (${DUR}s, 2 threads, 64 connections)"
wrk -t2 -c64 -d"${DUR}s" -H 'Authorization: Bearer BENCH' "$URL/crm/objects/2026-09/contacts/1" |
    grep -E 'Requests/sec|Latency|requests in|Non-2xx'
echo "== batch upsert, 100 records/request (${DUR}s, 2 threads, 16 connections)"
wrk -t2 -c16 -d"${DUR}s" -s "$T/upsert.lua" "$URL/crm/objects/2026-09/contacts/batch/upsert" |
    grep -E 'Requests/sec|Latency|requests in|Non-2xx'
echo "== simulator counters"
curl -s "$URL/__sim/counters" | jq -c '{requests_total, records_written_total}'
