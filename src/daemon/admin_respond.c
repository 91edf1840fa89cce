/* The shape of every admin answer (see admin_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

enum MHD_Result admin_respond(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                              const char *type)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result admin_respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *body = strdup(text);
    return body ? admin_respond(conn, status, body, strlen(body), "text/plain; charset=utf-8")
                : MHD_NO;
}
