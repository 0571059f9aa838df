/* libFuzzer target for the connection layer around gw_h1 (gw_http_internal.h and the framing
 * the connection code builds from gw_h1): byte 0 mod 3 picks the mode.
 * 0: trusted proxies (space-separated) 0xFF an X-Forwarded-For value: gw_http_xff_client
 *    gives the TCP peer or a hop of the list, the hops right of it are all trusted, and it
 *    is not trusted unless it is the leftmost (a reference walk over the split list).
 * 1: bodies separated by 0xFF that the harness sends as pipelined requests, by turns with
 *    Content-Length and chunked, some with Expect: 100-continue: reading the stream as the
 *    connection does gives back exactly those requests and bodies, in order, using every
 *    byte; Expect is seen exactly where sent; a cut anywhere reads as "more needed" for
 *    the request it falls in, never as an error.
 * 2: any bytes as a pipelined stream: a head reads the same whatever follows it, one byte
 *    short is "more needed", its header-size sum is within its length plus two per field;
 *    a chunked body reads the same when cut right after it, and one byte short needs more.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_h1.h"
#include "gw_http_internal.h"
#include "gw_util.h"

#define HEAD_MAX 16384
#define PEER "127.0.0.9"

static const char *const SEEDS[] = {
    "\x00"
    "127.0.0.1 127.0.0.2\xff"
    "203.0.113.7, 127.0.0.2,127.0.0.1",
    "\x03"
    "127.0.0.1\xff"
    " , 127.0.0.1",
    "\x06"
    "127.0.0.1\xff"
    "127.0.0.1",
    "\x01"
    "a=1&b=2\xff\xff"
    "chunk\r\n0\r\n\xff"
    "x",
    "\x02"
    "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: "
    "v\r\n\r\n",
    "\x05"
    "GET / HTTP/1.0\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

/* ---- mode 0: X-Forwarded-For ---- */

