/* Unit tests for the broker's account resolution at a VNeID login (docs/domain.md section
 * 10, DOMAIN rule 4 B): an existing link, exactly one verified legacy account (auto link),
 * several (the choose page, then POST /link/choose links one and merges the others), none
 * (the no_legacy page, then POST /link/new), and a link conflict.
 *
 * No sockets: a real gw_ctx_t from gw_test_app_open_keys (a temporary SQLite store per
 * test, one key directory for the suite), a test front end that records what the broker hands
 * it, requests and responses built by hand, and a tiny cookie jar that plays the browser
 * (it keeps the Set-Cookie values of every response and sends them back). The step
 * handlers are reached through gw_broker_account_routes, as the HTTP server would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_admin.h"
#include "gw_app.h"
#include "gw_broker_internal.h"
#include "gw_json.h"
#include "gw_test_app.h"
#include "gw_util.h"

#define PORTAL "portal-a"
#define ID_X "079203001234" /* the citizen who logs in */
#define ID_Y "001190005678" /* another citizen */
#define ADMIN_TOKEN "test-admin-token"
#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static char g_keydir[64]; /* one key directory for the whole suite (RSA generation is slow) */

/* ------------------------------------------------------------------ the test front end */

typedef struct recorded {
    int complete_calls, fail_calls, back_url_calls;
    char *account; /* NULL when complete() got none */
    json_t *merged; /* a copy, or NULL */
    char *sub, *sid, *ret_state, *fail_error;
    int level;
} recorded_t;

static recorded_t g_rec;

static void rec_reset(void)
{
    free(g_rec.account);
    json_decref(g_rec.merged);
    free(g_rec.sub);
    free(g_rec.sid);
    free(g_rec.ret_state);
    free(g_rec.fail_error);
    memset(&g_rec, 0, sizeof(g_rec));
}

static void fe_complete(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login,
                        const gw_finished_t *done)
{
    (void)app;
    (void)req;
    g_rec.complete_calls++;
    free(g_rec.account);
    free(g_rec.sub);
    free(g_rec.sid);
    free(g_rec.ret_state);
    json_decref(g_rec.merged);
    g_rec.account = done->account ? gw_strdup(done->account) : NULL;
    g_rec.merged = done->merged ? json_deep_copy(done->merged) : NULL;
    g_rec.sub = gw_strdup(done->sub);
    g_rec.sid = gw_strdup(done->sid);
    g_rec.level = done->level;
    g_rec.ret_state = gw_strdup(gw_jstr(login->ret, "state"));
    gw_resp_redirect(resp, "https://portal-a.example/cb?code=test");
}

static void fe_fail(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp, const gw_login_t *login, const char *error)
{
    (void)app;
    (void)req;
    (void)login;
    g_rec.fail_calls++;
    free(g_rec.fail_error);
    g_rec.fail_error = gw_strdup(error);
    resp->status = 302;
}

static char *fe_back_url(gw_ctx_t *app, const gw_login_t *login, const char *error)
{
    (void)app;
    (void)login;
    g_rec.back_url_calls++;
    return gw_sprintf("https://portal-a.example/cb?error=%s", error);
}

static const gw_frontend_ops_t test_frontend = {
    .name = "test",
    .complete = fe_complete,
    .fail = fe_fail,
    .back_url = fe_back_url,
};
static const gw_frontend_ops_t *const test_frontends[] = { &test_frontend, NULL };

/* ------------------------------------------------------------------ the browser */

#define JAR_MAX 8
typedef struct browser {
    size_t n;
    char *name[JAR_MAX], *value[JAR_MAX];
} browser_t;

static void jar_set(browser_t *b, const char *name, const char *value, int del)
{
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->name[i], name))
            continue;
        free(b->value[i]);
        if (del) {
            free(b->name[i]);
            b->name[i] = b->name[b->n - 1];
            b->value[i] = b->value[b->n - 1];
            b->n--;
        } else {
            b->value[i] = gw_strdup(value);
        }
        return;
    }
    if (!del && b->n < JAR_MAX) {
        b->name[b->n] = gw_strdup(name);
        b->value[b->n++] = gw_strdup(value);
    }
}

/* Keeps the cookies a response sets, as a browser would. */
static void jar_take(browser_t *b, const gw_resp_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->hname[i], "Set-Cookie"))
            continue;
        const char *c = r->hvalue[i], *eq = strchr(c, '='), *semi = strchr(c, ';');
        if (!eq || (semi && semi < eq))
            continue;
        char *name = gw_strndup(c, (size_t)(eq - c));
        char *value = gw_strndup(eq + 1, semi ? (size_t)(semi - eq - 1) : strlen(eq + 1));
        jar_set(b, name, value, strstr(c, "Max-Age=0") != NULL);
        free(name);
        free(value);
    }
}

static const char *jar_get(const browser_t *b, const char *name)
{
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->name[i], name))
            return b->value[i];
    return NULL;
}

static char *jar_header(const browser_t *b)
{
    if (!b->n)
        return NULL;
    gw_buf_t h;
    gw_buf_init(&h, 0);
    for (size_t i = 0; i < b->n; i++)
        gw_buf_printf(&h, "%s%s=%s", i ? "; " : "", b->name[i], b->value[i]);
    return gw_buf_steal(&h);
}

