/* Unit tests for gw_session, the SSO session: the record as its one builder makes it,
 * written with its ID-number index in one go and read back; the sealed cookie opened
 * with no store access (refused when tampered with, expired or revoked); and the end of
 * a session: the record gone, the revocation, the cookie deleted and every front end's
 * session_ended told. A real context on a temporary store (gw_test_app). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_broker_internal.h"
#include "gw_json.h"
#include "gw_test_app.h"

#define ID_X "079203001234"

static gw_test_app_t g_t;

/* ------------------------------------------------------------------ a front end that listens */

static struct {
    int ended;
    char *sid;
    size_t nportals;
} g_ended;

static void fe_session_ended(gw_ctx_t *app, const gw_session_t *sess)
{
    (void)app;
    g_ended.ended++;
    free(g_ended.sid);
    g_ended.sid = gw_strdup(sess->sid);
    g_ended.nportals = sess->nportals;
}

static const gw_frontend_ops_t listener = { .name = "listener", .session_ended = fe_session_ended };
static const gw_frontend_ops_t silent = { .name = "silent" }; /* nothing to tell */
static const gw_frontend_ops_t *const frontends[] = { &silent, &listener, NULL };

static int group_setup(void **state)
{
    (void)state;
    if (gw_test_app_open(&g_t, "[client portal-a]\nname = A\npublic = yes\nredirect_uri = https://a.example/cb\n"
                               "scopes = openid\n"))
        return -1;
    gw_broker_register(frontends); /* after gw_app_init, which registers the real ones */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_ended.sid);
    gw_test_app_close(&g_t);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

/* A session from the one builder, under a known id and auth time. */
static void new_session(gw_session_t *s, const char *sid, int64_t auth_time)
{
    json_t *ident = json_pack("{s:s,s:s,s:i}", "id12", ID_X, "name", "An", "level", 2);
    gw_session_new(&g_t.app, s, ident, "vneid-sub-1", "https://vneid.example/logout");
    free(s->sid);
    s->sid = gw_strdup(sid);
    s->exp = auth_time + (s->exp - s->auth_time);
    s->auth_time = auth_time;
}

static void resp_init(gw_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    gw_buf_init(&r->body, 0);
}

/* the Set-Cookie the response carries for the SSO cookie, or NULL */
static const char *set_cookie(const gw_resp_t *r)
{
    size_t n = strlen(g_t.app.sso_cookie);
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcmp(r->hname[i], "Set-Cookie") && !strncmp(r->hvalue[i], g_t.app.sso_cookie, n) &&
            r->hvalue[i][n] == '=')
            return r->hvalue[i];
    return NULL;
}

/* gw_sso_open on a request that sends back the cookie value of the Set-Cookie c */
static int open_cookie(const char *c, gw_sso_t *ret)
{
    gw_req_t req;
    memset(&req, 0, sizeof(req));
    const char *semi = strchr(c, ';');
    req.cookie = semi ? gw_strndup(c, (size_t)(semi - c)) : gw_strdup(c);
    memset(ret, 0, sizeof(*ret));
    int rc = gw_sso_open(&g_t.app, &req, ret);
    free(req.cookie);
    return rc;
}

static int sidx_has(const char *sid);

/* ------------------------------------------------------------------ the record */

static void test_new_session_record_has_every_part(void **state)
{
    (void)state;
    gw_session_t fresh;
    int64_t before = gw_now();
    gw_session_new(&g_t.app, &fresh, json_pack("{s:s}", "id12", ID_X), "vneid-sub-1", "https://vneid.example/logout");
    assert_true(strlen(fresh.sid) >= 24); /* a new id: time-ordered, then random */
    assert_true(fresh.auth_time >= before && fresh.auth_time <= gw_now());
    assert_int_equal(fresh.exp, fresh.auth_time + g_t.cfg->session_lifetime);
    assert_int_equal(g_t.cfg->session_lifetime, 3600);
    assert_int_equal(fresh.nportals, 0);
    assert_string_equal(gw_session_id12(&fresh), ID_X);
    assert_string_equal(fresh.upstream_sub, "vneid-sub-1");
    assert_string_equal(fresh.upstream_logout, "https://vneid.example/logout");
    gw_session_t other;
    gw_session_new(&g_t.app, &other, json_object(), NULL, NULL);
    assert_string_not_equal(other.sid, fresh.sid);
    assert_string_equal(gw_session_id12(&other), ""); /* no ID number */
    assert_null(other.upstream_sub);
    gw_session_cleanup(&other);
    gw_session_cleanup(&fresh);
}

