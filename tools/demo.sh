#!/usr/bin/env bash
# The README demo: the daemon on its embedded default (a SQLite state, a spool
# directory) syncing with the bundled HubSpot, Salesforce and Adobe Campaign
# simulators. A demo event file is dropped into the spool; the demo shows
# what the daemon ingested, what it wrote to HubSpot (contacts with consent,
# points and lists), to Salesforce (Contacts with points, consent records,
# Campaign members) and to Adobe Campaign (recipients with points,
# subscriptions to information services, lists), the till crediting points
# over the HTTP ingest with curl and a bearer token (the balance reaches
# every CRM), how a withdrawal made in HubSpot reaches Salesforce and
# Campaign, and its status.
# Usage: tools/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DEMO=${DEMO_DIR:-$(pwd)/demo-run}
rm -rf "$DEMO" && mkdir -p "$DEMO/spool" && mkdir -p -m 0700 "$DEMO/state"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# 1. The HubSpot simulator on a free loopback port, with a private-app token.
"$BUILD/tests/sim/crmsim" --flavor hubspot --listen 127.0.0.1:0 --token demo-token \
  --search-lag-ms 0 > "$DEMO/sim.out" 2> "$DEMO/sim.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$DEMO/sim.out" ] && break; sleep 0.1; done
SIM="http://$(head -n 1 "$DEMO/sim.out" | sed 's/^listening //')"
printf 'demo-token' > "$DEMO/hubspot-token" && chmod 600 "$DEMO/hubspot-token"

# 1b. The Salesforce simulator (client credentials: consumer key and secret).
"$BUILD/tests/sim/crmsim" --flavor salesforce --listen 127.0.0.1:0 \
  --client-id demo-consumer-key --client-secret demo-consumer-secret \
  > "$DEMO/sf-sim.out" 2> "$DEMO/sf-sim.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$DEMO/sf-sim.out" ] && break; sleep 0.1; done
SF="http://$(head -n 1 "$DEMO/sf-sim.out" | sed 's/^listening //')"
printf 'demo-consumer-secret' > "$DEMO/salesforce-secret" && chmod 600 "$DEMO/salesforce-secret"

# 1c. The Adobe Campaign simulator (SOAP, IMS client credentials), with the
# three information services the demo maps consents to.
"$BUILD/tests/sim/crmsim" --flavor adobe --listen 127.0.0.1:0 \
  --client-id demo-ims-client --client-secret demo-ims-secret \
  > "$DEMO/acc-sim.out" 2> "$DEMO/acc-sim.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$DEMO/acc-sim.out" ] && break; sleep 0.1; done
ACC="http://$(head -n 1 "$DEMO/acc-sim.out" | sed 's/^listening //')"
curl -sf -X POST -H 'Content-Type: application/json' "$ACC/__sim/seed" --data-binary \
  '{"collections":{"nms:service":[{"properties":{"name":"newsletter"}},{"properties":{"name":"loyaltyNews"}},{"properties":{"name":"smsOffers"}}]}}' >/dev/null
printf 'demo-ims-secret' > "$DEMO/campaign-secret" && chmod 600 "$DEMO/campaign-secret"

# 1d. The identity provider's signing key: the daemon verifies tokens with
# its public half (in production: verify = jwks_uri and the IdP's JWKS URL).
openssl genrsa -out "$DEMO/idp-key.pem" 2048 2>/dev/null
openssl rsa -in "$DEMO/idp-key.pem" -pubout -out "$DEMO/idp-public.pem" 2>/dev/null

# 2. The daemon: a spool connector for the shop, a HubSpot connector, a
# Salesforce connector (consent as ContactPointTypeConsent records), an Adobe
# Campaign connector (consent as subscriptions to information services), and
# the HTTP ingest on a Unix socket for the till.
cat > "$DEMO/crmsyncd.conf" <<CONF
[daemon]
log_level = info

[state]
path = $DEMO/state/state.db

[ingest]
listen = $DEMO/ingest.sock
verify = pubkey
verify_value = $DEMO/idp-public.pem
issuer = https://idp.demo.example
audience = crmsyncd

[connector.shop]
type = spool
dir = $DEMO/spool
scan_interval = 1s

[connector.hubspot]
type = hubspot
base_url = $SIM
allow_loopback_http = yes
token_file = $DEMO/hubspot-token
subscriptions = marketing=1001,loyalty_programme=1002
pull_interval = 2s
search_lag = 0s

[connector.salesforce]
type = salesforce
login_url = $SF
allow_loopback_http = yes
auth = client_credentials
client_id = demo-consumer-key
client_secret_file = $DEMO/salesforce-secret
consent_mode = consent_objects
pull_interval = 2s

