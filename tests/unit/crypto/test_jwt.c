/* Unit tests for JWT signing with our own keys (gw_jwt_sign / gw_jwt_verify_own) and for
 * the verification of upstream tokens against a JWKS cache (gw_jwt_verify): algorithm
 * allow-list, key confusion, key type checks, header-supplied keys, signature checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <cjose/cjose.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gw_crypto.h"
#include "gw_fetch.h"
#include "gw_util.h"

/* An address where nothing listens: a refresh attempt fails at once. */
#define DEAD_JWKS "http://127.0.0.1:9/"
#define ALGS "RS256 ES256"

static char g_dir[64];
static gw_keyset_t *g_ks;
static const char *g_ec_kid, *g_rsa_kid;
static gw_sigkey_t *g_ec, *g_rsa;

/* ------------------------------------------------------------------ helpers */

static char *b64s(const char *s) { return gw_b64url_encode(s, strlen(s)); }

static char *segment(const char *token, int idx)
{
    const char *p = token;
    for (int i = 0; i < idx; i++) {
        p = strchr(p, '.');
        assert_non_null(p);
        p++;
    }
    const char *e = strchr(p, '.');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *s = gw_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* header and payload are JSON text, encoded here; sig is the third segment as is. */
static char *mktoken(const char *header, const char *payload, const char *sig)
{
    char *h = b64s(header), *p = b64s(payload);
    char *t = gw_sprintf("%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

static char *sign(const char *alg, const char *payload_json)
{
    json_t *claims = json_loads(payload_json, 0, NULL);
    assert_non_null(claims);
    char *t = gw_jwt_sign(g_ks, alg, claims, NULL);
    json_decref(claims);
    assert_non_null(t);
    return t;
}

static unsigned char *sig_bytes(const char *token, size_t *n)
{
    char *s = segment(token, 2);
    unsigned char *raw = gw_b64url_decode(s, strlen(s), n);
    free(s);
    assert_non_null(raw);
    return raw;
}

/* The token with byte `at` of its decoded signature xor'ed with `mask`. */
static char *flip_sig(const char *token, size_t at, unsigned char mask)
{
    size_t n = 0;
    unsigned char *raw = sig_bytes(token, &n);
    assert_true(at < n);
    raw[at] ^= mask;
    char *sig = gw_b64url_encode(raw, n);
    const char *d2 = strrchr(token, '.');
    char *t = gw_sprintf("%.*s.%s", (int)(d2 - token), token, sig);
    free(sig);
    free(raw);
    return t;
}

static json_t *jwks_key(const char *kty)
{
    json_t *doc = json_loads(g_ks->jwks_json, 0, NULL);
    json_t *keys = json_object_get(doc, "keys"), *k, *res = NULL;
    size_t i;
    json_array_foreach (keys, i, k) {
        if (!strcmp(json_string_value(json_object_get(k, "kty")), kty)) {
            res = json_deep_copy(k);
            break;
        }
    }
    json_decref(doc);
    assert_non_null(res);
    return res;
}

static gw_jwks_cache_t *seeded_cache(const char *uri, long min_refresh, const char *jwks)
{
    gw_jwks_cache_t *c = gw_jwks_cache_new(uri, min_refresh, gw_fetch_body);
    assert_non_null(c);
    assert_int_equal(gw_jwks_cache_set(c, jwks ? jwks : g_ks->jwks_json), GW_OK);
    return c;
}

static int verify(gw_jwks_cache_t *c, const char *token, const char *algs, json_t **claims)
{
    *claims = NULL;
    return gw_jwt_verify(c, token, algs, claims);
}

/* Verify against a cache seeded with our public JWKS that never refreshes. */
static int verify_seeded(const char *token, const char *algs)
{
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, NULL);
    json_t *claims = NULL;
    int rc = verify(c, token, algs, &claims);
    if (rc != GW_JWT_OK && claims)
        fail_msg("rc %d but claims were returned", rc);
    json_decref(claims);
    gw_jwks_cache_free(c);
    return rc;
}

#define assert_rc(got, want)                                                                                           \
    do {                                                                                                               \
        int got_ = (got), want_ = (want);                                                                              \
        if (got_ != want_)                                                                                             \
            fail_msg("%s = %d (%s), expected %d (%s)", #got, got_, gw_jwt_strerror(got_), want_,                       \
                     gw_jwt_strerror(want_));                                                                          \
    } while (0)

/* Runs fn(arg) in a child process, so that an abort inside a library ends only the child.
 * Returns the child's exit status (0..255), or 1000 + the signal that ended it. */
static int in_child(int (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg) & 0xff);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = gw_sprintf("%s/%s", dir, de->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int group_setup(void **state)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/eidgw-jwt-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char err[512] = "";
    fflush(stdout);
    if (gw_keys_generate(g_dir, 0, err, sizeof(err))) {
        fprintf(stderr, "gw_keys_generate: %s\n", err);
        return -1;
    }
    fflush(stdout);
    g_ks = gw_keyset_load(g_dir, err, sizeof(err));
    if (!g_ks) {
        fprintf(stderr, "gw_keyset_load: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < g_ks->nkeys; i++) {
        if (!strcmp(g_ks->keys[i].alg, "ES256"))
            g_ec = &g_ks->keys[i];
        if (!strcmp(g_ks->keys[i].alg, "RS256"))
            g_rsa = &g_ks->keys[i];
    }
    if (g_ks->nkeys != 2 || !g_ec || !g_rsa)
        return -1;
    g_ec_kid = g_ec->kid;
    g_rsa_kid = g_rsa->kid;
    return 0;
}

static int group_teardown(void **state)
{
    gw_keyset_free(g_ks);
    rm_dir(g_dir);
    gw_http_thread_cleanup();
    return 0;
}

static const char PAYLOAD[] = "{\"iss\":\"https://vneid.example\",\"sub\":\"u-1\",\"aud\":\"eidgw\","
                              "\"exp\":1893456000,\"name\":\"Nguy\\u1ec5n V\\u0103n A\"}";

/* ------------------------------------------------------------------ key set */

static void test_keyset_publishes_both_keys_without_private_parts(void **state)
{
    json_t *doc = json_loads(g_ks->jwks_json, 0, NULL);
    json_t *keys = json_object_get(doc, "keys");
    assert_int_equal(json_array_size(keys), 2);
    size_t i;
    json_t *k;
    int ec = 0, rsa = 0;
    json_array_foreach (keys, i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *kid = json_string_value(json_object_get(k, "kid"));
        assert_null(json_object_get(k, "d"));
        assert_null(json_object_get(k, "p"));
        assert_null(json_object_get(k, "q"));
        assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
        if (!strcmp(kty, "EC")) {
            ec++;
            assert_string_equal(kid, g_ec_kid);
            assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
            assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
        } else if (!strcmp(kty, "RSA")) {
            rsa++;
            assert_string_equal(kid, g_rsa_kid);
            assert_string_equal(json_string_value(json_object_get(k, "alg")), "RS256");
        }
    }
    assert_int_equal(ec, 1);
    assert_int_equal(rsa, 1);
    json_decref(doc);
}

static int load_empty_dir(void *arg)
{
    const char *dir = arg;
    char err[512] = "";
    gw_keyset_t *ks = gw_keyset_load(dir, err, sizeof(err));
    char *want = gw_sprintf("%s: no *.jwk signing keys", dir);
    int ok = ks == NULL && strncmp(err, want, strlen(want)) == 0;
    if (!ok)
        fprintf(stderr, "gw_keyset_load on an empty directory: %p, \"%s\"\n", (void *)ks, err);
    free(want);
    gw_keyset_free(ks);
    return ok ? 0 : 1;
}

static void test_keyset_load_fails_on_empty_directory(void **state)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/eidgw-empty-XXXXXX");
    assert_non_null(mkdtemp(dir));
    int st = in_child(load_empty_dir, dir);
    rm_dir(dir);
    if (st >= 1000)
        fail_msg("gw_keyset_load on an empty directory ended the process with signal %d", st - 1000);
    assert_int_equal(st, 0);
}

static void test_keys_generate_keeps_existing_keys(void **state)
{
    unsigned char cookie[GW_SEAL_KEYLEN];
    memcpy(cookie, g_ks->cookie_key, sizeof(cookie));
    char err[512] = "";
    fflush(stdout);
    assert_int_equal(gw_keys_generate(g_dir, 0, err, sizeof(err)), 0);
    fflush(stdout);
    gw_keyset_t *ks = gw_keyset_load(g_dir, err, sizeof(err));
    assert_non_null(ks);
    assert_int_equal(ks->nkeys, 2);
    assert_memory_equal(ks->cookie_key, cookie, sizeof(cookie));
    assert_string_equal(ks->jwks_json, g_ks->jwks_json);
    gw_keyset_free(ks);
}

/* ------------------------------------------------------------------ own tokens */

static void check_own_round_trip(const char *alg, const char *kid, const char *typ)
{
    json_t *claims = json_loads(PAYLOAD, 0, NULL);
    char *t = gw_jwt_sign(g_ks, alg, claims, typ);
    assert_non_null(t);
    char *h64 = segment(t, 0);
    size_t hl = 0;
    unsigned char *hraw = gw_b64url_decode(h64, strlen(h64), &hl);
    json_t *h = json_loadb((const char *)hraw, hl, 0, NULL);
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), kid);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), typ ? typ : "JWT");
    json_t *got = gw_jwt_verify_own(g_ks, t);
    assert_non_null(got);
    assert_true(json_equal(got, claims));
    assert_string_equal(json_string_value(json_object_get(got, "name")), "Nguy\xe1\xbb\x85n V\xc4\x83n A");
    json_decref(got);
    json_decref(h);
    free(hraw);
    free(h64);
    free(t);
    json_decref(claims);
}

