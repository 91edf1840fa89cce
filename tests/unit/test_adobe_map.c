/* Adobe Campaign: envelopes, XTK literals, safe parsing, faults, the
 * mapping and query rows (connectors/adobe_xml.c, adobe_map.c, adobe_compose.c,
 * adobe_logon.c, adobe_query.c, adobe_rows.c). */
#include "cmocka_setup.h"

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"
#include "change_json.h"
#include "connector.h"

static struct acc_map map;

static int setup(void **state)
{
    struct acc_map_config c = {
        "@memberKey",
        "loyaltyPoints",
        "loyaltyTier",
        "email=email,first_name=firstName",
        "marketing/email=newsletter, loyalty_programme/email=loyaltyNews, marketing/sms=smsOffers",
        "marketing,loyalty_programme",
        "email=blackListEmail,sms=blackListMobile",
        0,
        0,
        NULL,
    };
    struct error err = {""};
    (void)state;
    return acc_map_init(&map, &c, &err);
}

static int teardown(void **state)
{
    (void)state;
    acc_map_free(&map);
    return 0;
}

static void xtk_literals_escape_quotes_and_backslashes(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(acc_xtk_string("O'Brien\\x", out, sizeof(out)), 0);
    assert_string_equal(out, "'O\\'Brien\\\\x'");
    /* An injection attempt stays inside the literal. */
    assert_int_equal(acc_xtk_string("' OR 1=1 OR @x='", out, sizeof(out)), 0);
    assert_string_equal(out, "'\\' OR 1=1 OR @x=\\''");
    assert_int_equal(acc_xtk_string("a\rb", out, sizeof(out)), -1);
    assert_int_equal(acc_xtk_string("too long for this", out, 8), -1);
    assert_int_equal(acc_xtk_datetime(1796601600123LL, out, sizeof(out)), 0);
    assert_string_equal(out, "#2026-12-07 00:00:00.123Z#");
}

static void datetimes_parse_in_campaign_forms(void **state)
{
    int64_t ms = 0;
    (void)state;
    assert_int_equal(acc_parse_datetime("2026-12-07 00:00:00.123Z", &ms), 0);
    assert_int_equal(ms, 1796601600123LL);
    assert_int_equal(acc_parse_datetime("2026-12-07T00:00:01Z", &ms), 0);
    assert_int_equal(ms, 1796601601000LL);
    assert_int_equal(acc_parse_datetime("2026-12-07", &ms), 0);
    assert_int_equal(ms, 1796601600000LL);
    assert_int_equal(acc_parse_datetime("2026-13-07", &ms), -1);
    assert_int_equal(acc_parse_datetime("2026-12-07 00:00", &ms), -1);
}

static struct push_record rec(const char *member, enum change_kind kind, const char *field,
                              const char *value)
{
    struct push_record r;
    memset(&r, 0, sizeof(r));
    r.seq = 1;
    r.member_key = member;
    r.kind = kind;
    r.field = field;
    r.value_json = value;
    return r;
}

