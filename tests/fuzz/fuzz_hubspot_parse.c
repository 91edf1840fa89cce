/* HubSpot response parsers (connectors/hubspot_parse.c) on any body: the
 * first byte picks the parser, the rest is the body. */
#include <jansson.h>

#include "fuzz_util.h"
#include "hubspot.h"

static struct hs_map map;

static int field_fn(void *arg, const char *member, enum change_kind kind, const char *field,
                    const struct change *c, const char *projection)
{
    (void)arg;
    (void)kind;
    if (member == NULL || field == NULL || projection == NULL)
        __builtin_trap();
    if (c != NULL && (c->value_json == NULL || c->idem_key == NULL))
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *body;
    char out[256], after[64];
    int64_t ms;

    if (!ready) {
        struct hs_map_config mc = {"member_key",
                                   "loyalty_points",
                                   "loyalty_tier",
                                   "marketing=1001,loyalty_programme=1002",
                                   "consent=CONSENT_WITH_NOTICE,contract=PERFORMANCE_OF_CONTRACT",
                                   "email=email,first_name=firstname",
                                   "marketing"};
        struct error err = {""};
        if (hs_map_init(&map, &mc, &err) != 0)
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    body = fuzz_str(data + 1, size - 1);
    switch (data[0] % 9) {
    case 0:
        hs_error_message(body, out, sizeof(out));
        hs_policy_name(body, out, sizeof(out));
        break;
    case 1: {
        const char *keys[3] = {"M1", "M2", "m3"};
        struct hs_outcome res[3] = {{0}};
        hs_parse_batch_result(body, "member_key", keys, 3, res);
        break;
    }
    case 2: {
        json_t *inputs = json_loads("[{\"subscriberIdString\":\"a@example.com\","
                                    "\"subscriptionId\":\"1001\",\"statusState\":\"SUBSCRIBED\"},"
                                    "{\"subscriberIdString\":\"b@example.com\","
                                    "\"subscriptionId\":\"1002\"}]",
                                    0, NULL);
        struct hs_outcome res[2] = {{0}};
        hs_parse_status_write(body, inputs, res);
        json_decref(inputs);
        break;
    }
    case 3:
        hs_parse_list_id(body, out, sizeof(out));
        json_decref(hs_parse_missing(body));
        break;
    case 4: {
        json_t *root = NULL, *results = NULL;
        if (hs_parse_search(body, &root, &results, after, sizeof(after)) == 0 && results &&
            json_is_array(results)) {
            size_t i;
            json_t *contact;
            json_array_foreach(results, i, contact)
            {
                char member[160];
                hs_contact_fields(&map, "hubspot", contact, NULL, field_fn, NULL, member,
                                  sizeof(member));
            }
        }
        json_decref(root);
        break;
    }
    case 5:
        json_decref(hs_parse_statuses(body));
        break;
    case 6:
        hs_parse_time(body, &ms);
        break;
    case 7: {
        /* A contact with statuses: body is {"contact":..,"statuses":..}. */
        json_t *root = json_loads(body, 0, NULL);
        if (root != NULL) {
            char member[160];
            json_t *contact = json_object_get(root, "contact");
            if (contact != NULL)
                hs_contact_fields(&map, "hubspot", contact, json_object_get(root, "statuses"),
                                  field_fn, NULL, member, sizeof(member));
        }
        json_decref(root);
        break;
    }
    default: {
        json_t *props[2] = {json_pack("{s:s,s:s}", "member_key", "M1", "email", "a@example.com"),
                            json_pack("{s:s}", "member_key", "M2")};
        const char *ids[2] = {"101", NULL};
        int blame[2] = {0, 0};
        hs_attribute_error(body, "member_key", props, ids, 2, blame, out, sizeof(out));
        json_decref(props[0]);
        json_decref(props[1]);
        break;
    }
    }
    free(body);
    return 0;
}
