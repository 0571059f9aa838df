/* Unit tests for gw_seal / gw_seal_open: AES-256-GCM sealed cookies,
 * base64url(version | key_id | iv(12) | ciphertext | tag(16)). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_crypto.h"
#include "gw_util.h"

#define HDR 2
#define IV 12
#define TAG 16
#define OVERHEAD (HDR + IV + TAG)

static const unsigned char KEY[GW_SEAL_KEYLEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const char MSG[] = "{\"sid\":\"s-123\",\"exp\":1893456000}";
#define KID 7

static unsigned char *unwrap(const char *sealed, size_t *n)
{
    unsigned char *raw = gw_b64url_decode(sealed, strlen(sealed), n);
    assert_non_null(raw);
    return raw;
}

static char *rewrap(const unsigned char *raw, size_t n) { return gw_b64url_encode(raw, n); }

/* Seal MSG, flip one bit of the raw byte at `pos` (negative counts from the end), and
 * expect the result to be refused. */
static void expect_tamper_refused(long pos)
{
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    assert_non_null(sealed);
    size_t n = 0;
    unsigned char *raw = unwrap(sealed, &n);
    assert_int_equal(n, OVERHEAD + strlen(MSG));
    size_t at = pos < 0 ? n - (size_t)(-pos) : (size_t)pos;
    for (int bit = 0; bit < 8; bit++) {
        raw[at] ^= (unsigned char)(1u << bit);
        char *bad = rewrap(raw, n);
        char *pt = (char *)0x1;
        size_t len = 999;
        int rc = gw_seal_open(KEY, KID, bad, &pt, &len);
        if (rc != GW_EINVAL)
            fail_msg("bit %d of byte %zu flipped: gw_seal_open = %d, expected GW_EINVAL", bit, at, rc);
        assert_ptr_equal(pt, (char *)0x1); /* untouched on failure */
        assert_int_equal(len, 999);
        raw[at] ^= (unsigned char)(1u << bit);
        free(bad);
    }
    /* the untampered bytes still open */
    char *good = rewrap(raw, n), *pt = NULL;
    assert_int_equal(gw_seal_open(KEY, KID, good, &pt, NULL), GW_OK);
    assert_string_equal(pt, MSG);
    free(pt);
    free(good);
    free(raw);
    free(sealed);
}

static void test_seal_round_trip(void **state)
{
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    assert_non_null(sealed);
    assert_int_equal(strlen(sealed), ((OVERHEAD + strlen(MSG)) * 4 + 2) / 3);
    assert_null(strpbrk(sealed, "+/="));
    char *pt = NULL;
    size_t len = 0;
    assert_int_equal(gw_seal_open(KEY, KID, sealed, &pt, &len), GW_OK);
    assert_int_equal(len, strlen(MSG));
    assert_string_equal(pt, MSG);
    free(pt);
    free(sealed);
}

static void test_seal_layout_has_version_and_key_id_in_clear(void **state)
{
    char *sealed = gw_seal(KEY, 0xab, "x", 1);
    size_t n = 0;
    unsigned char *raw = unwrap(sealed, &n);
    assert_int_equal(n, OVERHEAD + 1);
    assert_int_equal(raw[0], 1);
    assert_int_equal(raw[1], 0xab);
    free(raw);
    free(sealed);
}

static void test_seal_round_trip_empty_and_binary_plaintext(void **state)
{
    char *sealed = gw_seal(KEY, KID, "", 0);
    assert_non_null(sealed);
    char *pt = NULL;
    size_t len = 99;
    assert_int_equal(gw_seal_open(KEY, KID, sealed, &pt, &len), GW_OK);
    assert_int_equal(len, 0);
    assert_string_equal(pt, "");
    free(pt);
    free(sealed);

    static const unsigned char bin[] = { 0x00, 0xff, 0x00, 0x80, 0x7f, 0x00 };
    sealed = gw_seal(KEY, KID, bin, sizeof(bin));
    assert_int_equal(gw_seal_open(KEY, KID, sealed, &pt, &len), GW_OK);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(pt, bin, sizeof(bin));
    assert_int_equal(pt[len], 0);
    free(pt);
    free(sealed);
}

