/* gw_session: the SSO session. The browser holds a sealed cookie (session id, expiry,
 * auth time, level) that is opened with no store access; the record ("sess") holds the
 * identity and the portals that took part, and an index per ID number ("sidx") lets a
 * lock end all of a citizen's sessions at once. */
#include "gw_broker_internal.h"
#include "gw_json.h"
#include "gw_log.h"

#include <stdlib.h>
#include <string.h>

void gw_sso_cleanup(gw_sso_t *s) { free(s->sid); }

int gw_sso_cookie_absent(gw_ctx_t *app, const gw_req_t *req)
{
    char *c = gw_cookie_get(req->cookie, app->sso_cookie);
    int none = !c;
    free(c);
    return none;
}

int gw_login_may_call_popdb(gw_ctx_t *app, const gw_req_t *req, const gw_client_t *cl)
{
    return cl && cl->has_accounts && cl->match_by_name && !gw_sso_cookie_absent(app, req);
}

int gw_sso_open(gw_ctx_t *app, const gw_req_t *req, gw_sso_t *ret)
{
    memset(ret, 0, sizeof(*ret)); /* safe to clean up whatever the outcome */
    char *c = gw_cookie_get(req->cookie, app->sso_cookie);
    char *pt = NULL;
    int rc = GW_ENOTFOUND;
    *ret = (gw_sso_t){ 0 }; /* gw_sso_cleanup is safe whatever the answer */
    if (!c || gw_seal_open(app->keys->cookie_key, 1, c, &pt, NULL))
        goto done;
    json_t *j = gw_json_parse_str(pt);
    const char *sid = gw_jstr(j, "sid");
    int64_t exp = json_integer_value(json_object_get(j, "exp"));
    if (sid && exp > gw_now() && !gw_revset_has(&app->revoked, sid)) {
        ret->sid = gw_strdup(sid);
        ret->exp = exp;
        ret->auth_time = json_integer_value(json_object_get(j, "at"));
        ret->level = (int)json_integer_value(json_object_get(j, "lvl"));
        rc = GW_OK;
    }
    json_decref(j);
done:
    free(c);
    gw_wipe_free(pt);
    return rc;
}

void gw_sso_set_cookie(gw_ctx_t *app, gw_resp_t *resp, const char *sid, int64_t auth_time, int level, int64_t exp)
{
    json_t *j =
        json_pack("{s:s,s:I,s:I,s:i}", "sid", sid, "exp", (json_int_t)exp, "at", (json_int_t)auth_time, "lvl", level);
    char *pt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *sealed = gw_seal(app->keys->cookie_key, 1, pt, strlen(pt));
    free(pt);
    gw_resp_cookie(resp, app->sso_cookie, sealed, 0, app->is_tls); /* a browser-session cookie */
    free(sealed);
}

/* ---- the session record: its stored form, here only ----
 * "sess": {sid, identity, auth_time, exp, clients: [the first portal], upstream_sub,
 * upstream_logout}; "sp" (a set keyed by the session id): every later portal. */

void gw_session_cleanup(gw_session_t *s)
{
    free(s->sid);
    json_decref(s->identity);
    for (size_t i = 0; i < s->nportals; i++)
        free(s->portals[i]);
    free(s->portals);
    free(s->upstream_sub);
    free(s->upstream_logout);
    memset(s, 0, sizeof(*s));
}

const char *gw_session_id12(const gw_session_t *s)
{
    const char *v = s ? gw_jstr(s->identity, "id12") : NULL;
    return v ? v : "";
}

int gw_session_has_portal(const gw_session_t *s, const char *portal)
{
    for (size_t i = 0; i < s->nportals; i++)
        if (gw_streq(s->portals[i], portal))
            return 1;
    return 0;
}

static void portal_push(gw_session_t *s, const char *portal)
{
    if (!portal || gw_session_has_portal(s, portal))
        return;
    char **grown = realloc(s->portals, (s->nportals + 1) * sizeof(*s->portals));
    if (!grown)
        abort();
    s->portals = grown;
    s->portals[s->nportals++] = gw_strdup(portal);
}

static char *dup_or_null(const char *v) { return v ? gw_strdup(v) : NULL; }

void gw_session_new(gw_ctx_t *app, gw_session_t *ret, json_t *identity, const char *upstream_sub,
                    const char *upstream_logout)
{
    memset(ret, 0, sizeof(*ret));
    ret->sid = gw_ordered_token(18);
    ret->identity = identity;
    ret->auth_time = gw_now();
    ret->exp = ret->auth_time + app->cfg->session_lifetime;
    ret->upstream_sub = dup_or_null(upstream_sub);
    ret->upstream_logout = dup_or_null(upstream_logout);
    ret->portals_read = 1; /* a new session has no later portals yet */
}

static json_t *session_to_json(const gw_session_t *s)
{
    json_t *j = json_object(), *portals = json_array();
    gw_jset(j, "sid", s->sid);
    json_object_set(j, "identity", s->identity);
    json_object_set_new(j, "auth_time", json_integer(s->auth_time));
    json_object_set_new(j, "exp", json_integer(s->exp));
    for (size_t i = 0; i < s->nportals; i++)
        json_array_append_new(portals, json_string(s->portals[i]));
    json_object_set_new(j, "clients", portals);
    gw_jset(j, "upstream_sub", s->upstream_sub);
    gw_jset(j, "upstream_logout", s->upstream_logout);
    return j;
}

