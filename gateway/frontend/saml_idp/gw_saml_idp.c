/* gw_saml_idp: eidgw as the SAML 2.0 IdP of the portals (the SAML front end).
 *
 *   portal --AuthnRequest (Redirect or POST) to /saml/sso--> eidgw: checked by lasso
 *   against the portal's metadata, a login for the broker (gw_broker_start)
 *   broker --complete--> a signed Response --auto-submitted POST form--> the portal's ACS
 *   citizen --GET /saml/init?sp=... (portals that opt in)--> the same login with no request
 *   broker --complete--> an unsolicited signed Response (no InResponseTo) --> the default ACS
 *   portal --LogoutRequest to /saml/slo--> the SSO session ended (gw_session_end) when the
 *   request is about the browser's session --signed LogoutResponse--> the portal's SLO
 *
 * What the Response needs rides with the broker's login as its return handle (bounded):
 * the SP's entityID, the AuthnRequest's ID, the ACS asked for, the RelayState and the
 * NameID format. At the end lasso is handed an AuthnRequest rebuilt from them, so no lasso
 * state is ever stored. lasso's traps (docs/saml.md, the notes on lasso 2.8.1): SHA-1 by
 * default (every server gets RSA-SHA256, SHA-1 is refused on input), LASSO_FLAG, only
 * `exact` authn context comparison (the level mapping is ours), text_child. */
#include "gw_saml_idp.h"
#include "gw_json.h"
#include "gw_log.h"

#include <lasso/lasso.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_strings.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_logout_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_requested_authn_context.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zlib.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RELAY_STATE 1024 /* bytes of RelayState kept with a login */
#define MAX_REQUEST_ID 256
#define MAX_ACS_URL 2048
#define ASSERTION_LIFETIME 300 /* seconds an assertion is valid */
#define CLOCK_SKEW 60 /* its NotBefore is this far in the past */

/* ------------------------------------------------------------------ the pure parts */

int gw_saml_request_fits(size_t n) { return n > 0 && n <= GW_SAML_MAX_REQUEST; }

const char *gw_saml_class_for_level(int level)
{
    return level >= 2   ? GW_ACR_L2
           : level == 1 ? GW_ACR_L1
                        : "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
}

int gw_saml_level_for_class(const char *class_ref)
{
    if (!class_ref)
        return 0;
    return !strcmp(class_ref, GW_ACR_L2) ? 2 : !strcmp(class_ref, GW_ACR_L1) ? 1 : 0;
}

int gw_saml_min_level(const char *comparison, const char *const *refs, size_t n, int portal_min)
{
    if (n == 0)
        return portal_min;
    int lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        int l = gw_saml_level_for_class(refs[i]);
        if (!l)
            continue;
        if (!lo || l < lo)
            lo = l;
        if (l > hi)
            hi = l;
    }
    if (!lo) /* none of the classes asked for is an e-ID level */
        return -1;
    int need;
    if (!comparison || !strcmp(comparison, "exact") || !strcmp(comparison, "minimum"))
        need = lo;
    else if (!strcmp(comparison, "better"))
        need = lo + 1;
    else if (!strcmp(comparison, "maximum"))
        /* at most hi: a login is never made weaker than the portal's own minimum */
        return portal_min <= hi ? portal_min : -1;
    else
        return -1;
    if (need > 2)
        return -1;
    return need > portal_min ? need : portal_min;
}

static int one_of(const char *uri, const char *const *list, size_t n)
{
    for (size_t i = 0; uri && i < n; i++)
        if (!strcmp(uri, list[i]))
            return 1;
    return 0;
}

int gw_saml_logout_matches(const char *const *indexes, size_t n, const char *own_index, const char *name_id,
                           const char *own_sub)
{
    if (n) {
        int hit = 0;
        for (size_t i = 0; i < n; i++)
            hit |= own_index && indexes[i] && gw_ct_streq(indexes[i], own_index);
        return hit;
    }
    return name_id && own_sub && gw_ct_streq(name_id, own_sub);
}

/* the algorithms accepted on input: RSA with SHA-256 or longer, digests of SHA-256 or longer */
static const char *const sigalgs_ok[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
};
static const char *const digests_ok[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
};

int gw_saml_sigalg_ok(const char *uri) { return one_of(uri, sigalgs_ok, sizeof(sigalgs_ok) / sizeof(sigalgs_ok[0])); }

int gw_saml_digest_ok(const char *uri) { return one_of(uri, digests_ok, sizeof(digests_ok) / sizeof(digests_ok[0])); }

/* ------------------------------------------------------------------ process start */

static void lasso_to_gw_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    gw_log_level_t l = level & G_LOG_LEVEL_ERROR                              ? GW_LOG_ERROR
                       : level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING) ? GW_LOG_WARN
                       : level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)     ? GW_LOG_INFO
                                                                              : GW_LOG_DEBUG;
    gw_log(l, "saml", "lasso", "message", message ? message : "", NULL);
}

static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static int process_rc;

static void process_init_once(void)
{
    /* LASSO_FLAG=no-verify-signature would turn off every signature check */
    unsetenv("LASSO_FLAG");
    if (lasso_init() != 0 || lasso_check_version(2, 8, 1, LASSO_CHECK_VERSION_NUMERIC) != 1) {
        process_rc = -1;
        return;
    }
    g_log_set_handler("Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, lasso_to_gw_log, NULL);
}

int gw_saml_process_init(void)
{
    pthread_once(&process_once, process_init_once);
    return process_rc;
}

void gw_saml_process_shutdown(void)
{
    if (!process_rc)
        lasso_shutdown();
}

/* ------------------------------------------------------------------ the IdP's state */

typedef struct saml_sp {
    char *entity_id;
    char *client_id;
    char *metadata; /* the file's bytes */
} saml_sp_t;

typedef struct saml_idp {
    char *metadata; /* ours, served at /saml/metadata and read by every server */
    char *key_pem, *cert_pem;
    size_t nsp;
    saml_sp_t *sp;
    /* one LassoServer per thread that handles SAML: lasso writes the servers' and the
     * providers' role fields in every login call */
    pthread_key_t server_key;
} saml_idp_t;

static char *read_file(const char *path, size_t max, char *why, size_t whylen)
{
    struct stat sb;
    if (stat(path, &sb)) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, whylen, "%s is %s, not a file", path, S_ISDIR(sb.st_mode) ? "a directory" : "special");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    gw_buf_t b;
    gw_buf_init(&b, max);
    char chunk[8192];
    size_t n;
    int big = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (gw_buf_add(&b, chunk, n)) {
            big = 1;
            break;
        }
    int failed = ferror(f), e = errno;
    fclose(f);
    if (failed || big || !b.len) {
        if (failed)
            snprintf(why, whylen, "cannot read %s: %s", path, strerror(e));
        else
            snprintf(why, whylen, "%s is %s", path, big ? "too large" : "empty (0 bytes)");
        gw_buf_cleanup(&b);
        return NULL;
    }
    return gw_buf_steal(&b);
}

/* ------------------------------------------------------------------ XML on libxml2 */

