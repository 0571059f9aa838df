#include "gw_config.h"

#include "gw_directive.h"
#include "gw_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR(type_, k, t, f, mn, mx, w, req, ...)                                                                       \
    {                                                                                                                  \
        .name = k, .type = t, .offset = offsetof(type_, f), .min = mn, .max = mx, .words = w, .required = req,         \
        __VA_ARGS__                                                                                                    \
    }
#define CFG(...) DIR(gw_config_t, __VA_ARGS__)
#define UPS(...) DIR(gw_upstream_t, __VA_ARGS__)
#define CLI(...) DIR(gw_client_t, __VA_ARGS__)

/* The issuer: tokens name it and portals compare it byte for byte, so nothing a browser
 * would drop or read differently (a query, a fragment, user:password@). */

/* memory_max_bytes when not set: a quarter of the machine's memory, at most 1 GiB and at
 * least 64 MB (a small VM keeps room for everything else it runs) */
long gw_config_default_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    long quarter = pages > 0 && page > 0 ? (long)((double)pages * (double)page / 4) : 1L << 30;
    return quarter > (1L << 30) ? 1L << 30 : quarter < (64L << 20) ? 64L << 20 : quarter;
}

static int check_public_url(const char *v, char *msg, size_t msglen)
{
    const char *host = strstr(v, "://");
    host = host ? host + 3 : v;
    size_t authority = strcspn(host, "/?#");
    if (strpbrk(v, "?#") || memchr(host, '@', authority)) {
        snprintf(msg, msglen, "'%s' must be scheme://host[:port][/path], with no query, fragment or user", v);
        return -1;
    }
    return 0;
}

/* One or more ranges separated by commas (10.0.0.0/8, ::1/128, a plain address). */
static int check_proxies(const char *v, char *msg, size_t msglen)
{
    for (const char *r = v;;) {
        size_t n = strcspn(r, ",");
        gw_cidr_t c;
        if (gw_cidr_parse(r, n, &c, msg, msglen))
            return -1;
        if (!r[n])
            return 0;
        r += n + 1;
    }
}

/* A range of every address lets any client name itself in X-Forwarded-For: allowed (a
 * gateway reachable only through its proxies), but said. */
static void warn_open_proxy(gw_config_t *c, const char *file, const char *v, int line)
{
    char msg[128];
    for (const char *r = v; *r && c->warnings.n < GW_MAX_LIST;) {
        size_t n = strcspn(r, ",");
        gw_cidr_t cidr;
        while (n && *r == ' ')
            r++, n--;
        if (!gw_cidr_parse(r, n, &cidr, msg, sizeof(msg)) && cidr.bits == 0)
            c->warnings.v[c->warnings.n++] =
                gw_sprintf("%s:%d: trusted_proxy: '%.*s' trusts every address: every client may set X-Forwarded-For",
                           file, line, (int)n, r);
        r += n + (r[n] == ',');
    }
}