static void test_seal_round_trip_one_mebibyte(void **state)
{
    size_t n = 1u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    char *sealed = gw_seal(KEY, KID, big, n);
    assert_non_null(sealed);
    char *pt = NULL;
    size_t len = 0;
    assert_int_equal(gw_seal_open(KEY, KID, sealed, &pt, &len), GW_OK);
    assert_int_equal(len, n);
    assert_memory_equal(pt, big, n);
    free(pt);
    free(sealed);
    assert_null(gw_seal(KEY, KID, big, n + 1)); /* over the limit */
    free(big);
}

static void test_seal_rejects_flipped_version_byte(void **state) { expect_tamper_refused(0); }
static void test_seal_rejects_flipped_key_id_byte(void **state) { expect_tamper_refused(1); }
static void test_seal_rejects_flipped_iv_first_byte(void **state) { expect_tamper_refused(HDR); }
static void test_seal_rejects_flipped_iv_last_byte(void **state) { expect_tamper_refused(HDR + IV - 1); }
static void test_seal_rejects_flipped_ciphertext_byte(void **state) { expect_tamper_refused(HDR + IV + 5); }
static void test_seal_rejects_flipped_tag_first_byte(void **state) { expect_tamper_refused(-TAG); }
static void test_seal_rejects_flipped_tag_last_byte(void **state) { expect_tamper_refused(-1); }

static void test_seal_rejects_wrong_key(void **state)
{
    unsigned char other[GW_SEAL_KEYLEN];
    memcpy(other, KEY, sizeof(other));
    other[31] ^= 0x01;
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    char *pt = NULL;
    assert_int_equal(gw_seal_open(other, KID, sealed, &pt, NULL), GW_EINVAL);
    assert_null(pt);
    free(sealed);
}

static void test_seal_rejects_wrong_key_id(void **state)
{
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    char *pt = NULL;
    assert_int_equal(gw_seal_open(KEY, KID + 1, sealed, &pt, NULL), GW_EINVAL);
    assert_int_equal(gw_seal_open(KEY, 0, sealed, &pt, NULL), GW_EINVAL);
    assert_null(pt);
    /* the key id is authenticated: rewriting it to the opener's id does not help */
    size_t n = 0;
    unsigned char *raw = unwrap(sealed, &n);
    raw[1] = KID + 1;
    char *relabelled = rewrap(raw, n);
    assert_int_equal(gw_seal_open(KEY, KID + 1, relabelled, &pt, NULL), GW_EINVAL);
    assert_null(pt);
    free(relabelled);
    free(raw);
    free(sealed);
}

static void test_seal_rejects_truncated(void **state)
{
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    size_t n = 0;
    unsigned char *raw = unwrap(sealed, &n);
    char *pt = NULL;
    /* every shorter prefix of the raw bytes, down to nothing */
    for (size_t cut = 0; cut < n; cut++) {
        char *shorter = rewrap(raw, cut);
        int rc = gw_seal_open(KEY, KID, shorter, &pt, NULL);
        if (rc != GW_EINVAL)
            fail_msg("prefix of %zu of %zu bytes: gw_seal_open = %d", cut, n, rc);
        free(shorter);
    }
    /* and a cut in the base64url text */
    sealed[strlen(sealed) - 3] = 0;
    assert_int_equal(gw_seal_open(KEY, KID, sealed, &pt, NULL), GW_EINVAL);
    assert_null(pt);
    free(raw);
    free(sealed);
}

static void test_seal_rejects_appended_bytes(void **state)
{
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    size_t n = 0;
    unsigned char *raw = unwrap(sealed, &n);
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, raw, n);
    longer[n] = 0;
    char *s = rewrap(longer, n + 1), *pt = NULL;
    assert_int_equal(gw_seal_open(KEY, KID, s, &pt, NULL), GW_EINVAL);
    assert_null(pt);
    free(s);
    free(longer);
    free(raw);
    free(sealed);
}

