/* Unit tests for gw_config_parse: a complete file, defaults, and one test per kind of
 * error, each checked for its exact "name:LINE: key: message" text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <pthread.h>

#include "gw_config.h"
#include "gw_util.h"
#include "plugin.h"
#include "idp_vneid/idp_vneid.h"
#include "popdb_http/popdb_http.h"

#define NAME "t.conf"
#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char BASE[] = "# eidgw test configuration\n"
                           "\n"
                           "[server]\n"
                           "listen = 127.0.0.1:8443\n"
                           "public_url = https://sso.example.vn/\n"
                           "workers = 8\n"
                           "max_body = 128k\n"
                           "\n"
                           "[keys]\n"
                           "dir = /var/lib/eidgw/keys\n"
                           "\n"
                           "[store]\n"
                           "driver = sqlite\n"
                           "path = /var/lib/eidgw/eidgw.db\n"
                           "\n"
                           "[session]\n"
                           "lifetime = 2h\n"
                           "code_lifetime = 30s\n"
                           "\n"
                           "[log]\n"
                           "level = info\n"
                           "\n"
                           "[upstream vneid]\n"
                           "issuer = https://vneid.example\n"
                           "authorization_endpoint = https://vneid.example/auth\n"
                           "token_endpoint = https://vneid.example/token\n"
                           "userinfo_endpoint = https://vneid.example/userinfo\n"
                           "jwks_uri = https://vneid.example/jwks\n"
                           "client_id = eidgw\n"
                           "client_secret = upstream-secret\n"
                           "id_token = required\n"
                           "algs = RS256 ES256\n"
                           "claim_id = SoDinhDanh\n"
                           "claim_level = IAL\n"
                           "level_map = 1:1\n"
                           "level_map = 2:2\n"
                           "timeout = 5s\n"
                           "\n"
                           "[client portal-a]\n"
                           "name = C\xe1\xbb\x95ng A\n"
                           "secret_sha256 = " SHA_A "\n"
                           "redirect_uri = https://a.example/callback\n"
                           "redirect_uri = https://a.example/cb2?x=1\n"
                           "post_logout_redirect_uri = https://a.example/\n"
                           "scopes = openid profile cccd\n"
                           "min_level = 2\n"
                           "token_alg = RS256\n"
                           "\n"
                           "[client spa]\n"
                           "public = yes\n"
                           "redirect_uri = http://127.0.0.1:3000/cb\n";

/* ------------------------------------------------------------------ helpers */

/* Strings made by a test are kept here and freed by the teardown, so a failing
 * assertion leaves nothing behind for the leak checker. */
#define MAX_KEPT 256
static void *g_kept[MAX_KEPT];
static int g_nkept;

static void *keep(void *p)
{
    if (g_nkept == MAX_KEPT)
        fail_msg("too many kept allocations");
    g_kept[g_nkept++] = p;
    return p;
}

static int free_kept(void **state)
{
    while (g_nkept > 0)
        free(g_kept[--g_nkept]);
    return 0;
}

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    assert_non_null(s);
    return keep(s);
}

/* 1-based line of the nth (1-based) line containing needle; fails the test if absent. */
static int line_of_nth(const char *text, const char *needle, int nth)
{
    int line = 1;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *l = gw_xmalloc(len + 1);
        memcpy(l, p, len);
        l[len] = 0;
        int hit = strstr(l, needle) != NULL;
        free(l);
        if (hit && --nth == 0)
            return line;
        if (!nl)
            break;
        p = nl + 1;
        line++;
    }
    fail_msg("'%s' not in the configuration", needle);
    return -1;
}

static int line_of(const char *text, const char *needle) { return line_of_nth(text, needle, 1); }