static const gw_directive_t server_dirs[] = {
    CFG("listen", GW_DIR_STR, listen_host, 0, 0, NULL, 1),
    CFG("public_url", GW_DIR_URL, public_url, 0, 0, NULL, 1, .check = check_public_url),
    CFG("io_threads", GW_DIR_INT, io_threads, 1, 64, NULL, 0),
    CFG("workers", GW_DIR_INT, workers, 1, 256, NULL, 0),
    CFG("upstream_workers", GW_DIR_INT, upstream_workers, 1, 1024, NULL, 0),
    CFG("max_waiting", GW_DIR_INT, max_waiting, 1, 1000000, NULL, 0),
    CFG("templates", GW_DIR_STR, templates_dir, 0, 0, NULL, 0),
    CFG("max_body", GW_DIR_SIZE, max_body, 1024, 16 << 20, NULL, 0),
    CFG("max_headers", GW_DIR_SIZE, max_headers, 1024, 1 << 20, NULL, 0),
    CFG("max_uri", GW_DIR_SIZE, max_uri, 256, 1 << 20, NULL, 0),
    CFG("max_connections", GW_DIR_INT, max_connections, 16, 1000000, NULL, 0),
    CFG("max_connections_per_ip", GW_DIR_INT, max_connections_per_ip, 1, 1000000, NULL, 0),
    CFG("request_timeout", GW_DIR_SECONDS, request_timeout, 1, 600, NULL, 0),
    CFG("min_body_rate", GW_DIR_SIZE, min_body_rate, 1, 1 << 30, NULL, 0),
    CFG("idle_timeout", GW_DIR_SECONDS, idle_timeout, 1, 3600, NULL, 0),
    CFG("trusted_proxy", GW_DIR_LIST, trusted_proxies, 0, 0, NULL, 0, .check = check_proxies),
    CFG("secret_file_mode", GW_DIR_CHOICE, secret_file_mode, 0, 0, "error warn off", 0),
    { 0 },
};
static const gw_directive_t keys_dirs[] = {
    CFG("dir", GW_DIR_STR, keys_dir, 0, 0, NULL, 1),
    { 0 },
};
static const gw_directive_t store_dirs[] = {
    CFG("driver", GW_DIR_WORD, store_driver, 0, 0, "sqlite redis", 1),
    CFG("path", GW_DIR_STR, store_path, 0, 0, NULL, 0),
    CFG("url", GW_DIR_STR, store_url, 0, 0, NULL, 0),
    CFG("password", GW_DIR_STR, store_password, 0, 0, NULL, 0),
    CFG("sentinel", GW_DIR_LIST, store_sentinels, 0, 0, NULL, 0),
    CFG("master", GW_DIR_STR, store_master, 0, 0, NULL, 0),
    CFG("allow_volatile", GW_DIR_BOOL, store_allow_volatile, 0, 0, NULL, 0),
    CFG("memory", GW_DIR_STR, store_memory, 0, 0, NULL, 0),
    CFG("memory_max_records", GW_DIR_INT, store_memory_max, 1000, 100000000, NULL, 0),
    CFG("memory_max_bytes", GW_DIR_SIZE, store_memory_max_bytes, 1 << 20, 1L << 40, NULL, 0),
    { 0 },
};
static const gw_directive_t session_dirs[] = {
    CFG("lifetime", GW_DIR_SECONDS, session_lifetime, 60, 7 * 86400, NULL, 0),
    CFG("recheck", GW_DIR_SECONDS, session_recheck, 10, 86400, NULL, 0),
    CFG("code_lifetime", GW_DIR_SECONDS, code_lifetime, 5, 60, NULL, 0),
    CFG("token_lifetime", GW_DIR_SECONDS, token_lifetime, 30, 86400, NULL, 0),
    CFG("flow_lifetime", GW_DIR_SECONDS, flow_lifetime, 60, 3600, NULL, 0),
    CFG("revocation_file", GW_DIR_STR, revocation_file, 0, 0, NULL, 0),
    { 0 },
};
static const gw_directive_t admin_dirs[] = {
    CFG("token_sha256", GW_DIR_HEX64, admin_token_sha256, 0, 0, NULL, 1),
    { 0 },
};
static const gw_directive_t log_dirs[] = {
    CFG("level", GW_DIR_WORD, log_level, 0, 0, "debug info warn error", 0),
    { 0 },
};
/* The gateway's own key of an [upstream NAME] section; the rest are the plugin's. */
static const gw_directive_t upstream_dirs[] = {
    UPS("plugin", GW_DIR_STR, plugin, 0, 0, NULL, 0),
    { 0 },
};
/* A proxied portal's origin: scheme "http" or "https", a host of letters, digits, '-' and
 * '.' (or an IPv4 address), an optional port, nothing after; lower case, as browsers send
 * it. */
/* "host[:port]" of an origin checked by check_origin */
static const char *origin_host(const char *origin) { return strstr(origin, "://") + 3; }

/* An authority as a browser sends it matches an origin's host[:port]; a default port
 * written out (":443" for https, ":80" for http) matches the origin without one. */
static int authority_is(const char *origin, const char *authority)
{
    const char *h = origin_host(origin);
    size_t hn = strlen(h), an = strlen(authority);
    if (an == hn)
        return !strncasecmp(h, authority, hn);
    const char *dflt = !strncmp(origin, "https", 5) ? ":443" : ":80";
    return an == hn + strlen(dflt) && !strchr(h, ':') && !strncasecmp(h, authority, hn) &&
           !strcmp(authority + hn, dflt);
}

static int check_origin(const char *v, char *msg, size_t msglen)
{
    const char *h = !strncmp(v, "https://", 8) ? v + 8 : !strncmp(v, "http://", 7) ? v + 7 : NULL;
    if (!h) {
        snprintf(msg, msglen, "'%s' is not an http(s) origin (scheme://host[:port])", v);
        return -1;
    }
    size_t n = 0;
    while (h[n] && (islower((unsigned char)h[n]) || isdigit((unsigned char)h[n]) || h[n] == '-' || h[n] == '.'))
        n++;
    const char *rest = h + n;
    if (*rest == ':') { /* 1 to 65535, no leading zero */
        size_t d = 0;
        while (isdigit((unsigned char)rest[1 + d]) && d < 6)
            d++;
        long port = d ? strtol(rest + 1, NULL, 10) : 0;
        rest = d && rest[1] != '0' && port <= 65535 ? rest + 1 + d : "!";
    }
    if (!n || h[0] == '.' || h[0] == '-' || h[n - 1] == '.' || *rest || strlen(v) > 255) {
        snprintf(msg, msglen,
                 "'%s' must be scheme://host[:port] in lower case, with no path, query, user or trailing slash", v);
        return -1;
    }
    return 0;
}

