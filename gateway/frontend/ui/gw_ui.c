/* gw_ui: the gateway's own pages that belong to no protocol: an error shown again (in the
 * other language), the health and readiness checks, the root. */
#include "gw_ui.h"

static void h_health(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "version", EIDGW_VERSION));
}

/* A check that failed goes into `failed` under its name, with the reason. */
static void check(json_t *checks, json_t *failed, const char *name, int ok, const char *reason)
{
    json_object_set_new(checks, name, json_string(ok ? "ok" : reason));
    if (!ok)
        json_object_set_new(failed, name, json_string(reason));
}

/* The upstream's keys are unusable: none held, and the last fetch failed (never tried is
 * fine: they are fetched at the first login). */
static int upstream_keys_missing(gw_ctx_t *app)
{
    if (!app->upstream_jwks)
        return 0;
    size_t n;
    int64_t fetched_at, attempted_at;
    gw_jwks_cache_state(app->upstream_jwks, &n, &fetched_at, &attempted_at);
    return n == 0 && attempted_at != 0 && fetched_at < attempted_at;
}

/* /readyz then tries a fetch itself (at most one per the cache's minimum interval): a node
 * out of rotation gets no logins to try it for it. On the upstream pool: it waits on VNeID. */
static int ready_waits_upstream(gw_ctx_t *app, const gw_req_t *req) { return upstream_keys_missing(app); }

/* GET /readyz: may this node take traffic? The store answers a round trip, the signing
 * keys are loaded, and the upstream's keys are usable. Runs on a worker: the store ping
 * may block. 503 with Retry-After names every failed check. */
static void h_ready(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    json_t *checks = json_object(), *failed = json_object();
    check(checks, failed, "store", gw_store_ping(app->store) == GW_OK, "no answer");
    check(checks, failed, "keys", app->keys && app->keys->nkeys > 0, "not loaded");
    if (app->upstream_jwks) {
        if (upstream_keys_missing(app))
            gw_jwks_cache_retry(app->upstream_jwks);
        check(checks, failed, "upstream_keys", !upstream_keys_missing(app), "last fetch failed");
    }
    int ready = json_object_size(failed) == 0;
    json_t *body = json_pack("{s:b,s:o,s:s}", "ready", ready, "checks", checks, "version", EIDGW_VERSION);
    if (!ready) {
        json_object_set_new(body, "failed", failed);
        gw_resp_header(resp, "Retry-After", "5");
    } else {
        json_decref(failed);
    }
    gw_resp_header(resp, "Cache-Control", "no-store");
    gw_resp_json(resp, ready ? 200 : 503, body);
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
    { .methods = GW_M_GET | GW_M_HEAD,
      .path = "/readyz",
      .fn = h_ready,
      .waits_upstream = ready_waits_upstream,
      .json = 1 },
    { .methods = GW_M_GET, .path = "/", .fn = h_root, .is_inline = 1 },
    { 0 },
};
