/* SQLite backend: one database file in WAL mode. Every write and every batch goes
 * through one write connection, taken under a mutex; reads outside a batch use a
 * connection per thread (opened on first use). Prepared statements are kept per
 * connection. UNIQUE constraints carry the one-account rule; DELETE ... RETURNING makes
 * "take" a single atomic statement.
 *
 * Why one write connection: SQLite lets one writer in at a time anyway, and with a
 * connection per thread the others waited in SQLite's busy handler, which sleeps 1, 2,
 * 5, 10 ms and more between tries, and each commit emptied every other connection's page
 * cache, so the next write transaction re-read its B-tree pages. Under the mutex a
 * waiting thread runs as soon as the writer is done, and the write connection's cache
 * stays warm. */
#include "gw_store.h"
#include "gw_util.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    Q_PUT,
    Q_PUT_NX_CLEAN,
    Q_PUT_NX,
    Q_GET,
    Q_TAKE,
    Q_DEL,
    Q_REVOKE,
    Q_REVOKED,
    Q_LINK_ADD,
    Q_LINK_ID12,
    Q_LINK_ACCT,
    Q_LINK_DEL,
    Q_PURGE_KV,
    Q_PURGE_REV,
    Q_INCR,
    Q_ACCT_GET,
    Q_ACCT_UPSERT,
    Q_ACCT_BY_ID,
    Q_ACCT_BY_USER,
    Q_ACCT_MODEL,
    Q_ACCT_BY_ID12,
    Q_ACCT_BY_ID12_V,
    Q_ACCT_UPDATE,
    Q_ACCT_TO_VERIFY,
    Q_LINK_REKEY,
    Q_LIST,
    Q_DECR,
    Q_ACCT_BY_NAME,
    Q_SET_ADD,
    Q_SET_MEMBERS,
    Q_PURGE_SET,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_COUNT
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
    [Q_ACCT_BY_NAME] = "SELECT "
                       "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,"
                       "phone,status,pw_hash,account_class,state,merged_into,flags,updated FROM accounts INDEXED BY "
                       "accounts_name WHERE portal=?1 AND name_key=?2"
                       " AND cmnd9<>'' AND id12='' AND state=0 ORDER BY id LIMIT ?3",
    [Q_DECR] = "UPDATE kv SET v=CAST(max(CAST(v AS INTEGER)-1,0) AS TEXT) WHERE ns=?1 AND k=?2 AND exp>?3",
    [Q_LIST] = "SELECT k,v FROM kv WHERE ns=?1 AND exp>?2 ORDER BY exp LIMIT ?3",
    [Q_LINK_REKEY] = "UPDATE links SET id12=?3 WHERE portal=?1 AND id12=?2",
    [Q_PURGE_KV] = "DELETE FROM kv WHERE exp<=?1",
    [Q_SET_ADD] = "INSERT INTO sets(ns,k,m,exp) VALUES(?1,?2,?3,?4) ON CONFLICT(ns,k,m) DO UPDATE SET exp=excluded.exp",
    [Q_SET_MEMBERS] = "SELECT m FROM sets WHERE ns=?1 AND k=?2 AND exp>?3 ORDER BY exp LIMIT ?4",
    [Q_PURGE_SET] = "DELETE FROM sets WHERE exp<=?1",
    /* prepared once like the rest: sqlite3_exec would compile them on every transaction */
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_PURGE_REV] = "DELETE FROM revoked WHERE until<=?1",
    [Q_INCR] = "INSERT INTO kv(ns,k,v,exp) VALUES(?1,?2,'1',?3) ON CONFLICT(ns,k) DO UPDATE SET "
               "v = CASE WHEN exp<=?4 THEN '1' ELSE CAST(CAST(v AS INTEGER)+1 AS TEXT) END, "
               "exp = CASE WHEN exp<=?4 THEN excluded.exp ELSE exp END RETURNING v",
    [Q_ACCT_GET] =
        "SELECT "
        "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,phone,status,"
        "pw_hash,account_class,state,merged_into,flags,updated FROM accounts WHERE portal=?1 AND id=?2",
    [Q_ACCT_UPSERT] = "INSERT INTO "
                      "accounts(portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_"
                      "by,email,phone,status,pw_hash,account_class,state,merged_into,flags,updated) "
                      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20) "
                      "ON CONFLICT(portal,id) DO UPDATE SET username=excluded.username, full_name=excluded.full_name,"
                      " name_key=excluded.name_key, birthdate=excluded.birthdate, sex=excluded.sex,"
                      " cmnd9=excluded.cmnd9, id12=excluded.id12, id12_verified=excluded.id12_verified,"
                      " verified_by=excluded.verified_by, email=excluded.email, phone=excluded.phone,"
                      " status=excluded.status, pw_hash=excluded.pw_hash, account_class=excluded.account_class,"
                      " flags=excluded.flags, updated=excluded.updated,"
                      " state=CASE WHEN accounts.state>=2 THEN accounts.state ELSE excluded.state END",
    [Q_ACCT_BY_ID] =
        "SELECT "
        "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,phone,status,"
        "pw_hash,account_class,state,merged_into,flags,updated FROM accounts WHERE portal=?1 AND id=?2",
    [Q_ACCT_BY_USER] = "SELECT "
                       "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,"
                       "phone,status,pw_hash,account_class,state,merged_into,flags,updated FROM accounts INDEXED BY "
                       "accounts_user WHERE portal=?1 AND username=?2",
    [Q_ACCT_MODEL] = "SELECT "
                     "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,"
                     "phone,status,pw_hash,account_class,state,merged_into,flags,updated FROM accounts WHERE portal=?1"
                     " AND id>?2 AND pw_hash<>'' ORDER BY id LIMIT 1",
    [Q_ACCT_BY_ID12] = "SELECT "
                       "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,"
                       "phone,status,pw_hash,account_class,state,merged_into,flags,updated FROM accounts INDEXED BY "
                       "accounts_id12 WHERE portal=?1 AND id12=?2 AND state<>3 ORDER BY id LIMIT ?3",
    [Q_ACCT_BY_ID12_V] =
        "SELECT "
        "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,email,phone,status,"
        "pw_hash,account_class,state,merged_into,flags,updated FROM accounts INDEXED BY accounts_id12 WHERE portal=?1 "
        "AND id12=?2 AND id12_verified=1 AND state IN (0,1) ORDER BY id LIMIT ?3",
    [Q_ACCT_UPDATE] = "UPDATE accounts SET state=?3, id12=COALESCE(?4,id12), id12_verified=CASE WHEN ?4 IS NULL THEN "
                      "id12_verified ELSE 1 END,"
                      " verified_by=COALESCE(?5,verified_by), merged_into=COALESCE(?6,merged_into), updated=?7 WHERE "
                      "portal=?1 AND id=?2",
    [Q_ACCT_TO_VERIFY] = "SELECT "
                         "portal,id,username,full_name,name_key,birthdate,sex,cmnd9,id12,id12_verified,verified_by,"
                         "email,phone,status,pw_hash,account_class,state,merged_into,flags,updated FROM accounts WHERE "
                         "portal=?1 AND id>?2 AND cmnd9<>'' AND id12<>'' AND id12_verified=0"
                         " AND state=0 ORDER BY id LIMIT ?3",
};

