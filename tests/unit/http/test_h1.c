/* Unit tests for gw_h1, the request reader of the I/O threads: request lines, fields,
 * the limits on a head, the framing rules that keep two readers of one request from
 * disagreeing (one Content-Length, none next to Transfer-Encoding, no folded lines, no
 * space before a colon, one well-formed Host), chunked bodies, and requests one after another in one buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_h1.h"
#include "gw_util.h"

#define MAX 8192

static gw_h1_head_t g_h;

static ssize_t parse(const char *s) { return gw_h1_parse_head(s, strlen(s), MAX, &g_h); }

/* the value of field `name` as a new string, or NULL */
static char *field(const char *name)
{
    size_t n;
    const char *v = gw_h1_field(&g_h, name, &n);
    return v ? gw_strndup(v, n) : NULL;
}

static void assert_field(const char *name, const char *want)
{
    char *v = field(name);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void assert_span(const char *p, size_t n, const char *want)
{
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

/* every head of the list gives `want` */
static void assert_heads_give(const char *const *heads, size_t n, ssize_t want)
{
    for (size_t i = 0; i < n; i++) {
        ssize_t rc = parse(heads[i]);
        if (rc != want)
            fail_msg("head %zu: %zd, not %zd", i, rc, want);
    }
}
#define ASSERT_ALL_400(list) assert_heads_give(list, sizeof(list) / sizeof(*list), -400)

/* ------------------------------------------------------------------ good heads */

static void test_simple_get_is_read_whole(void **state)
{
    (void)state;
    const char *s = "GET /authorize?client_id=a&x=%20 HTTP/1.1\r\nHost: gw.example\r\nAccept: */*\r\n\r\n";
    assert_int_equal(parse(s), (ssize_t)strlen(s));
    assert_span(g_h.method, g_h.mlen, "GET");
    assert_span(g_h.target, g_h.tlen, "/authorize?client_id=a&x=%20");
    assert_int_equal(g_h.minor, 1);
    assert_int_equal(g_h.nfields, 2);
    assert_span(g_h.field[0].name, g_h.field[0].nlen, "Host");
    assert_span(g_h.field[0].value, g_h.field[0].vlen, "gw.example");
    assert_span(g_h.field[1].name, g_h.field[1].nlen, "Accept");
    assert_int_equal(g_h.content_length, -1);
    assert_int_equal(g_h.chunked, 0);
    assert_int_equal(g_h.keep_alive, 1);
    assert_int_equal(g_h.expect_continue, 0);
}

static void test_head_length_stops_at_the_empty_line(void **state)
{
    (void)state;
    const char *s = "POST /token HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    assert_int_equal(parse(s), (ssize_t)(strlen(s) - 3));
    assert_int_equal(g_h.content_length, 3);
    assert_span(g_h.method, g_h.mlen, "POST");
}

static void test_lines_may_end_in_lf_alone(void **state)
{
    (void)state;
    const char *s = "GET / HTTP/1.1\nHost: a\n\n";
    assert_int_equal(parse(s), (ssize_t)strlen(s));
    assert_int_equal(g_h.nfields, 1);
    assert_field("host", "a");
}

static void test_empty_lines_before_a_request_are_skipped(void **state)
{
    (void)state;
    const char *s = "\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(parse(s), (ssize_t)strlen(s));
    assert_span(g_h.target, g_h.tlen, "/x");
    assert_int_equal(g_h.nfields, 1);
}

static void test_field_values_lose_surrounding_white_space_only(void **state)
{
    (void)state;
    const char *s = "GET / HTTP/1.1\r\nHost: h\r\nX-A: \t one  two \t\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n";
    assert_int_equal(parse(s), (ssize_t)strlen(s));
    assert_field("X-A", "one  two");
    assert_field("x-empty", "");
    assert_field("X-TAB", "a\tb");
}

static void test_field_lookup_is_case_insensitive_and_finds_the_first(void **state)
{
    (void)state;
    assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n") > 0);
    assert_field("COOKIE", "a=1");
    assert_null(field("Cookies"));
    assert_null(field("Cooki"));
}

static void test_incomplete_head_asks_for_more(void **state)
{
    (void)state;
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t n = 0; n < strlen(s); n++)
        assert_int_equal(gw_h1_parse_head(s, n, MAX, &g_h), 0);
    assert_int_equal(gw_h1_parse_head(s, strlen(s), MAX, &g_h), (ssize_t)strlen(s));
}

/* ------------------------------------------------------------------ versions and the connection */

static void test_keep_alive_follows_version_and_connection(void **state)
{
    (void)state;
    assert_true(parse("GET / HTTP/1.0\r\n\r\n") > 0);
    assert_int_equal(g_h.minor, 0);
    assert_int_equal(g_h.keep_alive, 0);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
    assert_int_equal(g_h.keep_alive, 1);
    assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n") > 0);
    assert_int_equal(g_h.keep_alive, 1);
    assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, CLOSE\r\n\r\n") > 0);
    assert_int_equal(g_h.keep_alive, 0);
    assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n") > 0);
    assert_int_equal(g_h.keep_alive, 1); /* a token, not a prefix */
}

static void test_expect_continue_only_in_http_1_1(void **state)
{
    (void)state;
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n") > 0);
    assert_int_equal(g_h.expect_continue, 1);
    assert_true(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n") > 0);
    assert_int_equal(g_h.expect_continue, 0);
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n") > 0);
    assert_int_equal(g_h.expect_continue, 0);
}

static void test_other_versions_are_505_and_bad_ones_400(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n"), -505);
    assert_int_equal(parse("GET / HTTP/1.2\r\n\r\n"), -505);
    assert_int_equal(parse("GET / HTTP/0.9\r\n\r\n"), -505);
    assert_int_equal(parse("GET / HTTP/1.10\r\n\r\n"), -400);
    assert_int_equal(parse("GET / HTTP/1\r\n\r\n"), -400);
    assert_int_equal(parse("GET / http/1.1\r\n\r\n"), -400);
    assert_int_equal(parse("GET / HTTP/1.x\r\n\r\n"), -400);
}

/* ------------------------------------------------------------------ hostile request lines */

static void test_malformed_request_lines_are_400(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET /\r\n\r\n", /* no version */
        "GET\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", /* two spaces */
        "GET /  HTTP/1.1\r\nHost: h\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n", /* trailing space */
        "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", /* not a token */
        "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", /* DEL in the target */
        "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", /* raw UTF-8 in the target */
        "GET / HTTP/1.1\r\r\n\r\n", /* a bare CR */
        "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", /* more than 8 empty-line bytes */
    };
    ASSERT_ALL_400(bad);
}

static void test_a_lone_empty_line_is_a_bad_request_line(void **state)
{
    (void)state;
    /* the skipping of empty lines stops at 8 bytes: then the empty line is the request line */
    assert_int_equal(parse("\r\n\r\n\r\n\r\n\r\n"), -400);
}

/* ------------------------------------------------------------------ hostile fields */

static void test_obs_fold_is_refused(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n"), -400);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n\ttwo\r\n\r\n"), -400);
    /* a first field line that starts with white space */
    assert_int_equal(parse("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), -400);
}

static void test_malformed_field_lines_are_400(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n", /* space before the colon */
        "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost a\r\n\r\n", /* no colon */
        "GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", /* no name */
        "GET / HTTP/1.1\r\nHost: h\r\nX(y): a\r\n\r\n", /* not a token */
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01z\r\n\r\n", /* a control character */
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rz\r\n\r\n", /* a bare CR inside */
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fz\r\n\r\n",
    };
    ASSERT_ALL_400(bad);
}

