#!/usr/bin/env bash
# crmsim Adobe Campaign: IMS tokens (client_credentials, 24 h, no refresh
# token) and their expiry (XSV-350114), sessions from BearerTokenLogon
# (cookie + X-Security-Token) and their end (XSV-350008), the IP allow list
# (XSV-350013), the TPS throttle (429 with and without Retry-After), the
# envelope checks (content type, size, DOCTYPE, action/body mismatch,
# unknown method), dispatch by ?soapAction=, injected faults.
source "${SRC_DIR:?}/tests/sim/adobe_testlib.bash"
ad_start --client-id CID --client-secret CSEC
ctl POST clock '{"freeze":true}' >/dev/null
Q="<queryDef schema='nms:recipient' operation='count'/>"

ims() {
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --data "$1" "$SIM_URL/ims/token/v3")
}
ims 'grant_type=client_credentials&client_id=CID&client_secret=nope&scope=openid'
expect_status 401 "wrong client secret"
expect_eq "$(body .error)" "invalid_client" "wrong secret error"
ims 'grant_type=refresh_token&client_id=CID&client_secret=CSEC'
expect_status 400 "refresh_token grant"
expect_eq "$(body .error)" "unsupported_grant_type" "refresh grant error"
ims 'grant_type=client_credentials&client_id=CID&client_secret=CSEC&scope=openid,AdobeID'
expect_status 200 "client_credentials"
expect_eq "$(body .expires_in)" "86400" "expires_in (24 h)"
expect_eq "$(body .token_type)" "bearer" "token_type"
expect_eq "$(body 'has("refresh_token")')" "false" "no refresh token"
IMS=$(body .access_token)
ok "IMS token endpoint"

TOKEN=$IMS
query "$Q"
expect_status 200 "call with the IMS token"
expect_eq "$(xp 'string(//*[@count]/@count)')" "0" "count"
TOKEN=bogus
query "$Q"
expect_fault XSV-350114 "unknown bearer token"
[[ $(faultdetail) == "HTTP code 401"* ]] || fail "XSV-350114 detail: $(faultdetail)"
TOKEN=$IMS
ctl POST clock '{"advance_ms":86399000}' >/dev/null
query "$Q"
expect_status 200 "token still valid after 23:59:59"
ctl POST clock '{"advance_ms":1001}' >/dev/null
query "$Q"
expect_fault XSV-350114 "token expired after 24 h"
ok "bearer auth: every call checked, 24 h expiry"

# Session mode: BearerTokenLogon exchanges the IMS token for a session.
TOKEN=
soap 'xtk:session#BearerTokenLogon' "<bearerToken xsi:type='xsd:string'>T1</bearerToken>"
expect_status 200 "BearerTokenLogon"
SESSION=$(xp 'string(//*[local-name()="pstrSessionToken"])')
SECURITY=$(xp 'string(//*[local-name()="pstrSecurityToken"])')
[[ $SESSION == ___* && $SECURITY == @* ]] || fail "tokens: '$SESSION' '$SECURITY'"
expect_eq "$(xp 'string(//*[local-name()="serverInfo"]/@sessionTimeOut)')" "86400" "sessionTimeOut"
soap 'xtk:session#BearerTokenLogon' "<bearerToken xsi:type='xsd:string'>nope</bearerToken>"
expect_fault XSV-350114 "BearerTokenLogon with a bad IMS token"
query "$Q" -H "Cookie: __sessiontoken=$SESSION" -H "X-Security-Token: $SECURITY"
expect_status 200 "call in the session"
query "$Q" -H "Cookie: __sessiontoken=$SESSION"
expect_fault XSV-350008 "session without its security token"
query "$Q" -H "X-Session-Token: $SESSION" -H "X-Security-Token: $SECURITY"
expect_status 200 "X-Session-Token header"
query "$Q"
expect_fault XSV-350008 "no credentials at all"
TOKEN=$SESSION
query "$Q"
expect_fault XSV-350114 "a session token is not an IMS bearer token"
TOKEN=
soap 'xtk:session#Logoff' '' -H "Cookie: __sessiontoken=$SESSION" -H "X-Security-Token: $SECURITY"
expect_status 200 "Logoff"
query "$Q" -H "Cookie: __sessiontoken=$SESSION" -H "X-Security-Token: $SECURITY"
expect_fault XSV-350008 "session after Logoff"
soap 'xtk:session#BearerTokenLogon' "<bearerToken xsi:type='xsd:string'>T1</bearerToken>"
S2=$(xp 'string(//*[local-name()="pstrSessionToken"])')
X2=$(xp 'string(//*[local-name()="pstrSecurityToken"])')
ctl POST clock '{"advance_ms":86401000}' >/dev/null
query "$Q" -H "Cookie: __sessiontoken=$S2" -H "X-Security-Token: $X2"
expect_fault XSV-350008 "session after 24 h"
ok "session mode: BearerTokenLogon, cookie + X-Security-Token, Logoff, expiry"

