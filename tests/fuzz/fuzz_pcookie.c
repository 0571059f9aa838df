/* libFuzzer target for the portal-cookie opener (gw_pcookie.h). Byte 0 even: the rest is a
 * cookie value as it arrives; odd: the rest is a payload, sealed under the portal-cookie key
 * by the harness, so that the payload checks are reached. gw_pcookie_open must return a
 * documented code, fill the struct only on OK/RECHECK (then with sid, sub and the expected
 * portal, an expiry after now, and RECHECK exactly when the re-check time has passed), and
 * leave it untouched otherwise. A refused value never opens under the SSO cookie's key id.
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_pcookie.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const unsigned char COOKIE_KEY[GW_SEAL_KEYLEN] = {
    0x5e, 0xa1, 0x3d, 0x77, 0x01, 0x9b, 0x42, 0xc8, 0x6f, 0x10, 0xe2, 0x3a, 0x95, 0x7d, 0x24, 0xbb,
    0x08, 0x61, 0xfd, 0x3c, 0xa4, 0x5b, 0x92, 0x1e, 0x77, 0xc0, 0x39, 0x8d, 0x06, 0xef, 0x54, 0x2a,
};
static unsigned char K[GW_SEAL_KEYLEN];
#define NOW 1893456000
#define PORTAL "portal-a"

static const char *const SEEDS[] = {
    "\x01{\"v\":1,\"sid\":\"s-1\",\"pid\":\"portal-a\",\"sub\":\"pw\",\"lvl\":2,\"acr\":\"a\",\"at\":1,"
    "\"exp\":1999999999,\"rc\":1893456300,\"cl\":{\"name\":\"N\",\"cccd\":\"001090000001\"}}",
    "\x01{\"v\":1,\"sid\":\"s-1\",\"pid\":\"portal-b\",\"sub\":\"pw\",\"exp\":1999999999,\"cl\":{}}",
    "\x01{\"v\":2,\"sid\":\"s-1\",\"pid\":\"portal-a\",\"sub\":\"pw\",\"exp\":1999999999,\"cl\":{}}",
    "\x00AQFfHVn7uTeShiZC-z5DH9LOOYEHVCQ3brbNbAL-PXm7VFVFTWpt8-Bt1VxbejV0TNzbNSeWlSICzwq9",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_pcookie_key(COOKIE_KEY, K);
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    for (size_t i = 0; dir && i < sizeof SEEDS / sizeof SEEDS[0]; i++) {
        char name[32];
        snprintf(name, sizeof(name), "seed-%zu", i);
        write_seed(dir, name, SEEDS[i], 1 + strlen(SEEDS[i] + 1));
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *value = NULL;
    if (data[0] & 1) {
        value = gw_seal(K, GW_PCOOKIE_KEY_ID, data + 1, size - 1);
        if (!value)
            return 0;
    } else {
        value = malloc(size);
        memcpy(value, data + 1, size - 1);
        value[size - 1] = 0;
    }
    gw_pcookie_t c, untouched;
    memset(&c, 0xa5, sizeof c);
    memcpy(&untouched, &c, sizeof c);
    int rc = gw_pcookie_open(K, value, PORTAL, NOW, &c);
    CHECK(rc == GW_PCOOKIE_OK || rc == GW_PCOOKIE_RECHECK || rc == GW_PCOOKIE_BAD || rc == GW_PCOOKIE_PORTAL ||
          rc == GW_PCOOKIE_EXPIRED);
    if (rc == GW_PCOOKIE_OK || rc == GW_PCOOKIE_RECHECK) {
        CHECK(c.sid && c.sub && c.portal && strcmp(c.portal, PORTAL) == 0);
        CHECK(c.exp > NOW);
        CHECK((rc == GW_PCOOKIE_RECHECK) == (c.recheck <= NOW));
        gw_pcookie_clear(&c);
    } else {
        CHECK(memcmp(&c, &untouched, sizeof c) == 0);
    }
    /* never under the SSO cookie's key and key id */
    gw_pcookie_t d;
    CHECK(gw_pcookie_open(COOKIE_KEY, value, PORTAL, NOW, &d) == GW_PCOOKIE_BAD);
    free(value);
    return 0;
}
