#!/usr/bin/env bash
# crmsim HubSpot: CRM search filters, sorts, paging to the end, the
# documented limits (groups, filters, limit 200, 10,000 results) and the
# indexing lag (eventual consistency).
source "${SRC_DIR:?}/tests/sim/testlib.bash"
sim_start --rate-limits false
S=/crm/objects/2026-09/contacts/search

ctl POST seed "$(contacts_json 30)" >/dev/null

# lastmodifieddate filters: contact i was modified at 2026-02-01T00:00:00Z + i s.
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GT","value":"2026-02-01T00:00:20Z"}]}],"limit":100}'
expect_status 200 "GT"
expect_eq "$(body .total)" "10" "GT count (21..30)"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"1769904020000"}]}]}'
expect_eq "$(body .total)" "11" "GTE epoch-ms value"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"BETWEEN","value":"2026-02-01T00:00:05Z","highValue":"2026-02-01T00:00:07Z"}]}],"sorts":[{"propertyName":"lastmodifieddate","direction":"DESCENDING"}]}'
expect_eq "$(body '[.results[].id] | join(",")')" "7,6,5" "BETWEEN, sorted descending"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"LT","value":"2026-02-01T00:00:03Z"}]},{"filters":[{"propertyName":"email","operator":"EQ","value":"M30@example.com"}]}]}'
expect_eq "$(body '[.results[].id] | join(",")')" "1,2,30" "OR of groups, EQ case-insensitive"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"firstname","operator":"IN","values":["F3","F4"]},{"propertyName":"lastname","operator":"NEQ","value":"L3"}]}],"properties":["firstname"]}'
expect_eq "$(body '[.results[].id] | join(",")')" "4" "IN and NEQ (AND)"
expect_eq "$(body '.results[0].properties | keys | join(",")')" \
    "createdate,firstname,hs_object_id,lastmodifieddate" "requested properties"
ok "filters and sorts"

# Paging to the end: 30 hits, limit 12 -> 12, 12, 6.
after=
seen=
pages=0
while :; do
    req POST $S "{\"limit\":12${after:+,\"after\":\"$after\"}}"
    expect_status 200 "search page $pages"
    seen="$seen$(body '[.results[].id] | join(",")'),"
    pages=$((pages + 1))
    after=$(body '.paging.next.after // empty')
    [ -n "$after" ] || break
    [ $pages -lt 10 ] || fail "search paging does not end"
done
expect_eq "$pages" "3" "pages"

expect_eq "$seen" "$(seq -s, 1 12),$(seq -s, 13 24),$(seq -s, 25 30)," "every record once, in id order"
ok "search paging to the end"

# Documented limits.
req POST $S '{"limit":201}'
expect_status 400 "limit 201"
groups=$(jq -cn '{filterGroups: [range(0; 6) | {filters: [{propertyName: "email", operator: "HAS_PROPERTY"}]}]}')
req POST $S "$groups"
expect_status 400 "6 filter groups"
f11=$(jq -cn '{filterGroups: [{filters: [range(0; 11) | {propertyName: "email", operator: "HAS_PROPERTY"}]}]}')
req POST $S "$f11"
expect_status 400 "11 filters in a group"
f26=$(jq -cn '{filterGroups: [range(0; 5) | {filters: [range(0; if . == 0 then 6 else 5 end) | {propertyName: "email", operator: "HAS_PROPERTY"}]}]}')
req POST $S "$f26"
expect_status 400 "26 filters in all"
f25=$(jq -cn '{filterGroups: [range(0; 5) | {filters: [range(0; 5) | {propertyName: "email", operator: "HAS_PROPERTY"}]}]}')
req POST $S "$f25"
expect_status 200 "25 filters in 5 groups"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"email","operator":"LIKE","value":"x"}]}]}'
expect_status 400 "unknown operator"
req POST $S '{"sorts":[{"propertyName":"email","direction":"ASCENDING"},{"propertyName":"firstname","direction":"ASCENDING"}]}'
expect_status 400 "two sorts"
ok "filter group, filter, limit and sort limits"

# The 10,000-result cap: with 10,050 matches, paging by 200 reaches
# after=9800 (the last allowed page), then after=10000 is a 400.
ctl POST reset >/dev/null
contacts_json 10050 >"$T/seed.json"
ctl POST seed "@$T/seed.json" >/dev/null
req POST $S '{"limit":200,"after":"9800"}'
expect_status 200 "page ending at 10,000"
expect_eq "$(body .total)" "10050" "total counts every match"
expect_eq "$(body .paging.next.after)" "10000" "next cursor"
req POST $S '{"limit":200,"after":"10000"}'
expect_status 400 "past 10,000"
expect_eq "$(body .category)" "VALIDATION_ERROR" "cap category"
ok "10,000-result cap"

# Eventual consistency: with a 2 s indexing lag a write shows in search
# only after the lag (the clock is frozen and advanced by the test).
ctl POST reset >/dev/null
ctl POST config '{"search-lag-ms": 2000}' >/dev/null
ctl POST clock '{"freeze": true}' >/dev/null
req POST /crm/objects/2026-09/contacts/batch/upsert '{"inputs":[{"id":"lag@example.com","idProperty":"email","properties":{"firstname":"Old"}}]}'
expect_status 200 "write"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"lag@example.com"}]}]}'
expect_eq "$(body .total)" "0" "new record not yet indexed"
ctl POST clock '{"advance_ms": 2000}' >/dev/null
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"lag@example.com"}]}],"properties":["firstname"]}'
expect_eq "$(body .results[0].properties.firstname)" "Old" "indexed after the lag"
req POST /crm/objects/2026-09/contacts/batch/upsert '{"inputs":[{"id":"lag@example.com","idProperty":"email","properties":{"firstname":"New"}}]}'
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"firstname","operator":"EQ","value":"New"}]}],"properties":["firstname"]}'
expect_eq "$(body .total)" "0" "update not yet visible"
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"firstname","operator":"EQ","value":"Old"}]}]}'
expect_eq "$(body .total)" "1" "search still sees the old version"
ctl POST clock '{"advance_ms": 2001}' >/dev/null
req POST $S '{"filterGroups":[{"filters":[{"propertyName":"firstname","operator":"EQ","value":"New"}]}]}'
expect_eq "$(body .total)" "1" "update visible after the lag"
ok "indexing lag"

sim_stop
ok "clean exit"