static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS kv(ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL,"
    " exp INTEGER NOT NULL, PRIMARY KEY(ns,k)) WITHOUT ROWID;"
    "DROP INDEX IF EXISTS kv_exp;" /* every write paid for it; purge scans a small table */
    "CREATE TABLE IF NOT EXISTS sets(ns TEXT NOT NULL, k TEXT NOT NULL, m TEXT NOT NULL,"
    " exp INTEGER NOT NULL, PRIMARY KEY(ns,k,m)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS revoked(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " sid TEXT NOT NULL, until INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS links(portal TEXT NOT NULL, id12 TEXT NOT NULL,"
    " account TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY(portal,id12),"
    " UNIQUE(portal,account));"
    "CREATE TABLE IF NOT EXISTS accounts(portal TEXT NOT NULL, id TEXT NOT NULL, username TEXT NOT NULL,"
    " full_name TEXT NOT NULL, name_key TEXT NOT NULL, birthdate TEXT NOT NULL, sex TEXT NOT NULL,"
    " cmnd9 TEXT NOT NULL, id12 TEXT NOT NULL, id12_verified INTEGER NOT NULL, verified_by TEXT NOT NULL,"
    " email TEXT NOT NULL, phone TEXT NOT NULL, status TEXT NOT NULL, pw_hash TEXT NOT NULL,"
    " account_class TEXT NOT NULL, state INTEGER NOT NULL, merged_into TEXT NOT NULL, flags INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, PRIMARY KEY(portal,id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS accounts_id12 ON accounts(portal,id12);"
    "CREATE INDEX IF NOT EXISTS accounts_user ON accounts(portal,username);"
    "CREATE INDEX IF NOT EXISTS accounts_name ON accounts(portal,name_key);";

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
    pthread_mutex_t wlock; /* held by the thread that uses the write connection */
    conn_t *writer; /* opened on first use, under wlock */
    atomic_int checkpoint_due; /* 1: the WAL has passed CHECKPOINT_FRAMES, 2: WAL_CAP_FRAMES */
} sq_store_t;

#define CHECKPOINT_FRAMES 4000
/* A passive checkpoint runs while other commits land, and the WAL restarts from its
 * beginning only when a write finds it wholly copied back: under steady writes it could
 * keep growing. Past this many frames the writer restarts it itself, under the mutex. */
#define WAL_CAP_FRAMES (4 * CHECKPOINT_FRAMES)

#define BUSY_TIMEOUT_MS 5000

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
    /* a new database is its owner's only (SQLite gives its -wal and -shm files the same
     * mode): it holds ID numbers, names, birth dates and password hashes */
    int fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    int rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto bad;
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS); /* other processes: the CLI, other gateways */
    if (sqlite3_exec(c->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
        goto bad;
    /* WAL + NORMAL: a commit survives a crash of the process (the kernel has it); fsync
     * happens at checkpoints (writer_leave). No mmap: the file grows all the time and every
     * remap cost more (munmap) than the reads it saved. A 2 MB page cache per read
     * connection (one per worker thread; the write connection takes 16 MB); a WAL file
     * left larger than 64 MB is cut back when it restarts. */
    sqlite3_exec(c->db,
                 "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-2048; PRAGMA journal_size_limit=67108864;"
                 " PRAGMA temp_store=MEMORY",
                 NULL, NULL, NULL);
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

/* A batch asked for on this thread (batch_begin) starts at its first operation: a
 * handler whose records all live in memory never touches the database at all. */
static int tx(conn_t *c, int q);

static __thread struct {
    sq_store_t *batch_of;
    int batch_depth, batch_abort; /* batches nest: the outermost one commits */
    int batch_began; /* its transaction is open on the write connection */
    int importing; /* sq_import_begin holds the write connection */
    /* The write connection, while this thread holds it: a write operation holds it for
     * its statements, a batch or an import from its first operation to its end. */
    sq_store_t *writer_of;
    int writer_depth;
    int no_checkpoint; /* taken by batch_try_begin: its end leaves the checkpoints to maintain */
} tl;

static conn_t *reader_get(sq_store_t *s)
{
    conn_t *c = pthread_getspecific(s->key);
    if (!c) {
        c = conn_open(s, NULL, 0);
        if (!c)
            return NULL;
        pthread_setspecific(s->key, c);
        pthread_mutex_lock(&s->lock);
        c->next = s->all;
        s->all = c;
        pthread_mutex_unlock(&s->lock);
    }
    return c;
}

/* The write connection checkpoints out of the mutex (writer_leave), not in its commits. */
static int on_wal_commit(void *ud, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    if (frames >= CHECKPOINT_FRAMES)
        atomic_store(&((sq_store_t *)ud)->checkpoint_due, frames >= WAL_CAP_FRAMES ? 2 : 1);
    return SQLITE_OK;
}

static conn_t *writer_open(sq_store_t *s)
{
    conn_t *c = conn_open(s, NULL, 0);
    if (c) {
        sqlite3_exec(c->db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
        sqlite3_wal_hook(c->db, on_wal_commit, s); /* replaces its automatic checkpoints */
    }
    return c;
}

/* Waits for the write connection at most as long as SQLite would wait for another
 * process's lock: a write that cannot start gets a store error, not a hang. */
static conn_t *writer_enter(sq_store_t *s)
{
    if (tl.writer_of == s) {
        tl.writer_depth++;
        return s->writer;
    }
    if (tl.writer_of)
        return NULL; /* one store at a time */
    struct timespec until; /* monotonic: a step of the wall clock neither cuts nor stretches the wait */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += BUSY_TIMEOUT_MS / 1000;
    int r;
    while ((r = pthread_mutex_clocklock(&s->wlock, CLOCK_MONOTONIC, &until)) == EINTR)
        ;
    if (r)
        return NULL;
    if (!s->writer && !(s->writer = writer_open(s))) {
        pthread_mutex_unlock(&s->wlock);
        return NULL;
    }
    /* what is left of the wait goes to SQLite's busy handler (another process's lock):
     * a write waits at most BUSY_TIMEOUT_MS in all, queued here or there */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = (long)(until.tv_sec - now.tv_sec) * 1000 + (until.tv_nsec - now.tv_nsec) / 1000000;
    sqlite3_busy_timeout(s->writer->db, left > 0 ? (int)left : 1);
    tl.writer_of = s;
    tl.writer_depth = 1;
    return s->writer;
}

static void writer_leave(sq_store_t *s)
{
    if (tl.writer_of != s || --tl.writer_depth > 0)
        return;
    tl.writer_of = NULL;
    if (!sqlite3_get_autocommit(s->writer->db)) /* never hand on an open transaction */
        tx(s->writer, Q_ROLLBACK);
    int due = tl.no_checkpoint ? 0 : atomic_exchange(&s->checkpoint_due, 0);
    tl.no_checkpoint = 0;
    if (due == 2) /* the next write starts the WAL over (readers get the busy timeout to finish) */
        sqlite3_wal_checkpoint_v2(s->writer->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    pthread_mutex_unlock(&s->wlock);
    /* the usual checkpoint (copying the WAL into the database, with its fsync) runs here,
     * out of the mutex, on this thread's read connection: other writes go on meanwhile */
    if (due == 1) {
        conn_t *c = reader_get(s);
        if (c)
            sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
}

/* The connection for this thread's next statement: the write connection inside a batch
 * (whose transaction starts here, at its first operation) or a write operation, else
 * this thread's own read connection. */
static conn_t *conn_get(sq_store_t *s)
{
    if (tl.batch_of == s && !tl.batch_began) {
        if (!writer_enter(s))
            return NULL;
        if (tx(s->writer, Q_BEGIN) != SQLITE_OK) {
            writer_leave(s);
            return NULL;
        }
        tl.batch_began = 1;
    }
    return tl.writer_of == s ? s->writer : reader_get(s);
}

static sqlite3_stmt *stmt(conn_t *c, int q)
{
    sqlite3_stmt *st = c->st[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) { sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC); }

/* BEGIN IMMEDIATE, COMMIT or ROLLBACK on c. Returns SQLITE_OK or the error. */
static int tx(conn_t *c, int q)
{
    sqlite3_stmt *st = c->st[q];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int sq_put(gw_store_t *b, const char *ns, const char *key, const char *val, long ttl, int nx)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    int64_t now = gw_now();
    int rc = GW_OK;
    if (nx) {
        int own = sqlite3_get_autocommit(c->db); /* inside a batch the batch is the transaction */
        if (own && tx(c, Q_BEGIN) != SQLITE_OK)
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
        if (own && tx(c, rc == GW_ESTORE ? Q_ROLLBACK : Q_COMMIT) != SQLITE_OK)
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

static int sq_revoke(gw_store_t *b, const char *sid, int64_t until)
{
    return exec_simple(b, Q_REVOKE, sid, NULL, until);
}

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
{
    return link_query(b, Q_LINK_ID12, p, id12, ret);
}
static int sq_link_by_account(gw_store_t *b, const char *p, const char *a, gw_link_t *ret)
{
    return link_query(b, Q_LINK_ACCT, p, a, ret);
}
static int sq_link_delete(gw_store_t *b, const char *p, const char *id12)
{
    return exec_simple(b, Q_LINK_DEL, p, id12, -1);
}

static int sq_link_rekey(gw_store_t *b, const char *p, const char *old_id12, const char *new_id12)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_LINK_REKEY);
    bind_text(st, 1, p);
    bind_text(st, 2, old_id12);
    bind_text(st, 3, new_id12);
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE         ? (sqlite3_changes(c->db) ? GW_OK : GW_ENOTFOUND)
             : r == SQLITE_CONSTRAINT ? GW_ECONFLICT
                                      : GW_ESTORE;
    sqlite3_reset(st);
    return rc;
}

static int sq_list(gw_store_t *b, const char *ns, size_t max, void (*cb)(const char *, const char *, void *), void *ud)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_LIST);
    bind_text(st, 1, ns);
    sqlite3_bind_int64(st, 2, gw_now());
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    /* copy rows first: the callback may write to the store */
    size_t n = 0, cap = 16;
    char **keys = gw_xcalloc(cap, sizeof(char *)), **vals = gw_xcalloc(cap, sizeof(char *));
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            keys = realloc(keys, cap * sizeof(char *));
            vals = realloc(vals, cap * sizeof(char *));
            if (!keys || !vals)
                abort();
        }
        keys[n] = gw_strdup((const char *)sqlite3_column_text(st, 0));
        vals[n] = gw_strdup((const char *)sqlite3_column_text(st, 1));
        n++;
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        if (r == SQLITE_DONE)
            cb(keys[i], vals[i], ud);
        free(keys[i]);
        free(vals[i]);
    }
    free(keys);
    free(vals);
    return r == SQLITE_DONE ? GW_OK : GW_ESTORE;
}

/* One write transaction for a handler's few operations: one WAL commit instead of one
 * per statement. */
static int sq_batch_begin(gw_store_t *b)
{
    if (tl.batch_of == (sq_store_t *)b) {
        tl.batch_depth++;
        return GW_OK;
    }
    if (tl.batch_of)
        return GW_EINVAL; /* one store at a time */
    tl.batch_of = (sq_store_t *)b;
    tl.batch_depth = 1;
    tl.batch_abort = 0;
    return GW_OK;
}

static int sq_batch_try_begin(gw_store_t *b)
{
    sq_store_t *s = (sq_store_t *)b;
    if (tl.batch_of || tl.writer_of || tl.importing)
        return GW_EAGAIN;
    if (pthread_mutex_trylock(&s->wlock))
        return GW_EAGAIN; /* another thread writes */
    if (!s->writer) { /* opening it runs the schema, with the busy timeout: on a worker */
        pthread_mutex_unlock(&s->wlock);
        return GW_EAGAIN;
    }
    sqlite3_busy_timeout(s->writer->db, 0); /* another process writes: SQLITE_BUSY at once */
    if (tx(s->writer, Q_BEGIN) != SQLITE_OK) {
        pthread_mutex_unlock(&s->wlock);
        return GW_EAGAIN;
    }
    tl.writer_of = s;
    tl.writer_depth = 1;
    tl.no_checkpoint = 1;
    sq_batch_begin(b);
    tl.batch_began = 1; /* its transaction is open already */
    return GW_OK;
}

/* The checkpoints the commits of batch_try_begin left due, from the background thread. */
static void sq_maintain(gw_store_t *b)
{
    sq_store_t *s = (sq_store_t *)b;
    if (!atomic_load(&s->checkpoint_due) || tl.writer_of)
        return;
    if (writer_enter(s))
        writer_leave(s);
}

static int sq_batch_end(gw_store_t *b, int commit)
{
    sq_store_t *s = (sq_store_t *)b;
    if (tl.batch_of != s)
        return GW_OK;
    if (!commit)
        tl.batch_abort = 1; /* an inner batch that failed takes the whole transaction with it */
    if (--tl.batch_depth > 0)
        return GW_OK;
    tl.batch_of = NULL;
    if (!tl.batch_began)
        return tl.batch_abort && commit ? GW_ESTORE : GW_OK; /* it never began: nothing to commit or undo */
    tl.batch_began = 0;
    int rc = GW_OK;
    if (tl.batch_abort) /* asked to commit what an inner batch gave up */
        rc = commit ? GW_ESTORE : GW_OK;
    else if (tx(s->writer, Q_COMMIT) != SQLITE_OK)
        rc = GW_ESTORE;
    writer_leave(s); /* rolls back whatever was not committed */
    return rc;
}

static int sq_decr(gw_store_t *b, const char *ns, const char *key) { return exec_simple(b, Q_DECR, ns, key, gw_now()); }

static int sq_purge(gw_store_t *b)
{
    int64_t now = gw_now();
    int rc = exec_simple(b, Q_PURGE_KV, NULL, NULL, now);
    if (!rc)
        rc = exec_simple(b, Q_PURGE_SET, NULL, NULL, now);
    return rc ? rc : exec_simple(b, Q_PURGE_REV, NULL, NULL, now);
}

static int sq_set_add(gw_store_t *b, const char *ns, const char *key, const char *member, long ttl)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_SET_ADD);
    bind_text(st, 1, ns);
    bind_text(st, 2, key);
    bind_text(st, 3, member);
    sqlite3_bind_int64(st, 4, gw_now() + ttl);
    int rc = sqlite3_step(st) == SQLITE_DONE ? GW_OK : GW_ESTORE;
    sqlite3_reset(st);
    return rc;
}

