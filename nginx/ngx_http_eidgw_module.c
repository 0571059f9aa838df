/* eidgw nginx module: per request, in process, strips client-sent identity headers, checks the
 * portal cookie and the daemon's revocation file, and sends citizens without a valid session
 * to the daemon's login start (browser navigation) or answers 401 (everything else). */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include "gw_assertion.h"
#include "gw_proxy_wire.h"
#include "gw_pcookie.h"
#include "gw_util.h"

typedef struct {
    ngx_str_t claim;
    ngx_str_t header;
    size_t field; /* offset of the claim in gw_pcookie_t */
} ngx_http_eidgw_claim_t;

typedef struct {
    ngx_str_t key_file;
    ngx_flag_t have_key;
    unsigned char key[GW_SEAL_KEYLEN]; /* the portal-cookie key derived from cookie.key */
    ngx_str_t signing_key; /* one of the gateway's private *.jwk: X-Eidgw-Assertion */
    ngx_str_t issuer; /* the gateway's public_url, the assertion's iss */
    ngx_flag_t have_signer;
    gw_jws_signer_t signer;
} ngx_http_eidgw_main_conf_t;

/* the claims a portal cookie may carry, by name */
static const struct {
    const char *name;
    size_t field;
} ngx_http_eidgw_claims[] = {
    { "name", offsetof(gw_pcookie_t, name) },
    { "birthdate", offsetof(gw_pcookie_t, birthdate) },
    { "gender", offsetof(gw_pcookie_t, gender) },
    { "cccd", offsetof(gw_pcookie_t, cccd) },
    { "legacy_account", offsetof(gw_pcookie_t, legacy_account) },
};

typedef struct {
    ngx_flag_t enable;
    ngx_flag_t bypass;
    ngx_str_t portal;
    ngx_uint_t min_level;
    ngx_str_t login_url;
    ngx_str_t cookie_name;
    ngx_str_t revocations;
    ngx_array_t *claims; /* ngx_http_eidgw_claim_t */
    uint64_t portal_hash; /* of "portal:<client id>": the portal is suspended when revoked */
} ngx_http_eidgw_loc_conf_t;

/* The revocation file as this worker last mapped it; re-opened when its inode changes. */
typedef struct {
    ngx_str_t path;
    ino_t ino;
    u_char *map;
    size_t len;
    time_t checked;
    int present; /* the file existed at the last check */
} ngx_http_eidgw_revmap_t;

static ngx_http_eidgw_revmap_t revmap;

/* This worker's signed assertions, one per portal cookie (gw_assertion.h). */
static gw_acache_t acache;

static char *ngx_http_eidgw_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_eidgw_bypass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void *ngx_http_eidgw_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_eidgw_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_eidgw_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_eidgw_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_eidgw_init(ngx_conf_t *cf);

static ngx_conf_enum_t ngx_http_eidgw_levels[] = { { ngx_string("1"), 1 },
                                                   { ngx_string("2"), 2 },
                                                   { ngx_null_string, 0 } };

