/* Unit tests for the SAML IdP's pure parts: the byte budget of a request, the level of an
 * AuthnContextClassRef and back, the least level a RequestedAuthnContext asks for (never
 * below the portal's own minimum), the signature and digest algorithms accepted on input (in the Signature of a
 * POSTed request: its elements, not its text), and the SP
 * metadata's signing certificate, what makes a request malformed (not base64, not
 * DEFLATE, not the message expected), and when a LogoutRequest is about the browser's
 * session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

static void test_idp_initiated_relay_state_is_at_most_80_bytes(void **state)
{
    (void)state;
    char s[82];
    memset(s, 'a', sizeof(s) - 1);
    s[81] = 0;
    assert_false(gw_saml_relay_state_ok(s)); /* 81 bytes */
    s[80] = 0;
    assert_true(gw_saml_relay_state_ok(s)); /* 80 */
    assert_true(gw_saml_relay_state_ok(""));
    assert_true(gw_saml_relay_state_ok(NULL)); /* none */
    /* bytes, not characters: 27 Vietnamese letters of 3 bytes each are 81 */
    char v[27 * 3 + 1] = { 0 };
    for (int i = 0; i < 27; i++)
        memcpy(v + 3 * i, "\xe1\xba\xa1", 3); /* U+1EA1 */
    assert_false(gw_saml_relay_state_ok(v));
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

#define MD_HEAD                                                                                                 \
    "<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" "                                        \
    "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"http://sp.example/md\"><SPSSODescriptor>"
#define MD_TAIL "</SPSSODescriptor></EntityDescriptor>"
#define KD(use, cert)                                                                                          \
    "<KeyDescriptor" use "><ds:KeyInfo><ds:X509Data><ds:X509Certificate>" cert                                \
    "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>"

static int has_key(const char *md) { return gw_saml_metadata_has_signing_key(md, strlen(md)); }

static void test_sp_metadata_needs_a_signing_certificate(void **state)
{
    (void)state;
    assert_int_equal(has_key(MD_HEAD KD(" use=\"signing\"", "MIIBcert") MD_TAIL), 1);
    assert_int_equal(has_key(MD_HEAD KD("", "MIIBcert") MD_TAIL), 1); /* a key for any use */
    assert_int_equal(has_key(MD_HEAD KD(" use=\"encryption\"", "MIIBcert") KD(" use=\"signing\"", "MIIB") MD_TAIL),
                     1);
    assert_int_equal(has_key(MD_HEAD MD_TAIL), 0);
    assert_int_equal(has_key(MD_HEAD KD(" use=\"encryption\"", "MIIBcert") MD_TAIL), 0);
    assert_int_equal(has_key(MD_HEAD KD(" use=\"signing\"", " \n ") MD_TAIL), 0);
    /* a key outside the SPSSODescriptor is not the SP's */
    assert_int_equal(has_key("<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                             "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">" KD("", "MIIBcert")
                             "<SPSSODescriptor/></EntityDescriptor>"),
                     0);
    assert_int_equal(has_key("<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>"), -1);
    assert_int_equal(has_key("not xml"), -1);
    assert_int_equal(has_key(""), -1);
}

#define AR_HEAD                                                                                                 \
    "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "                                \
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a\" Version=\"2.0\">"                          \
    "<saml:Issuer>http://sp.example/md</saml:Issuer>"
#define AR_TAIL "</samlp:AuthnRequest>"
#define SIG(sigalg, digalg)                                                                                    \
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"                            \
    "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"                       \
    "<ds:SignatureMethod " sigalg "/><ds:Reference URI=\"#_a\"><ds:DigestMethod " digalg "/>"                   \
    "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>"                                     \
    "<ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"
#define RSA256 "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\""
#define SHA256 "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\""

static gw_saml_xml_t check_xml(const char *xml)
{
    const char *why = "";
    gw_saml_xml_t rc = gw_saml_check_request_xml(xml, strlen(xml), &why, NULL);
    if (rc)
        assert_non_null(why);
    return rc;
}

