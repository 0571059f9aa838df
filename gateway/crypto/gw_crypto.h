/* gw_crypto: the keyset (signing keys, JWKS, cookie key, pairwise secret), AEAD sealing
 * for cookies, and JWT signing and verification over cjose.
 *
 * cjose has no algorithm allow-list and reads past a buffer when an HS* token meets an
 * RSA/EC key, so every verification here checks `alg` against the caller's allow-list and
 * the key's type, and finds the key by `kid`, before cjose is called. A payload is never
 * read from a token that did not verify. */
#ifndef GW_CRYPTO_H
#define GW_CRYPTO_H
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_seal.h"

/* ---- our own keys ---- */
typedef struct gw_sigkey {
    char *kid;
    char *alg; /* ES256 or RS256 */
    void *jwk; /* cjose_jwk_t*, private */
    pthread_mutex_t lock; /* cjose refcounts are not atomic; also guards ctx */
    void *pkey; /* EVP_PKEY*, the same private key: tokens are signed with it */
#define GW_SIGKEY_CTX_MAX 16
    void *ctx[GW_SIGKEY_CTX_MAX]; /* EVP_PKEY_CTX*, signing contexts ready for reuse */
    int nctx;
    char *hdr_b64[2]; /* base64url JOSE headers, typ "JWT" and "logout+jwt" */
} gw_sigkey_t;

typedef struct gw_keyset {
    size_t nkeys;
    gw_sigkey_t *keys; /* every published key; the active one per alg is the newest */
    char *jwks_json; /* public JWKS document */
    unsigned char cookie_key[GW_SEAL_KEYLEN];
    unsigned char pairwise_key[32];
} gw_keyset_t;

/* Loads *.jwk, cookie.key and pairwise.key from dir. Error text into err. */
gw_keyset_t *gw_keyset_load(const char *dir, char *err, size_t errlen);
void gw_keyset_free(gw_keyset_t *ks);
/* Creates dir (0700) and new keys in it. Without force, a directory that has signing keys
 * is left alone; with force (rotation) a new ES256 and RS256 pair is added beside the old
 * ones, which stay published until removed. cookie.key and pairwise.key are created once
 * and never replaced. Prints what it wrote to stdout. 0 or -1 with err. */
int gw_keys_generate(const char *dir, int force, char *err, size_t errlen);

/* Sign claims (not consumed) with the active key for alg. Returns compact JWS or NULL. */
char *gw_jwt_sign(gw_keyset_t *ks, const char *alg, json_t *claims, const char *typ);
/* Verify a token signed by one of our own keys (e.g. an id_token_hint). Returns claims
 * (caller decrefs) or NULL. Does not check exp. */
json_t *gw_jwt_verify_own(gw_keyset_t *ks, const char *token);

/* ---- verification of tokens from an upstream provider ---- */
typedef struct gw_jwks_cache gw_jwks_cache_t;
/* fetch: gets the JWKS document at url (blocking): the body, malloc'd, or NULL with the
 * reason in err. The cache knows no HTTP: the caller hands it its HTTP client. */
typedef char *(*gw_jwks_fetch_fn)(const char *url, char *err, size_t errlen);
gw_jwks_cache_t *gw_jwks_cache_new(const char *jwks_uri, long min_refresh_s, gw_jwks_fetch_fn fetch);
void gw_jwks_cache_free(gw_jwks_cache_t *c);
/* What the cache holds, for readiness: the number of keys, when they were last fetched
 * and when a fetch was last tried (0: never). Takes the lock only; no network. */
void gw_jwks_cache_state(gw_jwks_cache_t *c, size_t *ret_n, int64_t *ret_fetched_at, int64_t *ret_attempted_at);
/* Fetch the keys again (blocking) unless a fetch is under way or one was tried within
 * min_refresh: a node whose keys are missing gets them back without waiting for a login. */
void gw_jwks_cache_retry(gw_jwks_cache_t *c);
/* Seed/replace the keys from a JWKS document (tests, and after a fetch). 0 or GW_EINVAL. */
int gw_jwks_cache_set(gw_jwks_cache_t *c, const char *jwks_json);

/* Results: gw_err_t, GW_OK or one of its GW_JWT_* codes (gw_util.h). */
/* Verify compact JWS against the cache; refetches the JWKS once (rate-limited) on an
 * unknown kid. On success returns GW_JWT_OK and the payload claims in *ret (decref). */
int gw_jwt_verify(gw_jwks_cache_t *c, const char *token, const char *allowed_algs, json_t **ret);
/* The same without the network, for the I/O threads: where gw_jwt_verify would fetch the
 * JWKS (first use, or an unknown kid and no attempt within min_refresh), it returns
 * GW_JWT_NEED_KEYS and the caller goes on with gw_jwt_verify on a worker. */
int gw_jwt_verify_cached(gw_jwks_cache_t *c, const char *token, const char *allowed_algs, json_t **ret);
/* The same as gw_strerror (kept for the token code's callers). */
const char *gw_jwt_strerror(int rc);

/* The key that seals access tokens (gw_op.c), derived from the cookie key: every node of a
 * cluster shares it, and a sealed SSO or portal cookie never opens as an access token. */
void gw_access_token_key(const unsigned char cookie_key[32], unsigned char out[32]);

#endif
