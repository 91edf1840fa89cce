# Helpers for the HTTP ingest tests: an RSA key pair made with the openssl
# CLI, a JWKS served by python3 -m http.server, tokens minted (RS256) by
# openssl dgst -sign, and a daemon with an [ingest] section.

# ingest_keys: $T/keys/k1.pem (the provider's key, in the JWKS as "k1") and
# $T/keys/forger.pem (a key nobody trusts).
ingest_keys() {
  mkdir -p "$T/keys" "$T/jwks"
  openssl genrsa -out "$T/keys/k1.pem" 2048 2>/dev/null
  openssl genrsa -out "$T/keys/forger.pem" 2048 2>/dev/null
  python3 - "$T/keys/k1.pem" "$T/jwks/jwks.json" <<'PY'
import base64, json, re, subprocess, sys
txt = subprocess.run(["openssl", "rsa", "-in", sys.argv[1], "-noout", "-text"],
                     capture_output=True, text=True, check=True).stdout
m = re.search(r"modulus:\s*\n((?:\s+[0-9a-f:]+\n)+)", txt)
n = int(re.sub(r"[\s:]", "", m.group(1)), 16)
e = int(re.search(r"publicExponent: (\d+)", txt).group(1))
def b64(i):
    b = i.to_bytes((i.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                     "n": b64(n), "e": b64(e)}]}, open(sys.argv[2], "w"))
PY
}

# start_jwks: serves $T/jwks/ on a free loopback port; sets JWKS_URL.
start_jwks() {
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/jwks" > "$T/jwks.log" 2>&1 &
  PIDS+=($!)
  wait_for 30 grep -q "Serving HTTP" "$T/jwks.log" || fail "JWKS server did not start"
  local port
  port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$T/jwks.log" | head -1)
  JWKS_URL="http://127.0.0.1:$port/jwks.json"
}

# mint [key=k1.pem] [kid=k1] [alg=RS256] [exp=+300] [nbf=] [iss=...] [aud=...]
#      [scope=...] [client=till-1]: prints a JWT. exp/nbf are offsets from
# now in seconds ("none" leaves the claim out).
mint() {
  python3 - "$T/keys" "$@" <<'PY'
import base64, json, subprocess, sys, time
keys, args = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
alg = args.get("alg", "RS256")
hdr = {"alg": alg, "typ": "JWT"}
if args.get("kid", "k1") != "none": hdr["kid"] = args.get("kid", "k1")
claims = {"iss": args.get("iss", "https://idp.example"),
          "aud": args.get("aud", "crmsyncd"),
          "client_id": args.get("client", "till-1"),
          "scope": args.get("scope", "crmsync.consent.write crmsync.points.write "
                                     "crmsync.profile.write crmsync.erasure.write "
                                     "crmsync.members.read"),
          "iat": now}
if args.get("exp", "+300") != "none": claims["exp"] = now + int(args.get("exp", "+300"))
if args.get("nbf"): claims["nbf"] = now + int(args["nbf"])
signing = b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(claims).encode())
if alg == "none":
    print(signing + ".")
else:
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                          keys + "/" + args.get("key", "k1.pem")],
                         input=signing.encode(), capture_output=True, check=True).stdout
    print(signing + "." + b64(sig))
PY
}

# ingest_config [extra [ingest] lines]: write_config plus the ingest
# listener on a free loopback port, verifying against $JWKS_URL.
ingest_config() {
  write_config
  python3 - "$T/crmsyncd.conf" "$JWKS_URL" "${1:-}" <<'PY'
import sys
p, url, extra = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(p).read()
add = ("\n[ingest]\nlisten = 127.0.0.1:0\n"
       "verify = jwks_uri\n"
       "verify_value = " + url + "\n"
       "issuer = https://idp.example\n"
       "audience = crmsyncd\n") + (extra + "\n" if extra else "")
s = s + add
open(p, "w").write(s)
PY
}

# start_ingest_daemon: start_daemon, then INGEST_URL from the log.
start_ingest_daemon() {
  start_daemon "${1:-daemon}"
  local log="$T/${1:-daemon}.log"
  wait_for 10 grep -q "HTTP ingest listening on" "$log" || fail "ingest listener not started"
  INGEST_URL="http://$(sed -n 's/.*HTTP ingest listening on \([^ ]*\).*/\1/p' "$log" | tail -1)"
}

# post TOKEN BODY [content-type]: POST /v1/events; prints the status code,
# the answer is in $T/answer.
post() {
  curl -s -o "$T/answer" -w '%{http_code}' -X POST "$INGEST_URL/v1/events" \
    -H "Authorization: Bearer $1" -H "Content-Type: ${3:-application/json}" \
    --data-binary "$2"
}

# answer EXPR: a python expression over the JSON answer `a`.
answer() { python3 -c "import json,sys; a=json.load(open(sys.argv[1])); print($1)" "$T/answer"; }

# Any of its parts would do harm: the payload segment is unique per token,
# and log lines are cut at a few hundred bytes, so look for 40-byte pieces.
# token_in_log TOKEN LOG: 0 when a piece of TOKEN is in LOG.
token_in_log() {
  local t=$1 payload sig
  payload=${t#*.}; payload=${payload%%.*}
  sig=${t##*.}
  grep -qF -- "${payload:0:40}" "$2" || grep -qF -- "${sig:0:40}" "$2" || grep -qF -- "${sig: -40}" "$2"
}
