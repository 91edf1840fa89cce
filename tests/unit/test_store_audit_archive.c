/* Audit retention (issue 15): old consent audit rows move to a chained
 * archive file; verification covers archive plus table across the
 * boundary; tampering with either, or cutting the archive, shows; an
 * erasure blanks the member's archived payloads; member export reads both. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "change_json.h"
#include "store.h"
#include "store_audit_archive.h"
#include "store_ctl.h"
#include "store_push.h"
#include "timefmt.h"
#include "tmp_store.h"

#define T0 1790000000000LL /* 2026-09-21, safely in the past */
#define HOUR (3600LL * 1000)

struct fixture {
    char dir[64];
    char path[128];
    char archive[160];
    struct store *st;
    struct merge_policy policy;
    int n; /* events applied */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "archive", &f->st);
    snprintf(f->archive, sizeof(f->archive), "%s/audit.jsonl", f->dir);
    f->policy.now_ms = timefmt_now_ms();
    f->policy.future_tolerance_ms = 300000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tmp_store_remove(f->dir, f->st);
    free(f);
    return 0;
}

static long count(struct store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    long n = -1;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* A consent event of member, alternately granted and denied. */
static void consent(struct fixture *f, const char *member)
{
    struct change c;
    enum apply_result r;
    struct error err;
    char idem[32];
    char *json;

    f->n++;
    snprintf(idem, sizeof(idem), "shop:e%d", f->n);
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = member;
    c.kind = CHANGE_CONSENT;
    c.field = "consent/marketing/email";
    c.idem_key = idem;
    c.occurred_at = T0 + f->n * 1000;
    c.consent.status = f->n % 2 ? CONSENT_GRANTED : CONSENT_DENIED;
    c.consent.collected_at = c.occurred_at;
    c.consent.source = "web_form";
    c.consent.legal_basis = "consent";
    json = consent_value_to_json(&c.consent);
    c.value_json = json;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    free(json);
}

/* One archive step with every row old enough (now is an hour ahead). */
static int64_t archive(struct fixture *f)
{
    struct error err = {""};
    int64_t archived = -1;
    int more = 0;
    assert_int_equal(store_audit_archive_step(f->st, f->archive, 1000, timefmt_now_ms() + HOUR,
                                              &archived, &more, &err),
                     0);
    return archived;
}

static void verify(struct fixture *f, int64_t *live, int64_t *archived, int64_t *bad)
{
    struct error err = {""};
    assert_int_equal(store_audit_verify_parts(f->st, live, archived, bad, &err), 0);
    if (*bad != 0)
        fprintf(stderr, "# verify: %s\n", err.msg);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf = calloc(1, 1 << 16);
    assert_non_null(fp);
    assert_true(fread(buf, 1, (1 << 16) - 1, fp) > 0);
    fclose(fp);
    return buf;
}

static void spit(const char *path, const char *text, const char *mode)
{
    FILE *fp = fopen(path, mode);
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void old_rows_move_to_the_archive_and_the_chain_goes_on(void **state)
{
    struct fixture *f = *state;
    int64_t live, archived, bad;

    for (int i = 0; i < 5; i++)
        consent(f, i % 2 ? "M2" : "M1");
    /* Nothing is due while the rows are younger than the retention. */
    {
        struct error err = {""};
        int64_t n = -1;
        int more = 0;
        assert_int_equal(
            store_audit_archive_step(f->st, f->archive, HOUR, timefmt_now_ms(), &n, &more, &err),
            0);
        assert_int_equal(n, 0);
    }
    assert_int_equal(file_size(f->archive), -1);
    /* All but the newest row go. */
    assert_int_equal(archive(f), 4);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit"), 1);
    assert_true(file_size(f->archive) > 0);
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 0);
    assert_int_equal(archived, 4);
    assert_int_equal(live, 1);
    /* New rows chain on; archiving again keeps one chain. */
    consent(f, "M1");
    consent(f, "M2");
    assert_int_equal(archive(f), 2);
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 0);
    assert_int_equal(archived, 6);
    assert_int_equal(live, 1);
    /* The archive holds no member key and no acknowledgement stays behind. */
    {
        char *text = slurp(f->archive);
        assert_null(strstr(text, "\"M1\""));
        assert_non_null(strstr(text, "web_form"));
        free(text);
    }
    /* A reopened store goes on from the same head. */
    {
        struct store_options o = {0};
        struct error err;
        store_close(f->st);
        o.path = f->path;
        assert_int_equal(store_open(&o, &f->st, &err), 0);
    }
    consent(f, "M1");
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 0);
    assert_int_equal(live, 2);
}

static void tampering_with_the_archive_is_detected(void **state)
{
    struct fixture *f = *state;
    int64_t live, archived, bad;
    char *text, *p;

    for (int i = 0; i < 4; i++)
        consent(f, "M1");
    assert_int_equal(archive(f), 3);
    /* A payload changed in the archive (row 2 is a denial). */
    text = slurp(f->archive);
    p = strstr(text, "denied");
    assert_non_null(p);
    memcpy(p, "grant", 5);
    memmove(p + 5, p + 6, strlen(p + 6) + 1);
    spit(f->archive, text, "w");
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 2);
    free(text);
}

