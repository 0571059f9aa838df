#include "gw_config.h"

#include "gw_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STR, T_URL, T_INT, T_DURATION, T_BOOL, T_LIST, T_ENUM, T_HEX64, T_SIZE, T_TIME, T_RATE } dtype_t;

typedef struct directive {
    const char *key;
    dtype_t type;
    size_t offset;
    long min, max; /* T_INT, T_DURATION, T_SIZE */
    const char *choices; /* T_ENUM: space-separated */
    int required;
} directive_t;

#define CFG(k, t, f, ...)                                                                                              \
    {                                                                                                                  \
        k, t, offsetof(gw_config_t, f), __VA_ARGS__                                                                    \
    }
#define UPS(k, t, f, ...)                                                                                              \
    {                                                                                                                  \
        k, t, offsetof(gw_upstream_t, f), __VA_ARGS__                                                                  \
    }
#define CLI(k, t, f, ...)                                                                                              \
    {                                                                                                                  \
        k, t, offsetof(gw_client_t, f), __VA_ARGS__                                                                    \
    }

static const directive_t server_dirs[] = {
    CFG("listen", T_STR, listen_host, 0, 0, NULL, 1),
    CFG("public_url", T_URL, public_url, 0, 0, NULL, 1),
    CFG("io_threads", T_INT, io_threads, 1, 64, NULL, 0),
    CFG("workers", T_INT, workers, 1, 256, NULL, 0),
    CFG("upstream_workers", T_INT, upstream_workers, 1, 1024, NULL, 0),
    CFG("max_waiting", T_INT, max_waiting, 1, 1000000, NULL, 0),
    CFG("templates", T_STR, templates_dir, 0, 0, NULL, 0),
    CFG("max_body", T_SIZE, max_body, 1024, 16 << 20, NULL, 0),
    CFG("max_headers", T_SIZE, max_headers, 1024, 1 << 20, NULL, 0),
    CFG("max_uri", T_SIZE, max_uri, 256, 1 << 20, NULL, 0),
    CFG("trusted_proxy", T_LIST, trusted_proxies, 0, 0, NULL, 0),
    { 0 },
};
static const directive_t keys_dirs[] = {
    CFG("dir", T_STR, keys_dir, 0, 0, NULL, 1),
    { 0 },
};
static const directive_t store_dirs[] = {
    CFG("driver", T_ENUM, store_driver, 0, 0, "sqlite redis", 1),
    CFG("path", T_STR, store_path, 0, 0, NULL, 0),
    CFG("url", T_STR, store_url, 0, 0, NULL, 0),
    CFG("password", T_STR, store_password, 0, 0, NULL, 0),
    CFG("sentinel", T_LIST, store_sentinels, 0, 0, NULL, 0),
    CFG("master", T_STR, store_master, 0, 0, NULL, 0),
    CFG("allow_volatile", T_BOOL, store_allow_volatile, 0, 0, NULL, 0),
    CFG("memory", T_STR, store_memory, 0, 0, NULL, 0),
    CFG("memory_max_records", T_INT, store_memory_max, 1000, 100000000, NULL, 0),
    { 0 },
};
static const directive_t session_dirs[] = {
    CFG("lifetime", T_DURATION, session_lifetime, 60, 7 * 86400, NULL, 0),
    CFG("recheck", T_DURATION, session_recheck, 10, 86400, NULL, 0),
    CFG("code_lifetime", T_DURATION, code_lifetime, 5, 60, NULL, 0),
    CFG("token_lifetime", T_DURATION, token_lifetime, 30, 86400, NULL, 0),
    CFG("flow_lifetime", T_DURATION, flow_lifetime, 60, 3600, NULL, 0),
    { 0 },
};
static const directive_t admin_dirs[] = {
    CFG("token_sha256", T_HEX64, admin_token_sha256, 0, 0, NULL, 1),
    { 0 },
};
static const directive_t log_dirs[] = {
    CFG("level", T_ENUM, log_level, 0, 0, "debug info warn error", 0),
    { 0 },
};
static const directive_t upstream_dirs[] = {
    UPS("plugin", T_STR, plugin, 0, 0, NULL, 0),
    UPS("display_name", T_STR, display_name, 0, 0, NULL, 0),
    UPS("issuer", T_STR, issuer, 0, 0, NULL, 1),
    UPS("authorization_endpoint", T_URL, authorization_endpoint, 0, 0, NULL, 1),
    UPS("token_endpoint", T_URL, token_endpoint, 0, 0, NULL, 1),
    UPS("userinfo_endpoint", T_URL, userinfo_endpoint, 0, 0, NULL, 1),
    UPS("jwks_uri", T_URL, jwks_uri, 0, 0, NULL, 0),
    UPS("end_session_endpoint", T_URL, end_session_endpoint, 0, 0, NULL, 0),
    UPS("client_id", T_STR, client_id, 0, 0, NULL, 1),
    UPS("client_secret", T_STR, client_secret, 0, 0, NULL, 1),
    UPS("scope", T_STR, scope, 0, 0, NULL, 0),
    UPS("pkce", T_BOOL, use_pkce, 0, 0, NULL, 0),
    UPS("nonce", T_BOOL, use_nonce, 0, 0, NULL, 0),
    UPS("id_token", T_ENUM, id_token, 0, 0, "absent optional required", 0),
    UPS("algs", T_STR, algs, 0, 0, NULL, 0),
    UPS("claim_id", T_STR, claim_id, 0, 0, NULL, 1),
    UPS("claim_name", T_STR, claim_name, 0, 0, NULL, 0),
    UPS("claim_birthdate", T_STR, claim_birthdate, 0, 0, NULL, 0),
    UPS("birthdate_format", T_ENUM, birthdate_format, 0, 0, "YYYYMMDD YYYY-MM-DD DD/MM/YYYY", 0),
    UPS("claim_sex", T_STR, claim_sex, 0, 0, NULL, 0),
    UPS("sex_male", T_STR, sex_male, 0, 0, NULL, 0),
    UPS("sex_female", T_STR, sex_female, 0, 0, NULL, 0),
    UPS("claim_level", T_STR, claim_level, 0, 0, NULL, 0),
    UPS("level_map", T_LIST, level_map, 0, 0, NULL, 0),
    UPS("claim_account_type", T_STR, claim_account_type, 0, 0, NULL, 0),
    UPS("claim_logout_uri", T_STR, claim_logout_uri, 0, 0, NULL, 0),
    UPS("timeout", T_DURATION, timeout_ms, 1, 120, NULL, 0),
    UPS("clock_skew", T_DURATION, clock_skew, 0, 600, NULL, 0),
    { 0 },
};
static const directive_t client_dirs[] = {
    CLI("name", T_STR, name, 0, 0, NULL, 0),
    CLI("secret_sha256", T_HEX64, secret_sha256, 0, 0, NULL, 0),
    CLI("public", T_BOOL, is_public, 0, 0, NULL, 0),
    CLI("redirect_uri", T_LIST, redirect_uris, 0, 0, NULL, 1),
    CLI("post_logout_redirect_uri", T_LIST, post_logout_uris, 0, 0, NULL, 0),
    CLI("backchannel_logout_uri", T_URL, backchannel_logout_uri, 0, 0, NULL, 0),
    CLI("events_uri", T_URL, events_uri, 0, 0, NULL, 0),
    CLI("response_iss", T_BOOL, response_iss, 0, 0, NULL, 0),
    CLI("legacy_callback", T_URL, legacy_callback, 0, 0, NULL, 0),
    CLI("match_by_name", T_BOOL, match_by_name, 0, 0, NULL, 0),
    CLI("scopes", T_STR, scopes, 0, 0, NULL, 0),
    CLI("min_level", T_INT, min_level, 1, 2, NULL, 0),
    CLI("token_alg", T_ENUM, token_alg, 0, 0, "ES256 RS256", 0),
    CLI("account_types", T_STR, account_types, 0, 0, NULL, 0),
    CLI("accounts", T_BOOL, has_accounts, 0, 0, NULL, 0),
    CLI("legacy_login", T_BOOL, legacy_login, 0, 0, NULL, 0),
    CLI("cutoff_individual", T_TIME, cutoff_individual, 0, 0, NULL, 0),
    CLI("cutoff_organisation", T_TIME, cutoff_organisation, 0, 0, NULL, 0),
    CLI("trust_stored_id12", T_ENUM, trust_any_id12, 0, 0, "verified_only any", 0),
    CLI("saml_metadata", T_STR, saml_metadata, 0, 0, NULL, 0),
    { 0 },
};
static const directive_t popdb_dirs[] = {
    CFG("url", T_URL, popdb_url, 0, 0, NULL, 1),
    CFG("name_format", T_ENUM, popdb_name_format, 0, 0, "nfc nfc_upper ascii_upper_nospace", 0),
    CFG("timeout", T_DURATION, popdb_timeout, 1, 60, NULL, 0),
    CFG("field_cmnd", T_STR, popdb_field_cmnd, 0, 0, NULL, 0),
    CFG("field_id12", T_STR, popdb_field_id12, 0, 0, NULL, 0),
    CFG("field_name", T_STR, popdb_field_name, 0, 0, NULL, 0),
    CFG("result_field", T_STR, popdb_result_field, 0, 0, NULL, 0),
    CFG("match_value", T_STR, popdb_match, 0, 0, NULL, 0),
    CFG("nomatch_value", T_STR, popdb_nomatch, 0, 0, NULL, 0),
    { 0 },
};
static const directive_t limits_dirs[] = {
    CFG("legacy_per_account", T_RATE, lim_legacy_account, 0, 0, NULL, 0),
    CFG("legacy_per_ip", T_RATE, lim_legacy_ip, 0, 0, NULL, 0),
    CFG("verify_per_account", T_RATE, lim_verify_account, 0, 0, NULL, 0),
    CFG("verify_per_ip", T_RATE, lim_verify_ip, 0, 0, NULL, 0),
    CFG("verify_per_id12", T_RATE, lim_verify_id12, 0, 0, NULL, 0),
    { 0 },
};
static const directive_t audit_dirs[] = {
    CFG("path", T_STR, audit_path, 0, 0, NULL, 1),
    CFG("node_id", T_STR, node_id, 0, 0, NULL, 0),
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
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0 && key)
        snprintf(p->err, p->errlen, "%s:%d: %s: %s", p->file, line, key, msg);
    else if (line > 0)
        snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    return -1;
}

