# Helpers for tests/integration/sim_salesforce_*.sh (sourced). Builds on
# testlib.bash (req, ctl, body, header, expect_*); needs curl, jq, openssl.
source "${SRC_DIR:?}/tests/sim/testlib.bash"

V=v60.0
D=/services/data/$V

# sf_start [crmsim options...]: a Salesforce simulator on a free port with a
# static session token T1 (so tests not about OAuth skip the token dance).
sf_start() { flavor_start salesforce "$@"; }

# q SOQL: GET /query?q=... (URL-encoded by curl).
q() {
    local rc=0
    : >"$T/body"
    STATUS=$(curl -s -G -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 30 \
        -H "Authorization: Bearer $TOKEN" --data-urlencode "q=$2" "$SIM_URL$D/$1") || rc=$?
    [ "$rc" = 0 ] || STATUS="curl:$rc"
}

b64url() {
    base64 -w0 | tr '+/' '-_' | tr -d '='
}

# jwt KEY CLAIMS-JSON: an RS256 JWS signed with the openssl CLI.
jwt() {
    local h p s
    h=$(printf '{"alg":"RS256"}' | b64url)
    p=$(printf '%s' "$2" | b64url)
    s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$1" -binary | b64url)
    printf '%s.%s.%s' "$h" "$p" "$s"
}

# token FORM-BODY: POST /services/oauth2/token.
token() {
    local rc=0
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' --data "$1" \
        "$SIM_URL/services/oauth2/token") || rc=$?
    [ $rc = 0 ] || STATUS="curl:$rc"
}

# seed_contacts N STAMP_MS [STEP_MS]: N contacts (store ids 1..N), member
# keys m1..mN, SystemModstamp STAMP + i*STEP.
seed_contacts() {
    local n=$1 stamp=$2 step=${3:-1000}
    jq -cn --argjson n "$n" --argjson s "$stamp" --argjson st "$step" '{collections: {Contact:
        [range(1; $n + 1) | {id: tostring, properties: {LastName: "L\(.)", FirstName: "F\(.)",
         Email: "m\(.)@example.com", Member_Key__c: "m\(.)"}, createdAt: $s,
         updatedAt: ($s + . * $st)}]}}' >"$T/seed.json"
    ctl POST seed @"$T/seed.json" >/dev/null
}
