/* Unit tests for the SQLite store: key-value records with TTL, single-use take, links
 * unique on both sides, revocations, purge, and atomicity under concurrent callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_store.h"
#include "gw_util.h"

#include <hiredis/hiredis.h>

/* One conformance suite for every backend: the group runs on SQLite, then again on a
 * real redis-server when EIDGW_TEST_REDIS_URL=redis://127.0.0.1:PORT/DB is set (the test
 * runner starts one on loopback). */
static const char *redis_url; /* NULL: SQLite run */
static int with_memory; /* SQLite run with the short-lived namespaces in memory */

static redisContext *redis_direct(void)
{
    const char *hp = redis_url + 8; /* redis://host:port/db */
    char host[64];
    int port = 0, db = 0;
    if (sscanf(hp, "%63[^:]:%d/%d", host, &port, &db) < 2)
        return NULL;
    redisContext *c = redisConnect(host, port);
    if (!c || c->err)
        return NULL;
    char dbs[16];
    snprintf(dbs, sizeof(dbs), "%d", db);
    const char *argv[] = { "SELECT", dbs };
    freeReplyObject(redisCommandArgv(c, 2, argv, NULL));
    return c;
}

typedef struct fixture {
    char dir[64];
    char path[128];
    gw_store_t *st;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/eidgw-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/gw.db", f->dir);
    char err[256] = "";
    if (redis_url) {
        redisContext *c = redis_direct();
        if (!c)
            return -1;
        const char *argv[] = { "FLUSHDB" };
        freeReplyObject(redisCommandArgv(c, 1, argv, NULL));
        redisFree(c);
    }
    f->st = redis_url ? gw_store_open("redis", redis_url, err, sizeof(err))
                      : gw_store_open("sqlite", f->path, err, sizeof(err));
    if (!f->st) {
        fprintf(stderr, "gw_store_open: %s\n", err);
        return -1;
    }
    if (with_memory)
        gw_store_set_memory(f->st, gw_memkv_new("ar flow code cur at err lo", 5000));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gw_store_close(f->st);
    char p[160];
    static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Rows of a table, read straight from the database file (not through the store). */
static long count_keys(const char *pattern)
{
    redisContext *c = redis_direct();
    long n = -1;
    if (c) {
        const char *argv[] = { "KEYS", pattern };
        redisReply *r = redisCommandArgv(c, 2, argv, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY)
            n = (long)r->elements;
        if (r)
            freeReplyObject(r);
        redisFree(c);
    }
    return n;
}

static long count_rows(fixture_t *f, const char *sql)
{
    if (redis_url) {
        /* the same questions, asked of the Redis key space */
        if (strstr(sql, "FROM kv WHERE ns='code'"))
            return count_keys("eidgw:kv:code:*");
        if (strstr(sql, "FROM links"))
            return count_keys("eidgw:link:*:id:*");
        return -1;
    }
    if (with_memory && strstr(sql, "FROM kv WHERE ns='code'"))
        return (long)gw_memkv_count(f->st->mem, "code"); /* the same question, asked of memory */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void check_stored(gw_store_t *st, const char *ns, const char *key, const char *want)
{
    char *v = NULL;
    int rc = gw_store_get(st, ns, key, &v);
    if (!want) {
        if (rc != GW_ENOTFOUND)
            fail_msg("get %s/%s = %d ('%s'), expected GW_ENOTFOUND", ns, key, rc, v ? v : "");
        assert_null(v);
        return;
    }
    if (rc != GW_OK)
        fail_msg("get %s/%s = %d, expected GW_OK", ns, key, rc);
    assert_string_equal(v, want);
    free(v);
}

/* ------------------------------------------------------------------ key-value */

static void test_store_put_then_get_returns_value(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "code", "k1", "v1", 60, 0), GW_OK);
    check_stored(f->st, "code", "k1", "v1");
    check_stored(f->st, "code", "k1", "v1"); /* get does not consume */
}

static void test_store_ping_answers_and_changes_nothing(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_ping(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "code", "k1", "v1", 60, 0), GW_OK);
    assert_int_equal(gw_store_ping(f->st), GW_OK);
    check_stored(f->st, "code", "k1", "v1");
}

static void test_store_get_missing_is_not_found(void **state)
{
    fixture_t *f = *state;
    check_stored(f->st, "code", "nope", NULL);
    char *v = NULL;
    assert_int_equal(gw_store_take(f->st, "code", "nope", &v), GW_ENOTFOUND);
    assert_null(v);
}

static void test_store_namespaces_are_separate(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "code", "same", "in-code", 60, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "same", "in-sess", 60, 0), GW_OK);
    check_stored(f->st, "code", "same", "in-code");
    check_stored(f->st, "sess", "same", "in-sess");
    check_stored(f->st, "flow", "same", NULL);
}

static void test_store_put_overwrites_without_only_if_absent(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "sess", "k", "old", 60, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "k", "new", 60, 0), GW_OK);
    check_stored(f->st, "sess", "k", "new");
}

static void test_store_take_returns_value_once(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "code", "c1", "payload", 60, 0), GW_OK);
    char *v = NULL;
    assert_int_equal(gw_store_take(f->st, "code", "c1", &v), GW_OK);
    assert_string_equal(v, "payload");
    free(v);
    v = NULL;
    assert_int_equal(gw_store_take(f->st, "code", "c1", &v), GW_ENOTFOUND);
    assert_null(v);
    check_stored(f->st, "code", "c1", NULL);
}

static void test_store_del_removes_record(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "sess", "d", "x", 60, 0), GW_OK);
    assert_int_equal(gw_store_del(f->st, "sess", "d"), GW_OK);
    check_stored(f->st, "sess", "d", NULL);
    assert_int_equal(gw_store_del(f->st, "sess", "d"), GW_OK); /* deleting nothing is fine */
}

static void test_store_record_expires_after_ttl(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "code", "short", "v", 1, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "code", "long", "v", 60, 0), GW_OK);
    sleep(2);
    check_stored(f->st, "code", "short", NULL);
    char *v = NULL;
    assert_int_equal(gw_store_take(f->st, "code", "short", &v), GW_ENOTFOUND);
    assert_null(v);
    check_stored(f->st, "code", "long", "v");
}

static void test_store_put_only_if_absent_conflicts_then_succeeds_after_expiry(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "jti", "j1", "first", 2, 1), GW_OK);
    assert_int_equal(gw_store_put(f->st, "jti", "j1", "second", 60, 1), GW_ECONFLICT);
    check_stored(f->st, "jti", "j1", "first"); /* nothing was written */
    sleep(3);
    assert_int_equal(gw_store_put(f->st, "jti", "j1", "third", 60, 1), GW_OK);
    check_stored(f->st, "jti", "j1", "third");
    assert_int_equal(gw_store_put(f->st, "jti", "j1", "fourth", 60, 1), GW_ECONFLICT);
    check_stored(f->st, "jti", "j1", "third");
}

