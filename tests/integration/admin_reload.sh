#!/usr/bin/env bash
# admin_listen on SIGHUP, without a restart: an unchanged address keeps its
# endpoint; a new address is bound and the old one closed; an address that
# cannot be bound (taken by another process, or not local) leaves the old
# endpoint serving and the log names the address; an address that overlaps
# the old one (same port) replaces it; a Unix socket path works too;
# removing admin_listen stops the endpoint, adding it starts one.
source "$(dirname "$0")/lib/common.sh"

command -v curl >/dev/null || fail "curl is needed"

write_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADDR1=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
[ -n "$ADDR1" ] || fail "no listening address in the log"

healthz() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$1/healthz" || true; }
healthz_unix() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$1" http://localhost/healthz || true; }
reloads() { grep -c 'configuration reloaded' "$T/daemon.log" || true; }
reloads_above() { [ "$(reloads)" -gt "$1" ]; }
# reload_with VALUE: admin_listen = VALUE ("" removes it), SIGHUP, wait until done.
reload_with() {
  local n; n=$(reloads)
  sed -i '/^admin_listen = /d' "$T/crmsyncd.conf"
  [ -z "$1" ] || sed -i "s|^shutdown_grace = 5s\$|shutdown_grace = 5s\nadmin_listen = $1|" "$T/crmsyncd.conf"
  kill -HUP "$DAEMON_PID"
  wait_for 20 reloads_above "$n" || fail "reload with admin_listen '$1' not done"
}
# The port the endpoint listens on now, as the kernel chose it (":0"), read
# back from the last "listening on" line: never guessed by bind-and-close.
listening_port() { grep -o "admin endpoint listening on $1:[0-9]*" "$T/daemon.log" | tail -n 1 | awk -F: '{print $NF}'; }

assert_eq "$(healthz "$ADDR1")" 200 "endpoint on $ADDR1"

# Unchanged (127.0.0.1:0 again): the same endpoint, not a new port.
reload_with 127.0.0.1:0
assert_eq "$(healthz "$ADDR1")" 200 "unchanged admin_listen keeps $ADDR1"
assert_eq "$(grep -c 'admin endpoint listening on' "$T/daemon.log")" 1 "no rebind for an unchanged address"

# A new address: another loopback address, on a port the kernel chooses.
reload_with "127.0.0.2:0"
P2=$(listening_port 127.0.0.2)
[ -n "$P2" ] || fail "no listening line for 127.0.0.2: $(grep admin "$T/daemon.log" | tail -3)"
assert_eq "$(healthz "127.0.0.2:$P2")" 200 "endpoint moved to 127.0.0.2:$P2"
assert_eq "$(healthz "$ADDR1")" 000 "old address $ADDR1 closed"

# An address another process holds: the endpoint stays.
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(600)' > "$T/holder.port" &
PIDS+=($!)
wait_for 10 test -s "$T/holder.port" || fail "port holder did not start"
P3=$(cat "$T/holder.port")
reload_with "127.0.0.1:$P3"
grep -q "cannot move the admin endpoint to 127.0.0.1:$P3, it stays on 127.0.0.2:$P2" "$T/daemon.log" \
  || fail "no error naming 127.0.0.1:$P3: $(grep admin "$T/daemon.log" | tail -3)"
grep "cannot move the admin endpoint to 127.0.0.1:$P3" "$T/daemon.log" | grep -q '^<3>' \
  || fail "not logged as an error"
assert_eq "$(healthz "127.0.0.2:$P2")" 200 "endpoint still on 127.0.0.2:$P2 after a taken address"
assert_eq "$(grep -c "admin endpoint listening on 127.0.0.2:$P2 " "$T/daemon.log")" 1 \
  "the old endpoint was left alone (not stopped and started again)"

# An address that is not local (TEST-NET-1): the endpoint stays.
reload_with "192.0.2.1:$P2"
grep -q "cannot move the admin endpoint to 192.0.2.1:$P2, it stays on 127.0.0.2:$P2" "$T/daemon.log" \
  || fail "no error naming 192.0.2.1:$P2"
assert_eq "$(healthz "127.0.0.2:$P2")" 200 "endpoint still on 127.0.0.2:$P2 after a non-local address"

# The same address under another name: on an IPv6 socket [::ffff:127.0.0.2]
# is 127.0.0.2, so binding it conflicts with the running endpoint, which has
# to make room for it.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  reload_with "[::ffff:127.0.0.2]:$P2"
  grep -q "admin endpoint listening on \[::ffff:127.0.0.2\]:$P2" "$T/daemon.log" \
    || fail "not moved to [::ffff:127.0.0.2]:$P2: $(grep admin "$T/daemon.log" | tail -3)"
  assert_eq "$(healthz "127.0.0.2:$P2")" 200 "moved to [::ffff:127.0.0.2]:$P2, which overlaps the old address"
else
  echo "SKIP: no IPv6 here; the overlapping-address case is not tested"
fi

# A Unix socket another process listens on: not taken from it.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen()
print("up", flush=True); time.sleep(600)' "$T/taken.sock" > "$T/taken.up" &
PIDS+=($!)
wait_for 10 test -s "$T/taken.up" || fail "socket holder did not start"
reload_with "$T/taken.sock"
grep -q "taken.sock is in use by another process" "$T/daemon.log" \
  || fail "no error naming the live socket: $(grep admin "$T/daemon.log" | tail -3)"
assert_eq "$(healthz "127.0.0.2:$P2")" 200 "endpoint stays on port $P2 when the socket path is in use"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$T/taken.sock" \
  || fail "the other process's socket was removed"
pass "a live Unix socket of another process is left alone"

# A Unix socket.
reload_with "$T/admin.sock"
assert_eq "$(healthz_unix "$T/admin.sock")" 200 "endpoint moved to the Unix socket"
assert_eq "$(healthz "127.0.0.2:$P2")" 000 "TCP endpoint closed"

# Removed, then added again.
reload_with ""
[ ! -e "$T/admin.sock" ] || fail "socket file left after admin_listen was removed"
grep -q 'admin_listen removed: admin endpoint on unix:.*admin.sock stopped' "$T/daemon.log" \
  || fail "removal not logged"
pass "admin_listen removed: endpoint stopped, socket file gone"
reload_with "127.0.0.1:0"
P4=$(listening_port 127.0.0.1)
assert_eq "$(healthz "127.0.0.1:$P4")" 200 "admin_listen added: endpoint on 127.0.0.1:$P4"
stop_daemon
