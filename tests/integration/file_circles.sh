#!/usr/bin/env bash
# No circles between the files of a layer (issue 18, docs/architecture.md):
# inside each library, the files call each other downwards only
# (tools/file-circles.py: object files that reach each other through the
# functions they call, measured with nm). The connectors included: the
# circles inside one CRM's files (HubSpot's, Salesforce's, Adobe's) were
# taken apart under issue 18 and fail the test like any other.
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

python3 "$SRC_DIR/tools/file-circles.py" "$BUILD_DIR/libcrmsync_connectors.a" >"$T/circles" \
  || fail "connectors: files calling each other in a circle: $(cat "$T/circles")"
pass "connectors: no circle between files (HubSpot's, Salesforce's and Adobe's included)"
