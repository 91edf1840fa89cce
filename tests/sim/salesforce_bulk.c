/* Salesforce flavour: Bulk API 2.0 ingest jobs.
 *
 * Open -> (PUT CSV) -> UploadComplete -> InProgress -> JobComplete, or
 * Aborted / Failed. Processing is lazy and deterministic: the job is run
 * when it is first observed (GET job, results) at or after UploadComplete
 * + --sf-bulk-delay-ms on the simulator's clock; before that, from half
 * the delay on, it reports InProgress. Rows go through the same write path
 * as sObject Collections (allOrNone false), 200 at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "salesforce.h"
#include "sim_time.h"

struct sf_job {
    char id[19];
    struct sf_object *obj;
    char operation[16];
    int ext_field; /* -1 unless upsert */
    char line_ending[8];
    char delim_name[16];
    char delim;
    char state[20];
    char version[12];
    int64_t created_ms, modstamp_ms, upload_complete_ms;
    /* For the bench's timeline only (GET /__sim/state, never a vendor
     * answer): data uploaded, processing ended, first result list read. */
    int64_t made_ms, uploaded_ms, ended_ms, results_ms;
    char *data;
    size_t data_len;
    struct csv_buf ok, bad, unprocessed;
    size_t processed, failed;
    char error_message[256];
};

static const struct {
    const char *name;
    char c;
} delimiters[] = {{"COMMA", ','},     {"TAB", '\t'},  {"PIPE", '|'},
                  {"SEMICOLON", ';'}, {"CARET", '^'}, {"BACKQUOTE", '`'}};

static void job_free(struct sf_job *j)
{
    free(j->data);
    csv_buf_free(&j->ok);
    csv_buf_free(&j->bad);
    csv_buf_free(&j->unprocessed);
    free(j);
}

void sf_bulk_free_all(struct sf_state *sf)
{
    for (size_t i = 0; i < sf->njobs; i++)
        job_free(sf->jobs[i]);
    free(sf->jobs);
    sf->jobs = NULL;
    sf->njobs = 0;
}

static struct sf_job *job_find(struct sf_state *sf, const char *id)
{
    for (size_t i = 0; i < sf->njobs; i++) {
        if (strncmp(sf->jobs[i]->id, id, 15) == 0 && strlen(id) >= 15)
            return sf->jobs[i];
    }
    return NULL;
}

static json_t *job_json(const struct sf_job *j)
{
    char t1[40], t2[40];
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:s, s:I, s:I, s:i, s:I}",
        "id", j->id, "operation", j->operation, "object", j->obj->name, "createdById",
        "005Sm0000000001AAA", "createdDate", sf_datetime(j->created_ms, t1, sizeof(t1)),
        "systemModstamp", sf_datetime(j->modstamp_ms, t2, sizeof(t2)), "state", j->state,
        "concurrencyMode", "Parallel", "contentType", "CSV", "apiVersion",
        strtod(j->version + 1, NULL), "jobType", "V2Ingest", "lineEnding", j->line_ending,
        "columnDelimiter", j->delim_name, "numberRecordsProcessed", (json_int_t)j->processed,
        "numberRecordsFailed", (json_int_t)j->failed, "retries", 0, "totalProcessingTime",
        (json_int_t)(strcmp(j->state, "JobComplete") == 0 ? 1 : 0));

    if (j->ext_field >= 0)
        json_object_set_new(o, "externalIdFieldName",
                            json_string(j->obj->fields[j->ext_field].name));
    if (strcmp(j->state, "Open") == 0) {
        char url[96];

        snprintf(url, sizeof(url), "services/data/%s/jobs/ingest/%s/batches", j->version, j->id);
        json_object_set_new(o, "contentUrl", json_string(url));
    }
    if (j->error_message[0] != '\0')
        json_object_set_new(o, "errorMessage", json_string(j->error_message));
    return o;
}