static void write_collection_is_built_by_the_writer(void **state)
{
    struct push_record recs[4];
    struct push_result res[4] = {0};
    size_t g0[] = {0, 1, 2}, g1[] = {3};
    size_t *groups[] = {g0, g1};
    size_t ng[] = {3, 1};
    char *body;
    xmlDocPtr doc = NULL;
    char why[128];
    (void)state;
    recs[0] = rec("M<1>&\"", CHANGE_PROFILE, "profile/email", "{\"value\":\"a&b@x.org\"}");
    recs[1] = rec("M<1>&\"", CHANGE_POINTS, "points/balance", "{\"balance\":120}");
    recs[2] = rec("M<1>&\"", CHANGE_SEGMENT, "segment/vip", "{\"since\":1,\"status\":\"in\"}");
    recs[3] = rec("M2", CHANGE_TIER, "tier", "{\"value\":\"gold\"}");
    push_results_clear(res, 4);
    memset(res, 0, sizeof(res));
    body = acc_compose_write(&map, "", "insertOrUpdate", recs, groups, ng, 2, res);
    assert_non_null(body);
    assert_non_null(strstr(body, "<m:WriteCollection "));
    assert_non_null(strstr(body, "xmlns:m=\"urn:xtk:session\""));
    assert_non_null(strstr(body, "<recipient-collection xtkschema=\"nms:recipient\">"));
    assert_non_null(strstr(body, "_operation=\"insertOrUpdate\" _key=\"@memberKey\" "
                                 "memberKey=\"M&lt;1&gt;&amp;&quot;\""));
    assert_non_null(strstr(body, "email=\"a&amp;b@x.org\""));
    assert_non_null(strstr(body, "loyaltyPoints=\"120\""));
    assert_non_null(strstr(body, "<rcpGrpRel _key=\"[rcpGroup/@name]\" "
                                 "_operation=\"insertOrUpdate\"><rcpGroup name=\"vip\"/>"));
    assert_non_null(strstr(body, "loyaltyTier=\"gold\""));
    /* It parses back as one envelope. */
    assert_int_equal(acc_parse_response(body, strlen(body), 1 << 20, &doc, why, sizeof(why)), 0);
    assert_string_equal((const char *)acc_body_first(doc)->name, "WriteCollection");
    xmlFreeDoc(doc);
    free(body);

    /* One member: a Write, and an unmapped field is rejected, not sent. */
    recs[0] = rec("M1", CHANGE_PROFILE, "profile/shoe_size", "{\"value\":\"44\"}");
    push_results_clear(res, 4);
    memset(res, 0, sizeof(res));
    body = acc_compose_write(&map, "", "insertOrUpdate", recs, groups, ng, 1, res);
    assert_non_null(strstr(body, "<m:Write "));
    assert_non_null(strstr(body, "<domDoc xsi:type=\"ns:Element\""));
    assert_int_equal(res[0].outcome, PUSH_REJECT);
    assert_null(strstr(body, "shoe"));
    free(body);

    /* create_groups = no: the list is reconciled, never inserted. */
    recs[0] = rec("M1", CHANGE_SEGMENT, "segment/vip", "{\"since\":1,\"status\":\"in\"}");
    push_results_clear(res, 4);
    memset(res, 0, sizeof(res));
    map.groups_must_exist = 1;
    body = acc_compose_write(&map, "", "insertOrUpdate", recs, groups, ng, 1, res);
    map.groups_must_exist = 0;
    assert_non_null(strstr(body, "<rcpGroup name=\"vip\" _operation=\"none\"/>"));
    free(body);
    push_results_clear(res, 4);
}

static void erase_is_a_delete_by_key(void **state)
{
    struct push_record recs[1];
    struct push_result res[1] = {0};
    size_t g0[] = {0};
    size_t *groups[] = {g0};
    size_t ng[] = {1};
    char *body;
    (void)state;
    recs[0] = rec("M9", CHANGE_ERASE, "erase", "{}");
    push_results_clear(res, 1);
    memset(res, 0, sizeof(res));
    body = acc_compose_write(&map, "", "delete", recs, groups, ng, 1, res);
    assert_non_null(strstr(body, "_operation=\"delete\" _key=\"@memberKey\" memberKey=\"M9\"/>"));
    free(body);
    push_results_clear(res, 1);
}

static void consent_maps_to_one_service_never_empty(void **state)
{
    struct push_record r;
    const char *svc = NULL;
    int grant = -1;
    char why[200];
    char *body;
    (void)state;
    r = rec("M1", CHANGE_CONSENT, "consent/marketing/sms",
            "{\"collected_at\":\"2026-12-01T00:00:00Z\",\"status\":\"denied\"}");
    assert_int_equal(acc_consent_target(&map, &r, &svc, &grant, why, sizeof(why)), 0);
    assert_string_equal(svc, "smsOffers");
    assert_int_equal(grant, 0);
    r.field = "consent/profiling/email";
    assert_int_equal(acc_consent_target(&map, &r, &svc, &grant, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "profiling/email"));
    assert_null(acc_compose_subscription(&map, "", 0, "", "M1"));
    body = acc_compose_subscription(&map, "", 0, "newsletter", "M1");
    assert_non_null(strstr(body, "<m:Unsubscribe "));
    assert_non_null(strstr(body, "xmlns:m=\"urn:nms:subscription\""));
    assert_non_null(strstr(body, "<strServiceName xsi:type=\"xsd:string\">newsletter<"));
    assert_non_null(strstr(body, "<recipient _key=\"@memberKey\" memberKey=\"M1\"/>"));
    assert_null(strstr(body, "bCreate"));
    free(body);
    body = acc_compose_subscription(&map, "", 1, "newsletter", "M1");
    assert_non_null(strstr(body, "<bCreate xsi:type=\"xsd:boolean\">true</bCreate>"));
    free(body);
}