static void test_jwt_sign_es256_verifies_with_own_keys(void **state) { check_own_round_trip("ES256", g_ec_kid, NULL); }

static void test_jwt_sign_rs256_verifies_with_own_keys(void **state)
{
    check_own_round_trip("RS256", g_rsa_kid, "logout+jwt");
}

static void test_jwt_sign_refuses_alg_without_key(void **state)
{
    json_t *claims = json_loads(PAYLOAD, 0, NULL);
    assert_null(gw_jwt_sign(g_ks, "PS256", claims, NULL));
    assert_null(gw_jwt_sign(g_ks, "HS256", claims, NULL));
    assert_null(gw_jwt_sign(g_ks, "none", claims, NULL));
    json_decref(claims);
}

static void test_jwt_verify_own_rejects_tampering(void **state)
{
    char *t = sign("ES256", PAYLOAD);
    /* altered payload */
    char *h = segment(t, 0), *s = segment(t, 2), *p = b64s("{\"sub\":\"admin\"}");
    char *bad = gw_sprintf("%s.%s.%s", h, p, s);
    assert_null(gw_jwt_verify_own(g_ks, bad));
    free(bad);
    /* flipped signature */
    bad = flip_sig(t, 10, 0x01);
    assert_null(gw_jwt_verify_own(g_ks, bad));
    free(bad);
    /* header says RS256 with the EC key's kid */
    char *hdr = gw_sprintf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", g_ec_kid);
    char *pl = segment(t, 1);
    char *h2 = b64s(hdr);
    bad = gw_sprintf("%s.%s.%s", h2, pl, s);
    assert_null(gw_jwt_verify_own(g_ks, bad));
    free(bad);
    /* unknown kid, malformed, NULL */
    free(hdr);
    hdr = gw_sprintf("{\"alg\":\"ES256\",\"kid\":\"other\"}");
    free(h2);
    h2 = b64s(hdr);
    bad = gw_sprintf("%s.%s.%s", h2, pl, s);
    assert_null(gw_jwt_verify_own(g_ks, bad));
    assert_null(gw_jwt_verify_own(g_ks, "a.b"));
    assert_null(gw_jwt_verify_own(g_ks, NULL));
    free(bad);
    free(h2);
    free(pl);
    free(hdr);
    free(h);
    free(s);
    free(p);
    free(t);
}

/* ------------------------------------------------------------------ upstream: accepted */

static void check_upstream_accepts(const char *alg)
{
    char *t = sign(alg, PAYLOAD);
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, NULL);
    json_t *claims = NULL;
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_OK);
    assert_non_null(claims);
    json_t *want = json_loads(PAYLOAD, 0, NULL);
    assert_true(json_equal(claims, want));
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "u-1");
    json_decref(want);
    json_decref(claims);
    gw_jwks_cache_free(c);
    free(t);
}

