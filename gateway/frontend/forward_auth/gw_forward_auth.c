/* gw_forward_auth: the session check of the proxied path, for an nginx auth_request or a
 * forward-auth proxy (Traefik ForwardAuth, Caddy forward_auth, Envoy ext_authz over HTTP). */
#include "gw_forward_auth.h"

#include <stdio.h>

/* GET /auth/check: the session check of the proxied path (an nginx auth_request or a
 * forward-auth target). It runs on the I/O thread and never touches the store: the sealed
 * cookie and the in-memory revocation set decide. 200 with the session's headers, or 401. */
static void h_auth_check(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_sso_t s = { 0 };
    if (gw_sso_open(app, req, &s) != GW_OK) {
        gw_resp_text(resp, 401, "text/plain; charset=utf-8", "no session\n");
        return;
    }
    char lvl[8], at[24];
    snprintf(lvl, sizeof(lvl), "%d", s.level);
    snprintf(at, sizeof(at), "%lld", (long long)s.auth_time);
    gw_resp_header(resp, "X-Eidgw-Session", s.sid);
    gw_resp_header(resp, "X-Eidgw-Acr", gw_acr_for(s.level));
    gw_resp_header(resp, "X-Eidgw-Level", lvl);
    gw_resp_header(resp, "X-Eidgw-Auth-Time", at);
    gw_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
    gw_sso_cleanup(&s);
}

const gw_route_t gw_forward_auth_routes[] = {
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/auth/check", .fn = h_auth_check, .is_inline = 1 },
    { 0 },
};
