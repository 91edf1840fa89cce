#!/usr/bin/env bash
# crmsim Adobe Campaign: xtk:queryDef#ExecuteQuery: select/get/getIfExists/
# count, lineCount/startLine paging, orderBy (sortDesc, NULLs last), the
# where subset a connector needs (=, >, >=, <, and/or, IS NOT NULL,
# #datetime#, quoted strings with escapes, [link/@field], setOperator
# EXISTS / NOT EXISTS on collection links), the
# -collection output, aliases, link children and the default line cap.
source "${SRC_DIR:?}/tests/sim/adobe_testlib.bash"
ad_start --adobe-line-cap 25
# 30 recipients, lastModified one second apart from 2026-12-01T00:00:01Z
# (recipient 30 ties with 29); services, subscriptions, a list.
jq -cn '{collections: {
  "nms:recipient": [range(1; 31) | {id: tostring, createdAt: "2026-11-01T00:00:00Z",
     updatedAt: (1796083200000 + ([., 29] | min) * 1000),
     properties: ({memberKey: "m\(.)", email: "r\(.)@example.com", loyaltyPoints: "\(. * 10)"}
       + (if . == 5 then {lastName: "O'"'"'Brien"} else {} end)
       + (if . % 2 == 0 then {loyaltyTier: "gold"} else {} end))}],
  "nms:service": [{id: "1", properties: {name: "news", label: "News"}},
                  {id: "2", properties: {name: "sms", label: "SMS offers"}}],
  "nms:subscription": [{id: "1", properties: {"recipient-id": "3", "service-id": "1"}},
                       {id: "2", properties: {"recipient-id": "4", "service-id": "2"}}],
  "nms:group": [{id: "1", properties: {name: "vip", label: "VIP", type: "1"}}],
  "nms:rcpGrpRel": [{id: "1", properties: {"rcpGroup-id": "1", "recipient-id": "7"}}]}}' >"$T/seed.json"
ctl POST seed @"$T/seed.json" >/dev/null
TOKEN=T1
ids() { xmllint --xpath '//*[local-name()="recipient"]/@id' "$T/body" 2>/dev/null | tr -dc '0-9 ' | xargs; }
sel() { # sel WHERE [extra queryDef attributes] [orderBy nodes]
    query "<queryDef schema='nms:recipient' operation='select' ${2-}><select><node expr='@id'/></select><where><condition expr=\"$1\"/></where><orderBy>${3-<node expr='@id'/>}</orderBy></queryDef>"
    expect_status 200 "select where $1"
}

sel "@loyaltyPoints > 270"
expect_eq "$(ids)" "28 29 30" ">"
sel "@loyaltyPoints &gt;= 280 and @loyaltyPoints &lt; 300"
expect_eq "$(ids)" "28 29" ">= and <"
sel "@id = 1 or @id = 3 and @loyaltyPoints = 30"
expect_eq "$(ids)" "1 3" "and binds tighter than or"
sel "@loyaltyTier IS NOT NULL and @id &lt; 7"
expect_eq "$(ids)" "2 4 6" "IS NOT NULL"
sel "@lastName = 'O\\'Brien'"
expect_eq "$(ids)" "5" "escaped quote"
sel "@lastModified &gt;= #2026-12-01 00:00:28.000Z#"
expect_eq "$(ids)" "28 29 30" "#datetime#"
sel "@lastModified &gt; #2026-12-01 00:00:29.000Z# or (@lastModified = #2026-12-01 00:00:29.000Z# and @id &gt; 29)"
expect_eq "$(ids)" "30" "keyset cursor on (@lastModified, @id)"
sel "@memberKey = 'm1' or @memberKey = 'm2'" "" "<node expr='@id' sortDesc='true'/>"
expect_eq "$(ids)" "2 1" "sortDesc"
sel "@id &lt; 5" "" "<node expr='@loyaltyTier'/><node expr='@id'/>"
expect_eq "$(ids)" "2 4 1 3" "orderBy a string with NULLs last"
ok "where subset and orderBy"

