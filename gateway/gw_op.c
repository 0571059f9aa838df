/* gw_op: eidgw as the OpenID Provider of the portals, and the brokered login between.
 *
 *   portal --/authorize--> eidgw --/login--> page --/login/vneid--> VNeID
 *   VNeID --/callback--> eidgw (session, code) --redirect--> portal --/token, /userinfo
 *
 * Short-lived state lives in the store: "ar" (a portal's authorization request), "flow"
 * (one upstream round trip, keyed by its state), "code", "cur" (codes replayed),
 * "at" (access tokens, by hash), "sess" (SSO sessions). The browser carries the sealed
 * SSO cookie and a binding cookie that ties an upstream flow to the browser that began it. */
#include "gw_app.h"
#include "gw_json.h"
#include "gw_op_internal.h"
#include "gw_idnum.h"
#include "gw_log.h"
#include "plugin.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACR_L1 "urn:vn:eid:level:1"
#define ACR_L2 "urn:vn:eid:level:2"

static const gw_idp_ops_t *idp(void) { return &gw_idp_vneid; }

static const char *acr_for(int level)
{
    return level >= 2 ? ACR_L2 : level == 1 ? ACR_L1 : "urn:vn:eid:legacy"; /* 0: a legacy password login */
}

/* ------------------------------------------------------------------ helpers */

/* Set by store_get_json when the store itself failed (as opposed to "not found"), so a
 * handler answers 503 instead of treating an outage as a bad request. */
__thread int store_down;

json_t *store_get_json(gw_app_t *app, const char *ns, const char *key, int take)
{
    json_t *j = NULL;
    store_down = gw_store_get_json(app->store, ns, key, take, &j) == GW_ESTORE;
    return j;
}

int store_put_json(gw_app_t *app, const char *ns, const char *key, json_t *j, long ttl)
{
    return gw_store_put_json(app->store, ns, key, j, ttl, 0);
}

const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

void jset(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

/* A parameter given more than once is an error for OAuth (RFC 6749 3.1). */
static const char *dup_param(const gw_form_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t k = i + 1; k < f->n; k++)
            if (!strcmp(f->names[i], f->names[k]))
                return f->names[i];
    return NULL;
}

char *pairwise_sub(gw_app_t *app, const char *client_id, const char *id12)
{
    if (!id12)
        id12 = ""; /* never for a real session: every identity carries its number */
    gw_buf_t b;
    gw_buf_init(&b, 1024);
    gw_buf_printf(&b, "%s", client_id);
    gw_buf_add(&b, "\0", 1);
    gw_buf_adds(&b, id12);
    unsigned char mac[32];
    gw_hmac_sha256(app->keys->pairwise_key, 32, b.data, b.len, mac);
    gw_buf_cleanup(&b);
    return gw_b64url_encode(mac, 32);
}

static int valid_pkce(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-._~", *s))
            return 0;
    return 1;
}

static char *s256(const char *verifier)
{
    unsigned char d[32];
    gw_sha256(verifier, strlen(verifier), d);
    return gw_b64url_encode(d, 32);
}

/* Redirect to the portal with an OAuth error (only after redirect_uri was verified). */
static int wants_iss(gw_app_t *app, const char *client_id)
{
    const gw_client_t *cl = gw_config_client(app->cfg, client_id);
    return !cl || cl->response_iss;
}

static void redirect_error(gw_app_t *app, gw_resp_t *resp, const char *redirect_uri, const char *state,
                           const char *error, const char *desc, const char *client_id)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, redirect_uri);
    gw_url_add_param(&u, "error", error);
    if (desc)
        gw_url_add_param(&u, "error_description", desc);
    if (state)
        gw_url_add_param(&u, "state", state);
    if (wants_iss(app, client_id))
        gw_url_add_param(&u, "iss", app->cfg->public_url);
    gw_resp_redirect(resp, u.data);
    gw_buf_cleanup(&u);
}

void busy_page(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang)
{
    gw_log(GW_LOG_ERROR, "store", "store unavailable", "path", req->path, "id", req->id, NULL);
    gw_error_page(app, req, resp, 503, "server_busy", lang, NULL, NULL);
    gw_resp_header(resp, "Retry-After", "1");
}

void busy_json(gw_resp_t *resp)
{
    gw_error_json(resp, 503, "temporarily_unavailable", "try again shortly");
    gw_resp_header(resp, "Retry-After", "1");
}

/* ------------------------------------------------------------------ SSO session */

void sso_cleanup(sso_t *s) { free(s->sid); }

/* Open the SSO cookie: no store access. 0 when sealed by us, unexpired and not revoked. */
int sso_open(gw_app_t *app, const gw_req_t *req, sso_t *ret)
{
    char *c = gw_cookie_get(req->cookie, app->sso_cookie);
    char *pt = NULL;
    int rc = -1;
    if (!c || gw_seal_open(app->keys->cookie_key, 1, c, &pt, NULL))
        goto done;
    json_t *j = gw_json_parse_str(pt);
    const char *sid = jstr(j, "sid");
    int64_t exp = json_integer_value(json_object_get(j, "exp"));
    if (sid && exp > gw_now() && !gw_revset_has(&app->revoked, sid)) {
        ret->sid = gw_strdup(sid);
        ret->exp = exp;
        ret->auth_time = json_integer_value(json_object_get(j, "at"));
        ret->level = (int)json_integer_value(json_object_get(j, "lvl"));
        rc = 0;
    }
    json_decref(j);
done:
    free(c);
    gw_wipe_free(pt);
    return rc;
}

void sso_set_cookie(gw_app_t *app, gw_resp_t *resp, const char *sid, int64_t auth_time, int level, int64_t exp)
{
    json_t *j = json_pack("{s:s,s:I,s:I,s:i}", "sid", sid, "exp", (json_int_t)exp, "at", (json_int_t)auth_time,
                          "lvl", level);
    char *pt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *sealed = gw_seal(app->keys->cookie_key, 1, pt, strlen(pt));
    free(pt);
    gw_resp_cookie(resp, app->sso_cookie, sealed, 0, app->is_tls); /* a browser-session cookie */
    free(sealed);
}

/* ------------------------------------------------------------------ code issuance */

/* Adds the portal to the session's list of portals (for back-channel logout); 1 when it
 * was not there yet. */
static int add_client(json_t *sess, const char *client_id)
{
    json_t *clients = json_object_get(sess, "clients"), *v;
    size_t i;
    json_array_foreach(clients, i, v) {
        if (gw_streq(json_string_value(v), client_id))
            return 0;
    }
    return json_is_array(clients) && json_array_append_new(clients, json_string(client_id)) == 0;
}

/* Issue a code for the portal request `ar` and the session `sess`; redirect there.
 * account/merged: the portal's legacy account id and the ids merged into it, if any. */
