/* libFuzzer target for the nginx module's pure parts (gateway/crypto/pcookie/gw_proxy_wire.c): any bytes as a
 * header name (against claim header names cut from the same input), as a header or URL value
 * to encode, and as a revocation file to look up in. Checks: the encodings are ASCII with no
 * controls, within 3x, and reversible; spelling variants of a stripped name are stripped too.
 * The input as a URL path too: a path taken as same-host never leads to another host, and a
 * bypassed path is a plain prefix with no segment a backend could resolve elsewhere. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_proxy_wire.h"
#include "fuzz_common.h"

static int hexval(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

static void check_encoding(const uint8_t *data, size_t size, size_t (*enc)(const unsigned char *, size_t, char *))
{
    char *out = malloc(3 * size + 1);
    size_t n = enc(data, size, out);
    CHECK(n <= 3 * size);
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        CHECK(out[i] >= 0x20 && out[i] < 0x7f);
        unsigned char c = (unsigned char)out[i];
        if (c == '%') {
            CHECK(i + 2 < n);
            c = (unsigned char)(hexval(out[i + 1]) * 16 + hexval(out[i + 2]));
            i += 2;
        }
        CHECK(j < size && c == data[j]);
    }
    CHECK(j == size);
    free(out);
}

static int has(const char *path, size_t plen, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= plen; i++)
        if (!memcmp(path + i, needle, n))
            return 1;
    return 0;
}

static void check_paths(const uint8_t *data, size_t size)
{
    char *u = malloc(size + 1);
    memcpy(u, data, size);
    u[size] = 0;
    if (gw_pw_safe_path(u)) {
        CHECK(u[0] == '/' && u[1] != '/' && u[1] != '\\');
        for (const char *c = u; *c; c++)
            CHECK(*c > 0x20 && *c < 0x7f && *c != '\\');
    }
    const char *const pre[] = { "/p/" };
    if (gw_pw_bypassed(u, pre, 1)) {
        size_t plen = strcspn(u, "?#");
        CHECK(!strncmp(u, "/p/", 3) || !strncmp(u, "/.eidgw/", 8));
        CHECK(!memchr(u, '%', plen) && !memchr(u, '\\', plen) && !memchr(u, ';', plen));
        CHECK(!has(u, plen, "//") && !has(u, plen, "/./") && !has(u, plen, "/../"));
        CHECK(!(plen >= 2 && !memcmp(u + plen - 2, "/.", 2)) && !(plen >= 3 && !memcmp(u + plen - 3, "/..", 3)));
    }
    free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_encoding(data, size, gw_pw_pct_encode);
    check_encoding(data, size, gw_pw_url_encode);
    check_paths(data, size);

    /* the first byte splits the input: a claim header name, then a header name */
    size_t cut = size ? data[0] % (size) : 0;
    const char *claim = (const char *)data + (size ? 1 : 0);
    size_t claim_len = cut > 0 ? cut - 1 : 0;
    const char *name = (const char *)data + cut;
    size_t name_len = size - cut;
    const char *claims[] = { claim };
    int hit = gw_pw_is_identity_header(name, name_len, claims, &claim_len, 1);
    char *variant = malloc(name_len + 1);
    for (size_t i = 0; i < name_len; i++) {
        char c = name[i];
        variant[i] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    CHECK(gw_pw_is_identity_header(variant, name_len, claims, &claim_len, 1) == hit);
    free(variant);
    if (claim_len > 0)
        CHECK(gw_pw_is_identity_header(claim, claim_len, claims, &claim_len, 1) == 1);

    /* the whole input as a revocation file */
    uint64_t h = gw_pw_sid_hash((const char *)data, size);
    CHECK(h != 0);
    int rv = gw_pw_rev_lookup(data, size, h, 0);
    CHECK(rv >= -1 && rv <= 1);
    return 0;
}