/* The jobs as Salesforce shows them, each with a "__sim" member holding
 * its timeline in ms on the simulator's clock (0: not reached; createdDate
 * and systemModstamp have whole seconds, as Salesforce's do): created,
 * data uploaded, UploadComplete, processing ended, first result list read.
 * bench/salesforce.sh prints it. */
json_t *sf_bulk_dump(const struct sf_state *sf)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < sf->njobs; i++) {
        const struct sf_job *j = sf->jobs[i];
        json_t *o = job_json(j);

        json_object_set_new(
            o, "__sim",
            json_pack("{s:I, s:I, s:I, s:I, s:I}", "created_ms", (json_int_t)j->made_ms,
                      "uploaded_ms", (json_int_t)j->uploaded_ms, "closed_ms",
                      (json_int_t)j->upload_complete_ms, "ended_ms", (json_int_t)j->ended_ms,
                      "results_ms", (json_int_t)j->results_ms));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* A new Open job from the job's JSON (body), added to the list; NULL with
 * the error in resp. */
static struct sf_job *job_make(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                               json_t *body)
{
    struct sf_state *sf = sf_state(sim);
    const char *oname, *op, *ext, *ctype, *le, *dl;
    struct sf_job *j = NULL, **grown, *made = NULL;
    struct sf_object fake;

    oname = json_string_value(json_object_get(body, "object"));
    op = json_string_value(json_object_get(body, "operation"));
    ext = json_string_value(json_object_get(body, "externalIdFieldName"));
    ctype = json_string_value(json_object_get(body, "contentType"));
    le = json_string_value(json_object_get(body, "lineEnding"));
    dl = json_string_value(json_object_get(body, "columnDelimiter"));
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    j->ext_field = -1;
    j->obj = oname ? sf_object_find(sf, oname) : NULL;
    if (j->obj == NULL) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : Unable to find object: %s",
                 oname ? oname : "");
        goto out;
    }
    if (op == NULL ||
        (strcmp(op, "insert") != 0 && strcmp(op, "update") != 0 && strcmp(op, "upsert") != 0 &&
         strcmp(op, "delete") != 0 && strcmp(op, "hardDelete") != 0)) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : Invalid operation: %s", op ? op : "");
        goto out;
    }
    if (strcmp(op, "upsert") == 0) {
        j->ext_field = ext ? sf_field_find(j->obj, ext) : -1;
        if (j->ext_field < 0 || !(j->obj->fields[j->ext_field].flags & SF_F_EXTID)) {
            sf_error(resp, 400, "INVALIDJOB",
                     "InvalidJob : External ID was blank or is not an external id field on %s",
                     j->obj->name);
            goto out;
        }
    }
    if (ctype != NULL && strcmp(ctype, "CSV") != 0) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : Unsupported content type: %s", ctype);
        goto out;
    }
    if (le != NULL && strcmp(le, "LF") != 0 && strcmp(le, "CRLF") != 0) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : Invalid line ending: %s", le);
        goto out;
    }
    snprintf(j->line_ending, sizeof(j->line_ending), "%s", le ? le : "LF");
    snprintf(j->delim_name, sizeof(j->delim_name), "%s", dl ? dl : "COMMA");
    for (size_t i = 0; i < sizeof(delimiters) / sizeof(delimiters[0]); i++) {
        if (strcmp(delimiters[i].name, j->delim_name) == 0)
            j->delim = delimiters[i].c;
    }
    if (j->delim == '\0') {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : Invalid column delimiter: %s", dl);
        goto out;
    }
    grown = realloc(sf->jobs, (sf->njobs + 1) * sizeof(*grown));
    if (grown == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    sf->jobs = grown;
    memset(&fake, 0, sizeof(fake));
    memcpy(fake.prefix, "750", 4);
    sf_id_format(&fake, sf->next_job++, j->id);
    snprintf(j->operation, sizeof(j->operation), "%s", op);
    snprintf(j->state, sizeof(j->state), "Open");
    snprintf(j->version, sizeof(j->version), "%s", req->caps[0]);
    j->created_ms = j->modstamp_ms = sf_stamp(req->now_ms);
    j->made_ms = req->now_ms; /* createdDate has whole seconds */
    sf->jobs[sf->njobs++] = j;
    made = j;
    j = NULL;
out:
    if (j != NULL)
        job_free(j);
    return made;
}

