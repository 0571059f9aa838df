#include "gw_assertion.h"
#include "gw_json.h"
#include "gw_util.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ claims */

json_t *gw_assertion_claims(const char *iss, const char *aud, const gw_pcookie_t *pc, const char *acr, int64_t now)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:I}", "iss", iss, "aud", aud, "sub", pc->sub, "acr",
                          pc->acr ? pc->acr
                          : acr   ? acr
                                  : "",
                          "eid_level", pc->level, "auth_time", (json_int_t)pc->auth_time, "iat", (json_int_t)now, "exp",
                          (json_int_t)(now + GW_ASSERTION_LIFETIME));
    if (!c)
        return NULL;
    gw_jset(c, "name", pc->name);
    gw_jset(c, "birthdate", pc->birthdate);
    gw_jset(c, "gender", pc->gender);
    gw_jset(c, "cccd", pc->cccd);
    gw_jset(c, "legacy_account", pc->legacy_account);
    return c;
}

/* ------------------------------------------------------------------ JWS */

static BIGNUM *jwk_bn(json_t *j, const char *name)
{
    const char *v = json_string_value(json_object_get(j, name));
    size_t n = 0;
    unsigned char *raw = v ? gw_b64url_decode(v, strlen(v), &n) : NULL;
    BIGNUM *bn = raw && n ? BN_bin2bn(raw, (int)n, NULL) : NULL;
    if (raw)
        OPENSSL_cleanse(raw, n);
    free(raw);
    return bn;
}

EVP_PKEY *gw_jws_jwk_pkey(json_t *j, const char *alg)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn[8] = { 0 };
    unsigned char pub[65];
    int ok = bld != NULL && alg;
    if (ok && !strcmp(alg, "ES256")) {
        const char *x = json_string_value(json_object_get(j, "x")), *y = json_string_value(json_object_get(j, "y"));
        size_t xl = 0, yl = 0;
        unsigned char *xr = x ? gw_b64url_decode(x, strlen(x), &xl) : NULL,
                      *yr = y ? gw_b64url_decode(y, strlen(y), &yl) : NULL;
        ok = xr && yr && xl == 32 && yl == 32 && (bn[0] = jwk_bn(j, "d"));
        if (ok) {
            pub[0] = 4;
            memcpy(pub + 1, xr, 32);
            memcpy(pub + 33, yr, 32);
        }
        free(xr);
        free(yr);
        ok = ok && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn[0]);
        ctx = ok ? EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL) : NULL;
    } else if (ok && !strcmp(alg, "RS256")) {
        static const char *const jn[8] = { "n", "e", "d", "p", "q", "dp", "dq", "qi" };
        static const char *const on[8] = { OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                                           OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                           OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                           OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
        for (int i = 0; i < 8 && ok; i++) {
            bn[i] = jwk_bn(j, jn[i]);
            ok = (bn[i] || i > 2) && (!bn[i] || OSSL_PARAM_BLD_push_BN(bld, on[i], bn[i]));
        }
        ctx = ok ? EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL) : NULL;
    }
    if (ctx && (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        pkey = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++)
        BN_clear_free(bn[i]);
    return pkey;
}

char *gw_jws_header_b64(const char *alg, const char *kid, const char *typ)
{
    json_t *h = json_pack("{s:s,s:s,s:s}", "alg", alg, "kid", kid, "typ", typ);
    char *txt = h ? json_dumps(h, JSON_COMPACT) : NULL;
    char *b = txt ? gw_b64url_encode((const unsigned char *)txt, strlen(txt)) : NULL;
    free(txt);
    json_decref(h);
    return b;
}