static void denylist_flags_only_by_choice(void **state)
{
    struct push_record recs[2];
    struct push_result res[2] = {0};
    size_t g0[] = {0, 1};
    size_t *groups[] = {g0};
    size_t ng[] = {2};
    char *body;
    (void)state;
    recs[0] = rec("M1", CHANGE_CONSENT, "consent/marketing/email",
                  "{\"collected_at\":\"2026-12-01T00:00:00Z\",\"status\":\"denied\"}");
    recs[1] = rec("M1", CHANGE_CONSENT, "consent/marketing/sms",
                  "{\"collected_at\":\"2026-12-01T00:00:00Z\",\"status\":\"granted\"}");
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    body = acc_compose_write(&map, "", "update", recs, groups, ng, 1, res);
    assert_null(strstr(body, "blackList"));
    free(body);
    map.denylist_write = 1;
    body = acc_compose_write(&map, "", "update", recs, groups, ng, 1, res);
    map.denylist_write = 0;
    assert_non_null(strstr(body, "blackListEmail=\"1\""));
    /* A grant never clears a flag. */
    assert_null(strstr(body, "blackListMobile"));
    free(body);
    push_results_clear(res, 2);
}

static void queries_escape_in_two_layers(void **state)
{
    struct acc_keyset ks = {1796601600000LL, 42};
    char *body;
    (void)state;
    body = acc_compose_recipient_query(&map, "", &ks, 200);
    assert_non_null(body);
    assert_non_null(strstr(body, "<queryDef schema=\"nms:recipient\" operation=\"select\" "
                                 "lineCount=\"200\">"));
    /* ">" and quotes of the XTK expression are escaped by the writer. */
    assert_non_null(strstr(body, "(@lastModified &gt; #2026-12-07 00:00:00.000Z# OR "
                                 "(@lastModified = #2026-12-07 00:00:00.000Z# AND @id &gt; 42))"));
    assert_non_null(strstr(body, "<orderBy><node expr=\"@lastModified\"/><node expr=\"@id\"/>"));
    assert_non_null(strstr(body, "<node expr=\"@blackListEmail\"/>"));
    free(body);
    body = acc_compose_subhisto_query(&map, "", 1796601600000LL, 200, 100);
    assert_non_null(strstr(body, "schema=\"nms:subHisto\""));
    assert_non_null(strstr(body, "startLine=\"200\""));
    assert_non_null(strstr(body, "<node expr=\"[recipient/@memberKey]\"/>"));
    free(body);
}

static void responses_with_doctype_or_over_cap_are_refused(void **state)
{
    const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                       "<!ENTITY lol2 \"&lol;&lol;&lol;\">]><a>&lol2;</a>";
    const char *ext = "<?xml version=\"1.0\"?><!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>";
    const char *fine = "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/"
                       "envelope/\"><SOAP-ENV:Body><WriteResponse/></SOAP-ENV:Body>"
                       "</SOAP-ENV:Envelope>";
    xmlDocPtr doc = NULL;
    char why[128];
    (void)state;
    assert_int_equal(acc_parse_response(bomb, strlen(bomb), 1 << 20, &doc, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "DOCTYPE"));
    assert_int_equal(acc_parse_response(ext, strlen(ext), 1 << 20, &doc, why, sizeof(why)), -1);
    assert_int_equal(acc_parse_response(fine, strlen(fine), 20, &doc, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "cap"));
    assert_int_equal(acc_parse_response("<a>", 3, 1 << 20, &doc, why, sizeof(why)), -1);
    assert_int_equal(acc_parse_response(fine, strlen(fine), 1 << 20, &doc, why, sizeof(why)), 0);
    assert_string_equal((const char *)acc_body_first(doc)->name, "WriteResponse");
    xmlFreeDoc(doc);
}

