#include "gw_page.h"
#include "gw_metrics.h"
#include "gw_page_internal.h"
#include "gw_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ pages */

/* The page language a language tag asks for: its primary subtag, "en" or "vi" in any case
 * (RFC 5646 2.1.1), alone or before a '-': "en-GB" is English, "env" and "english" are not. */
static const char *norm_lang(const char *l, size_t n)
{
    if (!l || n < 2 || (n > 2 && l[2] != '-'))
        return NULL;
    if (!strncasecmp(l, "en", 2))
        return "en";
    if (!strncasecmp(l, "vi", 2))
        return "vi";
    return NULL;
}

static const char *norm_lang_str(const char *l) { return l ? norm_lang(l, strlen(l)) : NULL; }

const char *gw_req_lang(const gw_req_t *req, const gw_pages_t *pg, const char *ui_locales)
{
    const char *l = norm_lang_str(gw_form_get(&req->q, "lang"));
    if (l)
        return l;
    char *c = gw_cookie_get(req->cookie, pg->lang_cookie);
    l = norm_lang_str(c);
    free(c);
    if (l)
        return l;
    /* ui_locales is a space-separated preference list */
    for (const char *p = ui_locales; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if ((l = norm_lang(p, n)))
            return l;
        p += n;
    }
    return "vi";
}

char *gw_page_lang_switch_url(const gw_req_t *req, const char *lang)
{
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    /* always a path on this host: "//evil.example/x" or "/\evil.example" would be read by
     * a browser as another host (an open redirect), so leading slashes and backslashes
     * collapse into one */
    const char *p = req->path ? req->path : "/";
    while (*p == '/' || *p == '\\')
        p++;
    gw_buf_adds(&u, "/");
    gw_buf_adds(&u, p);
    for (size_t i = 0; i < req->q.n; i++)
        if (strcmp(req->q.names[i], "lang"))
            gw_url_add_param(&u, req->q.names[i], req->q.values[i]);
    gw_url_add_param(&u, "lang", strcmp(lang, "en") ? "en" : "vi");
    return gw_buf_steal(&u);
}

void gw_page(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp, int status, const char *tmpl, const char *lang,
             const gw_tmpl_var_t *vars, size_t nvars)
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
        sw = gw_page_lang_switch_url(req, lang);
        all[n++] = (gw_tmpl_var_t){ "lang_switch_url", sw };
    }
    all[n++] = (gw_tmpl_var_t){ "request_id", req->id };
    size_t len = 0;
    char *html = gw_tmpl_render(pg->tmpl, tmpl, lang, all, n, &len);
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
    const char *chosen = norm_lang_str(gw_form_get(&req->q, "lang"));
    if (chosen)
        gw_resp_cookie(resp, pg->lang_cookie, chosen, 365L * 86400, pg->is_tls);
}

void gw_error_page(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp, int status, const char *code, const char *lang,
                   const char *retry_url, const char *back_url)
{
    gw_error_page_detail(pg, req, resp, status, code, lang, retry_url, back_url, NULL);
}

/* /metrics: error pages shown, by code */
static gw_labelcount_t error_pages;

void gw_page_metrics(gw_buf_t *out)
{
    gw_metric_head(out, "eidgw_error_pages_total", "counter", "Error pages shown to citizens, by error code.");
    gw_labelcount_write(out, "eidgw_error_pages_total", "error", &error_pages);
}

void gw_error_page_detail(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp, int status, const char *code,
                          const char *lang, const char *retry_url, const char *back_url, const char *detail_key)
{
    gw_labelcount_add(&error_pages, code);
    if (!lang)
        lang = gw_req_lang(req, pg, NULL);
    char title_key[96], msg_key[96];
    snprintf(title_key, sizeof(title_key), "err.%s.title", code);
    snprintf(msg_key, sizeof(msg_key), "err.%s", code);
    /* A page answering a single-use request (the upstream callback) cannot be reloaded in
     * the other language: keep the error for a while and let the switch show it again. */
    char *sw = NULL;
    if (req->no_reload && (!req->on_io_thread || gw_store_local(pg->store, "err"))) {
        char *eid = gw_random_token(18);
        json_t *e = json_pack("{s:i,s:s}", "status", status, "code", code);
        if (detail_key)
            json_object_set_new(e, "detail", json_string(detail_key));
        if (retry_url)
            json_object_set_new(e, "retry", json_string(retry_url));
        if (back_url)
            json_object_set_new(e, "back", json_string(back_url));
        char *txt = json_dumps(e, JSON_COMPACT);
        if (txt && gw_store_put(pg->store, "err", eid, txt, 1800, 0) == GW_OK)
            sw = gw_sprintf("/error?e=%s&lang=%s", eid, strcmp(lang, "en") ? "en" : "vi");
        free(txt);
        json_decref(e);
        free(eid);
    }
    gw_tmpl_var_t v[] = {
        { "error_title", gw_tmpl_msg(pg->tmpl, lang, title_key) },
        { "error_message", gw_tmpl_msg(pg->tmpl, lang, msg_key) },
        { "error_code", code },
        { "retry_url", retry_url },
        { "back_url", back_url },
        { "error_detail", detail_key ? gw_tmpl_msg(pg->tmpl, lang, detail_key) : NULL },
        { "lang_switch_url", sw },
    };
    gw_page(pg, req, resp, status, "error", lang, v, sw ? 7 : 6);
    free(sw);
}

/* GET /error?e=ID: an error kept by gw_error_page, shown again (e.g. in another language). */
void gw_error_page_again(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp)
{
    const char *eid = gw_form_get(&req->q, "e");
    char *txt = NULL;
    json_t *e = NULL;
    if (eid && strlen(eid) < 64 && gw_store_get(pg->store, "err", eid, &txt) == GW_OK)
        e = gw_json_parse_str(txt);
    free(txt);
    const char *code = json_string_value(json_object_get(e, "code"));
    if (!code) {
        gw_error_page(pg, req, resp, 400, "flow_expired", NULL, NULL, NULL);
    } else {
        gw_error_page_detail(pg, req, resp, (int)json_integer_value(json_object_get(e, "status")), code, NULL,
                             json_string_value(json_object_get(e, "retry")),
                             json_string_value(json_object_get(e, "back")),
                             json_string_value(json_object_get(e, "detail")));
    }
    json_decref(e);
}