static int sq_set_members(gw_store_t *b, const char *ns, const char *key, size_t max,
                          void (*cb)(const char *member, void *ud), void *ud)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_SET_MEMBERS);
    bind_text(st, 1, ns);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, gw_now());
    sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(st, 0), ud);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? GW_OK : GW_ESTORE;
}

static int sq_incr(gw_store_t *b, const char *ns, const char *key, long ttl, int64_t *ret)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    int64_t now = gw_now();
    sqlite3_stmt *st = stmt(c, Q_INCR);
    bind_text(st, 1, ns);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, now + ttl);
    sqlite3_bind_int64(st, 4, now);
    int r = sqlite3_step(st), rc = GW_ESTORE;
    if (r == SQLITE_ROW) {
        *ret = sqlite3_column_int64(st, 0);
        r = sqlite3_step(st);
        rc = r == SQLITE_DONE ? GW_OK : GW_ESTORE;
    }
    sqlite3_reset(st);
    return rc;
}

#define COPY(dst, i) snprintf((dst), sizeof(dst), "%s", (const char *)sqlite3_column_text(st, (i)))
static void row_to_account(sqlite3_stmt *st, gw_account_t *a)
{
    memset(a, 0, sizeof(*a));
    COPY(a->portal, 0);
    COPY(a->id, 1);
    COPY(a->username, 2);
    COPY(a->full_name, 3);
    COPY(a->name_key, 4);
    COPY(a->birthdate, 5);
    const char *sex = (const char *)sqlite3_column_text(st, 6);
    a->sex = sex && *sex ? sex[0] : 0;
    COPY(a->cmnd9, 7);
    COPY(a->id12, 8);
    a->id12_verified = sqlite3_column_int(st, 9);
    COPY(a->verified_by, 10);
    COPY(a->email, 11);
    COPY(a->phone, 12);
    COPY(a->status, 13);
    COPY(a->pw_hash, 14);
    COPY(a->account_class, 15);
    a->state = sqlite3_column_int(st, 16);
    COPY(a->merged_into, 17);
    a->flags = (unsigned)sqlite3_column_int(st, 18);
    a->updated = sqlite3_column_int64(st, 19);
}

