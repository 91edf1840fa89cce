# Helpers for tests/integration/adobe_*.sh (sourced after common.sh): an
# Adobe Campaign simulator with IMS client credentials and seeded
# information services, and a daemon with a spool connector "shop" and an
# Adobe Campaign connector "acc". Needs curl, jq.
source "$(dirname "${BASH_SOURCE[0]}")/crm.sh"
PULL_CONNECTOR=acc

# acc_sim_start [crmsim options...]: sets SIM_URL; services seeded.
acc_sim_start() {
  crm_sim_start adobe --client-id ACC1 --client-secret S3cret "$@"
  curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' --data-binary \
    '{"collections":{"nms:service":[{"properties":{"name":"newsletter"}},{"properties":{"name":"loyaltyNews"}},{"properties":{"name":"smsOffers"}}]}}' \
    "$SIM_URL/__sim/seed" >/dev/null || fail "services not seeded"
}

# acc_config [extra adobe_campaign lines]: spool + Adobe Campaign connector.
acc_config() {
  printf 'S3cret' >"$T/acc.secret"
  chmod 600 "$T/acc.secret"
  write_config "
[connector.acc]
type = adobe_campaign
base_url = $SIM_URL
ims_url = $SIM_URL/ims/token/v3
client_id = ACC1
client_secret_file = $T/acc.secret
allow_loopback_http = yes
services = marketing/email=newsletter,loyalty_programme/email=loyaltyNews,marketing/sms=smsOffers
purposes = marketing,loyalty_programme
pull_interval = 1s
lookback = 0s
request_timeout = 5s
${1:-}"
}

# recipient_field MEMBER FIELD: the simulator's value.
recipient_field() {
  sim_get state | jq -r --arg m "$1" --arg f "$2" \
    '.collections["nms:recipient"][]? | select(.properties.memberKey == $m) | .properties[$f] // empty'
}
recipient_count() { # MEMBER
  sim_get state | jq -r --arg m "$1" '[.collections["nms:recipient"][]? | select(.properties.memberKey == $m)] | length'
}
recipient_id() { sim_get state | jq -r --arg m "$1" '.collections["nms:recipient"][]? | select(.properties.memberKey == $m) | .id' | head -n 1; }
# subscribed MEMBER SERVICE: 1 when the recipient holds that subscription.
subscribed() {
  local st rid sid
  st=$(sim_get state)
  rid=$(jq -r --arg m "$1" '.collections["nms:recipient"][]? | select(.properties.memberKey == $m) | .id' <<<"$st" | head -n 1)
  sid=$(jq -r --arg s "$2" '.collections["nms:service"][]? | select(.properties.name == $s) | .id' <<<"$st" | head -n 1)
  jq -r --arg r "$rid" --arg s "$sid" '[.collections["nms:subscription"][]? | select((.properties["recipient-id"]|tostring) == $r and (.properties["service-id"]|tostring) == $s)] | length' <<<"$st"
}
# group_members GROUP: member keys in the nms:group, sorted.
group_members() {
  local st gid
  st=$(sim_get state)
  gid=$(jq -r --arg g "$1" '.collections["nms:group"][]? | select(.properties.name == $g) | .id' <<<"$st" | head -n 1)
  [ -n "$gid" ] || return 0
  jq -r --arg g "$gid" '
    (.collections["nms:recipient"] // []) as $r
    | [.collections["nms:rcpGrpRel"][]? | select((.properties["rcpGroup-id"]|tostring) == $g) | .properties["recipient-id"]|tostring] as $ids
    | [$r[] | select((.id|tostring) as $i | $ids | index($i)) | .properties.memberKey] | sort | join(" ")' <<<"$st"
}

# soap ACTION PARAMS: a SOAP call to the simulator as another Campaign user
# would make it (bearer T1); body in $T/soap.out.
soap() {
  local urn=${1%%#*} method=${1#*#}
  printf '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><SOAP-ENV:Body><m:%s xmlns:m="urn:%s"><sessiontoken/>%s</m:%s></SOAP-ENV:Body></SOAP-ENV:Envelope>' \
    "$method" "$urn" "$2" "$method" >"$T/soap.xml"
  curl -sf --max-time 10 -X POST -H 'Content-Type: text/xml' -H "SOAPAction: $1" \
    -H 'Authorization: Bearer T1' --data-binary @"$T/soap.xml" "$SIM_URL/nl/jsp/soaprouter.jsp" >"$T/soap.out"
}
