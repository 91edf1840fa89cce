#!/usr/bin/env bash
# crmsim Salesforce: sObject Collections upsert by external id (per-record
# results in input order inside a 200, allOrNone, more than 200 records),
# the 300 answer for an external id that matches several records, duplicate
# ExternalTransactionNumber, PointsBalance from journals, and the daily
# request budget with Sforce-Limit-Info.
source "${SRC_DIR:?}/tests/sim/salesforce_testlib.bash"
sf_start --daily-max 1000
TOKEN=T1
U=$D/composite/sobjects/Contact/Member_Key__c

req PATCH "$U" '{"allOrNone": false, "records": [
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a1", "LastName": "Ada", "HasOptedOutOfEmail": true},
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a2", "FirstName": "no last name"},
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a3", "LastName": "Bob", "Email": "not-an-email"},
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a4", "LastName": "'"$(printf 'x%.0s' $(seq 81))"'"},
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a5", "LastName": "Cy", "Loyalty_Points__c": 120.5}]}'
expect_status 200 "upsert with item errors"
expect_eq "$(body '[.[].success] | map(tostring) | join(",")')" "true,false,false,false,true" "per-item success"
expect_eq "$(body '.[0].created')/$(body '.[4].created')" "true/true" "created"
expect_eq "$(body '.[1].errors[0].statusCode')/$(body '.[1].errors[0].fields[0]')" \
    "REQUIRED_FIELD_MISSING/LastName" "required field"
expect_eq "$(body '.[2].errors[0].statusCode')" "INVALID_EMAIL_ADDRESS" "bad email"
expect_eq "$(body '.[3].errors[0].statusCode')" "STRING_TOO_LONG" "too long"
A1=$(body '.[0].id')
req PATCH "$U" '{"records": [
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a1", "DoNotCall": true},
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a6", "LastName": "Di"}]}'
expect_eq "$(body '.[0].id')/$(body '.[0].created')/$(body '.[1].created')" "$A1/false/true" "update then create"
q query "SELECT Id, HasOptedOutOfEmail, DoNotCall, Loyalty_Points__c FROM Contact WHERE Member_Key__c = 'a1'"
expect_eq "$(body '.records[0] | [.HasOptedOutOfEmail, .DoNotCall] | map(tostring) | join(",")')" \
    "true,true" "fields merged on update"
expect_eq "$(body '.records[0].Loyalty_Points__c')" "null" "unset double is null"
req PATCH "$U" '{"allOrNone": true, "records": [
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a7", "LastName": "Ok"},
  {"attributes": {"type": "Contact"}, "Member_Key__c": "a8"}]}'
expect_eq "$STATUS/$(body '.[0].errors[0].statusCode')/$(body '.[1].errors[0].statusCode')" \
    "200/ALL_OR_NONE_OPERATION_ROLLED_BACK/REQUIRED_FIELD_MISSING" "allOrNone rolls back"
q query "SELECT Id FROM Contact WHERE Member_Key__c = 'a7'"
expect_eq "$(body .totalSize)" "0" "nothing written under allOrNone"
req PATCH "$U" '{"records": [{"attributes": {"type": "Contact"}, "Member_Key__c": "z", "LastName": "z", "Bogus__c": 1}]}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_FIELD" "unknown field fails the request"
req PATCH "$U" '{"records": [{"Member_Key__c": "z", "LastName": "z"}]}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_TYPE" "attributes.type required"
ok "collections upsert: item-level errors inside a 200, allOrNone"

jq -cn '{records: [range(201) | {attributes: {type: "Contact"}, Member_Key__c: "b\(.)", LastName: "B"}]}' >"$T/big.json"
req PATCH "$U" "$(cat "$T/big.json")"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/EXCEEDED_ID_LIMIT" "201 records"
jq -cn '{records: [range(200) | {attributes: {type: "Contact"}, Member_Key__c: "b\(.)", LastName: "B"}]}' >"$T/ok.json"
req PATCH "$U" "$(cat "$T/ok.json")"
expect_eq "$STATUS/$(body '[.[] | select(.success)] | length')" "200/200" "200 records"
ok "more than 200 records rejected"

# Legacy_Key__c is an External ID without Unique: two records may share it.
req POST "$D/composite/sobjects" '{"records": [
  {"attributes": {"type": "Contact"}, "LastName": "D1", "Legacy_Key__c": "dup"},
  {"attributes": {"type": "Contact"}, "LastName": "D2", "Legacy_Key__c": "dup"}]}'
