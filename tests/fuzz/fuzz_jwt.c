/* libFuzzer target for gw_jwt_verify (tokens from the upstream provider) against a JWKS
 * cache seeded from a fixed JWKS. The cache has no URI, so no request is ever made.
 *
 * Input: first byte even -> the rest is the compact token as is; odd -> the rest is
 * "header JSON" 0xFF "payload JSON" 0xFF "signature bytes", each part base64url-encoded
 * here, so the fuzzer works on the header's JSON directly.
 *
 * Invariants: the result is one of the documented codes; claims only with GW_JWT_OK;
 * GW_JWT_OK only for the signed content of a genuine token (no forgery), with an allowed
 * algorithm.
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "gw_crypto.h"
#include "gw_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define ALLOWED "RS256 ES256 PS256"

static gw_jwks_cache_t *g_cache;

static void seed_token(const char *dir, const char *name, const char *token)
{
    size_t n = strlen(token);
    char *buf = malloc(n + 1);
    if (!buf)
        abort();
    buf[0] = 0; /* raw mode */
    memcpy(buf + 1, token, n);
    write_seed(dir, name, buf, n + 1);
    free(buf);
}

static void seed_parts(const char *dir, const char *name, const char *header, const char *payload, const char *sig,
                       size_t siglen)
{
    gw_buf_t b;
    gw_buf_init(&b, 0);
    gw_buf_add(&b, "\x01", 1);
    gw_buf_adds(&b, header);
    gw_buf_add(&b, "\xff", 1);
    gw_buf_adds(&b, payload);
    gw_buf_add(&b, "\xff", 1);
    gw_buf_add(&b, sig, siglen);
    write_seed(dir, name, b.data, b.len);
    gw_buf_cleanup(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* no URI: a refresh is never attempted over the network */
    g_cache = gw_jwks_cache_new(NULL, 1L << 30, NULL);
    if (gw_jwks_cache_set(g_cache, JWKS) != GW_OK)
        abort();
    json_t *claims = NULL;
    if (gw_jwt_verify(g_cache, TOKEN_RS256, ALLOWED, &claims) != GW_JWT_OK)
        abort();
    json_decref(claims);
    claims = NULL;
    if (gw_jwt_verify(g_cache, TOKEN_ES256, ALLOWED, &claims) != GW_JWT_OK)
        abort();
    json_decref(claims);
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    if (dir) {
        seed_token(dir, "seed-rs256", TOKEN_RS256);
        seed_token(dir, "seed-es256", TOKEN_ES256);
        const char *payload = "{\"sub\":\"u-1\",\"aud\":\"eidgw\"}";
        seed_parts(dir, "seed-parts-none", "{\"alg\":\"none\"}", payload, "", 0);
        seed_parts(dir, "seed-parts-hs256", "{\"alg\":\"HS256\",\"kid\":\"hmac\"}", payload,
                   "0123456789abcdef0123456789abcdef", 32);
        seed_parts(dir, "seed-parts-rs-ec", "{\"alg\":\"RS256\",\"kid\":\"ES256-20261123124749-c7na9Kox\"}", payload,
                   "sig", 3);
        seed_parts(dir, "seed-parts-jku",
                   "{\"alg\":\"ES256\",\"kid\":\"ES256-20261123124749-c7na9Kox\",\"jku\":\"https://"
                   "x\",\"crit\":[\"b64\"],\"b64\":false}",
                   payload, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64);
        seed_parts(dir, "seed-parts-ps256",
                   "{\"alg\":\"PS256\",\"kid\":\"RS256-20261123124749-GrVTqxbt\",\"typ\":\"JWT\"}", payload, "x", 1);
        seed_parts(dir, "seed-parts-nokid", "{\"alg\":\"ES256\"}", payload,
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64);
    }
    return 0;
}

static char *build_token(const uint8_t *p, size_t n)
{
    const uint8_t *s1 = memchr(p, 0xff, n);
    if (!s1)
        return NULL;
    const uint8_t *s2 = memchr(s1 + 1, 0xff, n - (size_t)(s1 + 1 - p));
    if (!s2)
        return NULL;
    char *h = gw_b64url_encode(p, (size_t)(s1 - p));
    char *pl = gw_b64url_encode(s1 + 1, (size_t)(s2 - s1 - 1));
    char *sig = gw_b64url_encode(s2 + 1, n - (size_t)(s2 + 1 - p));
    char *t = gw_sprintf("%s.%s.%s", h, pl, sig);
    free(h);
    free(pl);
    free(sig);
    return t;
}

/* The part of a token that a signature covers: everything up to the last dot. */
static int same_signed_part(const char *a, const char *b)
{
    const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
    return da && db && da - a == db - b && !memcmp(a, b, (size_t)(da - a));
}

static void check_token(const char *token)
{
    json_t *claims = NULL;
    int rc = gw_jwt_verify(g_cache, token, ALLOWED, &claims);
    CHECK(rc == GW_JWT_OK || rc == GW_JWT_MALFORMED || rc == GW_JWT_ALG || rc == GW_JWT_UNKNOWN_KID ||
          rc == GW_JWT_KEY_MISMATCH || rc == GW_JWT_SIGNATURE);
    CHECK(strcmp(gw_jwt_strerror(rc), "error") != 0);
    if (rc != GW_JWT_OK) {
        CHECK(claims == NULL);
        return;
    }
    CHECK(json_is_object(claims));
    CHECK(same_signed_part(token, TOKEN_RS256) || same_signed_part(token, TOKEN_ES256));
    CHECK(!strcmp(json_string_value(json_object_get(claims, "sub")), "u-1"));
    json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *token;
    if (data[0] & 1) {
        token = build_token(data + 1, size - 1);
        if (!token)
            return 0;
    } else {
        token = malloc(size);
        if (!token)
            return 0;
        memcpy(token, data + 1, size - 1);
        token[size - 1] = 0;
    }
    check_token(token);
    free(token);
    return 0;
}
