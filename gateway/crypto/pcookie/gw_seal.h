/* gw_seal: AEAD (AES-256-GCM) sealing of cookie values. */
#ifndef GW_SEAL_H
#define GW_SEAL_H
#include <stddef.h>
#include <stdint.h>

/* ---- AEAD (AES-256-GCM) ---- */
#define GW_SEAL_KEYLEN 32
/* Output: base64url(version(1) | key_id(1) | iv(12) | ciphertext | tag(16)). */
char *gw_seal(const unsigned char key[GW_SEAL_KEYLEN], uint8_t key_id, const void *pt, size_t n);
/* 0 and malloc'd plaintext (NUL-terminated) in *ret, or GW_EINVAL on any tampering,
 * wrong key, wrong key id or bad encoding. */
int gw_seal_open(const unsigned char key[GW_SEAL_KEYLEN], uint8_t key_id, const char *sealed, char **ret,
                 size_t *ret_len);

#endif