static void jar_cleanup(browser_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->name[i]);
        free(b->value[i]);
    }
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ the fixture */

#define MAX_RESP 16
#define MAX_KEPT 64

/* One VNeID login as the callback leaves it: the stored login, the new session, the
 * browser that holds its cookies, and the response after_login gave. */
typedef struct vlogin {
    gw_login_t login;
    char *lid, *sid;
    gw_session_t sess;
    int unsaved;
    browser_t br;
    gw_resp_t *resp;
} vlogin_t;

typedef struct fixture {
    gw_test_app_t t;
    vlogin_t vl[4];
    size_t nvl;
    gw_resp_t resp[MAX_RESP];
    size_t nresp;
    void *kept[MAX_KEPT];
    size_t nkept;
} fixture_t;

static void *keep(fixture_t *f, void *p)
{
    if (f->nkept < MAX_KEPT)
        f->kept[f->nkept++] = p;
    return p;
}

static gw_resp_t *new_resp(fixture_t *f)
{
    assert_true(f->nresp < MAX_RESP);
    gw_resp_t *r = &f->resp[f->nresp++];
    memset(r, 0, sizeof(*r));
    gw_buf_init(&r->body, 0);
    return r;
}

static const char *body_of(const gw_resp_t *r) { return r->body.data ? r->body.data : ""; }

static int group_setup(void **state)
{
    (void)state;
    int rc = gw_test_keys_make(g_keydir);
    fflush(stdout);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    gw_test_rmdir(g_keydir);
    return 0;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    char keys[96];
    snprintf(keys, sizeof(keys), "%s/keys", g_keydir);
    char *admin_sha = gw_sha256_hex(ADMIN_TOKEN);
    int rc = gw_test_app_open_keys(&f->t, keys,
                                   "[client " PORTAL "]\n"
                                   "name = C\xe1\xbb\x95ng A\n"
                                   "secret_sha256 = " SHA_A "\n"
                                   "redirect_uri = https://portal-a.example/cb\n"
                                   "scopes = openid profile\n"
                                   "min_level = 1\n"
                                   "accounts = yes\n"
                                   "\n[admin]\ntoken_sha256 = %s\n",
                                   admin_sha);
    free(admin_sha);
    if (rc) {
        gw_test_app_close(&f->t);
        free(f);
        return -1;
    }
    gw_broker_register(test_frontends); /* after gw_app_init, which registers the real ones */
    rec_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < f->nvl; i++) {
        vlogin_t *v = &f->vl[i];
        gw_login_cleanup(&v->login);
        free(v->lid);
        free(v->sid);
        gw_session_cleanup(&v->sess);
        jar_cleanup(&v->br);
    }
    for (size_t i = 0; i < f->nresp; i++)
        gw_resp_reset(&f->resp[i]);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    gw_test_app_close(&f->t);
    rec_reset();
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

/* A legacy account of the portal, imported as `eidgw accounts import` would. */
static void add_account(fixture_t *f, const char *id, const char *username, const char *name, const char *birthdate,
                        const char *id12, int verified)
{
    gw_account_t a;
    memset(&a, 0, sizeof(a));
    snprintf(a.portal, sizeof(a.portal), "%s", PORTAL);
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.username, sizeof(a.username), "%s", username);
    snprintf(a.full_name, sizeof(a.full_name), "%s", name);
    snprintf(a.birthdate, sizeof(a.birthdate), "%s", birthdate);
    snprintf(a.id12, sizeof(a.id12), "%s", id12 ? id12 : "");
    a.id12_verified = verified;
    snprintf(a.verified_by, sizeof(a.verified_by), "%s", verified ? "import" : "");
    snprintf(a.status, sizeof(a.status), "active");
    snprintf(a.account_class, sizeof(a.account_class), "individual");
    gw_import_stats_t st = { 0 };
    gw_store_t *s = f->t.app.store;
    assert_int_equal(GW_STORE_ACCT(s, import_begin, PORTAL), GW_OK);
    int rc = GW_STORE_ACCT(s, import_row, &a, &st);
    assert_int_equal(GW_STORE_ACCT(s, import_end, rc == GW_OK), GW_OK);
    assert_int_equal(rc, GW_OK);
    assert_int_equal(st.inserted, 1);
}

static gw_account_t get_account(fixture_t *f, const char *id)
{
    gw_account_t a;
    memset(&a, 0, sizeof(a));
    assert_int_equal(GW_STORE_ACCT(f->t.app.store, account_get, PORTAL, id, &a), GW_OK);
    return a;
}

static void put_link(fixture_t *f, const char *id12, const char *account)
{
    gw_link_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.portal, sizeof(l.portal), "%s", PORTAL);
    snprintf(l.id12, sizeof(l.id12), "%s", id12);
    snprintf(l.account, sizeof(l.account), "%s", account);
    assert_int_equal(gw_store_link_create(f->t.app.store, &l), GW_OK);
}

static void req_init(gw_req_t *r, const struct browser *b, int method, const char *path, const char *body);
static void req_cleanup(gw_req_t *r);

/* A link made by an operator: POST /admin/links {portal, id12, account}, as the admin
 * API's route table serves it. It writes the link only, not the account's state. */
