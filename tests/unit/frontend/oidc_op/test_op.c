/* Unit tests for the OpenID Provider front end without the daemon: /authorize's checks
 * of the portal's request (errors shown as a page before redirect_uri is known to be the
 * portal's, sent back to the portal after), and codes issued by the front end's complete
 * and redeemed at /token (PKCE, redirect_uri, the client, single use). Handlers are
 * reached through gw_oidc_op_routes, as the HTTP server would; a real context on a
 * temporary store (gw_test_app). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_json.h"
#include "gw_oidc_op.h"
#include "gw_test_app.h"

#define ID_X "079203001234"
#define PUB_CB "https://pub.example/cb"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

static gw_test_app_t g_t;

static int group_setup(void **state)
{
    *state = &g_t;
    char *sha = gw_sha256_hex("secret-a");
    int rc = gw_test_app_open(&g_t,
                              "[client portal-pub]\nname = P\npublic = yes\nredirect_uri = " PUB_CB "\n"
                              "scopes = openid profile\n"
                              "\n[client portal-a]\nname = A\nsecret_sha256 = %s\n"
                              "redirect_uri = https://a.example/cb\nscopes = openid\n",
                              sha);
    free(sha);
    return rc;
}

/* ------------------------------------------------------------------ requests */

typedef gw_test_call_t call_t;

/* GET path?query, or POST path with a form body */
static void run(call_t *c, int method, const char *path, const char *params, const char *authorization)
{
    gw_test_call(&g_t, gw_oidc_op_routes, c, method, path, params, "application/x-www-form-urlencoded", authorization);
}

static void call_cleanup(call_t *c) { gw_test_call_cleanup(c); }

static const char *location(const call_t *c) { return gw_test_call_header(c, "Location"); }

/* ------------------------------------------------------------------ /authorize */

static void test_authorize_shows_a_page_until_redirect_uri_is_the_portals(void **state)
{
    (void)state;
    static const char *const q[] = {
        "client_id=nobody&redirect_uri=" PUB_CB "&response_type=code&scope=openid",
        "redirect_uri=" PUB_CB "&response_type=code&scope=openid",
        "client_id=portal-pub&client_id=portal-pub&redirect_uri=" PUB_CB,
        "client_id=portal-pub&redirect_uri=https://evil.example/cb&response_type=code&scope=openid",
        "client_id=portal-pub&redirect_uri=" PUB_CB "/x&response_type=code&scope=openid",
        "client_id=portal-pub&response_type=code&scope=openid",
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(*q); i++) {
        call_t c;
        run(&c, GW_M_GET, "/authorize", q[i], NULL);
        if (c.resp.status != 400 || location(&c))
            fail_msg("request %zu: status %d, Location %s", i, c.resp.status, location(&c) ? location(&c) : "none");
        assert_string_equal(c.resp.content_type, "text/html; charset=utf-8");
        call_cleanup(&c);
    }
}