static int check_path_prefix(const char *v, char *msg, size_t msglen)
{
    if (v[0] != '/' || strlen(v) > 512 || strpbrk(v, "?#\\ ")) {
        snprintf(msg, msglen, "'%s' must be a path starting with / (no query, fragment or spaces)", v);
        return -1;
    }
    return 0;
}

/* RFC 6265 cookie-name: a token */
static int check_cookie_name(const char *v, char *msg, size_t msglen)
{
    if (!*v) {
        snprintf(msg, msglen, "a cookie name must not be empty");
        return -1;
    }
    for (const char *c = v; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c)) {
            snprintf(msg, msglen, "'%s' is not a cookie name (letters, digits and !#$%%&'*+-.^_`|~)", v);
            return -1;
        }
    if (strlen(v) > 64) {
        snprintf(msg, msglen, "a cookie name of at most 64 bytes");
        return -1;
    }
    return 0;
}

static const gw_directive_t client_dirs[] = {
    CLI("name", GW_DIR_STR, name, 0, 0, NULL, 0),
    CLI("secret_sha256", GW_DIR_HEX64, secret_sha256, 0, 0, NULL, 0),
    CLI("public", GW_DIR_BOOL, is_public, 0, 0, NULL, 0),
    CLI("suspended", GW_DIR_BOOL, suspended, 0, 0, NULL, 0),
    CLI("redirect_uri", GW_DIR_URL_LIST, redirect_uris, 0, 0, NULL, 1),
    CLI("post_logout_redirect_uri", GW_DIR_URL_LIST, post_logout_uris, 0, 0, NULL, 0),
    CLI("backchannel_logout_uri", GW_DIR_URL, backchannel_logout_uri, 0, 0, NULL, 0),
    CLI("events_uri", GW_DIR_URL, events_uri, 0, 0, NULL, 0),
    CLI("response_iss", GW_DIR_BOOL, response_iss, 0, 0, NULL, 0),
    CLI("legacy_callback", GW_DIR_URL, legacy_callback, 0, 0, NULL, 0),
    CLI("match_by_name", GW_DIR_BOOL, match_by_name, 0, 0, NULL, 0),
    CLI("scopes", GW_DIR_STR, scopes, 0, 0, NULL, 0),
    CLI("min_level", GW_DIR_INT, min_level, 1, 2, NULL, 0),
    CLI("token_alg", GW_DIR_WORD, token_alg, 0, 0, "ES256 RS256", 0),
    CLI("account_types", GW_DIR_STR, account_types, 0, 0, NULL, 0),
    CLI("accounts", GW_DIR_BOOL, has_accounts, 0, 0, NULL, 0),
    CLI("legacy_login", GW_DIR_BOOL, legacy_login, 0, 0, NULL, 0),
    CLI("cutoff_individual", GW_DIR_TIME, cutoff_individual, 0, 0, NULL, 0),
    CLI("cutoff_organisation", GW_DIR_TIME, cutoff_organisation, 0, 0, NULL, 0),
    CLI("trust_stored_id12", GW_DIR_CHOICE, trust_any_id12, 0, 0, "verified_only any", 0),
    CLI("claim_unverifiable", GW_DIR_CHOICE, claim_allow_unverifiable, 0, 0, "refuse allow", 0),
    CLI("saml_metadata", GW_DIR_STR, saml_metadata, 0, 0, NULL, 0),
    CLI("saml_idp_initiated", GW_DIR_BOOL, saml_idp_initiated, 0, 0, NULL, 0),
    CLI("proxy_origin", GW_DIR_LIST, proxy_origins, 0, 0, NULL, 0, .check = check_origin),
    CLI("proxy_bypass", GW_DIR_LIST, proxy_bypass, 0, 0, NULL, 0, .check = check_path_prefix),
    CLI("proxy_cookie", GW_DIR_STR, proxy_cookie, 0, 0, NULL, 0, .check = check_cookie_name),
    { 0 },
};
/* [popdb]: every key is the popdb plugin's */
static const gw_directive_t popdb_dirs[] = {
    { 0 },
};
static const gw_directive_t limits_dirs[] = {
    CFG("legacy_per_account", GW_DIR_RATE, lim_legacy_account, 0, 0, NULL, 0),
    CFG("legacy_per_ip", GW_DIR_RATE, lim_legacy_ip, 0, 0, NULL, 0),
    CFG("verify_per_account", GW_DIR_RATE, lim_verify_account, 0, 0, NULL, 0),
    CFG("verify_per_ip", GW_DIR_RATE, lim_verify_ip, 0, 0, NULL, 0),
    CFG("verify_per_id12", GW_DIR_RATE, lim_verify_id12, 0, 0, NULL, 0),
    CFG("logins_per_ip", GW_DIR_RATE, lim_logins_ip, 0, 0, NULL, 0),
    { 0 },
};
static const gw_directive_t audit_dirs[] = {
    CFG("path", GW_DIR_STR, audit_path, 0, 0, NULL, 1),
    CFG("node_id", GW_DIR_STR, node_id, 0, 0, NULL, 0),
    { 0 },
};

