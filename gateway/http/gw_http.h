/* gw_http: the HTTP server. N I/O threads, each with its own libevent event_base and an
 * SO_REUSEPORT listener, parse requests and route them. Handlers marked `inline` run on
 * the I/O thread and must not block (discovery, JWKS, health), and so do those whose
 * store records are all in memory (inline_if_local), for every request or for those a
 * predicate picks (inline_when: /authorize without an SSO cookie). All others run on a
 * worker pool; the I/O thread gets the finished response back on its own loop. A
 * handler may also end with an outgoing call (gw_req_call), made on the I/O thread's
 * event loop, and continue in a later step wherever it asks.
 *
 * A handler sees a copied, parsed request (gw_req_t) and fills a gw_resp_t; it never
 * touches libevent objects, so it can run on any thread. */
#ifndef GW_HTTP_H
#define GW_HTTP_H
#include "gw_fetch.h"
#include "gw_util.h"

#include <jansson.h>

enum { GW_M_GET = 1, GW_M_POST = 2, GW_M_HEAD = 4, GW_M_OTHER = 8 };

struct gw_ctx;
struct gw_resp;

typedef struct gw_req {
    int method;
    char *path; /* raw path, no query */
    char *query; /* raw query string or "" */
    gw_form_t q; /* parsed query */
    gw_form_t form; /* parsed urlencoded POST body */
    char *body;
    size_t body_len;
    char *cookie, *authorization, *content_type, *accept, *accept_language, *origin;
    char *sec_fetch_site; /* what the browser says of where a request comes from (Fetch Metadata) */
    char *host; /* the Host header */
    /* what a trusted proxy (trusted_proxy) says of the request it forwards: X-Forwarded-Host,
     * -Uri, -Method. NULL when absent or when the peer is not a trusted proxy. */
    char *fwd_host, *fwd_uri, *fwd_method;
    char remote[64];
    char id[17]; /* request id for logs and error pages */
    int on_io_thread; /* handled on an I/O thread: nothing may block (no store) */
    int no_reload; /* its route's answer cannot be had again by reloading (gw_route_t) */
    const char *ran_on; /* "io", "local" or "upstream" (the worker pool): in the request's log line */
    /* A handler that waits on another server ends with gw_req_call (or moves to a pool
     * with gw_req_then) and keeps its state in ctx between the steps. */
    void *ctx;
    void (*ctx_free)(void *ctx); /* called when the request is done */
    struct gw_http_result *result; /* the answer to the last gw_req_call */
    int calls; /* outgoing calls made: in the log line */
    /* private to gw_http.c: the route that took it (its index + 1; 0: none), the step asked for */
    int route_ix;
    void (*next_fn)(struct gw_ctx *app, struct gw_req *req, struct gw_resp *resp);
    int next_where;
    struct gw_outcall *next_call;
} gw_req_t;

#define GW_MAX_RESP_HEADERS 16
typedef struct gw_resp {
    int status;
    const char *content_type;
    gw_buf_t body;
    size_t nheaders;
    char *hname[GW_MAX_RESP_HEADERS], *hvalue[GW_MAX_RESP_HEADERS];
} gw_resp_t;

void gw_resp_header(gw_resp_t *r, const char *name, const char *value);
/* drops everything set so far (headers, cookies, body) */
void gw_resp_reset(gw_resp_t *r);
void gw_resp_redirect(gw_resp_t *r, const char *url);
/* Takes the reference to obj. */
void gw_resp_json(gw_resp_t *r, int status, json_t *obj);
void gw_resp_text(gw_resp_t *r, int status, const char *ctype, const char *body);
/* Set-Cookie; max_age < 0 deletes. Secure and the __Host- prefix follow is_tls. */
void gw_resp_cookie(gw_resp_t *r, const char *name, const char *value, long max_age, int is_tls);
/* The same on a path other than "/" (a cookie only the gateway's paths on a host see). */
void gw_resp_cookie_at(gw_resp_t *r, const char *name, const char *value, long max_age, int is_tls, const char *path);

typedef void (*gw_handler_fn)(struct gw_ctx *app, gw_req_t *req, gw_resp_t *resp);

