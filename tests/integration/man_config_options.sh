#!/usr/bin/env bash
# man/crmsyncd.conf.5 documents every option the option tables declare:
# each option of `crmsyncd --help-config` ([daemon], [state], [ingest] and every
# connector type) appears in its section of the man page with the same
# default ("unset" when it has none, "empty" for ""), and the man page
# documents no option the tables do not have. Its EXAMPLE passes
# `crmsyncd --check-config` (secret files given by $CREDENTIALS_DIRECTORY).
# Also: every page groff can render without warnings.
source "$(dirname "$0")/lib/common.sh"

MAN="$SRC_DIR/man/crmsyncd.conf.5"
"$CRMSYNCD" --help-config > "$T/options.txt" || fail "crmsyncd --help-config"

python3 - "$T/options.txt" "$MAN" <<'PY' || fail "man page and option tables differ"
import re, sys

# --help-config: "[section]" (connector types after "# [connector.NAME] with
# type = T"), then "  name (type...) default: value" per option.
tables, section = {}, None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r"^\[(\w+)\]$", line)
    if m:
        section = m.group(1)
        tables[section] = {}
        continue
    m = re.match(r"^  (\w+) \((.*?)\)(?: default: (.*))?$", line)
    if m and section:
        tables[section][m.group(1)] = m.group(3)  # None: no default

# The man page: ".SH [daemon]", ".SH [state]", ".SS type = T"; an option is
# ".TP" then ".B name", its paragraph runs to the next .TP/.SH/.SS.
doc, section, name = {}, None, None
lines = open(sys.argv[2]).read().split("\n")
for i, line in enumerate(lines):
    m = re.match(r"^\.SH \[(daemon|state|ingest)\]$", line)
    m2 = re.match(r"^\.SS type = (\w+)$", line)
    if m or m2:
        section = (m or m2).group(1)
        doc.setdefault(section, {})
        name = None
        continue
    if line.startswith(".SH") or line.startswith(".SS"):
        section, name = None, None
        continue
    if line == ".TP":
        name = None
        continue
    m = re.match(r"^\.B (\w+)$", line)
    if section and m and i > 0 and lines[i - 1] == ".TP":
        name = m.group(1)
        doc[section][name] = ""
        continue
    if section and name:
        doc[section][name] += " " + line

errors = []
for sec, opts in tables.items():
    if sec not in doc:
        errors.append(f"section for {sec} missing in the man page")
        continue
    for opt, default in opts.items():
        if opt not in doc[sec]:
            errors.append(f"[{sec}] {opt}: not documented")
            continue
        text = re.sub(r"\s+", " ", doc[sec][opt].replace("\\-", "-"))
        if default is None:
            ok = "Default: unset" in text
            want = "Default: unset"
        elif default == "":
            ok = "Default: empty" in text
            want = "Default: empty"
        else:
            want = f"Default: \\fB{default}\\fR"
            ok = want in text
        if not ok:
            errors.append(f"[{sec}] {opt}: man page lacks '{want}'")
    for opt in doc[sec]:
        if opt not in opts:
            errors.append(f"[{sec}] {opt}: documented but not an option (stale?)")
for sec in doc:
    if sec not in tables:
        errors.append(f"man page section for {sec}: no such option table")
for e in errors:
    print("  " + e, file=sys.stderr)
n = sum(len(o) for o in tables.values())
print(f"checked {n} options in {len(tables)} tables")
sys.exit(1 if errors else 0)
PY
pass "crmsyncd.conf(5) documents every option of --help-config with its default, nothing more"

# The EXAMPLE section is a valid configuration.
sed -n '/^\.SH EXAMPLE/,/^\.fi/p' "$MAN" | sed '1,2d;$d' > "$T/example.conf"
grep -q '^\[connector\.' "$T/example.conf" || fail "no example configuration found"
mkdir -p "$T/creds"
for f in $(sed -n 's/^[a-z_]*_file = \([^/].*\)$/\1/p' "$T/example.conf"); do
  echo secret > "$T/creds/$f"
done
chmod 600 "$T"/creds/*
CREDENTIALS_DIRECTORY="$T/creds" "$CRMSYNCD" -c "$T/example.conf" --check-config > "$T/check.out" 2>&1 \
  || fail "the man page's EXAMPLE is not a valid configuration: $(cat "$T/check.out")"
for type in spool hubspot salesforce; do
  grep -q "^type = $type\$" "$T/example.conf" || fail "EXAMPLE has no $type connector"
done
pass "EXAMPLE passes --check-config and shows every connector type"

for page in "$SRC_DIR"/man/*.[0-9]; do
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
  [ -z "$out" ] || fail "$(basename "$page"): groff warnings: $out"
done
pass "man pages render without groff warnings"
