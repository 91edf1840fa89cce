#!/usr/bin/env bash
# POST /v1/events (issue 16): the spool's event format as one object, an
# array or JSON lines; per-event results after the commit; malformed events
# named by index and field (400) while the good ones are applied; a replay
# changes nothing; 413 and 415; GET /v1/members shows what was stored.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ingest.sh"

ingest_keys
start_jwks
ingest_config "max_body = 16k"
start_ingest_daemon
TOKEN=$(mint client=till-7)

BODY='[
{"event_id":"e1","type":"consent","member":"M1","occurred_at":"2026-11-01T10:00:00Z","purpose":"marketing","channel":"email","status":"granted","legal_basis":"consent","source":"till","proof":"notice-v3"},
{"event_id":"e2","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T1","delta":"lots","reason":"earn"},
{"event_id":"e3","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T2","delta":250,"reason":"earn"},
{"event_id":"e4","type":"coupon","member":"M1","occurred_at":"2026-11-01T10:00:00Z"},
{"event_id":"e5","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}
]'
assert_eq "$(post "$TOKEN" "$BODY")" 400 "bad events among good: 400"
assert_eq "$(answer '[r["result"] for r in a["results"]]')" "['applied', 'rejected', 'applied', 'rejected', 'applied']" "per-event results in order"
assert_eq "$(answer 'a["results"][1]["index"], a["results"][1]["field"]')" "1 delta" "the malformed event is named by index and field"
assert_eq "$(answer 'a["results"][3]["field"]')" "type" "an unknown type names the field type"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M1'")" 3 "the good events are stored"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters")" 2 "the malformed events are dead letters"
assert_eq "$(sql "SELECT DISTINCT source FROM dead_letters")" "client:till-7" "a dead letter names the client"
# An event of one change keeps its answer on the key its change recorded:
# one idempotency key per stored event, not a second row for the answer.
assert_eq "$(sql "SELECT COUNT(*), COUNT(answer) FROM idem_keys")" "3|3" "one idempotency key per stored event, its answer on it"
sql "SELECT payload FROM audit" | grep -q 'client:till-7' || fail "the consent audit records the token's client id"
pass "the consent audit records the token's client id as origin detail"

# The same request again: nothing changes, and every event gets the answer
# its first sending got (applied stays applied, not "duplicate"), marked
# replayed; the event ids are the same with the same bodies.
before=$(sql "SELECT COUNT(*) FROM changes"):$(sql "SELECT COUNT(*) FROM dead_letters"):$(sql "SELECT COUNT(*) FROM audit")
assert_eq "$(post "$TOKEN" "$BODY")" 400 "replay: the same status"
assert_eq "$(answer '[r["result"] for r in a["results"]]')" "['applied', 'rejected', 'applied', 'rejected', 'applied']" "replay: the same result per event as the first time"
assert_eq "$(answer '[r.get("replayed", False) for r in a["results"]]')" "[True, False, True, False, True]" "replay: the stored events are marked replayed"
assert_eq "$(answer 'a["applied"], a["duplicate"]')" "3 0" "replay: the same counts"
after=$(sql "SELECT COUNT(*) FROM changes"):$(sql "SELECT COUNT(*) FROM dead_letters"):$(sql "SELECT COUNT(*) FROM audit")
assert_eq "$after" "$before" "replay changes nothing (changes, dead letters, audit)"
assert_eq "$(sql "SELECT SUM(delta) FROM points_ledger WHERE member_key = 'M1'")" 250 "the balance counts the points once"
# The same event id in another spelling of the same body (key order,
# spaces) is the same event.
assert_eq "$(post "$TOKEN" '{ "delta": 250, "reason": "earn", "txn_id": "T2", "type": "points", "member": "M1", "occurred_at": "2026-11-01T10:00:00Z", "event_id": "e3" }')" 200 "replay in another spelling: 200"
assert_eq "$(answer 'a["results"][0]["result"], a["results"][0].get("replayed")')" "applied True" "replay in another spelling: the first answer"