[connector.campaign]
type = adobe_campaign
base_url = $ACC
ims_url = $ACC/ims/token/v3
allow_loopback_http = yes
client_id = demo-ims-client
client_secret_file = $DEMO/campaign-secret
services = marketing/email=newsletter,loyalty_programme/email=loyaltyNews,marketing/sms=smsOffers
pull_interval = 2s
CONF
"$BUILD/crmsyncd" --check-config -c "$DEMO/crmsyncd.conf"
"$BUILD/crmsyncd" -c "$DEMO/crmsyncd.conf" 2> "$DEMO/crmsyncd.log" &
daemon=$!
pids+=($daemon)

# 3. The shop drops its file: written under a hidden name, then renamed.
cp config/demo/shop-2026-11-24.jsonl "$DEMO/spool/.incoming.tmp"
mv "$DEMO/spool/.incoming.tmp" "$DEMO/spool/shop-2026-11-24.jsonl"
for _ in $(seq 100); do [ -f "$DEMO/spool/done/shop-2026-11-24.jsonl" ] && break; sleep 0.1; done
# Wait until the engine has pushed everything (backlog 0 for the three CRMs,
# both members in each simulator), at most 60 s.
for _ in $(seq 600); do
  n=$(curl -sf "$SIM/__sim/state" | jq '[.collections.contacts[]?] | length')
  s=$(curl -sf "$SF/__sim/state" | jq '[.collections.Contact[]?] | length')
  a=$(curl -sf "$ACC/__sim/state" | jq '[.collections["nms:recipient"][]?] | length')
  b=$("$BUILD/crmsyncctl" -c "$DEMO/crmsyncd.conf" --json status 2>/dev/null |
      jq '[.connectors[]? | select(.name == "hubspot" or .name == "salesforce" or .name == "campaign") | .backlog.total] | if length == 3 then add else 1 end')
  [ "$n" -ge 2 ] && [ "$s" -ge 2 ] && [ "$a" -ge 2 ] && [ "$b" = 0 ] && break
  sleep 0.1
done

# 3b. The till credits 25 points to LOY-0001 over HTTP, with a token the
# demo IdP signs (RS256, openssl). The answer comes once the event is
# durable; the engine then pushes the new balance (150 + 25) to every CRM.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now_s=$(date +%s)
jwt_h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
jwt_p=$(printf '{"iss":"https://idp.demo.example","aud":"crmsyncd","client_id":"till-0042","scope":"crmsync.points.write crmsync.members.read","iat":%s,"exp":%s}' "$now_s" "$((now_s + 600))" | b64url)
jwt_s=$(printf '%s.%s' "$jwt_h" "$jwt_p" | openssl dgst -sha256 -sign "$DEMO/idp-key.pem" | b64url)
TILL_TOKEN="$jwt_h.$jwt_p.$jwt_s"
till_answer=$(curl -s --unix-socket "$DEMO/ingest.sock" -X POST http://crmsyncd/v1/events \
  -H "Authorization: Bearer $TILL_TOKEN" -H 'Content-Type: application/json' \
  --data '{"event_id":"till-0042-000137","type":"points","member":"LOY-0001","occurred_at":"'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'","txn_id":"TILL-0042-000137","delta":25,"reason":"earn"}')
for _ in $(seq 300); do
  hp=$(curl -sf "$SIM/__sim/state" | jq -r '.collections.contacts[]? | .properties | select(.member_key == "LOY-0001") | .loyalty_points')
  sp=$(curl -sf "$SF/__sim/state" | jq -r '.collections.Contact[]? | .properties | select(.Member_Key__c == "LOY-0001") | .Loyalty_Points__c')
  ap=$(curl -sf "$ACC/__sim/state" | jq -r '.collections["nms:recipient"][]? | .properties | select(.memberKey == "LOY-0001") | .loyaltyPoints')
  [ "$hp" = 175 ] && [ "$sp" = 175 ] && [ "$ap" = 175 ] && break
  sleep 0.1
done
till_balance=$(curl -s --unix-socket "$DEMO/ingest.sock" -H "Authorization: Bearer $TILL_TOKEN" \
  http://crmsyncd/v1/members/LOY-0001 | jq .points_balance)

# 4. A withdrawal made in HubSpot: Grace opts out of marketing SMS on her
# HubSpot contact. The daemon pulls it from HubSpot and writes it to
# Salesforce and Campaign (not back to HubSpot: it came from there). At
# most 30 s.
withdrawal_acks() {
  "$BUILD/crmsyncctl" -c "$DEMO/crmsyncd.conf" member export LOY-0002 2>/dev/null |
    jq -r '[.changes[]? | select(.field == "consent/marketing/sms" and .origin == "hubspot")
            | .acknowledged_by[]?.system] | sort | join(", ")'
}
HSID=$(curl -sf "$SIM/__sim/state" | jq -r '.collections.contacts[] | select(.properties.member_key == "LOY-0002") | .id')
hs_written=$(curl -sf "$SIM/__sim/counters" | jq .records_written_total)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -sf -X PATCH -H 'Authorization: Bearer demo-token' -H 'Content-Type: application/json' \
  --data '{"properties":{"consent_marketing_sms":"denied","consent_marketing_sms_date":"'"$now"'","consent_marketing_sms_source":"hubspot_preferences"}}' \
  "$SIM/crm/objects/2026-09/contacts/$HSID" >/dev/null
