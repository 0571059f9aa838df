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
#include "gw_memkv.h"
#include "gw_name.h"
#include "gw_util.h"

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

/* A legacy portal account (docs/domain.md sections 9 and 10). States: */
enum { GW_ACCT_UNVERIFIED = 0, GW_ACCT_VERIFIED = 1, GW_ACCT_LINKED = 2, GW_ACCT_MERGED = 3 };
#define GW_ACCT_FLAG_LEGACY_ENCODING                                                                                   \
    GW_NAME_LEGACY_ENCODING /* name looks like TCVN3/VNI bytes: an admin must convert */

typedef struct gw_account {
    char portal[65];
    char id[129]; /* the portal's account id */
    char username[129];
    char full_name[257]; /* UTF-8 as imported (NFC) */
    char name_key[257]; /* strict comparison key (gw_name_strict_key) */
    char birthdate[11]; /* YYYY-MM-DD or "" */
    char sex; /* 'M', 'F' or 0 */
    char cmnd9[10]; /* "" when none */
    char id12[33]; /* "" when none */
    int id12_verified; /* confirmed by the population DB, VNeID or the portal */
    char verified_by[17]; /* "import", "popdb", "vneid", "" */
    char email[129];
    char phone[33];
    char status[17]; /* portal's status, e.g. "active", "disabled" */
    char pw_hash[257]; /* imported password hash or "" */
    char account_class[17]; /* "individual" (default) or "organisation" */
    int state; /* GW_ACCT_* */
    char merged_into[129]; /* MERGED: the primary account id */
    unsigned flags; /* GW_ACCT_FLAG_* */
    int64_t updated;
} gw_account_t;

typedef struct gw_account_report {
    long total, with_id12, id12_verified, with_cmnd9, linked, merged, unverified, legacy_encoding;
    long duplicate_groups; /* verified ID numbers shared by more than one unmerged account */
    long duplicate_accounts;
} gw_account_report_t;

typedef struct gw_import_stats {
    long inserted, updated, unchanged;
} gw_import_stats_t;

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
    /* re-key: the link of old_id12 moves to new_id12 (a cancelled and re-issued number);
     * GW_ENOTFOUND without a link, GW_ECONFLICT when new_id12 is already linked */
    int (*link_rekey)(gw_store_t *st, const char *portal, const char *old_id12, const char *new_id12);
    int (*purge)(gw_store_t *st);
    /* group this thread's next operations into one atomic write, begun at the first of
     * them (so a batch of memory-only operations costs nothing; NULL where every
     * operation is its own round trip anyway); batch_end commits, or with commit 0
     * throws the batch's writes away. Batches nest: the outermost batch_end commits,
     * and only if no batch inside it ended with commit 0. */
    int (*batch_begin)(gw_store_t *st);
    int (*batch_end)(gw_store_t *st, int commit);
    /* batch_begin for an I/O thread: only if the batch can start at once (nothing else
     * writing, in this process or another), its transaction then open; GW_EAGAIN and
     * nothing begun otherwise. Nothing inside the batch waits then: the checkpoints its
     * commit makes due are left to `maintain`. NULL: never at once (a network store). */
    int (*batch_try_begin)(gw_store_t *st);
    /* upkeep the background thread runs every quarter second (NULL: none) */
    void (*maintain)(gw_store_t *st);
    /* live records of a namespace, soonest to expire first (a retried record is put again
     * with a fresh TTL, so it goes to the back); only the event outbox is listed */
    int (*list)(gw_store_t *st, const char *ns, size_t max, void (*cb)(const char *key, const char *val, void *ud),
                void *ud);
    /* counters for rate limits: add 1, set the TTL on first use, return the new value */
    int (*incr)(gw_store_t *st, const char *ns, const char *key, long ttl, int64_t *ret);
    /* give one back (a reserved attempt that did not happen); never below 0, TTL kept */
    int (*decr)(gw_store_t *st, const char *ns, const char *key);
    /* small sets with a TTL per member (the sessions of one citizen, so a lock can end
     * them all): add is atomic on its own, so concurrent adds never lose a member */
    int (*set_add)(gw_store_t *st, const char *ns, const char *key, const char *member, long ttl);
    /* live members of the set, at most max */
    int (*set_members)(gw_store_t *st, const char *ns, const char *key, size_t max,
                       void (*cb)(const char *member, void *ud), void *ud);
    /* legacy accounts (NULL in backends that do not hold them yet) */
    int (*import_begin)(gw_store_t *st, const char *portal);
    int (*import_row)(gw_store_t *st, const gw_account_t *a, gw_import_stats_t *stats);
    int (*import_end)(gw_store_t *st, int commit);
    int (*account_get)(gw_store_t *st, const char *portal, const char *id, gw_account_t *ret);
    int (*account_by_username)(gw_store_t *st, const char *portal, const char *username, gw_account_t *ret);
    /* One account of the portal that has a password hash (the first by id), or
     * GW_ENOTFOUND: its hash is the model of the stand-in check for unknown usernames. */
    int (*account_hash_model)(gw_store_t *st, const char *portal, gw_account_t *ret);
    /* unmerged accounts of the portal carrying this ID number (verified only if asked) */
    int (*accounts_by_id12)(gw_store_t *st, const char *portal, const char *id12, int verified_only, gw_account_t *ret,
                            size_t max, size_t *ret_n);
    /* unmerged accounts with this strict name key, a CMND and no ID number (candidates
     * for the population-DB check at a VNeID login) */
    int (*accounts_by_name_key)(gw_store_t *st, const char *portal, const char *name_key, gw_account_t *ret, size_t max,
                                size_t *ret_n);
    /* set state; id12/verified_by/merged_into are written when non-NULL */
    int (*account_update)(gw_store_t *st, const char *portal, const char *id, int state, const char *id12,
                          const char *verified_by, const char *merged_into);
    int (*account_report)(gw_store_t *st, const char *portal, gw_account_report_t *ret);
    /* accounts with a CMND and an ID number but no verification, id > after, ascending */
    int (*accounts_to_verify)(gw_store_t *st, const char *portal, const char *after, gw_account_t *ret, size_t max,
                              size_t *ret_n);
    /* one cheap round trip that shows the store answers (readiness): GW_OK or GW_ESTORE */
    int (*ping)(gw_store_t *st);
    void (*close)(gw_store_t *st);
} gw_store_ops_t;