/* BASE with the first occurrence of `from` replaced by `to`. */
static char *edit(const char *base, const char *from, const char *to)
{
    const char *at = strstr(base, from);
    if (!at)
        fail_msg("'%s' not in the configuration", from);
    return fmt("%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
}

/* The file read whole, as the daemon and check-config read it: the gateway's sections,
 * then the plugins' sections by the plugins' own tables. */
static gw_config_t *parse(const char *text, char *err, size_t errlen)
{
    err[0] = 0;
    gw_config_t *c = gw_config_parse(NAME, text, strlen(text), err, errlen);
    if (c && gw_plugins_configure(c, err, errlen)) {
        gw_config_free(c);
        return NULL;
    }
    return c;
}
#define VNEID(c) ((const gw_vneid_settings_t *)(c)->upstream->settings)
#define POPDB(c) ((const gw_popdb_settings_t *)(c)->popdb)

static gw_config_t *parse_ok(const char *text)
{
    char err[512];
    gw_config_t *c = parse(text, err, sizeof(err));
    if (!c)
        fail_msg("configuration refused: %s", err);
    return c;
}

/* Parse must fail with exactly `want`. */
static void expect_error(const char *text, const char *want)
{
    char err[512];
    gw_config_t *c = parse(text, err, sizeof(err));
    int accepted = c != NULL;
    gw_config_free(c);
    if (accepted)
        fail_msg("configuration accepted, expected: %s", want);
    if (strcmp(err, want))
        fail_msg("error was\n  \"%s\"\nexpected\n  \"%s\"", err, want);
}

/* Parse must fail with an error beginning "t.conf:LINE: KEY: " for one of the lines
 * given, and containing `contains`. */
static void expect_error_at(const char *text, const char *key, const char *contains, int nlines, ...)
{
    char err[512];
    gw_config_t *c = parse(text, err, sizeof(err));
    int accepted = c != NULL;
    gw_config_free(c);
    char want[128] = "";
    va_list ap;
    va_start(ap, nlines);
    int match = 0;
    for (int i = 0; i < nlines; i++) {
        int line = va_arg(ap, int);
        char prefix[128];
        if (key)
            snprintf(prefix, sizeof(prefix), NAME ":%d: %s: ", line, key);
        else
            snprintf(prefix, sizeof(prefix), NAME ":%d: ", line);
        if (i == 0)
            snprintf(want, sizeof(want), "%s", prefix);
        if (!strncmp(err, prefix, strlen(prefix)))
            match = 1;
    }
    va_end(ap);
    if (accepted)
        fail_msg("configuration accepted, expected an error \"%s...\"", want);
    if (!match)
        fail_msg("error was\n  \"%s\"\nexpected it to begin\n  \"%s\"", err, want);
    if (contains && !strstr(err, contains))
        fail_msg("error \"%s\" does not mention \"%s\"", err, contains);
}

/* ------------------------------------------------------------------ a valid file */

static void check_base_fields(const gw_config_t *c)
{
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, 8443);
    assert_string_equal(c->public_url, "https://sso.example.vn");
    assert_int_equal(c->workers, 8);
    assert_int_equal(c->upstream_workers, 64); /* not in BASE: its default */
    assert_int_equal(c->max_waiting, 4096);
    assert_int_equal(c->io_threads, 2);
    assert_int_equal(c->max_body, 128 * 1024);
    assert_int_equal(c->max_headers, 16 * 1024);
    assert_int_equal(c->max_uri, 8 * 1024);
    assert_null(c->templates_dir);
    assert_string_equal(c->keys_dir, "/var/lib/eidgw/keys");
    assert_string_equal(c->store_driver, "sqlite");
    assert_string_equal(c->store_path, "/var/lib/eidgw/eidgw.db");
    assert_null(c->store_url);
    assert_int_equal(c->store_sentinels.n, 0);
    assert_int_equal(c->session_lifetime, 7200);
    assert_int_equal(c->code_lifetime, 30);
    assert_int_equal(c->session_recheck, 300);
    assert_int_equal(c->token_lifetime, 300);
    assert_int_equal(c->flow_lifetime, 900);
    assert_string_equal(c->log_level, "info");
    assert_null(c->admin_token_sha256);

    assert_non_null(c->upstream);
    assert_string_equal(c->upstream->name, "vneid");
    assert_string_equal(c->upstream->plugin, "vneid");
    const gw_vneid_settings_t *u = VNEID(c); /* read by the plugin's own table */
    assert_string_equal(u->display_name, "VNeID");
    assert_string_equal(u->issuer, "https://vneid.example");
    assert_string_equal(u->authorization_endpoint, "https://vneid.example/auth");
    assert_string_equal(u->token_endpoint, "https://vneid.example/token");
    assert_string_equal(u->userinfo_endpoint, "https://vneid.example/userinfo");
    assert_string_equal(u->jwks_uri, "https://vneid.example/jwks");
    assert_null(u->end_session_endpoint);
    assert_string_equal(u->client_id, "eidgw");
    assert_string_equal(u->client_secret, "upstream-secret");
    assert_string_equal(u->scope, "openid");
    assert_int_equal(u->use_pkce, 1);
    assert_int_equal(u->use_nonce, 1);
    assert_int_equal(u->id_token, 2);
    assert_string_equal(u->algs, "RS256 ES256");
    assert_string_equal(u->claim_id, "SoDinhDanh");
    assert_string_equal(u->claim_level, "IAL");
    assert_string_equal(u->birthdate_format, "YYYYMMDD");
    assert_int_equal(u->level_map.n, 2);
    assert_string_equal(u->level_map.v[0], "1:1");
    assert_string_equal(u->level_map.v[1], "2:2");
    assert_int_equal(u->timeout, 5);
    assert_int_equal(u->clock_skew, 60);

    assert_int_equal(c->nclients, 2);
    const gw_client_t *a = gw_config_client(c, "portal-a");
    assert_non_null(a);
    assert_ptr_equal(a, &c->clients[0]);
    assert_string_equal(a->id, "portal-a");
    assert_string_equal(a->name, "C\xe1\xbb\x95ng A");
    assert_string_equal(a->secret_sha256, SHA_A);
    assert_int_equal(a->is_public, 0);
    assert_int_equal(a->redirect_uris.n, 2);
    assert_string_equal(a->redirect_uris.v[0], "https://a.example/callback");
    assert_string_equal(a->redirect_uris.v[1], "https://a.example/cb2?x=1");
    assert_int_equal(a->post_logout_uris.n, 1);
    assert_string_equal(a->post_logout_uris.v[0], "https://a.example/");
    assert_null(a->backchannel_logout_uri);
    assert_string_equal(a->scopes, "openid profile cccd");
    assert_int_equal(a->min_level, 2);
    assert_string_equal(a->token_alg, "RS256");
    assert_string_equal(a->account_types, "1");

    const gw_client_t *s = gw_config_client(c, "spa");
    assert_non_null(s);
    assert_string_equal(s->id, "spa");
    assert_string_equal(s->name, "spa");
    assert_null(s->secret_sha256);
    assert_int_equal(s->is_public, 1);
    assert_int_equal(s->redirect_uris.n, 1);
    assert_string_equal(s->redirect_uris.v[0], "http://127.0.0.1:3000/cb");
    assert_int_equal(s->post_logout_uris.n, 0);
    assert_string_equal(s->scopes, "openid profile");
    assert_int_equal(s->min_level, 1);
    assert_string_equal(s->token_alg, "ES256");
    assert_string_equal(s->account_types, "1");

    assert_null(gw_config_client(c, "nope"));
    assert_null(gw_config_client(c, NULL));
    assert_int_equal(gw_strlist_has(&a->redirect_uris, "https://a.example/callback"), 1);
    assert_int_equal(gw_strlist_has(&a->redirect_uris, "https://a.example/callback/"), 0);
}

static void test_config_parses_complete_file(void **state)
{
    gw_config_t *c = parse_ok(BASE);
    check_base_fields(c);
    assert_null(c->path);
    gw_config_free(c);
}

/* suspended = yes suspends a portal; a portal is not suspended unless the file says so */
static void test_config_parses_suspended(void **state)
{
    gw_config_t *c = parse_ok(BASE);
    assert_int_equal(gw_config_client(c, "portal-a")->suspended, 0);
    assert_int_equal(gw_config_client(c, "spa")->suspended, 0);
    gw_config_free(c);
    c = parse_ok(edit(BASE, "public = yes\n", "public = yes\nsuspended = yes\n"));
    assert_int_equal(gw_config_client(c, "spa")->suspended, 1);
    assert_int_equal(gw_config_client(c, "portal-a")->suspended, 0);
    gw_config_free(c);
    c = parse_ok(edit(BASE, "public = yes\n", "public = yes\nsuspended = no\n"));
    assert_int_equal(gw_config_client(c, "spa")->suspended, 0);
    gw_config_free(c);
    char *t = edit(BASE, "public = yes\n", "public = yes\nsuspended = later\n");
    expect_error(t, fmt(NAME ":%d: suspended: 'later' is not yes or no", line_of(t, "suspended = later")));
}

static void test_config_accepts_crlf_line_endings(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b, 0);
    for (const char *p = BASE; *p; p++) {
        if (*p == '\n')
            gw_buf_add(&b, "\r", 1);
        gw_buf_add(&b, p, 1);
    }
    gw_config_t *c = parse_ok(b.data);
    check_base_fields(c);
    gw_config_free(c);
    gw_buf_cleanup(&b);
}

static void test_config_ignores_comments_blank_lines_and_indentation(void **state)
{
    char *t1 = edit(BASE, "[keys]\n", "  # an indented comment\n; a semicolon comment\n\t\n   \n[keys]\n");
    char *t2 = edit(t1, "workers = 8\n", "  workers\t=\t8   \n#workers = 9\n");
    char *t3 = edit(t2, "[store]\n", "[ store ]\n");
    gw_config_t *c = parse_ok(t3);
    check_base_fields(c);
    gw_config_free(c);
}

static void test_config_accepts_missing_final_newline(void **state)
{
    char *t = keep(gw_strdup(BASE));
    t[strlen(t) - 1] = 0;
    gw_config_t *c = parse_ok(t);
    assert_string_equal(gw_config_client(c, "spa")->redirect_uris.v[0], "http://127.0.0.1:3000/cb");
    gw_config_free(c);
}

static void test_config_listen_accepts_localhost(void **state)
{
    char *t = edit(BASE, "listen = 127.0.0.1:8443", "listen = localhost:9000");
    gw_config_t *c = parse_ok(t);
    assert_string_equal(c->listen_host, "localhost");
    assert_int_equal(c->listen_port, 9000);
    gw_config_free(c);
}

