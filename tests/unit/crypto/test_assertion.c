/* Unit tests for the proxied path's signed assertion (gw_assertion.h), shared by the
 * daemon's /auth/check and the nginx module: the claims' names and types, a signature by
 * a key read from one of the gateway's *.jwk files that verifies against the gateway's own
 * keyset under the same kid, and the per-cookie table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "gw_assertion.h"
#include "gw_crypto.h"
#include "gw_util.h"

static char g_dir[64];
static gw_keyset_t *g_ks;

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/eidgw-assertion-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char err[256];
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = gw_keys_generate(g_dir, 0, err, sizeof err);
    fclose(stdout);
    stdout = saved;
    g_ks = rc ? NULL : gw_keyset_load(g_dir, err, sizeof err);
    return g_ks ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gw_keyset_free(g_ks);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

/* the path of the *.jwk for alg in g_dir */
static char *jwk_path(const char *alg)
{
    DIR *d = opendir(g_dir);
    struct dirent *de;
    char *p = NULL;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, alg) && strstr(de->d_name, ".jwk"))
            p = gw_sprintf("%s/%s", g_dir, de->d_name);
    if (d)
        closedir(d);
    assert_non_null(p);
    return p;
}

static gw_pcookie_t session(void)
{
    return (gw_pcookie_t){
        .sid = "sid-1",
        .portal = "dvc",
        .sub = "pairwise-1",
        .acr = "urn:vneid:level2",
        .level = 2,
        .auth_time = 1700000000,
        .exp = 1700003600,
        .name = "Nguyễn Văn Ánh",
        .cccd = "001090000001",
    };
}

static void test_claims_have_the_daemons_names_and_types(void **state)
{
    (void)state;
    gw_pcookie_t pc = session();
    json_t *c = gw_assertion_claims("https://sso.example", "dvc", &pc, "urn:fallback", 1700000100);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "https://sso.example");
    assert_string_equal(json_string_value(json_object_get(c, "aud")), "dvc");
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "pairwise-1");
    assert_string_equal(json_string_value(json_object_get(c, "acr")), "urn:vneid:level2");
    assert_true(json_is_integer(json_object_get(c, "eid_level")));
    assert_int_equal(json_integer_value(json_object_get(c, "eid_level")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "auth_time")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1700000100);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1700000100 + GW_ASSERTION_LIFETIME);
    assert_string_equal(json_string_value(json_object_get(c, "name")), "Nguyễn Văn Ánh");
    assert_string_equal(json_string_value(json_object_get(c, "cccd")), "001090000001");
    /* what the cookie does not release is absent, not null */
    assert_null(json_object_get(c, "birthdate"));
    assert_null(json_object_get(c, "gender"));
    assert_null(json_object_get(c, "legacy_account"));
    assert_int_equal(json_object_size(c), 10);
    json_decref(c);
}

static void test_claims_acr_falls_back_when_the_cookie_has_none(void **state)
{
    (void)state;
    gw_pcookie_t pc = session();
    pc.acr = NULL;
    json_t *c = gw_assertion_claims("https://sso.example", "dvc", &pc, "urn:fallback", 1);
    assert_string_equal(json_string_value(json_object_get(c, "acr")), "urn:fallback");
    json_decref(c);
    c = gw_assertion_claims("https://sso.example", "dvc", &pc, NULL, 1);
    assert_string_equal(json_string_value(json_object_get(c, "acr")), "");
    json_decref(c);
}

/* a key read from its file signs what the gateway's keyset verifies, with the kid /jwks
 * publishes, and the claims come back unchanged */
static void signs_as_the_gateway(const char *alg)
{
    char *path = jwk_path(alg), err[256];
    gw_jws_signer_t s;
    assert_int_equal(gw_jws_signer_load(&s, path, err, sizeof err), 0);
    assert_string_equal(s.alg, alg);
    json_t *jwks = json_loads(g_ks->jwks_json, 0, NULL);
    int published = 0;
    json_t *k;
    size_t i;
    json_array_foreach (json_object_get(jwks, "keys"), i, k) {
        if (!strcmp(json_string_value(json_object_get(k, "kid")), s.kid))
            published = 1;
    }
    json_decref(jwks);
    assert_true(published);
    gw_pcookie_t pc = session();
    json_t *c = gw_assertion_claims("https://sso.example", "dvc", &pc, NULL, 1700000100);
    char *jwt = gw_jws_signer_sign(&s, c);
    assert_non_null(jwt);
    json_t *back = gw_jwt_verify_own(g_ks, jwt);
    assert_non_null(back);
    assert_true(json_equal(back, c));
    /* the daemon's signature over the same claims has the same header */
    char *daemon = gw_jwt_sign(g_ks, alg, c, "JWT");
    assert_non_null(daemon);
    assert_memory_equal(daemon, jwt, strcspn(jwt, "."));
    assert_int_equal(strcspn(jwt, "."), strcspn(daemon, "."));
    /* a flipped payload byte is refused */
    char *dot = strchr(jwt, '.');
    dot[1] = dot[1] == 'e' ? 'f' : 'e';
    assert_null(gw_jwt_verify_own(g_ks, jwt));
    free(daemon);
    free(jwt);
    json_decref(back);
    json_decref(c);
    gw_jws_signer_free(&s);
    free(path);
}

