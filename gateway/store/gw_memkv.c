/* In-memory records with a TTL: see gw_memkv.h. */
#include "gw_memkv.h"
#include "gw_json.h"
#include "gw_util.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS 32
#define MAX_NS 16

typedef struct entry {
    struct entry *next;
    uint64_t h;
    int64_t exp;
    char *val; /* text record, or NULL */
    json_t *obj; /* JSON record, or NULL */
    size_t bytes; /* what it holds, as counted against max_bytes */
    size_t nslen, klen; /* kbuf holds ns, NUL, key, NUL */
    char kbuf[];
} entry_t;

typedef struct shard {
    pthread_mutex_t lock;
    entry_t **b;
    size_t nb, n;
} shard_t;

struct gw_memkv {
    shard_t sh[NSHARDS];
    uint64_t k0, k1; /* hash key: bucket positions cannot be aimed at from outside */
    size_t max, count; /* count: atomic */
    size_t reserve; /* slots that puts into the "new work" namespaces leave free */
    size_t max_bytes, bytes; /* bytes: atomic, an estimate of what the records hold */
    char *newwork; /* those namespaces, space-separated (NULL: none) */
    char *ns[MAX_NS];
    size_t nns;
    char *nsjoined;
};

/* SipHash-2-4 (Aumasson and Bernstein), over ns, a NUL and key. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                       \
    do {                                                                                                               \
        v0 += v1;                                                                                                      \
        v1 = ROTL(v1, 13);                                                                                             \
        v1 ^= v0;                                                                                                      \
        v0 = ROTL(v0, 32);                                                                                             \
        v2 += v3;                                                                                                      \
        v3 = ROTL(v3, 16);                                                                                             \
        v3 ^= v2;                                                                                                      \
        v0 += v3;                                                                                                      \
        v3 = ROTL(v3, 21);                                                                                             \
        v3 ^= v0;                                                                                                      \
        v2 += v1;                                                                                                      \
        v1 = ROTL(v1, 17);                                                                                             \
        v1 ^= v2;                                                                                                      \
        v2 = ROTL(v2, 32);                                                                                             \
    } while (0)

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)len << 56;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8); /* little-endian hosts; the value only has to be stable per process */
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = full; i < len; i++)
        b |= (uint64_t)in[i] << (8 * (i - full));
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t hash_of(const gw_memkv_t *m, const char *ns, const char *key, size_t nslen, size_t klen)
{
    unsigned char stackbuf[256];
    size_t len = nslen + 1 + klen;
    unsigned char *buf = len <= sizeof(stackbuf) ? stackbuf : gw_xmalloc(len);
    memcpy(buf, ns, nslen);
    buf[nslen] = 0;
    memcpy(buf + nslen + 1, key, klen);
    uint64_t h = siphash(m->k0, m->k1, buf, len);
    if (buf != stackbuf)
        free(buf);
    return h;
}

gw_memkv_t *gw_memkv_new(const char *nslist, size_t max_records)
{
    if (!nslist)
        return NULL;
    gw_memkv_t *m = gw_xcalloc(1, sizeof(*m));
    char *copy = gw_strdup(nslist);
    gw_buf_t joined;
    gw_buf_init(&joined, 64);
    for (char *save = NULL, *t = strtok_r(copy, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
        if (m->nns == MAX_NS || gw_memkv_holds(m, t))
            continue;
        m->ns[m->nns++] = gw_strdup(t);
        if (joined.len)
            gw_buf_add(&joined, " ", 1);
        gw_buf_add(&joined, t, strlen(t));
    }
    free(copy);
    if (!m->nns) {
        gw_buf_cleanup(&joined);
        free(m);
        return NULL;
    }
    m->nsjoined = gw_buf_steal(&joined);
    m->max = max_records ? max_records : 1;
    m->max_bytes = SIZE_MAX / 2;
    unsigned char k[16];
    if (RAND_bytes(k, sizeof(k)) != 1)
        abort();
    memcpy(&m->k0, k, 8);
    memcpy(&m->k1, k + 8, 8);
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_init(&m->sh[i].lock, NULL);
        m->sh[i].nb = 64;
        m->sh[i].b = gw_xcalloc(m->sh[i].nb, sizeof(entry_t *));
    }
    return m;
}

/* What a JSON value holds, roughly as jansson allocates it and the allocator rounds it up
 * (measured: a flood of pending logins grew the RSS by 1.3 times what the first estimate, a
 * node of 48 bytes and 40 per member, counted; this one keeps the RSS within the bound). */
static size_t json_bytes(const json_t *j)
{
    size_t n = 64;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)j, k, v)
            n += strlen(k) + 80 + json_bytes(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach (j, i, v)
            n += 8 + json_bytes(v);
    } else if (json_is_string(j)) {
        n += json_string_length(j) + 16;
    }
    return n;
}

