#!/usr/bin/env bash
# HTTP ingest authentication (issue 16): bearer tokens verified by liboauth2
# against a local JWKS, with the checks the daemon adds (exp, nbf, iss, aud,
# a cache never past the token's exp, scopes per event kind, bad tokens
# limited per address), and no token in any log line.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
ingest_config "bad_token_limit = 0"
start_ingest_daemon

EV='{"event_id":"a1","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T1","delta":100,"reason":"earn"}'
GOOD=$(mint)
assert_eq "$(post "$GOOD" "$EV")" 200 "good token: 200"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "good token: the event is applied"

check_refused() { # what token
  local code
  code=$(post "$2" "$EV")
  assert_eq "$code" 401 "$1: 401"
}
check_refused "expired token" "$(mint exp=-60)"
check_refused "token without exp" "$(mint exp=none)"
check_refused "token not yet valid" "$(mint nbf=600)"
check_refused "wrong audience" "$(mint aud=someone-else)"
check_refused "wrong issuer" "$(mint iss=https://evil.example)"
check_refused "forged signature (known kid)" "$(mint key=forger.pem)"
check_refused "unknown kid" "$(mint kid=k9)"
check_refused "alg none" "$(mint alg=none)"
check_refused "no token at all" ""
code=$(curl -s -o "$T/answer" -w '%{http_code}' -X POST "$INGEST_URL/v1/events" \
  -H "Authorization: Basic dXNlcjpwYXNz" -H "Content-Type: application/json" --data-binary "$EV")
assert_eq "$code" 401 "basic auth instead of a bearer token: 401"

# Scopes per event kind: the event without its scope is rejected, the
# others in the same request are applied.
PTS=$(mint scope=crmsync.points.write)
BODY='[{"event_id":"s1","type":"points","member":"M2","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T2","delta":5,"reason":"earn"},
{"event_id":"s2","type":"consent","member":"M2","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"sms","status":"denied","source":"till"}]'
assert_eq "$(post "$PTS" "$BODY")" 200 "missing scope for one event: the request is 200"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "the points event is applied"
assert_eq "$(answer 'a["results"][1]["result"]')" rejected "the consent event without its scope is rejected"
answer 'a["results"][1]["reason"]' | grep -q 'crmsync.consent.write' || fail "the reason names the scope"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M2'")" 1 "only the permitted event is stored"
NONE=$(mint scope=crmsync.members.read)
assert_eq "$(post "$NONE" "$EV")" 403 "a token with no write scope at all: 403"

# A token that expires while cached: accepted, then refused although the
# library's cache ([ingest] token_cache = 60s) still holds it.
SHORT=$(mint exp=3)
assert_eq "$(post "$SHORT" '{"event_id":"c1","type":"points","member":"M3","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T3","delta":1,"reason":"earn"}')" 200 "short-lived token accepted while valid"
sleep 4
assert_eq "$(post "$SHORT" '{"event_id":"c2","type":"points","member":"M3","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T4","delta":1,"reason":"earn"}')" 401 "the same token refused once expired, cache or not"

# GET /v1/members/{key} under its own scope.
code=$(curl -s -o "$T/answer" -w '%{http_code}' -H "Authorization: Bearer $GOOD" "$INGEST_URL/v1/members/M1")
assert_eq "$code" 200 "member read with crmsync.members.read"
code=$(curl -s -o "$T/answer" -w '%{http_code}' -H "Authorization: Bearer $PTS" "$INGEST_URL/v1/members/M1")
assert_eq "$code" 403 "member read without crmsync.members.read: 403"
code=$(curl -s -o "$T/answer" -w '%{http_code}' -H "Authorization: Bearer $GOOD" "$INGEST_URL/v1/members/NOPE")
assert_eq "$code" 404 "unknown member: 404"

# No token in any log line, whatever the level (the test runs at debug).
for t in "$GOOD" "$PTS" "$SHORT" "$(mint key=forger.pem)"; do
  if token_in_log "$t" "$T/daemon.log"; then fail "a token reached the log"; fi
done
pass "no token in the log (debug level)"
grep -q 'bearer token refused: expired' "$T/daemon.log" || fail "refusals are logged with their reason"
stop_daemon