static void test_es256_key_file_signs_as_the_gateway(void **state)
{
    (void)state;
    signs_as_the_gateway("ES256");
}

static void test_rs256_key_file_signs_as_the_gateway(void **state)
{
    (void)state;
    signs_as_the_gateway("RS256");
}

static void test_signer_refuses_what_is_not_a_private_jwk(void **state)
{
    (void)state;
    char path[128], err[256];
    gw_jws_signer_t s;
    assert_int_equal(gw_jws_signer_load(&s, "/nonexistent/key.jwk", err, sizeof err), -1);
    snprintf(path, sizeof path, "%s/cookie.key", g_dir);
    assert_int_equal(gw_jws_signer_load(&s, path, err, sizeof err), -1);
    /* the public half (as /jwks has it) cannot sign */
    json_t *jwks = json_loads(g_ks->jwks_json, 0, NULL);
    snprintf(path, sizeof path, "%s/public.json", g_dir);
    assert_int_equal(json_dump_file(json_array_get(json_object_get(jwks, "keys"), 0), path, 0), 0);
    json_decref(jwks);
    assert_int_equal(gw_jws_signer_load(&s, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "private"));
    unlink(path);
}

static void test_table_keeps_one_assertion_per_cookie_until_its_time(void **state)
{
    (void)state;
    static gw_acache_t t;
    unsigned char a[32], b[32];
    gw_acache_key("cookie-a", a);
    gw_acache_key("cookie-b", b);
    assert_null(gw_acache_get(&t, a, 100));
    gw_acache_put(&t, a, 130, "jwt-a", NULL);
    assert_string_equal(gw_acache_get(&t, a, 100), "jwt-a");
    assert_string_equal(gw_acache_get(&t, a, 129), "jwt-a");
    assert_null(gw_acache_get(&t, a, 130));
    assert_null(gw_acache_get(&t, b, 100));
    /* another cookie in the same slot replaces it */
    unsigned char c[32];
    memcpy(c, a, 32);
    c[31] ^= 1;
    gw_acache_put(&t, c, 130, "jwt-c", NULL);
    assert_null(gw_acache_get(&t, a, 100));
    assert_string_equal(gw_acache_get(&t, c, 100), "jwt-c");
    gw_acache_clear(&t);
    assert_null(gw_acache_get(&t, c, 100));
}

/* the nginx module keeps the opened cookie with its assertion: moved in, freed with the slot */
static void test_table_keeps_an_opened_cookie_moved_in(void **state)
{
    (void)state;
    static gw_acache_t t;
    unsigned char a[32];
    gw_acache_key("cookie-a", a);
    gw_pcookie_t pc = { .sid = gw_strdup("sid-1"), .portal = gw_strdup("dvc"), .sub = gw_strdup("sub-1"), .level = 2 };
    gw_acache_put(&t, a, 130, NULL, &pc);
    assert_null(pc.sid); /* moved */
    gw_acache_slot_t *s = gw_acache_find(&t, a, 100);
    assert_non_null(s);
    assert_true(s->has_pc);
    assert_string_equal(s->pc.sub, "sub-1");
    assert_null(s->jwt);
    assert_null(gw_acache_get(&t, a, 100));
    assert_null(gw_acache_find(&t, a, 130));
    gw_acache_put(&t, a, 140, "jwt-a", NULL); /* replaced: the cookie freed */
    s = gw_acache_find(&t, a, 100);
    assert_false(s->has_pc);
    assert_string_equal(s->jwt, "jwt-a");
    gw_acache_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_have_the_daemons_names_and_types),
        cmocka_unit_test(test_claims_acr_falls_back_when_the_cookie_has_none),
        cmocka_unit_test(test_es256_key_file_signs_as_the_gateway),
        cmocka_unit_test(test_rs256_key_file_signs_as_the_gateway),
        cmocka_unit_test(test_signer_refuses_what_is_not_a_private_jwk),
        cmocka_unit_test(test_table_keeps_one_assertion_per_cookie_until_its_time),
        cmocka_unit_test(test_table_keeps_an_opened_cookie_moved_in),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
