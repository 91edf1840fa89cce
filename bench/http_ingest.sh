#!/usr/bin/env bash
# HTTP ingest benchmark (issue 16): the real crmsyncd with [state]
# synchronous = full and an [ingest] listener whose tokens are verified
# against a JWKS served locally (python3 -m http.server), driven by
# bench/bench_http_ingest.c (a small C client; wrk is not installed here).
#
#   bench/http_ingest.sh BUILD_DIR
#
# Prints: events/s with 100-event requests over 8 keep-alive connections;
# p50/p99 time to a durable 200 for single-event requests at 1,000
# requests/s (8 connections, latency from the scheduled send time); token
# verification cost cached and uncached (in process, liboauth2 through
# ingest_auth_verify); the daemon's CPU time (user + system) per event in
# each phase; the daemon's RSS (VmHWM, VmRSS, and RSS split into anonymous,
# file-backed and shared memory) and the shared libraries it maps, those
# liboauth2 brings counted apart; then event -> HubSpot latency: a second
# daemon on a fresh state with a hubspot connector pushing to crmsim
# (BUILD/tests/sim/crmsim, rate limits off), single points events each for
# a new member at RATE/s, latency = the contact's createdate in the
# simulator minus the event's scheduled send time; last, the issue's
# targets with this run's figure and "met" or "MISSED" (the run itself
# never fails on timing). The hubspot connector runs at HS_RATE requests/s
# (19: HubSpot's 190 requests per 10 s of a Professional or Enterprise
# account, developers.hubspot.com/changelog/increasing-our-api-limits; the
# daemon's default, 10, is the Free/Starter 100 per 10 s). Each event is a
# new contact and the bulk lane gets 80 % of the rate (20 % is kept for
# withdrawals and erasures), so at 10/s at most 800 contacts/s go out and
# 1,000 events/s can only queue up: the figure then measures the quota.
# LAT_LOG=FILE (the client, any mode) writes each answer's send time and
# latency. Environment: LOAD_REQS (200 requests per connection), RATE (1000), HS_RATE (19),
# SECONDS_AT_RATE (10), BENCH_DIR (temp dir; use a real disk, not tmpfs, or
# fsync is free), KEEP=1 to keep it, SKIP_HUBSPOT=1. Build without
# sanitizers, with the crmsim target.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
LOAD_REQS=${LOAD_REQS:-200}
RATE=${RATE:-1000}
HS_RATE=${HS_RATE:-19}
SECONDS_AT_RATE=${SECONDS_AT_RATE:-10}
CLIENT="$BUILD/bench/bench_http_ingest"
for b in "$CLIENT" "$BUILD/crmsyncd"; do [ -x "$b" ] || { echo "$0: $b not built" >&2; exit 1; }; done
T=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/crmsync-bench-http.XXXXXX")}
mkdir -p "$T/state" "$T/spool" "$T/jwks"
chmod 700 "$T/state"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

# The identity provider: a key pair, its JWKS on a local port, a token.
openssl genrsa -out "$T/idp.pem" 2048 2>/dev/null
openssl rsa -in "$T/idp.pem" -pubout -out "$T/idp-public.pem" 2>/dev/null
python3 - "$T/idp.pem" "$T/jwks/jwks.json" <<'PY'
import base64, json, re, subprocess, sys
txt = subprocess.run(["openssl", "rsa", "-in", sys.argv[1], "-noout", "-text"],
                     capture_output=True, text=True, check=True).stdout
n = int(re.sub(r"[\s:]", "", re.search(r"modulus:\s*\n((?:\s+[0-9a-f:]+\n)+)", txt).group(1)), 16)
b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": b64(n), "e": "AQAB"}]},
          open(sys.argv[2], "w"))
PY
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/jwks" > "$T/jwks.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q "Serving HTTP" "$T/jwks.log" && break; sleep 0.1; done
JWKS_PORT=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$T/jwks.log" | head -1)
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
h=$(printf '{"alg":"RS256","typ":"JWT","kid":"k1"}' | b64url)
p=$(printf '{"iss":"https://idp.bench","aud":"crmsyncd","client_id":"bench","scope":"crmsync.points.write","iat":%s,"exp":%s}' "$now" "$((now + 3600))" | b64url)
s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$T/idp.pem" | b64url)
TOKEN="$h.$p.$s"

cat > "$T/crmsyncd.conf" <<CONF
[daemon]
log_level = notice

