#!/usr/bin/env bash
# The layer boundaries of docs/architecture.md (issue 18), checked two ways:
# - includes: each probe below is a one-line source that includes a header,
#   compiled with the very command the build uses for a real source of that
#   layer (compile_commands.json). "no" must fail with the header not found,
#   "yes" (headers the layer is meant to use) must compile, so that a broken
#   probe cannot pass for a boundary;
# - symbols: no layer's library has an undefined symbol that a library it
#   must not use defines (nm), and only the store and the daemon call SQLite.
source "$(dirname "$0")/lib/common.sh"

DB="$BUILD_DIR/compile_commands.json"
[ -f "$DB" ] || fail "no $DB (CMAKE_EXPORT_COMPILE_COMMANDS)"

# layer, a folder whose sources compile as that layer, header, expectation.
probes="connectors connectors/ store.h no
connectors connectors/ store_push.h no
connectors connectors/ engine.h no
connectors connectors/ ingest.h no
connectors connectors/ ctl.h no
connectors connectors/ change_json.h yes
connectors connectors/ apply.h yes
connectors connectors/ http.h yes
connectors connectors/ oauth.h yes
connectors connectors/ config.h yes
connectors connectors/ metrics.h yes
net src/net/ store.h no
net src/net/ change.h no
net src/net/ connector.h no
net src/net/ engine.h no
net src/net/ config.h yes
net src/net/ health.h yes
state state/sqlite/ http.h no
state state/sqlite/ config.h no
state state/sqlite/ engine.h no
state state/sqlite/ change.h yes
model state/model/ store.h no
model state/model/ timefmt.h yes
config src/config/ metrics.h no
config src/config/ http.h no
obs src/obs/ config.h no
ctl src/ctl/ engine.h no
ctl src/ctl/ daemon.h no
ctl src/ctl/ store_ctl.h yes
ctl src/ctl/ connector.h yes
daemon src/daemon/ ctl.h no
daemon src/daemon/ store_ctl.h yes
daemon src/daemon/ connector.h yes
base src/base/ change.h no
base src/base/ store.h no"

# For each folder: the directory and compile command of one of its sources
# (not of a subfolder), with the source and output taken out; the probe is
# appended with -fsyntax-only. One python run for all (it is slow to start
# on a loaded machine).
declare -A CMD_DIR CMD
while IFS=$'\t' read -r folder dir cmd; do
  CMD_DIR[$folder]=$dir
  CMD[$folder]=$cmd
done < <(cut -d' ' -f2 <<<"$probes" | sort -u | python3 -c '
import json, os, shlex, sys
db, src = sys.argv[1], sys.argv[2]
folders = sys.stdin.read().split()
entries = json.load(open(db))
for folder in folders:
    want = os.path.realpath(os.path.join(src, folder))
    for e in entries:
        f = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if os.path.dirname(f) != want:
            continue
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        out, skip = [], False
        for a in args:
            if skip:
                skip = False
            elif a in ("-o", "-c"):
                skip = True
            elif os.path.realpath(os.path.join(e["directory"], a)) != f:
                out.append(a)
        print(folder, e["directory"], shlex.join(out), sep="\t")
        break
' "$DB" "$SRC_DIR")

n=0
while read -r layer folder header expect; do
  n=$((n + 1))
  src="$T/probe_${layer}_${header%.h}.c"
  printf '#include "%s"\nint probe(void);\nint probe(void) { return 0; }\n' "$header" >"$src"
  [ -n "${CMD[$folder]:-}" ] || fail "no compile command for a source in $folder"
  if (cd "${CMD_DIR[$folder]}" && eval "${CMD[$folder]} -fsyntax-only $src") >"$T/probe.out" 2>&1; then
    [ "$expect" = yes ] || fail "$layer: including $header compiled; the layer must not see it"
  else
    [ "$expect" = no ] || fail "$layer: including $header failed: $(grep -m3 error "$T/probe.out")"
    # The failure must be the missing header, not anything else.
    grep -Eq "'?${header//./\\.}'?(: No such file or directory| file not found)" "$T/probe.out" \
      || fail "$layer: $header failed for another reason: $(grep -m3 error "$T/probe.out")"
  fi
done <<<"$probes"
pass "$n include probes: each layer sees the headers it may use and no other"

# Library of a layer; "daemon" is crmsync itself.
lib() { if [ "$1" = daemon ]; then echo "$BUILD_DIR/libcrmsync.a"; else echo "$BUILD_DIR/libcrmsync_$1.a"; fi; }
undefined() { nm -u "$1" | awk 'NF == 2 { print $2 }' | sort -u; }
defined() { nm --defined-only -g "$1" | awk 'NF == 3 { print $3 }' | sort -u; }
for l in base model state obs config net connectors ctl daemon; do
  [ -f "$(lib "$l")" ] || fail "no library $(lib "$l")"
  defined "$(lib "$l")" >"$T/def.$l"
done
# layer : the layers whose functions it must never call
never="base:model,state,obs,config,net,connectors,ctl,daemon
model:state,obs,config,net,connectors,ctl,daemon
state:obs,config,net,connectors,ctl,daemon
obs:model,state,config,net,connectors,ctl,daemon
config:model,state,obs,net,connectors,ctl,daemon
net:model,state,connectors,ctl,daemon
connectors:state,ctl,daemon
ctl:daemon
daemon:ctl"
pairs=0
while IFS=: read -r layer higher; do
  a=$(lib "$layer")
  [ -f "$a" ] || fail "no library $a"
  undefined "$a" >"$T/und"
  for h in ${higher//,/ }; do
    pairs=$((pairs + 1))
    hits=$(comm -12 "$T/und" "$T/def.$h")
    [ -z "$hits" ] || fail "$layer calls into $h: $(echo $hits | cut -c1-300)"
  done
done <<<"$never"
pass "$pairs library pairs: no layer calls a function of a layer it must not use"

for layer in base model obs config net connectors ctl; do
  if undefined "$(lib "$layer")" | grep -q '^sqlite3_'; then
    fail "$layer calls SQLite: $(undefined "$(lib "$layer")" | grep '^sqlite3_' | head -3 | tr '\n' ' ')"
  fi
done
pass "only the store (state/sqlite/) and the daemon call SQLite"
