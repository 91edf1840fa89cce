#!/usr/bin/env bash
# Backpressure on POST /v1/events (issue 16): 503 with Retry-After while the
# state store cannot be written (nothing of the request stored, the next
# request after it is free again is applied), and 429 with Retry-After while
# a destination's backlog is over [ingest] max_backlog, except for consent
# withdrawals and erasures, which always pass.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
# A HubSpot destination nobody answers (a port held, never listened on):
# nothing it is given is ever pushed, so its backlog only grows.
refused_port
printf 'T1' > "$T/token"; chmod 600 "$T/token"
ingest_config "max_backlog = 5"
cat >> "$T/crmsyncd.conf" <<CONF

[connector.hs]
type = hubspot
base_url = http://127.0.0.1:$REFUSED_PORT
allow_loopback_http = yes
token_file = $T/token
subscriptions = marketing=1001
pull_interval = 1h
request_timeout = 2s
CONF
sed -i 's/^busy_timeout = .*//; s/^\[state\]$/[state]\nbusy_timeout = 200ms/' "$T/crmsyncd.conf"
start_ingest_daemon
TOKEN=$(mint client=till-bp)

pts() { # id
  printf '{"event_id":"%s","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"%s","delta":1,"reason":"earn"}' "$1" "$1"
}
optout() { # id
  printf '{"event_id":"%s","type":"consent","member":"M2","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"email","status":"denied","legal_basis":"consent","source":"till"}' "$1"
}
# post_h TOKEN BODY: like post, with the response headers in $T/headers.
post_h() {
  curl -s -D "$T/headers" -o "$T/answer" -w '%{http_code}' -X POST "$INGEST_URL/v1/events" \
    -H "Authorization: Bearer $1" -H "Content-Type: application/json" --data-binary "$2"
}
retry_after() { tr -d '\r' < "$T/headers" | sed -n 's/^[Rr]etry-[Aa]fter: *//p'; }

# --- 503: another process holds the database's write lock --------------------
python3 - "$T/state/state.db" "$T/locked" "$T/unlock" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
db.execute("ROLLBACK")
PY
LOCKER=$!
PIDS+=("$LOCKER")
wait_for 10 test -e "$T/locked" || fail "the locker did not take the lock"
assert_eq "$(post_h "$TOKEN" "$(pts p1)")" 503 "the store cannot be written: 503"
assert_eq "$(answer 'a["error"]')" not_stored "503: error not_stored"
[ -n "$(retry_after)" ] || fail "503 without Retry-After: $(cat "$T/headers")"
pass "503 carries Retry-After: $(retry_after)"
touch "$T/unlock"
wait "$LOCKER"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id = 'p1'")" 0 "nothing of the 503 request was stored"
assert_eq "$(post_h "$TOKEN" "$(pts p1)")" 200 "the lock gone, the same request: 200"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "the resent event is applied (not a replay of the 503)"

# --- 429: the destination's backlog is over max_backlog ----------------------
BATCH=$(python3 -c 'import json; print(json.dumps([{"event_id":"b%d"%i,"type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"B%d"%i,"delta":1,"reason":"earn"} for i in range(8)]))')
assert_eq "$(post_h "$TOKEN" "$BATCH")" 200 "8 events: 200 (the backlog was under its bound)"
n=0
refused() { n=$((n + 1)); [ "$(post_h "$TOKEN" "$(pts q$n)")" = 429 ]; }
wait_for 30 refused || fail "no 429 while the backlog is over max_backlog: $(cat "$T/answer")"
pass "the backlog over max_backlog: 429"
assert_eq "$(answer 'a["error"]')" backlog "429: error backlog"
answer 'a["detail"]' | grep -q 'hs' || fail "429 names the destination: $(cat "$T/answer")"
[ -n "$(retry_after)" ] || fail "429 without Retry-After: $(cat "$T/headers")"
pass "429 carries Retry-After: $(retry_after)"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id = 'q$n'")" 0 "nothing of the 429 request was stored"
grep -q 'events are answered 429' "$T/daemon.log" || fail "the log does not say why events get 429"
pass "the log says why events get 429"
# An opt-out is never held up by a backlog.
assert_eq "$(post_h "$TOKEN" "$(optout w1)")" 200 "a consent withdrawal during the backlog: 200"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "the withdrawal is applied"
assert_eq "$(post_h "$TOKEN" "[$(optout w2),$(pts q999)]")" 429 "a withdrawal with points in one request: 429"
stop_daemon
