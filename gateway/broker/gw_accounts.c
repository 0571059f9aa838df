/* gw_broker: the legacy accounts of a portal and the one-account-per-citizen rule, as the
 * state machines of docs/domain.md sections 9 and 10.
 *
 * A. Legacy login (before the portal's cutoff): password -> logged in (the account carries a
 *    trusted ID number) or NEED_ID12 -> the 3-item population-DB check -> link.
 * B. VNeID login: existing link -> logged in; one legacy account with that verified ID
 *    number -> link; several -> the citizen chooses the one to keep, the others are marked
 *    merged into it; none -> claim an old account by its credentials, or go on as new.
 * Every link goes through the store's atomic create-link; a conflict is the duplicate path,
 * never a second link. Every transition is audited.
 *
 * Pending steps keep their state in the login record (gw_login_t), guarded by a CSRF token
 * bound to the browser's binding cookie. */
#include "gw_broker_internal.h"
#include "gw_events.h"
#include "gw_idnum.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_name.h"
#include "gw_pwhash.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CANDIDATES 16

/* ------------------------------------------------------------------ helpers */

static const gw_client_t *login_portal(gw_ctx_t *app, const gw_login_t *l)
{
    return gw_config_client(app->cfg, l->portal);
}

/* csrf = HMAC(cookie key, "csrf" | binding cookie | ar id): only the browser that holds
 * the binding cookie can post a step of this login. */
static char *csrf_for(gw_ctx_t *app, const char *bind, const char *lid)
{
    char *msg = gw_sprintf("csrf|%s|%s", bind ? bind : "", lid);
    unsigned char mac[32];
    gw_hmac_sha256(app->keys->cookie_key, GW_SEAL_KEYLEN, msg, strlen(msg), mac);
    free(msg);
    return gw_b64url_encode(mac, 32);
}

/* The binding cookie, set now when absent (returns a malloc'd value). */
static char *ensure_bind(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    char *bind = gw_cookie_get(req->cookie, app->bind_cookie);
    if (!bind || strlen(bind) != 43) {
        free(bind);
        bind = gw_random_token(32);
        gw_resp_cookie(resp, app->bind_cookie, bind, 0, app->is_tls);
    }
    return bind;
}

static int csrf_ok(gw_ctx_t *app, gw_req_t *req, const char *lid)
{
    char *bind = gw_cookie_get(req->cookie, app->bind_cookie);
    char *want = bind ? csrf_for(app, bind, lid) : NULL;
    int ok = want && gw_ct_streq(want, gw_form_get(&req->form, "csrf"));
    free(want);
    free(bind);
    return ok;
}

static int64_t cutoff_of(const gw_client_t *cl, const gw_account_t *a)
{
    return !strcmp(a->account_class, "organisation") ? cl->cutoff_organisation : cl->cutoff_individual;
}

/* Rate limit: 1 when over the limit. A store failure does not lock citizens out. */
static int limited(gw_ctx_t *app, const char *kind, const char *key, gw_rate_t r)
{
    char *k = gw_sprintf("%s|%s", kind, key);
    int64_t n = 0;
    int rc = gw_store_incr(app->store, "rl", k, r.window, &n);
    free(k);
    return rc == GW_OK && n > r.count;
}

/* The population-DB oracle: an attempt is reserved atomically before the call (so a burst
 * cannot exceed the limit) and given back when the service did not answer, so an outage
 * never uses up a citizen's attempts. */
static void refund(gw_ctx_t *app, const char *kind, const char *key)
{
    char *k = gw_sprintf("%s|%s", kind, key);
    gw_store_decr(app->store, "rl", k);
    free(k);
}

static char *vneid_url(const char *lid, const char *lang)
{
    return gw_sprintf("/login/vneid?ar=%s&lang=%s", lid, lang);
}

/* A message page (result.html): title/message keys msg.X.title / msg.X, optional buttons. */
static void result_page(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *what, const char *lang,
                        const char *lid, int vneid_button, const char *continue_csrf)
{
    char tk[96], mk[96];
    snprintf(tk, sizeof(tk), "msg.%s.title", what);
    snprintf(mk, sizeof(mk), "msg.%s", what);
    char *vu = vneid_button && lid ? vneid_url(lid, lang) : NULL;
    gw_tmpl_var_t v[] = {
        { "title", gw_tmpl_msg(app->tmpl, lang, tk) },
        { "message", gw_tmpl_msg(app->tmpl, lang, mk) },
        { "result", what },
        { "vneid_url", vu },
        { "continue_csrf", continue_csrf },
        { "ar", lid },
    };
    gw_page(&app->page, req, resp, status, "result", lang, v, 6);
    free(vu);
}

static void audit(gw_ctx_t *app, const char *event, const char *portal, const char *id12, const char *account,
                  const char *result, gw_req_t *req)
{
    json_t *f = json_object();
    gw_jset(f, "portal", portal);
    gw_jset(f, "who_id12", id12);
    gw_jset(f, "account", account);
    gw_jset(f, "result", result);
    gw_jset(f, "ip", req ? req->remote : NULL);
    gw_jset(f, "request", req ? req->id : NULL);
    gw_audit_event(app, event, f);
}

