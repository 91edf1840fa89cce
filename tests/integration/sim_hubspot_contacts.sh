#!/usr/bin/env bash
# crmsim HubSpot: contacts CRUD, batch upsert/create/update/read/archive,
# list paging to the end, batch limits, validation and counters.
source "${SRC_DIR:?}/tests/sim/testlib.bash"
sim_start --rate-limits false
V=/crm/objects/2026-09/contacts

# Batch upsert by email creates, then updates (new=false), same ids.
req POST $V/batch/upsert '{"inputs":[
  {"id":"Ann@Example.com","idProperty":"email","properties":{"firstname":"Ann"}},
  {"id":"bob@example.com","idProperty":"email","properties":{"firstname":"Bob"}}]}'
expect_status 200 "upsert create"
expect_eq "$(body '[.results[].new] | join(",")')" "true,true" "upsert new flags"
expect_eq "$(body '.results[0].properties.email')" "ann@example.com" "email lowercased"
ann=$(body '.results[0].id')
req POST $V/batch/upsert '{"inputs":[
  {"id":"ann@example.com","idProperty":"email","properties":{"lastname":"Smith"}}]}'
expect_status 200 "upsert update"
expect_eq "$(body '.results[0].new')" "false" "upsert existing"
expect_eq "$(body '.results[0].id')" "$ann" "upsert keeps the id"
expect_eq "$(body '.results[0].properties.firstname')" "Ann" "upsert keeps other props"
ok "batch upsert by email"

# Upsert needs a unique idProperty.
req POST $V/batch/upsert '{"inputs":[{"id":"x","idProperty":"firstname","properties":{}}]}'
expect_status 400 "upsert by non-unique property"
expect_eq "$(body .category)" "VALIDATION_ERROR" "category"
req POST $V/batch/upsert '{"inputs":[
  {"id":"c@example.com","idProperty":"email","properties":{}},
  {"id":"C@example.com","idProperty":"email","properties":{}}]}'
expect_status 400 "duplicate ids in one batch"
ok "upsert validation"

# Batch create: 201, and 409 when the email exists.
req POST $V/batch/create '{"inputs":[{"properties":{"email":"carol@example.com"}}]}'
expect_status 201 "batch create"
req POST $V/batch/create '{"inputs":[{"properties":{"email":"dave@example.com"}},
  {"properties":{"email":"bob@example.com"}}]}'
expect_status 409 "batch create with an existing email"
expect_eq "$(body .category)" "CONFLICT" "409 category"
[[ $(body .message) == "Contact already exists. Existing ID: "* ]] || fail "409 message: $(body .message)"
req POST $V/search '{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"dave@example.com"}]}]}'
expect_eq "$(body .total)" "0" "a rejected batch writes nothing"
ok "batch create and 409"

# Batch size limit: 101 inputs -> 400, 100 -> fine.
big=$(jq -cn '{inputs: [range(0; 101) | {id: "u\(.)@example.com", idProperty: "email", properties: {}}]}')
req POST $V/batch/upsert "$big"
expect_status 400 "101 inputs"
expect_eq "$(body .category)" "VALIDATION_ERROR" "batch too large category"
ok100=$(jq -cn '{inputs: [range(0; 100) | {id: "u\(.)@example.com", idProperty: "email", properties: {firstname: "U"}}]}')
req POST $V/batch/upsert "$ok100"
expect_status 200 "100 inputs"
expect_eq "$(body '.results | length')" "100" "100 results"
ok "batch size limit (100)"

# Unknown and read-only properties are rejected with HubSpot's message.
req POST $V/batch/update "{\"inputs\":[{\"id\":\"$ann\",\"properties\":{\"nope\":\"1\"}}]}"
expect_status 400 "unknown property"
[[ $(body .message) == *PROPERTY_DOESNT_EXIST* ]] || fail "unknown property message: $(body .message)"
req PATCH "$V/$ann" '{"properties":{"lastmodifieddate":"2020-01-01"}}'
expect_status 400 "read-only property"
req PATCH "$V/$ann" '{"properties":{"email":"not-an-email"}}'
expect_status 400 "invalid email"
ok "property validation"

