/* Shared by the broker's own files: the login and flow records, the session record, the
 * steps every path ends with. Not for front ends (they see gw_broker.h). */
#ifndef GW_BROKER_INTERNAL_H
#define GW_BROKER_INTERNAL_H
#include "gw_broker.h"

/* ---- the login record ("ar") ---- */
/* A new stored form of l (a new reference). */
json_t *gw_login_to_json(const gw_login_t *l);
/* l from its stored form; GW_EINVAL when it is not one. */
int gw_login_from_json(json_t *j, gw_login_t *l);
/* GW_OK, GW_ENOTFOUND, GW_ESTORE. */
int gw_login_load(gw_ctx_t *app, const char *id, gw_login_t *ret);
int gw_login_save(gw_ctx_t *app, const char *id, const gw_login_t *l);
/* The stored login is gone (its front end completed). */
void gw_login_forget(gw_ctx_t *app, const char *id);
/* The login named by the request's "ar" parameter (query, or form for a POST) and the
 * page language: GW_OK, or an error after answering with an error page. */
int gw_login_from_request(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *ret, const char **ret_id,
                          const char **ret_lang);
const gw_frontend_ops_t *gw_broker_frontend(const char *name);
/* Every front end's session_ended for a session record that ended. */
void gw_broker_session_ended(gw_ctx_t *app, const gw_session_t *sess);

/* ---- sessions ---- */
/* A session made by the request at hand is written once, with its first portal in it:
 * *unsaved is 1 while it is not in the store, 0 once it is, -1 when writing it failed
 * (nothing of the response may stand then). NULL: the session is in the store already. */
enum { SESS_SAVE_FAILED = -1, SESS_SAVED = 0, SESS_UNSAVED = 1 };
/* The one builder of a session: a new id, now as its auth time, its expiry; identity is
 * consumed. Not stored yet. */
void gw_session_new(gw_ctx_t *app, gw_session_t *ret, json_t *identity, const char *upstream_sub,
                    const char *upstream_logout);
/* A new session record (with its portals so far) and its entry in its ID number's index,
 * both or neither. */
int gw_session_save_new(gw_ctx_t *app, const gw_session_t *sess);
/* A session not stored yet takes its first portal into its record (one write per login). */
void gw_session_first_portal(gw_session_t *sess, const char *portal);
/* A portal joins a stored session (one atomic add; nothing when it is in already). */
int gw_session_add_portal(gw_ctx_t *app, gw_session_t *sess, const char *portal);
/* 1 when the portal is one of the session's. */
int gw_session_has_portal(const gw_session_t *sess, const char *portal);
void gw_sso_set_cookie(gw_ctx_t *app, gw_resp_t *resp, const char *sid, int64_t auth_time, int level, int64_t exp);
/* The session sid: GW_OK, GW_ENOTFOUND, GW_ESTORE. GW_SESS_TAKE: read and delete (a
 * logout); GW_SESS_PORTALS: with every portal (else the set of later portals is not read:
 * a login at a portal needs only to know whether it is one of them, asked lazily). */
enum { GW_SESS_TAKE = 1, GW_SESS_PORTALS = 2 };
int gw_session_get(gw_ctx_t *app, const char *sid, int flags, gw_session_t *ret);

/* ---- the end of every path ---- */
/* After the citizen is known (fresh login or SSO): resolve the portal's legacy account
 * (DOMAIN rule 4 B) and finish, or show the page the state machine calls for.
 * login_id: the stored login's id, or NULL (it is stored when a page needs it). */
void gw_broker_after_login(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *login_id,
                           gw_session_t *sess, int *unsaved, const char *lang);
/* The portal joins the session, the release is made and the front end completes; the
 * stored login is forgotten (kept when a new session could not be written, for "try
 * again"). account/merged: the portal's legacy account id and the ids merged into it. */
void gw_broker_finish(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *login_id,
                      gw_session_t *sess, int *unsaved, const char *account, json_t *merged);
/* The login page's extra variables for legacy login (form, csrf); returns how many it set. */
size_t gw_broker_login_vars(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login,
                            const char *login_id, gw_tmpl_var_t *vars, size_t max, char **owned);

#endif