TOKEN=T1
# The SDK's way: ?soapAction= and application/soap+xml, no SOAPAction header.
printf '%s<m:ExecuteQuery xmlns:m="urn:xtk:queryDef"><sessiontoken/><entity>%s</entity></m:ExecuteQuery>%s' \
    "$ENV_OPEN" "$Q" "$ENV_CLOSE" >"$T/q.xml"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/soap+xml;charset=UTF-8' \
    -H "Authorization: Bearer T1" --data-binary @"$T/q.xml" \
    "$SIM_URL/nl/jsp/soaprouter.jsp?soapAction=xtk%3AqueryDef%23ExecuteQuery")
expect_status 200 "?soapAction= with application/soap+xml"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer T1" -H 'SOAPAction: xtk:queryDef#ExecuteQuery' \
    --data-binary @"$T/q.xml" "$SIM_URL/nl/jsp/soaprouter.jsp")
expect_fault SOP-330001 "JSON content type"
soap 'xtk:queryDef#NoSuchMethod' ''
expect_status 500 "unknown method"
soap 'xtk:session#Frobnicate' ''
expect_fault SOP-330006 "unknown method"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: text/xml' -H "Authorization: Bearer T1" \
    -H 'SOAPAction: xtk:session#Logoff' --data-binary @"$T/q.xml" "$SIM_URL/nl/jsp/soaprouter.jsp")
expect_fault SOP-330005 "SOAPAction naming another method than the body"
# A billion-laughs envelope is refused before parsing.
cat >"$T/bomb.xml" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>
<m:ExecuteQuery xmlns:m="urn:xtk:queryDef"><sessiontoken/><entity><queryDef schema="&lol2;"/></entity></m:ExecuteQuery>
</SOAP-ENV:Body></SOAP-ENV:Envelope>
XML
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: text/xml' -H "Authorization: Bearer T1" \
    -H 'SOAPAction: xtk:queryDef#ExecuteQuery' --data-binary @"$T/bomb.xml" "$SIM_URL/nl/jsp/soaprouter.jsp")
expect_fault SOP-330003 "DOCTYPE"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: text/xml' -H "Authorization: Bearer T1" \
    -H 'SOAPAction: xtk:queryDef#ExecuteQuery' --data-binary '<SOAP-ENV:Envelope' "$SIM_URL/nl/jsp/soaprouter.jsp")
expect_fault SOP-330004 "unparsable envelope"
ctl POST config '{"adobe-max-xml-kb":1}' >/dev/null
query "<queryDef schema='nms:recipient' operation='count'><where><condition expr=\"@email = '$(head -c 1200 /dev/zero | tr '\0' x)'\"/></where></queryDef>"
expect_fault SOP-330002 "envelope over --adobe-max-xml-kb"
ctl POST config '{"adobe-max-xml-kb":8192}' >/dev/null
ok "envelope checks"

