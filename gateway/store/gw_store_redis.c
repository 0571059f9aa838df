/* Redis backend (hiredis 0.14): many gateway nodes on one Redis (with a replica and
 * Sentinel). Commands are sent in argv form only. One connection per thread, reconnected
 * after any error; with Sentinel the master is re-resolved on every reconnect, so a
 * failover is followed without a restart.
 *
 * Keys:
 *   eidgw:kv:<ns>:{<key>}             short-lived records, native TTL
 *   eidgw:link:{<portal>}:id:<id12>   -> "<account>\t<created>"
 *   eidgw:link:{<portal>}:acct:<acct> -> "<id12>"
 *   eidgw:revoked                     a stream of revocations (every node reads it)
 * Both sides of a link share the {portal} hash tag, so the Lua script that checks and
 * sets them runs on one Redis Cluster slot. */
#include "gw_store.h"
#include "gw_store_redis_internal.h"
#include "gw_util.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SENTINELS 8

typedef struct rd_store {
    gw_store_t base;
    char *host; /* NULL with unix socket or sentinel */
    int port;
    char *unix_path;
    char *password;
    int db;
    char *sentinel_host[MAX_SENTINELS];
    int sentinel_port[MAX_SENTINELS];
    int nsentinels;
    char *master;
    pthread_key_t key;
    pthread_mutex_t lock;
    redisContext **all; /* every thread's context, freed at close */
    size_t nall, capall;
} rd_store_t;

static const char LINK_CREATE[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "redis.call('SET', KEYS[2], ARGV[2])\n"
    "return 1\n";
static const char LINK_DELETE[] = "local v = redis.call('GET', KEYS[1])\n"
                                  "if not v then return 0 end\n"
                                  "local tab = string.find(v, '\\t', 1, true)\n"
                                  "local acct = string.sub(v, 1, tab - 1)\n"
                                  "redis.call('DEL', KEYS[1])\n"
                                  "redis.call('DEL', ARGV[1] .. acct)\n"
                                  "return 1\n";

/* KEYS: old id key, new id key; ARGV: acct key prefix, new id12 */
static const char LINK_REKEY[] = "local v = redis.call('GET', KEYS[1])\n"
                                 "if not v then return -1 end\n"
                                 "if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end\n"
                                 "local tab = string.find(v, '\\t', 1, true)\n"
                                 "local acct = string.sub(v, 1, tab - 1)\n"
                                 "redis.call('SET', KEYS[2], v)\n"
                                 "redis.call('DEL', KEYS[1])\n"
                                 "redis.call('SET', ARGV[1] .. acct, ARGV[2])\n"
                                 "return 1\n";

static const struct timeval TMO = { 2, 0 };

static redisContext *connect_to(const char *host, int port, const char *unix_path)
{
    redisContext *c =
        unix_path ? redisConnectUnixWithTimeout(unix_path, TMO) : redisConnectWithTimeout(host, port, TMO);
    if (!c)
        return NULL;
    if (c->err) {
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, TMO);
    return c;
}

static redisReply *cmd(redisContext *c, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(c, argc, argv, lens);
}

/* Ask the sentinels where the master is; first that answers wins. */
static int resolve_master(rd_store_t *s, char *host, size_t hl, int *port)
{
    for (int i = 0; i < s->nsentinels; i++) {
        redisContext *c = connect_to(s->sentinel_host[i], s->sentinel_port[i], NULL);
        if (!c)
            continue;
        const char *argv[] = { "SENTINEL", "get-master-addr-by-name", s->master };
        redisReply *r = cmd(c, 3, argv, NULL);
        long pv = 0;
        int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->str && r->element[1]->str &&
                 gw_parse_long(r->element[1]->str, 1, 65535, &pv) == GW_OK;
        if (ok) {
            snprintf(host, hl, "%s", r->element[0]->str);
            *port = (int)pv;
        }
        if (r)
            freeReplyObject(r);
        redisFree(c);
        if (ok)
            return 0;
    }
    return -1;
}

static redisContext *open_conn(rd_store_t *s, char *err, size_t errlen)
{
    char host[256];
    int port = s->port;
    redisContext *c;
    if (s->nsentinels) {
        if (resolve_master(s, host, sizeof(host), &port)) {
            if (err)
                snprintf(err, errlen, "redis: no sentinel knows master '%s'", s->master);
            return NULL;
        }
        c = connect_to(host, port, NULL);
    } else {
        c = connect_to(s->host, s->port, s->unix_path);
    }
    if (!c) {
        if (err)
            snprintf(err, errlen, "redis: cannot connect to %s",
                     s->unix_path ? s->unix_path
                     : s->host    ? s->host
                                  : host);
        return NULL;
    }
    redisReply *r;
    if (s->password) {
        const char *argv[] = { "AUTH", s->password };
        r = cmd(c, 2, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            if (err)
                snprintf(err, errlen, "redis: authentication failed");
            redisFree(c);
            return NULL;
        }
    }
    if (s->db) {
        char dbs[16];
        snprintf(dbs, sizeof(dbs), "%d", s->db);
        const char *argv[] = { "SELECT", dbs };
        r = cmd(c, 2, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            if (err)
                snprintf(err, errlen, "redis: SELECT %d failed", s->db);
            redisFree(c);
            return NULL;
        }
    }
    /* writes only go to a master: after a failover a demoted node must not be used */
    const char *role[] = { "ROLE" };
    r = cmd(c, 1, role, NULL);
    int is_master = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->str &&
                    !strcmp(r->element[0]->str, "master");
    if (r)
        freeReplyObject(r);
    if (!is_master) {
        if (err)
            snprintf(err, errlen, "redis: the server is not a master");
        redisFree(c);
        return NULL;
    }
    return c;
}

static void remember(rd_store_t *s, redisContext *c)
{
    pthread_mutex_lock(&s->lock);
    if (s->nall == s->capall) {
        s->capall = s->capall ? s->capall * 2 : 16;
        s->all = realloc(s->all, s->capall * sizeof(*s->all));
        if (!s->all)
            abort();
    }
    s->all[s->nall++] = c;
    pthread_mutex_unlock(&s->lock);
}

static void forget(rd_store_t *s, redisContext *c)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nall; i++)
        if (s->all[i] == c) {
            s->all[i] = s->all[--s->nall];
            break;
        }
    pthread_mutex_unlock(&s->lock);
    redisFree(c);
}

