/* gw_forward_auth: the front end of portals behind a reverse proxy (docs/proxy.md).
 *
 *   proxy (nginx module, or Caddy/Traefik/Envoy asking /auth/check): no portal cookie
 *     --302--> eidgw /proxy/login?portal=P&return_to=URL: a login for the broker
 *   broker --complete--> a one-time code --302--> https://portal/.eidgw/callback?code=C
 *   the proxy sends /.eidgw/ to eidgw: the code is taken, the portal cookie set on the
 *     portal's own host --302--> return_to
 *   every request: the proxy opens the portal cookie in process (nginx) or asks
 *     /auth/check (forward-auth), which answers from the cookie and the in-memory
 *     revocation set on the I/O thread, with the identity headers and a signed assertion.
 *   /.eidgw/logout on the portal's host ends the SSO session everywhere.
 *
 * The login starts on the portal's host (/.eidgw/start), which binds it to the browser by
 * a cookie there (BIND_COOKIE below); /proxy/login reached without that binding sends the
 * browser there first.
 *
 * Its own record: "pxc" (a one-time code: the sealed portal cookie waiting for the
 * callback on the portal's host; it lives code_lifetime seconds and is taken once). What
 * the login must come back to rides with the broker's login: the portal's origin and the
 * same-origin URL to return to. */
#include "gw_forward_auth.h"
#include "gw_assertion.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_pcookie.h"
#include "gw_proxy_wire.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CALLBACK_PATH "/.eidgw/callback"
#define LOGOUT_PATH "/.eidgw/logout"
#define START_PATH "/.eidgw/start"
#define RETURN_TO_MAX 2048
/* The browser's login binding on the portal's host: a random value in a cookie only the
 * gateway's paths see; the login carries its SHA-256, and the callback sets the portal
 * cookie only in the browser that holds the value (no login CSRF: a code someone else's
 * login produced sets nothing in this browser). */
#define BIND_COOKIE "eidgw_bind"
#define BIND_LEN 43 /* gw_random_token(32) and gw_sha256_b64url: 32 bytes in base64url */

/* ------------------------------------------------------------------ hosts and URLs */

/* The host (and port) the browser asked for: X-Forwarded-Host from a trusted proxy, else
 * Host. */
static const char *req_authority(const gw_req_t *req) { return req->fwd_host ? req->fwd_host : req->host; }

static int origin_is_https(const char *origin) { return !strncmp(origin, "https://", 8); }

/* The origin of cl whose authority is the request's, or NULL. */
static const char *origin_of_request(const gw_client_t *cl, const gw_req_t *req)
{
    return gw_config_origin_of(cl, req_authority(req));
}

/* Where a login or a logout may return to: an absolute URL on one of the portal's origins,
 * or a path (on its first origin). A malloc'd absolute URL, *origin set; NULL when it is
 * neither (no open redirect). An absent return_to is the origin's root. */
static char *return_to_url(const gw_client_t *cl, const char *rt, const char **origin)
{
    *origin = cl->proxy_origins.v[0];
    if (!rt || !*rt)
        return gw_sprintf("%s/", *origin);
    if (strlen(rt) > RETURN_TO_MAX)
        return NULL;
    if (rt[0] == '/')
        return gw_pw_safe_path(rt) ? gw_sprintf("%s%s", *origin, rt) : NULL;
    for (size_t i = 0; i < cl->proxy_origins.n; i++) {
        const char *o = cl->proxy_origins.v[i];
        size_t n = strlen(o);
        if (!strncasecmp(rt, o, n) && (!rt[n] || gw_pw_safe_path(rt + n))) {
            *origin = o;
            return rt[n] ? gw_sprintf("%s%s", o, rt + n) : gw_sprintf("%s/", o);
        }
    }
    return NULL;
}

static void redirect_to(gw_resp_t *resp, const char *base, const char *path, const char *name, const char *value)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, base);
    gw_buf_adds(&u, path);
    if (name)
        gw_url_add_param(&u, name, value);
    gw_resp_redirect(resp, u.data);
    gw_buf_cleanup(&u);
}

