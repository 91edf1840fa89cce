/* Pure: Loyalty Management composition (docs/salesforce.md "Loyalty"):
 * ledger transactions, TransactionJournal and LoyaltyProgramMember records. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salesforce.h"

/* --- Loyalty Management --- */

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
        rc = 0;
    }
    json_decref(root);
    return rc;
}

char *sf_journal_body(const char *program_id, const struct sf_txn *txns,
                      const char *const *member_ids, size_t n)
{
    json_t *root = json_object(), *records = json_array();
    char *text;

    json_object_set_new(root, "allOrNone", json_false());
    for (size_t k = 0; k < n; k++) {
        json_t *r = json_pack("{s:{s:s},s:s,s:s,s:s,s:s,s:s,s:I}", "attributes", "type",
                              "TransactionJournal", "ExternalTransactionNumber", txns[k].txn_id,
                              "ProgramId", program_id, "MemberId", member_ids[k], "ActivityDate",
                              txns[k].occurred_at, "Status", "Processed", "Points__c",
                              (json_int_t)txns[k].delta);
        json_array_append_new(records, r);
    }
    json_object_set_new(root, "records", records);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

char *sf_program_member_body(const char *program_id, const char *const *members,
                             const char *const *contact_ids, size_t n)
{
    json_t *root = json_object(), *records = json_array();
    char *text;

    json_object_set_new(root, "allOrNone", json_false());
    for (size_t k = 0; k < n; k++) {
        json_t *r = json_pack("{s:{s:s},s:s,s:s,s:s}", "attributes", "type", "LoyaltyProgramMember",
                              "MembershipNumber", members[k], "ProgramId", program_id,
                              "MemberStatus", "Active");
        if (contact_ids[k] != NULL && contact_ids[k][0] != '\0')
            json_object_set_new(r, "ContactId", json_string(contact_ids[k]));
        json_array_append_new(records, r);
    }
    json_object_set_new(root, "records", records);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