static int acct_one(gw_store_t *b, int q, const char *portal, const char *key, gw_account_t *ret)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, q);
    bind_text(st, 1, portal);
    bind_text(st, 2, key);
    int r = sqlite3_step(st), rc;
    if (r == SQLITE_ROW) {
        row_to_account(st, ret);
        rc = GW_OK;
    } else {
        rc = r == SQLITE_DONE ? GW_ENOTFOUND : GW_ESTORE;
    }
    sqlite3_reset(st);
    return rc;
}

static int sq_account_get(gw_store_t *b, const char *p, const char *id, gw_account_t *ret)
{
    return acct_one(b, Q_ACCT_BY_ID, p, id, ret);
}
static int sq_account_by_username(gw_store_t *b, const char *p, const char *u, gw_account_t *ret)
{
    return acct_one(b, Q_ACCT_BY_USER, p, u, ret);
}

static int sq_account_hash_model(gw_store_t *b, const char *p, gw_account_t *ret)
{
    return acct_one(b, Q_ACCT_MODEL, p, "", ret);
}

static int acct_many(sqlite3_stmt *st, gw_account_t *ret, size_t max, size_t *ret_n)
{
    size_t n = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && n < max)
        row_to_account(st, &ret[n++]);
    sqlite3_reset(st);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return GW_ESTORE;
    *ret_n = n;
    return GW_OK;
}