static void test_saved_session_is_read_back_and_indexed_by_id_number(void **state)
{
    (void)state;
    gw_session_t s, got;
    new_session(&s, "sid-saved", gw_now());
    gw_session_first_portal(&s, "portal-a");
    assert_int_equal(gw_session_get(&g_t.app, "sid-saved", 0, &got), GW_ENOTFOUND);
    assert_null(got.sid);
    assert_int_equal(gw_session_save_new(&g_t.app, &s), GW_OK);
    assert_int_equal(gw_session_get(&g_t.app, "sid-saved", GW_SESS_PORTALS, &got), GW_OK);
    assert_string_equal(got.sid, s.sid);
    assert_true(json_equal(got.identity, s.identity));
    assert_int_equal(got.auth_time, s.auth_time);
    assert_int_equal(got.exp, s.exp);
    assert_string_equal(got.upstream_sub, s.upstream_sub);
    assert_string_equal(got.upstream_logout, s.upstream_logout);
    assert_int_equal(got.nportals, 1);
    assert_string_equal(got.portals[0], "portal-a");
    assert_true(sidx_has("sid-saved"));
    gw_session_cleanup(&got);
    gw_session_cleanup(&s);
}

/* Later portals are kept in their own set: two copies of the session that each add a
 * portal (two nodes, two tabs) leave both in it; a portal added twice is there once. */
static void test_portals_joining_from_two_copies_are_both_kept(void **state)
{
    (void)state;
    gw_session_t s, one, two, got;
    new_session(&s, "sid-join", gw_now());
    gw_session_first_portal(&s, "portal-a");
    assert_int_equal(gw_session_save_new(&g_t.app, &s), GW_OK);
    assert_int_equal(gw_session_get(&g_t.app, "sid-join", 0, &one), GW_OK);
    assert_int_equal(gw_session_get(&g_t.app, "sid-join", 0, &two), GW_OK);
    assert_int_equal(gw_session_add_portal(&g_t.app, &one, "portal-b"), GW_OK);
    assert_int_equal(gw_session_add_portal(&g_t.app, &two, "portal-c"), GW_OK);
    assert_int_equal(gw_session_add_portal(&g_t.app, &two, "portal-b"), GW_OK); /* in already */
    assert_int_equal(gw_session_add_portal(&g_t.app, &two, "portal-a"), GW_OK); /* the first one */
    assert_int_equal(gw_session_get(&g_t.app, "sid-join", GW_SESS_PORTALS, &got), GW_OK);
    assert_int_equal(got.nportals, 3);
    assert_true(gw_session_has_portal(&got, "portal-a"));
    assert_true(gw_session_has_portal(&got, "portal-b"));
    assert_true(gw_session_has_portal(&got, "portal-c"));
    /* without GW_SESS_PORTALS only the record's own portal is read */
    gw_session_t lean;
    assert_int_equal(gw_session_get(&g_t.app, "sid-join", 0, &lean), GW_OK);
    assert_int_equal(lean.nportals, 1);
    gw_session_cleanup(&lean);
    gw_session_cleanup(&got);
    gw_session_cleanup(&one);
    gw_session_cleanup(&two);
    gw_session_cleanup(&s);
}

/* ------------------------------------------------------------------ the cookie */

static void test_cookie_opens_with_what_was_sealed(void **state)
{
    (void)state;
    gw_resp_t r;
    resp_init(&r);
    int64_t now = gw_now();
    gw_sso_set_cookie(&g_t.app, &r, "sid-cookie", now - 5, 2, now + 60);
    const char *c = set_cookie(&r);
    assert_non_null(c);
    assert_non_null(strstr(c, "; HttpOnly; SameSite=Lax"));
    assert_null(strstr(c, "Max-Age")); /* a browser-session cookie */
    assert_null(strstr(c, "Secure")); /* public_url is http */
    gw_sso_t s;
    assert_int_equal(open_cookie(c, &s), GW_OK);
    assert_string_equal(s.sid, "sid-cookie");
    assert_int_equal(s.auth_time, now - 5);
    assert_int_equal(s.exp, now + 60);
    assert_int_equal(s.level, 2);
    gw_sso_cleanup(&s);
    gw_resp_reset(&r);
    gw_buf_cleanup(&r.body);
}

