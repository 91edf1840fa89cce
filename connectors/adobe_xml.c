/* Adobe Campaign SOAP: envelopes written with libxml2's writer, XTK
 * literals, and responses read safely (adobe.h). Pure: no network.
 *
 * Campaign's SOAP router reads a method's parameters by position, after
 * the sessiontoken that every method takes first ("Web service calls" in
 * Campaign's developer guide); element parameters are literal XML
 * (encodingStyle http://xml.apache.org/xml-soap/literalxml). */
#include <ctype.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"
#include "timefmt.h"

#define SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_ENC "http://schemas.xmlsoap.org/soap/encoding/"
#define LITERAL_XML "http://xml.apache.org/xml-soap/literalxml"

#define X(s) ((const xmlChar *)(s))

static int ok(struct acc_env *e, int rc)
{
    if (rc < 0)
        e->failed = 1;
    return e->failed ? -1 : 0;
}

int acc_env_begin(struct acc_env *e, const char *ns, const char *method, const char *session_token)
{
    char urn[128];
    xmlTextWriterPtr w;

    memset(e, 0, sizeof(*e));
    e->buf = xmlBufferCreate();
    if (e->buf == NULL)
        return -1;
    e->w = xmlNewTextWriterMemory(e->buf, 0);
    if (e->w == NULL) {
        acc_env_free(e);
        return -1;
    }
    w = e->w;
    snprintf(urn, sizeof(urn), "urn:%s", ns);
    ok(e, xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL));
    ok(e, xmlTextWriterStartElementNS(w, X("SOAP-ENV"), X("Envelope"), X(SOAP_ENV_NS)));
    ok(e, xmlTextWriterWriteAttribute(w, X("xmlns:xsd"), X("http://www.w3.org/2001/XMLSchema")));
    ok(e, xmlTextWriterWriteAttribute(w, X("xmlns:xsi"),
                                      X("http://www.w3.org/2001/XMLSchema-instance")));
    ok(e, xmlTextWriterWriteAttribute(w, X("xmlns:ns"), X(urn)));
    ok(e, xmlTextWriterStartElementNS(w, X("SOAP-ENV"), X("Body"), NULL));
    ok(e, xmlTextWriterStartElementNS(w, X("m"), X(method), X(urn)));
    ok(e, xmlTextWriterWriteAttributeNS(w, X("SOAP-ENV"), X("encodingStyle"), NULL, X(SOAP_ENC)));
    if (acc_env_param_string(e, "sessiontoken", session_token ? session_token : "") != 0) {
        acc_env_free(e);
        return -1;
    }
    return 0;
}

int acc_env_param_string(struct acc_env *e, const char *name, const char *value)
{
    ok(e, xmlTextWriterStartElement(e->w, X(name)));
    ok(e, xmlTextWriterWriteAttribute(e->w, X("xsi:type"), X("xsd:string")));
    ok(e, xmlTextWriterWriteString(e->w, X(value)));
    return ok(e, xmlTextWriterEndElement(e->w));
}

int acc_env_param_bool(struct acc_env *e, const char *name, int value)
{
    ok(e, xmlTextWriterStartElement(e->w, X(name)));
    ok(e, xmlTextWriterWriteAttribute(e->w, X("xsi:type"), X("xsd:boolean")));
    ok(e, xmlTextWriterWriteString(e->w, X(value ? "true" : "false")));
    return ok(e, xmlTextWriterEndElement(e->w));
}

int acc_env_param_elem_begin(struct acc_env *e, const char *name)
{
    ok(e, xmlTextWriterStartElement(e->w, X(name)));
    ok(e, xmlTextWriterWriteAttribute(e->w, X("xsi:type"), X("ns:Element")));
    return ok(e, xmlTextWriterWriteAttributeNS(e->w, X("SOAP-ENV"), X("encodingStyle"), NULL,
                                               X(LITERAL_XML)));
}

int acc_env_param_elem_end(struct acc_env *e)
{
    return ok(e, xmlTextWriterEndElement(e->w));
}

xmlTextWriterPtr acc_env_writer(struct acc_env *e)
{
    return e->w;
}

char *acc_env_finish(struct acc_env *e)
{
    char *out = NULL;

    if (e->w != NULL) {
        ok(e, xmlTextWriterEndDocument(e->w)); /* closes every open element */
        xmlFreeTextWriter(e->w);
        e->w = NULL;
    }
    if (!e->failed && e->buf != NULL)
        out = strdup((const char *)xmlBufferContent(e->buf));
    acc_env_free(e);
    return out;
}