static void test_jwt_verify_accepts_rs256_from_jwks(void **state) { check_upstream_accepts("RS256"); }
static void test_jwt_verify_accepts_es256_from_jwks(void **state) { check_upstream_accepts("ES256"); }

/* ------------------------------------------------------------------ upstream: algorithms */

static void test_jwt_verify_rejects_alg_outside_allow_list(void **state)
{
    char *rs = sign("RS256", PAYLOAD), *es = sign("ES256", PAYLOAD);
    assert_rc(verify_seeded(rs, "ES256"), GW_JWT_ALG);
    assert_rc(verify_seeded(es, "RS256 PS256"), GW_JWT_ALG);
    assert_rc(verify_seeded(es, "ES2567"), GW_JWT_ALG);
    assert_rc(verify_seeded(es, ""), GW_JWT_ALG);
    assert_rc(verify_seeded(es, NULL), GW_JWT_ALG);
    free(rs);
    free(es);
}

static void test_jwt_verify_rejects_missing_or_non_string_alg(void **state)
{
    char *t = sign("RS256", PAYLOAD);
    char *s = segment(t, 2);
    char *hdr = gw_sprintf("{\"kid\":\"%s\"}", g_rsa_kid);
    char *bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_ALG);
    free(bad);
    free(hdr);
    hdr = gw_sprintf("{\"alg\":[\"RS256\"],\"kid\":\"%s\"}", g_rsa_kid);
    bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_ALG);
    free(bad);
    free(hdr);
    free(s);
    free(t);
}

static void test_jwt_verify_rejects_alg_none_with_empty_signature(void **state)
{
    char *bad = mktoken("{\"alg\":\"none\",\"typ\":\"JWT\"}", PAYLOAD, "");
    int rc1 = verify_seeded(bad, ALGS);
    /* even when a careless allow-list names it */
    int rc2 = verify_seeded(bad, "none RS256 ES256");
    free(bad);
    assert_rc(rc1, GW_JWT_ALG);
    assert_rc(rc2, GW_JWT_ALG);
}

static void test_jwt_verify_rejects_alg_none_with_any_signature(void **state)
{
    char *hdr = gw_sprintf("{\"alg\":\"none\",\"kid\":\"%s\"}", g_rsa_kid);
    char *bad = mktoken(hdr, PAYLOAD, "AAAA");
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_ALG);
    assert_rc(verify_seeded(bad, "none RS256 ES256"), GW_JWT_ALG);
    free(bad);
    free(hdr);
}

/* HS256 signed with the RSA public key material as the HMAC secret. */
static char *confused_token(const void *key, size_t klen, const char *kid)
{
    char *hdr = kid ? gw_sprintf("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid)
                    : gw_sprintf("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    char *h = b64s(hdr), *p = b64s(PAYLOAD);
    char *input = gw_sprintf("%s.%s", h, p);
    unsigned char mac[32];
    gw_hmac_sha256(key, klen, input, strlen(input), mac);
    char *sig = gw_b64url_encode(mac, 32);
    char *t = gw_sprintf("%s.%s", input, sig);
    free(sig);
    free(input);
    free(h);
    free(p);
    free(hdr);
    return t;
}

static void test_jwt_verify_rejects_hs256_keyed_with_rsa_public_key(void **state)
{
    json_t *rsa = jwks_key("RSA");
    const char *n64 = json_string_value(json_object_get(rsa, "n"));
    size_t nl = 0;
    unsigned char *n = gw_b64url_decode(n64, strlen(n64), &nl);
    assert_int_equal(nl, 256);
    char *t1 = confused_token(n, nl, g_rsa_kid); /* raw modulus bytes */
    char *t2 = confused_token(n64, strlen(n64), g_rsa_kid); /* the "n" text itself */
    char *t3 = confused_token(g_ks->jwks_json, strlen(g_ks->jwks_json), NULL);
    assert_rc(verify_seeded(t1, ALGS), GW_JWT_ALG);
    assert_rc(verify_seeded(t2, ALGS), GW_JWT_ALG);
    assert_rc(verify_seeded(t3, ALGS), GW_JWT_ALG);
    /* HS* stays refused even when the allow-list names it */
    assert_rc(verify_seeded(t1, "HS256 RS256 ES256"), GW_JWT_ALG);
    assert_rc(verify_seeded(t2, "HS256 RS256 ES256"), GW_JWT_ALG);
    free(t1);
    free(t2);
    free(t3);
    free(n);
    json_decref(rsa);
}

/* ------------------------------------------------------------------ upstream: keys */

static void test_jwt_verify_rejects_rs256_header_with_ec_kid(void **state)
{
    char *t = sign("RS256", PAYLOAD);
    char *s = segment(t, 2);
    char *hdr = gw_sprintf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", g_ec_kid);
    char *bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_KEY_MISMATCH);
    free(bad);
    free(hdr);
    hdr = gw_sprintf("{\"alg\":\"PS256\",\"kid\":\"%s\"}", g_ec_kid);
    bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, "PS256"), GW_JWT_KEY_MISMATCH);
    free(bad);
    free(hdr);
    free(s);
    free(t);
}

static void test_jwt_verify_rejects_es256_header_with_rsa_kid(void **state)
{
    char *t = sign("ES256", PAYLOAD);
    char *s = segment(t, 2);
    char *hdr = gw_sprintf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", g_rsa_kid);
    char *bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_KEY_MISMATCH);
    free(bad);
    free(hdr);
    /* right key type, wrong curve for the algorithm */
    hdr = gw_sprintf("{\"alg\":\"ES384\",\"kid\":\"%s\"}", g_ec_kid);
    bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, "ES384"), GW_JWT_KEY_MISMATCH);
    free(bad);
    free(hdr);
    free(s);
    free(t);
}

static char *with_kid(const char *alg, const char *kid)
{
    char *t = sign(alg, PAYLOAD);
    char *s = segment(t, 2);
    char *hdr = gw_sprintf("{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    char *res = mktoken(hdr, PAYLOAD, s);
    free(hdr);
    free(s);
    free(t);
    return res;
}

static void test_jwt_verify_unknown_kid_with_fresh_cache_is_unknown_kid(void **state)
{
    /* The cache was just seeded, so the refetch is rate-limited (min_refresh 3600 s) and
     * no request is made: the answer is GW_JWT_UNKNOWN_KID. */
    char *bad = with_kid("RS256", "no-such-kid");
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_UNKNOWN_KID);
    free(bad);
}

