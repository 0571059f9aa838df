/* Unit tests for gw_util: base64url, URL decoding, form parsing, cookie lookup,
 * constant-time comparison, word lists, capped buffers, SHA-256, HMAC and randomness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_log.h"
#include "gw_util.h"

#include <jansson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ digests and randomness */

static char *hex_of(const unsigned char *d, size_t n) { return gw_hex_encode(d, n); }

/* FIPS 180-2 examples */
static void test_sha256_matches_fips_vectors(void **state)
{
    (void)state;
    unsigned char d[32];
    gw_sha256("abc", 3, d);
    char *h = hex_of(d, 32);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(h);
    gw_sha256("", 0, d);
    h = hex_of(d, 32);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(h);
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    gw_sha256(m, strlen(m), d);
    h = hex_of(d, 32);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    free(h);
}

/* RFC 4231 test cases 1, 2, 6 (key longer than the block) and 7 */
static void test_hmac_sha256_matches_rfc4231_vectors(void **state)
{
    (void)state;
    unsigned char key[131], mac[32];
    struct {
        size_t klen;
        unsigned char kbyte;
        const char *key;
        const char *msg;
        const char *want;
    } v[] = {
        { 20, 0x0b, NULL, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { 4, 0, "Jefe", "what do ya want for nothing?",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { 131, 0xaa, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
        { 131, 0xaa, NULL,
          "This is a test using a larger than block-size key and a larger than block-size data. "
          "The key needs to be hashed before being used by the HMAC algorithm.",
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (v[i].key)
            memcpy(key, v[i].key, v[i].klen);
        else
            memset(key, v[i].kbyte, v[i].klen);
        gw_hmac_sha256(key, v[i].klen, v[i].msg, strlen(v[i].msg), mac);
        char *h = hex_of(mac, 32);
        assert_string_equal(h, v[i].want);
        free(h);
    }
}

/* Buffered small draws and direct large ones: no two draws alike, and all byte values
 * turn up (a stuck or zeroed buffer would fail both). */
static void test_random_draws_differ_and_cover_bytes(void **state)
{
    (void)state;
    enum { N = 400 };
    static unsigned char draws[N][24];
    int seen[256] = { 0 };
    for (int i = 0; i < N; i++) {
        assert_int_equal(gw_random(draws[i], sizeof(draws[i])), GW_OK);
        for (size_t b = 0; b < sizeof(draws[i]); b++)
            seen[draws[i][b]] = 1;
        for (int j = 0; j < i; j++)
            assert_memory_not_equal(draws[i], draws[j], sizeof(draws[i]));
    }
    for (int c = 0; c < 256; c++)
        assert_true(seen[c]);
    unsigned char big1[1000], big2[1000];
    assert_int_equal(gw_random(big1, sizeof(big1)), GW_OK);
    assert_int_equal(gw_random(big2, sizeof(big2)), GW_OK);
    assert_memory_not_equal(big1, big2, sizeof(big1));
}

/* Ordered tokens: 12 hex digits of the clock in ms, then the random part; later ones
 * sort after earlier ones, and two made in the same millisecond still differ. */
static void test_ordered_token_sorts_by_time_and_stays_random(void **state)
{
    (void)state;
    int64_t before = (int64_t)(gw_now_ms());
    char *a = gw_ordered_token(18);
    char *b = gw_ordered_token(18);
    usleep(3000);
    char *c = gw_ordered_token(18);
    assert_int_equal(strlen(a), 12 + 24);
    for (int i = 0; i < 12; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    char prefix[13];
    memcpy(prefix, a, 12);
    prefix[12] = 0;
    long long ms = strtoll(prefix, NULL, 16);
    assert_true(ms >= before - 1 && ms <= before + 1000);
    assert_string_not_equal(a, b);
    assert_true(strncmp(a, b, 12) <= 0);
    assert_true(strcmp(a, c) < 0 && strcmp(b, c) < 0);
    size_t n = 0;
    unsigned char *raw = gw_b64url_decode(a + 12, strlen(a + 12), &n);
    assert_non_null(raw);
    assert_int_equal(n, 18);
    free(raw);
    free(a);
    free(b);
    free(c);
}

/* A forked child must not hand out the bytes its parent will. */
static void test_random_after_fork_differs_from_parent(void **state)
{
    (void)state;
    unsigned char warm[8], parent[32], child[32];
    assert_int_equal(gw_random(warm, sizeof(warm)), GW_OK); /* the buffer now holds unused bytes */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char c[32];
        int ok = gw_random(c, sizeof(c)) == GW_OK && write(fd[1], c, sizeof(c)) == (ssize_t)sizeof(c);
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    assert_int_equal(read(fd[0], child, sizeof(child)), (ssize_t)sizeof(child));
    close(fd[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(gw_random(parent, sizeof(parent)), GW_OK);
    assert_memory_not_equal(parent, child, sizeof(parent));
}

/* ------------------------------------------------------------------ base64url */

typedef struct b64_vec {
    const char *raw;
    size_t rawlen;
    const char *enc;
} b64_vec_t;

/* RFC 4648 section 10 vectors, without padding, plus bytes that exercise '-' and '_'. */
static const b64_vec_t B64_VECTORS[] = {
    { "", 0, "" },
    { "f", 1, "Zg" },
    { "fo", 2, "Zm8" },
    { "foo", 3, "Zm9v" },
    { "foob", 4, "Zm9vYg" },
    { "fooba", 5, "Zm9vYmE" },
    { "foobar", 6, "Zm9vYmFy" },
    { "\xfb\xff", 2, "-_8" },
    { "\xff\xff\xfe", 3, "___-" },
    { ">?\xbf", 3, "Pj-_" },
    { "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10, "AAECAwQFBgcICQ" },
};

static void test_b64url_encode_matches_rfc4648_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(B64_VECTORS) / sizeof(B64_VECTORS[0]); i++) {
        char *enc = gw_b64url_encode(B64_VECTORS[i].raw, B64_VECTORS[i].rawlen);
        assert_non_null(enc);
        assert_string_equal(enc, B64_VECTORS[i].enc);
        free(enc);
    }
}

static void test_b64url_decode_matches_rfc4648_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(B64_VECTORS) / sizeof(B64_VECTORS[0]); i++) {
        size_t n = 12345;
        const char *enc = B64_VECTORS[i].enc;
        unsigned char *raw = gw_b64url_decode(enc, strlen(enc), &n);
        assert_non_null(raw);
        assert_int_equal(n, B64_VECTORS[i].rawlen);
        assert_memory_equal(raw, B64_VECTORS[i].raw, n);
        assert_int_equal(raw[n], 0); /* NUL-terminated for convenience */
        free(raw);
    }
}

static void test_b64url_round_trips_every_byte_value(void **state)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t len = 0; len <= sizeof(all); len++) {
        char *enc = gw_b64url_encode(all, len);
        assert_int_equal(strlen(enc), len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0));
        assert_null(strpbrk(enc, "+/="));
        size_t n = 0;
        unsigned char *raw = gw_b64url_decode(enc, strlen(enc), &n);
        assert_non_null(raw);
        assert_int_equal(n, len);
        assert_memory_equal(raw, all, len);
        free(raw);
        free(enc);
    }
}

static void test_b64url_decode_rejects_invalid_characters(void **state)
{
    static const char *bad[] = { "Zm!v", "Zm9 ", "Zm.v", "Zm9v\nYg", "Zm=v", "Zm9vY*", "\xc3\xa9Zm", "Zm9v@A" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = 777;
        unsigned char *raw = gw_b64url_decode(bad[i], strlen(bad[i]), &n);
        if (raw)
            fail_msg("'%s' decoded but has a character outside the alphabet", bad[i]);
        assert_int_equal(n, 777); /* untouched on failure */
    }
}

static void test_b64url_decode_rejects_embedded_nul(void **state)
{
    static const char s[] = "Zm9v\0Yg";
    assert_null(gw_b64url_decode(s, sizeof(s) - 1, NULL));
}

static void test_b64url_decode_rejects_length_one_mod_four(void **state)
{
    static const char *bad[] = { "Z", "Zm9vY", "Zm9vYmFyZ", "Z====" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gw_b64url_decode(bad[i], strlen(bad[i]), NULL))
            fail_msg("'%s' (length 1 mod 4) decoded", bad[i]);
}

static void test_b64url_decode_honours_length_argument(void **state)
{
    size_t n = 0;
    unsigned char *raw = gw_b64url_decode("Zm9vYmFy!!!", 8, &n);
    assert_non_null(raw);
    assert_int_equal(n, 6);
    assert_memory_equal(raw, "foobar", 6);
    free(raw);
}

/* ------------------------------------------------------------------ hex */

static void test_hex_decode_requires_exact_length_and_hex_digits(void **state)
{
    unsigned char out[2];
    assert_int_equal(gw_hex_decode("a0Ff", out, 2), GW_OK);
    assert_int_equal(out[0], 0xa0);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(gw_hex_decode("a0f", out, 2), GW_EINVAL);
    assert_int_equal(gw_hex_decode("a0fff", out, 2), GW_EINVAL);
    assert_int_equal(gw_hex_decode("a0fg", out, 2), GW_EINVAL);
    assert_int_equal(gw_hex_decode(NULL, out, 2), GW_EINVAL);
    char *h = gw_hex_encode("\x00\x9f", 2);
    assert_string_equal(h, "009f");
    free(h);
}

/* ------------------------------------------------------------------ URL decoding */

static void expect_url_decode(const char *in, int plus, const char *want)
{
    char *out = gw_url_decode(in, strlen(in), plus);
    if (!want) {
        if (out)
            fail_msg("gw_url_decode('%s') = '%s', expected NULL", in, out);
        return;
    }
    if (!out)
        fail_msg("gw_url_decode('%s') = NULL, expected '%s'", in, want);
    assert_string_equal(out, want);
    free(out);
}

static void test_url_decode_decodes_percent_escapes(void **state)
{
    expect_url_decode("a%20b", 1, "a b");
    expect_url_decode("%41%42c", 1, "ABc");
    expect_url_decode("%c3%A9t%C3%a9", 1, "\xc3\xa9t\xc3\xa9");
    expect_url_decode("%2B%25%26%3D", 1, "+%&=");
    expect_url_decode("", 1, "");
    expect_url_decode("plain", 0, "plain");
}

static void test_url_decode_plus_is_space_only_when_asked(void **state)
{
    expect_url_decode("a+b++c", 1, "a b  c");
    expect_url_decode("a+b++c", 0, "a+b++c");
    expect_url_decode("%2B+", 1, "+ ");
}

static void test_url_decode_rejects_bad_hex_escape(void **state)
{
    expect_url_decode("%zz", 1, NULL);
    expect_url_decode("a%g1", 1, NULL);
    expect_url_decode("a%1g", 1, NULL);
    expect_url_decode("%%41", 1, NULL);
}

static void test_url_decode_rejects_truncated_escape(void **state)
{
    expect_url_decode("%", 1, NULL);
    expect_url_decode("%4", 1, NULL);
    expect_url_decode("abc%", 1, NULL);
    expect_url_decode("abc%4", 1, NULL);
    /* the escape is complete in the string but cut by the length argument */
    assert_null(gw_url_decode("abc%41", 5, 1));
    char *out = gw_url_decode("abc%41", 6, 1);
    assert_non_null(out);
    assert_string_equal(out, "abcA");
    free(out);
}

static void test_url_decode_rejects_nul_byte(void **state)
{
    expect_url_decode("%00", 1, NULL);
    expect_url_decode("abc%00def", 0, NULL);
    static const char raw[] = "ab\0cd";
    assert_null(gw_url_decode(raw, sizeof(raw) - 1, 1));
}

/* encode(s) is want, and decoding it (a '+' as a space) gives s back */
static void assert_round_trip(char *(*encode)(const char *), const char *s, const char *want)
{
    char *enc = encode(s);
    assert_string_equal(enc, want);
    char *dec = gw_url_decode(enc, strlen(enc), 1);
    assert_string_equal(dec, s);
    free(enc);
    free(dec);
}

static void test_url_encode_round_trips_through_decode(void **state)
{
    assert_round_trip(gw_url_encode, "a b+c&d=e/f?g#h%i~j.k_l-m \xc3\xa9",
                      "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25i~j.k_l-m%20%C3%A9");
}

/* A form's encoding (RFC 6749 2.3.1's for Basic credentials): a space is '+', a '+' is
 * %2B, and a decoder that takes '+' as a space gets the text back. */
static void test_form_encode_writes_a_space_as_plus(void **state)
{
    (void)state;
    assert_round_trip(gw_form_encode, "a b+c:d \xc3\xa9", "a+b%2Bc%3Ad+%C3%A9");
}

/* ------------------------------------------------------------------ forms */

static void test_form_parse_keeps_repeated_keys_in_order(void **state)
{
    gw_form_t f;
    const char *s = "scope=openid&a=1&scope=profile&a=2&a=3";
    assert_int_equal(gw_form_parse(&f, s, strlen(s), 16), GW_OK);
    assert_int_equal(f.n, 5);
    assert_string_equal(gw_form_get(&f, "scope"), "openid");
    assert_string_equal(gw_form_get(&f, "a"), "1");
    assert_int_equal(gw_form_count(&f, "scope"), 2);
    assert_int_equal(gw_form_count(&f, "a"), 3);
    assert_int_equal(gw_form_count(&f, "b"), 0);
    assert_null(gw_form_get(&f, "b"));
    assert_string_equal(f.names[2], "scope");
    assert_string_equal(f.values[2], "profile");
    assert_string_equal(f.values[4], "3");
    gw_form_cleanup(&f);
    assert_int_equal(f.n, 0);
    assert_null(f.names);
}

static void test_form_parse_empty_value_and_missing_equals(void **state)
{
    gw_form_t f;
    const char *s = "a=&b&c=3&=4";
    assert_int_equal(gw_form_parse(&f, s, strlen(s), 16), GW_OK);
    assert_int_equal(f.n, 4);
    assert_string_equal(gw_form_get(&f, "a"), "");
    assert_string_equal(gw_form_get(&f, "b"), "");
    assert_string_equal(gw_form_get(&f, "c"), "3");
    assert_string_equal(gw_form_get(&f, ""), "4");
    gw_form_cleanup(&f);
}

static void test_form_parse_skips_empty_segments(void **state)
{
    gw_form_t f;
    const char *s = "&&a=1&&&b=2&";
    assert_int_equal(gw_form_parse(&f, s, strlen(s), 2), GW_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(gw_form_get(&f, "a"), "1");
    assert_string_equal(gw_form_get(&f, "b"), "2");
    gw_form_cleanup(&f);
}

static void test_form_parse_decodes_names_and_values(void **state)
{
    gw_form_t f;
    const char *s = "redirect_uri=https%3A%2F%2Frp.example%2Fcb%3Fx%3D1&na+me=v+al%20ue&k=a=b";
    assert_int_equal(gw_form_parse(&f, s, strlen(s), 16), GW_OK);
    assert_int_equal(f.n, 3);
    assert_string_equal(gw_form_get(&f, "redirect_uri"), "https://rp.example/cb?x=1");
    assert_string_equal(gw_form_get(&f, "na me"), "v al ue");
    assert_string_equal(gw_form_get(&f, "k"), "a=b");
    gw_form_cleanup(&f);
}

static void test_form_parse_empty_input_gives_no_params(void **state)
{
    gw_form_t f;
    assert_int_equal(gw_form_parse(&f, "", 0, 4), GW_OK);
    assert_int_equal(f.n, 0);
    gw_form_cleanup(&f);
    assert_int_equal(gw_form_parse(&f, NULL, 0, 4), GW_OK);
    assert_int_equal(f.n, 0);
    gw_form_cleanup(&f);
}

/* the callback's raw query: percent-decoding only, so base64 keeps its '+' */
static void expect_query_param(const char *q, const char *name, int want_rc, const char *want)
{
    char *v = (char *)"untouched";
    int rc = gw_query_param(q, name, &v);
    if (rc != want_rc)
        fail_msg("gw_query_param('%s', '%s') = %d, expected %d", q ? q : "(null)", name, rc, want_rc);
    if (want) {
        assert_non_null(v);
        assert_string_equal(v, want);
        free(v);
    } else {
        assert_null(v);
    }
}

static void test_query_param_keeps_plus_and_decodes_percent_only(void **state)
{
    (void)state;
    expect_query_param("code=ab+c/d==&state=s", "code", GW_OK, "ab+c/d==");
    expect_query_param("state=s&code=a%2Bb%2F%3D+", "code", GW_OK, "a+b/=+");
    expect_query_param("encrypt%5Fkey=k+1&code=c", "encrypt_key", GW_OK, "k+1");
    expect_query_param("code&state=s", "code", GW_OK, "");
    expect_query_param("&&code=x&&", "code", GW_OK, "x");
    /* a name that only looks alike, absent names, no query at all */
    expect_query_param("codex=1&xcode=2&code+=3", "code", GW_ENOTFOUND, NULL);
    expect_query_param("", "code", GW_ENOTFOUND, NULL);
    expect_query_param(NULL, "code", GW_ENOTFOUND, NULL);
}

static void test_query_param_refuses_a_repeated_name_and_bad_escapes(void **state)
{
    (void)state;
    expect_query_param("code=a&state=s&code=b", "code", GW_EINVAL, NULL);
    expect_query_param("code=a&code%3Da", "code", GW_OK, "a"); /* the second is named "code=a" */
    expect_query_param("code=a&co%64e=b", "code", GW_EINVAL, NULL);
    expect_query_param("code=a%zz", "code", GW_EINVAL, NULL);
    expect_query_param("code=a%00b", "code", GW_EINVAL, NULL);
    expect_query_param("code=a%4", "code", GW_EINVAL, NULL);
    /* a bad escape elsewhere does not hide the one asked for */
    expect_query_param("x=%zz&code=ok", "code", GW_OK, "ok");
}

static void test_form_parse_rejects_more_than_max_params(void **state)
{
    gw_form_t f;
    const char *s = "a=1&b=2&c=3";
    assert_int_equal(gw_form_parse(&f, s, strlen(s), 3), GW_OK);
    assert_int_equal(f.n, 3);
    gw_form_cleanup(&f);
    assert_int_equal(gw_form_parse(&f, s, strlen(s), 2), GW_EINVAL);
    assert_int_equal(f.n, 0);
    assert_null(f.names);
    assert_null(f.values);
    /* repeated keys count as separate params */
    const char *r = "a=1&a=1&a=1&a=1&a=1";
    assert_int_equal(gw_form_parse(&f, r, strlen(r), 4), GW_EINVAL);
    assert_int_equal(f.n, 0);
}

static void test_form_parse_rejects_bad_escape(void **state)
{
    gw_form_t f;
    static const char *bad[] = { "a=%zz", "a=1&b=%4", "%zz=1", "a=1&b=%00", "a=%" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = gw_form_parse(&f, bad[i], strlen(bad[i]), 16);
        if (rc != GW_EINVAL)
            fail_msg("gw_form_parse('%s') = %d, expected GW_EINVAL", bad[i], rc);
        assert_int_equal(f.n, 0);
        assert_null(f.names);
    }
}

static void test_form_parse_honours_length_argument(void **state)
{
    gw_form_t f;
    const char *s = "a=1&b=2&c=%zz";
    assert_int_equal(gw_form_parse(&f, s, 7, 16), GW_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(gw_form_get(&f, "b"), "2");
    gw_form_cleanup(&f);
}

/* ------------------------------------------------------------------ cookies */

static void expect_cookie(const char *hdr, const char *name, const char *want)
{
    char *v = gw_cookie_get(hdr, name);
    if (!want) {
        if (v)
            fail_msg("cookie '%s' in '%s' = '%s', expected none", name, hdr ? hdr : "(null)", v);
        return;
    }
    if (!v)
        fail_msg("cookie '%s' in '%s' not found, expected '%s'", name, hdr ? hdr : "(null)", want);
    assert_string_equal(v, want);
    free(v);
}

static void test_cookie_get_finds_each_of_several(void **state)
{
    const char *h = "a=1; b=two; c=3";
    expect_cookie(h, "a", "1");
    expect_cookie(h, "b", "two");
    expect_cookie(h, "c", "3");
}

static void test_cookie_get_does_not_match_name_prefixes(void **state)
{
    const char *h = "xsid=1; sid_old=2; sid2=3; sid=4; s=5";
    expect_cookie(h, "sid", "4");
    expect_cookie(h, "s", "5");
    expect_cookie(h, "sid_old", "2");
    expect_cookie(h, "id", NULL);
    expect_cookie(h, "si", NULL);
    /* a value that looks like another cookie is not a cookie */
    expect_cookie("x=sid=9; y=1", "sid", NULL);
    expect_cookie("x=sid=9; sid=7", "sid", "7");
}

static void test_cookie_get_trims_spaces_around_pairs(void **state)
{
    const char *h = "   a=1 ;    b=2   ;c=3;d=4  ";
    expect_cookie(h, "a", "1");
    expect_cookie(h, "b", "2");
    expect_cookie(h, "c", "3");
    expect_cookie(h, "d", "4");
}

static void test_cookie_get_returns_first_of_duplicates(void **state)
{
    expect_cookie("a=first; a=second", "a", "first");
}

static void test_cookie_get_value_with_equals_and_empty_value(void **state)
{
    expect_cookie("tok=ab==; e=; f=x", "tok", "ab==");
    expect_cookie("tok=ab==; e=; f=x", "e", "");
    expect_cookie("tok=ab==; e=; f=x", "f", "x");
}

static void test_cookie_get_missing_cookie_or_header(void **state)
{
    expect_cookie("a=1; b=2", "c", NULL);
    expect_cookie("", "a", NULL);
    expect_cookie(";;; ;", "a", NULL);
    expect_cookie("a", "a", NULL);
    expect_cookie(NULL, "a", NULL);
}

/* ------------------------------------------------------------------ comparison, lists */

static void test_ct_streq_compares_whole_strings(void **state)
{
    assert_int_equal(gw_ct_streq("secret", "secret"), 1);
    assert_int_equal(gw_ct_streq("", ""), 1);
    assert_int_equal(gw_ct_streq("secret", "secreT"), 0);
    assert_int_equal(gw_ct_streq("secret", "secret2"), 0);
    assert_int_equal(gw_ct_streq("secret2", "secret"), 0);
    assert_int_equal(gw_ct_streq("", "x"), 0);
    assert_int_equal(gw_ct_streq(NULL, "x"), 0);
    assert_int_equal(gw_ct_streq("x", NULL), 0);
    assert_int_equal(gw_ct_streq(NULL, NULL), 0);
}

static void test_list_has_matches_whole_words(void **state)
{
    assert_int_equal(gw_list_has("openid profile cccd", "openid"), 1);
    assert_int_equal(gw_list_has("openid profile cccd", "profile"), 1);
    assert_int_equal(gw_list_has("openid profile cccd", "cccd"), 1);
    assert_int_equal(gw_list_has("openid profile cccd", "open"), 0);
    assert_int_equal(gw_list_has("openid profile cccd", "openid profile"), 0);
    assert_int_equal(gw_list_has("openid profile cccd", "cccdx"), 0);
    assert_int_equal(gw_list_has("RS256,ES256", "ES256"), 1);
    assert_int_equal(gw_list_has("  RS256 ,, ES256  ", "RS256"), 1);
    assert_int_equal(gw_list_has("  RS256 ,, ES256  ", "ES256"), 1);
    assert_int_equal(gw_list_has("", "openid"), 0);
    assert_int_equal(gw_list_has(NULL, "openid"), 0);
    assert_int_equal(gw_list_has("openid", NULL), 0);
}

static void test_list_has_never_matches_empty_word(void **state)
{
    assert_int_equal(gw_list_has("", ""), 0);
    assert_int_equal(gw_list_has("openid profile", ""), 0);
    /* a trailing separator must not produce an empty member */
    assert_int_equal(gw_list_has("openid profile ", ""), 0);
    assert_int_equal(gw_list_has("1,", ""), 0);
}

/* ------------------------------------------------------------------ buffers */

static void test_buf_append_up_to_cap_then_fails_and_sets_failed(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b, 10);
    assert_int_equal(gw_buf_adds(&b, "12345"), GW_OK);
    assert_int_equal(gw_buf_add(&b, "67890", 5), GW_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    assert_int_equal(b.failed, 0);
    assert_int_equal(gw_buf_adds(&b, "x"), GW_ETOOBIG);
    assert_int_equal(b.failed, 1);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    gw_buf_cleanup(&b);
}

static void test_buf_failed_is_sticky(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b, 8);
    assert_int_equal(gw_buf_adds(&b, "abc"), GW_OK);
    assert_int_equal(gw_buf_adds(&b, "defghi"), GW_ETOOBIG);
    assert_int_equal(b.failed, 1);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    /* would fit, but the content is already incomplete */
    assert_int_equal(gw_buf_adds(&b, "d"), GW_ETOOBIG);
    assert_int_equal(gw_buf_printf(&b, "%d", 1), GW_ETOOBIG);
    assert_int_equal(b.len, 3);
    gw_buf_cleanup(&b);
}

static void test_buf_printf_long_output_respects_cap(void **state)
{
    char big[1500];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    gw_buf_t b;
    gw_buf_init(&b, 0);
    assert_int_equal(gw_buf_printf(&b, "<%s>%d", big, 42), GW_OK);
    assert_int_equal(b.len, 1499 + 4);
    assert_int_equal(b.data[0], '<');
    assert_string_equal(b.data + 1500, ">42");
    char *s = gw_buf_steal(&b);
    assert_int_equal(strlen(s), 1503);
    free(s);
    assert_null(b.data);
    assert_int_equal(b.len, 0);

    gw_buf_init(&b, 1000);
    assert_int_equal(gw_buf_printf(&b, "%s", big), GW_ETOOBIG);
    assert_int_equal(b.failed, 1);
    assert_int_equal(b.len, 0);
    gw_buf_cleanup(&b);
}

static void test_buf_steal_of_empty_buffer_is_empty_string(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b, 16);
    char *s = gw_buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_url_add_param_chooses_separator_and_encodes(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b, 0);
    gw_buf_adds(&b, "https://rp.example/cb");
    gw_url_add_param(&b, "code", "a b&c");
    gw_url_add_param(&b, "state", NULL);
    assert_string_equal(b.data, "https://rp.example/cb?code=a%20b%26c&state=");
    gw_buf_cleanup(&b);
}

/* gw_log's line, captured from stderr and read back as JSON */
static json_t *log_line(const char *key, const char *value)
{
    char path[] = "/tmp/eidgw-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    gw_log(GW_LOG_WARN, "test", "a \"quoted\" message", key, value, "who_id12", "001099012345", key, "second", NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[16384] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0 && buf[n - 1] == '\n');
    assert_null(memchr(buf, '\n', (size_t)n - 1)); /* one line */
    json_error_t e;
    json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("not JSON: %s: %.200s", e.text, buf);
    return j;
}

