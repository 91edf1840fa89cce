/* Process hardening (issue 14 items 8 and 12): no core dumps unless asked
 * for, state files 0600, a state directory open to others refused. */
#include "cmocka_setup.h"
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hardening.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void core_dumps_are_off_unless_allowed(void **state)
{
    struct error err = {""};
    struct rlimit rl;
    (void)state;

    assert_int_equal(hardening_core_dumps_early(&err), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
    assert_true(rl.rlim_cur == 0);
    assert_int_equal(hardening_core_dumps(1, &err), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    assert_int_equal(hardening_core_dumps(0, &err), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
    assert_true(rl.rlim_cur == 0 && rl.rlim_max == 0);
    /* Once the hard limit is 0 it stays 0 without privilege; dumpable
     * comes back all the same. */
    assert_int_equal(hardening_core_dumps(1, &err), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
}

static void state_files_are_0600_and_dir_closed_to_others(void **state)
{
    char dir[PATH_MAX] = "/tmp/test_hardening.XXXXXX";
    char db[PATH_MAX + 16], wal[PATH_MAX + 16], link[PATH_MAX + 16];
    struct error err = {""};
    struct stat st;
    FILE *fp = NULL;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/state.db", dir);
    snprintf(wal, sizeof(wal), "%s/state.db-wal", dir);
    snprintf(link, sizeof(link), "%s/link.db", dir);

    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(hardening_check_state_dir(dir, &err), -1);
    assert_non_null(strstr(err.msg, "is open to others (mode 0755)"));
    assert_int_equal(chmod(dir, 0750), 0);
    assert_int_equal(hardening_check_state_dir(dir, &err), 0);

    /* Created 0600 whatever the umask. */
    umask(022);
    assert_int_equal(hardening_state_files(db, &err), 0);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* An older database and WAL made under umask 022 are tightened. */
    assert_int_equal(chmod(db, 0644), 0);
    fp = fopen(wal, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(chmod(wal, 0664), 0);
    assert_int_equal(hardening_state_files(db, &err), 0);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A symlink in the database's place is refused. */
    assert_int_equal(symlink(db, link), 0);
    assert_int_equal(hardening_state_files(link, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));

    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(core_dumps_are_off_unless_allowed),
        cmocka_unit_test(state_files_are_0600_and_dir_closed_to_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
