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

int gw_sso_open(gw_ctx_t *app, const gw_req_t *req, gw_sso_t *ret)
{
    char *c = gw_cookie_get(req->cookie, app->sso_cookie);
    char *pt = NULL;
    int rc = GW_ENOTFOUND;
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

json_t *gw_session_new(gw_ctx_t *app, const char *sid, json_t *identity, int64_t auth_time, const char *upstream_sub,
                       const char *upstream_logout)
{
    json_t *sess = json_object();
    gw_jset(sess, "sid", sid);
    json_object_set_new(sess, "identity", identity);
    json_object_set_new(sess, "auth_time", json_integer(auth_time));
    json_object_set_new(sess, "exp", json_integer(auth_time + app->cfg->session_lifetime));
    json_object_set_new(sess, "clients", json_array());
    gw_jset(sess, "upstream_sub", upstream_sub);
    gw_jset(sess, "upstream_logout", upstream_logout);
    return sess;
}

int gw_session_get(gw_ctx_t *app, const char *sid, json_t **ret)
{
    *ret = NULL;
    return gw_store_get_json(app->store, "sess", sid, 0, ret);
}

int gw_session_save_new(gw_ctx_t *app, json_t *sess)
{
    const char *sid = gw_jstr(sess, "sid");
    const char *id12 = gw_jstr(json_object_get(sess, "identity"), "id12");
    long ttl = app->cfg->session_lifetime;
    int batched = gw_store_batch_begin(app->store) == GW_OK;
    int rc = gw_store_put_json(app->store, "sess", sid, sess, ttl, 0);
    if (rc == GW_OK && id12 && *id12)
        rc = gw_store_set_add(app->store, "sidx", id12, sid, ttl);
    if (batched && gw_store_batch_end(app->store, rc == GW_OK) != GW_OK)
        rc = GW_ESTORE;
    return rc;
}

void gw_session_end(gw_ctx_t *app, gw_resp_t *resp, const char *sid, int64_t exp)
{
    gw_resp_cookie(resp, app->sso_cookie, "", -1, app->is_tls);
    if (!sid)
        return;
    json_t *sess = NULL;
    gw_store_get_json(app->store, "sess", sid, 1, &sess);
    int64_t until = exp > gw_now() ? exp : gw_now() + app->cfg->session_lifetime;
    gw_store_revoke(app->store, sid, until);
    gw_revset_add(&app->revoked, sid, until);
    if (sess) {
        gw_log(GW_LOG_INFO, "broker", "logout", "who_id12", gw_jstr(json_object_get(sess, "identity"), "id12"), NULL);
        gw_broker_session_ended(app, sess);
        json_decref(sess);
    }
}