# Batch update and read with a missing id -> 207 with errors.
req POST $V/batch/update "{\"inputs\":[{\"id\":\"$ann\",\"properties\":{\"phone\":\"123\"}},
  {\"id\":\"999999\",\"properties\":{\"phone\":\"1\"}}]}"
expect_status 207 "batch update with a missing id"
expect_eq "$(body '.results | length')" "1" "one updated"
expect_eq "$(body '.errors[0].category')" "OBJECT_NOT_FOUND" "missing id category"
expect_eq "$(body '.errors[0].context.ids[0]')" "999999" "missing id context"
req POST $V/batch/read "{\"inputs\":[{\"id\":\"$ann\"},{\"id\":\"424242\"}],\"properties\":[\"phone\"],\"propertiesWithHistory\":[]}"
expect_status 207 "batch read with a missing id"
expect_eq "$(body '.results[0].properties.phone')" "123" "batch read value"
req POST $V/batch/read '{"inputs":[{"id":"bob@example.com"}],"idProperty":"email","properties":[],"propertiesWithHistory":[]}'
expect_status 200 "batch read by email"
ok "batch update/read, 207"

# What HubSpot's published schemas refuse (contacts.json 2026-09):
# BatchReadInputSimplePublicObjectId requires properties and
# propertiesWithHistory; SimplePublicObjectId.id is a string; property
# values are strings (SimplePublicObjectBatchInputUpsert).
req POST $V/batch/read '{"inputs":[{"id":"bob@example.com"}],"idProperty":"email","properties":["email"]}'
expect_status 400 "batch read without propertiesWithHistory"
req POST $V/batch/read '{"inputs":[{"id":"bob@example.com"}],"idProperty":"email","propertiesWithHistory":[]}'
expect_status 400 "batch read without properties"
req POST $V/batch/read "{\"inputs\":[{\"id\":$ann}],\"properties\":[],\"propertiesWithHistory\":[]}"
expect_status 400 "batch read with a numeric id"
req POST $V/batch/archive '{"inputs":[{"id":424242}]}'
expect_status 400 "batch archive with a numeric id"
req POST $V/batch/upsert '{"inputs":[{"id":"bob@example.com","idProperty":"email","properties":{"phone":5}}]}'
expect_status 400 "a number as a property value"
req POST $V/batch/upsert '{"inputs":[{"id":"bob@example.com","idProperty":"email","properties":{"phone":null}}]}'
expect_status 400 "null as a property value"
req POST $V/batch/upsert '{"inputs":[{"id":"bob@example.com","idProperty":"email","properties":{"phone":"5"}}]}'
expect_status 200 "a string property value"
expect_eq "$(body '[.results[0].properties[] | type] | unique | join(",")')" "string" "upsert answers strings only"
ok "refused as the published schemas refuse"

# Single record API and the v3 alias.
req GET "$V/bob@example.com?idProperty=email&properties=firstname"
expect_status 200 "get by email"
expect_eq "$(body .properties.firstname)" "Bob" "get by email value"
req GET "/crm/v3/objects/contacts/$ann"
expect_status 200 "v3 alias"
req POST $V '{"properties":{"email":"erin@example.com"}}'
expect_status 201 "create"
erin=$(body .id)
req POST $V '{"properties":{"email":"erin@example.com"}}'
expect_status 409 "create duplicate"
req GET "$V/777777"
expect_status 404 "get missing"
ok "single-record API"

# Archive keeps lastmodifieddate; archived=true lists it; search drops it.
req GET "$V/$erin"
before=$(body .properties.lastmodifieddate)
ctl POST clock '{"advance_ms": 5000}' >/dev/null
req DELETE "$V/$erin"
expect_status 204 "archive"
req GET "$V/$erin"
expect_status 404 "archived is not found by default"
req GET "$V/$erin?archived=true&properties=lastmodifieddate"
expect_status 200 "archived=true"
expect_eq "$(body .archived)" "true" "archived flag"
expect_eq "$(body .properties.lastmodifieddate)" "$before" "archive does not bump lastmodifieddate"
[ "$(body .archivedAt)" != null ] || fail "archivedAt missing"
req GET "$V?archived=true&limit=100"
expect_eq "$(body '[.results[].id] | join(",")')" "$erin" "archived listing"
req POST $V/batch/archive "{\"inputs\":[{\"id\":\"$ann\"},{\"id\":\"31337\"}]}"
expect_status 204 "batch archive"
ok "archiving"

# Paging to the end: 25 seeded contacts, pages of 10 -> 10, 10, 5, no next.
ctl POST reset >/dev/null
ctl POST seed "$(contacts_json 25)" >/dev/null
after=
seen=0
pages=0
while :; do
    req GET "$V?limit=10${after:+&after=$after}"
    expect_status 200 "page $pages"
    seen=$((seen + $(body '.results | length')))
    pages=$((pages + 1))
    after=$(body '.paging.next.after // empty')
    [ -n "$after" ] || break
    [ $pages -lt 10 ] || fail "paging does not end"
done
expect_eq "$seen/$pages" "25/3" "records/pages"
req GET "$V?limit=101"
expect_status 400 "list limit above 100"
ok "list paging to the end"

# Counters: requests and records per endpoint.
ctl POST counters/reset >/dev/null
req POST $V/batch/upsert "$ok100"
req POST $V/batch/upsert "$ok100"
ctl GET counters >"$T/c.json"
expect_eq "$(jq -r '.endpoints["contacts.batch.upsert"] | "\(.requests) \(.records) \(.written)"' "$T/c.json")" \
    "2 200 200" "upsert counters"
expect_eq "$(jq -r .records_written_total "$T/c.json")" "200" "records written total"
ok "counters"

sim_stop
ok "clean exit"
