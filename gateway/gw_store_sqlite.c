/* SQLite backend: one database file in WAL mode, one connection per thread (opened on
 * first use), prepared statements kept per connection. UNIQUE constraints carry the
 * one-account rule; DELETE ... RETURNING makes "take" a single atomic statement. */
#include "gw_store.h"
#include "gw_util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    Q_PUT, Q_PUT_NX_CLEAN, Q_PUT_NX, Q_GET, Q_TAKE, Q_DEL, Q_REVOKE, Q_REVOKED, Q_LINK_ADD,
    Q_LINK_ID12, Q_LINK_ACCT, Q_LINK_DEL, Q_PURGE_KV, Q_PURGE_REV, Q_COUNT
};

static const char *SQL[Q_COUNT] = {
    [Q_PUT] = "INSERT INTO kv(ns,k,v,exp) VALUES(?1,?2,?3,?4) "
              "ON CONFLICT(ns,k) DO UPDATE SET v=excluded.v, exp=excluded.exp",
    [Q_PUT_NX_CLEAN] = "DELETE FROM kv WHERE ns=?1 AND k=?2 AND exp<=?3",
    [Q_PUT_NX] = "INSERT OR IGNORE INTO kv(ns,k,v,exp) VALUES(?1,?2,?3,?4)",
    [Q_GET] = "SELECT v FROM kv WHERE ns=?1 AND k=?2 AND exp>?3",
    [Q_TAKE] = "DELETE FROM kv WHERE ns=?1 AND k=?2 RETURNING v, exp",
    [Q_DEL] = "DELETE FROM kv WHERE ns=?1 AND k=?2",
    [Q_REVOKE] = "INSERT INTO revoked(sid,until) VALUES(?1,?2)",
    [Q_REVOKED] = "SELECT seq,sid,until FROM revoked WHERE seq>?1 ORDER BY seq LIMIT 10000",
    [Q_LINK_ADD] = "INSERT INTO links(portal,id12,account,created) VALUES(?1,?2,?3,?4)",
    [Q_LINK_ID12] = "SELECT portal,id12,account,created FROM links WHERE portal=?1 AND id12=?2",
    [Q_LINK_ACCT] = "SELECT portal,id12,account,created FROM links WHERE portal=?1 AND account=?2",
    [Q_LINK_DEL] = "DELETE FROM links WHERE portal=?1 AND id12=?2",
    [Q_PURGE_KV] = "DELETE FROM kv WHERE exp<=?1",
    [Q_PURGE_REV] = "DELETE FROM revoked WHERE until<=?1",
};