static void test_store_keeps_unicode_values_and_keys(void **state)
{
    fixture_t *f = *state;
    const char *val = "Nguy\xe1\xbb\x85n V\xc4\x83n A \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";
    const char *key = "kh\xc3\xb3\x61-\xf0\x9f\x94\x91";
    assert_int_equal(gw_store_put(f->st, "sess", key, val, 60, 0), GW_OK);
    check_stored(f->st, "sess", key, val);
    check_stored(f->st, "sess", "kh\xc3\xb3\x61-", NULL);
    char *v = NULL;
    assert_int_equal(gw_store_take(f->st, "sess", key, &v), GW_OK);
    assert_int_equal(strlen(v), strlen(val));
    assert_string_equal(v, val);
    free(v);
}

static void test_store_keeps_one_mebibyte_value(void **state)
{
    fixture_t *f = *state;
    size_t n = 1u << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('A' + (i * 7) % 26);
    big[n] = 0;
    assert_int_equal(gw_store_put(f->st, "sess", "big", big, 60, 0), GW_OK);
    char *v = NULL;
    assert_int_equal(gw_store_get(f->st, "sess", "big", &v), GW_OK);
    assert_int_equal(strlen(v), n);
    assert_memory_equal(v, big, n);
    free(v);
    free(big);
}

static void test_store_incr_counts_and_restarts_after_window(void **state)
{
    fixture_t *f = *state;
    int64_t n = 0;
    assert_int_equal(gw_store_incr(f->st, "rl", "ip", 1, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(gw_store_incr(f->st, "rl", "ip", 1, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gw_store_incr(f->st, "rl", "other", 60, &n), GW_OK);
    assert_int_equal(n, 1);
    sleep(2);
    assert_int_equal(gw_store_incr(f->st, "rl", "ip", 1, &n), GW_OK);
    assert_int_equal(n, 1);
}

static void test_store_purge_removes_only_expired(void **state)
{
    if (redis_url)
        skip(); /* Redis expires keys itself and caps the revocation stream */
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "sess", "old", "v", 1, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "new", "v", 60, 0), GW_OK);
    int64_t now = gw_now();
    assert_int_equal(gw_store_revoke(f->st, "sid-old", now - 10), GW_OK);
    assert_int_equal(gw_store_revoke(f->st, "sid-new", now + 600), GW_OK);
    sleep(2);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv"), 2);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM revoked"), 2);
    assert_int_equal(gw_store_purge(f->st), GW_OK);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE k='new'"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM revoked"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM revoked WHERE sid='sid-new'"), 1);
    check_stored(f->st, "sess", "new", "v");
}

/* ------------------------------------------------------------------ revocations */

typedef struct rev_seen {
    int n;
    char sid[8][32];
    int64_t until[8];
} rev_seen_t;

static void on_revoked(const char *sid, int64_t until, void *ud)
{
    rev_seen_t *r = ud;
    if (r->n < 8) {
        snprintf(r->sid[r->n], sizeof(r->sid[0]), "%s", sid);
        r->until[r->n] = until;
    }
    r->n++;
}

static void test_store_revoked_since_returns_revocations_in_order(void **state)
{
    /* the sequence is opaque and grows: each reader resumes after what it has seen */
    fixture_t *f = *state;
    assert_int_equal(gw_store_revoke(f->st, "sid-a", 2000000001), GW_OK);
    rev_seen_t r = { 0 };
    int64_t seq1 = -1;
    assert_int_equal(gw_store_revoked_since(f->st, 0, on_revoked, &r, &seq1), GW_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sid[0], "sid-a");
    assert_int_equal(r.until[0], 2000000001);
    assert_true(seq1 > 0);

    assert_int_equal(gw_store_revoke(f->st, "sid-b", 2000000002), GW_OK);
    assert_int_equal(gw_store_revoke(f->st, "sid-c", 2000000003), GW_OK);
    memset(&r, 0, sizeof(r));
    int64_t seq2 = -1;
    assert_int_equal(gw_store_revoked_since(f->st, seq1, on_revoked, &r, &seq2), GW_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.sid[0], "sid-b");
    assert_string_equal(r.sid[1], "sid-c");
    assert_int_equal(r.until[1], 2000000003);
    assert_true(seq2 > seq1);

    /* from the start again: all three, in order */
    memset(&r, 0, sizeof(r));
    int64_t seq0 = -1;
    assert_int_equal(gw_store_revoked_since(f->st, 0, on_revoked, &r, &seq0), GW_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.sid[2], "sid-c");
    assert_int_equal(seq0, seq2);

    /* nothing new: no callbacks, the sequence stays */
    memset(&r, 0, sizeof(r));
    int64_t seq3 = -1;
    assert_int_equal(gw_store_revoked_since(f->st, seq2, on_revoked, &r, &seq3), GW_OK);
    assert_int_equal(r.n, 0);
    assert_int_equal(seq3, seq2);
}

/* ------------------------------------------------------------------ links */

static gw_link_t mklink(const char *portal, const char *id12, const char *account, int64_t created)
{
    gw_link_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.portal, sizeof(l.portal), "%s", portal);
    snprintf(l.id12, sizeof(l.id12), "%s", id12);
    snprintf(l.account, sizeof(l.account), "%s", account);
    l.created = created;
    return l;
}

static void test_store_link_lookup_both_ways(void **state)
{
    fixture_t *f = *state;
    gw_link_t l = mklink("portal-a", "001085123456", "acct-1", 1700000000);
    assert_int_equal(gw_store_link_create(f->st, &l), GW_OK);
    gw_link_t r;
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "001085123456", &r), GW_OK);
    assert_string_equal(r.portal, "portal-a");
    assert_string_equal(r.id12, "001085123456");
    assert_string_equal(r.account, "acct-1");
    assert_int_equal(r.created, 1700000000);
    memset(&r, 0, sizeof(r));
    assert_int_equal(gw_store_link_by_account(f->st, "portal-a", "acct-1", &r), GW_OK);
    assert_string_equal(r.id12, "001085123456");
    assert_string_equal(r.account, "acct-1");
    assert_int_equal(r.created, 1700000000);
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-b", "001085123456", &r), GW_ENOTFOUND);
    assert_int_equal(gw_store_link_by_account(f->st, "portal-b", "acct-1", &r), GW_ENOTFOUND);
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "079300000001", &r), GW_ENOTFOUND);
}