typedef struct gw_route {
    int methods;
    const char *path;
    gw_handler_fn fn;
    int is_inline;
    /* also inline when every namespace listed here (space-separated) is held in this
     * process's memory (gw_store_local): the handler touches no other store state */
    const char *inline_if_local;
    /* with inline_if_local: inline only when this also says so for the request (it runs
     * on the I/O thread and must not block) */
    int (*inline_when)(struct gw_ctx *app, const gw_req_t *req);
    /* says when the request may call another server (VNeID, the population DB, a portal)
     * and wait on it for seconds: it then runs on the upstream pool, so such waits never
     * hold up the other routes. NULL: never; gw_route_always: every time. */
    int (*waits_upstream)(struct gw_ctx *app, const gw_req_t *req);
    /* the handler may hand the request to an outgoing call (gw_req_call): once the
     * server stops, such a request is refused with a 503 before its handler runs (it
     * would otherwise consume single-use state, such as a login's flow, for a call that
     * is not started any more) */
    int calls_out;
    /* the request spends single-use state (the upstream callback's flow): a page it
     * answers with cannot be had again by reloading (req->no_reload) */
    int no_reload;
    /* its answers are JSON (an API): so are the server's refusals on this path */
    int json;
} gw_route_t;

int gw_route_always(struct gw_ctx *app, const gw_req_t *req);

/* JSON error (RFC 6749 5.2 shape). */
void gw_error_json(gw_resp_t *resp, int status, const char *error, const char *description);

/* Continuing later. A handler (or a step) that calls gw_req_call and returns has not
 * answered yet: the request's I/O thread makes the outgoing call on its event loop (no
 * thread waits on it), puts the answer in req->result, and runs `next` where asked:
 * GW_RUN_IO on the I/O thread (must not block: no store, no blocking calls),
 * GW_RUN_LOCAL or GW_RUN_UPSTREAM on that worker pool. gw_req_then moves on without a
 * call. A step that neither asks nor answers leaves the response as it is (an empty
 * 200 is a bug). On SIGTERM, requests under way finish; new ones get a 503. */
enum { GW_RUN_IO, GW_RUN_LOCAL, GW_RUN_UPSTREAM };
struct gw_outcall;
void gw_req_call(gw_req_t *req, const struct gw_outcall *call, gw_handler_fn next, int where);
void gw_req_then(gw_req_t *req, gw_handler_fn next, int where);

typedef struct gw_server gw_server_t;

/* The worker pools as JSON: per pool its threads, how many are busy, the jobs queued and
 * how many may be. A new reference. */
json_t *gw_server_pools(gw_server_t *s);
/* the server's part of /metrics (requests by route and status class, their latency, the
 * pools), appended to out in Prometheus text format */
void gw_server_metrics(gw_server_t *s, gw_buf_t *out);

/* What the server is told by its caller. */
typedef struct gw_server_opts {
    const char *listen_host;
    int listen_port;
    int io_threads, workers, upstream_workers;
    int max_waiting; /* requests waiting on an outgoing call at once; beyond it a 503 */
    long max_uri, max_headers, max_body;
    const gw_strlist_t *trusted_proxies; /* may set the client address by X-Forwarded-For */
    /* connections open at once, in all and from one address (trusted proxies exempt);
     * beyond them a new connection is closed at once. 0: the defaults (4096, 256). */
    int max_connections, max_connections_per_ip;
    /* a request's head must arrive within this many seconds of its first byte (of the
     * accept, for a connection's first request), however slowly it trickles in (0: 10);
     * its body then has as long again, and beyond that must keep up min_body_rate bytes a
     * second (0: 1024) from the end of the head; an idle keep-alive connection is closed
     * after idle_timeout (0: 30) */
    int request_timeout, idle_timeout;
    long min_body_rate;
    /* the public URL is https: every answer says so (Strict-Transport-Security) */
    int hsts;
} gw_server_opts_t;

/* What the server asks its caller. ctx is handed to every handler and hook. */
typedef struct gw_server_hooks {
    struct gw_ctx *ctx;
    /* the answer to a request the server refuses itself (400, 404, 405, 413, 414, 431,
     * 503): route is the one that matched, if any; Allow and Retry-After are set already */
    void (*refusal)(struct gw_ctx *ctx, gw_req_t *req, gw_resp_t *resp, int status, const gw_route_t *route);
    /* 1 when the store namespace is held in this process's memory (routes' inline_if_local) */
    int (*ns_local)(struct gw_ctx *ctx, const char *ns);
} gw_server_hooks_t;

/* Binds host:port on io_threads threads (SO_REUSEPORT) and starts the worker pools.
 * tables is a NULL-terminated list of route tables, searched in order. opts and hooks are
 * copied (the strings they point to must outlive the server). */
gw_server_t *gw_server_start(const gw_server_opts_t *opts, const gw_server_hooks_t *hooks,
                             const gw_route_t *const *tables, char *err, size_t errlen);
/* 1 once the server was asked to stop (SIGTERM): upkeep that must not outlive it ends. */
int gw_server_stopping(const gw_server_t *s);
/* Blocks until gw_server_stop is called (from a signal handler via the self-pipe). */
void gw_server_wait(gw_server_t *s);
/* Async-signal-safe: asks the server to stop gracefully. */
void gw_server_request_stop(gw_server_t *s);
void gw_server_free(gw_server_t *s);

#endif
