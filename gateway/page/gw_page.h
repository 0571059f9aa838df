/* gw_page: the page helpers on top of the renderer: a page in the citizen's language with
 * its language switch, the citizen's error page, and the choice of language. */
#ifndef GW_PAGE_H
#define GW_PAGE_H
#include "gw_http.h"
#include "gw_store.h"
#include "gw_tmpl.h"

typedef struct gw_pages {
    gw_tmpl_set_t *tmpl;
    gw_store_t *store; /* error records ("err") for pages that cannot be reloaded */
    const char *lang_cookie; /* remembers an explicit language choice */
    int is_tls;
} gw_pages_t;

/* Page language: ?lang=, then the lang cookie, then the first tag of ui_locales that asks for
 * one, else "vi". A tag asks for English or Vietnamese when its primary subtag is "en" or
 * "vi", in any case ("en-GB" does; "env" does not). */
const char *gw_req_lang(const gw_req_t *req, const gw_pages_t *pg, const char *ui_locales);

/* Render a page into resp (200 unless status given). vars as for gw_tmpl_render; this
 * adds lang_switch_url built from the request path and query. */
void gw_page(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp, int status, const char *tmpl, const char *lang,
             const gw_tmpl_var_t *vars, size_t nvars);
/* Error page for a citizen: code is a catalog key suffix ("invalid_redirect_uri"). On a
 * request that cannot be reloaded (req->no_reload: the upstream callback), the error is
 * kept for a while so the language switch can show it again (GET /error). */
void gw_error_page(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp, int status, const char *code, const char *lang,
                   const char *retry_url, const char *back_url);
/* The same with a second message (catalog key detail_key), e.g. a lock's reason category. */
void gw_error_page_detail(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp, int status, const char *code,
                          const char *lang, const char *retry_url, const char *back_url, const char *detail_key);
/* GET /error?e=ID: an error kept by gw_error_page, shown again. */
void gw_error_page_again(const gw_pages_t *pg, gw_req_t *req, gw_resp_t *resp);

/* the error pages' part of /metrics, appended to out */
void gw_page_metrics(gw_buf_t *out);

#endif