static void test_store_link_create_defaults_created_to_now(void **state)
{
    fixture_t *f = *state;
    gw_link_t l = mklink("portal-a", "001085123456", "acct-1", 0);
    int64_t before = gw_now();
    assert_int_equal(gw_store_link_create(f->st, &l), GW_OK);
    gw_link_t r;
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "001085123456", &r), GW_OK);
    assert_true(r.created >= before && r.created <= gw_now());
}

static void test_store_link_create_conflicts_on_same_id12(void **state)
{
    fixture_t *f = *state;
    gw_link_t a = mklink("portal-a", "001085123456", "acct-1", 1700000000);
    gw_link_t b = mklink("portal-a", "001085123456", "acct-2", 1700000001);
    assert_int_equal(gw_store_link_create(f->st, &a), GW_OK);
    assert_int_equal(gw_store_link_create(f->st, &b), GW_ECONFLICT);
    gw_link_t r;
    assert_int_equal(gw_store_link_by_account(f->st, "portal-a", "acct-2", &r), GW_ENOTFOUND);
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "001085123456", &r), GW_OK);
    assert_string_equal(r.account, "acct-1");
    assert_int_equal(r.created, 1700000000);
}

static void test_store_link_create_conflicts_on_same_account(void **state)
{
    fixture_t *f = *state;
    gw_link_t a = mklink("portal-a", "001085123456", "acct-1", 1700000000);
    gw_link_t b = mklink("portal-a", "079300000001", "acct-1", 1700000001);
    assert_int_equal(gw_store_link_create(f->st, &a), GW_OK);
    assert_int_equal(gw_store_link_create(f->st, &b), GW_ECONFLICT);
    gw_link_t r;
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "079300000001", &r), GW_ENOTFOUND);
    assert_int_equal(gw_store_link_by_account(f->st, "portal-a", "acct-1", &r), GW_OK);
    assert_string_equal(r.id12, "001085123456");
}

static void test_store_link_same_pair_in_other_portal_is_allowed(void **state)
{
    fixture_t *f = *state;
    gw_link_t a = mklink("portal-a", "001085123456", "acct-1", 1700000000);
    gw_link_t b = mklink("portal-b", "001085123456", "acct-1", 1700000000);
    assert_int_equal(gw_store_link_create(f->st, &a), GW_OK);
    assert_int_equal(gw_store_link_create(f->st, &b), GW_OK);
}

static void test_store_link_delete_frees_both_sides(void **state)
{
    fixture_t *f = *state;
    gw_link_t a = mklink("portal-a", "001085123456", "acct-1", 1700000000);
    assert_int_equal(gw_store_link_create(f->st, &a), GW_OK);
    assert_int_equal(gw_store_link_delete(f->st, "portal-a", "001085123456"), GW_OK);
    gw_link_t r;
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "001085123456", &r), GW_ENOTFOUND);
    assert_int_equal(gw_store_link_by_account(f->st, "portal-a", "acct-1", &r), GW_ENOTFOUND);
    /* both the number and the account can be linked again, to new partners */
    gw_link_t b = mklink("portal-a", "001085123456", "acct-2", 1700000002);
    gw_link_t c = mklink("portal-a", "079300000001", "acct-1", 1700000003);
    assert_int_equal(gw_store_link_create(f->st, &b), GW_OK);
    assert_int_equal(gw_store_link_create(f->st, &c), GW_OK);
    assert_int_equal(gw_store_link_by_account(f->st, "portal-a", "acct-1", &r), GW_OK);
    assert_string_equal(r.id12, "079300000001");
}

/* ------------------------------------------------------------------ concurrency */

enum { TAKE_THREADS = 8, TAKE_KEYS = 200, LINK_THREADS = 16 };

typedef struct race {
    gw_store_t *st;
    pthread_barrier_t barrier;
    atomic_int taken[TAKE_KEYS];
    atomic_int errors;
    atomic_int wrong_value;
    int results[LINK_THREADS];
} race_t;

typedef struct worker_arg {
    race_t *race;
    int idx;
} worker_arg_t;

static void *take_worker(void *p)
{
    worker_arg_t *a = p;
    race_t *r = a->race;
    pthread_barrier_wait(&r->barrier);
    for (int i = 0; i < TAKE_KEYS; i++) {
        /* threads walk the keys from different starting points */
        int k = (i + a->idx * 25) % TAKE_KEYS;
        char key[32], want[32];
        snprintf(key, sizeof(key), "k%03d", k);
        snprintf(want, sizeof(want), "value-%03d", k);
        char *v = NULL;
        int rc = gw_store_take(r->st, "code", key, &v);
        if (rc == GW_OK) {
            atomic_fetch_add(&r->taken[k], 1);
            if (strcmp(v, want))
                atomic_fetch_add(&r->wrong_value, 1);
            free(v);
        } else if (rc != GW_ENOTFOUND) {
            atomic_fetch_add(&r->errors, 1);
        }
    }
    return NULL;
}

static void test_store_concurrent_take_gives_each_key_exactly_once(void **state)
{
    fixture_t *f = *state;
    race_t *r = calloc(1, sizeof(*r));
    r->st = f->st;
    for (int k = 0; k < TAKE_KEYS; k++) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "k%03d", k);
        snprintf(val, sizeof(val), "value-%03d", k);
        assert_int_equal(gw_store_put(f->st, "code", key, val, 600, 0), GW_OK);
    }
    pthread_barrier_init(&r->barrier, NULL, TAKE_THREADS);
    pthread_t th[TAKE_THREADS];
    worker_arg_t args[TAKE_THREADS];
    for (int i = 0; i < TAKE_THREADS; i++) {
        args[i] = (worker_arg_t){ r, i };
        assert_int_equal(pthread_create(&th[i], NULL, take_worker, &args[i]), 0);
    }
    for (int i = 0; i < TAKE_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r->barrier);
    int total = 0;
    for (int k = 0; k < TAKE_KEYS; k++) {
        int n = atomic_load(&r->taken[k]);
        if (n != 1)
            fail_msg("key k%03d taken %d times", k, n);
        total += n;
    }
    assert_int_equal(total, TAKE_KEYS);
    assert_int_equal(atomic_load(&r->errors), 0);
    assert_int_equal(atomic_load(&r->wrong_value), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='code'"), 0);
    free(r);
}

static void *link_worker(void *p)
{
    worker_arg_t *a = p;
    race_t *r = a->race;
    char acct[32];
    snprintf(acct, sizeof(acct), "acct-%02d", a->idx);
    gw_link_t l = mklink("portal-a", "001085123456", acct, 1700000000 + a->idx);
    pthread_barrier_wait(&r->barrier);
    r->results[a->idx] = gw_store_link_create(r->st, &l);
    return NULL;
}