static void fail_job(struct sf_job *j, const char *msg);
static void advance(struct sim *sim, struct sf_job *j, int64_t now);

/* The job's CSV (one upload per job): 0, or -1 out of memory. */
static int job_data(struct sf_job *j, const char *data, size_t len, int64_t now_ms)
{
    j->data = malloc(len + 1);
    if (j->data == NULL)
        return -1;
    memcpy(j->data, data, len);
    j->data[len] = '\0';
    j->data_len = len;
    j->modstamp_ms = sf_stamp(now_ms);
    j->uploaded_ms = now_ms;
    return 0;
}

/* --- create: JSON, or multipart with the data --- */

/* Bulk API 2.0 "Create a job" with its data in one multipart/form-data
 * request (Bulk API 2.0 Developer Guide, "Bulk Insert with a Multipart
 * Request" and "Process for Creating Bulk API 2.0 Requests"): a part named
 * "job" (the job's JSON) and one named "content" (the CSV, under 100,000
 * characters); the job is closed automatically, its state UploadComplete.
 * Parts are split on "--boundary" lines (RFC 2046: the CRLF before a
 * delimiter belongs to it; a bare LF is taken too). How Salesforce refuses
 * a malformed multipart body or larger data is not documented: here 400
 * INVALIDJOB. */
struct part {
    const char *name; /* points into the headers: up to the closing quote */
    size_t name_len;
    const char *data;
    size_t len;
};

static const char *find_mem(const char *h, size_t hlen, const char *n, size_t nlen)
{
    for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++) {
        if (memcmp(h + i, n, nlen) == 0)
            return h + i;
    }
    return NULL;
}

/* The parts of body (at most max); -1 when it is not multipart as above. */
static int multipart_parts(const char *body, size_t len, const char *boundary, struct part *parts,
                           int max)
{
    char delim[96];
    size_t dlen;
    const char *p, *end = body + len;
    int n = 0;

    if (snprintf(delim, sizeof(delim), "--%s", boundary) >= (int)sizeof(delim) ||
        boundary[0] == '\0')
        return -1;
    dlen = strlen(delim);
    p = find_mem(body, len, delim, dlen);
    if (p == NULL)
        return -1;
    for (;;) {
        const char *hdr, *hend, *data, *next, *cd;
        size_t hlen;

        p += dlen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return n; /* the closing delimiter */
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            p += 2;
        else if (p < end && p[0] == '\n')
            p++;
        else
            return -1;
        hdr = p;
        hend = find_mem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
        data = hend ? hend + 4 : NULL;
        if (hend == NULL) {
            hend = find_mem(hdr, (size_t)(end - hdr), "\n\n", 2);
            data = hend ? hend + 2 : NULL;
        }
        if (hend == NULL || n == max)
            return -1;
        next = find_mem(data, (size_t)(end - data), delim, dlen);
        if (next == NULL)
            return -1;
        parts[n].data = data;
        parts[n].len = (size_t)(next - data);
        if (parts[n].len >= 2 && next[-2] == '\r' && next[-1] == '\n')
            parts[n].len -= 2;
        else if (parts[n].len >= 1 && next[-1] == '\n')
            parts[n].len -= 1;
        hlen = (size_t)(hend - hdr);
        cd = find_mem(hdr, hlen, "name=\"", 6);
        if (cd == NULL)
            return -1;
        parts[n].name = cd + 6;
        parts[n].name_len = 0;
        while (parts[n].name + parts[n].name_len < hend && parts[n].name[parts[n].name_len] != '"')
            parts[n].name_len++;
        n++;
        p = next;
    }
}

