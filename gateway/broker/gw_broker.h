/* gw_broker: the protocol-neutral core between the front ends (which face portals) and
 * the upstream identity providers.
 *
 * A front end turns its portal's request into a login (gw_login_t: which portal, the least
 * e-ID level, prompt and max_age, language, and a return handle of its own) and hands it
 * to gw_broker_start. The broker runs the rest: the SSO session or the upstream leg, the
 * policy (account type, level, lock list), the account resolution of DOMAIN rule 4 (link,
 * choose, claim, new, the letter-356 check), the session, and the release (the portal's
 * pairwise id). It ends by calling the front end's complete() with the finished identity;
 * only the front end speaks its protocol (an OIDC code, a SAML Response, headers).
 *
 * A login survives the pages and the trip to the upstream in its own record (namespace
 * "ar", key: the login id), mapped to and from its stored form in gw_login.c only. */
#ifndef GW_BROKER_H
#define GW_BROKER_H
#include "gw_ctx.h"

#include <jansson.h>

typedef struct gw_login {
    char *portal; /* the portal (client id) */
    int min_level; /* the least e-ID level it accepts for this login (1 or 2) */
    int force; /* a fresh authentication even with an SSO session (prompt=login) */
    int passive; /* no page may be shown (prompt=none): fail instead */
    long max_age; /* seconds an SSO session's authentication may be old; -1: any */
    char *ui_locales; /* the portal's language preference, a space-separated list */
    char *login_hint;
    char *frontend; /* the name of the front end that completes it (gw_frontend_ops_t) */
    json_t *ret; /* the front end's return handle, kept with the login (an object) */
    /* the broker's own state between its pages */
    char *step; /* "choose" or "no_legacy" while a page waits, else NULL */
    json_t *shown; /* the accounts the choose page showed (an array of ids) */
    char *sid; /* the session a pending page belongs to */
    char *legacy_account; /* the account that passed a legacy password check */
    char *legacy_verified; /* that account, once the population DB vouched for its number */
} gw_login_t;

void gw_login_cleanup(gw_login_t *l);

/* What the broker hands the front end at the end: who logged in, and what this portal may
 * know of it. Everything is borrowed for the call. */
typedef struct gw_finished {
    const char *sid; /* the SSO session */
    json_t *identity; /* {id12, name, birthdate, sex, level, account_type, ...} */
    int64_t auth_time, exp; /* the session's authentication and its end */
    int level; /* 0 for a legacy password login */
    const char *sub; /* the portal's pairwise id for this citizen */
    const char *account; /* the portal's legacy account id, or NULL */
    json_t *merged; /* the account ids merged into it, or NULL */
} gw_finished_t;

struct gw_session;

typedef struct gw_frontend_ops {
    const char *name;
    /* The login is done: answer the portal (redirect with a code, post a Response). */
    void (*complete)(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const gw_finished_t *done);
    /* The login cannot go on without a page (passive): answer the portal with error
     * ("login_required"). */
    void (*fail)(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const char *error);
    /* The address an error page offers to go back to the portal with error, malloc'd. */
    char *(*back_url)(gw_ctx_t *app, const gw_login_t *login, const char *error);
    /* A session ended (logout, lock): tell the portals of this front end that took part
     * in it. May block (worker threads). NULL: nothing to tell. */
    void (*session_ended)(gw_ctx_t *app, const struct gw_session *sess);
} gw_frontend_ops_t;

/* The front ends, registered once at start-up (a NULL-terminated list; not copied). */
void gw_broker_register(const gw_frontend_ops_t *const *frontends);

/* Run a login. The request may be answered at once (an SSO session satisfies it: complete;
 * passive and it does not: fail), or the login is kept and the browser sent to the login
 * page. lang: the page language already chosen for this request. login stays the
 * caller's. */
void gw_broker_start(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_login_t *login, const char *lang);

/* ---- sessions ---- */
/* An SSO session ("sess", key: its id), mapped to and from its stored form in
 * gw_session.c only. The portals that joined it after the first are kept in a set of
 * their own ("sp", key: the session id), so two portals joining at once both stay known
 * (each join is one atomic add, not a rewrite of the record). */