/* The account lists: one statement, (portal, key, limit) bound, rows copied out. */
static int acct_list(gw_store_t *b, int q, const char *portal, const char *key, gw_account_t *ret, size_t max,
                     size_t *ret_n)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, q);
    bind_text(st, 1, portal);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    return acct_many(st, ret, max, ret_n);
}

static int sq_accounts_by_id12(gw_store_t *b, const char *portal, const char *id12, int verified_only,
                               gw_account_t *ret, size_t max, size_t *ret_n)
{
    return acct_list(b, verified_only ? Q_ACCT_BY_ID12_V : Q_ACCT_BY_ID12, portal, id12, ret, max, ret_n);
}

static int sq_accounts_by_name_key(gw_store_t *b, const char *portal, const char *key, gw_account_t *ret, size_t max,
                                   size_t *ret_n)
{
    return acct_list(b, Q_ACCT_BY_NAME, portal, key, ret, max, ret_n);
}

static int sq_accounts_to_verify(gw_store_t *b, const char *portal, const char *after, gw_account_t *ret, size_t max,
                                 size_t *ret_n)
{
    return acct_list(b, Q_ACCT_TO_VERIFY, portal, after ? after : "", ret, max, ret_n);
}

static int sq_account_update(gw_store_t *b, const char *portal, const char *id, int state, const char *id12,
                             const char *verified_by, const char *merged_into)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    sqlite3_stmt *st = stmt(c, Q_ACCT_UPDATE);
    bind_text(st, 1, portal);
    bind_text(st, 2, id);
    sqlite3_bind_int(st, 3, state);
    if (id12)
        bind_text(st, 4, id12);
    if (verified_by)
        bind_text(st, 5, verified_by);
    if (merged_into)
        bind_text(st, 6, merged_into);
    sqlite3_bind_int64(st, 7, gw_now());
    int rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(c->db) ? GW_OK : GW_ENOTFOUND) : GW_ESTORE;
    sqlite3_reset(st);
    return rc;
}