static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS kv(ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL,"
    " exp INTEGER NOT NULL, PRIMARY KEY(ns,k)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS kv_exp ON kv(exp);"
    "CREATE TABLE IF NOT EXISTS revoked(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " sid TEXT NOT NULL, until INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS links(portal TEXT NOT NULL, id12 TEXT NOT NULL,"
    " account TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY(portal,id12),"
    " UNIQUE(portal,account));";

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[Q_COUNT];
    struct conn *next;
} conn_t;

typedef struct sq_store {
    gw_store_t base;
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards the list of all connections */
    conn_t *all;
} sq_store_t;

static void conn_close(conn_t *c)
{
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

static conn_t *conn_open(sq_store_t *s, char *err, size_t errlen)
{
    conn_t *c = gw_xcalloc(1, sizeof(*c));
    int rc = sqlite3_open_v2(s->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto bad;
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_exec(c->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
        goto bad;
    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    for (int i = 0; i < Q_COUNT; i++)
        if (sqlite3_prepare_v3(c->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) != SQLITE_OK)
            goto bad;
    return c;
bad:
    if (err)
        snprintf(err, errlen, "%s: sqlite: %s", s->path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
    conn_close(c);
    return NULL;
}

static conn_t *conn_get(sq_store_t *s)
{
    conn_t *c = pthread_getspecific(s->key);
    if (c)
        return c;
    c = conn_open(s, NULL, 0);
    if (!c)
        return NULL;
    pthread_setspecific(s->key, c);
    pthread_mutex_lock(&s->lock);
    c->next = s->all;
    s->all = c;
    pthread_mutex_unlock(&s->lock);
    return c;
}

static sqlite3_stmt *stmt(conn_t *c, int q)
{
    sqlite3_stmt *st = c->st[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) { sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC); }

static int sq_put(gw_store_t *b, const char *ns, const char *key, const char *val, long ttl, int nx)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    int64_t now = gw_now();
    int rc = GW_OK;
    if (nx) {
        if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return GW_ESTORE;
        sqlite3_stmt *st = stmt(c, Q_PUT_NX_CLEAN);
        bind_text(st, 1, ns);
        bind_text(st, 2, key);
        sqlite3_bind_int64(st, 3, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = GW_ESTORE;
        st = stmt(c, Q_PUT_NX);
        bind_text(st, 1, ns);
        bind_text(st, 2, key);
        bind_text(st, 3, val);
        sqlite3_bind_int64(st, 4, now + ttl);
        if (rc == GW_OK && sqlite3_step(st) != SQLITE_DONE)
            rc = GW_ESTORE;
        if (rc == GW_OK && sqlite3_changes(c->db) == 0)
            rc = GW_ECONFLICT;
        sqlite3_reset(st);
        if (sqlite3_exec(c->db, rc == GW_ESTORE ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = GW_ESTORE;
        return rc;
    }
    sqlite3_stmt *st = stmt(c, Q_PUT);
    bind_text(st, 1, ns);
    bind_text(st, 2, key);
    bind_text(st, 3, val);
    sqlite3_bind_int64(st, 4, now + ttl);
    rc = sqlite3_step(st) == SQLITE_DONE ? GW_OK : GW_ESTORE;
    sqlite3_reset(st);
    return rc;
}

static int sq_get(gw_store_t *b, const char *ns, const char *key, char **ret)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_GET);
    bind_text(st, 1, ns);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, gw_now());
    int r = sqlite3_step(st), rc;
    if (r == SQLITE_ROW) {
        *ret = gw_strdup((const char *)sqlite3_column_text(st, 0));
        rc = GW_OK;
    } else {
        rc = r == SQLITE_DONE ? GW_ENOTFOUND : GW_ESTORE;
    }
    sqlite3_reset(st);
    return rc;
}

static int sq_take(gw_store_t *b, const char *ns, const char *key, char **ret)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_TAKE);
    bind_text(st, 1, ns);
    bind_text(st, 2, key);
    int r = sqlite3_step(st), rc;
    char *v = NULL;
    if (r == SQLITE_ROW) {
        int64_t exp = sqlite3_column_int64(st, 1);
        if (exp > gw_now())
            v = gw_strdup((const char *)sqlite3_column_text(st, 0));
        r = sqlite3_step(st);
    }
    rc = r == SQLITE_DONE ? (v ? GW_OK : GW_ENOTFOUND) : GW_ESTORE;
    sqlite3_reset(st);
    if (rc == GW_OK)
        *ret = v;
    else
        free(v);
    return rc;
}

static int exec_simple(gw_store_t *b, int q, const char *a1, const char *a2, int64_t i3)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, q);
    if (a1)
        bind_text(st, 1, a1);
    if (a2)
        bind_text(st, 2, a2);
    if (i3 >= 0)
        sqlite3_bind_int64(st, a1 ? (a2 ? 3 : 2) : 1, i3);
    int rc = sqlite3_step(st) == SQLITE_DONE ? GW_OK : GW_ESTORE;
    sqlite3_reset(st);
    return rc;
}

static int sq_del(gw_store_t *b, const char *ns, const char *key) { return exec_simple(b, Q_DEL, ns, key, -1); }

static int sq_revoke(gw_store_t *b, const char *sid, int64_t until) { return exec_simple(b, Q_REVOKE, sid, NULL, until); }

static int sq_revoked_since(gw_store_t *b, int64_t after, gw_store_revoked_cb cb, void *ud, int64_t *ret_seq)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_REVOKED);
    sqlite3_bind_int64(st, 1, after);
    int64_t seq = after;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        cb((const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2), ud);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return GW_ESTORE;
    *ret_seq = seq;
    return GW_OK;
}

