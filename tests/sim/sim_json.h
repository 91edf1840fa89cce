/* A small JSON writer for response bodies on the simulator's hot paths.
 *
 * Batch endpoints answer with up to 100 records; building a jansson tree
 * for them and dumping it cost most of a request's CPU. The writer appends
 * compact JSON straight into one growing buffer and produces the same bytes
 * as json_dumps(..., JSON_COMPACT) of the equivalent tree: same escaping
 * (only '"', '\\' and control characters; \b \f \n \r \t by name, others as
 * \u00XX with upper-case hex), no spaces, members in the order written.
 *
 * Commas are automatic: a value or key written after another value at the
 * same level gets one. Out of memory makes the writer `failed`; the
 * response then becomes a 500 (see sim_resp_jw). */
#ifndef CRMSIM_JSON_H
#define CRMSIM_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct sim_response;

struct sim_jw {
    char *buf;
    size_t len;
    size_t cap;
    bool comma; /* a value was written at the current level */
    bool failed;
};

/* Starts an empty writer with `hint` bytes reserved (0: a default). */
void sim_jw_init(struct sim_jw *w, size_t hint);
void sim_jw_free(struct sim_jw *w);

void sim_jw_obj_begin(struct sim_jw *w);
void sim_jw_obj_end(struct sim_jw *w);
void sim_jw_arr_begin(struct sim_jw *w);
void sim_jw_arr_end(struct sim_jw *w);
/* An object member's name; the next call writes its value. */
void sim_jw_key(struct sim_jw *w, const char *key);
void sim_jw_str(struct sim_jw *w, const char *s);
void sim_jw_strn(struct sim_jw *w, const char *s, size_t len);
void sim_jw_int(struct sim_jw *w, long long v);
void sim_jw_bool(struct sim_jw *w, bool v);
void sim_jw_null(struct sim_jw *w);
/* Any jansson value, dumped compactly (for the rare parts built as trees,
 * e.g. error details). */
void sim_jw_json(struct sim_jw *w, const json_t *value);

/* Hands the writer's buffer to resp as an application/json body (the
 * content type the core gives jansson bodies). The writer is left empty. */
void sim_resp_jw(struct sim_response *resp, int status, struct sim_jw *w);

#endif
