/* Salesforce response parsing: pure functions (no connector, no loop, no
 * sink), unit-tested in tests/unit/test_salesforce_parse.c.
 *
 * Shapes (REST API Developer Guide, Bulk API 2.0 guide):
 *   error body         [{"message": "...", "errorCode": "..."}]
 *   collections        [{"id","success","errors":[{"statusCode","message",
 *                       "fields"}],"created"}] in input order, 200 even when
 *                       items fail
 *   query              {"totalSize","done","nextRecordsUrl","records":[{
 *                       "attributes":{"type","url"},"Id",...}]}
 *   getDeleted         {"deletedRecords":[{"id","deletedDate"}],
 *                       "earliestDateAvailable","latestDateCovered"}
 *   Bulk results CSV   "sf__Id","sf__Created",cols / "sf__Id","sf__Error",
 *                       cols / cols (unprocessed) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "crm_pull_page.h"
#include "jscan.h"
#include "salesforce.h"
#include "timefmt.h"

/* Transient conditions named by Salesforce's StatusCode list: the same
 * record sent later can succeed. */
static const char *const retryable_codes[] = {
    "UNABLE_TO_LOCK_ROW",
    "SERVER_UNAVAILABLE",
    "REQUEST_LIMIT_EXCEEDED",
    "REQUEST_RUNNING_TOO_LONG",
    "QUERY_TIMEOUT",
    "TXN_SECURITY_METERING_ERROR",
    "UNKNOWN_EXCEPTION",
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    NULL,
};

int sf_code_retryable(const char *code)
{
    for (const char *const *c = retryable_codes; *c != NULL; c++) {
        if (code != NULL && strcmp(code, *c) == 0)
            return 1;
    }
    return 0;
}

void sf_error_of(const char *body, char *code, size_t csize, char *msg, size_t msize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *e = json_is_array(root) ? json_array_get(root, 0) : root;
    const char *c = json_string_value(json_object_get(e, "errorCode"));
    const char *m = json_string_value(json_object_get(e, "message"));

    if (c == NULL) /* OAuth: {"error","error_description"} */
        c = json_string_value(json_object_get(e, "error"));
    if (m == NULL)
        m = json_string_value(json_object_get(e, "error_description"));
    snprintf(code, csize, "%s", c ? c : "");
    snprintf(msg, msize, "%s", m ? m : "");
    json_decref(root);
}

/* The jansson reading, the reference (and the answer for a text jscan
 * refuses, so that the verdict on a malformed body stays jansson's). */
int sf_parse_collection_results_jansson(const char *body, size_t n, struct sf_outcome *out)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    size_t i, got = 0;
    json_t *item;

    for (i = 0; i < n; i++)
        memset(&out[i], 0, sizeof(out[i]));
    if (!json_is_array(root)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(root, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        json_t *err0 = json_array_get(json_object_get(item, "errors"), 0);

        if (i >= n)
            break;
        got++;
        if (id != NULL)
            snprintf(out[i].id, sizeof(out[i].id), "%s", id);
        if (json_is_true(json_object_get(item, "success"))) {
            out[i].state = SF_OK;
            continue;
        }
        {
            const char *code = json_string_value(json_object_get(err0, "statusCode"));
            const char *msg = json_string_value(json_object_get(err0, "message"));
            snprintf(out[i].code, sizeof(out[i].code), "%s", code ? code : "UNKNOWN");
            snprintf(out[i].reason, sizeof(out[i].reason), "%s: %s", out[i].code,
                     msg ? msg : "no message");
            out[i].state = sf_code_retryable(code) ? SF_RETRY : SF_REJECT;
        }
    }
    json_decref(root);
    return (int)got;
}

/* A literal true: 1 (skipped), 0 another value (skipped), -1 malformed. */
static int scan_true(struct jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
    if (s->end - s->p >= 4 && memcmp(s->p, "true", 4) == 0)
        return jscan_skip(s) == 1 ? 1 : -1;
    return jscan_skip(s) == 1 ? 0 : -1;
}

