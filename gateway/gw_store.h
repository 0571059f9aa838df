/* gw_store: the only door to state. Every operation is atomic on its own.
 * Backends: SQLite (embedded, one node). The interface is a table of operations so a
 * Redis backend for many nodes plugs in beside it.
 *
 * Namespaced key-value records with a time to live carry the short-lived protocol state
 * (authorization requests, upstream flows, codes, access tokens, SSO sessions). Links
 * between an ID number and a portal's legacy account are their own relation, unique on
 * both sides. Every call may block: worker threads only. */
#ifndef GW_STORE_H
#define GW_STORE_H
#include <stddef.h>
#include <stdint.h>

typedef struct gw_store gw_store_t;

typedef struct gw_link {
    char portal[65];
    char id12[33];
    char account[129];
    int64_t created;
} gw_link_t;

typedef void (*gw_store_revoked_cb)(const char *sid, int64_t until, void *ud);

typedef struct gw_store_ops {
    const char *name;
    int (*put)(gw_store_t *st, const char *ns, const char *key, const char *val, long ttl, int only_if_absent);
    int (*get)(gw_store_t *st, const char *ns, const char *key, char **ret);
    int (*take)(gw_store_t *st, const char *ns, const char *key, char **ret);
    int (*del)(gw_store_t *st, const char *ns, const char *key);
    int (*revoke)(gw_store_t *st, const char *sid, int64_t until);
    int (*revoked_since)(gw_store_t *st, int64_t after_seq, gw_store_revoked_cb cb, void *ud, int64_t *ret_seq);
    int (*link_create)(gw_store_t *st, const gw_link_t *l);
    int (*link_by_id12)(gw_store_t *st, const char *portal, const char *id12, gw_link_t *ret);
    int (*link_by_account)(gw_store_t *st, const char *portal, const char *account, gw_link_t *ret);
    int (*link_delete)(gw_store_t *st, const char *portal, const char *id12);
    int (*purge)(gw_store_t *st);
    void (*close)(gw_store_t *st);
} gw_store_ops_t;

struct gw_store {
    const gw_store_ops_t *ops;
};

/* driver "sqlite": path is the database file. driver "redis": path is the URL
 * (redis://[:password@]host:port[/db] or unix:///path[?db=N]) and the server must have
 * AOF persistence unless EIDGW_REDIS_ALLOW_VOLATILE=1 is set (tests). */
gw_store_t *gw_store_open(const char *driver, const char *path, char *err, size_t errlen);
/* Redis with every option; sentinels is a space-separated host:port list (url unused then). */
gw_store_t *gw_store_open_redis(const char *url, const char *password, const char *sentinels, const char *master,
                                int allow_volatile, char *err, size_t errlen);

/* put: GW_OK; with only_if_absent, GW_ECONFLICT when a live record exists.
 * get/take: GW_OK and a malloc'd value, or GW_ENOTFOUND (also when expired).
 * take: get and delete in one step: of two concurrent takers exactly one gets the value.
 * link_create: GW_OK, or GW_ECONFLICT when the ID number or the account is already linked
 * in that portal (nothing is written then). */
static inline int gw_store_put(gw_store_t *st, const char *ns, const char *key, const char *val, long ttl, int nx)
{ return st->ops->put(st, ns, key, val, ttl, nx); }
static inline int gw_store_get(gw_store_t *st, const char *ns, const char *key, char **ret)
{ return st->ops->get(st, ns, key, ret); }
static inline int gw_store_take(gw_store_t *st, const char *ns, const char *key, char **ret)
{ return st->ops->take(st, ns, key, ret); }
static inline int gw_store_del(gw_store_t *st, const char *ns, const char *key)
{ return st->ops->del(st, ns, key); }
static inline int gw_store_revoke(gw_store_t *st, const char *sid, int64_t until)
{ return st->ops->revoke(st, sid, until); }
static inline int gw_store_revoked_since(gw_store_t *st, int64_t after, gw_store_revoked_cb cb, void *ud, int64_t *ret_seq)
{ return st->ops->revoked_since(st, after, cb, ud, ret_seq); }
static inline int gw_store_link_create(gw_store_t *st, const gw_link_t *l)
{ return st->ops->link_create(st, l); }
static inline int gw_store_link_by_id12(gw_store_t *st, const char *portal, const char *id12, gw_link_t *ret)
{ return st->ops->link_by_id12(st, portal, id12, ret); }
static inline int gw_store_link_by_account(gw_store_t *st, const char *portal, const char *acct, gw_link_t *ret)
{ return st->ops->link_by_account(st, portal, acct, ret); }
static inline int gw_store_link_delete(gw_store_t *st, const char *portal, const char *id12)
{ return st->ops->link_delete(st, portal, id12); }
static inline int gw_store_purge(gw_store_t *st) { return st->ops->purge(st); }
static inline void gw_store_close(gw_store_t *st) { if (st) st->ops->close(st); }

#endif