static void admin_link(fixture_t *f, const char *id12, const char *account)
{
    const gw_route_t *rt = gw_admin_routes;
    while (rt->path && strcmp(rt->path, "/admin/links"))
        rt++;
    assert_non_null(rt->path);
    char *body = gw_sprintf("{\"portal\":\"%s\",\"id12\":\"%s\",\"account\":\"%s\"}", PORTAL, id12, account);
    browser_t none = { 0 };
    gw_req_t req;
    req_init(&req, &none, GW_M_POST, "/admin/links", NULL);
    req.body = body;
    req.body_len = strlen(body);
    req.content_type = gw_strdup("application/json");
    req.authorization = gw_strdup("Bearer " ADMIN_TOKEN);
    gw_resp_t *r = new_resp(f);
    rt->fn(&f->t.app, &req, r);
    free(req.authorization);
    req_cleanup(&req);
    assert_int_equal(r->status, 201);
}

/* A link made in the store alone, the account's state left as it was: what links made
 * before the account was imported, or another writer between its two steps, leave. */
static void raw_link(fixture_t *f, const char *id12, const char *account)
{
    gw_link_t l = { 0 };
    snprintf(l.portal, sizeof(l.portal), "%s", PORTAL);
    snprintf(l.id12, sizeof(l.id12), "%s", id12);
    snprintf(l.account, sizeof(l.account), "%s", account);
    l.created = gw_now();
    assert_int_equal(gw_store_link_create(f->t.app.store, &l), GW_OK);
}

static void assert_no_link_for(fixture_t *f, const char *id12)
{
    gw_link_t l;
    assert_int_equal(gw_store_link_by_id12(f->t.app.store, PORTAL, id12, &l), GW_ENOTFOUND);
}

static void assert_linked(fixture_t *f, const char *id12, const char *account)
{
    gw_link_t l;
    assert_int_equal(gw_store_link_by_id12(f->t.app.store, PORTAL, id12, &l), GW_OK);
    assert_string_equal(l.account, account);
    assert_int_equal(gw_store_link_by_account(f->t.app.store, PORTAL, account, &l), GW_OK);
    assert_string_equal(l.id12, id12);
}

static void req_init(gw_req_t *r, const struct browser *b, int method, const char *path, const char *body)
{
    static int seq;
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->path = gw_strdup(path);
    r->query = gw_strdup("");
    if (body) {
        r->body = gw_strdup(body);
        r->body_len = strlen(body);
        r->content_type = gw_strdup("application/x-www-form-urlencoded");
        assert_int_equal(gw_form_parse(&r->form, body, strlen(body), 64), GW_OK);
    }
    r->cookie = jar_header(b);
    snprintf(r->remote, sizeof(r->remote), "192.0.2.10");
    snprintf(r->id, sizeof(r->id), "t%06d", ++seq);
    r->ran_on = "local";
}

static void req_cleanup(gw_req_t *r)
{
    free(r->path);
    free(r->query);
    free(r->body);
    free(r->content_type);
    free(r->cookie);
    gw_form_cleanup(&r->q);
    gw_form_cleanup(&r->form);
}

static gw_handler_fn account_route(const char *path)
{
    for (const gw_route_t *r = gw_broker_account_routes; r->path; r++)
        if (!strcmp(r->path, path)) {
            assert_true(r->methods & GW_M_POST);
            return r->fn;
        }
    fail_msg("no route %s in gw_broker_account_routes", path);
    return NULL;
}

/* A VNeID login of the citizen id12, as gw_broker_start and h_callback run it: the login
 * is stored under its id first, the callback makes a new session (written once, by the
 * broker or after it), sets the SSO cookie and hands over to gw_broker_after_login. */
static vlogin_t *vneid_login(fixture_t *f, const char *id12)
{
    assert_true(f->nvl < 4);
    vlogin_t *v = &f->vl[f->nvl++];
    gw_ctx_t *app = &f->t.app;
    v->login.portal = gw_strdup(PORTAL);
    v->login.frontend = gw_strdup("test");
    v->login.min_level = 1;
    v->login.max_age = -1;
    v->login.ret = json_pack("{s:s}", "state", "portal-state-42");
    v->lid = gw_random_token(24);
    assert_int_equal(gw_login_save(app, v->lid, &v->login), GW_OK);

    json_t *ident = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "id12", id12, "name", "Nguy\xe1\xbb\x85n V\xc4\x83n An",
                              "birthdate", "1990-05-17", "sex", "male", "level", 1, "account_type", "1");
    gw_session_new(app, &v->sess, ident, "vneid-sub-1", NULL);
    v->sid = gw_strdup(v->sess.sid);
    v->unsaved = SESS_UNSAVED;
    v->resp = new_resp(f);
    gw_sso_set_cookie(app, v->resp, v->sid, v->sess.auth_time, 1, v->sess.exp);

    gw_req_t req;
    req_init(&req, &v->br, GW_M_GET, "/callback", NULL);
    gw_broker_after_login(app, &req, v->resp, &v->login, v->lid, &v->sess, &v->unsaved, "vi");
    if (v->unsaved == SESS_UNSAVED)
        v->unsaved = gw_session_save_new(app, &v->sess) == GW_OK ? SESS_SAVED : SESS_SAVE_FAILED;
    req_cleanup(&req);
    jar_take(&v->br, v->resp);
    return v;
}