#define MAX_FIELD_LINES 65536

typedef struct parser {
    const char *file;
    char *err;
    size_t errlen;
    int line;
    /* where each value was set, for errors found after the whole file is read */
    const void *field[MAX_FIELD_LINES];
    int field_line[MAX_FIELD_LINES];
    size_t nfields;
    const void *section_base[GW_MAX_CLIENTS + 16];
    int section_line[GW_MAX_CLIENTS + 16];
    size_t nsections;
    char secname[128]; /* the open section's "name arg", which its gw_dir_section_t points to */
} parser_t;

static int line_of(const parser_t *p, const void *field)
{
    for (size_t i = p->nfields; i > 0; i--)
        if (p->field[i - 1] == field)
            return p->field_line[i - 1];
    return 0;
}

static int section_line_of(const parser_t *p, const void *base)
{
    for (size_t i = 0; i < p->nsections; i++)
        if (p->section_base[i] == base)
            return p->section_line[i];
    return 0;
}

__attribute__((format(printf, 4, 5))) static int fail(parser_t *p, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_dir_verror(p->err, p->errlen, p->file, line, key, fmt, ap);
    va_end(ap);
    return -1;
}

/* One value through the section's table, remembering where its field was set. */
static int set_value(parser_t *p, gw_dir_section_t *sec, const char *key, const char *v, int line)
{
    const gw_directive_t *d = gw_dir_find(sec->table, key);
    if (d && p->nfields < MAX_FIELD_LINES) {
        p->field[p->nfields] = (char *)sec->base + d->offset;
        p->field_line[p->nfields++] = line;
    }
    int rc = gw_dir_set(sec, key, v, line, p->err, p->errlen);
    if (!rc && sec->table == server_dirs && !strcmp(key, "trusted_proxy"))
        warn_open_proxy(sec->base, p->file, v, line);
    return rc;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static void client_defaults(gw_client_t *c)
{
    c->min_level = 1;
    c->legacy_login = 1;
    c->response_iss = 1;
    c->cutoff_individual = 1719766800; /* 2024-07-01T00:00:00+07:00 (Decree 69/2024 art. 40.3) */
    c->cutoff_organisation = 1751302800; /* 2025-07-01T00:00:00+07:00 (art. 40.4) */
}

static void free_list(gw_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
}

static void upstream_free(gw_upstream_t *u)
{
    if (!u)
        return;
    free(u->name);
    free(u->plugin);
    free(u->plugin_at);
    gw_dir_lines_cleanup(&u->lines);
    if (u->settings && u->settings_release)
        u->settings_release(u->settings);
    if (u->settings)
        gw_dir_settings_free(u->settings_table, u->settings);
    free(u);
}

static void client_cleanup(gw_client_t *c)
{
    free(c->id);
    free(c->name);
    free(c->secret_sha256);
    free_list(&c->redirect_uris);
    free_list(&c->post_logout_uris);
    free_list(&c->proxy_origins);
    free_list(&c->proxy_bypass);
    free(c->proxy_cookie);
    free(c->backchannel_logout_uri);
    free(c->events_uri);
    free(c->legacy_callback);
    free(c->scopes);
    free(c->token_alg);
    free(c->account_types);
    free(c->saml_metadata);
    free(c->saml_metadata_at);
}

void gw_config_free(gw_config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->listen_host);
    free(cfg->public_url);
    free_list(&cfg->trusted_proxies);
    free_list(&cfg->warnings);
    free(cfg->templates_dir);
    free(cfg->keys_dir);
    free(cfg->store_driver);
    free(cfg->store_path);
    free(cfg->store_url);
    gw_wipe_free(cfg->store_password);
    free(cfg->store_master);
    free_list(&cfg->store_sentinels);
    free(cfg->log_level);
    free(cfg->admin_token_sha256);
    free(cfg->store_memory);
    gw_dir_lines_cleanup(&cfg->popdb_lines);
    if (cfg->popdb)
        gw_dir_settings_free(cfg->popdb_table, cfg->popdb);
    free(cfg->audit_path);
    free(cfg->revocation_file);
    free(cfg->node_id);
    upstream_free(cfg->upstream);
    for (size_t i = 0; i < cfg->nclients; i++)
        client_cleanup(&cfg->clients[i]);
    free(cfg->clients);
    free(cfg);
}