void acc_env_free(struct acc_env *e)
{
    if (e->w != NULL)
        xmlFreeTextWriter(e->w);
    if (e->buf != NULL)
        xmlBufferFree(e->buf);
    e->w = NULL;
    e->buf = NULL;
}

/* --- XTK expressions --- */

int acc_xtk_string(const char *s, char *out, size_t outsize)
{
    size_t o = 0;

    if (outsize < 3)
        return -1;
    out[o++] = '\'';
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc = 0;
        if (*p == '\\' || *p == '\'')
            esc = (char)*p;
        else if (*p == '\n')
            esc = 'n';
        else if (*p == '\t')
            esc = 't';
        else if (*p < 0x20 || *p == 0x7f)
            return -1;
        if (o + (esc ? 2 : 1) + 2 > outsize)
            return -1;
        if (esc) {
            out[o++] = '\\';
            out[o++] = esc;
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}

int acc_xtk_datetime(int64_t ms, char *out, size_t outsize)
{
    char iso[40];

    timefmt_format_rfc3339(ms, iso, sizeof(iso));
    iso[10] = ' '; /* Campaign's own form: "YYYY-MM-DD HH:MM:SS.mmmZ" */
    return snprintf(out, outsize, "#%s#", iso) < (int)outsize ? 0 : -1;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int acc_parse_datetime(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    const char *p;

    if (s == NULL || strlen(s) < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    p = s + 10;
    if (*p == ' ' || *p == 'T') {
        if (strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) ||
            p[6] != ':' || digits(p + 7, 2, &sec) || h > 23 || mi > 59 || sec > 60)
            return -1;
        p += 9;
        if (*p == '.') {
            int n = 0, scale = 100;
            p++;
            while (isdigit((unsigned char)*p)) {
                if (n++ < 3) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                }
                p++;
            }
            if (n == 0)
                return -1;
        }
    }
    if (*p == 'Z')
        p++;
    if (*p != '\0')
        return -1;
    *ms = ((timefmt_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
            sec) *
           1000) +
          frac;
    return 0;
}

/* --- responses --- */

/* A DOCTYPE (and so any entity or DTD) is refused before libxml2 sees the
 * body: Campaign never sends one, and a document that declares entities
 * is how entity expansion and external fetches get in. */
static int has_doctype(const char *body, size_t len)
{
    static const char *const marks[] = {"<!DOCTYPE", "<!ENTITY", "<!doctype"};
    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
        size_t ml = strlen(marks[m]);
        for (size_t i = 0; i + ml <= len; i++) {
            if (body[i] == '<' && memcmp(body + i, marks[m], ml) == 0)
                return 1;
        }
    }
    return 0;
}

int acc_parse_response(const char *body, size_t len, size_t cap, xmlDocPtr *out, char *why,
                       size_t whylen)
{
    xmlDocPtr doc;

    *out = NULL;
    if (body == NULL || len == 0) {
        snprintf(why, whylen, "empty response");
        return -1;
    }
    if (len > cap || len > (size_t)INT32_MAX) {
        snprintf(why, whylen, "response of %zu bytes over the %zu-byte cap", len, cap);
        return -1;
    }
    if (has_doctype(body, len)) {
        snprintf(why, whylen, "response carries a DOCTYPE: refused");
        return -1;
    }
    /* No XML_PARSE_NOENT (no entity substitution), no XML_PARSE_HUGE (the
     * default limits stay), no DTD loading, no network. */
    doc = xmlReadMemory(body, (int)len, "response.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        snprintf(why, whylen, "response is not well-formed XML");
        return -1;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        xmlFreeDoc(doc);
        snprintf(why, whylen, "response carries a DTD: refused");
        return -1;
    }
    *out = doc;
    return 0;
}

static int named(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && (name == NULL || xmlStrcmp(n->name, X(name)) == 0);
}

xmlNodePtr acc_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c != NULL; c = c->next) {
        if (named(c, name))
            return c;
    }
    return NULL;
}

xmlNodePtr acc_next(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->next : NULL; c != NULL; c = c->next) {
        if (named(c, name))
            return c;
    }
    return NULL;
}

