/* Unit tests for the idp_vneid plugin: its own configuration table, and its login state
 * machine driven with canned answers of the provider (no network): the token call, the
 * id_token checks (a real ES256 signature from a generated key), the userinfo mapping,
 * and each way a provider's answer can be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "gw_crypto.h"
#include "gw_fetch.h"
#include "gw_util.h"
#include "idp_vneid/idp_vneid.h"
#include "idp_vneid/idp_vneid_internal.h"
#include "idp_vneid/vneid_envelope.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>
#include <openssl/rsa.h>
#include "plugin.h"

/* "key = value" lines as the configuration file keeps them for the plugin */
static void lines_of(gw_dir_lines_t *l, const char *text)
{
    memset(l, 0, sizeof(*l));
    l->name = gw_strdup("upstream vneid");
    l->file = gw_strdup("t.conf");
    l->line = 10;
    char *copy = gw_strdup(text), *save = NULL;
    int n = 11;
    for (char *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save), n++) {
        char *eq = strstr(t, " = ");
        assert_non_null(eq);
        *eq = 0;
        gw_dir_lines_add(l, t, eq + 3, n);
    }
    free(copy);
}

/* the provider and our client at it, as every profile below has them */
#define PROVIDER                                                                                                       \
    "issuer = https://vneid.test\n"                                                                                    \
    "authorization_endpoint = https://vneid.test/auth\n"                                                               \
    "token_endpoint = https://vneid.test/token\n"                                                                      \
    "userinfo_endpoint = https://vneid.test/userinfo\n"                                                                \
    "client_id = eidgw test\n"                                                                                         \
    "client_secret = s3cret\n"

#define PROFILE                                                                                                        \
    PROVIDER                                                                                                           \
    "claim_id = SoDinhDanh\n"                                                                                          \
    "claim_name = HoVaTen\n"                                                                                           \
    "claim_birthdate = NgaySinh\n"                                                                                     \
    "claim_sex = GioiTinh\n"                                                                                           \
    "sex_male = 1\n"                                                                                                   \
    "sex_female = 2\n"                                                                                                 \
    "claim_level = IAL\n"                                                                                              \
    "level_map = L1:1\n"                                                                                               \
    "level_map = L2:2\n"                                                                                               \
    "claim_account_type = LoaiTaiKhoan\n"

static gw_vneid_settings_t *settings_of(const char *text, char *err, size_t errlen)
{
    gw_dir_lines_t l;
    lines_of(&l, text);
    gw_dir_section_t sec;
    err[0] = 0;
    gw_vneid_settings_t *s =
        gw_dir_settings_new(gw_idp_vneid.conf.directives, gw_idp_vneid.conf.size, &l, &sec, err, errlen);
    if (s && gw_idp_vneid.conf.check(s, &sec, err, errlen)) {
        gw_idp_vneid.conf.release(s);
        gw_dir_settings_free(gw_idp_vneid.conf.directives, s);
        s = NULL;
    }
    gw_dir_lines_cleanup(&l);
    return s;
}

static void settings_free(gw_vneid_settings_t *s)
{
    gw_idp_vneid.conf.release(s);
    gw_dir_settings_free(gw_idp_vneid.conf.directives, s);
}

static gw_http_result_t answer(long status, const char *body)
{
    gw_http_result_t r = { .status = status };
    if (body) {
        r.body = gw_strdup(body);
        r.len = strlen(body);
    }
    if (!status)
        snprintf(r.error, sizeof(r.error), "connection refused");
    return r;
}

/* one step with a canned answer; the answer is freed */
static int step(const gw_idp_env_t *env, const gw_vneid_settings_t *s, void *st, gw_http_result_t a, int may_block,
                gw_outcall_t *call, gw_identity_t *id, const char **code, char *detail)
{
    int rc = gw_idp_vneid.step(env, s, st, &a, may_block, call, id, code, detail, 256);
    free(a.body);
    return rc;
}

#define USERINFO                                                                                                       \
    "{\"sub\":\"u-1\",\"SoDinhDanh\":\"001099012345\",\"HoVaTen\":\"Nguy\\u1ec5n V\\u0103n An\","                      \
    "\"NgaySinh\":\"19990215\",\"GioiTinh\":\"1\",\"IAL\":\"L2\",\"LoaiTaiKhoan\":\"1\"}"