/* ------------------------------------------------------------------ the login's binding */

static int bind_is_wellformed(const char *v)
{
    if (!v || strlen(v) != BIND_LEN)
        return 0;
    for (const char *p = v; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static void start_on_portal_host(gw_resp_t *resp, const char *origin, const char *rt, const char *prompt)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, origin);
    gw_buf_adds(&u, START_PATH);
    gw_url_add_param(&u, "return_to", rt);
    if (prompt && !strcmp(prompt, "login"))
        gw_url_add_param(&u, "prompt", prompt);
    gw_resp_redirect(resp, u.data);
    gw_buf_cleanup(&u);
}

/* Does the browser hold the value whose hash the login carried? */
static int bind_matches(const gw_req_t *req, const char *want)
{
    char *v = gw_cookie_get(req->cookie, BIND_COOKIE);
    char *h = bind_is_wellformed(v) ? gw_sha256_b64url(v) : NULL;
    int ok = h && want && !strcmp(h, want); /* hashes of a secret: their timing tells nothing of it */
    free(h);
    gw_wipe_free(v);
    return ok;
}

/* ------------------------------------------------------------------ GET /proxy/login */

static const gw_client_t *proxied_client(gw_ctx_t *app, const char *id)
{
    const gw_client_t *cl = gw_config_client(app->cfg, id);
    return cl && cl->proxy_origins.n ? cl : NULL;
}

static void h_proxy_login(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang = gw_req_lang(req, &app->page, NULL);
    const gw_client_t *cl = proxied_client(app, gw_form_get(&req->q, "portal"));
    if (!cl || gw_form_count(&req->q, "portal") != 1) {
        gw_error_page(&app->page, req, resp, 400, "unknown_client", lang, NULL, NULL);
        return;
    }
    const char *origin;
    char *rt =
        gw_form_count(&req->q, "return_to") > 1 ? NULL : return_to_url(cl, gw_form_get(&req->q, "return_to"), &origin);
    if (!rt) {
        gw_log(GW_LOG_WARN, "proxy", "login: return_to not on the portal's origins", "client", cl->id, "id", req->id,
               NULL);
        gw_error_page(&app->page, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        return;
    }
    const char *prompt = gw_form_get(&req->q, "prompt"), *bind = gw_form_get(&req->q, "bind");
    if (!bind && !cl->suspended) { /* bind the login to this browser on the portal's host first */
        start_on_portal_host(resp, origin, rt, prompt);
        free(rt);
        return;
    }
    if (!cl->suspended && (!bind_is_wellformed(bind) || gw_form_count(&req->q, "bind") != 1)) {
        free(rt);
        gw_error_page(&app->page, req, resp, 400, "invalid_request", lang, NULL, NULL);
        return;
    }
    json_t *ret = json_object();
    gw_jset(ret, "origin", origin);
    gw_jset(ret, "return_to", rt);
    gw_jset(ret, "bind", bind);
    free(rt);
    gw_login_t login = {
        .portal = gw_strdup(cl->id),
        .min_level = cl->min_level,
        .force = prompt && !strcmp(prompt, "login"),
        .max_age = -1,
        .frontend = gw_strdup(gw_proxy_frontend.name),
        .ret = ret,
    };
    gw_broker_start(app, req, resp, &login, lang);
    gw_login_cleanup(&login);
}

/* ------------------------------------------------------------------ the broker's answers */

static void set_claim(char **field, json_t *claims, const char *k)
{
    const char *v = gw_jstr(claims, k);
    *field = v ? (char *)v : NULL;
}

/* The login is done: the portal cookie is sealed now and kept under a one-time code, and
 * the browser goes to the callback on the portal's own host, which sets it there. */
static void proxy_complete(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login,
                           const gw_finished_t *done)
{
    (void)req;
    const gw_client_t *cl = proxied_client(app, login->portal);
    const char *origin = gw_jstr(login->ret, "origin"), *rt = gw_jstr(login->ret, "return_to");
    if (!cl || !origin || !rt) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", NULL, NULL, NULL);
        return;
    }
    json_t *claims = gw_release_claims(app, cl, cl->scopes, done->identity, done->account, done->merged);
    int64_t now = gw_now();
    gw_pcookie_t pc = {
        .sid = (char *)done->sid,
        .portal = (char *)cl->id,
        .sub = (char *)done->sub,
        .acr = (char *)gw_acr_for(done->level),
        .level = done->level,
        .auth_time = done->auth_time,
        .exp = done->exp > now ? done->exp : now + app->cfg->session_lifetime,
        .recheck = now + app->cfg->session_recheck,
    };
    set_claim(&pc.name, claims, "name");
    set_claim(&pc.birthdate, claims, "birthdate");
    set_claim(&pc.gender, claims, "gender");
    set_claim(&pc.cccd, claims, "cccd");
    set_claim(&pc.legacy_account, claims, "legacy_account");
    char *sealed = NULL;
    int rc = gw_pcookie_seal(app->pcookie_key, &pc, &sealed);
    json_decref(claims);
    if (rc != GW_PCOOKIE_OK) {
        gw_log(GW_LOG_ERROR, "proxy", "portal cookie not sealed (too big?)", "client", cl->id, NULL);
        gw_error_page(&app->page, req, resp, 500, "server_busy", NULL, NULL, NULL);
        return;
    }
    char *code = gw_random_token(32), *key = gw_sha256_b64url(code);
    const char *bind = gw_jstr(login->ret, "bind");
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s?}", "portal", cl->id, "origin", origin, "return_to", rt, "cookie",
                          sealed, "exp", (json_int_t)pc.exp, "bind", bind);
    rc = gw_store_put_json(app->store, "pxc", key, c, app->cfg->code_lifetime, 0);
    json_decref(c);
    gw_wipe_free(sealed);
    if (rc != GW_OK)
        gw_busy_page(app, req, resp, NULL);
    else
        redirect_to(resp, origin, CALLBACK_PATH, "code", code);
    free(key);
    gw_wipe_free(code);
}