struct gw_store {
    const gw_store_ops_t *ops;
    /* namespaces held in this process's memory instead (single-node stores only; see
     * gw_memkv.h); NULL when none. The wrappers below route by namespace. */
    gw_memkv_t *mem;
};

/* Moves the listed namespaces into memory (gw_store_open does not: the daemon asks for
 * it, the command-line tools do not). Takes ownership of mem. */
static inline void gw_store_set_memory(gw_store_t *st, gw_memkv_t *mem)
{
    gw_memkv_free(st->mem);
    st->mem = mem;
}
/* 1 when every operation on ns is in this process's memory and never blocks */
static inline int gw_store_local(const gw_store_t *st, const char *ns) { return gw_memkv_holds(st->mem, ns); }
#define GW_MEM(st, ns) ((st)->mem && gw_memkv_holds((st)->mem, (ns)))

/* driver "sqlite": path is the database file. driver "redis": path is the URL
 * (redis://[:password@]host:port[/db] or unix:///path[?db=N]) and the server must have
 * AOF persistence unless EIDGW_REDIS_ALLOW_VOLATILE=1 is set (tests). */
gw_store_t *gw_store_open(const char *driver, const char *path, char *err, size_t errlen);
/* The store a configuration names ([store] driver and its settings), without the memory
 * tier (the daemon adds it; command-line tools share state through the database only). */
struct gw_config;
gw_store_t *gw_store_open_config(const struct gw_config *cfg, char *err, size_t errlen);
/* What check-config asks of that store while a gateway may be running on it: nothing
 * written, created or locked. A SQLite file is a database this process can write (or
 * can be created); Redis answers as gw_store_open_config needs. 0, or -1 with err. */
int gw_store_check_config(const struct gw_config *cfg, char *err, size_t errlen);
/* Redis with every option; sentinels is a space-separated host:port list (url unused then). */
gw_store_t *gw_store_open_redis(const char *url, const char *password, const char *sentinels, const char *master,
                                int allow_volatile, char *err, size_t errlen);

/* put: GW_OK; with only_if_absent, GW_ECONFLICT when a live record exists.
 * get/take: GW_OK and a malloc'd value, or GW_ENOTFOUND (also when expired).
 * take: get and delete in one step: of two concurrent takers exactly one gets the value.
 * link_create: GW_OK, or GW_ECONFLICT when the ID number or the account is already linked
 * in that portal (nothing is written then). */
