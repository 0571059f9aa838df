/* Outgoing HTTP on libcurl. Blocking calls for worker threads: one easy handle per
 * thread, reused so connections to the same upstream stay open. Calls on an event loop
 * for the I/O threads: one multi handle per loop, driven by libevent (sockets and the
 * timer curl asks for), with its own connection cache. */
#include "gw_fetch.h"
#include "gw_metrics.h"
#include "gw_util.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (1u << 20)

static __thread CURL *thread_handle;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    gw_buf_t *b = ud;
    if (gw_buf_add(b, p, sz * n))
        return 0; /* over the cap: abort the transfer */
    return sz * n;
}

static int call(const char *url, const char *form, const char *basic_user, const char *basic_pass, const char *bearer,
                const char *body, const char *ctype, long timeout_ms, gw_http_result_t *ret);

/* /metrics: every outgoing call's time, by outcome (an answer 1xx-3xx, 4xx-5xx, or none) */
static gw_hist_t calls_seconds[3];

static void count_call(CURL *h, CURLcode cc, long status)
{
    curl_off_t us = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
    gw_hist_add(&calls_seconds[cc != CURLE_OK ? 2 : status >= 400 ? 1 : 0], (double)us / 1000);
}

void gw_fetch_metrics(gw_buf_t *out)
{
    static const char *const outcome[3] = { "answer", "error_status", "failed" };
    gw_metric_head(out, "eidgw_upstream_call_duration_seconds", "histogram",
                   "Outgoing calls (VNeID, the population DB, portals' back-channel logout), by outcome.");
    for (int i = 0; i < 3; i++) {
        char l[40];
        snprintf(l, sizeof(l), "outcome=\"%s\"", outcome[i]);
        gw_hist_write(out, "eidgw_upstream_call_duration_seconds", l, &calls_seconds[i]);
    }
}

int gw_http_call(const char *url, const char *form, const char *basic_user, const char *basic_pass, const char *bearer,
                 const char *json_body, long timeout_ms, gw_http_result_t *ret)
{
    return call(url, form, basic_user, basic_pass, bearer, json_body, "application/json", timeout_ms, ret);
}

int gw_http_call_type(const char *url, const char *body, const char *content_type, long timeout_ms,
                      gw_http_result_t *ret)
{
    return call(url, NULL, NULL, NULL, NULL, body, content_type, timeout_ms, ret);
}

/* The options every outgoing call shares. Returns the header list (the caller frees it
 * once the transfer has ended); *auth gets the Authorization header to wipe then. copy:
 * libcurl keeps its own copy of the body (the async calls outlive their callers). */
static struct curl_slist *setup(CURL *h, const char *url, const char *form, const char *basic_user,
                                const char *basic_pass, const char *bearer, const char *json_body, const char *ctype,
                                long timeout_ms, gw_buf_t *b, char **auth, int copy)
{
    struct curl_slist *hdrs = NULL;
    *auth = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_RESPONSE);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "eidgw/" EIDGW_VERSION);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    const char *post = form;
    if (!form && json_body) {
        char *ct = gw_sprintf("Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, ct);
        free(ct);
        post = json_body;
    }
    if (post)
        curl_easy_setopt(h, copy ? CURLOPT_COPYPOSTFIELDS : CURLOPT_POSTFIELDS, post);
    if (basic_user) {
        /* RFC 6749 2.3.1: id and secret are form-urlencoded (a space as '+') before Basic encoding */
        char *u = gw_form_encode(basic_user), *pw = gw_form_encode(basic_pass ? basic_pass : "");
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, u);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pw);
        free(u);
        gw_wipe_free(pw);
    }
    if (bearer) {
        *auth = gw_sprintf("Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, *auth);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

static int call(const char *url, const char *form, const char *basic_user, const char *basic_pass, const char *bearer,
                const char *json_body, const char *ctype, long timeout_ms, gw_http_result_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!thread_handle)
        thread_handle = curl_easy_init();
    CURL *h = thread_handle;
    if (!h) {
        snprintf(ret->error, sizeof(ret->error), "curl init failed");
        return GW_EUPSTREAM;
    }
    curl_easy_reset(h);
    gw_buf_t b;
    gw_buf_init(&b, MAX_RESPONSE);
    char *auth;
    struct curl_slist *hdrs =
        setup(h, url, form, basic_user, basic_pass, bearer, json_body, ctype, timeout_ms, &b, &auth, 0);
    CURLcode cc = curl_easy_perform(h);
    int rc = GW_OK;
    if (cc != CURLE_OK) {
        snprintf(ret->error, sizeof(ret->error), "%s", curl_easy_strerror(cc));
        rc = GW_EUPSTREAM;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
    }
    count_call(h, cc, ret->status);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_USERNAME, NULL);
    curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
    curl_slist_free_all(hdrs);
    gw_wipe_free(auth);
    ret->len = b.len;
    ret->body = gw_buf_steal(&b);
    return rc;
}

