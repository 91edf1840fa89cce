/* Adobe flavour: the SOAP router. Parses the envelope with libxml2 (no
 * entity substitution, no DTD loading, no network, a DOCTYPE refused, size
 * capped), finds the method from the SOAPAction header or the ?soapAction=
 * query Adobe's client appends (body element as the last resort), checks
 * auth (IMS bearer on every call, or a session from BearerTokenLogon), and
 * answers with an envelope built by libxml2's writer. Faults are HTTP 500
 * SOAP-ENV:Fault with the Campaign error code first in faultstring. */
#include <arpa/inet.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adobe.h"

/* --- small DOM helpers --- */

xmlNodePtr ad_first_elem(xmlNodePtr n)
{
    for (xmlNodePtr c = n ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

xmlNodePtr ad_next_elem(xmlNodePtr n)
{
    for (xmlNodePtr c = n ? n->next : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

/* Attribute value (no namespace) into buf, or NULL when absent. */
const char *ad_attr(xmlNodePtr el, const char *name, char *buf, size_t bufsize)
{
    xmlChar *v;

    if (el == NULL)
        return NULL;
    v = xmlGetNoNsProp(el, BAD_CAST name);
    if (v == NULL)
        return NULL;
    snprintf(buf, bufsize, "%s", (const char *)v);
    xmlFree(v);
    return buf;
}

const char *ad_param_text(const struct ad_call *call, size_t i, char *buf, size_t bufsize)
{
    xmlChar *v;

    buf[0] = '\0';
    if (i >= call->nparams)
        return buf;
    v = xmlNodeGetContent(call->params[i]);
    if (v != NULL) {
        snprintf(buf, bufsize, "%s", (const char *)v);
        xmlFree(v);
    }
    return buf;
}

xmlNodePtr ad_param_doc(const struct ad_call *call, size_t i)
{
    return i < call->nparams ? ad_first_elem(call->params[i]) : NULL;
}

/* --- response writer --- */

static void envelope_start(xmlTextWriterPtr w)
{
    xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "SOAP-ENV:Envelope");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:xsd", BAD_CAST AD_NS_XSD);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:xsi", BAD_CAST AD_NS_XSI);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:ns", BAD_CAST "http://xml.apache.org/xml-soap");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:SOAP-ENV", BAD_CAST AD_NS_ENV);
    xmlTextWriterStartElement(w, BAD_CAST "SOAP-ENV:Body");
}

int ad_out_begin(struct ad_out *o, const char *urn, const char *method)
{
    char name[96], ns[128];

    o->buf = xmlBufferCreate();
    o->w = o->buf ? xmlNewTextWriterMemory(o->buf, 0) : NULL;
    if (o->w == NULL) {
        ad_out_free(o);
        return -1;
    }
    envelope_start(o->w);
    snprintf(name, sizeof(name), "%sResponse", method);
    snprintf(ns, sizeof(ns), "urn:%s", urn);
    xmlTextWriterStartElement(o->w, BAD_CAST name);
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "xmlns", BAD_CAST ns);
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "SOAP-ENV:encodingStyle", BAD_CAST AD_NS_SOAPENC);
    return 0;
}

void ad_out_param_elem(struct ad_out *o, const char *name)
{
    xmlTextWriterStartElement(o->w, BAD_CAST name);
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "xsi:type", BAD_CAST "ns:Element");
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "SOAP-ENV:encodingStyle", BAD_CAST AD_NS_LITERAL);
}

void ad_out_param_string(struct ad_out *o, const char *name, const char *value)
{
    xmlTextWriterStartElement(o->w, BAD_CAST name);
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "xsi:type", BAD_CAST "xsd:string");
    xmlTextWriterWriteString(o->w, BAD_CAST value);
    xmlTextWriterEndElement(o->w);
}

static void take_buffer(struct ad_out *o, struct sim_response *resp, int status)
{
    size_t len;

    xmlTextWriterEndDocument(o->w);
    xmlFreeTextWriter(o->w);
    o->w = NULL;
    len = (size_t)xmlBufferLength(o->buf);
    free(resp->text);
    json_decref(resp->json);
    resp->json = NULL;
    resp->text = malloc(len + 1);
    if (resp->text != NULL) {
        memcpy(resp->text, xmlBufferContent(o->buf), len);
        resp->text[len] = '\0';
        resp->text_len = len;
    }
    resp->status = status;
    resp->content_type = "text/xml;charset=utf-8";
    xmlBufferFree(o->buf);
    o->buf = NULL;
}