# An answer kept under the event's answer key (as every answer was before
# they went on the change's key) is still found: e5's moved there, marked.
E5=$(sql "SELECT key FROM idem_keys WHERE key LIKE '%:e5'")
LEGACY=$(python3 -c 'import hashlib,struct,sys; h=int(sys.argv[1]) % 2**64; d=hashlib.sha256(struct.pack(">Q", h)).digest(); print(struct.unpack(">q", d[:8])[0])' "$(sql "SELECT body_hash FROM idem_keys WHERE key = '$E5'")")
sql "UPDATE idem_keys SET answer = NULL WHERE key = '$E5'; INSERT INTO idem_keys(key, body_hash, seen_at, answer) VALUES ('answer:$E5', $LEGACY, 0, '{\"result\":\"unchanged\",\"reason\":\"kept before\"}')"
assert_eq "$(post "$TOKEN" '{"event_id":"e5","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}')" 200 "an answer kept under the answer key: 200"
assert_eq "$(answer 'a["results"][0]["result"], a["results"][0].get("reason"), a["results"][0].get("replayed")')" "unchanged kept before True" "an answer kept under the answer key is the one given again"
# A profile event (its answer under the answer key) with the id of an event
# of another type (its answer on the change key) is a conflict, and the
# other way round.
assert_eq "$(post "$TOKEN" '{"event_id":"e3","type":"profile","member":"M1","occurred_at":"2026-11-01T10:00:00Z","attributes":{"first_name":"Eve"}}')" 409 "a profile event with a points event's id: 409"
assert_eq "$(post "$TOKEN" '{"event_id":"p0","type":"profile","member":"M1","occurred_at":"2026-11-01T10:00:00Z","attributes":{"first_name":"Eve"}}')" 200 "profile p0: 200"
assert_eq "$(post "$TOKEN" '{"event_id":"p0","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"P0","delta":1,"reason":"earn"}')" 409 "a points event with a profile event's id: 409"
assert_eq "$(sql "SELECT SUM(delta) FROM points_ledger WHERE member_key = 'M1'")" 250 "neither conflict applied points"

# A merge rejection is kept too: an event rejected the first time is
# rejected again with the same reason, and no second dead letter.
FUT='{"event_id":"f1","type":"consent","member":"M3","occurred_at":"2099-01-01T00:00:00Z","purpose":"marketing","channel":"email","status":"granted","legal_basis":"consent","source":"till"}'
post "$TOKEN" "$FUT" > /dev/null
first=$(answer 'a["results"][0]["result"], a["results"][0].get("reason")')
dl=$(sql "SELECT COUNT(*) FROM dead_letters")
post "$TOKEN" "$FUT" > /dev/null
assert_eq "$(answer 'a["results"][0]["result"], a["results"][0].get("reason")')" "$first" "a rejected event replayed: the same result and reason"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters")" "$dl" "a rejected event replayed: no second dead letter"

# An event id reused with another body is a conflict (409, the event
# rejected with error "conflict"), applied nothing, and is not confused
# with a replay; the other events of the request are applied.
CONFLICT='[
{"event_id":"e3","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T2","delta":999,"reason":"earn"},
{"event_id":"c2","type":"points","member":"M1","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T7","delta":5,"reason":"earn"}
]'
assert_eq "$(post "$TOKEN" "$CONFLICT")" 409 "an event id reused with another body: 409"
assert_eq "$(answer '[(r["result"], r.get("error")) for r in a["results"]]')" "[('rejected', 'conflict'), ('applied', None)]" "the reused id is a conflict, the other event applied"
answer 'a["results"][0]["reason"]' | grep -q 'conflict' || fail "the conflict's reason says so: $(cat "$T/answer")"
assert_eq "$(sql "SELECT SUM(delta) FROM points_ledger WHERE member_key = 'M1'")" 255 "the conflicting body changed nothing"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE 'conflict%'")" 3 "the conflict is a dead letter (with the two above)"
assert_eq "$(post "$TOKEN" "$CONFLICT")" 409 "the conflicting request again: 409 again"
assert_eq "$(answer '[(r["result"], r.get("error")) for r in a["results"]]')" "[('rejected', 'conflict'), ('applied', None)]" "the conflicting request again: the same answers"
assert_eq "$(sql "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE 'conflict%'")" 3 "the same conflict twice: one dead letter"
# A profile event whose id comes back with one attribute more: a conflict
# (the change-level keys alone would have applied the new attribute).
assert_eq "$(post "$TOKEN" '{"event_id":"p1","type":"profile","member":"M4","occurred_at":"2026-11-01T10:00:00Z","attributes":{"first_name":"Bo"}}')" 200 "profile p1: 200"
assert_eq "$(post "$TOKEN" '{"event_id":"p1","type":"profile","member":"M4","occurred_at":"2026-11-01T10:00:00Z","attributes":{"first_name":"Bo","phone":"+4912345"}}')" 409 "profile p1 with one attribute more: 409"
assert_eq "$(sql "SELECT COUNT(*) FROM current WHERE member_key = 'M4'")" 1 "the added attribute was not applied"