#define NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"

/* A document from bytes that may come from anyone: no network, no DTD loaded, no entity
 * expanded, nothing printed. NULL when it is not XML. */
static xmlDocPtr xml_read(const char *p, size_t n)
{
    if (n > INT32_MAX)
        return NULL;
    return xmlReadMemory(p, (int)n, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int is_el(const xmlNode *e, const char *ns, const char *name)
{
    return e && e->type == XML_ELEMENT_NODE && e->ns && e->ns->href && !strcmp((const char *)e->ns->href, ns) &&
           !strcmp((const char *)e->name, name);
}

/* The element after e in document order, within top (a walk without recursion). */
static xmlNode *el_next(xmlNode *e, const xmlNode *top)
{
    if (e->children)
        for (xmlNode *c = e->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                return c;
    for (; e && e != top; e = e->parent)
        for (xmlNode *s = e->next; s; s = s->next)
            if (s->type == XML_ELEMENT_NODE)
                return s;
    return NULL;
}

/* Whether SP metadata names a key to check the SP's signatures with: a KeyDescriptor of
 * the SPSSODescriptor, for signing (or for no use in particular), with a certificate. */
int gw_saml_metadata_has_signing_key(const char *xml, size_t n)
{
    xmlDocPtr doc = xml_read(xml, n);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    int found = -1;
    for (xmlNode *e = root; e && found < 1; e = el_next(e, root)) {
        if (is_el(e, NS_MD, "SPSSODescriptor") && found < 0)
            found = 0;
        if (!is_el(e, NS_MD, "KeyDescriptor") || !is_el(e->parent, NS_MD, "SPSSODescriptor"))
            continue;
        xmlChar *use = xmlGetNoNsProp(e, (const xmlChar *)"use");
        int signing = !use || !strcmp((const char *)use, "signing");
        xmlFree(use);
        for (xmlNode *c = e; signing && c && found < 1; c = el_next(c, e)) {
            if (!is_el(c, NS_DS, "X509Certificate"))
                continue;
            xmlChar *t = xmlNodeGetContent(c);
            for (const xmlChar *k = t; k && *k && found < 1; k++)
                if (*k != ' ' && *k != '\t' && *k != '\r' && *k != '\n')
                    found = 1;
            xmlFree(t);
        }
    }
    xmlFreeDoc(doc);
    return found;
}

/* Standard base64, strictly: its alphabet, white space between, padding only at the end. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s), got = 0, pad = 0, chars = 0;
    unsigned char *out = gw_xmalloc(len / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = s; *p; p++) {
        const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *k = strchr(a, *p);
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            continue;
        if (*p == '=' && ++pad <= 2)
            continue;
        if (!*p || !k || pad) {
            free(out);
            return NULL;
        }
        chars++;
        acc = acc << 6 | (uint32_t)(k - a);
        if ((bits += 6) >= 8)
            out[got++] = (unsigned char)(acc >> (bits -= 8));
    }
    /* a lone character at the end, or padding that does not make whole groups of four */
    if (!got || chars % 4 == 1 || (pad && (chars + pad) % 4)) {
        free(out);
        return NULL;
    }
    *n = got;
    return out;
}

/* Raw DEFLATE (the Redirect binding), at most max bytes out. */
static unsigned char *inflate_raw(const unsigned char *in, size_t n, size_t max, size_t *outlen, const char **why)
{
    z_stream z = { 0 };
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
        *why = "cannot inflate";
        return NULL;
    }
    unsigned char *out = gw_xmalloc(max + 1);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)(max + 1);
    int rc = inflate(&z, Z_FINISH);
    *outlen = z.total_out;
    int full = *outlen > max || (rc == Z_BUF_ERROR && !z.avail_out);
    inflateEnd(&z);
    if (rc != Z_STREAM_END || full) {
        *why = full ? "inflates beyond the budget" : "base64 that does not inflate (DEFLATE)";
        free(out);
        return NULL;
    }
    return out;
}

char *gw_saml_decode_request(const char *msg, int deflated, size_t *n, const char **why)
{
    size_t raw_len = 0;
    unsigned char *raw = msg ? b64_decode(msg, &raw_len) : NULL;
    if (!raw) {
        *why = "not base64";
        return NULL;
    }
    if (!deflated) {
        *n = raw_len;
        return (char *)raw;
    }
    unsigned char *xml = inflate_raw(raw, raw_len, GW_SAML_MAX_REQUEST * 4, n, why);
    free(raw);
    return (char *)xml;
}

/* each message's root element, and what a request with another root is */
static const struct {
    const char *root, *other;
} messages[] = {
    [GW_SAML_AUTHN_REQUEST] = { "AuthnRequest", "XML that is not a SAML 2.0 AuthnRequest" },
    [GW_SAML_LOGOUT_REQUEST] = { "LogoutRequest", "XML that is not a SAML 2.0 LogoutRequest" },
};

const char *gw_saml_message_name(gw_saml_msg_t kind) { return messages[kind].root; }

gw_saml_xml_t gw_saml_check_request_xml(const char *xml, size_t n, const char **why, gw_saml_request_info_t *info)
{
    return gw_saml_check_message_xml(xml, n, GW_SAML_AUTHN_REQUEST, why, info);
}

gw_saml_xml_t gw_saml_check_message_xml(const char *xml, size_t n, gw_saml_msg_t kind, const char **why,
                                        gw_saml_request_info_t *info)
{
    xmlDocPtr doc = xml_read(xml, n);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    gw_saml_xml_t rc = GW_SAML_XML_OK;
    *why = NULL;
    if (info)
        *info = (gw_saml_request_info_t){ 0 };
    if (!root) {
        rc = GW_SAML_XML_MALFORMED;
        *why = "not XML";
    } else if (doc->intSubset) { /* SAML messages have none (SAML core 1.3.4) */
        rc = GW_SAML_XML_MALFORMED;
        *why = "XML with a DTD";
    } else if (!is_el(root, NS_SAMLP, messages[kind].root)) {
        rc = GW_SAML_XML_MALFORMED;
        *why = messages[kind].other;
    }
    for (xmlNode *c = rc ? NULL : root->children; c && info; c = c->next) {
        if (is_el(c, NS_SAML, "Issuer") && !info->issuer[0]) {
            xmlChar *t = xmlNodeGetContent(c);
            snprintf(info->issuer, sizeof(info->issuer), "%s", t ? (const char *)t : "");
            xmlFree(t);
        }
        info->has_signature |= is_el(c, NS_DS, "Signature");
    }
    /* every signature in it, not only the one lasso checks: each of its algorithms named,
     * none of them SHA-1 (lasso would accept SHA-1) */
    for (xmlNode *e = root; e && !rc; e = el_next(e, root)) {
        int sig = is_el(e, NS_DS, "SignatureMethod"), dig = !sig && is_el(e, NS_DS, "DigestMethod");
        if (!sig && !dig)
            continue;
        xmlChar *alg = xmlGetNoNsProp(e, (const xmlChar *)"Algorithm");
        if (sig ? !gw_saml_sigalg_ok((const char *)alg) : !gw_saml_digest_ok((const char *)alg)) {
            rc = GW_SAML_XML_WEAK;
            *why = sig ? "signature algorithm not allowed (RSA-SHA256 or stronger)"
                       : "digest algorithm not allowed (SHA-256 or stronger)";
        }
        xmlFree(alg);
    }
    xmlFreeDoc(doc);
    return rc;
}