void ad_out_finish(struct ad_out *o, struct sim_response *resp)
{
    take_buffer(o, resp, 200);
}

void ad_out_free(struct ad_out *o)
{
    if (o->w != NULL)
        xmlFreeTextWriter(o->w);
    if (o->buf != NULL)
        xmlBufferFree(o->buf);
    o->w = NULL;
    o->buf = NULL;
}

void ad_fault(struct sim_response *resp, const char *faultcode, const char *faultstring,
              const char *detail)
{
    struct ad_out o;

    o.buf = xmlBufferCreate();
    o.w = o.buf ? xmlNewTextWriterMemory(o.buf, 0) : NULL;
    if (o.w == NULL) {
        ad_out_free(&o);
        sim_resp_empty(resp, 500);
        return;
    }
    envelope_start(o.w);
    xmlTextWriterStartElement(o.w, BAD_CAST "SOAP-ENV:Fault");
    xmlTextWriterWriteElement(o.w, BAD_CAST "faultcode", BAD_CAST faultcode);
    xmlTextWriterStartElement(o.w, BAD_CAST "faultstring");
    xmlTextWriterWriteAttribute(o.w, BAD_CAST "xsi:type", BAD_CAST "xsd:string");
    xmlTextWriterWriteString(o.w, BAD_CAST faultstring);
    xmlTextWriterEndElement(o.w);
    if (detail != NULL) {
        xmlTextWriterStartElement(o.w, BAD_CAST "detail");
        xmlTextWriterWriteAttribute(o.w, BAD_CAST "xsi:type", BAD_CAST "xsd:string");
        xmlTextWriterWriteString(o.w, BAD_CAST detail);
        xmlTextWriterEndElement(o.w);
    }
    take_buffer(&o, resp, 500);
}

static const char *service_of(const struct ad_call *call)
{
    const char *bar = strchr(call->urn, '|');

    return bar ? bar + 1 : call->urn;
}

