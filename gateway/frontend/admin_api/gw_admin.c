/* gw_admin: the admin API (JSON over HTTP, bearer token from [admin] token_sha256).
 * Links between ID numbers and legacy accounts, and eidgw's own lock list.
 *
 *   POST /admin/links          {"portal","id12","account"}      201 | 409 conflict
 *   GET  /admin/links?portal=&id12=   or  &account=              200 | 404
 *   POST /admin/links/unlink   {"portal","id12","reason"}        200 | 404
 *   POST /admin/links/rekey    {"portal","old_id12","new_id12","reason"}  200 | 404 | 409
 *   POST /admin/locks          {"id12","reason"}                 200 (sessions revoked at once)
 *   POST /admin/locks/remove   {"id12"}                          200 | 404
 *   GET  /admin/records[?ns=]  records held in this node's memory: counts per namespace,
 *                              and with ns= the keys (hashes or random ids, never secrets)
 * Every change is logged (and audited). */
#include "gw_admin.h"
#include "gw_metrics.h"
#include "gw_pwhash.h"
#include "gw_json.h"

#include "gw_events.h"
#include "gw_idnum.h"
#include "gw_broker.h"
#include "gw_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *LOCK_REASONS = "SUBJECT_REQUEST TERMS_BREACH CARD_REVOKED_OR_HELD DECEASED AUTHORITY_REQUEST "
                                  "FOREIGN_DOC_EXPIRED ORG_DISSOLVED";

static int authorized(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *a = req->authorization;
    if (!app->cfg->admin_token_sha256) {
        gw_error_json(resp, 404, "not_found", "the admin API is not enabled");
        return 0;
    }
    char *h = a && !strncasecmp(a, "Bearer ", 7) ? gw_sha256_hex(a + 7) : NULL;
    int ok = h && gw_ct_streq(h, app->cfg->admin_token_sha256);
    free(h);
    if (!ok) {
        gw_error_json(resp, 401, "unauthorized", "a valid admin bearer token is required");
        gw_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"eidgw-admin\"");
    }
    return ok;
}

static json_t *body_json(gw_req_t *req, gw_resp_t *resp)
{
    json_t *j = NULL;
    if (req->content_type && !strncasecmp(req->content_type, "application/json", 16))
        j = gw_json_parse(req->body, req->body_len, NULL, 0);
    if (!json_is_object(j)) {
        json_decref(j);
        gw_error_json(resp, 400, "invalid_request", "the body must be a JSON object (application/json)");
        return NULL;
    }
    return j;
}

static const char *field(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

/* How a number given to the admin API is checked: one already stored (to unlink, re-key
 * from, unlock) by the docs/domain.md section 3.2 rules; one new to the store also needs
 * a province code in digits 1-3 unless the body says "born_abroad": true (digits 1-3 are
 * then a country code): an operator's typo there would lock or link nobody. */
enum { ID_KNOWN, ID_NEW };

/* 400 with "<what><why>": both the server's own texts */
static int id_refused(gw_resp_t *resp, const char *what, const char *why)
{
    char *d = gw_sprintf("%s%s", what, why);
    gw_error_json(resp, 400, "invalid_request", d);
    free(d);
    return -1;
}

/* A citizen's 12-digit number, exactly as the rules write it. 0, or -1 answered. */
static int check_id12(gw_resp_t *resp, json_t *body, const char *id12, const char *what, int which)
{
    gw_id_info_t info;
    if (!id12 || gw_id_check(id12, strlen(id12), gw_id_year_now(), &info) != GW_ID_OK || info.kind != GW_ID_PERSONAL ||
        strcmp(info.digits, id12))
        return id_refused(resp, what, " must be a 12-digit personal identification number");
    if (which == ID_NEW && (info.warnings & GW_ID_WARN_PLACE_UNKNOWN) &&
        !json_is_true(json_object_get(body, "born_abroad")))
        return id_refused(
            resp, "%s: digits 1-3 are not a province code (for a citizen born abroad, add \"born_abroad\": true)",
            what);
    return 0;
}

/* A portal is a registered client; an ID number must pass the rules above. */
static int check_portal_id(gw_ctx_t *app, gw_resp_t *resp, json_t *body, const char *portal, const char *id12,
                           const char *what, int which)
{
    if (!portal || !gw_config_client(app->cfg, portal)) {
        gw_error_json(resp, 400, "invalid_request", "unknown portal");
        return -1;
    }
    return check_id12(resp, body, id12, what, which);
}

/* What a lock may name: whom a login can carry (idp_vneid: 1-32 of [0-9A-Za-z-]). Twelve
 * digits are a citizen's number by the rules above; nine are a CMND, which no login
 * carries; anything else a foreigner's or an organisation's identifier, as VNeID gives it. */
static int check_lock_id(gw_resp_t *resp, json_t *body, const char *id, int which)
{
    size_t n = id ? strlen(id) : 0, digits = n ? strspn(id, "0123456789") : 0;
    if (n && n <= 32 && strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") == n &&
        !(digits == n && (n == 12 || n == 9)))
        return 0;
    if (digits == n && n == 12)
        return check_id12(resp, body, id, "id12", which);
    return id_refused(resp, "id12",
                      " must be a 12-digit personal identification number, or a foreigner's or organisation's "
                      "identifier (1-32 of 0-9, A-Z, a-z and '-'; not a 9-digit CMND)");
}

static json_t *link_json(const gw_link_t *l)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "portal", l->portal, "id12", l->id12, "account", l->account, "created",
                     (json_int_t)l->created);
}