# One object, and JSON lines.
assert_eq "$(post "$TOKEN" '{"event_id":"o1","type":"points","member":"M2","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T3","delta":10,"reason":"earn"}')" 200 "one object: 200"
NDJSON=$(printf '%s\n\n%s\n' \
  '{"event_id":"n1","type":"points","member":"M2","occurred_at":"2026-11-01T10:00:00Z","txn_id":"T4","delta":20,"reason":"earn"}' \
  '{"event_id":"n2","type":"profile","member":"M2","occurred_at":"2026-11-01T10:00:00Z","attributes":{"first_name":"Ann","phone":null}}')
assert_eq "$(post "$TOKEN" "$NDJSON" application/x-ndjson)" 200 "JSON lines: 200"
assert_eq "$(answer '[r["result"] for r in a["results"]]')" "['applied', 'applied']" "JSON lines: both applied"
assert_eq "$(sql "SELECT SUM(delta) FROM points_ledger WHERE member_key = 'M2'")" 30 "M2's balance"

# Many events in one request (the parsed events must not move in memory
# while the body is read: a 40-event array and 40 JSON lines).
MANY=$(python3 -c 'import json; print(json.dumps([{"event_id":"m%d"%i,"type":"points","member":"M5","occurred_at":"2026-11-01T10:00:00Z","txn_id":"MT%d"%i,"delta":1,"reason":"earn"} for i in range(40)]))')
assert_eq "$(post "$TOKEN" "$MANY")" 200 "40 events in an array: 200"
assert_eq "$(answer 'a["applied"]')" 40 "40 events in an array: all applied"
MANYL=$(python3 -c 'import json; print("\n".join(json.dumps({"event_id":"l%d"%i,"type":"points","member":"M5","occurred_at":"2026-11-01T10:00:00Z","txn_id":"LT%d"%i,"delta":1,"reason":"earn"}) for i in range(40)))')
assert_eq "$(post "$TOKEN" "$MANYL" application/x-ndjson)" 200 "40 JSON lines: 200"
assert_eq "$(answer 'a["applied"]')" 40 "40 JSON lines: all applied"
assert_eq "$(sql "SELECT SUM(delta) FROM points_ledger WHERE member_key = 'M5'")" 80 "M5's balance counts all 80"

# Whole-body errors.
assert_eq "$(post "$TOKEN" 'not json')" 400 "a body that is not JSON: 400"
assert_eq "$(post "$TOKEN" '[]')" 400 "an empty array: 400"
assert_eq "$(post "$TOKEN" "$BODY" text/plain)" 415 "text/plain: 415"
BIG=$(python3 -c 'import json; print(json.dumps([{"event_id":"b%d"%i,"type":"points","member":"M9","occurred_at":"2026-11-01T10:00:00Z","txn_id":"B%d"%i,"delta":1,"reason":"earn"} for i in range(150)]))')
assert_eq "$(post "$TOKEN" "$BIG")" 413 "a body over max_body: 413"
code=$(python3 -c 'import sys; sys.stdout.write(sys.argv[1])' "$BIG" | curl -s -o "$T/answer" -w '%{http_code}' -X POST "$INGEST_URL/v1/events" \
  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @-)
assert_eq "$code" 413 "a chunked body over max_body: 413"
assert_eq "$(sql "SELECT COUNT(*) FROM changes WHERE member_key = 'M9'")" 0 "nothing of a 413 is stored"
code=$(curl -s -o "$T/answer" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$INGEST_URL/v1/events")
assert_eq "$code" 405 "GET /v1/events: 405"

# What the till and the preference centre read back.
code=$(curl -s -o "$T/answer" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$INGEST_URL/v1/members/M1")
assert_eq "$code" 200 "GET /v1/members/M1"
grep -q 'notice-v3' "$T/answer" || fail "the member export shows the consent proof: $(cat "$T/answer")"
grep -q '250' "$T/answer" || fail "the member export shows the balance"
grep -q 'vip' "$T/answer" || fail "the member export shows the segment"
pass "the member read shows consent with proof, balance and segment"

# Metrics on the admin endpoint would be tested with admin_listen; here the
# log says what was refused, never with a token.
if grep -qF -- "${TOKEN##*.}" "$T/daemon.log"; then fail "a token reached the log"; fi
pass "no token in the log"
stop_daemon
