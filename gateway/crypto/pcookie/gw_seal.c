/* gw_seal: AES-256-GCM sealing of short values (cookies). Links only OpenSSL and the
 * util layer's gw_util.c, so that a proxy module can link it (gw_pcookie.h). */
#include "gw_seal.h"

#include "gw_util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_VERSION 1
#define SEAL_IV 12
#define SEAL_TAG 16
#define SEAL_HDR 2

char *gw_seal(const unsigned char key[GW_SEAL_KEYLEN], uint8_t key_id, const void *pt, size_t n)
{
    if (n > (1u << 20))
        return NULL;
    size_t total = SEAL_HDR + SEAL_IV + n + SEAL_TAG;
    unsigned char *out = gw_xmalloc(total);
    out[0] = SEAL_VERSION;
    out[1] = key_id;
    char *res = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    if (!ctx || gw_random(out + SEAL_HDR, SEAL_IV))
        goto done;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out + SEAL_HDR) != 1)
        goto done;
    /* the version and key id are authenticated as associated data */
    if (EVP_EncryptUpdate(ctx, NULL, &len, out, SEAL_HDR) != 1)
        goto done;
    if (EVP_EncryptUpdate(ctx, out + SEAL_HDR + SEAL_IV, &len, pt, (int)n) != 1)
        goto done;
    if (EVP_EncryptFinal_ex(ctx, out + SEAL_HDR + SEAL_IV + len, &len) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, out + SEAL_HDR + SEAL_IV + n) != 1)
        goto done;
    res = gw_b64url_encode(out, total);
done:
    EVP_CIPHER_CTX_free(ctx);
    free(out);
    return res;
}

/* 1 when the unpadded base64url text of slen characters leaves no bits set after its last
 * whole byte: every sealed value has exactly one spelling, so a changed character anywhere,
 * even in the last one, is refused */
static int b64url_canonical(const char *s, size_t slen)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (slen % 4 == 0)
        return 1;
    const char *p = slen ? memchr(alpha, s[slen - 1], 64) : NULL;
    if (!p)
        return 0;
    unsigned unused = slen % 4 == 2 ? 0x0f : 0x03; /* 4 or 2 bits past the last byte */
    return ((unsigned)(p - alpha) & unused) == 0;
}

int gw_seal_open(const unsigned char key[GW_SEAL_KEYLEN], uint8_t key_id, const char *sealed, char **ret,
                 size_t *ret_len)
{
    if (!sealed)
        return GW_EINVAL;
    size_t slen = strlen(sealed), n = 0;
    if (slen > (2u << 20) || !b64url_canonical(sealed, slen))
        return GW_EINVAL;
    unsigned char *raw = gw_b64url_decode(sealed, slen, &n);
    if (!raw)
        return GW_EINVAL;
    int rc = GW_EINVAL;
    EVP_CIPHER_CTX *ctx = NULL;
    char *pt = NULL;
    if (n < SEAL_HDR + SEAL_IV + SEAL_TAG || raw[0] != SEAL_VERSION || raw[1] != key_id)
        goto done;
    size_t clen = n - SEAL_HDR - SEAL_IV - SEAL_TAG;
    pt = gw_xmalloc(clen + 1);
    int len = 0;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw + SEAL_HDR) != 1)
        goto done;
    if (EVP_DecryptUpdate(ctx, NULL, &len, raw, SEAL_HDR) != 1)
        goto done;
    if (EVP_DecryptUpdate(ctx, (unsigned char *)pt, &len, raw + SEAL_HDR + SEAL_IV, (int)clen) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, raw + n - SEAL_TAG) != 1)
        goto done;
    if (EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + len, &len) != 1)
        goto done;
    pt[clen] = 0;
    *ret = pt;
    if (ret_len)
        *ret_len = clen;
    pt = NULL;
    rc = GW_OK;
done:
    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    free(pt);
    return rc;
}