static redisContext *conn_get(rd_store_t *s)
{
    redisContext *c = pthread_getspecific(s->key);
    if (c && !c->err)
        return c;
    if (c) {
        forget(s, c);
        pthread_setspecific(s->key, NULL);
    }
    c = open_conn(s, NULL, 0);
    if (!c)
        return NULL;
    pthread_setspecific(s->key, c);
    remember(s, c);
    return c;
}

/* Run a command; on a connection error, reconnect once and retry idempotent ones. */
static redisReply *run(rd_store_t *s, int argc, const char **argv, const size_t *lens, int idempotent)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = conn_get(s);
        if (!c)
            return NULL;
        redisReply *r = cmd(c, argc, argv, lens);
        if (r && !(r->type == REDIS_REPLY_ERROR && (!strncmp(r->str, "READONLY", 8) || !strncmp(r->str, "LOADING", 7))))
            return r;
        if (r) {
            freeReplyObject(r);
            c->err = REDIS_ERR_OTHER; /* force a reconnect: the master moved */
        }
        if (!idempotent)
            return NULL;
    }
    return NULL;
}

/* Run a command answered with an integer: GW_OK (the integer in *ret, if asked), else
 * GW_ESTORE. */
static int run_int(rd_store_t *s, int argc, const char **argv, int idempotent, long long *ret)
{
    redisReply *r = run(s, argc, argv, NULL, idempotent);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? GW_OK : GW_ESTORE;
    if (rc == GW_OK && ret)
        *ret = r->integer;
    if (r)
        freeReplyObject(r);
    return rc;
}

static char *kv_key(const char *ns, const char *key) { return gw_sprintf("eidgw:kv:%s:{%s}", ns, key); }

/* Namespaces read back with list() (the event outbox) keep an index: a sorted set of
 * their keys scored by expiry, so listing never walks the keyspace. */
static int is_listed_ns(const char *ns) { return !strcmp(ns, "evq"); }

