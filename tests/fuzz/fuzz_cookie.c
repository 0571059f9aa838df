/* libFuzzer target for sealed cookies as they arrive: the input is a Cookie header and
 * also, as a whole, a cookie value; both go to gw_seal_open with a fixed key. Nothing but
 * the one genuine seal (written as a seed) may open, and a refused value leaves the
 * output untouched.
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_crypto.h"
#include "gw_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const unsigned char KEY[GW_SEAL_KEYLEN] = {
    0x5e, 0xa1, 0x3d, 0x77, 0x01, 0x9b, 0x42, 0xc8, 0x6f, 0x10, 0xe2, 0x3a, 0x95, 0x7d, 0x24, 0xbb,
    0x08, 0x61, 0xfd, 0x3c, 0xa4, 0x5b, 0x92, 0x1e, 0x77, 0xc0, 0x39, 0x8d, 0x06, 0xef, 0x54, 0x2a,
};
#define KEY_ID 1

/* gw_seal(KEY, 1, "{\"sid\":\"s-1\",\"exp\":1893456000}") */
static const char GENUINE[] = "AQFfHVn7uTeShiZC-z5DH9LOOYEHVCQ3brbNbAL-PXm7VFVFTWpt8-Bt1VxbejV0TNzbNSeWlSICzwq9";
static const char GENUINE_PT[] = "{\"sid\":\"s-1\",\"exp\":1893456000}";

static unsigned char *g_genuine_raw;
static size_t g_genuine_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *pt = NULL;
    size_t n = 0;
    if (gw_seal_open(KEY, KEY_ID, GENUINE, &pt, &n) != GW_OK || strcmp(pt, GENUINE_PT)) {
        fprintf(stderr, "the genuine seal does not open: harness broken\n");
        abort();
    }
    free(pt);
    g_genuine_raw = gw_b64url_decode(GENUINE, strlen(GENUINE), &g_genuine_len);
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    if (dir) {
        write_seed(dir, "seed-value", GENUINE, strlen(GENUINE));
        char *hdr = gw_sprintf("eidgw_lang=vi; __Host-eidgw_sso=%s; eidgw_bind=%s", GENUINE, GENUINE);
        write_seed(dir, "seed-header", hdr, strlen(hdr));
        free(hdr);
    }
    return 0;
}

static void check_open(const char *value)
{
    char *pt = (char *)&pt; /* sentinel: must stay unless the seal opens */
    size_t len = (size_t)-1;
    int rc = gw_seal_open(KEY, KEY_ID, value, &pt, &len);
    CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc != GW_OK) {
        CHECK(pt == (char *)&pt && len == (size_t)-1);
        return;
    }
    /* only the genuine seal's bytes open (whatever their spelling) */
    size_t n = 0;
    unsigned char *raw = gw_b64url_decode(value, strlen(value), &n);
    CHECK(raw != NULL && n == g_genuine_len && memcmp(raw, g_genuine_raw, n) == 0);
    CHECK(len == strlen(GENUINE_PT) && memcmp(pt, GENUINE_PT, len) == 0 && pt[len] == 0);
    /* never under another key id */
    char *other = NULL;
    CHECK(gw_seal_open(KEY, KEY_ID + 1, value, &other, NULL) == GW_EINVAL && other == NULL);
    free(raw);
    free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    check_open(s);
    static const char *names[] = { "__Host-eidgw_sso", "eidgw_sso", "__Host-eidgw_bind", "eidgw_bind" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *v = gw_cookie_get(s, names[i]);
        if (v)
            check_open(v);
        free(v);
    }
    free(s);
    return 0;
}
