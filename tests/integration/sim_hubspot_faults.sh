#!/usr/bin/env bash
# crmsim HubSpot: every fault kind via the script, live through
# /__sim/config, and rate-based faults reproducible with --seed.
source "${SRC_DIR:?}/tests/sim/testlib.bash"
sim_start --rate-limits false --slow-ms 200 --stall-ms 200 --retry-after 7 --seed 42
U=/crm/objects/2026-09/contacts/batch/upsert
one() { echo "{\"inputs\":[{\"id\":\"$1@example.com\",\"idProperty\":\"email\",\"properties\":{}}]}"; }
script() { ctl POST config "{\"fault-script\": \"$1\"}" >/dev/null; }
exists() { # exists EMAIL -> prints 1 if the contact is stored
    ctl GET state | jq --arg e "$1" '[.collections.contacts[] | select(.properties.email == $e)] | length'
}

for code in 500 502 503; do
    script $code
    req POST $U "$(one f$code)"
    expect_status $code "fault $code"
    expect_eq "$(body .status)" "error" "$code body is HubSpot-shaped"
    expect_eq "$(exists f$code@example.com)" "0" "$code applies nothing"
done
ok "5xx"

script 429
req POST $U "$(one r)"
expect_status 429 "429"
expect_eq "$(header Retry-After)" "7" "Retry-After seconds"
script 429-date
req POST $U "$(one r)"
expect_status 429 "429-date"
[[ $(header Retry-After) =~ ^[A-Z][a-z]{2},\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ GMT$ ]] ||
    fail "Retry-After HTTP-date: '$(header Retry-After)'"
ok "429 with Retry-After (seconds and HTTP-date)"

script slow
req POST $U "$(one slow)"
expect_status 200 "slow still answers"
expect_eq "$(exists slow@example.com)" "1" "slow applies"
ok "slow"

script drop
req POST $U "$(one drop)"
expect_eq "$STATUS" "curl:52" "drop: empty reply"
expect_eq "$(exists drop@example.com)" "0" "drop applies nothing"
ok "connection drop"

script truncate
req POST $U "$(one trunc)"
expect_eq "$STATUS" "curl:18" "truncated body"
ok "truncated body"

script bad-json
req POST $U "$(one badjson)"
expect_status 200 "bad-json status"
if jq . "$T/body" >/dev/null 2>&1; then fail "bad-json body parsed"; fi
ok "invalid JSON body"

script token-expiry
req POST $U "$(one tok)"
expect_status 401 "token-expiry"
expect_eq "$(body .category)" "EXPIRED_AUTHENTICATION" "token-expiry category"
ok "token expiry"

script apply-drop
req POST $U "$(one applied)"
expect_eq "$STATUS" "curl:52" "apply-drop: no answer"
expect_eq "$(exists applied@example.com)" "1" "apply-drop: the write was applied"
script apply-stall
req POST $U "$(one stalled)"
[[ $STATUS == curl:* ]] || fail "apply-stall answered: $STATUS"
expect_eq "$(exists stalled@example.com)" "1" "apply-stall: the write was applied"
ok "timeout after the write was applied"

# The script is consumed in order; "ok" passes one request through.
script "503,ok,500"
req GET "/crm/objects/2026-09/contacts?limit=1"; s1=$STATUS
req GET "/crm/objects/2026-09/contacts?limit=1"; s2=$STATUS
req GET "/crm/objects/2026-09/contacts?limit=1"; s3=$STATUS
req GET "/crm/objects/2026-09/contacts?limit=1"; s4=$STATUS
expect_eq "$s1 $s2 $s3 $s4" "503 200 500 200" "script order"
ctl POST config '{"fault-script": "503", "fault-match": "/search"}' >/dev/null
req GET "/crm/objects/2026-09/contacts?limit=1"
expect_status 200 "fault-match skips other paths"
req POST /crm/objects/2026-09/contacts/search '{}'
expect_status 503 "fault-match hits search"
ctl DELETE faults >/dev/null
ok "fault script and match"

# Rates: same seed, same requests -> same faults.
run_rates() {
    ctl POST reset >/dev/null # re-seeds the RNG from --seed
    ctl POST config '{"faults": "503:0.3,500:0.2"}' >/dev/null
    local out=
    for _ in $(seq 30); do
        req GET "/crm/objects/2026-09/contacts?limit=1"
        out="$out$STATUS "
    done
    echo "$out"
}
a=$(run_rates)
b=$(run_rates)
expect_eq "$a" "$b" "reproducible with the seed"
n503=$(grep -o 503 <<<"$a" | wc -l)
n200=$(grep -o 200 <<<"$a" | wc -l)
[ "$n503" -gt 0 ] && [ "$n200" -gt 0 ] || fail "rates produced no mix: $a"
ctl GET counters >"$T/c.json"
expect_eq "$(jq -r '.faults["503"]' "$T/c.json")" "$n503" "fault counter"
ok "fault rates reproducible with --seed ($n503 x 503 in 30)"

sim_stop
ok "clean exit"