void issue_code(gw_app_t *app, gw_resp_t *resp, json_t *ar, json_t *sess, int *unsaved, const char *account,
                json_t *merged)
{
    const char *client_id = jstr(ar, "client_id"), *redirect_uri = jstr(ar, "redirect_uri");
    char *code = gw_random_token(32);
    char *key = gw_sha256_b64url(code);
    json_t *c = json_object();
    jset(c, "client_id", client_id);
    jset(c, "redirect_uri", redirect_uri);
    jset(c, "scope", jstr(ar, "scope"));
    jset(c, "nonce", jstr(ar, "nonce"));
    jset(c, "code_challenge", jstr(ar, "code_challenge"));
    jset(c, "sid", jstr(sess, "sid"));
    json_object_set(c, "identity", json_object_get(sess, "identity"));
    json_object_set(c, "auth_time", json_object_get(sess, "auth_time"));
    jset(c, "account", account);
    if (merged && json_array_size(merged))
        json_object_set(c, "merged", merged);
    /* a session made by this very request is written once, here, with this portal in it
     * (the callback leaves it to us: one write instead of two on every login) */
    if (unsaved && *unsaved == SESS_UNSAVED) {
        add_client(sess, client_id);
        *unsaved = save_new_session(app, sess) == GW_OK ? SESS_SAVED : SESS_SAVE_FAILED;
        if (*unsaved == SESS_SAVE_FAILED) { /* the callback answers 503 */
            json_decref(c);
            free(key);
            gw_wipe_free(code);
            return;
        }
    }
    int rc = store_put_json(app, "code", key, c, app->cfg->code_lifetime);
    json_decref(c);
    if (rc != GW_OK) {
        redirect_error(app, resp, redirect_uri, jstr(ar, "state"), "temporarily_unavailable", "store unavailable", client_id);
    } else {
        /* remember which portals share this session, for back-channel logout */
        if (add_client(sess, client_id)) {
            int64_t ttl = json_integer_value(json_object_get(sess, "exp")) - gw_now();
            if (ttl > 0)
                store_put_json(app, "sess", jstr(sess, "sid"), sess, (long)ttl);
        }
        gw_buf_t u;
        gw_buf_init(&u, 16384);
        gw_buf_adds(&u, redirect_uri);
        gw_url_add_param(&u, "code", code);
        if (jstr(ar, "state"))
            gw_url_add_param(&u, "state", jstr(ar, "state"));
        if (wants_iss(app, client_id))
            gw_url_add_param(&u, "iss", app->cfg->public_url);
        gw_resp_redirect(resp, u.data);
        gw_buf_cleanup(&u);
    }
    free(key);
    gw_wipe_free(code);
}

int requested_level(json_t *ar, const gw_client_t *cl)
{
    int lvl = cl->min_level;
    const char *acr = jstr(ar, "acr_values");
    if (acr && gw_list_has(acr, ACR_L2))
        lvl = 2;
    return lvl;
}

/* ------------------------------------------------------------------ /authorize */