static int is_url(const char *v)
{
    if (strncmp(v, "https://", 8) && strncmp(v, "http://", 7))
        return 0;
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '#')
            return 0;
    const char *host = strstr(v, "://") + 3;
    return *host && *host != '/';
}

static int parse_duration(const char *v, long *ret)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || n < 0)
        return -1;
    long mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm' && end[1] != 's')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end)
        return -1;
    if (n > 100L * 365 * 86400 / mul)
        return -1;
    *ret = n * mul;
    return 0;
}

static int parse_size(const char *v, long *ret)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || n < 0)
        return -1;
    long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    if (*end || n > (1L << 40) / mul)
        return -1;
    *ret = n * mul;
    return 0;
}

static int set_value(parser_t *p, void *base, const directive_t *d, const char *v, int line, unsigned char *seen,
                     size_t di)
{
    void *field = (char *)base + d->offset;
    if (d->type != T_LIST && seen[di])
        return fail(p, line, d->key, "given twice");
    if (p->nfields < MAX_FIELD_LINES) {
        p->field[p->nfields] = field;
        p->field_line[p->nfields++] = line;
    }
    seen[di] = 1;
    switch (d->type) {
    case T_URL:
        if (!is_url(v))
            return fail(p, line, d->key, "'%s' is not an absolute http(s) URL", v);
        /* fallthrough */
    case T_STR:
        if (!*v)
            return fail(p, line, d->key, "empty value");
        *(char **)field = gw_strdup(v);
        return 0;
    case T_HEX64: {
        unsigned char tmp[32];
        if (gw_hex_decode(v, tmp, 32))
            return fail(p, line, d->key, "must be 64 hexadecimal characters (a SHA-256)");
        *(char **)field = gw_strdup(v);
        return 0;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end)
            return fail(p, line, d->key, "'%s' is not a number", v);
        if (n < d->min || n > d->max)
            return fail(p, line, d->key, "%ld is out of range %ld..%ld", n, d->min, d->max);
        *(int *)field = (int)n;
        return 0;
    }
    case T_DURATION: {
        long n;
        if (parse_duration(v, &n))
            return fail(p, line, d->key, "'%s' is not a duration (e.g. 30s, 5m, 8h, 1d)", v);
        if (n < d->min || n > d->max)
            return fail(p, line, d->key, "%lds is out of range %lds..%lds", n, d->min, d->max);
        *(long *)field = n;
        return 0;
    }
    case T_SIZE: {
        long n;
        if (parse_size(v, &n))
            return fail(p, line, d->key, "'%s' is not a size (e.g. 8k, 1m)", v);
        if (n < d->min || n > d->max)
            return fail(p, line, d->key, "%ld is out of range %ld..%ld", n, d->min, d->max);
        *(long *)field = n;
        return 0;
    }
    case T_TIME: {
        /* YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM / -HH:MM */
        /* exactly YYYY-MM-DDTHH:MM:SS then Z or +HH:MM / -HH:MM, a real calendar date */
        static const char shape[] = "dddd-dd-ddTdd:dd:dd";
        size_t vl = strlen(v);
        int okshape = vl >= 19;
        for (size_t k = 0; okshape && k < 19; k++)
            okshape = shape[k] == 'd' ? (v[k] >= '0' && v[k] <= '9') : v[k] == shape[k];
        const char *z = v + 19;
        char sign = 0;
        if (okshape && !strcmp(z, "Z"))
            sign = 'Z';
        else if (okshape && vl == 25 && (z[0] == '+' || z[0] == '-') && z[1] >= '0' && z[1] <= '9' && z[2] >= '0' &&
                 z[2] <= '9' && z[3] == ':' && z[4] >= '0' && z[4] <= '9' && z[5] >= '0' && z[5] <= '9')
            sign = z[0];
        if (!sign && okshape)
            return fail(p, line, d->key, "'%s' needs a zone: Z or +HH:MM", v);
        if (!sign)
            return fail(p, line, d->key, "'%s' is not a date-time like 2024-07-01T00:00:00+07:00", v);
        int Y = gw_digits(v, 4), M = gw_digits(v + 5, 2), D = gw_digits(v + 8, 2), h = gw_digits(v + 11, 2),
            m = gw_digits(v + 14, 2), sec = gw_digits(v + 17, 2);
        int oh = sign == 'Z' ? 0 : gw_digits(z + 1, 2), om = sign == 'Z' ? 0 : gw_digits(z + 4, 2);
        struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec };
        int64_t t = (int64_t)timegm(&tm);
        struct tm back;
        time_t tt = (time_t)t;
        gmtime_r(&tt, &back);
        if (M < 1 || M > 12 || h > 23 || m > 59 || sec > 59 || oh > 14 || om > 59 || back.tm_mday != D ||
            back.tm_mon != M - 1 || back.tm_year != Y - 1900)
            return fail(p, line, d->key, "'%s' is not a real date and time", v);
        int64_t off = (int64_t)(oh * 3600 + om * 60);
        *(int64_t *)field = sign == '+' ? t - off : sign == '-' ? t + off : t;
        return 0;
    }
    case T_RATE: {
        /* N/DURATION, e.g. 5/15m */
        char *slash = strchr(v, '/'), *end;
        long n = slash ? strtol(v, &end, 10) : -1;
        long w;
        if (!slash || end != slash || n < 1 || n > 1000000 || parse_duration(slash + 1, &w) || w < 1)
            return fail(p, line, d->key, "'%s' is not a rate like 5/15m", v);
        ((gw_rate_t *)field)->count = n;
        ((gw_rate_t *)field)->window = w;
        return 0;
    }
    case T_BOOL:
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
            *(int *)field = 1;
        else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
            *(int *)field = 0;
        else
            return fail(p, line, d->key, "'%s' is not yes or no", v);
        return 0;
    case T_ENUM: {
        if (!gw_list_has(d->choices, v))
            return fail(p, line, d->key, "'%s' is not one of: %s", v, d->choices);
        if (d->offset == offsetof(gw_client_t, trust_any_id12) && d->choices[0] == 'v') {
            *(int *)field = !strcmp(v, "any");
            return 0;
        }
        if (d->offset == offsetof(gw_upstream_t, id_token) && d->choices[0] == 'a') {
            *(int *)field = !strcmp(v, "absent") ? 0 : !strcmp(v, "optional") ? 1 : 2;
            return 0;
        }
        *(char **)field = gw_strdup(v);
        return 0;
    }
    case T_LIST: {
        gw_strlist_t *l = field;
        if (!*v)
            return fail(p, line, d->key, "empty value");
        if (l->n >= GW_MAX_LIST)
            return fail(p, line, d->key, "at most %d values", GW_MAX_LIST);
        if (gw_strlist_has(l, v))
            return fail(p, line, d->key, "'%s' given twice", v);
        if (!strcmp(d->key, "level_map")) {
            const char *e = strchr(v, ':');
            if (!e || e == v || (strcmp(e + 1, "1") && strcmp(e + 1, "2")))
                return fail(p, line, d->key, "'%s' must be VALUE:1 or VALUE:2", v);
        }
        if (strstr(d->key, "uri") && !is_url(v))
            return fail(p, line, d->key, "'%s' is not an absolute http(s) URL without fragment", v);
        l->v[l->n++] = gw_strdup(v);
        return 0;
    }
    }
    return 0;
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