void ad_method_fault(struct sim_response *resp, const struct ad_call *call, const char *fmt, ...)
{
    char detail[1024], fs[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(fs, sizeof(fs), "SOP-330011 Error while executing the method '%s' of service '%s'.",
             call->method, service_of(call));
    ad_fault(resp, "SOAP-ENV:Server", fs, detail);
}

/* --- sessions --- */

static void session_fault(struct sim_response *resp)
{
    ad_fault(resp, "SOAP-ENV:Client",
             "XSV-350008 Session has expired or is invalid. Please reconnect.", NULL);
}

static void ims_fault(struct sim_response *resp)
{
    ad_fault(resp, "SOAP-ENV:Client",
             "XSV-350114 The IMS bearer token could not be validated (HTTP status 401 from IMS).",
             "HTTP code 401: {\"error\":\"invalid_token\",\"error_description\":\"The access "
             "token is expired, revoked or was not issued by IMS\"}");
}

/* An IMS access token (issued by /ims/token/v3 or a static --token), not a
 * Campaign session token. */
static bool ims_token_ok(struct sim *sim, const char *token, int64_t now)
{
    int64_t ago;

    if (token == NULL || token[0] == '\0' || json_object_get(ad_state(sim)->sessions, token))
        return false;
    return sim_auth_check(&sim->auth, token, now, &ago) == SIM_TOKEN_OK;
}

/* "__sessiontoken=X" in a Cookie header. */
static const char *cookie_session(const char *cookie, char *buf, size_t bufsize)
{
    const char *p = cookie ? strstr(cookie, "__sessiontoken=") : NULL;
    size_t n;

    if (p == NULL)
        return NULL;
    p += strlen("__sessiontoken=");
    n = strcspn(p, "; ");
    if (n == 0 || n >= bufsize)
        return NULL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static int check_session(struct sim *sim, struct sim_request *req, struct ad_call *call)
{
    struct ad_state *ad = ad_state(sim);
    char ck[128], p0[128];
    /* MHD files a Cookie header's pairs apart from the other headers. */
    const char *tok = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "__sessiontoken");
    const char *sec = sim_req_header(req, "X-Security-Token");
    json_t *s;
    int64_t ago;

    if (tok == NULL || tok[0] == '\0')
        tok = cookie_session(sim_req_header(req, "Cookie"), ck, sizeof(ck));
    if (tok == NULL)
        tok = sim_req_header(req, "X-Session-Token");
    if (tok == NULL || tok[0] == '\0')
        tok = ad_param_text(call, 0, p0, sizeof(p0));
    if (tok[0] == '\0')
        return -1;
    s = json_object_get(ad->sessions, tok);
    if (s == NULL || sim_auth_check(&sim->auth, tok, req->now_ms, &ago) != SIM_TOKEN_OK)
        return -1;
    if (sec == NULL || strcmp(sec, json_string_value(json_object_get(s, "security"))) != 0)
        return -1;
    call->session_mode = true;
    snprintf(call->session, sizeof(call->session), "%s", tok);
    return 0;
}

static void session_info(xmlTextWriterPtr w, int64_t now, int64_t lifetime_s)
{
    char t[40];

    xmlTextWriterStartElement(w, BAD_CAST "sessionInfo");
    xmlTextWriterStartElement(w, BAD_CAST "serverInfo");
    xmlTextWriterWriteAttribute(w, BAD_CAST "buildNumber", BAD_CAST "9380");
    xmlTextWriterWriteAttribute(w, BAD_CAST "majNumber", BAD_CAST "8");
    xmlTextWriterWriteAttribute(w, BAD_CAST "minNumber", BAD_CAST "7");
    xmlTextWriterWriteAttribute(w, BAD_CAST "servicePack", BAD_CAST "0");
    xmlTextWriterWriteAttribute(w, BAD_CAST "releaseName", BAD_CAST "8.7");
    xmlTextWriterWriteAttribute(w, BAD_CAST "instanceName", BAD_CAST "crmsim");
    xmlTextWriterWriteAttribute(w, BAD_CAST "allowSQL", BAD_CAST "false");
    xmlTextWriterWriteAttribute(w, BAD_CAST "serverDate", BAD_CAST ad_datetime(now, t, sizeof(t)));
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "sessionTimeOut", "%lld", (long long)lifetime_s);
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "securityTimeOut", "%lld", (long long)lifetime_s);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "userInfo");
    xmlTextWriterWriteAttribute(w, BAD_CAST "login", BAD_CAST "crmsync-technical");
    xmlTextWriterWriteAttribute(w, BAD_CAST "loginId", BAD_CAST "1059");
    xmlTextWriterWriteAttribute(w, BAD_CAST "locale", BAD_CAST "en");
    xmlTextWriterWriteAttribute(w, BAD_CAST "timezone", BAD_CAST "UTC");
    xmlTextWriterStartElement(w, BAD_CAST "login-right");
    xmlTextWriterWriteAttribute(w, BAD_CAST "right", BAD_CAST "admin");
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "installed-package");
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "campaign");
    xmlTextWriterWriteAttribute(w, BAD_CAST "namespace", BAD_CAST "nms");
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
}

/* xtk:session#BearerTokenLogon(bearerToken) -> session token, session
 * info, security token. */
static void bearer_logon(struct sim *sim, struct sim_request *req, struct ad_call *call,
                         struct sim_response *resp)
{
    struct ad_state *ad = ad_state(sim);
    char bearer[2048], session[96], security[96], rnd[64];
    int64_t lifetime_s = sim->opt.adobe_token_lifetime_s;
    struct ad_out o;

    ad_param_text(call, 1, bearer, sizeof(bearer));
    if (!ims_token_ok(sim, bearer, req->now_ms)) {
        ims_fault(resp);
        return;
    }
    sim_auth_random(&sim->rng, "", rnd, sizeof(rnd));
    snprintf(session, sizeof(session), "___%.8s-%.4s-%.4s-%.4s-%.12s", rnd, rnd + 8, rnd + 12,
             rnd + 16, rnd + 20);
    sim_auth_random(&sim->rng, "@", rnd, sizeof(rnd));
    snprintf(security, sizeof(security), "%s==", rnd);
    json_object_set_new(ad->sessions, session, json_pack("{s:s}", "security", security));
    ad->sessions_opened++;
    json_object_set_new(sim->auth.access, session, json_integer(req->now_ms + lifetime_s * 1000));
    if (ad_out_begin(&o, "xtk:session", call->method) != 0) {
        sim_resp_empty(resp, 500);
        return;
    }
    ad_out_param_string(&o, "pstrSessionToken", session);
    ad_out_param_elem(&o, "pSessionInfo");
    session_info(o.w, req->now_ms, lifetime_s);
    xmlTextWriterEndElement(o.w);
    ad_out_param_string(&o, "pstrSecurityToken", security);
    ad_out_finish(&o, resp);
}

