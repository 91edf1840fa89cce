#!/usr/bin/env bash
# [ingest] on SIGHUP (issue 16): limits, scopes and token verification are
# applied to the requests that come after the reload; a new key gets a
# result cache of its own, so a token verified (and cached) with the old
# key is refused at once; what only a restart changes (listen, TLS files,
# connection limits) is logged as such; new settings that fail the checks
# are refused and the listener keeps its current ones.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
# The forger's key as a JWK file: the "new key" of a key change.
python3 - "$T/keys/forger.pem" "$T/keys/forger.jwk" <<'PY'
import base64, json, re, subprocess, sys
txt = subprocess.run(["openssl", "rsa", "-in", sys.argv[1], "-noout", "-text"],
                     capture_output=True, text=True, check=True).stdout
n = int(re.sub(r"[\s:]", "", re.search(r"modulus:\s*\n((?:\s+[0-9a-f:]+\n)+)", txt).group(1)), 16)
b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"kty": "RSA", "kid": "k1", "alg": "RS256", "n": b64(n), "e": "AQAB"}, open(sys.argv[2], "w"))
PY
ingest_config ""
start_ingest_daemon
# reload [ingest] lines: the configuration rewritten with them, SIGHUP, and
# the reload waited for.
reload() {
  ingest_config "$1"
  hup
}
# reload_key VERIFY VALUE: the same with another verify and verify_value.
reload_key() {
  ingest_config ""
  sed -i "s|^verify = .*|verify = $1|; s|^verify_value = .*|verify_value = $2|" "$T/crmsyncd.conf"
  hup
}
hup() { reload_wait; }
pts() { printf '{"event_id":"%s","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"%s","delta":1,"reason":"earn"}' "$1" "$1"; }
big() { # a 30-event array, about 4 KB
  local s="[" i
  for i in $(seq 1 30); do s="$s$(pts "$1-$i"),"; done
  printf '%s' "${s%,}]"
}
TOKEN=$(mint client=till-reload)

assert_eq "$(post "$TOKEN" "$(big b1)")" 200 "a 4 KB body before the reload"

# Limits.
reload "max_body = 1k"
assert_eq "$(post "$TOKEN" "$(big b2)")" 413 "max_body = 1k after the reload: a 4 KB body is 413"
assert_eq "$(post "$TOKEN" "$(pts s1)")" 200 "a small one still passes"
pass "a reloaded max_body applies at once"

# Scopes.
reload "scope_points = crmsync.points.other"
assert_eq "$(post "$TOKEN" "$(pts s2)")" 200 "a points event without the new scope: 200 with the event rejected"
assert_eq "$(answer 'a["results"][0]["result"]')" rejected "the points event is rejected"
answer 'a["results"][0]["reason"]' | grep -q 'needs scope crmsync.points.other' \
  || fail "the reason does not name the new scope: $(cat "$T/answer")"
pass "a reloaded scope applies at once"

# A new key: the token verified (and cached) with the old one is refused at
# once, a token signed with the new one passes.
assert_eq "$(post "$TOKEN" "$(pts s3)")" 200 "the old key's token, cached (its points event still lacks the scope)"
reload_key jwk "$T/keys/forger.jwk"
assert_eq "$(post "$TOKEN" "$(pts s4)")" 401 "after a key change the cached token of the old key is refused"
assert_eq "$(post "$(mint key=forger.pem client=till-new)" "$(pts s5)")" 200 "a token signed with the new key passes"
pass "a reloaded key applies at once, the old key's cached results with it"

# New settings that fail the checks: refused, the listener keeps its own.
reload_key jwk "$T/keys/missing.jwk"
grep -q '\[ingest\] not applied, the HTTP ingest on .* keeps its settings: .*not a JWK' "$T/daemon.log" \
  || fail "refused settings are not logged"
assert_eq "$(post "$(mint key=forger.pem client=till-new)" "$(pts s6)")" 200 "the listener keeps the key it had"
pass "settings that fail the checks are refused as a whole"

# What only a restart changes.
reload "max_connections = 8
per_ip_connections = 4"
grep -q '\[ingest\] max_connections, per_ip_connections changed: the HTTP ingest on .* keeps the old value until crmsyncd restarts' "$T/daemon.log" \
  || fail "restart-only settings are not named"
# And back to the provider's JWKS: the original token passes again.
reload ""
assert_eq "$(post "$TOKEN" "$(pts s7)")" 200 "back to the JWKS: the provider's token passes"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id IN ('s1','s5','s6','s7')")" 4 "the accepted events are stored"
# s2 and s3 lacked the reloaded points scope, s4 came with a refused token.
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id IN ('s2','s3','s4') OR txn_id LIKE 'b2-%'")" 0 "the refused ones are not"
stop_daemon
