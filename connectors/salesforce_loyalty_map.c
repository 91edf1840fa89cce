/* Pure: Loyalty Management composition (docs/salesforce.md "Loyalty",
 * docs/salesforce-conformance.md): ledger transactions, TransactionJournal
 * and LoyaltyProgramMember records, the lookups by IN list. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "salesforce.h"

/* --- Loyalty Management --- */

void sf_txn_number(const char *txn_id, char *out, size_t outsize)
{
    size_t len = strlen(txn_id);
    char hex[65];

    if (len <= SF_TXN_NUMBER_MAX) {
        snprintf(out, outsize, "%s", txn_id);
        return;
    }
    /* Longer than the field: "~" and the first 39 hex digits of its
     * SHA-256, the same for every resend of the transaction. */
    sha256_hex(txn_id, len, hex);
    snprintf(out, outsize, "~%.*s", SF_TXN_NUMBER_MAX - 1, hex);
}

int sf_parse_txn(const char *value_json, struct sf_txn *t)
{
    json_t *root = json_loads(value_json ? value_json : "", 0, NULL);
    const char *id = json_string_value(json_object_get(root, "txn_id"));
    const char *at = json_string_value(json_object_get(root, "occurred_at"));
    json_t *d = json_object_get(root, "delta");
    int rc = -1;

    memset(t, 0, sizeof(*t));
    if (id != NULL && id[0] != '\0' && strlen(id) < sizeof(t->txn_id) && at != NULL &&
        strlen(at) < sizeof(t->occurred_at) && json_is_integer(d)) {
        snprintf(t->txn_id, sizeof(t->txn_id), "%s", id);
        snprintf(t->occurred_at, sizeof(t->occurred_at), "%s", at);
        t->delta = (long long)json_integer_value(d);
        sf_txn_number(t->txn_id, t->number, sizeof(t->number));
        rc = 0;
    }
    json_decref(root);
    return rc;
}

char *sf_journal_body(const struct sf_journal_types *jt, const char *program_id,
                      const struct sf_txn *txns, const char *const *member_ids, size_t n)
{
    json_t *root = json_object(), *records = json_array();
    char *text;

    json_object_set_new(root, "allOrNone", json_false());
    for (size_t k = 0; k < n; k++) {
        int debit = txns[k].delta < 0;
        const char *type = debit ? jt->debit_type : jt->credit_type;
        const char *sub = debit ? jt->debit_subtype : jt->credit_subtype;
        long long amount = debit ? -txns[k].delta : txns[k].delta;
        json_t *r = json_pack("{s:{s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "attributes", "type",
                              "TransactionJournal", "ExternalTransactionNumber", txns[k].number,
                              "LoyaltyProgramId", program_id, "MemberId", member_ids[k],
                              "ActivityDate", txns[k].occurred_at, "Status", "Pending",
                              "JournalTypeId", type, "TransactionAmount", (json_int_t)amount);
        if (sub != NULL && sub[0] != '\0')
            json_object_set_new(r, "JournalSubTypeId", json_string(sub));
        json_array_append_new(records, r);
    }
    json_object_set_new(root, "records", records);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

char *sf_program_member_body(const char *program_id, const char *const *members,
                             const char *const *contact_ids, const char *enrollment_date, size_t n)
{
    json_t *root = json_object(), *records = json_array();
    char *text;

    json_object_set_new(root, "allOrNone", json_false());
    for (size_t k = 0; k < n; k++) {
        json_t *r =
            json_pack("{s:{s:s},s:s,s:s,s:s,s:s,s:s}", "attributes", "type", "LoyaltyProgramMember",
                      "MembershipNumber", members[k], "ProgramId", program_id, "MemberStatus",
                      "Active", "MemberType", "Individual", "EnrollmentDate", enrollment_date);
        if (contact_ids[k] != NULL && contact_ids[k][0] != '\0')
            json_object_set_new(r, "ContactId", json_string(contact_ids[k]));
        json_array_append_new(records, r);
    }
    json_object_set_new(root, "records", records);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Appends s to q (capacity cap, length *len) with quotes and backslashes
 * escaped as SOQL string literals need. */
static void put_escaped(char *q, size_t cap, size_t *len, const char *s)
{
    for (; *s != '\0' && *len + 3 < cap; s++) {
        if (*s == '\'' || *s == '\\')
            q[(*len)++] = '\\';
        q[(*len)++] = *s;
    }
    q[*len] = '\0';
}

char *sf_soql_in(const char *head, const char *field, const char *const *vals, size_t n)
{
    size_t cap = strlen(head) + strlen(field) + 16, len;
    char *q;

    for (size_t i = 0; i < n; i++)
        cap += strlen(vals[i]) * 2 + 3;
    q = malloc(cap);
    if (q == NULL)
        return NULL;
    len = (size_t)snprintf(q, cap, "%s%s IN (", head, field);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            q[len++] = ',';
        q[len++] = '\'';
        put_escaped(q, cap, &len, vals[i]);
        q[len++] = '\'';
    }
    snprintf(q + len, cap - len, ")");
    return q;
}

int sf_same_id(const char *a, const char *b)
{
    return a != NULL && b != NULL && strlen(a) >= 15 && strncmp(a, b, 15) == 0;
}

char *sf_soql_eq(const char *head, const char *field, const char *val)
{
    return sf_soql_in(head, field, &val, 1);
}