EVP_PKEY_CTX *gw_jws_sign_ctx(EVP_PKEY *pkey, int rsa)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, gw_sha256_md()) != 1 ||
        (rsa && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

char *gw_jws_sign(EVP_PKEY_CTX *ctx, int es256, const char *hdr_b64, json_t *claims)
{
    char *payload = ctx && hdr_b64 ? json_dumps(claims, JSON_COMPACT) : NULL;
    if (!payload)
        return NULL;
    char *pb = gw_b64url_encode((const unsigned char *)payload, strlen(payload));
    free(payload);
    gw_buf_t in;
    gw_buf_init(&in, 0);
    gw_buf_adds(&in, hdr_b64);
    gw_buf_add(&in, ".", 1);
    gw_buf_adds(&in, pb);
    free(pb);
    unsigned char sig[512], raw[64], digest[32];
    size_t siglen = sizeof(sig);
    if (!in.failed)
        gw_sha256(in.data, in.len, digest);
    int ok = !in.failed && EVP_PKEY_sign(ctx, sig, &siglen, digest, sizeof(digest)) == 1;
    const unsigned char *out = sig;
    size_t outlen = siglen;
    if (ok && es256) {
        /* JWS wants r || s, 32 bytes each (RFC 7518 3.4), not DER */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        const BIGNUM *r = NULL, *sv = NULL;
        if (es)
            ECDSA_SIG_get0(es, &r, &sv);
        ok = es && BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(sv, raw + 32, 32) == 32;
        ECDSA_SIG_free(es);
        out = raw;
        outlen = 64;
    }
    char *res = NULL;
    if (ok) {
        char *sb = gw_b64url_encode(out, outlen);
        gw_buf_add(&in, ".", 1);
        gw_buf_adds(&in, sb);
        free(sb);
        if (!in.failed)
            res = gw_buf_steal(&in);
    }
    gw_buf_cleanup(&in);
    return res;
}

/* ------------------------------------------------------------------ a signer from a file */

int gw_jws_signer_load(gw_jws_signer_t *s, const char *path, char *err, size_t errlen)
{
    *s = (gw_jws_signer_t){ 0 };
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j) {
        snprintf(err, errlen, "%s: cannot read a JWK: %s", path, jerr.text);
        return -1;
    }
    const char *alg = json_string_value(json_object_get(j, "alg")), *kid = json_string_value(json_object_get(j, "kid"));
    EVP_PKEY *pkey = alg && kid && json_object_get(j, "d") ? gw_jws_jwk_pkey(j, alg) : NULL;
    if (!pkey) {
        snprintf(err, errlen, "%s: not a private ES256/RS256 JWK with kid and alg (one of the gateway's *.jwk)", path);
        json_decref(j);
        return -1;
    }
    s->kid = gw_strdup(kid);
    s->alg = gw_strdup(alg);
    s->hdr_b64 = gw_jws_header_b64(alg, kid, "JWT");
    s->pkey = pkey;
    /* the JWK's private members are in jansson's memory: wiped before it is freed */
    const char *k;
    json_t *v;
    json_object_foreach (j, k, v) {
        if (json_is_string(v))
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(j);
    return 0;
}

char *gw_jws_signer_sign(gw_jws_signer_t *s, json_t *claims)
{
    int rsa = !strcmp(s->alg, "RS256");
    if (!s->ctx)
        s->ctx = gw_jws_sign_ctx(s->pkey, rsa);
    return gw_jws_sign(s->ctx, !rsa, s->hdr_b64, claims);
}

void gw_jws_signer_free(gw_jws_signer_t *s)
{
    EVP_PKEY_CTX_free(s->ctx);
    EVP_PKEY_free(s->pkey);
    free(s->kid);
    free(s->alg);
    free(s->hdr_b64);
    *s = (gw_jws_signer_t){ 0 };
}

/* ------------------------------------------------------------------ the table */

void gw_acache_key(const char *cookie, unsigned char h[32]) { gw_sha256(cookie, strlen(cookie), h); }

static size_t slot_of(const unsigned char h[32]) { return (size_t)(h[0] | (h[1] << 8)) % GW_ACACHE_SLOTS; }

gw_acache_slot_t *gw_acache_find(gw_acache_t *c, const unsigned char h[32], int64_t now)
{
    gw_acache_slot_t *s = &c->slot[slot_of(h)];
    return s->until > now && !memcmp(s->h, h, 32) ? s : NULL;
}

const char *gw_acache_get(gw_acache_t *c, const unsigned char h[32], int64_t now)
{
    const gw_acache_slot_t *s = gw_acache_find(c, h, now);
    return s ? s->jwt : NULL;
}

static void slot_clear(gw_acache_slot_t *s)
{
    free(s->jwt);
    if (s->has_pc)
        gw_pcookie_clear(&s->pc);
    OPENSSL_cleanse(s, sizeof *s);
}

void gw_acache_put(gw_acache_t *c, const unsigned char h[32], int64_t until, const char *jwt, gw_pcookie_t *pc)
{
    gw_acache_slot_t *s = &c->slot[slot_of(h)];
    slot_clear(s);
    memcpy(s->h, h, 32);
    s->until = until;
    s->jwt = gw_strdup(jwt);
    if (pc) {
        s->pc = *pc;
        s->has_pc = 1;
        memset(pc, 0, sizeof *pc);
    }
}

void gw_acache_clear(gw_acache_t *c)
{
    for (size_t i = 0; i < GW_ACACHE_SLOTS; i++)
        slot_clear(&c->slot[i]);
}