static void test_jwt_verify_unknown_kid_after_failed_refetch_is_unknown_kid(void **state)
{
    /* min_refresh 0: the refetch is tried, fails (nothing listens), and the keys fetched
     * before are still there, so the kid is unknown rather than the JWKS unavailable. */
    char *bad = with_kid("ES256", "no-such-kid");
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 0, NULL);
    json_t *claims = NULL;
    assert_rc(verify(c, bad, ALGS, &claims), GW_JWT_UNKNOWN_KID);
    assert_null(claims);
    /* the cache still works for known keys */
    char *good = sign("ES256", PAYLOAD);
    assert_rc(verify(c, good, ALGS, &claims), GW_JWT_OK);
    json_decref(claims);
    gw_jwks_cache_free(c);
    free(good);
    free(bad);
}

static void test_jwt_verify_without_any_jwks_is_fetch_error(void **state)
{
    char *t = sign("RS256", PAYLOAD);
    json_t *claims = NULL;
    gw_jwks_cache_t *c = gw_jwks_cache_new(DEAD_JWKS, 0, gw_fetch_body);
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_JWKS_FETCH);
    assert_null(claims);
    gw_jwks_cache_free(c);
    c = gw_jwks_cache_new(NULL, 0, gw_fetch_body);
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_JWKS_FETCH);
    assert_null(claims);
    gw_jwks_cache_free(c);
    free(t);
}

/* ------------------------------------------------------------------ upstream: signatures */

static void check_flipped_signature(const char *alg)
{
    char *t = sign(alg, PAYLOAD);
    size_t n = 0;
    unsigned char *raw = sig_bytes(t, &n);
    free(raw);
    size_t at[] = { 0, n / 2, n - 1 };
    for (size_t i = 0; i < 3; i++) {
        char *bad = flip_sig(t, at[i], 0x01);
        int rc = verify_seeded(bad, ALGS);
        if (rc != GW_JWT_SIGNATURE)
            fail_msg("%s, signature byte %zu flipped: rc %d, expected GW_JWT_SIGNATURE", alg, at[i], rc);
        free(bad);
    }
    free(t);
}

static void test_jwt_verify_rejects_flipped_signature_byte_rs256(void **state) { check_flipped_signature("RS256"); }
static void test_jwt_verify_rejects_flipped_signature_byte_es256(void **state) { check_flipped_signature("ES256"); }

static void test_jwt_verify_rejects_payload_altered_after_signing(void **state)
{
    const char *algs[] = { "RS256", "ES256" };
    for (int i = 0; i < 2; i++) {
        char *t = sign(algs[i], PAYLOAD);
        char *h = segment(t, 0), *s = segment(t, 2);
        char *p = b64s("{\"iss\":\"https://vneid.example\",\"sub\":\"u-2\",\"aud\":\"eidgw\",\"exp\":1893456000}");
        char *bad = gw_sprintf("%s.%s.%s", h, p, s);
        gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, NULL);
        json_t *claims = NULL;
        assert_rc(verify(c, bad, ALGS, &claims), GW_JWT_SIGNATURE);
        assert_null(claims);
        gw_jwks_cache_free(c);
        free(bad);
        free(p);
        free(h);
        free(s);
        free(t);
    }
}

static void test_jwt_verify_rejects_signature_of_other_key_type(void **state)
{
    /* an ES256 signature (64 bytes) presented as RS256 for the RSA kid */
    char *es = sign("ES256", PAYLOAD);
    char *s = segment(es, 2);
    char *hdr = gw_sprintf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", g_rsa_kid);
    char *bad = mktoken(hdr, PAYLOAD, s);
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_SIGNATURE);
    free(bad);
    free(hdr);
    free(s);
    free(es);
}

/* ------------------------------------------------------------------ upstream: malformed */

static void test_jwt_verify_rejects_wrong_segment_count(void **state)
{
    char *t = sign("RS256", PAYLOAD);
    char *four = gw_sprintf("%s.AAAA", t);
    assert_rc(verify_seeded(four, ALGS), GW_JWT_MALFORMED);
    char *h = segment(t, 0), *p = segment(t, 1);
    char *two = gw_sprintf("%s.%s", h, p);
    assert_rc(verify_seeded(two, ALGS), GW_JWT_MALFORMED);
    assert_rc(verify_seeded(h, ALGS), GW_JWT_MALFORMED);
    assert_rc(verify_seeded("", ALGS), GW_JWT_MALFORMED);
    assert_rc(verify_seeded("..", ALGS), GW_JWT_MALFORMED);
    assert_rc(verify_seeded(NULL, ALGS), GW_JWT_MALFORMED);
    free(two);
    free(h);
    free(p);
    free(four);
    free(t);
}

static void test_jwt_verify_rejects_non_base64url_header(void **state)
{
    char *t = sign("RS256", PAYLOAD);
    char *p = segment(t, 1), *s = segment(t, 2), *h = segment(t, 0);
    char *bad = gw_sprintf("!!%s.%s.%s", h + 2, p, s);
    assert_rc(verify_seeded(bad, ALGS), GW_JWT_MALFORMED);
    free(bad);
    bad = gw_sprintf("e%s.%s.%s", h, p, s); /* length 1 mod 4 */
    if (strlen(h) % 4 == 0)
        assert_rc(verify_seeded(bad, ALGS), GW_JWT_MALFORMED);
    free(bad);
    free(h);
    free(p);
    free(s);
    free(t);
}

static void test_jwt_verify_rejects_header_that_is_not_a_json_object(void **state)
{
    char *t = sign("RS256", PAYLOAD);
    char *s = segment(t, 2);
    static const char *headers[] = {
        "not json", "[\"alg\",\"RS256\"]", "\"RS256\"",
        "42",       "{\"alg\":\"RS256\"",  "{\"alg\":\"RS256\",\"alg\":\"RS256\"}", /* duplicate member */
        "",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char *bad = mktoken(headers[i], PAYLOAD, s);
        int rc = verify_seeded(bad, ALGS);
        if (rc != GW_JWT_MALFORMED)
            fail_msg("header '%s': rc %d, expected GW_JWT_MALFORMED", headers[i], rc);
        free(bad);
    }
    free(s);
    free(t);
}