static const char *fault_body(const char *text)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:SOAP-ENV="
             "\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Body><SOAP-ENV:Fault>"
             "<faultcode>SOAP-ENV:Server</faultcode><faultstring xsi:type=\"xsd:string\" "
             "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">%s</faultstring>"
             "<detail xsi:type=\"xsd:string\" xmlns:xsi=\"http://www.w3.org/2001/"
             "XMLSchema-instance\">more</detail></SOAP-ENV:Fault></SOAP-ENV:Body>"
             "</SOAP-ENV:Envelope>",
             text);
    return buf;
}

static void faults_are_classified_by_campaign_code(void **state)
{
    struct acc_fault f;
    const char *b;
    char code[32], msg[200];
    (void)state;
    b = fault_body("XSV-350008 Session has expired or is invalid. Please reconnect.");
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "XSV-350013", &f), 1);
    assert_string_equal(f.code, "XSV-350008");
    assert_int_equal(f.cls, ACC_FAULT_AUTH);
    b = fault_body("XSV-350114 Unable to validate the IMS token (401)");
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "XSV-350013", &f), 1);
    assert_int_equal(f.cls, ACC_FAULT_AUTH);
    b = fault_body("XSV-350013 Your IP address is not allowed");
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "XSV-350013, XSV-350001", &f), 1);
    assert_int_equal(f.cls, ACC_FAULT_STOP);
    b = fault_body("PGS-220000 PostgreSQL error: value too long for type character varying(80)");
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "XSV-350013", &f), 1);
    assert_int_equal(f.cls, ACC_FAULT_DATA);
    assert_string_equal(f.code, "PGS-220000");
    assert_non_null(strstr(f.text, "value too long"));
    assert_non_null(strstr(f.text, "more"));
    acc_error_of(b, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "PGS-220000");
    /* No Campaign code and no method-execution error: the server's own
     * failure, not the records'. */
    b = fault_body("internal error");
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "XSV-350013", &f), 1);
    assert_string_equal(f.code, "");
    assert_int_equal(f.cls, ACC_FAULT_SERVER);
    /* The data fault of Adobe's "Data oriented APIs" example has no code. */
    b = fault_body("Error while executing the method 'Write' of service 'xtk:persist'.");
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "XSV-350013", &f), 1);
    assert_int_equal(f.cls, ACC_FAULT_DATA);
    b = "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<SOAP-ENV:Body><WriteResponse/></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    assert_int_equal(acc_fault_parse(b, strlen(b), 1 << 20, "", &f), 0);
    assert_int_equal(acc_fault_parse("not xml", 7, 1 << 20, "", &f), -1);
}

static void logon_tokens_are_read(void **state)
{
    const char *b = "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/"
                    "envelope/\"><SOAP-ENV:Body><BearerTokenLogonResponse xmlns=\"urn:xtk:"
                    "session\"><pstrSessionToken>S1</pstrSessionToken><pSessionInfo/>"
                    "<pstrSecurityToken>T1</pstrSecurityToken></BearerTokenLogonResponse>"
                    "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
    char s[64], t[64];
    char *req;
    (void)state;
    assert_int_equal(acc_parse_logon(b, strlen(b), 1 << 20, s, sizeof(s), t, sizeof(t)), 0);
    assert_string_equal(s, "S1");
    assert_string_equal(t, "T1");
    req = acc_compose_bearer_logon("tok<en>");
    assert_non_null(strstr(req, "<bearerToken xsi:type=\"xsd:string\">tok&lt;en&gt;<"));
    free(req);
}

