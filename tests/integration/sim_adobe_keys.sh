#!/usr/bin/env bash
# crmsim Adobe Campaign: xtk:session#Write / WriteCollection on
# nms:recipient: _operation (insert, insertOrUpdate, update, delete, none),
# _key (@email, @memberKey, composite, @id, none), @id/@created/@lastModified
# kept by the simulator, extension fields and their types, the unique index
# (a duplicate is a PGS- data fault and rolls the whole collection back),
# nested rcpGrpRel list memberships, and Enterprise (FFDA) mode, where two
# upserts of one new key inside the replication lag make twins.
source "${SRC_DIR:?}/tests/sim/adobe_testlib.bash"
ad_start --adobe-extensions 'memberKey:string:16,loyaltyPoints:long,loyaltyTier:string:8,storeId:long'
ctl POST clock '{"freeze":true}' >/dev/null
R="xtkschema='nms:recipient'"
rcp() { # rcp WHERE: select of the recipients matching WHERE, compact lines
    query "<queryDef schema='nms:recipient' operation='select'><select><node expr='@id'/><node expr='@email'/><node expr='@memberKey'/><node expr='@loyaltyPoints'/><node expr='@loyaltyTier'/><node expr='@storeId'/><node expr='@firstName'/><node expr='@created'/><node expr='@lastModified'/></select><where><condition expr=\"$1\"/></where><orderBy><node expr='@id'/></orderBy></queryDef>"
    expect_status 200 "select $1"
    xmllint --xpath '//*[local-name()="recipient"]' "$T/body" 2>/dev/null | sed 's/></>\n</g' || true
}

write_coll "<recipient-collection $R>
  <recipient _key='@memberKey' memberKey='m1' email='a@example.com' loyaltyPoints='10' loyaltyTier='gold' storeId='7'/>
  <recipient _key='@memberKey' memberKey='m2' email='b@example.com' firstName='Bea' unknownAttr='ignored'/>
</recipient-collection>"
expect_status 200 "WriteCollection insertOrUpdate by @memberKey"
rcp "@memberKey IS NOT NULL" >"$T/rows"
grep -q 'id="1" email="a@example.com" memberKey="m1" loyaltyPoints="10" loyaltyTier="gold" storeId="7" created="' "$T/rows" || fail "m1: $(cat "$T/rows")"
grep -q 'id="2" email="b@example.com" memberKey="m2" firstName="Bea"' "$T/rows" || fail "m2: $(cat "$T/rows")"
grep -q unknownAttr "$T/rows" && fail "an attribute outside the schema was stored"
C1=$(grep 'id="1"' "$T/rows" | sed 's/.*created="\([^"]*\)".*/\1/')
[[ $C1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]] || fail "@created format: $C1"
ok "insertOrUpdate creates with @id, @created, @lastModified; unknown attributes ignored"

ctl POST clock '{"advance_ms":5000}' >/dev/null
write_one "<recipient $R _key='@memberKey' memberKey='m1' loyaltyPoints='15' id='999' created='2000-01-01 00:00:00.000Z'/>"
expect_status 200 "Write update by key"
rcp "@memberKey = 'm1'" >"$T/rows"
grep -q 'id="1" email="a@example.com" memberKey="m1" loyaltyPoints="15"' "$T/rows" || fail "update: $(cat "$T/rows")"
grep -q "created=\"$C1\"" "$T/rows" || fail "@created moved: $(cat "$T/rows")"
grep -q "lastModified=\"$C1\"" "$T/rows" && fail "@lastModified not bumped: $(cat "$T/rows")"
ok "an update keeps @id and @created, bumps @lastModified; id/created are read-only"

