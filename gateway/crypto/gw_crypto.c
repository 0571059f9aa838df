#include "gw_crypto.h"
#include "gw_assertion.h"
#include "gw_json.h"

#include "gw_log.h"
#include "gw_util.h"

#include <cjose/cjose.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

/* ------------------------------------------------------------------ keyset */

static char *read_file(const char *path, size_t max, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    gw_buf_t b;
    gw_buf_init(&b, max);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (gw_buf_add(&b, chunk, n))
            break;
    fclose(f);
    if (b.failed) {
        gw_buf_cleanup(&b);
        return NULL;
    }
    if (ret_len)
        *ret_len = b.len;
    return gw_buf_steal(&b);
}

static int load_hex_key(const char *dir, const char *name, unsigned char *out, size_t n, char *err, size_t errlen)
{
    char *path = gw_sprintf("%s/%s", dir, name);
    char *s = read_file(path, 1024, NULL);
    int rc = -1;
    if (!s) {
        snprintf(err, errlen, "%s: cannot read (run keys/gen-dev-keys.sh or 'eidgw keys generate %s')", path, dir);
        goto done;
    }
    char *e = s + strlen(s);
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
        *--e = 0;
    if (gw_hex_decode(s, out, n)) {
        snprintf(err, errlen, "%s: must hold %zu hex characters", path, n * 2);
        goto done;
    }
    rc = 0;
done:
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
    free(path);
    return rc;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void gw_keyset_free(gw_keyset_t *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->nkeys; i++) {
        free(ks->keys[i].kid);
        free(ks->keys[i].alg);
        cjose_jwk_release(ks->keys[i].jwk);
        EVP_PKEY_free(ks->keys[i].pkey);
        free(ks->keys[i].hdr_b64[0]);
        free(ks->keys[i].hdr_b64[1]);
        for (int c = 0; c < ks->keys[i].nctx; c++)
            EVP_PKEY_CTX_free(ks->keys[i].ctx[c]);
        pthread_mutex_destroy(&ks->keys[i].lock);
    }
    free(ks->keys);
    free(ks->jwks_json);
    OPENSSL_cleanse(ks, sizeof(*ks));
    free(ks);
}

gw_keyset_t *gw_keyset_load(const char *dir, char *err, size_t errlen)
{
    gw_keyset_t *ks = gw_xcalloc(1, sizeof(*ks));
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t nn = 0;
    json_t *jwks = json_object(), *keys = json_array();
    json_object_set_new(jwks, "keys", keys);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open key directory: %s (run keys/gen-dev-keys.sh)", dir, strerror(errno));
        goto bad;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".jwk")) {
            names = realloc(names, (nn + 1) * sizeof(char *));
            names[nn++] = gw_strdup(de->d_name);
        }
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof(char *), name_cmp); /* names carry a date: newest last */
    ks->keys = gw_xcalloc(nn ? nn : 1, sizeof(gw_sigkey_t));
    for (size_t i = 0; i < nn; i++) {
        char *path = gw_sprintf("%s/%s", dir, names[i]);
        size_t len = 0;
        char *txt = read_file(path, 64 * 1024, &len);
        cjose_err cerr;
        cjose_jwk_t *jwk = txt ? cjose_jwk_import(txt, len, &cerr) : NULL;
        json_t *j = txt ? json_loads(txt, 0, NULL) : NULL;
        const char *alg = j ? json_string_value(json_object_get(j, "alg")) : NULL;
        const char *kid = jwk ? cjose_jwk_get_kid(jwk, &cerr) : NULL;
        int ok = jwk && alg && kid && (!strcmp(alg, "ES256") || !strcmp(alg, "RS256")) && json_object_get(j, "d");
        if (txt)
            OPENSSL_cleanse(txt, len);
        free(txt);
        if (!ok) {
            snprintf(err, errlen, "%s: not a private ES256/RS256 JWK with kid and alg", path);
            free(path);
            json_decref(j);
            if (jwk)
                cjose_jwk_release(jwk);
            goto bad;
        }
        free(path);
        gw_sigkey_t *k = &ks->keys[ks->nkeys++];
        k->kid = gw_strdup(kid);
        k->alg = gw_strdup(alg);
        k->jwk = jwk;
        pthread_mutex_init(&k->lock, NULL);
        k->pkey = gw_jws_jwk_pkey(j, alg);
        k->hdr_b64[0] = gw_jws_header_b64(alg, kid, "JWT");
        k->hdr_b64[1] = gw_jws_header_b64(alg, kid, "logout+jwt");
        if (!k->pkey) {
            snprintf(err, errlen, "%s/%s: the private key cannot be used for signing", dir, names[i]);
            json_decref(j);
            goto bad;
        }
        char *pub = cjose_jwk_to_json(jwk, false, &cerr);
        json_t *pj = pub ? json_loads(pub, 0, NULL) : NULL;
        free(pub);
        if (pj) {
            json_object_set_new(pj, "alg", json_string(alg));
            json_object_set_new(pj, "use", json_string("sig"));
        }
        json_decref(j);
        if (!pj)
            goto bad;
        json_array_append_new(keys, pj);
    }
    if (!ks->nkeys) {
        snprintf(err, errlen, "%s: no *.jwk signing keys (run keys/gen-dev-keys.sh)", dir);
        goto bad;
    }
    if (load_hex_key(dir, "cookie.key", ks->cookie_key, GW_SEAL_KEYLEN, err, errlen) ||
        load_hex_key(dir, "pairwise.key", ks->pairwise_key, 32, err, errlen))
        goto bad;
    ks->jwks_json = json_dumps(jwks, JSON_COMPACT);
    json_decref(jwks);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    return ks;
