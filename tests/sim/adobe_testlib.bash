# Helpers for tests/integration/sim_adobe_*.sh (sourced). Builds on
# testlib.bash (ctl, body, header, expect_*); needs curl, jq and xmllint.
source "${SRC_DIR:?}/tests/sim/testlib.bash"

ENV_OPEN="<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:xsd='http://www.w3.org/2001/XMLSchema'><SOAP-ENV:Body>"
ENV_CLOSE="</SOAP-ENV:Body></SOAP-ENV:Envelope>"

# ad_start [crmsim options...]: an Adobe Campaign simulator on a free port
# that takes T1 as an IMS bearer token (tests not about auth skip IMS).
ad_start() { flavor_start adobe "$@"; }

# soap ACTION PARAMS [extra curl args...]: POST /nl/jsp/soaprouter.jsp with
# SOAPAction ACTION ("urn#Method"); PARAMS is the XML of the method's
# parameters after the session token. Bearer $TOKEN unless empty. Sets
# STATUS; body in $T/body.
soap() {
    local action=$1 params=$2 rc=0
    shift 2
    local urn=${action%%#*} method=${action#*#}
    local args=(-s -X POST -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 60
        -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: $action")
    [ -n "$TOKEN" ] && args+=(-H "Authorization: Bearer $TOKEN")
    printf '%s<m:%s xmlns:m="urn:%s"><sessiontoken xsi:type="xsd:string"/>%s</m:%s>%s' \
        "$ENV_OPEN" "$method" "$urn" "$params" "$method" "$ENV_CLOSE" >"$T/req.xml"
    : >"$T/body"
    STATUS=$(curl "${args[@]}" "$@" --data-binary @"$T/req.xml" "$SIM_URL/nl/jsp/soaprouter.jsp") || rc=$?
    [ "$rc" = 0 ] || STATUS="curl:$rc"
}

# xp XPATH: evaluates an XPath 1.0 string expression on the last body.
xp() {
    xmllint --xpath "$1" "$T/body" 2>/dev/null || true
}

faultstring() {
    xp 'string(//*[local-name()="faultstring"])'
}

faultdetail() {
    xp 'string(//*[local-name()="detail"])'
}

# expect_fault CODE WHAT: HTTP 500, SOAP-ENV:Fault whose faultstring starts
# with CODE (or whose detail does, for data faults wrapped in SOP-330011).
expect_fault() {
    expect_status 500 "$2"
    local fs
    fs="$(faultstring)"
    [[ $fs == "$1 "* || $(faultdetail) == "$1 "* ]] ||
        fail "$2: expected fault $1, got '$fs' / '$(faultdetail)'"
}

# write_coll XML / write_one XML: WriteCollection / Write of XML.
# Extra arguments go to curl (headers).
write_coll() {
    local doc=$1
    shift
    soap 'xtk:persist|xtk:session#WriteCollection' "<doc xsi:type='' SOAP-ENV:encodingStyle='http://xml.apache.org/xml-soap/literalxml'>$doc</doc>" "$@"
}

write_one() {
    local doc=$1
    shift
    soap 'xtk:persist|xtk:session#Write' "<doc xsi:type='' SOAP-ENV:encodingStyle='http://xml.apache.org/xml-soap/literalxml'>$doc</doc>" "$@"
}

# query QUERYDEF_XML [curl args...]: ExecuteQuery.
query() {
    local qd=$1
    shift
    soap 'xtk:queryDef#ExecuteQuery' "<entity xsi:type='ns:Element' SOAP-ENV:encodingStyle='http://xml.apache.org/xml-soap/literalxml'>$qd</entity>" "$@"
}

# count SCHEMA WHERE_EXPR (XML-escaped): prints the count.
count_where() {
    query "<queryDef schema='$1' operation='count'><where><condition expr=\"$2\"/></where></queryDef>"
    expect_status 200 "count $1 where $2"
    xp 'string(//*[@count]/@count)'
}