/* The one door to a new link: the store's atomic create-link, unique on both sides. On
 * success the account is marked linked (with the ID number it now carries, when set_id12,
 * and who vouched for it), the link is audited with how it was made, and the portal hears
 * of it. GW_ECONFLICT: one side was linked already (audited as `conflict_result` when
 * given); any other error: the store failed. */
int gw_broker_link(gw_ctx_t *app, gw_req_t *req, const char *portal, const char *id12, const char *account,
                   const char *how, const char *set_id12, const char *by, const char *conflict_result)
{
    gw_link_t l = { 0 };
    snprintf(l.portal, sizeof(l.portal), "%s", portal);
    snprintf(l.id12, sizeof(l.id12), "%s", id12);
    snprintf(l.account, sizeof(l.account), "%s", account);
    int rc = gw_store_link_create(app->store, &l);
    if (rc == GW_ECONFLICT && conflict_result)
        audit(app, "link", portal, id12, account, conflict_result, req);
    if (rc != GW_OK)
        return rc;
    GW_STORE_ACCT(app->store, account_update, portal, account, GW_ACCT_LINKED, set_id12, by, NULL);
    audit(app, "link", portal, id12, account, how, req);
    gw_events_enqueue(app, portal, id12, "account-linked", json_pack("{s:s}", "account", account));
    return GW_OK;
}

/* This citizen's candidate accounts at a portal: those carrying the verified ID number
 * that nobody is linked to yet (an operator may have linked one to another citizen through
 * the admin API). GW_OK with *n set (none where the store keeps no legacy accounts), or
 * GW_ESTORE. */
static int free_candidates(gw_ctx_t *app, const char *portal, const char *id12, gw_account_t *cand, size_t max,
                           size_t *n)
{
    *n = 0;
    int rc = GW_STORE_ACCT(app->store, accounts_by_id12, portal, id12, 1, cand, max, n);
    if (rc == GW_EINVAL) {
        *n = 0;
        return GW_OK;
    }
    if (rc != GW_OK)
        return GW_ESTORE;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        gw_link_t l;
        int lr = gw_store_link_by_account(app->store, portal, cand[i].id, &l);
        if (lr == GW_ENOTFOUND)
            cand[k++] = cand[i];
        else if (lr != GW_OK)
            return GW_ESTORE;
    }
    *n = k;
    return GW_OK;
}

/* The login a page step belongs to; a POST must carry this browser's csrf token. GW_OK,
 * or an error after answering with an error page. */