static void rows_give_profile_and_denylist_withdrawals(void **state)
{
    const char *b =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<SOAP-ENV:Body><ExecuteQueryResponse xmlns=\"urn:xtk:queryDef\"><pdomOutput>"
        "<recipient-collection>"
        "<recipient id=\"7\" lastModified=\"2026-12-07 00:00:00.000Z\" memberKey=\"M1\" "
        "email=\"a@x.org\" loyaltyPoints=\"50\" blackList=\"0\" blackListEmail=\"1\"/>"
        "<recipient id=\"8\" lastModified=\"2026-12-07 00:00:01.000Z\" memberKey=\"M2\" "
        "blackList=\"1\"/>"
        "<recipient id=\"9\" lastModified=\"2026-12-07 00:00:01.000Z\"/>"
        "</recipient-collection></pdomOutput></ExecuteQueryResponse></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>";
    xmlDocPtr doc = NULL;
    xmlNodePtr row;
    struct acc_row_field f[16];
    char key[64], why[128];
    int64_t id, when;
    int n;
    (void)state;
    assert_int_equal(acc_parse_response(b, strlen(b), 1 << 20, &doc, why, sizeof(why)), 0);
    row = acc_query_rows(doc);
    assert_non_null(row);
    n = acc_row_fields(&map, row, f, 16, key, sizeof(key), &id, &when);
    assert_string_equal(key, "M1");
    assert_int_equal(id, 7);
    assert_int_equal(when, 1796601600000LL);
    /* email, first name (asked for, not returned: held empty, observed
     * only), points (observed), 2 email withdrawals */
    assert_int_equal(n, 5);
    assert_string_equal(f[0].field, "profile/email");
    assert_string_equal(f[0].projection, "a@x.org");
    assert_false(f[0].observe_only);
    assert_string_equal(f[1].field, "profile/first_name");
    assert_true(f[1].observe_only);
    assert_string_equal(f[1].projection, "");
    assert_int_equal(f[2].kind, CHANGE_POINTS);
    assert_true(f[2].observe_only);
    assert_string_equal(f[3].field, "consent/marketing/email");
    assert_string_equal(f[4].field, "consent/loyalty_programme/email");
    assert_non_null(strstr(f[4].value_json, "\"denied\""));
    /* @blackList: every purpose on every channel. */
    row = acc_next(row, NULL);
    n = acc_row_fields(&map, row, f, 16, key, sizeof(key), &id, &when);
    assert_int_equal(n, 6);
    assert_string_equal(f[4].field, "consent/marketing/sms");
    /* No member key: not ours. */
    row = acc_next(row, NULL);
    assert_int_equal(acc_row_fields(&map, row, f, 16, key, sizeof(key), &id, &when), -1);
    xmlFreeDoc(doc);
}

static void projection_and_classes(void **state)
{
    char out[64];
    struct push_record r = rec("M", CHANGE_SEGMENT, "segment/vip", "{\"status\":\"out\"}");
    (void)state;
    assert_int_equal(
        acc_project(&map, CHANGE_SEGMENT, "segment/vip", "{\"status\":\"out\"}", out, sizeof(out)),
        0);
    assert_string_equal(out, "out");
    assert_int_equal(
        acc_project(&map, CHANGE_CONSENT, "consent/marketing/email",
                    "{\"collected_at\":\"2026-12-01T00:00:00Z\",\"status\":\"granted\"}", out,
                    sizeof(out)),
        0);
    assert_string_equal(out, "granted");
    acc_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "segments");
    r.kind = CHANGE_PROFILE;
    acc_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "recipients");
}

static void option_table_is_valid(void **state)
{
    const struct connector_ops *ops = connector_find_type("adobe_campaign");
    struct error err = {""};
    (void)state;
    assert_non_null(ops);
    assert_int_equal(ops->max_batch, ACC_BATCH_MAX);
    assert_non_null(ops->batch_max);
    assert_int_equal(config_table_validate(ops->config, &err), 0);
    assert_non_null(config_option_find(ops->config, "lookback"));
    assert_non_null(config_option_find(ops->config, "request_timeout"));
}

