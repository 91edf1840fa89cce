#!/usr/bin/env bash
# crmsim HubSpot: seed/dump round trip, reset, custom unique properties,
# lists memberships, subscription statuses, and TLS.
source "${SRC_DIR:?}/tests/sim/testlib.bash"
sim_start --rate-limits false
V=/crm/objects/2026-09/contacts

# Custom unique property, then upsert by it.
req POST /crm/properties/2026-09/contacts '{"name":"member_id","label":"Member","type":"string","fieldType":"text","groupName":"contactinformation","hasUniqueValue":true}'
expect_status 201 "create property"
expect_eq "$(body .hasUniqueValue)" "true" "unique property"
req POST /crm/properties/2026-09/contacts '{"name":"member_id","label":"Member","type":"string","fieldType":"text","groupName":"contactinformation"}'
expect_status 409 "duplicate property"
req POST $V/batch/upsert '{"inputs":[{"id":"M-1","idProperty":"member_id","properties":{"email":"a@example.com"}},{"id":"M-2","idProperty":"member_id","properties":{"email":"b@example.com"}}]}'
expect_status 200 "upsert by member_id"
id1=$(body '.results[0].id')
id2=$(body '.results[1].id')
req POST $V/batch/upsert '{"inputs":[{"id":"M-3","idProperty":"member_id","properties":{"email":"a@example.com"}}]}'
expect_status 409 "email of another contact via upsert"
ok "custom unique property"

# Lists.
req POST /crm/lists/2026-09 '{"name":"Gold","objectTypeId":"0-1","processingType":"MANUAL"}'
expect_status 200 "create list"
lid=$(body .list.listId)
req PUT "/crm/lists/2026-09/$lid/memberships/add" "[\"$id1\",\"$id2\",\"999\"]"
expect_status 200 "add members"
expect_eq "$(body '.recordsIdsAdded | length')/$(body '.recordIdsMissing | join(",")')" "2/999" "added/missing"
expect_eq "$(body '[has("recordsIdsAdded"), has("recordIdsRemoved"), has("recordIdsMissing")] | all')" "true" \
    "MembershipsUpdateResponse has its three required arrays"
req PUT "/crm/lists/2026-09/$lid/memberships/add" "[$id1]"
expect_status 400 "a numeric record id"
req PUT "/crm/lists/2026-09/$lid/memberships/add-and-remove" "{\"recordIdsToAdd\":[\"$id1\"]}"
expect_status 400 "add-and-remove without recordIdsToRemove"
req GET "/crm/lists/2026-09/$lid"
expect_eq "$(body .list.processingStatus)" "COMPLETE" "PublicObjectList.processingStatus"
req PUT "/crm/lists/2026-09/$lid/memberships/remove" "[\"$id2\"]"
expect_eq "$(body '.recordIdsRemoved | join(",")')" "$id2" "removed"
req GET "/crm/lists/2026-09/$lid/memberships"
expect_eq "$(body '[.results[].recordId] | join(",")')" "$id1" "memberships"
req GET "/crm/v3/lists/$lid"
expect_eq "$(body .list.size)" "1" "list via v3 alias"
ok "lists"

