#!/usr/bin/env bash
# Throughput of the crmsim HubSpot simulator on loopback (keep-alive), so a
# benchmark can show the simulator is not its bottleneck. Prints figures;
# never fails on timing. Needs wrk (Debian package `wrk`), jq and curl.
#
#   bench/bench_sim.sh [BUILD_DIR] [SECONDS]
#   SIM_OPTS='--fast-paths false' bench/bench_sim.sh ...   # extra crmsim options
#
# 1. small GETs: GET one contact by id (auth + rate-limit headers on);
# 2. batch upserts of 100 contacts by email (rate limits off, as for any
#    throughput benchmark; every request rewrites the same 100 records);
# 3. communication-preferences statuses batch write, 100 inputs (requests
#    alternate SUBSCRIBED / UNSUBSCRIBED so every input changes a status);
# 4. list memberships, 100 record ids (requests alternate add / remove so
#    every id changes membership).
#
# Besides wrk's requests/s, each run prints the simulator's own CPU time per
# request (user + system of the crmsim process from /proc, divided by the
# requests wrk completed): on a shared machine that figure moves much less
# than requests/s, which depends on what else runs on the cores.
set -euo pipefail
BUILD_DIR=${1:-build}
DUR=${2:-10}
SIM=$BUILD_DIR/tests/sim/crmsim
command -v wrk >/dev/null || { echo "bench_sim: needs wrk (apt-get install wrk)" >&2; exit 2; }
T=$(mktemp -d)
"$SIM" --flavor hubspot --listen 127.0.0.1:0 --token BENCH --threads 2 \
    --ten-secondly-max 0 --daily-max 0 --search-per-second 0 ${SIM_OPTS:-} >"$T/out" 2>"$T/err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/out" ] && break; sleep 0.05; done
URL="http://$(head -n 1 "$T/out" | cut -d' ' -f2)"
TICK=$(getconf CLK_TCK)

jq -cn '{inputs: [range(0; 100) | {id: "bench\(.)@example.com", idProperty: "email",
    properties: {firstname: "B\(.)", lastname: "Mark", phone: "+4412345\(.)"}}]}' >"$T/batch.json"
curl -sf -X POST -H 'Authorization: Bearer BENCH' -H 'Content-Type: application/json' \
    --data-binary @"$T/batch.json" "$URL/crm/objects/2026-09/contacts/batch/upsert" >"$T/upserted.json"
jq -c '[.results[].id]' "$T/upserted.json" >"$T/ids.json"
LIST=$(curl -sf -X POST -H 'Authorization: Bearer BENCH' -H 'Content-Type: application/json' \
    --data '{"name":"bench","objectTypeId":"0-1","processingType":"MANUAL"}' \
    "$URL/crm/lists/2026-09" | jq -r .list.listId)
for state in SUBSCRIBED UNSUBSCRIBED; do
    jq -cn --arg s "$state" '{inputs: [range(0; 100) | {subscriberIdString: "bench\(.)@example.com",
        subscriptionId: 1001, statusState: $s, channel: "EMAIL",
        legalBasis: "CONSENT_WITH_NOTICE", legalBasisExplanation: "bench"}]}' >"$T/prefs_$state.json"
done

cat >"$T/upsert.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer BENCH"
local f = io.open("$T/batch.json", "r")
wrk.body = f:read("*a")
f:close()
LUA
# Two requests taken in turn (per wrk thread): PATH_A with BODY_A, PATH_B with BODY_B.
alternate() {
    cat <<LUA
local function slurp(p) local f = io.open(p, "r"); local s = f:read("*a"); f:close(); return s end
local hdr = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer BENCH"}
local a = wrk.format("$1", "$2", hdr, slurp("$3"))
local b = wrk.format("$1", "$4", hdr, slurp("$5"))
local n = 0
request = function() n = n + 1; if n % 2 == 1 then return a end; return b end
LUA
}
alternate POST /communication-preferences/2026-09/statuses/batch/write "$T/prefs_SUBSCRIBED.json" \
    /communication-preferences/2026-09/statuses/batch/write "$T/prefs_UNSUBSCRIBED.json" >"$T/prefs.lua"
alternate PUT "/crm/lists/2026-09/$LIST/memberships/add" "$T/ids.json" \
    "/crm/lists/2026-09/$LIST/memberships/remove" "$T/ids.json" >"$T/lists.lua"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
# run LABEL CONNECTIONS WRK_ARGS...: wrk, then requests/s and simulator CPU per request.
run() {
    local label=$1 conns=$2 before after out reqs
    shift 2
    echo "== $label (${DUR}s, 2 threads, $conns connections)"
    before=$(cpu_ticks)
    out=$(wrk -t2 -c"$conns" -d"${DUR}s" "$@")
    after=$(cpu_ticks)
    grep -E 'Requests/sec|Latency|requests in|Non-2xx' <<<"$out"
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    [ "${reqs:-0}" -gt 0 ] && awk -v t=$((after - before)) -v hz="$TICK" -v n="$reqs" \
        'BEGIN { printf "  crmsim CPU: %.0f us/request\n", t / hz * 1e6 / n }'
}

run "small GET /crm/objects/2026-09/contacts/1" 64 -H 'Authorization: Bearer BENCH' \
    "$URL/crm/objects/2026-09/contacts/1"
run "batch upsert, 100 records/request" 16 -s "$T/upsert.lua" \
    "$URL/crm/objects/2026-09/contacts/batch/upsert"
run "statuses batch write, 100 inputs/request" 16 -s "$T/prefs.lua" "$URL"
run "list memberships add/remove, 100 ids/request" 16 -s "$T/lists.lua" "$URL"
echo "== simulator counters"
curl -s "$URL/__sim/counters" | jq -c '{requests_total, records_written_total,
    written: (.endpoints | with_entries(select(.value.written > 0)) | map_values(.written))}'