static ngx_command_t ngx_http_eidgw_commands[] = {
    { ngx_string("eidgw"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
      ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_eidgw_loc_conf_t, enable), NULL },
    { ngx_string("eidgw_bypass"), NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_eidgw_bypass,
      NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("eidgw_portal"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_eidgw_loc_conf_t, portal), NULL },
    { ngx_string("eidgw_key_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_eidgw_main_conf_t, key_file), NULL },
    { ngx_string("eidgw_signing_key"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_eidgw_main_conf_t, signing_key), NULL },
    { ngx_string("eidgw_issuer"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot, NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_eidgw_main_conf_t, issuer), NULL },
    { ngx_string("eidgw_min_level"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_eidgw_loc_conf_t, min_level),
      ngx_http_eidgw_levels },
    { ngx_string("eidgw_claim_header"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE2,
      ngx_http_eidgw_claim_header, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("eidgw_login_url"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_eidgw_loc_conf_t, login_url), NULL },
    { ngx_string("eidgw_cookie_name"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_eidgw_loc_conf_t, cookie_name), NULL },
    { ngx_string("eidgw_revocations"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_eidgw_loc_conf_t, revocations), NULL },
    ngx_null_command
};

static ngx_http_module_t ngx_http_eidgw_module_ctx = { NULL,
                                                       ngx_http_eidgw_init,
                                                       ngx_http_eidgw_create_main_conf,
                                                       ngx_http_eidgw_init_main_conf,
                                                       NULL,
                                                       NULL,
                                                       ngx_http_eidgw_create_loc_conf,
                                                       ngx_http_eidgw_merge_loc_conf };

ngx_module_t ngx_http_eidgw_module = { NGX_MODULE_V1,
                                       &ngx_http_eidgw_module_ctx,
                                       ngx_http_eidgw_commands,
                                       NGX_HTTP_MODULE,
                                       NULL,
                                       NULL,
                                       NULL,
                                       NULL,
                                       NULL,
                                       NULL,
                                       NULL,
                                       NGX_MODULE_V1_PADDING };

static char *ngx_http_eidgw_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_eidgw_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    if (lcf->claims == NGX_CONF_UNSET_PTR || lcf->claims == NULL) {
        lcf->claims = ngx_array_create(cf->pool, 4, sizeof(ngx_http_eidgw_claim_t));
        if (lcf->claims == NULL)
            return NGX_CONF_ERROR;
    }
    size_t i, n = sizeof(ngx_http_eidgw_claims) / sizeof(ngx_http_eidgw_claims[0]);
    for (i = 0; i < n; i++)
        if (ngx_strcmp(value[1].data, ngx_http_eidgw_claims[i].name) == 0)
            break;
    if (i == n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "eidgw_claim_header: \"%V\" is not a portal cookie claim "
                           "(name, birthdate, gender, cccd, legacy_account)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    ngx_http_eidgw_claim_t *c = ngx_array_push(lcf->claims);
    if (c == NULL)
        return NGX_CONF_ERROR;
    c->claim = value[1];
    c->header = value[2];
    c->field = ngx_http_eidgw_claims[i].field;
    return NGX_CONF_OK;
}

static char *ngx_http_eidgw_bypass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_eidgw_loc_conf_t *lcf = conf;
    if (lcf->bypass != NGX_CONF_UNSET)
        return "is duplicate";
    lcf->bypass = 1;
    return NGX_CONF_OK;
}

static void *ngx_http_eidgw_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_eidgw_main_conf_t));
}

static void ngx_http_eidgw_signer_cleanup(void *data) { gw_jws_signer_free(data); }

/* Reads the gateway's signing key (a private *.jwk of its key directory) for the assertion. */
static char *ngx_http_eidgw_load_signer(ngx_conf_t *cf, ngx_http_eidgw_main_conf_t *mcf)
{
    if (mcf->signing_key.len == 0)
        return NGX_CONF_OK;
    if (mcf->issuer.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidgw_signing_key needs eidgw_issuer");
        return NGX_CONF_ERROR;
    }
    char err[512];
    if (gw_jws_signer_load(&mcf->signer, (const char *)mcf->signing_key.data, err, sizeof err) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidgw_signing_key: %s", err);
        return NGX_CONF_ERROR;
    }
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        gw_jws_signer_free(&mcf->signer);
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_eidgw_signer_cleanup;
    cln->data = &mcf->signer;
    mcf->have_signer = 1;
    return NGX_CONF_OK;
}

/* Reads the gateway's cookie key (64 hex characters, as `eidgw keys generate` writes it) and
 * keeps only the portal-cookie key derived from it. */
static char *ngx_http_eidgw_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_eidgw_main_conf_t *mcf = conf;
    if (ngx_http_eidgw_load_signer(cf, mcf) != NGX_CONF_OK)
        return NGX_CONF_ERROR;
    if (mcf->key_file.len == 0)
        return NGX_CONF_OK;
    ngx_fd_t fd = ngx_open_file(mcf->key_file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "eidgw_key_file \"%V\" cannot be read", &mcf->key_file);
        return NGX_CONF_ERROR;
    }
    char buf[2 * GW_SEAL_KEYLEN + 8];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    ngx_close_file(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    unsigned char raw[GW_SEAL_KEYLEN];
    buf[n > 0 ? n : 0] = 0;
    int bad = n != 2 * GW_SEAL_KEYLEN || gw_hex_decode(buf, raw, sizeof raw) != 0;
    ngx_explicit_memzero(buf, sizeof buf);
    if (bad) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidgw_key_file \"%V\" must hold %d hex characters", &mcf->key_file,
                           2 * GW_SEAL_KEYLEN);
        return NGX_CONF_ERROR;
    }
    gw_pcookie_key(raw, mcf->key);
    ngx_explicit_memzero(raw, sizeof raw);
    mcf->have_key = 1;
    return NGX_CONF_OK;
}

