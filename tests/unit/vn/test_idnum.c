/* Unit tests for gw_idnum: the ID number rules of docs/domain.md sections 3 and 4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw_idnum.h"

#define YEAR 2025

static int check(const char *s, gw_id_info_t *ret) { return gw_id_check(s, strlen(s), YEAR, ret); }

static void test_accepts_personal_id(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001085123456", &info), GW_ID_OK);
    assert_int_equal(info.kind, GW_ID_PERSONAL);
    assert_string_equal(info.digits, "001085123456");
    assert_int_equal(info.birth_year, 1985);
    assert_int_equal(info.sex, 'M');
    assert_string_equal(info.place, "001");
    assert_non_null(info.province);
    assert_string_equal(info.province, "Hà Nội");
    assert_int_equal(info.warnings, 0);
}

static void test_accepts_cmnd9(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("123456789", &info), GW_ID_OK);
    assert_int_equal(info.kind, GW_ID_CMND9);
    assert_string_equal(info.digits, "123456789");
    assert_int_equal(info.birth_year, 0);
    assert_int_equal(info.sex, 0);
    assert_string_equal(info.place, "");
    assert_null(info.province);
    assert_int_equal(info.warnings, 0);
}

static void test_keeps_leading_zeros(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("000123456", &info), GW_ID_OK);
    assert_int_equal(info.kind, GW_ID_CMND9);
    assert_string_equal(info.digits, "000123456");
    assert_int_equal(check("079300000001", &info), GW_ID_OK);
    assert_string_equal(info.digits, "079300000001");
    assert_string_equal(info.place, "079");
    assert_string_equal(info.province, "TP Hồ Chí Minh");
    assert_int_equal(info.birth_year, 2000);
    assert_int_equal(info.sex, 'F');
}

static void test_rejects_letter(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("00108512345A", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("O01085123456", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("12345678x", &info), GW_ID_ERR_FORMAT);
}

static void test_rejects_separators_and_signs(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001 085 123 456", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("001-085-123456", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("+01085123456", &info), GW_ID_ERR_FORMAT);
    /* Full-width digits are not ASCII digits. */
    assert_int_equal(check("\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91", &info), GW_ID_ERR_FORMAT);
}

static void test_format_error_wins_over_length(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("1a", &info), GW_ID_ERR_FORMAT);
}