# Paging: lineCount/startLine; without lineCount at most --adobe-line-cap.
sel "@id &gt; 0" "lineCount='10' startLine='10'"
expect_eq "$(ids)" "11 12 13 14 15 16 17 18 19 20" "second page"
sel "@id &gt; 0" "lineCount='10' startLine='30'"
expect_eq "$(ids)" "" "past the end"
expect_eq "$(xp 'count(//*[local-name()="recipient-collection"])')" "1" "empty -collection element"
sel "@id &gt; 0"
expect_eq "$(ids | wc -w)" "25" "line cap without lineCount"
sel "@id &gt; 0" "lineCount='100'"
expect_eq "$(ids | wc -w)" "30" "an explicit lineCount passes the cap"
ok "paging"

query "<queryDef schema='nms:recipient' operation='count'><where><condition expr='@loyaltyTier IS NULL'/></where></queryDef>"
expect_eq "$(xp 'string(//*[local-name()="recipient"]/@count)')" "15" "count"
query "<queryDef schema='nms:recipient' operation='get'><select><node expr='@email'/><node expr='@memberKey' alias='@key'/></select><where><condition expr=\"@memberKey = 'm9'\"/></where></queryDef>"
expect_status 200 "get"
expect_eq "$(xp 'string(//*[local-name()="recipient"]/@email)')" "r9@example.com" "get email"
expect_eq "$(xp 'string(//*[local-name()="recipient"]/@key)')" "m9" "alias"
query "<queryDef schema='nms:recipient' operation='get'><select><node expr='@email'/></select><where><condition expr=\"@memberKey = 'nobody'\"/></where></queryDef>"
expect_fault XTK-170037 "get without a row"
query "<queryDef schema='nms:recipient' operation='getIfExists'><select><node expr='@email'/></select><where><condition expr=\"@memberKey = 'nobody'\"/></where></queryDef>"
expect_status 200 "getIfExists without a row"
expect_eq "$(xp 'count(//*[local-name()="recipient"]/@*)')" "0" "an empty element"
ok "count, get, getIfExists, alias"

# A key list of 100 members OR'd in one expression (the Adobe connector's
# batch reads; ~2.6 kB): read whole, not cut at a buffer of ours.
long="@memberKey = 'k1000'"
for i in $(seq 1001 1099); do long="$long OR @memberKey = 'k$i'"; done
long="$long OR @memberKey = 'm9'"
query "<queryDef schema='nms:recipient' operation='count'><where><condition expr=\"$long\"/></where></queryDef>"
expect_status 200 "an expression of ${#long} bytes"
expect_eq "$(xp 'string(//*[local-name()="recipient"]/@count)')" "1" "its last term counts too"
ok "a long expression"

query "<queryDef schema='nms:subscription' operation='select'><select><node expr='@id'/><node expr='[recipient/@memberKey]'/><node expr='[service/@name]'/><node expr='[service/@label]'/><node expr='@created'/></select><where><condition expr=\"[service/@name] = 'sms'\"/></where></queryDef>"
expect_status 200 "subscriptions by [service/@name]"
expect_eq "$(xp 'string(//*[local-name()="subscription"]/*[local-name()="recipient"]/@memberKey)')" "m4" "link child recipient"
expect_eq "$(xp 'string(//*[local-name()="subscription"]/*[local-name()="service"]/@label)')" "SMS offers" "one service child, two attributes"
expect_eq "$(xp 'count(//*[local-name()="subscription"]/*[local-name()="service"])')" "1" "one child per link"
query "<queryDef schema='nms:rcpGrpRel' operation='select'><select><node expr='[rcpGroup/@name]' alias='@list'/><node expr='@recipient-id'/></select></queryDef>"
expect_eq "$(xp 'string(//*[local-name()="rcpGrpRel"]/@list)')" "vip" "rcpGrpRel list name"
expect_eq "$(xp 'string(//*[local-name()="rcpGrpRel"]/@recipient-id)')" "7" "foreign key"
ok "links: [link/@field] in select and where"

