#!/usr/bin/env bash
# crmsim HubSpot: bearer tokens, the OAuth refresh-token grant (RFC 6749
# errors, rotation, expiry), and the rate limits (TEN_SECONDLY_ROLLING,
# DAILY, search SECONDLY) with their headers. The clock is frozen so the
# windows move only when the test advances it.
source "${SRC_DIR:?}/tests/sim/testlib.bash"
sim_start --refresh-token RT1 --client-id cid --client-secret csec --rotate-refresh-tokens \
    --ten-secondly-max 3 --daily-max 5 --search-per-second 2
ctl POST clock '{"freeze": true}' >/dev/null
L=/crm/objects/2026-09/contacts

TOKEN=
req GET $L
expect_status 401 "no token"
expect_eq "$(body .category)" "INVALID_AUTHENTICATION" "no token category"
TOKEN=wrong
req GET $L
expect_status 401 "unknown token"
ok "missing and unknown tokens"

token() { # token FORM-BODY: POST the token endpoint
    local rc=0
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' --data "$1" \
        "$SIM_URL/oauth/2026-03/token") || rc=$?
    [ $rc = 0 ] || STATUS="curl:$rc"
}
token 'grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=RT1'
expect_status 200 "refresh grant"
expect_eq "$(body .token_type)/$(body .expires_in)" "bearer/1800" "token type and lifetime"
AT=$(body .access_token)
RT2=$(body .refresh_token)
[ "$RT2" != RT1 ] || fail "rotation: refresh token unchanged"
token 'grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=RT1'
expect_status 400 "rotated-out refresh token"
expect_eq "$(body .error)" "invalid_grant" "invalid_grant"
token "grant_type=refresh_token&client_id=cid&client_secret=nope&refresh_token=$RT2"
expect_status 401 "bad client secret"
expect_eq "$(body .error)" "invalid_client" "invalid_client"
token "grant_type=password&client_id=cid&client_secret=csec"
expect_eq "$STATUS/$(body .error)" "400/unsupported_grant_type" "unsupported grant"
token "client_id=cid"
expect_eq "$STATUS/$(body .error)" "400/invalid_request" "missing grant_type"
ok "OAuth refresh grant and RFC 6749 errors"

TOKEN=$AT
req GET "$L?limit=1"
expect_status 200 "access token works"
ctl POST clock '{"advance_ms": 1800001}' >/dev/null
req GET "$L?limit=1"
expect_status 401 "expired after 30 minutes"
expect_eq "$(body .category)" "EXPIRED_AUTHENTICATION" "expired category"
token "grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=$RT2"
AT=$(body .access_token)
TOKEN=$AT
req GET "$L?limit=1"
expect_status 200 "refreshed token works"
ctl POST tokens/expire >/dev/null
req GET "$L?limit=1"
expect_status 401 "expired via control"
ok "token expiry"

# Ten-secondly window: 3 per rolling 10 s. The clock advanced by 30 min
# above, so the window holds only requests made since.
TOKEN=T1
ctl POST clock '{"advance_ms": 20000}' >/dev/null
ctl POST config '{"daily-max": 1000}' >/dev/null
req GET "$L?limit=1"
expect_eq "$(header X-HubSpot-RateLimit-Max)/$(header X-HubSpot-RateLimit-Remaining)" "3/2" "headers"
expect_eq "$(header X-HubSpot-RateLimit-Interval-Milliseconds)" "10000" "interval header"
req GET "$L?limit=1"
req GET "$L?limit=1"
expect_status 200 "third request"
expect_eq "$(header X-HubSpot-RateLimit-Remaining)" "0" "remaining 0"
req GET "$L?limit=1"
expect_status 429 "fourth request in 10 s"
expect_eq "$(body .policyName)/$(body .errorType)" "TEN_SECONDLY_ROLLING/RATE_LIMIT" "429 body"
ctl POST clock '{"advance_ms": 10000}' >/dev/null
req GET "$L?limit=1"
expect_status 200 "window rolled"
ok "TEN_SECONDLY_ROLLING"

# Search: its own 2/s limit, no rate-limit headers.
S=$L/search
req POST $S '{}'
expect_status 200 "search 1"
[ -z "$(header X-HubSpot-RateLimit-Remaining)" ] || fail "search carries rate-limit headers"
req POST $S '{}'
req POST $S '{}'
expect_status 429 "third search in one second"
expect_eq "$(body .policyName)" "SECONDLY" "search policy"
ok "search SECONDLY"

# Daily budget: resets at UTC midnight.
ctl POST clock '{"advance_ms": 20000}' >/dev/null
ctl POST config '{"daily-max": 3, "ten-secondly-max": 0}' >/dev/null
ctl POST reset >/dev/null # resets the counters of today's usage
ctl POST clock '{"freeze": true}' >/dev/null
for i in 1 2 3; do req GET "$L?limit=1"; expect_status 200 "daily $i"; done
expect_eq "$(header X-HubSpot-RateLimit-Daily)/$(header X-HubSpot-RateLimit-Daily-Remaining)" "3/0" "daily headers"
req GET "$L?limit=1"
expect_status 429 "daily budget spent"
expect_eq "$(body .policyName)" "DAILY" "daily policy"
ctl POST clock '{"advance_ms": 86400000}' >/dev/null
req GET "$L?limit=1"
expect_status 200 "next day"
ok "DAILY budget"

# Limits off for benchmarks.
ctl POST config '{"rate-limits": false}' >/dev/null
for i in 1 2 3 4; do req POST $S '{}'; expect_status 200 "unlimited search $i"; done
ok "rate limits can be disabled"

sim_stop
ok "clean exit"
