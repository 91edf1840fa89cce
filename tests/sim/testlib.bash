# Helpers for tests/integration/sim_*.sh (sourced; not a test itself, so it
# does not end in .sh). Needs BUILD_DIR (binaries), curl and jq.
set -euo pipefail

SIM_BIN=${BUILD_DIR:?BUILD_DIR must point at the build directory}/tests/sim/crmsim
source "$(dirname "${BASH_SOURCE[0]}")/../support/crmsim.bash"
T=$(mktemp -d)
SIM_PID=
TOKEN=T1

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$T/sim.err" ]; then
        echo "--- crmsim stderr (tail) ---" >&2
        tail -n 20 "$T/sim.err" >&2
    fi
    exit 1
}

ok() {
    echo "ok - $*"
}

# sim_start [crmsim options...]: starts a HubSpot simulator on a free port,
# reads the port from its first stdout line, sets SIM_URL.
sim_start() { flavor_start hubspot "$@"; }

# flavor_start FLAVOR [crmsim options...]: the same for any flavour, with
# the static token T1 (tests not about auth skip the token dance).
flavor_start() {
    local flavor=$1
    shift
    crmsim_launch "$SIM_BIN" "$T/sim.out" "$T/sim.err" plain --flavor "$flavor" \
        --listen 127.0.0.1:0 --token T1 "$@" || fail "crmsim did not start"
    SIM_PID=$CRMSIM_PID
    SIM_URL=$CRMSIM_URL
    trap sim_cleanup EXIT
}

# Stops the simulator and requires a clean exit: under ASan a leak or any
# memory error makes the exit status nonzero.
sim_stop() {
    local rc=0
    [ -n "$SIM_PID" ] || return 0
    kill -TERM "$SIM_PID"
    wait "$SIM_PID" || rc=$?
    SIM_PID=
    [ "$rc" = 0 ] || fail "crmsim exited with status $rc"
}

sim_cleanup() {
    local rc=$?
    if [ -n "$SIM_PID" ]; then
        kill -TERM "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    rm -rf "$T"
    exit $rc
}

# req METHOD PATH [JSON]: API call with the bearer $TOKEN. Sets STATUS (the
# HTTP code, or "curl:N" when curl itself failed); body in $T/body, headers
# in $T/headers.
req() {
    local method=$1 path=$2 data=${3-} rc=0
    local args=(-s -X "$method" -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 30)
    [ -n "$TOKEN" ] && args+=(-H "Authorization: Bearer $TOKEN")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    : >"$T/body"
    STATUS=$(curl "${args[@]}" "$SIM_URL$path") || rc=$?
    [ "$rc" = 0 ] || STATUS="curl:$rc"
}

# ctl METHOD NAME [JSON|@FILE]: control endpoint call; prints the body,
# fails on non-2xx.
ctl() {
    local method=$1 name=$2 data=${3-}
    local args=(-s --fail-with-body -X "$method" --max-time 30)
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    curl "${args[@]}" "$SIM_URL/__sim/$name" || fail "control $method $name failed"
}

body() {
    jq -r "$1" "$T/body"
}

header() {
    tr -d '\r' <"$T/headers" | awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' \
        'tolower($1) == h { print $2 }'
}

expect_status() {
    [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS: $(head -c 600 "$T/body")"
}

expect_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# contacts_json N [PREFIX]: {"collections":{"contacts":[...]}} with N
# contacts, ids 1..N, updatedAt one second apart from 2026-02-01T00:00:01Z.
contacts_json() {
    local n=$1 prefix=${2:-m}
    jq -cn --argjson n "$n" --arg p "$prefix" '{collections: {contacts: [range(1; $n + 1) |
        {id: tostring, properties: {email: "\($p)\(.)@example.com", firstname: "F\(.)",
         lastname: "L\(.)"}, createdAt: 1767225600000, updatedAt: (1769904000000 + . * 1000)}]}}'
}