static void test_jwt_verify_rejects_header_supplied_keys_and_crit(void **state)
{
    json_t *ec = jwks_key("EC");
    char *ecjson = json_dumps(ec, JSON_COMPACT);
    char *t = sign("ES256", PAYLOAD);
    char *s = segment(t, 2);
    char *headers[4];
    headers[0] = gw_sprintf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"jku\":\"https://attacker.example/jwks\"}", g_ec_kid);
    headers[1] = gw_sprintf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"jwk\":%s}", g_ec_kid, ecjson);
    headers[2] = gw_sprintf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"exp\"],\"exp\":1}", g_ec_kid);
    headers[3] = gw_sprintf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"x5u\":\"https://attacker.example/c.pem\"}", g_ec_kid);
    for (int i = 0; i < 4; i++) {
        char *bad = mktoken(headers[i], PAYLOAD, s);
        int rc = verify_seeded(bad, ALGS);
        if (rc != GW_JWT_MALFORMED)
            fail_msg("header %s: rc %d, expected GW_JWT_MALFORMED", headers[i], rc);
        free(bad);
        free(headers[i]);
    }
    free(s);
    free(t);
    free(ecjson);
    json_decref(ec);
}

static void test_jwt_verify_rejects_empty_signature_for_allowed_alg(void **state)
{
    char *hdr = gw_sprintf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", g_rsa_kid);
    char *bad = mktoken(hdr, PAYLOAD, "");
    int rc = verify_seeded(bad, ALGS);
    if (rc != GW_JWT_MALFORMED && rc != GW_JWT_SIGNATURE)
        fail_msg("empty signature: rc %d", rc);
    free(bad);
    free(hdr);
}

static void test_jwt_verify_rejects_oversized_token(void **state)
{
    size_t n = 20000;
    char *pad = gw_xmalloc(n + 1);
    memset(pad, 'x', n);
    pad[n] = 0;
    char *payload = gw_sprintf("{\"pad\":\"%s\"}", pad);
    char *t = sign("RS256", payload);
    assert_rc(verify_seeded(t, ALGS), GW_JWT_MALFORMED);
    free(t);
    free(payload);
    free(pad);
}

/* ------------------------------------------------------------------ upstream: JWKS content */

static void test_jwks_cache_ignores_oct_keys(void **state)
{
    json_t *doc = json_loads(g_ks->jwks_json, 0, NULL);
    json_t *keys = json_object_get(doc, "keys");
    json_array_insert_new(keys, 0,
                          json_pack("{s:s,s:s,s:s,s:s}", "kty", "oct", "kid", "hmac", "k",
                                    "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "alg", "HS256"));
    char *jwks = json_dumps(doc, JSON_COMPACT);
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, jwks);
    json_t *claims = NULL;
    /* were the oct key imported, this would be a key/alg mismatch instead */
    char *t = with_kid("RS256", "hmac");
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_UNKNOWN_KID);
    assert_null(claims);
    free(t);
    /* the real keys beside it still work */
    t = sign("RS256", PAYLOAD);
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_OK);
    json_decref(claims);
    claims = NULL;
    free(t);
    gw_jwks_cache_free(c);
    free(jwks);
    json_decref(doc);

    /* a JWKS of one oct key: a token without kid finds no key at all */
    c = seeded_cache(DEAD_JWKS, 3600, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\"}]}");
    t = mktoken("{\"alg\":\"RS256\"}", PAYLOAD, "AAAA");
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_UNKNOWN_KID);
    assert_null(claims);
    free(t);
    gw_jwks_cache_free(c);
}

static void test_jwks_cache_ignores_encryption_keys(void **state)
{
    json_t *rsa = jwks_key("RSA");
    json_object_set_new(rsa, "use", json_string("enc"));
    json_t *doc = json_pack("{s:[O]}", "keys", rsa);
    char *jwks = json_dumps(doc, JSON_COMPACT);
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, jwks);
    char *t = sign("RS256", PAYLOAD);
    json_t *claims = NULL;
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_UNKNOWN_KID);
    assert_null(claims);
    free(t);
    gw_jwks_cache_free(c);
    free(jwks);
    json_decref(doc);
    json_decref(rsa);
}

static void test_jwks_cache_set_rejects_bad_document_and_keeps_keys(void **state)
{
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, NULL);
    assert_int_equal(gw_jwks_cache_set(c, "not json"), GW_EINVAL);
    assert_int_equal(gw_jwks_cache_set(c, "{}"), GW_EINVAL);
    assert_int_equal(gw_jwks_cache_set(c, "{\"keys\":{}}"), GW_EINVAL);
    assert_int_equal(gw_jwks_cache_set(c, "[]"), GW_EINVAL);
    char *t = sign("ES256", PAYLOAD);
    json_t *claims = NULL;
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_OK);
    json_decref(claims);
    free(t);
    gw_jwks_cache_free(c);
}

/* A token signed by one of our keys with a header that has no kid. */
static char *sign_without_kid(gw_sigkey_t *k, const char *alg)
{
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    assert_true(cjose_header_set(h, CJOSE_HDR_ALG, alg, &err));
    cjose_jws_t *jws = cjose_jws_sign(k->jwk, h, (const uint8_t *)PAYLOAD, strlen(PAYLOAD), &err);
    assert_non_null(jws);
    const char *ser = NULL;
    assert_true(cjose_jws_export(jws, &ser, &err));
    char *t = gw_strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return t;
}

static void test_jwt_verify_token_without_kid_needs_single_key_jwks(void **state)
{
    char *t = sign_without_kid(g_rsa, "RS256");
    json_t *rsa = jwks_key("RSA");
    json_t *doc = json_pack("{s:[O]}", "keys", rsa);
    char *one = json_dumps(doc, JSON_COMPACT);
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, one);
    json_t *claims = NULL;
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_OK);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "u-1");
    json_decref(claims);
    gw_jwks_cache_free(c);
    /* with two keys the token is ambiguous */
    assert_rc(verify_seeded(t, ALGS), GW_JWT_UNKNOWN_KID);
    free(one);
    json_decref(doc);
    json_decref(rsa);
    free(t);
}

