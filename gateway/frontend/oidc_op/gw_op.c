/* gw_op: eidgw as the OpenID Provider of the portals (the OIDC front end).
 *
 *   portal --/authorize--> eidgw: a login for the broker (gw_broker_start)
 *   broker --complete--> a code --redirect--> portal --/token, /userinfo
 *
 * Its own records: "code" (authorization codes), "cux" (a code exchanged: its tombstone for
 * the code's lifetime), "cur" (codes replayed), "atr" (access tokens revoked by a replay, by
 * hash, for the token's lifetime), "lo" (a logout waiting for the citizen's confirmation).
 * An access token is no record: it is its id (derived from the code) and what /userinfo
 * needs, sealed (AES-256-GCM under a key of its own), so a node holds nothing per live
 * token and any node of a cluster opens it. What the portal
 * asked for rides with the broker's login as its return handle: redirect_uri, scope,
 * state, nonce, code_challenge. */
#include "gw_oidc_op.h"
#include "gw_op_internal.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_seal.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the longest access token read: an identity with the longest names and merged accounts
 * seals to well under it */
#define ACCESS_TOKEN_MAX 8192

/* The parameters /authorize reads: a duplicated one is named in the error, any other is
 * not (its name is the client's, and is never echoed). */
static const char *const AUTHORIZE_PARAMS[] = { "client_id",     "redirect_uri",   "response_type",
                                                "response_mode", "scope",          "state",
                                                "nonce",         "code_challenge", "code_challenge_method",
                                                "prompt",        "max_age",        "login_hint",
                                                "ui_locales",    "acr_values",     "request",
                                                "request_uri",   "lang",           NULL };

