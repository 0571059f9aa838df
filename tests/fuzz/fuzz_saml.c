/* libFuzzer target for what the SAML IdP reads from a browser before lasso does: the
 * SAMLRequest value (strict base64, then raw DEFLATE for the Redirect binding) and the XML
 * checks (no DTD, the expected root, the signature's algorithms), for both messages, and
 * SP metadata's signing-key check. The first input byte picks the binding; the rest is the
 * value as it arrives, and also, as a whole, XML. Invariants: a decoded request is never
 * more than the budget allows, an accepted XML names no weak algorithm, and a refusal
 * always says why.
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_saml_idp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const SEEDS[] = {
    /* POST: base64 of a small AuthnRequest */
    "\x00PHNhbWxwOkF1dGhuUmVxdWVzdCB4bWxuczpzYW1scD0idXJuOm9hc2lzOm5hbWVzOnRjOlNBTUw6Mi4wOnByb3RvY29sIiBJRD0iXzEiIFZlcn"
    "Np"
    "b249IjIuMCIvPg==",
    /* Redirect: base64 of raw DEFLATE of "<x/>" */
    "\x01sy1WAAA=",
    /* XML with a weak signature algorithm */
    "\x02<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
    "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:Signature><ds:SignedInfo><ds:SignatureMethod "
    "Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/></ds:SignedInfo></ds:Signature></samlp:LogoutRequest>",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    if (dir)
        for (size_t i = 0; i < sizeof(SEEDS) / sizeof(SEEDS[0]); i++) {
            char name[32];
            snprintf(name, sizeof(name), "seed-%zu", i);
            write_seed(dir, name, SEEDS[i], strlen(SEEDS[i] + 1) + 1);
        }
    return 0;
}

static void check_xml(const char *xml, size_t n)
{
    for (int kind = GW_SAML_AUTHN_REQUEST; kind <= GW_SAML_LOGOUT_REQUEST; kind++) {
        const char *why = NULL;
        gw_saml_request_info_t info;
        memset(&info, 0x5a, sizeof(info));
        gw_saml_xml_t r = gw_saml_check_message_xml(xml, n, (gw_saml_msg_t)kind, &why, &info);
        CHECK(r == GW_SAML_XML_OK || r == GW_SAML_XML_MALFORMED || r == GW_SAML_XML_WEAK);
        CHECK(r == GW_SAML_XML_OK || (why && *why));
        if (r == GW_SAML_XML_OK)
            CHECK(memchr(info.issuer, 0, sizeof(info.issuer)) != NULL); /* a terminated string */
    }
    int k = gw_saml_metadata_has_signing_key(xml, n);
    CHECK(k == -1 || k == 0 || k == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    char *msg = malloc(size);
    memcpy(msg, data + 1, size - 1);
    msg[size - 1] = 0;
    const char *why = NULL;
    size_t n = 0;
    char *xml = gw_saml_decode_request(msg, data[0] & 1, &n, &why);
    if (xml) {
        CHECK(n <= (size_t)GW_SAML_MAX_REQUEST * 4); /* inflated at most 4 times the budget */
        check_xml(xml, n);
        free(xml);
    } else {
        CHECK(why && *why);
    }
    check_xml((const char *)data + 1, size - 1); /* the value read as XML itself */
    free(msg);
    return 0;
}
