/* Shared between the OpenID Provider (gw_op.c) and the account broker (gw_broker.c). */
#ifndef GW_OP_INTERNAL_H
#define GW_OP_INTERNAL_H
#include "gw_app.h"

#include <jansson.h>

typedef struct sso {
    char *sid;
    int64_t auth_time, exp;
    int level;
} sso_t;

extern __thread int store_down; /* the last store_get_json failed in the store itself */

json_t *store_get_json(gw_app_t *app, const char *ns, const char *key, int take);
int store_put_json(gw_app_t *app, const char *ns, const char *key, json_t *j, long ttl);
const char *jstr(json_t *o, const char *k);
void jset(json_t *o, const char *k, const char *v);
void busy_page(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang);
json_t *ar_from_request(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, const char **ret_arid, const char **ret_lang);
void busy_json(gw_resp_t *resp);
int sso_open(gw_app_t *app, const gw_req_t *req, sso_t *ret);
void sso_cleanup(sso_t *s);
void sso_set_cookie(gw_app_t *app, gw_resp_t *resp, const char *sid, int64_t auth_time, int level, int64_t exp);
int save_new_session(gw_app_t *app, json_t *sess);
/* A session made by the request at hand is written once, with its first portal in it:
 * *unsaved is 1 while it is not in the store, 0 once it is, -1 when writing it failed
 * (nothing of the response may stand then). NULL: the session is in the store already. */
enum { SESS_SAVE_FAILED = -1, SESS_SAVED = 0, SESS_UNSAVED = 1 };
void issue_code(gw_app_t *app, gw_resp_t *resp, json_t *ar, json_t *sess, int *unsaved, const char *account,
                json_t *merged);
int requested_level(json_t *ar, const gw_client_t *cl);
char *pairwise_sub(gw_app_t *app, const char *client_id, const char *id12);

/* After the citizen is known (fresh login or SSO): resolve the portal's legacy account
 * (DOMAIN.md 4 B) and issue the code, or show the page the state machine calls for.
 * arid: the stored authorization request id, or NULL (it is stored when a page needs it). */
void gw_broker_after_login(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, json_t *ar, const char *arid,
                           json_t *sess, int *unsaved, const char *lang);
/* The login page's extra variables for legacy login (form, csrf); returns how many it set. */
size_t gw_broker_login_vars(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, json_t *ar, const char *arid,
                            gw_tmpl_var_t *vars, size_t max, char **owned);

extern const gw_route_t gw_broker_routes[];

#endif
