#!/usr/bin/env bash
# [ingest] beyond the option table (issue 16): --check-config refuses an
# enabled listener without what token verification needs (verify_value,
# issuer, audience, a verify_value that fits verify) or off loopback without
# TLS; after a SIGHUP with a changed [ingest] the listener keeps serving (its
# strings are its own: the old configuration is freed by the reload); a
# client that sends
# its body too slowly is cut off at request_timeout, however often it sends
# a byte.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

check() { "$CRMSYNCD" --check-config -c "$T/crmsyncd.conf" >"$T/out" 2>&1; }
ingest_conf() { # [ingest] lines
  write_config "
[ingest]
$1"
}

ingest_conf "listen = 127.0.0.1:0"
if check; then fail "--check-config passes a listener without verify settings"; fi
grep -q 'verify_value is unset' "$T/out" || fail "not said: $(cat "$T/out")"
grep -q 'issuer is unset' "$T/out" || fail "issuer not said: $(cat "$T/out")"
grep -q 'audience is unset' "$T/out" || fail "audience not said: $(cat "$T/out")"
grep -q 'is NOT valid' "$T/out" || fail "not refused: $(cat "$T/out")"
pass "a listener without verify_value, issuer, audience is refused, each named"

ingest_conf "listen = 127.0.0.1:0
verify = pem
verify_value = $T/missing.pem
issuer = https://idp.example
audience = crmsyncd"
if check; then fail "a missing PEM file passes"; fi
grep -q "cannot read the key file $T/missing.pem" "$T/out" || fail "not said: $(cat "$T/out")"
pass "verify = pem with a missing key file is refused"

ingest_conf "listen = 127.0.0.1:0
verify = jwk
verify_value = not-a-jwk
issuer = https://idp.example
audience = crmsyncd"
if check; then fail "a JWK that is not one passes"; fi
grep -q 'not a JWK' "$T/out" || fail "not said: $(cat "$T/out")"
pass "verify = jwk with something else is refused"

ingest_conf "listen = 192.0.2.10:8443
verify_value = https://idp.example/jwks
issuer = https://idp.example
audience = crmsyncd"
if check; then fail "a non-loopback listener without TLS passes"; fi
grep -q 'not a loopback address' "$T/out" || fail "not said: $(cat "$T/out")"
pass "a non-loopback listener without TLS is refused"

ingest_conf "verify = jwk"
check || fail "an [ingest] without listen is refused: $(cat "$T/out")"
ingest_conf "listen = 127.0.0.1:0
verify_value = https://idp.example/jwks
issuer = https://idp.example
audience = crmsyncd"
check || fail "a complete [ingest] is refused: $(cat "$T/out")"
pass "no listen, or a complete [ingest]: valid"
# The daemon refuses to start on what --check-config refuses.
ingest_conf "listen = 127.0.0.1:0"
if "$CRMSYNCD" -c "$T/crmsyncd.conf" > "$T/refused.log" 2>&1; then fail "the daemon started without verify settings"; fi
grep -q 'verify_value is unset' "$T/refused.log" || fail "the daemon does not say why: $(cat "$T/refused.log")"
pass "the daemon does not start without verify settings"

# --- reload and the request deadline on a running listener ------------------
ingest_keys
start_jwks
ingest_config "request_timeout = 2s"
start_ingest_daemon
TOKEN=$(mint client=till-cfg)
pts() { printf '{"event_id":"%s","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"%s","delta":1,"reason":"earn"}' "$1" "$1"; }
assert_eq "$(post "$TOKEN" "$(pts r1)")" 200 "before the reload: 200"
sed -i 's/^request_timeout = 2s$/request_timeout = 2s\nmax_body = 64k/' "$T/crmsyncd.conf"
reload_wait
# Past the reloaded max_body (a point event and 70 KB of JSON whitespace).
assert_eq "$(post "$TOKEN" "$(pts r1b)$(printf '%71680s' '')")" 413 "a changed [ingest] is applied: max_body = 64k"
pass "a changed [ingest] is applied (http_ingest_reload tests what)"
# Scopes and the rest live on after the configuration they came from.
assert_eq "$(post "$TOKEN" "$(pts r2)")" 200 "after the reload: 200"
assert_eq "$(answer 'a["results"][0]["result"]')" applied "after the reload: applied"
reload_wait
assert_eq "$(post "$TOKEN" "$(pts r3)")" 200 "after a second reload: 200"

# A client that sends its body a byte every 0.2 s: each gap is far under
# the idle timeout (30 s), the whole far over request_timeout (2 s). It is
# cut off before it has sent the body.
python3 - "${INGEST_URL#http://}" "$TOKEN" "$(pts slow1)" > "$T/slow.out" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
body = sys.argv[3].encode()
s = socket.create_connection((host, int(port)))
s.sendall(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
           % (sys.argv[2], len(body))).encode())
sent = 0
try:
    for b in body:
        s.sendall(bytes([b]))
        sent += 1
        time.sleep(0.2)
    reply = s.recv(4096)
except OSError:
    reply = b""
print(sent, len(body), reply[:12].decode(errors="replace") or "closed")
PY
read -r sent total reply < "$T/slow.out"
[ "$sent" -lt "$total" ] || fail "the slow client sent its whole body ($total bytes over $((total / 5)) s, reply $reply): no deadline"
pass "a slow client is cut off after $sent of $total bytes"
grep -q 'did not arrive whole within request_timeout' "$T/daemon.log" || fail "the cut is not logged"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id = 'slow1'")" 0 "nothing of the cut request is stored"
assert_eq "$(post "$TOKEN" "$(pts r4)")" 200 "a normal request after it: 200"
stop_daemon