static void test_config_rejects_listen_host_not_ipv4(void **state)
{
    static const char *bad[] = { "[::1]:9000", "sso.example.vn:443", "127.0.0.256:80", ":80" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = edit(BASE, "listen = 127.0.0.1:8443", fmt("listen = %s", bad[i]));
        size_t hl = strrchr(bad[i], ':') - bad[i];
        expect_error_at(t, "listen", fmt("'%.*s' is not an IPv4 address", (int)hl, bad[i]), 1, line_of(t, "listen"));
    }
}

static void test_config_public_url_without_trailing_slash_is_kept(void **state)
{
    char *t = edit(BASE, "public_url = https://sso.example.vn/", "public_url = https://sso.example.vn/eid");
    gw_config_t *c = parse_ok(t);
    assert_string_equal(c->public_url, "https://sso.example.vn/eid");
    gw_config_free(c);
}

static void test_config_duration_units(void **state)
{
    static const struct {
        const char *v;
        long s;
    } cases[] = { { "90", 90 }, { "90s", 90 }, { "5m", 300 }, { "8h", 28800 }, { "1d", 86400 }, { "7d", 604800 } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *line = fmt("lifetime = %s", cases[i].v);
        char *t = edit(BASE, "lifetime = 2h", line);
        gw_config_t *c = parse_ok(t);
        assert_int_equal(c->session_lifetime, cases[i].s);
        gw_config_free(c);
    }
}

static void test_config_bool_spellings(void **state)
{
    static const struct {
        const char *v;
        int b;
    } cases[] = { { "yes", 1 }, { "true", 1 }, { "on", 1 }, { "no", 0 }, { "false", 0 }, { "off", 0 } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *line = fmt("timeout = 5s\npkce = %s", cases[i].v);
        char *t = edit(BASE, "timeout = 5s", line);
        gw_config_t *c = parse_ok(t);
        assert_int_equal(VNEID(c)->use_pkce, cases[i].b);
        gw_config_free(c);
    }
}

static void test_config_id_token_absent_needs_no_jwks_uri(void **state)
{
    char *t1 = edit(BASE, "jwks_uri = https://vneid.example/jwks\n", "");
    char *t2 = edit(t1, "id_token = required", "id_token = absent");
    gw_config_t *c = parse_ok(t2);
    assert_int_equal(VNEID(c)->id_token, 0);
    assert_null(VNEID(c)->jwks_uri);
    gw_config_free(c);
}

static void test_config_defaults_for_optional_sections(void **state)
{
    gw_config_t *c = parse_ok(BASE);
    assert_null(POPDB(c)->url);
    assert_string_equal(POPDB(c)->name_format, "nfc");
    assert_int_equal(POPDB(c)->timeout, 10);
    assert_null(c->audit_path);
    assert_string_equal(c->node_id, "node-1");
    assert_int_equal(c->lim_legacy_account.count, 5);
    assert_int_equal(c->lim_legacy_account.window, 900);
    assert_int_equal(c->lim_legacy_ip.count, 30);
    assert_int_equal(c->lim_legacy_ip.window, 900);
    assert_int_equal(c->lim_verify_account.count, 3);
    assert_int_equal(c->lim_verify_account.window, 86400);
    assert_int_equal(c->lim_verify_ip.count, 20);
    assert_int_equal(c->lim_verify_ip.window, 3600);
    assert_int_equal(c->lim_verify_id12.count, 3);
    assert_int_equal(c->lim_verify_id12.window, 86400);
    const gw_client_t *a = gw_config_client(c, "portal-a");
    assert_int_equal(a->has_accounts, 0);
    assert_int_equal(a->legacy_login, 1);
    assert_int_equal(a->cutoff_individual, 1719766800); /* 2024-07-01T00:00:00+07:00 */
    assert_int_equal(a->cutoff_organisation, 1751302800); /* 2025-07-01T00:00:00+07:00 */
    assert_int_equal(a->trust_any_id12, 0);
    assert_null(a->events_uri);
    gw_config_free(c);
}

static void test_config_parses_limits_popdb_audit_and_cutoffs(void **state)
{
    char *t = fmt("%s"
                  "\n[popdb]\nurl = https://popdb.example/check\nname_format = ascii_upper_nospace\ntimeout = 3s\n"
                  "\n[limits]\nlegacy_per_account = 10/1h\nverify_per_id12 = 1/1d\n"
                  "\n[audit]\npath = /var/log/eidgw/audit.log\nnode_id = hn-2\n",
                  edit(BASE, "token_alg = RS256",
                       "token_alg = RS256\naccounts = yes\nlegacy_login = no\ntrust_stored_id12 = any\n"
                       "cutoff_individual = 2024-07-01T00:00:00Z\ncutoff_organisation = 2025-06-30T17:00:00-07:00"));
    gw_config_t *c = parse_ok(t);
    assert_string_equal(POPDB(c)->url, "https://popdb.example/check");
    assert_string_equal(POPDB(c)->name_format, "ascii_upper_nospace");
    assert_int_equal(POPDB(c)->timeout, 3);
    assert_int_equal(c->lim_legacy_account.count, 10);
    assert_int_equal(c->lim_legacy_account.window, 3600);
    assert_int_equal(c->lim_verify_id12.count, 1);
    assert_int_equal(c->lim_verify_id12.window, 86400);
    assert_int_equal(c->lim_legacy_ip.count, 30); /* untouched default */
    assert_string_equal(c->audit_path, "/var/log/eidgw/audit.log");
    assert_string_equal(c->node_id, "hn-2");
    const gw_client_t *a = gw_config_client(c, "portal-a");
    assert_int_equal(a->has_accounts, 1);
    assert_int_equal(a->legacy_login, 0);
    assert_int_equal(a->trust_any_id12, 1);
    assert_int_equal(a->cutoff_individual, 1719792000);
    assert_int_equal(a->cutoff_organisation, 1751328000); /* 2025-07-01T00:00:00Z */
    gw_config_free(c);
}

static void test_config_rejects_bad_rate(void **state)
{
    static const char *bad[] = { "5", "0/1m", "5/", "5/0s", "x/1m", "5/1x", "1000001/1h" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = fmt("%s\n[limits]\nverify_per_ip = %s\n", BASE, bad[i]);
        expect_error(
            t, fmt(NAME ":%d: verify_per_ip: '%s' is not a rate like 5/15m", line_of(t, "verify_per_ip"), bad[i]));
    }
}

static void test_config_rejects_impossible_cutoff_time(void **state)
{
    static const char *bad[] = {
        "2024-07-01T-1:00:00Z", /* negative hour */
        "2024-07-01T00:-5:00Z", /* negative minute */
        "2024-02-30T00:00:00Z", /* no such day */
        "2024-13-01T00:00:00Z", /* no such month */
        "2024-07-01T24:00:00Z", /* no such hour */
        "2024-07-01T00:00:00+7:000", /* zone not +HH:MM */
    };
    char accepted[512] = "";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = edit(BASE, "token_alg = RS256", fmt("token_alg = RS256\ncutoff_individual = %s", bad[i]));
        char err[512];
        gw_config_t *c = parse(t, err, sizeof(err));
        if (c) {
            size_t n = strlen(accepted);
            snprintf(accepted + n, sizeof(accepted) - n, " '%s' (as %lld)", bad[i],
                     (long long)gw_config_client(c, "portal-a")->cutoff_individual);
            gw_config_free(c);
            continue;
        }
        const char *want = fmt(NAME ":%d: cutoff_individual: '%s'", line_of(t, "cutoff_individual"), bad[i]);
        if (strncmp(err, want, strlen(want)))
            fail_msg("error was \"%s\", expected it to begin \"%s\"", err, want);
    }
    if (accepted[0])
        fail_msg("accepted:%s", accepted);
    char *t = edit(BASE, "token_alg = RS256", "token_alg = RS256\ncutoff_individual = 2024-07-01T00:00:00");
    expect_error(t, fmt(NAME ":%d: cutoff_individual: '2024-07-01T00:00:00' needs a zone: Z or +HH:MM",
                        line_of(t, "cutoff_individual")));
}