static void store_failed(gw_resp_t *resp)
{
    gw_error_json(resp, 503, "temporarily_unavailable", "the store is unavailable");
    gw_resp_header(resp, "Retry-After", "1");
}

static void h_links(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    gw_link_t l;
    if (req->method == GW_M_GET) {
        const char *portal = gw_form_get(&req->q, "portal"), *id12 = gw_form_get(&req->q, "id12");
        const char *acct = gw_form_get(&req->q, "account");
        if (!portal || (!id12 == !acct)) {
            gw_error_json(resp, 400, "invalid_request", "portal and one of id12 or account are required");
            return;
        }
        int rc = id12 ? gw_store_link_by_id12(app->store, portal, id12, &l)
                      : gw_store_link_by_account(app->store, portal, acct, &l);
        if (rc == GW_OK)
            gw_resp_json(resp, 200, link_json(&l));
        else if (rc == GW_ENOTFOUND)
            gw_error_json(resp, 404, "not_found", "no such link");
        else
            store_failed(resp);
        return;
    }
    json_t *j = body_json(req, resp);
    if (!j)
        return;
    const char *portal = field(j, "portal"), *id12 = field(j, "id12"), *acct = field(j, "account");
    if (check_portal_id(app, resp, j, portal, id12, "id12", ID_NEW) == 0) {
        if (!acct || !*acct || strlen(acct) >= sizeof(l.account)) {
            gw_error_json(resp, 400, "invalid_request", "account is required (at most 128 bytes)");
        } else {
            /* the broker's one door to a link: the account is marked linked too, so it is no
             * candidate of another citizen's login any more */
            int rc = gw_broker_link(app, req, portal, id12, acct, "admin", id12, "admin", NULL);
            if (rc == GW_OK && gw_store_link_by_account(app->store, portal, acct, &l) != GW_OK)
                rc = GW_ESTORE;
            if (rc == GW_OK) {
                gw_log(GW_LOG_INFO, "admin", "link created", "portal", portal, "who_id12", id12, "account", acct, NULL);
                gw_resp_json(resp, 201, link_json(&l));
            } else if (rc == GW_ECONFLICT) {
                gw_link_t other;
                const char *which =
                    gw_store_link_by_id12(app->store, portal, id12, &other) == GW_OK ? "id12" : "account";
                json_t *e = json_pack("{s:s,s:s,s:s}", "error", "conflict", "error_description",
                                      "one account per citizen per portal: this ID number or account is already linked",
                                      "which", which);
                gw_resp_json(resp, 409, e);
            } else {
                store_failed(resp);
            }
        }
    }
    json_decref(j);
}

