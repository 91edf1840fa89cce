#!/usr/bin/env bash
# crmsim Salesforce: a Bulk API 2.0 upsert job with failed rows through to
# successfulResults/failedResults, a job failing on an unknown column, an
# aborted job's unprocessed records, a job created with its data in one
# multipart request, and getDeleted for a hard-deleted
# CampaignMember within (and outside) the 15-day horizon.
source "${SRC_DIR:?}/tests/sim/salesforce_testlib.bash"
sf_start --sf-bulk-delay-ms 5000
TOKEN=T1
ctl POST clock '{"freeze": true}' >/dev/null
J=$D/jobs/ingest
csv_put() { # csv_put PATH FILE
    local rc=0
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: text/csv' --data-binary @"$2" "$SIM_URL$1") || rc=$?
    [ $rc = 0 ] || STATUS="curl:$rc"
}

req POST "$J" '{"object": "Contact", "externalIdFieldName": "Member_Key__c", "contentType": "CSV", "operation": "upsert", "lineEnding": "LF"}'
expect_eq "$STATUS/$(body .state)/$(body .operation)" "200/Open/upsert" "create job"
JOB=$(body .id)
[[ $JOB =~ ^750[0-9A-Za-z]{15}$ ]] || fail "job id: $JOB"
printf '%s\n' 'Member_Key__c,LastName,Email,HasOptedOutOfEmail' \
    'k1,"Smith, Jo",jo@example.com,true' \
    'k2,,nobody@example.com,false' \
    'k3,"Multi' 'Line ""Quoted""",bad-email,false' \
    'k4,Doe,doe@example.com,maybe' \
    'k5,Roe,roe@example.com,0' >"$T/job.csv"
csv_put "$J/$JOB/batches" "$T/job.csv"
expect_status 201 "upload CSV"
csv_put "$J/$JOB/batches" "$T/job.csv"
expect_status 409 "a second upload is refused"
req PATCH "$J/$JOB" '{"state": "UploadComplete"}'
expect_eq "$STATUS/$(body .state)" "200/UploadComplete" "UploadComplete"
req GET "$J/$JOB"
expect_eq "$(body .state)/$(body .numberRecordsProcessed)" "UploadComplete/0" "not yet processed"
ctl POST clock '{"advance_ms": 2500}' >/dev/null
req GET "$J/$JOB"
expect_eq "$(body .state)" "InProgress" "in progress"
ctl POST clock '{"advance_ms": 2500}' >/dev/null
req GET "$J/$JOB"
expect_eq "$(body .state)/$(body .numberRecordsProcessed)/$(body .numberRecordsFailed)" \
    "JobComplete/5/3" "job complete"
req GET "$J/$JOB/successfulResults/"
expect_status 200 "successfulResults"
[[ $(header Content-Type) == text/csv* ]] || fail "results content type"
expect_eq "$(head -n 1 "$T/body")" '"sf__Id","sf__Created","Member_Key__c","LastName","Email","HasOptedOutOfEmail"' "success header"
expect_eq "$(wc -l <"$T/body")" "3" "two successful rows"
grep -q '^"003[0-9A-Za-z]*","true","k1","Smith, Jo","jo@example.com","true"$' "$T/body" || fail "k1 row: $(cat "$T/body")"
grep -q '"k5","Roe"' "$T/body" || fail "k5 row"
req GET "$J/$JOB/failedResults/"
expect_eq "$(head -n 1 "$T/body")" '"sf__Id","sf__Error","Member_Key__c","LastName","Email","HasOptedOutOfEmail"' "failed header"
grep -q '^"","REQUIRED_FIELD_MISSING:Required fields are missing: \[LastName\]:LastName --","k2"' "$T/body" || fail "k2 row: $(cat "$T/body")"
grep -q '"INVALID_EMAIL_ADDRESS:Email: invalid email address: bad-email:Email --","k3","Multi' "$T/body" || fail "k3 row"
grep -q 'Line ""Quoted""' "$T/body" || fail "k3 quoted newline kept"
grep -q '"INVALID_TYPE_ON_FIELD_IN_RECORD:HasOptedOutOfEmail: value not of required type: maybe:HasOptedOutOfEmail --","k4"' "$T/body" || fail "k4 row"
req GET "$J/$JOB/unprocessedrecords/"
expect_eq "$(cat "$T/body")" '"Member_Key__c","LastName","Email","HasOptedOutOfEmail"' "no unprocessed rows"
q query "SELECT Member_Key__c, HasOptedOutOfEmail FROM Contact ORDER BY Member_Key__c"
expect_eq "$(body '[.records[] | "\(.Member_Key__c)=\(.HasOptedOutOfEmail)"] | join(",")')" "k1=true,k5=false" "rows written"
req DELETE "$J/$JOB"
expect_status 204 "delete job"
ok "Bulk API 2.0 upsert with failed rows through failedResults"