static int session_from_json(json_t *j, gw_session_t *s)
{
    memset(s, 0, sizeof(*s));
    json_t *ident = json_object_get(j, "identity");
    if (!gw_jstr(j, "sid") || !json_is_object(ident))
        return GW_EINVAL;
    s->sid = gw_strdup(gw_jstr(j, "sid"));
    s->identity = json_incref(ident);
    s->auth_time = json_integer_value(json_object_get(j, "auth_time"));
    s->exp = json_integer_value(json_object_get(j, "exp"));
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(j, "clients"), i, v)
        portal_push(s, json_string_value(v));
    s->upstream_sub = dup_or_null(gw_jstr(j, "upstream_sub"));
    s->upstream_logout = dup_or_null(gw_jstr(j, "upstream_logout"));
    return GW_OK;
}

static void portal_cb(const char *member, void *ud) { portal_push(ud, member); }

/* The later portals from their set (a session has at most as many as there are clients). */
static int read_portals(gw_ctx_t *app, gw_session_t *s)
{
    if (s->portals_read)
        return GW_OK;
    int rc = gw_store_set_members(app->store, "sp", s->sid, app->cfg->nclients + 1, portal_cb, s);
    s->portals_read = rc == GW_OK;
    return rc == GW_OK ? GW_OK : GW_ESTORE;
}

int gw_session_get(gw_ctx_t *app, const char *sid, int flags, gw_session_t *ret)
{
    json_t *j = NULL;
    memset(ret, 0, sizeof(*ret));
    int rc = gw_store_get_json(app->store, "sess", sid, flags & GW_SESS_TAKE, &j);
    if (rc == GW_OK && session_from_json(j, ret) != GW_OK)
        rc = GW_ENOTFOUND;
    json_decref(j);
    if (rc == GW_OK && (flags & GW_SESS_PORTALS))
        rc = read_portals(app, ret);
    if (rc != GW_OK)
        gw_session_cleanup(ret);
    return rc;
}

int gw_session_add_portal(gw_ctx_t *app, gw_session_t *sess, const char *portal)
{
    if (gw_session_has_portal(sess, portal))
        return GW_OK; /* the usual SSO case: the portal that began the session */
    if (read_portals(app, sess) != GW_OK)
        return GW_ESTORE;
    if (gw_session_has_portal(sess, portal))
        return GW_OK;
    int64_t ttl = sess->exp - gw_now();
    if (ttl <= 0)
        return GW_OK;
    int rc = gw_store_set_add(app->store, "sp", sess->sid, portal, (long)ttl);
    if (rc == GW_OK)
        portal_push(sess, portal);
    return rc;
}

int gw_session_save_new(gw_ctx_t *app, const gw_session_t *sess)
{
    const char *id12 = gw_session_id12(sess);
    long ttl = app->cfg->session_lifetime;
    json_t *j = session_to_json(sess);
    int batched = gw_store_batch_begin(app->store) == GW_OK;
    int rc = gw_store_put_json(app->store, "sess", sess->sid, j, ttl, 0);
    if (rc == GW_OK && *id12)
        rc = gw_store_set_add(app->store, "sidx", id12, sess->sid, ttl);
    if (batched && gw_store_batch_end(app->store, rc == GW_OK) != GW_OK)
        rc = GW_ESTORE;
    json_decref(j);
    return rc;
}

void gw_session_first_portal(gw_session_t *sess, const char *portal) { portal_push(sess, portal); }

int gw_session_end(gw_ctx_t *app, gw_resp_t *resp, const char *sid, int64_t exp)
{
    if (!sid) {
        if (resp)
            gw_resp_cookie(resp, app->sso_cookie, "", -1, app->is_tls);
        return GW_OK;
    }
    /* the revocation first: it is what every node honours. If it cannot be written the
     * session would go on elsewhere, so nothing is ended here either (the cookie stays,
     * the caller says "try again") */
    int64_t until = exp > gw_now() ? exp : gw_now() + app->cfg->session_lifetime;
    int rc = gw_store_revoke(app->store, sid, until);
    if (rc != GW_OK) {
        gw_log(GW_LOG_WARN, "broker", "logout not recorded: the store is unavailable", NULL);
        return rc;
    }
    if (resp)
        gw_resp_cookie(resp, app->sso_cookie, "", -1, app->is_tls);
    gw_revset_add(&app->revoked, sid, until);
    gw_session_t sess;
    if (gw_session_get(app, sid, GW_SESS_TAKE | GW_SESS_PORTALS, &sess) == GW_OK) {
        gw_log(GW_LOG_INFO, "broker", "logout", "who_id12", gw_session_id12(&sess), NULL);
        gw_broker_session_ended(app, &sess);
        gw_session_cleanup(&sess);
    }
    return GW_OK;
}

int gw_session_portal_sub(gw_ctx_t *app, const char *sid, const char *portal, char **ret)
{
    *ret = NULL;
    gw_session_t sess;
    int rc = gw_session_get(app, sid, 0, &sess);
    if (rc != GW_OK)
        return rc;
    *ret = gw_pairwise_sub(app, portal, gw_session_id12(&sess));
    gw_session_cleanup(&sess);
    return GW_OK;
}
