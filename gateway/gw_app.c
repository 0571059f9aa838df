#include "gw_app.h"
#include "gw_json.h"

#include "gw_log.h"
#include "gw_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_app_init(gw_app_t *app, gw_config_t *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    app->is_tls = !strncmp(cfg->public_url, "https://", 8);
    /* __Host- needs Secure, and Secure needs TLS */
    app->sso_cookie = app->is_tls ? "__Host-eidgw_sso" : "eidgw_sso";
    app->bind_cookie = app->is_tls ? "__Host-eidgw_bind" : "eidgw_bind";
    app->lang_cookie = app->is_tls ? "__Host-eidgw_lang" : "eidgw_lang";
    pthread_rwlock_init(&app->revoked.lock, NULL);
    gw_log_set_level(gw_log_parse_level(cfg->log_level));
    app->keys = gw_keyset_load(cfg->keys_dir, err, errlen);
    if (!app->keys)
        return -1;
    const char *tdir = cfg->templates_dir ? cfg->templates_dir : EIDGW_SOURCE_DIR "/templates";
    app->tmpl = gw_tmpl_load(tdir, err, errlen);
    if (!app->tmpl)
        return -1;
    app->store = gw_store_open_config(cfg, err, errlen);
    if (!app->store)
        return -1;
    if (cfg->store_memory && strcmp(cfg->store_memory, "none")) {
        gw_store_set_memory(app->store, gw_memkv_new(cfg->store_memory, (size_t)cfg->store_memory_max));
        /* a full table refuses new logins (authorization requests) with the last 10% of
         * its room still free for the logins already under way */
        if (app->store->mem)
            gw_memkv_reserve(app->store->mem, "ar", (size_t)cfg->store_memory_max / 10);
    }
    if (cfg->audit_path) {
        app->audit = gw_audit_open(cfg->audit_path, cfg->node_id, err, errlen);
        if (!app->audit)
            return -1;
    }
    if (cfg->upstream->jwks_uri)
        app->upstream_jwks = gw_jwks_cache_new(cfg->upstream->jwks_uri, 10);
    return 0;
}

void gw_app_audit(gw_app_t *app, const char *event, json_t *fields)
{
    /* the log line names the event and portal only: ID numbers stay in the audit file, masked */
    gw_log(GW_LOG_INFO, "audit", event, "portal", json_string_value(json_object_get(fields, "portal")),
           "result", json_string_value(json_object_get(fields, "result")), NULL);
    if (app->audit && gw_audit_write(app->audit, event, fields) != 0)
        gw_log(GW_LOG_ERROR, "audit", "cannot write the audit log", "event", event, NULL);
    json_decref(fields);
}

void gw_app_cleanup(gw_app_t *app)
{
    gw_audit_close(app->audit);
    gw_jwks_cache_free(app->upstream_jwks);
    gw_store_close(app->store);
    gw_tmpl_free(app->tmpl);
    gw_keyset_free(app->keys);
    for (size_t i = 0; i < app->revoked.n; i++)
        free(app->revoked.sid[i]);
    free(app->revoked.sid);
    free(app->revoked.until);
    pthread_rwlock_destroy(&app->revoked.lock);
}

/* ------------------------------------------------------------------ revocations */

void gw_revset_add(gw_revset_t *rs, const char *sid, int64_t until)
{
    pthread_rwlock_wrlock(&rs->lock);
    int64_t now = gw_now();
    /* drop entries that expired, then append */
    size_t w = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->until[i] > now) {
            rs->sid[w] = rs->sid[i];
            rs->until[w++] = rs->until[i];
        } else {
            free(rs->sid[i]);
        }
    }
    rs->n = w;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->sid = realloc(rs->sid, rs->cap * sizeof(char *));
        rs->until = realloc(rs->until, rs->cap * sizeof(int64_t));
        if (!rs->sid || !rs->until)
            abort();
    }
    rs->sid[rs->n] = gw_strdup(sid);
    rs->until[rs->n++] = until;
    pthread_rwlock_unlock(&rs->lock);
}

int gw_revset_has(gw_revset_t *rs, const char *sid)
{
    pthread_rwlock_rdlock(&rs->lock);
    int found = 0;
    for (size_t i = 0; i < rs->n && !found; i++)
        found = !strcmp(rs->sid[i], sid);
    pthread_rwlock_unlock(&rs->lock);
    return found;
}

static void on_revoked(const char *sid, int64_t until, void *ud)
{
    gw_app_t *app = ud;
    if (!gw_revset_has(&app->revoked, sid))
        gw_revset_add(&app->revoked, sid, until);
}

void gw_revset_sync(gw_app_t *app)
{
    int64_t seq = app->revoked.seq;
    if (gw_store_revoked_since(app->store, seq, on_revoked, app, &seq) == GW_OK)
        app->revoked.seq = seq;
}

/* ------------------------------------------------------------------ pages */

static const char *norm_lang(const char *l)
{
    if (!l)
        return NULL;
    if (!strncmp(l, "en", 2))
        return "en";
    if (!strncmp(l, "vi", 2))
        return "vi";
    return NULL;
}

const char *gw_req_lang(const gw_req_t *req, const gw_app_t *app, const char *ui_locales)
{
    const char *l = norm_lang(gw_form_get(&req->q, "lang"));
    if (l)
        return l;
    char *c = gw_cookie_get(req->cookie, app->lang_cookie);
    l = norm_lang(c);
    free(c);
    if (l)
        return l;
    /* ui_locales is a space-separated preference list */
    if (ui_locales) {
        const char *p = ui_locales;
        while (*p) {
            while (*p == ' ')
                p++;
            if ((l = norm_lang(p)))
                return l;
            while (*p && *p != ' ')
                p++;
        }
    }
    return "vi";
}