/* The error's text for a duplicated parameter: fixed, naming only a parameter we know. */
static char *dup_text(const char *dup)
{
    for (const char *const *k = AUTHORIZE_PARAMS; *k; k++)
        if (!strcmp(*k, dup))
            return gw_sprintf("parameter '%s' given more than once", *k);
    return gw_strdup("a parameter was given more than once");
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

/* Redirect to the portal with an OAuth error (only after redirect_uri was verified). */
static int wants_iss(gw_ctx_t *app, const char *client_id)
{
    const gw_client_t *cl = gw_config_client(app->cfg, client_id);
    return !cl || cl->response_iss;
}

static void redirect_error(gw_ctx_t *app, gw_resp_t *resp, const char *redirect_uri, const char *state,
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

static void busy_json(gw_resp_t *resp)
{
    gw_error_json(resp, 503, "temporarily_unavailable", "try again shortly");
    gw_resp_header(resp, "Retry-After", "1");
}

/* ------------------------------------------------------------------ /authorize */

static void h_authorize(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const gw_form_t *p = req->method == GW_M_POST ? &req->form : &req->q;
    const char *lang = gw_req_lang(req, &app->page, gw_form_get(p, "ui_locales"));
    const char *client_id = gw_form_get(p, "client_id");
    const gw_client_t *cl = gw_config_client(app->cfg, client_id);
    if (!cl || gw_form_count(p, "client_id") != 1) {
        gw_error_page(&app->page, req, resp, 400, "unknown_client", lang, NULL, NULL);
        return;
    }
    const char *redirect_uri = gw_form_get(p, "redirect_uri");
    if (!redirect_uri || gw_form_count(p, "redirect_uri") != 1 || !gw_strlist_has(&cl->redirect_uris, redirect_uri)) {
        gw_log(GW_LOG_WARN, "oidc_op", "authorize: redirect_uri not registered", "client", cl->id, "redirect_uri",
               redirect_uri ? redirect_uri : "(none)", "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        return;
    }
    /* from here on errors go back to the portal */
    const char *state = gw_form_get(p, "state");
    const char *dup = dup_param(p);
    if (dup) {
        char *d = dup_text(dup);
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
        redirect_error(app, resp, redirect_uri, state, "unsupported_response_type",
                       "only response_type=code is supported", cl->id);
        return;
    }
    const char *rm = gw_form_get(p, "response_mode");
    if (rm && strcmp(rm, "query")) {
        redirect_error(app, resp, redirect_uri, state, "invalid_request", "only response_mode=query is supported",
                       cl->id);
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
    const char *known[] = { "openid", "profile", "cccd" };
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
    /* every value that is kept with a pending login has a byte budget: an unauthenticated
     * client cannot make the store hold more than a few KB per login */
    const char *hint = gw_form_get(p, "login_hint"), *locales = gw_form_get(p, "ui_locales");
    const char *acr = gw_form_get(p, "acr_values");
    if (!err && hint && strlen(hint) > 256)
        err = "login_hint too long (at most 256 bytes)";
    if (!err && locales && strlen(locales) > 64)
        err = "ui_locales too long (at most 64 bytes)";
    if (!err && acr && strlen(acr) > 256)
        err = "acr_values too long (at most 256 bytes)";
    if (err) {
        redirect_error(app, resp, redirect_uri, state, "invalid_request", err, cl->id);
        gw_buf_cleanup(&granted);
        return;
    }
    /* what the portal asked for comes back to the complete() below with the login */
    json_t *ret = json_object();
    gw_jset(ret, "redirect_uri", redirect_uri);
    gw_jset(ret, "scope", granted.data);
    gw_buf_cleanup(&granted);
    gw_jset(ret, "state", state);
    gw_jset(ret, "nonce", nonce);
    gw_jset(ret, "code_challenge", cc);
    gw_login_t login = {
        .portal = gw_strdup(cl->id),
        /* acr_values asks for level 2 as a minimum, never for less than the portal's */
        .min_level = acr && gw_list_has(acr, GW_ACR_L2) ? 2 : cl->min_level,
        .force = prompt && gw_list_has(prompt, "login"),
        .passive = prompt && !strcmp(prompt, "none"),
        .max_age = max_age,
        .ui_locales = locales ? gw_strdup(locales) : NULL,
        .login_hint = hint ? gw_strdup(hint) : NULL,
        .frontend = gw_strdup(gw_oidc_op_frontend.name),
        .ret = ret,
    };
    gw_broker_start(app, req, resp, &login, lang);
    gw_login_cleanup(&login);
}

/* ------------------------------------------------------------------ the broker's answers */

/* The login is done: a code for the portal, and the browser sent back with it. */
static void oidc_complete(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login,
                          const gw_finished_t *done)
{
    json_t *r = login->ret;
    const char *client_id = login->portal, *redirect_uri = gw_jstr(r, "redirect_uri");
    char *code = gw_random_token(32);
    char *key = gw_sha256_b64url(code);
    json_t *c = json_object();
    gw_jset(c, "client_id", client_id);
    gw_jset(c, "redirect_uri", redirect_uri);
    gw_jset(c, "scope", gw_jstr(r, "scope"));
    gw_jset(c, "nonce", gw_jstr(r, "nonce"));
    gw_jset(c, "code_challenge", gw_jstr(r, "code_challenge"));
    gw_jset(c, "sid", done->sid);
    json_object_set(c, "identity", done->identity);
    json_object_set_new(c, "auth_time", json_integer(done->auth_time));
    gw_jset(c, "account", done->account);
    if (done->merged)
        json_object_set(c, "merged", done->merged);
    int rc = gw_store_put_json(app->store, "code", key, c, app->cfg->code_lifetime, 0);
    json_decref(c);
    if (rc != GW_OK) {
        redirect_error(app, resp, redirect_uri, gw_jstr(r, "state"), "temporarily_unavailable", "store unavailable",
                       client_id);
    } else {
        gw_buf_t u;
        gw_buf_init(&u, 16384);
        gw_buf_adds(&u, redirect_uri);
        gw_url_add_param(&u, "code", code);
        if (gw_jstr(r, "state"))
            gw_url_add_param(&u, "state", gw_jstr(r, "state"));
        if (wants_iss(app, client_id))
            gw_url_add_param(&u, "iss", app->cfg->public_url);
        gw_resp_redirect(resp, u.data);
        gw_buf_cleanup(&u);
    }
    free(key);
    gw_wipe_free(code);
}

static void oidc_fail(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const char *error)
{
    redirect_error(app, resp, gw_jstr(login->ret, "redirect_uri"), gw_jstr(login->ret, "state"), error, NULL,
                   login->portal);
}

static char *oidc_back_url(gw_ctx_t *app, const gw_login_t *login, const char *error)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, gw_jstr(login->ret, "redirect_uri"));
    gw_url_add_param(&u, "error", error);
    if (gw_jstr(login->ret, "state"))
        gw_url_add_param(&u, "state", gw_jstr(login->ret, "state"));
    if (wants_iss(app, login->portal))
        gw_url_add_param(&u, "iss", app->cfg->public_url);
    return gw_buf_steal(&u);
}

/* ------------------------------------------------------------------ /token */

/* The access token a code is exchanged for: HMAC-SHA256 under the pairwise key of a
 * label and the code (the label keeps it apart from the pairwise subjects, whose input
 * starts with a client id). Codes are 256 random bits and single-use, so tokens are as
 * unguessable and unique as random ones, and a replayed code finds the token it issued
 * with no record kept per token to map one to the other. */
static char *access_token_for(gw_ctx_t *app, const char *code)
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

/* An access token: its id (derived from the code, for a replay to revoke it), a dot, and
 * what /userinfo needs sealed with the id inside. malloc'd, or NULL. */
static char *seal_access_token(gw_ctx_t *app, const char *tid, json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT);
    char *sealed = text ? gw_seal(app->at_key, 1, text, strlen(text)) : NULL;
    char *at = sealed ? gw_sprintf("%s.%s", tid, sealed) : NULL;
    gw_wipe_free(text);
    free(sealed);
    return at;
}

/* The record an access token carries: GW_OK and *rec when it opens, names its own id and has
 * not expired; GW_ENOTFOUND when it does not; GW_ESTORE when its revocation cannot be read. */
static int open_access_token(gw_ctx_t *app, const char *at, json_t **rec)
{
    *rec = NULL;
    const char *dot = strchr(at, '.');
    size_t idlen = dot ? (size_t)(dot - at) : 0;
    char *text = NULL;
    if (!idlen || idlen > 64 || gw_seal_open(app->at_key, 1, dot + 1, &text, NULL) != GW_OK)
        return GW_ENOTFOUND;
    json_t *j = gw_json_parse_str(text);
    gw_wipe_free(text);
    const char *tid = gw_jstr(j, "tid");
    if (!tid || strlen(tid) != idlen || memcmp(tid, at, idlen) ||
        json_integer_value(json_object_get(j, "exp")) <= gw_now()) {
        json_decref(j);
        return GW_ENOTFOUND;
    }
    char *k = gw_sha256_b64url(tid), *revoked = NULL;
    int rc = gw_store_get(app->store, "atr", k, &revoked);
    free(k);
    free(revoked);
    if (rc != GW_ENOTFOUND) {
        json_decref(j);
        return rc == GW_OK ? GW_ENOTFOUND : GW_ESTORE;
    }
    *rec = j;
    return GW_OK;
}

static int token_error(gw_resp_t *resp, int status, const char *error, const char *desc)
{
    gw_error_json(resp, status, error, desc);
    if (status == 401)
        gw_resp_header(resp, "WWW-Authenticate", "Basic realm=\"eidgw\"");
    return -1;
}

int gw_op_basic_credentials(const char *b64, char **ret_id, char **ret_secret)
{
    size_t n = 0;
    unsigned char *raw = gw_b64url_decode(b64, strlen(b64), &n);
    char *colon = raw ? memchr(raw, ':', n) : NULL;
    if (!colon || memchr(raw, 0, n)) {
        free(raw);
        return -1;
    }
    *colon = 0;
    char *id = gw_url_decode((char *)raw, strlen((char *)raw), 1);
    char *secret = gw_url_decode(colon + 1, strlen(colon + 1), 1);
    memset(raw, 0, n);
    free(raw);
    if (!id || !secret) {
        free(id);
        gw_wipe_free(secret);
        return -1;
    }
    *ret_id = id;
    *ret_secret = secret;
    return 0;
}

/* Client authentication (RFC 6749 2.3.1): Basic or client_secret_post, exactly one. */
static const gw_client_t *token_client(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    char *bid = NULL, *bsecret = NULL;
    const gw_client_t *cl = NULL;
    if (req->authorization && !strncasecmp(req->authorization, "Basic ", 6) &&
        gw_op_basic_credentials(req->authorization + 6, &bid, &bsecret)) {
        token_error(resp, 401, "invalid_client", "malformed Basic credentials");
        return NULL;
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
    if (cl && cl->suspended) {
        token_error(resp, 400, "access_denied", "this portal is suspended");
        cl = NULL;
    }
    free(bid);
    gw_wipe_free(bsecret);
    return cl;
}

static void h_token(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
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
    json_t *c = NULL, *out = NULL;
    if (gw_store_get_json(app->store, "code", key, 1, &c) == GW_ESTORE) {
        busy_json(resp);
        goto done;
    }
    if (!c) {
        /* a replayed code revokes the tokens it issued (RFC 6749 4.1.2): its access token
         * is derived from it. Mark the replay first, then look for the token: a concurrent
         * winner checks the mark after recording its token, so one of the two always sees
         * the other (the mark outlives any exchange in flight: a code's lifetime). */
        gw_store_put(app->store, "cur", key, "1", app->cfg->code_lifetime, 0);
        char *used = NULL;
        if (gw_store_get(app->store, "cux", key, &used) == GW_OK) { /* it was exchanged: revoke */
            char *issued = access_token_for(app, code);
            char *issued_key = gw_sha256_b64url(issued);
            gw_wipe_free(issued);
            gw_store_put(app->store, "atr", issued_key, "1", app->cfg->token_lifetime, 0);
            free(issued_key);
            free(used);
            gw_log(GW_LOG_WARN, "oidc_op", "code replay: its access token was revoked", "client", cl->id, NULL);
        }
        token_error(resp, 400, "invalid_grant", "code is invalid, expired or already used");
        goto done;
    }
    if (strcmp(gw_jstr(c, "client_id"), cl->id)) {
        token_error(resp, 400, "invalid_grant", "code was issued to another client");
        goto done;
    }
    const char *ru = gw_form_get(&req->form, "redirect_uri");
    if (!ru || strcmp(ru, gw_jstr(c, "redirect_uri"))) {
        token_error(resp, 400, "invalid_grant", "redirect_uri does not match the authorization request");
        goto done;
    }
    const char *chal = gw_jstr(c, "code_challenge"), *ver = gw_form_get(&req->form, "code_verifier");
    if (chal || ver) {
        if (!chal || !ver) {
            token_error(resp, 400, "invalid_grant",
                        chal ? "code_verifier is required" : "code_verifier without code_challenge");
            goto done;
        }
        char *h = valid_pkce(ver, 43, 128) ? gw_sha256_b64url(ver) : NULL;
        int ok = h && gw_ct_streq(h, chal);
        free(h);
        if (!ok) {
            token_error(resp, 400, "invalid_grant", "PKCE verification failed");
            goto done;
        }
    }
    const char *sid = gw_jstr(c, "sid");
    if (sid && gw_revset_has(&app->revoked, sid)) {
        token_error(resp, 400, "invalid_grant", "the session has ended");
        goto done;
    }
    json_t *ident = json_object_get(c, "identity");
    const char *scope = gw_jstr(c, "scope");
    int64_t now = gw_now();
    int level = (int)json_integer_value(json_object_get(ident, "level"));
    json_t *idc = gw_release_claims(app, cl, scope, ident, gw_jstr(c, "account"), json_object_get(c, "merged"));
    gw_jset(idc, "iss", app->cfg->public_url);
    gw_jset(idc, "aud", cl->id);
    gw_jset(idc, "azp", cl->id);
    json_object_set_new(idc, "iat", json_integer(now));
    json_object_set_new(idc, "exp", json_integer(now + app->cfg->token_lifetime));
    json_object_set(idc, "auth_time", json_object_get(c, "auth_time"));
    gw_jset(idc, "nonce", gw_jstr(c, "nonce"));
    gw_jset(idc, "acr", gw_acr_for(level));
    /* RFC 8176: a legacy password login is "pwd"; VNeID's own methods are not known here */
    json_object_set_new(idc, "amr", json_pack("[s]", level == 0 ? "pwd" : "vneid"));
    gw_jset(idc, "sid", sid);
    char *tid = access_token_for(app, code);
    json_t *atrec = json_object();
    gw_jset(atrec, "tid", tid);
    gw_jset(atrec, "client_id", cl->id);
    gw_jset(atrec, "scope", scope);
    gw_jset(atrec, "sid", sid);
    json_object_set(atrec, "identity", ident);
    gw_jset(atrec, "account", gw_jstr(c, "account"));
    if (json_object_get(c, "merged"))
        json_object_set(atrec, "merged", json_object_get(c, "merged"));
    json_object_set_new(atrec, "exp", json_integer(now + app->cfg->token_lifetime));
    char *at = seal_access_token(app, tid, atrec);
    if (at) {
        /* at_hash: left half of SHA-256 of the access token (ES256 and RS256 both use SHA-256) */
        unsigned char d[32];
        gw_sha256(at, strlen(at), d);
        char *ah = gw_b64url_encode(d, 16);
        gw_jset(idc, "at_hash", ah);
        free(ah);
    }
    char *id_token = at ? gw_jwt_sign(app->keys, cl->token_alg, idc, "JWT") : NULL;
    /* the code's tombstone: a replay within its lifetime finds it and revokes the token */
    int rc = id_token ? gw_store_put(app->store, "cux", key, "1", app->cfg->code_lifetime, 0) : GW_EINVAL;
    char *replayed = NULL;
    int replay_rc = rc == GW_OK ? gw_store_get(app->store, "cur", key, &replayed) : GW_ENOTFOUND;
    if (rc == GW_OK && replay_rc == GW_OK) { /* replayed meanwhile: the token is not handed out */
        free(replayed);
        token_error(resp, 400, "invalid_grant", "code is invalid, expired or already used");
    } else if (rc != GW_OK || replay_rc != GW_ENOTFOUND) { /* the replay mark could not be read: no token on a maybe */
        token_error(resp, 503, "temporarily_unavailable", NULL);
        gw_resp_header(resp, "Retry-After", "1");
    } else {
        out = json_object();
        gw_jset(out, "access_token", at);
        gw_jset(out, "token_type", "Bearer");
        json_object_set_new(out, "expires_in", json_integer(app->cfg->token_lifetime));
        gw_jset(out, "id_token", id_token);
        gw_jset(out, "scope", scope);
        gw_resp_json(resp, 200, out);
        gw_resp_header(resp, "Pragma", "no-cache");
    }
    json_decref(idc);
    json_decref(atrec);
    gw_wipe_free(at);
    gw_wipe_free(tid);
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

static void h_userinfo(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *a = req->authorization;
    const char *tok = a && !strncasecmp(a, "Bearer ", 7) ? a + 7 : NULL;
    if (!tok && req->method == GW_M_POST)
        tok = gw_form_get(&req->form, "access_token");
    json_t *rec = NULL;
    if (tok && strlen(tok) <= ACCESS_TOKEN_MAX && open_access_token(app, tok, &rec) == GW_ESTORE) {
        busy_json(resp);
        return;
    }
    const char *sid = rec ? gw_jstr(rec, "sid") : NULL;
    if (!rec || (sid && gw_revset_has(&app->revoked, sid))) {
        gw_error_json(resp, 401, "invalid_token", tok ? "the access token is invalid or expired" : "no access token");
        gw_resp_header(resp, "WWW-Authenticate", tok ? "Bearer error=\"invalid_token\"" : "Bearer");
        json_decref(rec);
        return;
    }
    const gw_client_t *cl = gw_config_client(app->cfg, gw_jstr(rec, "client_id"));
    if (cl && cl->suspended) {
        gw_error_json(resp, 403, "access_denied", "this portal is suspended");
        json_decref(rec);
        return;
    }
    json_t *o = cl ? gw_release_claims(app, cl, gw_jstr(rec, "scope"), json_object_get(rec, "identity"),
                                       gw_jstr(rec, "account"), json_object_get(rec, "merged"))
                   : json_object();
    int level = (int)json_integer_value(json_object_get(json_object_get(rec, "identity"), "level"));
    gw_jset(o, "acr", gw_acr_for(level));
    gw_resp_json(resp, 200, o);
    json_decref(rec);
}

/* ------------------------------------------------------------------ logout */

/* The session ended: a signed logout token to every portal of it that registered a
 * back-channel logout URI (OpenID Connect Back-Channel Logout 1.0). */
static void backchannel_logout(gw_ctx_t *app, const gw_session_t *sess)
{
    for (size_t i = 0; i < sess->nportals; i++) {
        const gw_client_t *cl = gw_config_client(app->cfg, sess->portals[i]);
        if (!cl || !cl->backchannel_logout_uri)
            continue;
        char *sub = gw_pairwise_sub(app, cl->id, gw_session_id12(sess));
        char *jti = gw_random_token(16);
        json_t *lt = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:{s:{}}}", "iss", app->cfg->public_url, "aud", cl->id,
                               "sub", sub, "iat", (json_int_t)gw_now(), "exp", (json_int_t)(gw_now() + 120), "jti", jti,
                               "sid", sess->sid, "events", "http://schemas.openid.net/event/backchannel-logout");
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

static void logout_done(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, const gw_client_t *cl,
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
    gw_tmpl_var_t v[] = { { "client_name", cl ? cl->name : NULL } };
    gw_page(&app->page, req, resp, 200, "logout", lang, v, 1);
}

static void h_logout(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const gw_form_t *p = req->method == GW_M_POST ? &req->form : &req->q;
    const char *lang = gw_req_lang(req, &app->page, gw_form_get(p, "ui_locales"));
    gw_sso_t s = { 0 };
    int has_session = gw_sso_open(app, req, &s) == GW_OK;

    /* the confirmation form posts back here */
    const char *logout_id = gw_form_get(p, "logout_id");
    if (req->method == GW_M_POST && logout_id) {
        json_t *lo = NULL;
        gw_store_get_json(app->store, "lo", logout_id, 1, &lo);
        const char *csrf = gw_form_get(p, "csrf");
        if (!lo || !csrf || !gw_ct_streq(csrf, gw_jstr(lo, "csrf"))) {
            json_decref(lo);
            gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
            gw_sso_cleanup(&s);
            return;
        }
        if (!gw_streq(gw_jstr(lo, "sid"), has_session ? s.sid : NULL)) {
            /* the confirmation was shown to another browser (or another session) */
            json_decref(lo);
            gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
            gw_sso_cleanup(&s);
            return;
        }
        const gw_client_t *cl = gw_config_client(app->cfg, gw_jstr(lo, "client_id"));
        if (has_session && gw_session_end(app, resp, s.sid, s.exp) != GW_OK) {
            json_decref(lo);
            gw_busy_page(app, req, resp, lang); /* not logged out: the citizen tries again */
            gw_sso_cleanup(&s);
            return;
        }
        if (!has_session)
            gw_resp_cookie(resp, app->sso_cookie, "", -1, app->is_tls);
        logout_done(app, req, resp, lang, cl, gw_jstr(lo, "post_logout_redirect_uri"), gw_jstr(lo, "state"));
        json_decref(lo);
        gw_sso_cleanup(&s);
        return;
    }

    const char *hint = gw_form_get(p, "id_token_hint");
    const char *post_uri = gw_form_get(p, "post_logout_redirect_uri");
    const char *state = gw_form_get(p, "state");
    const char *client_id = gw_form_get(p, "client_id");
    json_t *hc = hint ? gw_jwt_verify_own(app->keys, hint) : NULL;
    if (hint && (!hc || !gw_streq(gw_jstr(hc, "iss"), app->cfg->public_url))) {
        json_decref(hc);
        gw_error_page(&app->page, req, resp, 400, "invalid_request", lang, NULL, NULL);
        gw_sso_cleanup(&s);
        return;
    }
    const char *aud = hc ? gw_jstr(hc, "aud") : NULL;
    if (aud && client_id && strcmp(aud, client_id)) {
        json_decref(hc);
        gw_error_page(&app->page, req, resp, 400, "invalid_request", lang, NULL, NULL);
        gw_sso_cleanup(&s);
        return;
    }
    const gw_client_t *cl = gw_config_client(app->cfg, aud ? aud : client_id);
    if (post_uri && (!cl || !gw_strlist_has(&cl->post_logout_uris, post_uri))) {
        /* never redirect to an address the portal did not register */
        json_decref(hc);
        gw_error_page(&app->page, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        gw_sso_cleanup(&s);
        return;
    }
    int hint_matches = hc && (!has_session || gw_streq(gw_jstr(hc, "sid"), s.sid));
    if (hint_matches || !has_session) {
        /* the hint proves the portal asked (or there is nothing to end) */
        if (has_session && gw_session_end(app, resp, s.sid, s.exp) != GW_OK)
            gw_busy_page(app, req, resp, lang); /* not logged out: the citizen tries again */
        else
            logout_done(app, req, resp, lang, cl, post_uri, state);
    } else {
        /* no proof the citizen wants this: ask (CSRF-protected form) */
        char *lid = gw_random_token(24), *csrf = gw_random_token(24);
        json_t *lo = json_object();
        gw_jset(lo, "csrf", csrf);
        gw_jset(lo, "sid", s.sid);
        gw_jset(lo, "client_id", cl ? cl->id : NULL);
        gw_jset(lo, "post_logout_redirect_uri", post_uri);
        gw_jset(lo, "state", state);
        gw_store_put_json(app->store, "lo", lid, lo, 600, 0);
        gw_tmpl_var_t v[] = {
            { "client_name", cl ? cl->name : NULL }, { "action_url", "/logout" }, { "csrf", csrf }, { "logout_id", lid }
        };
        gw_page(&app->page, req, resp, 200, "logout_confirm", lang, v, 4);
        json_decref(lo);
        free(lid);
        free(csrf);
    }
    json_decref(hc);
    gw_sso_cleanup(&s);
}

/* ------------------------------------------------------------------ metadata */

static void h_discovery(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *b = app->cfg->public_url;
    json_t *o = json_object();
    gw_jset(o, "issuer", b);
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
    json_object_set_new(o, "acr_values_supported", json_pack("[ss]", GW_ACR_L1, GW_ACR_L2));
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

static void h_jwks(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    gw_resp_text(resp, 200, "application/jwk-set+json", app->keys->jwks_json);
    gw_resp_header(resp, "Cache-Control", "public, max-age=300");
}

/* With an SSO session, /authorize to a portal that matches legacy accounts by name may
 * ask the population DB (docs/domain.md section 10): upstream pool. */
static int authorize_may_call_popdb(gw_ctx_t *app, const gw_req_t *req)
{
    const gw_client_t *cl =
        gw_config_client(app->cfg, gw_form_get(req->method == GW_M_POST ? &req->form : &req->q, "client_id"));
    return gw_login_may_call_popdb(app, req, cl);
}

const gw_frontend_ops_t gw_oidc_op_frontend = {
    .name = "oidc",
    .complete = oidc_complete,
    .fail = oidc_fail,
    .back_url = oidc_back_url,
    .session_ended = backchannel_logout,
};

const gw_route_t gw_oidc_op_routes[] = {
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/.well-known/openid-configuration", .fn = h_discovery, .is_inline = 1 },
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/jwks", .fn = h_jwks, .is_inline = 1 },
    { .methods = GW_M_GET | GW_M_POST,
      .path = "/authorize",
      .fn = h_authorize,
      .inline_if_local = "ar",
      .inline_when = gw_sso_cookie_absent, /* no session to read: with "ar" in memory, on the I/O thread */
      .waits_upstream = authorize_may_call_popdb },
    { .methods = GW_M_POST, .path = "/token", .fn = h_token, .inline_if_local = "code cur at", .json = 1 },
    { .methods = GW_M_GET | GW_M_POST, .path = "/userinfo", .fn = h_userinfo, .inline_if_local = "atr", .json = 1 },
    { .methods = GW_M_GET | GW_M_POST,
      .path = "/logout",
      .fn = h_logout,
      .waits_upstream = gw_route_always }, /* back-channel logout */
    { 0 },
};