static void index_add(rd_store_t *s, const char *ns, const char *key, long ttl)
{
    char *idx = gw_sprintf("eidgw:kvidx:%s", ns), score[32];
    snprintf(score, sizeof(score), "%lld", (long long)(gw_now() + ttl));
    const char *argv[] = { "ZADD", idx, score, key };
    redisReply *r = run(s, 4, argv, NULL, 1);
    if (r)
        freeReplyObject(r);
    free(idx);
}

static void index_del(rd_store_t *s, const char *ns, const char *key)
{
    char *idx = gw_sprintf("eidgw:kvidx:%s", ns);
    const char *argv[] = { "ZREM", idx, key };
    redisReply *r = run(s, 3, argv, NULL, 1);
    if (r)
        freeReplyObject(r);
    free(idx);
}

static int rd_put(gw_store_t *b, const char *ns, const char *key, const char *val, long ttl, int nx)
{
    char *k = kv_key(ns, key), ttls[24];
    snprintf(ttls, sizeof(ttls), "%ld", ttl > 0 ? ttl : 1);
    const char *argv[] = { "SET", k, val, "EX", ttls, "NX" };
    redisReply *r = run((rd_store_t *)b, nx ? 6 : 5, argv, NULL, !nx);
    int rc = !r                              ? GW_ESTORE
             : r->type == REDIS_REPLY_STATUS ? GW_OK
             : r->type == REDIS_REPLY_NIL    ? GW_ECONFLICT
                                             : GW_ESTORE;
    if (r)
        freeReplyObject(r);
    free(k);
    if (rc == GW_OK && is_listed_ns(ns))
        index_add((rd_store_t *)b, ns, key, ttl);
    return rc;
}

static int get_like(gw_store_t *b, const char *verb, const char *ns, const char *key, char **ret)
{
    char *k = kv_key(ns, key);
    const char *argv[] = { verb, k };
    redisReply *r = run((rd_store_t *)b, 2, argv, NULL, !strcmp(verb, "GET"));
    int rc;
    if (!r)
        rc = GW_ESTORE;
    else if (r->type == REDIS_REPLY_STRING) {
        *ret = gw_xmalloc(r->len + 1);
        memcpy(*ret, r->str, r->len);
        (*ret)[r->len] = 0;
        rc = GW_OK;
    } else
        rc = r->type == REDIS_REPLY_NIL ? GW_ENOTFOUND : GW_ESTORE;
    if (r)
        freeReplyObject(r);
    free(k);
    return rc;
}

static int rd_get(gw_store_t *b, const char *ns, const char *key, char **ret)
{
    return get_like(b, "GET", ns, key, ret);
}
/* GETDEL is one atomic command: of two nodes taking one code, one gets it. */
static int rd_take(gw_store_t *b, const char *ns, const char *key, char **ret)
{
    int rc = get_like(b, "GETDEL", ns, key, ret);
    if (rc == GW_OK && is_listed_ns(ns))
        index_del((rd_store_t *)b, ns, key);
    return rc;
}

static int rd_del(gw_store_t *b, const char *ns, const char *key)
{
    char *k = kv_key(ns, key);
    const char *argv[] = { "DEL", k };
    int rc = run_int((rd_store_t *)b, 2, argv, 1, NULL);
    free(k);
    if (rc == GW_OK && is_listed_ns(ns))
        index_del((rd_store_t *)b, ns, key);
    return rc;
}

static int rd_revoke(gw_store_t *b, const char *sid, int64_t until)
{
    char us[24];
    snprintf(us, sizeof(us), "%lld", (long long)until);
    const char *argv[] = { "XADD", "eidgw:revoked", "MAXLEN", "~", "200000", "*", "sid", sid, "until", us };
    redisReply *r = run((rd_store_t *)b, 10, argv, NULL, 0);
    int rc = r && r->type == REDIS_REPLY_STRING ? GW_OK : GW_ESTORE;
    if (r)
        freeReplyObject(r);
    return rc;
}

/* Stream ids "ms-n" travel through the int64 sequence of the interface as ms*1e6+n. */
static int rd_revoked_since(gw_store_t *b, int64_t after, gw_store_revoked_cb cb, void *ud, int64_t *ret_seq)
{
    char start[48];
    if (after <= 0)
        snprintf(start, sizeof(start), "-");
    else
        snprintf(start, sizeof(start), "(%lld-%lld", (long long)(after / 1000000), (long long)(after % 1000000));
    const char *argv[] = { "XRANGE", "eidgw:revoked", start, "+", "COUNT", "10000" };
    redisReply *r = run((rd_store_t *)b, 6, argv, NULL, 1);
    if (!r)
        return GW_ESTORE;
    int rc = gw_redis_revoked_reply(r, after, gw_now(), cb, ud, ret_seq);
    freeReplyObject(r);
    return rc;
}