static void grant_guard_query_escapes_keys(void **state)
{
    const char *keys[] = {"M1", "O'Hara\\"};
    char *body;
    (void)state;
    body = acc_compose_flags_query(&map, "", keys, 2);
    assert_non_null(body);
    /* XTK literal escaping, then XML attribute escaping. */
    assert_non_null(strstr(body, "expr=\"@memberKey = 'M1' OR @memberKey = 'O\\'Hara\\\\'\""));
    assert_non_null(strstr(body, "<node expr=\"@lastModified\"/>"));
    free(body);
}

static void subhisto_rows_are_consents_of_mapped_services(void **state)
{
    const char *b =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<SOAP-ENV:Body><ExecuteQueryResponse xmlns=\"urn:xtk:queryDef\"><pdomOutput>"
        "<subHisto-collection>"
        "<subHisto id=\"31\" action=\"0\" date=\"2026-12-07 00:00:02.000Z\">"
        "<service name=\"smsOffers\"/><recipient memberKey=\"M1\"/></subHisto>"
        "<subHisto id=\"32\" action=\"0\" date=\"2026-12-07 00:00:03.000Z\">"
        "<service name=\"unmapped\"/><recipient memberKey=\"M1\"/></subHisto>"
        "</subHisto-collection></pdomOutput></ExecuteQueryResponse></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>";
    xmlDocPtr doc = NULL;
    xmlNodePtr row;
    struct acc_row_field f;
    char member[64], ref[64], why[128];
    int64_t when = 0;
    (void)state;
    assert_int_equal(acc_parse_response(b, strlen(b), 1 << 20, &doc, why, sizeof(why)), 0);
    row = acc_query_rows(doc);
    assert_int_equal(
        acc_histo_field(&map, row, &f, member, sizeof(member), ref, sizeof(ref), &when), 0);
    assert_string_equal(member, "M1");
    assert_string_equal(f.field, "consent/marketing/sms");
    assert_string_equal(f.projection, "denied");
    assert_string_equal(ref, "subHisto 31");
    assert_int_equal(when, 1796601602000LL);
    row = acc_next(row, NULL);
    assert_int_equal(
        acc_histo_field(&map, row, &f, member, sizeof(member), ref, sizeof(ref), &when), -1);
    xmlFreeDoc(doc);
}

static void membership_rows_name_member_and_segment(void **state)
{
    const char *b =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<SOAP-ENV:Body><ExecuteQueryResponse xmlns=\"urn:xtk:queryDef\"><pdomOutput>"
        "<rcpGrpRel-collection><rcpGrpRel><rcpGroup name=\"vip\"/><recipient memberKey=\"M1\"/>"
        "</rcpGrpRel><rcpGrpRel><rcpGroup name=\"vip\"/><recipient/></rcpGrpRel>"
        "</rcpGrpRel-collection></pdomOutput></ExecuteQueryResponse></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>";
    xmlDocPtr doc = NULL;
    xmlNodePtr row;
    char member[64], field[64], why[128];
    char *q;
    (void)state;
    q = acc_compose_members_query(&map, "", 200, 100);
    assert_non_null(strstr(q, "schema=\"nms:rcpGrpRel\""));
    assert_non_null(strstr(q, "<node expr=\"[rcpGroup/@name]\"/>"));
    assert_non_null(strstr(q, "expr=\"[recipient/@memberKey] IS NOT NULL\""));
    free(q);
    assert_int_equal(acc_parse_response(b, strlen(b), 1 << 20, &doc, why, sizeof(why)), 0);
    row = acc_query_rows(doc);
    assert_int_equal(acc_member_row(&map, row, member, sizeof(member), field, sizeof(field)), 0);
    assert_string_equal(member, "M1");
    assert_string_equal(field, "segment/vip");
    row = acc_next(row, NULL);
    assert_int_equal(acc_member_row(&map, row, member, sizeof(member), field, sizeof(field)), -1);
    xmlFreeDoc(doc);
}

/* The recipients not in a list: the collection link filtered with
 * setOperator="NOT EXISTS" (Data oriented APIs, Examples on links), the
 * list name an escaped XTK literal inside the inner condition. */
