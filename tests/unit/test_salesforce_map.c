/* Salesforce mapping and composition (connectors/salesforce_map.c): batch
 * classes, projection, one Contact record per member with several fields,
 * the LastName placeholder only where asked, the tie-safe cursor SOQL. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "connector.h"
#include "salesforce.h"

extern const struct connector_ops salesforce_connector_ops;

static struct sf_map map;

static int setup(void **state)
{
    struct sf_map_config mc = {
        "Member_Key__c",      "Loyalty_Points__c",
        "Loyalty_Tier__c",    "marketing",
        "HasOptedOutOfEmail", "DoNotCall",
        "SMS_Opt_Out__c",     "",
        "(loyalty member)",   "email=Email,first_name=FirstName,last_name=LastName",
        SF_CONSENT_FIELDS,    SF_POINTS_FIELDS};
    struct error err = {""};
    (void)state;
    return sf_map_init(&map, &mc, &err);
}

static int teardown(void **state)
{
    (void)state;
    sf_map_free(&map);
    return 0;
}

static void options_table_is_valid(void **state)
{
    struct error err = {""};
    (void)state;
    assert_int_equal(config_table_validate(salesforce_connector_ops.config, &err), 0);
    /* Batches of any size: split into collections requests or one Bulk job. */
    assert_int_equal(salesforce_connector_ops.max_batch, SF_MAX_BATCH);
}

/* A batch is as large as a Bulk job only for Contact rows at or above the
 * threshold; otherwise one collections request (issue 17: a batch of a
 * whole window went as requests in series, 51 MB peak RSS). */
static void a_batch_is_one_request_unless_it_goes_to_bulk(void **state)
{
    (void)state;
    assert_non_null(salesforce_connector_ops.batch_max);
    assert_int_equal(sf_batch_max("Contact", 1999, 2000), SF_COLL_MAX);
    assert_int_equal(sf_batch_max("Contact", 2000, 2000), SF_MAX_BATCH);
    assert_int_equal(sf_batch_max("Contact", 30000, 1000000), SF_COLL_MAX);
    assert_int_equal(sf_batch_max("CampaignMember:vip", 5000, 2000), SF_COLL_MAX);
    assert_int_equal(sf_batch_max("erase", 5000, 2000), SF_COLL_MAX);
    assert_int_equal(sf_batch_max("TransactionJournal", 5000, 2000), SF_COLL_MAX);
    assert_int_equal(sf_batch_max("ContactPointTypeConsent", 5000, 2000), SF_COLL_MAX);
}

static void batch_classes(void **state)
{
    struct push_record r = {0};
    char out[64];
    (void)state;
    r.kind = CHANGE_CONSENT;
    r.field = "consent/marketing/email";
    sf_batch_class(&map, &r, out, sizeof(out));
    assert_string_equal(out, "Contact");
    r.kind = CHANGE_SEGMENT;
    r.field = "segment/vip";
    sf_batch_class(&map, &r, out, sizeof(out));
    assert_string_equal(out, "CampaignMember:vip");
    r.kind = CHANGE_ERASE;
    r.field = "erase";
    sf_batch_class(&map, &r, out, sizeof(out));
    assert_string_equal(out, "erase");
}