/* ---- replies to records (gw_store_redis_internal.h) ---- */

/* An XRANGE entry's id "ms-n" as ms*1e6+n, or -1 when it is not one. */
static int64_t stream_seq(const redisReply *id)
{
    long long ms, n;
    char tail;
    if (id->type != REDIS_REPLY_STRING || sscanf(id->str, "%lld-%lld%c", &ms, &n, &tail) != 2 || ms < 0 || n < 0 ||
        n >= 1000000 || ms > (INT64_MAX - n) / 1000000)
        return -1;
    return (int64_t)ms * 1000000 + n;
}

/* The sid and until fields of one entry's field list; fields of another shape are skipped. */
static void revoked_fields(const redisReply *f, const char **sid, int64_t *until)
{
    for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2) {
        const redisReply *name = f->element[k], *val = f->element[k + 1];
        if (name->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(name->str, "sid"))
            *sid = val->str;
        else if (!strcmp(name->str, "until"))
            *until = atoll(val->str);
    }
}

int gw_redis_revoked_reply(const redisReply *r, int64_t after, int64_t now, gw_store_revoked_cb cb, void *ud,
                           int64_t *ret_seq)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return GW_ESTORE;
    int64_t seq = after;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
            continue;
        /* an id that does not read, or does not follow the cursor, never moves it back */
        int64_t id = stream_seq(e->element[0]);
        if (id <= seq)
            continue;
        seq = id;
        const char *sid = NULL;
        int64_t until = 0;
        revoked_fields(e->element[1], &sid, &until);
        if (sid && until > now)
            cb(sid, until, ud);
    }
    *ret_seq = seq;
    return GW_OK;
}

int gw_redis_link_reply(const redisReply *r, gw_link_t *ret)
{
    if (!r)
        return GW_ESTORE;
    if (r->type != REDIS_REPLY_STRING)
        return r->type == REDIS_REPLY_NIL ? GW_ENOTFOUND : GW_ESTORE;
    const char *tab = memchr(r->str, '\t', r->len);
    size_t n = tab ? (size_t)(tab - r->str) : r->len;
    /* a value this store did not write (an account cut short, a NUL in it) is no link */
    if (n == 0 || n >= sizeof(ret->account) || memchr(r->str, 0, n))
        return GW_ESTORE;
    memcpy(ret->account, r->str, n);
    ret->account[n] = '\0';
    ret->created = tab ? atoll(tab + 1) : 0;
    return GW_OK;
}

static int rd_link_create(gw_store_t *b, const gw_link_t *l)
{
    char *k1 = gw_sprintf("eidgw:link:{%s}:id:%s", l->portal, l->id12);
    char *k2 = gw_sprintf("eidgw:link:{%s}:acct:%s", l->portal, l->account);
    char *v1 = gw_sprintf("%s\t%lld", l->account, (long long)(l->created ? l->created : gw_now()));
    const char *argv[] = { "EVAL", LINK_CREATE, "2", k1, k2, v1, l->id12 };
    redisReply *r = run((rd_store_t *)b, 7, argv, NULL, 0);
    int rc = !r || r->type != REDIS_REPLY_INTEGER ? GW_ESTORE : r->integer == 1 ? GW_OK : GW_ECONFLICT;
    if (r)
        freeReplyObject(r);
    free(k1);
    free(k2);
    free(v1);
    return rc;
}

static int link_read(rd_store_t *s, const char *portal, const char *id12, gw_link_t *ret)
{
    size_t np = strlen(portal), ni = strlen(id12);
    if (np >= sizeof(ret->portal) || ni >= sizeof(ret->id12))
        return GW_ENOTFOUND; /* no link is ever made with a key that long */
    char *k = gw_sprintf("eidgw:link:{%s}:id:%s", portal, id12);
    const char *argv[] = { "GET", k };
    redisReply *r = run(s, 2, argv, NULL, 1);
    free(k);
    if (!r)
        return GW_ESTORE;
    memset(ret, 0, sizeof(*ret));
    int rc = gw_redis_link_reply(r, ret);
    if (rc == GW_OK) {
        memcpy(ret->portal, portal, np + 1);
        memcpy(ret->id12, id12, ni + 1);
    }
    freeReplyObject(r);
    return rc;
}