static int load_login(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char **ret_id,
                      const char **ret_lang)
{
    int rc = gw_login_from_request(app, req, resp, login, ret_id, ret_lang);
    if (rc != GW_OK)
        return rc;
    if (req->method == GW_M_POST && !csrf_ok(app, req, *ret_id)) {
        gw_log(GW_LOG_WARN, "broker", "form without a valid csrf token", "path", req->path, "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 400, "flow_expired", *ret_lang, NULL, NULL);
        gw_login_cleanup(login);
        return GW_EINVAL;
    }
    return GW_OK;
}

/* The session of this browser that the pending step belongs to, into *ret: NULL when
 * there is none (ret is then empty; gw_session_cleanup is safe either way). */
static gw_session_t *pending_session(gw_ctx_t *app, gw_req_t *req, const gw_login_t *login, gw_session_t *ret)
{
    gw_sso_t s = { 0 };
    int rc = GW_ENOTFOUND;
    memset(ret, 0, sizeof(*ret));
    if (gw_sso_open(app, req, &s) == GW_OK && gw_streq(s.sid, login->sid))
        rc = gw_session_get(app, s.sid, 0, ret);
    gw_sso_cleanup(&s);
    return rc == GW_OK ? ret : NULL;
}

/* ------------------------------------------------------------------ B: VNeID login */

static void account_label(const gw_account_t *a, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", a->full_name, a->birthdate[0] ? " · " : "", a->birthdate);
}

static void choose_page(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lid, const char *lang,
                        const gw_account_t *c, size_t n, const char *csrf)
{
    gw_tmpl_var_t v[4 + 3 * MAX_CANDIDATES];
    char names[3 * MAX_CANDIDATES][40], labels[MAX_CANDIDATES][300];
    size_t k = 0;
    v[k++] = (gw_tmpl_var_t){ "ar", lid };
    v[k++] = (gw_tmpl_var_t){ "csrf", csrf };
    for (size_t i = 0; i < n && i < MAX_CANDIDATES; i++) {
        snprintf(names[3 * i], 40, "accounts.%zu.id", i);
        snprintf(names[3 * i + 1], 40, "accounts.%zu.username", i);
        snprintf(names[3 * i + 2], 40, "accounts.%zu.label", i);
        account_label(&c[i], labels[i], sizeof(labels[i]));
        v[k++] = (gw_tmpl_var_t){ names[3 * i], c[i].id };
        v[k++] = (gw_tmpl_var_t){ names[3 * i + 1], c[i].username };
        v[k++] = (gw_tmpl_var_t){ names[3 * i + 2], labels[i] };
    }
    gw_page(&app->page, req, resp, 200, "choose", lang, v, k);
}

/* Keep the login (with the session it belongs to) for a page step. Returns the id. */
static char *keep_login(gw_ctx_t *app, gw_login_t *login, const char *lid, const gw_session_t *sess)
{
    free(login->sid);
    login->sid = gw_strdup(sess->sid);
    char *id = lid ? gw_strdup(lid) : gw_random_token(24);
    if (gw_login_save(app, id, login) != GW_OK) {
        free(id);
        return NULL;
    }
    return id;
}

/* docs/domain.md section 10, optional: accounts with a CMND and no ID number whose strict name key is
 * the VNeID name are checked with (their CMND, the VNeID ID number, the VNeID name). A
 * MATCH verifies the account's number (by the population DB) and makes it a candidate:
 * the citizen types nothing. Bounded, rate-limited per ID number, audited. */
static size_t match_by_name(gw_ctx_t *app, gw_req_t *req, const gw_client_t *cl, json_t *ident, gw_account_t *out,
                            size_t max)
{
    const char *id12 = gw_jstr(ident, "id12"), *name = gw_jstr(ident, "name");
    char key[257];
    if (!id12 || !name || gw_name_strict_key(name, key, sizeof(key)) != 0)
        return 0;
    gw_account_t same[4];
    size_t n = 0, found = 0;
    if (GW_STORE_ACCT(app->store, accounts_by_name_key, cl->id, key, same, 4, &n) != GW_OK)
        return 0;
    for (size_t i = 0; i < n && found < max; i++) {
        if (limited(app, "verify_id12", id12, app->cfg->lim_verify_id12)) {
            refund(app, "verify_id12", id12);
            break;
        }
        char detail[160] = "";
        int r = gw_popdb_check(app->cfg->popdb, same[i].cmnd9, id12, name, detail, sizeof(detail));
        audit(app, "popdb_check", cl->id, id12, same[i].id,
              r == GW_POPDB_MATCH      ? "match_by_name"
              : r == GW_POPDB_NO_MATCH ? "no_match_by_name"
                                       : "error",
              req);
        if (r == GW_POPDB_ERROR) {
            refund(app, "verify_id12", id12);
            break; /* try again at the next login */
        }
        if (r == GW_POPDB_MATCH && GW_STORE_ACCT(app->store, account_update, cl->id, same[i].id, GW_ACCT_VERIFIED, id12,
                                                 "popdb", NULL) == GW_OK) {
            out[found] = same[i];
            snprintf(out[found].id12, sizeof(out[found].id12), "%s", id12);
            out[found].id12_verified = 1;
            found++;
        }
    }
    return found;
}

void gw_broker_after_login(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *lid,
                           gw_session_t *sess, int *unsaved, const char *lang)
{
    const gw_client_t *cl = login_portal(app, login);
    json_t *ident = sess->identity;
    const char *id12 = gw_jstr(ident, "id12");
    if (!cl || !cl->has_accounts || !id12) {
        gw_broker_finish(app, req, resp, login, lid, sess, unsaved, NULL, NULL);
        return;
    }
    /* a legacy password session names its account already */
    if (gw_jstr(ident, "legacy_account") && gw_streq(gw_jstr(ident, "legacy_portal"), cl->id)) {
        gw_broker_finish(app, req, resp, login, lid, sess, unsaved, gw_jstr(ident, "legacy_account"), NULL);
        return;
    }
    gw_link_t link;
    int rc = gw_store_link_by_id12(app->store, cl->id, id12, &link);
    if (rc == GW_OK) {
        gw_broker_finish(app, req, resp, login, lid, sess, unsaved, link.account, NULL);
        return;
    }
    if (rc != GW_ENOTFOUND) {
        gw_busy_page(app, req, resp, lang);
        return;
    }
    gw_account_t *cand = gw_xcalloc(MAX_CANDIDATES, sizeof(gw_account_t));
    size_t n = 0;
    if (free_candidates(app, cl->id, id12, cand, MAX_CANDIDATES, &n) != GW_OK) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    if (n == 0 && cl->match_by_name)
        n = match_by_name(app, req, cl, ident, cand, MAX_CANDIDATES);
    if (n == 1) {
        rc = gw_broker_link(app, req, cl->id, id12, cand[0].id, "auto", NULL, "vneid", NULL);
        if (rc == GW_OK) {
            gw_broker_finish(app, req, resp, login, lid, sess, unsaved, cand[0].id, NULL);
            goto done;
        }
        if (rc == GW_ECONFLICT && gw_store_link_by_id12(app->store, cl->id, id12, &link) == GW_OK) {
            /* a concurrent login linked it first: the same outcome */
            gw_broker_finish(app, req, resp, login, lid, sess, unsaved, link.account, NULL);
            goto done;
        }
        if (rc != GW_ECONFLICT) {
            gw_busy_page(app, req, resp, lang);
            goto done;
        }
        audit(app, "link", cl->id, id12, cand[0].id, "conflict", req);
        n = 0; /* the account is linked to someone else: no legacy account for this citizen */
    }
    json_t *shown = json_array();
    for (size_t i = 0; n > 1 && i < n; i++)
        json_array_append_new(shown, json_string(cand[i].id));
    free(login->step);
    login->step = gw_strdup(n > 1 ? "choose" : "no_legacy");
    json_decref(login->shown);
    login->shown = shown;
    char *kept = keep_login(app, login, lid, sess);
    if (!kept) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    char *bind = ensure_bind(app, req, resp);
    char *csrf = csrf_for(app, bind, kept);
    if (n > 1) {
        audit(app, "duplicates_found", cl->id, id12, NULL, "choose_primary", req);
        choose_page(app, req, resp, kept, lang, cand, n, csrf);
    } else {
        gw_tmpl_var_t v[] = { { "ar", kept }, { "csrf", csrf }, { "client_name", cl->name } };
        gw_page(&app->page, req, resp, 200, "no_legacy", lang, v, 3);
    }
    free(csrf);
    free(bind);
    free(kept);
done:
    free(cand);
}

static void h_choose(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lid, *lang;
    gw_login_t pending, *login = &pending;
    if (load_login(app, req, resp, login, &lid, &lang) != GW_OK)
        return;
    const gw_client_t *cl = login_portal(app, login);
    gw_session_t held, *sess = pending_session(app, req, login, &held);
    const char *chosen = gw_form_get(&req->form, "account");
    gw_account_t *cand = gw_xcalloc(MAX_CANDIDATES, sizeof(gw_account_t));
    size_t n = 0, k;
    const char *id12 = sess ? gw_jstr(sess->identity, "id12") : NULL;
    if (!sess || !cl || !id12 || !gw_streq(login->step, "choose")) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    gw_link_t link;
    if (gw_store_link_by_id12(app->store, cl->id, id12, &link) == GW_OK) {
        /* chosen already, in another tab or another login: that choice stands */
        gw_broker_finish(app, req, resp, login, lid, sess, NULL, link.account, NULL);
        goto done;
    }
    if (free_candidates(app, cl->id, id12, cand, MAX_CANDIDATES, &n) != GW_OK) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    for (k = 0; k < n && !gw_streq(cand[k].id, chosen); k++)
        ;
    if (!chosen || k == n) {
        gw_error_page(&app->page, req, resp, 400, "invalid_request", lang, NULL, NULL);
        goto done;
    }
    int rc = gw_broker_link(app, req, cl->id, id12, chosen, "chosen_primary", NULL, "vneid", NULL);
    if (rc == GW_ECONFLICT && gw_store_link_by_id12(app->store, cl->id, id12, &link) == GW_OK) {
        gw_broker_finish(app, req, resp, login, lid, sess, NULL, link.account, NULL); /* already resolved elsewhere */
        goto done;
    }
    if (rc != GW_OK) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    json_t *merged = json_array();
    json_t *shown = login->shown;
    for (size_t i = 0; i < n; i++) {
        int was_shown = 0;
        size_t si;
        json_t *sv;
        json_array_foreach (shown, si, sv)
            was_shown |= gw_streq(json_string_value(sv), cand[i].id);
        if (i == k || !was_shown) /* only what the citizen saw is merged */
            continue;
        /* merged, never deleted: the portal keeps the history under the primary */
        GW_STORE_ACCT(app->store, account_update, cl->id, cand[i].id, GW_ACCT_MERGED, NULL, NULL, chosen);
        json_array_append_new(merged, json_string(cand[i].id));
        json_t *f = json_pack("{s:s,s:s,s:s,s:s}", "portal", cl->id, "who_id12", id12, "account", cand[i].id,
                              "merged_into", chosen);
        gw_audit_event(app, "merge", f);
    }
    if (json_array_size(merged))
        gw_events_enqueue(app, cl->id, id12, "accounts-merged",
                          json_pack("{s:s,s:O}", "primary", chosen, "merged", merged));
    gw_broker_finish(app, req, resp, login, lid, sess, NULL, chosen, merged);
    json_decref(merged);
done:
    free(cand);
    gw_session_cleanup(&held);
    gw_login_cleanup(login);
}

static void h_new(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lid, *lang;
    gw_login_t pending, *login = &pending;
    if (load_login(app, req, resp, login, &lid, &lang) != GW_OK)
        return;
    gw_session_t held, *sess = pending_session(app, req, login, &held);
    const char *nid = sess ? gw_jstr(sess->identity, "id12") : NULL;
    gw_link_t l;
    gw_account_t *probe = gw_xcalloc(MAX_CANDIDATES, sizeof(gw_account_t));
    size_t pn = 0;
    if (!sess || !nid || !gw_streq(login->step, "no_legacy") ||
        gw_store_link_by_id12(app->store, login->portal, nid, &l) == GW_OK ||
        free_candidates(app, login->portal, nid, probe, MAX_CANDIDATES, &pn) != GW_OK || pn) {
        /* a new account only when the citizen truly has none here */
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
    } else {
        audit(app, "new_account", login->portal, nid, NULL, "ok", req);
        gw_broker_finish(app, req, resp, login, lid, sess, NULL, NULL, NULL);
    }
    free(probe);
    gw_session_cleanup(&held);
    gw_login_cleanup(login);
}

/* A wrong user costs what a wrong password costs: the stand-in check runs on a hash of one
 * of the portal's own accounts (its scheme and cost), else on the built-in stand-in. */
static void stand_in_check(gw_ctx_t *app, const gw_client_t *cl, const char *password)
{
    gw_account_t model;
    if (GW_STORE_ACCT(app->store, account_hash_model, cl->id, &model) == GW_OK)
        gw_pwhash_dummy_verify_like(password, model.pw_hash);
    else
        gw_pwhash_dummy_verify(password);
}

/* Check a legacy password: the imported hash, else the portal's callback. 1 on success,
 * 0 on a wrong password (same work for an unknown user), -1 when the callback is down. */
static int password_ok(gw_ctx_t *app, const gw_client_t *cl, const gw_account_t *a, const char *user,
                       const char *password)
{
    if (a && !a->pw_hash[0] && cl->legacy_callback && password) {
        char acct[129];
        int r = gw_legacy_http_check(cl->legacy_callback, user, password, acct, sizeof(acct));
        if (r == GW_LEGACY_ERROR)
            return -1;
        return r == GW_LEGACY_OK && !strcmp(acct, a->id); /* the portal must vouch for this account */
    }
    if (!a || !a->pw_hash[0] || !password) {
        stand_in_check(app, cl, password ? password : "");
        return 0;
    }
    int rc = gw_pwhash_verify(password, a->pw_hash);
    if (rc == GW_EINVAL) /* a malformed stored hash costs the same time as a wrong password */
        stand_in_check(app, cl, password);
    if (rc == GW_ENOMEM) /* memory-hard checks hold their budget: busy, not "wrong password" */
        return -1;
    return rc == GW_OK;
}

/* The population DB's 3-item check (CMND, ID number, name) under its limits per account,
 * address and ID number: each call is counted, and given back when a limit is over or the
 * service fails (an outage is never held against the citizen); every call is audited.
 * GW_POPDB_MATCH, GW_POPDB_NO_MATCH, GW_POPDB_ERROR, or 0 when a limit is over (nothing
 * was asked). */
static int popdb_check_limited(gw_ctx_t *app, gw_req_t *req, const gw_client_t *cl, const gw_account_t *a,
                               const char *id12, const char *name)
{
    /* reserve all three, then give back what was reserved if any limit is over */
    int l_acct = limited(app, "verify_acct", a->id, app->cfg->lim_verify_account);
    int l_ip = limited(app, "verify_ip", req->remote, app->cfg->lim_verify_ip);
    int l_id = limited(app, "verify_id12", id12, app->cfg->lim_verify_id12);
    char detail[160] = "";
    int r = l_acct || l_ip || l_id ? 0 : gw_popdb_check(app->cfg->popdb, a->cmnd9, id12, name, detail, sizeof(detail));
    audit(app, "popdb_check", cl->id, id12, a->id,
          r == GW_POPDB_MATCH      ? "match"
          : r == GW_POPDB_NO_MATCH ? "no_match"
          : r == GW_POPDB_ERROR    ? "error"
                                   : "rate_limited",
          req);
    if (r == 0 || r == GW_POPDB_ERROR) {
        refund(app, "verify_acct", a->id);
        refund(app, "verify_ip", req->remote);
        refund(app, "verify_id12", id12);
    }
    if (r == GW_POPDB_ERROR)
        gw_log(GW_LOG_WARN, "popdb", "check failed", "reason", detail, "id", req->id, NULL);
    return r;
}

/* May a citizen who knows an account's password claim it (docs/domain.md 4 B)? Only when
 * nothing stored with the account contradicts the VNeID identity and something stored
 * supports it: the account class matches the VNeID account type; a stored ID number (even
 * unverified) is the citizen's; a stored name (strict key) and birth date are the
 * citizen's; a stored CMND without an ID number passes the population DB's 3-item check
 * with the VNeID ID number and name. 1: yes; 0: no, *why names the reason for the audit;
 * -1: the population DB cannot answer now (nothing is decided). */
static int claim_evidence(gw_ctx_t *app, gw_req_t *req, const gw_client_t *cl, const gw_account_t *a, json_t *identity,
                          const char **why)
{
    const char *id12 = gw_jstr(identity, "id12"), *name = gw_jstr(identity, "name");
    const char *bd = gw_jstr(identity, "birthdate"), *atype = gw_jstr(identity, "account_type");
    int support = 0;
    int org_login = atype && strcmp(atype, "1"), org_account = !strcmp(a->account_class, "organisation");
    if (org_login != org_account) {
        *why = "refused_account_type";
        return 0;
    }
    if (a->id12[0]) {
        if (strcmp(a->id12, id12)) {
            *why = "refused_id12_differs";
            return 0;
        }
        support = 1;
    }
    if (a->full_name[0]) {
        char k1[512], k2[512];
        if (!name || gw_name_strict_key(a->full_name, k1, sizeof(k1)) || gw_name_strict_key(name, k2, sizeof(k2)) ||
            strcmp(k1, k2)) {
            *why = "refused_name_differs";
            return 0;
        }
        support = 1;
    }
    if (a->birthdate[0]) {
        if (!bd || strcmp(a->birthdate, bd)) {
            *why = "refused_birthdate_differs";
            return 0;
        }
        support = 1;
    }
    if (!a->id12[0] && a->cmnd9[0]) {
        if (!gw_popdb_configured(app->cfg->popdb)) {
            *why = "refused_unverifiable"; /* a CMND that cannot be checked: only a MATCH links */
            return 0;
        }
        int r = popdb_check_limited(app, req, cl, a, id12, name ? name : "");
        if (!r) {
            *why = "refused_rate_limited";
            return 0;
        }
        if (r == GW_POPDB_ERROR)
            return -1;
        if (r == GW_POPDB_NO_MATCH) {
            *why = "refused_popdb_no_match";
            return 0;
        }
        support = 1;
    }
    if (!support && !cl->claim_allow_unverifiable) {
        *why = "refused_unverifiable";
        return 0;
    }
    return 1;
}

/* NO_LEGACY (a): claim an old account by its credentials. */
static void h_claim(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lid, *lang;
    gw_login_t pending, *login = &pending;
    if (load_login(app, req, resp, login, &lid, &lang) != GW_OK)
        return;
    const gw_client_t *cl = login_portal(app, login);
    gw_session_t held, *sess = pending_session(app, req, login, &held);
    const char *id12 = sess ? gw_jstr(sess->identity, "id12") : NULL;
    const char *user = gw_form_get(&req->form, "username"), *pw = gw_form_get(&req->form, "password");
    gw_account_t a;
    int found = 0;
    if (!sess || !cl || !id12 || !gw_streq(login->step, "no_legacy")) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    if (!user || !*user || strlen(user) > 128 || limited(app, "legacy_ip", req->remote, app->cfg->lim_legacy_ip) ||
        limited(app, "legacy_acct", user, app->cfg->lim_legacy_account)) {
        result_page(app, req, resp, 429, "rate_limited", lang, lid, 0, NULL);
        goto done;
    }
    found = GW_STORE_ACCT(app->store, account_by_username, cl->id, user, &a) == GW_OK;
    int pw_ok = password_ok(app, cl, found ? &a : NULL, user, pw);
    if (pw_ok < 0) {
        result_page(app, req, resp, 503, "legacy_unavailable", lang, lid, 0, NULL);
        goto done;
    }
    if (!pw_ok) {
        audit(app, "claim", cl->id, id12, NULL, "bad_credentials", req);
        char *bind = ensure_bind(app, req, resp), *csrf = csrf_for(app, bind, lid);
        gw_tmpl_var_t v[] = { { "ar", lid },
                              { "csrf", csrf },
                              { "client_name", cl->name },
                              { "claim_error", gw_tmpl_msg(app->tmpl, lang, "legacy.bad_credentials") } };
        gw_page(&app->page, req, resp, 200, "no_legacy", lang, v, 4);
        free(csrf);
        free(bind);
        goto done;
    }
    if (a.state == GW_ACCT_LINKED || a.state == GW_ACCT_MERGED ||
        (a.id12[0] && a.id12_verified && strcmp(a.id12, id12))) {
        /* the account already belongs to a citizen (maybe another one) */
        audit(app, "claim", cl->id, id12, a.id, "refused_belongs_to_other", req);
        result_page(app, req, resp, 409, "claim_refused", lang, lid, 0, NULL);
        goto done;
    }
    const char *why = NULL;
    int cr = claim_evidence(app, req, cl, &a, sess->identity, &why);
    if (cr < 0) {
        result_page(app, req, resp, 503, "verify_unavailable", lang, lid, 1, NULL);
        gw_resp_header(resp, "Retry-After", "60");
        goto done;
    }
    if (cr == 0) {
        /* a password proves control of an account, not that it is this citizen's */
        audit(app, "claim", cl->id, id12, a.id, why, req);
        result_page(app, req, resp, 409, !strcmp(why, "refused_unverifiable") ? "claim_unverifiable" : "claim_mismatch",
                    lang, lid, 0, NULL);
        goto done;
    }
    int rc = gw_broker_link(app, req, cl->id, id12, a.id, "claimed", id12, "vneid", NULL);
    if (rc == GW_ECONFLICT) {
        audit(app, "claim", cl->id, id12, a.id, "conflict", req);
        result_page(app, req, resp, 409, "duplicate", lang, lid, 0, NULL);
        goto done;
    }
    if (rc != GW_OK) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    gw_broker_finish(app, req, resp, login, lid, sess, NULL, a.id, NULL);
done:
    gw_session_cleanup(&held);
    gw_login_cleanup(login);
}

/* ------------------------------------------------------------------ A: legacy login */

size_t gw_broker_login_vars(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const char *lid,
                            gw_tmpl_var_t *vars, size_t max, char **owned)
{
    const gw_client_t *cl = login_portal(app, login);
    if (!cl || !cl->has_accounts || !cl->legacy_login || max < 2)
        return 0;
    /* the form shows while either class of account may still use it */
    int64_t last = cl->cutoff_individual > cl->cutoff_organisation ? cl->cutoff_individual : cl->cutoff_organisation;
    if (gw_now() >= last)
        return 0;
    char *bind = ensure_bind(app, req, resp);
    owned[0] = csrf_for(app, bind, lid);
    free(bind);
    vars[0] = (gw_tmpl_var_t){ "legacy_csrf", owned[0] };
    vars[1] = (gw_tmpl_var_t){ "ar", lid };
    return 2;
}

/* Logged in with a legacy password: a session that names the account (acr legacy). */
static void legacy_logged_in(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *lid,
                             const gw_client_t *cl, const gw_account_t *a)
{
    if (!a->id12[0]) { /* never: every path here has a trusted ID number */
        gw_error_page(&app->page, req, resp, 400, "flow_expired", gw_req_lang(req, &app->page, NULL), NULL, NULL);
        return;
    }
    json_t *ident = json_object();
    if (a->id12[0])
        gw_jset(ident, "id12", a->id12);
    gw_jset(ident, "name", a->full_name);
    if (a->birthdate[0])
        gw_jset(ident, "birthdate", a->birthdate);
    if (a->sex)
        gw_jset(ident, "sex", a->sex == 'M' ? "male" : "female");
    json_object_set_new(ident, "level", json_integer(0));
    gw_jset(ident, "legacy_account", a->id);
    gw_jset(ident, "legacy_portal", cl->id);
    gw_session_t sess;
    gw_session_new(app, &sess, ident, NULL, NULL);
    gw_session_first_portal(&sess, cl->id);
    if (gw_session_save_new(app, &sess) != GW_OK) {
        gw_busy_page(app, req, resp, gw_req_lang(req, &app->page, NULL));
    } else {
        gw_sso_set_cookie(app, resp, sess.sid, sess.auth_time, 0, sess.exp);
        audit(app, "login", cl->id, a->id12[0] ? a->id12 : NULL, a->id, "legacy_password", req);
        gw_broker_finish(app, req, resp, login, lid, &sess, NULL, a->id, NULL);
    }
    gw_session_cleanup(&sess);
}

static void need_id12_page(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lid, const char *lang,
                           const char *error_key, const char *value)
{
    char *bind = ensure_bind(app, req, resp), *csrf = csrf_for(app, bind, lid);
    gw_tmpl_var_t v[] = { { "ar", lid },
                          { "csrf", csrf },
                          { "id12_error", error_key ? gw_tmpl_msg(app->tmpl, lang, error_key) : NULL },
                          { "id12_value", value } };
    gw_page(&app->page, req, resp, error_key ? 400 : 200, "need_id12", lang, v, 4);
    free(csrf);
    free(bind);
}

static void h_legacy(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lid, *lang;
    gw_login_t pending, *login = &pending;
    if (load_login(app, req, resp, login, &lid, &lang) != GW_OK)
        return;
    const gw_client_t *cl = login_portal(app, login);
    const char *user = gw_form_get(&req->form, "username"), *pw = gw_form_get(&req->form, "password");
    gw_account_t a;
    if (!cl || !cl->has_accounts || !cl->legacy_login) {
        gw_error_page(&app->page, req, resp, 404, "not_found", lang, NULL, NULL);
        goto done;
    }
    if (!user || !*user || strlen(user) > 128 || limited(app, "legacy_ip", req->remote, app->cfg->lim_legacy_ip) ||
        limited(app, "legacy_acct", user, app->cfg->lim_legacy_account)) {
        audit(app, "legacy_login", cl->id, NULL, NULL, "rate_limited", req);
        result_page(app, req, resp, 429, "rate_limited", lang, lid, 1, NULL);
        goto done;
    }
    int found = GW_STORE_ACCT(app->store, account_by_username, cl->id, user, &a) == GW_OK;
    int pw_ok = password_ok(app, cl, found ? &a : NULL, user, pw);
    if (pw_ok < 0) {
        result_page(app, req, resp, 503, "legacy_unavailable", lang, lid, 1, NULL);
        goto done;
    }
    if (!pw_ok) {
        audit(app, "legacy_login", cl->id, NULL, found ? a.id : NULL, "bad_credentials", req);
        const char *vu = NULL;
        char *u = vneid_url(lid, lang);
        vu = u;
        char *bind = ensure_bind(app, req, resp), *csrf = csrf_for(app, bind, lid);
        gw_tmpl_var_t v[] = { { "client_name", cl->name },
                              { "vneid_url", vu },
                              { "legacy_csrf", csrf },
                              { "ar", lid },
                              { "legacy_error", gw_tmpl_msg(app->tmpl, lang, "legacy.bad_credentials") },
                              { "username", user } };
        gw_page(&app->page, req, resp, 401, "login", lang, v, 6);
        free(csrf);
        free(bind);
        free(u);
        goto done;
    }
    if (gw_now() >= cutoff_of(cl, &a)) {
        /* the law closed legacy login for this class of account. Said only to whoever
         * knows the password: an unknown user and a wrong password get the same 401, so
         * the answer does not tell which usernames exist. */
        audit(app, "legacy_login", cl->id, NULL, a.id, "after_cutoff", req);
        result_page(app, req, resp, 403, "legacy_closed", lang, lid, 1, NULL);
        goto done;
    }
    if (a.state == GW_ACCT_LINKED || a.state == GW_ACCT_MERGED) {
        audit(app, "legacy_login", cl->id, NULL, a.id, "password_retired", req);
        result_page(app, req, resp, 403, "password_retired", lang, lid, 1, NULL);
        goto done;
    }
    if (a.id12[0] && (a.id12_verified || cl->trust_any_id12)) {
        legacy_logged_in(app, req, resp, login, lid, cl, &a);
        goto done;
    }
    /* NEED_ID12: remember which account passed the password check */
    free(login->legacy_account);
    login->legacy_account = gw_strdup(a.id);
    free(login->legacy_verified); /* a verification belongs to the account that earned it */
    login->legacy_verified = NULL;
    if (gw_login_save(app, lid, login) != GW_OK) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    if (!a.cmnd9[0]) {
        /* the 3-item check needs the old ID card number */
        audit(app, "legacy_login", cl->id, NULL, a.id, "no_cmnd", req);
        result_page(app, req, resp, 200, "no_cmnd", lang, lid, 1, NULL);
        goto done;
    }
    need_id12_page(app, req, resp, lid, lang, NULL, NULL);
done:
    gw_login_cleanup(login);
}

static void h_legacy_verify(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lid, *lang;
    gw_login_t pending, *login = &pending;
    if (load_login(app, req, resp, login, &lid, &lang) != GW_OK)
        return;
    const gw_client_t *cl = login_portal(app, login);
    const char *acct = login->legacy_account;
    const char *in = gw_form_get(&req->form, "id12");
    gw_account_t a;
    if (!cl || !acct || GW_STORE_ACCT(app->store, account_get, cl->id, acct, &a) != GW_OK) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
        goto done;
    }
    if (a.state == GW_ACCT_LINKED || a.state == GW_ACCT_MERGED) {
        result_page(app, req, resp, 403, "password_retired", lang, lid, 1, NULL);
        goto done;
    }
    gw_id_info_t info;
    if (!in || gw_id_check(in, strlen(in), gw_id_year_now(), &info) != GW_ID_OK || info.kind != GW_ID_PERSONAL) {
        need_id12_page(app, req, resp, lid, lang, "legacy.id12_invalid", in);
        goto done;
    }
    int r = popdb_check_limited(app, req, cl, &a, info.digits, a.full_name);
    if (!r) {
        result_page(app, req, resp, 429, "rate_limited", lang, lid, 1, NULL);
        goto done;
    }
    if (r == GW_POPDB_ERROR) {
        result_page(app, req, resp, 503, "verify_unavailable", lang, lid, 1, NULL);
        gw_resp_header(resp, "Retry-After", "60");
        goto done;
    }
    if (r == GW_POPDB_NO_MATCH) {
        result_page(app, req, resp, 200, "verify_failed", lang, lid, 1, NULL);
        goto done;
    }
    int rc = gw_broker_link(app, req, cl->id, info.digits, a.id, "verified_popdb", info.digits, "popdb", "duplicate");
    if (rc == GW_ECONFLICT) {
        /* this citizen already has an account here: one account per person */
        result_page(app, req, resp, 409, "duplicate", lang, lid, 1, NULL);
        goto done;
    }
    if (rc != GW_OK) {
        gw_busy_page(app, req, resp, lang);
        goto done;
    }
    free(login->legacy_verified);
    login->legacy_verified = gw_strdup(a.id);
    gw_login_save(app, lid, login);
    char *bind = ensure_bind(app, req, resp), *csrf = csrf_for(app, bind, lid);
    result_page(app, req, resp, 200, "verify_success", lang, lid, 0, csrf);
    free(csrf);
    free(bind);
done:
    gw_login_cleanup(login);
}

