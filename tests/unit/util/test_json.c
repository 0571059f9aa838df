/* Unit tests for gw_json_parse: the values it builds, what it refuses and why, and that
 * it reads what jansson reads (fuzz_json holds that over arbitrary input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_json.h"

static json_t *parse(const char *text, char *err, size_t errlen)
{
    return gw_json_parse(text, strlen(text), err, errlen);
}

static void test_values_are_built_like_janssons(void **state)
{
    (void)state;
    const char *text = " {\"s\":\"Nguy\\u1ec5n V\\u0103n A\",\"u\":\"Nguyễn\",\"e\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\tz\","
                       "\"i\":-42,\"z\":-0,\"r\":1.5e3,\"t\":true,\"f\":false,\"n\":null,"
                       "\"a\":[1,[2,{}],[]],\"o\":{\"k\":\"\\ud83d\\ude00\"},\"big\":9223372036854775807} \r\n";
    char err[128];
    json_t *ours = parse(text, err, sizeof(err));
    assert_non_null(ours);
    assert_string_equal(err, "");
    json_t *ref = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(ref);
    assert_true(json_equal(ours, ref));
    assert_string_equal(json_string_value(json_object_get(ours, "s")), "Nguyễn Văn A");
    assert_string_equal(json_string_value(json_object_get(ours, "e")), "a\"\\/\b\f\n\r\tz");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ours, "o"), "k")), "\xf0\x9f\x98\x80");
    assert_true(json_is_integer(json_object_get(ours, "i")));
    assert_int_equal(json_integer_value(json_object_get(ours, "big")), INT64_MAX);
    assert_true(json_is_real(json_object_get(ours, "r")));
    assert_true(json_real_value(json_object_get(ours, "r")) == 1500.0);
    json_decref(ours);
    json_decref(ref);
}

static void test_refusals_name_the_reason_and_offset(void **state)
{
    (void)state;
    static const struct {
        const char *text, *reason;
    } cases[] = {
        { "", "'[' or '{' expected at offset 0" },
        { "\"top\"", "'[' or '{' expected at offset 0" },
        { "{\"a\":1,\"a\":2}", "duplicate object key at offset 7" },
        { "{\"a\":1,}", "'\"' expected at offset 7" },
        { "[1,]", "value expected at offset 3" },
        { "[01]", "',' or ']' expected at offset 2" },
        { "[1.]", "invalid number at offset 3" },
        { "[-]", "invalid number at offset 2" },
        { "[1e+]", "invalid number at offset 4" },
        { "[9223372036854775808]", "integer out of range at offset 1" },
        { "[-9223372036854775809]", "integer out of range at offset 1" },
        { "[1e400]", "real number overflow at offset 1" },
        { "[\"\\u0000\"]", "\\u0000 is not allowed at offset 8" },
        { "[\"\\ud800\"]", "invalid \\u escape (lone surrogate) at offset 8" },
        { "[\"\\udc00\"]", "invalid \\u escape (lone surrogate) at offset 8" },
        { "[\"\\ud800\\u0041\"]", "invalid \\u escape (lone surrogate) at offset 8" },
        { "[\"\\x\"]", "invalid escape at offset 3" },
        { "[\"\\u12g4\"]", "invalid escape at offset 4" },
        { "[\"a\tb\"]", "control character in string at offset 3" },
        { "[\"\xc0\xaf\"]", "invalid UTF-8 at offset 2" }, /* overlong '/' */
        { "[\"\xed\xa0\x80\"]", "invalid UTF-8 at offset 2" }, /* a surrogate in UTF-8 */
        { "[\"\xf4\x90\x80\x80\"]", "invalid UTF-8 at offset 2" }, /* beyond U+10FFFF */
        { "[\"\xe2\x82\"]", "invalid UTF-8 at offset 2" }, /* cut short */
        { "[\"abc", "unterminated string at offset 5" },
        { "[\"a\\", "unterminated string at offset 4" },
        { "[tru]", "invalid literal at offset 1" },
        { "{} x", "end of text expected at offset 3" },
        { "{\"a\" 1}", "':' expected at offset 5" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[128];
        json_t *v = parse(cases[i].text, err, sizeof(err));
        if (v || strcmp(err, cases[i].reason))
            fail_msg("case %zu (%s): got %s, want %s", i, cases[i].text, v ? "a value" : err, cases[i].reason);
        /* jansson refuses each of them too */
        assert_null(json_loads(cases[i].text, JSON_REJECT_DUPLICATES, NULL));
    }
}

static void test_nesting_is_capped(void **state)
{
    (void)state;
    char deep[2 * GW_JSON_MAX_DEPTH + 8];
    for (int d = GW_JSON_MAX_DEPTH; d <= GW_JSON_MAX_DEPTH + 1; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        json_t *v = gw_json_parse(deep, (size_t)(2 * d), NULL, 0);
        if (d == GW_JSON_MAX_DEPTH)
            assert_non_null(v);
        else
            assert_null(v);
        json_decref(v);
    }
}

static void test_nul_outside_strings_is_refused(void **state)
{
    (void)state;
    char err[128];
    json_t *v = gw_json_parse("[1\0,2]", 6, err, sizeof(err));
    assert_null(v);
    assert_string_equal(err, "',' or ']' expected at offset 2");
    assert_null(gw_json_parse_str(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_are_built_like_janssons),
        cmocka_unit_test(test_refusals_name_the_reason_and_offset),
        cmocka_unit_test(test_nesting_is_capped),
        cmocka_unit_test(test_nul_outside_strings_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