req POST "$J" '{"object": "Contact", "operation": "insert"}'
JOB2=$(body .id)
printf 'LastName,Nope__c\nA,1\n' >"$T/bad.csv"
csv_put "$J/$JOB2/batches" "$T/bad.csv"
req PATCH "$J/$JOB2" '{"state": "UploadComplete"}'
ctl POST clock '{"advance_ms": 5000}' >/dev/null
req GET "$J/$JOB2"
expect_eq "$(body .state)/$(body .errorMessage)" "Failed/InvalidBatch : Field name not found : Nope__c" "unknown column fails the job"
req POST "$J" '{"object": "Contact", "operation": "insert"}'
JOB3=$(body .id)
printf 'LastName\nA\nB\n' >"$T/ab.csv"
csv_put "$J/$JOB3/batches" "$T/ab.csv"
req PATCH "$J/$JOB3" '{"state": "Aborted"}'
expect_eq "$(body .state)" "Aborted" "aborted"
req GET "$J/$JOB3/unprocessedrecords/"
expect_eq "$(tr '\n' ' ' <"$T/body")" '"LastName" "A" "B" ' "aborted rows are unprocessed"
req POST "$J" '{"object": "Contact", "operation": "upsert"}'
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALIDJOB" "upsert needs an external id field"
ok "failed and aborted jobs"

# A job created with its data in one multipart request (Bulk API 2.0:
# data under 100,000 characters) is closed at once.
mp_post() { # mp_post FILE BOUNDARY
    local rc=0
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H "Content-Type: multipart/form-data; boundary=$2" --data-binary @"$1" "$SIM_URL$J") || rc=$?
    [ $rc = 0 ] || STATUS="curl:$rc"
}
mp_body() { # mp_body BOUNDARY CSV_FILE > FILE (CRLF between parts)
    printf -- '--%s\r\nContent-Type: application/json\r\nContent-Disposition: form-data; name="job"\r\n\r\n' "$1"
    printf '{"object":"Contact","externalIdFieldName":"Member_Key__c","contentType":"CSV","operation":"upsert","lineEnding":"LF"}\r\n'
    printf -- '--%s\r\nContent-Type: text/csv\r\nContent-Disposition: form-data; name="content"; filename="content"\r\n\r\n' "$1"
    cat "$2"
    printf '\r\n--%s--\r\n' "$1"
}
printf 'Member_Key__c,LastName\nmp1,Mult\nmp2,"Part, Two"\n' >"$T/mp.csv"
mp_body BOUNDARY "$T/mp.csv" >"$T/mp.body"
mp_post "$T/mp.body" BOUNDARY
expect_eq "$STATUS/$(body .state)/$(body .operation)" "200/UploadComplete/upsert" "multipart create: closed at once"
JOB4=$(body .id)
csv_put "$J/$JOB4/batches" "$T/mp.csv"
expect_status 409 "no upload to a multipart job"
ctl POST clock '{"advance_ms": 5000}' >/dev/null
req GET "$J/$JOB4"
expect_eq "$(body .state)/$(body .numberRecordsProcessed)/$(body .numberRecordsFailed)" \
    "JobComplete/2/0" "multipart job complete"
