/* libFuzzer target for client credentials in `Authorization: Basic` (gw_op_basic_credentials).
 * Byte 0 even: the rest as the header's base64 part, as a client sends it. Odd: client id
 * 0xFF secret, which the harness form-encodes, joins with ':' and base64-encodes (standard
 * alphabet) as RFC 6749 2.3.1 says a client must. Checks: refusals set nothing; what is
 * accepted has no NUL and re-encodes to credentials that read back the same; the
 * harness-encoded credentials always read back exactly (unless they hold a NUL).
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_op_internal.h"
#include "gw_util.h"

static const char *const SEEDS[] = {
    "\x00"
    "cG9ydGFsOnMzY3JldA==", /* portal:s3cret */
    "\x00"
    "cG9ydGFsJTNBYTpzJTJCM2M=", /* portal%3Aa:s%2B3c */
    "\x00"
    "cG9ydGFs", /* no colon */
    "\x00"
    "cG9y dGFs==x", /* not base64 */
    "\x01"
    "portal\xffs3cret with space",
    "\x01"
    "a:b\xff%+&=\xc3\xa9",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

/* base64 (standard alphabet, padded) of form-encoded id ':' form-encoded secret */
static char *encode_basic(const char *id, const char *secret)
{
    char *fi = gw_form_encode(id), *fs = gw_form_encode(secret);
    char *joined = gw_sprintf("%s:%s", fi, fs);
    size_t n = strlen(joined);
    char *out = gw_xmalloc(4 * (n / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)joined, (int)n);
    free(fi);
    free(fs);
    free(joined);
    return out;
}

/* parse, and 0 with id and secret equal to the expected ones */
static int reads_back(const char *b64, const char *id, const char *secret)
{
    char *rid = NULL, *rsecret = NULL;
    if (gw_op_basic_credentials(b64, &rid, &rsecret))
        return 0;
    int same = !strcmp(rid, id) && !strcmp(rsecret, secret);
    free(rid);
    gw_wipe_free(rsecret);
    return same;
}

static void client_header(const char *hdr)
{
    char *id = (char *)"unset", *secret = (char *)"unset";
    if (gw_op_basic_credentials(hdr, &id, &secret)) {
        CHECK(!strcmp(id, "unset") && !strcmp(secret, "unset"));
        return;
    }
    char *again = encode_basic(id, secret);
    CHECK(reads_back(again, id, secret));
    free(again);
    free(id);
    gw_wipe_free(secret);
}

static void harness_encoded(const char *s)
{
    const char *sep = strchr(s, '\xff');
    char *id = sep ? gw_xmalloc((size_t)(sep - s) + 1) : gw_xmalloc(strlen(s) + 1);
    size_t idn = sep ? (size_t)(sep - s) : strlen(s);
    memcpy(id, s, idn);
    id[idn] = '\0';
    const char *secret = sep ? sep + 1 : "";
    char *b64 = encode_basic(id, secret);
    CHECK(reads_back(b64, id, secret));
    free(b64);
    free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* a header value is a C string: it ends at the first NUL */
    char *s = fuzz_cstr(data + 1, size - 1);
    if (data[0] & 1)
        harness_encoded(s);
    else
        client_header(s);
    free(s);
    return 0;
}