static void test_seal_rejects_non_base64url(void **state)
{
    char *sealed = gw_seal(KEY, KID, MSG, strlen(MSG));
    char *pt = NULL;
    char *bad = gw_strdup(sealed);
    bad[10] = '!';
    assert_int_equal(gw_seal_open(KEY, KID, bad, &pt, NULL), GW_EINVAL);
    bad[10] = '.';
    assert_int_equal(gw_seal_open(KEY, KID, bad, &pt, NULL), GW_EINVAL);
    bad[10] = ' ';
    assert_int_equal(gw_seal_open(KEY, KID, bad, &pt, NULL), GW_EINVAL);
    assert_int_equal(gw_seal_open(KEY, KID, "not a sealed cookie", &pt, NULL), GW_EINVAL);
    assert_int_equal(gw_seal_open(KEY, KID, "%%%%", &pt, NULL), GW_EINVAL);
    assert_null(pt);
    free(bad);
    free(sealed);
}

static void test_seal_rejects_empty_and_null(void **state)
{
    char *pt = NULL;
    assert_int_equal(gw_seal_open(KEY, KID, "", &pt, NULL), GW_EINVAL);
    assert_int_equal(gw_seal_open(KEY, KID, NULL, &pt, NULL), GW_EINVAL);
    assert_null(pt);
}

static void test_seal_of_same_plaintext_differs_each_time(void **state)
{
    char *a = gw_seal(KEY, KID, MSG, strlen(MSG));
    char *b = gw_seal(KEY, KID, MSG, strlen(MSG));
    assert_string_not_equal(a, b);
    size_t na = 0, nb = 0;
    unsigned char *ra = unwrap(a, &na), *rb = unwrap(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ra, rb, HDR); /* same header */
    assert_memory_not_equal(ra + HDR, rb + HDR, IV); /* fresh IV */
    assert_memory_not_equal(ra + HDR + IV, rb + HDR + IV, na - HDR - IV - TAG); /* so other ciphertext */
    char *pa = NULL, *pb = NULL;
    assert_int_equal(gw_seal_open(KEY, KID, a, &pa, NULL), GW_OK);
    assert_int_equal(gw_seal_open(KEY, KID, b, &pb, NULL), GW_OK);
    assert_string_equal(pa, pb);
    free(pa);
    free(pb);
    free(ra);
    free(rb);
    free(a);
    free(b);
}

static void test_seal_ivs_do_not_repeat_over_many_seals(void **state)
{
    enum { N = 2000 };
    unsigned char(*ivs)[IV] = malloc(N * IV);
    for (int i = 0; i < N; i++) {
        char *s = gw_seal(KEY, KID, "x", 1);
        size_t n = 0;
        unsigned char *raw = unwrap(s, &n);
        memcpy(ivs[i], raw + HDR, IV);
        for (int j = 0; j < i; j++)
            if (!memcmp(ivs[i], ivs[j], IV))
                fail_msg("IV of seal %d repeats seal %d", i, j);
        free(raw);
        free(s);
    }
    free(ivs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_round_trip),
        cmocka_unit_test(test_seal_layout_has_version_and_key_id_in_clear),
        cmocka_unit_test(test_seal_round_trip_empty_and_binary_plaintext),
        cmocka_unit_test(test_seal_round_trip_one_mebibyte),
        cmocka_unit_test(test_seal_rejects_flipped_version_byte),
        cmocka_unit_test(test_seal_rejects_flipped_key_id_byte),
        cmocka_unit_test(test_seal_rejects_flipped_iv_first_byte),
        cmocka_unit_test(test_seal_rejects_flipped_iv_last_byte),
        cmocka_unit_test(test_seal_rejects_flipped_ciphertext_byte),
        cmocka_unit_test(test_seal_rejects_flipped_tag_first_byte),
        cmocka_unit_test(test_seal_rejects_flipped_tag_last_byte),
        cmocka_unit_test(test_seal_rejects_wrong_key),
        cmocka_unit_test(test_seal_rejects_wrong_key_id),
        cmocka_unit_test(test_seal_rejects_truncated),
        cmocka_unit_test(test_seal_rejects_appended_bytes),
        cmocka_unit_test(test_seal_rejects_non_base64url),
        cmocka_unit_test(test_seal_rejects_empty_and_null),
        cmocka_unit_test(test_seal_of_same_plaintext_differs_each_time),
        cmocka_unit_test(test_seal_ivs_do_not_repeat_over_many_seals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