static void a_cut_archive_is_detected(void **state)
{
    struct fixture *f = *state;
    int64_t live, archived, bad;
    char *text, *last;

    for (int i = 0; i < 4; i++)
        consent(f, "M1");
    assert_int_equal(archive(f), 3);
    /* The last archived line removed: every remaining line chains, but the
     * archive no longer ends where the database recorded. */
    text = slurp(f->archive);
    text[strlen(text) - 1] = '\0';
    last = strrchr(text, '\n');
    assert_non_null(last);
    last[1] = '\0';
    spit(f->archive, text, "w");
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, -1);
    free(text);
}

static void the_live_table_must_go_on_from_the_archive(void **state)
{
    struct fixture *f = *state;
    int64_t live, archived, bad, id;

    for (int i = 0; i < 4; i++)
        consent(f, "M1");
    assert_int_equal(archive(f), 3);
    /* The first live row made to start a chain of its own: its hash as if
     * no row came before it (the table keeps no prev_hash, schema 14). */
    id = count(f->st, "SELECT MIN(id) FROM audit");
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "UPDATE audit SET hash = crmsync_hash_blob(crmsync_sha256("
                                  "'|' || seq || '|' || lower(hex(member_hash)) || '|' ||"
                                  " field || '|' || crmsync_sha256(payload) || '|' ||"
                                  " recorded_at)) WHERE id = (SELECT MIN(id) FROM audit)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, id);
}

static void an_uncommitted_tail_is_cut(void **state)
{
    struct fixture *f = *state;
    int64_t live, archived, bad;
    long size;

    for (int i = 0; i < 3; i++)
        consent(f, "M1");
    assert_int_equal(archive(f), 2);
    size = file_size(f->archive);
    /* What a step that crashed before its commit leaves behind. */
    spit(f->archive, "{\"id\":3,\"half a line", "a");
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 0);
    assert_int_equal(archived, 2);
    consent(f, "M1");
    assert_int_equal(archive(f), 1);
    assert_true(file_size(f->archive) > size);
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 0);
    assert_int_equal(archived, 3);
}

static void an_erasure_blanks_the_archived_payloads(void **state)
{
    struct fixture *f = *state;
    int64_t live, archived, bad;
    long size;
    char *text;
    struct change e;
    enum apply_result r;
    struct error err;

    consent(f, "M1");
    consent(f, "M2");
    consent(f, "M1");
    consent(f, "M2");
    assert_int_equal(archive(f), 3);
    size = file_size(f->archive);
    memset(&e, 0, sizeof(e));
    e.origin = "shop";
    e.member_key = "M1";
    e.kind = CHANGE_ERASE;
    e.field = "erase";
    e.value_json = "{}";
    e.idem_key = "shop:x1";
    e.occurred_at = T0 + 100000;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &e, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_archive_erasures"), 1);
    archive(f);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_archive_erasures"), 0);
    /* M1's two archived rows lost their payload, M2's kept it; same length,
     * and the chain still holds. */
    text = slurp(f->archive);
    {
        int with = 0, without = 0;
        for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (strstr(line, "\"payload\":null") != NULL)
                without++;
            else if (strstr(line, "web_form") != NULL)
                with++;
        }
        assert_int_equal(without, 2);
        assert_int_equal(with, 1);
    }
    free(text);
    assert_int_equal(file_size(f->archive), size);
    verify(f, &live, &archived, &bad);
    assert_int_equal(bad, 0);
    assert_int_equal(archived, 3);
}

static void member_export_reads_the_archive_and_the_table(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    json_t *doc = NULL, *events;

    consent(f, "M1");
    consent(f, "M2");
    consent(f, "M1");
    consent(f, "M1");
    /* The first one acknowledged by a CRM: the acknowledgement moves with
     * its row. */
    assert_int_equal(store_audit_ack(f->st, 1, "hs", &err), 0);
    assert_int_equal(archive(f), 3);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_acks"), 0);
    assert_int_equal(store_ctl_member_export(f->st, "M1", &doc, &err), 0);
    events = json_object_get(doc, "consent_events");
    assert_int_equal(json_array_size(events), 3);
    assert_true(json_is_true(json_object_get(json_array_get(events, 0), "archived")));
    assert_true(json_is_true(json_object_get(json_array_get(events, 1), "archived")));
    assert_null(json_object_get(json_array_get(events, 2), "archived"));
    /* Oldest first, across the boundary. */
    assert_true(json_integer_value(json_object_get(json_array_get(events, 1), "seq")) <
                json_integer_value(json_object_get(json_array_get(events, 2), "seq")));
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(events, 0), "payload")),
                           "web_form"));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(events, 0), "acknowledged_by"), 0),
            "system")),
        "hs");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(old_rows_move_to_the_archive_and_the_chain_goes_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tampering_with_the_archive_is_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(a_cut_archive_is_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(the_live_table_must_go_on_from_the_archive, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_uncommitted_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(an_erasure_blanks_the_archived_payloads, setup, teardown),
        cmocka_unit_test_setup_teardown(member_export_reads_the_archive_and_the_table, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