static void test_store_concurrent_link_create_for_one_id12_has_one_winner(void **state)
{
    fixture_t *f = *state;
    race_t *r = calloc(1, sizeof(*r));
    r->st = f->st;
    pthread_barrier_init(&r->barrier, NULL, LINK_THREADS);
    pthread_t th[LINK_THREADS];
    worker_arg_t args[LINK_THREADS];
    for (int i = 0; i < LINK_THREADS; i++) {
        args[i] = (worker_arg_t){ r, i };
        assert_int_equal(pthread_create(&th[i], NULL, link_worker, &args[i]), 0);
    }
    for (int i = 0; i < LINK_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r->barrier);
    int ok = 0, conflict = 0, winner = -1;
    for (int i = 0; i < LINK_THREADS; i++) {
        if (r->results[i] == GW_OK)
            ok++, winner = i;
        else if (r->results[i] == GW_ECONFLICT)
            conflict++;
        else
            fail_msg("thread %d: link_create = %d", i, r->results[i]);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, LINK_THREADS - 1);
    gw_link_t got;
    assert_int_equal(gw_store_link_by_id12(f->st, "portal-a", "001085123456", &got), GW_OK);
    char want[32];
    snprintf(want, sizeof(want), "acct-%02d", winner);
    assert_string_equal(got.account, want);
    assert_int_equal(got.created, 1700000000 + winner);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM links"), 1);
    free(r);
}

typedef struct listed {
    int n;
    char keys[8][32];
    char vals[8][32];
} listed_t;

static void on_listed(const char *key, const char *val, void *ud)
{
    listed_t *l = ud;
    if (l->n < 8) {
        snprintf(l->keys[l->n], 32, "%s", key);
        snprintf(l->vals[l->n], 32, "%s", val);
    }
    l->n++;
}

static void test_store_decr_gives_back_one_never_below_zero(void **state)
{
    fixture_t *f = *state;
    int64_t n = 0;
    assert_int_equal(gw_store_incr(f->st, "rl", "k", 60, &n), GW_OK);
    assert_int_equal(gw_store_incr(f->st, "rl", "k", 60, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gw_store_decr(f->st, "rl", "k"), GW_OK);
    assert_int_equal(gw_store_incr(f->st, "rl", "k", 60, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gw_store_decr(f->st, "rl", "k"), GW_OK);
    assert_int_equal(gw_store_decr(f->st, "rl", "k"), GW_OK);
    assert_int_equal(gw_store_decr(f->st, "rl", "k"), GW_OK); /* floor */
    assert_int_equal(gw_store_incr(f->st, "rl", "k", 60, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(gw_store_decr(f->st, "rl", "absent"), GW_OK); /* nothing to give back */
}

static void test_store_list_returns_live_records_of_the_outbox(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(gw_store_put(f->st, "evq", "e1", "v1", 60, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "evq", "e2", "v2", 60, 0), GW_OK);
    /* expiry is kept in whole seconds: a 1 s record may be gone at the next tick,
       so the short-lived one gets 2 s and the test waits 3 */
    assert_int_equal(gw_store_put(f->st, "evq", "e3", "v3", 2, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "other", "x", "y", 60, 0), GW_OK);
    listed_t l = { 0 };
    assert_int_equal(gw_store_list(f->st, "evq", 10, on_listed, &l), GW_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(gw_store_del(f->st, "evq", "e1"), GW_OK);
    char *v = NULL;
    assert_int_equal(gw_store_take(f->st, "evq", "e2", &v), GW_OK);
    free(v);
    sleep(3); /* e3 expires */
    memset(&l, 0, sizeof(l));
    assert_int_equal(gw_store_list(f->st, "evq", 10, on_listed, &l), GW_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(gw_store_put(f->st, "evq", "e4", "v4", 60, 0), GW_OK);
    memset(&l, 0, sizeof(l));
    assert_int_equal(gw_store_list(f->st, "evq", 10, on_listed, &l), GW_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.keys[0], "e4");
    assert_string_equal(l.vals[0], "v4");
}

static void test_store_json_records_round_trip(void **state)
{
    fixture_t *f = *state;
    json_t *j = json_pack("{s:s,s:[s]}", "sid", "S1", "clients", "portal-a");
    for (int i = 0; i < 2; i++) {
        const char *ns = i ? "sess" : "code"; /* code: in memory when the tier is on */
        assert_int_equal(gw_store_put_json(f->st, ns, "k", j, 60, 0), GW_OK);
        assert_int_equal(gw_store_put_json(f->st, ns, "k", j, 60, 1), GW_ECONFLICT);
        json_t *got = NULL;
        assert_int_equal(gw_store_get_json(f->st, ns, "k", 0, &got), GW_OK);
        assert_true(json_equal(got, j));
        json_decref(got);
        assert_int_equal(gw_store_get_json(f->st, ns, "k", 1, &got), GW_OK);
        assert_true(json_equal(got, j));
        json_decref(got);
        assert_int_equal(gw_store_get_json(f->st, ns, "k", 1, &got), GW_ENOTFOUND);
        assert_null(got);
        assert_int_equal(gw_store_put(f->st, ns, "text", "not json", 60, 0), GW_OK);
        assert_int_equal(gw_store_get_json(f->st, ns, "text", 0, &got), GW_EINVAL);
        assert_null(got);
    }
    json_decref(j);
}

static void *put_from_other_thread(void *arg)
{
    return (void *)(intptr_t)gw_store_put(arg, "sess", "other", "v", 60, 0);
}

/* a batch is one transaction; one that did nothing in the database holds no lock */
static void test_store_batch_commits_together_and_costs_nothing_when_empty(void **state)
{
    if (redis_url)
        skip(); /* every Redis operation is its own round trip */
    fixture_t *f = *state;
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "a", "1", 60, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "b", "2", 60, 0), GW_OK);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='sess'"), 0); /* not yet visible */
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='sess'"), 2);
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    pthread_t t;
    void *ret = NULL;
    pthread_create(&t, NULL, put_from_other_thread, f->st);
    pthread_join(t, &ret);
    assert_int_equal((intptr_t)ret, GW_OK); /* no write lock is held by the empty batch */
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    check_stored(f->st, "sess", "other", "v");
}

/* a batch ended without commit leaves nothing behind, and the next operation works */
static void test_store_batch_end_without_commit_discards_its_writes(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "x", "1", 60, 0), GW_OK);
    assert_int_equal(gw_store_set_add(f->st, "sidx", "001099012345", "x", 60), GW_OK);
    assert_int_equal(gw_store_batch_end(f->st, 0), GW_OK);
    char *v = NULL;
    assert_int_equal(gw_store_get(f->st, "sess", "x", &v), GW_ENOTFOUND);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM sets WHERE ns='sidx'"), 0);
    assert_int_equal(gw_store_put(f->st, "sess", "y", "2", 60, 0), GW_OK); /* outside any batch */
    check_stored(f->st, "sess", "y", "2");
}

/* While one thread's batch is open, another thread's read does not wait for it and does
 * not see it; another thread's write waits for its end and is then stored, not refused. */
typedef struct {
    gw_store_t *st;
    pthread_barrier_t open;
    atomic_int committed;
    int read_rc, read_before_commit, put_rc, put_after_commit;
} batch_race_t;

static void *other_thread(void *p)
{
    batch_race_t *r = p;
    pthread_barrier_wait(&r->open);
    char *v = NULL;
    r->read_rc = gw_store_get(r->st, "sess", "a", &v);
    free(v);
    r->read_before_commit = !atomic_load(&r->committed);
    r->put_rc = gw_store_put(r->st, "sess", "b", "2", 60, 0);
    r->put_after_commit = atomic_load(&r->committed);
    return NULL;
}

static void test_store_other_threads_read_past_a_batch_and_write_after_it(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    batch_race_t r = { .st = f->st };
    pthread_barrier_init(&r.open, NULL, 2);
    pthread_t th;
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "a", "1", 60, 0), GW_OK);
    assert_int_equal(pthread_create(&th, NULL, other_thread, &r), 0);
    pthread_barrier_wait(&r.open);
    usleep(300 * 1000);
    atomic_store(&r.committed, 1);
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&r.open);
    assert_int_equal(r.read_rc, GW_ENOTFOUND);
    assert_true(r.read_before_commit);
    assert_int_equal(r.put_rc, GW_OK);
    assert_true(r.put_after_commit);
    check_stored(f->st, "sess", "a", "1");
    check_stored(f->st, "sess", "b", "2");
}

