#!/usr/bin/env bash
# crmsim Salesforce: OAuth 2.0 JWT bearer (RS256 assertion checked for iss,
# sub, aud, exp and signature) and client credentials; the token response
# shape (no expires_in); sessions that expire into 401 INVALID_SESSION_ID.
source "${SRC_DIR:?}/tests/sim/salesforce_testlib.bash"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.pem" 2>/dev/null
sf_start --client-id CK --client-secret CS --sf-username int@example.com \
    --sf-jwt-public-key "$T/pub.pem" --token-lifetime 600
GRANT='grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer'
NOW=$(date +%s)
claims() { # claims ISS SUB AUD EXP
    jq -cn --arg i "$1" --arg s "$2" --arg a "$3" --argjson e "$4" \
        '{iss: $i, sub: $s, aud: $a, exp: $e}'
}

token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims CK int@example.com https://login.salesforce.com $((NOW + 120)))")"
expect_status 200 "JWT grant"
expect_eq "$(body .token_type)" "Bearer" "token_type"
expect_eq "$(body .instance_url)" "$SIM_URL" "instance_url is the simulator"
expect_eq "$(body 'has("expires_in")')" "false" "no expires_in"
[[ $(body .issued_at) =~ ^[0-9]{13}$ ]] || fail "issued_at not epoch ms: $(body .issued_at)"
[[ $(body .access_token) == 00D*'!'* ]] || fail "session id shape: $(body .access_token)"
[[ $(body .id) == "$SIM_URL/id/"* ]] || fail "id URL: $(body .id)"
# signature = base64(HMAC-SHA256(secret, id + issued_at))
SIG=$(printf '%s%s' "$(body .id)" "$(body .issued_at)" |
    openssl dgst -sha256 -hmac CS -binary | base64 -w0)
expect_eq "$(body .signature)" "$SIG" "signature"
AT=$(body .access_token)
token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims CK int@example.com "$SIM_URL" $((NOW + 60)))")"
expect_status 200 "JWT grant with the simulator's own URL as aud"
ok "JWT bearer grant accepted"

token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims CK int@example.com https://evil.example $((NOW + 60)))")"
expect_eq "$STATUS/$(body .error)/$(body .error_description)" "400/invalid_grant/audience is invalid" "wrong aud"
token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims CK int@example.com https://login.salesforce.com $((NOW - 10)))")"
expect_eq "$STATUS/$(body .error)" "400/invalid_grant" "expired assertion"
token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims CK int@example.com https://login.salesforce.com $((NOW + 600)))")"
expect_eq "$STATUS/$(body .error)" "400/invalid_grant" "exp more than 3 minutes ahead"
token "$GRANT&assertion=$(jwt "$T/other.pem" "$(claims CK int@example.com https://login.salesforce.com $((NOW + 60)))")"
expect_eq "$STATUS/$(body .error)/$(body .error_description)" "400/invalid_grant/invalid assertion" "bad signature"
token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims NOPE int@example.com https://login.salesforce.com $((NOW + 60)))")"
expect_eq "$STATUS/$(body .error)" "400/invalid_client_id" "wrong iss"
token "$GRANT&assertion=$(jwt "$T/key.pem" "$(claims CK other@example.com https://login.salesforce.com $((NOW + 60)))")"
expect_eq "$STATUS/$(body .error)" "400/invalid_grant" "wrong sub"
token "$GRANT&assertion=not.a.jwt"
expect_eq "$STATUS/$(body .error)" "400/invalid_grant" "garbage assertion"
ok "JWT bearer grant rejected: aud, exp, signature, iss, sub"

token "grant_type=client_credentials&client_id=CK&client_secret=CS"
expect_status 200 "client credentials"
expect_eq "$(body 'has("expires_in")')/$(body .token_type)" "false/Bearer" "cc token shape"
CC=$(body .access_token)
token "grant_type=client_credentials&client_id=CK&client_secret=bad"
expect_eq "$STATUS/$(body .error)" "400/invalid_client" "bad client secret"
token "grant_type=password&username=x"
expect_eq "$STATUS/$(body .error)" "400/unsupported_grant_type" "unsupported grant"
ok "client credentials grant"

ctl POST clock '{"freeze": true}' >/dev/null
for t in "$AT" "$CC"; do
    TOKEN=$t
    req GET "$D/query?q=SELECT+Id+FROM+Contact"
    expect_status 200 "session works"
    [[ $(header Sforce-Limit-Info) =~ ^api-usage=[0-9]+/250000$ ]] || fail "limit header"
done
ctl POST clock '{"advance_ms": 600001}' >/dev/null
req GET "$D/query?q=SELECT+Id+FROM+Contact"
expect_status 401 "session expired"
expect_eq "$(body '.[0].errorCode')/$(body '.[0].message')" \
    "INVALID_SESSION_ID/Session expired or invalid" "expired body"
TOKEN=bogus
req GET "$D/query?q=SELECT+Id+FROM+Contact"
expect_eq "$STATUS/$(body '.[0].errorCode')" "401/INVALID_SESSION_ID" "unknown session"
TOKEN=T1
req GET "/services/data/v99.0/query?q=SELECT+Id+FROM+Contact"
expect_eq "$STATUS/$(body '.[0].errorCode')" "404/NOT_FOUND" "unknown API version"
ok "expired and invalid sessions answer 401 INVALID_SESSION_ID"
sim_stop