static void h_unlink(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    json_t *j = body_json(req, resp);
    if (!j)
        return;
    const char *portal = field(j, "portal"), *id12 = field(j, "id12"), *reason = field(j, "reason");
    if (check_portal_id(app, resp, j, portal, id12, "id12", ID_KNOWN) == 0) {
        gw_link_t l;
        int rc = gw_store_link_by_id12(app->store, portal, id12, &l);
        if (rc == GW_OK && !reason)
            gw_error_json(resp, 400, "invalid_request", "a reason is required");
        else if (rc == GW_OK && (rc = gw_store_link_delete(app->store, portal, id12)) == GW_OK) {
            gw_log(GW_LOG_INFO, "admin", "link removed", "portal", portal, "who_id12", id12, "account", l.account,
                   "reason", reason, NULL);
            gw_audit_event(app, "unlink",
                           json_pack("{s:s,s:s,s:s,s:s}", "portal", portal, "who_id12", id12, "account", l.account,
                                     "reason", reason));
            gw_events_enqueue(app, portal, id12, "account-unlinked",
                              json_pack("{s:s,s:s}", "account", l.account, "reason", reason));
            gw_resp_json(resp, 200, link_json(&l));
        } else if (rc == GW_ENOTFOUND)
            gw_error_json(resp, 404, "not_found", "no such link");
        else if (rc != GW_OK)
            store_failed(resp);
    }
    json_decref(j);
}

static void h_rekey(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    json_t *j = body_json(req, resp);
    if (!j)
        return;
    const char *portal = field(j, "portal"), *old_id = field(j, "old_id12"), *new_id = field(j, "new_id12");
    const char *reason = field(j, "reason");
    if (check_portal_id(app, resp, j, portal, old_id, "old_id12", ID_KNOWN) == 0 &&
        check_portal_id(app, resp, j, portal, new_id, "new_id12", ID_NEW) == 0) {
        if (!reason) {
            gw_error_json(resp, 400, "invalid_request",
                          "a reason is required (e.g. the cancellation certificate number)");
        } else {
            int rc = gw_store_link_rekey(app->store, portal, old_id, new_id);
            gw_link_t l;
            if (rc == GW_OK && gw_store_link_by_id12(app->store, portal, new_id, &l) == GW_OK) {
                gw_log(GW_LOG_INFO, "admin", "link re-keyed", "portal", portal, "old_id12", old_id, "new_id12", new_id,
                       "reason", reason, NULL);
                gw_audit_event(app, "rekey",
                               json_pack("{s:s,s:s,s:s,s:s,s:s}", "portal", portal, "old_id12", old_id, "new_id12",
                                         new_id, "account", l.account, "reason", reason));
                char *prev = gw_pairwise_sub(app, portal, old_id);
                gw_events_enqueue(app, portal, new_id, "id-rekeyed",
                                  json_pack("{s:s,s:s}", "account", l.account, "previous_sub", prev));
                free(prev);
                gw_resp_json(resp, 200, link_json(&l));
            } else if (rc == GW_ENOTFOUND) {
                gw_error_json(resp, 404, "not_found", "no link for old_id12");
            } else if (rc == GW_ECONFLICT) {
                gw_error_json(resp, 409, "conflict", "new_id12 is already linked in this portal");
            } else {
                store_failed(resp);
            }
        }
    }
    json_decref(j);
}

typedef struct sid_list {
    char **v;
    size_t n;
} sid_list_t;

static void collect_sid(const char *sid, void *ud)
{
    sid_list_t *l = ud;
    char **grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    if (!grown)
        return;
    l->v = grown;
    l->v[l->n++] = gw_strdup(sid);
}

/* End every SSO session of this ID number (the set "sidx" kept at login) as a logout
 * would: revoked on every node, and its portals told. The sessions are read first and
 * ended after: ending one reads the store, which may not happen inside a listing.
 * GW_OK when every session ended; the store's error when the list could not be read or a
 * revocation could not be written (the sessions it could end are ended; repeating the
 * call ends the rest). */
int gw_admin_revoke_sessions(gw_ctx_t *app, const char *id12)
{
    sid_list_t l = { 0 };
    int rc = gw_store_set_members(app->store, "sidx", id12, 100000, collect_sid, &l);
    if (rc == GW_ENOTFOUND)
        rc = GW_OK;
    for (size_t i = 0; i < l.n; i++) {
        if (gw_session_end(app, NULL, l.v[i], gw_now() + app->cfg->session_lifetime) != GW_OK)
            rc = GW_ESTORE;
        free(l.v[i]);
    }
    free(l.v);
    return rc;
}

