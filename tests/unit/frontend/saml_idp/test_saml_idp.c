/* Unit tests for the SAML IdP's pure parts: the byte budget of a request, the level of an
 * AuthnContextClassRef and back, the least level a RequestedAuthnContext asks for (never
 * below the portal's own minimum), the signature algorithms accepted on input, and when
 * a LogoutRequest is about the browser's session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gw_saml_idp.h"

#define PPT "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

static void test_request_budget_is_64_kb(void **state)
{
    (void)state;
    assert_false(gw_saml_request_fits(0));
    assert_true(gw_saml_request_fits(1));
    assert_true(gw_saml_request_fits(64 * 1024));
    assert_false(gw_saml_request_fits(64 * 1024 + 1));
}

static void test_levels_and_class_refs_map_both_ways(void **state)
{
    (void)state;
    assert_string_equal(gw_saml_class_for_level(1), "urn:vn:eid:level:1");
    assert_string_equal(gw_saml_class_for_level(2), "urn:vn:eid:level:2");
    assert_string_equal(gw_saml_class_for_level(0), PPT); /* a legacy password */
    for (int l = 1; l <= 2; l++)
        assert_int_equal(gw_saml_level_for_class(gw_saml_class_for_level(l)), l);
    assert_int_equal(gw_saml_level_for_class(PPT), 0);
    assert_int_equal(gw_saml_level_for_class("urn:vn:eid:level:3"), 0);
    assert_int_equal(gw_saml_level_for_class("urn:vn:eid:level:2 "), 0);
    assert_int_equal(gw_saml_level_for_class(NULL), 0);
}

static void test_requested_context_raises_never_lowers_the_portal_minimum(void **state)
{
    (void)state;
    const char *l1[] = { "urn:vn:eid:level:1" }, *l2[] = { "urn:vn:eid:level:2" };
    const char *both[] = { "urn:vn:eid:level:2", "urn:vn:eid:level:1" }, *other[] = { PPT };
    assert_int_equal(gw_saml_min_level(NULL, NULL, 0, 1), 1); /* nothing asked: the portal's */
    assert_int_equal(gw_saml_min_level(NULL, NULL, 0, 2), 2);
    assert_int_equal(gw_saml_min_level("exact", l2, 1, 1), 2); /* raised */
    assert_int_equal(gw_saml_min_level("minimum", l1, 1, 2), 2); /* never lowered */
    assert_int_equal(gw_saml_min_level(NULL, l1, 1, 1), 1);
    assert_int_equal(gw_saml_min_level("minimum", both, 2, 1), 1); /* the least of those named */
    assert_int_equal(gw_saml_min_level("better", l1, 1, 1), 2);
    assert_int_equal(gw_saml_min_level("better", l2, 1, 1), -1); /* nothing above level 2 */
    assert_int_equal(gw_saml_min_level("maximum", l1, 1, 1), 1);
    assert_int_equal(gw_saml_min_level("maximum", l1, 1, 2), -1); /* the portal wants more */
    assert_int_equal(gw_saml_min_level("exact", other, 1, 1), -1); /* no e-ID level: NoAuthnContext */
    assert_int_equal(gw_saml_min_level("sideways", l1, 1, 1), -1);
}

static void test_only_rsa_sha2_signatures_are_accepted(void **state)
{
    (void)state;
    assert_true(gw_saml_sigalg_ok("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"));
    assert_true(gw_saml_sigalg_ok("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"));
    assert_false(gw_saml_sigalg_ok("http://www.w3.org/2000/09/xmldsig#rsa-sha1"));
    assert_false(gw_saml_sigalg_ok("http://www.w3.org/2000/09/xmldsig#dsa-sha1"));
    assert_false(gw_saml_sigalg_ok("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256x"));
    assert_false(gw_saml_sigalg_ok(""));
    assert_false(gw_saml_sigalg_ok(NULL));
}

static void test_logout_request_matches_by_session_index_else_by_name_id(void **state)
{
    (void)state;
    const char *mine[] = { "other", "ix-mine" }, *others[] = { "ix-other" }, *nul[] = { NULL };
    /* with SessionIndexes: one of them must be this session's; the NameID does not help */
    assert_true(gw_saml_logout_matches(mine, 2, "ix-mine", "sub-x", "sub-a"));
    assert_false(gw_saml_logout_matches(others, 1, "ix-mine", "sub-a", "sub-a"));
    assert_false(gw_saml_logout_matches(nul, 1, "ix-mine", "sub-a", "sub-a"));
    assert_false(gw_saml_logout_matches(mine, 2, NULL, "sub-a", "sub-a"));
    assert_false(gw_saml_logout_matches(mine, 2, "ix-min", NULL, NULL)); /* a prefix is not it */
    /* without: the NameID must be the portal's pairwise id for the session's citizen */
    assert_true(gw_saml_logout_matches(NULL, 0, "ix-mine", "sub-a", "sub-a"));
    assert_false(gw_saml_logout_matches(NULL, 0, "ix-mine", "sub-b", "sub-a"));
    assert_false(gw_saml_logout_matches(NULL, 0, "ix-mine", NULL, "sub-a"));
    assert_false(gw_saml_logout_matches(NULL, 0, "ix-mine", "sub-a", NULL)); /* the session is gone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_budget_is_64_kb),
        cmocka_unit_test(test_levels_and_class_refs_map_both_ways),
        cmocka_unit_test(test_requested_context_raises_never_lowers_the_portal_minimum),
        cmocka_unit_test(test_only_rsa_sha2_signatures_are_accepted),
        cmocka_unit_test(test_logout_request_matches_by_session_index_else_by_name_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
