#!/usr/bin/env bash
# kill -9 during a stream of HTTP ingest requests (issue 16): every event
# answered "applied" is in the state after the restart, and none is there
# twice, even after the clients send again what got no answer.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
ingest_config
sed -i 's/^synchronous = normal$/synchronous = full/' "$T/crmsyncd.conf"
start_ingest_daemon
TOKEN=$(mint client=till-crash)

# The member follows from the id: an event sent again after the restart
# must be the same event (the same id with another member is a conflict).
ev() { # id
  local sum
  sum=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
  printf '{"event_id":"%s","type":"points","member":"M%s","occurred_at":"2026-11-01T10:00:00Z","txn_id":"%s","delta":1,"reason":"earn"}' "$1" "$((sum % 20))" "$1"
}
# client K: single-event requests until the daemon is gone; logs "id code result".
client() {
  local k=$1 i=0 code res misses=0
  while [ $misses -lt 3 ] && [ $i -lt 3000 ]; do
    i=$((i + 1))
    id="c$k-$i"
    code=$(curl -s -m 5 -o "$T/c$k.ans" -w '%{http_code}' -X POST "$INGEST_URL/v1/events" \
      -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" --data-binary "$(ev "$id")") || code=000
    res=$(grep -o '"result":"[a-z]*"' "$T/c$k.ans" 2>/dev/null | head -1 | cut -d'"' -f4) || res=-
    echo "$id $code ${res:--}" >> "$T/c$k.log"
    : > "$T/c$k.ans"
    if [ "$code" = 000 ]; then misses=$((misses + 1)); fi
  done
}
clients=()
for k in 1 2 3 4; do client "$k" & clients+=($!); done
# Kill when a fair number of events has been answered.
answered() { [ "$(cat "$T"/c*.log 2>/dev/null | grep -c ' 200 applied')" -ge 80 ]; }
wait_for 120 answered || fail "clients got no answers"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
wait "${clients[@]}"
n_applied=$(cat "$T"/c*.log | grep -c ' 200 applied')
pass "killed -9 after $n_applied events answered applied"

start_ingest_daemon after
check_state() {
  python3 - "$T/state/state.db" "$T"/c*.log <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
applied, sent = set(), set()
for f in sys.argv[2:]:
    for line in open(f):
        eid, code, res = line.split()
        sent.add(eid)
        if code == "200" and res == "applied":
            applied.add(eid)
rows = dict(db.execute("SELECT idem_key, COUNT(*) FROM changes WHERE origin = 'http' GROUP BY idem_key"))
ledger = dict(db.execute("SELECT txn_id, COUNT(*) FROM points_ledger GROUP BY txn_id"))
lost = [e for e in applied if rows.get("http:" + e, 0) != 1 or ledger.get(e, 0) != 1]
twice = [k for k, n in list(rows.items()) + list(ledger.items()) if n != 1]
print(len(applied), len(lost), len(twice))
PY
}
read -r n lost twice <<<"$(check_state)"
assert_eq "$lost" 0 "every one of the $n events answered applied is in the state after the restart"
assert_eq "$twice" 0 "no event is stored twice"

# The clients send again what got no 200: each is applied or a duplicate,
# and the ledger ends with exactly one row per event sent.
TOKEN=$(mint client=till-crash)
grep -v ' 200 ' "$T"/c*.log | cut -d: -f2 | cut -d' ' -f1 > "$T/resend"
while read -r id; do
  code=$(post "$TOKEN" "$(ev "$id")")
  assert_eq "$code" 200 "resend of $id after the restart" > /dev/null
  grep -qE '"result":"(applied|duplicate)"' "$T/answer" || fail "resend of $id: $(cat "$T/answer")"
done < "$T/resend"
pass "$(wc -l < "$T/resend") unanswered events sent again: applied or duplicate"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger")" "$(cat "$T"/c*.log | wc -l)" "one ledger row per event sent"
assert_eq "$(sql "SELECT COUNT(*) FROM points_ledger GROUP BY txn_id HAVING COUNT(*) > 1" | wc -l)" 0 "no transaction twice"
assert_eq "$(sql 'PRAGMA integrity_check')" ok "database integrity"
stop_daemon
