/* libFuzzer target for the seal round trip: input = key id (1 byte), key selector
 * (1 byte), then the plaintext. Sealing then opening gives the plaintext back; the wrong
 * key id, a different key, any flipped bit, a cut or an extra byte are refused; two seals
 * of the same plaintext differ. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_crypto.h"
#include "gw_util.h"

#define OVERHEAD (2 + 12 + 16)

static void refused(const unsigned char *key, uint8_t kid, const unsigned char *raw, size_t n)
{
    char *s = gw_b64url_encode(raw, n);
    char *pt = NULL;
    CHECK(gw_seal_open(key, kid, s, &pt, NULL) == GW_EINVAL);
    CHECK(pt == NULL);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t kid = data[0];
    unsigned char key[GW_SEAL_KEYLEN], other[GW_SEAL_KEYLEN];
    for (size_t i = 0; i < GW_SEAL_KEYLEN; i++)
        key[i] = (unsigned char)(data[1] * 31u + i * 7u);
    memcpy(other, key, sizeof(other));
    other[data[1] % GW_SEAL_KEYLEN] ^= 0x80;
    const uint8_t *pt = data + 2;
    size_t n = size - 2;

    char *sealed = gw_seal(key, kid, pt, n);
    if (n > (1u << 20)) {
        CHECK(sealed == NULL);
        return 0;
    }
    CHECK(sealed != NULL);
    CHECK(strlen(sealed) == ((OVERHEAD + n) * 4 + 2) / 3);
    CHECK(strspn(sealed, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(sealed));

    char *out = NULL;
    size_t olen = 0;
    CHECK(gw_seal_open(key, kid, sealed, &out, &olen) == GW_OK);
    CHECK(olen == n);
    CHECK(memcmp(out, pt, n) == 0);
    CHECK(out[n] == 0);
    free(out);

    char *tmp = NULL;
    CHECK(gw_seal_open(key, (uint8_t)(kid + 1), sealed, &tmp, NULL) == GW_EINVAL && tmp == NULL);
    CHECK(gw_seal_open(other, kid, sealed, &tmp, NULL) == GW_EINVAL && tmp == NULL);

    size_t rn = 0;
    unsigned char *raw = gw_b64url_decode(sealed, strlen(sealed), &rn);
    CHECK(raw && rn == OVERHEAD + n);
    CHECK(raw[0] == 1 && raw[1] == kid);

    /* one flipped bit anywhere: header, IV, ciphertext, tag */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    size_t spots[] = { 0, 1, 2 + h % 12, rn - 1 - (h >> 8) % 16, n ? 14 + (h >> 4) % n : 13 };
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        unsigned char bit = (unsigned char)(1u << ((h >> (3 * i)) & 7));
        raw[spots[i]] ^= bit;
        refused(key, kid, raw, rn);
        raw[spots[i]] ^= bit;
    }
    /* cut by one byte, or down to less than the overhead; one byte more */
    refused(key, kid, raw, rn - 1);
    refused(key, kid, raw, (h >> 16) % OVERHEAD);
    unsigned char *longer = malloc(rn + 1);
    CHECK(longer != NULL);
    memcpy(longer, raw, rn);
    longer[rn] = (unsigned char)h;
    refused(key, kid, longer, rn + 1);
    free(longer);

    /* a fresh IV every time */
    char *again = gw_seal(key, kid, pt, n);
    CHECK(again && strcmp(again, sealed) != 0);
    free(again);
    free(raw);
    free(sealed);
    return 0;
}