write_one "<recipient $R _key='@email,@memberKey' email='b@example.com' memberKey='m2' loyaltyTier='silver'/>"
expect_status 200 "composite key"
write_one "<recipient $R _key='@email,@memberKey' email='b@example.com' memberKey='m9' loyaltyTier='bronze'/>"
expect_status 200 "composite key, no match"
expect_eq "$(count_where nms:recipient "@email = 'b@example.com'")" "2" "no match on both fields: inserted (email is not unique)"
rcp "@memberKey = 'm2'" | grep -q 'loyaltyTier="silver"' || fail "composite key update"
write_one "<recipient $R _key='@email' email='b@example.com' firstName='Both'/>"
expect_status 200 "@email matching two recipients"
expect_eq "$(count_where nms:recipient "@firstName = 'Both'")" "1" "the oldest of two matches is updated"
rcp "@firstName = 'Both'" | grep -q 'memberKey="m2"' || fail "not the oldest"
write_one "<recipient $R _key='@id' id='2' storeId='9'/>"
expect_status 200 "key @id"
rcp "@id = 2" | grep -q 'storeId="9"' || fail "@id update"
write_one "<recipient $R email='c@example.com' memberKey='m3'/>"
expect_status 200 "no key: insert"
expect_eq "$(count_where nms:recipient "@memberKey = 'm3'")" "1" "insert without key"
ok "keys: @memberKey, @email, composite, @id, none"

write_one "<recipient $R _operation='update' _key='@memberKey' memberKey='ghost' email='g@example.com'/>"
expect_status 200 "update of a missing key"
expect_eq "$(count_where nms:recipient "@memberKey = 'ghost'")" "0" "update never inserts"
write_one "<recipient $R _operation='none' _key='@memberKey' memberKey='m1' loyaltyPoints='999'/>"
expect_status 200 "none"
expect_eq "$(count_where nms:recipient "@loyaltyPoints = 999")" "0" "none writes nothing"
write_one "<recipient $R _operation='insert' _key='@memberKey' memberKey='m1'/>"
expect_fault PGS-220000 "insert of an existing unique key"
[[ $(faultdetail) == *'duplicate key value violates unique constraint'* ]] || fail "detail: $(faultdetail)"
expect_eq "$(faultstring)" "SOP-330011 Error while executing the method 'Write' of service 'xtk:session'." "faultstring"
write_one "<recipient $R _operation='upsert' _key='@memberKey' memberKey='m1'/>"
expect_fault XTK-170023 "unknown _operation"
ok "_operation update, none, insert; data faults"

# A collection is one transaction: the bad third element undoes the first two.
write_coll "<recipient-collection $R>
  <recipient _key='@memberKey' memberKey='t1' email='t1@example.com'/>
  <recipient _key='@memberKey' memberKey='m1' loyaltyPoints='1'/>
  <recipient _key='@memberKey' memberKey='t3' loyaltyPoints='many'/>
</recipient-collection>"
expect_fault PGS-220000 "bad long"
[[ $(faultdetail) == *'element 3 of the collection'* ]] || fail "detail names the element: $(faultdetail)"
expect_eq "$(count_where nms:recipient "@memberKey = 't1'")" "0" "insert rolled back"
expect_eq "$(count_where nms:recipient "@memberKey = 'm1' and @loyaltyPoints = 15")" "1" "update rolled back"
write_coll "<recipient-collection $R><recipient _key='@memberKey' memberKey='m4' loyaltyTier='platinum+'/></recipient-collection>"
expect_fault PGS-220000 "string over the declared length"
[[ $(faultdetail) == *'character varying(8)'* ]] || fail "length detail: $(faultdetail)"
write_coll "<recipient-collection $R><recipient _key='@memberKey' memberKey='m5' email='x@example.com'/><recipient _key='@memberKey' memberKey='m6' email='y@example.com'/><recipient _key='@memberKey' memberKey='m1' email='z@example.com'/></recipient-collection>"
expect_status 200 "mixed insert/update collection"
write_coll "<recipient-collection $R><recipient _operation='insert' memberKey='m7'/><recipient _operation='insert' memberKey='m7'/></recipient-collection>"
expect_fault PGS-220000 "the same unique key twice in one collection"
expect_eq "$(count_where nms:recipient "@memberKey = 'm7'")" "0" "both rolled back"
write_coll "<recipient-collection $R><group name='x'/></recipient-collection>"
expect_fault XTK-170019 "an element of another schema"
ok "WriteCollection is all or nothing"