static int rd_link_by_id12(gw_store_t *b, const char *portal, const char *id12, gw_link_t *ret)
{
    return link_read((rd_store_t *)b, portal, id12, ret);
}

static int rd_link_by_account(gw_store_t *b, const char *portal, const char *acct, gw_link_t *ret)
{
    char *k = gw_sprintf("eidgw:link:{%s}:acct:%s", portal, acct);
    const char *argv[] = { "GET", k };
    redisReply *r = run((rd_store_t *)b, 2, argv, NULL, 1);
    free(k);
    if (!r)
        return GW_ESTORE;
    int rc = r->type == REDIS_REPLY_NIL ? GW_ENOTFOUND : GW_ESTORE;
    if (r->type == REDIS_REPLY_STRING) {
        char id12[64];
        snprintf(id12, sizeof(id12), "%s", r->str);
        rc = link_read((rd_store_t *)b, portal, id12, ret);
    }
    freeReplyObject(r);
    return rc;
}

static int rd_link_delete(gw_store_t *b, const char *portal, const char *id12)
{
    char *k1 = gw_sprintf("eidgw:link:{%s}:id:%s", portal, id12);
    char *prefix = gw_sprintf("eidgw:link:{%s}:acct:", portal);
    const char *argv[] = { "EVAL", LINK_DELETE, "1", k1, prefix };
    int rc = run_int((rd_store_t *)b, 5, argv, 0, NULL);
    free(k1);
    free(prefix);
    return rc;
}

static int rd_link_rekey(gw_store_t *b, const char *portal, const char *old_id12, const char *new_id12)
{
    char *k1 = gw_sprintf("eidgw:link:{%s}:id:%s", portal, old_id12);
    char *k2 = gw_sprintf("eidgw:link:{%s}:id:%s", portal, new_id12);
    char *prefix = gw_sprintf("eidgw:link:{%s}:acct:", portal);
    const char *argv[] = { "EVAL", LINK_REKEY, "2", k1, k2, prefix, new_id12 };
    redisReply *r = run((rd_store_t *)b, 7, argv, NULL, 0);
    int rc = !r || r->type != REDIS_REPLY_INTEGER ? GW_ESTORE
             : r->integer == 1                    ? GW_OK
             : r->integer == 0                    ? GW_ECONFLICT
                                                  : GW_ENOTFOUND;
    if (r)
        freeReplyObject(r);
    free(k1);
    free(k2);
    free(prefix);
    return rc;
}

static int rd_purge(gw_store_t *b)
{
    (void)b; /* Redis expires keys itself; the revocation stream is capped */
    return GW_OK;
}

static int rd_ping(gw_store_t *b)
{
    const char *argv[] = { "PING" };
    redisReply *r = run((rd_store_t *)b, 1, argv, NULL, 1);
    int rc = r && r->type == REDIS_REPLY_STATUS ? GW_OK : GW_ESTORE;
    if (r)
        freeReplyObject(r);
    return rc;
}

static const char INCR[] = "local v = redis.call('INCR', KEYS[1])\n"
                           "if v == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
                           "return v\n";

static const char DECR[] = "local v = tonumber(redis.call('GET', KEYS[1]))\n"
                           "if v and v > 0 then redis.call('DECR', KEYS[1]) end\n"
                           "return 1\n";

static int rd_decr(gw_store_t *b, const char *ns, const char *key)
{
    char *k = kv_key(ns, key);
    const char *argv[] = { "EVAL", DECR, "1", k };
    int rc = run_int((rd_store_t *)b, 4, argv, 0, NULL);
    free(k);
    return rc;
}

static int rd_incr(gw_store_t *b, const char *ns, const char *key, long ttl, int64_t *ret)
{
    char *k = kv_key(ns, key), ttls[24];
    snprintf(ttls, sizeof(ttls), "%ld", ttl > 0 ? ttl : 1);
    const char *argv[] = { "EVAL", INCR, "1", k, ttls };
    long long v = 0;
    int rc = run_int((rd_store_t *)b, 5, argv, 0, &v);
    if (rc == GW_OK)
        *ret = v;
    free(k);
    return rc;
}