static int sq_import_begin(gw_store_t *b, const char *portal)
{
    (void)portal;
    sq_store_t *s = (sq_store_t *)b;
    if (tl.importing || tl.batch_of)
        return GW_EINVAL; /* an import is its own transaction */
    conn_t *c = writer_enter(s); /* held until sq_import_end */
    if (!c)
        return GW_ESTORE;
    if (tx(c, Q_BEGIN) != SQLITE_OK) {
        writer_leave(s);
        return GW_ESTORE;
    }
    tl.importing = 1;
    return GW_OK;
}

static int accounts_equal(const gw_account_t *x, const gw_account_t *y)
{
    return !strcmp(x->username, y->username) && !strcmp(x->full_name, y->full_name) &&
           !strcmp(x->name_key, y->name_key) && !strcmp(x->birthdate, y->birthdate) && x->sex == y->sex &&
           !strcmp(x->cmnd9, y->cmnd9) && !strcmp(x->id12, y->id12) && x->id12_verified == y->id12_verified &&
           !strcmp(x->verified_by, y->verified_by) && !strcmp(x->email, y->email) && !strcmp(x->phone, y->phone) &&
           !strcmp(x->status, y->status) && !strcmp(x->pw_hash, y->pw_hash) &&
           !strcmp(x->account_class, y->account_class) && x->flags == y->flags;
}