/* The certificate's base64 body, for the KeyDescriptor. */
static char *pem_body(const char *pem)
{
    const char *b = strstr(pem, "-----BEGIN CERTIFICATE-----"), *e = b ? strstr(b, "-----END CERTIFICATE-----") : NULL;
    if (!e)
        return NULL;
    b += strlen("-----BEGIN CERTIFICATE-----");
    gw_buf_t o;
    gw_buf_init(&o, 65536);
    for (; b < e; b++)
        if (*b != '\n' && *b != '\r' && *b != ' ')
            gw_buf_add(&o, b, 1);
    return gw_buf_steal(&o);
}

static char *idp_metadata(const char *public_url, const char *cert_b64)
{
    char *base = gw_html_escape(public_url);
    char *m = gw_sprintf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s/saml/metadata\">\n"
        " <md:IDPSSODescriptor WantAuthnRequestsSigned=\"true\" "
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n"
        "  <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n"
        "  <md:SingleLogoutService Binding=\"" LASSO_SAML2_METADATA_BINDING_REDIRECT "\" Location=\"%s/saml/slo\"/>\n"
        "  <md:SingleLogoutService Binding=\"" LASSO_SAML2_METADATA_BINDING_POST "\" Location=\"%s/saml/slo\"/>\n"
        "  <md:NameIDFormat>" LASSO_SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT "</md:NameIDFormat>\n"
        "  <md:NameIDFormat>" LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT "</md:NameIDFormat>\n"
        "  <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"%s/saml/sso\"/>\n"
        "  <md:SingleSignOnService Binding=\"" LASSO_SAML2_METADATA_BINDING_POST "\" Location=\"%s/saml/sso\"/>\n"
        " </md:IDPSSODescriptor>\n"
        "</md:EntityDescriptor>\n",
        base, cert_b64, base, base, base, base);
    free(base);
    return m;
}

/* A server with every SAML portal, signing with RSA-SHA256. NULL and why in err. */
static LassoServer *server_new(const saml_idp_t *s, char *err, size_t errlen)
{
    LassoServer *srv = lasso_server_new_from_buffers(s->metadata, s->key_pem, NULL, s->cert_pem);
    if (!srv) {
        snprintf(err, errlen, "the SAML IdP key or certificate cannot be used");
        return NULL;
    }
    srv->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
    for (size_t i = 0; i < s->nsp; i++) {
        int rc = lasso_server_add_provider_from_buffer(srv, LASSO_PROVIDER_ROLE_SP, s->sp[i].metadata, NULL, NULL);
        if (rc) {
            snprintf(err, errlen, "portal %s: its metadata cannot be loaded: %s", s->sp[i].client_id,
                     lasso_strerror(rc));
            g_object_unref(srv);
            return NULL;
        }
    }
    return srv;
}

static void server_free(void *srv) { g_object_unref(srv); }

static LassoServer *thread_server(saml_idp_t *s)
{
    LassoServer *srv = pthread_getspecific(s->server_key);
    if (!srv) {
        char err[256];
        srv = server_new(s, err, sizeof(err));
        if (!srv) {
            gw_log(GW_LOG_ERROR, "saml", "no SAML server for this thread", "error", err, NULL);
            return NULL;
        }
        pthread_setspecific(s->server_key, srv);
    }
    return srv;
}

static const saml_sp_t *find_sp(const saml_idp_t *s, const char *entity_id)
{
    for (size_t i = 0; entity_id && i < s->nsp; i++)
        if (!strcmp(s->sp[i].entity_id, entity_id))
            return &s->sp[i];
    return NULL;
}

static void idp_free(saml_idp_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsp; i++) {
        free(s->sp[i].entity_id);
        free(s->sp[i].client_id);
        free(s->sp[i].metadata);
    }
    free(s->sp);
    free(s->metadata);
    gw_wipe_free(s->key_pem);
    free(s->cert_pem);
    free(s);
}

/* A path in the configuration: relative ones are from the configuration file's folder. */
static char *config_path(const gw_config_t *cfg, const char *p)
{
    const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;
    if (p[0] == '/' || !slash)
        return gw_strdup(p);
    return gw_sprintf("%.*s/%s", (int)(slash - cfg->path), cfg->path, p);
}

/* One portal's metadata: read, parsed as lasso will, its entityID unique. */
static int load_sp(saml_idp_t *s, const gw_config_t *cfg, const gw_client_t *cl, char *err, size_t errlen)
{
    char why[512];
    char *path = config_path(cfg, cl->saml_metadata);
    char *md = read_file(path, GW_SAML_MAX_REQUEST * 4, why, sizeof(why));
    free(path);
    int key = md ? gw_saml_metadata_has_signing_key(md, strlen(md)) : -1;
    LassoProvider *p = md && key > 0 ? lasso_provider_new_from_buffer(LASSO_PROVIDER_ROLE_SP, md, NULL, NULL) : NULL;
    if (md && key < 0)
        snprintf(why, sizeof(why), "not SAML 2.0 SP metadata (an EntityDescriptor with an SPSSODescriptor)");
    else if (md && !key)
        snprintf(why, sizeof(why),
                 "the SP has no signing certificate (a KeyDescriptor use=\"signing\" with an X509Certificate in "
                 "its SPSSODescriptor): none of its AuthnRequests could be checked");
    else if (md && !p)
        snprintf(why, sizeof(why), "SP metadata that cannot be loaded (is its signing certificate a valid X.509 one?)");
    if (p && (!p->ProviderID || !*p->ProviderID))
        snprintf(why, sizeof(why), "the metadata has no entityID");
    else if (p && find_sp(s, p->ProviderID))
        snprintf(why, sizeof(why), "entityID %s is another portal's already", p->ProviderID);
    else if (p) {
        saml_sp_t *sp = &s->sp[s->nsp++];
        sp->entity_id = gw_strdup(p->ProviderID);
        sp->client_id = gw_strdup(cl->id);
        sp->metadata = md;
        g_object_unref(p);
        return 0;
    }
    if (p)
        g_object_unref(p);
    free(md);
    snprintf(err, errlen, "%s: saml_metadata: %s", cl->saml_metadata_at, why);
    return -1;
}