static void test_log_line_is_json_with_every_value_escaped(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "plain", "plain" },
        { "q\"b\\s\n\t\x01", "q\"b\\s\n\t\x01" },
        { "Nguyễn Văn An", "Nguyễn Văn An" },
        { "emoji \xf0\x9f\x98\x80", "emoji \xf0\x9f\x98\x80" },
        { "bad \xff\xc3 end", "bad \xef\xbf\xbd\xef\xbf\xbd end" },
        { "surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = log_line("field", cases[i].in);
        assert_string_equal(json_string_value(json_object_get(j, "field")), cases[i].want);
        assert_string_equal(json_string_value(json_object_get(j, "msg")), "a \"quoted\" message");
        assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
        /* ID numbers under *_id12 are masked */
        const char *who = json_string_value(json_object_get(j, "who_id12"));
        assert_non_null(who);
        assert_null(strstr(who, "001099012345"));
        json_decref(j);
    }
    /* a value larger than a line is cut, and the line is still JSON */
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = 0;
    json_t *j = log_line("big", big);
    assert_true(json_object_get(j, "ts") != NULL);
    json_decref(j);
    free(big);
}

/* Every line of fn's gw_log calls, captured from stderr. */
static char *captured(void (*fn)(void))
{
    char path[] = "/tmp/eidgw-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t end = lseek(fd, 0, SEEK_END);
    char *all = malloc((size_t)end + 1);
    assert_int_equal(pread(fd, all, (size_t)end, 0), end);
    all[end] = 0;
    close(fd);
    unlink(path);
    return all;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_log_value_is_cut_at_200_bytes_with_its_length(void **state)
{
    (void)state;
    char *big = malloc(8193);
    memset(big, 'x', 8192);
    big[8192] = 0;
    json_t *j = log_line("path", big);
    const char *v = json_string_value(json_object_get(j, "path"));
    char want[256];
    snprintf(want, sizeof(want), "%.*s...[8192 bytes]", GW_LOG_VALUE_MAX, big);
    assert_string_equal(v, want);
    json_decref(j);
    /* cut on a character's boundary: 'a' then 3-byte characters, none split */
    size_t at = 0;
    big[at++] = 'a';
    while (at + 3 <= 600) {
        memcpy(big + at, "\xe1\xbb\x87", 3); /* ệ */
        at += 3;
    }
    big[at] = 0;
    j = log_line("name", big);
    v = json_string_value(json_object_get(j, "name"));
    snprintf(want, sizeof(want), "%.*s...[%zu bytes]", 199, big, at); /* 1 + 66 * 3 = 199 */
    assert_string_equal(v, want);
    json_decref(j);
    /* exactly the limit is kept whole */
    memset(big, 'z', GW_LOG_VALUE_MAX);
    big[GW_LOG_VALUE_MAX] = 0;
    j = log_line("v", big);
    assert_string_equal(json_string_value(json_object_get(j, "v")), big);
    json_decref(j);
    free(big);
}

static void flood_then_other(void)
{
    gw_log_set_warn_rate(3, 300);
    for (int i = 0; i < 50; i++)
        gw_log(GW_LOG_WARN, "http", "flood warning", "path", "/x", NULL);
    gw_log(GW_LOG_WARN, "http", "another warning", NULL); /* its own count */
    gw_log(GW_LOG_INFO, "http", "info is never counted", NULL);
    usleep(400 * 1000); /* the window passes: the next line of any kind says what was dropped */
    gw_log(GW_LOG_INFO, "http", "later", NULL);
    for (int i = 0; i < 2; i++)
        gw_log(GW_LOG_WARN, "http", "flood warning", NULL); /* a new window */
    gw_log_set_warn_rate(0, 0);
}

static void test_log_repeated_warnings_are_limited_then_counted(void **state)
{
    (void)state;
    char *all = captured(flood_then_other);
    assert_int_equal(count_of(all, "\"msg\":\"flood warning\""), 3 + 2);
    assert_int_equal(count_of(all, "\"msg\":\"another warning\""), 1);
    assert_int_equal(count_of(all, "\"msg\":\"suppressed 47 similar\",\"of\":\"flood warning\",\"count\":\"47\""), 1);
    assert_int_equal(count_of(all, "suppressed"), 1);
    /* in order: the report comes before the line that found the window over */
    const char *rep = strstr(all, "suppressed 47"), *later = strstr(all, "\"later\"");
    assert_non_null(rep);
    assert_non_null(later);
    assert_true(rep < later);
    free(all);
}

/* Held lines are written at the flush, in order, whole; a warning takes them out at once;
 * over 64 KB held, the older lines go out to make room; hold(0) writes the rest. */
static void test_log_hold_writes_lines_at_flush_in_order(void **state)
{
    (void)state;
    char path[] = "/tmp/eidgw-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    gw_log_hold(1);
    gw_log(GW_LOG_INFO, "test", "one", NULL);
    gw_log(GW_LOG_INFO, "test", "two", NULL);
    off_t held = lseek(fd, 0, SEEK_END);
    gw_log_flush();
    off_t after_flush = lseek(fd, 0, SEEK_END);
    gw_log(GW_LOG_INFO, "test", "three", NULL);
    gw_log(GW_LOG_WARN, "test", "four", NULL); /* written at once, after three */
    off_t after_warn = lseek(fd, 0, SEEK_END);
    char big[191]; /* under GW_LOG_VALUE_MAX: 15 of them make a line of about 3 KB */
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (int i = 0; i < 40; i++) /* about 120 KB */
        gw_log(GW_LOG_INFO, "test", "big", "a", big, "b", big, "c", big, "d", big, "e", big, "f", big, "g", big, "h",
               big, "i", big, "j", big, "k", big, "l", big, "m", big, "n", big, "o", big, NULL);
    off_t over_cap = lseek(fd, 0, SEEK_END);
    gw_log(GW_LOG_INFO, "test", "five", NULL);
    gw_log_hold(0);
    gw_log(GW_LOG_INFO, "test", "six", NULL); /* not held any more */
    off_t end = lseek(fd, 0, SEEK_END);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(held, 0);
    assert_true(after_flush > 0);
    assert_true(after_warn > after_flush);
    assert_true(over_cap > after_warn + 60000 && over_cap < after_warn + 40 * 3200);
    char *all = malloc((size_t)end + 1);
    assert_int_equal(pread(fd, all, (size_t)end, 0), end);
    all[end] = 0;
    close(fd);
    unlink(path);
    const char *order[] = { "one", "two", "three", "four", "big", "five", "six" };
    size_t k = 0, lines = 0;
    for (char *sv = NULL, *l = strtok_r(all, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv), lines++) {
        json_t *j = json_loads(l, 0, NULL);
        assert_non_null(j); /* every line whole */
        const char *msg = json_string_value(json_object_get(j, "msg"));
        while (k < 7 && strcmp(msg, order[k]))
            k++;
        assert_true(k < 7); /* in order */
        json_decref(j);
    }
    assert_int_equal(lines, 46);
    free(all);
}

static void test_parse_long_takes_whole_decimal_strings_in_range(void **st)
{
    (void)st;
    long v = -1;
    assert_int_equal(gw_parse_long("0", 0, 15, &v), GW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(gw_parse_long("15", 0, 15, &v), GW_OK);
    assert_int_equal(v, 15);
    assert_int_equal(gw_parse_long("-3", -5, 5, &v), GW_OK);
    assert_int_equal(v, -3);
    v = 99;
    const char *bad[] = { "", " 1", "1 ", "1x", "x", "16", "-1", "99999999999999999999999", "0x1", NULL };
    for (const char **b = bad; *b; b++)
        assert_int_equal(gw_parse_long(*b, 0, 15, &v), GW_EINVAL);
    assert_int_equal(gw_parse_long(NULL, 0, 15, &v), GW_EINVAL);
    assert_int_equal(v, 99); /* untouched on error */
    assert_int_equal(gw_digits("2024-07", 4), 2024);
    assert_int_equal(gw_digits("07", 2), 7);
}

/* Every error of the one enum has its own name; a value outside it is "error". */
static void test_strerror_names_every_error_once(void **state)
{
    (void)state;
    static const int all[] = {
        GW_OK,      GW_ENOMEM,          GW_EINVAL,           GW_ENOTFOUND,     GW_ECONFLICT,      GW_EUPSTREAM,
        GW_ESTORE,  GW_EEXPIRED,        GW_EDENIED,          GW_EAGAIN,        GW_ETOOBIG,        GW_JWT_MALFORMED,
        GW_JWT_ALG, GW_JWT_UNKNOWN_KID, GW_JWT_KEY_MISMATCH, GW_JWT_SIGNATURE, GW_JWT_JWKS_FETCH, GW_JWT_NEED_KEYS
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(gw_strerror(all[i]), "error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(gw_strerror(all[i]), gw_strerror(all[j]));
    }
    assert_string_equal(gw_strerror(GW_ESTORE), "store unavailable");
    assert_string_equal(gw_strerror(-999), "error");
    assert_int_equal(GW_JWT_OK, GW_OK);
}

/* ------------------------------------------------------------------ secret files */

static void test_secret_file_check_by_mode_and_policy(void **state)
{
    (void)state;
    char path[] = "/tmp/eidgw-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    gw_strlist_t warn = { 0 };
    char err[512] = "";
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(gw_secret_file_check(path, GW_SECRET_MODE_ERROR, &warn, err, sizeof(err)), 0);
    assert_int_equal(warn.n, 0);
    assert_int_equal(chmod(path, 0640), 0); /* its group is this process's own */
    assert_int_equal(gw_secret_file_check(path, GW_SECRET_MODE_ERROR, &warn, err, sizeof(err)), 0);
    assert_int_equal(warn.n, 0);
    static const mode_t open_modes[] = { 0644, 0604, 0602, 0666 };
    for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
        assert_int_equal(chmod(path, open_modes[i]), 0);
        assert_int_equal(gw_secret_file_check(path, GW_SECRET_MODE_ERROR, &warn, err, sizeof(err)), -1);
        char want[128];
        snprintf(want, sizeof(want), "%s: mode %04o lets every user", path, (unsigned)open_modes[i]);
        assert_non_null(strstr(err, want));
        snprintf(want, sizeof(want), "run chmod o-rwx %s", path);
        assert_non_null(strstr(err, want));
        assert_int_equal(gw_secret_file_check(path, GW_SECRET_MODE_OFF, &warn, err, sizeof(err)), 0);
        assert_int_equal(warn.n, 0);
    }
    assert_int_equal(gw_secret_file_check(path, GW_SECRET_MODE_WARN, &warn, err, sizeof(err)), 0);
    assert_int_equal(warn.n, 1);
    assert_non_null(strstr(warn.v[0], "lets every user"));
    free(warn.v[0]);
    /* what is not there is its reader's to say */
    unlink(path);
    assert_int_equal(gw_secret_file_check(path, GW_SECRET_MODE_ERROR, &warn, err, sizeof(err)), 0);
}

/* ------------------------------------------------------------------ address ranges */

static int in_range(const char *range, const char *addr)
{
    gw_cidr_t c;
    char msg[128];
    assert_int_equal(gw_cidr_parse(range, strlen(range), &c, msg, sizeof(msg)), 0);
    return gw_cidr_match(&c, addr);
}

static void test_cidr_matches_ipv4_and_ipv6_prefixes(void **state)
{
    (void)state;
    assert_true(in_range("10.0.0.0/8", "10.255.1.2"));
    assert_false(in_range("10.0.0.0/8", "11.0.0.1"));
    assert_true(in_range("192.168.4.0/22", "192.168.7.255"));
    assert_false(in_range("192.168.4.0/22", "192.168.8.0"));
    assert_true(in_range("10.1.2.3/8", "10.9.9.9")); /* host bits of the range do not count */
    assert_true(in_range("127.0.0.1", "127.0.0.1")); /* a plain address is /32 */
    assert_false(in_range("127.0.0.1", "127.0.0.2"));
    assert_true(in_range("0.0.0.0/0", "203.0.113.9"));
    assert_true(in_range("::1/128", "::1"));
    assert_false(in_range("::1/128", "::2"));
    assert_true(in_range("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in_range("2001:db8::/33", "2001:db8:8000::1"));
    assert_true(in_range("10.0.0.0/8", "::ffff:10.1.1.1")); /* IPv4-mapped: the IPv4 address */
    assert_false(in_range("10.0.0.0/8", "2001:db8::1")); /* no family crosses */
    assert_false(in_range("::/0", "10.0.0.1"));
    assert_false(in_range("10.0.0.0/8", "10.0.0.1:443"));
    assert_false(in_range("10.0.0.0/8", "garbage"));
    assert_false(in_range("10.0.0.0/8", ""));
}

static void test_cidr_parse_refuses_bad_ranges(void **state)
{
    (void)state;
    static const char *const bad[] = { "10.0.0.0/33", "300.1.1.1",   "garbage", "",         "10.0.0.0/", "10.0.0.0/-1",
                                       "10.0.0.0/+8", "10.0.0.0/8x", "::1/129", "10.0.0/8", "1.2.3.4 5" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_cidr_t c;
        char msg[128] = "";
        if (gw_cidr_parse(bad[i], strlen(bad[i]), &c, msg, sizeof(msg)) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(msg[0]);
    }
}

static void test_cidr_list_reads_repeated_and_comma_separated_entries(void **state)
{
    (void)state;
    gw_strlist_t l = { .n = 2, .v = { "127.0.0.1", "10.0.0.0/8, ::1/128" } };
    assert_true(gw_cidr_list_has(&l, "127.0.0.1"));
    assert_true(gw_cidr_list_has(&l, "10.2.3.4"));
    assert_true(gw_cidr_list_has(&l, "::1"));
    assert_false(gw_cidr_list_has(&l, "192.0.2.1"));
    assert_false(gw_cidr_list_has(&l, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_long_takes_whole_decimal_strings_in_range),
        cmocka_unit_test(test_log_line_is_json_with_every_value_escaped),
        cmocka_unit_test(test_log_hold_writes_lines_at_flush_in_order),
        cmocka_unit_test(test_sha256_matches_fips_vectors),
        cmocka_unit_test(test_hmac_sha256_matches_rfc4231_vectors),
        cmocka_unit_test(test_random_draws_differ_and_cover_bytes),
        cmocka_unit_test(test_random_after_fork_differs_from_parent),
        cmocka_unit_test(test_ordered_token_sorts_by_time_and_stays_random),
        cmocka_unit_test(test_b64url_encode_matches_rfc4648_vectors),
        cmocka_unit_test(test_b64url_decode_matches_rfc4648_vectors),
        cmocka_unit_test(test_b64url_round_trips_every_byte_value),
        cmocka_unit_test(test_b64url_decode_rejects_invalid_characters),
        cmocka_unit_test(test_b64url_decode_rejects_embedded_nul),
        cmocka_unit_test(test_b64url_decode_rejects_length_one_mod_four),
        cmocka_unit_test(test_b64url_decode_honours_length_argument),
        cmocka_unit_test(test_hex_decode_requires_exact_length_and_hex_digits),
        cmocka_unit_test(test_url_decode_decodes_percent_escapes),
        cmocka_unit_test(test_url_decode_plus_is_space_only_when_asked),
        cmocka_unit_test(test_url_decode_rejects_bad_hex_escape),
        cmocka_unit_test(test_url_decode_rejects_truncated_escape),
        cmocka_unit_test(test_url_decode_rejects_nul_byte),
        cmocka_unit_test(test_url_encode_round_trips_through_decode),
        cmocka_unit_test(test_form_encode_writes_a_space_as_plus),
        cmocka_unit_test(test_form_parse_keeps_repeated_keys_in_order),
        cmocka_unit_test(test_form_parse_empty_value_and_missing_equals),
        cmocka_unit_test(test_form_parse_skips_empty_segments),
        cmocka_unit_test(test_form_parse_decodes_names_and_values),
        cmocka_unit_test(test_form_parse_empty_input_gives_no_params),
        cmocka_unit_test(test_query_param_keeps_plus_and_decodes_percent_only),
        cmocka_unit_test(test_query_param_refuses_a_repeated_name_and_bad_escapes),
        cmocka_unit_test(test_form_parse_rejects_more_than_max_params),
        cmocka_unit_test(test_form_parse_rejects_bad_escape),
        cmocka_unit_test(test_form_parse_honours_length_argument),
        cmocka_unit_test(test_cookie_get_finds_each_of_several),
        cmocka_unit_test(test_cookie_get_does_not_match_name_prefixes),
        cmocka_unit_test(test_cookie_get_trims_spaces_around_pairs),
        cmocka_unit_test(test_cookie_get_returns_first_of_duplicates),
        cmocka_unit_test(test_cookie_get_value_with_equals_and_empty_value),
        cmocka_unit_test(test_cookie_get_missing_cookie_or_header),
        cmocka_unit_test(test_ct_streq_compares_whole_strings),
        cmocka_unit_test(test_list_has_matches_whole_words),
        cmocka_unit_test(test_list_has_never_matches_empty_word),
        cmocka_unit_test(test_buf_append_up_to_cap_then_fails_and_sets_failed),
        cmocka_unit_test(test_buf_failed_is_sticky),
        cmocka_unit_test(test_buf_printf_long_output_respects_cap),
        cmocka_unit_test(test_buf_steal_of_empty_buffer_is_empty_string),
        cmocka_unit_test(test_url_add_param_chooses_separator_and_encodes),
        cmocka_unit_test(test_strerror_names_every_error_once),
        cmocka_unit_test(test_log_value_is_cut_at_200_bytes_with_its_length),
        cmocka_unit_test(test_log_repeated_warnings_are_limited_then_counted),
        cmocka_unit_test(test_secret_file_check_by_mode_and_policy),
        cmocka_unit_test(test_cidr_matches_ipv4_and_ipv6_prefixes),
        cmocka_unit_test(test_cidr_parse_refuses_bad_ranges),
        cmocka_unit_test(test_cidr_list_reads_repeated_and_comma_separated_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