static void test_vneid_defaults_come_from_its_own_table(void **state)
{
    (void)state;
    char err[256];
    gw_vneid_settings_t *s = settings_of(PROFILE "jwks_uri = https://vneid.test/jwks\n", err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(s->display_name, "VNeID");
    assert_string_equal(s->scope, "openid");
    assert_string_equal(s->algs, "RS256 ES256 PS256");
    assert_string_equal(s->birthdate_format, "YYYYMMDD");
    assert_int_equal(s->use_pkce, 1);
    assert_int_equal(s->use_nonce, 1);
    assert_int_equal(s->id_token, 2);
    assert_int_equal(s->timeout, 10);
    assert_int_equal(s->clock_skew, 60);
    gw_idp_needs_t n;
    gw_idp_vneid.needs(s, &n);
    assert_int_equal(n.nonce, 1);
    assert_int_equal(n.pkce, 1);
    assert_string_equal(n.keys_uri, "https://vneid.test/jwks");
    settings_free(s);
}

static void test_vneid_table_refuses_bad_settings_with_file_and_line(void **state)
{
    (void)state;
    char err[256];
    assert_null(settings_of(PROFILE "algs = RS256 HS256\n", err, sizeof(err)));
    assert_string_equal(err, "t.conf:27: algs: 'HS256' is not an allowed signature algorithm (RS*, PS*, ES*; never "
                             "none or HS*)");
    assert_null(settings_of(PROFILE, err, sizeof(err))); /* an id_token is required by default */
    assert_string_equal(err, "t.conf:10: jwks_uri: required in [upstream vneid] unless id_token = absent");
    assert_null(settings_of(PROFILE "id_token = absent\nlevel_map = L3:3\n", err, sizeof(err)));
    assert_string_equal(err, "t.conf:28: level_map: 'L3:3' must be VALUE:1 or VALUE:2");
    assert_null(settings_of(PROFILE "id_token = absent\ncolor = blue\n", err, sizeof(err)));
    assert_string_equal(err, "t.conf:28: color: unknown key in [upstream vneid]");
}

static void test_vneid_auth_url_carries_the_login_parameters(void **state)
{
    (void)state;
    char err[256];
    gw_vneid_settings_t *s = settings_of(PROFILE "id_token = absent\n", err, sizeof(err));
    assert_non_null(s);
    gw_idp_env_t env = { .redirect_uri = "https://gw.test/callback" };
    char *u = gw_idp_vneid.auth_url(&env, s, "st-1", "n-1", "ch-1", "en");
    assert_non_null(u);
    assert_true(!strncmp(u, "https://vneid.test/auth?", 24));
    const char *want[] = { "response_type=code",
                           "client_id=eidgw%20test",
                           "scope=openid",
                           "state=st-1",
                           "nonce=n-1",
                           "code_challenge=ch-1",
                           "code_challenge_method=S256",
                           "redirect_uri=https%3A%2F%2Fgw.test%2Fcallback" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(u, want[i]))
            fail_msg("'%s' not in %s", want[i], u);
    free(u);
    u = gw_idp_vneid.auth_url(&env, s, "st-2", NULL, NULL, NULL);
    assert_null(strstr(u, "nonce="));
    assert_null(strstr(u, "code_challenge"));
    free(u);
    settings_free(s);
}

/* begin() for a callback whose raw query is `query` (NULL: just the code): the state, or
 * NULL with *rc GW_IDP_FAIL */
static void *begin_q(const gw_idp_env_t *env, const gw_vneid_settings_t *s, const char *code, const char *nonce,
                     const char *verifier, const char *query, gw_outcall_t *call, int *rc, const char **fail,
                     char *detail)
{
    gw_idp_callback_t cb = { .query = query ? query : "", .code = code, .nonce = nonce, .code_verifier = verifier };
    void *st = NULL;
    *rc = gw_idp_vneid.begin(env, s, &cb, &st, call, fail, detail, 256);
    return st;
}

static void *begin(const gw_idp_env_t *env, const gw_vneid_settings_t *s, const char *code, const char *nonce,
                   const char *verifier, gw_outcall_t *call)
{
    int rc;
    const char *fail = NULL;
    char detail[256] = "";
    void *st = begin_q(env, s, code, nonce, verifier, NULL, call, &rc, &fail, detail);
    assert_int_equal(rc, GW_IDP_CALL);
    return st;
}

static void test_vneid_login_without_id_token_maps_userinfo(void **state)
{
    (void)state;
    char err[256], detail[256] = "";
    gw_vneid_settings_t *s = settings_of(PROFILE "id_token = absent\n", err, sizeof(err));
    assert_non_null(s);
    gw_idp_env_t env = { .redirect_uri = "https://gw.test/callback" };
    gw_outcall_t call;
    void *st = begin(&env, s, "code+1/2", NULL, "verifier-1", &call);
    assert_non_null(st);
    assert_string_equal(call.url, "https://vneid.test/token");
    assert_string_equal(call.basic_user, "eidgw test");
    assert_string_equal(call.basic_pass, "s3cret");
    assert_int_equal(call.timeout_ms, 10000);
    assert_non_null(strstr(call.form, "grant_type=authorization_code"));
    assert_non_null(strstr(call.form, "code=code%2B1%2F2"));
    assert_non_null(strstr(call.form, "code_verifier=verifier-1"));
    assert_non_null(strstr(call.form, "redirect_uri=https%3A%2F%2Fgw.test%2Fcallback"));
    gw_identity_t id = { 0 };
    const char *code = NULL;
    int rc = step(&env, s, st, answer(200, "{\"access_token\":\"at-1\",\"token_type\":\"bearer\"}"), 0, &call, &id,
                  &code, detail);
    assert_int_equal(rc, GW_IDP_CALL);
    assert_string_equal(call.url, "https://vneid.test/userinfo");
    assert_string_equal(call.bearer, "at-1");
    assert_null(call.form);
    rc = step(&env, s, st, answer(200, USERINFO), 0, &call, &id, &code, detail);
    assert_int_equal(rc, GW_IDP_DONE);
    assert_string_equal(id.id12, "001099012345");
    assert_string_equal(id.name, "Nguyễn Văn An");
    assert_string_equal(id.birthdate, "1999-02-15");
    assert_int_equal(id.sex, 'M');
    assert_int_equal(id.level, 2);
    assert_string_equal(id.account_type, "1");
    assert_string_equal(id.issuer, "https://vneid.test");
    gw_identity_cleanup(&id);
    gw_idp_vneid.end(st);
    settings_free(s);
}

/* A birth date that is not a day of the calendar is dropped, never stored as is. */
static void test_vneid_birth_date_must_be_a_calendar_day(void **state)
{
    (void)state;
    static const struct {
        const char *in, *fmt, *out;
    } cases[] = {
        { "19990215", "YYYYMMDD", "1999-02-15" },     { "2000-02-29", "YYYY-MM-DD", "2000-02-29" },
        { "29/02/2024", "DD/MM/YYYY", "2024-02-29" }, { "19990231", "YYYYMMDD", NULL },
        { "1900-02-29", "YYYY-MM-DD", NULL },         { "31/04/1999", "DD/MM/YYYY", NULL },
        { "2023-02-29", "YYYY-MM-DD", NULL },         { "1999-13-01", "YYYY-MM-DD", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *d = gw_vneid_iso_date(cases[i].in, cases[i].fmt);
        if (cases[i].out)
            assert_string_equal(d, cases[i].out);
        else
            assert_null(d);
        free(d);
    }
}

/* Each refusal: the page code the citizen sees, and a reason in the log. */
static void test_vneid_refuses_bad_answers_with_a_page_code(void **state)
{
    (void)state;
    char err[256];
    gw_vneid_settings_t *s =
        settings_of(PROFILE "id_token = optional\njwks_uri = https://vneid.test/jwks\n", err, sizeof(err));
    assert_non_null(s);
    gw_idp_env_t env = { .redirect_uri = "https://gw.test/callback" };
    static const struct {
        long token_status;
        const char *token, *userinfo; /* userinfo NULL: the token answer is refused */
        long ui_status;
        const char *code, *reason;
    } cases[] = {
        { 0, NULL, NULL, 0, "upstream_unavailable", "token endpoint" },
        { 503, "{}", NULL, 0, "upstream_unavailable", "HTTP 503" },
        { 400, "{\"error\":\"invalid_grant\"}", NULL, 0, "upstream_error", "invalid_grant" },
        { 200, "{\"token_type\":\"Bearer\"}", NULL, 0, "upstream_error", "HTTP 200" },
        { 200, "{\"access_token\":\"a\",\"token_type\":\"MAC\"}", NULL, 0, "upstream_error", "not Bearer" },
        { 200, "not json", NULL, 0, "upstream_error", "token endpoint" },
        { 200, "{\"access_token\":\"a\"}", "{}", 502, "upstream_unavailable", "userinfo" },
        { 200, "{\"access_token\":\"a\"}", "[1]", 200, "upstream_error", "not a JSON object" },
        { 200, "{\"access_token\":\"a\"}", "{\"HoVaTen\":\"A\"}", 200, "missing_identity", "SoDinhDanh" },
        { 200, "{\"access_token\":\"a\"}", "{\"SoDinhDanh\":\"00109\\n9012345\"}", 200, "missing_identity",
          "cannot have" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_outcall_t call;
        void *st = begin(&env, s, "c", NULL, NULL, &call);
        gw_identity_t id = { 0 };
        const char *code = NULL;
        char detail[256] = "";
        int rc = step(&env, s, st, answer(cases[i].token_status, cases[i].token), 0, &call, &id, &code, detail);
        if (cases[i].userinfo) {
            assert_int_equal(rc, GW_IDP_CALL);
            rc = step(&env, s, st, answer(cases[i].ui_status, cases[i].userinfo), 0, &call, &id, &code, detail);
        }
        if (rc != GW_IDP_FAIL || !code || strcmp(code, cases[i].code) || !strstr(detail, cases[i].reason))
            fail_msg("case %zu: rc %d code %s detail '%s'", i, rc, code ? code : "(none)", detail);
        assert_null(id.id12);
        gw_idp_vneid.end(st);
    }
    settings_free(s);
}

/* id_token checks with a real signature: the provider's keys are the test's own. */
typedef struct {
    gw_keyset_t *ks;
    char dir[64];
} keys_t;

static keys_t *provider_keys;

static char *fetch_keys(const char *url, char *err, size_t errlen)
{
    (void)url;
    (void)err;
    (void)errlen;
    return gw_strdup(provider_keys->ks->jwks_json);
}

static char *id_token(const char *iss, const char *aud, const char *nonce, long exp_in)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", iss, "aud", aud, "sub", "u-1", "iat", (json_int_t)time(NULL),
                          "exp", (json_int_t)(time(NULL) + exp_in));
    if (nonce)
        json_object_set_new(c, "nonce", json_string(nonce));
    char *t = gw_jwt_sign(provider_keys->ks, "ES256", c, "JWT");
    json_decref(c);
    return t;
}

static int setup_keys(void **state)
{
    (void)state;
    provider_keys = gw_xcalloc(1, sizeof(*provider_keys));
    snprintf(provider_keys->dir, sizeof(provider_keys->dir), "/tmp/eidgw-idp-test-XXXXXX");
    assert_non_null(mkdtemp(provider_keys->dir));
    char err[256];
    assert_int_equal(gw_keys_generate(provider_keys->dir, 0, err, sizeof(err)), 0);
    provider_keys->ks = gw_keyset_load(provider_keys->dir, err, sizeof(err));
    assert_non_null(provider_keys->ks);
    return 0;
}

static int teardown_keys(void **state)
{
    (void)state;
    gw_keyset_free(provider_keys->ks);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", provider_keys->dir);
    if (system(cmd)) {
    }
    free(provider_keys);
    return 0;
}

/* token answer with this id_token, then the userinfo: rc of the last step */
static int login_with(const gw_vneid_settings_t *s, gw_jwks_cache_t *jwks, const char *idt, const char *userinfo,
                      const char **code, char *detail, int *blocked)
{
    gw_idp_env_t env = { .redirect_uri = "https://gw.test/callback", .jwks = jwks };
    gw_outcall_t call;
    void *st = begin(&env, s, "c", "n-1", NULL, &call);
    char *tok = gw_sprintf("{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"id_token\":\"%s\"}", idt);
    gw_identity_t id = { 0 };
    gw_http_result_t a = answer(200, tok);
    int rc = gw_idp_vneid.step(&env, s, st, &a, 0, &call, &id, code, detail, 256);
    *blocked = rc == GW_IDP_BLOCK;
    if (rc == GW_IDP_BLOCK) /* the keys are fetched on a thread that may wait: the same answer again */
        rc = gw_idp_vneid.step(&env, s, st, &a, 1, &call, &id, code, detail, 256);
    free(a.body);
    free(tok);
    if (rc == GW_IDP_CALL)
        rc = step(&env, s, st, answer(200, userinfo), 0, &call, &id, code, detail);
    gw_identity_cleanup(&id);
    gw_idp_vneid.end(st);
    return rc;
}

static void test_vneid_id_token_is_verified_before_userinfo(void **state)
{
    (void)state;
    char err[256], detail[256];
    gw_vneid_settings_t *s =
        settings_of(PROFILE "jwks_uri = https://vneid.test/jwks\nalgs = ES256\n", err, sizeof(err));
    assert_non_null(s);
    gw_jwks_cache_t *jwks = gw_jwks_cache_new(s->jwks_uri, 0, fetch_keys);
    const char *code = NULL;
    int blocked = 0;
    char *t = id_token("https://vneid.test", "eidgw test", "n-1", 300);
    assert_int_equal(login_with(s, jwks, t, USERINFO, &code, detail, &blocked), GW_IDP_DONE);
    assert_true(blocked); /* the first time, the keys were not cached */
    free(t);
    t = id_token("https://vneid.test", "eidgw test", "n-1", 300);
    assert_int_equal(login_with(s, jwks, t, USERINFO, &code, detail, &blocked), GW_IDP_DONE);
    assert_false(blocked);
    free(t);
    static const struct {
        const char *iss, *aud, *nonce;
        long exp_in;
        const char *userinfo, *reason;
    } bad[] = {
        { "https://evil.test", "eidgw test", "n-1", 300, USERINFO, "iss" },
        { "https://vneid.test", "someone-else", "n-1", 300, USERINFO, "aud" },
        { "https://vneid.test", "eidgw test", "n-2", 300, USERINFO, "nonce" },
        { "https://vneid.test", "eidgw test", NULL, 300, USERINFO, "nonce" },
        { "https://vneid.test", "eidgw test", "n-1", -600, USERINFO, "exp" },
        { "https://vneid.test", "eidgw test", "n-1", 300, "{\"sub\":\"u-2\",\"SoDinhDanh\":\"001099012345\"}",
          "sub differs" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = id_token(bad[i].iss, bad[i].aud, bad[i].nonce, bad[i].exp_in);
        detail[0] = 0;
        code = NULL;
        int rc = login_with(s, jwks, t, bad[i].userinfo, &code, detail, &blocked);
        if (rc != GW_IDP_FAIL || strcmp(code, "upstream_error") || !strstr(detail, bad[i].reason))
            fail_msg("case %zu: rc %d code %s detail '%s'", i, rc, code ? code : "(none)", detail);
        free(t);
    }
    /* a token signed by someone else's key */
    gw_keyset_t *mine = provider_keys->ks;
    keys_t other = { 0 };
    snprintf(other.dir, sizeof(other.dir), "/tmp/eidgw-idp-other-XXXXXX");
    assert_non_null(mkdtemp(other.dir));
    assert_int_equal(gw_keys_generate(other.dir, 0, err, sizeof(err)), 0);
    other.ks = gw_keyset_load(other.dir, err, sizeof(err));
    provider_keys->ks = other.ks;
    t = id_token("https://vneid.test", "eidgw test", "n-1", 300);
    provider_keys->ks = mine;
    code = NULL;
    assert_int_equal(login_with(s, jwks, t, USERINFO, &code, detail, &blocked), GW_IDP_FAIL);
    assert_string_equal(code, "upstream_error");
    free(t);
    gw_keyset_free(other.ks);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", other.dir);
    if (system(cmd)) {
    }
    gw_jwks_cache_free(jwks);
    settings_free(s);
}

/* ---- the {"data","key"} envelope of profile 7.3 ---- */

static EVP_PKEY *rp_key;

static char *b64std(const unsigned char *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    assert_non_null(o);
    EVP_EncodeBlock((unsigned char *)o, p, (int)n);
    return o;
}

/* An envelope as the provider makes it; pad_ok = 0 writes a last block with bad padding. */
static char *seal_envelope(const char *pt, size_t keylen, int pad_ok)
{
    unsigned char key[32], ct[8192], wk[512];
    assert_int_equal(gw_random(key, keylen), GW_OK);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    const EVP_CIPHER *c = keylen == 16 ? EVP_aes_128_ecb() : keylen == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
    int n1 = 0, n2 = 0;
    size_t n = strlen(pt);
    unsigned char buf[8192];
    memcpy(buf, pt, n);
    size_t padded = (n / 16 + 1) * 16;
    memset(buf + n, (int)(padded - n), padded - n);
    if (!pad_ok)
        buf[padded - 1] = 0x11; /* more than a block */
    assert_int_equal(EVP_EncryptInit_ex(x, c, NULL, key, NULL), 1);
    EVP_CIPHER_CTX_set_padding(x, 0);
    assert_int_equal(EVP_EncryptUpdate(x, ct, &n1, buf, (int)padded), 1);
    assert_int_equal(EVP_EncryptFinal_ex(x, ct + n1, &n2), 1);
    EVP_CIPHER_CTX_free(x);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(rp_key, NULL);
    size_t wklen = sizeof(wk);
    assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_encrypt(pc, wk, &wklen, key, keylen), 1);
    EVP_PKEY_CTX_free(pc);
    char *d = b64std(ct, (size_t)(n1 + n2)), *k = b64std(wk, wklen);
    char *env = gw_sprintf("{\"data\":\"%s\",\"key\":\"%s\"}", d, k);
    free(d);
    free(k);
    return env;
}

static int open_env(const char *env, char **out)
{
    *out = NULL;
    return gw_vneid_envelope_open(rp_key, env, strlen(env), out, NULL);
}

static void refused_env(const char *env)
{
    char *out = (char *)"untouched";
    assert_int_equal(gw_vneid_envelope_open(rp_key, env, strlen(env), &out, NULL), GW_EINVAL);
    assert_string_equal(out, "untouched");
}

static void test_envelope_opens_with_each_aes_key_size(void **state)
{
    (void)state;
    rp_key = EVP_RSA_gen(2048);
    assert_non_null(rp_key);
    const char *pt = "{\"citizenPid\":\"001099012345\",\"fullName\":\"Nguy\xe1\xbb\x85n V\xc4\x83n A\"}";
    size_t sizes[] = { 16, 24, 32 };
    for (size_t i = 0; i < 3; i++) {
        char *env = seal_envelope(pt, sizes[i], 1), *out = NULL;
        size_t n = 0;
        assert_int_equal(gw_vneid_envelope_open(rp_key, env, strlen(env), &out, &n), GW_OK);
        assert_string_equal(out, pt);
        assert_int_equal(n, strlen(pt));
        free(out);
        free(env);
    }
    /* a block-sized plaintext gets a whole block of padding */
    char *env = seal_envelope("{\"a\":\"01234567\"}", 16, 1), *out = NULL;
    assert_int_equal(open_env(env, &out), GW_OK);
    assert_string_equal(out, "{\"a\":\"01234567\"}");
    free(out);
    free(env);
}

/* the character at the middle of a JSON string member, flipped to another base64 one */
static void flip_in(char *env, const char *member)
{
    char *p = strstr(env, member);
    assert_non_null(p);
    p += strlen(member) + 3;
    char *end = strchr(p, '"');
    char *c = p + (end - p) / 2;
    *c = *c == 'A' ? 'B' : 'A';
}

static void test_envelope_refuses_tampered_data_key_and_padding(void **state)
{
    (void)state;
    const char *pt = "{\"citizenPid\":\"001099012345\",\"accountLevel\":2,\"padding\":\"................\"}";
    char *env = seal_envelope(pt, 16, 1);
    flip_in(env, "\"data\"");
    refused_env(env);
    free(env);
    env = seal_envelope(pt, 16, 1);
    flip_in(env, "\"key\"");
    refused_env(env);
    free(env);
    env = seal_envelope(pt, 32, 0);
    refused_env(env);
    free(env);
    /* data and key of two different envelopes */
    char *a = seal_envelope(pt, 16, 1), *b = seal_envelope(pt, 16, 1);
    char *ka = strstr(a, "\"key\""), *kb = strstr(b, "\"key\"");
    assert_int_equal(strlen(ka), strlen(kb));
    memcpy(ka, kb, strlen(kb));
    refused_env(a);
    free(a);
    free(b);
    /* the key block encrypted to another RSA key */
    EVP_PKEY *mine = rp_key;
    rp_key = EVP_RSA_gen(2048);
    env = seal_envelope(pt, 16, 1);
    EVP_PKEY_free(rp_key);
    rp_key = mine;
    refused_env(env);
    free(env);
}

static void test_envelope_refuses_bad_base64_shapes_and_oversize(void **state)
{
    (void)state;
    char *env = seal_envelope("{}", 16, 1);
    char *out = NULL;
    assert_int_equal(open_env(env, &out), GW_OK);
    free(out);
    refused_env("");
    refused_env("{}");
    refused_env("[\"data\",\"key\"]");
    refused_env("{\"data\":\"AAAA\"}");
    refused_env("{\"data\":1,\"key\":\"AAAA\"}");
    refused_env("{\"data\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"key\":\"AAAA\"}"); /* key too short for the RSA size */
    /* url-safe alphabet, missing padding, a stray character, padding in the middle */
    char *d = strstr(env, "\"data\":\"") + 8;
    char saved = *d;
    const char bad[] = { '-', '_', '*', '=', ' ' };
    for (size_t i = 0; i < sizeof(bad); i++) {
        *d = bad[i];
        refused_env(env);
    }
    *d = saved;
    char *q = strchr(d, '"');
    memmove(q - 1, q, strlen(q) + 1); /* one character cut */
    refused_env(env);
    free(env);
    /* a duplicate member */
    env = seal_envelope("{}", 16, 1);
    char *dup = gw_sprintf("{\"data\":\"AAAA\",%s", env + 1);
    refused_env(dup);
    free(dup);
    /* over the body bound, and a key member over its bound */
    size_t big = GW_VNEID_ENVELOPE_MAX + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, env, strlen(env));
    huge[big] = 0;
    refused_env(huge);
    free(huge);
    char *longkey = malloc(GW_VNEID_WRAPPED_KEY_MAX + 64);
    strcpy(longkey, "{\"data\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"key\":\"");
    size_t l = strlen(longkey);
    memset(longkey + l, 'A', GW_VNEID_WRAPPED_KEY_MAX + 4);
    strcpy(longkey + l + GW_VNEID_WRAPPED_KEY_MAX + 4, "\"}");
    refused_env(longkey);
    free(longkey);
    free(env);
    /* no key at all */
    out = (char *)"untouched";
    assert_int_equal(gw_vneid_envelope_open(NULL, "{}", 2, &out, NULL), GW_EINVAL);
    EVP_PKEY_free(rp_key);
    rp_key = NULL;
}

