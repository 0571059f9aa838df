/* gw_login: a login through the broker, from a front end's start to the finished identity.
 *
 *   front end --gw_broker_start--> SSO session? --yes--> account resolution --> complete
 *                                        |no
 *                                 /login (page) --/login/vneid--> upstream
 *   upstream --/callback--> policy, lock list, new session --> account resolution --> complete
 *
 * Short-lived state lives in the store: "ar" (a login, keyed by its id), "flow" (one
 * upstream round trip, keyed by its state). The browser carries the sealed SSO cookie and
 * a binding cookie that ties an upstream flow to the browser that began it. */
#include "gw_broker_internal.h"
#include "gw_idnum.h"
#include "gw_json.h"
#include "gw_log.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ front ends */

static const gw_frontend_ops_t *const *frontends;

void gw_broker_register(const gw_frontend_ops_t *const *list) { frontends = list; }

const gw_frontend_ops_t *gw_broker_frontend(const char *name)
{
    for (const gw_frontend_ops_t *const *f = frontends; f && *f && name; f++)
        if (!strcmp((*f)->name, name))
            return *f;
    return NULL;
}

void gw_broker_session_ended(gw_ctx_t *app, const gw_session_t *sess)
{
    for (const gw_frontend_ops_t *const *f = frontends; f && *f; f++)
        if ((*f)->session_ended)
            (*f)->session_ended(app, sess);
}

/* ------------------------------------------------------------------ the login record */

void gw_login_cleanup(gw_login_t *l)
{
    free(l->portal);
    free(l->ui_locales);
    free(l->login_hint);
    free(l->frontend);
    json_decref(l->ret);
    free(l->step);
    json_decref(l->shown);
    free(l->sid);
    free(l->legacy_account);
    free(l->legacy_verified);
    memset(l, 0, sizeof(*l));
}

json_t *gw_login_to_json(const gw_login_t *l)
{
    json_t *j = json_object();
    gw_jset(j, "portal", l->portal);
    json_object_set_new(j, "min_level", json_integer(l->min_level));
    if (l->force)
        json_object_set_new(j, "force", json_true());
    if (l->passive)
        json_object_set_new(j, "passive", json_true());
    if (l->max_age >= 0)
        json_object_set_new(j, "max_age", json_integer(l->max_age));
    gw_jset(j, "ui_locales", l->ui_locales);
    gw_jset(j, "login_hint", l->login_hint);
    gw_jset(j, "fe", l->frontend);
    if (l->ret)
        json_object_set(j, "ret", l->ret);
    gw_jset(j, "step", l->step);
    if (l->shown)
        json_object_set(j, "shown", l->shown);
    gw_jset(j, "sid", l->sid);
    gw_jset(j, "legacy_account", l->legacy_account);
    gw_jset(j, "legacy_verified", l->legacy_verified);
    return j;
}

static char *dup_or_null(const char *s) { return s ? gw_strdup(s) : NULL; }

int gw_login_from_json(json_t *j, gw_login_t *l)
{
    memset(l, 0, sizeof(*l));
    if (!json_is_object(j) || !gw_jstr(j, "portal") || !gw_jstr(j, "fe"))
        return GW_EINVAL;
    l->portal = gw_strdup(gw_jstr(j, "portal"));
    l->min_level = (int)json_integer_value(json_object_get(j, "min_level"));
    l->force = json_is_true(json_object_get(j, "force"));
    l->passive = json_is_true(json_object_get(j, "passive"));
    json_t *ma = json_object_get(j, "max_age");
    l->max_age = json_is_integer(ma) ? (long)json_integer_value(ma) : -1;
    l->ui_locales = dup_or_null(gw_jstr(j, "ui_locales"));
    l->login_hint = dup_or_null(gw_jstr(j, "login_hint"));
    l->frontend = gw_strdup(gw_jstr(j, "fe"));
    l->ret = json_incref(json_object_get(j, "ret"));
    l->step = dup_or_null(gw_jstr(j, "step"));
    l->shown = json_incref(json_object_get(j, "shown"));
    l->sid = dup_or_null(gw_jstr(j, "sid"));
    l->legacy_account = dup_or_null(gw_jstr(j, "legacy_account"));
    l->legacy_verified = dup_or_null(gw_jstr(j, "legacy_verified"));
    return GW_OK;
}