# Subscription statuses.
req GET /communication-preferences/2026-09/definitions
expect_status 200 "definitions"
sub=$(body '.results[0].id')
req POST /communication-preferences/2026-09/statuses/batch/write "{\"inputs\":[{\"subscriberIdString\":\"a@example.com\",\"subscriptionId\":$sub,\"statusState\":\"SUBSCRIBED\",\"channel\":\"EMAIL\",\"legalBasis\":\"CONSENT_WITH_NOTICE\",\"legalBasisExplanation\":\"web form v3\"},{\"subscriberIdString\":\"b@example.com\",\"subscriptionId\":$sub,\"statusState\":\"SUBSCRIBED\",\"channel\":\"EMAIL\"}]}"
expect_status 207 "write with one input lacking legal basis (GDPR)"
expect_eq "$(body '.results | length')/$(body '.errors | length')" "1/1" "one ok, one error"
req POST /communication-preferences/2026-09/statuses/batch/write "{\"inputs\":[{\"subscriberIdString\":\"a@example.com\",\"subscriptionId\":$sub,\"statusState\":\"MAYBE\",\"channel\":\"EMAIL\"}]}"
expect_status 400 "bad statusState"
# PublicStatusRequest.statusState: SUBSCRIBED | UNSUBSCRIBED | NOT_SPECIFIED
# (NOT_SUBSCRIBED is the older per-email API's word).
req POST /communication-preferences/2026-09/statuses/batch/write "{\"inputs\":[{\"subscriberIdString\":\"c@example.com\",\"subscriptionId\":$sub,\"statusState\":\"NOT_SUBSCRIBED\",\"channel\":\"EMAIL\",\"legalBasis\":\"CONSENT_WITH_NOTICE\",\"legalBasisExplanation\":\"x\"}]}"
expect_status 400 "NOT_SUBSCRIBED refused"
req POST /communication-preferences/2026-09/statuses/batch/write "{\"inputs\":[{\"subscriberIdString\":\"c@example.com\",\"subscriptionId\":$sub,\"statusState\":\"UNSUBSCRIBED\",\"channel\":\"EMAIL\",\"legalBasis\":\"CONSENT_WITH_NOTICE\",\"legalBasisExplanation\":\"x\"}]}"
expect_status 200 "UNSUBSCRIBED accepted"
expect_eq "$(body '.results[0].status')/$(body '.results[0].setStatusSuccessReason')" "UNSUBSCRIBED/REQUESTED_CHANGE_OCCURRED" "unsubscribed"
req POST "/communication-preferences/2026-09/statuses/batch/read?channel=EMAIL" '{"inputs":["nobody@example.com","c@example.com"]}'
expect_eq "$(body '[.results[].statuses[] | (has("source") and has("timestamp") and has("channel") and has("subscriptionId"))] | all')" \
    "true" "PublicStatus: source and timestamp always there"
req POST /communication-preferences/2026-09/statuses/batch/read '{"inputs":["a@example.com"]}'
expect_status 400 "batch read needs channel"
req POST "/communication-preferences/v4/statuses/batch/read?channel=EMAIL" '{"inputs":["a@example.com"]}'
expect_status 200 "batch read (v4 path)"
expect_eq "$(body ".results[0].statuses[] | select(.subscriptionId == $sub) | .status + \"/\" + .legalBasis")" \
    "SUBSCRIBED/CONSENT_WITH_NOTICE" "status read back"
big=$(jq -cn '{inputs: [range(0; 101) | "u\(.)@example.com"]}')
req POST "/communication-preferences/2026-09/statuses/batch/read?channel=EMAIL" "$big"
expect_status 400 "101 subscribers"
ok "subscription statuses"

# Seed/dump round trip: dump, reset (empty), seed the dump back, dump again.
ctl GET state >"$T/dump1.json"
expect_eq "$(jq '.collections.contacts | length' "$T/dump1.json")" "2" "dump has the contacts"
ctl POST reset >/dev/null
expect_eq "$(ctl GET state | jq '.collections.contacts | length')" "0" "reset empties"
expect_eq "$(ctl GET state | jq '.flavor_state.properties | has("member_id")')" "false" "reset drops custom properties"
ctl POST seed "@$T/dump1.json" >/dev/null
ctl GET state >"$T/dump2.json"
norm='del(.now, .flavor_state.usage)'
expect_eq "$(jq -S "$norm" "$T/dump2.json")" "$(jq -S "$norm" "$T/dump1.json")" "seed(dump) == dump"
req POST $V/batch/upsert '{"inputs":[{"id":"M-9","idProperty":"member_id","properties":{"email":"b@example.com"}}]}'
expect_status 409 "unique index rebuilt from the seed"
req GET "$V/M-1?idProperty=member_id"
expect_eq "$(body .id)" "$id1" "lookup by seeded unique property"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST --data-binary \
    '{"collections":{"contacts":[{"id":"1","properties":{"email":"x@example.com"}}]}}' "$SIM_URL/__sim/seed")
expect_eq "$code" "400" "seeding a duplicate id"
[[ $(body .error) == *"duplicate id"* ]] || fail "seed error: $(body .error)"

ok "seed/dump round trip"
sim_stop

# TLS with a throwaway self-signed certificate.
# (Under set -e a failing command substitution ends the script without a
# word: each step says what failed. A CI run once stopped here silently.)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>"$T/openssl.err" \
    || fail "openssl req: $(cat "$T/openssl.err")"
sim_start --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
SIM_URL=${SIM_URL/http:/https:}
code=$(curl -sS --max-time 30 --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' \
    -H 'Authorization: Bearer T1' "$SIM_URL/crm/objects/2026-09/contacts" 2>"$T/curl.err") \
    || fail "HTTPS request failed: $(cat "$T/curl.err"); crmsim: $(tail -n 3 "$T/sim.err")"
expect_eq "$code" "200" "HTTPS request"
sim_stop
ok "TLS"
ok "clean exit"
