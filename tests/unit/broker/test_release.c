/* Unit tests for gw_release, what a portal may know of a citizen: the pairwise subject
 * (stable for one portal, different between portals and citizens, never the number), the
 * acr of a level, and the claims of the scopes a portal asks for. A real context on a
 * temporary store (gw_test_app). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_broker.h"
#include "gw_json.h"
#include "gw_test_app.h"

#define ID_X "079203001234"
#define ID_Y "001190005678"

static const char CLIENTS[] = "[client portal-a]\nname = A\npublic = yes\nredirect_uri = https://a.example/cb\n"
                              "scopes = openid profile cccd\n"
                              "\n[client portal-b]\nname = B\npublic = yes\nredirect_uri = https://b.example/cb\n"
                              "scopes = openid\n";

static gw_test_app_t g_t;

static int group_setup(void **state)
{
    *state = &g_t;
    return gw_test_app_open(&g_t, "%s", CLIENTS);
}

static void test_pairwise_sub_is_stable_per_portal_and_differs_between_them(void **state)
{
    (void)state;
    gw_ctx_t *app = &g_t.app;
    char *a1 = gw_pairwise_sub(app, "portal-a", ID_X), *a2 = gw_pairwise_sub(app, "portal-a", ID_X);
    char *b = gw_pairwise_sub(app, "portal-b", ID_X), *ay = gw_pairwise_sub(app, "portal-a", ID_Y);
    assert_string_equal(a1, a2);
    assert_string_not_equal(a1, b);
    assert_string_not_equal(a1, ay);
    assert_int_equal(strlen(a1), 43); /* 32 bytes, base64url */
    assert_null(strstr(a1, ID_X));
    /* the portal and the number are kept apart: "portal-a" + "1..." is not "portal-a1" + "..." */
    char *shifted = gw_pairwise_sub(app, "portal-a0", ID_X + 1);
    char *plain = gw_pairwise_sub(app, "portal-a", "0" ID_X + 1);
    assert_string_not_equal(shifted, plain);
    free(a1);
    free(a2);
    free(b);
    free(ay);
    free(shifted);
    free(plain);
}

static void test_pairwise_sub_is_the_hmac_under_the_pairwise_key(void **state)
{
    (void)state;
    static const char msg[] = "portal-a\0" ID_X;
    unsigned char mac[32];
    gw_hmac_sha256(g_t.app.keys->pairwise_key, 32, msg, sizeof(msg) - 1, mac);
    char *want = gw_b64url_encode(mac, 32), *sub = gw_pairwise_sub(&g_t.app, "portal-a", ID_X);
    assert_string_equal(sub, want);
    free(want);
    free(sub);
}

static void test_acr_of_each_level(void **state)
{
    (void)state;
    assert_string_equal(gw_acr_for(2), GW_ACR_L2);
    assert_string_equal(gw_acr_for(3), GW_ACR_L2);
    assert_string_equal(gw_acr_for(1), GW_ACR_L1);
    assert_string_equal(gw_acr_for(0), "urn:vn:eid:legacy");
}

static json_t *identity(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i}", "id12", ID_X, "name", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "birthdate",
                     "1990-05-17", "sex", "male", "level", 2);
}

static json_t *claims(const char *portal, const char *scope, const char *account, json_t *merged)
{
    json_t *ident = identity();
    json_t *c = gw_release_claims(&g_t.app, gw_config_client(g_t.cfg, portal), scope, ident, account, merged);
    json_decref(ident);
    return c;
}

static void assert_keys(json_t *o, const char *want)
{
    gw_buf_t b;
    gw_buf_init(&b, 0);
    const char *k;
    json_t *v;
    json_object_foreach (o, k, v)
        gw_buf_printf(&b, "%s%s", b.len ? " " : "", k);
    /* json objects keep no order: compare as word sets */
    size_t n = 0;
    for (const char *p = want; *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char *w = gw_strndup(p, l);
        if (!json_object_get(o, w))
            fail_msg("no %s in {%s}", w, b.data ? b.data : "");
        free(w);
        n++;
        p += l + (e != NULL);
    }
    if (json_object_size(o) != n)
        fail_msg("{%s}, wanted {%s}", b.data ? b.data : "", want);
    gw_buf_cleanup(&b);
}

static void test_openid_alone_releases_the_sub_only(void **state)
{
    (void)state;
    json_t *c = claims("portal-b", "openid", NULL, NULL);
    assert_keys(c, "sub");
    char *sub = gw_pairwise_sub(&g_t.app, "portal-b", ID_X);
    assert_string_equal(gw_jstr(c, "sub"), sub);
    free(sub);
    json_decref(c);
    /* a word that only looks like a scope releases nothing */
    c = claims("portal-a", "openid profiles cccd2", NULL, NULL);
    assert_keys(c, "sub");
    json_decref(c);
}

static void test_profile_and_cccd_release_their_claims(void **state)
{
    (void)state;
    json_t *c = claims("portal-a", "openid profile", NULL, NULL);
    assert_keys(c, "sub name birthdate gender");
    assert_string_equal(gw_jstr(c, "name"), "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    assert_string_equal(gw_jstr(c, "birthdate"), "1990-05-17");
    assert_string_equal(gw_jstr(c, "gender"), "male");
    json_decref(c);
    c = claims("portal-a", "cccd openid", NULL, NULL);
    assert_keys(c, "sub cccd");
    assert_string_equal(gw_jstr(c, "cccd"), ID_X);
    json_decref(c);
}

static void test_legacy_account_and_merged_accounts_go_with_any_scope(void **state)
{
    (void)state;
    json_t *merged = json_pack("[s,s]", "acct-2", "acct-3");
    json_t *c = claims("portal-b", "openid", "acct-1", merged);
    assert_keys(c, "sub legacy_account merged_accounts");
    assert_string_equal(gw_jstr(c, "legacy_account"), "acct-1");
    assert_true(json_equal(json_object_get(c, "merged_accounts"), merged));
    json_decref(c);
    json_decref(merged);
    /* merged that is not a list is not released */
    json_t *odd = json_string("acct-2");
    c = claims("portal-b", "openid", NULL, odd);
    assert_keys(c, "sub");
    json_decref(c);
    json_decref(odd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairwise_sub_is_stable_per_portal_and_differs_between_them),
        cmocka_unit_test(test_pairwise_sub_is_the_hmac_under_the_pairwise_key),
        cmocka_unit_test(test_acr_of_each_level),
        cmocka_unit_test(test_openid_alone_releases_the_sub_only),
        cmocka_unit_test(test_profile_and_cccd_release_their_claims),
        cmocka_unit_test(test_legacy_account_and_merged_accounts_go_with_any_scope),
    };
    return cmocka_run_group_tests(tests, group_setup, gw_test_app_teardown);
}