/* ------------------------------------------------------------------ errors: structure */

static void test_config_rejects_unknown_key(void **state)
{
    char *t = edit(BASE, "workers = 8", "wrokers = 8");
    char *want = fmt(NAME ":%d: wrokers: unknown key in [server]", line_of(t, "wrokers"));
    expect_error(t, want);
    t = edit(BASE, "client_id = eidgw", "client_id = eidgw\nclient_idd = x");
    want = fmt(NAME ":%d: client_idd: unknown key in [upstream vneid]", line_of(t, "client_idd"));
    expect_error(t, want);
}

/* Two parses at once (two threads): each error names its own section, whatever
 * section the other parse has reached. */
typedef struct parse_job {
    const char *text, *want; /* want: the error, or NULL for a configuration that parses */
    int wrong;
} parse_job_t;

static void *parse_many(void *arg)
{
    parse_job_t *j = arg;
    for (int i = 0; i < 300; i++) {
        char err[512] = "";
        gw_config_t *c = gw_config_parse(NAME, j->text, strlen(j->text), err, sizeof(err));
        j->wrong += j->want ? (c != NULL || strcmp(err, j->want) != 0) : c == NULL;
        gw_config_free(c);
    }
    return NULL;
}

static void test_config_parses_at_once_keep_their_own_section_names(void **state)
{
    char *t = edit(BASE, "workers = 8", "wrokers = 8");
    parse_job_t bad = { .text = t, .want = fmt(NAME ":%d: wrokers: unknown key in [server]", line_of(t, "wrokers")) };
    parse_job_t good = { .text = BASE };
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, parse_many, &bad), 0);
    assert_int_equal(pthread_create(&b, NULL, parse_many, &good), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(bad.wrong, 0);
    assert_int_equal(good.wrong, 0);
}

static void test_config_rejects_unknown_section(void **state)
{
    char *t = edit(BASE, "[log]", "[logging]");
    char *want = fmt(NAME ":%d: unknown section [logging]", line_of(t, "[logging]"));
    expect_error(t, want);
}

static void test_config_rejects_key_outside_section(void **state)
{
    char *t = fmt("listen = 127.0.0.1:1\n%s", BASE);
    expect_error(t, NAME ":1: listen: must be inside a [section]");
}

static void test_config_rejects_line_without_equals(void **state)
{
    char *t = edit(BASE, "workers = 8", "workers 8");
    char *want = fmt(NAME ":%d: expected 'key = value'", line_of(t, "workers 8"));
    expect_error(t, want);
}

static void test_config_rejects_bad_section_header(void **state)
{
    char *t = edit(BASE, "[log]", "[log");
    char *want = fmt(NAME ":%d: section header must look like [name] or [name arg]", line_of(t, "[log"));
    expect_error(t, want);
    t = edit(BASE, "[upstream vneid]", "[upstream]");
    want = fmt(NAME ":%d: [upstream] needs a name, e.g. [upstream vneid]", line_of(t, "[upstream]"));
    expect_error(t, want);
    t = edit(BASE, "[log]", "[log x]");
    want = fmt(NAME ":%d: [log] takes no name", line_of(t, "[log x]"));
    expect_error(t, want);
}

static void test_config_rejects_duplicate_key(void **state)
{
    char *t = edit(BASE, "workers = 8", "workers = 8\nworkers = 9");
    char *want = fmt(NAME ":%d: workers: given twice", line_of_nth(t, "workers", 2));
    expect_error(t, want);
    t = edit(BASE, "token_alg = RS256", "token_alg = RS256\ntoken_alg = ES256");
    want = fmt(NAME ":%d: token_alg: given twice", line_of_nth(t, "token_alg", 2));
    expect_error(t, want);
}

static void test_config_rejects_duplicate_list_value(void **state)
{
    char *t = edit(BASE, "redirect_uri = https://a.example/cb2?x=1", "redirect_uri = https://a.example/callback");
    char *want = fmt(NAME ":%d: redirect_uri: 'https://a.example/callback' given twice",
                     line_of_nth(t, "redirect_uri = https://a.example/callback", 2));
    expect_error(t, want);
}

static void test_config_rejects_key_repeated_in_repeated_section(void **state)
{
    /* A second [server] section must not silently replace listen (nor leak the first). */
    char *t = fmt("%s\n[server]\nlisten = 127.0.0.1:9999\npublic_url = https://other.example\n", BASE);
    expect_error_at(t, NULL, NULL, 2, line_of_nth(t, "[server]", 2), line_of_nth(t, "listen =", 2));
}

static void test_config_rejects_duplicate_client(void **state)
{
    char *t = fmt("%s\n[client portal-a]\npublic = yes\nredirect_uri = https://x.example/cb\n", BASE);
    char *want = fmt(NAME ":%d: client 'portal-a' defined twice", line_of_nth(t, "[client portal-a]", 2));
    expect_error(t, want);
}

static void test_config_rejects_second_upstream(void **state)
{
    char *t = fmt("%s\n[upstream other]\n", BASE);
    char *want = fmt(NAME ":%d: only one [upstream] section is supported", line_of(t, "[upstream other]"));
    expect_error(t, want);
}

static void test_config_rejects_bad_client_id(void **state)
{
    static const char *bad[] = { "portal/a", "portal a?", "c\xc3\xa9", "a:b" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *hdr = fmt("[client %s]", bad[i]);
        char *t = edit(BASE, "[client spa]", hdr);
        char *want = fmt(NAME ":%d: client id '%s' must be 1-64 of [A-Za-z0-9._-]", line_of(t, hdr), bad[i]);
        expect_error(t, want);
    }
    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = 0;
    char *hdr = fmt("[client %s]", id65);
    char *t = edit(BASE, "[client spa]", hdr);
    char *want = fmt(NAME ":%d: client id '%s' must be 1-64 of [A-Za-z0-9._-]", line_of(t, hdr), id65);
    expect_error(t, want);
    /* 64 is fine */
    id65[64] = 0;
    hdr = fmt("[client %s]", id65);
    t = edit(BASE, "[client spa]", hdr);
    gw_config_t *c = parse_ok(t);
    assert_non_null(gw_config_client(c, id65));
    gw_config_free(c);
}

static void test_config_rejects_nul_byte(void **state)
{
    char text[] = "[server]\nlisten = 1\0x\n";
    char err[256] = "";
    assert_null(gw_config_parse(NAME, text, sizeof(text) - 1, err, sizeof(err)));
    assert_string_equal(err, NAME ": file contains a NUL byte");
}