/* a sorted set scored by each member's expiry; the key lives as long as its newest member */
static const char SET_ADD[] =
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) "
    "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3]) "
    "if redis.call('TTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[1], ARGV[4]) end "
    "return 1";

static int rd_set_add(gw_store_t *b, const char *ns, const char *key, const char *member, long ttl)
{
    char *k = gw_sprintf("eidgw:set:%s:{%s}", ns, key), now[24], exp[24], ttls[24];
    int64_t t = gw_now();
    snprintf(now, sizeof(now), "%lld", (long long)t);
    snprintf(exp, sizeof(exp), "%lld", (long long)(t + (ttl > 0 ? ttl : 1)));
    snprintf(ttls, sizeof(ttls), "%ld", ttl > 0 ? ttl : 1);
    const char *argv[] = { "EVAL", SET_ADD, "1", k, now, exp, member, ttls };
    int rc = run_int((rd_store_t *)b, 8, argv, 1, NULL);
    free(k);
    return rc;
}

static int rd_set_members(gw_store_t *b, const char *ns, const char *key, size_t max,
                          void (*cb)(const char *member, void *ud), void *ud)
{
    char *k = gw_sprintf("eidgw:set:%s:{%s}", ns, key), now[24], cnt[24];
    snprintf(now, sizeof(now), "(%lld", (long long)gw_now());
    snprintf(cnt, sizeof(cnt), "%zu", max);
    const char *argv[] = { "ZRANGEBYSCORE", k, now, "+inf", "LIMIT", "0", cnt };
    redisReply *r = run((rd_store_t *)b, 7, argv, NULL, 1);
    int rc = r && r->type == REDIS_REPLY_ARRAY ? GW_OK : GW_ESTORE;
    if (rc == GW_OK)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                cb(r->element[i]->str, ud);
    if (r)
        freeReplyObject(r);
    free(k);
    return rc;
}

static int rd_list(gw_store_t *b, const char *ns, size_t max, void (*cb)(const char *, const char *, void *), void *ud)
{
    if (!is_listed_ns(ns))
        return GW_EINVAL; /* only indexed namespaces can be listed */
    rd_store_t *s = (rd_store_t *)b;
    char *idx = gw_sprintf("eidgw:kvidx:%s", ns), now[32], cnt[32];
    snprintf(now, sizeof(now), "%lld", (long long)gw_now());
    snprintf(cnt, sizeof(cnt), "%zu", max);
    /* forget index entries whose records expired */
    const char *trim[] = { "ZREMRANGEBYSCORE", idx, "-inf", now };
    redisReply *r = run(s, 4, trim, NULL, 1);
    if (r)
        freeReplyObject(r);
    const char *argv[] = { "ZRANGEBYSCORE", idx, now, "+inf", "LIMIT", "0", cnt };
    r = run(s, 7, argv, NULL, 1);
    free(idx);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return GW_ESTORE;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const char *key = r->element[i]->str;
        char *val = NULL;
        if (key && get_like(b, "GET", ns, key, &val) == GW_OK)
            cb(key, val, ud);
        else if (key)
            index_del(s, ns, key);
        free(val);
    }
    freeReplyObject(r);
    return GW_OK;
}

static void rd_close(gw_store_t *b)
{
    rd_store_t *s = (rd_store_t *)b;
    for (size_t i = 0; i < s->nall; i++)
        redisFree(s->all[i]);
    free(s->all);
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    free(s->host);
    free(s->unix_path);
    gw_wipe_free(s->password);
    for (int i = 0; i < s->nsentinels; i++)
        free(s->sentinel_host[i]);
    free(s->master);
    free(s);
}

static const gw_store_ops_t redis_ops = {
    .name = "redis",
    .put = rd_put,
    .get = rd_get,
    .take = rd_take,
    .del = rd_del,
    .revoke = rd_revoke,
    .revoked_since = rd_revoked_since,
    .link_create = rd_link_create,
    .link_by_id12 = rd_link_by_id12,
    .link_by_account = rd_link_by_account,
    .link_delete = rd_link_delete,
    .link_rekey = rd_link_rekey,
    .purge = rd_purge,
    .ping = rd_ping,
    .close = rd_close,
    .incr = rd_incr,
    .decr = rd_decr,
    .list = rd_list,
    .set_add = rd_set_add,
    .set_members = rd_set_members,
};