for _ in $(seq 300); do
  st=$(curl -sf "$SF/__sim/state" | jq -r '.collections.ContactPointTypeConsent[]? | .properties |
    select(.Consent_Key__c == "LOY-0002:marketing:sms") | .PrivacyConsentStatus')
  # Campaign: the withdrawal acknowledged (Unsubscribe from smsOffers).
  acks=$(withdrawal_acks)
  [ "$st" = OptOut ] && [ "$acks" = "campaign, salesforce" ] && break
  sleep 0.1
done
sleep 1 # one more pull cycle, so the status shows its watermark

echo
echo "== daemon log"
cat "$DEMO/crmsyncd.log"
echo
echo "== the till credits 25 points over HTTP (POST /v1/events, bearer token of client till-0042)"
echo "  $till_answer"
echo "  GET /v1/members/LOY-0001: points_balance $till_balance"
echo
echo "== failed/ report (bad lines with file:line)"
cat "$DEMO/spool/failed/"*.err 2>/dev/null || echo "(none)"
echo
echo "== HubSpot (simulator) contacts: member, email, points, SMS consent"
curl -sf "$SIM/__sim/state" | jq -r '.collections.contacts[]? | .properties |
  "  \(.member_key // "-")  \(.email // "-")  points=\(.loyalty_points // "-")  sms=\(.consent_marketing_sms // "-")"'
echo "== HubSpot email subscriptions"
curl -sf "$SIM/__sim/state" | jq -r '.flavor_state.statuses | to_entries[] | .key as $e |
  .value | to_entries[] | "  \($e)  subscription \(.key): \(.value.status) (\(.value.legalBasis // "-"))"'
echo "== HubSpot lists"
curl -sf "$SIM/__sim/state" | jq -r '.flavor_state.lists[]? | "  \(.name): \(.members | keys | length) member(s)"'
echo "== HubSpot records written since the withdrawal made there, besides it (echoes): $(($(curl -sf "$SIM/__sim/counters" | jq .records_written_total) - hs_written - 1))"
echo
echo "== Salesforce (simulator) Contacts: member, email, points"
curl -sf "$SF/__sim/state" | jq -r '.collections.Contact[]? | .properties |
  "  \(.Member_Key__c // "-")  \(.Email // "-")  points=\(.Loyalty_Points__c // "-")"'
echo "== Salesforce ContactPointTypeConsent: member:purpose:channel, status, source"
curl -sf "$SF/__sim/state" | jq -r '[.collections.ContactPointTypeConsent[]? | .properties] |
  sort_by(.Consent_Key__c)[] | "  \(.Consent_Key__c)  \(.PrivacyConsentStatus)  (\(.CaptureSource // "-"))"'
echo "== Salesforce Campaign members"
curl -sf "$SF/__sim/state" | jq -r '[.collections.CampaignMember[]? | .properties.Membership_Key__c] | sort[] | "  \(.)"'
echo
curl -sf "$ACC/__sim/state" > "$DEMO/acc-state.json"
echo "== Adobe Campaign (simulator) recipients: member, email, points"
jq -r '.collections["nms:recipient"][]? | .properties |
  "  \(.memberKey // "-")  \(.email // "-")  points=\(.loyaltyPoints // "-")"' "$DEMO/acc-state.json"
echo "== Adobe Campaign subscriptions to information services (nms:subscription)"
jq -r '((.collections["nms:recipient"] // []) | map({(.id | tostring): .properties.memberKey}) | add // {}) as $r
  | ((.collections["nms:service"] // []) | map({(.id | tostring): .properties.name}) | add // {}) as $s
  | [.collections["nms:subscription"][]? | .properties
     | "  \($r[.["recipient-id"] | tostring] // "-")  \($s[.["service-id"] | tostring] // "-")"] | sort[]' "$DEMO/acc-state.json"
echo "== Adobe Campaign lists (nms:group) and their members"
jq -r '((.collections["nms:recipient"] // []) | map({(.id | tostring): .properties.memberKey}) | add // {}) as $r
  | (.collections["nms:rcpGrpRel"] // []) as $rel
  | [.collections["nms:group"][]? | .id as $g | .properties.name as $n
     | "  \($n): \([$rel[] | .properties | select((.["rcpGroup-id"] | tostring) == ($g | tostring))
                     | $r[.["recipient-id"] | tostring] // "-"] | sort | join(" "))"] | sort[]' "$DEMO/acc-state.json"
echo "== The SMS withdrawal made in HubSpot (LOY-0002), acknowledged by: $(withdrawal_acks)"
echo
echo "== crmsyncctl status"
"$BUILD/crmsyncctl" -c "$DEMO/crmsyncd.conf" status
kill -TERM "$daemon"
wait "$daemon"
echo
echo "demo state kept in $DEMO (sqlite3 $DEMO/state/state.db)"