bad:
    json_decref(jwks);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    gw_keyset_free(ks);
    return NULL;
}

static int write_secret(const char *path, const char *content, int force)
{
    int flags = O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0600);
    if (fd < 0)
        return errno == EEXIST ? 1 : -1;
    size_t n = strlen(content);
    int ok = write(fd, content, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

int gw_keys_generate(const char *dir, int force, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
        return -1;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    /* a directory that already has keys keeps them: a second run is a no-op */
    DIR *d = opendir(dir);
    int has_jwk = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".jwk"))
            has_jwk = 1;
    if (d)
        closedir(d);
    cjose_err cerr;
    if (!has_jwk || force) {
        const char *algs[] = { "ES256", "RS256" };
        for (int i = 0; i < 2; i++) {
            static const uint8_t e[] = { 1, 0, 1 };
            cjose_jwk_t *k = i == 0 ? cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr)
                                    : cjose_jwk_create_RSA_random(2048, e, sizeof(e), &cerr);
            if (!k) {
                snprintf(err, errlen, "key generation failed: %s", cerr.message);
                return -1;
            }
            char *rnd = gw_random_token(6);
            char *kid = gw_sprintf("%s-%s-%s", algs[i], stamp, rnd);
            free(rnd);
            cjose_jwk_set_kid(k, kid, strlen(kid), &cerr);
            char *js = cjose_jwk_to_json(k, true, &cerr);
            json_t *j = json_loads(js, 0, NULL);
            json_object_set_new(j, "alg", json_string(algs[i]));
            json_object_set_new(j, "use", json_string("sig"));
            char *out = json_dumps(j, JSON_INDENT(1));
            char *path = gw_sprintf("%s/sig-%s-%s.jwk", dir, stamp, algs[i]);
            int rc = write_secret(path, out, 0);
            if (rc == 0)
                printf("wrote %s (kid %s)\n", path, kid);
            OPENSSL_cleanse(js, strlen(js));
            OPENSSL_cleanse(out, strlen(out));
            free(js);
            free(out);
            json_decref(j);
            cjose_jwk_release(k);
            free(kid);
            if (rc < 0) {
                snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
                free(path);
                return -1;
            }
            free(path);
        }
    }
    const char *secrets[] = { "cookie.key", "pairwise.key" };
    for (int i = 0; i < 2; i++) {
        unsigned char k[32];
        gw_random(k, 32);
        char *hex = gw_hex_encode(k, 32);
        char *path = gw_sprintf("%s/%s", dir, secrets[i]);
        size_t hl = strlen(hex);
        char *line = gw_sprintf("%s\n", hex);
        /* never replaced: a new cookie key ends every session, a new pairwise secret
         * changes every portal's subject identifiers */
        int rc = write_secret(path, line, 0);
        OPENSSL_cleanse(hex, hl);
        OPENSSL_cleanse(line, hl);
        free(hex);
        free(line);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        if (rc == 0)
            printf("wrote %s\n", path);
        free(path);
    }
    return 0;
}

static gw_sigkey_t *active_key(gw_keyset_t *ks, const char *alg)
{
    for (size_t i = ks->nkeys; i > 0; i--)
        if (!strcmp(ks->keys[i - 1].alg, alg))
            return &ks->keys[i - 1];
    return NULL;
}

/* A signing context per call costs an algorithm fetch and a key set-up; contexts are kept
 * per key and reused (EVP_PKEY_sign may be called again with the same parameters). */