static void test_posted_signatures_name_sha2_algorithms_in_their_elements(void **state)
{
    (void)state;
    assert_int_equal(check_xml(AR_HEAD SIG(RSA256, SHA256) AR_TAIL), GW_SAML_XML_OK);
    assert_int_equal(check_xml(AR_HEAD AR_TAIL), GW_SAML_XML_OK); /* no signature: lasso refuses it */
    assert_int_equal(check_xml(AR_HEAD SIG(RSA256, "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha512\"")
                                   AR_TAIL),
                     GW_SAML_XML_OK);
    /* the SHA-1 names in text, not in an Algorithm: no signature algorithm */
    assert_int_equal(check_xml(AR_HEAD "<samlp:Extensions><x xmlns=\"urn:x\">http://www.w3.org/2000/09/"
                                       "xmldsig#rsa-sha1 http://www.w3.org/2000/09/xmldsig#sha1</x>"
                                       "</samlp:Extensions>" SIG(RSA256, SHA256) AR_TAIL),
                     GW_SAML_XML_OK);
    assert_int_equal(check_xml(AR_HEAD SIG("Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"", SHA256)
                                   AR_TAIL),
                     GW_SAML_XML_WEAK);
    assert_int_equal(check_xml(AR_HEAD SIG(RSA256, "Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"")
                                   AR_TAIL),
                     GW_SAML_XML_WEAK);
    /* SHA-1 under another name, a weaker digest, an algorithm left out, one written with
     * an entity reference, an attribute split from its URI by a namespace */
    assert_int_equal(check_xml(AR_HEAD SIG("Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1\"",
                                           SHA256) AR_TAIL),
                     GW_SAML_XML_WEAK);
    assert_int_equal(check_xml(AR_HEAD SIG(RSA256, "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#md5\"")
                                   AR_TAIL),
                     GW_SAML_XML_WEAK);
    assert_int_equal(check_xml(AR_HEAD SIG("", SHA256) AR_TAIL), GW_SAML_XML_WEAK);
    assert_int_equal(check_xml(AR_HEAD SIG("Algorithm=\"http://www.w3.org/2000/09/xmldsig&#x23;rsa-sha1\"", SHA256)
                                   AR_TAIL),
                     GW_SAML_XML_WEAK);
    assert_int_equal(check_xml(AR_HEAD SIG("xmlns:o=\"urn:o\" o:Algorithm=\"x\" " RSA256, SHA256) AR_TAIL),
                     GW_SAML_XML_OK);
    assert_int_equal(check_xml("<a"), GW_SAML_XML_MALFORMED);
    assert_int_equal(check_xml(""), GW_SAML_XML_MALFORMED);
}

static void test_requests_that_cannot_be_read_are_malformed(void **state)
{
    (void)state;
    size_t n = 0;
    const char *why = NULL;
    /* "<a/>" in base64, with white space and without its padding */
    char *x = gw_saml_decode_request("PGEv\r\nPg==", 0, &n, &why);
    assert_non_null(x);
    assert_int_equal(n, 4);
    assert_memory_equal(x, "<a/>", 4);
    free(x);
    x = gw_saml_decode_request("PGEvPg", 0, &n, &why);
    assert_non_null(x);
    assert_int_equal(n, 4);
    free(x);
    /* raw DEFLATE of "<a/>" (zlib.deflateRawSync) */
    x = gw_saml_decode_request("s0nUtwMA", 1, &n, &why);
    assert_non_null(x);
    assert_int_equal(n, 4);
    assert_memory_equal(x, "<a/>", 4);
    free(x);
    const char *not_b64[] = { "PGEvPg=a", "PGEv*Pg==", "PGEvP", "PGEvPg===", "PGEvPg=", "", "====" };
    for (size_t i = 0; i < sizeof(not_b64) / sizeof(not_b64[0]); i++) {
        why = NULL;
        assert_null(gw_saml_decode_request(not_b64[i], 0, &n, &why));
        assert_string_equal(why, "not base64");
    }
    assert_null(gw_saml_decode_request(NULL, 0, &n, &why));
    /* base64, but not DEFLATE */
    why = NULL;
    assert_null(gw_saml_decode_request("PGEvPg==", 1, &n, &why));
    assert_non_null(why);
    assert_string_not_equal(why, "not base64");
    /* well-formed XML that is not an AuthnRequest, or has a DTD */
    assert_int_equal(check_xml("<a/>"), GW_SAML_XML_MALFORMED);
    assert_int_equal(check_xml("<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"),
                     GW_SAML_XML_MALFORMED);
    assert_int_equal(check_xml("<AuthnRequest xmlns=\"urn:other\"/>"), GW_SAML_XML_MALFORMED);
    assert_int_equal(check_xml("<!DOCTYPE x [<!ENTITY e \"v\">]>" AR_HEAD AR_TAIL), GW_SAML_XML_MALFORMED);
}

#define LR_HEAD                                                                                                 \
    "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "                               \
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a\" Version=\"2.0\">"                         \
    "<saml:Issuer>http://sp.example/md</saml:Issuer><saml:NameID>sub-a</saml:NameID>"
#define LR_TAIL "</samlp:LogoutRequest>"

static gw_saml_xml_t check_logout(const char *xml, gw_saml_request_info_t *info)
{
    const char *why = "";
    gw_saml_xml_t rc = gw_saml_check_message_xml(xml, strlen(xml), GW_SAML_LOGOUT_REQUEST, &why, info);
    if (rc)
        assert_non_null(why);
    return rc;
}

static void test_logout_requests_are_checked_like_authn_requests(void **state)
{
    (void)state;
    gw_saml_request_info_t info;
    assert_int_equal(check_logout(LR_HEAD SIG(RSA256, SHA256) LR_TAIL, &info), GW_SAML_XML_OK);
    assert_string_equal(info.issuer, "http://sp.example/md");
    assert_true(info.has_signature);
    assert_int_equal(check_logout(LR_HEAD LR_TAIL, &info), GW_SAML_XML_OK);
    assert_false(info.has_signature);
    /* the same algorithm check */
    assert_int_equal(check_logout(LR_HEAD SIG("Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"", SHA256)
                                      LR_TAIL,
                                  NULL),
                     GW_SAML_XML_WEAK);
    assert_int_equal(check_logout(LR_HEAD SIG(RSA256, "Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"")
                                      LR_TAIL,
                                  NULL),
                     GW_SAML_XML_WEAK);
    /* another root, or a DTD, is malformed at /saml/slo */
    const char *why = NULL;
    const char *ar = AR_HEAD SIG(RSA256, SHA256) AR_TAIL;
    assert_int_equal(gw_saml_check_message_xml(ar, strlen(ar), GW_SAML_LOGOUT_REQUEST, &why, NULL),
                     GW_SAML_XML_MALFORMED);
    assert_string_equal(why, "XML that is not a SAML 2.0 LogoutRequest");
    assert_int_equal(check_logout("<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>", NULL),
                     GW_SAML_XML_MALFORMED);
    assert_int_equal(check_logout("<!DOCTYPE x [<!ENTITY e \"v\">]>" LR_HEAD LR_TAIL, NULL), GW_SAML_XML_MALFORMED);
    assert_string_equal(gw_saml_message_name(GW_SAML_LOGOUT_REQUEST), "LogoutRequest");
    assert_string_equal(gw_saml_message_name(GW_SAML_AUTHN_REQUEST), "AuthnRequest");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_budget_is_64_kb),
        cmocka_unit_test(test_idp_initiated_relay_state_is_at_most_80_bytes),
        cmocka_unit_test(test_levels_and_class_refs_map_both_ways),
        cmocka_unit_test(test_requested_context_raises_never_lowers_the_portal_minimum),
        cmocka_unit_test(test_only_rsa_sha2_signatures_are_accepted),
        cmocka_unit_test(test_logout_request_matches_by_session_index_else_by_name_id),
        cmocka_unit_test(test_sp_metadata_needs_a_signing_certificate),
        cmocka_unit_test(test_posted_signatures_name_sha2_algorithms_in_their_elements),
        cmocka_unit_test(test_requests_that_cannot_be_read_are_malformed),
        cmocka_unit_test(test_logout_requests_are_checked_like_authn_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