static inline int gw_store_put(gw_store_t *st, const char *ns, const char *key, const char *val, long ttl, int nx)
{
    return GW_MEM(st, ns) ? gw_memkv_put(st->mem, ns, key, val, ttl, nx) : st->ops->put(st, ns, key, val, ttl, nx);
}
static inline int gw_store_get(gw_store_t *st, const char *ns, const char *key, char **ret)
{
    return GW_MEM(st, ns) ? gw_memkv_get(st->mem, ns, key, ret) : st->ops->get(st, ns, key, ret);
}
static inline int gw_store_take(gw_store_t *st, const char *ns, const char *key, char **ret)
{
    return GW_MEM(st, ns) ? gw_memkv_take(st->mem, ns, key, ret) : st->ops->take(st, ns, key, ret);
}
static inline int gw_store_del(gw_store_t *st, const char *ns, const char *key)
{
    return GW_MEM(st, ns) ? gw_memkv_del(st->mem, ns, key) : st->ops->del(st, ns, key);
}
static inline int gw_store_revoke(gw_store_t *st, const char *sid, int64_t until)
{
    return st->ops->revoke(st, sid, until);
}
static inline int gw_store_revoked_since(gw_store_t *st, int64_t after, gw_store_revoked_cb cb, void *ud,
                                         int64_t *ret_seq)
{
    return st->ops->revoked_since(st, after, cb, ud, ret_seq);
}
static inline int gw_store_link_create(gw_store_t *st, const gw_link_t *l) { return st->ops->link_create(st, l); }
static inline int gw_store_link_by_id12(gw_store_t *st, const char *portal, const char *id12, gw_link_t *ret)
{
    return st->ops->link_by_id12(st, portal, id12, ret);
}
static inline int gw_store_link_by_account(gw_store_t *st, const char *portal, const char *acct, gw_link_t *ret)
{
    return st->ops->link_by_account(st, portal, acct, ret);
}
static inline int gw_store_link_delete(gw_store_t *st, const char *portal, const char *id12)
{
    return st->ops->link_delete(st, portal, id12);
}
static inline int gw_store_link_rekey(gw_store_t *st, const char *portal, const char *old_id12, const char *new_id12)
{
    return st->ops->link_rekey(st, portal, old_id12, new_id12);
}
/* May block (a round trip to the backend): worker threads only. */
static inline int gw_store_ping(gw_store_t *st) { return st->ops->ping ? st->ops->ping(st) : GW_OK; }
static inline int gw_store_purge(gw_store_t *st)
{
    gw_memkv_purge(st->mem);
    return st->ops->purge(st);
}
static inline int gw_store_batch_begin(gw_store_t *st) { return st->ops->batch_begin ? st->ops->batch_begin(st) : 0; }
static inline int gw_store_batch_try_begin(gw_store_t *st)
{
    return st->ops->batch_try_begin ? st->ops->batch_try_begin(st) : GW_EAGAIN;
}
static inline void gw_store_maintain(gw_store_t *st)
{
    if (st->ops->maintain)
        st->ops->maintain(st);
}
static inline int gw_store_batch_end(gw_store_t *st, int commit)
{
    return st->ops->batch_end ? st->ops->batch_end(st, commit) : 0;
}
static inline int gw_store_list(gw_store_t *st, const char *ns, size_t max,
                                void (*cb)(const char *key, const char *val, void *ud), void *ud)
{
    return GW_MEM(st, ns) ? gw_memkv_list(st->mem, ns, max, cb, ud) : st->ops->list(st, ns, max, cb, ud);
}
static inline int gw_store_incr(gw_store_t *st, const char *ns, const char *key, long ttl, int64_t *ret)
{
    return GW_MEM(st, ns) ? gw_memkv_incr(st->mem, ns, key, ttl, ret) : st->ops->incr(st, ns, key, ttl, ret);
}
static inline int gw_store_decr(gw_store_t *st, const char *ns, const char *key)
{
    return GW_MEM(st, ns) ? gw_memkv_decr(st->mem, ns, key) : st->ops->decr(st, ns, key);
}
static inline int gw_store_set_add(gw_store_t *st, const char *ns, const char *key, const char *member, long ttl)
{
    return st->ops->set_add(st, ns, key, member, ttl);
}
static inline int gw_store_set_members(gw_store_t *st, const char *ns, const char *key, size_t max,
                                       void (*cb)(const char *member, void *ud), void *ud)
{
    return st->ops->set_members(st, ns, key, max, cb, ud);
}
/* JSON records. On a namespace held in memory the parsed object itself is kept (put
 * stores a copy, get returns a copy, take hands the record over); elsewhere the record is
 * compact JSON text. get: GW_OK with a new reference in *ret, GW_ENOTFOUND, GW_ESTORE, or
 * GW_EINVAL for a record that is not JSON. */
int gw_store_put_json(gw_store_t *st, const char *ns, const char *key, json_t *j, long ttl, int only_if_absent);
int gw_store_get_json(gw_store_t *st, const char *ns, const char *key, int take, json_t **ret);
/* Account operations: GW_EINVAL when the backend does not hold accounts. Import is
 * begin, rows, end(commit) on one thread: all rows land or none. */
#define GW_STORE_ACCT(st, op, ...) ((st)->ops->op ? (st)->ops->op((st), __VA_ARGS__) : GW_EINVAL)
static inline void gw_store_close(gw_store_t *st)
{
    if (st) {
        gw_memkv_free(st->mem);
        st->mem = NULL;
        st->ops->close(st);
    }
}

#endif