void gw_http_result_cleanup(gw_http_result_t *r)
{
    free(r->body);
    r->body = NULL;
}

void gw_http_thread_cleanup(void)
{
    if (thread_handle)
        curl_easy_cleanup(thread_handle);
    thread_handle = NULL;
}

/* ------------------------------------------------------------------ on an event loop */

gw_outcall_t *gw_outcall_dup(const gw_outcall_t *c)
{
    gw_outcall_t *d = gw_xcalloc(1, sizeof(*d));
    d->url = c->url ? gw_strdup(c->url) : NULL;
    d->form = c->form ? gw_strdup(c->form) : NULL;
    d->basic_user = c->basic_user ? gw_strdup(c->basic_user) : NULL;
    d->basic_pass = c->basic_pass ? gw_strdup(c->basic_pass) : NULL;
    d->bearer = c->bearer ? gw_strdup(c->bearer) : NULL;
    d->timeout_ms = c->timeout_ms;
    return d;
}

void gw_outcall_free(gw_outcall_t *c)
{
    if (!c)
        return;
    free((char *)c->url);
    gw_wipe_free((char *)c->form); /* carries the code and the verifier */
    free((char *)c->basic_user);
    gw_wipe_free((char *)c->basic_pass);
    gw_wipe_free((char *)c->bearer);
    free(c);
}

#define SPARE_HANDLES 64

typedef struct xfer {
    gw_fetch_loop_t *loop;
    CURL *h;
    struct curl_slist *hdrs;
    char *auth;
    gw_buf_t body;
    gw_http_result_t *ret;
    gw_fetch_done_fn done;
    void *arg;
    CURLcode failed; /* set when the call could not even start */
} xfer_t;

struct gw_fetch_loop {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    CURL *spare[SPARE_HANDLES];
    int nspare;
};

static void xfer_end(xfer_t *x, CURLcode cc)
{
    gw_fetch_loop_t *l = x->loop;
    gw_http_result_t *ret = x->ret;
    if (cc != CURLE_OK)
        snprintf(ret->error, sizeof(ret->error), "%s", curl_easy_strerror(cc));
    else
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &ret->status);
    if (x->h)
        count_call(x->h, cc, ret->status);
    ret->len = x->body.len;
    ret->body = gw_buf_steal(&x->body);
    curl_slist_free_all(x->hdrs);
    gw_wipe_free(x->auth);
    if (x->h) {
        curl_easy_reset(x->h); /* drops the credentials; the connection stays in the multi's cache */
        if (l->nspare < SPARE_HANDLES)
            l->spare[l->nspare++] = x->h;
        else
            curl_easy_cleanup(x->h);
    }
    gw_fetch_done_fn done = x->done;
    void *arg = x->arg;
    free(x);
    done(arg);
}