static void projection(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(sf_project(&map, CHANGE_CONSENT, "consent/marketing/sms",
                                "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"status\":"
                                "\"denied\"}",
                                out, sizeof(out)),
                     0);
    assert_string_equal(out, "opted_out");
    assert_int_equal(sf_project(&map, CHANGE_CONSENT, "consent/marketing/email",
                                "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"legal_basis\":"
                                "\"consent\",\"source\":\"web\",\"status\":\"granted\"}",
                                out, sizeof(out)),
                     0);
    assert_string_equal(out, "opted_in");
    /* Another purpose, or post (no field configured): not representable. */
    assert_int_equal(sf_project(&map, CHANGE_CONSENT, "consent/profiling/email",
                                "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"status\":"
                                "\"denied\"}",
                                out, sizeof(out)),
                     -1);
    assert_int_equal(sf_project(&map, CHANGE_CONSENT, "consent/marketing/post",
                                "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"status\":"
                                "\"denied\"}",
                                out, sizeof(out)),
                     -1);
    /* The reason names the option to change (issue 19). */
    {
        char why[256];
        sf_unrepresentable_why(&map, CHANGE_CONSENT, "consent/profiling/email", why, sizeof(why));
        assert_non_null(strstr(why, "flag_purpose (marketing)"));
        assert_non_null(strstr(why, "consent_mode = consent_objects"));
        sf_unrepresentable_why(&map, CHANGE_CONSENT, "consent/marketing/post", why, sizeof(why));
        assert_non_null(strstr(why, "post_opt_out_field"));
        sf_unrepresentable_why(&map, CHANGE_PROFILE, "profile/shoe_size", why, sizeof(why));
        assert_non_null(strstr(why, "\"shoe_size\" is not in attribute_map"));
        /* A malformed value: the configuration is not the cause. */
        sf_unrepresentable_why(&map, CHANGE_PROFILE, "profile/email", why, sizeof(why));
        assert_string_equal(why, "");
    }
    assert_int_equal(
        sf_project(&map, CHANGE_POINTS, "points/balance", "{\"balance\":70}", out, sizeof(out)), 0);
    assert_string_equal(out, "70");
    assert_int_equal(sf_project(&map, CHANGE_SEGMENT, "segment/vip",
                                "{\"since\":\"2026-11-01T10:00:00.000Z\",\"status\":\"out\"}", out,
                                sizeof(out)),
                     0);
    assert_string_equal(out, "out");
    assert_int_equal(sf_project(&map, CHANGE_PROFILE, "profile/email",
                                "{\"value\":\"a@example.com\"}", out, sizeof(out)),
                     0);
    assert_string_equal(out, "a@example.com");
    assert_int_equal(sf_project(&map, CHANGE_PROFILE, "profile/birthday",
                                "{\"value\":\"1990-01-01\"}", out, sizeof(out)),
                     -1);
}

static void one_record_per_member(void **state)
{
    struct push_record recs[6] = {
        {1, "M1", CHANGE_CONSENT, "consent/marketing/email",
         "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"status\":\"denied\"}", NULL, NULL},
        {2, "M1", CHANGE_POINTS, "points/balance", "{\"balance\":70}", "003A", NULL},
        {3, "M2", CHANGE_PROFILE, "profile/first_name", "{\"value\":\"Bob\"}", NULL, NULL},
        {4, "M1", CHANGE_PROFILE, "profile/email", "{\"value\":null}", NULL, NULL},
        {5, "M2", CHANGE_PROFILE, "profile/birthday", "{\"value\":\"1990-01-01\"}", NULL, NULL},
        {6, "M3", CHANGE_PROFILE, "profile/last_name", "{\"value\":null}", "003C", NULL},
    };
    struct push_result res[6] = {0};
    struct crm_plan p;
    size_t sel[3] = {0, 1, 2};
    char *body;
    json_t *root, *r0, *r1, *r2;
    (void)state;

    assert_int_equal(sf_plan_contacts(&map, recs, 6, res, &p), 0);
    assert_int_equal(p.ng, 3);
    assert_int_equal(p.rec_group[0], 0);
    assert_int_equal(p.rec_group[1], 0);
    assert_int_equal(p.rec_group[2], 1);
    assert_int_equal(p.rec_group[4], SIZE_MAX);
    assert_int_equal(res[4].outcome, PUSH_REJECT);
    assert_non_null(strstr(res[4].reason, "attribute_map"));
    p.g[1].placeholder = 1;
    body = sf_upsert_body(&map, &p, sel, 3);
    root = json_loads(body, 0, NULL);
    assert_true(json_is_false(json_object_get(root, "allOrNone")));
    r0 = json_array_get(json_object_get(root, "records"), 0);
    r1 = json_array_get(json_object_get(root, "records"), 1);
    r2 = json_array_get(json_object_get(root, "records"), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r0, "attributes"), "type")), "Contact");
    assert_string_equal(json_string_value(json_object_get(r0, "Member_Key__c")), "M1");
    assert_true(json_is_true(json_object_get(r0, "HasOptedOutOfEmail")));
    assert_int_equal(json_integer_value(json_object_get(r0, "Loyalty_Points__c")), 70);
    assert_true(json_is_null(json_object_get(r0, "Email")));
    assert_null(json_object_get(r0, "LastName")); /* existing: keeps its name */
    assert_string_equal(json_string_value(json_object_get(r1, "FirstName")), "Bob");
    assert_string_equal(json_string_value(json_object_get(r1, "LastName")), "(loyalty member)");
    /* A last name cleared here: Salesforce refuses a null LastName. */
    assert_string_equal(json_string_value(json_object_get(r2, "LastName")), "(loyalty member)");
    json_decref(root);
    free(body);
    crm_plan_free(&p);
    push_results_clear(res, 6);
}