static void h_authorize(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const gw_form_t *p = req->method == GW_M_POST ? &req->form : &req->q;
    const char *lang = gw_req_lang(req, app, gw_form_get(p, "ui_locales"));
    const char *client_id = gw_form_get(p, "client_id");
    const gw_client_t *cl = gw_config_client(app->cfg, client_id);
    if (!cl || gw_form_count(p, "client_id") != 1) {
        gw_error_page(app, req, resp, 400, "unknown_client", lang, NULL, NULL);
        return;
    }
    const char *redirect_uri = gw_form_get(p, "redirect_uri");
    if (!redirect_uri || gw_form_count(p, "redirect_uri") != 1 || !gw_strlist_has(&cl->redirect_uris, redirect_uri)) {
        gw_log(GW_LOG_WARN, "oidc_op", "authorize: redirect_uri not registered", "client", cl->id,
               "redirect_uri", redirect_uri ? redirect_uri : "(none)", "id", req->id, NULL);
        gw_error_page(app, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        return;
    }
    /* from here on errors go back to the portal */
    const char *state = gw_form_get(p, "state");
    const char *dup = dup_param(p);
    if (dup) {
        char *d = gw_sprintf("parameter '%s' given more than once", dup);
        redirect_error(app, resp, redirect_uri, state, "invalid_request", d, cl->id);
        free(d);
        return;
    }
    if (gw_form_get(p, "request") || gw_form_get(p, "request_uri")) {
        redirect_error(app, resp, redirect_uri, state,
                       gw_form_get(p, "request") ? "request_not_supported" : "request_uri_not_supported", NULL, cl->id);
        return;
    }
    const char *rt = gw_form_get(p, "response_type");
    if (!rt) {
        redirect_error(app, resp, redirect_uri, state, "invalid_request", "response_type is required", cl->id);
        return;
    }
    if (strcmp(rt, "code")) {
        redirect_error(app, resp, redirect_uri, state, "unsupported_response_type", "only response_type=code is supported", cl->id);
        return;
    }
    const char *rm = gw_form_get(p, "response_mode");
    if (rm && strcmp(rm, "query")) {
        redirect_error(app, resp, redirect_uri, state, "invalid_request", "only response_mode=query is supported", cl->id);
        return;
    }
    const char *scope = gw_form_get(p, "scope");
    if (!scope || !gw_list_has(scope, "openid")) {
        redirect_error(app, resp, redirect_uri, state, "invalid_scope", "the openid scope is required", cl->id);
        return;
    }
    /* grant only what the client may have; unknown scopes are ignored (OIDC core 3.1.2.1) */
    gw_buf_t granted;
    gw_buf_init(&granted, 4096);
    const char *known[] = {"openid", "profile", "cccd"};
    for (size_t i = 0; i < 3; i++)
        if (gw_list_has(scope, known[i]) && gw_list_has(cl->scopes, known[i]))
            gw_buf_printf(&granted, "%s%s", granted.len ? " " : "", known[i]);
    const char *cc = gw_form_get(p, "code_challenge"), *ccm = gw_form_get(p, "code_challenge_method");
    const char *err = NULL;
    if (cc && !valid_pkce(cc, 43, 43))
        err = "code_challenge must be a base64url SHA-256 (43 characters)";
    else if (cc && (!ccm || strcmp(ccm, "S256")))
        err = "code_challenge_method must be S256";
    else if (!cc && ccm)
        err = "code_challenge_method without code_challenge";
    else if (!cc && cl->is_public)
        err = "public clients must use PKCE (S256)";
    const char *prompt = gw_form_get(p, "prompt");
    if (!err && prompt && gw_list_has(prompt, "none") && strcmp(prompt, "none"))
        err = "prompt=none cannot be combined with other values";
    const char *max_age_s = gw_form_get(p, "max_age");
    long max_age = -1;
    if (!err && max_age_s) {
        char *end;
        max_age = strtol(max_age_s, &end, 10);
        if (*end || end == max_age_s || max_age < 0)
            err = "max_age must be a non-negative integer";
    }
    const char *nonce = gw_form_get(p, "nonce");
    if (!err && nonce && strlen(nonce) > 512)
        err = "nonce too long";
    if (!err && state && strlen(state) > 2048)
        err = "state too long";
    if (err) {
        redirect_error(app, resp, redirect_uri, state, "invalid_request", err, cl->id);
        gw_buf_cleanup(&granted);
        return;
    }
    json_t *ar = json_object();
    jset(ar, "client_id", cl->id);
    jset(ar, "redirect_uri", redirect_uri);
    jset(ar, "scope", granted.data);
    gw_buf_cleanup(&granted);
    jset(ar, "state", state);
    jset(ar, "nonce", nonce);
    jset(ar, "code_challenge", cc);
    jset(ar, "acr_values", gw_form_get(p, "acr_values"));
    jset(ar, "ui_locales", gw_form_get(p, "ui_locales"));
    jset(ar, "login_hint", gw_form_get(p, "login_hint"));
    int need_level = requested_level(ar, cl);

    /* an SSO session that satisfies the request needs no login */
    sso_t s = {0};
    int force_login = prompt && gw_list_has(prompt, "login");
    if (!force_login && sso_open(app, req, &s) == 0) {
        json_t *sess = store_get_json(app, "sess", s.sid, 0);
        if (!sess && store_down) {
            busy_page(app, req, resp, lang);
            json_decref(ar);
            sso_cleanup(&s);
            return;
        }
        /* max_age=0 asks for a fresh authentication, like prompt=login */
        int fresh = max_age < 0 || (max_age > 0 && gw_now() - s.auth_time <= max_age);
        /* the same policy as a fresh login: this portal's account types and the lock list */
        json_t *ident = json_object_get(sess, "identity");
        const char *atype = jstr(ident, "account_type");
        int policy_ok = sess && (!atype || gw_list_has(cl->account_types, atype));
        char *lock = NULL;
        int lrc = policy_ok && jstr(ident, "id12") ? gw_store_get(app->store, "lock", jstr(ident, "id12"), &lock)
                                                   : GW_ENOTFOUND;
        free(lock);
        if (lrc != GW_OK && lrc != GW_ENOTFOUND) { /* the lock list cannot be read: no session is let through */
            busy_page(app, req, resp, lang);
            json_decref(sess);
            json_decref(ar);
            sso_cleanup(&s);
            return;
        }
        if (lrc == GW_OK) {
            policy_ok = 0;
            gw_store_revoke(app->store, s.sid, s.exp);
            gw_revset_add(&app->revoked, s.sid, s.exp);
        }
        if (sess && fresh && policy_ok && s.level >= need_level) {
            gw_broker_after_login(app, req, resp, ar, NULL, sess, NULL, lang);
            json_decref(sess);
            json_decref(ar);
            sso_cleanup(&s);
            return;
        }
        json_decref(sess);
    }
    sso_cleanup(&s);
    if (prompt && !strcmp(prompt, "none")) {
        redirect_error(app, resp, redirect_uri, state, "login_required", NULL, cl->id);
        json_decref(ar);
        return;
    }
    char *arid = gw_random_token(24);
    if (store_put_json(app, "ar", arid, ar, app->cfg->flow_lifetime) != GW_OK) {
        gw_error_page(app, req, resp, 503, "server_busy", lang, NULL, NULL);
        gw_resp_header(resp, "Retry-After", "1");
    } else {
        gw_buf_t u;
        gw_buf_init(&u, 4096);
        gw_buf_adds(&u, "/login");
        gw_url_add_param(&u, "ar", arid);
        if (strcmp(lang, "vi"))
            gw_url_add_param(&u, "lang", lang);
        gw_resp_redirect(resp, u.data);
        gw_buf_cleanup(&u);
    }
    free(arid);
    json_decref(ar);
}

/* ------------------------------------------------------------------ login page */

/* The pending authorization request named by the "ar" parameter (query, or form for a
 * POST), and the page language; NULL after answering with an error page. */
json_t *ar_from_request(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, const char **ret_arid, const char **ret_lang)
{
    const char *arid = gw_form_get(req->method == GW_M_POST ? &req->form : &req->q, "ar");
    json_t *ar = arid && strlen(arid) < 64 ? store_get_json(app, "ar", arid, 0) : NULL;
    const char *lang = gw_req_lang(req, app, ar ? jstr(ar, "ui_locales") : NULL);
    *ret_arid = arid;
    *ret_lang = lang;
    if (!ar) {
        if (arid && store_down)
            busy_page(app, req, resp, lang);
        else
            gw_error_page(app, req, resp, 400, "flow_expired", lang, NULL, NULL);
    }
    return ar;
}

static void h_login(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *arid, *lang;
    json_t *ar = ar_from_request(app, req, resp, &arid, &lang);
    if (!ar)
        return;
    const gw_client_t *cl = gw_config_client(app->cfg, jstr(ar, "client_id"));
    gw_buf_t u;
    gw_buf_init(&u, 4096);
    gw_buf_adds(&u, "/login/vneid");
    gw_url_add_param(&u, "ar", arid);
    gw_url_add_param(&u, "lang", lang);
    gw_tmpl_var_t v[12] = {
        {"client_name", cl ? cl->name : ""},
        {"vneid_url", u.data},
    };
    char *owned[8] = {0};
    size_t n = 2 + gw_broker_login_vars(app, req, resp, ar, arid, v + 2, 10, owned);
    gw_page(app, req, resp, 200, "login", lang, v, n);
    for (size_t i = 0; i < 8; i++)
        free(owned[i]);
    gw_buf_cleanup(&u);
    json_decref(ar);
}

/* ------------------------------------------------------------------ to VNeID */

static void h_login_vneid(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *arid, *lang;
    json_t *ar = ar_from_request(app, req, resp, &arid, &lang);
    if (!ar)
        return;
    const gw_upstream_t *up = app->cfg->upstream;
    char *bind = gw_cookie_get(req->cookie, app->bind_cookie);
    if (!bind || strlen(bind) != 43) {
        free(bind);
        bind = gw_random_token(32);
        gw_resp_cookie(resp, app->bind_cookie, bind, 0, app->is_tls);
    }
    char *state = gw_random_token(32);
    char *nonce = up->use_nonce ? gw_random_token(32) : NULL;
    char *verifier = up->use_pkce ? gw_random_token(32) : NULL;
    char *challenge = verifier ? s256(verifier) : NULL;
    json_t *f = json_object();
    jset(f, "ar", arid);
    char *bind_hash = gw_sha256_b64url(bind);
    jset(f, "bind", bind_hash);
    free(bind_hash);
    jset(f, "nonce", nonce);
    jset(f, "verifier", verifier);
    jset(f, "lang", lang);
    if (store_put_json(app, "flow", state, f, app->cfg->flow_lifetime) != GW_OK) {
        gw_error_page(app, req, resp, 503, "server_busy", lang, NULL, NULL);
    } else {
        char *url = idp()->auth_url(app, up, state, nonce, challenge, lang);
        gw_resp_redirect(resp, url);
        free(url);
    }
    json_decref(f);
    json_decref(ar);
    free(bind);
    free(state);
    free(nonce);
    gw_wipe_free(verifier);
    free(challenge);
}

/* ------------------------------------------------------------------ from VNeID */

/* A new session record and its entry in the index of its ID number's sessions (so a
 * lock revokes them all at once), in one transaction where the store has them: both
 * or neither, one commit. */
int save_new_session(gw_app_t *app, json_t *sess)
{
    const char *sid = jstr(sess, "sid");
    const char *id12 = jstr(json_object_get(sess, "identity"), "id12");
    long ttl = app->cfg->session_lifetime;
    int batched = gw_store_batch_begin(app->store) == GW_OK;
    int rc = store_put_json(app, "sess", sid, sess, ttl);
    if (rc == GW_OK && id12 && *id12)
        rc = gw_store_set_add(app->store, "sidx", id12, sid, ttl);
    if (batched && gw_store_batch_end(app->store, rc == GW_OK) != GW_OK)
        rc = GW_ESTORE;
    return rc;
}

static char *portal_error_url(gw_app_t *app, json_t *ar, const char *error)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, jstr(ar, "redirect_uri"));
    gw_url_add_param(&u, "error", error);
    if (jstr(ar, "state"))
        gw_url_add_param(&u, "state", jstr(ar, "state"));
    if (wants_iss(app, jstr(ar, "client_id")))
        gw_url_add_param(&u, "iss", app->cfg->public_url);
    return gw_buf_steal(&u);
}

/* Ends a callback's batch that wrote nothing (a refused login) before the slow part of
 * the answer (audit, error page): no write lock is held over it. */
static void end_batch(gw_app_t *app, int *batched)
{
    if (*batched)
        gw_store_batch_end(app->store, 0);
    *batched = 0;
}

/* A callback's state between its steps: the flow and the authorization request it
 * belongs to, the plugin's redemption state and, at the end, the identity. */
typedef struct cb_ctx {
    json_t *flow, *ar;
    char *retry, *back;
    const char *lang;
    void *idp;
    gw_identity_t id;
    int batch_held; /* cb_end's store batch is open already (gw_store_batch_try_begin) */
    const char *fail_code; /* a failed step's page, shown by cb_fail */
    char fail_detail[256];
} cb_ctx_t;

