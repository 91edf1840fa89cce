#!/usr/bin/env bash
# Admin endpoint limits (issue 14 item 11). It serves member counts and
# connector state without authentication, so:
# - a non-loopback admin_listen (0.0.0.0) is refused at start unless
#   admin_allow_remote = yes (then served with a warning);
# - 20 slow connections from one address do not take /healthz down for
#   another address (admin_per_ip_connections), and their refusals are logged
#   a few times, not once each (rate-limited logging);
# - a client that sends a byte every 0.3 s never finishing its request is cut
#   at admin_request_timeout (MHD's idle timeout alone kept it for ever);
# - admin_connections_per_minute refuses a client opening too many, and a
#   reload applies changed limits.
# Other client addresses are 127.0.0.2 and 127.0.0.3 (curl --interface).
source "$(dirname "$0")/lib/common.sh"

command -v curl >/dev/null || fail "curl is needed"
write_config

# --- loopback only unless allowed --------------------------------------------
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 0.0.0.0:0/' "$T/crmsyncd.conf"
rc=0
timeout 30 "$CRMSYNCD" -c "$T/crmsyncd.conf" > "$T/remote.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$T/remote.log" >&2; fail "daemon ran with admin_listen = 0.0.0.0 (rc $rc)"; }
grep -q 'not a loopback address.*admin_allow_remote' "$T/remote.log" || { cat "$T/remote.log" >&2; fail "refusal does not name admin_allow_remote"; }
pass "0.0.0.0 refused without admin_allow_remote"

sed -i 's/^admin_listen = 0.0.0.0:0$/admin_listen = 0.0.0.0:0\nadmin_allow_remote = yes/' "$T/crmsyncd.conf"
start_daemon remote_ok
grep -q 'not a loopback address (admin_allow_remote)' "$T/remote_ok.log" || fail "no warning for a remote admin endpoint"
PORT=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/remote_ok.log" | awk '{print $5}' | sed 's/.*://')
assert_eq "$(curl -s "http://127.0.0.1:$PORT/healthz")" '{"status":"ok"}' "served on 0.0.0.0 with admin_allow_remote"
stop_daemon

# --- per-address connections and the whole-request deadline ------------------
sed -i -e 's/^admin_listen = .*/admin_listen = 127.0.0.1:0/' -e '/^admin_allow_remote/d' "$T/crmsyncd.conf"
sed -i 's/^admin_listen = .*/&\nadmin_request_timeout = 2s/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
[ -n "$ADDR" ] || fail "no listening address in the log"

# 20 slowloris clients from 127.0.0.1: each sends a request line, then one
# header byte every 0.3 s and never the blank line. Prints "ready" once every
# client has connected and the server has closed at least one (it has seen
# the limit), then, when every connection is closed or after 90 s, how many
# the server closed.
cat > "$T/slow.py" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
socks = []
for i in range(20):
    s = socket.create_connection((host, int(port)))
    s.setblocking(False)
    try:
        s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    except OSError:
        pass
    socks.append(s)
closed, ready = set(), False
end = time.time() + 90
while time.time() < end and len(closed) < len(socks):
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(i)
                continue
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
            continue
        try:
            s.send(b"a")
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
    if not ready and closed:
        ready = True
        print("ready", flush=True)
    time.sleep(0.3)
print("closed %d of %d" % (len(closed), len(socks)), flush=True)
PY
python3 "$T/slow.py" "$ADDR" > "$T/slow.out" 2>&1 &
SLOW=$!
PIDS+=("$SLOW")
wait_for 30 grep -q ready "$T/slow.out" || fail "slow clients never saw a refusal: $(cat "$T/slow.out")"
code=$(curl -s --max-time 20 --interface 127.0.0.2 -o "$T/body" -w '%{http_code}' "http://$ADDR/healthz" || true)
assert_eq "$code" 200 "healthz answers another address while one address holds slow connections"

wait "$SLOW" || true
assert_eq "$(tail -1 "$T/slow.out")" "closed 20 of 20" "every slow connection closed (refused or cut at the deadline)"
curl -s --interface 127.0.0.2 -o "$T/metrics.txt" "http://$ADDR/metrics" || fail "metrics"
grep -q '^crmsyncd_admin_refused_total{reason="per_ip_connections"} 1[0-9]$' "$T/metrics.txt" || { grep admin_refused "$T/metrics.txt" >&2; fail "per-address refusals not counted"; }
grep -qx 'crmsyncd_admin_refused_total{reason="request_timeout"} 4' "$T/metrics.txt" || { grep admin_refused "$T/metrics.txt" >&2; fail "deadline cuts not counted"; }
pass "refusals and deadline cuts counted by reason"
lines=$(grep -c 'refused a connection from 127.0.0.1\|closed [0-9]* connection(s) whose request' "$T/daemon.log" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 4 ] || fail "refusal log lines: $lines for 20 refusals and cuts (rate limit: a few)"
wait_for 30 grep -q "more refused or closed connections (lines held back" "$T/daemon.log" || fail "held-back refusals not summarised"
pass "refusals logged $lines times, not once each"
assert_eq "$(curl -s "http://$ADDR/healthz")" '{"status":"ok"}' "the slow clients' own address is served again"

# --- new connections per minute, applied by a reload --------------------------
sed -i 's/^admin_request_timeout = 2s$/&\nadmin_connections_per_minute = 5/' "$T/crmsyncd.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q 'configuration reloaded' "$T/daemon.log" || fail "reload"
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | tail -1 | awk '{print $5}')
ok=0; refused=0
for i in 1 2 3 4 5 6 7 8; do
  c=$(curl -s --max-time 10 --interface 127.0.0.3 -o /dev/null -w '%{http_code}' "http://$ADDR/healthz" || true)
  if [ "$c" = 200 ]; then ok=$((ok + 1)); else refused=$((refused + 1)); fi
done
[ "$ok" -ge 5 ] && [ "$refused" -ge 1 ] || fail "8 connections at 5 a minute: $ok served, $refused refused"
pass "admin_connections_per_minute: $ok served, $refused refused"
assert_eq "$(curl -s --interface 127.0.0.2 "http://$ADDR/healthz")" '{"status":"ok"}' "another address is not limited by it"
stop_daemon