static void h_locks(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    json_t *j = body_json(req, resp);
    if (!j)
        return;
    const char *id12 = field(j, "id12"), *reason = field(j, "reason");
    int remove = !strcmp(req->path, "/admin/locks/remove");
    if (!id12 || !*id12) {
        gw_error_json(resp, 400, "invalid_request", "id12 is required");
    } else if (check_lock_id(resp, j, id12, remove ? ID_KNOWN : ID_NEW)) {
        /* answered */
    } else if (!remove && (!reason || !gw_list_has(LOCK_REASONS, reason))) {
        char *d = gw_sprintf("reason must be one of: %s", LOCK_REASONS);
        gw_error_json(resp, 400, "invalid_request", d);
        free(d);
    } else if (remove) {
        char *old = NULL;
        int rc = gw_store_take(app->store, "lock", id12, &old);
        if (rc == GW_OK) {
            gw_log(GW_LOG_INFO, "admin", "lock removed", "who_id12", id12, "reason", old, NULL);
            gw_audit_event(app, "unlock", json_pack("{s:s}", "who_id12", id12));
            gw_resp_json(resp, 200, json_pack("{s:s,s:b}", "id12", id12, "locked", 0));
        } else if (rc == GW_ENOTFOUND) {
            gw_error_json(resp, 404, "not_found", "not on the lock list");
        } else {
            store_failed(resp);
        }
        free(old);
    } else if (gw_store_put(app->store, "lock", id12, reason, 100L * 365 * 86400, 0) != GW_OK) {
        store_failed(resp);
    } else {
        int ended = gw_admin_revoke_sessions(app, id12) == GW_OK;
        gw_log(GW_LOG_INFO, "admin", "locked", "who_id12", id12, "reason", reason, NULL);
        gw_audit_event(app, "lock",
                       json_pack("{s:s,s:s,s:b}", "who_id12", id12, "reason", reason, "sessions_ended", ended));
        if (ended) {
            gw_resp_json(resp, 200, json_pack("{s:s,s:b,s:s}", "id12", id12, "locked", 1, "reason", reason));
        } else {
            /* new logins are refused already; the sessions still open end when the
             * request is repeated */
            gw_log(GW_LOG_ERROR, "admin", "locked, but not every session could be ended", "who_id12", id12, NULL);
            gw_resp_json(
                resp, 503,
                json_pack(
                    "{s:s,s:s,s:s,s:b,s:b}", "error", "temporarily_unavailable", "error_description",
                    "the lock is saved, but the citizen's open sessions could not all be ended: repeat the request",
                    "id12", id12, "locked", 1, "sessions_ended", 0));
            gw_resp_header(resp, "Retry-After", "1");
        }
    }
    json_decref(j);
}

static void add_key(const char *key, const char *val, void *ud)
{
    (void)val;
    json_array_append_new(ud, json_string(key));
}

static void h_records(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    gw_memkv_t *m = app->store->mem;
    const char *ns = gw_form_get(&req->q, "ns");
    if (ns && !gw_memkv_holds(m, ns)) {
        gw_error_json(resp, 400, "invalid_request",
                      "that namespace is not held in memory on this node (see [store] memory)");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "max_records", json_integer((json_int_t)gw_memkv_max(m)));
    json_object_set_new(o, "max_bytes", json_integer((json_int_t)app->cfg->store_memory_max_bytes));
    json_object_set_new(o, "bytes", json_integer((json_int_t)gw_memkv_bytes(m)));
    json_t *counts = json_object();
    char *names = gw_strdup(gw_memkv_namespaces(m));
    for (char *sv = NULL, *t = strtok_r(names, " ", &sv); t; t = strtok_r(NULL, " ", &sv))
        json_object_set_new(counts, t, json_integer((json_int_t)gw_memkv_count(m, t)));
    free(names);
    json_object_set_new(o, "records", counts);
    if (ns) {
        json_t *keys = json_array();
        gw_memkv_list(m, ns, 100000, add_key, keys);
        json_object_set_new(o, "ns", json_string(ns));
        json_object_set_new(o, "keys", keys);
    }
    gw_resp_json(resp, 200, o);
}

/* the hash schemes whose checks /admin/status and /metrics count */
static const char *const pw_schemes[] = { "bcrypt", "sha512-crypt", "argon2id", "pbkdf2-sha256" };
#define N_PW_SCHEMES (sizeof(pw_schemes) / sizeof(pw_schemes[0]))

/* GET /metrics: Prometheus text format, with the admin bearer token (a scraper's
 * `authorization: {credentials: ...}`). It runs on the I/O thread and reads counters only:
 * it answers when every worker is busy and costs the requests it watches nothing. */