static char *lang_switch_url(const gw_req_t *req, const char *lang)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, req->path ? req->path : "/");
    for (size_t i = 0; i < req->q.n; i++)
        if (strcmp(req->q.names[i], "lang"))
            gw_url_add_param(&u, req->q.names[i], req->q.values[i]);
    gw_url_add_param(&u, "lang", strcmp(lang, "en") ? "en" : "vi");
    return gw_buf_steal(&u);
}

void gw_page(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *tmpl,
             const char *lang, const gw_tmpl_var_t *vars, size_t nvars)
{
    gw_tmpl_var_t all[96];
    size_t n = 0;
    for (size_t i = 0; i < nvars && n < 94; i++)
        all[n++] = vars[i];
    char *sw = NULL;
    int has_switch = 0;
    for (size_t i = 0; i < nvars; i++)
        has_switch |= vars[i].name && !strcmp(vars[i].name, "lang_switch_url");
    if (req->method == GW_M_GET && !has_switch) {
        sw = lang_switch_url(req, lang);
        all[n++] = (gw_tmpl_var_t){"lang_switch_url", sw};
    }
    all[n++] = (gw_tmpl_var_t){"request_id", req->id};
    size_t len = 0;
    char *html = gw_tmpl_render(app->tmpl, tmpl, lang, all, n, &len);
    free(sw);
    resp->status = status ? status : 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->body.len = 0;
    if (html) {
        gw_buf_add(&resp->body, html, len);
        free(html);
    } else {
        gw_buf_adds(&resp->body, "<!doctype html><title>eidgw</title><p>Error</p>");
    }
    /* remember an explicit language choice */
    const char *explicit = gw_form_get(&req->q, "lang");
    if (explicit && norm_lang(explicit))
        gw_resp_cookie(resp, app->lang_cookie, norm_lang(explicit), 365L * 86400, app->is_tls);
}

void gw_error_page(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *code,
                   const char *lang, const char *retry_url, const char *back_url)
{
    gw_error_page_detail(app, req, resp, status, code, lang, retry_url, back_url, NULL);
}

void gw_error_page_detail(gw_app_t *app, gw_req_t *req, gw_resp_t *resp, int status, const char *code,
                          const char *lang, const char *retry_url, const char *back_url, const char *detail_key)
{
    if (!lang)
        lang = gw_req_lang(req, app, NULL);
    char title_key[96], msg_key[96];
    snprintf(title_key, sizeof(title_key), "err.%s.title", code);
    snprintf(msg_key, sizeof(msg_key), "err.%s", code);
    /* A page answering a single-use request (the upstream callback) cannot be reloaded in
     * the other language: keep the error for a while and let the switch show it again. */
    char *sw = NULL;
    if (req->path && !strcmp(req->path, "/callback") && (!req->on_io_thread || gw_store_local(app->store, "err"))) {
        char *eid = gw_random_token(18);
        json_t *e = json_pack("{s:i,s:s}", "status", status, "code", code);
        if (detail_key)
            json_object_set_new(e, "detail", json_string(detail_key));
        if (retry_url)
            json_object_set_new(e, "retry", json_string(retry_url));
        if (back_url)
            json_object_set_new(e, "back", json_string(back_url));
        char *txt = json_dumps(e, JSON_COMPACT);
        if (txt && gw_store_put(app->store, "err", eid, txt, 1800, 0) == GW_OK)
            sw = gw_sprintf("/error?e=%s&lang=%s", eid, strcmp(lang, "en") ? "en" : "vi");
        free(txt);
        json_decref(e);
        free(eid);
    }
    gw_tmpl_var_t v[] = {
        {"error_title", gw_tmpl_msg(app->tmpl, lang, title_key)},
        {"error_message", gw_tmpl_msg(app->tmpl, lang, msg_key)},
        {"error_code", code},
        {"retry_url", retry_url},
        {"back_url", back_url},
        {"error_detail", detail_key ? gw_tmpl_msg(app->tmpl, lang, detail_key) : NULL},
        {"lang_switch_url", sw},
    };
    gw_page(app, req, resp, status, "error", lang, v, sw ? 7 : 6);
    free(sw);
}

/* GET /error?e=ID: an error kept by gw_error_page, shown again (e.g. in another language). */
static void h_error(gw_app_t *app, gw_req_t *req, gw_resp_t *resp)
{
    const char *eid = gw_form_get(&req->q, "e");
    char *txt = NULL;
    json_t *e = NULL;
    if (eid && strlen(eid) < 64 && gw_store_get(app->store, "err", eid, &txt) == GW_OK)
        e = gw_json_parse_str(txt);
    free(txt);
    const char *code = json_string_value(json_object_get(e, "code"));
    if (!code) {
        gw_error_page(app, req, resp, 400, "flow_expired", NULL, NULL, NULL);
    } else {
        gw_error_page_detail(app, req, resp, (int)json_integer_value(json_object_get(e, "status")), code, NULL,
                             json_string_value(json_object_get(e, "retry")), json_string_value(json_object_get(e, "back")),
                             json_string_value(json_object_get(e, "detail")));
    }
    json_decref(e);
}

const gw_route_t gw_app_routes[] = {
    {GW_M_GET, "/error", h_error, 0, NULL, NULL, NULL, 0},
    {0, NULL, NULL, 0, NULL, NULL, NULL, 0},
};

void gw_error_json(gw_resp_t *resp, int status, const char *error, const char *description)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(error));
    if (description)
        json_object_set_new(o, "error_description", json_string(description));
    gw_resp_json(resp, status, o);
    gw_resp_header(resp, "Pragma", "no-cache");
}