static void test_config_rejects_overlong_line(void **state)
{
    char *pad = keep(gw_xmalloc(5000));
    memset(pad, 'x', 4999);
    pad[4999] = 0;
    char *line = fmt("name = %s", pad);
    char *t = edit(BASE, "name = C", line);
    char *want = fmt(NAME ":%d: line too long", line_of(t, "name = xxx"));
    expect_error(t, want);
}

/* ------------------------------------------------------------------ errors: values */

static void test_config_rejects_url_without_scheme(void **state)
{
    char *t = edit(BASE, "authorization_endpoint = https://vneid.example/auth",
                   "authorization_endpoint = vneid.example/auth");
    char *want = fmt(NAME ":%d: authorization_endpoint: 'vneid.example/auth' is not an absolute http(s) URL",
                     line_of(t, "authorization_endpoint"));
    expect_error(t, want);
    t = edit(BASE, "redirect_uri = https://a.example/callback", "redirect_uri = ftp://a.example/callback");
    want = fmt(NAME ":%d: redirect_uri: 'ftp://a.example/callback' is not an absolute http(s) URL without fragment",
               line_of(t, "ftp://"));
    expect_error(t, want);
    t = edit(BASE, "public_url = https://sso.example.vn/", "public_url = https:///path");
    want = fmt(NAME ":%d: public_url: 'https:///path' is not an absolute http(s) URL", line_of(t, "public_url"));
    expect_error(t, want);
}

static void test_config_rejects_public_url_with_query_or_user(void **state)
{
    (void)state;
    static const char *const bad[] = { "https://sso.example.vn/?a=1", "https://u:p@sso.example.vn/",
                                       "https://user@sso.example.vn" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = edit(BASE, "public_url = https://sso.example.vn/", fmt("public_url = %s", bad[i]));
        expect_error(t, fmt(NAME ":%d: public_url: '%s' must be scheme://host[:port][/path], with no query, "
                                 "fragment or user",
                            line_of(t, "public_url"), bad[i]));
    }
    /* a path may carry an '@': it names no user */
    gw_config_free(
        parse_ok(edit(BASE, "public_url = https://sso.example.vn/", "public_url = https://sso.example.vn/@x")));
}

static void test_config_rejects_bad_trusted_proxy_at_its_line(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        { "10.0.0.0/33", "'/33' is not a prefix length of 0..32 for 10.0.0.0" },
        { "300.1.1.1", "'300.1.1.1' is not an IPv4 or IPv6 address" },
        { "garbage", "'garbage' is not an IPv4 or IPv6 address" },
        { "10.0.0.0/8, ::1/200", "'/200' is not a prefix length of 0..128 for ::1" },
        { "10.0.0.0/8,", "'' is not an IPv4 or IPv6 address" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = edit(BASE, "max_body = 128k\n",
                       fmt("max_body = 128k\ntrusted_proxy = 127.0.0.1\ntrusted_proxy = %s\n", bad[i][0]));
        expect_error(t, fmt(NAME ":%d: trusted_proxy: %s", line_of_nth(t, "trusted_proxy", 2), bad[i][1]));
    }
}

static void test_config_takes_trusted_proxy_ranges_and_warns_of_every_address(void **state)
{
    (void)state;
    gw_config_t *c = parse_ok(edit(BASE, "max_body = 128k\n",
                                   "max_body = 128k\ntrusted_proxy = 10.0.0.0/8, ::1/128\n"
                                   "trusted_proxy = 192.0.2.7\n"));
    assert_int_equal(c->trusted_proxies.n, 2);
    assert_true(gw_cidr_list_has(&c->trusted_proxies, "10.20.30.40"));
    assert_true(gw_cidr_list_has(&c->trusted_proxies, "::1"));
    assert_true(gw_cidr_list_has(&c->trusted_proxies, "192.0.2.7"));
    assert_false(gw_cidr_list_has(&c->trusted_proxies, "192.0.2.8"));
    assert_int_equal(c->warnings.n, 0);
    gw_config_free(c);
    /* a range of every address: one warning at its line, naming it */
    static const char *const open_ranges[][2] = { { "0.0.0.0/0", "0.0.0.0/0" }, { "10.0.0.0/8, ::/0", "::/0" } };
    for (size_t i = 0; i < sizeof(open_ranges) / sizeof(open_ranges[0]); i++) {
        char *t = edit(BASE, "max_body = 128k\n", fmt("max_body = 128k\ntrusted_proxy = %s\n", open_ranges[i][0]));
        c = parse_ok(t);
        assert_int_equal(c->warnings.n, 1);
        assert_string_equal(c->warnings.v[0], fmt(NAME ":%d: trusted_proxy: '%s' trusts every address: every client "
                                                       "may set X-Forwarded-For",
                                                  line_of(t, "trusted_proxy"), open_ranges[i][1]));
        gw_config_free(c);
    }
}

static void test_config_rejects_url_with_fragment(void **state)
{
    char *t = edit(BASE, "redirect_uri = https://a.example/callback", "redirect_uri = https://a.example/callback#x");
    char *want =
        fmt(NAME ":%d: redirect_uri: 'https://a.example/callback#x' is not an absolute http(s) URL without fragment",
            line_of(t, "callback#x"));
    expect_error(t, want);
    t = edit(BASE, "public_url = https://sso.example.vn/", "public_url = https://sso.example.vn/#top");
    want = fmt(NAME ":%d: public_url: 'https://sso.example.vn/#top' is not an absolute http(s) URL",
               line_of(t, "public_url"));
    expect_error(t, want);
}

static void test_config_rejects_url_with_space(void **state)
{
    char *t =
        edit(BASE, "token_endpoint = https://vneid.example/token", "token_endpoint = https://vneid.example/to ken");
    char *want = fmt(NAME ":%d: token_endpoint: 'https://vneid.example/to ken' is not an absolute http(s) URL",
                     line_of(t, "token_endpoint"));
    expect_error(t, want);
}

static void test_config_rejects_bad_duration(void **state)
{
    static const char *bad[] = { "8x", "h", "-5m", "5ms", "1.5h", "5 m", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *line = fmt("lifetime = %s", bad[i]);
        char *t = edit(BASE, "lifetime = 2h", line);
        char *want =
            fmt(NAME ":%d: lifetime: '%s' is not a duration (e.g. 30s, 5m, 8h, 1d)", line_of(t, "lifetime ="), bad[i]);
        expect_error(t, want);
    }
}

static void test_config_rejects_duration_out_of_range(void **state)
{
    char *t = edit(BASE, "code_lifetime = 30s", "code_lifetime = 2m");
    char *want = fmt(NAME ":%d: code_lifetime: 120s is out of range 5s..60s", line_of(t, "code_lifetime"));
    expect_error(t, want);
    t = edit(BASE, "lifetime = 2h", "lifetime = 8d");
    want = fmt(NAME ":%d: lifetime: 691200s is out of range 60s..604800s", line_of(t, "lifetime ="));
    expect_error(t, want);
}