/* The value of the hidden input `name` in a page (kept by the fixture), or NULL. */
static const char *hidden(fixture_t *f, const gw_resp_t *r, const char *name)
{
    char *pat = gw_sprintf("name=\"%s\" value=\"", name);
    const char *p = strstr(body_of(r), pat), *e;
    size_t pl = strlen(pat);
    free(pat);
    if (!p || !(e = strchr(p + pl, '"')))
        return NULL;
    return keep(f, gw_strndup(p + pl, (size_t)(e - p - pl)));
}

/* csrf as the broker derives it: HMAC(cookie key, "csrf|" bind "|" login id). */
static char *expected_csrf(fixture_t *f, const char *bind, const char *lid)
{
    char *msg = gw_sprintf("csrf|%s|%s", bind, lid);
    unsigned char mac[32];
    gw_hmac_sha256(f->t.app.keys->cookie_key, GW_SEAL_KEYLEN, msg, strlen(msg), mac);
    free(msg);
    return keep(f, gw_b64url_encode(mac, 32));
}

/* POST a step form from browser b; the cookies the answer sets go back into b. */
static gw_resp_t *post(fixture_t *f, browser_t *b, const char *path, const char *ar, const char *csrf,
                       const char *account)
{
    gw_buf_t body;
    gw_buf_init(&body, 0);
    char *e_ar = gw_url_encode(ar ? ar : ""), *e_csrf = gw_url_encode(csrf ? csrf : "");
    gw_buf_printf(&body, "ar=%s&csrf=%s", e_ar, e_csrf);
    free(e_ar);
    free(e_csrf);
    if (account) {
        char *e = gw_url_encode(account);
        gw_buf_printf(&body, "&account=%s", e);
        free(e);
    }
    gw_req_t req;
    req_init(&req, b, GW_M_POST, path, body.data);
    gw_buf_cleanup(&body);
    gw_resp_t *r = new_resp(f);
    account_route(path)(&f->t.app, &req, r);
    req_cleanup(&req);
    jar_take(b, r);
    return r;
}

static int json_array_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v)
        if (gw_streq(json_string_value(v), s))
            return 1;
    return 0;
}

static void assert_completed_as(fixture_t *f, const vlogin_t *v, const char *account)
{
    assert_int_equal(g_rec.complete_calls, 1);
    assert_int_equal(g_rec.fail_calls, 0);
    if (account) {
        assert_non_null(g_rec.account);
        assert_string_equal(g_rec.account, account);
    } else {
        assert_null(g_rec.account);
    }
    char *sub = gw_pairwise_sub(&f->t.app, PORTAL, gw_session_id12(&v->sess));
    assert_string_equal(g_rec.sub, sub);
    free(sub);
    assert_string_equal(g_rec.sid, v->sid);
    assert_int_equal(g_rec.level, 1);
    assert_non_null(g_rec.ret_state); /* the front end's return handle came through */
    assert_string_equal(g_rec.ret_state, "portal-state-42");
}

/* The login record is forgotten once the portal was answered. */
static void assert_login_gone(fixture_t *f, const char *lid)
{
    gw_login_t l;
    assert_int_equal(gw_login_load(&f->t.app, lid, &l), GW_ENOTFOUND);
    gw_login_cleanup(&l);
}

/* The login waits for a page: stored, at that step, bound to the session. */
static void assert_login_pending(fixture_t *f, const vlogin_t *v, const char *step, json_t **ret_shown)
{
    gw_login_t l;
    assert_int_equal(gw_login_load(&f->t.app, v->lid, &l), GW_OK);
    int ok =
        gw_streq(l.step, step) && gw_streq(l.sid, v->sid) && gw_streq(l.frontend, "test") && gw_streq(l.portal, PORTAL);
    if (ret_shown)
        *ret_shown = json_incref(l.shown);
    gw_login_cleanup(&l);
    assert_true(ok);
}

static void assert_session_has_portal(fixture_t *f, const vlogin_t *v)
{
    gw_session_t s;
    assert_int_equal(gw_session_get(&f->t.app, v->sid, GW_SESS_PORTALS, &s), GW_OK);
    int has = gw_session_has_portal(&s, PORTAL);
    gw_session_cleanup(&s);
    assert_true(has);
}

/* ------------------------------------------------------------------ (1) existing link */