int gw_saml_idp_init(gw_ctx_t *app, char *err, size_t errlen)
{
    const gw_config_t *cfg = app->cfg;
    size_t nsaml = 0;
    for (size_t i = 0; i < cfg->nclients; i++)
        nsaml += cfg->clients[i].saml_metadata != NULL;
    char *kp = gw_sprintf("%s/saml-idp.key", cfg->keys_dir), *cp = gw_sprintf("%s/saml-idp.crt", cfg->keys_dir);
    int have_key = access(kp, F_OK) == 0;
    int rc = -1;
    saml_idp_t *s = NULL;
    if (!nsaml && !have_key) {
        rc = 0; /* no SAML here */
        goto done;
    }
    if (gw_saml_process_init()) {
        snprintf(err, errlen, "SAML: lasso 2.8.1 or newer is needed");
        goto done;
    }
    char why[512];
    s = gw_xcalloc(1, sizeof(*s));
    s->key_pem = read_file(kp, 65536, why, sizeof(why));
    s->cert_pem = s->key_pem ? read_file(cp, 65536, why, sizeof(why)) : NULL;
    char *b64 = s->cert_pem ? pem_body(s->cert_pem) : NULL;
    if (!b64) {
        snprintf(err, errlen, "SAML IdP key: %s%s", s->cert_pem ? cp : why,
                 s->cert_pem ? " is not a PEM certificate" : " (keys/gen-dev-keys.sh makes one)");
        goto done;
    }
    s->metadata = idp_metadata(cfg->public_url, b64);
    free(b64);
    s->sp = gw_xcalloc(nsaml ? nsaml : 1, sizeof(*s->sp));
    for (size_t i = 0; i < cfg->nclients; i++)
        if (cfg->clients[i].saml_metadata && load_sp(s, cfg, &cfg->clients[i], err, errlen))
            goto done;
    /* the same server every thread will build: a bad key shows now */
    LassoServer *srv = server_new(s, err, errlen);
    if (!srv)
        goto done;
    g_object_unref(srv);
    if (pthread_key_create(&s->server_key, server_free)) {
        snprintf(err, errlen, "SAML: no thread key");
        goto done;
    }
    app->saml = s;
    s = NULL;
    rc = 0;
done:
    idp_free(s);
    free(kp);
    free(cp);
    return rc;
}

void gw_saml_idp_cleanup(gw_ctx_t *app)
{
    saml_idp_t *s = app->saml;
    if (!s)
        return;
    LassoServer *srv = pthread_getspecific(s->server_key);
    if (srv) {
        pthread_setspecific(s->server_key, NULL);
        g_object_unref(srv);
    }
    pthread_key_delete(s->server_key);
    idp_free(s);
    app->saml = NULL;
}

/* ------------------------------------------------------------------ /saml/metadata */

static void h_metadata(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    saml_idp_t *s = app->saml;
    if (!s) {
        gw_error_page(&app->page, req, resp, 404, "not_found", NULL, NULL, NULL);
        return;
    }
    gw_resp_text(resp, 200, "application/samlmetadata+xml", s->metadata);
    gw_resp_header(resp, "Cache-Control", "public, max-age=300");
}

/* ------------------------------------------------------------------ answers to the ACS */

/* A LassoLogin as it was after the portal's AuthnRequest, rebuilt from the return handle:
 * same SP, request ID, ACS, NameID format and RelayState. An IdP-initiated login has no
 * request ID (the Response then has no InResponseTo) and no ACS (the SP's default one from
 * its metadata). NULL on failure. */
static LassoLogin *login_from_ret(saml_idp_t *s, json_t *ret)
{
    LassoServer *srv = thread_server(s);
    if (!srv)
        return NULL;
    LassoLogin *login = lasso_login_new(srv);
    LassoProfile *prof = LASSO_PROFILE(login);
    if (lasso_login_init_idp_initiated_authn_request(login, gw_jstr(ret, "sp"))) {
        g_object_unref(login);
        return NULL;
    }
    LassoSamlp2AuthnRequest *ar = LASSO_SAMLP2_AUTHN_REQUEST(prof->request);
    g_free(ar->parent.ID);
    ar->parent.ID = g_strdup(gw_jstr(ret, "id"));
    if (gw_jstr(ret, "acs")) {
        ar->AssertionConsumerServiceURL = g_strdup(gw_jstr(ret, "acs"));
        ar->ProtocolBinding = g_strdup(LASSO_SAML2_METADATA_BINDING_POST);
    } else if (json_object_get(ret, "acs_index")) {
        ar->AssertionConsumerServiceIndex = (int)json_integer_value(json_object_get(ret, "acs_index"));
    } /* else (IdP-initiated): the SP's default ACS */
    g_free(ar->NameIDPolicy->Format);
    ar->NameIDPolicy->Format =
        g_strdup(gw_streq(gw_jstr(ret, "format"), "transient") ? LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT
                                                               : LASSO_SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT);
    ar->NameIDPolicy->AllowCreate = TRUE;
    int rc = lasso_login_process_authn_request_msg(login, NULL);
    if (rc || login->protocolProfile != LASSO_LOGIN_PROTOCOL_PROFILE_BRWS_POST) {
        gw_log(GW_LOG_ERROR, "saml", "cannot rebuild the request", "error", rc ? lasso_strerror(rc) : "binding", NULL);
        g_object_unref(login);
        return NULL;
    }
    if (gw_jstr(ret, "relay")) {
        g_free(prof->msg_relayState);
        prof->msg_relayState = g_strdup(gw_jstr(ret, "relay"));
    }
    return login;
}

/* The auto-submitting form that carries the Response to the ACS: its values escaped by the
 * renderer, a CSP that lets the page post to that ACS only and run only its own script. */
static void post_form(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, LassoProfile *prof)
{
    const char *acs = prof->msg_url;
    if (!acs || !prof->msg_body || strpbrk(acs, ";, \t\r\n'\"")) {
        gw_error_page(&app->page, req, resp, 400, "invalid_redirect_uri", lang, NULL, NULL);
        return;
    }
    char *nonce = gw_random_token(18);
    gw_tmpl_var_t v[] = { { "action", acs },
                          { "saml_response", prof->msg_body },
                          { "relay_state", prof->msg_relayState },
                          { "nonce", nonce } };
    char *html = gw_tmpl_render(app->tmpl, "saml_post", lang, v, sizeof(v) / sizeof(v[0]), NULL);
    if (!html) {
        gw_error_page(&app->page, req, resp, 500, "server_busy", lang, NULL, NULL);
        free(nonce);
        return;
    }
    char *csp = gw_sprintf("default-src 'none'; script-src 'nonce-%s'; style-src 'unsafe-inline'; form-action %s; "
                           "frame-ancestors 'none'; base-uri 'none'",
                           nonce, acs);
    gw_resp_text(resp, 200, "text/html; charset=utf-8", html);
    gw_resp_header(resp, "Content-Security-Policy", csp);
    free(csp);
    free(html);
    free(nonce);
}

static void set_status(LassoProfile *prof, const char *top, const char *second)
{
    LassoSamlp2StatusResponse *r = LASSO_SAMLP2_STATUS_RESPONSE(prof->response);
    LassoSamlp2Status *st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
    st->StatusCode = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
    st->StatusCode->Value = g_strdup(top);
    if (second) {
        st->StatusCode->StatusCode = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
        st->StatusCode->StatusCode->Value = g_strdup(second);
    }
    if (r->Status)
        g_object_unref(r->Status);
    r->Status = st;
}

