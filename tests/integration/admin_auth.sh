#!/usr/bin/env bash
# /healthz turns 503 naming auth_failing when the CRM rejects our
# credentials, and 200 again once it accepts them (issue 8).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start
printf 'WRONG-TOKEN' > "$T/bad-token"; chmod 600 "$T/bad-token"
hs_config "token_file = $T/bad-token"
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
[ -n "$ADDR" ] || fail "no listening address in the log"
code() { curl -s -o "$T/body" -w '%{http_code}' "http://$ADDR$1" || true; }
healthz_is() { [ "$(code /healthz)" = "$1" ]; }

wait_for 30 healthz_is 503 || fail "healthz did not turn 503 with rejected credentials"
assert_eq "$(jq -r '[.reasons[] | select(.connector == "hs") | .reason] | join(",")' "$T/body")" \
  auth_failing "503 names auth_failing for the hubspot connector"
if grep -q 'WRONG-TOKEN' "$T/daemon.log" "$T/body"; then fail "the token reached a log or the health body"; fi
pass "the token is not in the log or the health body"

# The CRM accepts the token now (an operator fixed it on the vendor side).
sim_post tokens '{"token":"WRONG-TOKEN"}'
wait_for 30 healthz_is 200 || fail "healthz did not return to 200: $(cat "$T/body")"
pass "healthz is 200 again once the credentials are accepted"
code /metrics >/dev/null
grep -q '^crmsyncd_healthy 1' "$T/body" || fail "healthy gauge not 1"
stop_daemon
