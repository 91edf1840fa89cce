/* crmsim JSON writer: its bytes must equal json_dumps(JSON_COMPACT) of the
 * same value, since batch responses switched from jansson trees to it and
 * tests (and clients) compare bodies. The sim source is compiled in (see
 * tests/sim/CMakeLists.txt); sim_resp_jw() is not used here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../sim/sim_json.c"

/* sim_json.c calls sim_resp_empty() (sim_server.c); unused by these tests. */
void sim_resp_empty(struct sim_response *resp, int status)
{
    (void)resp;
    (void)status;
}

static void assert_same_as_jansson(struct sim_jw *w, json_t *value)
{
    char *want = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

    assert_non_null(want);
    assert_false(w->failed);
    assert_int_equal(w->len, strlen(want));
    assert_memory_equal(w->buf, want, w->len);
    free(want);
    json_decref(value);
    sim_jw_free(w);
}

static void strings_are_escaped_as_jansson_does(void **state)
{
    static const char *const samples[] = {
        "plain",
        "",
        "quote \" and backslash \\",
        "slash / stays",
        "controls \b\f\n\r\t \x01\x1f\x7f",
        "utf-8 \xc3\xa9 \xf0\x9f\x98\x80",
        NULL,
    };

    (void)state;
    for (const char *const *s = samples; *s != NULL; s++) {
        struct sim_jw w;

        sim_jw_init(&w, 4); /* tiny: exercises growth */
        sim_jw_str(&w, *s);
        assert_same_as_jansson(&w, json_string(*s));
    }
}

static void nested_values_get_commas_and_no_spaces(void **state)
{
    struct sim_jw w;
    json_t *tree = json_pack("{s:s, s:[{s:i, s:b, s:n}, {}, []], s:{s:[]}, s:b, s:I}", "status",
                             "COMPLETE", "results", "n", -42, "new", 1, "x", "errors", "ids",
                             "archived", 0, "big", (json_int_t)9007199254740993LL);

    (void)state;
    sim_jw_init(&w, 0);
    sim_jw_obj_begin(&w);
    sim_jw_key(&w, "status");
    sim_jw_str(&w, "COMPLETE");
    sim_jw_key(&w, "results");
    sim_jw_arr_begin(&w);
    sim_jw_obj_begin(&w);
    sim_jw_key(&w, "n");
    sim_jw_int(&w, -42);
    sim_jw_key(&w, "new");
    sim_jw_bool(&w, true);
    sim_jw_key(&w, "x");
    sim_jw_null(&w);
    sim_jw_obj_end(&w);
    sim_jw_obj_begin(&w);
    sim_jw_obj_end(&w);
    sim_jw_arr_begin(&w);
    sim_jw_arr_end(&w);
    sim_jw_arr_end(&w);
    sim_jw_key(&w, "errors");
    sim_jw_json(&w, json_object_get(tree, "errors"));
    sim_jw_key(&w, "archived");
    sim_jw_bool(&w, false);
    sim_jw_key(&w, "big");
    sim_jw_int(&w, 9007199254740993LL);
    sim_jw_obj_end(&w);
    assert_same_as_jansson(&w, tree);
}

static void keys_are_escaped_too(void **state)
{
    struct sim_jw w;

    (void)state;
    sim_jw_init(&w, 0);
    sim_jw_obj_begin(&w);
    sim_jw_key(&w, "a\"b\n");
    sim_jw_strn(&w, "xyz", 2);
    sim_jw_obj_end(&w);
    assert_same_as_jansson(&w, json_pack("{s:s}", "a\"b\n", "xy"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_are_escaped_as_jansson_does),
        cmocka_unit_test(nested_values_get_commas_and_no_spaces),
        cmocka_unit_test(keys_are_escaped_too),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