expect_eq "$STATUS/$(body '[.[].success] | all')" "200/true" "create two sharing a legacy key"
req PATCH "$D/sobjects/Contact/Legacy_Key__c/dup" '{"LastName": "X"}'
expect_status 300 "single upsert on a key matching two records"
expect_eq "$(body 'length')" "2" "both matches listed"
[[ $(body '.[0]') == "$D/sobjects/Contact/003"* ]] || fail "300 body: $(cat "$T/body")"
req PATCH "$D/composite/sobjects/Contact/Legacy_Key__c" '{"records": [{"attributes": {"type": "Contact"}, "Legacy_Key__c": "dup", "LastName": "X"}]}'
expect_eq "$STATUS/$(body '.[0].success')/$(body '.[0].errors[0].statusCode')" \
    "200/false/DUPLICATE_EXTERNAL_ID" "collections upsert on the same key"
req PATCH "$D/sobjects/Contact/Member_Key__c/solo" '{"LastName": "Solo"}'
expect_eq "$STATUS/$(body .created)" "201/true" "single upsert creates"
req PATCH "$D/sobjects/Contact/Member_Key__c/solo" '{"Phone": "+1 555"}'
expect_eq "$STATUS/$(body .created)" "200/false" "single upsert updates"
req PATCH "$D/sobjects/Contact/Email/x" '{"LastName": "x"}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "404/NOT_FOUND" "not an external id field"
ok "300 when an external id matches several records"

# Loyalty (issue 12): what the Loyalty Management object reference has.
# A member needs EnrollmentDate and MemberType; a journal names its program
# with LoyaltyProgramId (ProgramId is the member's) and has no Points__c;
# ExternalTransactionNumber is a string of 40, neither unique nor an
# external id; balances move only by the program process: Pending journals
# of type Accrual (every currency of the program) or Redemption (the
# non-qualifying ones), which become Processed. A journal created Processed
# or without a type is not credited.
req POST "$D/sobjects/LoyaltyProgram" '{"Name": "Club"}'
expect_status 201 "program"
PROG=$(body .id)
req POST "$D/sobjects/LoyaltyProgramCurrency" "{\"Name\": \"Points\", \"LoyaltyProgramId\": \"$PROG\", \"CurrencyType\": \"NonQualifying\"}"
expect_status 201 "points currency"
NQ=$(body .id)
req POST "$D/sobjects/LoyaltyProgramCurrency" "{\"Name\": \"Tier Points\", \"LoyaltyProgramId\": \"$PROG\", \"CurrencyType\": \"Qualifying\"}"
expect_status 201 "tier currency"
QC=$(body .id)
req POST "$D/sobjects/JournalType" '{"Name": "Accrual"}'
ACC=$(body .id)
req POST "$D/sobjects/JournalType" '{"Name": "Redemption"}'
RED=$(body .id)
req POST "$D/sobjects/LoyaltyProgramMember" "{\"MembershipNumber\": \"a1\", \"ProgramId\": \"$PROG\", \"ContactId\": \"$A1\"}"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/REQUIRED_FIELD_MISSING" "a member without EnrollmentDate and MemberType"
req POST "$D/sobjects/LoyaltyProgramMember" "{\"MembershipNumber\": \"a1\", \"ProgramId\": \"$PROG\", \"ContactId\": \"$A1\", \"EnrollmentDate\": \"2026-11-24\", \"MemberType\": \"Individual\", \"MemberStatus\": \"Active\"}"
expect_status 201 "member"
MEM=$(body .id)
jr() { # ETN EXTRA-FIELDS: one journal record of MEM
  printf '{"attributes": {"type": "TransactionJournal"}, "ExternalTransactionNumber": "%s", "MemberId": "%s", "ActivityDate": "2026-11-24T10:00:00Z"%s}' "$1" "$MEM" "$2"
}
req POST "$D/composite/sobjects" "{\"records\": [$(jr t0 ", \"ProgramId\": \"$PROG\"")]}"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_FIELD" "ProgramId is not a TransactionJournal field"
req POST "$D/composite/sobjects" "{\"records\": [$(jr t0 ", \"LoyaltyProgramId\": \"$PROG\", \"Points__c\": 5")]}"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_FIELD" "Points__c is not a TransactionJournal field"
req POST "$D/composite/sobjects" "{\"records\": [$(jr x12345678901234567890123456789012345678901 ", \"LoyaltyProgramId\": \"$PROG\"")]}"
expect_eq "$(body '.[0].errors[0].statusCode')" "STRING_TOO_LONG" "ExternalTransactionNumber holds 40 characters"
P=", \"LoyaltyProgramId\": \"$PROG\""
req POST "$D/composite/sobjects" "{\"records\": [
  $(jr t1 "$P, \"Status\": \"Pending\", \"JournalTypeId\": \"$ACC\", \"TransactionAmount\": 100"),
  $(jr t2 "$P, \"Status\": \"Pending\", \"JournalTypeId\": \"$RED\", \"TransactionAmount\": 30"),
  $(jr t3 "$P, \"JournalTypeId\": \"$ACC\", \"TransactionAmount\": 5"),
  $(jr t3 "$P, \"JournalTypeId\": \"$ACC\", \"TransactionAmount\": 5"),
  $(jr t4 "$P, \"Status\": \"Processed\", \"JournalTypeId\": \"$ACC\", \"TransactionAmount\": 1000"),
  $(jr t5 "$P, \"Status\": \"Pending\", \"TransactionAmount\": 1000")]}"