/* Another process holds the database's write lock: a write gives up after the busy
 * timeout (5 s) counted from its start, also when it first queued behind another
 * thread's write that was waiting for the same lock. */
typedef struct {
    gw_store_t *st;
    const char *key;
    double started, ended;
    int rc;
} timed_put_t;

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *timed_put(void *p)
{
    timed_put_t *t = p;
    t->started = mono_s();
    t->rc = gw_store_put(t->st, "sess", t->key, "v", 60, 0);
    t->ended = mono_s();
    return NULL;
}

static void test_store_write_waits_at_most_the_busy_timeout_in_all(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    timed_put_t a = { .st = f->st, .key = "a" }, b = { .st = f->st, .key = "b" };
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, timed_put, &a), 0);
    usleep(1500 * 1000);
    assert_int_equal(pthread_create(&tb, NULL, timed_put, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(a.rc, GW_ESTORE);
    assert_int_equal(b.rc, GW_ESTORE);
    assert_true(a.ended - a.started > 4.5 && a.ended - a.started < 7.5);
    if (b.ended - b.started >= 7.5) /* 3.5 s behind the first write, then 5 s more: 8.5 s */
        fail_msg("the second write waited %.1f s", b.ended - b.started);
    assert_int_equal(gw_store_put(f->st, "sess", "c", "v", 60, 0), GW_OK); /* free again */
    check_stored(f->st, "sess", "c", "v");
}

/* Fails the test when the database's WAL file is larger than max_mb. */
static void check_wal_at_most(const fixture_t *f, long max_mb)
{
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    struct stat sb;
    assert_int_equal(stat(wal, &sb), 0);
    if (sb.st_size > max_mb * 1024 * 1024)
        fail_msg("WAL is %ld bytes, more than %ld MB", (long)sb.st_size, max_mb);
}

/* The write connection checkpoints out of its commits: the WAL still stops growing. */
static void test_store_wal_is_checkpointed_under_steady_writes(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    char key[32];
    for (int i = 0; i < 12000; i++) { /* one commit each: about 24k WAL frames if never checkpointed */
        snprintf(key, sizeof(key), "k%05d", i);
        assert_int_equal(gw_store_put(f->st, "sess", key, "a value of some length, like a session record", 60, 0),
                         GW_OK);
    }
    check_wal_at_most(f, 40);
    check_stored(f->st, "sess", "k11999", "a value of some length, like a session record");
}

/* batch_try_begin is for the I/O threads: it begins only when nothing else writes, never
 * waits, and leaves the checkpoints to maintain (the background thread). */
static void *hold_batch(void *p)
{
    batch_race_t *r = p;
    assert_int_equal(gw_store_batch_begin(r->st), GW_OK);
    assert_int_equal(gw_store_put(r->st, "sess", "held", "1", 60, 0), GW_OK); /* the write connection taken */
    pthread_barrier_wait(&r->open);
    pthread_barrier_wait(&r->open); /* until the main thread has tried */
    assert_int_equal(gw_store_batch_end(r->st, 1), GW_OK);
    return NULL;
}

static void test_store_batch_try_begin_never_waits(void **state)
{
    fixture_t *f = *state;
    if (redis_url) { /* a network store: never at once */
        assert_int_equal(gw_store_batch_try_begin(f->st), GW_EAGAIN);
        return;
    }
    /* before the first write the write connection is not open, and opening it may wait */
    assert_int_equal(gw_store_batch_try_begin(f->st), GW_EAGAIN);
    assert_int_equal(gw_store_put(f->st, "sess", "first", "1", 60, 0), GW_OK);
    /* free: it begins, reads and writes inside, and commits */
    assert_int_equal(gw_store_batch_try_begin(f->st), GW_OK);
    char *v = NULL;
    assert_int_equal(gw_store_get(f->st, "lock", "001085012345", &v), GW_ENOTFOUND);
    assert_int_equal(gw_store_put(f->st, "sess", "a", "1", 60, 0), GW_OK);
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    check_stored(f->st, "sess", "a", "1");
    /* and a batch it began that ends without commit leaves nothing */
    assert_int_equal(gw_store_batch_try_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "gone", "1", 60, 0), GW_OK);
    assert_int_equal(gw_store_batch_end(f->st, 0), GW_OK);
    assert_int_equal(gw_store_get(f->st, "sess", "gone", &v), GW_ENOTFOUND);
    /* another thread writes: at once, not after it */
    batch_race_t r = { .st = f->st };
    pthread_barrier_init(&r.open, NULL, 2);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hold_batch, &r), 0);
    pthread_barrier_wait(&r.open);
    double t0 = mono_s();
    assert_int_equal(gw_store_batch_try_begin(f->st), GW_EAGAIN);
    assert_true(mono_s() - t0 < 0.1);
    pthread_barrier_wait(&r.open);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&r.open);
    /* another process holds the write lock: at once too, and this thread is left as it was */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    t0 = mono_s();
    assert_int_equal(gw_store_batch_try_begin(f->st), GW_EAGAIN);
    assert_true(mono_s() - t0 < 0.1);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(gw_store_put(f->st, "sess", "b", "2", 60, 0), GW_OK);
    check_stored(f->st, "sess", "b", "2");
    check_stored(f->st, "sess", "held", "1");
}