/* After "Xác thực tài khoản thành công": continue to the portal, logged in. */
static void h_legacy_continue(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lid, *lang;
    gw_login_t pending, *login = &pending;
    if (load_login(app, req, resp, login, &lid, &lang) != GW_OK)
        return;
    const gw_client_t *cl = login_portal(app, login);
    gw_account_t a;
    if (!cl || !login->legacy_verified || !gw_streq(login->legacy_verified, login->legacy_account) ||
        GW_STORE_ACCT(app->store, account_get, cl->id, login->legacy_account, &a) != GW_OK ||
        a.state != GW_ACCT_LINKED || !a.id12[0]) {
        gw_error_page(&app->page, req, resp, 400, "flow_expired", lang, NULL, NULL);
    } else {
        legacy_logged_in(app, req, resp, login, lid, cl, &a);
    }
    gw_login_cleanup(login);
}

const gw_route_t gw_broker_account_routes[] = {
    /* the portal's password check, the population DB: upstream */
    { .methods = GW_M_POST, .path = "/login/legacy", .fn = h_legacy, .waits_upstream = gw_route_always },
    { .methods = GW_M_POST, .path = "/login/legacy/verify", .fn = h_legacy_verify, .waits_upstream = gw_route_always },
    { .methods = GW_M_POST,
      .path = "/login/legacy/continue",
      .fn = h_legacy_continue,
      .waits_upstream = gw_route_always },
    { .methods = GW_M_POST, .path = "/link/choose", .fn = h_choose },
    { .methods = GW_M_POST, .path = "/link/claim", .fn = h_claim, .waits_upstream = gw_route_always },
    { .methods = GW_M_POST, .path = "/link/new", .fn = h_new },
    { 0 },
};