static void *ngx_http_eidgw_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_eidgw_loc_conf_t *c = ngx_pcalloc(cf->pool, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->enable = NGX_CONF_UNSET;
    c->bypass = NGX_CONF_UNSET;
    c->min_level = NGX_CONF_UNSET_UINT;
    c->claims = NGX_CONF_UNSET_PTR;
    return c;
}

static char *ngx_http_eidgw_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_eidgw_loc_conf_t *prev = parent, *conf = child;
    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->bypass, prev->bypass, 0);
    ngx_conf_merge_uint_value(conf->min_level, prev->min_level, 1);
    ngx_conf_merge_str_value(conf->portal, prev->portal, "");
    ngx_conf_merge_str_value(conf->login_url, prev->login_url, "");
    ngx_conf_merge_str_value(conf->cookie_name, prev->cookie_name, "eidgw_portal");
    ngx_conf_merge_str_value(conf->revocations, prev->revocations, "");
    ngx_conf_merge_ptr_value(conf->claims, prev->claims, NULL);
    if (conf->enable && !conf->bypass && conf->portal.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidgw on needs eidgw_portal");
        return NGX_CONF_ERROR;
    }
    ngx_http_eidgw_main_conf_t *mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_eidgw_module);
    if (conf->enable && !conf->bypass && mcf->key_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidgw on needs eidgw_key_file");
        return NGX_CONF_ERROR;
    }
    if (conf->portal.len) {
        u_char key[sizeof(GW_PW_PORTAL_KEY_PREFIX) + 256];
        if (conf->portal.len > 256) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidgw_portal is too long");
            return NGX_CONF_ERROR;
        }
        u_char *e = ngx_cpymem(ngx_cpymem(key, GW_PW_PORTAL_KEY_PREFIX, sizeof(GW_PW_PORTAL_KEY_PREFIX) - 1),
                               conf->portal.data, conf->portal.len);
        conf->portal_hash = gw_pw_sid_hash((const char *)key, (size_t)(e - key));
    }
    return NGX_CONF_OK;
}

/* Drops every header that names an identity header in any spelling: the list is rebuilt with
 * the others, so neither nginx's proxy nor a backend ever sees them. */
static ngx_int_t ngx_http_eidgw_strip(ngx_http_request_t *r, ngx_http_eidgw_loc_conf_t *lcf)
{
    const char *names[32];
    size_t lens[32], n = 0;
    if (lcf->claims) {
        ngx_http_eidgw_claim_t *c = lcf->claims->elts;
        for (ngx_uint_t i = 0; i < lcf->claims->nelts && n < 32; i++, n++) {
            names[n] = (const char *)c[i].header.data;
            lens[n] = c[i].header.len;
        }
    }
    ngx_list_t kept;
    if (ngx_list_init(&kept, r->pool, 20, sizeof(ngx_table_elt_t)) != NGX_OK)
        return NGX_ERROR;
    int dropped = 0;
    for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (gw_pw_is_identity_header((const char *)h[i].key.data, h[i].key.len, names, lens, n)) {
                dropped = 1;
                continue;
            }
            ngx_table_elt_t *k = ngx_list_push(&kept);
            if (k == NULL)
                return NGX_ERROR;
            *k = h[i];
        }
    }
    if (dropped) {
        r->headers_in.headers = kept;
        /* the list's last part must be the copy's, not the local one */
        if (kept.last == &kept.part)
            r->headers_in.headers.last = &r->headers_in.headers.part;
    }
    return NGX_OK;
}