/* "errors": the first element's statusCode and message (found flags say
 * which were strings); 1, or -1 malformed. */
static int scan_first_error(struct jscan *s, struct jscan_field *f)
{
    int r = jscan_array(s), first = 1;

    f[0].found = f[1].found = 0;
    if (r != 1)
        return r < 0 ? -1 : 1; /* not an array: no error item */
    for (r = jscan_element(s); r == 1; r = jscan_element(s)) {
        r = first ? jscan_fields(s, f, 2) : jscan_skip(s);
        first = 0;
        if (r < 0)
            return -1;
    }
    return r == 0 ? 1 : -1;
}

/* One item: {"id","success","errors":[{"statusCode","message"}],...}; a
 * repeated member counts by its last occurrence, as in jansson. */
static int scan_item(struct jscan *s, struct sf_outcome *o)
{
    char key[16], code[128] = "", msg[sizeof(o->reason)] = "";
    struct jscan_field f[2] = {{"statusCode", code, sizeof(code), NULL, 1, 0},
                               {"message", msg, sizeof(msg), NULL, 1, 0}};
    int r = jscan_object(s), ok = 0;

    if (r < 0)
        return -1;
    /* Not an object (r == 2, skipped): no id, no success, no error. */
    for (r = r == 1 ? jscan_member(s, key, sizeof(key)) : 0; r == 1;
         r = jscan_member(s, key, sizeof(key))) {
        if (strcmp(key, "id") == 0) {
            r = jscan_string(s, o->id, sizeof(o->id));
            if (r == 2)
                o->id[0] = '\0';
        } else if (strcmp(key, "success") == 0) {
            r = ok = scan_true(s);
        } else if (strcmp(key, "errors") == 0) {
            r = scan_first_error(s, f);
        } else {
            r = jscan_skip(s);
        }
        if (r < 0)
            return -1;
    }
    if (r < 0)
        return -1;
    if (ok) {
        o->state = SF_OK;
        return 1;
    }
    snprintf(o->code, sizeof(o->code), "%s", f[0].found ? code : "UNKNOWN");
    snprintf(o->reason, sizeof(o->reason), "%s: %s", o->code, f[1].found ? msg : "no message");
    o->state = sf_code_retryable(f[0].found ? code : NULL) ? SF_RETRY : SF_REJECT;
    return 1;
}

/* Read with jscan (issue 17): json_loads() made a value of every member of
 * 200 items to read four strings of each, 7 % of a collections push's
 * CPU. Items past n are checked and skipped. */
int sf_parse_collection_results(const char *body, size_t n, struct sf_outcome *out)
{
    struct jscan s;
    size_t got = 0;
    int r;

    for (size_t i = 0; i < n; i++)
        memset(&out[i], 0, sizeof(out[i]));
    if (body == NULL)
        return -1;
    jscan_init(&s, body, -1);
    r = jscan_array(&s);
    if (r == 1) {
        for (r = jscan_element(&s); r == 1; r = jscan_element(&s)) {
            if (got < n)
                r = scan_item(&s, &out[got++]);
            else
                r = jscan_skip(&s);
            if (r < 0)
                break;
        }
    }
    if (r == 0 && jscan_end(&s) == 1)
        return (int)got;
    return sf_parse_collection_results_jansson(body, n, out);
}

int sf_parse_query(const char *body, json_t **root, json_t **records, char *next, size_t nsize)
{
    const char *n;

    *root = body ? json_loads(body, 0, NULL) : NULL;
    *records = json_object_get(*root, "records");
    if (!json_is_array(*records)) {
        json_decref(*root);
        *root = NULL;
        *records = NULL;
        return -1;
    }
    n = json_string_value(json_object_get(*root, "nextRecordsUrl"));
    snprintf(next, nsize, "%s",
             n != NULL && !json_is_true(json_object_get(*root, "done")) ? n : "");
    return 0;
}

