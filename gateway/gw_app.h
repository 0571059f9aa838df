/* gw_app: the process-wide state every handler sees: configuration, keys, store,
 * templates, the upstream provider and the in-memory revocation set. Immutable after
 * start-up except the revocation set, which has its own lock. */
#ifndef GW_APP_H
#define GW_APP_H
#include "gw_config.h"
#include "gw_crypto.h"
#include "gw_http.h"
#include "gw_store.h"
#include "gw_tmpl.h"

#include <pthread.h>

typedef struct gw_revset {
    pthread_rwlock_t lock;
    size_t n, cap;
    char **sid;
    int64_t *until;
    int64_t seq;
} gw_revset_t;

typedef struct gw_app {
    gw_config_t *cfg;
    gw_keyset_t *keys;
    gw_store_t *store;
    gw_tmpl_set_t *tmpl;
    gw_jwks_cache_t *upstream_jwks;
    gw_revset_t revoked;
    int is_tls; /* public_url is https: cookies get Secure and the __Host- prefix */
    const char *sso_cookie, *bind_cookie, *lang_cookie;
    struct gw_audit *audit; /* NULL without [audit] */
    struct gw_server *server; /* while serving: its worker pools, for /admin/status */
} gw_app_t;

/* Audit an event (fields is consumed): one JSON line in the hash-chained audit log, and a
 * log line. ID numbers go under keys ending in _id12 and are masked. */
void gw_app_audit(gw_app_t *app, const char *event, json_t *fields);

int gw_app_init(gw_app_t *app, gw_config_t *cfg, char *err, size_t errlen);
void gw_app_cleanup(gw_app_t *app);

/* Revocation set: revoked session ids, fed by the store. */
void gw_revset_add(gw_revset_t *rs, const char *sid, int64_t until);
int gw_revset_has(gw_revset_t *rs, const char *sid);
/* Pull new revocations from the store (any thread that may block). */
void gw_revset_sync(gw_app_t *app);

/* Page language: ?lang=, then the lang cookie, then ui_locales, else "vi". */
const char *gw_req_lang(const gw_req_t *req, const gw_app_t *app, const char *ui_locales);

/* Render a page into resp (200 unless status given). vars as for gw_tmpl_render; this
 * adds lang_switch_url built from the request path and query. */
void gw_page(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *tmpl,
             const char *lang, const gw_tmpl_var_t *vars, size_t nvars);
/* Error page for a citizen: code is a catalog key suffix ("invalid_redirect_uri"). */
void gw_error_page(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *code,
                   const char *lang, const char *retry_url, const char *back_url);
/* The same with a second message (catalog key detail_key), e.g. a lock's reason category. */
void gw_error_page_detail(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *code,
                          const char *lang, const char *retry_url, const char *back_url, const char *detail_key);
/* JSON error (RFC 6749 5.2 shape). */
void gw_error_json(gw_resp_t *resp, int status, const char *error, const char *description);

/* Routes */
extern const gw_route_t gw_routes[];
extern const gw_route_t gw_app_routes[];

#endif
