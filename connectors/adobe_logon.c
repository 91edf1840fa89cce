/* The Adobe Campaign session calls' bodies (adobe.h): the schema probe
 * Adobe's own client makes first, BearerTokenLogon, Logoff, and the
 * tokens read out of the logon's answer. Pure. Moved out of adobe_map.c. */

#include <stdio.h>

#include "adobe.h"

#define X(s) ((const xmlChar *)(s))

char *acc_compose_schema_probe(void)
{
    struct acc_env e;

    if (acc_env_begin(&e, "xtk:persist", "GetEntityIfMoreRecent", "") != 0)
        return NULL;
    acc_env_param_string(&e, "pk", "xtk:schema|xtk:session");
    acc_env_param_string(&e, "md5", "");
    acc_env_param_bool(&e, "mustExist", 0);
    return acc_env_finish(&e);
}

char *acc_compose_bearer_logon(const char *token)
{
    struct acc_env e;

    if (acc_env_begin(&e, "xtk:session", "BearerTokenLogon", "") != 0)
        return NULL;
    acc_env_param_string(&e, "bearerToken", token);
    return acc_env_finish(&e);
}

char *acc_compose_logoff(void)
{
    struct acc_env e;

    if (acc_env_begin(&e, "xtk:session", "Logoff", "") != 0)
        return NULL;
    return acc_env_finish(&e);
}

static int copy_child_text(xmlNodePtr parent, const char *name, char *out, size_t outsize)
{
    xmlNodePtr n = acc_child(parent, name);
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    int rc = t != NULL && t[0] != '\0' && (size_t)xmlStrlen(t) < outsize ? 0 : -1;

    if (rc == 0)
        snprintf(out, outsize, "%s", (const char *)t);
    xmlFree(t);
    return rc;
}

int acc_parse_logon(const char *body, size_t len, size_t cap, char *session, size_t slen,
                    char *security, size_t seclen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr r;
    char why[128];
    int rc = -1;

    if (acc_parse_response(body, len, cap, &doc, why, sizeof(why)) != 0)
        return -1;
    r = acc_body_first(doc);
    if (r != NULL && xmlStrcmp(r->name, X("BearerTokenLogonResponse")) == 0 &&
        copy_child_text(r, "pstrSessionToken", session, slen) == 0 &&
        copy_child_text(r, "pstrSecurityToken", security, seclen) == 0)
        rc = 0;
    xmlFreeDoc(doc);
    return rc;
}