static void test_authorize_sends_errors_back_to_the_portal(void **state)
{
    (void)state;
    static const struct {
        const char *q, *error;
    } cases[] = {
        { "", "invalid_request" }, /* no response_type */
        { "&response_type=token&scope=openid", "unsupported_response_type" },
        { "&response_type=code&scope=profile", "invalid_scope" },
        { "&response_type=code&scope=openid", "invalid_request" }, /* a public client without PKCE */
        { "&response_type=code&scope=openid&state=again", "invalid_request" }, /* state twice */
        { "&response_type=code&scope=openid&request=eyJ", "request_not_supported" },
        { "&response_type=code&scope=openid&request_uri=https://x", "request_uri_not_supported" },
        { "&response_type=code&scope=openid&response_mode=fragment", "invalid_request" },
        { "&response_type=code&scope=openid&code_challenge=short&code_challenge_method=S256", "invalid_request" },
        { "&response_type=code&scope=openid&code_challenge=" VERIFIER "&code_challenge_method=plain",
          "invalid_request" },
        { "&response_type=code&scope=openid&code_challenge=" VERIFIER "&code_challenge_method=S256&prompt=none+login",
          "invalid_request" },
        { "&response_type=code&scope=openid&code_challenge=" VERIFIER "&code_challenge_method=S256&max_age=-1",
          "invalid_request" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *q = gw_sprintf("client_id=portal-pub&redirect_uri=" PUB_CB "&state=st%s", cases[i].q);
        call_t c;
        run(&c, GW_M_GET, "/authorize", q, NULL);
        char *want = gw_sprintf(PUB_CB "?error=%s&", cases[i].error);
        const char *loc = location(&c);
        if (c.resp.status != 302 || !loc || strncmp(loc, want, strlen(want)) || !strstr(loc, "&state=st") ||
            !strstr(loc, "&iss=http%3A%2F%2F127.0.0.1%3A18443"))
            fail_msg("case %zu: status %d, Location %s", i, c.resp.status, loc ? loc : "none");
        free(want);
        free(q);
        call_cleanup(&c);
    }
}

/* ------------------------------------------------------------------ codes */

/* a code issued by the front end's complete for portal-pub (PKCE with VERIFIER) */
static char *issue_code(const char *portal, const char *redirect_uri)
{
    unsigned char d[32];
    gw_sha256(VERIFIER, strlen(VERIFIER), d);
    char *chal = gw_b64url_encode(d, 32);
    gw_login_t login = { .portal = (char *)portal };
    login.ret = json_pack("{s:s,s:s,s:s,s:s,s:s}", "redirect_uri", redirect_uri, "scope", "openid profile", "state",
                          "st-1", "nonce", "n-1", "code_challenge", chal);
    free(chal);
    json_t *ident = json_pack("{s:s,s:s,s:s,s:s,s:i}", "id12", ID_X, "name", "An", "birthdate", "1990-05-17", "sex",
                              "female", "level", 2);
    char *sub = gw_pairwise_sub(&g_t.app, portal, ID_X);
    gw_finished_t done = { .sid = "sid-op", .identity = ident, .auth_time = gw_now() - 3, .level = 2, .sub = sub };
    call_t c;
    memset(&c, 0, sizeof(c));
    gw_buf_init(&c.resp.body, 0);
    gw_oidc_op_frontend.complete(&g_t.app, &c.req, &c.resp, &login, &done);
    assert_int_equal(c.resp.status, 302);
    const char *loc = location(&c);
    char *want = gw_sprintf("%s?code=", redirect_uri);
    assert_non_null(loc);
    assert_true(!strncmp(loc, want, strlen(want)));
    assert_non_null(strstr(loc, "&state=st-1&iss="));
    const char *code = loc + strlen(want), *amp = strchr(code, '&');
    char *ret = gw_strndup(code, (size_t)(amp - code));
    free(want);
    free(sub);
    json_decref(ident);
    json_decref(login.ret);
    call_cleanup(&c);
    return ret;
}

static void redeem(call_t *c, const char *code, const char *extra, const char *authorization)
{
    char *body = gw_sprintf("grant_type=authorization_code&code=%s%s", code, extra);
    run(c, GW_M_POST, "/token", body, authorization);
    free(body);
}

static void assert_token_error(call_t *c, int status, const char *error)
{
    assert_int_equal(c->resp.status, status);
    json_t *j = gw_json_parse_str(c->resp.body.data);
    assert_non_null(j);
    assert_string_equal(gw_jstr(j, "error"), error);
    json_decref(j);
}

static void test_code_is_redeemed_once_for_tokens(void **state)
{
    (void)state;
    char *code = issue_code("portal-pub", PUB_CB);
    call_t c;
    redeem(&c, code, "&redirect_uri=" PUB_CB "&client_id=portal-pub&code_verifier=" VERIFIER, NULL);
    assert_int_equal(c.resp.status, 200);
    json_t *j = gw_json_parse_str(c.resp.body.data);
    assert_string_equal(gw_jstr(j, "token_type"), "Bearer");
    assert_string_equal(gw_jstr(j, "scope"), "openid profile");
    assert_non_null(gw_jstr(j, "access_token"));
    const char *idt = gw_jstr(j, "id_token");
    assert_non_null(idt);
    /* the id_token's claims */
    const char *p = strchr(idt, '.') + 1, *e = strchr(p, '.');
    size_t n;
    unsigned char *raw = gw_b64url_decode(p, (size_t)(e - p), &n);
    json_t *claims = gw_json_parse_str((char *)raw);
    free(raw);
    char *sub = gw_pairwise_sub(&g_t.app, "portal-pub", ID_X);
    assert_string_equal(gw_jstr(claims, "sub"), sub);
    assert_string_equal(gw_jstr(claims, "aud"), "portal-pub");
    assert_string_equal(gw_jstr(claims, "nonce"), "n-1");
    assert_string_equal(gw_jstr(claims, "acr"), GW_ACR_L2);
    assert_string_equal(gw_jstr(claims, "sid"), "sid-op");
    assert_string_equal(gw_jstr(claims, "name"), "An");
    assert_null(json_object_get(claims, "cccd")); /* not granted */
    free(sub);
    json_decref(claims);
    json_decref(j);
    call_cleanup(&c);

    redeem(&c, code, "&redirect_uri=" PUB_CB "&client_id=portal-pub&code_verifier=" VERIFIER, NULL);
    assert_token_error(&c, 400, "invalid_grant"); /* single use */
    call_cleanup(&c);
    free(code);
}

static void test_code_is_refused_with_a_wrong_verifier_redirect_or_client(void **state)
{
    (void)state;
    static const char *const extra[] = {
        "&redirect_uri=" PUB_CB "&client_id=portal-pub&code_verifier=" VERIFIER "x",
        "&redirect_uri=" PUB_CB "&client_id=portal-pub",
        "&redirect_uri=" PUB_CB "/other&client_id=portal-pub&code_verifier=" VERIFIER,
    };
    for (size_t i = 0; i < 3; i++) {
        char *code = issue_code("portal-pub", PUB_CB);
        call_t c;
        redeem(&c, code, extra[i], NULL);
        assert_token_error(&c, 400, "invalid_grant");
        call_cleanup(&c);
        /* the failed try spent it */
        redeem(&c, code, "&redirect_uri=" PUB_CB "&client_id=portal-pub&code_verifier=" VERIFIER, NULL);
        assert_token_error(&c, 400, "invalid_grant");
        call_cleanup(&c);
        free(code);
    }
    /* another client, authenticated */
    char *code = issue_code("portal-pub", PUB_CB);
    char *basic = gw_b64url_encode("portal-a:secret-a", 17);
    char *auth = gw_sprintf("Basic %s", basic);
    call_t c;
    redeem(&c, code, "&redirect_uri=" PUB_CB "&code_verifier=" VERIFIER, auth);
    assert_token_error(&c, 400, "invalid_grant");
    call_cleanup(&c);
    redeem(&c, code, "&redirect_uri=" PUB_CB, "Basic cG9ydGFsLWE6d3Jvbmc"); /* portal-a:wrong */
    assert_token_error(&c, 401, "invalid_client");
    call_cleanup(&c);
    free(auth);
    free(basic);
    free(code);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorize_shows_a_page_until_redirect_uri_is_the_portals),
        cmocka_unit_test(test_authorize_sends_errors_back_to_the_portal),
        cmocka_unit_test(test_code_is_redeemed_once_for_tokens),
        cmocka_unit_test(test_code_is_refused_with_a_wrong_verifier_redirect_or_client),
    };
    return cmocka_run_group_tests(tests, group_setup, gw_test_app_teardown);
}