static void cb_ctx_free(void *p)
{
    cb_ctx_t *c = p;
    if (c->idp)
        idp()->end(c->idp);
    gw_identity_cleanup(&c->id);
    json_decref(c->flow);
    json_decref(c->ar);
    free(c->retry);
    free(c->back);
    free(c);
}

static void cb_end(gw_app_t *app, gw_req_t *req, gw_resp_t *resp);

/* The page for a failed redemption. Where error records are not in this process's memory,
 * it runs on a worker: the page keeps its error in the store for the language switch (a
 * callback cannot be reloaded). */
static void cb_fail(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    cb_ctx_t *c = req->ctx;
    const char *pcode = c->fail_code;
    gw_log(GW_LOG_WARN, "idp", "upstream login failed", "reason", c->fail_detail, "page", pcode, "id", req->id, NULL);
    gw_error_page(app, req, resp, !strcmp(pcode, "upstream_unavailable") ? 503 : 502, pcode, c->lang, c->retry,
                  c->back);
    if (!strcmp(pcode, "upstream_unavailable"))
        gw_resp_header(resp, "Retry-After", "30");
}

/* The VNeID answers, one at a time, on the I/O thread (or, for a key fetch, on the
 * upstream pool): each step asks for the next call, or ends in a page or the identity. */
static void cb_step(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    cb_ctx_t *c = req->ctx;
    const gw_upstream_t *up = app->cfg->upstream;
    gw_outcall_t call;
    const char *pcode = NULL;
    char detail[256] = "";
    int rc = idp()->step(app, up, c->idp, req->result, !req->on_io_thread, &call, &c->id, &pcode, detail,
                         sizeof(detail));
    if (rc == GW_IDP_CALL) {
        gw_req_call(req, &call, cb_step, GW_RUN_IO);
    } else if (rc == GW_IDP_BLOCK) {
        gw_req_then(req, cb_step, GW_RUN_UPSTREAM);
    } else if (rc == GW_IDP_DONE) {
        /* the rest uses the store; linking may call the population DB */
        const gw_client_t *cl = gw_config_client(app->cfg, jstr(c->ar, "client_id"));
        if (req->on_io_thread && cl && !cl->has_accounts && !app->audit && gw_store_local(app->store, "err") &&
            gw_store_batch_try_begin(app->store) == GW_OK) {
            /* the usual case: the store's write connection was free, so nothing ahead
             * waits; it ends here, without a trip through a worker */
            c->batch_held = 1;
            cb_end(app, req, resp);
        } else {
            gw_req_then(req, cb_end, cl && cl->has_accounts ? GW_RUN_UPSTREAM : GW_RUN_LOCAL);
        }
    } else {
        c->fail_code = pcode;
        snprintf(c->fail_detail, sizeof(c->fail_detail), "%s", detail);
        if (req->on_io_thread && !gw_store_local(app->store, "err"))
            gw_req_then(req, cb_fail, GW_RUN_LOCAL);
        else
            cb_fail(app, req, resp);
    }
}

/* GET /callback: VNeID sends the browser back with a code. The checks that need no
 * network run here; the code is redeemed by cb_step and the login finished by cb_end. */