static int valid_client_id(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* The end of a section. A SAML portal has no redirect_uri: its metadata names where
 * answers go, so the row's "required" is met by saml_metadata; a proxied portal's answers
 * go to its origins (proxy_origin). */
static int close_section(gw_dir_section_t *sec, char *err, size_t errlen)
{
    if (sec->table == client_dirs) {
        int saml = -1, redirect = -1, proxy = -1;
        for (int i = 0; sec->table[i].name; i++) {
            if (!strcmp(sec->table[i].name, "saml_metadata"))
                saml = i;
            else if (!strcmp(sec->table[i].name, "proxy_origin"))
                proxy = i;
            else if (!strcmp(sec->table[i].name, "redirect_uri"))
                redirect = i;
        }
        int by = saml >= 0 && sec->set_line[saml] ? saml : proxy >= 0 && sec->set_line[proxy] ? proxy : -1;
        if (by >= 0 && redirect >= 0 && !sec->set_line[redirect]) {
            sec->set_line[redirect] = sec->set_line[by];
            int rc = gw_dir_close(sec, err, errlen);
            sec->set_line[redirect] = 0;
            return rc;
        }
    }
    return gw_dir_close(sec, err, errlen);
}

static int finish(parser_t *p, gw_config_t *c)
{
    if (!c->listen_host)
        return fail(p, 0, NULL, "section [server] with listen and public_url is required");
    if (!c->keys_dir)
        return fail(p, 0, NULL, "section [keys] with dir is required");
    if (!c->store_driver)
        return fail(p, 0, NULL, "section [store] with driver and path is required");
    if (!c->upstream)
        return fail(p, 0, NULL, "an [upstream NAME] section is required");
    if (!c->node_id)
        c->node_id = gw_strdup("node-1");
    if (!strcmp(c->store_driver, "sqlite") && !c->store_path)
        return fail(p, line_of(p, &c->store_driver), "path", "[store] driver = sqlite needs path");
    if (!strcmp(c->store_driver, "redis") && !c->store_url && !c->store_sentinels.n)
        return fail(p, line_of(p, &c->store_driver), "url", "[store] driver = redis needs url (or sentinel + master)");
    if (c->store_sentinels.n && !c->store_master)
        return fail(p, line_of(p, &c->store_sentinels), "master", "[store] sentinel needs the master name");
    if (!c->nclients)
        return fail(p, 0, NULL, "at least one [client ID] section is required");
    /* listen = host:port */
    char *colon = strrchr(c->listen_host, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || *end || port < 1 || port > 65535)
        return fail(p, line_of(p, &c->listen_host), "listen", "'%s' is not host:port", c->listen_host);
    *colon = 0;
    c->listen_port = (int)port;
    struct in_addr ia;
    if (strcmp(c->listen_host, "localhost") && inet_pton(AF_INET, c->listen_host, &ia) != 1)
        return fail(p, line_of(p, &c->listen_host), "listen", "'%s' is not an IPv4 address", c->listen_host);
    size_t n = strlen(c->public_url);
    if (n && c->public_url[n - 1] == '/')
        c->public_url[n - 1] = 0;
    gw_upstream_t *u = c->upstream;
    {
        /* which plugin speaks to it is checked against the registry by the app: it keeps
         * where it was said, for its error */
        int pl = line_of(p, &u->plugin);
        u->plugin_at = gw_sprintf("%s:%d", p->file, pl ? pl : section_line_of(p, u));
        if (!u->plugin)
            u->plugin = gw_strdup("vneid");
    }
    if (c->store_memory && !strcmp(c->store_driver, "redis"))
        return fail(p, line_of(p, &c->store_memory), "memory",
                    "records in memory belong to one process; with driver = redis every node must see them");
    if (c->store_memory) {
        /* only the short-lived records may leave the database */
        char *copy = gw_strdup(c->store_memory);
        const char *badns = NULL;
        for (char *sv = NULL, *t = strtok_r(copy, " ,\t", &sv); t && !badns; t = strtok_r(NULL, " ,\t", &sv))
            if (strcmp(t, "none") && strcmp(t, "cu") && strcmp(t, "at") && !gw_list_has(GW_STORE_MEMORY_ALLOWED, t))
                badns = t; /* "cu" (used codes) and "at" (access tokens, now sealed) are no longer kept
                            * anywhere: still accepted, they hold nothing */
        int rc = badns ? fail(p, line_of(p, &c->store_memory), "memory",
                              "'%s' cannot be held in memory (allowed: " GW_STORE_MEMORY_ALLOWED ", or none)", badns)
                       : 0;
        free(copy);
        if (rc)
            return rc;
    }
    if (!c->store_memory && !strcmp(c->store_driver, "sqlite"))
        c->store_memory = gw_strdup(GW_STORE_MEMORY_DEFAULT);
    if (!c->store_memory_max)
        c->store_memory_max = 1000000;
    if (!c->store_memory_max_bytes)
        c->store_memory_max_bytes = gw_config_default_memory_bytes();
    for (size_t i = 0; i < c->nclients; i++) {
        gw_client_t *cl = &c->clients[i];
        if (cl->saml_metadata) /* read and checked by the SAML IdP, which names this line */
            cl->saml_metadata_at = gw_sprintf("%s:%d", p->file, line_of(p, &cl->saml_metadata));
        if (cl->saml_idp_initiated && !cl->saml_metadata)
            return fail(p, line_of(p, &cl->saml_idp_initiated), "saml_idp_initiated",
                        "client '%s' is not a SAML portal (no saml_metadata): IdP-initiated SSO is for SAML portals",
                        cl->id);
        if (cl->proxy_origins.n && cl->saml_metadata)
            return fail(p, line_of(p, &cl->proxy_origins), "proxy_origin",
                        "client '%s' is a SAML portal (saml_metadata): a proxied portal is a portal of its own",
                        cl->id);
        for (size_t k = 0; k < cl->proxy_origins.n; k++) { /* a host names one portal, whatever the scheme */
            const char *host = origin_host(cl->proxy_origins.v[k]);
            const gw_client_t *other = gw_config_client_by_host(c, host);
            if (other && other != cl)
                return fail(p, line_of(p, &cl->proxy_origins), "proxy_origin",
                            "'%s' is already the host of client '%s'", host, other->id);
            for (size_t o = 0; o < k; o++)
                if (!strcmp(origin_host(cl->proxy_origins.v[o]), host))
                    return fail(p, line_of(p, &cl->proxy_origins), "proxy_origin",
                                "'%s' is listed twice (one origin per host)", host);
        }
        if (cl->proxy_origins.n && !cl->proxy_cookie)
            cl->proxy_cookie = gw_strdup("eidgw_portal");
        if (!cl->is_public && !cl->secret_sha256 && !cl->saml_metadata && !cl->proxy_origins.n)
            return fail(p, section_line_of(p, cl), "secret_sha256",
                        "client '%s' is confidential and needs a secret (or public = yes)", cl->id);
        if (cl->is_public && cl->secret_sha256)
            return fail(p, line_of(p, &cl->secret_sha256), "secret_sha256",
                        "client '%s' is public and must not have a secret", cl->id);
        if (!cl->scopes)
            cl->scopes = gw_strdup("openid profile");
        if (!gw_list_has(cl->scopes, "openid"))
            return fail(p, line_of(p, &cl->scopes), "scopes", "client '%s' must be allowed the openid scope", cl->id);
        if (!cl->token_alg)
            cl->token_alg = gw_strdup("ES256");
        if (!cl->account_types)
            cl->account_types = gw_strdup("1");
        if (!cl->name)
            cl->name = gw_strdup(cl->id);
        if (cl->has_accounts && !strcmp(c->store_driver, "redis"))
            return fail(p, line_of(p, &cl->has_accounts), "accounts",
                        "client '%s': legacy accounts need the sqlite store for now (driver = redis holds links, "
                        "sessions and codes, not the account registry)",
                        cl->id);
    }
    return 0;
}

static gw_dir_lines_t *raw_open(gw_dir_lines_t *l, const char *name, const char *file, int line)
{
    l->name = gw_strdup(name);
    l->file = gw_strdup(file);
    l->line = line;
    return l;
}

gw_config_t *gw_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    parser_t *pp = gw_xcalloc(1, sizeof(parser_t)); /* large tables: not on the stack */
    pp->file = name;
    pp->err = err;
    pp->errlen = errlen;
#define p (*pp)
    gw_config_t *c = gw_xcalloc(1, sizeof(*c));
    c->clients = gw_xcalloc(GW_MAX_CLIENTS, sizeof(gw_client_t)); /* never moves: errors point into it */
    c->io_threads = 2;
    c->workers = 4;
    c->upstream_workers = 64; /* mostly waiting on the population DB or a portal (VNeID needs no thread) */
    c->max_waiting = 4096; /* requests waiting on VNeID at once: beyond, a 503 at once */
    c->max_body = 64 * 1024;
    c->max_headers = 16 * 1024;
    c->max_uri = 8 * 1024;
    c->max_connections = 4096;
    c->max_connections_per_ip = 256; /* trusted proxies are exempt: every client comes through them */
    c->request_timeout = 10;
    c->min_body_rate = 1024; /* bytes a second, after request_timeout's grace */
    c->idle_timeout = 30;
    c->session_lifetime = 8 * 3600;
    c->session_recheck = 300;
    c->code_lifetime = 60;
    c->token_lifetime = 300;
    c->flow_lifetime = 900;
    c->lim_legacy_account = (gw_rate_t){ 5, 900 };
    c->lim_legacy_ip = (gw_rate_t){ 30, 900 };
    c->lim_verify_account = (gw_rate_t){ 3, 86400 };
    c->lim_verify_ip = (gw_rate_t){ 20, 3600 };
    c->lim_verify_id12 = (gw_rate_t){ 3, 86400 };
    /* logins started (each kept for flow_lifetime) per client address and node: a NAT of a
     * commune office or a carrier stays far under it, one address cannot fill the memory */
    c->lim_logins_ip = (gw_rate_t){ 1200, 60 };
    gw_dir_section_t sec = { 0 };
    gw_dir_lines_t *plugin_keys = NULL; /* a section whose keys a plugin reads */
    int lineno = 0;
    unsigned seen_sections = 0;
    const char *s = text, *end = text + len;
    if (memchr(text, 0, len)) {
        fail(&p, 0, NULL, "file contains a NUL byte");
        goto bad;
    }
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ll = nl ? (size_t)(nl - s) : (size_t)(end - s);
        lineno++;
        if (ll > 4096) {
            fail(&p, lineno, NULL, "line too long");
            goto bad;
        }
        char raw[4097];
        memcpy(raw, s, ll);
        raw[ll] = 0;
        s += ll + (nl ? 1 : 0);
        char *l = trim(raw);
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *close = strchr(l, ']');
            if (!close || close[1]) {
                fail(&p, lineno, NULL, "section header must look like [name] or [name arg]");
                goto bad;
            }
            if (sec.table && close_section(&sec, p.err, p.errlen))
                goto bad;
            *close = 0;
            char *sname = trim(l + 1), *arg = strchr(sname, ' ');
            if (arg) {
                *arg++ = 0;
                arg = trim(arg);
            }
            memset(&sec, 0, sizeof(sec));
            plugin_keys = NULL;
            snprintf(p.secname, sizeof(p.secname), "%s%s%s", sname, arg ? " " : "", arg ? arg : "");
            int wants_arg = !strcmp(sname, "upstream") || !strcmp(sname, "client");
            static const char *const once[] = { "server", "keys",  "store",  "session", "log",
                                                "admin",  "popdb", "limits", "audit" };
            for (size_t oi = 0; oi < sizeof(once) / sizeof(once[0]); oi++) {
                if (strcmp(sname, once[oi]))
                    continue;
                if (seen_sections & (1u << oi)) {
                    fail(&p, lineno, NULL, "section [%s] given twice", sname);
                    goto bad;
                }
                seen_sections |= 1u << oi;
            }
            if (wants_arg != (arg && *arg)) {
                fail(&p, lineno, NULL, wants_arg ? "[%s] needs a name, e.g. [%s vneid]" : "[%s] takes no name", sname,
                     sname);
                goto bad;
            }
            if (!strcmp(sname, "server"))
                gw_dir_open(&sec, server_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "keys"))
                gw_dir_open(&sec, keys_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "store"))
                gw_dir_open(&sec, store_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "session"))
                gw_dir_open(&sec, session_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "log"))
                gw_dir_open(&sec, log_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "admin"))
                gw_dir_open(&sec, admin_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "popdb")) {
                gw_dir_open(&sec, popdb_dirs, c, p.secname, p.file, lineno);
                plugin_keys = raw_open(&c->popdb_lines, p.secname, p.file, lineno);
            } else if (!strcmp(sname, "limits"))
                gw_dir_open(&sec, limits_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "audit"))
                gw_dir_open(&sec, audit_dirs, c, p.secname, p.file, lineno);
            else if (!strcmp(sname, "upstream")) {
                if (c->upstream) {
                    fail(&p, lineno, NULL, "only one [upstream] section is supported");
                    goto bad;
                }
                c->upstream = gw_xcalloc(1, sizeof(gw_upstream_t));
                c->upstream->name = gw_strdup(arg);
                gw_dir_open(&sec, upstream_dirs, c->upstream, p.secname, p.file, lineno);
                plugin_keys = raw_open(&c->upstream->lines, p.secname, p.file, lineno);
                if (p.nsections < GW_MAX_CLIENTS + 16) {
                    p.section_base[p.nsections] = c->upstream;
                    p.section_line[p.nsections++] = lineno;
                }
            } else if (!strcmp(sname, "client")) {
                if (!valid_client_id(arg)) {
                    fail(&p, lineno, NULL, "client id '%s' must be 1-64 of [A-Za-z0-9._-]", arg);
                    goto bad;
                }
                if (gw_config_client(c, arg)) {
                    fail(&p, lineno, NULL, "client '%s' defined twice", arg);
                    goto bad;
                }
                if (c->nclients == GW_MAX_CLIENTS) {
                    fail(&p, lineno, NULL, "at most %d clients", GW_MAX_CLIENTS);
                    goto bad;
                }
                gw_client_t *cl = &c->clients[c->nclients++];
                if (p.nsections < GW_MAX_CLIENTS + 16) {
                    p.section_base[p.nsections] = cl;
                    p.section_line[p.nsections++] = lineno;
                }
                memset(cl, 0, sizeof(*cl));
                client_defaults(cl);
                cl->id = gw_strdup(arg);
                gw_dir_open(&sec, client_dirs, cl, p.secname, p.file, lineno);
            } else {
                fail(&p, lineno, NULL, "unknown section [%s]", sname);
                goto bad;
            }
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            fail(&p, lineno, NULL, "expected 'key = value'");
            goto bad;
        }
        *eq = 0;
        char *key = trim(l), *val = trim(eq + 1);
        if (!sec.table) {
            fail(&p, lineno, key, "must be inside a [section]");
            goto bad;
        }
        if (plugin_keys && !gw_dir_find(sec.table, key)) {
            /* a plugin's key: kept with its line, read by the plugin's own table */
            gw_dir_lines_add(plugin_keys, key, val, lineno);
            continue;
        }
        if (set_value(&p, &sec, key, val, lineno))
            goto bad;
    }
    if ((sec.table && close_section(&sec, p.err, p.errlen)) || finish(&p, c))
        goto bad;
    free(pp);
    return c;
