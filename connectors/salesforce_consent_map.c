/* Pure half of consent_mode = consent_objects (docs/salesforce.md
 * "Consent objects"): our consent field consent/<purpose>/<channel> is one
 * ContactPointTypeConsent of the member's Individual, keyed by
 * Consent_Key__c = "<member>:<purpose>:<channel>".
 *
 * Channels: email -> Email, phone -> Phone, post -> MailingAddress, and sms
 * -> Phone too: Salesforce has no SMS contact point type, and a text
 * message goes to a phone number. What tells an SMS consent from a phone
 * one, for Salesforce and the org's other tools, is EngagementChannelTypeId:
 * the EngagementChannelType named by the sms_channel_type option (Object
 * Reference, ContactPointTypeConsent and EngagementChannelType). Our key
 * (Consent_Key__c ends in ":sms") tells it too, for our own pull. Not a
 * separate DataUsePurpose: a purpose says why we may contact someone, the
 * channel how; an "SMS marketing" purpose would split one purpose in two
 * for reporting and for the org's other tools. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "salesforce.h"

int sf_consent_target(const char *field, char *purpose, size_t psize, char *channel, size_t csize,
                      const char **cpt)
{
    const char *p, *c;

    if (strncmp(field, "consent/", 8) != 0)
        return -1;
    p = field + 8;
    c = strchr(p, '/');
    if (c == NULL || c == p || strchr(c + 1, '/') != NULL || (size_t)(c - p) >= psize ||
        memchr(p, ':', (size_t)(c - p)) != NULL)
        return -1;
    snprintf(purpose, psize, "%.*s", (int)(c - p), p);
    snprintf(channel, csize, "%s", c + 1);
    if (strcmp(channel, "email") == 0)
        *cpt = "Email";
    else if (strcmp(channel, "phone") == 0 || strcmp(channel, "sms") == 0)
        *cpt = "Phone";
    else if (strcmp(channel, "post") == 0)
        *cpt = "MailingAddress";
    else
        return -1;
    return 0;
}

int sf_consent_is_sms(const char *field)
{
    size_t n = strlen(field);
    return strncmp(field, "consent/", 8) == 0 && n > 12 && strcmp(field + n - 4, "/sms") == 0;
}

static const char *status_name(enum consent_status s)
{
    return s == CONSENT_GRANTED ? "OptIn" : s == CONSENT_DENIED ? "OptOut" : "NotSeen";
}

int sf_consent_projection(const struct consent_value *cv, char *out, size_t outsize)
{
    /* What the record keeps: status, capture date (ms) and source. */
    snprintf(out, outsize, "%s|%" PRId64 "|%s", status_name(cv->status), cv->collected_at,
             cv->source ? cv->source : "");
    return 0;
}

json_t *sf_cptc_record(const char *member, const char *field, const char *party_id,
                       const char *purpose_id, const char *channel_type_id, const char *value_json)
{
    char purpose[128], channel[32], key[256], name[200], at[40];
    const char *cpt;
    struct consent_value cv;
    json_t *holder = NULL, *r, *v, *dbl;

    if (sf_consent_target(field, purpose, sizeof(purpose), channel, sizeof(channel), &cpt) != 0 ||
        consent_value_from_json(value_json, &cv, &holder) != 0)
        return NULL;
    snprintf(key, sizeof(key), "%s:%s:%s", member, purpose, channel);
    snprintf(name, sizeof(name), "%s %s", purpose, channel);
    sf_format_time(cv.collected_at, at, sizeof(at));
    r = json_pack("{s:{s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "attributes", "type",
                  "ContactPointTypeConsent", "Consent_Key__c", key, "Name", name, "PartyId",
                  party_id, "ContactPointType", cpt, "DataUsePurposeId", purpose_id,
                  "PrivacyConsentStatus", status_name(cv.status), "CaptureDate", at);
    if (r != NULL)
        json_object_set_new(r, "CaptureSource", cv.source ? json_string(cv.source) : json_null());
    if (r != NULL && channel_type_id != NULL && strcmp(channel, "sms") == 0)
        json_object_set_new(r, "EngagementChannelTypeId", json_string(channel_type_id));
    /* DoubleConsentCaptureDate when the value carries one (our canonical
     * consent has no such field today; a source may add it). */
    v = json_loads(value_json, 0, NULL);
    dbl = json_object_get(v, "double_opt_in_at");
    if (r != NULL && json_is_string(dbl))
        json_object_set_new(r, "DoubleConsentCaptureDate", json_string(json_string_value(dbl)));
    json_decref(v);
    json_decref(holder);
    return r;
}

int sf_cptc_row(const char *conn, json_t *rec, char *member, size_t msize, char *field,
                size_t fsize, char **value_json, char *projection, size_t psize, int64_t *mod)
{
    const char *key = json_string_value(json_object_get(rec, "Consent_Key__c"));
    const char *st = json_string_value(json_object_get(rec, "PrivacyConsentStatus"));
    const char *at = json_string_value(json_object_get(rec, "CaptureDate"));
    const char *src = json_string_value(json_object_get(rec, "CaptureSource"));
    const char *c1, *c2;
    struct consent_value cv = {0};
    int64_t t = 0;

    (void)conn;
    *value_json = NULL;
    if (key == NULL || st == NULL ||
        sf_parse_time(json_string_value(json_object_get(rec, "SystemModstamp")), mod) != 0)
        return -1;
    c2 = strrchr(key, ':');
    if (c2 == NULL)
        return -1;
    for (c1 = c2 - 1; c1 > key && *c1 != ':'; c1--)
        ;
    if (c1 <= key || (size_t)(c1 - key) >= msize)
        return -1;
    snprintf(member, msize, "%.*s", (int)(c1 - key), key);
    snprintf(field, fsize, "consent/%.*s/%s", (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
    if (strcmp(st, "OptIn") == 0)
        cv.status = CONSENT_GRANTED;
    else if (strcmp(st, "OptOut") == 0)
        cv.status = CONSENT_DENIED;
    else
        cv.status = CONSENT_UNKNOWN;
    cv.collected_at = at != NULL && sf_parse_time(at, &t) == 0 ? t : *mod;
    cv.source = src;
    sf_consent_projection(&cv, projection, psize);
    *value_json = consent_value_to_json(&cv);
    return *value_json != NULL ? 0 : -1;
}
