/* Unit tests for the page language (gw_req_lang): ?lang=, the lang cookie and ui_locales,
 * each read as a language tag by its primary subtag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_page.h"

/* the language of a request with this query, Cookie header and ui_locales */
static const char *lang_of(const char *query, const char *cookie, const char *ui_locales)
{
    static const gw_pages_t pg = { .lang_cookie = "lang" };
    gw_req_t req;
    memset(&req, 0, sizeof(req));
    req.cookie = (char *)cookie;
    assert_int_equal(gw_form_parse(&req.q, query, strlen(query), 16), GW_OK);
    const char *l = gw_req_lang(&req, &pg, ui_locales);
    gw_form_cleanup(&req.q);
    return l;
}

static void test_query_then_cookie_then_ui_locales(void **state)
{
    assert_string_equal(lang_of("lang=en", "lang=vi", "vi"), "en");
    assert_string_equal(lang_of("", "lang=en", "vi"), "en");
    assert_string_equal(lang_of("", NULL, "fr en"), "en");
    assert_string_equal(lang_of("", NULL, NULL), "vi");
}

static void test_a_region_subtag_and_any_case_match(void **state)
{
    assert_string_equal(lang_of("lang=en-GB", NULL, NULL), "en");
    assert_string_equal(lang_of("", "lang=EN", NULL), "en");
    assert_string_equal(lang_of("", NULL, "de-DE En-US"), "en");
    assert_string_equal(lang_of("lang=VI", "lang=en", NULL), "vi");
}

static void test_a_longer_primary_subtag_is_another_language(void **state)
{
    /* "env" and "english" are not the tag "en"; the next source decides */
    assert_string_equal(lang_of("lang=english", "lang=en", NULL), "en");
    assert_string_equal(lang_of("lang=env", NULL, NULL), "vi");
    assert_string_equal(lang_of("", "lang=enx", "en"), "en");
    assert_string_equal(lang_of("", NULL, "env vix en"), "en");
    assert_string_equal(lang_of("", NULL, "enq"), "vi");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_then_cookie_then_ui_locales),
        cmocka_unit_test(test_a_region_subtag_and_any_case_match),
        cmocka_unit_test(test_a_longer_primary_subtag_is_another_language),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
