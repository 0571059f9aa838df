/* The encrypted body of VNeID's second relying-party profile (DOMAIN.md 7.3):
 * {"data":"<b64>","key":"<b64>"}, where key is an AES key RSA-PKCS#1 v1.5-encrypted to
 * eidgw's public key and data is AES-ECB/PKCS#5 under that key. */
#ifndef GW_VNEID_ENVELOPE_H
#define GW_VNEID_ENVELOPE_H

#include <stddef.h>

#define GW_VNEID_ENVELOPE_MAX (64 * 1024) /* whole body, bytes */
#define GW_VNEID_WRAPPED_KEY_MAX 1024 /* base64 of an RSA block up to 4096 bits, and then some */

/* Opens an envelope with the RP's private key (an EVP_PKEY*). GW_OK and a malloc'd,
 * NUL-terminated plaintext in *out (length in *outlen when not NULL); every other outcome
 * is GW_EINVAL with *out untouched: bad JSON, a size over the bounds, bad base64, a key
 * block that does not decrypt, bad padding, a plaintext that is not a JSON object (ECB has
 * no integrity: a changed block decrypts to noise), all alike. */
int gw_vneid_envelope_open(void *rp_pkey, const char *body, size_t len, char **out, size_t *outlen);

/* Standard base64 (RFC 4648 section 4, padded) to bytes; NULL on anything else. */
unsigned char *gw_vneid_b64_decode(const char *s, size_t slen, size_t *ret_len);

/* The AES-ECB/PKCS#5 half on its own: a key of 16, 24 or 32 bytes. GW_OK or GW_EINVAL. */
int gw_vneid_aes_ecb_open(const unsigned char *key, size_t keylen, const unsigned char *ct, size_t ctlen, char **out,
                          size_t *outlen);

#endif
