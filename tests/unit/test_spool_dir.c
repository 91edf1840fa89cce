/* The spool's directory rules (issue 14 item 6) and which files are
 * complete (item 1), on real directories under /tmp. */
#include "cmocka_setup.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_dir.h"
#include "spool_watch.h"

struct fixture {
    char dir[PATH_MAX];
    char spool[PATH_MAX + 16];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_spool_dir.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void path_of(char *out, size_t size, const struct fixture *f, const char *rel)
{
    snprintf(out, size, "%s/%s", f->spool, rel);
}

static void write_text(const struct fixture *f, const char *rel, const char *text)
{
    char path[PATH_MAX * 2];
    FILE *fp = NULL;

    path_of(path, sizeof(path), f, rel);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void world_writable_or_foreign_spool_is_refused(void **state)
{
    struct fixture *f = *state;
    struct spool_dir sd;
    struct error err = {""};

    assert_int_equal(spool_dir_open(&sd, f->spool, &err), 0);
    spool_dir_close(&sd);
    assert_int_equal(chmod(f->spool, 0777), 0);
    assert_int_equal(spool_dir_open(&sd, f->spool, &err), -1);
    assert_non_null(strstr(err.msg, "is world-writable (mode 0777): refused"));
    assert_int_equal(chmod(f->spool, 01777), 0); /* sticky is not enough */
    assert_int_equal(spool_dir_open(&sd, f->spool, &err), -1);
    assert_int_equal(chmod(f->spool, 03770), 0); /* the intended setup */
    assert_int_equal(spool_dir_open(&sd, f->spool, &err), 0);
    spool_dir_close(&sd);
    if (geteuid() == 0) {
        assert_int_equal(chown(f->spool, 4242, 4242), 0);
        assert_int_equal(spool_dir_open(&sd, f->spool, &err), -1);
        assert_non_null(strstr(err.msg, "belongs to uid 4242"));
    }
}

static void planted_failed_or_done_is_refused_and_modes_tightened(void **state)
{
    struct fixture *f = *state;
    struct spool_dir sd;
    struct error err = {""};
    char path[PATH_MAX * 2], target[PATH_MAX * 2];
    struct stat st;

    assert_int_equal(mkdir(f->spool, 0770), 0);
    /* failed/ is a symlink a writer planted to somewhere else. */
    snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
    assert_int_equal(mkdir(target, 0700), 0);
    path_of(path, sizeof(path), f, "failed");
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(spool_dir_open(&sd, f->spool, &err), -1);
    assert_non_null(strstr(err.msg, "failed"));
    assert_int_equal(unlink(path), 0);
    /* done/ is group-writable (the old tmpfiles mode): made 2750-like. */
    path_of(path, sizeof(path), f, "done");
    assert_true(mkdir(path, 0770) == 0 || errno == EEXIST); /* made by the first try */
    assert_int_equal(chmod(path, 02770), 0);
    assert_int_equal(spool_dir_open(&sd, f->spool, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 02750);
    spool_dir_close(&sd);
    if (geteuid() == 0) { /* a done/ of another user */
        assert_int_equal(chown(path, 4242, 4242), 0);
        assert_int_equal(spool_dir_open(&sd, f->spool, &err), -1);
        assert_non_null(strstr(err.msg, "done belongs to uid 4242"));
    }
}

static void inputs_are_never_read_through_links(void **state)
{
    struct fixture *f = *state;
    struct spool_dir sd;
    struct error err = {""};
    char path[PATH_MAX * 2], secret[PATH_MAX * 2];
    struct stat st;
    int refuse = 0;
    int fd;

    assert_int_equal(spool_dir_open(&sd, f->spool, &err), 0);
    snprintf(secret, sizeof(secret), "%s/secret", f->dir);
    fd = open(secret, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    path_of(path, sizeof(path), f, "sym.jsonl");
    assert_int_equal(symlink(secret, path), 0);
    assert_int_equal(spool_dir_open_input(&sd, "sym.jsonl", &st, &refuse, &err), -1);
    assert_int_equal(refuse, 1);
    path_of(path, sizeof(path), f, "hard.jsonl");
    assert_int_equal(link(secret, path), 0);
    assert_int_equal(spool_dir_open_input(&sd, "hard.jsonl", &st, &refuse, &err), -1);
    assert_int_equal(refuse, 1);
    path_of(path, sizeof(path), f, "fifo.jsonl");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(spool_dir_open_input(&sd, "fifo.jsonl", &st, &refuse, &err), -1);
    assert_int_equal(refuse, 1);
    write_text(f, "ok.jsonl", "{}\n");
    fd = spool_dir_open_input(&sd, "ok.jsonl", &st, &refuse, &err);
    assert_true(fd >= 0);
    close(fd);
    /* Moved aside into failed/, the link itself (not its target). */
    assert_int_equal(spool_dir_move(&sd, "sym.jsonl", 1, 1, &err), 0);
    path_of(path, sizeof(path), f, "failed/sym.jsonl");
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    /* A name reused in done/ never replaces the older file. */
    assert_int_equal(spool_dir_move(&sd, "ok.jsonl", 0, 7, &err), 0);
    write_text(f, "ok.jsonl", "{}\n");
    assert_int_equal(spool_dir_move(&sd, "ok.jsonl", 0, 7, &err), 0);
    path_of(path, sizeof(path), f, "done/ok.jsonl.7");
    assert_int_equal(stat(path, &st), 0);
    spool_dir_close(&sd);
}

static void reports_are_new_0600_files_under_random_names(void **state)
{
    struct fixture *f = *state;
    struct spool_dir sd;
    struct error err = {""};
    char tmp1[64], tmp2[64], path[PATH_MAX * 2], victim[PATH_MAX * 2];
    struct stat st;
    int fd1, fd2;

    assert_int_equal(spool_dir_open(&sd, f->spool, &err), 0);
    /* The old predictable name, planted as a link to a victim. */
    snprintf(victim, sizeof(victim), "%s/victim", f->dir);
    fd1 = open(victim, O_WRONLY | O_CREAT, 0600);
    assert_true(fd1 >= 0);
    assert_int_equal(write(fd1, "precious\n", 9), 9);
    close(fd1);
    path_of(path, sizeof(path), f, "failed/.a.jsonl.err.tmp");
    assert_int_equal(symlink(victim, path), 0);

    umask(022);
    fd1 = spool_dir_create_report(&sd, tmp1, sizeof(tmp1), &err);
    fd2 = spool_dir_create_report(&sd, tmp2, sizeof(tmp2), &err);
    assert_true(fd1 >= 0 && fd2 >= 0);
    assert_string_not_equal(tmp1, tmp2);
    assert_int_equal(fstat(fd1, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(write(fd1, "r\n", 2), 2);
    close(fd1);
    close(fd2);
    assert_int_equal(spool_dir_publish_report(&sd, tmp1, "a.jsonl.err", &err), 0);
    path_of(path, sizeof(path), f, "failed/a.jsonl.err");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 2);
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_size, 9); /* untouched */
    spool_dir_close(&sd);
}

/* Scans the spool at now_ms with a settle time of 1000 ms; returns how
 * many files are ready, and whether name is among them. */
static size_t ready_at(struct spool_watch *w, int dirfd, int64_t now_ms, const char *name, int *has)
{
    char **list = NULL;
    size_t n = 0;
    long wait_ms = 0;
    struct error err = {""};

    assert_int_equal(spool_watch_scan(w, dirfd, now_ms, 1000, &list, &n, &wait_ms, &err), 0);
    *has = 0;
    for (size_t i = 0; i < n; i++)
        *has = *has || strcmp(list[i], name) == 0;
    spool_watch_free_list(list, n);
    return n;
}

static int64_t mtime_ms(const struct fixture *f, const char *rel)
{
    char path[PATH_MAX * 2];
    struct stat st;

    path_of(path, sizeof(path), f, rel);
    assert_int_equal(stat(path, &st), 0);
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

static void only_quiescent_files_are_ready(void **state)
{
    struct fixture *f = *state;
    struct spool_dir sd;
    struct spool_watch *w = spool_watch_new();
    struct error err = {""};
    char path[PATH_MAX * 2];
    struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
    int64_t t;
    int has = 0;

    assert_non_null(w);
    assert_int_equal(spool_dir_open(&sd, f->spool, &err), 0);
    write_text(f, "a.jsonl", "{\"x\":1}\n{\"x\":2"); /* stopped mid-line */
    write_text(f, ".hidden.jsonl", "{}\n");
    write_text(f, "b.txt", "{}\n");
    t = mtime_ms(f, "a.jsonl");

    /* Being written (an event said so): not before the settle time. */
    spool_watch_changed(w, "a.jsonl");
    assert_int_equal(ready_at(w, sd.fd, t + 10, "a.jsonl", &has), 0);
    /* Closed, but the last line has no newline: it still waits... */
    spool_watch_closed(w, "a.jsonl");
    assert_int_equal(ready_at(w, sd.fd, t + 20, "a.jsonl", &has), 0);
    /* ...until it has not changed for the settle time (then its last line
     * is rejected as incomplete by the reader). */
    assert_int_equal(ready_at(w, sd.fd, t + 1000, "a.jsonl", &has), 1);

    /* Completed and closed: ready at once. */
    write_text(f, "a.jsonl", "{\"x\":1}\n{\"x\":2}\n");
    t = mtime_ms(f, "a.jsonl");
    spool_watch_changed(w, "a.jsonl");
    spool_watch_closed(w, "a.jsonl");
    assert_int_equal(ready_at(w, sd.fd, t + 1, "a.jsonl", &has), 1);
    assert_true(has);
    /* Written again after the close, no close since: not ready. */
    write_text(f, "a.jsonl", "{\"x\":1}\n{\"x\":2}\n{\"x\":3}\n");
    t = mtime_ms(f, "a.jsonl");
    spool_watch_changed(w, "a.jsonl");
    assert_int_equal(ready_at(w, sd.fd, t + 1, "a.jsonl", &has), 0);
    /* However long its writer pauses: open for writing is not quiescent. */
    assert_int_equal(ready_at(w, sd.fd, t + 60000, "a.jsonl", &has), 0);
    spool_watch_closed(w, "a.jsonl");
    assert_int_equal(ready_at(w, sd.fd, t + 60001, "a.jsonl", &has), 1);
    /* Changed after the close before its event arrived: the close no longer
     * counts, and the coming event says more. */
    write_text(f, "a.jsonl", "{\"x\":1}\n");
    t = mtime_ms(f, "a.jsonl");
    assert_int_equal(ready_at(w, sd.fd, t + 3, "a.jsonl", &has), 0);
    assert_int_equal(ready_at(w, sd.fd, t + 5000, "a.jsonl", &has), 0);
    /* Events lost (queue overflow): back to the settle time. */
    spool_watch_forget_all(w);
    assert_int_equal(ready_at(w, sd.fd, t + 5001, "a.jsonl", &has), 1);

    /* No inotify at all: unchanged for the settle time. */
    write_text(f, "a.jsonl", "{\"x\":2}\n");
    t = mtime_ms(f, "a.jsonl");
    spool_watch_free(w);
    w = spool_watch_new();
    assert_int_equal(ready_at(w, sd.fd, t + 10, "a.jsonl", &has), 0);
    assert_int_equal(ready_at(w, sd.fd, t + 999, "a.jsonl", &has), 0);
    assert_int_equal(ready_at(w, sd.fd, t + 1000, "a.jsonl", &has), 1);

    /* Found at start, untouched for longer than the settle time: ready. */
    write_text(f, "old.jsonl", "{}\n");
    path_of(path, sizeof(path), f, "old.jsonl");
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    spool_watch_free(w);
    w = spool_watch_new();
    assert_int_equal(ready_at(w, sd.fd, t + 5, "old.jsonl", &has), 1);
    assert_true(has); /* a.jsonl is recent: it waits */

    /* A symlink is "ready" at once, so that the reader refuses it. */
    path_of(path, sizeof(path), f, "link.jsonl");
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(ready_at(w, sd.fd, t + 6, "link.jsonl", &has), 2);
    assert_true(has);

    spool_watch_free(w);
    spool_dir_close(&sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(world_writable_or_foreign_spool_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(planted_failed_or_done_is_refused_and_modes_tightened,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(inputs_are_never_read_through_links, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_are_new_0600_files_under_random_names, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(only_quiescent_files_are_ready, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
