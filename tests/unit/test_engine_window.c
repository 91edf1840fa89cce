/* The push window: coalescing, in-flight items, retries and the cursor that
 * only passes fully handled changes. */
#include "cmocka_setup.h"

#include <stdio.h>
#include <string.h>

#include "engine_window.h"

static void coalesces_to_latest_value(void **state)
{
    struct window w;
    struct witem *a, *b;
    (void)state;
    window_init(&w, 10);
    a = window_add(&w, 11, "M1", CHANGE_SEGMENT, "segment/vip", "{\"status\":\"in\"}", "shop");
    b = window_add(&w, 12, "M1", CHANGE_SEGMENT, "segment/vip", "{\"status\":\"out\"}", "shop");
    assert_ptr_equal(a, b);
    assert_int_equal(w.n, 1);
    assert_string_equal(a->rec.value_json, "{\"status\":\"out\"}");
    assert_int_equal(a->rec.seq, 12);
    assert_int_equal(a->min_seq, 11);
    assert_int_equal(window_cursor(&w), 10);
    window_remove(&w, a);
    assert_int_equal(window_cursor(&w), 12);
    window_reset(&w, 0);
}

static void cursor_stops_at_oldest_unhandled(void **state)
{
    struct window w;
    struct witem *a, *b, *c;
    (void)state;
    window_init(&w, 0);
    a = window_add(&w, 1, "M1", CHANGE_CONSENT, "consent/marketing/email", "1", "shop");
    b = window_add(&w, 2, "M2", CHANGE_CONSENT, "consent/marketing/email", "2", "shop");
    c = window_add(&w, 3, "M3", CHANGE_CONSENT, "consent/marketing/email", "3", "shop");
    window_remove(&w, b);
    window_remove(&w, c);
    assert_int_equal(window_cursor(&w), 0); /* 1 is still pending */
    window_remove(&w, a);
    assert_int_equal(window_cursor(&w), 3);
}

static void pending_counts_only_items_not_in_flight(void **state)
{
    struct window w;
    struct witem *a, *b, *c;
    (void)state;
    window_init(&w, 0);
    a = window_add(&w, 1, "M1", CHANGE_PROFILE, "profile/email", "\"a\"", "shop");
    b = window_add(&w, 2, "M2", CHANGE_PROFILE, "profile/email", "\"b\"", "shop");
    c = window_add(&w, 3, "M3", CHANGE_PROFILE, "profile/email", "\"c\"", "shop");
    window_take(&w, a);
    window_take(&w, b);
    window_take(&w, b); /* taking twice counts once */
    assert_int_equal(window_pending(&w), 1);
    assert_int_equal(window_requeue(&w, a, 0), 0); /* back to pending */
    assert_int_equal(window_pending(&w), 2);
    window_remove(&w, b); /* answered while in flight */
    assert_int_equal(w.n, 2);
    assert_int_equal(window_pending(&w), 2);
    window_take(&w, c);
    window_add(&w, 4, "M3", CHANGE_PROFILE, "profile/email", "\"d\"", "shop");
    assert_int_equal(window_requeue(&w, c, 0), 1); /* obsolete: removed */
    assert_int_equal(w.n, 2);
    assert_int_equal(w.n_inflight, 0);
    window_reset(&w, 0);
}

static void inflight_item_is_not_coalesced(void **state)
{
    struct window w;
    struct witem *a, *b;
    (void)state;
    window_init(&w, 0);
    a = window_add(&w, 1, "M1", CHANGE_PROFILE, "profile/email", "\"a\"", "shop");
    window_take(&w, a);
    b = window_add(&w, 2, "M1", CHANGE_PROFILE, "profile/email", "\"b\"", "shop");
    assert_ptr_not_equal(a, b);
    assert_int_equal(w.n, 2);
    /* The retry of the old value is obsolete: the newer item carries it. */
    assert_int_equal(window_requeue(&w, a, 100), 1);
    assert_int_equal(w.n, 1);
    assert_int_equal(window_cursor(&w), 1);
    window_reset(&w, 0);
}

static void requeued_item_is_found_again(void **state)
{
    struct window w;
    struct witem *a;
    (void)state;
    window_init(&w, 0);
    a = window_add(&w, 5, "M1", CHANGE_PROFILE, "profile/email", "\"a\"", "shop");
    window_take(&w, a);
    assert_null(window_find(&w, "M1", "profile/email"));
    assert_int_equal(window_requeue(&w, a, 100), 0);
    assert_ptr_equal(window_find(&w, "M1", "profile/email"), a);
    assert_int_equal(a->next_at, 100);
    window_reset(&w, 0);
}

static void many_members_stay_distinct(void **state)
{
    struct window w;
    char m[32];
    (void)state;
    window_init(&w, 0);
    for (int i = 0; i < 20000; i++) {
        snprintf(m, sizeof(m), "M%d", i % 10000);
        assert_non_null(window_add(&w, i + 1, m, CHANGE_SEGMENT, "segment/vip", "x", "shop"));
    }
    assert_int_equal(w.n, 10000);
    assert_int_equal(w.read_seq, 20000);
    window_reset(&w, 0);
    assert_int_equal(w.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coalesces_to_latest_value),
        cmocka_unit_test(cursor_stops_at_oldest_unhandled),
        cmocka_unit_test(inflight_item_is_not_coalesced),
        cmocka_unit_test(pending_counts_only_items_not_in_flight),
        cmocka_unit_test(requeued_item_is_found_again),
        cmocka_unit_test(many_members_stay_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