int sf_parse_time(const char *s, int64_t *ms)
{
    char buf[64];
    size_t n;

    if (s == NULL)
        return -1;
    n = strlen(s);
    if (n == 0 || n >= sizeof(buf) - 2)
        return -1;
    snprintf(buf, sizeof(buf), "%s", s);
    /* Salesforce writes offsets without a colon ("+0000"). */
    if (n > 5 && (buf[n - 5] == '+' || buf[n - 5] == '-') && buf[n - 3] != ':') {
        memmove(buf + n - 1, buf + n - 2, 3);
        buf[n - 2] = ':';
    }
    return timefmt_parse_rfc3339(buf, ms);
}

void sf_format_time(int64_t ms, char *out, size_t outsize)
{
    timefmt_format_rfc3339(ms, out, outsize);
}

void sf_soql_time(int64_t ms, char *out, size_t outsize)
{
    char full[40];
    int64_t whole = ms >= 0 ? ms - ms % 1000 : ms - (1000 + ms % 1000) % 1000;
    char *dot;

    timefmt_format_rfc3339(whole, full, sizeof(full));
    /* "....ss.000Z" -> "....ssZ" */
    dot = strchr(full, '.');
    if (dot != NULL && dot[1] != '\0' && strchr(dot, 'Z') != NULL)
        snprintf(out, outsize, "%.*sZ", (int)(dot - full), full);
    else
        snprintf(out, outsize, "%s", full);
}

/* --- a queried Contact into fields --- */

struct pull_ctx {
    const struct sf_map *m;
    struct crm_record rec;
    int64_t modified;
};

static int emit(struct pull_ctx *pc, enum change_kind kind, const char *field,
                const char *value_json, const struct consent_value *cv, const char *projection)
{
    char version[32];

    snprintf(version, sizeof(version), "%" PRId64, pc->modified);
    return crm_record_field(&pc->rec, kind, field, value_json,
                            cv != NULL ? cv->collected_at : pc->modified, version, cv, projection);
}

/* An opt-out flag: true is a withdrawal made in Salesforce (a change,
 * dated by SystemModstamp: the flag keeps no date of its own); false only
 * says no opt-out is recorded, which is not a grant (no legal basis, no
 * act of the customer): observed, never applied. */
static int flag_consent(struct pull_ctx *pc, json_t *rec, const char *channel, const char *flag)
{
    char field[256];
    json_t *v;

    if (flag == NULL || flag[0] == '\0')
        return 0;
    v = json_object_get(rec, flag);
    if (!json_is_boolean(v))
        return 0;
    snprintf(field, sizeof(field), "consent/%s/%s", pc->m->flag_purpose, channel);
    if (json_is_true(v)) {
        struct consent_value cv = {0};
        char *json;
        int rc;
        cv.status = CONSENT_DENIED;
        cv.source = "salesforce";
        cv.collected_at = pc->modified;
        json = consent_value_to_json(&cv);
        if (json == NULL)
            return -1;
        rc = emit(pc, CHANGE_CONSENT, field, json, &cv, "opted_out");
        free(json);
        return rc;
    }
    return emit(pc, CHANGE_CONSENT, field, NULL, NULL, "opted_in");
}

static void number_text(json_t *v, char *out, size_t size)
{
    if (json_is_integer(v))
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v))
        snprintf(out, size, "%lld", (long long)json_real_value(v));
    else if (json_is_real(v))
        snprintf(out, size, "%.17g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(out, size, "%s", json_string_value(v));
    else
        out[0] = '\0';
}

