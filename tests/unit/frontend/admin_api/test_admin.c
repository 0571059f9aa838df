/* Unit tests for the admin API without the daemon: the bearer token, links made, read,
 * refused on conflict and removed, and the lock list (a lock ends the citizen's sessions
 * at once). Handlers are reached through gw_admin_routes, as the HTTP server would; a
 * real context on a temporary store (gw_test_app). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_admin.h"
#include "gw_broker_internal.h"
#include "gw_json.h"
#include "gw_test_app.h"

#define ID_X "079203001234"
#define ID_Y "001190005678"
#define TOKEN "Bearer admin-token-1"

static gw_test_app_t g_t;

static int group_setup(void **state)
{
    *state = &g_t;
    char *sha = gw_sha256_hex("admin-token-1");
    int rc = gw_test_app_open(&g_t,
                              "[client portal-a]\nname = A\npublic = yes\nredirect_uri = https://a.example/cb\n"
                              "scopes = openid\n\n[admin]\ntoken_sha256 = %s\n",
                              sha);
    free(sha);
    return rc;
}

/* the answer's status and its JSON (a new reference) */
static json_t *admin(int method, const char *path, const char *params, const char *auth, int *status)
{
    gw_test_call_t c;
    gw_test_call(&g_t, gw_admin_routes, &c, method, path, params, "application/json", auth);
    *status = c.resp.status;
    json_t *j = gw_json_parse_str(c.resp.body.data);
    if (c.resp.status == 401)
        assert_string_equal(gw_test_call_header(&c, "WWW-Authenticate"), "Bearer realm=\"eidgw-admin\"");
    gw_test_call_cleanup(&c);
    assert_non_null(j);
    return j;
}

static void expect(int method, const char *path, const char *params, const char *auth, int status, const char *error)
{
    int st;
    json_t *j = admin(method, path, params, auth, &st);
    if (st != status || (error && !gw_streq(gw_jstr(j, "error"), error)))
        fail_msg("%s %s: %d %s, wanted %d %s", path, params, st, gw_jstr(j, "error") ? gw_jstr(j, "error") : "", status,
                 error ? error : "");
    json_decref(j);
}

static void test_every_route_wants_the_bearer_token(void **state)
{
    (void)state;
    for (const gw_route_t *r = gw_admin_routes; r->path; r++) {
        int m = r->methods & GW_M_POST ? GW_M_POST : GW_M_GET;
        expect(m, r->path, "{}", NULL, 401, "unauthorized");
        expect(m, r->path, "{}", "Bearer admin-token-2", 401, "unauthorized");
        expect(m, r->path, "{}", "Basic admin-token-1", 401, "unauthorized");
    }
    int st;
    json_t *j = admin(GW_M_GET, "/admin/status", "", TOKEN, &st);
    assert_int_equal(st, 200);
    assert_string_equal(gw_jstr(j, "version"), EIDGW_VERSION);
    json_decref(j);
}

static void test_links_are_made_read_refused_on_conflict_and_removed(void **state)
{
    (void)state;
    expect(GW_M_POST, "/admin/links", "{\"portal\":\"portal-a\",\"id12\":\"" ID_X "\",\"account\":\"acct-1\"}", TOKEN,
           201, NULL);
    int st;
    json_t *j = admin(GW_M_GET, "/admin/links", "portal=portal-a&id12=" ID_X, TOKEN, &st);
    assert_int_equal(st, 200);
    assert_string_equal(gw_jstr(j, "account"), "acct-1");
    json_decref(j);
    j = admin(GW_M_GET, "/admin/links", "portal=portal-a&account=acct-1", TOKEN, &st);
    assert_string_equal(gw_jstr(j, "id12"), ID_X);
    json_decref(j);
    /* one account per citizen per portal, both ways */
    j = admin(GW_M_POST, "/admin/links", "{\"portal\":\"portal-a\",\"id12\":\"" ID_X "\",\"account\":\"acct-2\"}",
              TOKEN, &st);
    assert_int_equal(st, 409);
    assert_string_equal(gw_jstr(j, "which"), "id12");
    json_decref(j);
    j = admin(GW_M_POST, "/admin/links", "{\"portal\":\"portal-a\",\"id12\":\"" ID_Y "\",\"account\":\"acct-1\"}",
              TOKEN, &st);
    assert_int_equal(st, 409);
    assert_string_equal(gw_jstr(j, "which"), "account");
    json_decref(j);
    /* bad requests */
    expect(GW_M_POST, "/admin/links", "{\"portal\":\"nobody\",\"id12\":\"" ID_Y "\",\"account\":\"a\"}", TOKEN, 400,
           "invalid_request");
    expect(GW_M_POST, "/admin/links", "{\"portal\":\"portal-a\",\"id12\":\"12345\",\"account\":\"a\"}", TOKEN, 400,
           "invalid_request");
    expect(GW_M_POST, "/admin/links", "{\"portal\":\"portal-a\",\"id12\":\"" ID_Y "\"}", TOKEN, 400, "invalid_request");
    expect(GW_M_POST, "/admin/links", "not json", TOKEN, 400, "invalid_request");
    expect(GW_M_GET, "/admin/links", "portal=portal-a", TOKEN, 400, "invalid_request");
    expect(GW_M_GET, "/admin/links", "portal=portal-a&id12=" ID_Y, TOKEN, 404, "not_found");
    /* unlink: a reason is required */
    expect(GW_M_POST, "/admin/links/unlink", "{\"portal\":\"portal-a\",\"id12\":\"" ID_X "\"}", TOKEN, 400,
           "invalid_request");
    expect(GW_M_POST, "/admin/links/unlink", "{\"portal\":\"portal-a\",\"id12\":\"" ID_X "\",\"reason\":\"error\"}",
           TOKEN, 200, NULL);
    expect(GW_M_GET, "/admin/links", "portal=portal-a&id12=" ID_X, TOKEN, 404, "not_found");
    expect(GW_M_POST, "/admin/links/unlink", "{\"portal\":\"portal-a\",\"id12\":\"" ID_X "\",\"reason\":\"error\"}",
           TOKEN, 404, "not_found");
}