/* The stored form of a login carries its version in its key: a node of a release that wrote
 * logins in another shape (an OIDC authorization request) finds no record under a newer
 * key and answers "flow_expired", and this one finds none under an older key. A rolling
 * upgrade across a change of shape costs the logins under way, never a crash. */
#define LOGIN_KEY_VERSION "2."

static void login_key(const char *id, char *out, size_t len) { snprintf(out, len, LOGIN_KEY_VERSION "%s", id); }

int gw_login_load(gw_ctx_t *app, const char *id, gw_login_t *ret)
{
    json_t *j = NULL;
    char key[128];
    memset(ret, 0, sizeof(*ret));
    login_key(id, key, sizeof(key));
    int rc = gw_store_get_json(app->store, "ar", key, 0, &j);
    if (rc == GW_OK)
        rc = gw_login_from_json(j, ret) == GW_OK ? GW_OK : GW_ENOTFOUND;
    json_decref(j);
    return rc;
}

int gw_login_save(gw_ctx_t *app, const char *id, const gw_login_t *l)
{
    json_t *j = gw_login_to_json(l);
    char key[128];
    login_key(id, key, sizeof(key));
    int rc = gw_store_put_json(app->store, "ar", key, j, app->cfg->flow_lifetime, 0);
    json_decref(j);
    return rc;
}

void gw_login_forget(gw_ctx_t *app, const char *id)
{
    char key[128];
    login_key(id, key, sizeof(key));
    gw_store_del(app->store, "ar", key);
}

int gw_login_from_request(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *ret, const char **ret_id,
                          const char **ret_lang)
{
    const char *id = gw_form_get(req->method == GW_M_POST ? &req->form : &req->q, "ar");
    int rc = id && strlen(id) < 64 ? gw_login_load(app, id, ret) : GW_ENOTFOUND;
    const char *lang = gw_req_lang(req, &app->page, rc == GW_OK ? ret->ui_locales : NULL);
    *ret_id = id;
    *ret_lang = lang;
    if (rc == GW_ESTORE)
        gw_busy_page(app, req, resp, lang);
    else if (rc != GW_OK)
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
    return rc;
}

/* ------------------------------------------------------------------ the upstream */

/* The upstream provider of this process's one [upstream] section, by its plugin. */
static const gw_idp_ops_t *idp(gw_ctx_t *app) { return app->idp; }

/* ------------------------------------------------------------------ start */

void gw_busy_page(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang)
{
    gw_log(GW_LOG_ERROR, "store", "store unavailable", "path", req->path, "id", req->id, NULL);
    gw_error_page(&app->page, req, resp, 503, "server_busy", lang, NULL, NULL);
    gw_resp_header(resp, "Retry-After", "1");
}

/* The least level this login accepts: what it asked for, and never less than the portal's
 * minimum as configured now (it may have been raised while the login was under way). */
static int need_level(const gw_login_t *login, const gw_client_t *cl)
{
    return login->min_level > cl->min_level ? login->min_level : cl->min_level;
}

/* An SSO session that satisfies the login finishes it here: 1 when the request is
 * answered (completed, or a busy page), 0 when the login must go on to the upstream. */