static void test_nul_byte_in_a_value_is_400(void **state)
{
    (void)state;
    static const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
    assert_int_equal(gw_h1_parse_head(s, sizeof(s) - 1, MAX, &g_h), -400);
}

static char *head_with_fields(size_t n)
{
    gw_buf_t b;
    gw_buf_init(&b, 0);
    gw_buf_adds(&b, "GET / HTTP/1.1\r\nHost: h\r\n"); /* the first of the n fields */
    for (size_t i = 1; i < n; i++)
        gw_buf_printf(&b, "X-%zu: v\r\n", i);
    gw_buf_adds(&b, "\r\n");
    return gw_buf_steal(&b);
}

static void test_field_count_is_capped(void **state)
{
    (void)state;
    char *ok = head_with_fields(GW_H1_MAX_HEADERS), *over = head_with_fields(GW_H1_MAX_HEADERS + 1);
    assert_int_equal(parse(ok), (ssize_t)strlen(ok));
    assert_int_equal(g_h.nfields, GW_H1_MAX_HEADERS);
    assert_field("X-99", "v");
    assert_field("Host", "h");
    assert_int_equal(parse(over), -431);
    free(ok);
    free(over);
}

static void test_head_size_is_capped_at_max(void **state)
{
    (void)state;
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = strlen(s);
    assert_int_equal(gw_h1_parse_head(s, n, n, &g_h), (ssize_t)n);
    assert_int_equal(gw_h1_parse_head(s, n, n - 1, &g_h), -431);
    /* no end yet: more is asked for while within max, then refused */
    assert_int_equal(gw_h1_parse_head(s, n - 2, n - 2, &g_h), 0);
    assert_int_equal(gw_h1_parse_head(s, n - 2, n - 3, &g_h), -431);
    /* a request line alone longer than max */
    char *longline = gw_sprintf("GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n", 200, 0);
    assert_int_equal(gw_h1_parse_head(longline, strlen(longline), 100, &g_h), -431);
    free(longline);
}