static void absent_query_filters_the_collection_link(void **state)
{
    char *q;
    (void)state;
    q = acc_compose_absent_query(&map, "", "O'Hara club", 42, 200);
    assert_non_null(q);
    assert_non_null(strstr(q, "schema=\"nms:recipient\""));
    assert_non_null(strstr(q, "lineCount=\"200\""));
    assert_non_null(strstr(q, "expr=\"@id &gt; 42 AND @memberKey IS NOT NULL\""));
    assert_non_null(strstr(q, "<condition expr=\"rcpGrpRel\" setOperator=\"NOT EXISTS\">"
                              "<condition expr=\"[rcpGroup/@name] = 'O\\'Hara club'\"/>"
                              "</condition>"));
    assert_non_null(strstr(q, "<orderBy><node expr=\"@id\"/></orderBy>"));
    free(q);
    assert_null(acc_compose_absent_query(&map, "", "bad\001name", 0, 200));
}

/* The lists Campaign has, by @id: a full read walks each (issue 13: a
 * list with no member has no nms:rcpGrpRel row to be found by). */
static void groups_query_pages_the_lists_by_id(void **state)
{
    char *q;
    (void)state;
    q = acc_compose_groups_query("", 17, 200);
    assert_non_null(q);
    assert_non_null(strstr(q, "schema=\"nms:group\" operation=\"select\" lineCount=\"200\""));
    assert_non_null(strstr(q, "<select><node expr=\"@id\"/><node expr=\"@name\"/></select>"));
    assert_non_null(strstr(q, "<where><condition expr=\"@id &gt; 17\"/></where>"));
    assert_non_null(strstr(q, "<orderBy><node expr=\"@id\"/></orderBy>"));
    free(q);
}

/* A batch of a write class is one WriteCollection of batch_size members
 * at most (issue 13: "up to the configured batch"); consent batches stay
 * at ACC_CONSENT_BATCH members. */
static void batch_max_is_batch_size(void **state)
{
    (void)state;
    assert_int_equal(acc_batch_max("recipients", 100), 100);
    assert_int_equal(acc_batch_max("recipients", 250), 250);
    assert_int_equal(acc_batch_max("segments", 300), 300);
    assert_int_equal(acc_batch_max("erase", 1000), 1000);
    assert_int_equal(acc_batch_max("recipients", 1), 1);
    assert_int_equal(acc_batch_max("consent", 500), ACC_CONSENT_BATCH);
}

static void bad_options_are_refused(void **state)
{
    struct acc_map m;
    struct error err = {""};
    struct acc_map_config c = {"memberKey", "", "", "", "", "", "", 0, 0, NULL};
    (void)state;
    assert_int_equal(acc_map_init(&m, &c, &err), -1);
    assert_non_null(strstr(err.msg, "key"));
    c.key = "@memberKey";
    c.services = "marketing=newsletter";
    assert_int_equal(acc_map_init(&m, &c, &err), -1);
    assert_non_null(strstr(err.msg, "purpose/channel"));
}

/* Tiers in the runtime (crm_tier.h), as HubSpot has them: with `tiers`, a
 * balance written to Campaign carries the tier derived from it in the same
 * recipient, an explicit tier record beside it is not written twice, the
 * projection (shadow) covers both, and the pull observes both, so a tier
 * changed in Campaign is written back. Without tiers nothing changes. */