# Odd calls are faults, never crashes (the run ends with sim_stop, which
# under ASan also fails on a leak).
soap 'xtk:persist|xtk:session#Write' ''
expect_fault SOP-330011 "Write without its document"
[[ $(faultdetail) == "SOP-330008 "* ]] || fail "missing parameter detail: $(faultdetail)"
soap 'xtk:persist|xtk:session#Write' '<doc>text only</doc>'
expect_fault SOP-330011 "Write with a text parameter"
soap 'xtk:queryDef#ExecuteQuery' ''
expect_fault SOP-330011 "ExecuteQuery without a queryDef"
soap 'nms:subscription#Subscribe' "<serviceName>x</serviceName>"
expect_fault SOP-330011 "Subscribe without a recipient"
soap 'xtk:persist#GetEntityIfMoreRecent' "<pk>xtk:schema|nms:nothing</pk><md5/><mustExist>true</mustExist>"
expect_fault SOP-330011 "unknown entity with mustExist"
soap 'xtk:persist#GetEntityIfMoreRecent' "<pk>xtk:schema|nms:nothing</pk><md5/><mustExist>false</mustExist>"
expect_status 200 "unknown entity without mustExist"
expect_eq "$(xp 'count(//*[local-name()="pdomDoc"]/*)')" "0" "empty pdomDoc"
soap 'xtk:persist#GetEntityIfMoreRecent' "<pk>xtk:schema|xtk:queryDef</pk><md5/><mustExist>false</mustExist>"
expect_eq "$(xp 'string(//*[local-name()="method"]/@name)')" "ExecuteQuery" "xtk:queryDef schema document"
soap 'xtk:persist#GetEntityIfMoreRecent' "<pk>xtk:schema|nms:recipient</pk><md5/><mustExist>true</mustExist>"
expect_status 200 "nms:recipient schema"
expect_eq "$(xp 'count(//*[local-name()="pdomDoc"]/*[local-name()="schema"]/*[local-name()="element"]/*[local-name()="attribute"][@name="memberKey"])')" "1" "nms:recipient schema document, well-formed, with the extension"
write_coll "<recipient-collection xtkschema='nms:recipient'/>"
expect_status 200 "an empty collection"
soap 'garbage' ''
expect_fault SOP-330005 "a SOAPAction without '#'"
for body in "<foo/>" "$ENV_OPEN$ENV_CLOSE" \
    "$ENV_OPEN<m:Logoff xmlns:m='urn:xtk:session'>&undefined;</m:Logoff>$ENV_CLOSE" \
    "$ENV_OPEN<m:Logoff xmlns:m='urn:xtk:session'>$(printf '<a>%.0s' $(seq 400))$ENV_CLOSE"; do
    printf '%s' "$body" >"$T/odd.xml"
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: text/xml' -H "Authorization: Bearer T1" \
        -H 'SOAPAction: xtk:session#Logoff' --data-binary @"$T/odd.xml" "$SIM_URL/nl/jsp/soaprouter.jsp")
    expect_status 500 "odd envelope ${body:0:60}"
    [[ $(faultstring) == SOP-33000[45]* ]] || fail "odd envelope: $(faultstring)"
done
# 300 levels of nesting is over libxml2's limit (256) without XML_PARSE_HUGE.
printf '%s<m:Logoff xmlns:m="urn:xtk:session"><sessiontoken/>%s%s</m:Logoff>%s' "$ENV_OPEN" \
    "$(printf '<a>%.0s' $(seq 300))" "$(printf '</a>%.0s' $(seq 300))" "$ENV_CLOSE" >"$T/deep.xml"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: text/xml' -H "Authorization: Bearer T1" \
    -H 'SOAPAction: xtk:session#Logoff' --data-binary @"$T/deep.xml" "$SIM_URL/nl/jsp/soaprouter.jsp")
expect_fault SOP-330004 "nesting deeper than libxml2's default limit"
ok "odd calls answered with faults"

ctl POST config '{"adobe-deny-ip":true}' >/dev/null
query "$Q"
expect_fault XSV-350013 "IP not allowed"
[[ $(faultstring) == *"'127.0.0.1'"* ]] || fail "XSV-350013 names the client IP: $(faultstring)"
ctl POST config '{"adobe-deny-ip":false}' >/dev/null
ok "IP allow list"

ctl POST config '{"adobe-tps":2}' >/dev/null
query "$Q"
expect_status 200 "TPS 1/2"
query "$Q"
expect_status 200 "TPS 2/2"
query "$Q"
expect_status 429 "TPS over"
expect_eq "$(header Retry-After)" "1" "Retry-After"
ctl POST config '{"adobe-tps-retry-after":false}' >/dev/null
query "$Q"
expect_status 429 "TPS over, bare"
expect_eq "$(header Retry-After)" "" "no Retry-After"
ctl POST clock '{"advance_ms":1000}' >/dev/null
query "$Q"
expect_status 200 "after a second"
ctl POST config '{"adobe-tps":0}' >/dev/null
ok "TPS throttle: 429 with and without Retry-After"

ctl POST config '{"fault-script":"token-expiry,503,429"}' >/dev/null
query "$Q"
expect_fault XSV-350008 "injected token-expiry"
query "$Q"
expect_status 503 "injected 503"
[ "$(xp 'count(//*[local-name()="Fault"])')" = 1 ] || fail "injected 503 is a SOAP fault"
query "$Q"
expect_status 429 "injected 429"
expect_eq "$(header Retry-After)" "1" "injected Retry-After"
query "$Q"
expect_status 200 "script used up"
ok "injected faults"
sim_stop