/* An import never touches the linking state (state, merged_into) of a known account. */
static int sq_import_row(gw_store_t *b, const gw_account_t *in, gw_import_stats_t *stats)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    gw_account_t old, row = *in;
    const gw_account_t *a = &row;
    int rc = acct_one(b, Q_ACCT_GET, in->portal, in->id, &old);
    /* what eidgw established (a number confirmed by the population DB or VNeID, a link, a
     * merge) outranks the portal's file: a re-import never undoes it */
    if (rc == GW_OK && (old.state >= GW_ACCT_LINKED || (old.id12_verified && strcmp(old.verified_by, "import")))) {
        memcpy(row.id12, old.id12, sizeof(row.id12));
        row.id12_verified = old.id12_verified;
        memcpy(row.verified_by, old.verified_by, sizeof(row.verified_by));
    }
    if (rc == GW_OK && accounts_equal(&old, a)) {
        stats->unchanged++;
        return GW_OK;
    }
    if (rc != GW_OK && rc != GW_ENOTFOUND)
        return rc;
    sqlite3_stmt *st = stmt(c, Q_ACCT_UPSERT);
    const char *txt[] = { a->portal, a->id, a->username, a->full_name, a->name_key, a->birthdate };
    for (int i = 0; i < 6; i++)
        bind_text(st, i + 1, txt[i]);
    char sex[2] = { a->sex, 0 };
    bind_text(st, 7, sex);
    bind_text(st, 8, a->cmnd9);
    bind_text(st, 9, a->id12);
    sqlite3_bind_int(st, 10, a->id12_verified);
    bind_text(st, 11, a->verified_by);
    bind_text(st, 12, a->email);
    bind_text(st, 13, a->phone);
    bind_text(st, 14, a->status);
    bind_text(st, 15, a->pw_hash);
    bind_text(st, 16, a->account_class[0] ? a->account_class : "individual");
    sqlite3_bind_int(st, 17, a->id12_verified ? GW_ACCT_VERIFIED : GW_ACCT_UNVERIFIED);
    bind_text(st, 18, "");
    sqlite3_bind_int(st, 19, (int)a->flags);
    sqlite3_bind_int64(st, 20, gw_now());
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return r == SQLITE_CONSTRAINT ? GW_ECONFLICT : GW_ESTORE;
    if (rc == GW_OK)
        stats->updated++;
    else
        stats->inserted++;
    return GW_OK;
}

static int sq_import_end(gw_store_t *b, int commit)
{
    sq_store_t *s = (sq_store_t *)b;
    if (!tl.importing || tl.writer_of != s)
        return GW_ESTORE; /* no import began on this thread */
    tl.importing = 0;
    int rc = tx(s->writer, commit ? Q_COMMIT : Q_ROLLBACK) == SQLITE_OK ? GW_OK : GW_ESTORE;
    writer_leave(s);
    return rc;
}

static long scalar(conn_t *c, const char *sql, const char *portal)
{
    sqlite3_stmt *st = NULL;
    long v = -1;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, portal, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = (long)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static int sq_account_report(gw_store_t *b, const char *portal, gw_account_report_t *r)
{
    conn_t *c = conn_get((sq_store_t *)b);
    if (!c)
        return GW_ESTORE;
    memset(r, 0, sizeof(*r));
    r->total = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1", portal);
    r->with_id12 = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND id12<>''", portal);
    r->id12_verified = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND id12_verified=1", portal);
    r->with_cmnd9 = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND cmnd9<>''", portal);
    r->linked = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND state=2", portal);
    r->merged = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND state=3", portal);
    r->unverified = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND state=0", portal);
    r->legacy_encoding = scalar(c, "SELECT count(*) FROM accounts WHERE portal=?1 AND (flags & 1)=1", portal);
    r->duplicate_groups = scalar(c,
                                 "SELECT count(*) FROM (SELECT id12 FROM accounts WHERE portal=?1 AND id12<>''"
                                 " AND id12_verified=1 AND state<>3 GROUP BY id12 HAVING count(*)>1)",
                                 portal);
    r->duplicate_accounts = scalar(c,
                                   "SELECT coalesce(sum(n),0) FROM (SELECT count(*) n FROM accounts WHERE portal=?1"
                                   " AND id12<>'' AND id12_verified=1 AND state<>3 GROUP BY id12 HAVING count(*)>1)",
                                   portal);
    return r->total < 0 ? GW_ESTORE : GW_OK;
}

/* reads the schema page: the database file is there and readable */
static int sq_ping(gw_store_t *b)
{
    conn_t *c = conn_get((sq_store_t *)b);
    return c && scalar(c, "SELECT count(*) FROM sqlite_master", NULL) >= 0 ? GW_OK : GW_ESTORE;
}

static void sq_close(gw_store_t *b)
{
    sq_store_t *s = (sq_store_t *)b;
    int mine = tl.writer_of == s || tl.batch_of == s;
    if (tl.writer_of == s) { /* closed in the middle of a batch or an import: undone */
        atomic_store(&s->checkpoint_due, 0);
        tl.writer_depth = 1;
        writer_leave(s);
    }
    if (mine) /* batch, import and writer state of this thread all went with it */
        memset(&tl, 0, sizeof(tl));
    conn_t *c = s->all;
    while (c) {
        conn_t *n = c->next;
        conn_close(c);
        c = n;
    }
    if (s->writer)
        conn_close(s->writer);
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->wlock);
    free(s->path);
    free(s);
}