typedef struct gw_session {
    char *sid;
    json_t *identity; /* {id12, name, birthdate, sex, level, account_type, legacy_account}: the
                       * verified identity every release draws on (a claim set, kept as one) */
    int64_t auth_time, exp;
    char **portals; /* the portals that took part, for single logout */
    size_t nportals;
    int portals_read; /* 0: only the record's first portal is in portals (the set is unread) */
    char *upstream_sub, *upstream_logout; /* the upstream's subject and its logout link */
} gw_session_t;

void gw_session_cleanup(gw_session_t *s);
/* The identity's ID number ("" for none). */
const char *gw_session_id12(const gw_session_t *s);

typedef struct gw_sso {
    char *sid;
    int64_t auth_time, exp;
    int level;
} gw_sso_t;
/* Open the SSO cookie: no store access. GW_OK when sealed by us, unexpired and not
 * revoked; GW_ENOTFOUND otherwise. ret is cleared first: gw_sso_cleanup is safe after
 * either answer. */
int gw_sso_open(gw_ctx_t *app, const gw_req_t *req, gw_sso_t *ret);
void gw_sso_cleanup(gw_sso_t *s);
/* 1 when the request carries no SSO cookie at all (a route predicate: such a login start
 * cannot reuse a session, so it touches only the login records). */
int gw_sso_cookie_absent(gw_ctx_t *app, const gw_req_t *req);
/* 1 when a login of portal cl started by this request may call the population DB while it
 * runs (an SSO session reused for a portal that matches accounts by name). */
int gw_login_may_call_popdb(gw_ctx_t *app, const gw_req_t *req, const gw_client_t *cl);
/* End the SSO session everywhere: its record, the revocation (every node), the browser's
 * cookie (resp NULL: no browser, e.g. a lock), and every front end's portals
 * (session_ended). May block. GW_OK; or, when the revocation cannot be written (the store
 * is down), its error and nothing is ended: the caller tells the citizen to try again. */
int gw_session_end(gw_ctx_t *app, gw_resp_t *resp, const char *sid, int64_t exp);
/* The portal's pairwise id for the citizen of the SSO session sid, malloc'd in *ret (what
 * a portal names the citizen by, e.g. in a logout request): GW_OK, GW_ENOTFOUND (no such
 * session), GW_ESTORE. */
int gw_session_portal_sub(gw_ctx_t *app, const char *sid, const char *portal, char **ret);

/* ---- release ---- */
/* The portal's pairwise id for an ID number (HMAC under the pairwise key). malloc'd. */
char *gw_pairwise_sub(gw_ctx_t *app, const char *portal, const char *id12);
/* The authentication context class of a level ("urn:vn:eid:level:2"; 0: a legacy password). */
const char *gw_acr_for(int level);
#define GW_ACR_L1 "urn:vn:eid:level:1"
#define GW_ACR_L2 "urn:vn:eid:level:2"
/* The claims a portal is given for scope: sub, legacy_account and merged_accounts always;
 * name, birthdate, gender with "profile"; cccd with "cccd". A new object. */
json_t *gw_release_claims(gw_ctx_t *app, const gw_client_t *cl, const char *scope, json_t *ident, const char *account,
                          json_t *merged);

/* ---- links ---- */
/* The one door to a new link between a portal's account and an ID number: the store's
 * atomic create-link (unique on both sides); on success the account is marked linked
 * (carrying set_id12 when given, vouched for by `by`), the link is audited with `how`
 * ("auto", "chosen_primary", "claimed", "verified_popdb", "admin") and the portal is sent
 * an account-linked event. GW_ECONFLICT when either side was linked already (audited as
 * conflict_result when given); another error when the store failed. req may be NULL. */
int gw_broker_link(gw_ctx_t *app, gw_req_t *req, const char *portal, const char *id12, const char *account,
                   const char *how, const char *set_id12, const char *by, const char *conflict_result);

/* ---- pages every front end may show ---- */
/* 503 "server busy" page with Retry-After (the store failed). */
void gw_busy_page(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang);

/* The broker's own routes: the login page, the way to the upstream and back, the account
 * pages (link, choose, claim, new) and legacy login. */
extern const gw_route_t gw_broker_routes[]; /* /login, /login/vneid, /callback */
extern const gw_route_t gw_broker_account_routes[]; /* /login/legacy..., /link/... */

#endif
