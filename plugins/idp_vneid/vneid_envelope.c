/* Opening the {"data","key"} envelope of VNeID's profile 7.3 (vneid_envelope.h).
 *
 * Bleichenbacher: a caller must not learn whether the RSA block had valid PKCS#1 v1.5
 * padding. A random AES key is drawn before the RSA step and is used in place of the
 * decrypted one when that step fails or gives the wrong length, so a bad key block and
 * bad data go the same way (the AES padding check fails) and come out as one GW_EINVAL. */
#include "vneid_envelope.h"
#include "gw_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <stdlib.h>
#include <string.h>

unsigned char *gw_vneid_b64_decode(const char *s, size_t slen, size_t *ret_len)
{
    if (!s || slen == 0 || slen % 4 || slen > 4 * (size_t)GW_VNEID_ENVELOPE_MAX)
        return NULL;
    size_t pad = 0;
    char *u = malloc(slen + 1);
    if (!u)
        return NULL;
    for (size_t i = 0; i < slen; i++) {
        char c = s[i];
        if (c == '=' && i >= slen - 2) {
            pad++;
            u[i] = 0;
            continue;
        }
        if (pad ||
            !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            free(u);
            return NULL;
        }
        u[i] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    unsigned char *r = gw_b64url_decode(u, slen - pad, ret_len);
    free(u);
    return r;
}

int gw_vneid_aes_ecb_open(const unsigned char *key, size_t keylen, const unsigned char *ct, size_t ctlen, char **out,
                          size_t *outlen)
{
    const EVP_CIPHER *c = keylen == 16   ? EVP_aes_128_ecb()
                          : keylen == 24 ? EVP_aes_192_ecb()
                          : keylen == 32 ? EVP_aes_256_ecb()
                                         : NULL;
    if (!c || ctlen == 0 || ctlen % 16 || ctlen > GW_VNEID_ENVELOPE_MAX)
        return GW_EINVAL;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    unsigned char *pt = malloc(ctlen + 16 + 1);
    int n1 = 0, n2 = 0,
        ok = x && pt && EVP_DecryptInit_ex(x, c, NULL, key, NULL) == 1 &&
             EVP_DecryptUpdate(x, pt, &n1, ct, (int)ctlen) == 1 && EVP_DecryptFinal_ex(x, pt + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(x);
    size_t n = ok ? (size_t)n1 + (size_t)n2 : 0;
    /* the plaintext is JSON text: no NUL inside */
    if (!ok || memchr(pt, 0, n)) {
        if (pt)
            OPENSSL_cleanse(pt, ctlen + 16);
        free(pt);
        return GW_EINVAL;
    }
    pt[n] = 0;
    *out = (char *)pt;
    if (outlen)
        *outlen = n;
    return GW_OK;
}

/* RSA-PKCS#1 v1.5 unwrap of the AES key; never says whether it worked: *key holds either
 * the unwrapped key (when 16, 24 or 32 bytes) or the random one, and *keylen its length. */
static void unwrap_key(EVP_PKEY *pk, const unsigned char *wk, size_t wklen, unsigned char key[32], size_t *keylen)
{
    unsigned char fake[32], buf[1024];
    size_t n = sizeof(buf);
    if (gw_random(fake, sizeof(fake)) != GW_OK)
        memset(fake, 0x5a, sizeof(fake));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_decrypt(ctx, buf, &n, wk, wklen) == 1;
    EVP_PKEY_CTX_free(ctx);
    ok = ok && (n == 16 || n == 24 || n == 32);
    /* select without a branch on the outcome */
    unsigned char m = (unsigned char)(0u - (unsigned)ok);
    for (size_t i = 0; i < 32; i++)
        key[i] = (unsigned char)((buf[i] & m) | (fake[i] & (unsigned char)~m));
    *keylen = ok ? n : 32;
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(fake, sizeof(fake));
}

int gw_vneid_envelope_open(void *rp_pkey, const char *body, size_t len, char **out, size_t *outlen)
{
    if (!rp_pkey || !body || len == 0 || len > GW_VNEID_ENVELOPE_MAX || !out)
        return GW_EINVAL;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *d = json_object_get(o, "data"), *k = json_object_get(o, "key");
    int rc = GW_EINVAL;
    unsigned char *ct = NULL, *wk = NULL;
    size_t ctlen = 0, wklen = 0;
    if (json_is_object(o) && json_is_string(d) && json_is_string(k) &&
        json_string_length(k) <= GW_VNEID_WRAPPED_KEY_MAX) {
        ct = gw_vneid_b64_decode(json_string_value(d), json_string_length(d), &ctlen);
        wk = gw_vneid_b64_decode(json_string_value(k), json_string_length(k), &wklen);
    }
    if (ct && wk && wklen == (size_t)EVP_PKEY_get_size(rp_pkey)) {
        unsigned char key[32];
        size_t keylen = 0;
        unwrap_key(rp_pkey, wk, wklen, key, &keylen);
        char *pt = NULL;
        size_t n = 0;
        rc = gw_vneid_aes_ecb_open(key, keylen, ct, ctlen, &pt, &n);
        OPENSSL_cleanse(key, sizeof(key));
        /* ECB has no integrity: a changed block decrypts to noise, which is not JSON */
        json_t *inner = rc == GW_OK ? json_loadb(pt, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (rc == GW_OK && !json_is_object(inner)) {
            gw_wipe_free(pt);
            rc = GW_EINVAL;
        } else if (rc == GW_OK) {
            *out = pt;
            if (outlen)
                *outlen = n;
        }
        json_decref(inner);
    }
    free(ct);
    free(wk);
    json_decref(o);
    return rc;
}