/* A Response with an error status (second: the SAML status that says why) to the ACS. */
static void post_status(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, json_t *ret,
                        const char *second)
{
    LassoLogin *login = login_from_ret(app->saml, ret);
    if (!login) {
        gw_error_page(&app->page, req, resp, 500, "server_busy", lang, NULL, NULL);
        return;
    }
    LassoProfile *prof = LASSO_PROFILE(login);
    set_status(prof, LASSO_SAML2_STATUS_CODE_RESPONDER, second);
    int rc = lasso_login_build_authn_response_msg(login);
    if (rc) {
        gw_log(GW_LOG_ERROR, "saml", "cannot build the response", "error", lasso_strerror(rc), NULL);
        gw_error_page(&app->page, req, resp, 500, "server_busy", lang, NULL, NULL);
    } else {
        gw_log(GW_LOG_INFO, "saml", "error status to the portal", "sp", gw_jstr(ret, "sp"), "status", second, "id",
               req->id, NULL);
        post_form(app, req, resp, lang, prof);
    }
    g_object_unref(login);
}

/* ------------------------------------------------------------------ /saml/sso */

static int is_slo(const gw_req_t *req) { return gw_streq(req->path, "/saml/slo"); }

/* A request refused with an error page (a refused LogoutRequest says it was a logout). */
static void refuse(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, int status, const char *code,
                   const char *why, const char *sp)
{
    int slo = is_slo(req);
    const char *what = slo                                 ? "LogoutRequest refused"
                       : gw_streq(req->path, "/saml/init") ? "IdP-initiated login refused"
                                                           : "AuthnRequest refused";
    gw_log(GW_LOG_WARN, "saml", what, "reason", why, "sp", sp ? sp : "(unknown)", "id", req->id, NULL);
    int logout_page = slo && (gw_streq(code, "invalid_request") || gw_streq(code, "malformed_request"));
    gw_error_page(&app->page, req, resp, status, logout_page ? "invalid_logout" : code, lang, NULL, NULL);
}

/* Checks that need no lasso: the byte budget, a message that can be read (base64, the
 * Redirect's DEFLATE, the XML of the message kind expected), a registered issuer, a
 * signature and its algorithm. The message for lasso and the portal in *sp, or NULL when
 * refused (answered). */
static const char *precheck(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, gw_saml_msg_t kind,
                            const saml_sp_t **sp)
{
    int post = req->method == GW_M_POST;
    const gw_form_t *p = post ? &req->form : &req->q;
    const char *m = gw_form_get(p, "SAMLRequest");
    if (!m || gw_form_count(p, "SAMLRequest") != 1) {
        refuse(app, req, resp, lang, 400, "invalid_request", "no SAMLRequest", NULL);
        return NULL;
    }
    if (!gw_saml_request_fits(post ? strlen(m) : strlen(req->query))) {
        refuse(app, req, resp, lang, 413, "too_large", "request larger than the budget", NULL);
        return NULL;
    }
    size_t n = 0;
    const char *why = NULL;
    gw_saml_request_info_t info = { 0 };
    char *xml = gw_saml_decode_request(m, !post, &n, &why);
    gw_saml_xml_t bad = xml ? gw_saml_check_message_xml(xml, n, kind, &why, &info) : GW_SAML_XML_MALFORMED;
    free(xml);
    const char *issuer = info.issuer[0] ? info.issuer : NULL;
    if (bad) {
        refuse(app, req, resp, lang, 400, bad == GW_SAML_XML_MALFORMED ? "malformed_request" : "invalid_request", why,
               issuer);
        return NULL;
    }
    char text[96];
    if (!issuer) {
        snprintf(text, sizeof(text), "%s without an Issuer", gw_saml_message_name(kind));
        refuse(app, req, resp, lang, 400, "malformed_request", text, NULL);
        return NULL;
    }
    *sp = find_sp(app->saml, issuer);
    if (!*sp) {
        refuse(app, req, resp, lang, 400, "unknown_client", "issuer is not a registered portal", issuer);
        return NULL;
    }
    if (post ? !info.has_signature : !gw_form_get(p, "Signature")) {
        snprintf(text, sizeof(text), "unsigned request (%ss must be signed)", gw_saml_message_name(kind));
        refuse(app, req, resp, lang, 400, "invalid_request", text, issuer);
        return NULL;
    }
    const char *alg = post ? NULL : gw_form_get(p, "SigAlg");
    if (!post && !gw_saml_sigalg_ok(alg)) {
        refuse(app, req, resp, lang, 400, "invalid_request",
               alg ? "SigAlg not allowed (RSA-SHA256 or stronger)" : "Signature without a SigAlg", issuer);
        return NULL;
    }
    return post ? m : req->query;
}

/* What the Response will need, from lasso's view of the request: NULL (answered) when the
 * request cannot be answered to its ACS. */
static json_t *return_handle(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, LassoLogin *login,
                             const saml_sp_t *sp)
{
    LassoProfile *prof = LASSO_PROFILE(login);
    LassoSamlp2AuthnRequest *ar = LASSO_SAMLP2_AUTHN_REQUEST(prof->request);
    const char *id = ar->parent.ID, *acs = ar->AssertionConsumerServiceURL, *relay = prof->msg_relayState;
    if (login->protocolProfile != LASSO_LOGIN_PROTOCOL_PROFILE_BRWS_POST) {
        refuse(app, req, resp, lang, 400, "invalid_redirect_uri", "the ACS is not HTTP-POST", sp->entity_id);
        return NULL;
    }
    if (!id || !*id || strlen(id) > MAX_REQUEST_ID || (acs && strlen(acs) > MAX_ACS_URL) ||
        (relay && strlen(relay) > MAX_RELAY_STATE)) {
        refuse(app, req, resp, lang, 400, "invalid_request", "ID, ACS or RelayState missing or too long",
               sp->entity_id);
        return NULL;
    }
    const char *fmt = ar->NameIDPolicy ? ar->NameIDPolicy->Format : NULL;
    json_t *ret = json_object();
    gw_jset(ret, "sp", sp->entity_id);
    gw_jset(ret, "id", id);
    gw_jset(ret, "acs", acs);
    if (!acs)
        json_object_set_new(ret, "acs_index", json_integer(ar->AssertionConsumerServiceIndex));
    gw_jset(ret, "relay", relay);
    gw_jset(ret, "format", gw_streq(fmt, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT) ? "transient" : "persistent");
    return ret;
}

/* What /saml/sso and /saml/slo begin with: the IdP, the prechecks for the kind of message
 * expected, this thread's server, and a profile for it (a login or a logout) with every
 * signature required and a POSTed RelayState kept (lasso reads a Redirect's itself). The
 * profile (the message for lasso in *msg, the portal the request names in *sp, the page
 * language in *lang), or NULL when answered. */
