#!/usr/bin/env bash
# crmsim Adobe Campaign, checked with Adobe's own client: @adobe/acc-js-sdk
# (pinned in tests/sim/adobe_client/package-lock.json, installed by
# tools/install-deps.sh with npm ci) logs on with an IMS bearer token and
# with a session (xtk:session#BearerTokenLogon), writes 1,000 recipients in
# one WriteCollection, pages them back with ExecuteQuery, subscribes and
# unsubscribes, and sees the simulator's faults. If the official client
# cannot talk to the simulator, the simulator is wrong.
source "${SRC_DIR:?}/tests/sim/adobe_testlib.bash"
CLIENT_DIR=$SRC_DIR/tests/sim/adobe_client
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed, so Adobe's client (@adobe/acc-js-sdk, Node >= 20) cannot run"
    exit 0
fi
if [ ! -d "$CLIENT_DIR/node_modules/@adobe/acc-js-sdk" ]; then
    echo "tests/sim/adobe_client has no node_modules: running npm ci (tools/install-deps.sh does this)"
    (cd "$CLIENT_DIR" && npm ci --no-audit --no-fund) || fail "npm ci in $CLIENT_DIR failed"
fi
ad_start --client-id sdk-client --client-secret sdk-secret --log-requests
ctl POST seed '{"collections":{"nms:service":[{"properties":{"name":"newsletter","label":"Newsletter","messageType":"0"}}]}}' >/dev/null
node "$CLIENT_DIR/run.js" "$SIM_URL" sdk-client sdk-secret || fail "Adobe's client failed against the simulator"
# Both auth modes really were used: sessions were opened and closed again.
ctl GET state >"$T/state.json"
expect_eq "$(jq '.flavor_state.sessionsOpened' "$T/state.json")" "1" "sessions opened by BearerTokenLogon"
expect_eq "$(jq '.flavor_state.sessions' "$T/state.json")" "0" "sessions left open after Logoff"
grep -Eq 'POST /nl/jsp/soaprouter.jsp 200 in=1000 written=1000 [0-9.]+ms op=xtk:persist\|xtk:session#WriteCollection ' "$T/sim.err" ||
    fail "no WriteCollection of 1000 records in the request log"
M='.flavor_state.methods'
expect_eq "$(jq "$M[\"xtk:session#BearerTokenLogon\"].calls" "$T/state.json")" "2" "BearerTokenLogon calls (one refused)"
expect_eq "$(jq "$M[\"xtk:persist|xtk:session#WriteCollection\"].written" "$T/state.json")" "2000" "recipients written by WriteCollection"
expect_eq "$(jq "$M[\"nms:subscription#Subscribe\"].calls" "$T/state.json")" "4" "Subscribe calls"
expect_eq "$(jq "$M[\"xtk:persist#GetEntityIfMoreRecent\"].calls > 0" "$T/state.json")" "true" "the SDK loaded schemas"
sim_stop
ok "Adobe's client drives the simulator in both auth modes"