/* 1 when the request names a text/html Accept (a browser navigation) */
static int ngx_http_eidgw_wants_html(ngx_http_request_t *r)
{
    static const u_char html[] = "text/html";
    for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++)
            if (h[i].key.len == 6 && ngx_strncasecmp(h[i].key.data, (u_char *)"accept", 6) == 0 &&
                ngx_strlcasestrn(h[i].value.data, h[i].value.data + h[i].value.len, (u_char *)html, sizeof(html) - 2))
                return 1;
    }
    return 0;
}

/* 1 when the hash (of a session id, or of "portal:<client id>") is in the revocation file, 0
 * when not, -1 when the file is unusable (logged; the caller fails closed); the
 * file is re-stat'ed at most once a second per worker and re-mapped when the daemon has
 * replaced it. */
static int ngx_http_eidgw_revoked(ngx_http_request_t *r, ngx_str_t *path, uint64_t hash)
{
    if (path->len == 0)
        return 0;
    time_t now = ngx_time();
    if (revmap.map == NULL || revmap.checked != now || revmap.path.data != path->data) {
        struct stat st;
        revmap.checked = now;
        int found = stat((const char *)path->data, &st) == 0;
        /* only a file that does not exist revokes nothing; one the worker cannot read fails closed */
        revmap.present = found || ngx_errno != NGX_ENOENT;
        if (found && (revmap.map == NULL || st.st_ino != revmap.ino || revmap.path.data != path->data)) {
            int fd = open((const char *)path->data, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
                void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
                if (m != MAP_FAILED) {
                    if (revmap.map)
                        munmap(revmap.map, revmap.len);
                    revmap.map = m;
                    revmap.len = (size_t)st.st_size;
                    revmap.ino = st.st_ino;
                    revmap.path = *path;
                }
            }
            if (fd >= 0)
                close(fd);
        }
    }
    if (revmap.map == NULL && !revmap.present)
        return 0; /* no file yet: nothing revoked */
    int rv = gw_pw_rev_lookup(revmap.map, revmap.len, hash, (uint64_t)now);
    if (rv < 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "eidgw: revocation file \"%V\" unusable", path);
    }
    return rv;
}

/* No valid cookie: a browser navigation goes to the daemon's login start with the portal and
 * the original same-host URL; anything else gets 401. */
static ngx_int_t ngx_http_eidgw_deny(ngx_http_request_t *r, ngx_http_eidgw_loc_conf_t *lcf)
{
    if (r->method != NGX_HTTP_GET || lcf->login_url.len == 0 || !ngx_http_eidgw_wants_html(r) ||
        r->headers_in.host == NULL) {
        ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        ngx_str_set(&h->value, "Eidgw realm=\"eidgw\"");
        r->headers_out.www_authenticate = h;
        return NGX_HTTP_UNAUTHORIZED;
    }
    ngx_str_t scheme = ngx_string("http://");
#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https://");
    }
#endif
    ngx_str_t *host = &r->headers_in.host->value;
    size_t ulen = scheme.len + host->len + r->unparsed_uri.len;
    u_char *url = ngx_pnalloc(r->pool, ulen);
    if (url == NULL)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_memcpy(ngx_cpymem(ngx_cpymem(url, scheme.data, scheme.len), host->data, host->len), r->unparsed_uri.data,
               r->unparsed_uri.len);
    size_t cap = lcf->login_url.len + 32 + 3 * lcf->portal.len + 3 * ulen;
    u_char *loc = ngx_pnalloc(r->pool, cap), *p = loc;
    if (loc == NULL)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    p = ngx_cpymem(p, lcf->login_url.data, lcf->login_url.len);
    *p++ = ngx_strlchr(lcf->login_url.data, lcf->login_url.data + lcf->login_url.len, '?') ? '&' : '?';
    p = ngx_cpymem(p, "portal=", 7);
    p += gw_pw_url_encode(lcf->portal.data, lcf->portal.len, (char *)p);
    p = ngx_cpymem(p, "&return_to=", 11);
    p += gw_pw_url_encode(url, ulen, (char *)p);
    ngx_http_clear_location(r);
    r->headers_out.location = ngx_list_push(&r->headers_out.headers);
    if (r->headers_out.location == NULL)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    r->headers_out.location->hash = 1;
    ngx_str_set(&r->headers_out.location->key, "Location");
    r->headers_out.location->value.data = loc;
    r->headers_out.location->value.len = (size_t)(p - loc);
    return NGX_HTTP_MOVED_TEMPORARILY;
}