static LassoProfile *begin_request(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, gw_saml_msg_t kind, const char **lang,
                                   const char **msg, const saml_sp_t **sp)
{
    *lang = gw_req_lang(req, &app->page, NULL);
    if (!app->saml) {
        gw_error_page(&app->page, req, resp, 404, "not_found", *lang, NULL, NULL);
        return NULL;
    }
    *msg = precheck(app, req, resp, *lang, kind, sp);
    if (!*msg)
        return NULL;
    LassoServer *srv = thread_server(app->saml);
    if (!srv) {
        gw_error_page(&app->page, req, resp, 503, "server_busy", *lang, NULL, NULL);
        return NULL;
    }
    LassoProfile *prof =
        kind == GW_SAML_LOGOUT_REQUEST ? LASSO_PROFILE(lasso_logout_new(srv)) : LASSO_PROFILE(lasso_login_new(srv));
    lasso_profile_set_signature_verify_hint(prof, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
    if (req->method == GW_M_POST && gw_form_get(&req->form, "RelayState"))
        prof->msg_relayState = g_strdup(gw_form_get(&req->form, "RelayState"));
    return prof;
}

/* What lasso's reading of a prechecked request refuses (answered: 1): another issuer than
 * the one prechecked (lasso could not read the request), a signature that does not verify
 * with the portal's key, any other error of lasso's. */
static int lasso_refused(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, LassoProfile *prof, int rc,
                         const saml_sp_t *sp)
{
    char *why = NULL;
    if (!gw_streq(prof->remote_providerID, sp->entity_id)) {
        why = gw_sprintf("the request cannot be read (lasso: %s)", lasso_strerror(rc));
        refuse(app, req, resp, lang, 400, "malformed_request", why, sp->entity_id);
    } else if (prof->signature_status || rc == LASSO_DS_ERROR_INVALID_SIGNATURE ||
               rc == LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE) {
        why = gw_sprintf("the signature does not verify with the key in the portal's metadata (lasso: %s)",
                         lasso_strerror(prof->signature_status ? prof->signature_status : rc));
        refuse(app, req, resp, lang, 400, "invalid_request", why, sp->entity_id);
    } else if (rc) {
        why = gw_sprintf("lasso refused it: %s", lasso_strerror(rc));
        refuse(app, req, resp, lang, 400, "invalid_request", why, sp->entity_id);
    }
    int refused = why != NULL;
    free(why);
    return refused;
}

static void h_sso(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang, *msg;
    const saml_sp_t *sp = NULL;
    LassoProfile *prof = begin_request(app, req, resp, GW_SAML_AUTHN_REQUEST, &lang, &msg, &sp);
    if (!prof)
        return;
    LassoLogin *login = LASSO_LOGIN(prof);
    int rc = lasso_login_process_authn_request_msg(login, msg);
    json_t *ret = NULL;
    if (gw_streq(prof->remote_providerID, sp->entity_id) &&
        (rc == LASSO_PROFILE_ERROR_INVALID_PROTOCOLPROFILE || rc == LASSO_LOGIN_ERROR_NO_DEFAULT_ENDPOINT)) {
        refuse(app, req, resp, lang, 400, "invalid_redirect_uri", "ACS not in the portal's metadata", sp->entity_id);
    } else if (lasso_refused(app, req, resp, lang, prof, rc, sp)) {
        /* answered */
    } else if ((ret = return_handle(app, req, resp, lang, login, sp))) {
        const gw_client_t *cl = gw_config_client(app->cfg, sp->client_id);
        LassoSamlp2AuthnRequest *ar = LASSO_SAMLP2_AUTHN_REQUEST(prof->request);
        const char *fmt = ar->NameIDPolicy ? ar->NameIDPolicy->Format : NULL;
        LassoSamlp2RequestedAuthnContext *rac = ar->RequestedAuthnContext;
        const char *refs[8];
        size_t nrefs = 0;
        for (GList *g = rac ? rac->AuthnContextClassRef : NULL; g && nrefs < 8; g = g->next)
            refs[nrefs++] = g->data;
        int need = gw_saml_min_level(rac ? rac->Comparison : NULL, refs, nrefs, cl->min_level);
        if (fmt && !gw_streq(fmt, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT) &&
            !gw_streq(fmt, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT) &&
            !gw_streq(fmt, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED)) {
            post_status(app, req, resp, lang, ret, LASSO_SAML2_STATUS_CODE_INVALID_NAME_ID_POLICY);
        } else if (need < 0) {
            post_status(app, req, resp, lang, ret, LASSO_SAML2_STATUS_CODE_NO_AUTHN_CONTEXT);
        } else {
            gw_login_t l = {
                .portal = gw_strdup(cl->id),
                .min_level = need,
                .force = ar->ForceAuthn && !ar->IsPassive,
                .passive = ar->IsPassive,
                .max_age = -1,
                .frontend = gw_strdup(gw_saml_idp_frontend.name),
                .ret = json_incref(ret),
            };
            gw_broker_start(app, req, resp, &l, lang);
            gw_login_cleanup(&l);
        }
    }
    json_decref(ret);
    g_object_unref(login);
}

/* ------------------------------------------------------------------ /saml/init */

int gw_saml_relay_state_ok(const char *relay) { return !relay || strlen(relay) <= GW_SAML_MAX_IDP_RELAY_STATE; }

/* IdP-initiated SSO (SAML profiles 4.1.5): GET /saml/init?sp=<entityID>[&RelayState=...]
 * starts a broker login for a portal that opted in (saml_idp_initiated = yes) with no
 * AuthnRequest; it ends in an unsolicited Response (no InResponseTo) to the SP's default
 * ACS, with the same assertion as an SP-initiated login. An unknown SP, one that did not
 * opt in, or a RelayState over 80 bytes (SAML bindings 3.4.3) gets an error page and
 * nothing is sent anywhere. */
static void h_init(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang = gw_req_lang(req, &app->page, NULL);
    if (!app->saml) {
        gw_error_page(&app->page, req, resp, 404, "not_found", lang, NULL, NULL);
        return;
    }
    const char *entity = gw_form_count(&req->q, "sp") == 1 ? gw_form_get(&req->q, "sp") : NULL;
    const char *relay = gw_form_get(&req->q, "RelayState");
    const saml_sp_t *sp = find_sp(app->saml, entity);
    const gw_client_t *cl = sp ? gw_config_client(app->cfg, sp->client_id) : NULL;
    if (!cl) {
        refuse(app, req, resp, lang, 400, "unknown_client", "sp is not a registered portal", entity);
        return;
    }
    if (!cl->saml_idp_initiated) {
        refuse(app, req, resp, lang, 400, "unknown_client", "the portal does not take IdP-initiated logins",
               sp->entity_id);
        return;
    }
    if (gw_form_count(&req->q, "RelayState") > 1 || !gw_saml_relay_state_ok(relay)) {
        refuse(app, req, resp, lang, 400, "invalid_request", "RelayState repeated or longer than 80 bytes",
               sp->entity_id);
        return;
    }
    json_t *ret = json_object();
    gw_jset(ret, "sp", sp->entity_id);
    gw_jset(ret, "relay", relay);
    gw_jset(ret, "format", "persistent");
    /* the Response it will end in can be built: the SP's default ACS takes HTTP-POST */
    LassoLogin *probe = login_from_ret(app->saml, ret);
    if (!probe) {
        json_decref(ret);
        refuse(app, req, resp, lang, 400, "invalid_redirect_uri", "the portal's default ACS is not HTTP-POST",
               sp->entity_id);
        return;
    }
    g_object_unref(probe);
    gw_login_t l = {
        .portal = gw_strdup(cl->id),
        .min_level = cl->min_level,
        .max_age = -1,
        .ui_locales = gw_strdup(gw_form_get(&req->q, "lang")),
        .frontend = gw_strdup(gw_saml_idp_frontend.name),
        .ret = ret,
    };
    gw_log(GW_LOG_INFO, "saml", "IdP-initiated login", "sp", sp->entity_id, "id", req->id, NULL);
    gw_broker_start(app, req, resp, &l, lang);
    gw_login_cleanup(&l);
}

/* ------------------------------------------------------------------ /saml/slo */

/* The SessionIndex a portal is given for an SSO session: bound to the session and the
 * portal (a pairwise HMAC, so it names neither the session id nor the citizen), and the
 * same in every assertion of that session to that portal, so /saml/slo can tell whether a
 * LogoutRequest is about the browser's session without storing anything. */
static char *session_index(gw_ctx_t *app, const char *portal, const char *sid)
{
    char *label = gw_sprintf("saml-session %s", sid);
    char *v = gw_pairwise_sub(app, portal, label);
    free(label);
    return v;
}

/* Whether a verified LogoutRequest from sp is about the browser's SSO session (sso): its
 * SessionIndex is the one this session gave that portal, or, without one, its NameID is
 * the portal's pairwise id for the session's citizen. -1 when the store cannot tell. */
static int logout_is_about(gw_ctx_t *app, const saml_sp_t *sp, const gw_sso_t *sso, LassoSamlp2LogoutRequest *lr)
{
    GList *idx = lasso_samlp2_logout_request_get_session_indexes(lr);
    const char *ixs[8];
    size_t n = 0;
    for (GList *g = idx; g && n < 8; g = g->next)
        ixs[n++] = g->data;
    char *own_index = session_index(app, sp->client_id, sso->sid), *own_sub = NULL;
    int rc = GW_OK;
    if (!n)
        rc = gw_session_portal_sub(app, sso->sid, sp->client_id, &own_sub);
    const char *name_id = lr->NameID ? lr->NameID->content : NULL;
    int match = rc == GW_ESTORE ? -1 : gw_saml_logout_matches(ixs, n, own_index, name_id, own_sub);
    free(own_index);
    free(own_sub);
    g_list_free_full(idx, g_free);
    return match;
}

/* The LogoutResponse to the portal's SingleLogoutService: HTTP-Redirect when its metadata
 * lists it, else an auto-submitted POST form; without either, eidgw's own logged-out page. */
static void logout_answer(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const char *lang, LassoLogout *lo,
                          const saml_sp_t *sp)
{
    LassoProfile *prof = LASSO_PROFILE(lo);
    LassoProvider *remote = lasso_server_get_provider(prof->server, sp->entity_id);
    int redirect = remote && lasso_provider_accept_http_method(LASSO_PROVIDER(prof->server), remote,
                                                               LASSO_MD_PROTOCOL_TYPE_SINGLE_LOGOUT,
                                                               LASSO_HTTP_METHOD_REDIRECT, FALSE);
    lo->initial_http_request_method = redirect ? LASSO_HTTP_METHOD_REDIRECT : LASSO_HTTP_METHOD_POST;
    int rc = lasso_logout_build_response_msg(lo);
    if (rc || !prof->msg_url) {
        gw_log(GW_LOG_WARN, "saml", "no LogoutResponse to the portal", "sp", sp->entity_id, "error",
               rc ? lasso_strerror(rc) : "no SingleLogoutService", "id", req->id, NULL);
        const gw_client_t *cl = gw_config_client(app->cfg, sp->client_id);
        gw_tmpl_var_t v[] = { { "client_name", cl ? cl->name : NULL } };
        gw_page(&app->page, req, resp, 200, "logout", lang, v, 1);
    } else if (redirect) {
        gw_resp_redirect(resp, prof->msg_url);
    } else {
        post_form(app, req, resp, lang, prof);
    }
}

/* SP-initiated Single Logout (SAML profiles 4.4, front channel). A verified LogoutRequest
 * about the browser's session ends that session everywhere (gw_session_end: every
 * portal of it is told as after an OIDC logout) and is answered Success; one about another
 * session or citizen leaves the browser's session alone and is answered UnknownPrincipal;
 * without a session in the browser there is nothing to end: Success. Refused requests
 * (unknown SP, signature, SHA-1, size) get an error page and change nothing. */
static void h_slo(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *lang, *msg;
    const saml_sp_t *sp = NULL;
    LassoProfile *prof = begin_request(app, req, resp, GW_SAML_LOGOUT_REQUEST, &lang, &msg, &sp);
    if (!prof)
        return;
    LassoLogout *lo = LASSO_LOGOUT(prof);
    int rc = lasso_logout_process_request_msg(lo, (char *)msg);
    const char *relay = prof->msg_relayState;
    if (lasso_refused(app, req, resp, lang, prof, rc, sp)) {
        /* answered */
    } else if (!LASSO_IS_SAMLP2_LOGOUT_REQUEST(prof->request)) {
        refuse(app, req, resp, lang, 400, "malformed_request", "lasso read no LogoutRequest", sp->entity_id);
    } else if (relay && strlen(relay) > MAX_RELAY_STATE) {
        refuse(app, req, resp, lang, 400, "invalid_request", "RelayState too long", sp->entity_id);
    } else {
        gw_sso_t sso = { 0 };
        int has = gw_sso_open(app, req, &sso) == GW_OK;
        int match = has ? logout_is_about(app, sp, &sso, LASSO_SAMLP2_LOGOUT_REQUEST(prof->request)) : 0;
        if (match < 0 || (match && gw_session_end(app, resp, sso.sid, sso.exp) != GW_OK)) {
            gw_busy_page(app, req, resp, lang); /* nothing ended: the SP may send it again */
        } else {
            gw_log(GW_LOG_INFO, "saml", "LogoutRequest", "sp", sp->entity_id, "outcome",
                   match ? "session ended"
                   : has ? "another session: kept"
                         : "no session",
                   "id", req->id, NULL);
            /* lasso has no session of ours to check: the response it starts is given our status */
            lasso_logout_validate_request(lo);
            if (LASSO_IS_SAMLP2_STATUS_RESPONSE(prof->response)) {
                if (match || !has)
                    set_status(prof, LASSO_SAML2_STATUS_CODE_SUCCESS, NULL);
                else
                    set_status(prof, LASSO_SAML2_STATUS_CODE_RESPONDER, LASSO_SAML2_STATUS_CODE_UNKNOWN_PRINCIPAL);
            }
            logout_answer(app, req, resp, lang, lo, sp);
        }
        gw_sso_cleanup(&sso);
    }
    g_object_unref(lo);
}

/* ------------------------------------------------------------------ the broker's answers */

static char *iso_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char b[32];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return gw_strdup(b);
}