static int try_sso(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const gw_client_t *cl,
                   const char *lang)
{
    gw_sso_t s = { 0 };
    if (login->force || gw_sso_open(app, req, &s) != GW_OK)
        return 0;
    gw_session_t sess;
    int answered = 0;
    int src = gw_session_get(app, s.sid, 0, &sess);
    if (src == GW_ESTORE) {
        gw_busy_page(app, req, resp, lang);
        answered = 1;
        goto done;
    }
    int have = src == GW_OK;
    /* max_age=0 asks for a fresh authentication, like prompt=login */
    int fresh = login->max_age < 0 || (login->max_age > 0 && gw_now() - s.auth_time <= login->max_age);
    /* the same policy as a fresh login: this portal's account types and the lock list */
    const char *atype = have ? gw_jstr(sess.identity, "account_type") : NULL;
    const char *id12 = gw_session_id12(have ? &sess : NULL);
    int policy_ok = have && (!atype || gw_list_has(cl->account_types, atype));
    char *lock = NULL;
    int lrc = policy_ok && *id12 ? gw_store_get(app->store, "lock", id12, &lock) : GW_ENOTFOUND;
    free(lock);
    if (lrc != GW_OK && lrc != GW_ENOTFOUND) { /* the lock list cannot be read: no session is let through */
        gw_busy_page(app, req, resp, lang);
        answered = 1;
        goto done;
    }
    if (lrc == GW_OK) {
        policy_ok = 0;
        gw_store_revoke(app->store, s.sid, s.exp);
        gw_revset_add(&app->revoked, s.sid, s.exp);
    }
    if (have && fresh && policy_ok && s.level >= need_level(login, cl)) {
        gw_broker_after_login(app, req, resp, login, NULL, &sess, NULL, lang);
        answered = 1;
    }
done:
    if (src == GW_OK)
        gw_session_cleanup(&sess);
    gw_sso_cleanup(&s);
    return answered;
}

void gw_broker_start(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *lang)
{
    const gw_client_t *cl = gw_config_client(app->cfg, login->portal);
    const gw_frontend_ops_t *fe = gw_broker_frontend(login->frontend);
    if (!cl || !fe) {
        gw_error_page(&app->page, req, resp, 400, "unknown_client", lang, NULL, NULL);
        return;
    }
    if (cl->suspended) { /* every front end's login starts here: OIDC, SAML, the proxied path */
        gw_log(GW_LOG_WARN, "login", "refused: the portal is suspended", "client", cl->id, "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 403, "portal_suspended", lang, NULL, NULL);
        return;
    }
    if (try_sso(app, req, resp, login, cl, lang))
        return;
    if (login->passive) {
        fe->fail(app, req, resp, login, "login_required");
        return;
    }
    /* a login kept for flow_lifetime: one address cannot make the node keep more than its share */
    long wait = gw_addrlimit_hit(app->login_limit, req->remote, gw_now());
    if (wait) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%ld", wait);
        gw_log(GW_LOG_WARN, "login", "refused: too many logins started from this address", "client", cl->id, "ip",
               req->remote, NULL);
        gw_error_page(&app->page, req, resp, 429, "too_many_logins", lang, NULL, NULL);
        gw_resp_header(resp, "Retry-After", ra);
        return;
    }
    char *id = gw_random_token(24);
    if (gw_login_save(app, id, login) != GW_OK) {
        gw_error_page(&app->page, req, resp, 503, "server_busy", lang, NULL, NULL);
        gw_resp_header(resp, "Retry-After", "1");
    } else {
        gw_buf_t u;
        gw_buf_init(&u, 4096);
        gw_buf_adds(&u, "/login");
        gw_url_add_param(&u, "ar", id);
        if (strcmp(lang, "vi"))
            gw_url_add_param(&u, "lang", lang);
        gw_resp_redirect(resp, u.data);
        gw_buf_cleanup(&u);
    }
    free(id);
}

/* ------------------------------------------------------------------ login page */

static void h_login(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *id, *lang;
    gw_login_t login;
    if (gw_login_from_request(app, req, resp, &login, &id, &lang) != GW_OK)
        return;
    const gw_client_t *cl = gw_config_client(app->cfg, login.portal);
    gw_buf_t u;
    gw_buf_init(&u, 4096);
    gw_buf_adds(&u, "/login/vneid");
    gw_url_add_param(&u, "ar", id);
    gw_url_add_param(&u, "lang", lang);
    gw_tmpl_var_t v[12] = {
        { "client_name", cl ? cl->name : "" },
        { "vneid_url", u.data },
    };
    char *owned[8] = { 0 };
    size_t n = 2 + gw_broker_login_vars(app, req, resp, &login, id, v + 2, 10, owned);
    gw_page(&app->page, req, resp, 200, "login", lang, v, n);
    for (size_t i = 0; i < 8; i++)
        free(owned[i]);
    gw_buf_cleanup(&u);
    gw_login_cleanup(&login);
}

/* ------------------------------------------------------------------ to the upstream */

/* One upstream round trip ("flow", keyed by its state): the login it belongs to, the hash
 * of the binding cookie of the browser that began it, and the values the answer is checked
 * against. Mapped to its stored form here only. */