static void test_config_rejects_int_out_of_range(void **state)
{
    char *t = edit(BASE, "workers = 8", "workers = 0");
    char *want = fmt(NAME ":%d: workers: 0 is out of range 1..256", line_of(t, "workers"));
    expect_error(t, want);
    t = edit(BASE, "workers = 8", "workers = 8\nupstream_workers = 1025");
    want = fmt(NAME ":%d: upstream_workers: 1025 is out of range 1..1024", line_of(t, "upstream_workers"));
    expect_error(t, want);
    t = edit(BASE, "workers = 8", "workers = 8\nmax_waiting = 0");
    want = fmt(NAME ":%d: max_waiting: 0 is out of range 1..1000000", line_of(t, "max_waiting"));
    expect_error(t, want);
    t = edit(BASE, "min_level = 2", "min_level = 3");
    want = fmt(NAME ":%d: min_level: 3 is out of range 1..2", line_of(t, "min_level"));
    expect_error(t, want);
    t = edit(BASE, "workers = 8", "workers = 99999999999999999999");
    want = fmt(NAME ":%d: workers: '99999999999999999999' is not a number", line_of(t, "workers"));
    expect_error(t, want);
    t = edit(BASE, "workers = 8", "workers = 8x");
    want = fmt(NAME ":%d: workers: '8x' is not a number", line_of(t, "workers"));
    expect_error(t, want);
}

static void test_config_rejects_size_out_of_range(void **state)
{
    char *t = edit(BASE, "max_body = 128k", "max_body = 17m");
    char *want = fmt(NAME ":%d: max_body: 17825792 is out of range 1024..16777216", line_of(t, "max_body"));
    expect_error(t, want);
    t = edit(BASE, "max_body = 128k", "max_body = 12q");
    want = fmt(NAME ":%d: max_body: '12q' is not a size (e.g. 8k, 1m)", line_of(t, "max_body"));
    expect_error(t, want);
}

static void test_config_rejects_bad_bool(void **state)
{
    char *t = edit(BASE, "public = yes", "public = maybe");
    char *want = fmt(NAME ":%d: public: 'maybe' is not yes or no", line_of(t, "public = maybe"));
    expect_error(t, want);
    t = edit(BASE, "public = yes", "public = YES");
    want = fmt(NAME ":%d: public: 'YES' is not yes or no", line_of(t, "public = YES"));
    expect_error(t, want);
}

static void test_config_rejects_enum_value_not_in_list(void **state)
{
    char *t = edit(BASE, "token_alg = RS256", "token_alg = HS256");
    char *want = fmt(NAME ":%d: token_alg: 'HS256' is not one of: ES256 RS256", line_of(t, "token_alg"));
    expect_error(t, want);
    t = edit(BASE, "driver = sqlite", "driver = postgres");
    want = fmt(NAME ":%d: driver: 'postgres' is not one of: sqlite redis", line_of(t, "driver"));
    expect_error(t, want);
    t = edit(BASE, "id_token = required", "id_token = sometimes");
    want = fmt(NAME ":%d: id_token: 'sometimes' is not one of: absent optional required", line_of(t, "id_token"));
    expect_error(t, want);
    /* a substring of a choice is not a choice */
    t = edit(BASE, "level = info", "level = inf");
    want = fmt(NAME ":%d: level: 'inf' is not one of: debug info warn error", line_of(t, "level = inf"));
    expect_error(t, want);
}

static void test_config_rejects_secret_sha256_not_64_hex(void **state)
{
    const char *msg = "must be 64 hexadecimal characters (a SHA-256)";
    char *v63 = keep(gw_strdup(SHA_A));
    v63[63] = 0;
    char *v64g = keep(gw_strdup(SHA_A));
    v64g[10] = 'g';
    char *v65 = fmt("%s0", SHA_A);
    const char *bad[] = { v63, v64g, v65, "secret" };
    for (size_t i = 0; i < 4; i++) {
        char *line = fmt("secret_sha256 = %s", bad[i]);
        char *t = edit(BASE, "secret_sha256 = " SHA_A, line);
        char *want = fmt(NAME ":%d: secret_sha256: %s", line_of(t, "secret_sha256"), msg);
        expect_error(t, want);
    }
}

static void test_config_rejects_empty_value(void **state)
{
    char *t = edit(BASE, "claim_id = SoDinhDanh", "claim_id =");
    char *want = fmt(NAME ":%d: claim_id: empty value", line_of(t, "claim_id"));
    expect_error(t, want);
}

/* ------------------------------------------------------------------ errors: cross-checks */

static void test_config_rejects_confidential_client_without_secret(void **state)
{
    char *t = edit(BASE, "secret_sha256 = " SHA_A "\n", "");
    expect_error_at(t, "secret_sha256", "client 'portal-a' is confidential", 1, line_of(t, "[client portal-a]"));
}

static void test_config_rejects_public_client_with_secret(void **state)
{
    char *t = edit(BASE, "public = yes", "public = yes\nsecret_sha256 = " SHA_A);
    expect_error_at(t, "secret_sha256", "client 'spa' is public", 2, line_of_nth(t, "secret_sha256", 2),
                    line_of(t, "[client spa]"));
}

static void test_config_rejects_scopes_without_openid(void **state)
{
    char *t = edit(BASE, "scopes = openid profile cccd", "scopes = profile cccd");
    expect_error_at(t, "scopes", "client 'portal-a' must be allowed the openid scope", 1, line_of(t, "scopes"));
    t = edit(BASE, "scopes = openid profile cccd", "scopes = openidx profile");
    expect_error_at(t, "scopes", "openid", 1, line_of(t, "scopes"));
}

static void test_config_rejects_algs_with_hs256(void **state)
{
    char *t = edit(BASE, "algs = RS256 ES256", "algs = RS256 HS256");
    expect_error_at(t, "algs", "'HS256' is not an allowed signature algorithm", 1, line_of(t, "algs"));
}

static void test_config_rejects_algs_with_none(void **state)
{
    char *t = edit(BASE, "algs = RS256 ES256", "algs = none");
    expect_error_at(t, "algs", "'none' is not an allowed signature algorithm", 1, line_of(t, "algs"));
    t = edit(BASE, "algs = RS256 ES256", "algs = RS256,none,ES256");
    expect_error_at(t, "algs", "'none'", 1, line_of(t, "algs"));
}

static void test_config_rejects_missing_required_key_at_section_line(void **state)
{
    /* in a section followed by another: reported when the next header is reached */
    char *t = edit(BASE, "claim_id = SoDinhDanh\n", "");
    char *want = fmt(NAME ":%d: claim_id: missing in section [upstream vneid]", line_of(t, "[upstream vneid]"));
    expect_error(t, want);
    /* in the last section: reported at the end of the file */
    t = edit(BASE, "redirect_uri = http://127.0.0.1:3000/cb\n", "");
    want = fmt(NAME ":%d: redirect_uri: missing in section [client spa]", line_of(t, "[client spa]"));
    expect_error(t, want);
    t = edit(BASE, "public_url = https://sso.example.vn/\n", "");
    want = fmt(NAME ":%d: public_url: missing in section [server]", line_of(t, "[server]"));
    expect_error(t, want);
}

static void test_config_rejects_missing_upstream_section(void **state)
{
    const char *from = strstr(BASE, "[upstream vneid]"), *to = strstr(BASE, "[client portal-a]");
    char *t = fmt("%.*s%s", (int)(from - BASE), BASE, to);
    expect_error(t, NAME ": an [upstream NAME] section is required");
}