/* sf_upsert_body as it was (a jansson tree, json_dumps): the reference
 * for the body written straight into a buffer (issue 17). */
static char *upsert_body_ref(const struct sf_map *m, const struct crm_plan *p, const size_t *sel,
                             size_t nsel)
{
    json_t *root = json_object(), *records = json_array();
    char *text;

    json_object_set_new(root, "allOrNone", json_false());
    for (size_t k = 0; k < nsel; k++) {
        const struct crm_group *g = &p->g[sel[k]];
        json_t *r = json_object();
        json_object_set_new(r, "attributes", json_pack("{s:s}", "type", "Contact"));
        json_object_set_new(r, m->ext_id, json_string(g->member));
        json_object_update(r, g->fields);
        if (g->placeholder && json_object_get(r, "LastName") == NULL &&
            m->last_name_placeholder[0] != '\0')
            json_object_set_new(r, "LastName", json_string(m->last_name_placeholder));
        json_array_append_new(records, r);
    }
    json_object_set_new(root, "records", records);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void upsert_body_is_what_jansson_wrote(void **state)
{
    struct crm_group g[7] = {{0}};
    struct crm_plan p = {0};
    size_t sel[7] = {0, 1, 2, 3, 4, 5, 6};
    char ctl[40];
    char *a, *b;
    (void)state;
    for (int c = 1; c < 32; c++)
        ctl[c - 1] = (char)c;
    snprintf(ctl + 31, sizeof(ctl) - 31, "\x7f/\"\\");
    g[0].member = "M1";
    g[0].fields =
        json_pack("{s:s, s:b, s:I, s:n, s:f}", "Email", "m1@example.com", "HasOptedOutOfEmail", 1,
                  "Loyalty_Points__c", (json_int_t)-70, "Phone", "Score__c", 1.25);
    g[1].member = "M\"2\\";
    g[1].fields = json_pack("{s:s}", "FirstName", "B\xc3\xa9la \xf0\x9f\x98\x80 \xe2\x80\xa8");
    g[1].placeholder = 1;
    g[2].member = "M3";
    g[2].fields = json_pack("{s:s, s:s}", "LastName", "Lee", "FirstName", ctl);
    g[2].placeholder = 1;
    g[3].member = "M4";
    g[3].fields = json_object(); /* nothing but the key */
    g[4].member = "M5";
    g[4].fields =
        json_pack("{s:s, s:s, s:b}", "Email", "e", "Member_Key__c", "OTHER", "DoNotCall", 0);
    g[5].member = "M6";
    g[5].fields = json_pack("{s:s, s:{s:s}}", "Email", "f", "attributes", "type", "Lead");
    g[6].member = "";
    g[6].fields = json_pack("{s:s}", "Email", "");
    g[6].placeholder = 1;
    p.g = g;
    p.ng = 7;
    for (size_t n = 0; n <= 7; n++) {
        a = sf_upsert_body(&map, &p, sel, n);
        b = upsert_body_ref(&map, &p, sel, n);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    for (size_t i = 0; i < 7; i++)
        json_decref(g[i].fields);
}

static void cursor_soql(void **state)
{
    char *q;
    (void)state;
    q = sf_contact_soql(&map, 1795000000000LL, "003Sm0000000005IAA", 10000);
    assert_non_null(strstr(q, "WHERE (SystemModstamp > 2026-11-18T"));
    assert_non_null(strstr(q, "OR (SystemModstamp = 2026-11-18T"));
    assert_non_null(strstr(q, "AND Id > '003Sm0000000005IAA'))"));
    assert_non_null(strstr(q, "ORDER BY SystemModstamp, Id LIMIT 10000"));
    assert_non_null(strstr(q, "SMS_Opt_Out__c"));
    /* Issue 12 item 9: SOQL dateTime literals have whole seconds. */
    assert_null(strstr(q, ".000Z"));
    assert_non_null(strstr(q, "Z OR (SystemModstamp = "));
    free(q);
    q = sf_contact_soql(&map, 0, "", 10);
    assert_null(strstr(q, "WHERE"));
    /* Email is selected although HasOptedOutOfEmail contains its name;
     * a field named twice is selected once. */
    assert_non_null(strstr(q, ", Email,"));
    assert_null(strstr(strstr(q, "HasOptedOutOfEmail") + 1, "HasOptedOutOfEmail"));
    free(q);
}

/* The Bulk upload CSV: the external id first, the union of the rows'
 * fields sorted, an absent field an empty cell (untouched), null #N/A,
 * quotes, commas and newlines quoted (RFC 4180), the placeholder only for
 * a group marked. */
static void bulk_csv(void **state)
{
    struct crm_group g[3] = {{0}};
    size_t sel[3] = {0, 1, 2};
    struct crm_plan p = {.g = g, .ng = 3};
    char *csv;
    (void)state;
    g[0].member = "M1";
    g[0].fields = json_pack("{s:s,s:b}", "Email", "a@example.com", "HasOptedOutOfEmail", 1);
    g[1].member = "M2";
    g[1].fields = json_pack("{s:s,s:n,s:i}", "FirstName", "Ann, \"Nan\"\nB", "Email",
                            "Loyalty_Points__c", 42);
    g[2].member = "M 3";
    g[2].fields = json_object();
    g[2].placeholder = 1;
    csv = sf_bulk_csv(&map, &p, sel, 3);
    assert_non_null(csv);
    assert_string_equal(csv, "Member_Key__c,Email,FirstName,HasOptedOutOfEmail,LastName,"
                             "Loyalty_Points__c\n"
                             "M1,a@example.com,,true,,\n"
                             "M2,#N/A,\"Ann, \"\"Nan\"\"\nB\",,,42\n"
                             "M 3,,,,(loyalty member),\n");
    free(csv);
    for (int i = 0; i < 3; i++)
        json_decref(g[i].fields);
}

/* What the simulator's Bulk results look like, parsed back by the key
 * column: the writer's output survives the reader. */
static int rows_seen;
static void count_row(void *arg, const char *key, const struct sf_outcome *o)
{
    (void)arg;
    assert_int_equal(o->state, SF_REJECT);
    assert_string_equal(key, "M,1");
    assert_string_equal(o->code, "INVALID_EMAIL_ADDRESS");
    rows_seen++;
}

static void bulk_failed_row_by_key(void **state)
{
    const char *csv = "\"sf__Id\",\"sf__Error\",Member_Key__c,Email\n"
                      "\"\",\"INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --\","
                      "\"M,1\",x\n";
    (void)state;
    rows_seen = 0;
    assert_int_equal(sf_parse_bulk_results(csv, 1, "Member_Key__c", count_row, NULL), 1);
    assert_int_equal(rows_seen, 1);
}

/* Loyalty: a transaction goes to TransactionJournal and projects to
 * "<txn>:<delta>"; the journal record carries the number and points. */
static void loyalty_journal(void **state)
{
    struct sf_map lm = map;
    struct push_record r = {0};
    struct sf_txn t;
    const char *mid = "0lMSm0000000001AAA";
    struct sf_journal_types jt = {"0lESm0000000001AAA", "", "0lESm0000000002AAA", ""};
    char out[128], *body;
    (void)state;
    lm.points_mode = SF_POINTS_LOYALTY;
    r.kind = CHANGE_POINTS;
    r.field = "points/T9";
    sf_batch_class(&lm, &r, out, sizeof(out));
    assert_string_equal(out, "TransactionJournal");
    assert_int_equal(sf_project(&lm, CHANGE_POINTS, "points/T9",
                                "{\"delta\":-30,\"occurred_at\":\"2026-11-01T10:00:00Z\","
                                "\"reason\":\"redeem\",\"txn_id\":\"T9\"}",
                                out, sizeof(out)),
                     0);
    assert_string_equal(out, "T9:-30");
    assert_int_equal(
        sf_project(&lm, CHANGE_POINTS, "points/balance", "{\"balance\":70}", out, sizeof(out)), 0);
    assert_string_equal(out, "70");
    assert_int_equal(sf_parse_txn("{\"delta\":5,\"occurred_at\":\"2026-11-01T10:00:00Z\","
                                  "\"txn_id\":\"T1\"}",
                                  &t),
                     0);
    body = sf_journal_body(&jt, "0lpSm0000000001AAA", &t, &mid, 1);
    assert_non_null(strstr(body, "\"ExternalTransactionNumber\":\"T1\""));
    assert_null(strstr(body, "PointsBalance"));
    free(body);
    assert_int_not_equal(sf_parse_txn("{\"delta\":\"x\"}", &t), 0);
}

/* Issue 12 items 1 and 3: a TransactionJournal names its program with
 * LoyaltyProgramId (ProgramId is LoyaltyProgramMember's), carries no
 * Points__c (no such field), is Pending with the JournalTypeId (and
 * subtype) a program process handles, a debit with the debit type and a
 * positive TransactionAmount. */
static void journal_fields(void **state)
{
    struct sf_journal_types jt = {"0lESm0000000001AAA", "0lSSm0000000001AAA", "0lESm0000000002AAA",
                                  ""};
    struct sf_txn t[2];
    const char *mids[2] = {"0lMSm0000000001AAA", "0lMSm0000000001AAA"};
    json_t *root, *r0, *r1;
    char *body;

    (void)state;
    assert_int_equal(sf_parse_txn("{\"delta\":5,\"occurred_at\":\"2026-11-01T10:00:00Z\","
                                  "\"txn_id\":\"T1\"}",
                                  &t[0]),
                     0);
    assert_int_equal(sf_parse_txn("{\"delta\":-30,\"occurred_at\":\"2026-11-01T10:00:00Z\","
                                  "\"txn_id\":\"T2\"}",
                                  &t[1]),
                     0);
    body = sf_journal_body(&jt, "0lpSm0000000001AAA", t, mids, 2);
    root = json_loads(body, 0, NULL);
    r0 = json_array_get(json_object_get(root, "records"), 0);
    r1 = json_array_get(json_object_get(root, "records"), 1);
    assert_string_equal(json_string_value(json_object_get(r0, "LoyaltyProgramId")),
                        "0lpSm0000000001AAA");
    assert_null(json_object_get(r0, "ProgramId"));
    assert_null(json_object_get(r0, "Points__c"));
    assert_string_equal(json_string_value(json_object_get(r0, "Status")), "Pending");
    assert_string_equal(json_string_value(json_object_get(r0, "JournalTypeId")),
                        "0lESm0000000001AAA");
    assert_string_equal(json_string_value(json_object_get(r0, "JournalSubTypeId")),
                        "0lSSm0000000001AAA");
    assert_int_equal(json_integer_value(json_object_get(r0, "TransactionAmount")), 5);
    assert_string_equal(json_string_value(json_object_get(r1, "JournalTypeId")),
                        "0lESm0000000002AAA");
    assert_null(json_object_get(r1, "JournalSubTypeId"));
    assert_int_equal(json_integer_value(json_object_get(r1, "TransactionAmount")), 30);
    json_decref(root);
    free(body);
}

/* Issue 12 item 4: ExternalTransactionNumber is a string of 40: a longer
 * txn_id is sent as "~" + 39 hex digits of its SHA-256, the same each
 * time; a short one as it is. */
static void journal_number_bounded(void **state)
{
    char a[64], b[64];
    const char *longid = "order-2026-11-01-store-0042-till-07-receipt-000000123456";

    (void)state;
    sf_txn_number("T1", a, sizeof(a));
    assert_string_equal(a, "T1");
    sf_txn_number(longid, a, sizeof(a));
    sf_txn_number(longid, b, sizeof(b));
    assert_int_equal(strlen(a), SF_TXN_NUMBER_MAX);
    assert_int_equal(a[0], '~');
    assert_string_equal(a, b);
}

/* Issue 12 item 2: LoyaltyProgramMember is created with the fields the
 * object reference requires: EnrollmentDate, MemberType, MemberStatus. */
static void program_member_fields(void **state)
{
    const char *members[1] = {"M1"}, *cids[1] = {"003Sm0000000001AAA"};
    json_t *root, *r;
    char *body;

    (void)state;
    body = sf_program_member_body("0lpSm0000000001AAA", members, cids, "2026-12-07", 1);
    root = json_loads(body, 0, NULL);
    r = json_array_get(json_object_get(root, "records"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "EnrollmentDate")), "2026-12-07");
    assert_string_equal(json_string_value(json_object_get(r, "MemberType")), "Individual");
    assert_string_equal(json_string_value(json_object_get(r, "MemberStatus")), "Active");
    assert_string_equal(json_string_value(json_object_get(r, "ProgramId")), "0lpSm0000000001AAA");
    assert_string_equal(json_string_value(json_object_get(r, "ContactId")), "003Sm0000000001AAA");
    json_decref(root);
    free(body);
}

/* Consent objects: sms is a Phone contact point told apart by its key; a
 * record round-trips through the pull parser to the same projection. */
static void consent_objects(void **state)
{
    char purpose[64], channel[16], member[64], field[128], proj[256], proj2[256];
    const char *cpt;
    const char *v = "{\"collected_at\":\"2026-11-01T10:00:00Z\",\"legal_basis\":\"consent\","
                    "\"source\":\"web_form\",\"status\":\"denied\"}";
    json_t *rec;
    char *value = NULL;
    int64_t mod = 0;
    (void)state;
    assert_int_equal(sf_consent_target("consent/marketing/sms", purpose, sizeof(purpose), channel,
                                       sizeof(channel), &cpt),
                     0);
    assert_string_equal(cpt, "Phone");
    assert_int_not_equal(sf_consent_target("consent/marketing/fax", purpose, sizeof(purpose),
                                           channel, sizeof(channel), &cpt),
                         0);
    rec = sf_cptc_record("M:1", "consent/marketing/sms", "0PKx", "0ZWx", "0eCx", v);
    assert_non_null(rec);
    /* SMS is told from phone by the EngagementChannelType, as Salesforce's
     * other tools read it. */
    assert_string_equal(json_string_value(json_object_get(rec, "EngagementChannelTypeId")), "0eCx");
    assert_string_equal(json_string_value(json_object_get(rec, "Consent_Key__c")),
                        "M:1:marketing:sms");
    assert_string_equal(json_string_value(json_object_get(rec, "PrivacyConsentStatus")), "OptOut");
    assert_string_equal(json_string_value(json_object_get(rec, "CaptureSource")), "web_form");
    json_object_set_new(rec, "SystemModstamp", json_string("2026-11-02T00:00:00.000+0000"));
    assert_int_equal(sf_cptc_row("sf", rec, member, sizeof(member), field, sizeof(field), &value,
                                 proj, sizeof(proj), &mod),
                     0);
    assert_string_equal(member, "M:1");
    assert_string_equal(field, "consent/marketing/sms");
    {
        struct sf_map om = map;
        om.consent_mode = SF_CONSENT_OBJECTS;
        assert_int_equal(sf_project(&om, CHANGE_CONSENT, field, v, proj2, sizeof(proj2)), 0);
        assert_string_equal(proj, proj2); /* our write read back is an echo */
    }
    free(value);
    json_decref(rec);
    /* A phone consent names no channel type: it is the Phone one. */
    rec = sf_cptc_record("M:1", "consent/marketing/phone", "0PKx", "0ZWx", "0eCx", v);
    assert_non_null(rec);
    assert_null(json_object_get(rec, "EngagementChannelTypeId"));
    json_decref(rec);
    assert_true(sf_consent_is_sms("consent/marketing/sms"));
    assert_false(sf_consent_is_sms("consent/marketing/phone"));
}

/* Erase looks members up by the external id: keys quoted, quotes and
 * backslashes escaped (a key must not end the literal). */
static void contacts_by_key(void **state)
{
    const char *keys[] = {"M1", "O'Neil\\x"};
    char *q;
    (void)state;
    q = sf_contacts_by_key_soql(&map, keys, 2);
    assert_string_equal(q, "SELECT Id, Member_Key__c FROM Contact WHERE Member_Key__c IN "
                           "('M1','O\\'Neil\\\\x')");
    free(q);
}

/* A deleted Contact's marker is never an id to address. */
static void deleted_contact_id(void **state)
{
    (void)state;
    assert_string_equal(sf_contact_id("003Sm0000000001AAA"), "003Sm0000000001AAA");
    assert_null(sf_contact_id("deleted:003Sm0000000001AAA"));
    assert_null(sf_contact_id(""));
    assert_null(sf_contact_id(NULL));
}

/* One watermark holds every cursor; the pull query reads deleted rows. */
static void watermark_cursors(void **state)
{
    char wm[256], *q;
    (void)state;
    assert_int_equal(sf_watermark_text(5, "003A", 0, 0, 0, wm, sizeof(wm)), 0);
    assert_string_equal(wm, "{\"id\":\"003A\",\"t\":5}");
    assert_int_equal(sf_watermark_text(5, "003A", 7, 9, 0, wm, sizeof(wm)), 0);
    assert_string_equal(wm, "{\"cptc\":9,\"id\":\"003A\",\"lmc\":7,\"t\":5}");
    assert_int_equal(sf_watermark_text(5, "003A", 7, 9, 0, wm, 10), -1);
    /* Issue 12 item 7: the getDeleted sweep position is kept too. */
    assert_int_equal(sf_watermark_text(5, "003A", 0, 0, 11, wm, sizeof(wm)), 0);
    assert_string_equal(wm, "{\"del\":11,\"id\":\"003A\",\"t\":5}");
    q = sf_contact_soql(&map, 0, "", 10);
    assert_non_null(strstr(q, "IsDeleted"));
    free(q);
}

/* Issue 12 item 6: the JWT aud is login or test.salesforce.com (or an
 * Experience Cloud site), never a My Domain URL; configurable. */
static void aud_is(const char *login, const char *configured, const char *want)
{
    char *aud = sf_jwt_audience(login, configured);
    assert_non_null(aud);
    assert_string_equal(aud, want);
    free(aud);
}

static void jwt_audience(void **state)
{
    char longer[1200];
    (void)state;
    aud_is("https://acme.my.salesforce.com", NULL, "https://login.salesforce.com");
    aud_is("https://acme--uat.sandbox.my.salesforce.com", NULL, "https://test.salesforce.com");
    aud_is("https://test.salesforce.com", NULL, "https://test.salesforce.com");
    aud_is("http://127.0.0.1:8080", NULL, "http://127.0.0.1:8080");
    aud_is("https://acme.my.salesforce.com", "https://acme.my.site.com",
           "https://acme.my.site.com");
    /* Issue 14 item 13: a long configured audience is not cut (it was at
     * 511 bytes, and the token endpoint refused the assertion). */
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "https://", 8);
    aud_is("https://acme.my.salesforce.com", longer, longer);
    /* 3 minutes at most, with room for skew. */
    assert_true(SF_JWT_LIFETIME_S <= 150);
}

