/* Salesforce flavour: Bulk API 2.0 ingest jobs (not yet implemented). */
#include "salesforce.h"

static void todo(struct sim_response *resp)
{
    sf_error(resp, 501, "NOT_IMPLEMENTED", "Bulk API 2.0 is not simulated yet");
}

void sf_bulk_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)sim;
    (void)req;
    todo(resp);
}
void sf_bulk_upload(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)sim;
    (void)req;
    todo(resp);
}
void sf_bulk_patch(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)sim;
    (void)req;
    todo(resp);
}
void sf_bulk_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)sim;
    (void)req;
    todo(resp);
}
void sf_bulk_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)sim;
    (void)req;
    todo(resp);
}
void sf_bulk_results(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)sim;
    (void)req;
    todo(resp);
}
void sf_bulk_free_all(struct sf_state *sf)
{
    (void)sf;
}
json_t *sf_bulk_dump(const struct sf_state *sf)
{
    (void)sf;
    return json_array();
}