/* ------------------------------------------------------------------ Host */

static void test_host_is_needed_once_in_http_1_1(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n"), -400);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), -400);
    /* HTTP/1.0 predates Host: none is fine, two are not */
    assert_true(parse("GET / HTTP/1.0\r\n\r\n") > 0);
    assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), -400);
}

static void test_host_values_that_are_an_authority_are_read(void **state)
{
    (void)state;
    static const char *const good[] = {
        "gw.example",    "gw.example:8443",      "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080",
        "[2001:db8::1]", "xn--cng-dch-v-u9a.vn", "a%41b",     "a_b~c",        "host:", "", /* empty: no authority */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        char *s = gw_sprintf("GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        if (parse(s) != (ssize_t)strlen(s))
            fail_msg("Host: %s refused", good[i]);
        free(s);
    }
}

static void test_host_values_that_are_not_an_authority_are_400(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost: user@gw.example\r\n\r\n", /* userinfo */
        "GET / HTTP/1.1\r\nHost: gw.example:80x\r\n\r\n", /* port not digits */
        "GET / HTTP/1.1\r\nHost: gw.example:80:81\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: gw example\r\n\r\n", /* a space */
        "GET / HTTP/1.1\r\nHost: gw\texample\r\n\r\n", /* a tab */
        "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", /* IPv6 outside brackets */
        "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: [gw.example]\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: gw.example/x\r\n\r\n", /* a path */
        "GET / HTTP/1.1\r\nHost: gw.example?x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", /* a broken escape */
        "GET / HTTP/1.1\r\nHost: a%zzb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: gw.example\\evil\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: \xc3\xa9.vn\r\n\r\n", /* raw UTF-8 */
        "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", /* malformed in HTTP/1.0 too */
    };
    ASSERT_ALL_400(bad);
}

/* ------------------------------------------------------------------ body framing */

static void test_content_length_is_read_strictly(void **state)
{
    (void)state;
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") > 0);
    assert_int_equal(g_h.content_length, 0);
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999\r\n\r\n") > 0);
    assert_int_equal(g_h.content_length, 999999999999999LL);
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\ncontent-length:  12 \r\n\r\n") > 0);
    assert_int_equal(g_h.content_length, 12);
    static const char *const bad[] = {
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000000\r\n\r\n", /* 16 digits */
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
    };
    ASSERT_ALL_400(bad);
}

static void test_duplicate_content_length_must_agree(void **state)
{
    (void)state;
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n") > 0);
    assert_int_equal(g_h.content_length, 5);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\ncontent-length: 10\r\n\r\n"), -400);
}

static void test_transfer_encoding_chunked_only(void **state)
{
    (void)state;
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") > 0);
    assert_int_equal(g_h.chunked, 1);
    assert_int_equal(g_h.content_length, -1);
    assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: Chunked\r\n\r\n") > 0);
    assert_int_equal(g_h.chunked, 1);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), -501);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), -501);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), -501);
    /* a second Transfer-Encoding field, whatever it says */
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"), -400);
}

static void test_transfer_encoding_with_content_length_is_400(void **state)
{
    (void)state;
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
                     -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     -400);
}