static void test_config_rejects_missing_client_section(void **state)
{
    const char *from = strstr(BASE, "[client portal-a]");
    char *t = fmt("%.*s", (int)(from - BASE), BASE);
    expect_error(t, NAME ": at least one [client ID] section is required");
}

static void test_config_rejects_missing_server_section(void **state)
{
    const char *from = strstr(BASE, "[server]"), *to = strstr(BASE, "[keys]");
    char *t = fmt("%.*s%s", (int)(from - BASE), BASE, to);
    expect_error(t, NAME ": section [server] with listen and public_url is required");
}

static void test_config_rejects_missing_jwks_uri_when_id_token_used(void **state)
{
    char *t = edit(BASE, "jwks_uri = https://vneid.example/jwks\n", "");
    expect_error_at(t, "jwks_uri", "required in [upstream vneid] unless id_token = absent", 1,
                    line_of(t, "[upstream vneid]"));
}

static void test_config_rejects_malformed_level_map(void **state)
{
    static const char *bad[] = { "1", "1:3", ":1", "1:", "1:1x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *line = fmt("level_map = %s", bad[i]);
        char *t = edit(BASE, "level_map = 2:2", line);
        char *quoted = fmt("'%s' must be VALUE:1 or VALUE:2", bad[i]);
        expect_error_at(t, "level_map", quoted, 1, line_of_nth(t, "level_map", 2));
    }
}

static void test_config_rejects_listen_without_port(void **state)
{
    static const char *bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *line = fmt("listen = %s", bad[i]);
        char *t = edit(BASE, "listen = 127.0.0.1:8443", line);
        char *quoted = fmt("'%s' is not host:port", bad[i]);
        expect_error_at(t, "listen", quoted, 1, line_of(t, "listen"));
    }
}

static void test_config_rejects_sqlite_store_without_path(void **state)
{
    char *t = edit(BASE, "path = /var/lib/eidgw/eidgw.db\n", "");
    expect_error_at(t, "path", "[store] driver = sqlite needs path", 2, line_of(t, "driver = sqlite"),
                    line_of(t, "[store]"));
}

static void test_config_rejects_malformed_level_map_naming_its_own_line(void **state)
{
    /* the bad value comes first, a good one after it */
    char *t = edit(BASE, "level_map = 1:1", "level_map = 1:9");
    expect_error_at(t, "level_map", "'1:9' must be VALUE:1 or VALUE:2", 1, line_of(t, "level_map = 1:9"));
}

/* Errors found after the whole file is read still name their line in a long file. */
static void test_config_cross_check_errors_name_lines_in_long_file(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b, 0);
    gw_buf_adds(&b, BASE);
    for (int i = 0; i < 300; i++)
        gw_buf_printf(&b,
                      "\n[client p%03d]\nname = P%03d\nsecret_sha256 = " SHA_A "\n"
                      "redirect_uri = https://p%03d.example/cb\nscopes = openid profile\n",
                      i, i, i);
    char *ok = keep(gw_buf_steal(&b));
    gw_config_t *c = parse_ok(ok);
    assert_int_equal(c->nclients, 302);
    gw_config_free(c);

    char *t = edit(ok, "[client p299]\nname = P299\nsecret_sha256 = " SHA_A "\n", "[client p299]\nname = P299\n");
    expect_error_at(t, "secret_sha256", "client 'p299' is confidential", 1, line_of(t, "[client p299]"));

    t = edit(ok, "redirect_uri = https://p299.example/cb\nscopes = openid profile",
             "redirect_uri = https://p299.example/cb\nscopes = profile");
    expect_error_at(t, "scopes", "client 'p299' must be allowed the openid scope", 1,
                    line_of(t, "redirect_uri = https://p299.example/cb") + 1);
}

static void test_config_error_is_truncated_to_buffer(void **state)
{
    char *t = edit(BASE, "workers = 8", "wrokers = 8");
    char err[16];
    memset(err, 'Z', sizeof(err));
    assert_null(gw_config_parse(NAME, t, strlen(t), err, sizeof(err)));
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(strncmp(err, NAME ":", strlen(NAME ":")), 0);
}

/* a proxied portal: its origins stand for redirect URIs and its cookie for a secret */
#define PROXY_PORTAL                                                                                                   \
    "[client intranet]\nproxy_origin = https://intranet.example\nproxy_origin = http://127.0.0.1:8080\n"

static void test_config_proxy_portal_needs_no_redirect_uri_or_secret(void **state)
{
    (void)state;
    gw_config_t *c = parse_ok(fmt("%s\n" PROXY_PORTAL "proxy_bypass = /health\nproxy_bypass = /static/\n", BASE));
    const gw_client_t *cl = gw_config_client(c, "intranet");
    assert_non_null(cl);
    assert_int_equal(cl->proxy_origins.n, 2);
    assert_int_equal(cl->proxy_bypass.n, 2);
    assert_string_equal(cl->proxy_bypass.v[1], "/static/");
    assert_string_equal(cl->proxy_cookie, "eidgw_portal");
    /* a host as a browser sends it: any case, a default port written out or not */
    assert_ptr_equal(gw_config_client_by_host(c, "intranet.example"), cl);
    assert_ptr_equal(gw_config_client_by_host(c, "Intranet.Example"), cl);
    assert_ptr_equal(gw_config_client_by_host(c, "intranet.example:443"), cl);
    assert_ptr_equal(gw_config_client_by_host(c, "127.0.0.1:8080"), cl);
    assert_null(gw_config_client_by_host(c, "intranet.example:80"));
    assert_null(gw_config_client_by_host(c, "intranet.example:4430"));
    assert_null(gw_config_client_by_host(c, "127.0.0.1"));
    assert_null(gw_config_client_by_host(c, "a.example"));
    assert_null(gw_config_client_by_host(c, NULL));
    gw_config_free(c);
    c = parse_ok(fmt("%s\n" PROXY_PORTAL "proxy_cookie = intranet_sid\n", BASE));
    assert_string_equal(gw_config_client(c, "intranet")->proxy_cookie, "intranet_sid");
    gw_config_free(c);
}

static void test_config_rejects_bad_proxy_origins_paths_and_cookie_names(void **state)
{
    (void)state;
    const char *bad_origins[] = { "intranet.example",
                                  "https://Intranet.example",
                                  "https://intranet.example/",
                                  "https://intranet.example/app",
                                  "https://u@intranet.example",
                                  "https://intranet.example:0",
                                  "https://intranet.example:65536",
                                  "https://intranet.example?x",
                                  "ftp://intranet.example",
                                  "https://.example" };
    for (size_t i = 0; i < sizeof(bad_origins) / sizeof(*bad_origins); i++) {
        char *t = fmt("%s\n[client intranet]\nproxy_origin = %s\n", BASE, bad_origins[i]);
        expect_error_at(t, "proxy_origin", bad_origins[i], 1, line_of(t, "proxy_origin ="));
    }
    char *t = fmt("%s\n" PROXY_PORTAL "proxy_bypass = health\n", BASE);
    expect_error_at(t, "proxy_bypass", "must be a path starting with /", 1, line_of(t, "proxy_bypass ="));
    t = fmt("%s\n" PROXY_PORTAL "proxy_bypass = /a?b\n", BASE);
    expect_error_at(t, "proxy_bypass", "must be a path starting with /", 1, line_of(t, "proxy_bypass ="));
    t = fmt("%s\n" PROXY_PORTAL "proxy_cookie = a;b\n", BASE);
    expect_error_at(t, "proxy_cookie", "is not a cookie name", 1, line_of(t, "proxy_cookie ="));
}