static void test_existing_link_logs_in_with_that_account_and_shows_no_page(void **state)
{
    fixture_t *f = *state;
    /* two verified accounts carry the number, but one is linked: the link decides */
    add_account(f, "acct-a", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    add_account(f, "acct-b", "annguyen90", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    put_link(f, ID_X, "acct-b");

    vlogin_t *v = vneid_login(f, ID_X);

    assert_completed_as(f, v, "acct-b");
    assert_null(g_rec.merged);
    assert_int_equal(v->resp->status, 302); /* what the front end answered, no page */
    assert_null(strstr(body_of(v->resp), "<html"));
    assert_null(jar_get(&v->br, f->t.app.bind_cookie)); /* no page step: no binding cookie */
    assert_int_equal(v->unsaved, SESS_SAVED); /* the broker wrote the session once ... */
    assert_session_has_portal(f, v); /* ... with this portal in it */
    assert_login_gone(f, v->lid);
    assert_linked(f, ID_X, "acct-b");
    assert_int_equal(get_account(f, "acct-a").state, GW_ACCT_VERIFIED); /* nothing merged */
}

/* ------------------------------------------------------------------ (2) one account */

static void test_one_verified_account_is_linked_automatically(void **state)
{
    fixture_t *f = *state;
    add_account(f, "acct-1", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    /* not candidates: the number unverified, another citizen's number */
    add_account(f, "acct-2", "an.unverified", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 0);
    add_account(f, "acct-3", "binh.tran", "Tr\xe1\xba\xa7n B\xc3\xacnh", "1985-01-02", ID_Y, 1);
    assert_no_link_for(f, ID_X);

    vlogin_t *v = vneid_login(f, ID_X);

    assert_completed_as(f, v, "acct-1");
    assert_null(g_rec.merged);
    assert_int_equal(v->resp->status, 302);
    assert_null(strstr(body_of(v->resp), "<html"));
    assert_int_equal(v->unsaved, SESS_SAVED);
    assert_session_has_portal(f, v);
    assert_login_gone(f, v->lid);
    assert_linked(f, ID_X, "acct-1");
    gw_account_t a1 = get_account(f, "acct-1");
    assert_int_equal(a1.state, GW_ACCT_LINKED);
    assert_string_equal(a1.id12, ID_X);
    gw_link_t l;
    assert_int_equal(gw_store_link_by_account(f->t.app.store, PORTAL, "acct-2", &l), GW_ENOTFOUND);
    assert_int_equal(get_account(f, "acct-2").state, GW_ACCT_UNVERIFIED);
    assert_int_equal(get_account(f, "acct-3").state, GW_ACCT_VERIFIED);
    assert_no_link_for(f, ID_Y);

    /* the next login finds the link: the same account, still one link */
    rec_reset();
    vlogin_t *v2 = vneid_login(f, ID_X);
    assert_completed_as(f, v2, "acct-1");
    assert_linked(f, ID_X, "acct-1");
    assert_int_equal(get_account(f, "acct-1").state, GW_ACCT_LINKED);
}

/* ------------------------------------------------------------------ (3) several accounts */

static void add_two_accounts_of_x(fixture_t *f)
{
    add_account(f, "acct-a", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    add_account(f, "acct-b", "annguyen90", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
}

/* The choose page after_login answered with: checked, and its form values returned. */
static void check_choose_page(fixture_t *f, vlogin_t *v, const char **ret_ar, const char **ret_csrf)
{
    assert_int_equal(g_rec.complete_calls, 0);
    assert_int_equal(g_rec.fail_calls, 0);
    assert_int_equal(v->resp->status, 200);
    const char *html = body_of(v->resp);
    assert_non_null(strstr(html, "action=\"/link/choose\""));
    assert_non_null(strstr(html, "an.nguyen"));
    assert_non_null(strstr(html, "annguyen90"));
    assert_non_null(strstr(html, "value=\"acct-a\""));
    assert_non_null(strstr(html, "value=\"acct-b\""));
    assert_no_link_for(f, ID_X);
    assert_int_equal(get_account(f, "acct-a").state, GW_ACCT_VERIFIED);
    assert_int_equal(get_account(f, "acct-b").state, GW_ACCT_VERIFIED);

    json_t *shown = NULL;
    assert_login_pending(f, v, "choose", &shown);
    int shown_ok = json_array_size(shown) == 2 && json_array_has(shown, "acct-a") && json_array_has(shown, "acct-b");
    json_decref(shown);
    assert_true(shown_ok);
    /* the session the page belongs to was written (by the callback, after after_login) */
    assert_int_equal(v->unsaved, SESS_SAVED);
    gw_session_t s;
    assert_int_equal(gw_session_get(&f->t.app, v->sid, 0, &s), GW_OK);
    gw_session_cleanup(&s);

    const char *ar = hidden(f, v->resp, "ar"), *csrf = hidden(f, v->resp, "csrf");
    assert_non_null(ar);
    assert_non_null(csrf);
    assert_string_equal(ar, v->lid); /* kept under the login's own id */
    const char *bind = jar_get(&v->br, f->t.app.bind_cookie);
    assert_non_null(bind); /* the page set the binding cookie */
    assert_string_equal(csrf, expected_csrf(f, bind, v->lid));
    assert_non_null(jar_get(&v->br, f->t.app.sso_cookie));
    *ret_ar = ar;
    *ret_csrf = csrf;
}

static void test_several_accounts_choose_links_one_and_merges_the_other(void **state)
{
    fixture_t *f = *state;
    add_two_accounts_of_x(f);
    vlogin_t *v = vneid_login(f, ID_X);
    const char *ar, *csrf;
    check_choose_page(f, v, &ar, &csrf);

    gw_resp_t *r = post(f, &v->br, "/link/choose", ar, csrf, "acct-b");

    assert_completed_as(f, v, "acct-b");
    assert_int_equal(r->status, 302);
    assert_non_null(g_rec.merged);
    assert_int_equal(json_array_size(g_rec.merged), 1);
    assert_string_equal(json_string_value(json_array_get(g_rec.merged, 0)), "acct-a");
    assert_linked(f, ID_X, "acct-b");
    gw_account_t b = get_account(f, "acct-b"), a = get_account(f, "acct-a");
    assert_int_equal(b.state, GW_ACCT_LINKED);
    assert_int_equal(a.state, GW_ACCT_MERGED);
    assert_string_equal(a.merged_into, "acct-b");
    gw_link_t l;
    assert_int_equal(gw_store_link_by_account(f->t.app.store, PORTAL, "acct-a", &l), GW_ENOTFOUND);
    assert_session_has_portal(f, v);
    assert_login_gone(f, v->lid);

    /* the same form again (back button, double submit), now for the other account */
    gw_resp_t *again = post(f, &v->br, "/link/choose", ar, csrf, "acct-a");
    assert_int_equal(g_rec.complete_calls, 1); /* no second completion */
    assert_int_equal(again->status, 400);
    assert_linked(f, ID_X, "acct-b");
    assert_int_equal(gw_store_link_by_account(f->t.app.store, PORTAL, "acct-a", &l), GW_ENOTFOUND);
    assert_int_equal(get_account(f, "acct-a").state, GW_ACCT_MERGED);
    assert_int_equal(get_account(f, "acct-b").state, GW_ACCT_LINKED);
    /* and the same choice again: still one link, nothing re-merged */
    gw_resp_t *same = post(f, &v->br, "/link/choose", ar, csrf, "acct-b");
    assert_int_equal(g_rec.complete_calls, 1);
    assert_int_equal(same->status, 400);
    assert_linked(f, ID_X, "acct-b");

    /* the next VNeID login goes straight to the kept account: no choose page any more */
    rec_reset();
    vlogin_t *v2 = vneid_login(f, ID_X);
    assert_completed_as(f, v2, "acct-b");
    assert_null(g_rec.merged);
    assert_int_equal(v2->resp->status, 302);
}

static void test_choose_refuses_another_browser_a_bad_token_and_an_unshown_account(void **state)
{
    fixture_t *f = *state;
    add_two_accounts_of_x(f);
    add_account(f, "acct-y", "binh.tran", "Tr\xe1\xba\xa7n B\xc3\xacnh", "1985-01-02", ID_Y, 1);
    vlogin_t *v = vneid_login(f, ID_X);
    const char *ar, *csrf;
    check_choose_page(f, v, &ar, &csrf);
    gw_link_t l;

    /* a wrong token from the right browser */
    gw_resp_t *r = post(f, &v->br, "/link/choose", ar, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "acct-a");
    assert_int_equal(r->status, 400);
    /* the right token from a browser without the binding cookie (only the SSO cookie) */
    browser_t other = { 0 };
    jar_set(&other, f->t.app.sso_cookie, jar_get(&v->br, f->t.app.sso_cookie), 0);
    r = post(f, &other, "/link/choose", ar, csrf, "acct-a");
    assert_int_equal(r->status, 400);
    /* the right browser cookies but without the SSO session */
    jar_set(&other, f->t.app.sso_cookie, NULL, 1);
    jar_set(&other, f->t.app.bind_cookie, jar_get(&v->br, f->t.app.bind_cookie), 0);
    r = post(f, &other, "/link/choose", ar, csrf, "acct-a");
    jar_cleanup(&other);
    assert_int_equal(r->status, 400);
    /* an account that is not this citizen's, and one that does not exist */
    r = post(f, &v->br, "/link/choose", ar, csrf, "acct-y");
    assert_int_equal(r->status, 400);
    r = post(f, &v->br, "/link/choose", ar, csrf, "acct-zzz");
    assert_int_equal(r->status, 400);
    r = post(f, &v->br, "/link/choose", ar, csrf, NULL);
    assert_int_equal(r->status, 400);
    /* the choose step is not a no_legacy step */
    r = post(f, &v->br, "/link/new", ar, csrf, NULL);
    assert_int_equal(r->status, 400);

    assert_int_equal(g_rec.complete_calls, 0);
    assert_no_link_for(f, ID_X);
    assert_int_equal(gw_store_link_by_account(f->t.app.store, PORTAL, "acct-y", &l), GW_ENOTFOUND);
    assert_int_equal(get_account(f, "acct-a").state, GW_ACCT_VERIFIED);
    assert_int_equal(get_account(f, "acct-b").state, GW_ACCT_VERIFIED);
    assert_int_equal(get_account(f, "acct-y").state, GW_ACCT_VERIFIED);
    assert_login_pending(f, v, "choose", NULL);

    /* the refusals spent nothing: the genuine post still works */
    r = post(f, &v->br, "/link/choose", ar, csrf, "acct-a");
    assert_completed_as(f, v, "acct-a");
    assert_int_equal(json_array_size(g_rec.merged), 1);
    assert_string_equal(json_string_value(json_array_get(g_rec.merged, 0)), "acct-b");
    assert_linked(f, ID_X, "acct-a");
    assert_int_equal(get_account(f, "acct-b").state, GW_ACCT_MERGED);
    assert_int_equal(get_account(f, "acct-y").state, GW_ACCT_VERIFIED); /* another citizen's: untouched */
}

/* ------------------------------------------------------------------ (4) no account */

static void check_no_legacy_page(fixture_t *f, vlogin_t *v, const char **ret_ar, const char **ret_csrf)
{
    assert_int_equal(g_rec.complete_calls, 0);
    assert_int_equal(g_rec.fail_calls, 0);
    assert_int_equal(v->resp->status, 200);
    const char *html = body_of(v->resp);
    assert_non_null(strstr(html, "action=\"/link/claim\""));
    assert_non_null(strstr(html, "action=\"/link/new\""));
    assert_null(strstr(html, "action=\"/link/choose\""));
    assert_login_pending(f, v, "no_legacy", NULL);
    assert_int_equal(v->unsaved, SESS_SAVED);
    const char *ar = hidden(f, v->resp, "ar"), *csrf = hidden(f, v->resp, "csrf");
    assert_non_null(ar);
    assert_non_null(csrf);
    assert_string_equal(ar, v->lid);
    const char *bind = jar_get(&v->br, f->t.app.bind_cookie);
    assert_non_null(bind);
    assert_string_equal(csrf, expected_csrf(f, bind, v->lid));
    *ret_ar = ar;
    *ret_csrf = csrf;
}

static void test_no_account_shows_no_legacy_then_new_goes_on_without_account(void **state)
{
    fixture_t *f = *state;
    add_account(f, "acct-y", "binh.tran", "Tr\xe1\xba\xa7n B\xc3\xacnh", "1985-01-02", ID_Y, 1);
    add_account(f, "acct-u", "an.unverified", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 0);
    vlogin_t *v = vneid_login(f, ID_X);
    const char *ar, *csrf;
    check_no_legacy_page(f, v, &ar, &csrf);
    gw_link_t l;

    /* not a choose step */
    gw_resp_t *r = post(f, &v->br, "/link/choose", ar, csrf, "acct-u");
    assert_int_equal(r->status, 400);
    /* another citizen's session with this browser's binding cookie: not this login's */
    vlogin_t *w = vneid_login(f, ID_Y); /* acct-y: auto link for Y */
    assert_int_equal(g_rec.complete_calls, 1);
    assert_string_equal(g_rec.account, "acct-y");
    rec_reset();
    browser_t mixed = { 0 };
    jar_set(&mixed, f->t.app.sso_cookie, jar_get(&w->br, f->t.app.sso_cookie), 0);
    jar_set(&mixed, f->t.app.bind_cookie, jar_get(&v->br, f->t.app.bind_cookie), 0);
    r = post(f, &mixed, "/link/new", ar, csrf, NULL);
    jar_cleanup(&mixed);
    assert_int_equal(r->status, 400);
    assert_int_equal(g_rec.complete_calls, 0);
    assert_login_pending(f, v, "no_legacy", NULL);

    r = post(f, &v->br, "/link/new", ar, csrf, NULL);

    assert_completed_as(f, v, NULL);
    assert_null(g_rec.merged);
    assert_int_equal(r->status, 302);
    assert_no_link_for(f, ID_X);
    assert_int_equal(gw_store_link_by_account(f->t.app.store, PORTAL, "acct-u", &l), GW_ENOTFOUND);
    assert_int_equal(get_account(f, "acct-u").state, GW_ACCT_UNVERIFIED);
    assert_session_has_portal(f, v);
    assert_login_gone(f, v->lid);
    /* a replay does not complete again */
    r = post(f, &v->br, "/link/new", ar, csrf, NULL);
    assert_int_equal(r->status, 400);
    assert_int_equal(g_rec.complete_calls, 1);
}

/* ------------------------------------------------------------------ (5) conflicts */

/* The account carries this citizen's verified number but is linked (consistently: state
 * LINKED) to another citizen: it is no candidate, and nothing links it to this one. */
static void test_account_linked_to_another_citizen_is_not_a_candidate(void **state)
{
    fixture_t *f = *state;
    add_account(f, "acct-1", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    put_link(f, ID_Y, "acct-1");
    assert_int_equal(GW_STORE_ACCT(f->t.app.store, account_update, PORTAL, "acct-1", GW_ACCT_LINKED, NULL, NULL, NULL),
                     GW_OK);

    vlogin_t *v = vneid_login(f, ID_X);
    const char *ar, *csrf;
    check_no_legacy_page(f, v, &ar, &csrf);
    assert_no_link_for(f, ID_X);
    assert_linked(f, ID_Y, "acct-1");

    gw_resp_t *r = post(f, &v->br, "/link/new", ar, csrf, NULL);
    assert_completed_as(f, v, NULL);
    assert_int_equal(r->status, 302);
    assert_no_link_for(f, ID_X);
    assert_linked(f, ID_Y, "acct-1");
    assert_int_equal(get_account(f, "acct-1").state, GW_ACCT_LINKED);
}

/* The only candidate carries this citizen's verified number but an operator linked it to
 * another citizen with POST /admin/links, which writes the link and leaves the account
 * VERIFIED (so it is still a candidate; the same state a concurrent link leaves between
 * the store's create-link and the account's update): create-link conflicts, and the
 * broker must neither link it to this citizen nor log this citizen in to it. */
/* POST /admin/links goes through the broker's one door: the account is marked linked,
 * so it is nobody else's candidate any more. */
static void test_admin_link_marks_the_account_linked(void **state)
{
    fixture_t *f = *state;
    add_account(f, "acct-1", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    admin_link(f, ID_Y, "acct-1");
    assert_linked(f, ID_Y, "acct-1");
    assert_int_equal(get_account(f, "acct-1").state, GW_ACCT_LINKED);
    vlogin_t *v = vneid_login(f, ID_X);
    assert_int_equal(g_rec.complete_calls, 0);
    const char *ar, *csrf;
    check_no_legacy_page(f, v, &ar, &csrf);
    assert_no_link_for(f, ID_X);
}

static void test_conflicting_candidate_is_not_linked_to_this_citizen(void **state)
{
    fixture_t *f = *state;
    add_account(f, "acct-1", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    raw_link(f, ID_Y, "acct-1");
    assert_int_equal(get_account(f, "acct-1").state, GW_ACCT_VERIFIED);

    vlogin_t *v = vneid_login(f, ID_X);

    assert_int_equal(g_rec.complete_calls, 0); /* never logged in to another citizen's account */
    assert_null(g_rec.account);
    const char *ar, *csrf;
    check_no_legacy_page(f, v, &ar, &csrf);
    assert_no_link_for(f, ID_X);
    assert_linked(f, ID_Y, "acct-1");
    assert_int_equal(get_account(f, "acct-1").state, GW_ACCT_VERIFIED);
}

/* The no_legacy page shown after that conflict offers "continue as a new account": the
 * broker decided this citizen has no legacy account here, so the offer must hold. */
static void test_new_after_a_conflict_goes_on_without_account(void **state)
{
    fixture_t *f = *state;
    add_account(f, "acct-1", "an.nguyen", "Nguy\xe1\xbb\x85n V\xc4\x83n An", "1990-05-17", ID_X, 1);
    raw_link(f, ID_Y, "acct-1");
    vlogin_t *v = vneid_login(f, ID_X);
    const char *ar, *csrf;
    check_no_legacy_page(f, v, &ar, &csrf);

    gw_resp_t *r = post(f, &v->br, "/link/new", ar, csrf, NULL);

    if (g_rec.complete_calls == 0)
        print_message("POST /link/new after the conflict answered %d (%s page): the offer of the no_legacy page "
                      "does not hold\n",
                      r->status, strstr(body_of(r), "flow_expired") || r->status == 400 ? "error" : "other");
    assert_completed_as(f, v, NULL);
    assert_int_equal(r->status, 302);
    assert_no_link_for(f, ID_X);
    assert_linked(f, ID_Y, "acct-1");
}

/* Two candidates, one of them linked to another citizen by POST /admin/links: whatever
 * the page offers, choosing the free one must not mark the other citizen's account
 * MERGED (nor tell the portal it was merged), and that citizen keeps logging in to an
 * account that is still linked and not merged. */
static void test_choose_never_merges_an_account_linked_to_another_citizen(void **state)
{
    fixture_t *f = *state;
    add_two_accounts_of_x(f);
    raw_link(f, ID_Y, "acct-a");
    vlogin_t *v = vneid_login(f, ID_X);
    int showed_choose = g_rec.complete_calls == 0 && strstr(body_of(v->resp), "action=\"/link/choose\"");
    int listed_foreign = showed_choose && strstr(body_of(v->resp), "value=\"acct-a\"") != NULL;
    if (showed_choose) { /* keep acct-b */
        const char *ar = hidden(f, v->resp, "ar"), *csrf = hidden(f, v->resp, "csrf");
        assert_non_null(ar);
        assert_non_null(csrf);
        post(f, &v->br, "/link/choose", ar, csrf, "acct-b");
    }
    assert_completed_as(f, v, "acct-b");
    assert_linked(f, ID_X, "acct-b");
    int told_merged = g_rec.merged && json_array_has(g_rec.merged, "acct-a");
    gw_account_t a = get_account(f, "acct-a");
    /* the other citizen's next login */
    rec_reset();
    vlogin_t *w = vneid_login(f, ID_Y);
    const char *y_account = g_rec.account ? g_rec.account : "(none)";
    if (listed_foreign)
        print_message("the choose page for %s listed acct-a, linked to another citizen\n", ID_X);
    if (told_merged)
        print_message("the portal was told that acct-a was merged into acct-b\n");
    if (a.state == GW_ACCT_MERGED)
        print_message("acct-a, linked to another citizen, is now MERGED into '%s'; that citizen's next login "
                      "completes with account %s\n",
                      a.merged_into, y_account);
    assert_false(told_merged);
    assert_int_not_equal(a.state, GW_ACCT_MERGED);
    assert_completed_as(f, w, "acct-a");
    assert_linked(f, ID_Y, "acct-a");
    assert_int_not_equal(get_account(f, "acct-a").state, GW_ACCT_MERGED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_existing_link_logs_in_with_that_account_and_shows_no_page, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_verified_account_is_linked_automatically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_accounts_choose_links_one_and_merges_the_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choose_refuses_another_browser_a_bad_token_and_an_unshown_account, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_account_shows_no_legacy_then_new_goes_on_without_account, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_account_linked_to_another_citizen_is_not_a_candidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_link_marks_the_account_linked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicting_candidate_is_not_linked_to_this_citizen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_after_a_conflict_goes_on_without_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choose_never_merges_an_account_linked_to_another_citizen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