/* Adds a request header for the backend; the value is percent-encoded (gw_pw_pct_encode). */
static ngx_int_t ngx_http_eidgw_add(ngx_http_request_t *r, const char *key, size_t klen, const char *val)
{
    size_t vlen = ngx_strlen(val);
    ngx_table_elt_t *h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL)
        return NGX_ERROR;
    u_char *k = ngx_pnalloc(r->pool, 2 * klen), *v = ngx_pnalloc(r->pool, 3 * vlen + 1);
    if (k == NULL || v == NULL)
        return NGX_ERROR;
    ngx_memcpy(k, key, klen);
    h->key.data = k;
    h->key.len = klen;
    h->lowcase_key = k + klen;
    h->hash = ngx_hash_strlow(h->lowcase_key, k, klen);
    h->value.data = v;
    h->value.len = gw_pw_pct_encode((const unsigned char *)val, vlen, (char *)v);
    return NGX_OK;
}

/* A new assertion for the session in c (the daemon's claims, gw_assertion.h), malloc'd; NULL
 * on a signing failure (logged: the header is then left out). */
static char *ngx_http_eidgw_sign(ngx_http_request_t *r, ngx_http_eidgw_main_conf_t *mcf, ngx_http_eidgw_loc_conf_t *lcf,
                                 const gw_pcookie_t *c, int64_t now)
{
    json_t *claims = gw_assertion_claims((const char *)mcf->issuer.data, (const char *)lcf->portal.data, c, NULL, now);
    char *jwt = claims ? gw_jws_signer_sign(&mcf->signer, claims) : NULL;
    json_decref(claims);
    if (jwt == NULL)
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "eidgw: the assertion could not be signed");
    return jwt;
}

/* The portal cookie, checked for level and revocation: 1 and the identity headers added when
 * the session is good, 0 when there is none, -1 on an allocation failure. A cookie this worker
 * opened within GW_ASSERTION_REUSE seconds (and before its expiry) is taken from the table with
 * the assertion signed for it (gw_assertion.h); level and revocation are checked every time. */
static int ngx_http_eidgw_session(ngx_http_request_t *r, ngx_http_eidgw_loc_conf_t *lcf)
{
    ngx_http_eidgw_main_conf_t *mcf = ngx_http_get_module_main_conf(r, ngx_http_eidgw_module);
    ngx_str_t raw;
    if (!mcf->have_key ||
        ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &lcf->cookie_name, &raw) == NGX_DECLINED ||
        raw.len == 0 || raw.len > GW_PCOOKIE_MAX)
        return 0;
    char value[GW_PCOOKIE_MAX + 1];
    ngx_memcpy(value, raw.data, raw.len);
    value[raw.len] = 0;
    int64_t now = (int64_t)ngx_time();
    unsigned char h[32];
    gw_acache_key(value, h);
    gw_acache_slot_t *s = gw_acache_find(&acache, h, now);
    gw_pcookie_t opened = { 0 };
    const gw_pcookie_t *c;
    if (s && s->has_pc && ngx_strcmp(s->pc.portal, lcf->portal.data) == 0) {
        c = &s->pc;
    } else {
        s = NULL;
        int rc = gw_pcookie_open(mcf->key, value, (const char *)lcf->portal.data, now, &opened);
        if (rc != GW_PCOOKIE_OK && rc != GW_PCOOKIE_RECHECK)
            return 0;
        c = &opened;
    }
    /* Past its re-check time the cookie is still honoured until it expires: asking the daemon
     * to re-check the session is not wired (docs/nginx.md). */
    int ok = c->level >= (int)lcf->min_level &&
             ngx_http_eidgw_revoked(r, &lcf->revocations, gw_pw_sid_hash(c->sid, ngx_strlen(c->sid))) == 0;
    char *fresh = NULL;
    if (ok) {
        char level[16], at[24];
        ngx_sprintf((u_char *)level, "%d%Z", c->level);
        ngx_sprintf((u_char *)at, "%L%Z", (int64_t)c->auth_time);
        if (ngx_http_eidgw_add(r, "X-Eidgw-Sub", 11, c->sub) != NGX_OK ||
            ngx_http_eidgw_add(r, "X-Eidgw-Level", 13, level) != NGX_OK ||
            ngx_http_eidgw_add(r, "X-Eidgw-Acr", 11, c->acr ? c->acr : "") != NGX_OK ||
            ngx_http_eidgw_add(r, "X-Eidgw-Auth-Time", 17, at) != NGX_OK)
            ok = -1;
        ngx_http_eidgw_claim_t *cl = lcf->claims ? lcf->claims->elts : NULL;
        for (ngx_uint_t i = 0; ok == 1 && cl && i < lcf->claims->nelts; i++) {
            const char *v = *(char *const *)((const char *)c + cl[i].field);
            if (v && ngx_http_eidgw_add(r, (const char *)cl[i].header.data, cl[i].header.len, v) != NGX_OK)
                ok = -1;
        }
        if (ok == 1 && mcf->have_signer) {
            const char *jwt = s ? s->jwt : NULL;
            if (jwt == NULL)
                jwt = fresh = ngx_http_eidgw_sign(r, mcf, lcf, c, now);
            if (jwt && ngx_http_eidgw_add(r, "X-Eidgw-Assertion", 17, jwt) != NGX_OK)
                ok = -1;
        }
    }
    if (ok == 1 && s == NULL) {
        gw_acache_put(&acache, h, ngx_min(now + GW_ASSERTION_REUSE, opened.exp), fresh, &opened);
    } else if (s && fresh) { /* the kept cookie had no assertion yet */
        s->jwt = fresh;
        fresh = NULL;
    }
    free(fresh);
    gw_pcookie_clear(&opened);
    return ok;
}