static void h_callback(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *state = gw_form_get(&req->q, "state");
    json_t *flow = state ? store_get_json(app, "flow", state, 1) : NULL; /* single use */
    const char *lang = gw_req_lang(req, app, flow ? jstr(flow, "lang") : NULL);
    json_t *ar = NULL;
    char *retry = NULL, *back = NULL, *bind = NULL, *bind_hash = NULL;
    if (!flow && state && store_down) {
        busy_page(app, req, resp, lang);
        goto done;
    }
    if (!flow) {
        gw_log(GW_LOG_WARN, "idp", "callback: unknown or used state", "id", req->id, NULL);
        gw_error_page(app, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    bind = gw_cookie_get(req->cookie, app->bind_cookie);
    bind_hash = bind ? gw_sha256_b64url(bind) : NULL;
    if (!bind_hash || !gw_ct_streq(bind_hash, jstr(flow, "bind"))) {
        gw_log(GW_LOG_WARN, "idp", "callback: state was issued to another browser", "id", req->id, NULL);
        gw_error_page(app, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    ar = store_get_json(app, "ar", jstr(flow, "ar"), 0);
    if (!ar) {
        gw_error_page(app, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    retry = gw_sprintf("/login?ar=%s&lang=%s", jstr(flow, "ar"), lang);
    back = portal_error_url(app, ar, "access_denied");
    const char *uerr = gw_form_get(&req->q, "error");
    if (uerr) {
        gw_log(GW_LOG_INFO, "idp", "upstream refused the login", "error", uerr, "id", req->id, NULL);
        gw_error_page(app, req, resp, 403, !strcmp(uerr, "access_denied") ? "upstream_denied" : "upstream_error",
                      lang, retry, back);
        goto done;
    }
    const char *code = gw_form_get(&req->q, "code");
    if (!code || !*code || strlen(code) > 4096) {
        gw_error_page(app, req, resp, 400, "invalid_request", lang, retry, back);
        goto done;
    }
    cb_ctx_t *c = gw_xcalloc(1, sizeof(*c));
    gw_outcall_t call;
    c->idp = idp()->begin(app, app->cfg->upstream, code, jstr(flow, "nonce"), jstr(flow, "verifier"), &call);
    gw_req_call(req, &call, cb_step, GW_RUN_IO);
    c->flow = flow;
    c->ar = ar;
    c->retry = retry;
    c->back = back;
    c->lang = lang;
    req->ctx = c;
    req->ctx_free = cb_ctx_free;
    flow = ar = NULL;
    retry = back = NULL;
done:
    json_decref(flow);
    json_decref(ar);
    free(retry);
    free(back);
    free(bind);
    free(bind_hash);
}

/* After the identity: policy, the lock list, the session, the way to the portal. */
static void cb_end(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    cb_ctx_t *c = req->ctx;
    json_t *flow = c->flow, *ar = c->ar;
    const char *lang = c->lang, *retry = c->retry, *back = c->back;
    gw_identity_t id = c->id; /* c keeps ownership */
    int batched = c->batch_held; /* every way out below ends it */
    c->batch_held = 0;
    const gw_client_t *cl = gw_config_client(app->cfg, jstr(ar, "client_id"));
    if (!cl) {
        gw_error_page(app, req, resp, 400, "unknown_client", lang, NULL, NULL);
        goto done;
    }
    /* policy: account type, level, lock list */
    if (!id.account_type || !gw_list_has(cl->account_types, id.account_type)) {
        gw_log(GW_LOG_INFO, "broker", "refused: account type", "client", cl->id, "type",
               id.account_type ? id.account_type : "(none)", "who_id12", id.id12, NULL);
        gw_app_audit(app, "refusal", json_pack("{s:s,s:s,s:s}", "portal", cl->id, "who_id12", id.id12, "reason",
                                               "account_type"));
        gw_error_page(app, req, resp, 403, "account_type_refused", lang, NULL, back);
        goto done;
    }
    if (id.level < requested_level(ar, cl)) {
        gw_log(GW_LOG_INFO, "broker", "refused: level", "client", cl->id, "who_id12", id.id12, NULL);
        gw_app_audit(app, "refusal", json_pack("{s:s,s:s,s:s}", "portal", cl->id, "who_id12", id.id12, "reason",
                                               "level"));
        gw_error_page(app, req, resp, 403, "level_too_low", lang, NULL, back);
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
        gw_error_page(app, req, resp, 503, "server_busy", lang, retry, back);
        gw_resp_header(resp, "Retry-After", "1");
        goto done;
    }
    if (lrc == GW_OK) {
        end_batch(app, &batched); /* nothing to write: no transaction held over the audit and the page */
        gw_log(GW_LOG_INFO, "broker", "refused: on the lock list", "reason", lock, "who_id12", id.id12, NULL);
        gw_app_audit(app, "refusal", json_pack("{s:s,s:s,s:s,s:s}", "portal", cl->id, "who_id12", id.id12, "reason",
                                               "locked", "lock_reason", lock));
        char key[64];
        snprintf(key, sizeof(key), "lock.%s", lock);
        free(lock);
        gw_error_page_detail(app, req, resp, 403, "locked", lang, NULL, back, key);
        goto done;
    }
    if (!strcmp(id.account_type, "1") && id.id12[0] >= '0' && id.id12[0] <= '9') {
        /* a citizen's number (foreigners carry an opaque identifier): section 5 rules */
        gw_id_info_t info;
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        int idrc = gw_id_check(id.id12, strlen(id.id12), tm.tm_year + 1900, &info);
        if (idrc != GW_ID_OK || info.kind != GW_ID_PERSONAL) {
            end_batch(app, &batched);
            gw_log(GW_LOG_WARN, "idp", "upstream ID number fails the format rules", "id", req->id, NULL);
            gw_error_page(app, req, resp, 502, "missing_identity", lang, retry, back);
            goto done;
        }
        {
            int by = id.birthdate ? atoi(id.birthdate) : 0;
            if (gw_id_compare(&info, by, id.sex))
                gw_log(GW_LOG_WARN, "broker", "ID number digits disagree with birth date or sex", "who_id12",
                       id.id12, NULL);
        }
    }
    /* a new SSO session */
    int64_t now = gw_now();
    char *sid = gw_ordered_token(18);
    json_t *ident = json_object();
    jset(ident, "id12", id.id12);
    jset(ident, "name", id.name);
    jset(ident, "birthdate", id.birthdate);
    if (id.sex)
        json_object_set_new(ident, "sex", json_string(id.sex == 'M' ? "male" : "female"));
    json_object_set_new(ident, "level", json_integer(id.level));
    jset(ident, "account_type", id.account_type);
    json_t *sess = json_object();
    jset(sess, "sid", sid);
    json_object_set_new(sess, "identity", ident);
    json_object_set_new(sess, "auth_time", json_integer(now));
    json_object_set_new(sess, "exp", json_integer(now + app->cfg->session_lifetime));
    json_object_set_new(sess, "clients", json_array());
    jset(sess, "upstream_sub", id.sub);
    jset(sess, "upstream_logout", id.logout_uri);
    /* the record is written once: by issue_code when the broker goes straight to the
     * portal (the usual case), else here; nothing of this response stands if it fails */
    int unsaved = SESS_UNSAVED;
    sso_set_cookie(app, resp, sid, now, id.level, now + app->cfg->session_lifetime);
    gw_broker_after_login(app, req, resp, ar, jstr(flow, "ar"), sess, &unsaved, lang);
    if (unsaved == SESS_UNSAVED)
        unsaved = save_new_session(app, sess) == GW_OK ? SESS_SAVED : SESS_SAVE_FAILED;
    int saved = unsaved == SESS_SAVED;
    if (batched) {
        batched = 0;
        if (gw_store_batch_end(app->store, saved) != GW_OK)
            saved = 0;
    }
    if (!saved) {
        gw_resp_reset(resp);
        gw_error_page(app, req, resp, 503, "server_busy", lang, retry, back);
        gw_resp_header(resp, "Retry-After", "1");
    } else {
        gw_log(GW_LOG_INFO, "broker", "login", "client", cl->id, "who_id12", id.id12,
               "eid_level", id.level == 2 ? "2" : "1", "id", req->id, NULL);
        gw_app_audit(app, "login", json_pack("{s:s,s:s,s:s,s:i,s:s}", "portal", cl->id, "who_id12", id.id12, "result",
                                             "vneid", "level", id.level, "ip", req->remote));
    }
    json_decref(sess);
    free(sid);
done:
    end_batch(app, &batched);
}

/* ------------------------------------------------------------------ /token */

/* The access token a code is exchanged for: HMAC-SHA256 under the pairwise key of a
 * label and the code (the label keeps it apart from the pairwise subjects, whose input
 * starts with a client id). Codes are 256 random bits and single-use, so tokens are as
 * unguessable and unique as random ones, and a replayed code finds the token it issued
 * with no record kept per token to map one to the other. */
static char *access_token_for(gw_app_t *app, const char *code)
{
    static const char label[] = "\0access_token\0";
    size_t n = strlen(code);
    unsigned char *m = gw_xmalloc(sizeof(label) - 1 + n), mac[32];
    memcpy(m, label, sizeof(label) - 1);
    memcpy(m + sizeof(label) - 1, code, n);
    gw_hmac_sha256(app->keys->pairwise_key, sizeof(app->keys->pairwise_key), m, sizeof(label) - 1 + n, mac);
    free(m);
    char *at = gw_b64url_encode(mac, sizeof(mac));
    OPENSSL_cleanse(mac, sizeof(mac));
    return at;
}

static int token_error(gw_resp_t *resp, int status, const char *error, const char *desc)
{
    gw_error_json(resp, status, error, desc);
    if (status == 401)
        gw_resp_header(resp, "WWW-Authenticate", "Basic realm=\"eidgw\"");
    return -1;
}

/* Client authentication (RFC 6749 2.3.1): Basic or client_secret_post, exactly one. */
static const gw_client_t *token_client(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    char *bid = NULL, *bsecret = NULL;
    const gw_client_t *cl = NULL;
    if (req->authorization && !strncasecmp(req->authorization, "Basic ", 6)) {
        const char *b = req->authorization + 6;
        size_t n = 0;
        unsigned char *raw = gw_b64url_decode(b, strlen(b), &n);
        char *colon = raw ? memchr(raw, ':', n) : NULL;
        if (!colon || memchr(raw, 0, n)) {
            free(raw);
            token_error(resp, 401, "invalid_client", "malformed Basic credentials");
            return NULL;
        }
        *colon = 0;
        bid = gw_url_decode((char *)raw, strlen((char *)raw), 1);
        bsecret = gw_url_decode(colon + 1, strlen(colon + 1), 1);
        memset(raw, 0, n);
        free(raw);
        if (!bid || !bsecret) {
            free(bid);
            gw_wipe_free(bsecret);
            token_error(resp, 401, "invalid_client", "malformed Basic credentials");
            return NULL;
        }
    }
    const char *pid = gw_form_get(&req->form, "client_id"), *psecret = gw_form_get(&req->form, "client_secret");
    if (bid && psecret) {
        token_error(resp, 400, "invalid_request", "use one client authentication method");
        goto done;
    }
    if (bid && pid && strcmp(bid, pid)) {
        token_error(resp, 400, "invalid_request", "client_id differs from the authenticated client");
        goto done;
    }
    const char *id = bid ? bid : pid;
    const char *secret = bid ? bsecret : psecret;
    const gw_client_t *c = gw_config_client(app->cfg, id);
    if (!c) {
        token_error(resp, 401, "invalid_client", "unknown client");
        goto done;
    }
    if (c->is_public) {
        if (secret && *secret) {
            token_error(resp, 401, "invalid_client", "public clients have no secret");
            goto done;
        }
        cl = c;
        goto done;
    }
    char *h = secret ? gw_sha256_hex(secret) : NULL;
    int ok = h && gw_ct_streq(h, c->secret_sha256);
    free(h);
    if (!ok) {
        token_error(resp, 401, "invalid_client", "client authentication failed");
        goto done;
    }
    cl = c;
done:
    free(bid);
    gw_wipe_free(bsecret);
    return cl;
}

static json_t *release_claims(gw_app_t *app, const gw_client_t *cl, const char *scope, json_t *ident, json_t *rec)
{
    json_t *o = json_object();
    /* the portal's own account id for this citizen, and the ids merged into it */
    jset(o, "legacy_account", jstr(rec, "account"));
    if (json_is_array(json_object_get(rec, "merged")))
        json_object_set(o, "merged_accounts", json_object_get(rec, "merged"));
    char *sub = pairwise_sub(app, cl->id, jstr(ident, "id12"));
    jset(o, "sub", sub);
    free(sub);
    if (gw_list_has(scope, "profile")) {
        jset(o, "name", jstr(ident, "name"));
        jset(o, "birthdate", jstr(ident, "birthdate"));
        jset(o, "gender", jstr(ident, "sex"));
    }
    if (gw_list_has(scope, "cccd"))
        jset(o, "cccd", jstr(ident, "id12"));
    return o;
}

static void h_token(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!req->content_type || strncasecmp(req->content_type, "application/x-www-form-urlencoded", 33)) {
        token_error(resp, 400, "invalid_request", "body must be application/x-www-form-urlencoded");
        return;
    }
    const char *dup = dup_param(&req->form);
    if (dup) {
        token_error(resp, 400, "invalid_request", "a parameter was given more than once");
        return;
    }
    const gw_client_t *cl = token_client(app, req, resp);
    if (!cl)
        return;
    const char *gt = gw_form_get(&req->form, "grant_type");
    if (!gt) {
        token_error(resp, 400, "invalid_request", "grant_type is required");
        return;
    }
    if (strcmp(gt, "authorization_code")) {
        token_error(resp, 400, "unsupported_grant_type", NULL);
        return;
    }
    const char *code = gw_form_get(&req->form, "code");
    if (!code || !*code || strlen(code) > 256) {
        token_error(resp, 400, "invalid_request", "code is required");
        return;
    }
    char *key = gw_sha256_b64url(code);
    int batched = gw_store_batch_begin(app->store) == GW_OK; /* one transaction for what follows */
    json_t *c = store_get_json(app, "code", key, 1);
    json_t *out = NULL;
    if (!c && store_down) {
        busy_json(resp);
        goto done;
    }
    if (!c) {
        /* a replayed code revokes the tokens it issued (RFC 6749 4.1.2): its access token
         * is derived from it. Mark the replay first, then look for the token: a concurrent
         * winner checks the mark after recording its token, so one of the two always sees
         * the other (the mark outlives any exchange in flight: a code's lifetime). */
        gw_store_put(app->store, "cur", key, "1", app->cfg->code_lifetime, 0);
        char *issued = access_token_for(app, code);
        char *issued_key = gw_sha256_b64url(issued);
        gw_wipe_free(issued);
        json_t *gone = store_get_json(app, "at", issued_key, 1);
        free(issued_key);
        if (gone) {
            gw_log(GW_LOG_WARN, "oidc_op", "code replay: its access token was revoked", "client", cl->id, NULL);
            json_decref(gone);
        }
        token_error(resp, 400, "invalid_grant", "code is invalid, expired or already used");
        goto done;
    }
    if (strcmp(jstr(c, "client_id"), cl->id)) {
        token_error(resp, 400, "invalid_grant", "code was issued to another client");
        goto done;
    }
    const char *ru = gw_form_get(&req->form, "redirect_uri");
    if (!ru || strcmp(ru, jstr(c, "redirect_uri"))) {
        token_error(resp, 400, "invalid_grant", "redirect_uri does not match the authorization request");
        goto done;
    }
    const char *chal = jstr(c, "code_challenge"), *ver = gw_form_get(&req->form, "code_verifier");
    if (chal || ver) {
        if (!chal || !ver) {
            token_error(resp, 400, "invalid_grant", chal ? "code_verifier is required" : "code_verifier without code_challenge");
            goto done;
        }
        char *h = valid_pkce(ver, 43, 128) ? s256(ver) : NULL;
        int ok = h && gw_ct_streq(h, chal);
        free(h);
        if (!ok) {
            token_error(resp, 400, "invalid_grant", "PKCE verification failed");
            goto done;
        }
    }
    const char *sid = jstr(c, "sid");
    if (sid && gw_revset_has(&app->revoked, sid)) {
        token_error(resp, 400, "invalid_grant", "the session has ended");
        goto done;
    }
    json_t *ident = json_object_get(c, "identity");
    const char *scope = jstr(c, "scope");
    int64_t now = gw_now();
    int level = (int)json_integer_value(json_object_get(ident, "level"));
    json_t *idc = release_claims(app, cl, scope, ident, c);
    jset(idc, "iss", app->cfg->public_url);
    jset(idc, "aud", cl->id);
    jset(idc, "azp", cl->id);
    json_object_set_new(idc, "iat", json_integer(now));
    json_object_set_new(idc, "exp", json_integer(now + app->cfg->token_lifetime));
    json_object_set(idc, "auth_time", json_object_get(c, "auth_time"));
    jset(idc, "nonce", jstr(c, "nonce"));
    jset(idc, "acr", acr_for(level));
    /* RFC 8176: a legacy password login is "pwd"; VNeID's own methods are not known here */
    json_object_set_new(idc, "amr", json_pack("[s]", level == 0 ? "pwd" : "vneid"));
    jset(idc, "sid", sid);
    char *at = access_token_for(app, code);
    char *at_key = gw_sha256_b64url(at);
    {
        /* at_hash: left half of SHA-256 of the access token (ES256 and RS256 both use SHA-256) */
        unsigned char d[32];
        gw_sha256(at, strlen(at), d);
        char *ah = gw_b64url_encode(d, 16);
        jset(idc, "at_hash", ah);
        free(ah);
    }
    char *id_token = gw_jwt_sign(app->keys, cl->token_alg, idc, "JWT");
    json_t *atrec = json_object();
    jset(atrec, "client_id", cl->id);
    jset(atrec, "scope", scope);
    jset(atrec, "sid", sid);
    json_object_set(atrec, "identity", ident);
    jset(atrec, "account", jstr(c, "account"));
    if (json_object_get(c, "merged"))
        json_object_set(atrec, "merged", json_object_get(c, "merged"));
    int rc = id_token ? store_put_json(app, "at", at_key, atrec, app->cfg->token_lifetime) : GW_EINVAL;
    char *replayed = NULL;
    int replay_rc = rc == GW_OK ? gw_store_get(app->store, "cur", key, &replayed) : GW_ENOTFOUND;
    if (rc == GW_OK && replay_rc == GW_OK) {
        gw_store_del(app->store, "at", at_key);
        free(replayed);
        token_error(resp, 400, "invalid_grant", "code is invalid, expired or already used");
    } else if (rc != GW_OK || replay_rc != GW_ENOTFOUND) {
        if (rc == GW_OK) /* the replay mark could not be read: no token on a maybe */
            gw_store_del(app->store, "at", at_key);
        token_error(resp, 503, "temporarily_unavailable", NULL);
        gw_resp_header(resp, "Retry-After", "1");
    } else {
        out = json_object();
        jset(out, "access_token", at);
        jset(out, "token_type", "Bearer");
        json_object_set_new(out, "expires_in", json_integer(app->cfg->token_lifetime));
        jset(out, "id_token", id_token);
        jset(out, "scope", scope);
        gw_resp_json(resp, 200, out);
        gw_resp_header(resp, "Pragma", "no-cache");
    }
    json_decref(idc);
    json_decref(atrec);
    gw_wipe_free(at);
    free(at_key);
    free(id_token);
done:
    if (batched && gw_store_batch_end(app->store, 1) != GW_OK && resp->status == 200) {
        /* the tokens were not recorded: do not hand them out */
        resp->body.len = 0;
        gw_error_json(resp, 503, "temporarily_unavailable", NULL);
        gw_resp_header(resp, "Retry-After", "1");
    }
    json_decref(c);
    free(key);
}

/* ------------------------------------------------------------------ /userinfo */

static void h_userinfo(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *a = req->authorization;
    const char *tok = a && !strncasecmp(a, "Bearer ", 7) ? a + 7 : NULL;
    if (!tok && req->method == GW_M_POST)
        tok = gw_form_get(&req->form, "access_token");
    json_t *rec = NULL;
    if (tok && strlen(tok) < 256) {
        char *k = gw_sha256_b64url(tok);
        rec = store_get_json(app, "at", k, 0);
        free(k);
        if (!rec && store_down) {
            busy_json(resp);
            return;
        }
    }
    const char *sid = rec ? jstr(rec, "sid") : NULL;
    if (!rec || (sid && gw_revset_has(&app->revoked, sid))) {
        gw_error_json(resp, 401, "invalid_token", tok ? "the access token is invalid or expired" : "no access token");
        gw_resp_header(resp, "WWW-Authenticate", tok ? "Bearer error=\"invalid_token\"" : "Bearer");
        json_decref(rec);
        return;
    }
    const gw_client_t *cl = gw_config_client(app->cfg, jstr(rec, "client_id"));
    json_t *o = cl ? release_claims(app, cl, jstr(rec, "scope"), json_object_get(rec, "identity"), rec) : json_object();
    int level = (int)json_integer_value(json_object_get(json_object_get(rec, "identity"), "level"));
    jset(o, "acr", acr_for(level));
    gw_resp_json(resp, 200, o);
    json_decref(rec);
}

/* ------------------------------------------------------------------ logout */

static void backchannel_logout(gw_app_t *app, json_t *sess)
{
    json_t *clients = json_object_get(sess, "clients");
    size_t i;
    json_t *v;
    json_array_foreach(clients, i, v)
    {
        const gw_client_t *cl = gw_config_client(app->cfg, json_string_value(v));
        if (!cl || !cl->backchannel_logout_uri)
            continue;
        char *sub = pairwise_sub(app, cl->id, jstr(json_object_get(sess, "identity"), "id12"));
        char *jti = gw_random_token(16);
        json_t *lt = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:{s:{}}}", "iss", app->cfg->public_url, "aud", cl->id,
                               "sub", sub, "iat", (json_int_t)gw_now(), "exp", (json_int_t)(gw_now() + 120), "jti",
                               jti, "sid", jstr(sess, "sid"), "events",
                               "http://schemas.openid.net/event/backchannel-logout");
        char *tok = gw_jwt_sign(app->keys, cl->token_alg, lt, "logout+jwt");
        char *e = tok ? gw_url_encode(tok) : NULL;
        char *form = e ? gw_sprintf("logout_token=%s", e) : NULL;
        gw_http_result_t r;
        if (form) {
            gw_http_call(cl->backchannel_logout_uri, form, NULL, NULL, NULL, NULL, 3000, &r);
            char st[8];
            snprintf(st, sizeof(st), "%ld", r.status);
            gw_log(r.status == 200 || r.status == 204 ? GW_LOG_INFO : GW_LOG_WARN, "oidc_op", "back-channel logout",
                   "client", cl->id, "status", st, NULL);
            gw_http_result_cleanup(&r);
        }
        free(form);
        free(e);
        free(tok);
        json_decref(lt);
        free(jti);
        free(sub);
    }
}

/* End the SSO session everywhere: store record, revocation (all nodes), cookie, portals. */
static void end_session(gw_app_t *app, gw_resp_t *resp, const char *sid, int64_t exp)
{
    gw_resp_cookie(resp, app->sso_cookie, "", -1, app->is_tls);
    if (!sid)
        return;
    json_t *sess = store_get_json(app, "sess", sid, 1);
    gw_store_revoke(app->store, sid, exp > gw_now() ? exp : gw_now() + app->cfg->session_lifetime);
    gw_revset_add(&app->revoked, sid, exp > gw_now() ? exp : gw_now() + app->cfg->session_lifetime);
    if (sess) {
        gw_log(GW_LOG_INFO, "broker", "logout", "who_id12", jstr(json_object_get(sess, "identity"), "id12"), NULL);
        backchannel_logout(app, sess);
        json_decref(sess);
    }
}

static void logout_done(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, const gw_client_t *cl,
                        const char *post_uri, const char *state)
{
    if (post_uri) {
        gw_buf_t u;
        gw_buf_init(&u, 16384);
        gw_buf_adds(&u, post_uri);
        if (state)
            gw_url_add_param(&u, "state", state);
        gw_resp_redirect(resp, u.data);
        gw_buf_cleanup(&u);
        return;
    }
    gw_tmpl_var_t v[] = {{"client_name", cl ? cl->name : NULL}};
    gw_page(app, req, resp, 200, "logout", lang, v, 1);
}

static void h_logout(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const gw_form_t *p = req->method == GW_M_POST ? &req->form : &req->q;
    const char *lang = gw_req_lang(req, app, gw_form_get(p, "ui_locales"));
    sso_t s = {0};
    int has_session = sso_open(app, req, &s) == 0;

    /* the confirmation form posts back here */
    const char *logout_id = gw_form_get(p, "logout_id");
    if (req->method == GW_M_POST && logout_id) {
        json_t *lo = store_get_json(app, "lo", logout_id, 1);
        const char *csrf = gw_form_get(p, "csrf");
        if (!lo || !csrf || !gw_ct_streq(csrf, jstr(lo, "csrf"))) {
            json_decref(lo);
            gw_error_page(app, req, resp, 400, "flow_expired", lang, NULL, NULL);
            sso_cleanup(&s);
            return;
        }
        if (!gw_streq(jstr(lo, "sid"), has_session ? s.sid : NULL)) {
            /* the confirmation was shown to another browser (or another session) */
            json_decref(lo);
            gw_error_page(app, req, resp, 400, "flow_expired", lang, NULL, NULL);
            sso_cleanup(&s);
            return;
        }
        const gw_client_t *cl = gw_config_client(app->cfg, jstr(lo, "client_id"));
        if (has_session)
            end_session(app, resp, s.sid, s.exp);
        else
            gw_resp_cookie(resp, app->sso_cookie, "", -1, app->is_tls);
        logout_done(app, req, resp, lang, cl, jstr(lo, "post_logout_redirect_uri"), jstr(lo, "state"));
        json_decref(lo);
        sso_cleanup(&s);
        return;
    }

    const char *hint = gw_form_get(p, "id_token_hint");
    const char *post_uri = gw_form_get(p, "post_logout_redirect_uri");
    const char *state = gw_form_get(p, "state");
    const char *client_id = gw_form_get(p, "client_id");
    json_t *hc = hint ? gw_jwt_verify_own(app->keys, hint) : NULL;
    if (hint && (!hc || !gw_streq(jstr(hc, "iss"), app->cfg->public_url))) {
        json_decref(hc);
        gw_error_page(app, req, resp, 400, "invalid_request", lang, NULL, NULL);
        sso_cleanup(&s);
        return;
    }
    const char *aud = hc ? jstr(hc, "aud") : NULL;
    if (aud && client_id && strcmp(aud, client_id)) {
        json_decref(hc);
        gw_error_page(app, req, resp, 400, "invalid_request", lang, NULL, NULL);
        sso_cleanup(&s);
        return;
    }
    const gw_client_t *cl = gw_config_client(app->cfg, aud ? aud : client_id);
    if (post_uri && (!cl || !gw_strlist_has(&cl->post_logout_uris, post_uri))) {
        /* never redirect to an address the portal did not register */
        json_decref(hc);
        gw_error_page(app, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        sso_cleanup(&s);
        return;
    }
    int hint_matches = hc && (!has_session || gw_streq(jstr(hc, "sid"), s.sid));
    if (hint_matches || !has_session) {
        /* the hint proves the portal asked (or there is nothing to end) */
        if (has_session)
            end_session(app, resp, s.sid, s.exp);
        logout_done(app, req, resp, lang, cl, post_uri, state);
    } else {
        /* no proof the citizen wants this: ask (CSRF-protected form) */
        char *lid = gw_random_token(24), *csrf = gw_random_token(24);
        json_t *lo = json_object();
        jset(lo, "csrf", csrf);
        jset(lo, "sid", s.sid);
        jset(lo, "client_id", cl ? cl->id : NULL);
        jset(lo, "post_logout_redirect_uri", post_uri);
        jset(lo, "state", state);
        store_put_json(app, "lo", lid, lo, 600);
        gw_tmpl_var_t v[] = {{"client_name", cl ? cl->name : NULL}, {"action_url", "/logout"},
                             {"csrf", csrf}, {"logout_id", lid}};
        gw_page(app, req, resp, 200, "logout_confirm", lang, v, 4);
        json_decref(lo);
        free(lid);
        free(csrf);
    }
    json_decref(hc);
    sso_cleanup(&s);
}

/* ------------------------------------------------------------------ metadata */

static void h_discovery(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *b = app->cfg->public_url;
    json_t *o = json_object();
    jset(o, "issuer", b);
    json_object_set_new(o, "authorization_endpoint", json_sprintf("%s/authorize", b));
    json_object_set_new(o, "token_endpoint", json_sprintf("%s/token", b));
    json_object_set_new(o, "userinfo_endpoint", json_sprintf("%s/userinfo", b));
    json_object_set_new(o, "jwks_uri", json_sprintf("%s/jwks", b));
    json_object_set_new(o, "end_session_endpoint", json_sprintf("%s/logout", b));
    json_object_set_new(o, "scopes_supported", json_pack("[sss]", "openid", "profile", "cccd"));
    json_object_set_new(o, "response_types_supported", json_pack("[s]", "code"));
    json_object_set_new(o, "response_modes_supported", json_pack("[s]", "query"));
    json_object_set_new(o, "grant_types_supported", json_pack("[s]", "authorization_code"));
    json_object_set_new(o, "subject_types_supported", json_pack("[s]", "pairwise"));
    json_object_set_new(o, "id_token_signing_alg_values_supported", json_pack("[ss]", "ES256", "RS256"));
    json_object_set_new(o, "token_endpoint_auth_methods_supported",
                        json_pack("[sss]", "client_secret_basic", "client_secret_post", "none"));
    json_object_set_new(o, "code_challenge_methods_supported", json_pack("[s]", "S256"));
    json_object_set_new(o, "claims_supported",
                        json_pack("[ssssssssssss]", "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr",
                                  "name", "birthdate", "gender", "cccd"));
    json_object_set_new(o, "acr_values_supported", json_pack("[ss]", ACR_L1, ACR_L2));
    json_object_set_new(o, "ui_locales_supported", json_pack("[ss]", "vi", "en"));
    json_object_set_new(o, "claims_parameter_supported", json_false());
    json_object_set_new(o, "request_parameter_supported", json_false());
    json_object_set_new(o, "request_uri_parameter_supported", json_false());
    json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
    json_object_set_new(o, "backchannel_logout_supported", json_true());
    json_object_set_new(o, "backchannel_logout_session_supported", json_true());
    gw_resp_json(resp, 200, o);
    gw_resp_header(resp, "Cache-Control", "public, max-age=300");
}

static void h_jwks(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_text(resp, 200, "application/jwk-set+json", app->keys->jwks_json);
    gw_resp_header(resp, "Cache-Control", "public, max-age=300");
}

static void h_health(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "version", EIDGW_VERSION));
}

/* GET /auth/check: the session check of the proxied path (an nginx auth_request or a
 * forward-auth target). It runs on the I/O thread and never touches the store: the sealed
 * cookie and the in-memory revocation set decide. 200 with the session's headers, or 401. */
static void h_auth_check(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    sso_t s = {0};
    if (sso_open(app, req, &s) != 0) {
        gw_resp_text(resp, 401, "text/plain; charset=utf-8", "no session\n");
        return;
    }
    char lvl[8], at[24];
    snprintf(lvl, sizeof(lvl), "%d", s.level);
    snprintf(at, sizeof(at), "%lld", (long long)s.auth_time);
    gw_resp_header(resp, "X-Eidgw-Session", s.sid);
    gw_resp_header(resp, "X-Eidgw-Acr", acr_for(s.level));
    gw_resp_header(resp, "X-Eidgw-Level", lvl);
    gw_resp_header(resp, "X-Eidgw-Auth-Time", at);
    gw_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
    sso_cleanup(&s);
}

static void h_root(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_redirect(resp, "/.well-known/openid-configuration");
}

/* An authorization request without an SSO cookie reads no session: with "ar" in
 * memory it is answered on the I/O thread. */
static int no_sso_cookie(gw_app_t *app, const gw_req_t *req)
{
    char *c = gw_cookie_get(req->cookie, app->sso_cookie);
    int none = !c;
    free(c);
    return none;
}

/* With an SSO session, /authorize to a portal that matches legacy accounts by name may
 * ask the population DB (DOMAIN.md 4 B): upstream pool. */
static int authorize_may_call_popdb(gw_app_t *app, const gw_req_t *req)
{
    const gw_client_t *cl = gw_config_client(app->cfg, gw_form_get(req->method == GW_M_POST ? &req->form : &req->q,
                                                                   "client_id"));
    return cl && cl->has_accounts && cl->match_by_name && !no_sso_cookie(app, req);
}

const gw_route_t gw_routes[] = {
    {GW_M_GET | GW_M_HEAD, "/.well-known/openid-configuration", h_discovery, 1, NULL, NULL, NULL, 0},
    {GW_M_GET | GW_M_HEAD, "/jwks", h_jwks, 1, NULL, NULL, NULL, 0},
    {GW_M_GET | GW_M_HEAD, "/healthz", h_health, 1, NULL, NULL, NULL, 0},
    {GW_M_GET, "/", h_root, 1, NULL, NULL, NULL, 0},
    {GW_M_GET | GW_M_HEAD, "/auth/check", h_auth_check, 1, NULL, NULL, NULL, 0},
    {GW_M_GET | GW_M_POST, "/authorize", h_authorize, 0, "ar", no_sso_cookie, authorize_may_call_popdb, 0},
    {GW_M_GET, "/login", h_login, 0, "ar", NULL, NULL, 0},
    {GW_M_GET, "/login/vneid", h_login_vneid, 0, "ar flow", NULL, NULL, 0},
    {GW_M_GET, "/callback", h_callback, 0, "flow ar", NULL, NULL, 1}, /* its VNeID calls: on the I/O loop */
    {GW_M_POST, "/token", h_token, 0, "code cur at", NULL, NULL, 0},
    {GW_M_GET | GW_M_POST, "/userinfo", h_userinfo, 0, "at", NULL, NULL, 0},
    {GW_M_GET | GW_M_POST, "/logout", h_logout, 0, NULL, NULL, gw_route_always, 0}, /* back-channel logout */
    {0, NULL, NULL, 0, NULL, NULL, NULL, 0},
};
