/* gw_ui: the gateway's own pages that belong to no protocol: an error shown again (in the
 * other language), the health check, the root. */
#include "gw_ui.h"

static void h_health(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "version", EIDGW_VERSION));
}

/* GET /error?e=ID: an error kept by gw_error_page, shown again (e.g. in another language). */
static void h_error(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp) { gw_error_page_again(&app->page, req, resp); }

static void h_root(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_redirect(resp, "/.well-known/openid-configuration");
}

const gw_route_t gw_ui_routes[] = {
    { .methods = GW_M_GET, .path = "/error", .fn = h_error },
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/healthz", .fn = h_health, .is_inline = 1 },
    { .methods = GW_M_GET, .path = "/", .fn = h_root, .is_inline = 1 },
    { 0 },
};