expect_eq "$STATUS/$(body '[.[].success] | map(tostring) | join(",")')" "200/true,true,true,true,true,true" \
    "journals created; ExternalTransactionNumber is not unique"
bal() { # CURRENCY-ID
  q query "SELECT PointsBalance FROM LoyaltyMemberCurrency WHERE LoyaltyMemberId = '$MEM' AND LoyaltyProgramCurrencyId = '$1'"
  body '.records[0].PointsBalance'
}
expect_eq "$(bal "$NQ")" "80" "points: 100 - 30 + 5 + 5 (Processed and untyped journals not credited)"
expect_eq "$(bal "$QC")" "110" "tier points: accruals only"
q query "SELECT ExternalTransactionNumber, Status FROM TransactionJournal ORDER BY ExternalTransactionNumber"
expect_eq "$(body '[.records[] | "\(.ExternalTransactionNumber)=\(.Status)"] | join(" ")')" \
    "t1=Processed t2=Processed t3=Processed t3=Processed t4=Processed t5=Pending" "the process marks what it handled"
q query "SELECT Id FROM LoyaltyMemberCurrency WHERE LoyaltyProgramCurrencyId = '$NQ'"
req PATCH "$D/sobjects/LoyaltyMemberCurrency/Id/$(body '.records[0].Id')" '{"PointsBalance": 1}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_FIELD_FOR_INSERT_UPDATE" "PointsBalance is read-only"
ok "Loyalty objects refused and processed as Salesforce does"

# The daily budget: every API call counts, the token endpoint does not.
ctl POST config '{"daily-max": 5}' >/dev/null
ctl POST seed '{"flavor_state": {"apiUsed": 3}}' >/dev/null
q query "SELECT Id FROM Contact LIMIT 1"
expect_eq "$STATUS/$(header Sforce-Limit-Info)" "200/api-usage=4/5" "4th call"
req GET "$D/limits"
expect_eq "$(header Sforce-Limit-Info)/$(body .DailyApiRequests.Remaining)" "api-usage=5/5/0" "5th call"
q query "SELECT Id FROM Contact LIMIT 1"
expect_status 403 "budget spent"
expect_eq "$(body '.[0].errorCode')/$(body '.[0].message')" \
    "REQUEST_LIMIT_EXCEEDED/TotalRequests Limit exceeded." "limit body"
expect_eq "$(header Sforce-Limit-Info)" "api-usage=5/5" "header when spent"
ctl POST clock '{"advance_ms": 86400000}' >/dev/null
TOKEN=T1
q query "SELECT Id FROM Contact LIMIT 1"
expect_eq "$STATUS/$(header Sforce-Limit-Info)" "200/api-usage=1/5" "next day"
ok "daily request budget: Sforce-Limit-Info and REQUEST_LIMIT_EXCEEDED"
# Core faults, counters and the request log apply to Salesforce routes.
ctl POST config '{"fault-script": "503,token-expiry", "fault-match": "/composite/"}' >/dev/null
req PATCH "$U" '{"records": []}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "503/SERVER_UNAVAILABLE" "injected 503"
req PATCH "$U" '{"records": []}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "401/INVALID_SESSION_ID" "injected token expiry"
ctl GET counters >"$T/c.json"
expect_eq "$(jq -r '.endpoints["collections.upsert"].records' "$T/c.json")" "212" "records counted per endpoint (5+2+2+1+1+200+1 contacts)"
expect_eq "$(jq -r '.faults["token-expiry"]' "$T/c.json")" "1" "fault counted"
ok "faults and counters on Salesforce routes"
sim_stop
