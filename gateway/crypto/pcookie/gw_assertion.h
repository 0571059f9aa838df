/* gw_assertion: the signed assertion of the proxied path (X-Eidgw-Assertion), built the same
 * way by the daemon's /auth/check and by the nginx module, and the JWS signing under it.
 *
 *   claims  {"iss": the gateway's public_url, "aud": the portal (client) id, "sub", "acr",
 *            "eid_level": 1|2, "auth_time", "iat", "exp": iat + GW_ASSERTION_LIFETIME, and
 *            the claims the portal cookie releases: "name", "birthdate", "gender", "cccd",
 *            "legacy_account" (strings; absent when not released)}
 *   header  {"alg": ES256|RS256, "kid": the signing key's kid, "typ": "JWT"}: a backend
 *           verifies it against the gateway's /jwks.
 * An assertion is reused for one portal cookie (by its SHA-256) for GW_ASSERTION_REUSE
 * seconds: a small table, a collision only costs a new signature. The nginx module keeps the
 * opened cookie there too, so a request with a cookie seen within that time (and before its
 * expiry) costs a hash and a lookup, not an AES-GCM open and a JSON parse. The table has no
 * lock: the daemon holds its own, an nginx worker has one thread.
 *
 * Links: this file, gw_util.c and gw_json.c (util layer), jansson, libcrypto. No nginx types,
 * no daemon state. */
#ifndef GW_ASSERTION_H
#define GW_ASSERTION_H
#include "gw_pcookie.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define GW_ASSERTION_LIFETIME 60
#define GW_ASSERTION_REUSE (GW_ASSERTION_LIFETIME / 2)

/* The assertion's claims for the session in pc, issued by iss for the portal aud at now;
 * acr is pc->acr when the cookie has one, else the given fallback. The caller decrefs. */
json_t *gw_assertion_claims(const char *iss, const char *aud, const gw_pcookie_t *pc, const char *acr, int64_t now);

/* ---- JWS (compact, RFC 7515) with an OpenSSL key ---- */

/* The private key of a private ES256 (P-256) or RS256 JWK, or NULL. */
EVP_PKEY *gw_jws_jwk_pkey(json_t *jwk, const char *alg);
/* base64url of the JOSE header {"alg","kid","typ"}; malloc'd. */
char *gw_jws_header_b64(const char *alg, const char *kid, const char *typ);
/* A signing context (SHA-256; PKCS#1 v1.5 padding for RSA) for pkey, reusable, or NULL. */
EVP_PKEY_CTX *gw_jws_sign_ctx(EVP_PKEY *pkey, int rsa);
/* hdr_b64 "." base64url(compact claims) "." signature: for ES256 (es256 != 0) the raw
 * r || s of RFC 7518 3.4, else the RSA signature. malloc'd, or NULL. */
char *gw_jws_sign(EVP_PKEY_CTX *ctx, int es256, const char *hdr_b64, json_t *claims);

/* A single signing key read from one of the gateway's private *.jwk files (the nginx
 * module's eidgw_signing_key): its kid and alg as the daemon publishes them in /jwks. */
typedef struct gw_jws_signer {
    char *kid, *alg, *hdr_b64;
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *ctx; /* made on first use (after an nginx worker's fork) */
} gw_jws_signer_t;

/* 0, or -1 and the reason in err. */
int gw_jws_signer_load(gw_jws_signer_t *s, const char *path, char *err, size_t errlen);
/* The compact JWS of claims (typ "JWT"), malloc'd, or NULL. */
char *gw_jws_signer_sign(gw_jws_signer_t *s, json_t *claims);
void gw_jws_signer_free(gw_jws_signer_t *s);

/* ---- the per-cookie assertion table ---- */
#define GW_ACACHE_SLOTS 1024
typedef struct gw_acache_slot {
    unsigned char h[32];
    int64_t until;
    char *jwt; /* NULL when none is kept */
    int has_pc;
    gw_pcookie_t pc; /* the opened cookie, when has_pc */
} gw_acache_slot_t;
typedef struct gw_acache {
    gw_acache_slot_t slot[GW_ACACHE_SLOTS];
} gw_acache_t;

/* SHA-256 of a cookie value: the table's key. */
void gw_acache_key(const char *cookie, unsigned char h[32]);
/* The entry kept for h and still good at now (owned by the table), or NULL. */
gw_acache_slot_t *gw_acache_find(gw_acache_t *c, const unsigned char h[32], int64_t now);
/* The assertion kept for h and still good at now (owned by the table), or NULL. */
const char *gw_acache_get(gw_acache_t *c, const unsigned char h[32], int64_t now);
/* Keeps a copy of jwt (may be NULL) for h until `until`, replacing the slot's entry; pc, when
 * not NULL, is moved into the entry (*pc is left empty). */
void gw_acache_put(gw_acache_t *c, const unsigned char h[32], int64_t until, const char *jwt, gw_pcookie_t *pc);
void gw_acache_clear(gw_acache_t *c);

#endif