/* prompt=none is never asked by this front end; a failure shows the error page */
static void proxy_fail(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const char *error)
{
    (void)login;
    (void)error;
    gw_error_page(&app->page, req, resp, 400, "invalid_request", NULL, NULL, NULL);
}

static char *proxy_back_url(gw_ctx_t *app, const gw_login_t *login, const char *error)
{
    (void)app;
    (void)error;
    const char *o = gw_jstr(login->ret, "origin");
    return o ? gw_sprintf("%s/", o) : NULL;
}

const gw_frontend_ops_t gw_proxy_frontend = {
    .name = "proxy", .complete = proxy_complete, .fail = proxy_fail, .back_url = proxy_back_url,
    /* a session's end reaches proxied portals by the revocation set and file */
};

/* ------------------------------------------------------------------ the portal's host */

/* GET /.eidgw/callback?code=C on the portal's host (its proxy sends /.eidgw/ here): the
 * code is taken (once), and the portal cookie set on this host. */
static void h_callback(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang = gw_req_lang(req, &app->page, NULL);
    const char *code = gw_form_get(&req->q, "code");
    if (!code || gw_form_count(&req->q, "code") != 1 || strlen(code) > 128) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        return;
    }
    char *key = gw_sha256_b64url(code);
    json_t *rec = NULL;
    int rc = gw_store_get_json(app->store, "pxc", key, 1, &rec);
    free(key);
    if (rc == GW_ESTORE) {
        gw_busy_page(app, req, resp, lang);
        return;
    }
    const gw_client_t *cl = rc == GW_OK ? proxied_client(app, gw_jstr(rec, "portal")) : NULL;
    const char *origin = gw_jstr(rec, "origin"), *cookie = gw_jstr(rec, "cookie"), *rt = gw_jstr(rec, "return_to");
    if (!cl || !origin || !cookie || !rt) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        json_decref(rec);
        return;
    }
    /* the cookie is for the host the login was started for: a code carried to another
     * host (or a proxy that does not pass the browser's Host) sets nothing */
    const char *here = origin_of_request(cl, req);
    if (!here || strcmp(here, origin)) {
        gw_log(GW_LOG_WARN, "proxy", "callback on a host other than the login's", "client", cl->id, "host",
               req_authority(req) ? req_authority(req) : "(none)", "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 400, "wrong_host", lang, NULL, NULL);
        json_decref(rec);
        return;
    }
    /* and for the browser that started it: a code from someone else's login is spent here
     * and sets nothing */
    if (!bind_matches(req, gw_jstr(rec, "bind"))) {
        gw_log(GW_LOG_WARN, "proxy", "callback in a browser that did not start the login", "client", cl->id, "id",
               req->id, NULL);
        gw_error_page(&app->page, req, resp, 400, "login_other_browser", lang, NULL, NULL);
        json_decref(rec);
        return;
    }
    long max_age = (long)(json_integer_value(json_object_get(rec, "exp")) - gw_now());
    gw_resp_cookie(resp, cl->proxy_cookie, cookie, max_age > 0 ? max_age : 1, origin_is_https(origin));
    gw_resp_redirect(resp, rt);
    json_decref(rec);
}