static void test_chunked_in_http_1_0_is_400(void **state)
{
    (void)state;
    assert_int_equal(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
}

/* ------------------------------------------------------------------ pipelining */

static void test_requests_one_after_another_are_read_one_at_a_time(void **state)
{
    (void)state;
    const char *one = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n";
    const char *two = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    char *all = gw_sprintf("%sxy%s", one, two);
    size_t len = strlen(all);
    ssize_t n = gw_h1_parse_head(all, len, MAX, &g_h);
    assert_int_equal(n, (ssize_t)strlen(one));
    assert_span(g_h.target, g_h.tlen, "/a");
    assert_int_equal(g_h.content_length, 2);
    size_t at = (size_t)n + 2; /* past the body */
    assert_int_equal(gw_h1_parse_head(all + at, len - at, MAX, &g_h), (ssize_t)strlen(two));
    assert_span(g_h.target, g_h.tlen, "/b");
    assert_int_equal(g_h.content_length, -1);
    free(all);
}

/* ------------------------------------------------------------------ chunked bodies */

static char g_out[64];
static size_t g_outlen;

static ssize_t chunked(const char *s, size_t cap)
{
    g_outlen = 12345;
    return gw_h1_parse_chunked(s, strlen(s), g_out, cap, &g_outlen);
}

static void test_chunked_body_is_decoded(void **state)
{
    (void)state;
    const char *s = "5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";
    assert_int_equal(chunked(s, sizeof(g_out)), (ssize_t)strlen(s));
    assert_int_equal(g_outlen, 16);
    assert_memory_equal(g_out, "hello 0123456789", 16);
}

static void test_chunked_body_with_lf_only_and_trailers(void **state)
{
    (void)state;
    const char *s = "3\nabc\n0\nX-Checksum: 1\nX-Other: 2\n\n";
    assert_int_equal(chunked(s, sizeof(g_out)), (ssize_t)strlen(s));
    assert_int_equal(g_outlen, 3);
    assert_memory_equal(g_out, "abc", 3);
}

static void test_empty_chunked_body(void **state)
{
    (void)state;
    assert_int_equal(chunked("0\r\n\r\n", sizeof(g_out)), 5);
    assert_int_equal(g_outlen, 0);
}

static void test_chunked_body_stops_before_the_next_request(void **state)
{
    (void)state;
    const char *body = "2\r\nok\r\n0\r\n\r\n";
    char *s = gw_sprintf("%sGET / HTTP/1.1\r\nHost: h\r\n\r\n", body);
    assert_int_equal(chunked(s, sizeof(g_out)), (ssize_t)strlen(body));
    assert_int_equal(g_outlen, 2);
    free(s);
}

static void test_incomplete_chunked_body_asks_for_more(void **state)
{
    (void)state;
    const char *s = "5\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
    size_t n = strlen(s);
    for (size_t k = 0; k < n; k++) {
        ssize_t rc = gw_h1_parse_chunked(s, k, g_out, sizeof(g_out), &g_outlen);
        if (rc != 0)
            fail_msg("prefix %zu: %zd, not 0", k, rc);
    }
    assert_int_equal(gw_h1_parse_chunked(s, n, g_out, sizeof(g_out), &g_outlen), (ssize_t)n);
    assert_int_equal(g_outlen, 8);
}

/* The same with NUL bytes, which a C string cannot hold */
static void test_nul_in_chunk_extension_or_trailer_is_400(void **state)
{
    (void)state;
    static const char ext[] = "5;foo=\0\r\nhello\r\n0\r\n\r\n", tr[] = "0\r\nX-T: a\0b\r\n\r\n";
    assert_int_equal(gw_h1_parse_chunked(ext, sizeof(ext) - 1, g_out, sizeof(g_out), &g_outlen), -400);
    assert_int_equal(gw_h1_parse_chunked(tr, sizeof(tr) - 1, g_out, sizeof(g_out), &g_outlen), -400);
    /* whitespace before an extension is allowed */
    static const char ws[] = "5 ;x=1\r\nhello\r\n0\r\n\r\n";
    assert_int_equal(chunked(ws, sizeof(g_out)), (ssize_t)sizeof(ws) - 1);
}

/* A body read a little at a time: the scan goes on from where it stopped (each chunk line
 * is read once), and ends where the one-shot parse ends, with the same data length. */
static void test_chunked_scan_goes_on_from_where_it_stopped(void **state)
{
    (void)state;
    const char *s = "5\r\nhello\r\n3;e=1\r\nabc\r\n1\r\nz\r\n0\r\nX-T: 1\r\n\r\n";
    size_t n = strlen(s);
    gw_h1_chunks_t st = { 0 };
    size_t last = 0;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(gw_h1_scan_chunked(s, k, sizeof(g_out), &st), 0);
        assert_true(st.pos >= last && st.pos <= k); /* never goes back, never past what it has */
        last = st.pos;
    }
    assert_int_equal(gw_h1_scan_chunked(s, n, sizeof(g_out), &st), (ssize_t)n);
    assert_int_equal(st.got, 9);
    assert_int_equal(gw_h1_parse_chunked(s, n, g_out, sizeof(g_out), &g_outlen), (ssize_t)n);
    assert_int_equal(g_outlen, 9);
    /* a scan whose state stands at a chunk line reads only from there */
    gw_h1_chunks_t mid = { .pos = 10, .got = 5 };
    assert_int_equal(gw_h1_scan_chunked(s, n, sizeof(g_out), &mid), (ssize_t)n);
    assert_int_equal(mid.got, 9);
}