static void add_attribute(LassoSaml2AttributeStatement *st, const char *name, const char *friendly, const char *value)
{
    LassoSaml2Attribute *a = LASSO_SAML2_ATTRIBUTE(lasso_saml2_attribute_new());
    a->Name = g_strdup(name);
    a->NameFormat = g_strdup(LASSO_SAML2_ATTRIBUTE_NAME_FORMAT_URI);
    a->FriendlyName = g_strdup(friendly);
    LassoSaml2AttributeValue *v = lasso_saml2_attribute_value_new();
    LassoMiscTextNode *t = LASSO_MISC_TEXT_NODE(lasso_misc_text_node_new_with_string(value));
    t->text_child = TRUE; /* else lasso writes <XXX>value</XXX> */
    v->any = g_list_append(v->any, t);
    a->AttributeValue = g_list_append(a->AttributeValue, v);
    st->Attribute = g_list_append(st->Attribute, a);
}

/* The released claims as attributes (docs/saml.md lists them). */
static const struct {
    const char *claim, *name, *friendly;
} attributes[] = {
    { "name", "urn:oid:2.5.4.3", "cn" },
    { "birthdate", "urn:oid:1.3.6.1.5.5.7.9.1", "dateOfBirth" },
    { "gender", "urn:oid:1.3.6.1.5.5.7.9.3", "gender" },
    { "cccd", "urn:oid:2.5.4.5", "serialNumber" },
    { "legacy_account", "urn:oid:0.9.2342.19200300.100.1.1", "uid" },
};