# Collection links filtered with setOperator EXISTS / NOT EXISTS ("Data
# oriented APIs", Examples on links: "the filtering on the fields of a
# collection table must be performed via the EXISTS or NOT EXISTS
# operator"); the inner conditions read the linked schema.
setq() { # setq LINK SETOP INNER [OUTER]
    query "<queryDef schema='nms:recipient' operation='select' lineCount='100'><select><node expr='@id'/></select><where><condition expr='$1' setOperator='$2'>$3</condition>${4-}</where><orderBy><node expr='@id'/></orderBy></queryDef>"
}
setq rcpGrpRel EXISTS "<condition expr=\"[rcpGroup/@name] = 'vip'\"/>"
expect_status 200 "EXISTS rcpGrpRel"
expect_eq "$(ids)" "7" "the recipients in list vip"
setq rcpGrpRel "NOT EXISTS" "<condition expr=\"[rcpGroup/@name] = 'vip'\"/>" "<condition expr='@id &lt; 10'/>"
expect_status 200 "NOT EXISTS rcpGrpRel"
expect_eq "$(ids)" "1 2 3 4 5 6 8 9" "the recipients not in list vip (and @id < 10)"
setq rcpGrpRel "NOT EXISTS" "<condition expr=\"[rcpGroup/@name] = 'gold'\"/>"
expect_eq "$(ids | wc -w)" "30" "nobody is in a list that does not exist"
setq subscription EXISTS "<condition expr=\"[service/@name] = 'news'\"/>"
expect_eq "$(ids)" "3" "EXISTS subscription to news"
setq subscription EXISTS ""
expect_eq "$(ids)" "3 4" "EXISTS without an inner condition: any subscription"
setq rcpGrpRel "NOT IN" ""
expect_fault XTK-170040 "a setOperator other than EXISTS / NOT EXISTS"
setq folder EXISTS ""
expect_fault XTK-170027 "EXISTS on something that is not a collection link"
setq rcpGrpRel EXISTS "<condition expr=\"@email = 'x'\"/>"
expect_fault XTK-170027 "inner conditions read the linked schema"
ok "setOperator EXISTS / NOT EXISTS on collection links"

query "<queryDef schema='nms:recipient' operation='select'><select><node expr='Lower(@email)'/></select></queryDef>"
expect_fault XTK-170014 "functions in select"
query "<queryDef schema='nms:recipient' operation='select'><select><node expr='@nope'/></select></queryDef>"
expect_fault XTK-170027 "unknown field in select"
query "<queryDef schema='nms:recipient' operation='select'><where><condition expr=\"@email = 'x\"/></where></queryDef>"
expect_fault XTK-170014 "unterminated literal"
query "<queryDef schema='nms:recipient' operation='select'><where><condition expr=\"[folder/@label] = 'x'\"/></where></queryDef>"
expect_fault XTK-170027 "unknown link"
query "<queryDef schema='nms:delivery' operation='select'/>"
expect_fault XTK-170006 "unknown schema"
ok "unsupported or wrong queries fault"

# seed(dump) reproduces the dump.
ctl GET state | jq -S '{collections}' >"$T/dump1.json"
ctl POST reset >/dev/null
ctl POST seed @"$T/dump1.json" >/dev/null
ctl GET state | jq -S '{collections}' >"$T/dump2.json"
cmp -s "$T/dump1.json" "$T/dump2.json" || fail "seed(dump) differs: $(diff "$T/dump1.json" "$T/dump2.json" | head -5)"
query "<queryDef schema='nms:subscription' operation='count'><where><condition expr=\"[service/@name] = 'sms'\"/></where></queryDef>"
expect_eq "$(xp 'string(//*[@count]/@count)')" "1" "links work after a re-seed"
ok "seed/dump round trip"
sim_stop