static void test_chunked_body_over_the_cap_is_413(void **state)
{
    (void)state;
    assert_int_equal(chunked("5\r\nhello\r\n0\r\n\r\n", 5), 15);
    assert_int_equal(chunked("5\r\nhello\r\n0\r\n\r\n", 4), -413);
    assert_int_equal(chunked("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 5), -413);
    /* a size that would overflow is refused before it is read whole */
    assert_int_equal(chunked("ffffffffffffffffffffffff\r\n", sizeof(g_out)), -413);
}

static void test_malformed_chunked_bodies_are_400(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "x\r\n\r\n", /* not a size */
        "\r\n", /* no size */
        "5x\r\nhello\r\n0\r\n\r\n", /* junk after the size */
        "-5\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloX0\r\n\r\n", /* no line end after the data */
        "5\r\nhello\rX0\r\n\r\n",
        "0\r\nnot a field\r\n\r\n", /* a trailer line without a colon */
        "0\r\n folded: x\r\n\r\n",
        /* control bytes in an extension or a trailer, a bare CR in a chunk line, whitespace
         * after the size with no extension (RFC 9112 7.1.1) */
        "5;foo=\x01\r\nhello\r\n0\r\n\r\n",
        "5;foo=\rx\r\nhello\r\n0\r\n\r\n",
        "5;f\x7f\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",
        "0\r\nX-T: a\x01b\r\n\r\n",
        "0\r\nX T: a\r\n\r\n",
        "0\r\n: a\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ssize_t rc = chunked(bad[i], sizeof(g_out));
        if (rc != -400)
            fail_msg("body %zu: %zd, not -400", i, rc);
    }
}

static void test_endless_chunk_size_line_is_400(void **state)
{
    (void)state;
    char line[5000];
    memset(line, '0', sizeof(line) - 1);
    line[sizeof(line) - 1] = 0;
    assert_int_equal(chunked(line, sizeof(g_out)), -400);
    line[4000] = 0;
    assert_int_equal(chunked(line, sizeof(g_out)), 0); /* still within reason: more is asked for */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get_is_read_whole),
        cmocka_unit_test(test_head_length_stops_at_the_empty_line),
        cmocka_unit_test(test_lines_may_end_in_lf_alone),
        cmocka_unit_test(test_empty_lines_before_a_request_are_skipped),
        cmocka_unit_test(test_field_values_lose_surrounding_white_space_only),
        cmocka_unit_test(test_field_lookup_is_case_insensitive_and_finds_the_first),
        cmocka_unit_test(test_incomplete_head_asks_for_more),
        cmocka_unit_test(test_keep_alive_follows_version_and_connection),
        cmocka_unit_test(test_expect_continue_only_in_http_1_1),
        cmocka_unit_test(test_other_versions_are_505_and_bad_ones_400),
        cmocka_unit_test(test_malformed_request_lines_are_400),
        cmocka_unit_test(test_a_lone_empty_line_is_a_bad_request_line),
        cmocka_unit_test(test_obs_fold_is_refused),
        cmocka_unit_test(test_malformed_field_lines_are_400),
        cmocka_unit_test(test_nul_byte_in_a_value_is_400),
        cmocka_unit_test(test_field_count_is_capped),
        cmocka_unit_test(test_head_size_is_capped_at_max),
        cmocka_unit_test(test_host_is_needed_once_in_http_1_1),
        cmocka_unit_test(test_host_values_that_are_an_authority_are_read),
        cmocka_unit_test(test_host_values_that_are_not_an_authority_are_400),
        cmocka_unit_test(test_content_length_is_read_strictly),
        cmocka_unit_test(test_duplicate_content_length_must_agree),
        cmocka_unit_test(test_transfer_encoding_chunked_only),
        cmocka_unit_test(test_transfer_encoding_with_content_length_is_400),
        cmocka_unit_test(test_chunked_in_http_1_0_is_400),
        cmocka_unit_test(test_requests_one_after_another_are_read_one_at_a_time),
        cmocka_unit_test(test_chunked_body_is_decoded),
        cmocka_unit_test(test_chunked_body_with_lf_only_and_trailers),
        cmocka_unit_test(test_empty_chunked_body),
        cmocka_unit_test(test_chunked_body_stops_before_the_next_request),
        cmocka_unit_test(test_incomplete_chunked_body_asks_for_more),
        cmocka_unit_test(test_chunked_body_over_the_cap_is_413),
        cmocka_unit_test(test_nul_in_chunk_extension_or_trailer_is_400),
        cmocka_unit_test(test_chunked_scan_goes_on_from_where_it_stopped),
        cmocka_unit_test(test_malformed_chunked_bodies_are_400),
        cmocka_unit_test(test_endless_chunk_size_line_is_400),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