static EVP_PKEY_CTX *sign_ctx_get(gw_sigkey_t *k)
{
    EVP_PKEY_CTX *ctx = NULL;
    pthread_mutex_lock(&k->lock);
    if (k->nctx)
        ctx = k->ctx[--k->nctx];
    pthread_mutex_unlock(&k->lock);
    if (ctx)
        return ctx;
    return gw_jws_sign_ctx(k->pkey, !strcmp(k->alg, "RS256"));
}

static void sign_ctx_put(gw_sigkey_t *k, EVP_PKEY_CTX *ctx)
{
    pthread_mutex_lock(&k->lock);
    if (k->nctx < GW_SIGKEY_CTX_MAX) {
        k->ctx[k->nctx++] = ctx;
        ctx = NULL;
    }
    pthread_mutex_unlock(&k->lock);
    EVP_PKEY_CTX_free(ctx);
}

char *gw_jwt_sign(gw_keyset_t *ks, const char *alg, json_t *claims, const char *typ)
{
    gw_sigkey_t *k = active_key(ks, alg);
    if (!k)
        return NULL;
    const char *hdr = typ && strcmp(typ, "JWT") ? (strcmp(typ, "logout+jwt") ? NULL : k->hdr_b64[1]) : k->hdr_b64[0];
    char *own_hdr = hdr ? NULL : gw_jws_header_b64(alg, k->kid, typ);
    EVP_PKEY_CTX *pctx = sign_ctx_get(k);
    char *res = pctx ? gw_jws_sign(pctx, !strcmp(k->alg, "ES256"), hdr ? hdr : own_hdr, claims) : NULL;
    if (pctx)
        sign_ctx_put(k, pctx);
    free(own_hdr);
    return res;
}

static int b64url_segment_ok(const char *p, size_t n, int may_be_empty)
{
    if (n == 0)
        return may_be_empty;
    if (n % 4 == 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* Split a compact JWS and decode its header; NULL on anything malformed. Every segment
 * must be strict base64url before cjose sees it (its decoder asserts on stray '='). The
 * signature may be empty here so that alg "none" is refused as an algorithm. */
static json_t *jws_header(const char *token, size_t *ret_len)
{
    size_t len = strlen(token);
    if (len > 16384)
        return NULL;
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return NULL;
    if (!b64url_segment_ok(token, (size_t)(d1 - token), 0) || !b64url_segment_ok(d1 + 1, (size_t)(d2 - d1 - 1), 1) ||
        !b64url_segment_ok(d2 + 1, (size_t)(token + len - d2 - 1), 1))
        return NULL;
    size_t hl = 0;
    unsigned char *hraw = gw_b64url_decode(token, (size_t)(d1 - token), &hl);
    if (!hraw)
        return NULL;
    json_t *h = gw_json_parse((const char *)hraw, hl, NULL, 0);
    free(hraw);
    if (!json_is_object(h)) {
        json_decref(h);
        return NULL;
    }
    *ret_len = len;
    return h;
}

static int has_signature(const char *token)
{
    const char *last = strrchr(token, '.');
    return last && last[1];
}

static int alg_fits_key(const char *alg, cjose_jwk_t *jwk)
{
    cjose_err cerr;
    cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &cerr);
    if (alg[0] == 'R' || alg[0] == 'P')
        return kty == CJOSE_JWK_KTY_RSA;
    if (alg[0] == 'E') {
        if (kty != CJOSE_JWK_KTY_EC)
            return 0;
        cjose_jwk_ec_curve crv = cjose_jwk_EC_get_curve(jwk, &cerr);
        return (!strcmp(alg, "ES256") && crv == CJOSE_JWK_EC_P_256) ||
               (!strcmp(alg, "ES384") && crv == CJOSE_JWK_EC_P_384) ||
               (!strcmp(alg, "ES512") && crv == CJOSE_JWK_EC_P_521);
    }
    return 0;
}

static json_t *verify_with(const char *token, size_t len, cjose_jwk_t *jwk)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, len, &cerr);
    json_t *claims = NULL;
    if (!jws)
        return NULL;
    if (cjose_jws_verify(jws, jwk, &cerr)) {
        uint8_t *pt = NULL;
        size_t pl = 0;
        if (cjose_jws_get_plaintext(jws, &pt, &pl, &cerr))
            claims = gw_json_parse((const char *)pt, pl, NULL, 0);
        if (claims && !json_is_object(claims)) {
            json_decref(claims);
            claims = NULL;
        }
    }
    cjose_jws_release(jws);
    return claims;
}