/* The write operations: each runs on the write connection, held for its statements. */
#define WRITE_OP(op, params, args)                                                                                     \
    static int w_##op params                                                                                           \
    {                                                                                                                  \
        sq_store_t *s = (sq_store_t *)b;                                                                               \
        if (!writer_enter(s))                                                                                          \
            return GW_ESTORE;                                                                                          \
        int rc = sq_##op args;                                                                                         \
        writer_leave(s);                                                                                               \
        return rc;                                                                                                     \
    }
WRITE_OP(put, (gw_store_t * b, const char *ns, const char *key, const char *val, long ttl, int nx),
         (b, ns, key, val, ttl, nx))
WRITE_OP(take, (gw_store_t * b, const char *ns, const char *key, char **ret), (b, ns, key, ret))
WRITE_OP(del, (gw_store_t * b, const char *ns, const char *key), (b, ns, key))
WRITE_OP(revoke, (gw_store_t * b, const char *sid, int64_t until), (b, sid, until))
WRITE_OP(link_create, (gw_store_t * b, const gw_link_t *l), (b, l))
WRITE_OP(link_delete, (gw_store_t * b, const char *p, const char *id12), (b, p, id12))
WRITE_OP(link_rekey, (gw_store_t * b, const char *p, const char *o, const char *n), (b, p, o, n))
WRITE_OP(purge, (gw_store_t * b), (b))
WRITE_OP(incr, (gw_store_t * b, const char *ns, const char *key, long ttl, int64_t *ret), (b, ns, key, ttl, ret))
WRITE_OP(decr, (gw_store_t * b, const char *ns, const char *key), (b, ns, key))
WRITE_OP(set_add, (gw_store_t * b, const char *ns, const char *key, const char *m, long ttl), (b, ns, key, m, ttl))
WRITE_OP(account_update,
         (gw_store_t * b, const char *portal, const char *id, int state, const char *id12, const char *verified_by,
          const char *merged_into),
         (b, portal, id, state, id12, verified_by, merged_into))
WRITE_OP(import_row, (gw_store_t * b, const gw_account_t *in, gw_import_stats_t *stats), (b, in, stats))
#undef WRITE_OP

static const gw_store_ops_t sqlite_ops = {
    .name = "sqlite",
    .put = w_put,
    .get = sq_get,
    .take = w_take,
    .del = w_del,
    .revoke = w_revoke,
    .revoked_since = sq_revoked_since,
    .link_create = w_link_create,
    .link_by_id12 = sq_link_by_id12,
    .link_by_account = sq_link_by_account,
    .link_delete = w_link_delete,
    .link_rekey = w_link_rekey,
    .purge = w_purge,
    .ping = sq_ping,
    .close = sq_close,
    .incr = w_incr,
    .decr = w_decr,
    .list = sq_list,
    .batch_begin = sq_batch_begin,
    .batch_end = sq_batch_end,
    .batch_try_begin = sq_batch_try_begin,
    .maintain = sq_maintain,
    .set_add = w_set_add,
    .set_members = sq_set_members,
    .import_begin = sq_import_begin,
    .import_row = w_import_row,
    .import_end = sq_import_end,
    .account_get = sq_account_get,
    .account_by_username = sq_account_by_username,
    .account_hash_model = sq_account_hash_model,
    .accounts_by_id12 = sq_accounts_by_id12,
    .accounts_by_name_key = sq_accounts_by_name_key,
    .account_update = w_account_update,
    .account_report = sq_account_report,
    .accounts_to_verify = sq_accounts_to_verify,
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
    pthread_mutex_init(&s->wlock, NULL);
    /* open once now so a bad path or a corrupt file stops start-up with a message */
    conn_t *c = conn_open(s, err, errlen);
    if (!c) {
        pthread_key_delete(s->key);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->wlock);
        free(s->path);
        free(s);
        return NULL;
    }
    conn_close(c);
    return &s->base;
}