[state]
path = $T/state/state.db
synchronous = full

[ingest]
listen = 127.0.0.1:0
verify = jwks_uri
verify_value = http://127.0.0.1:$JWKS_PORT/jwks.json
issuer = https://idp.bench
audience = crmsyncd

[connector.shop]
type = spool
dir = $T/spool
CONF
${DAEMON_WRAP:-} "$BUILD/crmsyncd" -c "$T/crmsyncd.conf" 2> "$T/daemon.log" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 100); do grep -q "HTTP ingest listening" "$T/daemon.log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*HTTP ingest listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$T/daemon.log" | head -1)
[ -n "$PORT" ] || { cat "$T/daemon.log" >&2; exit 1; }

echo "# $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at start;" \
     "state on $(df -T "$T" | awk 'NR==2{print $2}'), synchronous = full"
# kv NAME TEXT: the value of NAME=value in the client's line.
kv() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
# The daemon's CPU time (user + system) in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
TICK=$(getconf CLK_TCK)
# cpu_per_event TICKS_BEFORE EVENTS: microseconds of daemon CPU per event.
cpu_per_event() { awk -v a="$1" -v b="$(cpu_ticks)" -v t="$TICK" -v n="$2" 'BEGIN {printf "%.1f", (b - a) / t * 1e6 / n}'; }

echo "== 100-event requests, 8 keep-alive connections, $LOAD_REQS requests each"
c0=$(cpu_ticks)
LOAD_OUT=$("$CLIENT" load 127.0.0.1 "$PORT" "$TOKEN" 8 "$LOAD_REQS" 100)
echo "$LOAD_OUT"
LOAD_CPU=$(cpu_per_event "$c0" "$(kv events "$LOAD_OUT")")
echo "daemon CPU per event: $LOAD_CPU us (user + system, /proc/PID/stat)"
echo "== single-event requests at $RATE/s over 8 connections for ${SECONDS_AT_RATE}s (latency to a durable 200)"
c0=$(cpu_ticks)
RATE_OUT=$("$CLIENT" rate 127.0.0.1 "$PORT" "$TOKEN" 8 "$RATE" "$SECONDS_AT_RATE")
echo "$RATE_OUT"
echo "daemon CPU per request: $(cpu_per_event "$c0" "$(kv requests "$RATE_OUT")") us"
echo "== token verification (liboauth2 + the daemon's claim checks), per token"
"$CLIENT" verify "$T/idp-public.pem" "$TOKEN" https://idp.bench crmsyncd 2000
echo "== daemon memory"
grep -E 'VmHWM|VmRSS|RssAnon|RssFile|RssShmem' "/proc/$DAEMON/status" | tr -s ' \t' ' '
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON/status")
all=$(grep -c '\.so' <<<"$(ldd "$BUILD/crmsyncd")")
oauth=$(ldd "$BUILD/crmsyncd" | grep -cE 'liboauth2|libcjose|libhiredis|libmemcached|libsasl2')
echo "shared libraries mapped: $all, of which liboauth2 and what only it needs: $oauth" \
     "($(ldd "$BUILD/crmsyncd" | grep -oE 'lib(oauth2|cjose|hiredis|memcached|memcachedutil|sasl2)\.so' | sort -u | tr '\n' ' '))"
kill -TERM "$DAEMON"
wait "$DAEMON" || true

# Event -> HubSpot: a second daemon on a fresh state with a hubspot
# connector pushing to crmsim (rate limits off); single points events, each
# for a new member, at RATE/s; the latency of an event is the simulator's
# createdate of the member's contact (its wall clock, ms) minus the event's
# scheduled send time.
HS_P99=""
SIM="$BUILD/tests/sim/crmsim"
if [ "${SKIP_HUBSPOT:-0}" = 1 ]; then
  echo "== event -> HubSpot: skipped (SKIP_HUBSPOT=1)"
elif [ ! -x "$SIM" ]; then
  echo "== event -> HubSpot: skipped ($SIM not built: cmake --build BUILD --target crmsim)"