static size_t value_bytes(const char *val, const json_t *obj)
{
    return val ? strlen(val) + 1 : obj ? json_bytes(obj) : 0;
}

/* an entry leaves the table: its slot and its bytes are free again */
static void forget(gw_memkv_t *m, const entry_t *e)
{
    __atomic_sub_fetch(&m->count, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&m->bytes, e->bytes, __ATOMIC_RELAXED);
}

static void entry_free(entry_t *e)
{
    free(e->val);
    json_decref(e->obj);
    free(e);
}

/* the record as text (a copy) */
static char *entry_text(const entry_t *e)
{
    if (e->val)
        return gw_strdup(e->val);
    char *t = e->obj ? json_dumps(e->obj, JSON_COMPACT) : NULL;
    return t ? t : gw_strdup("");
}

/* a new value for a record under way (counted, never refused: its work has begun) */
static void entry_set(gw_memkv_t *m, entry_t *e, char *val, json_t *obj)
{
    size_t old = value_bytes(e->val, e->obj), now = value_bytes(val, obj);
    free(e->val);
    json_decref(e->obj);
    e->val = val;
    e->obj = obj;
    e->bytes = e->bytes - old + now;
    if (now >= old)
        __atomic_add_fetch(&m->bytes, now - old, __ATOMIC_RELAXED);
    else
        __atomic_sub_fetch(&m->bytes, old - now, __ATOMIC_RELAXED);
}

void gw_memkv_free(gw_memkv_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < NSHARDS; i++) {
        shard_t *s = &m->sh[i];
        for (size_t j = 0; j < s->nb; j++)
            for (entry_t *e = s->b[j], *n; e; e = n) {
                n = e->next;
                entry_free(e);
            }
        free(s->b);
        pthread_mutex_destroy(&s->lock);
    }
    for (size_t i = 0; i < m->nns; i++)
        free(m->ns[i]);
    free(m->nsjoined);
    free(m->newwork);
    free(m);
}

int gw_memkv_holds(const gw_memkv_t *m, const char *ns)
{
    if (!m || !ns)
        return 0;
    for (size_t i = 0; i < m->nns; i++)
        if (!strcmp(m->ns[i], ns))
            return 1;
    return 0;
}

const char *gw_memkv_namespaces(const gw_memkv_t *m) { return m ? m->nsjoined : ""; }
size_t gw_memkv_max(const gw_memkv_t *m) { return m ? m->max : 0; }

void gw_memkv_set_max_bytes(gw_memkv_t *m, size_t max_bytes)
{
    if (m && max_bytes)
        m->max_bytes = max_bytes;
}

size_t gw_memkv_bytes(gw_memkv_t *m) { return m ? __atomic_load_n(&m->bytes, __ATOMIC_RELAXED) : 0; }

void gw_memkv_reserve(gw_memkv_t *m, const char *newwork, size_t reserve)
{
    free(m->newwork);
    m->newwork = newwork && *newwork ? gw_strdup(newwork) : NULL;
    m->reserve = reserve < m->max ? reserve : m->max;
}

typedef struct where {
    shard_t *s;
    entry_t **slot; /* the pointer that points at the entry (or at NULL) */
    uint64_t h;
    size_t nslen, klen;
} where_t;

/* Locks the shard of (ns, key) and finds the slot; drops an expired entry met there. */
static void locate(gw_memkv_t *m, const char *ns, const char *key, int64_t now, where_t *w)
{
    w->nslen = strlen(ns);
    w->klen = strlen(key);
    w->h = hash_of(m, ns, key, w->nslen, w->klen);
    w->s = &m->sh[w->h % NSHARDS];
    pthread_mutex_lock(&w->s->lock);
    entry_t **p = &w->s->b[(w->h / NSHARDS) & (w->s->nb - 1)];
    while (*p) {
        entry_t *e = *p;
        if (e->h == w->h && e->nslen == w->nslen && e->klen == w->klen && !memcmp(e->kbuf, ns, w->nslen) &&
            !memcmp(e->kbuf + w->nslen + 1, key, w->klen)) {
            if (e->exp <= now) {
                *p = e->next;
                forget(m, e);
                entry_free(e);
                w->s->n--;
                break;
            }
            break;
        }
        p = &e->next;
    }
    w->slot = p;
}

static void unlock(where_t *w) { pthread_mutex_unlock(&w->s->lock); }

static void grow(shard_t *s)
{
    size_t nb = s->nb * 2;
    entry_t **b = gw_xcalloc(nb, sizeof(entry_t *));
    for (size_t j = 0; j < s->nb; j++)
        for (entry_t *e = s->b[j], *n; e; e = n) {
            n = e->next;
            size_t i = (e->h / NSHARDS) & (nb - 1);
            e->next = b[i];
            b[i] = e;
        }
    free(s->b);
    s->b = b;
    s->nb = nb;
}