/* A query's path is sized to the query: a SOQL of 20 kB (a lookup of many
 * keys) with a 500-character api_version is kept whole (the fixed 1024-byte
 * sf_data_path and the enc + 64 buffers after it cut it silently), and one
 * past SF_PATH_MAX fails instead of being cut (issue 14 item 13). */
static void query_path_is_not_cut(void **state)
{
    static const char head[] = "SELECT Id FROM Contact WHERE Member_Key__c IN ('";
    static const char head_enc[] =
        "SELECT%20Id%20FROM%20Contact%20WHERE%20Member_Key__c%20IN%20%28%27";
    size_t n = 20000, keys = n - strlen(head) - 2;
    char *soql = malloc(n + 1), *big = malloc(SF_PATH_MAX + 1), version[501], *path;
    (void)state;

    assert_non_null(soql);
    assert_non_null(big);
    memcpy(soql, head, strlen(head));
    memset(soql + strlen(head), 'k', keys);
    memcpy(soql + n - 2, "')", 3);
    memset(version, 'v', sizeof(version) - 1);
    version[sizeof(version) - 1] = '\0';
    path = sf_query_path(version, "query", soql);
    assert_non_null(path);
    assert_int_equal(strncmp(path, "/services/data/", 15), 0);
    assert_int_equal(strncmp(path + 15, version, strlen(version)), 0);
    assert_int_equal(strncmp(path + 15 + strlen(version), "/query?q=", 9), 0);
    assert_int_equal(strncmp(path + 15 + strlen(version) + 9, head_enc, strlen(head_enc)), 0);
    assert_int_equal(strlen(path),
                     15 + strlen(version) + 9 + strlen(head_enc) + keys + strlen("%27%29"));
    assert_string_equal(path + strlen(path) - 6, "%27%29");
    free(path);
    memset(big, 'x', SF_PATH_MAX);
    big[SF_PATH_MAX] = '\0';
    assert_null(sf_query_path("v66.0", "queryAll", big));
    free(big);
    free(soql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_table_is_valid),
        cmocka_unit_test(batch_classes),
        cmocka_unit_test(a_batch_is_one_request_unless_it_goes_to_bulk),
        cmocka_unit_test(projection),
        cmocka_unit_test(one_record_per_member),
        cmocka_unit_test(upsert_body_is_what_jansson_wrote),
        cmocka_unit_test(cursor_soql),
        cmocka_unit_test(bulk_csv),
        cmocka_unit_test(bulk_failed_row_by_key),
        cmocka_unit_test(loyalty_journal),
        cmocka_unit_test(journal_fields),
        cmocka_unit_test(journal_number_bounded),
        cmocka_unit_test(program_member_fields),
        cmocka_unit_test(jwt_audience),
        cmocka_unit_test(consent_objects),
        cmocka_unit_test(contacts_by_key),
        cmocka_unit_test(deleted_contact_id),
        cmocka_unit_test(watermark_cursors),
        cmocka_unit_test(query_path_is_not_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