static void test_rejects_wrong_lengths(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check(" \t ", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check("12345678", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check("1234567890", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check("00108512345", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check("0010851234567", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check("00108512345600108512345600", &info), GW_ID_ERR_LENGTH);
}

static void test_trims_only_space_and_tab(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check(" \t 001085123456\t  ", &info), GW_ID_OK);
    assert_string_equal(info.digits, "001085123456");
    assert_int_equal(check("\t123456789 ", &info), GW_ID_OK);
    assert_string_equal(info.digits, "123456789");

    assert_int_equal(check("001085123456\n", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("001085123456\r\n", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("\n001085123456", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("\v001085123456", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("\f001085123456", &info), GW_ID_ERR_FORMAT);
    /* NBSP (U+00A0) and ideographic space (U+3000) */
    assert_int_equal(check("\xc2\xa0"
                           "001085123456",
                           &info),
                     GW_ID_ERR_FORMAT);
    assert_int_equal(check("001085123456\xe3\x80\x80", &info), GW_ID_ERR_FORMAT);
}

static void test_nul_byte_is_format_error(void **state)
{
    gw_id_info_t info;
    assert_int_equal(gw_id_check("00108512345\0"
                                 "6",
                                 13, YEAR, &info),
                     GW_ID_ERR_FORMAT);
    assert_int_equal(gw_id_check("123456789\0", 10, YEAR, &info), GW_ID_ERR_FORMAT);
}

static void test_reads_only_len_bytes(void **state)
{
    gw_id_info_t info;
    const char buf[] = { '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X', 'Y' };
    assert_int_equal(gw_id_check(buf, 9, YEAR, &info), GW_ID_OK);
    assert_string_equal(info.digits, "123456789");
    assert_int_equal(gw_id_check("001085123456789", 12, YEAR, &info), GW_ID_OK);
    assert_string_equal(info.digits, "001085123456");
}

static void test_null_input(void **state)
{
    gw_id_info_t info;
    assert_int_equal(gw_id_check(NULL, 0, YEAR, &info), GW_ID_ERR_LENGTH);
    assert_int_equal(gw_id_check(NULL, 12, YEAR, &info), GW_ID_ERR_FORMAT);
}

static void test_failure_leaves_result_untouched(void **state)
{
    gw_id_info_t info;
    memset(&info, 0x5a, sizeof(info));
    gw_id_info_t before = info;
    assert_int_equal(check("00108512345A", &info), GW_ID_ERR_FORMAT);
    assert_int_equal(check("0010851234", &info), GW_ID_ERR_LENGTH);
    assert_int_equal(check("001885123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_memory_equal(&info, &before, sizeof(info));
}

static void test_century_digits_0_to_3(void **state)
{
    static const struct {
        const char *id;
        int year;
        char sex;
    } cases[] = {
        { "001085123456", 1985, 'M' }, { "001185123456", 1985, 'F' }, { "001000123456", 1900, 'M' },
        { "001199123456", 1999, 'F' }, { "001200123456", 2000, 'M' }, { "001305123456", 2005, 'F' },
        { "001225123456", 2025, 'M' }, { "001325123456", 2025, 'F' },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_id_info_t info;
        assert_int_equal(check(cases[i].id, &info), GW_ID_OK);
        assert_int_equal(info.birth_year, cases[i].year);
        assert_int_equal(info.sex, cases[i].sex);
    }
}

static void test_birth_year_after_current_year_is_impossible(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001226123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(check("001399123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(gw_id_check("001226123456", 12, 2026, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2026);
}

static void test_century_digits_4_to_7_are_22nd_and_23rd_century(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001400123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(check("001500123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(check("001600123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(check("001700123456", &info), GW_ID_ERR_IMPOSSIBLE);

    assert_int_equal(gw_id_check("001412123456", 12, 2150, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2112);
    assert_int_equal(info.sex, 'M');
    assert_int_equal(gw_id_check("001512123456", 12, 2150, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2112);
    assert_int_equal(info.sex, 'F');
    assert_int_equal(gw_id_check("001699123456", 12, 2299, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2299);
    assert_int_equal(info.sex, 'M');
    assert_int_equal(gw_id_check("001701123456", 12, 2299, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2201);
    assert_int_equal(info.sex, 'F');
}

static void test_century_digit_8_is_24th_century_and_impossible_today(void **state)
{
    gw_id_info_t info;
    /* Not 1800-1899: digits 8/9 mean 2300-2399. */
    assert_int_equal(check("001850123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(check("001950123456", &info), GW_ID_ERR_IMPOSSIBLE);
    assert_int_equal(gw_id_check("001850123456", 12, 2399, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2350);
    assert_int_equal(info.sex, 'M');
    assert_int_equal(gw_id_check("001950123456", 12, 2399, &info), GW_ID_OK);
    assert_int_equal(info.birth_year, 2350);
    assert_int_equal(info.sex, 'F');
}

static void test_place_unknown_is_warning(void **state)
{
    static const char *const ids[] = { "000085123456", "003085123456", "097085123456", "999085123456", "100085123456" };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        gw_id_info_t info;
        assert_int_equal(check(ids[i], &info), GW_ID_OK);
        assert_int_equal(info.kind, GW_ID_PERSONAL);
        assert_int_equal(info.warnings, GW_ID_WARN_PLACE_UNKNOWN);
        assert_null(info.province);
        assert_memory_equal(info.place, ids[i], 3);
        assert_int_equal(info.place[3], '\0');
        assert_int_equal(info.birth_year, 1985);
    }
}

/* An independent copy of docs/domain.md section 4, in the document's order. */
static const struct {
    const char *code;
    const char *name;
} legacy[] = {
    { "001", "Hà Nội" },
    { "002", "Hà Giang" },
    { "004", "Cao Bằng" },
    { "006", "Bắc Kạn" },
    { "008", "Tuyên Quang" },
    { "010", "Lào Cai" },
    { "011", "Điện Biên" },
    { "012", "Lai Châu" },
    { "014", "Sơn La" },
    { "015", "Yên Bái" },
    { "017", "Hòa Bình" },
    { "019", "Thái Nguyên" },
    { "020", "Lạng Sơn" },
    { "022", "Quảng Ninh" },
    { "024", "Bắc Giang" },
    { "025", "Phú Thọ" },
    { "026", "Vĩnh Phúc" },
    { "027", "Bắc Ninh" },
    { "030", "Hải Dương" },
    { "031", "Hải Phòng" },
    { "033", "Hưng Yên" },
    { "034", "Thái Bình" },
    { "035", "Hà Nam" },
    { "036", "Nam Định" },
    { "037", "Ninh Bình" },
    { "038", "Thanh Hóa" },
    { "040", "Nghệ An" },
    { "042", "Hà Tĩnh" },
    { "044", "Quảng Bình" },
    { "045", "Quảng Trị" },
    { "046", "Thừa Thiên Huế" },
    { "048", "Đà Nẵng" },
    { "049", "Quảng Nam" },
    { "051", "Quảng Ngãi" },
    { "052", "Bình Định" },
    { "054", "Phú Yên" },
    { "056", "Khánh Hòa" },
    { "058", "Ninh Thuận" },
    { "060", "Bình Thuận" },
    { "062", "Kon Tum" },
    { "064", "Gia Lai" },
    { "066", "Đắk Lắk" },
    { "067", "Đắk Nông" },
    { "068", "Lâm Đồng" },
    { "070", "Bình Phước" },
    { "072", "Tây Ninh" },
    { "074", "Bình Dương" },
    { "075", "Đồng Nai" },
    { "077", "Bà Rịa - Vũng Tàu" },
    { "079", "TP Hồ Chí Minh" },
    { "080", "Long An" },
    { "082", "Tiền Giang" },
    { "083", "Bến Tre" },
    { "084", "Trà Vinh" },
    { "086", "Vĩnh Long" },
    { "087", "Đồng Tháp" },
    { "089", "An Giang" },
    { "091", "Kiên Giang" },
    { "092", "Cần Thơ" },
    { "093", "Hậu Giang" },
    { "094", "Sóc Trăng" },
    { "095", "Bạc Liêu" },
    { "096", "Cà Mau" },
};

static void test_each_of_the_63_legacy_codes_is_accepted(void **state)
{
    size_t n = sizeof(legacy) / sizeof(legacy[0]);
    assert_int_equal(n, 63);
    for (size_t i = 0; i < n; i++) {
        char id[13];
        snprintf(id, sizeof(id), "%s190654321", legacy[i].code);
        gw_id_info_t info;
        assert_int_equal(check(id, &info), GW_ID_OK);
        assert_int_equal(info.warnings, 0);
        assert_string_equal(info.place, legacy[i].code);
        assert_non_null(info.province);
        assert_string_equal(info.province, legacy[i].name);
        assert_int_equal(info.birth_year, 1990);
        assert_int_equal(info.sex, 'F');
        assert_string_equal(gw_id_province(legacy[i].code), legacy[i].name);
    }
}

static void test_no_other_code_is_a_province(void **state)
{
    size_t found = 0;
    for (int c = 0; c < 1000; c++) {
        char code[4];
        snprintf(code, sizeof(code), "%03d", c);
        if (gw_id_province(code) != NULL)
            found++;
    }
    assert_int_equal(found, 63);
}

static void test_province_needs_exactly_three_chars(void **state)
{
    assert_null(gw_id_province(NULL));
    assert_null(gw_id_province(""));
    assert_null(gw_id_province("01"));
    assert_null(gw_id_province("0011"));
    assert_null(gw_id_province("1"));
    assert_string_equal(gw_id_province("096"), "Cà Mau");
}

static void test_compare_matching_dob_and_sex_gives_no_warning(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001085123456", &info), GW_ID_OK);
    assert_int_equal(gw_id_compare(&info, 1985, 'M'), 0);
    assert_int_equal(gw_id_compare(&info, 0, 0), 0);
    assert_int_equal(gw_id_compare(&info, 1985, 'm'), 0);
    assert_int_equal(info.warnings, 0);
}

static void test_compare_dob_mismatch_is_warning(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001085123456", &info), GW_ID_OK);
    assert_int_equal(gw_id_compare(&info, 1986, 'M'), GW_ID_WARN_DOB_MISMATCH);
    assert_int_equal(info.warnings, GW_ID_WARN_DOB_MISMATCH);
}

static void test_compare_sex_mismatch_is_warning(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("001085123456", &info), GW_ID_OK);
    assert_int_equal(gw_id_compare(&info, 0, 'F'), GW_ID_WARN_SEX_MISMATCH);
    assert_int_equal(info.warnings, GW_ID_WARN_SEX_MISMATCH);
    assert_int_equal(check("001185123456", &info), GW_ID_OK);
    assert_int_equal(gw_id_compare(&info, 1985, 'm'), GW_ID_WARN_SEX_MISMATCH);
}

static void test_compare_ors_into_existing_warnings(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("098085123456", &info), GW_ID_OK);
    assert_int_equal(info.warnings, GW_ID_WARN_PLACE_UNKNOWN);
    assert_int_equal(gw_id_compare(&info, 1984, 'F'), GW_ID_WARN_DOB_MISMATCH | GW_ID_WARN_SEX_MISMATCH);
    assert_int_equal(info.warnings, GW_ID_WARN_PLACE_UNKNOWN | GW_ID_WARN_DOB_MISMATCH | GW_ID_WARN_SEX_MISMATCH);
}

static void test_compare_ignores_cmnd9(void **state)
{
    gw_id_info_t info;
    assert_int_equal(check("123456789", &info), GW_ID_OK);
    assert_int_equal(gw_id_compare(&info, 1985, 'F'), 0);
    assert_int_equal(info.warnings, 0);
}

static void test_mask_personal_id(void **state)
{
    char out[32];
    gw_id_mask("001085123456", out, sizeof(out));
    assert_string_equal(out, "001*******56");
}

static void test_mask_cmnd9_and_other_strings(void **state)
{
    char out[32];
    gw_id_mask("012345678", out, sizeof(out));
    assert_string_equal(out, "012****78");
    gw_id_mask("abcdef", out, sizeof(out));
    assert_string_equal(out, "abc*ef");
    gw_id_mask("12345", out, sizeof(out));
    assert_string_equal(out, "*****");
    gw_id_mask("1", out, sizeof(out));
    assert_string_equal(out, "*");
    gw_id_mask("", out, sizeof(out));
    assert_string_equal(out, "");
    gw_id_mask(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_mask_truncates_to_outlen(void **state)
{
    char out[8];
    memset(out, 'x', sizeof(out));
    gw_id_mask("001085123456", out, 5);
    assert_string_equal(out, "001*");
    assert_int_equal(out[5], 'x');
    gw_id_mask("001085123456", out, 1);
    assert_string_equal(out, "");
    out[0] = 'x';
    gw_id_mask("001085123456", out, 0);
    assert_int_equal(out[0], 'x');
}

static void test_strerror_names(void **state)
{
    assert_string_equal(gw_id_strerror(GW_ID_OK), "ok");
    assert_string_equal(gw_id_strerror(GW_ID_ERR_FORMAT), "format");
    assert_string_equal(gw_id_strerror(GW_ID_ERR_LENGTH), "length");
    assert_string_equal(gw_id_strerror(GW_ID_ERR_IMPOSSIBLE), "impossible");
    assert_string_equal(gw_id_strerror(-99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_personal_id),
        cmocka_unit_test(test_accepts_cmnd9),
        cmocka_unit_test(test_keeps_leading_zeros),
        cmocka_unit_test(test_rejects_letter),
        cmocka_unit_test(test_rejects_separators_and_signs),
        cmocka_unit_test(test_format_error_wins_over_length),
        cmocka_unit_test(test_rejects_wrong_lengths),
        cmocka_unit_test(test_trims_only_space_and_tab),
        cmocka_unit_test(test_nul_byte_is_format_error),
        cmocka_unit_test(test_reads_only_len_bytes),
        cmocka_unit_test(test_null_input),
        cmocka_unit_test(test_failure_leaves_result_untouched),
        cmocka_unit_test(test_century_digits_0_to_3),
        cmocka_unit_test(test_birth_year_after_current_year_is_impossible),
        cmocka_unit_test(test_century_digits_4_to_7_are_22nd_and_23rd_century),
        cmocka_unit_test(test_century_digit_8_is_24th_century_and_impossible_today),
        cmocka_unit_test(test_place_unknown_is_warning),
        cmocka_unit_test(test_each_of_the_63_legacy_codes_is_accepted),
        cmocka_unit_test(test_no_other_code_is_a_province),
        cmocka_unit_test(test_province_needs_exactly_three_chars),
        cmocka_unit_test(test_compare_matching_dob_and_sex_gives_no_warning),
        cmocka_unit_test(test_compare_dob_mismatch_is_warning),
        cmocka_unit_test(test_compare_sex_mismatch_is_warning),
        cmocka_unit_test(test_compare_ors_into_existing_warnings),
        cmocka_unit_test(test_compare_ignores_cmnd9),
        cmocka_unit_test(test_mask_personal_id),
        cmocka_unit_test(test_mask_cmnd9_and_other_strings),
        cmocka_unit_test(test_mask_truncates_to_outlen),
        cmocka_unit_test(test_strerror_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