static void h_metrics(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    gw_metric_head(&out, "eidgw_build_info", "gauge", "The running version.");
    gw_buf_printf(&out, "eidgw_build_info{version=\"%s\"} 1\n", EIDGW_VERSION);
    gw_server_t *srv = __atomic_load_n(&app->server, __ATOMIC_ACQUIRE);
    if (srv)
        gw_server_metrics(srv, &out);
    gw_fetch_metrics(&out);
    gw_page_metrics(&out);
    gw_memkv_t *m = app->store->mem;
    if (m) {
        gw_metric_head(&out, "eidgw_memory_records", "gauge", "Short-lived records held in memory, by namespace.");
        char *names = gw_strdup(gw_memkv_namespaces(m));
        for (char *sv = NULL, *t = strtok_r(names, " ", &sv); t; t = strtok_r(NULL, " ", &sv))
            gw_buf_printf(&out, "eidgw_memory_records{ns=\"%s\"} %zu\n", t, gw_memkv_count(m, t));
        free(names);
        gw_metric_head(&out, "eidgw_memory_record_bytes", "gauge",
                       "What those records hold, as counted against the bound.");
        gw_buf_printf(&out, "eidgw_memory_record_bytes %zu\n", gw_memkv_bytes(m));
        gw_metric_head(&out, "eidgw_memory_record_bytes_max", "gauge", "[store] memory_max_bytes.");
        gw_buf_printf(&out, "eidgw_memory_record_bytes_max %ld\n", app->cfg->store_memory_max_bytes);
    }
    gw_metric_head(&out, "eidgw_revoked_sessions", "gauge", "Ended sessions in this node's revocation set.");
    pthread_rwlock_rdlock(&app->revoked.lock);
    size_t nrev = app->revoked.n;
    pthread_rwlock_unlock(&app->revoked.lock);
    gw_buf_printf(&out, "eidgw_revoked_sessions %zu\n", nrev);
    gw_metric_head(&out, "eidgw_password_checks_total", "counter",
                   "Legacy password checks by hash scheme, stand-ins for unknown usernames included.");
    for (size_t i = 0; i < N_PW_SCHEMES; i++)
        gw_buf_printf(&out, "eidgw_password_checks_total{scheme=\"%s\"} %llu\n", pw_schemes[i],
                      (unsigned long long)gw_pwhash_work_count(pw_schemes[i]));
    gw_resp_header(resp, "Cache-Control", "no-store");
    gw_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", out.data ? out.data : "");
    gw_buf_cleanup(&out);
}

/* GET /admin/status: the version and the worker pools (busy threads and queued jobs of
 * the upstream pool show a slow VNeID or population DB before citizens report it). It
 * runs on the I/O thread: it answers even when every worker is busy. */
static void h_status(gw_ctx_t *app, gw_req_t *req, gw_resp_t *resp)
{
    if (!authorized(app, req, resp))
        return;
    json_t *o = json_pack("{s:s}", "version", EIDGW_VERSION);
    gw_server_t *srv = __atomic_load_n(&app->server, __ATOMIC_ACQUIRE);
    if (srv)
        json_object_set_new(o, "pools", gw_server_pools(srv));
    /* legacy password checks by hash scheme, the stand-in checks for unknown usernames
     * included: a surge is someone guessing */
    json_t *pw = json_object();
    for (size_t i = 0; i < N_PW_SCHEMES; i++)
        json_object_set_new(pw, pw_schemes[i], json_integer((json_int_t)gw_pwhash_work_count(pw_schemes[i])));
    json_object_set_new(o, "password_checks", pw);
    gw_resp_json(resp, 200, o);
}

const gw_route_t gw_admin_routes[] = {
    { .methods = GW_M_GET, .path = "/admin/status", .fn = h_status, .is_inline = 1 },
    { .methods = GW_M_GET, .path = "/metrics", .fn = h_metrics, .is_inline = 1 },
    { .methods = GW_M_GET, .path = "/admin/records", .fn = h_records },
    { .methods = GW_M_GET | GW_M_POST, .path = "/admin/links", .fn = h_links },
    { .methods = GW_M_POST, .path = "/admin/links/unlink", .fn = h_unlink },
    { .methods = GW_M_POST, .path = "/admin/links/rekey", .fn = h_rekey },
    { .methods = GW_M_POST, .path = "/admin/locks", .fn = h_locks },
    { .methods = GW_M_POST, .path = "/admin/locks/remove", .fn = h_locks },
    { 0 },
};