/* ------------------------------------------------------------------ upstream: bad encodings */

typedef struct child_verify {
    const char *token;
    int own; /* gw_jwt_verify_own instead of gw_jwt_verify */
} child_verify_t;

/* Exit status: -rc of gw_jwt_verify (or 0 / 1 for verify_own: no claims / claims), plus
 * 100 when claims came back with an error. */
static int verify_in_child(void *arg)
{
    child_verify_t *cv = arg;
    if (cv->own) {
        json_t *claims = gw_jwt_verify_own(g_ks, cv->token);
        int st = claims ? 1 : 0;
        json_decref(claims);
        return st;
    }
    gw_jwks_cache_t *c = gw_jwks_cache_new(NULL, 3600, gw_fetch_body);
    gw_jwks_cache_set(c, g_ks->jwks_json);
    json_t *claims = NULL;
    int rc = gw_jwt_verify(c, cv->token, ALGS, &claims);
    int st = -rc + (rc != GW_JWT_OK && claims ? 100 : 0);
    json_decref(claims);
    gw_jwks_cache_free(c);
    return st;
}

/* Tokens with a valid header for our EC key and a payload or signature segment that is
 * not base64url ('=' inside, or a length of 1 mod 4). */
static char **bad_encoding_tokens(size_t *n)
{
    char *t = sign("ES256", PAYLOAD);
    char *h = segment(t, 0), *p = segment(t, 1), *s = segment(t, 2);
    char **v = gw_xcalloc(8, sizeof(char *));
    size_t i = 0;
    v[i++] = gw_sprintf("%s.A=AA.%s", h, s);
    v[i++] = gw_sprintf("%s.%.5s=%s.%s", h, p, p + 5, s);
    v[i++] = gw_sprintf("%s.%s.A=AA", h, p);
    v[i++] = gw_sprintf("%s.%s.%.5s=%s", h, p, s, s + 5);
    v[i++] = gw_sprintf("%s.A.%s", h, s);
    v[i++] = gw_sprintf("%s.%s.AAAAA", h, p);
    v[i++] = gw_sprintf("%s.%s!.%s", h, p, s);
    *n = i;
    free(h);
    free(p);
    free(s);
    free(t);
    return v;
}

static void check_bad_encodings(int own)
{
    size_t n = 0;
    char **v = bad_encoding_tokens(&n);
    char failed[512] = "";
    for (size_t i = 0; i < n; i++) {
        child_verify_t cv = { v[i], own };
        int st = in_child(verify_in_child, &cv);
        int ok = own ? st == 0 : (st == -GW_JWT_MALFORMED || st == -GW_JWT_SIGNATURE);
        if (!ok && !failed[0])
            snprintf(failed, sizeof(failed), "token %zu (%.*s...): %s %d", i, 120, v[i],
                     st >= 1000 ? "process killed by signal" : "status", st >= 1000 ? st - 1000 : st);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    if (failed[0])
        fail_msg("%s", failed);
}

static void test_jwt_verify_survives_bad_payload_or_signature_encoding(void **state) { check_bad_encodings(0); }
static void test_jwt_verify_own_survives_bad_payload_or_signature_encoding(void **state) { check_bad_encodings(1); }

/* ------------------------------------------------------------------ JWKS refresh */

/* A TCP listener on 127.0.0.1 that counts connections and answers each with `reply`
 * (or closes at once when reply is NULL). */
typedef struct counting_server {
    int fd;
    int port;
    const char *reply;
    atomic_int delay_ms; /* before answering */
    atomic_int connections;
    atomic_int stop;
    pthread_t th;
} counting_server_t;

static void *server_main(void *p)
{
    counting_server_t *s = p;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        atomic_fetch_add(&s->connections, 1);
        if (s->reply) {
            char buf[4096];
            struct pollfd cp = { .fd = c, .events = POLLIN };
            if (poll(&cp, 1, 1000) > 0 && read(c, buf, sizeof(buf)) > 0) {
                if (atomic_load(&s->delay_ms))
                    usleep((useconds_t)atomic_load(&s->delay_ms) * 1000);
                char *resp = gw_sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                        "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                        strlen(s->reply), s->reply);
                ssize_t w = write(c, resp, strlen(resp));
                (void)w;
                free(resp);
            }
        }
        close(c);
    }
    return NULL;
}

static void server_start(counting_server_t *s, const char *reply)
{
    memset(s, 0, sizeof(*s));
    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static int server_stop(counting_server_t *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
    return atomic_load(&s->connections);
}

static void test_jwt_verify_refetches_jwks_for_unknown_kid(void **state)
{
    counting_server_t srv;
    server_start(&srv, g_ks->jwks_json);
    char *uri = gw_sprintf("http://127.0.0.1:%d/jwks", srv.port);
    /* the cache knows no keys yet (a rotation happened upstream) */
    gw_jwks_cache_t *c = seeded_cache(uri, 0, "{\"keys\":[]}");
    char *t = sign("ES256", PAYLOAD);
    json_t *claims = NULL;
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_OK);
    assert_non_null(claims);
    json_decref(claims);
    gw_jwks_cache_free(c);
    free(t);
    free(uri);
    assert_int_equal(server_stop(&srv), 1);
}

/* The I/O threads' variant never touches the network: where a fetch is due it says so,
 * the caller fetches on a worker (gw_jwt_verify), and then the cached keys serve it. */
static void test_jwt_verify_cached_asks_for_the_fetch_instead_of_making_it(void **state)
{
    counting_server_t srv;
    server_start(&srv, g_ks->jwks_json);
    char *uri = gw_sprintf("http://127.0.0.1:%d/jwks", srv.port);
    gw_jwks_cache_t *c = gw_jwks_cache_new(uri, 3600, gw_fetch_body); /* first use: no keys, no attempt yet */
    char *t = sign("ES256", PAYLOAD);
    json_t *claims = NULL;
    assert_rc(gw_jwt_verify_cached(c, t, ALGS, &claims), GW_JWT_NEED_KEYS);
    assert_rc(gw_jwt_verify_cached(c, t, ALGS, &claims), GW_JWT_NEED_KEYS); /* no attempt was made */
    assert_null(claims);
    assert_rc(verify(c, t, ALGS, &claims), GW_JWT_OK); /* the fetch, on a thread that may wait */
    json_decref(claims);
    claims = NULL;
    assert_rc(gw_jwt_verify_cached(c, t, ALGS, &claims), GW_JWT_OK);
    assert_non_null(claims);
    json_decref(claims);
    claims = NULL;
    /* an unknown kid right after a fetch: no new attempt is due, so a plain refusal */
    char *bad = with_kid("RS256", "rotated-kid");
    assert_rc(gw_jwt_verify_cached(c, bad, ALGS, &claims), GW_JWT_UNKNOWN_KID);
    assert_null(claims);
    gw_jwks_cache_free(c);
    free(t);
    free(bad);
    free(uri);
    assert_int_equal(server_stop(&srv), 1);
}