typedef struct flow {
    char *login_id, *bind_hash, *nonce, *verifier, *lang;
} flow_t;

static void flow_cleanup(flow_t *f)
{
    free(f->login_id);
    free(f->bind_hash);
    free(f->nonce);
    gw_wipe_free(f->verifier);
    free(f->lang);
    memset(f, 0, sizeof(*f));
}

static int flow_save(gw_ctx_t *app, const char *state, const flow_t *f)
{
    json_t *j = json_object();
    gw_jset(j, "ar", f->login_id);
    gw_jset(j, "bind", f->bind_hash);
    gw_jset(j, "nonce", f->nonce);
    gw_jset(j, "verifier", f->verifier);
    gw_jset(j, "lang", f->lang);
    int rc = gw_store_put_json(app->store, "flow", state, j, app->cfg->flow_lifetime, 0);
    json_decref(j);
    return rc;
}

/* Takes the flow (single use): GW_OK, GW_ENOTFOUND, GW_ESTORE. */
static int flow_take(gw_ctx_t *app, const char *state, flow_t *f)
{
    json_t *j = NULL;
    memset(f, 0, sizeof(*f));
    int rc = gw_store_get_json(app->store, "flow", state, 1, &j);
    if (rc == GW_OK && !gw_jstr(j, "ar"))
        rc = GW_ENOTFOUND;
    if (rc == GW_OK) {
        f->login_id = gw_strdup(gw_jstr(j, "ar"));
        f->bind_hash = dup_or_null(gw_jstr(j, "bind"));
        f->nonce = dup_or_null(gw_jstr(j, "nonce"));
        f->verifier = dup_or_null(gw_jstr(j, "verifier"));
        f->lang = dup_or_null(gw_jstr(j, "lang"));
    }
    json_decref(j);
    return rc;
}

static void h_login_vneid(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *id, *lang;
    gw_login_t login;
    if (gw_login_from_request(app, req, resp, &login, &id, &lang) != GW_OK)
        return;
    const void *up = app->cfg->upstream->settings;
    char *bind = gw_cookie_get(req->cookie, app->bind_cookie);
    if (!bind || strlen(bind) != 43) {
        free(bind);
        bind = gw_random_token(32);
        gw_resp_cookie(resp, app->bind_cookie, bind, 0, app->is_tls);
    }
    char *state = gw_random_token(32);
    flow_t f = {
        .login_id = gw_strdup(id),
        .bind_hash = gw_sha256_b64url(bind),
        .nonce = app->idp_needs.nonce ? gw_random_token(32) : NULL,
        .verifier = app->idp_needs.pkce ? gw_random_token(32) : NULL,
        .lang = gw_strdup(lang),
    };
    char *challenge = f.verifier ? gw_sha256_b64url(f.verifier) : NULL; /* S256 */
    if (flow_save(app, state, &f) != GW_OK) {
        gw_busy_page(app, req, resp, lang); /* with Retry-After, like every other store refusal */
    } else {
        char *url = idp(app)->auth_url(&app->idp_env, up, state, f.nonce, challenge, lang);
        gw_resp_redirect(resp, url);
        free(url);
    }
    flow_cleanup(&f);
    gw_login_cleanup(&login);
    free(bind);
    free(state);
    free(challenge);
}

/* ------------------------------------------------------------------ from the upstream */

/* Ends a callback's batch that wrote nothing (a refused login) before the slow part of
 * the answer (audit, error page): no write lock is held over it. */
static void end_batch(gw_ctx_t *app, int *batched)
{
    if (*batched)
        gw_store_batch_end(app->store, 0);
    *batched = 0;
}

/* A callback's state between its steps: the flow and the login it belongs to, the
 * plugin's redemption state and, at the end, the identity. */
typedef struct cb_ctx {
    flow_t flow;
    gw_login_t login;
    char *retry, *back;
    const char *lang;
    void *idp;
    const gw_idp_ops_t *ops;
    gw_identity_t id;
    int batch_held; /* cb_end's store batch is open already (gw_store_batch_try_begin) */
    gw_sso_t before; /* the SSO session the browser came with (sid NULL: none) */
    const char *fail_code; /* a failed step's page, shown by cb_fail */
    char fail_detail[256];
} cb_ctx_t;

