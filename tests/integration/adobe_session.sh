#!/usr/bin/env bash
# Adobe Campaign session mode (auth_mode = session): one BearerTokenLogon
# with the IMS token, then the session and security tokens on every call;
# a session Campaign says expired (XSV-350008) is logged on again once and
# the call resent, nothing lost or dead-lettered; at SIGTERM the session is
# closed in Campaign (xtk:session#Logoff), not left to expire there.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/adobe.sh"

acc_sim_start
acc_config "auth_mode = session"
start_daemon
{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com"}}\n'
  ev_consent c1 M1 granted 2026-11-01T10:00:00Z
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq ann@example.com recipient_field M1 email || fail "profile not written in session mode"
wait_for 30 is_eq 1 subscribed M1 newsletter || fail "grant not written in session mode"
opened() { sim_get state | jq -r '.flavor_state.sessionsOpened // 0'; }
assert_eq "$(opened)" 1 "one BearerTokenLogon session serves every call"
grep -q 'logged on (session mode)' "$T/daemon.log" || fail "no logon in the log"

# Campaign expires the session: XSV-350008 on the next call.
sim_post config '{"fault-script":"token-expiry"}'
ev_consent c2 M1 denied 2026-11-02T10:00:00Z >"$T/b.jsonl.src"
drop b.jsonl
wait_for 30 is_eq 0 subscribed M1 newsletter || fail "withdrawal after the session expired"
wait_for 10 is_eq 2 opened || fail "no second logon ($(opened))"
pass "an expired session is logged on again and the call resent"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'acc'")" 0 "nothing dead-lettered"
open_before=$(sim_get state | jq -r '.flavor_state.sessions')
stop_daemon
# The session Campaign holds for us is closed at shutdown (the one the
# injected XSV-350008 "expired" stays in the simulator's table: the fault
# does not end it there).
assert_eq "$(sim_get state | jq -r '.flavor_state.methods["xtk:session#Logoff"].calls // 0')" 1 \
  "one Logoff at shutdown"
assert_eq "$(sim_get state | jq -r '.flavor_state.sessions')" "$((open_before - 1))" \
  "the daemon's session is closed in Campaign"
grep -q 'logged off (session mode)' "$T/daemon.log" || fail "no logoff in the log"
pass "the log says the session was closed"