static int parse_hostport(const char *s, char **host, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -1;
    *host = gw_xmalloc((size_t)(colon - s) + 1);
    memcpy(*host, s, (size_t)(colon - s));
    (*host)[colon - s] = 0;
    *port = (int)p;
    return 0;
}

/* url: redis://[:password@]host:port[/db] or unix:///path/to/socket[?db=N]
 * sentinels: space-separated host:port list (then url may be NULL) with master name. */
gw_store_t *gw_store_open_redis(const char *url, const char *password, const char *sentinels, const char *master,
                                int allow_volatile, char *err, size_t errlen)
{
    rd_store_t *s = gw_xcalloc(1, sizeof(*s));
    s->base.ops = &redis_ops;
    pthread_key_create(&s->key, NULL);
    pthread_mutex_init(&s->lock, NULL);
    if (password)
        s->password = gw_strdup(password);
    if (sentinels && *sentinels) {
        char *list = gw_strdup(sentinels), *save = NULL;
        for (char *t = strtok_r(list, " ,", &save); t && s->nsentinels < MAX_SENTINELS;
             t = strtok_r(NULL, " ,", &save)) {
            if (parse_hostport(t, &s->sentinel_host[s->nsentinels], &s->sentinel_port[s->nsentinels])) {
                snprintf(err, errlen, "redis sentinel '%s' is not host:port", t);
                free(list);
                goto bad;
            }
            s->nsentinels++;
        }
        free(list);
        if (!master) {
            snprintf(err, errlen, "redis sentinels need a master name");
            goto bad;
        }
        s->master = gw_strdup(master);
    } else if (url && !strncmp(url, "unix://", 7)) {
        const char *p = url + 7, *q = strchr(p, '?');
        s->unix_path = q ? strndup(p, (size_t)(q - p)) : gw_strdup(p);
        long db = 0;
        if (q && (strncmp(q, "?db=", 4) || gw_parse_long(q + 4, 0, 1L << 20, &db) != GW_OK)) {
            snprintf(err, errlen, "redis url '%s': expected unix:///path[?db=N]", url);
            goto bad;
        }
        s->db = (int)db;
    } else if (url && !strncmp(url, "redis://", 8)) {
        const char *p = url + 8, *at = strrchr(p, '@');
        if (at) {
            const char *colon = memchr(p, ':', (size_t)(at - p));
            if (colon && !s->password)
                s->password = strndup(colon + 1, (size_t)(at - colon - 1));
            p = at + 1;
        }
        const char *slash = strchr(p, '/');
        char *hp = slash ? strndup(p, (size_t)(slash - p)) : gw_strdup(p);
        int bad = parse_hostport(hp, &s->host, &s->port);
        free(hp);
        if (bad) {
            snprintf(err, errlen, "redis url '%s': expected redis://host:port[/db]", url);
            goto bad;
        }
        long db = 0;
        if (slash && slash[1] && gw_parse_long(slash + 1, 0, 1L << 20, &db) != GW_OK) {
            snprintf(err, errlen, "redis url '%s': expected redis://host:port[/db]", url);
            goto bad;
        }
        s->db = (int)db;
    } else {
        snprintf(err, errlen, "redis url '%s': expected redis://host:port[/db] or unix:///path", url ? url : "");
        goto bad;
    }
    redisContext *c = open_conn(s, err, errlen);
    if (!c)
        goto bad;
    /* durable data (links) must survive a Redis restart */
    const char *argv[] = { "INFO", "persistence" };
    redisReply *r = cmd(c, 2, argv, NULL);
    int aof = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "aof_enabled:1");
    if (r)
        freeReplyObject(r);
    redisFree(c);
    if (!aof && !allow_volatile) {
        snprintf(err, errlen,
                 "redis has no append-only file (appendonly no): links and audit would be lost on a restart; "
                 "set 'appendonly yes' in redis.conf, or 'allow_volatile = yes' in [store] for a test system");
        goto bad;
    }
    return &s->base;
bad:
    rd_close(&s->base);
    return NULL;
}