static void cb_ctx_free(void *p)
{
    cb_ctx_t *c = p;
    if (c->idp)
        c->ops->end(c->idp);
    gw_identity_cleanup(&c->id);
    flow_cleanup(&c->flow);
    gw_login_cleanup(&c->login);
    free(c->retry);
    gw_sso_cleanup(&c->before);
    free(c->back);
    free(c);
}

static void cb_end(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp);

/* The page for a failed redemption. Where error records are not in this process's memory,
 * it runs on a worker: the page keeps its error in the store for the language switch (a
 * callback cannot be reloaded). */
static void cb_fail(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    cb_ctx_t *c = req->ctx;
    const char *pcode = c->fail_code;
    gw_log(GW_LOG_WARN, "idp", "upstream login failed", "reason", c->fail_detail, "page", pcode, "id", req->id, NULL);
    gw_error_page(&app->page, req, resp, !strcmp(pcode, "upstream_unavailable") ? 503 : 502, pcode, c->lang, c->retry,
                  c->back);
    if (!strcmp(pcode, "upstream_unavailable"))
        gw_resp_header(resp, "Retry-After", "30");
}

/* A login the upstream leg ended (c->fail_code): its page, on a thread that may use the
 * store for it (the error record of the page's language switch). */
static void cb_failed(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (req->on_io_thread && !gw_store_local(app->store, "err"))
        gw_req_then(req, cb_fail, GW_RUN_LOCAL);
    else
        cb_fail(app, req, resp);
}

/* The upstream's answers, one at a time, on the I/O thread (or, for a key fetch, on the
 * upstream pool): each step asks for the next call, or ends in a page or the identity. */
static void cb_step(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    cb_ctx_t *c = req->ctx;
    const void *up = app->cfg->upstream->settings;
    gw_outcall_t call;
    const char *pcode = NULL;
    char detail[256] = "";
    int rc = c->ops->step(&app->idp_env, up, c->idp, req->result, !req->on_io_thread, &call, &c->id, &pcode, detail,
                          sizeof(detail));
    if (rc == GW_IDP_CALL) {
        gw_req_call(req, &call, cb_step, GW_RUN_IO);
    } else if (rc == GW_IDP_BLOCK) {
        gw_req_then(req, cb_step, GW_RUN_UPSTREAM);
    } else if (rc == GW_IDP_DONE) {
        /* the rest uses the store; linking may call the population DB */
        const gw_client_t *cl = gw_config_client(app->cfg, c->login.portal);
        int had_session = gw_sso_open(app, req, &c->before) == GW_OK; /* cb_end may end it: off the I/O thread */
        if (req->on_io_thread && cl && !cl->has_accounts && !app->audit && !had_session &&
            gw_store_local(app->store, "err") && gw_store_batch_try_begin(app->store) == GW_OK) {
            /* the usual case: the store's write connection was free, so nothing ahead
             * waits; it ends here, without a trip through a worker */
            c->batch_held = 1;
            cb_end(app, req, resp);
        } else {
            gw_req_then(req, cb_end, (cl && cl->has_accounts) || had_session ? GW_RUN_UPSTREAM : GW_RUN_LOCAL);
        }
    } else {
        c->fail_code = pcode;
        snprintf(c->fail_detail, sizeof(c->fail_detail), "%s", detail);
        cb_failed(app, req, resp);
    }
}

/* GET /callback: the upstream sends the browser back with a code. The checks that need
 * no network run here; the code is redeemed by cb_step and the login finished by cb_end. */
