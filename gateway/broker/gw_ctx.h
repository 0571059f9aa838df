/* gw_ctx: the process-wide state the broker and the front ends see: configuration, keys,
 * store, pages, the upstream's key cache and the in-memory revocation set. Filled once by
 * app/ (gw_app_init) and immutable afterwards, except the revocation set, which has its
 * own lock, and `server`, set while serving. */
#ifndef GW_CTX_H
#define GW_CTX_H
#include "gw_addrlimit.h"
#include "gw_config.h"
#include "gw_crypto.h"
#include "gw_http.h"
#include "gw_page.h"
#include "gw_store.h"
#include "gw_tmpl.h"
#include "plugin.h"

#include <pthread.h>

/* The revoked session ids this process knows (every node's logouts, read from the store's
 * revocation stream): an open-addressing hash table, so a cookie check is one probe however
 * many sessions ended; entries past their time are dropped when the table grows. */
typedef struct gw_revset_slot {
    char *sid; /* NULL: empty */
    int64_t until;
} gw_revset_slot_t;

typedef struct gw_revset {
    pthread_rwlock_t lock;
    size_t n, cap; /* used slots; slots (a power of two, or 0) */
    gw_revset_slot_t *slot;
    int64_t seq;
} gw_revset_t;

typedef struct gw_ctx {
    gw_config_t *cfg;
    gw_keyset_t *keys;
    unsigned char pcookie_key[GW_SEAL_KEYLEN]; /* the portal cookies' key (gw_pcookie.h), from keys */
    unsigned char at_key[GW_SEAL_KEYLEN]; /* the access tokens' seal (gw_op.c), from keys */
    gw_store_t *store;
    gw_tmpl_set_t *tmpl;
    gw_pages_t page; /* what the page helpers need: templates, store, language cookie */
    gw_jwks_cache_t *upstream_jwks;
    const gw_idp_ops_t *idp; /* the upstream's plugin (plugin.h's registry) */
    gw_idp_env_t idp_env;
    gw_idp_needs_t idp_needs; /* what each login of the upstream needs prepared */
    char *callback_url; /* public_url + "/callback" */ /* what it is handed: the callback URL, the upstream's keys */
    gw_revset_t revoked;
    gw_addrlimit_t *login_limit; /* logins started per client address ([limits] logins_per_ip) */
    int is_tls; /* public_url is https: cookies get Secure and the __Host- prefix */
    const char *sso_cookie, *bind_cookie, *lang_cookie;
    struct gw_audit *audit; /* NULL without [audit] */
    struct gw_server *server; /* while serving: its worker pools, for /admin/status */
    struct saml_idp *saml; /* the SAML IdP (frontend/saml_idp), NULL without one */
} gw_ctx_t;

/* Audit an event (fields is consumed): one JSON line in the hash-chained audit log, and a
 * log line. ID numbers go under keys ending in _id12 and are masked. */
void gw_audit_event(gw_ctx_t *app, const char *event, json_t *fields);

/* Revocation set: revoked session ids, fed by the store. */
void gw_revset_init(gw_revset_t *rs);
void gw_revset_cleanup(gw_revset_t *rs);
void gw_revset_add(gw_revset_t *rs, const char *sid, int64_t until);
int gw_revset_has(gw_revset_t *rs, const char *sid);
/* Pull new revocations from the store (any thread that may block). */
void gw_revset_sync(gw_ctx_t *app);
/* At start, with [session] revocation_file: the file is begun anew and every suspended
 * portal is recorded in it as "portal:<client id>" (docs/nginx.md), for the nginx module. */
void gw_revfile_feed_portals(gw_ctx_t *app);

#endif
