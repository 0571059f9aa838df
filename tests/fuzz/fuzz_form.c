/* libFuzzer target for request parsing helpers: gw_form_parse, gw_url_decode (checked
 * against a plain reference decoder), gw_query_param (checked against the form parser's
 * names and the reference decoder without '+') and gw_cookie_get, on any bytes.
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_util.h"

#define MAX_PARAMS 32

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *SEEDS[] = {
    "response_type=code&client_id=portal-a&redirect_uri=https%3A%2F%2Fa.example%2Fcallback"
    "&scope=openid+profile&state=xyz&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    "&code_challenge_method=S256",
    "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fa.example%2Fcb",
    "a=1&a=2&&b&=c&d=%zz",
    "__Host-eidgw_sso=AQFfHVn7uTeShiZC-z5DH9LOOYEHVCQ3; eidgw_lang=vi; __Host-eidgw_bind=x=y",
    "%C3%A9t%C3%A9+%2B%00%",
    "code=ab+c/d==&encrypt_key=K%2B1+2/w==&state=s",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    write_text_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reference: %XX needs two hex digits, '+' is a space when asked, no NUL in the result. */
static char *ref_decode(const unsigned char *s, size_t n, int plus, size_t *ret_len)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '%') {
            if (n - i < 3 || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0) {
                free(out);
                return NULL;
            }
            c = (unsigned char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)c;
    }
    out[o] = 0;
    *ret_len = o;
    return out;
}

static void check_url_decode(const uint8_t *data, size_t size, int plus)
{
    size_t rl = 0;
    char *ref = ref_decode(data, size, plus, &rl);
    char *got = gw_url_decode((const char *)data, size, plus);
    CHECK((ref == NULL) == (got == NULL));
    if (got) {
        CHECK(strlen(got) == rl);
        CHECK(memcmp(got, ref, rl) == 0);
        /* encoding and decoding again gives the same bytes */
        char *enc = gw_url_encode(got);
        char *again = gw_url_decode(enc, strlen(enc), plus);
        CHECK(again && strcmp(again, got) == 0);
        free(again);
        free(enc);
    }
    free(got);
    free(ref);
}

static void check_form(const uint8_t *data, size_t size)
{
    gw_form_t f;
    int rc = gw_form_parse(&f, (const char *)data, size, MAX_PARAMS);
    CHECK(rc == GW_OK || rc == GW_EINVAL);
    /* the non-empty '&'-separated segments */
    size_t segs = 0;
    for (size_t i = 0; i < size;) {
        const uint8_t *amp = memchr(data + i, '&', size - i);
        size_t end = amp ? (size_t)(amp - data) : size;
        segs += end > i;
        i = end + 1;
    }
    if (rc != GW_OK) {
        CHECK(f.n == 0 && f.names == NULL && f.values == NULL);
        return;
    }
    CHECK(f.n == segs);
    CHECK(f.n <= MAX_PARAMS);
    for (size_t i = 0; i < f.n; i++) {
        CHECK(f.names[i] != NULL && f.values[i] != NULL);
        CHECK(strlen(f.names[i]) + strlen(f.values[i]) <= size);
        const char *first = gw_form_get(&f, f.names[i]);
        CHECK(first != NULL);
        size_t k = 0;
        while (strcmp(f.names[k], f.names[i]))
            k++;
        CHECK(first == f.values[k]);
        CHECK(gw_form_count(&f, f.names[i]) >= 1);
    }
    gw_form_cleanup(&f);
    CHECK(f.n == 0 && f.names == NULL);
}

/* gw_query_param for the names the callback reads: found exactly when the form parser
 * (which decodes names the same way: a '+' in a name is never ours) has the name once,
 * and its value is the reference decoding without '+' of the raw segment. */
static void check_query_param(const char *q, const char *name)
{
    char *v = (char *)"x";
    int rc = gw_query_param(q, name, &v);
    CHECK(rc == GW_OK || rc == GW_ENOTFOUND || rc == GW_EINVAL);
    CHECK((rc == GW_OK) == (v != NULL));
    if (rc != GW_OK)
        return;
    /* the raw segment "name=..." (or "name") it came from decodes to it */
    int found = 0;
    size_t n = strlen(q), nl = strlen(name);
    for (size_t i = 0; i <= n && !found;) {
        const char *amp = memchr(q + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - q) : n;
        const char *eq = memchr(q + i, '=', end - i);
        if (!eq && end - i == nl && !memcmp(q + i, name, nl)) /* "name" alone: an empty value */
            found = !*v;
        else if (eq && (size_t)(eq - q - i) == nl && !memcmp(q + i, name, nl)) {
            size_t rl;
            char *ref = ref_decode((const unsigned char *)eq + 1, (size_t)(q + end - eq - 1), 0, &rl);
            found = ref && !strcmp(ref, v);
            free(ref);
        }
        i = end + 1;
    }
    /* or it was spelled with escapes in its name: then it is not a plain segment */
    CHECK(found || strchr(q, '%'));
    free(v);
}

static void check_cookie(const char *hdr, const char *name)
{
    char *v = gw_cookie_get(hdr, name);
    if (!v)
        return;
    /* the value follows "name=" somewhere in the header and has no ';' */
    size_t nl = strlen(name), vl = strlen(v);
    CHECK(strchr(v, ';') == NULL);
    CHECK(vl == 0 || v[vl - 1] != ' ');
    int found = 0;
    for (const char *p = strstr(hdr, name); p && !found; p = strstr(p + 1, name))
        if (p[nl] == '=' && !strncmp(p + nl + 1, v, vl) && (p == hdr || p[-1] == ' ' || p[-1] == ';'))
            found = 1;
    CHECK(found);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_form(data, size);
    check_url_decode(data, size, 1);
    check_url_decode(data, size, 0);

    char *hdr = malloc(size + 1);
    if (!hdr)
        return 0;
    memcpy(hdr, data, size);
    hdr[size] = 0;
    static const char *names[] = { "__Host-eidgw_sso", "eidgw_sso", "__Host-eidgw_bind", "eidgw_lang", "a", "sid" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        check_cookie(hdr, names[i]);
    check_query_param(hdr, "code");
    check_query_param(hdr, "encrypt_key");
    /* the first cookie's own name, whatever it is, is found */
    const char *p = hdr;
    while (*p == ' ' || *p == ';')
        p++;
    size_t nlen = strcspn(p, "=; ");
    if (nlen > 0 && p[nlen] == '=') {
        char *name = malloc(nlen + 1);
        if (!name)
            abort();
        memcpy(name, p, nlen);
        name[nlen] = 0;
        char *v = gw_cookie_get(hdr, name);
        CHECK(v != NULL);
        free(v);
        check_cookie(hdr, name);
        free(name);
    }
    free(hdr);
    return 0;
}