static const struct part *part_named(const struct part *parts, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (parts[i].name_len == strlen(name) &&
            memcmp(parts[i].name, name, parts[i].name_len) == 0)
            return &parts[i];
    }
    return NULL;
}

/* UTF-8 characters (bytes that do not continue a sequence). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

#define MULTIPART_MAX_CHARS 100000

static void create_multipart(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                             const char *ctype)
{
    const char *b = strstr(ctype, "boundary=");
    char boundary[80];
    struct part parts[4];
    const struct part *jp, *cp;
    struct sf_job *j;
    json_t *body;
    size_t bl;
    int n;

    if (b == NULL) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : multipart request without a boundary");
        return;
    }
    b += 9;
    if (*b == '"')
        b++;
    bl = strcspn(b, "\";");
    if (bl == 0 || bl >= sizeof(boundary)) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : bad multipart boundary");
        return;
    }
    memcpy(boundary, b, bl);
    boundary[bl] = '\0';
    n = multipart_parts(req->body, req->body_len, boundary, parts, 4);
    jp = n > 0 ? part_named(parts, n, "job") : NULL;
    cp = n > 0 ? part_named(parts, n, "content") : NULL;
    if (jp == NULL || cp == NULL) {
        sf_error(resp, 400, "INVALIDJOB",
                 "InvalidJob : a multipart job needs a \"job\" part and a \"content\" part");
        return;
    }
    if (utf8_chars(cp->data, cp->len) > MULTIPART_MAX_CHARS) {
        sf_error(resp, 400, "INVALIDJOB",
                 "InvalidJob : multipart job data exceeds %d characters; upload it separately",
                 MULTIPART_MAX_CHARS);
        return;
    }
    body = json_loadb(jp->data, jp->len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : the \"job\" part is not a JSON object");
        return;
    }
    j = job_make(sim, req, resp, body);
    json_decref(body);
    if (j == NULL)
        return;
    if (job_data(j, cp->data, cp->len, req->now_ms) != 0) {
        fail_job(j, "InternalServerError : out of memory");
    } else {
        /* Closed automatically. */
        snprintf(j->state, sizeof(j->state), "UploadComplete");
        j->upload_complete_ms = req->now_ms;
        advance(sim, j, req->now_ms); /* a zero delay completes at once */
    }
    sim_resp_json(resp, 200, job_json(j));
}

void sf_bulk_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *ctype = sim_req_header(req, "Content-Type");
    json_t *body;

    if (ctype != NULL && strncasecmp(ctype, "multipart/form-data", 19) == 0) {
        create_multipart(sim, req, resp, ctype);
        return;
    }
    body = sim_req_json(sim, req, resp);
    if (body == NULL)
        return;
    if (job_make(sim, req, resp, body) != NULL)
        sim_resp_json(resp, 200, job_json(sf_state(sim)->jobs[sf_state(sim)->njobs - 1]));
    json_decref(body);
}

void sf_bulk_upload(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_job *j = job_find(sf_state(sim), req->caps[1]);
    const char *ctype = sim_req_header(req, "Content-Type");

    if (j == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    if (strcmp(j->state, "Open") != 0 || j->data != NULL) {
        sf_error(resp, 409, "INVALIDJOBSTATE",
                 "InvalidJobState : Job state %s does not accept data (one upload per job)",
                 j->state);
        return;
    }
    if (ctype == NULL || strncasecmp(ctype, "text/csv", 8) != 0) {
        sf_error(resp, 400, "INVALIDJOB", "InvalidJob : Content-Type must be text/csv");
        return;
    }
    if (job_data(j, req->body, req->body_len, req->now_ms) != 0) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        return;
    }
    sim_resp_empty(resp, 201);
}

static void fail_job(struct sf_job *j, const char *msg)
{
    snprintf(j->state, sizeof(j->state), "Failed");
    snprintf(j->error_message, sizeof(j->error_message), "%s", msg);
}

