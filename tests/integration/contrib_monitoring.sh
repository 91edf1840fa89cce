#!/usr/bin/env bash
# contrib/grafana/crmsyncd.json and contrib/prometheus/crmsyncd-alerts.yml
# (issue 19): the rules pass `promtool check rules`, the dashboard is JSON
# whose panels all have queries, and every crmsyncd_* / process_* metric
# either file queries exists in the daemon's /metrics (a renamed metric
# would leave an empty panel or an alert that never fires), and every label
# a query, a legend or an annotation names is one the metric has (issue 19:
# one label name across families; a panel grouped by a label the metric
# lacks shows one unnamed line).
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

# The label names of each family's samples (histogram lines included);
# instance and job come from Prometheus, le is a bucket's.
labels = {}
for line in open(sys.argv[3]):
    m = re.match(r"^([a-z_:][a-z0-9_:]*)\{([^}]*)\}", line)
    if not m:
        continue
    base = re.sub(r"_(bucket|sum|count)$", "", m.group(1)) if m.group(1) not in families else m.group(1)
    labels.setdefault(base, set()).update(re.findall(r'([a-z_]+)="', m.group(2)))
    if m.group(1).endswith("_bucket"):
        labels[base].add("le")

texts = []  # (where, expr, legend or annotation text)
for p in dash["panels"]:
    for t in p.get("targets", []):
        texts.append((p["title"], t["expr"], t.get("legendFormat", "")))
for g in rules["groups"]:
    for r in g["rules"]:
        texts.append((r["alert"], r["expr"], " ".join(r.get("annotations", {}).values())))
bad_labels = []
for where, e, text in texts:
    names = set(re.findall(r"\b((?:crmsyncd|process)_[a-z0-9_]+)", e))
    bases = {re.sub(r"_(bucket|sum|count)$", "", n) if n not in families else n for n in names}
    known = [labels[b] for b in bases if b in labels]
    if not known:
        continue  # no sample at start (a histogram before its first request): nothing to check
    have = set().union(*known) | {"instance", "job"}
    refs = set()
    for grp in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", e):
        refs.update(x.strip() for x in grp.split(",") if x.strip())
    for sel in re.findall(r"\{([^}]*)\}", e):
        refs.update(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", sel))
    refs.update(re.findall(r"\{\{\s*([a-z_]+)\s*\}\}", text))
    refs.update(re.findall(r"\$labels\.([a-z_]+)", text))
    for ref in sorted(refs - have):
        bad_labels.append("%s: label %r not on %s" % (where, ref, ", ".join(sorted(bases))))
for b in bad_labels:
    print(b)
if bad_labels:
    sys.exit(1)

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