static void test_store_maintain_checkpoints_what_try_batches_left(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    char key[32];
    assert_int_equal(gw_store_put(f->st, "sess", "first", "1", 60, 0), GW_OK); /* opens the write connection */
    for (int i = 0; i < 12000; i++) { /* as in the steady-writes test: 24k frames unchecked */
        assert_int_equal(gw_store_batch_try_begin(f->st), GW_OK);
        snprintf(key, sizeof(key), "k%05d", i);
        assert_int_equal(gw_store_put(f->st, "sess", key, "a value of some length, like a session record", 60, 0),
                         GW_OK);
        assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
        if (i % 500 == 499)
            gw_store_maintain(f->st); /* the background thread's turn */
    }
    check_wal_at_most(f, 40);
    check_stored(f->st, "sess", "k11999", "a value of some length, like a session record");
}

/* Several threads writing without pause: the checkpoints run while commits land, and
 * the WAL is still held to its bound (16,000 frames, about 66 MB) and then cut back. */
static void *put_many(void *arg)
{
    fixture_t *f = arg;
    char key[48];
    for (int i = 0; i < 6000; i++) {
        snprintf(key, sizeof(key), "t%p-%05d", (void *)&key, i);
        if (gw_store_put(f->st, "sess", key, "a value of some length, like a session record", 60, 0) != GW_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_store_wal_stays_bounded_under_concurrent_writes(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, put_many, f), 0);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    check_wal_at_most(f, 80);
}

/* An import is its own transaction: not inside a batch. */
static void test_store_import_inside_a_batch_is_refused(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "x", "1", 60, 0), GW_OK);
    assert_int_equal(GW_STORE_ACCT(f->st, import_begin, "p"), GW_EINVAL);
    assert_int_equal(GW_STORE_ACCT(f->st, import_end, 0), GW_ESTORE); /* does not end the batch */
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    check_stored(f->st, "sess", "x", "1");
}

/* The model of the stand-in password check: one of the portal's accounts that has a hash,
 * never another portal's. */
static void test_store_account_hash_model_is_one_of_the_portals_hashed_accounts(void **state)
{
    if (redis_url)
        skip(); /* legacy accounts live in the SQLite store */
    fixture_t *f = *state;
    gw_account_t a, m;
    assert_int_equal(GW_STORE_ACCT(f->st, account_hash_model, "p1", &m), GW_ENOTFOUND);
    const struct {
        const char *portal, *id, *hash;
    } rows[] = {
        { "p1", "A-0", "" }, { "p1", "A-1", "$6$abc$x" }, { "p1", "A-2", "$2b$10$y" }, { "p2", "A-0", "$argon2id$z" }
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        memset(&a, 0, sizeof(a));
        snprintf(a.portal, sizeof(a.portal), "%s", rows[i].portal);
        snprintf(a.id, sizeof(a.id), "%s", rows[i].id);
        snprintf(a.username, sizeof(a.username), "u%zu", i);
        snprintf(a.full_name, sizeof(a.full_name), "Nguyễn Văn An");
        snprintf(a.status, sizeof(a.status), "active");
        snprintf(a.account_class, sizeof(a.account_class), "individual");
        snprintf(a.pw_hash, sizeof(a.pw_hash), "%s", rows[i].hash);
        gw_import_stats_t st = { 0 };
        assert_int_equal(GW_STORE_ACCT(f->st, import_begin, rows[i].portal), GW_OK);
        int rc = GW_STORE_ACCT(f->st, import_row, &a, &st);
        assert_int_equal(GW_STORE_ACCT(f->st, import_end, rc == GW_OK), GW_OK);
        assert_int_equal(rc, GW_OK);
    }
    assert_int_equal(GW_STORE_ACCT(f->st, account_hash_model, "p1", &m), GW_OK);
    assert_string_equal(m.id, "A-1"); /* the first by id that has a hash */
    assert_string_equal(m.pw_hash, "$6$abc$x");
    assert_int_equal(GW_STORE_ACCT(f->st, account_hash_model, "p2", &m), GW_OK);
    assert_string_equal(m.pw_hash, "$argon2id$z");
    assert_int_equal(GW_STORE_ACCT(f->st, account_hash_model, "p3", &m), GW_ENOTFOUND);
}

/* batches nest: the outermost end commits; an inner end without commit undoes it all */
static void test_store_nested_batches_commit_at_the_outermost_end(void **state)
{
    if (redis_url)
        skip();
    fixture_t *f = *state;
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "o", "1", 60, 0), GW_OK);
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "i", "2", 60, 0), GW_OK);
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='sess'"), 0); /* the outer one is open */
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_OK);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='sess'"), 2);

    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "o2", "1", 60, 0), GW_OK);
    assert_int_equal(gw_store_batch_begin(f->st), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "i2", "2", 60, 0), GW_OK);
    assert_int_equal(gw_store_batch_end(f->st, 0), GW_OK);
    assert_int_equal(gw_store_batch_end(f->st, 1), GW_ESTORE); /* not committed, and says so */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='sess'"), 2);
    assert_int_equal(gw_store_put(f->st, "sess", "after", "3", 60, 0), GW_OK); /* no batch left open */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM kv WHERE ns='sess'"), 3);
}

/* ------------------------------------------------------------------ sets */

typedef struct members {
    size_t n;
    char v[8][64];
} members_t;

static void collect_member(const char *m, void *ud)
{
    members_t *l = ud;
    if (l->n < 8)
        snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", m);
}

static int has_member(const members_t *l, const char *m)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], m))
            return 1;
    return 0;
}

static void test_store_set_keeps_members_until_each_expires(void **state)
{
    fixture_t *f = *state;
    /* whole-second expiry: 2 s, so the member is still there when first listed */
    assert_int_equal(gw_store_set_add(f->st, "sidx", "001099012345", "s-short", 2), GW_OK);
    assert_int_equal(gw_store_set_add(f->st, "sidx", "001099012345", "s-long", 60), GW_OK);
    assert_int_equal(gw_store_set_add(f->st, "sidx", "001099012345", "s-long", 60), GW_OK); /* no duplicate */
    assert_int_equal(gw_store_set_add(f->st, "sidx", "079188000001", "other", 60), GW_OK);
    members_t l = { 0 };
    assert_int_equal(gw_store_set_members(f->st, "sidx", "001099012345", 100, collect_member, &l), GW_OK);
    assert_int_equal(l.n, 2);
    assert_true(has_member(&l, "s-short") && has_member(&l, "s-long"));
    sleep(3);
    memset(&l, 0, sizeof(l));
    assert_int_equal(gw_store_set_members(f->st, "sidx", "001099012345", 100, collect_member, &l), GW_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "s-long");
    memset(&l, 0, sizeof(l));
    assert_int_equal(gw_store_set_members(f->st, "sidx", "nobody", 100, collect_member, &l), GW_OK);
    assert_int_equal(l.n, 0);
}

