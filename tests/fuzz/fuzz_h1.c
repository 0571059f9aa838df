/* libFuzzer target for the HTTP/1.x request reader (gw_h1): request heads and chunked
 * bodies, as the I/O threads read them from any client.
 *
 * Input: first byte even -> the rest is a request head (and whatever follows it); odd ->
 * the rest is a chunked body.
 *
 * Invariants, head: a complete head ends with an empty line exactly at the length
 * returned; every prefix of it short of that length reads as "more needed"; the method is
 * a token, the target has no space or control character, the version is 1.0 or 1.1;
 * field names are tokens and values hold no CR, LF or NUL; Transfer-Encoding never comes
 * with a Content-Length or with HTTP/1.0; an HTTP/1.1 head has exactly one Host, an
 * HTTP/1.0 head at most one, and its value has no space, '@', '/', '?', '#' or '\\' and a
 * port of digits only; an error is one of the documented statuses.
 * Chunked: the data decoded is never more than the cap; one byte short of the length
 * returned reads as "more needed"; the data sent again as a single chunk reads back the
 * same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"
#include "gw_h1.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *SEEDS[] = {
    "\x00GET /authorize?client_id=a&scope=openid HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: a=b\r\n\r\n",
    "\x00POST /token HTTP/1.1\r\nHost: [::1]:8443\r\nContent-Type: "
    "application/x-www-form-urlencoded\r\nContent-Length: 5\r\n"
    "Connection: close\r\nExpect: 100-continue\r\n\r\na=b&c",
    "\x00POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "\x00GET / HTTP/1.0\nConnection: keep-alive\n\n",
    "\x00GET / HTTP/1.1\r\n folded: no\r\n\r\n",
    "\x01"
    "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    for (size_t i = 0; dir && i < sizeof(SEEDS) / sizeof(SEEDS[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "seed-%zu", i);
        size_t n = SEEDS[i][0] ? strlen(SEEDS[i]) : 1 + strlen(SEEDS[i] + 1);
        write_seed(dir, name, SEEDS[i], n);
    }
    return 0;
}

static int is_token(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr("!#$%&'*+-.^_`|~", c))))
            return 0;
    }
    return 1;
}

/* One Host in HTTP/1.1 (at most one in 1.0), and a value that names a site and nothing else */
static void host(const gw_h1_head_t *h)
{
    size_t hosts = 0;
    for (size_t k = 0; k < h->nfields; k++) {
        const gw_h1_field_t *f = &h->field[k];
        if (f->nlen != 4 || strncasecmp(f->name, "host", 4))
            continue;
        hosts++;
        for (size_t i = 0; i < f->vlen; i++)
            CHECK(!strchr(" \t@/?#\\", f->value[i]) && (unsigned char)f->value[i] < 0x7F);
        const char *end = f->vlen && f->value[0] == '[' ? memchr(f->value, ']', f->vlen) : f->value;
        CHECK(end != NULL);
        const char *colon = memchr(end, ':', f->vlen - (size_t)(end - f->value));
        for (const char *p = colon ? colon + 1 : f->value + f->vlen; p < f->value + f->vlen; p++)
            CHECK(*p >= '0' && *p <= '9');
    }
    CHECK(hosts == 1 || (h->minor == 0 && hosts == 0));
}

static void head(const char *buf, size_t len)
{
    const size_t max = 2048;
    gw_h1_head_t h;
    ssize_t hl = gw_h1_parse_head(buf, len, max, &h);
    CHECK(hl == 0 || hl == -400 || hl == -431 || hl == -501 || hl == -505 || (hl > 0 && (size_t)hl <= len));
    if (hl <= 0)
        return;
    CHECK(buf[hl - 1] == '\n');
    CHECK((hl >= 2 && buf[hl - 2] == '\n') || (hl >= 3 && buf[hl - 2] == '\r' && buf[hl - 3] == '\n'));
    gw_h1_head_t p;
    CHECK(gw_h1_parse_head(buf, (size_t)hl - 1, max, &p) == 0);
    CHECK(gw_h1_parse_head(buf, (size_t)hl / 2, max, &p) == 0);
    CHECK(is_token(h.method, h.mlen));
    CHECK(h.method >= buf && h.target > h.method && h.target + h.tlen <= buf + hl);
    for (size_t i = 0; i < h.tlen; i++)
        CHECK((unsigned char)h.target[i] > 0x20 && (unsigned char)h.target[i] < 0x7F);
    CHECK(h.minor == 0 || h.minor == 1);
    CHECK(h.nfields <= GW_H1_MAX_HEADERS);
    for (size_t k = 0; k < h.nfields; k++) {
        CHECK(is_token(h.field[k].name, h.field[k].nlen));
        CHECK(!memchr(h.field[k].value, '\r', h.field[k].vlen) && !memchr(h.field[k].value, '\n', h.field[k].vlen) &&
              !memchr(h.field[k].value, 0, h.field[k].vlen));
    }
    CHECK(!h.chunked || (h.content_length < 0 && h.minor == 1));
    host(&h);
    CHECK(h.content_length >= -1);
}

static void chunked(const char *buf, size_t len)
{
    const size_t cap = 4096;
    char *out = malloc(cap), *again = malloc(cap);
    size_t n = 0, m = 0;
    ssize_t used = gw_h1_parse_chunked(buf, len, out, cap, &n);
    CHECK(used == 0 || used == -400 || used == -413 || (used > 0 && (size_t)used <= len));
    /* read as it arrives, in pieces whose sizes the input's bytes pick: the scan going on
     * from its state answers as the one-shot parse, with the same data length */
    gw_h1_chunks_t st = { 0 };
    ssize_t sc = 0;
    for (size_t have = 0; have < len && sc == 0;) {
        have += 1 + (unsigned char)buf[have] % 16;
        sc = gw_h1_scan_chunked(buf, have < len ? have : len, cap, &st);
    }
    CHECK(sc == used && (used <= 0 || st.got == n));
    if (used > 0) {
        CHECK(n <= cap);
        CHECK(gw_h1_parse_chunked(buf, (size_t)used - 1, again, cap, &m) == 0);
        char *enc = malloc(n + 64);
        int k = snprintf(enc, 64, "%zx\r\n", n);
        memcpy(enc + k, out, n);
        memcpy(enc + k + n, n ? "\r\n0\r\n\r\n" : "\r\n", n ? 7 : 2);
        size_t elen = (size_t)k + n + (n ? 7 : 2);
        ssize_t u2 = gw_h1_parse_chunked(enc, elen, again, cap, &m);
        CHECK(u2 == (ssize_t)elen && m == n && !memcmp(again, out, n));
        free(enc);
    }
    free(out);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    /* a copy of exactly the input's length: any read past it is a heap overflow */
    char *buf = malloc(size - 1 ? size - 1 : 1);
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1)
        chunked(buf, size - 1);
    else
        head(buf, size - 1);
    free(buf);
    return 0;
}