static void put_original(struct csv_buf *b, const struct csv_row *hdr, const struct csv_row *row,
                         char delim)
{
    for (size_t c = 0; c < hdr->n; c++)
        csv_put(b, c < row->n ? row->fields[c] : "", delim, c + 1 == hdr->n);
}

static void error_text(json_t *errors, char *buf, size_t bufsize)
{
    json_t *e = json_array_get(errors, 0);
    json_t *fields = json_object_get(e, "fields");
    size_t o;

    snprintf(buf, bufsize, "%s:%s:", json_string_value(json_object_get(e, "statusCode")),
             json_string_value(json_object_get(e, "message")));
    for (size_t i = 0; i < json_array_size(fields); i++) {
        o = strlen(buf);
        snprintf(buf + o, bufsize - o, "%s%s", i ? "," : "",
                 json_string_value(json_array_get(fields, i)));
    }
    o = strlen(buf);
    snprintf(buf + o, bufsize - o, " --");
}

/* Runs a job's rows through the write path and builds the result files. */
static void process(struct sim *sim, struct sf_job *j, int64_t now)
{
    struct csv_table t;
    char err[256];
    const struct csv_row *hdr;
    const char *op = j->operation;
    bool is_delete = strcmp(op, "delete") == 0 || strcmp(op, "hardDelete") == 0;
    enum sf_op wop = strcmp(op, "insert") == 0   ? SF_OP_CREATE
                     : strcmp(op, "update") == 0 ? SF_OP_UPDATE
                                                 : SF_OP_UPSERT;

    j->modstamp_ms = sf_stamp(now);
    if (csv_parse(j->data ? j->data : "", j->data_len, j->delim, &t, err, sizeof(err)) != 0) {
        char msg[300];

        snprintf(msg, sizeof(msg), "InvalidBatch : Failed to parse CSV. %s", err);
        fail_job(j, msg);
        return;
    }
    if (t.nrows == 0) {
        fail_job(j, "InvalidBatch : No data or header found");
        goto out;
    }
    hdr = &t.rows[0];
    for (size_t c = 0; c < hdr->n; c++) {
        if (sf_field_find(j->obj, hdr->fields[c]) < 0) {
            char msg[200];

            snprintf(msg, sizeof(msg), "InvalidBatch : Field name not found : %s", hdr->fields[c]);
            fail_job(j, msg);
            /* Nothing ran: every row is unprocessed. */
            for (size_t r = 0; r < t.nrows; r++)
                put_original(&j->unprocessed, hdr, &t.rows[r], ',');
            goto out;
        }
    }
    csv_put(&j->ok, "sf__Id", ',', false);
    csv_put(&j->ok, "sf__Created", ',', hdr->n == 0);
    csv_put(&j->bad, "sf__Id", ',', false);
    csv_put(&j->bad, "sf__Error", ',', hdr->n == 0);
    put_original(&j->ok, hdr, hdr, ',');
    put_original(&j->bad, hdr, hdr, ',');
    put_original(&j->unprocessed, hdr, hdr, ',');
    for (size_t start = 1; start < t.nrows; start += SF_COLLECTION_MAX) {
        size_t n = t.nrows - start < SF_COLLECTION_MAX ? t.nrows - start : SF_COLLECTION_MAX;
        struct sf_item *items = calloc(n, sizeof(*items));
        char code[64], msg[512];

        if (items == NULL)
            break;
        for (size_t k = 0; k < n; k++) {
            const struct csv_row *row = &t.rows[start + k];

            items[k].in = json_object();
            for (size_t c = 0; c < hdr->n && c < row->n; c++) {
                /* An empty cell leaves the field alone; #N/A clears it. */
                if (row->fields[c][0] != '\0')
                    json_object_set_new(items[k].in, hdr->fields[c], json_string(row->fields[c]));
            }
            if (row->n != hdr->n)
                items[k].errors =
                    json_pack("[o]", sf_item_error("INVALID_FIELD", NULL,
                                                   "Row has %zu columns, the header has %zu",
                                                   row->n, hdr->n));
        }
        if (is_delete) {
            for (size_t k = 0; k < n; k++) {
                const char *id = json_string_value(json_object_get(items[k].in, "Id"));
                uint64_t num;
                struct sim_record *rec = NULL;

                if (items[k].errors != NULL)
                    continue;
                if (id != NULL && sf_id_parse(j->obj, id, &num) == 0)
                    rec = sim_coll_get(j->obj->coll, num);
                if (rec == NULL || rec->archived) {
                    items[k].errors = json_pack(
                        "[o]", sf_item_error(rec ? "ENTITY_IS_DELETED" : "MALFORMED_ID", NULL, "%s",
                                             rec ? "entity is deleted" : "bad id"));
                    continue;
                }
                sf_id_format(j->obj, num, items[k].id);
                sf_delete(sim, j->obj, rec, now);
            }
        } else {
            /* Items with a column-count error are kept out of the write. */
            struct sf_item *live = calloc(n, sizeof(*live));
            size_t *idx = calloc(n, sizeof(*idx));
            size_t nl = 0;

            if (live == NULL || idx == NULL) {
                free(live);
                free(idx);
                for (size_t k = 0; k < n; k++)
                    json_decref(items[k].in);
                sf_items_free(items, n);
                break;
            }
            for (size_t k = 0; k < n; k++) {
                if (items[k].errors == NULL) {
                    live[nl].in = items[k].in;
                    idx[nl++] = k;
                }
            }
            if (sf_write(sim, j->obj, wop, j->ext_field, live, nl, false, true, now, code,
                         sizeof(code), msg, sizeof(msg)) != 0) {
                for (size_t k = 0; k < nl; k++)
                    live[k].errors = json_pack("[o]", sf_item_error(code, NULL, "%s", msg));
            }
            for (size_t k = 0; k < nl; k++) {
                items[idx[k]] = live[k];
                live[k].vals = live[k].errors = NULL;
            }
            sf_items_free(live, nl);
            free(idx);
        }
        for (size_t k = 0; k < n; k++) {
            const struct csv_row *row = &t.rows[start + k];

            j->processed++;
            if (items[k].errors == NULL) {
                csv_put(&j->ok, items[k].id, ',', false);
                csv_put(&j->ok, items[k].created ? "true" : "false", ',', hdr->n == 0);
                put_original(&j->ok, hdr, row, ',');
            } else {
                char text[1200];

                j->failed++;
                if (items[k].target != NULL && items[k].id[0] == '\0')
                    sf_id_format(j->obj, items[k].target->id, items[k].id);
                error_text(items[k].errors, text, sizeof(text));
                csv_put(&j->bad, items[k].target ? items[k].id : "", ',', false);
                csv_put(&j->bad, text, ',', hdr->n == 0);
                put_original(&j->bad, hdr, row, ',');
            }
            json_decref(items[k].in);
        }
        sf_items_free(items, n);
    }
    snprintf(j->state, sizeof(j->state), "JobComplete");
out:
    csv_table_free(&t);
}