typedef struct set_race {
    gw_store_t *st;
    int idx;
} set_race_t;

static void *set_adder(void *arg)
{
    set_race_t *r = arg;
    char m[32];
    for (int i = 0; i < 25; i++) {
        snprintf(m, sizeof(m), "t%d-%d", r->idx, i);
        if (gw_store_set_add(r->st, "sidx", "001099012345", m, 60) != GW_OK)
            return (void *)1;
    }
    return NULL;
}

static void count_member(const char *m, void *ud)
{
    (void)m;
    (*(size_t *)ud)++;
}

/* concurrent adds to one set never lose a member (a read-modify-write list would) */
static void test_store_concurrent_set_adds_keep_every_member(void **state)
{
    fixture_t *f = *state;
    pthread_t t[8];
    set_race_t r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (set_race_t){ f->st, i };
        pthread_create(&t[i], NULL, set_adder, &r[i]);
    }
    for (int i = 0; i < 8; i++) {
        void *ret = NULL;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    size_t n = 0;
    assert_int_equal(gw_store_set_members(f->st, "sidx", "001099012345", 1000, count_member, &n), GW_OK);
    assert_int_equal(n, 200);
}

/* ------------------------------------------------------------------ memory tier */

static void test_memory_records_never_reach_the_database(void **state)
{
    fixture_t *f = *state;
    assert_true(gw_store_local(f->st, "code"));
    assert_false(gw_store_local(f->st, "sess"));
    assert_int_equal(gw_store_put(f->st, "code", "c", "v", 60, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "at", "a", "v", 60, 0), GW_OK);
    assert_int_equal(gw_store_put(f->st, "sess", "s", "v", 60, 0), GW_OK);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1, sess = -1;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, "SELECT count(*), sum(ns='sess') FROM kv", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        sess = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(n, 1);
    assert_int_equal(sess, 1);
    assert_int_equal(gw_memkv_count(f->st->mem, NULL), 2);
}

static void test_memory_is_bounded_and_purged(void **state)
{
    fixture_t *f = *state;
    char k[32];
    int rc = GW_OK, stored = 0;
    for (int i = 0; i < 6000 && rc == GW_OK; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        rc = gw_store_put(f->st, "ar", k, "v", i < 100 ? 1 : 60, 0);
        stored += rc == GW_OK;
    }
    assert_int_equal(rc, GW_ESTORE); /* past max_records: refused, never grown */
    assert_int_equal(stored, 5000);
    check_stored(f->st, "ar", "k4999", "v");
    sleep(2);
    assert_int_equal(gw_store_purge(f->st), GW_OK);
    assert_int_equal(gw_memkv_count(f->st->mem, "ar"), 4900);
    assert_int_equal(gw_store_put(f->st, "ar", "after", "v", 60, 0), GW_OK); /* room again */
    check_stored(f->st, "ar", "k3", NULL);
    check_stored(f->st, "ar", "k100", "v");
}

/* with a reserve, new work ("ar") stops short of the bound and the rest (codes, tokens
 * of logins under way) can still be stored up to it */
static void test_memory_reserve_refuses_new_work_first(void **state)
{
    fixture_t *f = *state;
    gw_memkv_reserve(f->st->mem, "ar", 500);
    char k[32];
    int stored = 0;
    for (int i = 0; i < 6000; i++) {
        snprintf(k, sizeof(k), "a%d", i);
        stored += gw_store_put(f->st, "ar", k, "v", 60, 0) == GW_OK;
    }
    assert_int_equal(stored, 4500);
    int codes = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "c%d", i);
        codes += gw_store_put(f->st, "code", k, "v", 60, 0) == GW_OK;
    }
    assert_int_equal(codes, 500); /* the reserve, then the bound */
    assert_int_equal(gw_store_del(f->st, "ar", "a0"), GW_OK);
    assert_int_equal(gw_store_put(f->st, "ar", "again", "v", 60, 0), GW_ESTORE); /* still inside the reserve */
    assert_int_equal(gw_store_put(f->st, "code", "c-again", "v", 60, 0), GW_OK);
}

static void test_memory_json_records_are_copies_and_taken_once(void **state)
{
    fixture_t *f = *state;
    gw_memkv_t *m = f->st->mem;
    json_t *j = json_pack("{s:s,s:{s:i}}", "client_id", "portal-a", "identity", "level", 2);
    assert_int_equal(gw_memkv_put_json(m, "code", "k", j, 60, 0), GW_OK);
    json_object_set_new(j, "client_id", json_string("changed after put"));
    json_t *got = NULL;
    assert_int_equal(gw_memkv_get_json(m, "code", "k", 0, &got), GW_OK);
    assert_string_equal(json_string_value(json_object_get(got, "client_id")), "portal-a");
    json_object_set_new(got, "client_id", json_string("changed copy"));
    json_decref(got);
    check_stored(f->st, "code", "k", "{\"client_id\":\"portal-a\",\"identity\":{\"level\":2}}"); /* read as text */
    assert_int_equal(gw_memkv_put_json(m, "code", "k", j, 60, 1), GW_ECONFLICT);
    got = NULL;
    assert_int_equal(gw_memkv_get_json(m, "code", "k", 1, &got), GW_OK);
    assert_string_equal(json_string_value(json_object_get(got, "client_id")), "portal-a");
    json_decref(got);
    got = NULL;
    assert_int_equal(gw_memkv_get_json(m, "code", "k", 1, &got), GW_ENOTFOUND);
    assert_null(got);
    /* text put, JSON read; and text that is not JSON */
    assert_int_equal(gw_store_put(f->st, "at", "t", "{\"a\":1}", 60, 0), GW_OK);
    assert_int_equal(gw_memkv_get_json(m, "at", "t", 0, &got), GW_OK);
    assert_int_equal(json_integer_value(json_object_get(got, "a")), 1);
    json_decref(got);
    assert_int_equal(gw_store_put(f->st, "at", "bad", "not json", 60, 0), GW_OK);
    got = NULL;
    assert_int_equal(gw_memkv_get_json(m, "at", "bad", 0, &got), GW_EINVAL);
    assert_null(got);
    json_decref(j);
}

/* The bound in bytes: big records fill it long before the bound in records; what is taken
 * or deleted gives its bytes back; new work leaves the reserved share to work under way. */