static void check_done(gw_fetch_loop_t *l)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *h = m->easy_handle;
        CURLcode cc = m->data.result;
        xfer_t *x = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(l->multi, h);
        xfer_end(x, cc); /* may start new calls: info_read is safe to go on with */
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    gw_fetch_loop_t *l = arg;
    int running;
    int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(l->multi, fd, action, &running);
    check_done(l);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_fetch_loop_t *l = arg;
    int running;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(l);
}

/* curl tells which sockets to watch for what */
static int socket_cb(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)h;
    gw_fetch_loop_t *l = userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) {
            event_free(ev);
            curl_multi_assign(l->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
    if (ev) {
        event_del(ev);
        event_assign(ev, l->base, s, kind, on_socket_event, l);
    } else {
        ev = event_new(l->base, s, kind, on_socket_event, l);
        if (!ev)
            return -1;
        curl_multi_assign(l->multi, s, ev);
    }
    event_add(ev, NULL);
    return 0;
}

static int timer_cb(CURLM *m, long ms, void *userp)
{
    (void)m;
    gw_fetch_loop_t *l = userp;
    if (ms < 0) {
        evtimer_del(l->timer);
    } else {
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        evtimer_add(l->timer, &tv);
    }
    return 0;
}

gw_fetch_loop_t *gw_fetch_loop_new(struct event_base *base, long max_host_connections)
{
    gw_fetch_loop_t *l = gw_xcalloc(1, sizeof(*l));
    l->base = base;
    l->multi = curl_multi_init();
    l->timer = evtimer_new(base, on_timer, l);
    if (!l->multi || !l->timer) {
        gw_fetch_loop_free(l);
        return NULL;
    }
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    /* beyond this many connections to one server, calls wait in curl's queue (their
     * timeout runs meanwhile) instead of opening more */
    curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
    /* keep them open: by default the cache holds 4 per call in flight, and closes the rest */
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, max_host_connections);
    return l;
}

void gw_fetch_loop_free(gw_fetch_loop_t *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->nspare; i++)
        curl_easy_cleanup(l->spare[i]);
    if (l->multi)
        curl_multi_cleanup(l->multi);
    if (l->timer)
        event_free(l->timer);
    free(l);
}

static void start_failed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    xfer_t *x = arg;
    xfer_end(x, x->failed);
}

void gw_fetch_start(gw_fetch_loop_t *l, const gw_outcall_t *c, gw_http_result_t *ret, gw_fetch_done_fn done, void *arg)
{
    memset(ret, 0, sizeof(*ret));
    xfer_t *x = gw_xcalloc(1, sizeof(*x));
    x->loop = l;
    x->ret = ret;
    x->done = done;
    x->arg = arg;
    gw_buf_init(&x->body, MAX_RESPONSE);
    x->h = l->nspare ? l->spare[--l->nspare] : curl_easy_init();
    x->failed = CURLE_OUT_OF_MEMORY;
    if (x->h) {
        x->hdrs = setup(x->h, c->url, c->form, c->basic_user, c->basic_pass, c->bearer, NULL, NULL, c->timeout_ms,
                        &x->body, &x->auth, 1);
        curl_easy_setopt(x->h, CURLOPT_PRIVATE, (char *)x);
        if (curl_multi_add_handle(l->multi, x->h) == CURLM_OK)
            return;
        x->failed = CURLE_FAILED_INIT;
    }
    /* it ends on the next turn of the loop, never inside this call (unless even that
     * cannot be arranged: then at once, which still answers the request) */
    if (event_base_once(l->base, -1, EV_TIMEOUT, start_failed, x, &(struct timeval){ 0, 0 }))
        xfer_end(x, x->failed);
}

char *gw_fetch_body(const char *url, char *err, size_t errlen)
{
    gw_http_result_t r;
    gw_http_call(url, NULL, NULL, NULL, NULL, NULL, 5000, &r);
    char *body = NULL;
    if (r.status == 200 && r.body)
        body = gw_strdup(r.body);
    else
        snprintf(err, errlen, "%s", r.error[0] ? r.error : "bad status or body");
    gw_http_result_cleanup(&r);
    return body;
}
