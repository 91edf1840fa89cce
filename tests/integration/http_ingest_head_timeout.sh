#!/usr/bin/env bash
# The deadline on a request's head (issue 16): a client that sends its
# request line and headers a byte at a time, each gap far under the idle
# timeout (30 s), is answered 408 once header_timeout (1 s) has passed and
# disconnected; so is the slow head of a later request on a keep-alive
# connection. A keep-alive connection idle between requests longer than
# header_timeout gets no 408 (the client would read it as the answer to its
# next request): its next request is answered as usual.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
ingest_config "header_timeout = 1s"
start_ingest_daemon
TOKEN=$(mint client=till-head)
pts() { printf '{"event_id":"%s","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"%s","delta":1,"reason":"earn"}' "$1" "$1"; }

# slow_client MODE: prints "<seconds> <bytes sent of the slow head> <of> <first status line>"
slow_client() {
  python3 - "${INGEST_URL#http://}" "$TOKEN" "$(pts "$2")" "$(pts "$3")" "$1" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
token, body1, body2, mode = sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode(), sys.argv[5]
def request(body):
    return (("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (token, len(body))).encode()
            + body)
def read_answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(rest) < n:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    return head
s = socket.create_connection((host, int(port)))
s.settimeout(20)
status = ""
if mode == "keepalive":
    # One request, then idle longer than header_timeout: no 408 meanwhile,
    # and the next request is answered 200 on the same connection.
    s.sendall(request(body1))
    first = read_answer(s).split(b"\r\n")[0].decode()
    time.sleep(2.5)
    s.sendall(request(body2))
    second = read_answer(s).split(b"\r\n")[0].decode()
    print(first.replace(" ", "_"), second.replace(" ", "_"))
    sys.exit(0)
if mode == "later":
    # A good request first; the next one's head comes slowly.
    s.sendall(request(body1))
    read_answer(s)
head = request(body2)
t0 = time.time()
sent = 0
try:
    for b in head:
        s.sendall(bytes([b]))
        sent += 1
        time.sleep(0.05)
except OSError:
    pass
try:
    reply = s.recv(4096)
except OSError:
    reply = b""
line = reply.split(b"\r\n")[0].decode(errors="replace") or "closed"
print("%.1f %d %d %s" % (time.time() - t0, sent, len(head), line.replace(" ", "_")))
PY
}

slow_client first x1 h1 > "$T/first.out"
read -r secs sent total line < "$T/first.out"
[ "$sent" -lt "$total" ] || fail "the slow head was taken whole ($total bytes in $secs s, reply $line): no head deadline"
assert_eq "$line" "HTTP/1.1_408_Request_Timeout" "a slow first head is answered 408"
pass "a head sent a byte every 50 ms is answered 408 after $sent of $total bytes ($secs s)"
grep -q "did not send a request's headers within header_timeout: answered 408" "$T/daemon.log" \
  || fail "the 408 is not logged"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id = 'h1'")" 0 "nothing of it is stored"

slow_client later l1 h2 > "$T/later.out"
read -r secs sent total line < "$T/later.out"
assert_eq "$line" "HTTP/1.1_408_Request_Timeout" "a slow head of a later request on a keep-alive connection: 408"
[ "$sent" -lt "$total" ] || fail "the later slow head was taken whole"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id = 'l1'")" 1 "the good request before it is stored"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger WHERE txn_id = 'h2'")" 0 "nothing of the slow one is"
pass "the slow head of a second request on a connection: 408"

slow_client keepalive k1 k2 > "$T/keep.out"
read -r first second < "$T/keep.out"
assert_eq "$first" "HTTP/1.1_200_OK" "keep-alive: first request"
assert_eq "$second" "HTTP/1.1_200_OK" "keep-alive: a request after 2.5 s idle (> header_timeout) is answered, not 408"
pass "an idle keep-alive connection gets no 408"

assert_eq "$(post "$TOKEN" "$(pts n1)")" 200 "a normal request afterwards: 200"
stop_daemon