static void empty_answer(struct ad_call *call, struct sim_response *resp)
{
    struct ad_out o;

    if (ad_out_begin(&o, service_of(call), call->method) != 0) {
        sim_resp_empty(resp, 500);
        return;
    }
    ad_out_finish(&o, resp);
}

static void logoff(struct sim *sim, struct sim_request *req, struct ad_call *call,
                   struct sim_response *resp)
{
    (void)req;
    if (call->session_mode) {
        json_object_del(ad_state(sim)->sessions, call->session);
        json_object_del(sim->auth.access, call->session);
    }
    empty_answer(call, resp);
}

/* xtk:persist#GetEntityIfMoreRecent(pk "xtk:schema|<id>", md5, mustExist). */

static void get_entity(struct sim *sim, struct sim_request *req, struct ad_call *call,
                       struct sim_response *resp)
{
    char pk[160], must[16];
    const char *bar, *name;
    struct ad_out o;
    xmlBufferPtr probe = xmlBufferCreate();
    xmlTextWriterPtr pw = probe ? xmlNewTextWriterMemory(probe, 0) : NULL;
    int found = -1;

    (void)req;
    ad_param_text(call, 1, pk, sizeof(pk));
    ad_param_text(call, 3, must, sizeof(must));
    bar = strchr(pk, '|');
    name = bar ? bar + 1 : pk;
    if (pw != NULL && bar != NULL &&
        (strncmp(pk, "xtk:schema|", 11) == 0 || strncmp(pk, "xtk:srcSchema|", 14) == 0)) {
        found = ad_schema_write_entity(pw, name);
        if (found != 0)
            found = ad_schema_write_data(pw, ad_state(sim), name);
    }
    if (pw != NULL) {
        xmlTextWriterFlush(pw);
        xmlFreeTextWriter(pw);
    }
    if (found != 0 && (strcmp(must, "true") == 0 || strcmp(must, "1") == 0)) {
        if (probe != NULL)
            xmlBufferFree(probe);
        ad_method_fault(resp, call, "XTK-170006 Unable to find entity '%s' of type '%.*s'.", name,
                        bar ? (int)(bar - pk) : 0, pk);
        return;
    }
    if (ad_out_begin(&o, "wpp:default", call->method) != 0) {
        if (probe != NULL)
            xmlBufferFree(probe);
        sim_resp_empty(resp, 500);
        return;
    }
    ad_out_param_elem(&o, "pdomDoc");
    if (found == 0)
        xmlTextWriterWriteRaw(o.w, xmlBufferContent(probe));
    xmlTextWriterEndElement(o.w);
    if (probe != NULL)
        xmlBufferFree(probe);
    ad_out_finish(&o, resp);
}

/* --- dispatch --- */

typedef void (*ad_method_fn)(struct sim *sim, struct sim_request *req, struct ad_call *call,
                             struct sim_response *resp);

#define AD_ANON 1 /* no session or bearer needed */

struct ad_method {
    const char *ns; /* interface ("xtk:persist") or schema */
    const char *name;
    unsigned flags;
    ad_method_fn fn;
};

static const struct ad_method methods[] = {
    {"xtk:session", "BearerTokenLogon", AD_ANON, bearer_logon},
    {"xtk:session", "Logoff", 0, logoff},
    {"xtk:persist", "GetEntityIfMoreRecent", 0, get_entity},
    {"xtk:session", "GetEntityIfMoreRecent", 0, get_entity},
    {"xtk:persist", "Write", 0, ad_write},
    {"xtk:persist", "WriteCollection", 0, ad_write},
    {"xtk:session", "Write", 0, ad_write},
    {"xtk:session", "WriteCollection", 0, ad_write},
    {"xtk:queryDef", "ExecuteQuery", 0, ad_execute_query},
    {"nms:subscription", "Subscribe", 0, ad_subscribe},
    {"nms:subscription", "Unsubscribe", 0, ad_subscribe},
};