json_t *gw_jwt_verify_own(gw_keyset_t *ks, const char *token)
{
    size_t len = 0;
    json_t *h = token ? jws_header(token, &len) : NULL;
    json_t *claims = NULL;
    if (!h)
        return NULL;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *kid = json_string_value(json_object_get(h, "kid"));
    for (size_t i = 0; alg && kid && has_signature(token) && i < ks->nkeys; i++) {
        gw_sigkey_t *k = &ks->keys[i];
        if (strcmp(k->kid, kid) || strcmp(k->alg, alg))
            continue;
        pthread_mutex_lock(&k->lock);
        claims = verify_with(token, len, k->jwk);
        pthread_mutex_unlock(&k->lock);
        break;
    }
    json_decref(h);
    return claims;
}

/* ------------------------------------------------------------------ upstream JWKS */

typedef struct cached_key {
    char *kid;
    cjose_jwk_t *jwk;
} cached_key_t;

struct gw_jwks_cache {
    char *uri;
    gw_jwks_fetch_fn fetch;
    long min_refresh;
    pthread_mutex_t lock;
    int64_t fetched_at; /* last successful fetch */
    int64_t attempted_at; /* last attempt, successful or not */
    int fetching; /* a thread fetches the JWKS now (outside the lock) */
    pthread_cond_t fetched;
    size_t n;
    cached_key_t *keys;
};

gw_jwks_cache_t *gw_jwks_cache_new(const char *jwks_uri, long min_refresh_s, gw_jwks_fetch_fn fetch)
{
    gw_jwks_cache_t *c = gw_xcalloc(1, sizeof(*c));
    c->fetch = fetch;
    c->uri = gw_strdup(jwks_uri);
    c->min_refresh = min_refresh_s;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->fetched, NULL);
    return c;
}

void gw_jwks_cache_state(gw_jwks_cache_t *c, size_t *ret_n, int64_t *ret_fetched_at, int64_t *ret_attempted_at)
{
    pthread_mutex_lock(&c->lock);
    *ret_n = c->n;
    *ret_fetched_at = c->fetched_at;
    *ret_attempted_at = c->attempted_at;
    pthread_mutex_unlock(&c->lock);
}

static void cache_clear(gw_jwks_cache_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->keys[i].kid);
        cjose_jwk_release(c->keys[i].jwk);
    }
    free(c->keys);
    c->keys = NULL;
    c->n = 0;
}

void gw_jwks_cache_free(gw_jwks_cache_t *c)
{
    if (!c)
        return;
    cache_clear(c);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->fetched);
    free(c->uri);
    free(c);
}

/* Caller holds the lock. */
static int cache_set_locked(gw_jwks_cache_t *c, const char *jwks_json)
{
    json_t *doc = gw_json_parse_str(jwks_json);
    json_t *arr = json_object_get(doc, "keys");
    if (!json_is_array(arr)) {
        json_decref(doc);
        return GW_EINVAL;
    }
    size_t i, n = 0;
    json_t *k;
    cached_key_t *keys = gw_xcalloc(json_array_size(arr) + 1, sizeof(cached_key_t));
    json_array_foreach (arr, i, k) {
        const char *use = json_string_value(json_object_get(k, "use"));
        if (use && strcmp(use, "sig"))
            continue;
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!kty || (strcmp(kty, "RSA") && strcmp(kty, "EC")))
            continue; /* never accept symmetric keys from a JWKS */
        char *txt = json_dumps(k, JSON_COMPACT);
        cjose_err cerr;
        cjose_jwk_t *jwk = cjose_jwk_import(txt, strlen(txt), &cerr);
        free(txt);
        if (!jwk)
            continue;
        const char *kid = json_string_value(json_object_get(k, "kid"));
        keys[n].kid = gw_strdup(kid ? kid : "");
        keys[n].jwk = jwk;
        n++;
    }
    json_decref(doc);
    cache_clear(c);
    c->keys = keys;
    c->n = n;
    c->fetched_at = gw_now();
    c->attempted_at = c->fetched_at;
    return GW_OK;
}