int sf_contact_fields(const struct sf_map *m, const char *conn, json_t *rec, crm_field_fn fn,
                      void *arg, char *member, size_t msize)
{
    const char *key = json_string_value(json_object_get(rec, m->ext_id));
    struct pull_ctx pc = {
        m, {conn, json_string_value(json_object_get(rec, "Id")), member, fn, arg}, 0};
    char text[128], version[32];
    json_t *v;

    member[0] = '\0';
    if (key == NULL || key[0] == '\0' || pc.rec.id == NULL)
        return 0;
    snprintf(member, msize, "%s", key);
    if (sf_parse_time(json_string_value(json_object_get(rec, "SystemModstamp")), &pc.modified) != 0)
        pc.modified = 0;
    if (m->consent_mode == SF_CONSENT_FIELDS) {
        if (flag_consent(&pc, rec, "email", m->email_flag) != 0 ||
            flag_consent(&pc, rec, "phone", m->phone_flag) != 0 ||
            flag_consent(&pc, rec, "sms", m->sms_flag) != 0 ||
            flag_consent(&pc, rec, "post", m->post_flag) != 0)
            return -1;
    }
    /* Salesforce is not a source of points or tier: what it holds is only
     * observed (drift is repaired by the engine). */
    v = m->points_field[0] ? json_object_get(rec, m->points_field) : NULL;
    if (m->points_mode == SF_POINTS_FIELDS && v != NULL && !json_is_null(v)) {
        number_text(v, text, sizeof(text));
        if (emit(&pc, CHANGE_POINTS, "points/balance", NULL, NULL, text) != 0)
            return -1;
    }
    v = m->tier_field[0] ? json_object_get(rec, m->tier_field) : NULL;
    if (json_is_string(v) && emit(&pc, CHANGE_TIER, "tier", NULL, NULL, json_string_value(v)) != 0)
        return -1;
    snprintf(version, sizeof(version), "%" PRId64, pc.modified);
    /* An empty field (null) is not a clearing: a Contact we created holds
     * nothing but what we wrote. It is what Salesforce holds, though:
     * observed, so that a value cleared here (written as null) is not
     * written again at a resync. The placeholder we wrote (to create the
     * Contact, or for a last name cleared here: LastName is required) is
     * not a name: the same as empty. */
    for (size_t i = 0; i < m->attrs.n; i++) {
        const char *field = m->attrs.p[i].val;
        const char *none = strcmp(field, "LastName") == 0 && m->last_name_placeholder[0] != '\0'
                               ? m->last_name_placeholder
                               : NULL;

        if (crm_record_profile_json(&pc.rec, m->attrs.p[i].key, json_object_get(rec, field), none,
                                    pc.modified, version) != 0)
            return -1;
    }
    return 0;
}

json_t *sf_parse_deleted(const char *body, int64_t *latest_ms, json_t **when)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *recs = json_object_get(root, "deletedRecords"), *out, *r;
    size_t i;

    *latest_ms = 0;
    if (when != NULL)
        *when = NULL;
    if (!json_is_array(recs)) {
        json_decref(root);
        return NULL;
    }
    out = json_array();
    if (when != NULL)
        *when = json_object();
    json_array_foreach(recs, i, r)
    {
        json_t *id = json_object_get(r, "id");
        int64_t ms = 0;
        if (!json_is_string(id))
            continue;
        json_array_append(out, id);
        if (when != NULL &&
            sf_parse_time(json_string_value(json_object_get(r, "deletedDate")), &ms) == 0)
            json_object_set_new(*when, json_string_value(id), json_integer(ms));
    }
    if (sf_parse_time(json_string_value(json_object_get(root, "latestDateCovered")), latest_ms) !=
        0)
        *latest_ms = 0;
    json_decref(root);
    return out;
}

int sf_parse_earliest(const char *body, int64_t *ms)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    int rc = sf_parse_time(json_string_value(json_object_get(root, "earliestDateAvailable")), ms);

    json_decref(root);
    return rc == 0 ? 0 : -1;
}

/* --- Bulk API 2.0 results (RFC 4180 CSV, comma, LF or CRLF) --- */

struct csv_cur {
    const char *p;
};

/* Reads one field into out; *eol set at the end of a row, returns -1 on a
 * malformed field, 0 otherwise, 1 at the end of input (nothing read). */
