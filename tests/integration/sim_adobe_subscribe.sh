#!/usr/bin/env bash
# crmsim Adobe Campaign: nms:subscription#Subscribe / Unsubscribe:
# comma-separated service names, the create flag, recipient attributes
# updated on Subscribe, nms:subscription rows deleted on Unsubscribe with
# nms:subHisto rows for both, no error for an unknown recipient or a service
# not subscribed, and the denylist (@blackList) for an empty service name.
source "${SRC_DIR:?}/tests/sim/adobe_testlib.bash"
ad_start
ctl POST clock '{"freeze":true}' >/dev/null
ctl POST seed '{"collections":{"nms:service":[{"properties":{"name":"news"}},{"properties":{"name":"sms"}},{"properties":{"name":"promo"}}],
  "nms:recipient":[{"id":"1","properties":{"memberKey":"m1","email":"a@example.com"}}]}}' >/dev/null
sub() { # sub METHOD SERVICES RECIPIENT_XML [create]
    local create=
    [ $# -ge 4 ] && create="<create xsi:type='xsd:boolean'>$4</create>"
    soap "nms:subscription#$1" "<serviceName xsi:type='xsd:string'>$2</serviceName><recipient xsi:type='' SOAP-ENV:encodingStyle='http://xml.apache.org/xml-soap/literalxml'>$3</recipient>$create"
}
M1="<recipient _key='@memberKey' memberKey='m1' firstName='Ann'/>"

sub Subscribe 'news, sms' "$M1" false
expect_status 200 "Subscribe to two services"
expect_eq "$(xp 'count(//*[local-name()="SubscribeResponse"]/*)')" "0" "no output parameter"
expect_eq "$(count_where nms:subscription "@recipient-id = 1")" "2" "two subscriptions"
expect_eq "$(count_where nms:subHisto "@recipient-id = 1 and @action = 1")" "2" "two history rows (subscribe)"
expect_eq "$(count_where nms:recipient "@firstName = 'Ann'")" "1" "recipient attributes updated"
sub Subscribe news "$M1" false
expect_status 200 "Subscribe again"
expect_eq "$(count_where nms:subscription "@recipient-id = 1")" "2" "no second row for the same service"
expect_eq "$(count_where nms:subHisto "@recipient-id = 1")" "2" "no history for a subscription already there"
ok "Subscribe: several services, idempotent"

sub Subscribe news "<recipient _key='@memberKey' memberKey='m2' email='b@example.com'/>" false
expect_fault NMS-450013 "unknown recipient without create"
sub Subscribe news "<recipient _key='@memberKey' memberKey='m2' email='b@example.com'/>" true
expect_status 200 "create"
expect_eq "$(count_where nms:subscription "[recipient/@memberKey] = 'm2' and [service/@name] = 'news'")" "1" "created and subscribed"
sub Subscribe 'news,nosuch' "<recipient _key='@memberKey' memberKey='m3'/>" true
expect_fault NMS-450012 "unknown service"
expect_eq "$(count_where nms:recipient "@memberKey = 'm3'")" "0" "nothing written when a service is unknown"
ok "Subscribe: create flag, unknown service"

ctl POST clock '{"advance_ms":60000}' >/dev/null
sub Unsubscribe sms "$M1"
expect_status 200 "Unsubscribe"
expect_eq "$(count_where nms:subscription "@recipient-id = 1")" "1" "sms subscription deleted"
expect_eq "$(count_where nms:subscription "@recipient-id = 1 and [service/@name] = 'news'")" "1" "news kept"
query "<queryDef schema='nms:subHisto' operation='select'><select><node expr='@action'/><node expr='@date'/><node expr='[service/@name]' alias='@service'/></select><where><condition expr=\"[recipient/@memberKey] = 'm1' and [service/@name] = 'sms'\"/></where><orderBy><node expr='@date'/></orderBy></queryDef>"
expect_eq "$(xp 'string(//*[local-name()="subHisto"][2]/@action)')" "0" "unsubscription in nms:subHisto"
D1=$(xp 'string(//*[local-name()="subHisto"][1]/@date)')
D2=$(xp 'string(//*[local-name()="subHisto"][2]/@date)')
[[ $D2 > $D1 ]] || fail "history dates: '$D1' then '$D2'"
expect_eq "$(count_where nms:subHisto "@date &gt; #$D1# and @action = 0")" "1" "history since a watermark"
sub Unsubscribe promo "$M1"
expect_status 200 "Unsubscribe from a service not subscribed"
sub Unsubscribe news "<recipient _key='@memberKey' memberKey='nobody'/>"
expect_status 200 "Unsubscribe of an unknown recipient"
expect_eq "$(count_where nms:subHisto "@action = 0")" "1" "neither wrote history"
ok "Unsubscribe: row deleted, nms:subHisto written, no error when nothing to do"

expect_eq "$(count_where nms:recipient "@memberKey = 'm2' and @blackList = 1")" "0" "not denylisted yet"
sub Unsubscribe '' "<recipient _key='@memberKey' memberKey='m2'/>"
expect_status 200 "Unsubscribe with no service"
expect_eq "$(count_where nms:recipient "@memberKey = 'm2' and @blackList = 1")" "1" "@blackList set"
expect_eq "$(count_where nms:subscription "[recipient/@memberKey] = 'm2'")" "1" "subscriptions untouched"
ok "an empty service name puts the recipient on the denylist"
sim_stop
