#!/usr/bin/env bash
# A CRM that does not answer at all (connection refused) is a transport
# error in the log, not "HTTP 0" (issue 19: "HTTP 0 spelled as the transport
# error it is"), and no log line names a C function.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

refused_port
SIM_URL=http://127.0.0.1:$REFUSED_PORT # nothing listens: every request is refused
hs_config
start_daemon
said() { grep -q 'transport error: ' "$T/daemon.log"; }
wait_for 30 said || fail "no 'transport error:' in the log: $(grep -i 'hubspot\[hs\]' "$T/daemon.log" | tail -5)"
pass "logged: $(grep -m1 'transport error: ' "$T/daemon.log" | cut -c1-160)"
sleep 2
if grep -q 'HTTP 0' "$T/daemon.log"; then fail "still 'HTTP 0': $(grep -m3 'HTTP 0' "$T/daemon.log")"; fi
if grep -qE '^<[0-7]>[a-z]+(\[[^]]*\])? [a-z_]+\(\)' "$T/daemon.log"; then fail "a function name: $(grep -m3 -E '^<[0-7]>[a-z]+(\[[^]]*\])? [a-z_]+\(\)' "$T/daemon.log")"; fi
pass "no 'HTTP 0', no function name in the log"
stop_daemon
