#!/usr/bin/env bash
# The HTTP ingest's other verification modes and transports (issue 16):
# verify = jwk (one JWK inline), pem (a certificate), pubkey (a public key
# file) and introspect (RFC 7662, a local introspection endpoint), each
# accepting a good token and refusing a forged or unknown one with the
# daemon's own claim checks on top; the listener over TLS; and the ingest
# metrics on the admin endpoint's /metrics.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
K="$T/keys"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["keys"][0]))' "$T/jwks/jwks.json" > "$K/k1.jwk"
openssl rsa -in "$K/k1.pem" -pubout -out "$K/k1.pub" 2>/dev/null
openssl req -x509 -new -key "$K/k1.pem" -subj "/CN=idp.example" -days 2 -out "$K/k1.crt" 2>/dev/null
n=0
ev() { n=$((n + 1)); printf '{"event_id":"v%s","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"V%s","delta":1,"reason":"earn"}' "$n" "$n"; }

# mode_config VERIFY VALUE [extra]: an [ingest] verifying that way.
mode_config() {
  write_config "
[daemon]
admin_listen = 127.0.0.1:0
[ingest]
listen = 127.0.0.1:0
verify = $1
verify_value = $2
issuer = https://idp.example
audience = crmsyncd
bad_token_limit = 0
${3:-}"
  # write_config already has a [daemon] section: fold the second into it.
  python3 - "$T/crmsyncd.conf" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("\n[daemon]\nadmin_listen = 127.0.0.1:0\n", "\n", 1)
s = s.replace("[daemon]\n", "[daemon]\nadmin_listen = 127.0.0.1:0\n", 1)
open(p, "w").write(s)
PY
}
run_mode() { # name verify value
  mode_config "$2" "$3"
  start_ingest_daemon "$1"
  assert_eq "$(post "$(mint client=c-$1)" "$(ev)")" 200 "verify = $2: a good token"
  assert_eq "$(answer 'a["results"][0]["result"]')" applied "verify = $2: the event applied"
  assert_eq "$(post "$(mint key=forger.pem)" "$(ev)")" 401 "verify = $2: a forged signature"
  assert_eq "$(post "$(mint aud=other)" "$(ev)")" 401 "verify = $2: a good signature for another audience"
  assert_eq "$(post "$(mint exp=-60)" "$(ev)")" 401 "verify = $2: expired"
  stop_daemon
}
# An RSA key's JWK does not fit on a config line: it is named by its file.
run_mode jwk jwk "$K/k1.jwk"
run_mode pem pem "$K/k1.crt"
run_mode pubkey pubkey "$K/k1.pub"

# --- introspection: the endpoint knows opaque tokens ------------------------
mkdir -p "$T/intro"
python3 - "$T/intro" > "$T/intro.log" 2>&1 <<'PY' &
import http.server, json, os, sys, time, urllib.parse
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        tok = urllib.parse.parse_qs(body).get("token", [""])[0]
        now = int(time.time())
        known = {"opaque-good": {"aud": "crmsyncd", "exp": now + 300},
                 "opaque-other-aud": {"aud": "other", "exp": now + 300}}
        if tok in known:
            ans = dict(active=True, iss="https://idp.example", client_id="intro-1",
                       scope="crmsync.points.write", **known[tok])
        else:
            ans = {"active": False}
        with open(os.path.join(d, "calls"), "a") as f:
            f.write("call\n")
        out = json.dumps(ans).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
PIDS+=($!)
wait_for 10 grep -q '^port' "$T/intro.log" || fail "introspection endpoint did not start"
INTRO="http://127.0.0.1:$(awk '/^port/{print $2}' "$T/intro.log")/introspect"
mode_config introspect "$INTRO"
start_ingest_daemon intro
assert_eq "$(post opaque-good "$(ev)")" 200 "verify = introspect: an active token"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "verify = introspect: the event applied"
assert_eq "$(post opaque-unknown "$(ev)")" 401 "verify = introspect: an inactive token"
assert_eq "$(post opaque-other-aud "$(ev)")" 401 "verify = introspect: active, but for another audience"
[ -s "$T/intro/calls" ] || fail "the introspection endpoint was never asked"
pass "the introspection endpoint was asked ($(wc -l < "$T/intro/calls") calls)"

# --- metrics on the admin endpoint ------------------------------------------
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/intro.log" | awk '{print $5}')
[ -n "$ADDR" ] || fail "no admin address in the log"
curl -sf "http://$ADDR/metrics" > "$T/metrics" || fail "GET /metrics"
metric() { grep -F "$1" "$T/metrics" | grep -v '^#' | awk '{print $NF}' | head -1; }
assert_eq "$(metric 'crmsyncd_http_ingest_requests_total{status="200"}')" 1 "metrics: requests by status (200)"
assert_eq "$(metric 'crmsyncd_http_ingest_requests_total{status="401"}')" 2 "metrics: requests by status (401)"
assert_eq "$(metric 'crmsyncd_http_ingest_events_total{result="applied"}')" 1 "metrics: events by result"
[ -n "$(metric 'crmsyncd_http_ingest_auth_failures_total{reason=')" ] || fail "metrics: no verification failures by reason: $(grep http_ingest "$T/metrics")"
pass "metrics: verification failures by reason"
grep -q '^crmsyncd_http_ingest_request_duration_seconds_count{.*} [1-9]' "$T/metrics" \
  || grep -q '^crmsyncd_http_ingest_request_duration_seconds_count [1-9]' "$T/metrics" \
  || fail "metrics: no request latency histogram: $(grep duration "$T/metrics")"
grep -q '^crmsyncd_http_ingest_token_verify_seconds_count [1-9]' "$T/metrics" \
  || grep -q '^crmsyncd_http_ingest_token_verify_seconds_count{.*} [1-9]' "$T/metrics" \
  || fail "metrics: no token verification histogram"
pass "metrics: request latency and token verification histograms"
stop_daemon

# --- TLS listener ------------------------------------------------------------
start_jwks
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/tls.key" -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -days 2 -out "$K/tls.crt" 2>/dev/null
chmod 600 "$K/tls.key"
mode_config jwks_uri "$JWKS_URL" "tls_cert = $K/tls.crt
tls_key = $K/tls.key"
start_ingest_daemon tls
grep -q 'HTTP ingest listening on 127.0.0.1:[0-9]* with TLS' "$T/tls.log" || fail "the listener does not say TLS"
HP=${INGEST_URL#http://}
code=$(curl -s --cacert "$K/tls.crt" -o "$T/answer" -w '%{http_code}' -X POST "https://$HP/v1/events" \
  -H "Authorization: Bearer $(mint)" -H "Content-Type: application/json" --data-binary "$(ev)")
assert_eq "$code" 200 "TLS: a good token over https"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "TLS: the event applied"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$HP/v1/events" \
  -H "Authorization: Bearer $(mint)" -H "Content-Type: application/json" --data-binary "$(ev)" || true)
[ "$code" != 200 ] || fail "TLS: plain http was answered 200"
pass "TLS: plain http is not served ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "https://$HP/v1/events" \
  -H "Authorization: Bearer $(mint)" -H "Content-Type: application/json" --data-binary "$(ev)" || true)
[ "$code" = 000 ] || fail "TLS: a client that does not trust the certificate got $code"
pass "TLS: the certificate is what the client checks (untrusted: no answer)"
stop_daemon