else
  echo "== event -> HubSpot simulator: single points events for new members at $RATE/s over 8 connections for ${SECONDS_AT_RATE}s (connector rate = $HS_RATE requests/s)"
  "$SIM" --flavor hubspot --listen 127.0.0.1:0 --token T1 --rate-limits false > "$T/sim.out" 2> "$T/sim.log" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$T/sim.out" ] && break; sleep 0.1; done
  SIM_URL="http://$(head -n 1 "$T/sim.out" | sed 's/^listening //')"
  printf 'T1' > "$T/hs-token"
  chmod 600 "$T/hs-token"
  mkdir -p "$T/state-hs"
  chmod 700 "$T/state-hs"
  sed -e "s|^path = .*|path = $T/state-hs/state.db|; s|^log_level = .*|log_level = info|" \
    "$T/crmsyncd.conf" > "$T/crmsyncd-hs.conf"
  cat >> "$T/crmsyncd-hs.conf" <<CONF

[connector.hs]
type = hubspot
base_url = $SIM_URL
allow_loopback_http = yes
token_file = $T/hs-token
subscriptions = marketing=1001,loyalty_programme=1002
rate = $HS_RATE
burst = $HS_RATE
CONF
  ${DAEMON_WRAP:-} "$BUILD/crmsyncd" -c "$T/crmsyncd-hs.conf" 2> "$T/daemon-hs.log" &
  DAEMON=$!
  PIDS+=($DAEMON)
  for _ in $(seq 300); do grep -q "contact properties ready" "$T/daemon-hs.log" && break; sleep 0.1; done
  PORT=$(sed -n 's/.*HTTP ingest listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$T/daemon-hs.log" | head -1)
  grep -q "contact properties ready" "$T/daemon-hs.log" && [ -n "$PORT" ] || { tail "$T/daemon-hs.log" >&2; exit 1; }
  "$CLIENT" e2e 127.0.0.1 "$PORT" "$TOKEN" 8 "$RATE" "$SECONDS_AT_RATE" "$T/sent.tsv"
  # Until every member is a contact in the simulator (or 120 s).
  HS_OUT=""
  for _ in $(seq 240); do
    curl -sf --max-time 60 "$SIM_URL/__sim/state" > "$T/sim-state.json" || true
    HS_OUT=$(python3 - "$T/sent.tsv" "$T/sim-state.json" <<'PY'
import calendar, json, sys, time
sent = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip())
try:
    contacts = json.load(open(sys.argv[2]))["collections"]["contacts"]
except Exception:
    contacts = []
lat = []
for c in contacts:
    p = c.get("properties", {})
    m = p.get("member_key")
    if m in sent and p.get("createdate"):
        t = p["createdate"]
        ms = calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])
        lat.append(ms - float(sent[m]))
lat.sort()
n = len(lat)
pick = lambda q: lat[min(n - 1, max(0, -(-n * q // 100) - 1))] if n else 0
print("sent=%d in_hubspot=%d p50_ms=%.0f p99_ms=%.0f max_ms=%.0f" % (len(sent), n, pick(50), pick(99), lat[-1] if n else 0))
PY
)
    [ "$(kv in_hubspot "$HS_OUT")" = "$(kv sent "$HS_OUT")" ] && break
    sleep 0.5
  done
  echo "$HS_OUT"
  HS_P99=$(kv p99_ms "$HS_OUT")
  [ "$(kv in_hubspot "$HS_OUT")" = "$(kv sent "$HS_OUT")" ] || { HS_P99=""; echo "not every event reached the simulator within 120 s"; }
  kill -TERM "$DAEMON"
  wait "$DAEMON" || true
fi

echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
# verdict VALUE OP TARGET: met or MISSED.
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {ok = op == ">=" ? v + 0 >= t + 0 : v + 0 <= t + 0; print ok ? "met" : "MISSED"}'; }
EPS=$(kv events_per_s "$LOAD_OUT")
P99=$(kv p99_ms "$RATE_OUT")
echo "== targets (issue 16), this run"
printf '%-52s %12s  %-14s %s\n' \
  "events/s, 100-event requests, 8 connections" "$EPS" ">= 20000" "$(verdict "$EPS" ">=" 20000)" \
  "p99 ms to a durable 200, single events at $RATE/s" "$P99" "<= 20" "$(verdict "$P99" "<=" 20)" \
  "daemon peak RSS (VmHWM), kB" "$HWM" "<= 32768" "$(verdict "$HWM" "<=" 32768)"
if [ -n "$HS_P99" ]; then
  printf '%-52s %12s  %-14s %s\n' "p99 ms event -> HubSpot simulator at $RATE events/s, rate $HS_RATE" "$HS_P99" "<= 500" \
    "$(verdict "$HS_P99" "<=" 500)"
else
  echo "(event -> HubSpot simulator p99: not measured in this run)"
fi