# List memberships nested in the recipient.
write_one "<recipient $R _key='@memberKey' memberKey='m1'><rcpGrpRel><rcpGroup name='vip'/></rcpGrpRel><rcpGrpRel><rcpGroup name='news'/></rcpGrpRel></recipient>"
expect_status 200 "memberships"
write_one "<recipient $R _key='@memberKey' memberKey='m1'><rcpGrpRel><rcpGroup name='vip'/></rcpGrpRel></recipient>"
expect_status 200 "membership again"
expect_eq "$(count_where nms:rcpGrpRel "[recipient/@memberKey] = 'm1'")" "2" "two memberships, none doubled"
expect_eq "$(count_where nms:group "@name = 'vip' and @type = 1")" "1" "list created"
write_one "<recipient $R _key='@memberKey' memberKey='m2'><rcpGrpRel><rcpGroup name='nolist' _operation='none'/></rcpGrpRel></recipient>"
expect_fault XTK-170026 "a missing list with _operation none"
write_one "<recipient $R _key='@memberKey' memberKey='m1'><rcpGrpRel _operation='delete'><rcpGroup name='news'/></rcpGrpRel></recipient>"
expect_status 200 "membership removed"
expect_eq "$(count_where nms:rcpGrpRel "[recipient/@memberKey] = 'm1' and [rcpGroup/@name] = 'news'")" "0" "news membership gone"
write_one "<group xtkschema='nms:group' _key='@name' name='winter' label='Winter sale'/>"
expect_status 200 "Write nms:group"
expect_eq "$(count_where nms:group "@label = 'Winter sale'")" "1" "group written"
ok "rcpGrpRel memberships and nms:group"

write_one "<recipient $R _operation='delete' _key='@memberKey' memberKey='m1'/>"
expect_status 200 "delete"
expect_eq "$(count_where nms:recipient "@memberKey = 'm1'")" "0" "deleted"
expect_eq "$(count_where nms:rcpGrpRel "@recipient-id = 1")" "0" "its memberships went with it"
write_one "<recipient $R _operation='delete' _key='@memberKey' memberKey='m1'/>"
expect_status 200 "delete of a missing record is no error"
ok "delete"
sim_stop

# Enterprise (FFDA): no unique index; a key lookup sees a write only once
# replicated (--search-lag-ms), so two quick upserts of one key make twins.
ad_start --adobe-enterprise --search-lag-ms 1000
ctl POST clock '{"freeze":true}' >/dev/null
write_one "<recipient $R _key='@memberKey' memberKey='tw' loyaltyPoints='1'/>"
expect_status 200 "first upsert"
write_one "<recipient $R _key='@memberKey' memberKey='tw' loyaltyPoints='2'/>"
expect_status 200 "second upsert inside the lag"
expect_eq "$(count_where nms:recipient "@memberKey = 'tw'")" "2" "twins"
ctl POST clock '{"advance_ms":1500}' >/dev/null
write_one "<recipient $R _key='@memberKey' memberKey='tw' loyaltyPoints='3'/>"
expect_status 200 "upsert after the lag"
expect_eq "$(count_where nms:recipient "@memberKey = 'tw'")" "2" "no third twin"
expect_eq "$(count_where nms:recipient "@memberKey = 'tw' and @loyaltyPoints = 3")" "1" "the oldest twin updated"
write_one "<recipient $R _operation='insert' memberKey='tw'/>"
expect_status 200 "no unique index in Enterprise mode"
ok "Enterprise mode: twins under concurrency"
sim_stop
