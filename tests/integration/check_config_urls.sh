#!/usr/bin/env bash
# crmsyncd --check-config applies the daemon's URL rule (issue 14 item 13):
# an http:// URL to a remote host is refused (the daemon refused it only
# later, at its first request), and http to "localhost" is refused too: a
# name is not trusted to be loopback, only an address (127.0.0.0/8, ::1)
# with allow_loopback_http = yes. https passes.
source "$(dirname "$0")/lib/common.sh"

printf 'T1' >"$T/token"; chmod 600 "$T/token"
conf() { # base_url token_url [extra line]
  write_config "
[connector.hs]
type = hubspot
base_url = $1
token_file = $T/token
subscriptions = marketing=1001
${2:+token_url = $2}
${3:-}"
}
check() { "$CRMSYNCD" --check-config -c "$T/crmsyncd.conf" >"$T/out" 2>&1; }

conf https://api.hubapi.com ""
check || fail "an https base_url is refused: $(cat "$T/out")"
pass "https passes"

conf https://api.hubapi.com http://203.0.113.7/oauth/v1/token
if check; then fail "an http token_url to a remote host passes --check-config"; fi
grep -q 'token_url = http://203.0.113.7/oauth/v1/token: URL scheme http to this host not allowed' "$T/out" \
  || fail "the refusal does not name the option: $(cat "$T/out")"
grep -q "crmsyncd.conf:[0-9]*: \[connector.hs\]" "$T/out" || fail "no file:line: $(cat "$T/out")"
pass "an http token URL to a remote host is refused, with file:line"

conf http://localhost:8080 "" "allow_loopback_http = yes"
if check; then fail "http to 'localhost' by name passes"; fi
grep -q 'base_url = http://localhost:8080' "$T/out" || fail "not named: $(cat "$T/out")"
pass "localhost is not trusted by name"

conf http://127.0.0.1:8080 "" "allow_loopback_http = yes"
check || fail "http to 127.0.0.1 with allow_loopback_http is refused: $(cat "$T/out")"
conf http://127.0.0.1:8080 ""
if check; then fail "http to 127.0.0.1 without allow_loopback_http passes"; fi
pass "http to a loopback address only with allow_loopback_http"