/* A slow JWKS endpoint: while one thread fetches, an I/O thread's check is told to go
 * elsewhere at once (it never waits on the network, nor on the lock held over it), and
 * another worker waits for that fetch instead of making its own. */
typedef struct {
    gw_jwks_cache_t *c;
    const char *token;
    int rc;
} verify_job_t;

static void *verify_thread(void *p)
{
    verify_job_t *v = p;
    json_t *claims = NULL;
    v->rc = gw_jwt_verify(v->c, v->token, ALGS, &claims);
    json_decref(claims);
    gw_http_thread_cleanup(); /* as a worker does when it ends */
    return NULL;
}

static void test_jwt_fetch_under_way_holds_up_no_cached_check(void **state)
{
    counting_server_t srv;
    server_start(&srv, g_ks->jwks_json);
    atomic_store(&srv.delay_ms, 800);
    char *uri = gw_sprintf("http://127.0.0.1:%d/jwks", srv.port);
    gw_jwks_cache_t *c = gw_jwks_cache_new(uri, 3600, gw_fetch_body);
    char *t = sign("ES256", PAYLOAD);
    verify_job_t a = { .c = c, .token = t }, b = { .c = c, .token = t };
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, verify_thread, &a), 0);
    usleep(200 * 1000); /* a is fetching */
    assert_int_equal(pthread_create(&tb, NULL, verify_thread, &b), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *claims = NULL;
    assert_rc(gw_jwt_verify_cached(c, t, ALGS, &claims), GW_JWT_NEED_KEYS);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (waited > 0.2)
        fail_msg("the cached check waited %.2f s for a fetch", waited);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_rc(a.rc, GW_JWT_OK);
    assert_rc(b.rc, GW_JWT_OK);
    assert_rc(gw_jwt_verify_cached(c, t, ALGS, &claims), GW_JWT_OK);
    json_decref(claims);
    gw_jwks_cache_free(c);
    free(t);
    free(uri);
    assert_int_equal(server_stop(&srv), 1); /* one fetch for both workers */
}

static void test_jwt_verify_does_not_refetch_within_min_refresh(void **state)
{
    counting_server_t srv;
    server_start(&srv, g_ks->jwks_json);
    char *uri = gw_sprintf("http://127.0.0.1:%d/jwks", srv.port);
    gw_jwks_cache_t *c = seeded_cache(uri, 3600, NULL);
    char *bad = with_kid("RS256", "rotated-kid");
    json_t *claims = NULL;
    for (int i = 0; i < 5; i++)
        assert_rc(verify(c, bad, ALGS, &claims), GW_JWT_UNKNOWN_KID);
    gw_jwks_cache_free(c);
    free(bad);
    free(uri);
    assert_int_equal(server_stop(&srv), 0);
}

static void test_jwt_verify_failed_jwks_fetch_is_rate_limited(void **state)
{
    /* The JWKS endpoint is down (accepts and closes). Verifying tokens must not turn
     * every token into blocking fetches: within min_refresh, one attempt at most. */
    counting_server_t srv;
    server_start(&srv, NULL);
    char *uri = gw_sprintf("http://127.0.0.1:%d/jwks", srv.port);
    gw_jwks_cache_t *c = gw_jwks_cache_new(uri, 3600, gw_fetch_body);
    char *t = sign("RS256", PAYLOAD);
    json_t *claims = NULL;
    for (int i = 0; i < 3; i++)
        assert_rc(verify(c, t, ALGS, &claims), GW_JWT_JWKS_FETCH);
    assert_null(claims);
    gw_jwks_cache_free(c);
    free(t);
    free(uri);
    int n = server_stop(&srv);
    if (n != 1)
        fail_msg("3 verifications with the JWKS endpoint down made %d fetches, expected 1", n);
}

/* ------------------------------------------------------------------ ES256 encoding */

static EVP_PKEY *ec_public_key(void)
{
    json_t *ec = jwks_key("EC");
    const char *x64 = json_string_value(json_object_get(ec, "x"));
    const char *y64 = json_string_value(json_object_get(ec, "y"));
    size_t xl = 0, yl = 0;
    unsigned char *x = gw_b64url_decode(x64, strlen(x64), &xl);
    unsigned char *y = gw_b64url_decode(y64, strlen(y64), &yl);
    assert_int_equal(xl, 32);
    assert_int_equal(yl, 32);
    unsigned char pub[65];
    pub[0] = 0x04;
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    json_decref(ec);
    return pkey;
}

/* Verify an ES256 JWS with OpenSSL alone: r||s (32+32) to a DER ECDSA_SIG. */
static int openssl_es256_verify(EVP_PKEY *pkey, const char *token)
{
    const char *d2 = strrchr(token, '.');
    size_t n = 0;
    unsigned char *sig = gw_b64url_decode(d2 + 1, strlen(d2 + 1), &n);
    if (!sig || n != 64) {
        free(sig);
        return 0;
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    ECDSA_SIG_set0(es, r, s);
    unsigned char *der = NULL;
    int derlen = i2d_ECDSA_SIG(es, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = derlen > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)token, (size_t)(d2 - token)) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    free(sig);
    return ok;
}