static void h_callback(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *state = gw_form_get(&req->q, "state");
    flow_t flow = { 0 };
    gw_login_t login = { 0 };
    int frc = state ? flow_take(app, state, &flow) : GW_ENOTFOUND; /* single use */
    const char *lang = gw_req_lang(req, &app->page, frc == GW_OK ? flow.lang : NULL);
    char *retry = NULL, *back = NULL, *bind = NULL, *bind_hash = NULL, *code = NULL;
    if (frc == GW_ESTORE) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    if (frc != GW_OK) {
        gw_log(GW_LOG_WARN, "idp", "callback: unknown or used state", "id", req->id, NULL);
        /* nothing single-use was spent: a reload shows the same page, so no error record
         * is kept for the language switch (a stream of bogus callbacks stores nothing) */
        req->no_reload = 0;
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    bind = gw_cookie_get(req->cookie, app->bind_cookie);
    bind_hash = bind ? gw_sha256_b64url(bind) : NULL;
    if (!bind_hash || !gw_ct_streq(bind_hash, flow.bind_hash)) {
        gw_log(GW_LOG_WARN, "idp", "callback: state was issued to another browser", "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    const gw_frontend_ops_t *fe = NULL;
    if (gw_login_load(app, flow.login_id, &login) != GW_OK || !(fe = gw_broker_frontend(login.frontend))) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    retry = gw_sprintf("/login?ar=%s&lang=%s", flow.login_id, lang);
    back = fe->back_url(app, &login, "access_denied");
    const char *uerr = gw_form_get(&req->q, "error");
    if (uerr) {
        gw_log(GW_LOG_INFO, "idp", "upstream refused the login", "error", uerr, "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 403, !strcmp(uerr, "access_denied") ? "upstream_denied" : "upstream_error",
                      lang, retry, back);
        goto done;
    }
    /* from the raw query, percent-decoding only: an encrypted code is base64, its '+' a '+' */
    if (gw_query_param(req->query, "code", &code) != GW_OK || !*code || strlen(code) > 4096) {
        gw_error_page(&app->page, req, resp, 400, "invalid_request", lang, retry, back);
        goto done;
    }
    cb_ctx_t *c = gw_xcalloc(1, sizeof(*c));
    gw_outcall_t call;
    c->ops = idp(app);
    gw_idp_callback_t cb = { .query = req->query, .code = code, .nonce = flow.nonce, .code_verifier = flow.verifier };
    int brc = c->ops->begin(&app->idp_env, app->cfg->upstream->settings, &cb, &c->idp, &call, &c->fail_code,
                            c->fail_detail, sizeof(c->fail_detail));
    c->flow = flow;
    c->login = login;
    c->retry = retry;
    c->back = back;
    c->lang = lang;
    req->ctx = c;
    req->ctx_free = cb_ctx_free;
    memset(&flow, 0, sizeof(flow));
    memset(&login, 0, sizeof(login));
    retry = back = NULL;
    if (brc == GW_IDP_CALL) {
        gw_req_call(req, &call, cb_step, GW_RUN_IO);
    } else { /* refused before any call (a code that does not decrypt): the same page as a failed step */
        c->fail_code = c->fail_code ? c->fail_code : "upstream_error";
        cb_failed(app, req, resp);
    }
done:
    flow_cleanup(&flow);
    gw_login_cleanup(&login);
    gw_wipe_free(code);
    free(retry);
    free(back);
    free(bind);
    free(bind_hash);
}

/* The policy refused the login: log and audit why. */
static void refused(gw_ctx_t *app, const char *portal, const char *id12, const char *reason, const char *lock)
{
    gw_log(GW_LOG_INFO, "broker", "login refused", "client", portal, "reason", reason, "who_id12", id12, NULL);
    json_t *f = json_pack("{s:s,s:s,s:s}", "portal", portal, "who_id12", id12, "reason", reason);
    gw_jset(f, "lock_reason", lock);
    gw_audit_event(app, "refusal", f);
}

/* After the identity: policy, the lock list, the session, the way to the portal. */
/* A shared browser (a kiosk in a commune office): a second citizen logs in on a browser
 * that still carries the first one's SSO session. That session ends everywhere, its
 * portals told: the browser is the second citizen's now. The same citizen logging in
 * again (prompt=login, a step-up) leaves the other session alone. Blocks (back-channel
 * calls): callers are on a worker. */
static void end_previous_citizen(gw_ctx_t *app, const gw_sso_t *old, const char *id12, const char *new_sid)
{
    gw_session_t prev;
    if (!old->sid || !strcmp(old->sid, new_sid) || gw_session_get(app, old->sid, 0, &prev) != GW_OK)
        return;
    int other = strcmp(gw_session_id12(&prev), id12) != 0;
    gw_session_cleanup(&prev);
    if (other) {
        gw_log(GW_LOG_INFO, "broker", "another citizen logged in on this browser: the previous session ends", NULL);
        /* The browser's cookie is the new citizen's either way; a session that could not
         * be revoked lives on only for whoever kept a copy of the old cookie: say so. */
        if (gw_session_end(app, NULL, old->sid, old->exp) != GW_OK) {
            gw_log(GW_LOG_ERROR, "broker", "the previous citizen's session could not be ended (store unavailable)",
                   NULL);
            gw_audit_event(app, "session_end_failed", json_pack("{s:s}", "why", "another_citizen"));
        }
    }
}

static void cb_end(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    cb_ctx_t *c = req->ctx;
    gw_login_t *login = &c->login;
    const char *lang = c->lang, *retry = c->retry, *back = c->back;
    gw_identity_t id = c->id; /* c keeps ownership */
    int batched = c->batch_held; /* every way out below ends it */
    c->batch_held = 0;
    const gw_client_t *cl = gw_config_client(app->cfg, login->portal);
    if (!cl) {
        gw_error_page(&app->page, req, resp, 400, "unknown_client", lang, NULL, NULL);
        goto done;
    }
    /* policy: account type, level, lock list */
    if (!id.account_type || !gw_list_has(cl->account_types, id.account_type)) {
        refused(app, cl->id, id.id12, "account_type", NULL);
        gw_error_page(&app->page, req, resp, 403, "account_type_refused", lang, NULL, back);
        goto done;
    }
    if (id.level < need_level(login, cl)) {
        refused(app, cl->id, id.id12, "level", NULL);
        gw_error_page(&app->page, req, resp, 403, "level_too_low", lang, NULL, back);
        goto done;
    }
    /* For a portal without legacy accounts nothing between the lock check and the
     * session's save leaves the process: they are one transaction where the store has
     * them, so a lock set meanwhile either refuses this login or finds its session (and
     * it is one commit per login). Linking may call the population DB: no transaction
     * is held across that. */
    if (!batched)
        batched = !cl->has_accounts && gw_store_batch_begin(app->store) == GW_OK;
    char *lock = NULL;
    int lrc = gw_store_get(app->store, "lock", id.id12, &lock);
    if (lrc != GW_OK && lrc != GW_ENOTFOUND) { /* the lock list cannot be read: no session */
        end_batch(app, &batched);
        gw_log(GW_LOG_WARN, "broker", "lock list unreadable: login refused for now", "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 503, "server_busy", lang, retry, back);
        gw_resp_header(resp, "Retry-After", "1");
        goto done;
    }
    if (lrc == GW_OK) {
        end_batch(app, &batched); /* nothing to write: no transaction held over the audit and the page */
        refused(app, cl->id, id.id12, "locked", lock);
        char key[64];
        snprintf(key, sizeof(key), "lock.%s", lock);
        free(lock);
        gw_error_page_detail(&app->page, req, resp, 403, "locked", lang, NULL, back, key);
        goto done;
    }
    if (!strcmp(id.account_type, "1") && id.id12[0] >= '0' && id.id12[0] <= '9') {
        /* a citizen's number (foreigners carry an opaque identifier): section 5 rules */
        gw_id_info_t info;
        int idrc = gw_id_check(id.id12, strlen(id.id12), gw_id_year_now(), &info);
        if (idrc != GW_ID_OK || info.kind != GW_ID_PERSONAL) {
            end_batch(app, &batched);
            gw_log(GW_LOG_WARN, "idp", "upstream ID number fails the format rules", "id", req->id, NULL);
            gw_error_page(&app->page, req, resp, 502, "missing_identity", lang, retry, back);
            goto done;
        }
        int by = id.birthdate ? (int)strtol(id.birthdate, NULL, 10) : 0;
        if (gw_id_compare(&info, by, id.sex))
            gw_log(GW_LOG_WARN, "broker", "ID number digits disagree with birth date or sex", "who_id12", id.id12,
                   NULL);
    }
    /* a new SSO session */
    json_t *ident = json_object();
    gw_jset(ident, "id12", id.id12);
    gw_jset(ident, "name", id.name);
    gw_jset(ident, "birthdate", id.birthdate);
    if (id.sex)
        json_object_set_new(ident, "sex", json_string(id.sex == 'M' ? "male" : "female"));
    json_object_set_new(ident, "level", json_integer(id.level));
    gw_jset(ident, "account_type", id.account_type);
    gw_session_t sess;
    gw_session_new(app, &sess, ident, id.sub, id.logout_uri);
    /* the record is written once: by gw_broker_finish when the broker goes straight to
     * the portal (the usual case), else here; nothing of this response stands if it fails */
    int unsaved = SESS_UNSAVED;
    gw_sso_set_cookie(app, resp, sess.sid, sess.auth_time, id.level, sess.exp);
    gw_broker_after_login(app, req, resp, login, c->flow.login_id, &sess, &unsaved, lang);
    if (unsaved == SESS_UNSAVED)
        unsaved = gw_session_save_new(app, &sess) == GW_OK ? SESS_SAVED : SESS_SAVE_FAILED;
    int saved = unsaved == SESS_SAVED;
    if (batched) {
        batched = 0;
        if (gw_store_batch_end(app->store, saved) != GW_OK)
            saved = 0;
    }
    if (!saved) {
        gw_resp_reset(resp);
        gw_error_page(&app->page, req, resp, 503, "server_busy", lang, retry, back);
        gw_resp_header(resp, "Retry-After", "1");
    } else {
        end_previous_citizen(app, &c->before, id.id12, sess.sid);
        gw_log(GW_LOG_INFO, "broker", "login", "client", cl->id, "who_id12", id.id12, "eid_level",
               id.level == 2 ? "2" : "1", "id", req->id, NULL);
        gw_audit_event(app, "login",
                       json_pack("{s:s,s:s,s:s,s:i,s:s}", "portal", cl->id, "who_id12", id.id12, "result", "vneid",
                                 "level", id.level, "ip", req->remote));
    }
    gw_session_cleanup(&sess);
done:
    end_batch(app, &batched);
}

const gw_route_t gw_broker_routes[] = {
    { .methods = GW_M_GET, .path = "/login", .fn = h_login, .inline_if_local = "ar" },
    { .methods = GW_M_GET, .path = "/login/vneid", .fn = h_login_vneid, .inline_if_local = "ar flow" },
    /* its upstream calls: on the I/O loop */
    { .methods = GW_M_GET,
      .path = "/callback",
      .fn = h_callback,
      .inline_if_local = "flow ar",
      .calls_out = 1,
      .no_reload = 1 },
    { 0 },
};

/* ------------------------------------------------------------------ the end */

void gw_broker_finish(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *login_id,
                      gw_session_t *sess, int *unsaved, const char *account, json_t *merged)
{
    const gw_frontend_ops_t *fe = gw_broker_frontend(login->frontend);
    if (!fe) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", NULL, NULL, NULL);
        if (unsaved && *unsaved == SESS_UNSAVED)
            *unsaved = SESS_SAVE_FAILED; /* nothing of this login may stand */
        return;
    }
    /* a session made by this very request is written once, here, with this portal in it
     * (the callback leaves it to us: one write instead of two on every login) */
    if (unsaved && *unsaved == SESS_UNSAVED) {
        gw_session_first_portal(sess, login->portal);
        *unsaved = gw_session_save_new(app, sess) == GW_OK ? SESS_SAVED : SESS_SAVE_FAILED;
        if (*unsaved == SESS_SAVE_FAILED)
            return; /* the callback answers 503; the login is kept for "try again" */
    } else if (gw_session_add_portal(app, sess, login->portal) != GW_OK) {
        /* without the portal in its list, a logout would not reach it: no login */
        gw_busy_page(app, req, resp, NULL);
        return;
    }
    char *sub = gw_pairwise_sub(app, login->portal, gw_session_id12(sess));
    gw_finished_t done = {
        .sid = sess->sid,
        .identity = sess->identity,
        .auth_time = sess->auth_time,
        .exp = sess->exp,
        .level = (int)json_integer_value(json_object_get(sess->identity, "level")),
        .sub = sub,
        .account = account,
        .merged = merged && json_array_size(merged) ? merged : NULL,
    };
    fe->complete(app, req, resp, login, &done);
    free(sub);
    if (login_id)
        gw_login_forget(app, login_id);
}