/* ---- profile = encrypted (DOMAIN.md 7.3) through the login steps ---- */

#define ENC_PROFILE                                                                                                    \
    PROVIDER                                                                                                           \
    "claim_id = citizenPid\n"                                                                                          \
    "claim_name = fullName\n"                                                                                          \
    "claim_birthdate = birthDate\n"                                                                                    \
    "birthdate_format = DD/MM/YYYY\n"                                                                                  \
    "claim_level = accountLevel\n"                                                                                     \
    "claim_account_type = accountType\n"                                                                               \
    "profile = encrypted\n"

static void test_vneid_encrypted_profile_logs_in_from_sealed_answers(void **state)
{
    (void)state;
    rp_key = EVP_RSA_gen(2048);
    assert_non_null(rp_key);
    char pem[] = "/tmp/eidgw-rp-XXXXXX";
    int fd = mkstemp(pem);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(PEM_write_PrivateKey(f, rp_key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    char err[256], detail[256] = "", text[2048];

    /* the wrong combinations, each at its line */
    assert_null(settings_of(ENC_PROFILE "id_token = absent\nnonce = no\n", err, sizeof(err)));
    assert_string_equal(err, "t.conf:23: decryption_key: required with profile = encrypted");
    snprintf(text, sizeof(text), ENC_PROFILE "decryption_key = %s\nnonce = no\njwks_uri = https://vneid.test/k\n", pem);
    assert_null(settings_of(text, err, sizeof(err)));
    assert_string_equal(err, "t.conf:10: id_token: profile = encrypted has no id_token: set id_token = absent");
    snprintf(text, sizeof(text), ENC_PROFILE "decryption_key = %s\nid_token = absent\n", pem);
    assert_null(settings_of(text, err, sizeof(err)));
    assert_string_equal(err, "t.conf:10: nonce: profile = encrypted has no nonce: set nonce = no");
    assert_null(settings_of(ENC_PROFILE "decryption_key = /nonexistent.pem\nid_token = absent\nnonce = no\n", err,
                            sizeof(err)));
    assert_string_equal(err, "t.conf:24: decryption_key: '/nonexistent.pem' is not a readable PEM RSA private key");
    snprintf(text, sizeof(text), PROFILE "id_token = absent\ndecryption_key = %s\n", pem);
    assert_null(settings_of(text, err, sizeof(err)));
    assert_string_equal(err, "t.conf:28: decryption_key: only with profile = encrypted");

    snprintf(text, sizeof(text), ENC_PROFILE "decryption_key = %s\nid_token = absent\nnonce = no\npkce = no\n", pem);
    gw_vneid_settings_t *s = settings_of(text, err, sizeof(err));
    assert_non_null(s);
    gw_idp_env_t env = { .redirect_uri = "https://gw.test/callback" };
    gw_outcall_t call;
    void *st = begin(&env, s, "a+b/c=", NULL, NULL, &call);
    assert_null(call.basic_user);
    assert_null(call.basic_pass);
    assert_non_null(strstr(call.form, "code=a%2Bb%2Fc%3D"));
    assert_non_null(strstr(call.form, "client_id=eidgw%20test"));
    assert_non_null(strstr(call.form, "client_secret=s3cret"));
    gw_identity_t id = { 0 };
    const char *code = NULL;
    char *tok = seal_envelope("{\"access_token\":\"at-9\",\"token_type\":\"Bearer\"}", 16, 1);
    assert_int_equal(step(&env, s, st, answer(200, tok), 0, &call, &id, &code, detail), GW_IDP_CALL);
    free(tok);
    assert_string_equal(call.bearer, "at-9");
    char *ui = seal_envelope("{\"citizenPid\":\"001099012345\",\"fullName\":\"Tr\\u1ea7n Th\\u1ecb B\","
                             "\"birthDate\":\"15/02/1999\",\"accountType\":\"1\",\"accountLevel\":2}",
                             32, 1);
    assert_int_equal(step(&env, s, st, answer(200, ui), 0, &call, &id, &code, detail), GW_IDP_DONE);
    free(ui);
    assert_string_equal(id.id12, "001099012345");
    assert_string_equal(id.name, "Trần Thị B");
    assert_string_equal(id.birthdate, "1999-02-15");
    assert_int_equal(id.level, 2);
    assert_string_equal(id.account_type, "1");
    gw_identity_cleanup(&id);
    gw_idp_vneid.end(st);

    /* a sealed answer that does not open: one page code, one reason, whatever broke */
    const char *bad[] = { "{\"data\":\"AAAA\",\"key\":\"AAAA\"}", NULL };
    char *tampered = seal_envelope("{\"access_token\":\"at-9\"}", 16, 1);
    flip_in(tampered, "\"key\"");
    bad[1] = tampered;
    for (size_t i = 0; i < 2; i++) {
        st = begin(&env, s, "c", NULL, NULL, &call);
        code = NULL;
        assert_int_equal(step(&env, s, st, answer(200, bad[i]), 0, &call, &id, &code, detail), GW_IDP_FAIL);
        assert_string_equal(code, "upstream_error");
        assert_string_equal(detail, "token endpoint: the encrypted response does not open");
        gw_idp_vneid.end(st);
    }
    free(tampered);

    /* an encrypted code's wrapped key goes back with it, as it came ('+' a '+') */
    int rc;
    const char *fail = NULL;
    st = begin_q(&env, s, "a+b", NULL, NULL, "code=a+b&encrypt_key=K%2B1+2/w==&state=x", &call, &rc, &fail, detail);
    assert_int_equal(rc, GW_IDP_CALL);
    assert_non_null(strstr(call.form, "&encrypt_key=K%2B1%2B2%2Fw%3D%3D"));
    gw_idp_vneid.end(st);
    st = begin_q(&env, s, "a+b", NULL, NULL, "code=a+b&state=x", &call, &rc, &fail, detail);
    assert_int_equal(rc, GW_IDP_CALL);
    assert_null(strstr(call.form, "encrypt_key"));
    gw_idp_vneid.end(st);
    /* repeated, not base64, or too long: refused before any call spends the code */
    char *longkey = gw_sprintf("code=c&encrypt_key=%02049d", 0);
    const char *badq[] = { "code=c&encrypt_key=AA==&encrypt_key=AA==", "code=c&encrypt_key=AA%20",
                           "code=c&encrypt_key=", "code=c&encrypt_key=A%zz", longkey };
    for (size_t i = 0; i < sizeof(badq) / sizeof(*badq); i++) {
        fail = NULL;
        memset(&call, 0, sizeof(call));
        st = begin_q(&env, s, "c", NULL, NULL, badq[i], &call, &rc, &fail, detail);
        if (rc != GW_IDP_FAIL || st || call.url || !fail || strcmp(fail, "upstream_error"))
            fail_msg("'%s' was not refused before the token call", badq[i]);
        assert_non_null(strstr(detail, "encrypt_key"));
    }
    free(longkey);
    settings_free(s);
    unlink(pem);
    EVP_PKEY_free(rp_key);
    rp_key = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vneid_defaults_come_from_its_own_table),
        cmocka_unit_test(test_vneid_table_refuses_bad_settings_with_file_and_line),
        cmocka_unit_test(test_vneid_auth_url_carries_the_login_parameters),
        cmocka_unit_test(test_vneid_login_without_id_token_maps_userinfo),
        cmocka_unit_test(test_vneid_birth_date_must_be_a_calendar_day),
        cmocka_unit_test(test_vneid_refuses_bad_answers_with_a_page_code),
        cmocka_unit_test(test_vneid_id_token_is_verified_before_userinfo),
        cmocka_unit_test(test_envelope_opens_with_each_aes_key_size),
        cmocka_unit_test(test_envelope_refuses_tampered_data_key_and_padding),
        cmocka_unit_test(test_envelope_refuses_bad_base64_shapes_and_oversize),
        cmocka_unit_test(test_vneid_encrypted_profile_logs_in_from_sealed_answers),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