/* GET /.eidgw/start?return_to=URL on the portal's host: the login's binding to this browser
 * (the value it already holds, so that logins in two tabs share it, or a new one) in a
 * cookie for the gateway's paths on this host, then /proxy/login with its hash. */
static void h_start(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang = gw_req_lang(req, &app->page, NULL);
    const gw_client_t *cl = gw_config_client_by_host(app->cfg, req_authority(req));
    const char *here = cl ? origin_of_request(cl, req) : NULL, *portal = gw_form_get(&req->q, "portal");
    if (!here || (portal && strcmp(portal, cl->id))) {
        gw_error_page(&app->page, req, resp, 400, "wrong_host", lang, NULL, NULL);
        return;
    }
    const char *origin;
    char *rt =
        gw_form_count(&req->q, "return_to") > 1 ? NULL : return_to_url(cl, gw_form_get(&req->q, "return_to"), &origin);
    if (!rt || strcmp(origin, here)) {
        free(rt);
        gw_error_page(&app->page, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        return;
    }
    char *v = gw_cookie_get(req->cookie, BIND_COOKIE);
    if (!bind_is_wellformed(v)) {
        gw_wipe_free(v);
        v = gw_random_token(32);
    }
    char *h = gw_sha256_b64url(v);
    gw_resp_cookie_at(resp, BIND_COOKIE, v, app->cfg->flow_lifetime, origin_is_https(here), "/.eidgw/");
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_printf(&u, "%s/proxy/login", app->cfg->public_url);
    gw_url_add_param(&u, "portal", cl->id);
    gw_url_add_param(&u, "return_to", rt);
    gw_url_add_param(&u, "bind", h);
    const char *prompt = gw_form_get(&req->q, "prompt");
    if (prompt && !strcmp(prompt, "login"))
        gw_url_add_param(&u, "prompt", prompt);
    gw_resp_redirect(resp, u.data);
    gw_buf_cleanup(&u);
    free(h);
    free(rt);
    gw_wipe_free(v);
}

/* Was the logout asked by the citizen on this host? The browser's Fetch Metadata says so
 * (Sec-Fetch-Site: same-origin, or none for a GET typed or bookmarked); a browser without
 * it, by a POST whose Origin is this host (our pages send no Referer, so a browser may send
 * "Origin: null": Fetch Metadata decides first). Anything else, a cross-site link, image or
 * form included, would let another site end the citizen's session everywhere. */
static int logout_asked_here(const gw_client_t *cl, const gw_req_t *req, const char *here)
{
    const char *sfs = req->sec_fetch_site;
    if (sfs)
        return !strcmp(sfs, "same-origin") || (req->method == GW_M_GET && !strcmp(sfs, "none"));
    if (req->method != GW_M_POST)
        return 0;
    /* the origin, by the same host rule as every request's */
    const char *o = req->origin, *sep = o ? strstr(o, "://") : NULL;
    return sep && gw_config_origin_of(cl, sep + 3) == here && !strncasecmp(o, here, (size_t)(sep + 3 - o));
}

/* GET or POST /.eidgw/logout on the portal's host: the SSO session ends everywhere (every
 * portal's cookie is then refused, by every node and proxy), this host's cookie is
 * cleared, and the browser sees the logout page or return_to on the same host. */
static void h_logout(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang = gw_req_lang(req, &app->page, NULL);
    const gw_client_t *cl = gw_config_client_by_host(app->cfg, req_authority(req));
    const char *here = cl ? origin_of_request(cl, req) : NULL;
    if (!here) {
        gw_error_page(&app->page, req, resp, 400, "wrong_host", lang, NULL, NULL);
        return;
    }
    if (!logout_asked_here(cl, req, here)) { /* asked from elsewhere (a link, an image, a form on
                                             * another site): the citizen confirms it here */
        char *action = gw_sprintf("%s%s", here, LOGOUT_PATH), *back = gw_sprintf("%s/", here);
        gw_tmpl_var_t v[] = { { "client_name", cl->name }, { "action_url", action }, { "back_url", back } };
        gw_page(&app->page, req, resp, 200, "logout_confirm", lang, v, 3);
        free(action);
        free(back);
        return;
    }
    const gw_form_t *f = req->method == GW_M_POST ? &req->form : &req->q;
    const char *origin;
    char *rt = gw_form_get(f, "return_to") ? return_to_url(cl, gw_form_get(f, "return_to"), &origin) : NULL;
    if (rt && strcmp(origin, here)) { /* back to this host only */
        free(rt);
        rt = NULL;
    }
    char *v = gw_cookie_get(req->cookie, cl->proxy_cookie);
    gw_pcookie_t pc;
    int orc = v ? gw_pcookie_open(app->pcookie_key, v, cl->id, gw_now(), &pc) : GW_PCOOKIE_BAD;
    gw_wipe_free(v);
    if (orc == GW_PCOOKIE_OK || orc == GW_PCOOKIE_RECHECK) {
        int rc = gw_session_end(app, NULL, pc.sid, pc.exp);
        gw_pcookie_clear(&pc);
        if (rc != GW_OK) { /* nothing ended: the cookie stays, the citizen tries again */
            free(rt);
            gw_busy_page(app, req, resp, lang);
            return;
        }
    }
    gw_resp_cookie(resp, cl->proxy_cookie, "", -1, origin_is_https(here));
    if (rt) {
        gw_resp_redirect(resp, rt);
        free(rt);
        return;
    }
    char *back = gw_sprintf("%s/", here);
    gw_tmpl_var_t vars[] = { { "client_name", cl->name }, { "back_url", back } };
    gw_page(&app->page, req, resp, 200, "logout", lang, vars, 2);
    free(back);
}

/* ------------------------------------------------------------------ GET /auth/check */

/* The assertion a backend may verify against /jwks (gw_assertion.h, the same as the nginx
 * module's): signing costs tens of microseconds, so one is kept per portal cookie for half
 * its lifetime. */
static gw_acache_t acache;
static pthread_mutex_t acache_lock = PTHREAD_MUTEX_INITIALIZER;

void gw_forward_auth_cleanup(void)
{
    pthread_mutex_lock(&acache_lock);
    gw_acache_clear(&acache);
    pthread_mutex_unlock(&acache_lock);
}

static char *assertion_for(gw_ctx_t *app, const gw_client_t *cl, const char *cookie, const gw_pcookie_t *pc)
{
    unsigned char h[32];
    gw_acache_key(cookie, h);
    int64_t now = gw_now();
    pthread_mutex_lock(&acache_lock);
    char *jwt = gw_strdup(gw_acache_get(&acache, h, now));
    pthread_mutex_unlock(&acache_lock);
    if (jwt)
        return jwt;
    json_t *c = gw_assertion_claims(app->cfg->public_url, cl->id, pc, gw_acr_for(pc->level), now);
    jwt = c ? gw_jwt_sign(app->keys, cl->token_alg, c, "JWT") : NULL;
    json_decref(c);
    if (!jwt)
        return NULL;
    pthread_mutex_lock(&acache_lock);
    gw_acache_put(&acache, h, now + GW_ASSERTION_REUSE, jwt, NULL);
    pthread_mutex_unlock(&acache_lock);
    return jwt;
}

/* Every identity header is in every 200 answer, empty when there is nothing to say (a
 * claim not released, a bypassed path): a proxy that copies headers from the answer then
 * never falls back on what the client sent, nor (Caddy 2.6's copy_headers) on the name of
 * its own placeholder. */
static const char *const identity_headers[] = { "X-Eidgw-Sub",       "X-Eidgw-Level", "X-Eidgw-Acr",
                                                "X-Eidgw-Auth-Time", "X-Eidgw-Name",  "X-Eidgw-Birthdate",
                                                "X-Eidgw-Gender",    "X-Eidgw-Cccd",  "X-Eidgw-Legacy-Account",
                                                "X-Eidgw-Assertion" };
#define N_IDENTITY_HEADERS (sizeof(identity_headers) / sizeof(identity_headers[0]))

static void answer_identity(gw_resp_t *resp, const char *const values[N_IDENTITY_HEADERS])
{
    for (size_t i = 0; i < N_IDENTITY_HEADERS; i++)
        gw_resp_header(resp, identity_headers[i], values && values[i] ? values[i] : "");
    gw_resp_header(resp, "Cache-Control", "no-store");
    gw_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
}

/* A claim value as a header value: UTF-8 percent-encoded (gw_pw_pct_encode). malloc'd. */
static char *pct(const char *value)
{
    if (!value)
        return NULL;
    size_t n = strlen(value);
    char *enc = gw_xmalloc(3 * n + 1);
    enc[gw_pw_pct_encode((const unsigned char *)value, n, enc)] = 0;
    return enc;
}

static int wants_html(const gw_req_t *req) { return req->accept && strstr(req->accept, "text/html"); }

/* No session for a delegating proxy: a browser navigation goes to the login with the URL
 * it asked for (on this portal's origin); anything else gets 401. */
static void deny(gw_ctx_t *app, const gw_req_t *req, gw_resp_t *resp, const gw_client_t *cl, const char *origin)
{
    const char *m = req->fwd_method ? req->fwd_method : "GET";
    const char *uri = req->fwd_uri ? req->fwd_uri : "/";
    if (!strcmp(m, "GET") && wants_html(req) && strlen(uri) <= RETURN_TO_MAX && gw_pw_safe_path(uri)) {
        gw_buf_t u;
        gw_buf_init(&u, 16384);
        gw_buf_printf(&u, "%s/proxy/login", app->cfg->public_url);
        gw_url_add_param(&u, "portal", cl->id);
        char *rt = gw_sprintf("%s%s", origin, uri);
        gw_url_add_param(&u, "return_to", rt);
        free(rt);
        gw_resp_redirect(resp, u.data);
        gw_buf_cleanup(&u);
        return;
    }
    gw_resp_header(resp, "WWW-Authenticate", "Eidgw realm=\"eidgw\"");
    gw_resp_text(resp, 401, "text/plain; charset=utf-8", "no session\n");
}

static int bypassed(const gw_client_t *cl, const char *uri)
{
    return gw_pw_bypassed(uri, (const char *const *)cl->proxy_bypass.v, cl->proxy_bypass.n);
}

/* The forward-auth contract (a trusted proxy names the request by X-Forwarded-Host, -Uri,
 * -Method): the portal by its host, its cookie opened and checked against the revocation
 * set and the portal's level, and 200 with the identity headers. */
static void portal_check(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const gw_client_t *cl = gw_config_client_by_host(app->cfg, req->fwd_host);
    const char *origin = cl ? origin_of_request(cl, req) : NULL;
    if (!origin) {
        gw_resp_text(resp, 403, "text/plain; charset=utf-8", "this host is not a registered portal\n");
        return;
    }
    if (cl->suspended) { /* not even its bypassed paths: the portal is off */
        gw_resp_text(resp, 403, "text/plain; charset=utf-8", "portal suspended\n");
        return;
    }
    if (bypassed(cl, req->fwd_uri)) {
        answer_identity(resp, NULL);
        return;
    }
    char *v = gw_cookie_get(req->cookie, cl->proxy_cookie);
    gw_pcookie_t pc;
    int rc = v ? gw_pcookie_open(app->pcookie_key, v, cl->id, gw_now(), &pc) : GW_PCOOKIE_BAD;
    if (rc != GW_PCOOKIE_OK && rc != GW_PCOOKIE_RECHECK) {
        gw_wipe_free(v);
        deny(app, req, resp, cl, origin);
        return;
    }
    if (gw_revset_has(&app->revoked, pc.sid) || pc.level < cl->min_level) {
        gw_pcookie_clear(&pc);
        gw_wipe_free(v);
        deny(app, req, resp, cl, origin);
        return;
    }
    char lvl[8], at[24];
    snprintf(lvl, sizeof(lvl), "%d", pc.level);
    snprintf(at, sizeof(at), "%lld", (long long)pc.auth_time);
    char *claims[5] = { pct(pc.name), pct(pc.birthdate), pct(pc.gender), pct(pc.cccd), pct(pc.legacy_account) };
    char *jwt = assertion_for(app, cl, v, &pc);
    const char *values[N_IDENTITY_HEADERS] = {
        pc.sub,    lvl, pc.acr ? pc.acr : gw_acr_for(pc.level), at, claims[0], claims[1], claims[2], claims[3],
        claims[4], jwt,
    };
    answer_identity(resp, values);
    for (size_t i = 0; i < 5; i++)
        free(claims[i]);
    free(jwt);
    gw_pcookie_clear(&pc);
    gw_wipe_free(v);
}

/* GET /auth/check: the session check of the proxied path. It runs on the I/O thread and
 * never touches the store: the sealed cookie and the in-memory revocation set decide.
 * From a trusted proxy naming the portal's host, the forward-auth contract above; else the
 * gateway's own SSO cookie (200 with the session's level, or 401). */
static void h_auth_check(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (req->fwd_host) {
        portal_check(app, req, resp);
        return;
    }
    gw_sso_t s = { 0 };
    if (gw_sso_open(app, req, &s) != GW_OK) {
        gw_resp_header(resp, "WWW-Authenticate", "Eidgw realm=\"eidgw\"");
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

static int login_may_call_popdb(gw_ctx_t *app, const gw_req_t *req)
{
    return gw_login_may_call_popdb(app, req, gw_config_client(app->cfg, gw_form_get(&req->q, "portal")));
}

const gw_route_t gw_forward_auth_routes[] = {
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/auth/check", .fn = h_auth_check, .is_inline = 1 },
    { .methods = GW_M_GET,
      .path = "/proxy/login",
      .fn = h_proxy_login,
      .inline_if_local = "ar",
      .inline_when = gw_sso_cookie_absent,
      .waits_upstream = login_may_call_popdb },
    { .methods = GW_M_GET, .path = START_PATH, .fn = h_start, .is_inline = 1 },
    { .methods = GW_M_GET, .path = CALLBACK_PATH, .fn = h_callback, .inline_if_local = "pxc", .no_reload = 1 },
    { .methods = GW_M_GET | GW_M_POST, .path = LOGOUT_PATH, .fn = h_logout, .waits_upstream = gw_route_always },
    { 0 },
};
