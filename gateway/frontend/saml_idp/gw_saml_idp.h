/* gw_saml_idp: eidgw as the SAML 2.0 identity provider of the portals (the SAML front end),
 * on Debian's lasso: GET /saml/metadata, GET|POST /saml/sso, GET|POST /saml/slo (docs/saml.md).
 *
 * A portal is SAML when its [client ID] section names its SP metadata (saml_metadata);
 * the entityID in that file identifies the portal. The IdP's signing key and certificate
 * are saml-idp.key and saml-idp.crt in the keys directory. */
#ifndef GW_SAML_IDP_H
#define GW_SAML_IDP_H
#include "gw_broker.h"

#include <stddef.h>

extern const gw_frontend_ops_t gw_saml_idp_frontend;
extern const gw_route_t gw_saml_idp_routes[];

/* Once per process, before any thread starts (idempotent): LASSO_FLAG dropped from the
 * environment, lasso initialised and its version checked, its log routed to gw_log.
 * 0, or -1 when the library is too old. */
int gw_saml_process_init(void);
void gw_saml_process_shutdown(void);

/* The IdP from the configuration: the key, the certificate, every SAML portal's metadata
 * (each checked by loading it as lasso will). Nothing to do without SAML portals and
 * without an IdP key. -1 with "file:line: saml_metadata: ..." in err. */
int gw_saml_idp_init(gw_ctx_t *app, char *err, size_t errlen);
void gw_saml_idp_cleanup(gw_ctx_t *app);

/* ---- the pure parts (unit-tested) ---- */

/* The largest SAML message accepted (the raw query of a Redirect, the SAMLRequest field of
 * a POST), in bytes. */
#define GW_SAML_MAX_REQUEST (64 * 1024)
/* Whether a message of n bytes fits the budget. */
int gw_saml_request_fits(size_t n);
/* The longest RelayState an IdP-initiated login (/saml/init) takes: 80 bytes (SAML
 * bindings 3.4.3, 3.5.3). Whether relay (NULL: none) fits it. */
#define GW_SAML_MAX_IDP_RELAY_STATE 80
int gw_saml_relay_state_ok(const char *relay);

/* The AuthnContextClassRef of an e-ID level (the project's URNs, the same as the OIDC acr
 * values; level 0, a legacy password: PasswordProtectedTransport). */
const char *gw_saml_class_for_level(int level);
/* The level of an AuthnContextClassRef: 1 or 2 for ours, 0 for any other. */
int gw_saml_level_for_class(const char *class_ref);
/* The least level a login must reach for a RequestedAuthnContext: comparison ("exact",
 * "minimum", "better", "maximum" or NULL: exact), its class refs (n of them), the portal's
 * own min_level. A request never lowers the portal's minimum. -1 when no e-ID level can
 * satisfy it (SAML status NoAuthnContext). */
int gw_saml_min_level(const char *comparison, const char *const *refs, size_t n, int portal_min);
/* Whether a LogoutRequest is about an SSO session: with SessionIndexes (n of them), one of
 * them is own_index (the session's index at that portal); without any, its NameID is
 * own_sub (the portal's pairwise id for the session's citizen; NULL: unknown). */
int gw_saml_logout_matches(const char *const *indexes, size_t n, const char *own_index, const char *name_id,
                           const char *own_sub);
/* Whether a digest algorithm URI is accepted on input (SHA-256 or longer). */
int gw_saml_digest_ok(const char *uri);
/* A request's XML from its SAMLRequest value (form-decoded): base64, strictly, then for
 * the HTTP-Redirect binding (deflated) raw DEFLATE, at most 4 times the budget. Its n
 * bytes (the caller frees them), or NULL and why. */
char *gw_saml_decode_request(const char *msg, int deflated, size_t *n, const char **why);
/* What the IdP checks itself in a request's XML (n bytes) before lasso reads it: that it
 * is XML without a DTD whose root is the SAML 2.0 message expected (an AuthnRequest at
 * /saml/sso, a LogoutRequest at /saml/slo), and that every ds:SignatureMethod and
 * ds:DigestMethod in it names an algorithm accepted above (lasso would accept SHA-1).
 * GW_SAML_XML_OK, or why not in *why. */
typedef enum { GW_SAML_XML_OK = 0, GW_SAML_XML_MALFORMED, GW_SAML_XML_WEAK } gw_saml_xml_t;
/* The requests the IdP takes, by their root element (samlp:AuthnRequest, samlp:LogoutRequest). */
typedef enum { GW_SAML_AUTHN_REQUEST = 0, GW_SAML_LOGOUT_REQUEST } gw_saml_msg_t;
/* Its root element's local name ("AuthnRequest", "LogoutRequest"). */
const char *gw_saml_message_name(gw_saml_msg_t kind);
/* What the log names: the Issuer (the SP it claims to be; "" without one) and whether a
 * ds:Signature is there (the POST binding's). */
typedef struct gw_saml_request_info {
    char issuer[512];
    int has_signature;
} gw_saml_request_info_t;
/* The XML of a message of that kind. info (may be NULL) is filled when the root is that
 * message, even one refused for its algorithms. */
gw_saml_xml_t gw_saml_check_message_xml(const char *xml, size_t n, gw_saml_msg_t kind, const char **why,
                                        gw_saml_request_info_t *info);
/* The same for an AuthnRequest. */
gw_saml_xml_t gw_saml_check_request_xml(const char *xml, size_t n, const char **why, gw_saml_request_info_t *info);
/* Whether SP metadata (n bytes of XML) has a certificate to check the SP's signatures
 * with: a KeyDescriptor of its SPSSODescriptor, use="signing" or no use, with an
 * X509Certificate. 1 it has, 0 it has none (every AuthnRequest would be refused), -1 it
 * is not XML with an SPSSODescriptor. */
int gw_saml_metadata_has_signing_key(const char *xml, size_t n);
/* Whether a signature algorithm URI is accepted on input (RSA with SHA-256 or longer). */
int gw_saml_sigalg_ok(const char *uri);

#endif