q query "SELECT LastName FROM Contact WHERE Member_Key__c = 'mp2'"
expect_eq "$(body '.records[0].LastName')" "Part, Two" "multipart rows written"
awk 'BEGIN { print "Member_Key__c,LastName"; for (i = 0; i < 5000; i++) printf "big%05d,Name %014d\n", i, i }' >"$T/big.csv"
mp_body B2 "$T/big.csv" >"$T/big.body"
mp_post "$T/big.body" B2
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALIDJOB" "multipart data over 100,000 characters is refused"
printf -- '--B3\r\nContent-Disposition: form-data; name="job"\r\n\r\n{"object":"Contact","operation":"insert"}\r\n--B3--\r\n' >"$T/nocontent.body"
mp_post "$T/nocontent.body" B3
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALIDJOB" "multipart without a content part is refused"
ok "Bulk API 2.0 job created with its data in one multipart request"

# getDeleted: CampaignMember deletes are hard deletes.
req POST "$D/sobjects/Campaign" '{"Name": "Winter"}'
CAMP=$(body .id)
req POST "$D/sobjects/Contact" '{"LastName": "Member"}'
CON=$(body .id)
req POST "$D/sobjects/CampaignMember" "{\"CampaignId\": \"$CAMP\", \"ContactId\": \"$CON\", \"Status\": \"Sent\"}"
expect_status 201 "campaign member"
CM=$(body .id)
[[ $CM == 00v* ]] || fail "CampaignMember id: $CM"
NOW_MS=$(ctl GET clock | jq -r .now_ms)
iso() { jq -rn --argjson ms "$1" '($ms / 1000 | strftime("%Y-%m-%dT%H:%M:%SZ"))'; }
START=$(iso $((NOW_MS - 3600000)))
ctl POST clock '{"advance_ms": 60000}' >/dev/null
req DELETE "$D/sobjects/CampaignMember/$CM"
expect_status 204 "delete the member"
q queryAll "SELECT Id FROM CampaignMember"
expect_eq "$(body .totalSize)" "0" "a hard delete is gone from queryAll"
ctl POST clock '{"advance_ms": 120000}' >/dev/null
END=$(iso $((NOW_MS + 180000)))
req GET "$D/sobjects/CampaignMember/deleted/?start=$START&end=$END"
expect_status 200 "getDeleted"
expect_eq "$(body '.deletedRecords | length')/$(body '.deletedRecords[0].id')" "1/$CM" "the deleted member"
[[ $(body '.deletedRecords[0].deletedDate') =~ ^20[0-9-]+T[0-9:]+\.000\+0000$ ]] || fail "deletedDate"
[ -n "$(body .earliestDateAvailable)" ] && [ -n "$(body .latestDateCovered)" ] || fail "dates"
req GET "$D/sobjects/CampaignMember/deleted/?start=$(iso $((NOW_MS - 16 * 86400000)))&end=$END"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_REPLICATION_DATE" "start past the 15-day horizon"
# The delete log purged early (Salesforce's background purge): a start
# before earliestDateAvailable is refused; one after it is answered.
ctl POST seed '{"flavor_state": {"purgeDeleteLog": "CampaignMember"}}' >/dev/null
req GET "$D/sobjects/CampaignMember/deleted/?start=$START&end=$END"
expect_eq "$STATUS/$(body '.[0].errorCode')" "400/INVALID_REPLICATION_DATE" "start before earliestDateAvailable"
req GET "$D/sobjects/CampaignMember/deleted/?start=$(iso $((NOW_MS + 120000)))&end=$END"
expect_eq "$STATUS/$(body '.deletedRecords | length')/$(body .earliestDateAvailable)" \
    "200/0/$(iso $((NOW_MS + 60000)) | sed 's/Z$/.000+0000/')" "after earliestDateAvailable (the purged entry's date)"
ctl POST clock '{"advance_ms": 1296000000}' >/dev/null # 15 days
req GET "$D/sobjects/CampaignMember/deleted/?start=$(iso $((NOW_MS + 1296000000 - 3600000)))&end=$(iso $((NOW_MS + 1296300000)))"
expect_eq "$STATUS/$(body '.deletedRecords | length')" "200/0" "purged from the delete log after 15 days"
ok "getDeleted for a hard-deleted CampaignMember"
sim_stop