bad:
    free(pp);
    gw_config_free(c);
    return NULL;
}
#undef p

gw_config_t *gw_config_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (gw_buf_add(&b, chunk, n)) {
            snprintf(err, errlen, "%s: file larger than 1 MiB", path);
            fclose(f);
            gw_buf_cleanup(&b);
            return NULL;
        }
    fclose(f);
    gw_config_t *c = gw_config_parse(path, b.data ? b.data : "", b.len, err, errlen);
    gw_buf_cleanup(&b);
    if (c)
        c->path = gw_strdup(path);
    return c;
}

const char *gw_config_origin_of(const gw_client_t *cl, const char *authority)
{
    for (size_t k = 0; authority && k < cl->proxy_origins.n; k++)
        if (authority_is(cl->proxy_origins.v[k], authority))
            return cl->proxy_origins.v[k];
    return NULL;
}

const gw_client_t *gw_config_client_by_host(const gw_config_t *cfg, const char *authority)
{
    for (size_t i = 0; authority && i < cfg->nclients; i++)
        if (gw_config_origin_of(&cfg->clients[i], authority))
            return &cfg->clients[i];
    return NULL;
}

/* A plugin's section: whether a line holds a secret inline; the secret files it names
 * checked. -1 (err set) when one is refused. */
static int plugin_secrets(gw_config_t *cfg, const gw_dir_lines_t *l, const gw_directive_t *table, int *inline_secret,
                          char *err, size_t errlen)
{
    for (size_t i = 0; table && i < l->n; i++) {
        const gw_directive_t *d = gw_dir_find(table, l->v[i].key);
        *inline_secret |= d && d->secret;
        char why[512];
        if (d && d->secret_file &&
            gw_secret_file_check(l->v[i].value, cfg->secret_file_mode, &cfg->warnings, why, sizeof(why)))
            return gw_dir_error(err, errlen, l->file, l->v[i].line, d->name, "%s", why);
    }
    return 0;
}

int gw_config_check_secret_files(gw_config_t *cfg, char *err, size_t errlen)
{
    int inline_secret = cfg->store_password != NULL;
    if ((cfg->upstream &&
         plugin_secrets(cfg, &cfg->upstream->lines, cfg->upstream->settings_table, &inline_secret, err, errlen)) ||
        plugin_secrets(cfg, &cfg->popdb_lines, cfg->popdb_table, &inline_secret, err, errlen))
        return -1;
    return inline_secret && cfg->path
               ? gw_secret_file_check(cfg->path, cfg->secret_file_mode, &cfg->warnings, err, errlen)
               : 0;
}

const gw_client_t *gw_config_client(const gw_config_t *cfg, const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < cfg->nclients; i++)
        if (!strcmp(cfg->clients[i].id, id))
            return &cfg->clients[i];
    return NULL;
}