static void test_jwt_es256_signatures_are_64_bytes_and_verify_independently(void **state)
{
    EVP_PKEY *pkey = ec_public_key();
    gw_jwks_cache_t *c = seeded_cache(DEAD_JWKS, 3600, NULL);
    int short_r = 0, short_s = 0;
    for (int i = 0; i < 300; i++) {
        char *payload = gw_sprintf("{\"sub\":\"u-%d\",\"i\":%d}", i, i);
        char *t = sign("ES256", payload);
        size_t n = 0;
        unsigned char *sig = sig_bytes(t, &n);
        if (n != 64)
            fail_msg("token %d: ES256 signature is %zu bytes, expected 64", i, n);
        short_r += sig[0] == 0;
        short_s += sig[32] == 0;
        free(sig);
        json_t *own = gw_jwt_verify_own(g_ks, t);
        if (!own)
            fail_msg("token %d does not verify with gw_jwt_verify_own", i);
        assert_int_equal(json_integer_value(json_object_get(own, "i")), i);
        json_decref(own);
        json_t *claims = NULL;
        int rc = verify(c, t, ALGS, &claims);
        if (rc != GW_JWT_OK)
            fail_msg("token %d: gw_jwt_verify = %d", i, rc);
        json_decref(claims);
        if (!openssl_es256_verify(pkey, t))
            fail_msg("token %d does not verify with OpenSSL", i);
        free(t);
        free(payload);
    }
    /* the independent verifier does refuse a bad signature */
    char *t = sign("ES256", PAYLOAD);
    char *bad = flip_sig(t, 40, 0x80);
    assert_int_equal(openssl_es256_verify(pkey, t), 1);
    assert_int_equal(openssl_es256_verify(pkey, bad), 0);
    free(bad);
    free(t);
    print_message("ES256: %d of 300 signatures had r with a leading zero byte, %d had s\n", short_r, short_s);
    gw_jwks_cache_free(c);
    EVP_PKEY_free(pkey);
}

static void test_jwt_strerror_names_each_code(void **state)
{
    assert_string_equal(gw_jwt_strerror(GW_JWT_OK), "ok");
    assert_string_equal(gw_jwt_strerror(GW_JWT_MALFORMED), "malformed token");
    assert_string_equal(gw_jwt_strerror(GW_JWT_ALG), "algorithm not allowed");
    assert_string_equal(gw_jwt_strerror(GW_JWT_UNKNOWN_KID), "unknown key id");
    assert_string_equal(gw_jwt_strerror(GW_JWT_KEY_MISMATCH), "algorithm does not fit the key");
    assert_string_equal(gw_jwt_strerror(GW_JWT_SIGNATURE), "bad signature");
    assert_string_equal(gw_jwt_strerror(GW_JWT_JWKS_FETCH), "JWKS unavailable");
    assert_string_equal(gw_jwt_strerror(GW_JWT_NEED_KEYS), "JWKS fetch due");
    assert_string_equal(gw_jwt_strerror(12345), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyset_publishes_both_keys_without_private_parts),
        cmocka_unit_test(test_keyset_load_fails_on_empty_directory),
        cmocka_unit_test(test_keys_generate_keeps_existing_keys),
        cmocka_unit_test(test_jwt_sign_es256_verifies_with_own_keys),
        cmocka_unit_test(test_jwt_sign_rs256_verifies_with_own_keys),
        cmocka_unit_test(test_jwt_sign_refuses_alg_without_key),
        cmocka_unit_test(test_jwt_verify_own_rejects_tampering),
        cmocka_unit_test(test_jwt_verify_accepts_rs256_from_jwks),
        cmocka_unit_test(test_jwt_verify_accepts_es256_from_jwks),
        cmocka_unit_test(test_jwt_verify_rejects_alg_outside_allow_list),
        cmocka_unit_test(test_jwt_verify_rejects_missing_or_non_string_alg),
        cmocka_unit_test(test_jwt_verify_rejects_alg_none_with_empty_signature),
        cmocka_unit_test(test_jwt_verify_rejects_alg_none_with_any_signature),
        cmocka_unit_test(test_jwt_verify_rejects_hs256_keyed_with_rsa_public_key),
        cmocka_unit_test(test_jwt_verify_rejects_rs256_header_with_ec_kid),
        cmocka_unit_test(test_jwt_verify_rejects_es256_header_with_rsa_kid),
        cmocka_unit_test(test_jwt_verify_unknown_kid_with_fresh_cache_is_unknown_kid),
        cmocka_unit_test(test_jwt_verify_unknown_kid_after_failed_refetch_is_unknown_kid),
        cmocka_unit_test(test_jwt_verify_without_any_jwks_is_fetch_error),
        cmocka_unit_test(test_jwt_verify_rejects_flipped_signature_byte_rs256),
        cmocka_unit_test(test_jwt_verify_rejects_flipped_signature_byte_es256),
        cmocka_unit_test(test_jwt_verify_rejects_payload_altered_after_signing),
        cmocka_unit_test(test_jwt_verify_rejects_signature_of_other_key_type),
        cmocka_unit_test(test_jwt_verify_rejects_wrong_segment_count),
        cmocka_unit_test(test_jwt_verify_rejects_non_base64url_header),
        cmocka_unit_test(test_jwt_verify_rejects_header_that_is_not_a_json_object),
        cmocka_unit_test(test_jwt_verify_rejects_header_supplied_keys_and_crit),
        cmocka_unit_test(test_jwt_verify_rejects_empty_signature_for_allowed_alg),
        cmocka_unit_test(test_jwt_verify_rejects_oversized_token),
        cmocka_unit_test(test_jwks_cache_ignores_oct_keys),
        cmocka_unit_test(test_jwks_cache_ignores_encryption_keys),
        cmocka_unit_test(test_jwks_cache_set_rejects_bad_document_and_keeps_keys),
        cmocka_unit_test(test_jwt_verify_token_without_kid_needs_single_key_jwks),
        cmocka_unit_test(test_jwt_verify_survives_bad_payload_or_signature_encoding),
        cmocka_unit_test(test_jwt_verify_own_survives_bad_payload_or_signature_encoding),
        cmocka_unit_test(test_jwt_verify_refetches_jwks_for_unknown_kid),
        cmocka_unit_test(test_jwt_verify_cached_asks_for_the_fetch_instead_of_making_it),
        cmocka_unit_test(test_jwt_fetch_under_way_holds_up_no_cached_check),
        cmocka_unit_test(test_jwt_verify_does_not_refetch_within_min_refresh),
        cmocka_unit_test(test_jwt_verify_failed_jwks_fetch_is_rate_limited),
        cmocka_unit_test(test_jwt_es256_signatures_are_64_bytes_and_verify_independently),
        cmocka_unit_test(test_jwt_strerror_names_each_code),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