static int fill_assertion(gw_ctx_t *app, LassoLogin *login, const gw_login_t *gl, const gw_finished_t *done,
                          json_t *claims)
{
    const json_t *ret = gl->ret;
    LassoSaml2Assertion *as = LASSO_SAML2_ASSERTION(lasso_login_get_assertion(login));
    if (!as)
        return -1;
    int rc = 0;
    /* lasso names the assertion's ID as SessionIndex when the portal does Single Logout */
    for (GList *g = as->AuthnStatement; g; g = g->next) {
        LassoSaml2AuthnStatement *an = g->data;
        if (LASSO_IS_SAML2_AUTHN_STATEMENT(an) && an->SessionIndex) {
            g_free(an->SessionIndex);
            char *ix = session_index(app, gl->portal, done->sid);
            an->SessionIndex = g_strdup(ix);
            free(ix);
        }
    }
    if (!gw_streq(gw_jstr(ret, "format"), "transient")) {
        /* the portal's pairwise id, not lasso's random federation id */
        if (as->Subject && as->Subject->NameID) {
            g_free(as->Subject->NameID->content);
            as->Subject->NameID->content = g_strdup(done->sub);
        } else {
            rc = -1;
        }
    }
    LassoSaml2AttributeStatement *st = LASSO_SAML2_ATTRIBUTE_STATEMENT(lasso_saml2_attribute_statement_new());
    for (size_t i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++)
        if (gw_jstr(claims, attributes[i].claim))
            add_attribute(st, attributes[i].name, attributes[i].friendly, gw_jstr(claims, attributes[i].claim));
    if (st->Attribute)
        as->AttributeStatement = g_list_append(as->AttributeStatement, st);
    else
        g_object_unref(st);
    g_object_unref(as);
    return rc;
}

static void saml_complete(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login,
                          const gw_finished_t *done)
{
    const char *lang = gw_req_lang(req, &app->page, login->ui_locales);
    const gw_client_t *cl = gw_config_client(app->cfg, login->portal);
    LassoLogin *ll = app->saml && cl ? login_from_ret(app->saml, login->ret) : NULL;
    if (!ll) {
        gw_error_page(&app->page, req, resp, 500, "server_busy", lang, NULL, NULL);
        return;
    }
    int64_t now = gw_now();
    char *instant = iso_time(done->auth_time), *nb = iso_time(now - CLOCK_SKEW),
         *noa = iso_time(now + ASSERTION_LIFETIME);
    json_t *claims = gw_release_claims(app, cl, cl->scopes, done->identity, done->account, done->merged);
    int rc = lasso_login_validate_request_msg(ll, TRUE, TRUE);
    if (!rc)
        rc = lasso_login_build_assertion(ll, gw_saml_class_for_level(done->level), instant, NULL, nb, noa);
    if (!rc && fill_assertion(app, ll, login, done, claims))
        rc = LASSO_PROFILE_ERROR_MISSING_ASSERTION;
    if (!rc)
        rc = lasso_login_build_authn_response_msg(ll);
    if (rc) {
        gw_log(GW_LOG_ERROR, "saml", "cannot build the assertion", "error", lasso_strerror(rc), "id", req->id, NULL);
        gw_error_page(&app->page, req, resp, 500, "server_busy", lang, NULL, NULL);
    } else {
        post_form(app, req, resp, lang, LASSO_PROFILE(ll));
    }
    json_decref(claims);
    free(instant);
    free(nb);
    free(noa);
    g_object_unref(ll);
}

static void saml_fail(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const char *error)
{
    const char *lang = gw_req_lang(req, &app->page, login->ui_locales);
    if (!app->saml || !find_sp(app->saml, gw_jstr(login->ret, "sp"))) {
        gw_error_page(&app->page, req, resp, 400, "unknown_client", lang, NULL, NULL);
        return;
    }
    post_status(app, req, resp, lang, login->ret,
                gw_streq(error, "login_required") ? LASSO_SAML2_STATUS_CODE_NO_PASSIVE
                                                  : LASSO_SAML2_STATUS_CODE_AUTHN_FAILED);
}

/* A link cannot carry a POSTed Response: the error page offers none. */
static char *saml_back_url(gw_ctx_t *app, const gw_login_t *login, const char *error) { return NULL; }

/* With an SSO session, the broker may ask the population DB for a portal that matches
 * legacy accounts by name: the upstream pool. */
static int has_sso_cookie(gw_ctx_t *app, const gw_req_t *req)
{
    char *c = gw_cookie_get(req->cookie, app->sso_cookie);
    int has = c != NULL;
    free(c);
    return has;
}

const gw_frontend_ops_t gw_saml_idp_frontend = {
    .name = "saml",
    .complete = saml_complete,
    .fail = saml_fail,
    .back_url = saml_back_url,
    .session_ended = NULL, /* no LogoutRequests to SAML portals yet (docs/saml.md) */
};

const gw_route_t gw_saml_idp_routes[] = {
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/saml/metadata", .fn = h_metadata, .is_inline = 1 },
    { .methods = GW_M_GET | GW_M_POST, .path = "/saml/sso", .fn = h_sso, .waits_upstream = has_sso_cookie },
    { .methods = GW_M_GET, .path = "/saml/init", .fn = h_init, .waits_upstream = has_sso_cookie },
    /* a logout tells the session's other portals (back-channel calls) */
    { .methods = GW_M_GET | GW_M_POST, .path = "/saml/slo", .fn = h_slo, .waits_upstream = gw_route_always },
    { 0 },
};