int gw_jwks_cache_set(gw_jwks_cache_t *c, const char *jwks_json)
{
    pthread_mutex_lock(&c->lock);
    int rc = cache_set_locked(c, jwks_json);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Called and returns with c->lock held; the fetch itself runs without it, so threads that
 * only read the cache (the I/O threads' gw_jwt_verify_cached) never wait on the network.
 * Threads that may fetch wait for a fetch under way instead of starting their own. */
static int cache_refresh_locked(gw_jwks_cache_t *c)
{
    if (!c->uri)
        return GW_JWT_JWKS_FETCH;
    /* at most one attempt per min_refresh, failed or not: an outage must not turn every
     * login into blocking fetches */
    if (c->attempted_at && gw_now() - c->attempted_at < c->min_refresh)
        return GW_EAGAIN;
    c->attempted_at = gw_now();
    c->fetching = 1;
    pthread_mutex_unlock(&c->lock);
    char ferr[160] = "";
    char *body = c->fetch ? c->fetch(c->uri, ferr, sizeof(ferr)) : NULL;
    pthread_mutex_lock(&c->lock);
    c->fetching = 0;
    pthread_cond_broadcast(&c->fetched);
    int rc = GW_JWT_JWKS_FETCH;
    if (body && cache_set_locked(c, body) == GW_OK)
        rc = GW_OK;
    else
        gw_log(GW_LOG_WARN, "jwks", "fetch failed", "uri", c->uri, "error", ferr[0] ? ferr : "bad status or body",
               NULL);
    free(body);
    return rc;
}

void gw_jwks_cache_retry(gw_jwks_cache_t *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->fetching)
        (void)cache_refresh_locked(c);
    pthread_mutex_unlock(&c->lock);
}

static cached_key_t *find_kid(gw_jwks_cache_t *c, const char *kid)
{
    for (size_t i = 0; i < c->n; i++)
        if (kid ? !strcmp(c->keys[i].kid, kid) : c->n == 1)
            return &c->keys[i];
    return NULL;
}

static int verify(gw_jwks_cache_t *c, const char *token, const char *allowed_algs, json_t **ret, int may_fetch);

int gw_jwt_verify(gw_jwks_cache_t *c, const char *token, const char *allowed_algs, json_t **ret)
{
    return verify(c, token, allowed_algs, ret, 1);
}

int gw_jwt_verify_cached(gw_jwks_cache_t *c, const char *token, const char *allowed_algs, json_t **ret)
{
    return verify(c, token, allowed_algs, ret, 0);
}

static int verify(gw_jwks_cache_t *c, const char *token, const char *allowed_algs, json_t **ret, int may_fetch)
{
    size_t len = 0;
    json_t *h = token ? jws_header(token, &len) : NULL;
    if (!h)
        return GW_JWT_MALFORMED;
    int rc;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *kid = json_string_value(json_object_get(h, "kid"));
    if (!alg || !gw_list_has(allowed_algs, alg) || !strncmp(alg, "HS", 2) || !strcmp(alg, "none")) {
        rc = GW_JWT_ALG;
        goto done;
    }
    if (!has_signature(token) || json_object_get(h, "crit") || json_object_get(h, "jku") || json_object_get(h, "jwk") ||
        json_object_get(h, "x5u")) {
        rc = GW_JWT_MALFORMED; /* we honour no header-supplied keys or critical extensions */
        goto done;
    }
    pthread_mutex_lock(&c->lock);
    cached_key_t *k = find_kid(c, kid);
    while (!k && c->fetching && may_fetch) { /* another thread fetches: its keys may do */
        pthread_cond_wait(&c->fetched, &c->lock);
        k = find_kid(c, kid);
    }
    int fetch_due =
        !k && (c->fetching || (c->uri && !(c->attempted_at && gw_now() - c->attempted_at < c->min_refresh)));
    if (fetch_due && may_fetch && cache_refresh_locked(c) == GW_OK) /* first use, or an unknown kid */
        k = find_kid(c, kid);
    if (fetch_due && !may_fetch) {
        rc = GW_JWT_NEED_KEYS; /* the caller makes the attempt where it may wait */
    } else if (!k) {
        rc = c->fetched_at ? GW_JWT_UNKNOWN_KID : GW_JWT_JWKS_FETCH;
    } else if (!alg_fits_key(alg, k->jwk)) {
        rc = GW_JWT_KEY_MISMATCH;
    } else {
        json_t *claims = verify_with(token, len, k->jwk);
        rc = claims ? GW_JWT_OK : GW_JWT_SIGNATURE;
        if (claims)
            *ret = claims;
    }
    pthread_mutex_unlock(&c->lock);
done:
    json_decref(h);
    return rc;
}

const char *gw_jwt_strerror(int rc) { return gw_strerror(rc); }

void gw_access_token_key(const unsigned char cookie_key[32], unsigned char out[32])
{
    static const char info[] = "eidgw access token seal v1";
    gw_hmac_sha256(cookie_key, 32, info, sizeof info - 1, out);
}