static const struct ad_method *find_method(const struct ad_call *call)
{
    char ns[96];
    const char *bar = strchr(call->urn, '|');

    /* "xtk:persist|xtk:session": the method belongs to the interface. */
    snprintf(ns, sizeof(ns), "%.*s", bar ? (int)(bar - call->urn) : (int)strlen(call->urn),
             call->urn);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].ns, ns) == 0 && strcmp(methods[i].name, call->method) == 0)
            return &methods[i];
    }
    return NULL;
}

/* "urn#Method", possibly quoted. Returns 0 or -1. */
static int split_action(const char *action, struct ad_call *call)
{
    size_t len = strlen(action);
    const char *hash;

    if (len >= 2 && action[0] == '"' && action[len - 1] == '"') {
        action++;
        len -= 2;
    }
    hash = memchr(action, '#', len);
    if (hash == NULL || hash == action || (size_t)(hash - action) >= sizeof(call->urn) ||
        len - (size_t)(hash - action) - 1 >= sizeof(call->method) || hash + 1 == action + len)
        return -1;
    snprintf(call->urn, sizeof(call->urn), "%.*s", (int)(hash - action), action);
    snprintf(call->method, sizeof(call->method), "%.*s", (int)(len - (size_t)(hash - action) - 1),
             hash + 1);
    return 0;
}

static bool is_env_ns(xmlNodePtr n)
{
    return n != NULL && n->ns != NULL &&
           (strcmp((const char *)n->ns->href, AD_NS_ENV) == 0 ||
            strcmp((const char *)n->ns->href, "http://www.w3.org/2003/05/soap-envelope") == 0);
}

static void client_ip(struct sim_request *req, char *buf, size_t bufsize)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    snprintf(buf, bufsize, "unknown");
    if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ci->client_addr;

        inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)bufsize);
    }
}

static bool xml_content_type(const char *ct)
{
    return ct != NULL && (strncasecmp(ct, "text/xml", 8) == 0 ||
                          strncasecmp(ct, "application/soap+xml", 20) == 0);
}

/* The envelope must not carry a DTD: no DOCTYPE, so no entity can be
 * declared (the parser never substitutes entities nor loads a DTD). */
static bool has_doctype(const char *body, size_t len)
{
    return memmem(body, len, "<!DOCTYPE", 9) != NULL || memmem(body, len, "<!ENTITY", 8) != NULL;
}

/* Calls per method (the core counts them all under one route), shown in
 * /__sim/state flavor_state.methods: {calls, faults, records, written}. */
static void count_call(struct ad_state *ad, const struct ad_call *call,
                       const struct sim_response *resp)
{
    char key[160];
    json_t *c;

    snprintf(key, sizeof(key), "%s#%s", call->urn, call->method);
    c = json_object_get(ad->methods, key);
    if (c == NULL) {
        c = json_pack("{s:I, s:I, s:I, s:I}", "calls", (json_int_t)0, "faults", (json_int_t)0,
                      "records", (json_int_t)0, "written", (json_int_t)0);
        json_object_set_new(ad->methods, key, c);
    }
    json_object_set_new(c, "calls",
                        json_integer(json_integer_value(json_object_get(c, "calls")) + 1));
    if (resp->status >= 400)
        json_object_set_new(c, "faults",
                            json_integer(json_integer_value(json_object_get(c, "faults")) + 1));
    json_object_set_new(c, "records",
                        json_integer(json_integer_value(json_object_get(c, "records")) +
                                     (json_int_t)resp->records_in));
    json_object_set_new(c, "written",
                        json_integer(json_integer_value(json_object_get(c, "written")) +
                                     (json_int_t)resp->written));
}