static int csv_field(struct csv_cur *c, char *out, size_t outsize, int *eol)
{
    size_t o = 0;

    *eol = 0;
    if (*c->p == '\0')
        return 1;
    if (*c->p == '"') {
        c->p++;
        for (;;) {
            if (*c->p == '\0')
                return -1;
            if (*c->p == '"') {
                if (c->p[1] == '"') {
                    if (o + 1 < outsize)
                        out[o++] = '"';
                    c->p += 2;
                    continue;
                }
                c->p++;
                break;
            }
            if (o + 1 < outsize)
                out[o++] = *c->p;
            c->p++;
        }
    } else {
        while (*c->p != '\0' && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            if (o + 1 < outsize)
                out[o++] = *c->p;
            c->p++;
        }
    }
    out[o] = '\0';
    if (*c->p == ',') {
        c->p++;
    } else if (*c->p == '\r' || *c->p == '\n' || *c->p == '\0') {
        if (*c->p == '\r')
            c->p++;
        if (*c->p == '\n')
            c->p++;
        *eol = 1;
    } else {
        return -1;
    }
    return 0;
}

#define CSV_MAX_COLS 64

int sf_parse_bulk_results(const char *csv, int kind, const char *key_col, sf_csv_row_fn fn,
                          void *arg)
{
    struct csv_cur c = {csv ? csv : ""};
    char field[1024];
    int key_at = -1, id_at = -1, err_at = -1, ncols = 0, rows = 0, eol = 0, rc;

    /* Header. */
    for (;;) {
        rc = csv_field(&c, field, sizeof(field), &eol);
        if (rc != 0)
            break;
        if (strcmp(field, key_col) == 0)
            key_at = ncols;
        else if (strcmp(field, "sf__Id") == 0)
            id_at = ncols;
        else if (strcmp(field, "sf__Error") == 0)
            err_at = ncols;
        ncols++;
        if (eol)
            break;
    }
    if (rc < 0 || ncols > CSV_MAX_COLS)
        return -1;
    if (rc == 1)
        return 0; /* empty */
    if (key_at < 0)
        return -1;
    while (*c.p != '\0') {
        struct sf_outcome o = {0};
        char key[256] = "";
        int col = 0;

        do {
            rc = csv_field(&c, field, sizeof(field), &eol);
            if (rc != 0)
                return rc < 0 ? -1 : rows;
            if (col == key_at)
                snprintf(key, sizeof(key), "%s", field);
            else if (col == id_at)
                snprintf(o.id, sizeof(o.id), "%s", field);
            else if (col == err_at) {
                /* "CODE:message:fields --" */
                size_t clen = strcspn(field, ":");
                const char *msg = field[clen] == ':' ? field + clen + 1 : "";
                char m2[200];
                size_t mlen;
                snprintf(o.code, sizeof(o.code), "%.*s", (int)clen, field);
                snprintf(m2, sizeof(m2), "%s", msg);
                /* Drop the trailing "--", blanks and an empty field list. */
                mlen = strlen(m2);
                if (mlen >= 2 && strcmp(m2 + mlen - 2, "--") == 0)
                    m2[mlen -= 2] = '\0';
                while (mlen > 0 && (m2[mlen - 1] == ' ' || m2[mlen - 1] == ':'))
                    m2[--mlen] = '\0';
                snprintf(o.reason, sizeof(o.reason), "%s: %s", o.code, m2);
            }
            col++;
        } while (!eol);
        if (kind == 0) {
            o.state = SF_OK;
        } else if (kind == 1) {
            o.state = sf_code_retryable(o.code) ? SF_RETRY : SF_REJECT;
        } else {
            o.state = SF_RETRY;
            snprintf(o.reason, sizeof(o.reason), "not processed by the Bulk job");
        }
        rows++;
        fn(arg, key, &o);
    }
    return rows;
}

int sf_limit_is_daily(const char *message)
{
    /* Anything but the concurrent limit counts as the day's budget: the
     * cautious reading when Salesforce words it otherwise. */
    return message == NULL || strstr(message, "Concurrent") == NULL;
}
