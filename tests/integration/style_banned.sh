#!/usr/bin/env bash
# The guard rail of STYLE.md 6 and 13 (issue 14): tools/check-banned.pl
# refuses sprintf, strcat, strcpy, atoi and an assignment inside the condition
# of an if or a while, wherever it sits in a condition (first line or a
# continuation line), and leaves comments, string literals, comparisons and
# for-loop initialisers alone; a relative include ("../"); a log line naming a
# member that is not a log_*_member call (no journald field). The tree's
# src/ connectors/ state/ pass it.
source "$(dirname "$0")/lib/common.sh"

CHECK="$SRC_DIR/tools/check-banned.pl"
cat >"$T/bad.c" <<'C'
static int f(char *d, const char *s, int rc)
{
    sprintf(d, "%s", s);
    strcat(d, s);
    strcpy(d, s);
    rc = atoi(s);
    if ((rc = g()) != 0)
        return rc;
    while ((rc = g()) == 1)
        ;
    if (d != NULL &&
        (rc = g()) != 0)
        return rc;
    return rc;
}
C
cat >"$T/good.c" <<'C'
/* sprintf(d, s) and if ((rc = f()) != 0) in a comment are fine */
static int f(char *d, const char *s, int rc)
{
    snprintf(d, 10, "if ((x = y))");
    if (rc == 0 || rc != 1 || rc <= 2 || rc >= 3)
        return 0;
    for (rc = 0; rc < 3; rc++)
        d[rc] = '=';
    rc = strtol(s, NULL, 10) == 0 ? 1 : 2;
    while (rc != 0)
        rc--;
    return rc;
}
C
rc=0
perl "$CHECK" "$T/bad.c" >"$T/bad.out" || rc=$?
assert_eq "$rc" 1 "the checker fails on banned constructs"
for what in 'banned call sprintf()' 'banned call strcat()' 'banned call strcpy()' 'banned call atoi()'; do
  grep -qF "$what" "$T/bad.out" || fail "not reported: $what"
done
for line in 7 9 11; do
  grep -q "bad.c:$line: assignment inside the condition" "$T/bad.out" \
    || fail "assignment in the condition at line $line not reported: $(cat "$T/bad.out")"
done
assert_eq "$(wc -l <"$T/bad.out")" 7 "one report per construct"
perl "$CHECK" "$T/good.c" >"$T/good.out" || fail "false positives: $(cat "$T/good.out")"
pass "no false positive on comments, strings, comparisons, for loops"

# A relative include gets round a layer's include path (docs/architecture.md).
cat >"$T/relinc.c" <<'C'
#include "store.h"
#include <stdio.h>
/* #include "../src/engine.h" in a comment is fine */
#include "../src/engine.h"
  # include "../../connectors/connector.h"
C
rc=0
perl "$CHECK" "$T/relinc.c" >"$T/relinc.out" || rc=$?
assert_eq "$rc" 1 "the checker fails on a relative include"
for line in 4 5; do
  grep -q "relinc.c:$line: relative include" "$T/relinc.out" \
    || fail "relative include at line $line not reported: $(cat "$T/relinc.out")"
done
assert_eq "$(wc -l <"$T/relinc.out")" 2 "one report per relative include"
pass "a relative include is refused"

# A log line naming a member without the journald field (issue 19).
cat >"$T/member.c" <<'C'
static void f(const char *m, char *k)
{
    log_warn("x", NULL, "member %s: gone (see it; or not)", log_mask(m, k, 64));
    log_warn_member("x", NULL, m, 0, "member %s: gone", m);
    log_info("x", NULL, "%d members (%s)", 3, "ok");
    log_notice("x", NULL,
               "points of member %s differ", m);
}
C
rc=0
perl "$CHECK" "$T/member.c" >"$T/member.out" || rc=$?
assert_eq "$rc" 1 "the checker fails on a member's log line without log_*_member"
for line in 3 6; do
  grep -q "member.c:$line: log_.*names a member" "$T/member.out" \
    || fail "member log line at line $line not reported: $(cat "$T/member.out")"
done
assert_eq "$(wc -l <"$T/member.out")" 2 "one report per member log line"
pass "a log line naming a member must carry CRMSYNC_MEMBER"

cd "$SRC_DIR"
mapfile -t files < <(git ls-files 'src/*.[ch]' 'connectors/*.[ch]' 'state/*.[ch]' 2>/dev/null \
  || ls src/*.[ch] src/*/*.[ch] connectors/*.[ch] state/*/*.[ch])
perl "$CHECK" "${files[@]}" || fail "src/ connectors/ state/ hold banned constructs"
pass "src/ connectors/ state/ are clean"
grep -q 'check-banned.pl' tools/check-style.sh || fail "check-style.sh does not run the check"
pass "tools/check-style.sh runs it"

# A header named through a folder is refused too: the daemon sees src/, and
# "ctl/ctl.h" or "net/http.h" would reach a layer it must not (issue 18).
cat >"$T/dirinc.c" <<'C'
#include "http.h"
#include <sys/types.h>
#include "ctl/ctl.h"
#include "../ctl/ctl.h"
C
rc=0
perl "$CHECK" "$T/dirinc.c" >"$T/dirinc.out" || rc=$?
assert_eq "$rc" 1 "the checker fails on an include through a folder"
grep -q 'dirinc.c:3: include through a folder "ctl/ctl.h"' "$T/dirinc.out" \
  || fail "include through a folder not reported: $(cat "$T/dirinc.out")"
grep -q 'dirinc.c:4: relative include' "$T/dirinc.out" || fail "relative include not reported"
assert_eq "$(wc -l <"$T/dirinc.out")" 2 "one report per include, <sys/types.h> left alone"
pass "an include through a folder is refused"

# A connector does not include another connector's header: they share code
# through the runtime (crm_*.h) only (issue 18).
mkdir -p "$T/connectors"
cat >"$T/connectors/hubspot_x.c" <<'C'
#include "hubspot.h"
#include "crm_job.h"
#include "salesforce_int.h"
/* #include "adobe.h" in a comment is fine */
#include "adobe.h"
C
rc=0
perl "$SRC_DIR/tools/check-banned.pl" "$T/connectors/hubspot_x.c" >"$T/xinc.out" || rc=$?
assert_eq "$rc" 1 "the checker fails on a connector including another's header"
for line in 3 5; do
  grep -q "hubspot_x.c:$line: a hubspot file includes a" "$T/xinc.out" \
    || fail "cross-connector include at line $line not reported: $(cat "$T/xinc.out")"
done
assert_eq "$(wc -l <"$T/xinc.out")" 2 "one report per cross-connector include"
pass "a connector including another connector's header is refused"