void ad_soaprouter(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct ad_call call;
    const struct ad_method *m;
    const char *action;
    xmlDocPtr doc = NULL;
    xmlNodePtr env, body, el;
    char msg[512];

    memset(&call, 0, sizeof(call));
    if (sim->opt.adobe_deny_ip) {
        char ip[64];

        client_ip(req, ip, sizeof(ip));
        snprintf(msg, sizeof(msg),
                 "XSV-350013 The '%s' IP address via which you are trying to connect to the "
                 "instance is not allowed. Please contact your administrator.",
                 ip);
        ad_fault(resp, "SOAP-ENV:Client", msg, NULL);
        return;
    }
    if (!xml_content_type(sim_req_header(req, "Content-Type"))) {
        ad_fault(resp, "SOAP-ENV:Client",
                 "SOP-330001 The request is not a SOAP call: expected Content-Type text/xml or "
                 "application/soap+xml.",
                 NULL);
        return;
    }
    if (req->body_len > (size_t)sim->opt.adobe_max_xml_kb * 1024) {
        snprintf(msg, sizeof(msg),
                 "SOP-330002 The SOAP request is too large (%zu bytes, limit %lld KB).",
                 req->body_len, (long long)sim->opt.adobe_max_xml_kb);
        ad_fault(resp, "SOAP-ENV:Client", msg, NULL);
        return;
    }
    if (has_doctype(req->body, req->body_len)) {
        ad_fault(resp, "SOAP-ENV:Client",
                 "SOP-330003 Document type declarations are not allowed in a SOAP request.", NULL);
        return;
    }
    doc = xmlReadMemory(req->body, (int)req->body_len, "soap.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    env = doc ? xmlDocGetRootElement(doc) : NULL;
    if (env == NULL || doc->intSubset != NULL || !is_env_ns(env) ||
        strcmp((const char *)env->name, "Envelope") != 0) {
        ad_fault(resp, "SOAP-ENV:Client", "SOP-330004 Unable to parse the SOAP envelope.", NULL);
        goto out;
    }
    body = NULL;
    for (xmlNodePtr c = ad_first_elem(env); c != NULL; c = ad_next_elem(c)) {
        if (is_env_ns(c) && strcmp((const char *)c->name, "Body") == 0)
            body = c;
    }
    el = ad_first_elem(body);
    if (el == NULL) {
        ad_fault(resp, "SOAP-ENV:Client", "SOP-330004 The SOAP body is empty.", NULL);
        goto out;
    }
    action = sim_req_header(req, "SOAPAction");
    if (action == NULL || action[0] == '\0' || strcmp(action, "\"\"") == 0)
        action = sim_req_query(req, "soapAction");
    if (action != NULL && action[0] != '\0') {
        if (split_action(action, &call) != 0) {
            snprintf(msg, sizeof(msg), "SOP-330005 Invalid SOAP action '%.200s'.", action);
            ad_fault(resp, "SOAP-ENV:Client", msg, NULL);
            goto out;
        }
    } else {
        /* No action: the body element and its namespace ("urn:xtk:session"). */
        const char *href = el->ns ? (const char *)el->ns->href : "";

        snprintf(call.urn, sizeof(call.urn), "%s", strncmp(href, "urn:", 4) == 0 ? href + 4 : href);
        snprintf(call.method, sizeof(call.method), "%s", (const char *)el->name);
    }
    snprintf(resp->note, sizeof(resp->note), "%s#%s", call.urn, call.method);
    if (strcmp((const char *)el->name, call.method) != 0) {
        snprintf(msg, sizeof(msg),
                 "SOP-330005 The SOAP action names method '%s' but the body calls '%s'.",
                 call.method, (const char *)el->name);
        ad_fault(resp, "SOAP-ENV:Client", msg, NULL);
        goto out;
    }
    m = find_method(&call);
    if (m == NULL) {
        snprintf(msg, sizeof(msg),
                 "SOP-330006 The method '%s' is not defined in SOAP service '%s'.", call.method,
                 service_of(&call));
        ad_fault(resp, "SOAP-ENV:Client", msg, NULL);
        goto out;
    }
    /* Positional parameters: every element child, in order; the first is
     * the session token (its element name is never looked at). */
    for (xmlNodePtr c = ad_first_elem(el); c != NULL && call.nparams < 16; c = ad_next_elem(c))
        call.params[call.nparams++] = c;
    if (!(m->flags & AD_ANON)) {
        if (req->bearer != NULL) {
            if (!ims_token_ok(sim, req->bearer, req->now_ms)) {
                ims_fault(resp);
                goto out;
            }
        } else if (check_session(sim, req, &call) != 0) {
            session_fault(resp);
            goto out;
        }
    }
    m->fn(sim, req, &call, resp);
    count_call(ad_state(sim), &call, resp);
out:
    if (doc != NULL)
        xmlFreeDoc(doc);
}