/* Inserts a new entry at the (empty) slot w found. */
static int insert(gw_memkv_t *m, where_t *w, const char *ns, const char *key, char *val, json_t *obj, int64_t exp)
{
    int newwork = m->newwork && gw_list_has(m->newwork, ns);
    size_t limit = newwork ? m->max - m->reserve : m->max;
    /* the bytes keep the same share for work under way as the slots do */
    size_t byte_limit =
        newwork ? m->max_bytes - (size_t)((double)m->max_bytes * ((double)m->reserve / (double)m->max)) : m->max_bytes;
    size_t bytes = sizeof(entry_t) + w->nslen + w->klen + 2 + value_bytes(val, obj);
    int full = __atomic_add_fetch(&m->count, 1, __ATOMIC_RELAXED) > limit;
    if (!full && __atomic_add_fetch(&m->bytes, bytes, __ATOMIC_RELAXED) > byte_limit) {
        __atomic_sub_fetch(&m->bytes, bytes, __ATOMIC_RELAXED);
        full = 1;
    }
    if (full) {
        __atomic_sub_fetch(&m->count, 1, __ATOMIC_RELAXED);
        free(val);
        json_decref(obj);
        return GW_ESTORE;
    }
    entry_t *e = gw_xmalloc(sizeof(*e) + w->nslen + w->klen + 2);
    e->next = NULL;
    e->h = w->h;
    e->exp = exp;
    e->nslen = w->nslen;
    e->klen = w->klen;
    memcpy(e->kbuf, ns, w->nslen + 1);
    memcpy(e->kbuf + w->nslen + 1, key, w->klen + 1);
    e->val = val;
    e->obj = obj;
    e->bytes = bytes;
    *w->slot = e;
    if (++w->s->n > w->s->nb)
        grow(w->s);
    return GW_OK;
}

/* one of val (text) or obj (JSON) is given, owned */
static int put_owned(gw_memkv_t *m, const char *ns, const char *key, char *val, json_t *obj, long ttl, int nx)
{
    int64_t now = gw_now();
    where_t w;
    locate(m, ns, key, now, &w);
    int rc = GW_OK;
    entry_t *e = *w.slot;
    if (e && nx) {
        rc = GW_ECONFLICT;
        free(val);
        json_decref(obj);
    } else if (e) {
        entry_set(m, e, val, obj);
        e->exp = now + ttl;
    } else
        rc = insert(m, &w, ns, key, val, obj, now + ttl);
    unlock(&w);
    return rc;
}

int gw_memkv_put(gw_memkv_t *m, const char *ns, const char *key, const char *val, long ttl, int nx)
{
    return put_owned(m, ns, key, gw_strdup(val), NULL, ttl, nx);
}

int gw_memkv_put_json(gw_memkv_t *m, const char *ns, const char *key, json_t *j, long ttl, int nx)
{
    json_t *copy = json_deep_copy(j);
    return copy ? put_owned(m, ns, key, NULL, copy, ttl, nx) : GW_ENOMEM;
}

int gw_memkv_get_json(gw_memkv_t *m, const char *ns, const char *key, int take, json_t **ret)
{
    where_t w;
    locate(m, ns, key, gw_now(), &w);
    entry_t *e = *w.slot;
    json_t *obj = NULL;
    char *text = NULL;
    if (e && take) {
        *w.slot = e->next;
        w.s->n--;
        forget(m, e);
        obj = e->obj;
        text = e->val;
        e->obj = NULL;
        e->val = NULL;
        entry_free(e);
    } else if (e) {
        obj = e->obj ? json_deep_copy(e->obj) : NULL;
        text = e->val ? gw_strdup(e->val) : NULL;
    }
    unlock(&w);
    if (!e)
        return GW_ENOTFOUND;
    if (!obj && text)
        obj = gw_json_parse_str(text);
    free(text);
    *ret = obj;
    return obj ? GW_OK : GW_EINVAL;
}

int gw_memkv_get(gw_memkv_t *m, const char *ns, const char *key, char **ret)
{
    where_t w;
    locate(m, ns, key, gw_now(), &w);
    entry_t *e = *w.slot;
    if (e)
        *ret = entry_text(e);
    unlock(&w);
    return e ? GW_OK : GW_ENOTFOUND;
}

int gw_memkv_take(gw_memkv_t *m, const char *ns, const char *key, char **ret)
{
    where_t w;
    locate(m, ns, key, gw_now(), &w);
    entry_t *e = *w.slot;
    if (e) {
        *w.slot = e->next;
        w.s->n--;
        forget(m, e);
    }
    unlock(&w);
    if (!e)
        return GW_ENOTFOUND;
    if (ret) {
        if (e->val) {
            *ret = e->val;
            e->val = NULL;
        } else
            *ret = entry_text(e);
    }
    entry_free(e);
    return GW_OK;
}