/* The answer for a suspended portal, as its content: 403 with a short text. */
static ngx_int_t ngx_http_eidgw_suspended_content(ngx_http_request_t *r)
{
    static u_char body[] = "portal suspended\n";
    if (ngx_http_discard_request_body(r) != NGX_OK)
        r->keepalive = 0;
    ngx_str_t type = ngx_string("text/plain; charset=utf-8");
    ngx_http_complex_value_t cv;
    ngx_memzero(&cv, sizeof cv);
    cv.value.data = body;
    cv.value.len = sizeof(body) - 1;
    return ngx_http_send_response(r, NGX_HTTP_FORBIDDEN, &type, &cv);
}

/* nginx picks the location from the normalised path, but proxy_pass and the other upstream
 * modules send the request's own: a bypassed location whose raw path a backend could read
 * as another one ("/static/..%5cadmin", "/static/..;/admin") is checked like any other. */
static int ngx_http_eidgw_ambiguous(ngx_http_request_t *r)
{
    size_t n = r->unparsed_uri.len;
    char buf[2048], *u = n < sizeof buf ? buf : NULL;
    if (u == NULL)
        return 1; /* too long to judge: checked */
    ngx_memcpy(u, r->unparsed_uri.data, n);
    u[n] = 0;
    return u[0] != '/' || gw_pw_ambiguous_path(u);
}

static ngx_int_t ngx_http_eidgw_handler(ngx_http_request_t *r)
{
    ngx_http_eidgw_loc_conf_t *lcf = ngx_http_get_module_loc_conf(r, ngx_http_eidgw_module);
    if (!lcf->enable || r != r->main)
        return NGX_DECLINED;
    if (ngx_http_eidgw_strip(r, lcf) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (lcf->bypass && !ngx_http_eidgw_ambiguous(r))
        return NGX_DECLINED;
    if (ngx_http_eidgw_revoked(r, &lcf->revocations, lcf->portal_hash) == 1) {
        /* the daemon's feed says the portal is suspended: no session, no login */
        r->content_handler = ngx_http_eidgw_suspended_content;
        return NGX_OK;
    }
    int s = ngx_http_eidgw_session(r, lcf);
    if (s < 0)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return s ? NGX_DECLINED : ngx_http_eidgw_deny(r, lcf);
}

static ngx_int_t ngx_http_eidgw_init(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL)
        return NGX_ERROR;
    *h = ngx_http_eidgw_handler;
    return NGX_OK;
}
