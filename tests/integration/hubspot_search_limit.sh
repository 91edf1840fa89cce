#!/usr/bin/env bash
# HubSpot's search has its own limit of 5 requests per second, apart from
# the per-10-second budget (crmsim enforces both, as --search-per-second 5
# and --ten-secondly-max). A first pull of 1,050 contacts is 11 search
# pages, asked for as fast as the pull goes: none of them may be answered
# 429 (the search window of connectors/hubspot_pull.c holds them), and the
# pull still reads every contact. Then, with a search limit lower than
# ours (another client of the account spends it: crmsim at 1/s), a search's
# SECONDLY 429 holds the search window and the same search is sent again,
# and the pull reads every new contact.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

hs_sim_start --search-per-second 5 --ten-secondly-max 1000
seed() { # FIRST COUNT DAY
  python3 - "$T/seed.json" "$@" <<'PY'
import json, sys
first, count, day = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
contacts = [{"createdAt": "2026-11-01T00:00:00.000Z",
             "updatedAt": "2026-11-%02dT%02d:%02d:%02d.000Z" % (day, i // 3600, i // 60 % 60, i % 60),
             "properties": {"member_key": "S%d" % (first + i), "firstname": "N%d" % i}}
            for i in range(count)]
json.dump({"collections": {"contacts": contacts}}, open(sys.argv[1], "w"))
PY
  sim_post seed "@$T/seed.json" || fail "seed refused"
}
seed 0 1050 1
hs_config "" "archived_sweep = 1d"
start_daemon

known() { [ "$(sql "SELECT COUNT(*) FROM identities WHERE system = 'hs' AND remote_id NOT LIKE 'list:%'")" = "$1" ]; }
wait_for 60 known 1050 || fail "the pull did not read every contact"
pass "the first pull reads all 1,050 contacts"
searches=$(grep -c 'contacts/search 200' "$T/sim.log" || true)
limited=$(grep -c 'contacts/search 429' "$T/sim.log" || true)
[ "$searches" -ge 11 ] || fail "expected at least 11 search pages, saw $searches"
assert_eq "$limited" 0 "no search is answered 429 (never more than 5 per second)"
if grep -q 'search answered 429\|search failed' "$T/daemon.log"; then fail "the pull met a search limit"; fi

sim_post config '{"search-per-second":1}' || fail "crmsim config refused"
seed 1050 350 2
wait_for 60 known 1400 || fail "the pull did not read the new contacts"
grep -q 'search answered 429 SECONDLY; sent again after the hold' "$T/daemon.log" \
  || fail "no search was held and sent again"
pass "a search answered 429 SECONDLY is sent again after the hold"
if grep -q 'search failed' "$T/daemon.log"; then fail "a pull cycle ended on a search 429"; fi
stop_daemon