static void xff_walk(char *s)
{
    char *sep = strchr(s, '\xff');
    if (!sep)
        return;
    *sep = '\0';
    gw_strlist_t trusted = { 0 };
    for (char *t = strtok(s, " "); t && trusted.n < GW_MAX_LIST; t = strtok(NULL, " "))
        trusted.v[trusted.n++] = t;
    char *xff = sep + 1, *copy = gw_strdup(xff), out[64] = PEER;
    gw_http_xff_client(&trusted, copy, out, sizeof(out));
    free(copy);
    /* the reference: hops split at ',', leading spaces off, read from the right */
    char *hops[4096];
    size_t n = 0;
    for (char *p = xff; n < 4096;) {
        char *comma = strchr(p, ',');
        hops[n++] = p;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (n == 4096)
        return;
    const char *want = PEER;
    for (size_t i = n; i-- > 0;) {
        char *hop = hops[i] + strspn(hops[i], " ");
        if (!*hop || !gw_cidr_list_has(&trusted, hop) || i == 0) {
            if (*hop && strlen(hop) < sizeof(out))
                want = hop;
            break;
        }
    }
    CHECK(!strcmp(out, want));
}

/* ---- mode 1: pipelined requests the harness sends ---- */

typedef struct sent {
    const char *body;
    size_t len;
    int chunked, expect;
} sent_t;

static void add_request(gw_buf_t *b, size_t i, const sent_t *r)
{
    char line[160];
    snprintf(line, sizeof(line), "POST /p%zu HTTP/1.1\r\nHost: gw.test\r\n%s", i,
             r->expect ? "Expect: 100-continue\r\n" : "");
    gw_buf_adds(b, line);
    if (!r->chunked) {
        snprintf(line, sizeof(line), "Content-Length: %zu\r\n\r\n", r->len);
        gw_buf_adds(b, line);
        gw_buf_add(b, r->body, r->len);
        return;
    }
    gw_buf_adds(b, "Transfer-Encoding: chunked\r\n\r\n");
    /* the body in chunks of up to 7 bytes, one with an extension */
    for (size_t off = 0; off < r->len; off += 7) {
        size_t n = r->len - off < 7 ? r->len - off : 7;
        snprintf(line, sizeof(line), off ? "%zx\r\n" : "%zx;ext=1\r\n", n);
        gw_buf_adds(b, line);
        gw_buf_add(b, r->body + off, n);
        gw_buf_adds(b, "\r\n");
    }
    gw_buf_adds(b, "0\r\n\r\n");
}

/* Reads one request at p the way the connection does: the bytes it takes, 0 for more,
 * -1 for an error. The body (decoded when chunked) into body/blen. */
static ssize_t read_request(const char *p, size_t len, gw_h1_head_t *h, char *body, size_t cap, size_t *blen)
{
    ssize_t hl = gw_h1_parse_head(p, len, HEAD_MAX, h);
    if (hl <= 0)
        return hl < 0 ? -1 : 0;
    if (h->chunked) {
        ssize_t cl = gw_h1_parse_chunked(p + hl, len - (size_t)hl, body, cap, blen);
        return cl < 0 ? -1 : cl == 0 ? 0 : hl + cl;
    }
    size_t cl = h->content_length > 0 ? (size_t)h->content_length : 0;
    if (len - (size_t)hl < cl)
        return 0;
    memcpy(body, p + hl, cl);
    *blen = cl;
    return hl + (ssize_t)cl;
}

static void pipelined(const uint8_t *p, size_t n)
{
    sent_t req[64];
    size_t k = 0;
    for (size_t start = 0, i = 0; i <= n && k < 64; i++)
        if (i == n || p[i] == 0xff) {
            req[k] = (sent_t){ (const char *)p + start, i - start, (int)(k & 1), (int)(k % 3 == 2) };
            k++;
            start = i + 1;
        }
    gw_buf_t b;
    gw_buf_init(&b, 0);
    size_t *ends = malloc(sizeof(*ends) * k);
    for (size_t i = 0; i < k; i++) {
        add_request(&b, i, &req[i]);
        ends[i] = b.len;
    }
    char *body = malloc(n + 1);
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        gw_h1_head_t h;
        size_t blen = 0;
        ssize_t used = read_request(b.data + off, b.len - off, &h, body, n + 1, &blen);
        char target[32];
        snprintf(target, sizeof(target), "/p%zu", i);
        CHECK(used > 0 && off + (size_t)used == ends[i]);
        CHECK(h.tlen == strlen(target) && !memcmp(h.target, target, h.tlen));
        CHECK(blen == req[i].len && !memcmp(body, req[i].body, blen));
        CHECK(h.expect_continue == req[i].expect && h.keep_alive);
        /* a cut inside this request: more needed, never an error */
        size_t cut = (n * 31 + i * 7919) % (size_t)used;
        CHECK(read_request(b.data + off, cut, &h, body, n + 1, &blen) == 0);
        off += (size_t)used;
    }
    CHECK(off == b.len);
    free(body);
    free(ends);
    gw_buf_cleanup(&b);
}

/* ---- mode 2: any stream ---- */

static void check_chunked(const char *p, size_t len)
{
    char *out = malloc(len + 1);
    size_t olen = 0, again = 0;
    ssize_t used = gw_h1_parse_chunked(p, len, out, len + 1, &olen);
    if (used > 0) {
        CHECK(gw_h1_parse_chunked(p, (size_t)used, out, len + 1, &again) == used && again == olen);
        CHECK(gw_h1_parse_chunked(p, (size_t)used - 1, out, len + 1, &again) == 0);
    }
    free(out);
}

static void stream(const uint8_t *p, size_t n)
{
    const char *s = (const char *)p;
    for (size_t off = 0; off < n;) {
        gw_h1_head_t h, h2;
        ssize_t hl = gw_h1_parse_head(s + off, n - off, HEAD_MAX, &h);
        if (hl <= 0)
            return;
        CHECK(gw_h1_parse_head(s + off, (size_t)hl, HEAD_MAX, &h2) == hl && h2.nfields == h.nfields);
        CHECK(gw_h1_parse_head(s + off, (size_t)hl - 1, HEAD_MAX, &h2) == 0);
        CHECK(gw_http_head_size(&h) <= (size_t)hl + 2 * h.nfields); /* a line "n:v\n" takes nlen + vlen + 2 */
        off += (size_t)hl;
        if (h.chunked) {
            check_chunked(s + off, n - off);
            return;
        }
        off += h.content_length > 0 ? (size_t)h.content_length : 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 3 == 0) {
        char *s = fuzz_cstr(data + 1, size - 1);
        xff_walk(s);
        free(s);
    } else if (data[0] % 3 == 1) {
        pipelined(data + 1, size - 1);
    } else {
        stream(data + 1, size - 1);
    }
    return 0;
}