static int sq_link_create(gw_store_t *b, const gw_link_t *l)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_LINK_ADD);
    bind_text(st, 1, l->portal);
    bind_text(st, 2, l->id12);
    bind_text(st, 3, l->account);
    sqlite3_bind_int64(st, 4, l->created ? l->created : gw_now());
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE ? GW_OK : (r == SQLITE_CONSTRAINT ? GW_ECONFLICT : GW_ESTORE);
    sqlite3_reset(st);
    return rc;
}

static int link_query(gw_store_t *b, int q, const char *portal, const char *key, gw_link_t *ret)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, q);
    bind_text(st, 1, portal);
    bind_text(st, 2, key);
    int r = sqlite3_step(st), rc;
    if (r == SQLITE_ROW) {
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->portal, sizeof(ret->portal), "%s", sqlite3_column_text(st, 0));
        snprintf(ret->id12, sizeof(ret->id12), "%s", sqlite3_column_text(st, 1));
        snprintf(ret->account, sizeof(ret->account), "%s", sqlite3_column_text(st, 2));
        ret->created = sqlite3_column_int64(st, 3);
        rc = GW_OK;
    } else {
        rc = r == SQLITE_DONE ? GW_ENOTFOUND : GW_ESTORE;
    }
    sqlite3_reset(st);
    return rc;
}

static int sq_link_by_id12(gw_store_t *b, const char *p, const char *id12, gw_link_t *ret)
{ return link_query(b, Q_LINK_ID12, p, id12, ret); }
static int sq_link_by_account(gw_store_t *b, const char *p, const char *a, gw_link_t *ret)
{ return link_query(b, Q_LINK_ACCT, p, a, ret); }
static int sq_link_delete(gw_store_t *b, const char *p, const char *id12)
{ return exec_simple(b, Q_LINK_DEL, p, id12, -1); }

static int sq_purge(gw_store_t *b)
{
    int64_t now = gw_now();
    int rc = exec_simple(b, Q_PURGE_KV, NULL, NULL, now);
    return rc ? rc : exec_simple(b, Q_PURGE_REV, NULL, NULL, now);
}

static void sq_close(gw_store_t *b)
{
    sq_store_t *s = (sq_store_t *)b;
    conn_t *c = s->all;
    while (c) {
        conn_t *n = c->next;
        conn_close(c);
        c = n;
    }
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

static const gw_store_ops_t sqlite_ops = {
    .name = "sqlite", .put = sq_put, .get = sq_get, .take = sq_take, .del = sq_del,
    .revoke = sq_revoke, .revoked_since = sq_revoked_since, .link_create = sq_link_create,
    .link_by_id12 = sq_link_by_id12, .link_by_account = sq_link_by_account,
    .link_delete = sq_link_delete, .purge = sq_purge, .close = sq_close,
};

gw_store_t *gw_store_open(const char *driver, const char *path, char *err, size_t errlen)
{
    if (!strcmp(driver, "redis")) {
        const char *v = getenv("EIDGW_REDIS_ALLOW_VOLATILE");
        return gw_store_open_redis(path, NULL, NULL, NULL, v && !strcmp(v, "1"), err, errlen);
    }
    if (strcmp(driver, "sqlite")) {
        snprintf(err, errlen, "store driver '%s' is not available", driver);
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        snprintf(err, errlen, "sqlite was built without thread support");
        return NULL;
    }
    sq_store_t *s = gw_xcalloc(1, sizeof(*s));
    s->base.ops = &sqlite_ops;
    s->path = gw_strdup(path);
    pthread_key_create(&s->key, NULL);
    pthread_mutex_init(&s->lock, NULL);
    /* open once now so a bad path or a corrupt file stops start-up with a message */
    conn_t *c = conn_open(s, err, errlen);
    if (!c) {
        pthread_key_delete(s->key);
        pthread_mutex_destroy(&s->lock);
        free(s->path);
        free(s);
        return NULL;
    }
    conn_close(c);
    return &s->base;
}