static void test_memory_is_bounded_in_bytes_too(void **state)
{
    (void)state;
    gw_memkv_t *m = gw_memkv_new("ar code", 100000);
    gw_memkv_set_max_bytes(m, 64 * 1024);
    gw_memkv_reserve(m, "ar", 10000); /* a tenth of the records: a tenth of the bytes */
    char big[2049], k[16];
    memset(big, 'x', 2048);
    big[2048] = 0;
    int stored = 0, rc = GW_OK;
    for (int i = 0; i < 100 && rc == GW_OK; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        rc = gw_memkv_put(m, "ar", k, big, 60, 0);
        stored += rc == GW_OK;
    }
    assert_int_equal(rc, GW_ESTORE);
    assert_in_range(stored, 24, 28); /* about 58 KB of 2 KB records (90% of 64 KB) */
    assert_true(gw_memkv_bytes(m) <= 64 * 1024);
    assert_int_equal(gw_memkv_count(m, "ar"), (size_t)stored);
    /* the reserved tenth still takes work under way */
    assert_int_equal(gw_memkv_put(m, "code", "c1", big, 60, 0), GW_OK);
    /* a JSON record is counted by what it holds */
    json_t *j = json_pack("{s:s}", "login_hint", big);
    assert_int_equal(gw_memkv_put_json(m, "code", "c2", j, 60, 0), GW_OK);
    int more = 0; /* the reserved share is about 6 KB: a few more, then full for everyone */
    while (more < 10 && (snprintf(k, sizeof(k), "j%d", more), gw_memkv_put_json(m, "code", k, j, 60, 0)) == GW_OK)
        more++;
    assert_in_range(more, 0, 3);
    assert_true(gw_memkv_bytes(m) <= 64 * 1024);
    assert_int_equal(gw_memkv_put_json(m, "code", "c3", j, 60, 0), GW_ESTORE);
    /* taking and deleting give the bytes back */
    size_t before = gw_memkv_bytes(m);
    char *v = NULL;
    assert_int_equal(gw_memkv_take(m, "ar", "k0", &v), GW_OK);
    free(v);
    assert_int_equal(gw_memkv_del(m, "code", "c2"), GW_OK);
    assert_true(gw_memkv_bytes(m) <= before - 4096);
    assert_int_equal(gw_memkv_put_json(m, "code", "c3", j, 60, 0), GW_OK);
    json_decref(j);
    /* a record rewritten smaller gives back the difference */
    before = gw_memkv_bytes(m);
    assert_int_equal(gw_memkv_put(m, "ar", "k1", "small", 60, 0), GW_OK);
    assert_true(gw_memkv_bytes(m) <= before - 2000);
    gw_memkv_free(m);
}

static void test_memory_config_names_only_short_lived_namespaces(void **state)
{
    (void)state;
    assert_null(gw_memkv_new("", 10));
    assert_null(gw_memkv_new(NULL, 10));
    gw_memkv_t *m = gw_memkv_new("code, at code", 10);
    assert_non_null(m);
    assert_string_equal(gw_memkv_namespaces(m), "code at");
    assert_true(gw_memkv_holds(m, "at"));
    assert_false(gw_memkv_holds(m, "a"));
    gw_memkv_free(m);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_put_then_get_returns_value),
        T(test_store_ping_answers_and_changes_nothing),
        T(test_store_get_missing_is_not_found),
        T(test_store_namespaces_are_separate),
        T(test_store_put_overwrites_without_only_if_absent),
        T(test_store_take_returns_value_once),
        T(test_store_del_removes_record),
        T(test_store_record_expires_after_ttl),
        T(test_store_put_only_if_absent_conflicts_then_succeeds_after_expiry),
        T(test_store_keeps_unicode_values_and_keys),
        T(test_store_keeps_one_mebibyte_value),
        T(test_store_incr_counts_and_restarts_after_window),
        T(test_store_purge_removes_only_expired),
        T(test_store_revoked_since_returns_revocations_in_order),
        T(test_store_link_lookup_both_ways),
        T(test_store_link_create_defaults_created_to_now),
        T(test_store_link_create_conflicts_on_same_id12),
        T(test_store_link_create_conflicts_on_same_account),
        T(test_store_link_same_pair_in_other_portal_is_allowed),
        T(test_store_link_delete_frees_both_sides),
        T(test_store_concurrent_take_gives_each_key_exactly_once),
        T(test_store_concurrent_link_create_for_one_id12_has_one_winner),
        T(test_store_list_returns_live_records_of_the_outbox),
        T(test_store_decr_gives_back_one_never_below_zero),
        T(test_store_json_records_round_trip),
        T(test_store_batch_commits_together_and_costs_nothing_when_empty),
        T(test_store_batch_end_without_commit_discards_its_writes),
        T(test_store_nested_batches_commit_at_the_outermost_end),
        T(test_store_other_threads_read_past_a_batch_and_write_after_it),
        T(test_store_write_waits_at_most_the_busy_timeout_in_all),
        T(test_store_wal_is_checkpointed_under_steady_writes),
        T(test_store_batch_try_begin_never_waits),
        T(test_store_maintain_checkpoints_what_try_batches_left),
        T(test_store_wal_stays_bounded_under_concurrent_writes),
        T(test_store_import_inside_a_batch_is_refused),
        T(test_store_account_hash_model_is_one_of_the_portals_hashed_accounts),
        T(test_store_set_keeps_members_until_each_expires),
        T(test_store_concurrent_set_adds_keep_every_member),
    };
    const struct CMUnitTest memory_tests[] = {
        T(test_memory_records_never_reach_the_database),
        T(test_memory_is_bounded_and_purged),
        T(test_memory_reserve_refuses_new_work_first),
        T(test_memory_json_records_are_copies_and_taken_once),
        cmocka_unit_test(test_memory_config_names_only_short_lived_namespaces),
        cmocka_unit_test(test_memory_is_bounded_in_bytes_too),
    };
#undef T
    int failed = cmocka_run_group_tests_name("store.sqlite", tests, NULL, NULL);
    with_memory = 1; /* the daemon's default: short-lived records in memory, the rest in SQLite */
    failed += cmocka_run_group_tests_name("store.sqlite+memory", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("store.memory", memory_tests, NULL, NULL);
    with_memory = 0;
    redis_url = getenv("EIDGW_TEST_REDIS_URL");
    if (redis_url && *redis_url) {
        setenv("EIDGW_REDIS_ALLOW_VOLATILE", "1", 1);
        failed += cmocka_run_group_tests_name("store.redis", tests, NULL, NULL);
    } else {
        fprintf(stderr, "test_store: EIDGW_TEST_REDIS_URL not set, Redis conformance run skipped\n");
    }
    return failed;
}
