/* HubSpot response parsing common to push and pull: the message of an
 * error answer and the policy of a 429. Pure (STYLE.md 3); the push side's
 * answers are read in hubspot_parse_push.c, the pull side's in
 * hubspot_parse_pull.c (issue 18: the two were one file). */
#include <stdio.h>

#include "hubspot.h"
#include "jdump.h"

void hs_error_message(const char *body, char *out, size_t outsize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));

    if (msg == NULL)
        msg = json_string_value(json_object_get(root, "error_description"));
    snprintf(out, outsize, "%s", msg ? msg : "");
    json_decref(root);
}

void hs_policy_name(const char *body, char *out, size_t outsize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *p = json_string_value(json_object_get(root, "policyName"));

    snprintf(out, outsize, "%s", p ? p : "");
    json_decref(root);
}

char *hs_inputs_body(json_t *inputs)
{
    json_t *body = inputs != NULL ? json_pack("{s:o}", "inputs", inputs) : NULL;
    char *text = body != NULL ? jdump_compact(body) : NULL;

    json_decref(body);
    return text;
}

const char *hs_prop_text(json_t *props, const char *name)
{
    const char *v = json_string_value(json_object_get(props, name));
    return v ? v : "";
}
