#!/usr/bin/env bash
# crmsyncctl member export says which CRM acknowledged every kind of change
# (issue 19): acknowledged_by was filled for consent changes only, so for a
# profile, points, tier or segment change an operator could not tell from
# the export whether HubSpot had taken it. Every change HubSpot answered ok
# now lists it with the time; so does an erasure.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

ctl() { "$CRMSYNCCTL" -c "$T/crmsyncd.conf" "$@"; }

hs_sim_start
hs_config "" "tiers = bronze:0, silver:100"
start_daemon

{
  printf '{"event_id":"p1","type":"profile","member":"M1","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"ann@example.com","first_name":"Ann"}}\n'
  ev_consent c1 M1 granted 2026-11-01T10:00:00Z
  ev_points t1 M1 T1 150 earn
  printf '{"event_id":"s1","type":"segment","member":"M1","occurred_at":"2026-11-01T10:00:00Z","segment":"vip","status":"in"}\n'
  printf '{"event_id":"p2","type":"profile","member":"M2","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"bob@example.com"}}\n'
} >"$T/a.jsonl.src"
drop a.jsonl
wait_for 30 is_eq silver contact_prop M1 loyalty_tier || fail "M1's tier not in HubSpot"
wait_for 30 contact_id_known M2 || fail "M2 not in HubSpot"
quiet

ctl member export M1 >"$T/m1.json" || fail "export failed"
python3 - "$T/m1.json" <<'PY' || fail "acknowledged_by: $(jq -c '[.changes[] | {seq, kind, field, origin, effective, acknowledged_by}]' "$T/m1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
kinds = set()
for c in d["changes"]:
    if not c["effective"]:
        continue
    acks = c["acknowledged_by"]
    assert [a["system"] for a in acks] == ["hs"], c
    assert acks[0]["acked_at"].startswith("20"), c
    kinds.add(c["kind"])
assert {"profile", "consent", "points", "segment"} <= kinds, kinds
# The consent event in the audit says the same.
assert d["consent_events"][0]["acknowledged_by"][0]["system"] == "hs", d["consent_events"]
PY
pass "every effective change of M1 (profile, consent, points, segment) is acknowledged by hs"
# The derived tier is a change of its own when the engine logs one.
tier=$(jq -r '[.changes[] | select(.kind == "tier")] | length' "$T/m1.json")
if [ "$tier" -gt 0 ]; then
  assert_eq "$(jq -r '[.changes[] | select(.kind == "tier") | .acknowledged_by[0].system] | unique | join(",")' "$T/m1.json")" hs "the tier change is acknowledged"
fi

# Where each change stands with each CRM ("delivery"): acknowledged above;
# a value HubSpot refuses is a dead letter; one waiting while HubSpot is
# down is pending, and acknowledged once it is back.
printf '{"event_id":"p3","type":"profile","member":"M3","occurred_at":"2026-11-01T09:00:00Z","attributes":{"email":"not valid@example.org"}}\n' >"$T/c.jsonl.src"
drop c.jsonl
dead() { [ "$(sql "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs' AND member_key = 'M3'")" -ge 1 ]; }
wait_for 30 dead || fail "the invalid email was not dead-lettered"
ctl member export M3 >"$T/m3.json" || fail "export M3"
assert_eq "$(jq -r '[.changes[] | select(.field == "profile/email") | .delivery.hs] | join(",")' "$T/m3.json")" dead_letter "a refused change: delivery dead_letter"
ctl member export M1 >"$T/m1.json" || fail "export M1"
assert_eq "$(jq -r '[.changes[] | select(.effective == 1) | .delivery.hs] | unique | join(",")' "$T/m1.json")" acknowledged "M1's changes: delivery acknowledged"
sim_post config '{"faults":"503:1.0"}' || fail "crmsim config refused"
printf '{"event_id":"p4","type":"profile","member":"M1","occurred_at":"2026-11-02T09:00:00Z","attributes":{"first_name":"Anne"}}\n' >"$T/d.jsonl.src"
drop d.jsonl
wait_for 10 test -f "$T/spool/done/d.jsonl" || fail "not ingested"
ctl member export M1 >"$T/m1.json" || fail "export M1"
assert_eq "$(jq -r '.changes[] | select(.value.value == "Anne") | .delivery.hs' "$T/m1.json")" pending "a change waiting for a CRM that is down: pending"
sim_post config '{"faults":""}' || fail "crmsim config refused"
anne_acked() {
  ctl member export M1 | jq -e '.changes[] | select(.value.value == "Anne") | select(.delivery.hs == "acknowledged")' >/dev/null
}
wait_for 60 anne_acked || fail "not acknowledged once HubSpot is back: $(ctl member export M1 | jq -c '.changes[-1]')"
pass "and acknowledged once HubSpot answers again"

# An erasure is acknowledged too (before the purge replaces the key).
ctl member erase M2 --yes >/dev/null || fail "erase failed"
erase_acked() {
  [ "$(sql "SELECT COUNT(*) FROM audit_acks a JOIN changes c ON c.seq = a.seq WHERE c.kind = 'erase' AND a.system = 'hs'")" = 1 ]
}
wait_for 30 erase_acked || fail "the erasure has no acknowledgement from hs"
pass "the erasure is acknowledged by hs"
stop_daemon