static void test_cookie_tampered_expired_or_missing_does_not_open(void **state)
{
    (void)state;
    gw_resp_t r;
    resp_init(&r);
    int64_t now = gw_now();
    gw_sso_set_cookie(&g_t.app, &r, "sid-old", now - 100, 1, now - 1);
    gw_sso_t s;
    assert_int_equal(open_cookie(set_cookie(&r), &s), GW_ENOTFOUND); /* expired */
    gw_resp_reset(&r);
    gw_sso_set_cookie(&g_t.app, &r, "sid-t", now, 1, now + 60);
    char *c = gw_strdup(set_cookie(&r));
    char *v = strchr(c, '=') + 5;
    *v = *v == 'A' ? 'B' : 'A'; /* one character of the sealed value */
    assert_int_equal(open_cookie(c, &s), GW_ENOTFOUND);
    free(c);
    assert_int_equal(open_cookie("other=1", &s), GW_ENOTFOUND);
    c = gw_sprintf("%s=not-sealed", g_t.app.sso_cookie);
    assert_int_equal(open_cookie(c, &s), GW_ENOTFOUND);
    free(c);
    assert_null(s.sid);
    gw_resp_reset(&r);
    gw_buf_cleanup(&r.body);
}

/* ------------------------------------------------------------------ the end */

static void on_revoked(const char *sid, int64_t until, void *ud)
{
    if (!strcmp(sid, ud) && until > gw_now())
        ((char *)ud)[0] = 0;
}

static void test_end_removes_revokes_deletes_the_cookie_and_tells_the_front_ends(void **state)
{
    (void)state;
    int64_t now = gw_now();
    gw_session_t s;
    new_session(&s, "sid-end", now);
    gw_session_first_portal(&s, "portal-a");
    assert_int_equal(gw_session_save_new(&g_t.app, &s), GW_OK);
    assert_int_equal(gw_session_add_portal(&g_t.app, &s, "portal-b"), GW_OK);
    gw_session_cleanup(&s);
    gw_resp_t r;
    resp_init(&r);
    gw_sso_set_cookie(&g_t.app, &r, "sid-end", now, 2, now + 3600);
    char *cookie = gw_strdup(set_cookie(&r));
    gw_resp_reset(&r);
    gw_sso_t so;
    assert_int_equal(open_cookie(cookie, &so), GW_OK);
    gw_sso_cleanup(&so);

    g_ended.ended = 0;
    gw_session_end(&g_t.app, &r, "sid-end", now + 3600);
    const char *del = set_cookie(&r);
    assert_non_null(del);
    assert_non_null(strstr(del, "=; Path=/; Max-Age=0"));
    gw_session_t got;
    assert_int_equal(gw_session_get(&g_t.app, "sid-end", 0, &got), GW_ENOTFOUND);
    assert_int_equal(g_ended.ended, 1);
    assert_string_equal(g_ended.sid, "sid-end");
    assert_int_equal(g_ended.nportals, 2); /* told with every portal of the session */
    assert_true(gw_revset_has(&g_t.app.revoked, "sid-end"));
    memset(&so, 0, sizeof(so));
    assert_int_equal(open_cookie(cookie, &so), GW_ENOTFOUND); /* revoked on this node */
    free(cookie);
    gw_resp_reset(&r);

    /* the revocation is in the store for the other nodes */
    int64_t seq = 0;
    char want[] = "sid-end";
    assert_int_equal(gw_store_revoked_since(g_t.app.store, 0, on_revoked, want, &seq), GW_OK);
    assert_string_equal(want, ""); /* seen */
    assert_true(seq > 0);

    /* an unknown or already ended session: the cookie goes, nobody is told */
    gw_session_end(&g_t.app, &r, "sid-end", now + 3600);
    assert_non_null(set_cookie(&r));
    gw_resp_reset(&r);
    gw_session_end(&g_t.app, &r, NULL, 0);
    assert_non_null(set_cookie(&r));
    assert_int_equal(g_ended.ended, 1);
    gw_resp_reset(&r);
    gw_buf_cleanup(&r.body);
}

static void collect_member(const char *member, void *ud)
{
    if (!strcmp(member, ud))
        ((char *)ud)[0] = 0;
}

static int sidx_has(const char *sid)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", sid);
    assert_int_equal(gw_store_set_members(g_t.app.store, "sidx", ID_X, 100, collect_member, buf), GW_OK);
    return buf[0] == 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_session_record_has_every_part),
        cmocka_unit_test(test_saved_session_is_read_back_and_indexed_by_id_number),
        cmocka_unit_test(test_portals_joining_from_two_copies_are_both_kept),
        cmocka_unit_test(test_cookie_opens_with_what_was_sealed),
        cmocka_unit_test(test_cookie_tampered_expired_or_missing_does_not_open),
        cmocka_unit_test(test_end_removes_revokes_deletes_the_cookie_and_tells_the_front_ends),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
