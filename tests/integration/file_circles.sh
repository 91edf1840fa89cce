#!/usr/bin/env bash
# No circles between the files of a layer (issue 18, docs/architecture.md):
# inside each library, the files call each other downwards only
# (tools/file-circles.py: object files that reach each other through the
# functions they call, measured with nm). The connectors' circles inside one
# CRM's files are reported, not failed, until they are taken apart (issue 18,
# the connectors' owner): Adobe's; HubSpot and Salesforce have none left
# and must stay so. Any other circle there fails too.
source "$(dirname "$0")/lib/common.sh"

libs=()
for l in base model state obs config net ctl; do
  [ -f "$BUILD_DIR/libcrmsync_$l.a" ] || fail "no $BUILD_DIR/libcrmsync_$l.a"
  libs+=("$BUILD_DIR/libcrmsync_$l.a")
done
[ -f "$BUILD_DIR/libcrmsync.a" ] || fail "no $BUILD_DIR/libcrmsync.a"
libs+=("$BUILD_DIR/libcrmsync.a")

python3 "$SRC_DIR/tools/file-circles.py" "${libs[@]}" >"$T/circles" \
  || fail "files calling each other in a circle: $(cat "$T/circles")"
pass "no circle between the files of base, model, state, obs, config, net, ctl, the daemon"

python3 "$SRC_DIR/tools/file-circles.py" --allow-crm-groups "$BUILD_DIR/libcrmsync_connectors.a" \
  >"$T/circles" || fail "connectors: a circle beyond one CRM's files: $(cat "$T/circles")"
pass "connectors: no circle beyond one CRM's files ($(grep -c '^allowed' "$T/circles" || true) inside one CRM, reported)"
if grep '^allowed' "$T/circles" | grep -q ' hubspot'; then
  fail "a circle between HubSpot's files (it had none left): $(grep -A30 ' hubspot' "$T/circles")"
fi
pass "no circle between HubSpot's files"
if grep '^allowed' "$T/circles" | grep -q ' salesforce'; then
  fail "a circle between Salesforce's files (it had none left): $(grep -A60 ' salesforce' "$T/circles")"
fi
pass "no circle between Salesforce's files"
