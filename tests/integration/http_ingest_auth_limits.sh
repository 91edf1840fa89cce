#!/usr/bin/env bash
# HTTP ingest authentication, the parts around liboauth2 (issue 16): a
# misconfigured liboauth2 cache logs the token itself, and the daemon's log
# sink still redacts it; bad tokens are limited per client address before
# any verification (429 with Retry-After).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
EV='{"event_id":"a1","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T1","delta":100,"reason":"earn"}'

# A misconfigured cache makes liboauth2 log the token itself: still redacted.
ingest_config "verify_options = verify.cache=nonexistent"
start_ingest_daemon misconf
GOOD=$(mint)
post "$GOOD" "$EV" > /dev/null || true
grep -q 'liboauth2' "$T/misconf.log" || fail "the library's messages reach the log"
if token_in_log "$GOOD" "$T/misconf.log"; then
  fail "the token reached the log through liboauth2's cache messages"
fi
pass "liboauth2's own messages are redacted"
stop_daemon

# Bad tokens are limited per address before verification.
ingest_config "bad_token_limit = 3"
start_ingest_daemon limited
FORGED=$(mint key=forger.pem)
for i in 1 2 3; do post "$FORGED" "$EV" > /dev/null; done
assert_eq "$(post "$FORGED" "$EV")" 429 "the 4th bad token within a minute: 429"
curl -s -D "$T/headers" -o /dev/null -X POST "$INGEST_URL/v1/events" -H "Authorization: Bearer $FORGED" \
  -H "Content-Type: application/json" --data-binary "$EV"
grep -qi '^Retry-After: [0-9]' "$T/headers" || fail "429 carries Retry-After"
assert_eq "$(post "$(mint)" "$EV")" 429 "even a good token waits while the address is limited"
stop_daemon