/* Moves a job along the clock; see the top of the file. */
static void advance(struct sim *sim, struct sf_job *j, int64_t now)
{
    int64_t delay = sim->opt.sf_bulk_delay_ms;

    if (strcmp(j->state, "UploadComplete") != 0 && strcmp(j->state, "InProgress") != 0)
        return;
    if (now >= j->upload_complete_ms + delay) {
        process(sim, j, now);
        j->ended_ms = now;
    } else if (now >= j->upload_complete_ms + delay / 2)
        snprintf(j->state, sizeof(j->state), "InProgress");
}

void sf_bulk_patch(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_job *j = job_find(sf_state(sim), req->caps[1]);
    json_t *body;
    const char *state;

    if (j == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    body = sim_req_json(sim, req, resp);
    if (body == NULL)
        return;
    state = json_string_value(json_object_get(body, "state"));
    advance(sim, j, req->now_ms);
    if (state != NULL && strcmp(state, "UploadComplete") == 0 && strcmp(j->state, "Open") == 0) {
        if (j->data == NULL) {
            /* Closing a job without data fails it, as Salesforce does. */
            fail_job(j, "InvalidBatch : No data or header found");
        } else {
            snprintf(j->state, sizeof(j->state), "UploadComplete");
            j->upload_complete_ms = req->now_ms;
            advance(sim, j, req->now_ms); /* a zero delay completes at once */
        }
        j->modstamp_ms = sf_stamp(req->now_ms);
        sim_resp_json(resp, 200, job_json(j));
    } else if (state != NULL && strcmp(state, "Aborted") == 0 &&
               (strcmp(j->state, "Open") == 0 || strcmp(j->state, "UploadComplete") == 0 ||
                strcmp(j->state, "InProgress") == 0)) {
        struct csv_table t;
        char err[128];

        snprintf(j->state, sizeof(j->state), "Aborted");
        j->modstamp_ms = sf_stamp(req->now_ms);
        /* Nothing ran: the uploaded rows are all unprocessed. */
        if (j->data != NULL &&
            csv_parse(j->data, j->data_len, j->delim, &t, err, sizeof(err)) == 0) {
            for (size_t r = 0; r < t.nrows; r++)
                put_original(&j->unprocessed, &t.rows[0], &t.rows[r], ',');
            csv_table_free(&t);
        }
        sim_resp_json(resp, 200, job_json(j));
    } else {
        sf_error(resp, 400, "INVALIDJOBSTATE", "InvalidJobState : Invalid state change %s -> %s",
                 j->state, state ? state : "(none)");
    }
    json_decref(body);
}

void sf_bulk_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_job *j = job_find(sf_state(sim), req->caps[1]);

    if (j == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    advance(sim, j, req->now_ms);
    sim_resp_json(resp, 200, job_json(j));
}

void sf_bulk_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_state *sf = sf_state(sim);
    struct sf_job *j = job_find(sf, req->caps[1]);

    if (j == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    if (strcmp(j->state, "UploadComplete") == 0 || strcmp(j->state, "InProgress") == 0 ||
        strcmp(j->state, "Open") == 0) {
        sf_error(resp, 400, "INVALIDJOBSTATE",
                 "InvalidJobState : Only a closed (JobComplete, Aborted, Failed) job can be "
                 "deleted");
        return;
    }
    for (size_t i = 0; i < sf->njobs; i++) {
        if (sf->jobs[i] == j) {
            memmove(&sf->jobs[i], &sf->jobs[i + 1], (sf->njobs - i - 1) * sizeof(*sf->jobs));
            sf->njobs--;
            break;
        }
    }
    job_free(j);
    sim_resp_empty(resp, 204);
}

void sf_bulk_results(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_job *j = job_find(sf_state(sim), req->caps[1]);
    const struct csv_buf *b;
    const char *which = strrchr(req->path, '/');

    if (j == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    advance(sim, j, req->now_ms);
    if (j->results_ms == 0)
        j->results_ms = req->now_ms;
    /* The path may end in '/', as the documentation writes it. */
    if (which != NULL && which[1] == '\0') {
        const char *p = which;

        while (p > req->path && p[-1] != '/')
            p--;
        which = p - 1;
    }
    if (strncmp(which, "/successfulResults", 18) == 0)
        b = &j->ok;
    else if (strncmp(which, "/failedResults", 14) == 0)
        b = &j->bad;
    else
        b = &j->unprocessed;
    sim_resp_json(resp, 200, NULL);
    resp->text = malloc(b->len + 1);
    if (resp->text != NULL) {
        memcpy(resp->text, b->data ? b->data : "", b->len);
        resp->text[b->len] = '\0';
        resp->text_len = b->len;
    }
    resp->content_type = "text/csv";
}