static void test_a_lock_ends_the_citizens_sessions_and_can_be_removed(void **state)
{
    (void)state;
    gw_session_t sess;
    gw_session_new(&g_t.app, &sess, json_pack("{s:s}", "id12", ID_Y), NULL, NULL);
    free(sess.sid);
    sess.sid = gw_strdup("sid-locked");
    assert_int_equal(gw_session_save_new(&g_t.app, &sess), GW_OK);
    gw_session_cleanup(&sess);
    expect(GW_M_POST, "/admin/locks", "{\"id12\":\"" ID_Y "\",\"reason\":\"because\"}", TOKEN, 400, "invalid_request");
    expect(GW_M_POST, "/admin/locks", "{\"reason\":\"DECEASED\"}", TOKEN, 400, "invalid_request");
    assert_false(gw_revset_has(&g_t.app.revoked, "sid-locked"));
    int st;
    json_t *j =
        admin(GW_M_POST, "/admin/locks", "{\"id12\":\"" ID_Y "\",\"reason\":\"CARD_REVOKED_OR_HELD\"}", TOKEN, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(j, "locked")));
    json_decref(j);
    assert_true(gw_revset_has(&g_t.app.revoked, "sid-locked"));
    gw_session_t got;
    assert_int_equal(gw_session_get(&g_t.app, "sid-locked", 0, &got), GW_ENOTFOUND);
    char *reason = NULL;
    assert_int_equal(gw_store_get(g_t.app.store, "lock", ID_Y, &reason), GW_OK);
    assert_string_equal(reason, "CARD_REVOKED_OR_HELD");
    free(reason);
    expect(GW_M_POST, "/admin/locks/remove", "{\"id12\":\"" ID_Y "\"}", TOKEN, 200, NULL);
    assert_int_equal(gw_store_get(g_t.app.store, "lock", ID_Y, &reason), GW_ENOTFOUND);
    expect(GW_M_POST, "/admin/locks/remove", "{\"id12\":\"" ID_Y "\"}", TOKEN, 404, "not_found");
}

/* locks and links take only what a login can carry: a citizen's number by the ID rules,
 * its place code a province's (or born_abroad said), or a foreigner's or organisation's
 * identifier; never any 32 bytes */
static void test_locks_and_links_take_only_valid_identifiers(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "../../etc/passwd",
        "<script>x</script>",
        "                                ",
        "079203001234 ",
        "07920300123\u00e9",
        "001299012345", /* born in 2099 */
        "123456789", /* a CMND */
        "099085012345", /* place 099 is no province */
        "0123456789012345678901234567890123", /* 34 bytes */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char *b = gw_sprintf("{\"id12\":\"%s\",\"reason\":\"DECEASED\"}", bad[i]);
        expect(GW_M_POST, "/admin/locks", b, TOKEN, 400, "invalid_request");
        free(b);
        char *v = NULL;
        assert_int_equal(gw_store_get(g_t.app.store, "lock", bad[i], &v), GW_ENOTFOUND);
    }
    /* born abroad: digits 1-3 are a country code */
    expect(GW_M_POST, "/admin/locks", "{\"id12\":\"099085012345\",\"reason\":\"DECEASED\",\"born_abroad\":true}", TOKEN,
           200, NULL);
    expect(GW_M_POST, "/admin/locks/remove", "{\"id12\":\"099085012345\"}", TOKEN, 200, NULL);
    /* a foreigner's and an organisation's identifiers */
    expect(GW_M_POST, "/admin/locks", "{\"id12\":\"P-AB1234567\",\"reason\":\"FOREIGN_DOC_EXPIRED\"}", TOKEN, 200,
           NULL);
    expect(GW_M_POST, "/admin/locks", "{\"id12\":\"0101234567-001\",\"reason\":\"ORG_DISSOLVED\"}", TOKEN, 200, NULL);
    /* a new link needs a province code too; the same number said to be born abroad is linked */
    expect(GW_M_POST, "/admin/links", "{\"portal\":\"portal-a\",\"id12\":\"099085012345\",\"account\":\"z\"}", TOKEN,
           400, "invalid_request");
    expect(GW_M_POST, "/admin/links",
           "{\"portal\":\"portal-a\",\"id12\":\"099085012345\",\"account\":\"z\",\"born_abroad\":true}", TOKEN, 201,
           NULL);
    /* a stored one is unlinked without it */
    expect(GW_M_POST, "/admin/links/unlink", "{\"portal\":\"portal-a\",\"id12\":\"099085012345\",\"reason\":\"x\"}",
           TOKEN, 200, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_wants_the_bearer_token),
        cmocka_unit_test(test_links_are_made_read_refused_on_conflict_and_removed),
        cmocka_unit_test(test_a_lock_ends_the_citizens_sessions_and_can_be_removed),
        cmocka_unit_test(test_locks_and_links_take_only_valid_identifiers),
    };
    return cmocka_run_group_tests(tests, group_setup, gw_test_app_teardown);
}