static void test_config_rejects_a_host_claimed_twice(void **state)
{
    (void)state;
    /* two portals on one host, even under two schemes or with the default port written out */
    const char *second[] = { "https://intranet.example", "http://intranet.example", "https://intranet.example:443" };
    for (size_t i = 0; i < sizeof(second) / sizeof(*second); i++) {
        char *t = fmt("%s\n" PROXY_PORTAL "\n[client other]\nproxy_origin = %s\n", BASE, second[i]);
        expect_error_at(t, "proxy_origin", "is already the host of client 'intranet'", 1,
                        line_of_nth(t, "proxy_origin =", 3));
    }
    char *t = fmt("%s\n[client intranet]\nproxy_origin = https://intranet.example\n"
                  "proxy_origin = http://intranet.example\n",
                  BASE);
    expect_error_at(t, "proxy_origin", "listed twice", 1, line_of_nth(t, "proxy_origin =", 2));
}

static void test_store_memory_defaults_on_sqlite_and_is_refused_on_redis(void **state)
{
    (void)state;
    gw_config_t *c = parse_ok(BASE);
    assert_string_equal(c->store_memory, "ar flow code cux cur err lo pxc");
    assert_int_equal(c->store_memory_max, 1000000);
    /* the bound in bytes is sized from the machine: a quarter of it, within 64 MB..1 GiB */
    long phys = sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE), want = phys / 4;
    want = want > (1L << 30) ? 1L << 30 : want < (64L << 20) ? 64L << 20 : want;
    assert_true(labs(c->store_memory_max_bytes - want) < 4096);
    gw_config_free(c);
    char *t = edit(BASE, "path = /var/lib/eidgw/eidgw.db\n",
                   "path = /var/lib/eidgw/eidgw.db\nmemory = code at\nmemory_max_records = 5000\n");
    c = parse_ok(t);
    assert_string_equal(c->store_memory, "code at");
    assert_int_equal(c->store_memory_max, 5000);
    gw_config_free(c);
    /* a list written for an older version, with the retired "cu", still loads */
    t = edit(BASE, "path = /var/lib/eidgw/eidgw.db\n",
             "path = /var/lib/eidgw/eidgw.db\nmemory = ar flow code cu cur at err lo\n");
    c = parse_ok(t);
    assert_string_equal(c->store_memory, "ar flow code cu cur at err lo");
    gw_config_free(c);
    t = edit(BASE, "path = /var/lib/eidgw/eidgw.db\n", "path = /var/lib/eidgw/eidgw.db\nmemory = code sess\n");
    expect_error(
        t, fmt(NAME ":%d: memory: 'sess' cannot be held in memory (allowed: ar flow code cux cur err lo pxc atr, or none)",
               line_of(t, "memory =")));
    t = edit(BASE, "driver = sqlite\npath = /var/lib/eidgw/eidgw.db\n",
             "driver = redis\nurl = redis://127.0.0.1:6379/0\nmemory = code\n");
    expect_error_at(t, "memory", "every node must see them", 1, line_of(t, "memory ="));
    t = edit(BASE, "path = /var/lib/eidgw/eidgw.db\n", "path = /var/lib/eidgw/eidgw.db\nmemory_max_records = 10\n");
    expect_error_at(t, "memory_max_records", "out of range", 1, line_of(t, "memory_max_records"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, free_kept)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_proxy_portal_needs_no_redirect_uri_or_secret),
        cmocka_unit_test(test_config_rejects_bad_proxy_origins_paths_and_cookie_names),
        cmocka_unit_test(test_config_rejects_a_host_claimed_twice),
        cmocka_unit_test(test_store_memory_defaults_on_sqlite_and_is_refused_on_redis),
        T(test_config_parses_complete_file),
        T(test_config_parses_suspended),
        T(test_config_accepts_crlf_line_endings),
        T(test_config_ignores_comments_blank_lines_and_indentation),
        T(test_config_accepts_missing_final_newline),
        T(test_config_listen_accepts_localhost),
        T(test_config_rejects_listen_host_not_ipv4),
        T(test_config_public_url_without_trailing_slash_is_kept),
        T(test_config_duration_units),
        T(test_config_bool_spellings),
        T(test_config_id_token_absent_needs_no_jwks_uri),
        T(test_config_defaults_for_optional_sections),
        T(test_config_parses_limits_popdb_audit_and_cutoffs),
        T(test_config_rejects_bad_rate),
        T(test_config_rejects_impossible_cutoff_time),
        T(test_config_rejects_unknown_key),
        T(test_config_parses_at_once_keep_their_own_section_names),
        T(test_config_rejects_unknown_section),
        T(test_config_rejects_key_outside_section),
        T(test_config_rejects_line_without_equals),
        T(test_config_rejects_bad_section_header),
        T(test_config_rejects_duplicate_key),
        T(test_config_rejects_duplicate_list_value),
        T(test_config_rejects_key_repeated_in_repeated_section),
        T(test_config_rejects_duplicate_client),
        T(test_config_rejects_second_upstream),
        T(test_config_rejects_bad_client_id),
        T(test_config_rejects_nul_byte),
        T(test_config_rejects_overlong_line),
        T(test_config_rejects_url_without_scheme),
        T(test_config_rejects_url_with_fragment),
        T(test_config_rejects_public_url_with_query_or_user),
        T(test_config_rejects_bad_trusted_proxy_at_its_line),
        T(test_config_takes_trusted_proxy_ranges_and_warns_of_every_address),
        T(test_config_rejects_url_with_space),
        T(test_config_rejects_bad_duration),
        T(test_config_rejects_duration_out_of_range),
        T(test_config_rejects_int_out_of_range),
        T(test_config_rejects_size_out_of_range),
        T(test_config_rejects_bad_bool),
        T(test_config_rejects_enum_value_not_in_list),
        T(test_config_rejects_secret_sha256_not_64_hex),
        T(test_config_rejects_empty_value),
        T(test_config_rejects_confidential_client_without_secret),
        T(test_config_rejects_public_client_with_secret),
        T(test_config_rejects_scopes_without_openid),
        T(test_config_rejects_algs_with_hs256),
        T(test_config_rejects_algs_with_none),
        T(test_config_rejects_missing_required_key_at_section_line),
        T(test_config_rejects_missing_upstream_section),
        T(test_config_rejects_missing_client_section),
        T(test_config_rejects_missing_server_section),
        T(test_config_rejects_missing_jwks_uri_when_id_token_used),
        T(test_config_rejects_malformed_level_map),
        T(test_config_rejects_listen_without_port),
        T(test_config_rejects_sqlite_store_without_path),
        T(test_config_rejects_malformed_level_map_naming_its_own_line),
        T(test_config_cross_check_errors_name_lines_in_long_file),
        T(test_config_error_is_truncated_to_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