int gw_memkv_del(gw_memkv_t *m, const char *ns, const char *key)
{
    int rc = gw_memkv_take(m, ns, key, NULL);
    return rc == GW_ENOTFOUND ? GW_OK : rc;
}

int gw_memkv_incr(gw_memkv_t *m, const char *ns, const char *key, long ttl, int64_t *ret)
{
    int64_t now = gw_now();
    where_t w;
    locate(m, ns, key, now, &w);
    entry_t *e = *w.slot;
    int rc = GW_OK;
    int64_t v = 1;
    if (e) {
        v = (e->val ? strtoll(e->val, NULL, 10) : 0) + 1;
        char num[24];
        snprintf(num, sizeof(num), "%lld", (long long)v);
        entry_set(m, e, gw_strdup(num), NULL);
    } else
        rc = insert(m, &w, ns, key, gw_strdup("1"), NULL, now + ttl);
    unlock(&w);
    if (rc == GW_OK && ret)
        *ret = v;
    return rc;
}

int gw_memkv_decr(gw_memkv_t *m, const char *ns, const char *key)
{
    where_t w;
    locate(m, ns, key, gw_now(), &w);
    entry_t *e = *w.slot;
    if (e) {
        long long v = (e->val ? strtoll(e->val, NULL, 10) : 0) - 1;
        char num[24];
        snprintf(num, sizeof(num), "%lld", v < 0 ? 0 : v);
        entry_set(m, e, gw_strdup(num), NULL);
    }
    unlock(&w);
    return GW_OK;
}

typedef struct item {
    int64_t exp;
    char *key, *val;
} item_t;

static int by_exp(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    return x->exp < y->exp ? -1 : x->exp > y->exp;
}

int gw_memkv_list(gw_memkv_t *m, const char *ns, size_t max, void (*cb)(const char *, const char *, void *), void *ud)
{
    int64_t now = gw_now();
    size_t nslen = strlen(ns), n = 0, cap = 64;
    item_t *items = gw_xmalloc(cap * sizeof(*items));
    for (int i = 0; i < NSHARDS; i++) {
        shard_t *s = &m->sh[i];
        pthread_mutex_lock(&s->lock);
        for (size_t j = 0; j < s->nb; j++)
            for (entry_t *e = s->b[j]; e; e = e->next) {
                if (e->exp <= now || e->nslen != nslen || memcmp(e->kbuf, ns, nslen))
                    continue;
                if (n == cap) {
                    item_t *bigger = gw_xmalloc((cap * 2) * sizeof(*items));
                    memcpy(bigger, items, n * sizeof(*items));
                    free(items);
                    items = bigger;
                    cap *= 2;
                }
                items[n++] = (item_t){ e->exp, gw_strdup(e->kbuf + nslen + 1), entry_text(e) };
            }
        pthread_mutex_unlock(&s->lock);
    }
    qsort(items, n, sizeof(*items), by_exp);
    for (size_t i = 0; i < n; i++) {
        if (i < max)
            cb(items[i].key, items[i].val, ud);
        free(items[i].key);
        free(items[i].val);
    }
    free(items);
    return GW_OK;
}

size_t gw_memkv_purge(gw_memkv_t *m)
{
    if (!m)
        return 0;
    int64_t now = gw_now();
    size_t dropped = 0;
    for (int i = 0; i < NSHARDS; i++) {
        shard_t *s = &m->sh[i];
        pthread_mutex_lock(&s->lock);
        for (size_t j = 0; j < s->nb; j++)
            for (entry_t **p = &s->b[j]; *p;) {
                entry_t *e = *p;
                if (e->exp <= now) {
                    *p = e->next;
                    __atomic_sub_fetch(&m->bytes, e->bytes, __ATOMIC_RELAXED);
                    entry_free(e);
                    s->n--;
                    dropped++;
                } else
                    p = &e->next;
            }
        pthread_mutex_unlock(&s->lock);
    }
    __atomic_sub_fetch(&m->count, dropped, __ATOMIC_RELAXED);
    return dropped;
}

size_t gw_memkv_count(gw_memkv_t *m, const char *ns)
{
    if (!m)
        return 0;
    int64_t now = gw_now();
    size_t nslen = ns ? strlen(ns) : 0, n = 0;
    for (int i = 0; i < NSHARDS; i++) {
        shard_t *s = &m->sh[i];
        pthread_mutex_lock(&s->lock);
        for (size_t j = 0; j < s->nb; j++)
            for (entry_t *e = s->b[j]; e; e = e->next)
                if (e->exp > now && (!ns || (e->nslen == nslen && !memcmp(e->kbuf, ns, nslen))))
                    n++;
        pthread_mutex_unlock(&s->lock);
    }
    return n;
}