xmlNodePtr acc_body_first(xmlDocPtr doc)
{
    xmlNodePtr env = xmlDocGetRootElement(doc);

    if (env == NULL || xmlStrcmp(env->name, X("Envelope")) != 0)
        return NULL;
    return acc_child(acc_child(env, "Body"), NULL);
}

char *acc_attr(xmlNodePtr n, const char *name)
{
    return (char *)xmlGetProp(n, X(name));
}

/* Copies the text content of n (trimmed, whitespace runs folded). */
static void text_of(xmlNodePtr n, char *out, size_t outsize)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    size_t o = 0;
    int space = 0;

    out[0] = '\0';
    if (t == NULL)
        return;
    for (const xmlChar *p = t; *p != '\0' && o + 1 < outsize; p++) {
        if (isspace(*p)) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < outsize)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)*p;
    }
    out[o] = '\0';
    xmlFree(t);
}

/* "XSV-350008 Session has expired" -> "XSV-350008": three capitals, a
 * dash, digits, at the start of the fault string. */
static void code_of(const char *text, char *code, size_t clen)
{
    size_t i = 0;

    code[0] = '\0';
    while (i < 3 && isupper((unsigned char)text[i]))
        i++;
    if (i != 3 || text[3] != '-' || !isdigit((unsigned char)text[4]))
        return;
    i = 4;
    while (isdigit((unsigned char)text[i]))
        i++;
    snprintf(code, clen, "%.*s", (int)i, text);
}

static int listed(const char *list, const char *code)
{
    size_t cl = strlen(code);
    const char *p = list ? list : "";

    if (cl == 0)
        return 0;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, code, cl) == 0 && (p[cl] == '\0' || p[cl] == ',' || p[cl] == ' '))
            return 1;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return 0;
}

enum acc_fault_class acc_fault_classify(const char *code, const char *text, const char *stop_codes)
{
    /* XSV-350008: the session token expired or is unknown; XSV-350114:
     * the IMS token was refused (an inner 401). */
    if (strcmp(code, "XSV-350008") == 0 || strcmp(code, "XSV-350114") == 0)
        return ACC_FAULT_AUTH;
    if (listed(stop_codes, code))
        return ACC_FAULT_STOP;
    /* A fault about the call's data is Campaign's method-execution error:
     * with a code (SOP-330011, PGS-220000, XTK-, NMS-, ...) on v8, or, as
     * in the "Data oriented APIs" page's example, the text "Error while
     * executing the method 'Write' of service 'xtk:persist'." with the
     * PostgreSQL error as detail and no code. A fault that is neither did
     * not come from the records (an application server or proxy failing):
     * rejecting them would dead-letter good data, so the destination backs
     * off as for a 5xx. */
    if (code[0] == '\0' && strstr(text, "Error while executing") == NULL)
        return ACC_FAULT_SERVER;
    return ACC_FAULT_DATA;
}

int acc_fault_parse(const char *body, size_t len, size_t cap, const char *stop_codes,
                    struct acc_fault *f)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr fault;
    char why[128], detail[200];
    int rc = -1;

    memset(f, 0, sizeof(*f));
    if (acc_parse_response(body, len, cap, &doc, why, sizeof(why)) != 0)
        return -1;
    fault = acc_body_first(doc);
    if (fault == NULL) {
        rc = -1;
        goto out;
    }
    rc = 0;
    if (xmlStrcmp(fault->name, X("Fault")) != 0)
        goto out;
    text_of(acc_child(fault, "faultstring"), f->text, sizeof(f->text));
    text_of(acc_child(fault, "detail"), detail, sizeof(detail));
    code_of(f->text, f->code, sizeof(f->code));
    if (f->code[0] == '\0')
        code_of(detail, f->code, sizeof(f->code));
    if (detail[0] != '\0' && strstr(f->text, detail) == NULL) {
        size_t tl = strlen(f->text);
        snprintf(f->text + tl, sizeof(f->text) - tl, "%s%s", tl ? " / " : "", detail);
    }
    f->cls = acc_fault_classify(f->code, f->text, stop_codes);
    rc = 1;
out:
    xmlFreeDoc(doc);
    return rc;
}

void acc_error_of(const char *body, char *code, size_t code_len, char *msg, size_t msg_len)
{
    struct acc_fault f;

    code[0] = msg[0] = '\0';
    if (body == NULL || acc_fault_parse(body, strlen(body), 1 << 20, NULL, &f) != 1)
        return;
    snprintf(code, code_len, "%s", f.code);
    snprintf(msg, msg_len, "%s", f.text);
}
