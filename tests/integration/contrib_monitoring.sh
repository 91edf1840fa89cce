#!/usr/bin/env bash
# contrib/grafana/crmsyncd.json and contrib/prometheus/crmsyncd-alerts.yml
# (issue 19): the rules pass `promtool check rules`, the dashboard is JSON
# whose panels all have queries, and every crmsyncd_* / process_* metric
# either file queries exists in the daemon's /metrics (a renamed metric
# would leave an empty panel or an alert that never fires).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/hubspot.sh"

command -v promtool >/dev/null || fail "promtool not installed (Debian package prometheus; see .ci/deps)"
RULES="$SRC_DIR/contrib/prometheus/crmsyncd-alerts.yml"
DASH="$SRC_DIR/contrib/grafana/crmsyncd.json"
promtool check rules "$RULES" > "$T/promtool.out" 2>&1 || { cat "$T/promtool.out" >&2; fail "promtool check rules"; }
pass "promtool check rules: $(grep -o '[0-9]* rules found' "$T/promtool.out")"

hs_sim_start
hs_config
sed -i 's/^shutdown_grace = 5s$/shutdown_grace = 5s\nadmin_listen = 127.0.0.1:0/' "$T/crmsyncd.conf"
start_daemon
ADDR=$(grep -o 'admin endpoint listening on [0-9.:]*' "$T/daemon.log" | awk '{print $5}')
curl -s "http://$ADDR/metrics" > "$T/metrics.txt" || fail "metrics"
stop_daemon

python3 - "$DASH" "$RULES" "$T/metrics.txt" <<'PY' || fail "the dashboard or the rules query a metric /metrics does not have"
import json, re, sys, yaml

dash = json.load(open(sys.argv[1]))
rules = yaml.safe_load(open(sys.argv[2]))
families = {}
for line in open(sys.argv[3]):
    m = re.match(r"^# TYPE (\S+) (\S+)$", line)
    if m:
        families[m.group(1)] = m.group(2)

exprs = []
for p in dash["panels"]:
    targets = p.get("targets", [])
    if not targets:
        sys.exit("panel %r has no query" % p["title"])
    exprs += [(p["title"], t["expr"]) for t in targets]
for v in dash.get("templating", {}).get("list", []):
    if isinstance(v.get("query"), str):
        exprs.append(("variable " + v["name"], v["query"]))
for g in rules["groups"]:
    exprs += [(r["alert"], r["expr"]) for r in g["rules"]]

missing, used = [], set()
for where, e in exprs:
    for name in re.findall(r"\b((?:crmsyncd|process)_[a-z0-9_]+)", e):
        base = name
        if name not in families:
            for suffix in ("_bucket", "_count", "_sum"):
                if name.endswith(suffix) and families.get(name[: -len(suffix)]) == "histogram":
                    base = name[: -len(suffix)]
        if base not in families:
            missing.append("%s: %s" % (where, name))
        used.add(base)
for m in missing:
    print("not in /metrics:", m)
print("%d queries, %d metrics, all in /metrics" % (len(exprs), len(used)) if not missing else "")
sys.exit(1 if missing else 0)
PY
pass "every metric the dashboard and the rules query exists in /metrics"