static void upstream_defaults(gw_upstream_t *u)
{
    u->use_pkce = 1;
    u->use_nonce = 1;
    u->id_token = 2;
    u->timeout_ms = 10;
    u->clock_skew = 60;
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
    char **strs[] = { &u->name,
                      &u->plugin,
                      &u->plugin_at,
                      &u->display_name,
                      &u->issuer,
                      &u->authorization_endpoint,
                      &u->token_endpoint,
                      &u->userinfo_endpoint,
                      &u->jwks_uri,
                      &u->end_session_endpoint,
                      &u->client_id,
                      &u->scope,
                      &u->algs,
                      &u->claim_id,
                      &u->claim_name,
                      &u->claim_birthdate,
                      &u->birthdate_format,
                      &u->claim_sex,
                      &u->sex_male,
                      &u->sex_female,
                      &u->claim_level,
                      &u->claim_account_type,
                      &u->claim_logout_uri };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    gw_wipe_free(u->client_secret);
    free_list(&u->level_map);
    free(u);
}

static void client_cleanup(gw_client_t *c)
{
    free(c->id);
    free(c->name);
    free(c->secret_sha256);
    free_list(&c->redirect_uris);
    free_list(&c->post_logout_uris);
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
    free(cfg->popdb_url);
    free(cfg->popdb_name_format);
    free(cfg->popdb_field_cmnd);
    free(cfg->popdb_field_id12);
    free(cfg->popdb_field_name);
    free(cfg->popdb_result_field);
    free(cfg->popdb_match);
    free(cfg->popdb_nomatch);
    free(cfg->audit_path);
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

/* Section bookkeeping for the "required" check at the end of each section. */
typedef struct section {
    const directive_t *dirs;
    void *base;
    int line;
    const char *name;
    unsigned char seen[64];
} section_t;

static int check_required(parser_t *p, section_t *s)
{
    if (!s->dirs)
        return 0;
    /* a SAML portal has no redirect_uri: its metadata names where answers go */
    int saml = 0;
    for (size_t i = 0; s->dirs == client_dirs && s->dirs[i].key; i++)
        saml |= !strcmp(s->dirs[i].key, "saml_metadata") && s->seen[i];
    for (size_t i = 0; s->dirs[i].key; i++)
        if (s->dirs[i].required && !s->seen[i] && !(saml && !strcmp(s->dirs[i].key, "redirect_uri")))
            return fail(p, s->line, s->dirs[i].key, "missing in section [%s]", s->name);
    return 0;
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
    if (!c->popdb_name_format)
        c->popdb_name_format = gw_strdup("nfc");
    struct {
        char **field;
        const char *value;
    } pdef[] = { { &c->popdb_field_cmnd, "cmnd9" }, { &c->popdb_field_id12, "id12" },
                 { &c->popdb_field_name, "name" },  { &c->popdb_result_field, "result" },
                 { &c->popdb_match, "MATCH" },      { &c->popdb_nomatch, "NO_MATCH" } };
    for (size_t i = 0; i < sizeof(pdef) / sizeof(pdef[0]); i++)
        if (!*pdef[i].field)
            *pdef[i].field = gw_strdup(pdef[i].value);
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
    if (u->id_token && !u->jwks_uri)
        return fail(p, section_line_of(p, u), "jwks_uri", "required in [upstream %s] unless id_token = absent",
                    u->name);
    if (!u->algs)
        u->algs = gw_strdup("RS256 ES256 PS256");
    const char *bad = NULL;
    char *algs = gw_strdup(u->algs), *save = NULL;
    for (char *t = strtok_r(algs, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
        if (!gw_list_has("RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512", t))
            bad = t;
    if (bad) {
        fail(p, line_of(p, &u->algs), "algs",
             "'%s' is not an allowed signature algorithm (RS*, PS*, ES*; never none or HS*)", bad);
        free(algs);
        return -1;
    }
    free(algs);
    if (!u->scope)
        u->scope = gw_strdup("openid");
    if (!u->birthdate_format)
        u->birthdate_format = gw_strdup("YYYYMMDD");
    if (!u->display_name)
        u->display_name = gw_strdup("VNeID");
    {
        /* which plugin speaks to it is checked against the registry by the app: it keeps
         * where it was said, for its error */
        int pl = line_of(p, &u->plugin);
        u->plugin_at = gw_sprintf("%s:%d", p->file, pl ? pl : section_line_of(p, u));
        if (!u->plugin)
            u->plugin = gw_strdup("vneid");
    }
    for (size_t i = 0; i < u->level_map.n; i++) {
        const char *e = strchr(u->level_map.v[i], ':');
        if (!e || e == u->level_map.v[i] || (strcmp(e + 1, "1") && strcmp(e + 1, "2")))
            return fail(p, line_of(p, &u->level_map), "level_map", "'%s' must be VALUE:1 or VALUE:2",
                        u->level_map.v[i]);
    }
    if (c->store_memory && !strcmp(c->store_driver, "redis"))
        return fail(p, line_of(p, &c->store_memory), "memory",
                    "records in memory belong to one process; with driver = redis every node must see them");
    if (c->store_memory) {
        /* only the short-lived records may leave the database */
        char *copy = gw_strdup(c->store_memory);
        const char *badns = NULL;
        for (char *sv = NULL, *t = strtok_r(copy, " ,\t", &sv); t && !badns; t = strtok_r(NULL, " ,\t", &sv))
            if (strcmp(t, "none") && strcmp(t, "cu") && !gw_list_has(GW_STORE_MEMORY_DEFAULT, t))
                badns = t; /* "cu" (used codes) is no longer kept anywhere: still accepted, it holds nothing */
        int rc = badns ? fail(p, line_of(p, &c->store_memory), "memory",
                              "'%s' cannot be held in memory (allowed: " GW_STORE_MEMORY_DEFAULT ", or none)", badns)
                       : 0;
        free(copy);
        if (rc)
            return rc;
    }
    if (!c->store_memory && !strcmp(c->store_driver, "sqlite"))
        c->store_memory = gw_strdup(GW_STORE_MEMORY_DEFAULT);
    if (!c->store_memory_max)
        c->store_memory_max = 1000000;
    for (size_t i = 0; i < c->nclients; i++) {
        gw_client_t *cl = &c->clients[i];
        if (cl->saml_metadata) /* read and checked by the SAML IdP, which names this line */
            cl->saml_metadata_at = gw_sprintf("%s:%d", p->file, line_of(p, &cl->saml_metadata));
        if (!cl->is_public && !cl->secret_sha256 && !cl->saml_metadata)
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
    c->session_lifetime = 8 * 3600;
    c->session_recheck = 300;
    c->code_lifetime = 60;
    c->token_lifetime = 300;
    c->flow_lifetime = 900;
    c->popdb_timeout = 10;
    c->lim_legacy_account = (gw_rate_t){ 5, 900 };
    c->lim_legacy_ip = (gw_rate_t){ 30, 900 };
    c->lim_verify_account = (gw_rate_t){ 3, 86400 };
    c->lim_verify_ip = (gw_rate_t){ 20, 3600 };
    c->lim_verify_id12 = (gw_rate_t){ 3, 86400 };
    section_t sec = { 0 };
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
            if (check_required(&p, &sec))
                goto bad;
            *close = 0;
            char *sname = trim(l + 1), *arg = strchr(sname, ' ');
            if (arg) {
                *arg++ = 0;
                arg = trim(arg);
            }
            memset(&sec, 0, sizeof(sec));
            sec.line = lineno;

            sec.name = NULL;
            static char secname[128];
            snprintf(secname, sizeof(secname), "%s%s%s", sname, arg ? " " : "", arg ? arg : "");
            sec.name = secname;
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
                sec.dirs = server_dirs, sec.base = c;
            else if (!strcmp(sname, "keys"))
                sec.dirs = keys_dirs, sec.base = c;
            else if (!strcmp(sname, "store"))
                sec.dirs = store_dirs, sec.base = c;
            else if (!strcmp(sname, "session"))
                sec.dirs = session_dirs, sec.base = c;
            else if (!strcmp(sname, "log"))
                sec.dirs = log_dirs, sec.base = c;
            else if (!strcmp(sname, "admin"))
                sec.dirs = admin_dirs, sec.base = c;
            else if (!strcmp(sname, "popdb"))
                sec.dirs = popdb_dirs, sec.base = c;
            else if (!strcmp(sname, "limits"))
                sec.dirs = limits_dirs, sec.base = c;
            else if (!strcmp(sname, "audit"))
                sec.dirs = audit_dirs, sec.base = c;
            else if (!strcmp(sname, "upstream")) {
                if (c->upstream) {
                    fail(&p, lineno, NULL, "only one [upstream] section is supported");
                    goto bad;
                }
                c->upstream = gw_xcalloc(1, sizeof(gw_upstream_t));
                upstream_defaults(c->upstream);
                c->upstream->name = gw_strdup(arg);
                sec.dirs = upstream_dirs, sec.base = c->upstream;
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
                sec.dirs = client_dirs, sec.base = cl;
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
        if (!sec.dirs) {
            fail(&p, lineno, key, "must be inside a [section]");
            goto bad;
        }
        size_t di = 0;
        while (sec.dirs[di].key && strcmp(sec.dirs[di].key, key))
            di++;
        if (!sec.dirs[di].key) {
            fail(&p, lineno, key, "unknown key in [%s]", sec.name);
            goto bad;
        }
        if (set_value(&p, sec.base, &sec.dirs[di], val, lineno, sec.seen, di))
            goto bad;
    }
    if (check_required(&p, &sec) || finish(&p, c))
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

const gw_client_t *gw_config_client(const gw_config_t *cfg, const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < cfg->nclients; i++)
        if (!strcmp(cfg->clients[i].id, id))
            return &cfg->clients[i];
    return NULL;
}
