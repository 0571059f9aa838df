/* Unit tests for gw_name: display form, strict and loose keys, population-DB forms and the
 * legacy-encoding detector (docs/domain.md section 11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_name.h"
#include "gw_store.h"
#include "gw_util.h"

static char buf[1024];

static const char *norm(const char *s)
{
    int rc = gw_name_normalize(s, buf, sizeof(buf));
    assert_int_equal(rc, 0);
    return buf;
}

static const char *strict(const char *s)
{
    static char k[1024];
    assert_int_equal(gw_name_strict_key(s, k, sizeof(k)), 0);
    return k;
}

static const char *strict2(const char *s)
{
    static char k[1024];
    assert_int_equal(gw_name_strict_key(s, k, sizeof(k)), 0);
    return k;
}

static const char *loose(const char *s)
{
    static char k[1024];
    assert_int_equal(gw_name_loose_key(s, k, sizeof(k)), 0);
    return k;
}

static const char *popdb(const char *s, const char *fmt)
{
    static char k[1024];
    assert_int_equal(gw_name_format_popdb(s, fmt, k, sizeof(k)), 0);
    return k;
}

/* ---- display form ---- */

static void test_normalize_composes_decomposed_input(void **state)
{
    /* "Nguyễn" typed in "Unicode tổ hợp": e + U+0302 + U+0303 */
    assert_string_equal(norm("Nguye\xcc\x82\xcc\x83n"), "Nguy\xe1\xbb\x85n");
    assert_string_equal(norm("Nguyễn Văn An"), "Nguyễn Văn An");
}

static void test_normalize_collapses_and_trims_whitespace(void **state)
{
    assert_string_equal(norm("  Nguyễn   Văn  An  "), "Nguyễn Văn An");
    assert_string_equal(norm(""), "");
    assert_string_equal(norm("   "), "");
}

static void test_normalize_maps_unicode_spaces_to_space(void **state)
{
    /* NBSP, EN QUAD, ZWSP, NNBSP, IDEOGRAPHIC SPACE, BOM */
    assert_string_equal(norm("\xc2\xa0Tr\xe1\xba\xa7n\xe2\x80\x80Th\xe1\xbb\x8b\xe2\x80\x8bMai"), "Trần Thị Mai");
    assert_string_equal(norm("L\xc3\xaa\xe2\x80\xaf"
                             "Anh\xe3\x80\x80"
                             "B\xc3\xacnh\xef\xbb\xbf"),
                        "Lê Anh Bình");
    assert_string_equal(norm("\xef\xbb\xbfHoa"), "Hoa");
}

static void test_normalize_maps_eth_lookalikes_to_d_stroke(void **state)
{
    assert_string_equal(norm("\xc3\x90\xe1\xbb\x97 \xc3\xb0\xc3\xa0o"), "Đỗ đào");
}

static void test_normalize_maps_apostrophes_and_dashes(void **state)
{
    assert_string_equal(norm("O\xe2\x80\x99"
                             "Brien"),
                        "O'Brien");
    assert_string_equal(norm("O\xca\xbc"
                             "Brien"),
                        "O'Brien");
    assert_string_equal(norm("O`Brien"), "O'Brien");
    /* U+1FEF GREEK VARIA decomposes to the backtick: mapped too, in one pass */
    assert_string_equal(norm("O\xe1\xbf\xaf"
                             "Brien"),
                        "O'Brien");
    assert_string_equal(norm("Jean\xe2\x80\x90Pierre"), "Jean-Pierre");
    assert_string_equal(norm("Jean\xe2\x80\x94Pierre"), "Jean-Pierre");
}

static void test_normalize_keeps_case(void **state) { assert_string_equal(norm("NGUYỄN văn An"), "NGUYỄN văn An"); }