static void tiers_are_derived_from_the_balance(void **state)
{
    struct acc_map_config c = {"@memberKey",
                               "loyaltyPoints",
                               "loyaltyTier",
                               "",
                               "",
                               "",
                               "",
                               0,
                               0,
                               "bronze:0,silver:1000,gold:5000"};
    const char *b =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<SOAP-ENV:Body><ExecuteQueryResponse xmlns=\"urn:xtk:queryDef\"><pdomOutput>"
        "<recipient-collection>"
        "<recipient id=\"7\" lastModified=\"2026-12-07 00:00:00.000Z\" memberKey=\"M1\" "
        "loyaltyPoints=\"1200\" loyaltyTier=\"gold\"/>"
        "</recipient-collection></pdomOutput></ExecuteQueryResponse></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>";
    struct acc_map m;
    struct error err = {""};
    struct push_record recs[2];
    struct push_result res[2] = {0};
    size_t g0[] = {0, 1};
    size_t *groups[] = {g0};
    size_t ng[] = {2};
    struct acc_row_field f[8];
    char *body, out[64], key[64], why[128];
    xmlDocPtr doc = NULL;
    int64_t id, when;
    int n;
    (void)state;
    assert_int_equal(acc_map_init(&m, &c, &err), 0);
    recs[0] = rec("M1", CHANGE_POINTS, "points/balance", "{\"balance\":1200}");
    recs[1] = rec("M1", CHANGE_TIER, "tier", "{\"value\":\"gold\"}");
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    body = acc_compose_write(&m, "", "insertOrUpdate", recs, groups, ng, 1, res);
    assert_non_null(body);
    assert_non_null(strstr(body, "loyaltyPoints=\"1200\" loyaltyTier=\"silver\""));
    assert_null(strstr(body, "gold"));
    assert_int_not_equal(res[1].outcome, PUSH_REJECT);
    free(body);
    /* Below the first minimum: the tier is cleared. */
    recs[0] = rec("M1", CHANGE_POINTS, "points/balance", "{\"balance\":-5}");
    ng[0] = 1;
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    body = acc_compose_write(&m, "", "insertOrUpdate", recs, groups, ng, 1, res);
    assert_non_null(strstr(body, "loyaltyPoints=\"-5\" loyaltyTier=\"\""));
    free(body);
    assert_int_equal(
        acc_project(&m, CHANGE_POINTS, "points/balance", "{\"balance\":1200}", out, sizeof(out)),
        0);
    assert_string_equal(out, "1200|silver");
    assert_int_equal(acc_parse_response(b, strlen(b), 1 << 20, &doc, why, sizeof(why)), 0);
    n = acc_row_fields(&m, acc_query_rows(doc), f, 8, key, sizeof(key), &id, &when);
    assert_int_equal(n, 2);
    assert_int_equal(f[0].kind, CHANGE_POINTS);
    assert_string_equal(f[0].projection, "1200|gold"); /* differs: written back */
    xmlFreeDoc(doc);
    acc_map_free(&m);
    /* Without tiers: the balance alone, as before. */
    assert_int_equal(
        acc_project(&map, CHANGE_POINTS, "points/balance", "{\"balance\":1200}", out, sizeof(out)),
        0);
    assert_string_equal(out, "1200");
    /* Tiers need somewhere to go. */
    c.tier_attr = "";
    assert_int_equal(acc_map_init(&m, &c, &err), -1);
    assert_non_null(strstr(err.msg, "tier_attribute"));
    c.tier_attr = "loyaltyTier";
    c.tiers = "gold:5000,silver:1000";
    assert_int_equal(acc_map_init(&m, &c, &err), -1);
    assert_non_null(strstr(err.msg, "ascend"));
    push_results_clear(res, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xtk_literals_escape_quotes_and_backslashes),
        cmocka_unit_test(datetimes_parse_in_campaign_forms),
        cmocka_unit_test(write_collection_is_built_by_the_writer),
        cmocka_unit_test(erase_is_a_delete_by_key),
        cmocka_unit_test(consent_maps_to_one_service_never_empty),
        cmocka_unit_test(denylist_flags_only_by_choice),
        cmocka_unit_test(queries_escape_in_two_layers),
        cmocka_unit_test(responses_with_doctype_or_over_cap_are_refused),
        cmocka_unit_test(faults_are_classified_by_campaign_code),
        cmocka_unit_test(logon_tokens_are_read),
        cmocka_unit_test(rows_give_profile_and_denylist_withdrawals),
        cmocka_unit_test(projection_and_classes),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(tiers_are_derived_from_the_balance),
        cmocka_unit_test(membership_rows_name_member_and_segment),
        cmocka_unit_test(absent_query_filters_the_collection_link),
        cmocka_unit_test(groups_query_pages_the_lists_by_id),
        cmocka_unit_test(batch_max_is_batch_size),
        cmocka_unit_test(option_table_is_valid),
        cmocka_unit_test(grant_guard_query_escapes_keys),
        cmocka_unit_test(subhisto_rows_are_consents_of_mapped_services),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
