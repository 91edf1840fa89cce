/* The HTTP ingest's kept answers (issue 16): an event's answer under its own
 * key with the hash of its body, the same body found again, another body
 * told apart as a conflict; and the answer's text. */
#include "cmocka_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_ingest_answer.h"
#include "store.h"
#include "store_answer.h"
#include "tmp_store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "answer", &f->st);
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

static struct change points(const char *member, const char *value)
{
    struct change c = {0};
    c.origin = "http";
    c.member_key = member;
    c.kind = CHANGE_POINTS;
    c.field = "points/T1";
    c.value_json = value;
    c.occurred_at = 1790000000000LL;
    c.idem_key = "http:e1";
    c.source_ref = "client:till-1";
    return c;
}

static void event_hash_follows_the_body(void **state)
{
    struct change a[2] = {points("M1", "{\"delta\":5}"), points("M1", "{\"delta\":6}")};
    struct change b[2] = {points("M1", "{\"delta\":5}"), points("M1", "{\"delta\":6}")};
    int64_t h;

    (void)state;
    h = store_event_hash(a, 2);
    b[0].source_ref = "client:other"; /* not part of the body */
    assert_true(store_event_hash(b, 2) == h);
    assert_true(store_event_hash(a, 1) != h); /* one change fewer */
    b[1].value_json = "{\"delta\":7}";
    assert_true(store_event_hash(b, 2) != h); /* another value */
    b[1].value_json = a[1].value_json;
    b[1].member_key = "M2";
    assert_true(store_event_hash(b, 2) != h); /* another member */
}

static void answer_is_kept_and_conflicts_are_told(void **state)
{
    struct fixture *f = *state;
    struct change c = points("M1", "{\"delta\":5}");
    struct change other = points("M1", "{\"delta\":999}");
    int64_t h = store_event_hash(&c, 1);
    enum store_answer_state st;
    char *answer = NULL;
    struct error err = {""};

    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_answer_get(f->st, "answer:http:e1", h, &st, &answer, &err), 0);
    assert_int_equal(st, STORE_ANSWER_NONE);
    assert_null(answer);
    assert_int_equal(store_answer_put(f->st, "answer:http:e1", h, "{\"result\":\"applied\"}", &err),
                     0);
    assert_int_equal(store_commit(f->st, &err), 0);

    assert_int_equal(store_answer_get(f->st, "answer:http:e1", h, &st, &answer, &err), 0);
    assert_int_equal(st, STORE_ANSWER_SAME);
    assert_string_equal(answer, "{\"result\":\"applied\"}");
    free(answer);
    assert_int_equal(
        store_answer_get(f->st, "answer:http:e1", store_event_hash(&other, 1), &st, &answer, &err),
        0);
    assert_int_equal(st, STORE_ANSWER_CONFLICT);
    assert_null(answer);
    /* The key is new: recording it twice is a store error, not a silent
     * second answer. */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(
        store_answer_put(f->st, "answer:http:e1", h, "{\"result\":\"unchanged\"}", &err), -1);
    store_rollback(f->st);
}

/* An event of one change keeps its answer on the key applying the change
 * recorded (store_answer_keep), found with the change's hash; a key with no
 * row keeps nothing. */
static void answer_is_kept_on_the_change_key(void **state)
{
    struct fixture *f = *state;
    struct change c = points("M1", "{\"delta\":5,\"reason\":\"earn\"}");
    struct merge_policy policy = {0};
    enum apply_result res;
    enum store_answer_state st;
    char *answer = NULL;
    struct error err = {""};
    int kept = -1;

    c.points.txn_id = "T1";
    c.points.delta = 5;
    c.points.reason = "earn";
    c.points.occurred_at = c.occurred_at;
    policy.now_ms = c.occurred_at + 1000;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &policy, &res, &err), 0);
    assert_int_equal(res, APPLY_APPLIED);
    assert_int_equal(store_answer_keep(f->st, "http:e1", "{\"result\":\"applied\"}", &kept, &err),
                     0);
    assert_int_equal(kept, 1);
    assert_int_equal(store_answer_keep(f->st, "http:none", "{}", &kept, &err), 0);
    assert_int_equal(kept, 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(store_answer_get(f->st, "http:e1", store_change_hash(&c), &st, &answer, &err),
                     0);
    assert_int_equal(st, STORE_ANSWER_SAME);
    assert_string_equal(answer, "{\"result\":\"applied\"}");
    free(answer);
    assert_int_equal(store_answer_get(f->st, "http:none", 1, &st, &answer, &err), 0);
    assert_int_equal(st, STORE_ANSWER_NONE);
}

static void answer_text_round_trips(void **state)
{
    char result[16], reason[256], key[32];
    char *text;

    (void)state;
    text = ingest_answer_encode("rejected", "collected_at is \"in the future\"");
    assert_non_null(text);
    assert_int_equal(ingest_answer_decode(text, result, sizeof(result), reason, sizeof(reason)), 0);
    assert_string_equal(result, "rejected");
    assert_string_equal(reason, "collected_at is \"in the future\"");
    free(text);
    text = ingest_answer_encode("applied", "");
    assert_string_equal(text, "{\"result\":\"applied\"}");
    assert_int_equal(ingest_answer_decode(text, result, sizeof(result), reason, sizeof(reason)), 0);
    assert_string_equal(reason, "");
    free(text);
    assert_int_equal(
        ingest_answer_decode("not json", result, sizeof(result), reason, sizeof(reason)), -1);
    assert_int_equal(ingest_answer_decode("{\"result\":\"a-result-name-too-long\"}", result,
                                          sizeof(result), reason, sizeof(reason)),
                     -1);
    assert_int_equal(ingest_answer_key("http", "e1", key, sizeof(key)), 0);
    assert_string_equal(key, "answer:http:e1");
    assert_int_equal(ingest_answer_key("http", "an-event-id-that-does-not-fit", key, sizeof(key)),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_hash_follows_the_body),
        cmocka_unit_test_setup_teardown(answer_is_kept_and_conflicts_are_told, setup, teardown),
        cmocka_unit_test_setup_teardown(answer_is_kept_on_the_change_key, setup, teardown),
        cmocka_unit_test(answer_text_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
