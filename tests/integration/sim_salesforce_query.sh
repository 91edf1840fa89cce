#!/usr/bin/env bash
# crmsim Salesforce: SOQL query/queryAll, nextRecordsUrl paging to the end,
# the (SystemModstamp, Id) cursor across a tie at a page boundary, deleted
# rows in queryAll only, and the errors for what the parser rejects.
source "${SRC_DIR:?}/tests/sim/salesforce_testlib.bash"
sf_start
TOKEN=T1
S0=1790000000000 # 2026-09-21T14:13:20Z
seed_contacts 7 $S0
ctl POST config '{"sf-query-batch": 3}' >/dev/null

q query "SELECT Id, LastName, Member_Key__c FROM Contact ORDER BY SystemModstamp, Id"
expect_status 200 "query"
expect_eq "$(body .totalSize)/$(body .done)/$(body '.records | length')" "7/false/3" "first page"
expect_eq "$(body '.records[0].attributes.type')" "Contact" "attributes.type"
ID1=$(body '.records[0].Id')
[[ $ID1 =~ ^003[0-9A-Za-z]{15}$ ]] || fail "id shape: $ID1"
expect_eq "$(body '.records[0].attributes.url')" "$D/sobjects/Contact/$ID1" "attributes.url"
KEYS=$(body '[.records[].Member_Key__c] | join(",")')
NEXT=$(body .nextRecordsUrl)
[[ $NEXT =~ ^$D/query/01g[0-9A-Za-z]{15}-3$ ]] || fail "nextRecordsUrl: $NEXT"
pages=1
while [ "$NEXT" != null ]; do
    req GET "$NEXT"
    expect_status 200 "query more"
    expect_eq "$(body .totalSize)" "7" "totalSize on later pages"
    KEYS="$KEYS,$(body '[.records[].Member_Key__c] | join(",")')"
    NEXT=$(body .nextRecordsUrl)
    pages=$((pages + 1))
done
expect_eq "$KEYS" "m1,m2,m3,m4,m5,m6,m7" "all rows, in order"
expect_eq "$pages/$(body .done)" "3/true" "three pages"
req GET "$D/query/01gSm0000000zzzAAA-3"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_QUERY_LOCATOR" "unknown locator"
ok "nextRecordsUrl paging to the end"

# Six contacts, three of them tied on SystemModstamp across the boundary
# of a LIMIT 2 page: a plain "SystemModstamp >" watermark skips the tied
# rows, the (SystemModstamp, Id) cursor form does not.
ctl POST reset >/dev/null
jq -cn --argjson s $S0 '{collections: {Contact: [
    {id: "1", properties: {LastName: "a", Member_Key__c: "k1"}, updatedAt: ($s + 1000)},
    {id: "2", properties: {LastName: "b", Member_Key__c: "k2"}, updatedAt: ($s + 2000)},
    {id: "3", properties: {LastName: "c", Member_Key__c: "k3"}, updatedAt: ($s + 2000)},
    {id: "4", properties: {LastName: "d", Member_Key__c: "k4"}, updatedAt: ($s + 2000)},
    {id: "5", properties: {LastName: "e", Member_Key__c: "k5"}, updatedAt: ($s + 3000)},
    {id: "6", properties: {LastName: "f", Member_Key__c: "k6"}, updatedAt: ($s + 3000)}]}}' \
    >"$T/tie.json"
ctl POST seed @"$T/tie.json" >/dev/null
iso() { jq -rn --argjson ms "$1" '($ms / 1000 | todate)'; }
BASE="SELECT Id, Member_Key__c, SystemModstamp FROM Contact"
q query "$BASE WHERE SystemModstamp > $(iso $S0) ORDER BY SystemModstamp, Id LIMIT 2"
SEEN=$(body '[.records[].Member_Key__c] | join(",")')
expect_eq "$SEEN/$(body .done)" "k1,k2/true" "first LIMIT 2 page"
LAST_ID=$(body '.records[-1].Id')
LAST_TS=$(body '.records[-1].SystemModstamp')
expect_eq "$LAST_TS" "2026-09-21T14:13:22.000+0000" "SystemModstamp format"
LAST_TS_SOQL=$(iso $((S0 + 2000)))
q query "$BASE WHERE SystemModstamp > $LAST_TS_SOQL ORDER BY SystemModstamp, Id LIMIT 2"
expect_eq "$(body '[.records[].Member_Key__c] | join(",")')" "k5,k6" "plain > skips the tie"
while :; do
    q query "$BASE WHERE (SystemModstamp > $LAST_TS_SOQL OR (SystemModstamp = $LAST_TS_SOQL AND Id > '$LAST_ID')) ORDER BY SystemModstamp, Id LIMIT 2"
    expect_status 200 "cursor query"
    [ "$(body '.records | length')" = 0 ] && break
    SEEN="$SEEN,$(body '[.records[].Member_Key__c] | join(",")')"
    LAST_ID=$(body '.records[-1].Id')
    LAST_TS_SOQL=$(body '.records[-1].SystemModstamp' | sed 's/\.000+0000$/Z/')
done
expect_eq "$SEEN" "k1,k2,k3,k4,k5,k6" "the cursor form loses no tied row"
ok "(SystemModstamp, Id) cursor across a tie at a page boundary"

TOKEN=T1
req DELETE "$D/sobjects/Contact/$(q query "SELECT Id FROM Contact WHERE Member_Key__c = 'k3'" && body '.records[0].Id')"
expect_status 204 "delete a contact"
q query "SELECT Id, IsDeleted FROM Contact"
expect_eq "$(body .totalSize)" "5" "query hides the deleted row"
q queryAll "SELECT Id, Member_Key__c, IsDeleted FROM Contact WHERE IsDeleted = true"
expect_eq "$(body .totalSize)/$(body '.records[0].Member_Key__c')/$(body '.records[0].IsDeleted')" \
    "1/k3/true" "queryAll shows it with IsDeleted"
q queryAll "SELECT Id FROM Contact WHERE SystemModstamp > $(iso $((S0 + 3000)))"
expect_eq "$(body .totalSize)" "1" "the delete bumped SystemModstamp"
ok "queryAll includes deleted rows"

q query "SELECT Id FROM Contact WHERE"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/MALFORMED_QUERY" "incomplete WHERE"
q query "SELECT COUNT() FROM Contact"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/MALFORMED_QUERY" "functions unsupported"
q query "SELECT Id FROM Contact WHERE LastName = 'a' AND Email = 'x' OR Phone = '1'"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/MALFORMED_QUERY" "mixed AND/OR"
q query "SELECT Nope__c FROM Contact"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_FIELD" "unknown field"
q query "SELECT Id FROM Nope__c"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_TYPE" "unknown object"
q query "SELECT Id FROM Contact WHERE SystemModstamp > '2026-01-01T00:00:00Z'"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_FIELD" "quoted dateTime"
q query "select id, lastname from contact where lastname in ('A', 'b') order by lastname desc"
expect_eq "$STATUS/$(body '[.records[].LastName] | join(",")')" "200/b,a" "case-insensitive keywords, names and IN"
ok "parser errors: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE"
sim_stop