static void test_normalize_rejects_invalid_utf8(void **state)
{
    snprintf(buf, sizeof(buf), "unchanged");
    assert_int_equal(gw_name_normalize("Hoa\xff", buf, sizeof(buf)), GW_EINVAL);
    assert_string_equal(buf, "unchanged");
    assert_int_equal(gw_name_normalize("\xc3", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_normalize("\xc0\xaf", buf, sizeof(buf)), GW_EINVAL); /* overlong */
    assert_int_equal(gw_name_normalize("\xed\xa0\x80", buf, sizeof(buf)), GW_EINVAL); /* surrogate */
    assert_int_equal(gw_name_normalize("\xf4\x90\x80\x80", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_normalize(NULL, buf, sizeof(buf)), GW_EINVAL);
}

static void test_normalize_rejects_controls_and_replacement_char(void **state)
{
    assert_int_equal(gw_name_normalize("Hoa\tMai", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_normalize("Hoa\nMai", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_normalize("Hoa\x7f", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_normalize("Hoa\xc2\x85", buf, sizeof(buf)), GW_EINVAL); /* NEL */
    assert_int_equal(gw_name_normalize("Hoa\xef\xbf\xbd", buf, sizeof(buf)), GW_EINVAL); /* U+FFFD */
    assert_int_equal(gw_name_normalize("Hoa\xe2\x80\xae", buf, sizeof(buf)), GW_EINVAL); /* RLO */
}

static void test_normalize_reports_small_buffer(void **state)
{
    char small[6] = "xxxxx";
    assert_int_equal(gw_name_normalize("Nguyễn", small, sizeof(small)), GW_ETOOBIG);
    assert_string_equal(small, "xxxxx");
    char exact[9];
    assert_int_equal(gw_name_normalize("Nguyễn", exact, sizeof(exact)), 0);
    assert_string_equal(exact, "Nguyễn");
}

static void test_normalize_rejects_oversized_input(void **state)
{
    char *big = malloc(GW_NAME_MAX_IN + 2);
    assert_non_null(big);
    memset(big, 'a', GW_NAME_MAX_IN + 1);
    big[GW_NAME_MAX_IN + 1] = '\0';
    assert_int_equal(gw_name_normalize(big, buf, sizeof(buf)), GW_ETOOBIG);
    big[GW_NAME_MAX_IN] = '\0';
    char *out = malloc(GW_NAME_MAX_IN + 1);
    assert_non_null(out);
    assert_int_equal(gw_name_normalize(big, out, GW_NAME_MAX_IN + 1), 0);
    assert_string_equal(out, big);
    free(out);
    free(big);
}

static void test_normalize_is_idempotent(void **state)
{
    const char *samples[] = { "  Ðỗ  Thị\xe2\x80\x83Hoà ",
                              "Nguye\xcc\x82\xcc\x83n",
                              "O\xe2\x80\x99"
                              "Brien",
                              "a\xe2\x80\x8b\xcc\x81",
                              "\xcc\x81 x",
                              "\xe1\xbf\xaf" };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char once[256], twice[256];
        assert_int_equal(gw_name_normalize(samples[i], once, sizeof(once)), 0);
        assert_int_equal(gw_name_normalize(once, twice, sizeof(twice)), 0);
        assert_string_equal(once, twice);
    }
}

/* ---- strict key ---- */

static void test_strict_key_unifies_tone_placement(void **state)
{
    assert_string_equal(strict("Hòa"), strict2("Hoà"));
    assert_string_equal(strict("Thủy"), strict2("Thuỷ"));
    assert_string_equal(strict("Khỏe"), strict2("Khoẻ"));
}

static void test_strict_key_keeps_vowel_marks(void **state)
{
    assert_string_not_equal(strict("Lê"), strict2("Le"));
    assert_string_not_equal(strict("Văn"), strict2("Van"));
    assert_string_not_equal(strict("Phương"), strict2("Phuong"));
    assert_string_not_equal(strict("Ơn"), strict2("On"));
    assert_string_not_equal(strict("Đào"), strict2("Dào"));
}

static void test_strict_key_distinguishes_tones(void **state)
{
    const char *tones[] = { "Ma", "Mà", "Má", "Mả", "Mã", "Mạ" };
    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++)
            assert_string_not_equal(strict(tones[i]), strict2(tones[j]));
    assert_string_equal(strict("Ma Mà Má Mả Mã Mạ"), "ma0 ma1 ma2 ma3 ma4 ma5");
}

static void test_strict_key_folds_case_and_form(void **state)
{
    assert_string_equal(strict("NGUYỄN VĂN AN"), strict2("nguyễn văn an"));
    assert_string_equal(strict("Nguye\xcc\x82\xcc\x83n  Va\xcc\x86n An"), strict2("Nguyễn Văn An"));
    assert_string_equal(strict("Nguyễn Văn An"), "nguyên4 văn0 an0");
    assert_string_equal(strict("ÐẶNG"), strict2("Đặng"));
}

static void test_strict_key_tags_each_syllable(void **state)
{
    /* the tone belongs to its syllable: moving it to another one changes the key */
    assert_string_not_equal(strict("Hoà Binh"), strict2("Hoa Bình"));
    assert_string_equal(strict(""), "");
}

static void test_strict_key_keeps_marks_of_a_syllable_with_two_tones(void **state)
{
    /* not a Vietnamese syllable: nothing is removed, tag 0 */
    assert_string_not_equal(strict("a\xcc\x80\xcc\x81"), strict2("a"));
    assert_string_not_equal(strict("a\xcc\x80\xcc\x81"), strict2("à"));
}

static void test_strict_key_rejects_what_normalize_rejects(void **state)
{
    assert_int_equal(gw_name_strict_key("Hoa\xff", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_strict_key("Hoa\x01", buf, sizeof(buf)), GW_EINVAL);
    char small[4];
    assert_int_equal(gw_name_strict_key("Hoa Mai", small, sizeof(small)), GW_ETOOBIG);
}

/* ---- loose key ---- */

static void test_loose_key_strips_every_mark(void **state)
{
    assert_string_equal(loose("Nguyễn Văn A"), "nguyen van a");
    assert_string_equal(loose("ĐẶNG Thị Phương"), "dang thi phuong");
    assert_string_equal(loose("Ðỗ"), "do");
    assert_string_equal(loose("Lê"), loose("Le"));
}

/* ---- population-DB forms ---- */

static void test_popdb_formats(void **state)
{
    assert_string_equal(popdb(" Nguyễn  Văn An", "nfc"), "Nguyễn Văn An");
    assert_string_equal(popdb("Nguyễn Văn An", "nfc_upper"), "NGUYỄN VĂN AN");
    assert_string_equal(popdb("đỗ thị hoà", "nfc_upper"), "ĐỖ THỊ HOÀ");
    assert_string_equal(popdb("Nguyễn Văn An", "ascii_upper_nospace"), "NGUYENVANAN");
    assert_string_equal(popdb("Đặng Thị Ðào", "ascii_upper_nospace"), "DANGTHIDAO");
}

static void test_popdb_upper_case_is_full(void **state)
{
    assert_string_equal(popdb("Straße", "nfc_upper"), "STRASSE");
    assert_string_equal(popdb("Straße", "ascii_upper_nospace"), "STRASSE");
    /* fullwidth letters and ligatures have an ASCII form */
    assert_string_equal(popdb("\xef\xbc\xae\xef\xbd\x87\xef\xbd\x95\xef\xbd\x99\xe1\xbb\x85\xef\xbd\x8e \xef\xac\x81",
                              "ascii_upper_nospace"),
                        "NGUYENFI");
    assert_string_equal(popdb("O\xe2\x80\x99"
                              "Brien Jean\xe2\x80\x90Pierre",
                              "ascii_upper_nospace"),
                        "O'BRIENJEAN-PIERRE");
}

static void test_popdb_rejects_unknown_format_and_non_latin(void **state)
{
    assert_int_equal(gw_name_format_popdb("An", "latin1", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_format_popdb("An", NULL, buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_format_popdb("田中", "ascii_upper_nospace", buf, sizeof(buf)), GW_EINVAL);
    assert_int_equal(gw_name_format_popdb("An\xff", "nfc", buf, sizeof(buf)), GW_EINVAL);
}

/* ---- legacy encodings ---- */

static void test_legacy_flags_tcvn3(void **state)
{
    assert_int_equal(gw_name_legacy_encoding("B\xc2\xb6o Th\xc2\xbeng"), GW_ACCT_FLAG_LEGACY_ENCODING); /* B¶o Th¾ng */
    assert_int_equal(gw_name_legacy_encoding("NguyÔn ThÞ Hoµ"), GW_ACCT_FLAG_LEGACY_ENCODING);
    assert_int_equal(gw_name_legacy_encoding("TrÇn V¨n Lª"), GW_ACCT_FLAG_LEGACY_ENCODING);
    assert_int_equal(gw_name_legacy_encoding("§øc"), GW_ACCT_FLAG_LEGACY_ENCODING);
}

static void test_legacy_flags_vni(void **state)
{
    assert_int_equal(gw_name_legacy_encoding("Xin chaøo caùc baïn"), GW_ACCT_FLAG_LEGACY_ENCODING);
    assert_int_equal(gw_name_legacy_encoding("Leâ Vaên Taùm"), GW_ACCT_FLAG_LEGACY_ENCODING);
    assert_int_equal(gw_name_legacy_encoding("Nguyeãn Thò Hoa Ñöùc"), GW_ACCT_FLAG_LEGACY_ENCODING);
    assert_int_equal(gw_name_legacy_encoding("caùc baïn"), GW_ACCT_FLAG_LEGACY_ENCODING);
}

static void test_legacy_leaves_unicode_and_foreign_names(void **state)
{
    const char *ok[] = { "Nguyễn Văn An",
                         "Tanaka Hiroshi",
                         "José",
                         "FRANÇOIS Dupont",
                         "Raúl",
                         "Anaïs",
                         "Straße",
                         "Søren Kierkegaard",
                         "Müller",
                         "Ölander",
                         "Nguye\xcc\x82\xcc\x83n",
                         "Chloé",
                         "",
                         "B¶o Thắng",
                         "O'Brien",
                         "© 2024",
                         "Hoàng Minh Hoà",
                         "Già Quà",
                         "Tuân Tiên Yên",
                         "Khoá Thuý Khoè",
                         "Lê Thị Lan",
                         "Võ Hùng",
                         "HOÀNG THÙY" };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (gw_name_legacy_encoding(ok[i]) != 0)
            fail_msg("flagged: %s", ok[i]);
    }
    assert_int_equal(gw_name_legacy_encoding(NULL), 0);
    assert_int_equal(gw_name_legacy_encoding("B\xb6o"), 0); /* raw Latin-1 is not UTF-8 */
}

static void test_legacy_detection_never_changes_the_name(void **state)
{
    const char *s = "B\xc2\xb6o Th\xc2\xbeng";
    assert_string_equal(norm(s), s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_composes_decomposed_input),
        cmocka_unit_test(test_normalize_collapses_and_trims_whitespace),
        cmocka_unit_test(test_normalize_maps_unicode_spaces_to_space),
        cmocka_unit_test(test_normalize_maps_eth_lookalikes_to_d_stroke),
        cmocka_unit_test(test_normalize_maps_apostrophes_and_dashes),
        cmocka_unit_test(test_normalize_keeps_case),
        cmocka_unit_test(test_normalize_rejects_invalid_utf8),
        cmocka_unit_test(test_normalize_rejects_controls_and_replacement_char),
        cmocka_unit_test(test_normalize_reports_small_buffer),
        cmocka_unit_test(test_normalize_rejects_oversized_input),
        cmocka_unit_test(test_normalize_is_idempotent),
        cmocka_unit_test(test_strict_key_unifies_tone_placement),
        cmocka_unit_test(test_strict_key_keeps_vowel_marks),
        cmocka_unit_test(test_strict_key_distinguishes_tones),
        cmocka_unit_test(test_strict_key_folds_case_and_form),
        cmocka_unit_test(test_strict_key_tags_each_syllable),
        cmocka_unit_test(test_strict_key_keeps_marks_of_a_syllable_with_two_tones),
        cmocka_unit_test(test_strict_key_rejects_what_normalize_rejects),
        cmocka_unit_test(test_loose_key_strips_every_mark),
        cmocka_unit_test(test_popdb_formats),
        cmocka_unit_test(test_popdb_upper_case_is_full),
        cmocka_unit_test(test_popdb_rejects_unknown_format_and_non_latin),
        cmocka_unit_test(test_legacy_flags_tcvn3),
        cmocka_unit_test(test_legacy_flags_vni),
        cmocka_unit_test(test_legacy_leaves_unicode_and_foreign_names),
        cmocka_unit_test(test_legacy_detection_never_changes_the_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
