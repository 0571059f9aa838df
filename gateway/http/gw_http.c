#include "gw_http.h"
#include "gw_http_internal.h"
#include "gw_metrics.h"

#include "gw_h1.h"
#include "gw_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

/* ------------------------------------------------------------------ responses */

void gw_resp_header(gw_resp_t *r, const char *name, const char *value)
{
    if (r->nheaders >= GW_MAX_RESP_HEADERS)
        return;
    r->hname[r->nheaders] = gw_strdup(name);
    r->hvalue[r->nheaders] = gw_strdup(value);
    r->nheaders++;
}

void gw_resp_redirect(gw_resp_t *r, const char *url)
{
    r->status = 302;
    gw_resp_header(r, "Location", url);
}

void gw_resp_json(gw_resp_t *r, int status, json_t *obj)
{
    r->status = status;
    r->content_type = "application/json";
    char *s = json_dumps(obj, JSON_COMPACT);
    r->body.len = 0;
    if (s)
        gw_buf_adds(&r->body, s);
    free(s);
    json_decref(obj);
}

void gw_resp_text(gw_resp_t *r, int status, const char *ctype, const char *body)
{
    r->status = status;
    r->content_type = ctype;
    r->body.len = 0;
    gw_buf_adds(&r->body, body);
}

void gw_resp_cookie_at(gw_resp_t *r, const char *name, const char *value, long max_age, int is_tls, const char *path)
{
    const char *sec = is_tls ? "; Secure" : "";
    char *c;
    if (max_age < 0)
        c = gw_sprintf("%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Lax%s", name, path, sec);
    else if (max_age == 0)
        c = gw_sprintf("%s=%s; Path=%s; HttpOnly; SameSite=Lax%s", name, value, path, sec);
    else
        c = gw_sprintf("%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name, value, path, max_age, sec);
    gw_resp_header(r, "Set-Cookie", c);
    free(c);
}

void gw_resp_cookie(gw_resp_t *r, const char *name, const char *value, long max_age, int is_tls)
{
    gw_resp_cookie_at(r, name, value, max_age, is_tls, "/");
}

static void resp_cleanup(gw_resp_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
    gw_buf_cleanup(&r->body);
}

void gw_resp_reset(gw_resp_t *r)
{
    resp_cleanup(r);
    r->nheaders = 0;
    r->status = 0;
    r->content_type = NULL;
    gw_buf_init(&r->body, 0);
}

static void req_cleanup(gw_req_t *q)
{
    free(q->path);
    free(q->query);
    gw_form_cleanup(&q->q);
    gw_form_cleanup(&q->form);
    free(q->body);
    free(q->cookie);
    gw_wipe_free(q->authorization);
    free(q->content_type);
    free(q->accept);
    free(q->accept_language);
    free(q->origin);
    free(q->sec_fetch_site);
    free(q->host);
    free(q->fwd_host);
    free(q->fwd_uri);
    free(q->fwd_method);
    if (q->ctx_free)
        q->ctx_free(q->ctx);
    if (q->result) {
        gw_http_result_cleanup(q->result);
        free(q->result);
    }
    gw_outcall_free(q->next_call);
}

/* ------------------------------------------------------------------ server */

struct conn;

typedef struct io_thread {
    struct gw_server *srv;
    pthread_t tid;
    struct event_base *base;
    int fd; /* the listening socket (SO_REUSEPORT, one per thread) */
    struct event *listen_ev; /* on fd */
    struct event *resume_ev; /* accepting again after running out of descriptors */
    struct conn *conns; /* every open connection of this thread */
    /* out of descriptors: accepting pauses, longer each time it fails again (accept_pause_ms,
     * 0 while accepting), and the failures are counted into one warning a minute at most */
    int accept_pause_ms;
    long accept_failed; /* failed accepts not logged yet */
    int64_t accept_warned; /* when that line was last logged, monotonic s; 0: never */
    int accept_said; /* a warning went out that no "accepting again" has answered yet */
    gw_fetch_loop_t *fetch; /* outgoing calls made on this loop */
} io_thread_t;

typedef struct job {
    struct job *next;
    gw_req_t req;
    gw_resp_t resp;
    const gw_route_t *route;
    io_thread_t *io;
    gw_handler_fn step; /* the step a worker runs next; NULL: the route's handler */
    int continued; /* went past its first step: it finishes, even on SIGTERM */
    struct conn *conn; /* the connection to answer on */
    struct event *done_ev;
    double started;
} job_t;

/* An idle worker, on its pool's stack of idle workers. A new job wakes the one that went
 * idle last: its stack and caches are still warm, and with many threads (the upstream
 * pool) only as many of them take turns as the load needs. */
typedef struct waiter {
    pthread_cond_t cond;
    struct waiter *next;
    int woken;
} waiter_t;

/* A pool of worker threads and its queue. Two of them: the local pool for handlers that
 * only use the store and the CPU, the upstream pool for handlers that wait on another
 * server; a slow VNeID then ties up upstream threads only, and a citizen with an SSO
 * session, a token exchange or the admin API are served as before. */
typedef struct pool {
    struct gw_server *srv;
    pthread_mutex_t lock;
    waiter_t *idle; /* top of the stack */
    int nidle; /* how many are on it */
    job_t *head, *tail;
    size_t len, max_len; /* queued jobs, and how many may wait before new ones get a 503 */
    int n;
    pthread_t *threads;
} pool_t;

/* Caller holds p->lock. */
static void wake_one(pool_t *p)
{
    waiter_t *w = p->idle;
    if (!w)
        return;
    p->idle = w->next;
    p->nidle--;
    w->woken = 1;
    pthread_cond_signal(&w->cond);
}

enum { POOL_LOCAL, POOL_UPSTREAM, POOL_COUNT };

#define PEER_BUCKETS 1024
typedef struct peer_count {
    struct peer_count *next;
    int n;
    char addr[64];
} peer_count_t;

/* What /metrics says of a route: answers by status class, and their latency */
typedef struct route_metrics {
    uint64_t by_class[5]; /* 1xx..5xx */
    gw_hist_t seconds;
} route_metrics_t;

struct gw_server {
    struct gw_ctx *app; /* hooks.ctx: handed to every handler */
    gw_server_opts_t opts;
    gw_server_hooks_t hooks;
    const gw_route_t **routes; /* every route of every table, in search order */
    unsigned char *runs_inline; /* per route: handled on the I/O thread (decided at start) */
    size_t nroutes;
    route_metrics_t *metrics; /* per route, then one for requests no route took (/metrics) */
    int nio;
    io_thread_t *io;
    pool_t pool[POOL_COUNT];
    int stopping; /* SIGTERM: no new work (first steps get a 503) */
    int waiting; /* requests past their first step, between their first gw_req_call/then
                       * and their answer, on every I/O thread (atomic) */
    int workers_exit; /* the I/O loops have ended: the workers and the upkeep thread leave */
    int stop_pipe[2];
    struct event *stop_ev;
    /* open connections, in all and per client address (for the caps) */
    pthread_mutex_t peers_lock;
    int nconns;
    struct peer_count *peers[PEER_BUCKETS];
};

#define MAX_QUEUE 4096

static size_t route_find(const gw_server_t *s, const char *path)
{
    for (size_t i = 0; i < s->nroutes; i++)
        if (!strcmp(s->routes[i]->path, path))
            return i;
    return s->nroutes;
}

/* 1 when every namespace of the space-separated list is held in this process's memory */
static int all_local(const gw_server_t *s, const char *list)
{
    char *copy = gw_strdup(list);
    int ok = s->hooks.ns_local != NULL;
    for (char *sv = NULL, *t = strtok_r(copy, " ", &sv); t && ok; t = strtok_r(NULL, " ", &sv))
        ok = s->hooks.ns_local(s->app, t);
    free(copy);
    return ok;
}

static void routes_init(gw_server_t *s, const gw_route_t *const *tables)
{
    for (const gw_route_t *const *t = tables; *t; t++)
        for (const gw_route_t *r = *t; r->path; r++)
            s->nroutes++;
    s->routes = gw_xcalloc(s->nroutes ? s->nroutes : 1, sizeof(*s->routes));
    s->runs_inline = gw_xcalloc(s->nroutes ? s->nroutes : 1, 1);
    s->metrics = gw_xcalloc(s->nroutes + 1, sizeof(*s->metrics));
    size_t i = 0;
    for (const gw_route_t *const *t = tables; *t; t++)
        for (const gw_route_t *r = *t; r->path; r++, i++) {
            s->routes[i] = r;
            s->runs_inline[i] = r->is_inline || (r->inline_if_local && all_local(s, r->inline_if_local));
        }
}

/* ------------------------------------------------------------------ connections */

/* One client connection, on one I/O thread. One request at a time: while a request is
 * under way the socket is not watched (a pipelined request waits in the kernel), and its
 * answer is written at once from the handler's thread of control; only what the socket
 * does not take at once waits for EV_WRITE. */
typedef struct conn {
    struct conn *prev, *next;
    io_thread_t *io;
    int fd;
    struct event *ev;
    short watching; /* EV_READ, EV_WRITE or 0 */
    char *in; /* bytes read, not yet taken by a request */
    size_t in_len, in_cap;
    char *out; /* the part of an answer the socket did not take at once */
    size_t out_len, out_off;
    job_t *job; /* the request under way */
    int keep_alive; /* after the request under way */
    int sent_continue; /* 100 Continue sent for the request being read */
    int lingering; /* answered an unreadable request: reading what is left, then closing */
    int processing; /* inside conn_process: do not free here */
    int gone; /* to be freed (by conn_process when inside it) */
    int counted; /* holds a place in the server's connection counts */
    int64_t req_deadline; /* monotonic ms: the head being read must be in by then; 0: none */
    int64_t body_since; /* monotonic ms: the head is in, its body not yet; 0: no body pending */
    size_t body_got; /* bytes of that body read so far */
    /* the request whose body is being read: its head's length (0: none), framing, and
     * where reading its chunks stopped, so that each arrival costs only its own bytes */
    size_t pend_hl;
    int pend_chunked;
    long long pend_clen;
    gw_h1_chunks_t chunks;
    int rearm; /* the watch still carries a request's deadline: set the idle timeout again */
    char peer[64];
} conn_t;

#define LINGER_TIMEOUT_S 2
#define HSTS "max-age=31536000"

static int idle_timeout(const gw_server_opts_t *cfg) { return cfg->idle_timeout > 0 ? cfg->idle_timeout : 30; }
static int request_timeout(const gw_server_opts_t *cfg) { return cfg->request_timeout > 0 ? cfg->request_timeout : 10; }
static long min_body_rate(const gw_server_opts_t *cfg) { return cfg->min_body_rate > 0 ? cfg->min_body_rate : 1024; }

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned peer_bucket(const char *addr)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % PEER_BUCKETS;
}

/* A place for a new connection from addr: 0, or -1 when a cap is reached. */
static int peer_take(gw_server_t *s, const char *addr)
{
    const gw_server_opts_t *o = &s->opts;
    int max_all = o->max_connections > 0 ? o->max_connections : 4096;
    int max_one = o->max_connections_per_ip > 0 ? o->max_connections_per_ip : 256;
    int exempt = o->trusted_proxies && gw_cidr_list_has(o->trusted_proxies, addr);
    int rc = -1;
    pthread_mutex_lock(&s->peers_lock);
    if (s->nconns < max_all) {
        peer_count_t **b = &s->peers[peer_bucket(addr)], *p = *b;
        while (p && strcmp(p->addr, addr))
            p = p->next;
        if (!p && (p = calloc(1, sizeof(*p)))) {
            snprintf(p->addr, sizeof(p->addr), "%s", addr);
            p->next = *b;
            *b = p;
        }
        if (p && (exempt || p->n < max_one)) {
            p->n++;
            s->nconns++;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&s->peers_lock);
    return rc;
}

static void peer_give_back(gw_server_t *s, const char *addr)
{
    pthread_mutex_lock(&s->peers_lock);
    peer_count_t **pp = &s->peers[peer_bucket(addr)];
    while (*pp && strcmp((*pp)->addr, addr))
        pp = &(*pp)->next;
    if (*pp && --(*pp)->n <= 0) {
        peer_count_t *gone = *pp;
        *pp = gone->next;
        free(gone);
    }
    s->nconns--;
    pthread_mutex_unlock(&s->peers_lock);
}

static size_t head_max(const gw_server_opts_t *cfg) { return cfg->max_headers + cfg->max_uri + 4096; }

/* bodies up to this are read and then refused by req_build (413 with a page or JSON, and
 * the connection goes on); beyond it the answer is 413 as soon as the head says so, and the
 * connection closes. So a connection never buffers more than a head and twice max_body. */
static size_t body_cap(const gw_server_opts_t *cfg)
{
    return (size_t)cfg->max_body * 2 > (size_t)cfg->max_body + 16384 ? (size_t)cfg->max_body * 2
                                                                     : (size_t)cfg->max_body + 16384;
}

static void on_conn(evutil_socket_t fd, short what, void *arg);

static void conn_watch_ms(conn_t *c, short what, long timeout_ms)
{
    event_del(c->ev);
    c->watching = what;
    if (!what)
        return;
    event_assign(c->ev, c->io->base, c->fd, (short)(what | EV_PERSIST), on_conn, c);
    event_add(c->ev, &(struct timeval){ timeout_ms / 1000, (timeout_ms % 1000) * 1000 });
}

static void conn_watch(conn_t *c, short what, int timeout_s) { conn_watch_ms(c, what, timeout_s * 1000L); }

static void conn_free(conn_t *c)
{
    if (c->processing) {
        c->gone = 1;
        return;
    }
    if (c->job) /* its answer will find no connection */
        c->job->conn = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->io->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->counted)
        peer_give_back(c->io->srv, c->peer);
    event_free(c->ev);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static char *hdr_dup(const gw_h1_head_t *h, const char *name)
{
    size_t n;
    const char *v = gw_h1_field(h, name, &n);
    return v ? gw_strndup(v, n) : NULL;
}

static int method_of(const gw_h1_head_t *h)
{
    if (h->mlen == 3 && !memcmp(h->method, "GET", 3))
        return GW_M_GET;
    if (h->mlen == 4 && !memcmp(h->method, "POST", 4))
        return GW_M_POST;
    if (h->mlen == 4 && !memcmp(h->method, "HEAD", 4))
        return GW_M_HEAD;
    return GW_M_OTHER;
}

/* The request line into q: method, path, query and its parameters. 0, or the HTTP status
 * of a target we refuse. */
static int req_target(const gw_server_opts_t *cfg, const gw_h1_head_t *h, gw_req_t *q)
{
    q->method = method_of(h);
    size_t ulen = h->tlen;
    if (!ulen || h->target[0] != '/')
        return 400;
    const char *qm = memchr(h->target, '?', ulen);
    size_t plen = qm ? (size_t)(qm - h->target) : ulen;
    if (ulen > (size_t)cfg->max_uri) { /* the path alone still picks the answer's form (JSON under /admin/) */
        q->path = gw_strndup(h->target, plen < (size_t)cfg->max_uri ? plen : (size_t)cfg->max_uri);
        return 414;
    }
    char *uri = gw_strndup(h->target, ulen);
    q->path = gw_strndup(uri, plen);
    int frag = strchr(uri, '#') != NULL;
    q->query = gw_strdup(qm ? uri + plen + 1 : "");
    free(uri);
    if (frag || gw_form_parse(&q->q, q->query, strlen(q->query), 64))
        return 400;
    return 0;
}

size_t gw_http_head_size(const gw_h1_head_t *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nfields; i++)
        n += h->field[i].nlen + h->field[i].vlen + 4;
    return n;
}

void gw_http_xff_client(const gw_strlist_t *trusted, char *xff, char *out, size_t outlen)
{
    for (;;) {
        char *comma = strrchr(xff, ',');
        char *hop = comma ? comma + 1 : xff;
        while (*hop == ' ')
            hop++;
        if (!*hop || !gw_cidr_list_has(trusted, hop) || !comma) {
            if (*hop && strlen(hop) < outlen)
                snprintf(out, outlen, "%s", hop);
            return;
        }
        *comma = 0;
    }
}

/* Fill q from the request head and body. Returns 0, or an HTTP status for a request we
 * refuse. */
static int req_build(gw_server_t *s, conn_t *c, const gw_h1_head_t *h, const char *body, size_t blen, gw_req_t *q)
{
    const gw_server_opts_t *cfg = &s->opts;
    snprintf(q->remote, sizeof(q->remote), "%s", c->peer);
    int st = req_target(cfg, h, q);
    if (st)
        return st;
    if (gw_http_head_size(h) > (size_t)cfg->max_headers)
        return 431;
    q->cookie = hdr_dup(h, "Cookie");
    q->authorization = hdr_dup(h, "Authorization");
    q->content_type = hdr_dup(h, "Content-Type");
    q->accept = hdr_dup(h, "Accept");
    q->accept_language = hdr_dup(h, "Accept-Language");
    q->origin = hdr_dup(h, "Origin");
    q->sec_fetch_site = hdr_dup(h, "Sec-Fetch-Site");
    q->host = hdr_dup(h, "Host");
    if (cfg->trusted_proxies && gw_cidr_list_has(cfg->trusted_proxies, q->remote)) {
        q->fwd_host = hdr_dup(h, "X-Forwarded-Host");
        q->fwd_uri = hdr_dup(h, "X-Forwarded-Uri");
        q->fwd_method = hdr_dup(h, "X-Forwarded-Method");
    }
    /* behind nginx the TCP peer is the proxy: take the client from X-Forwarded-For, read
     * from the right, skipping our own proxies (a client cannot forge the part they add) */
    char *xff = hdr_dup(h, "X-Forwarded-For");
    if (xff && cfg->trusted_proxies && gw_cidr_list_has(cfg->trusted_proxies, q->remote))
        gw_http_xff_client(cfg->trusted_proxies, xff, q->remote, sizeof(q->remote));
    free(xff);
    if (blen > (size_t)cfg->max_body)
        return 413;
    q->body = gw_xmalloc(blen + 1);
    memcpy(q->body, body, blen);
    q->body[blen] = 0;
    q->body_len = blen;
    if (q->method == GW_M_POST && q->content_type &&
        !strncasecmp(q->content_type, "application/x-www-form-urlencoded", 33)) {
        if (memchr(q->body, 0, blen) || gw_form_parse(&q->form, q->body, blen, 64))
            return 400;
    }
    return 0;
}

static void log_request(const gw_req_t *q, int status, double ms)
{
    char st[8], dur[24], calls[16];
    snprintf(st, sizeof(st), "%d", status);
    snprintf(dur, sizeof(dur), "%.2f", ms);
    snprintf(calls, sizeof(calls), "%d", q->calls);
    /* a warning is a server's trouble: 501 and 505 are the client's (an unknown coding, another
     * HTTP version), and must not spend the warnings' rate limit that real errors need */
    int warn = status >= 500 && status != 501 && status != 505;
    gw_log(warn ? GW_LOG_WARN : GW_LOG_INFO, "http", "request", "id", q->id, "method",
           q->method == GW_M_GET    ? "GET"
           : q->method == GW_M_POST ? "POST"
           : q->method == GW_M_HEAD ? "HEAD"
                                    : "OTHER",
           "path", q->path ? q->path : "", "status", st, "ms", dur, "ran_on", q->ran_on ? q->ran_on : "io",
           q->calls ? "calls" : NULL, calls, NULL);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

/* the Date field, formatted once a second per thread */
static const char *http_date(void)
{
    static __thread time_t at = -1;
    static __thread char text[40];
    time_t now = time(NULL);
    if (now != at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        at = now;
    }
    return text;
}

static void head_field(gw_buf_t *b, const char *name, const char *value)
{
    /* a field with a line break in it would split the answer: never sent */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    gw_buf_adds(b, name);
    gw_buf_add(b, ": ", 2);
    gw_buf_adds(b, value);
    gw_buf_add(b, "\r\n", 2);
}

static void conn_after_answer(conn_t *c);

/* Writes what the socket takes now; the rest waits in c->out for EV_WRITE. */
static void conn_write(conn_t *c, const char *head, size_t hlen, const char *body, size_t blen)
{
    struct iovec iov[2] = { { (void *)head, hlen }, { (void *)body, blen } };
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
    ssize_t w;
    do
        w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        conn_free(c); /* the client is gone */
        return;
    }
    size_t done = w > 0 ? (size_t)w : 0;
    if (done == hlen + blen) {
        conn_after_answer(c);
        return;
    }
    size_t left = hlen + blen - done;
    c->out = gw_xmalloc(left);
    c->out_len = left;
    c->out_off = 0;
    size_t k = 0;
    if (done < hlen) {
        memcpy(c->out, head + done, hlen - done);
        k = hlen - done;
        done = hlen;
    }
    memcpy(c->out + k, body + (done - hlen), left - k);
    conn_watch(c, EV_WRITE, idle_timeout(&c->io->srv->opts));
}

static void log_request(const gw_req_t *q, int status, double ms);

static void count_request(gw_server_t *s, const gw_req_t *q, int status, double ms)
{
    route_metrics_t *m = &s->metrics[q->route_ix ? (size_t)q->route_ix - 1 : s->nroutes];
    if (status >= 100 && status < 600)
        __atomic_add_fetch(&m->by_class[status / 100 - 1], 1, __ATOMIC_RELAXED);
    gw_hist_add(&m->seconds, ms);
}

static void finish(gw_server_t *s, conn_t *c, gw_req_t *q, gw_resp_t *r, double started)
{
    int status = r->status ? r->status : 200;
    double ms = gw_now_ms() - started;
    log_request(q, status, ms);
    count_request(s, q, status, ms);
    if (!c) /* the client left while its request was under way */
        return;
    c->job = NULL;
    if (__atomic_load_n(&c->io->srv->stopping, __ATOMIC_ACQUIRE))
        c->keep_alive = 0; /* going away: the next request goes to another instance */
    gw_buf_t h;
    gw_buf_init(&h, 0);
    char line[64];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
    gw_buf_add(&h, line, (size_t)n);
    head_field(&h, "Date", http_date());
    n = snprintf(line, sizeof(line), "%zu", r->body.len);
    head_field(&h, "Content-Length", line);
    if (!c->keep_alive)
        head_field(&h, "Connection", "close");
    int has_cache_control = 0, has_csp = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        head_field(&h, r->hname[i], r->hvalue[i]);
        has_cache_control |= !strcasecmp(r->hname[i], "Cache-Control");
        has_csp |= !strcasecmp(r->hname[i], "Content-Security-Policy");
    }
    const char *ct = r->content_type ? r->content_type : "text/plain; charset=utf-8";
    head_field(&h, "Content-Type", ct);
    head_field(&h, "X-Content-Type-Options", "nosniff");
    head_field(&h, "Referrer-Policy", "no-referrer");
    if (c->io->srv->opts.hsts) /* not includeSubDomains: the portals on sub-domains decide for themselves */
        head_field(&h, "Strict-Transport-Security", HSTS);
    if (!has_cache_control)
        head_field(&h, "Cache-Control", "no-store");
    if (!strncmp(ct, "text/html", 9)) {
        head_field(&h, "X-Frame-Options", "DENY");
        if (!has_csp) /* a page may narrow it (the SAML POST form: one action, one script) */
            head_field(&h, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                       "form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'");
    }
    gw_buf_add(&h, "\r\n", 2);
    conn_write(c, h.data, h.len, q->method == GW_M_HEAD ? NULL : r->body.data,
               q->method == GW_M_HEAD ? 0 : r->body.len);
    gw_buf_cleanup(&h);
}

static void job_free(job_t *j)
{
    req_cleanup(&j->req);
    resp_cleanup(&j->resp);
    if (j->done_ev)
        event_free(j->done_ev);
    free(j);
}

static void job_advance(job_t *j);

/* a worker has run a step: back on the I/O thread */
static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    job_advance(arg);
}

/* The answer to a request the server will not handle: its caller's hook says how (a page,
 * or JSON for the APIs); without one, JSON. */
static void refusal(gw_server_t *s, gw_req_t *q, gw_resp_t *rp, int status, const gw_route_t *route)
{
    if (status == 405 && route) {
        const char *allow = (route->methods & GW_M_GET) && (route->methods & GW_M_POST) ? "GET, HEAD, POST"
                            : route->methods & GW_M_GET                                 ? "GET, HEAD"
                                                                                        : "POST";
        gw_resp_header(rp, "Allow", allow);
    }
    if (status == 503)
        gw_resp_header(rp, "Retry-After", "1");
    if (!route && q->path) { /* the route the path names, for its answer's kind (JSON or a page) */
        size_t ri = route_find(s, q->path);
        route = ri < s->nroutes ? s->routes[ri] : NULL;
    }
    q->no_reload = route && route->no_reload;
    if (s->hooks.refusal)
        s->hooks.refusal(s->app, q, rp, status, route);
    else
        gw_error_json(rp, status, "invalid_request", NULL);
}

static void refuse(gw_server_t *s, conn_t *c, gw_req_t *q, int status, double started, const gw_route_t *route)
{
    q->on_io_thread = 1;
    gw_resp_t r;
    memset(&r, 0, sizeof(r));
    gw_buf_init(&r.body, 0);
    refusal(s, q, &r, status, route);
    if (route && !q->route_ix) /* a 405: its route's */
        q->route_ix = (int)route_find(s, route->path) + 1;
    finish(s, c, q, &r, started);
    resp_cleanup(&r);
}

void gw_req_call(gw_req_t *req, const gw_outcall_t *call, gw_handler_fn next, int where)
{
    gw_outcall_free(req->next_call);
    req->next_call = gw_outcall_dup(call);
    req->next_fn = next;
    req->next_where = where;
}

void gw_req_then(gw_req_t *req, gw_handler_fn next, int where)
{
    gw_outcall_free(req->next_call);
    req->next_call = NULL;
    req->next_fn = next;
    req->next_where = where;
}

/* Queues j's next step on a pool. A first step is refused (-1) when the queue is full or
 * the server stops; a later one never is: its login is under way. */
static int enqueue(gw_server_t *s, job_t *j, int upstream)
{
    pool_t *p = &s->pool[upstream ? POOL_UPSTREAM : POOL_LOCAL];
    if (!j->done_ev && !(j->done_ev = event_new(j->io->base, -1, 0, job_done_cb, j)))
        return -1;
    j->req.ran_on = upstream ? "upstream" : "local";
    j->req.on_io_thread = 0;
    pthread_mutex_lock(&p->lock);
    if (!j->continued && (p->len >= p->max_len || __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    j->next = NULL;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->len++;
    wake_one(p);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* On the I/O thread: the step asked for runs now, here or on a pool. */
static void run_step(job_t *j)
{
    gw_server_t *s = j->io->srv;
    gw_handler_fn fn = j->req.next_fn;
    int where = j->req.next_where;
    j->req.next_fn = NULL;
    if (where == GW_RUN_IO) {
        j->req.on_io_thread = 1;
        j->req.ran_on = "io";
        fn(s->app, &j->req, &j->resp);
        job_advance(j);
        return;
    }
    j->step = fn;
    if (enqueue(s, j, where == GW_RUN_UPSTREAM)) { /* no memory for its event: answer now */
        j->step = NULL;
        gw_resp_reset(&j->resp);
        refusal(s, &j->req, &j->resp, 503, NULL);
        job_advance(j);
    }
}

static void call_done(void *arg) { run_step(arg); }

/* On the I/O thread, after each step: answer, or go on with what the step asked for. */
static void job_advance(job_t *j)
{
    io_thread_t *io = j->io;
    gw_server_t *s = io->srv;
    gw_req_t *q = &j->req;
    if (q->next_fn && !j->continued) {
        /* no new waits once stopping, nor beyond max_waiting: each one is a socket, memory
         * and a call to VNeID, and past that many VNeID is not keeping up anyway */
        int full = __atomic_add_fetch(&s->waiting, 1, __ATOMIC_ACQ_REL) > s->opts.max_waiting;
        if (full || __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
            __atomic_sub_fetch(&s->waiting, 1, __ATOMIC_RELEASE);
            if (full)
                gw_log(GW_LOG_WARN, "http", "too many requests waiting on outgoing calls: 503", "id", q->id, NULL);
            gw_req_then(q, NULL, 0);
            gw_resp_reset(&j->resp);
            refusal(s, q, &j->resp, 503, NULL);
        } else {
            j->continued = 1;
        }
    }
    if (!q->next_fn) {
        finish(s, j->conn, q, &j->resp, j->started);
        if (j->continued)
            __atomic_sub_fetch(&s->waiting, 1, __ATOMIC_RELEASE);
        job_free(j);
        return;
    }
    if (q->next_call) {
        gw_outcall_t *c = q->next_call;
        q->next_call = NULL;
        if (q->result)
            gw_http_result_cleanup(q->result);
        else
            q->result = gw_xcalloc(1, sizeof(*q->result));
        q->calls++;
        gw_fetch_start(io->fetch, c, q->result, call_done, j);
        gw_outcall_free(c);
        return;
    }
    run_step(j);
}

/* A complete request read on c: build it, route it, run or queue its first step. hst:
 * the head's parse error (an HTTP status) or 0. */
static void dispatch(conn_t *c, const gw_h1_head_t *h, int hst, const char *body, size_t blen)
{
    io_thread_t *io = c->io;
    gw_server_t *s = io->srv;
    double started = gw_now_ms();
    job_t *j = gw_xcalloc(1, sizeof(*j));
    j->started = started;
    j->conn = c;
    j->io = io;
    c->job = j;
    gw_buf_init(&j->resp.body, 0);
    char *rid = gw_random_token(12);
    snprintf(j->req.id, sizeof(j->req.id), "%s", rid);
    free(rid);
    int st = hst ? hst : req_build(s, c, h, body, blen, &j->req);
    if (hst == 413 && h) /* a body refused at its head: the request line still picks the answer's form */
        (void)req_build(s, c, h, "", 0, &j->req);
    if (hst && hst != 413 && h && h->target) {
        /* a head too large or malformed: its request line still picks the answer's form
         * (JSON under /admin/), and gives a page its language (?lang=) and its language
         * switch */
        snprintf(j->req.remote, sizeof(j->req.remote), "%s", c->peer);
        if (req_target(&s->opts, h, &j->req))
            j->req.method = 0;
    }
    if (st) {
        refuse(s, c, &j->req, st, started, NULL);
        job_free(j);
        return;
    }
    size_t ri = route_find(s, j->req.path);
    const gw_route_t *r = ri < s->nroutes ? s->routes[ri] : NULL;
    if (r && (r->methods & j->req.method))
        j->req.route_ix = (int)ri + 1;
    if (!r || !(r->methods & j->req.method)) {
        refuse(s, c, &j->req, r ? 405 : 404, started, r);
        job_free(j);
        return;
    }
    j->route = r;
    j->req.no_reload = r->no_reload;
    if (r->calls_out && __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) { /* see gw_route_t */
        refuse(s, c, &j->req, 503, started, NULL);
        job_free(j);
        return;
    }
    if (s->runs_inline[ri] && (!r->inline_when || r->inline_when(s->app, &j->req))) {
        j->req.on_io_thread = 1;
        r->fn(s->app, &j->req, &j->resp);
        job_advance(j);
        return;
    }
    if (enqueue(s, j, r->waits_upstream && r->waits_upstream(s->app, &j->req))) {
        refuse(s, c, &j->req, 503, started, NULL);
        job_free(j);
    }
}

/* The head is in and got bytes of its body so far: the body's clock starts now. */
static void body_pending(conn_t *c, size_t hl, const gw_h1_head_t *h, size_t got)
{
    if (!c->body_since)
        c->body_since = mono_ms();
    c->body_got = got;
    c->pend_hl = hl;
    c->pend_chunked = h->chunked;
    c->pend_clen = h->content_length;
}

/* Is the body of the request being read still short? Answers without reading the head or
 * the chunks already read again. */
static int body_still_short(conn_t *c, const gw_server_opts_t *cfg)
{
    if (!c->pend_hl)
        return 0;
    size_t have = c->in_len - c->pend_hl;
    int short_ = c->pend_chunked ? !gw_h1_scan_chunked(c->in + c->pend_hl, have, body_cap(cfg), &c->chunks)
                                 : have < (unsigned long long)c->pend_clen;
    if (short_)
        c->body_got = have;
    return short_;
}

static void body_done(conn_t *c)
{
    c->pend_hl = 0;
    memset(&c->chunks, 0, sizeof(c->chunks));
}

/* When the request being read must be in: its head by its deadline; a body within the
 * grace of request_timeout after its head, plus the time its bytes take at the minimum
 * rate (a slow but steady upload is read, a trickle is not). */
static int64_t request_due(const gw_server_opts_t *cfg, const conn_t *c)
{
    if (!c->body_since)
        return c->req_deadline;
    return c->body_since + request_timeout(cfg) * 1000L + (int64_t)(c->body_got * 1000 / (size_t)min_body_rate(cfg));
}

/* Requests read and not yet answered, one at a time. A request that cannot be read (a
 * malformed head, too large) gets its error answer and the connection closes after it. */
static void conn_process(conn_t *c)
{
    const gw_server_opts_t *cfg = &c->io->srv->opts;
    c->processing = 1;
    while (!c->job && !c->gone && !c->lingering && c->in_len && !c->out_len) {
        if (body_still_short(c, cfg))
            break; /* more to read */
        body_done(c);
        gw_h1_head_t h;
        ssize_t hl = gw_h1_parse_head(c->in, c->in_len, head_max(cfg), &h);
        if (!hl)
            break; /* more to read */
        if (hl < 0) {
            c->keep_alive = 0;
            c->lingering = 1;
            dispatch(c, &h, (int)-hl, NULL, 0);
            break;
        }
        size_t need = (size_t)hl, blen = 0;
        const char *body = c->in + hl;
        char *decoded = NULL;
        int err = 0;
        if (h.chunked) {
            ssize_t cl = gw_h1_scan_chunked(c->in + hl, c->in_len - (size_t)hl, body_cap(cfg), &c->chunks);
            if (!cl) {
                body_pending(c, (size_t)hl, &h, c->in_len - (size_t)hl);
                break;
            }
            if (cl > 0) { /* in whole: decoded once */
                decoded = gw_xmalloc(c->chunks.got + 1);
                cl = gw_h1_parse_chunked(c->in + hl, c->in_len - (size_t)hl, decoded, c->chunks.got, &blen);
            }
            body_done(c);
            if (cl < 0)
                err = (int)-cl;
            need += (size_t)(cl > 0 ? cl : 0);
            body = decoded;
        } else if (h.content_length > 0) {
            if ((unsigned long long)h.content_length > body_cap(cfg))
                err = 413;
            else if (c->in_len - (size_t)hl < (size_t)h.content_length) {
                if (h.expect_continue && !c->sent_continue) {
                    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                    (void)!send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL);
                    c->sent_continue = 1;
                }
                body_pending(c, (size_t)hl, &h, c->in_len - (size_t)hl);
                break;
            } else {
                blen = (size_t)h.content_length;
                need += blen;
            }
        }
        if (err) {
            free(decoded);
            c->keep_alive = 0;
            c->lingering = 1;
            dispatch(c, &h, err, NULL, 0);
            break;
        }
        c->keep_alive = h.keep_alive;
        c->sent_continue = 0;
        c->body_since = 0;
        if (c->req_deadline) { /* in whole: the next request gets its own deadline, */
            c->req_deadline = 0;
            c->rearm = 1; /* and the watch goes back to the idle timeout after this one */
        }
        dispatch(c, &h, 0, body, blen);
        free(decoded);
        if (c->gone)
            break;
        memmove(c->in, c->in + need, c->in_len - need);
        c->in_len -= need;
    }
    c->processing = 0;
    if (c->gone) {
        conn_free(c);
        return;
    }
    if (c->job || c->out_len)
        return; /* the answer comes, or is being written */
    if (c->lingering) {
        shutdown(c->fd, SHUT_WR); /* read what the client still sends, then close */
        conn_watch(c, EV_READ, LINGER_TIMEOUT_S);
        return;
    }
    size_t cap = head_max(cfg) + body_cap(cfg) + 4096;
    if (c->in_len == cap) { /* a head that never ends within the cap, or a body's framing past it */
        c->keep_alive = 0;
        c->lingering = 1;
        c->processing = 1;
        gw_h1_head_t h;
        int body = c->pend_hl && gw_h1_parse_head(c->in, c->in_len, head_max(cfg), &h) > 0;
        body_done(c);
        dispatch(c, body ? &h : NULL, body ? 413 : 431, NULL, 0);
        c->processing = 0;
        if (c->gone)
            conn_free(c);
        else if (!c->job && !c->out_len) {
            shutdown(c->fd, SHUT_WR);
            conn_watch(c, EV_READ, LINGER_TIMEOUT_S);
        }
        return;
    }
    if (c->in_len) {
        /* part of a request: it has until its deadline, however slowly it trickles in */
        int64_t now = mono_ms();
        if (!c->req_deadline)
            c->req_deadline = now + request_timeout(cfg) * 1000L;
        int64_t due = request_due(cfg, c);
        if (now >= due) {
            conn_free(c); /* past its deadline: nothing of it is answered */
            return;
        }
        conn_watch_ms(c, EV_READ, (long)(due - now));
    } else if (c->watching != EV_READ || c->rearm) {
        c->rearm = 0;
        conn_watch(c, EV_READ, idle_timeout(cfg));
    }
}

/* An answer has gone out in full. */
static void conn_after_answer(conn_t *c)
{
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (c->lingering) {
        if (!c->processing) {
            shutdown(c->fd, SHUT_WR);
            conn_watch(c, EV_READ, LINGER_TIMEOUT_S);
        }
        return;
    }
    if (!c->keep_alive) {
        conn_free(c);
        return;
    }
    if (c->processing)
        return; /* conn_process goes on with what it has read */
    if (c->watching != EV_READ || c->rearm) {
        c->rearm = 0;
        conn_watch(c, EV_READ, idle_timeout(&c->io->srv->opts));
    }
    if (c->in_len) /* a pipelined request: next loop pass (after the watch, which would undo it) */
        event_active(c->ev, EV_READ, 0);
}

static void conn_read(conn_t *c)
{
    const gw_server_opts_t *cfg = &c->io->srv->opts;
    if (c->lingering) {
        char sink[4096];
        ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_free(c);
        return;
    }
    size_t cap = head_max(cfg) + body_cap(cfg) + 4096;
    if (c->in_cap - c->in_len < 4096 && c->in_cap < cap) {
        size_t nc = c->in_cap ? c->in_cap * 2 : 8192;
        c->in = realloc(c->in, nc < cap ? nc : cap);
        if (!c->in)
            abort();
        c->in_cap = nc < cap ? nc : cap;
    }
    if (c->job && c->in_len == c->in_cap) { /* no room while a request is under way */
        conn_watch(c, 0, 0);
        return;
    }
    if (c->in_len < c->in_cap) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n == 0 && c->job) { /* a half-close after its request (RFC 9112 9.6): it still gets
                                 * its answer, then the connection closes */
            c->keep_alive = 0;
            conn_watch(c, 0, 0);
            return;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            conn_free(c); /* closed, or reset */
            return;
        }
        if (n > 0)
            c->in_len += (size_t)n;
    }
    conn_process(c);
}

static void conn_flush(conn_t *c)
{
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        conn_free(c);
        return;
    }
    if (w > 0)
        c->out_off += (size_t)w;
    if (c->out_off == c->out_len)
        conn_after_answer(c);
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    conn_t *c = arg;
    if (what & EV_TIMEOUT) {
        if (!c->job) /* idle, too slow a client, or the end of a lingering close */
            conn_free(c);
        return;
    }
    if (what & EV_WRITE)
        conn_flush(c);
    else if (what & EV_READ)
        conn_read(c);
}

static void on_accept(evutil_socket_t fd, short what, void *arg);

/* A connection over a cap: a short 503 and a close, on the spot (no descriptor or memory
 * held for it). What the client sent already is read first, and our side is shut down
 * before the close: unread bytes at the close would make it a reset, and the client
 * would lose the answer. */
static void refuse_over_cap(gw_server_t *s, int fd)
{
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), 0) > 0; i++)
        ;
    static const char busy[] = "{\"error\":\"server_busy\",\"error_description\":\"too many connections\"}";
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 503 Service Unavailable\r\nDate: %s\r\nContent-Length: %zu\r\n"
                     "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
                     http_date(), sizeof(busy) - 1, s->opts.hsts ? "Strict-Transport-Security: " HSTS "\r\n" : "");
    struct iovec iov[2] = { { head, (size_t)n }, { (void *)busy, sizeof(busy) - 1 } };
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
    (void)!sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void resume_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    io_thread_t *io = arg;
    if (io->listen_ev)
        event_add(io->listen_ev, NULL);
}

/* accept failed for want of descriptors (or memory): stop accepting for a while instead of
 * spinning, twice as long as last time up to 2 s. The failures are counted into one
 * warning a minute at most: a listener that flaps at the limit logs no line per retry. */
static void accept_pause(io_thread_t *io, int err)
{
    int64_t now = mono_ms() / 1000;
    io->accept_failed++;
    if (!io->accept_warned || now - io->accept_warned >= 60) {
        char n[24];
        snprintf(n, sizeof(n), "%ld", io->accept_failed);
        gw_log(GW_LOG_WARN, "http", "cannot accept connections (out of descriptors): pausing", "error", strerror(err),
               "failed", n, NULL);
        io->accept_warned = now;
        io->accept_failed = 0;
        io->accept_said = 1;
    }
    io->accept_pause_ms = io->accept_pause_ms ? io->accept_pause_ms * 2 : 100;
    if (io->accept_pause_ms > 2000)
        io->accept_pause_ms = 2000;
    event_del(io->listen_ev);
    struct timeval pause = { io->accept_pause_ms / 1000, (io->accept_pause_ms % 1000) * 1000 };
    evtimer_add(io->resume_ev, &pause);
}

/* every pending connection accepted after a pause: the pause ends, and the warning, if
 * one went out, gets its "again" with the failures since */
static void accept_resumed(io_thread_t *io)
{
    if (io->accept_said) {
        char n[24];
        snprintf(n, sizeof(n), "%ld", io->accept_failed);
        gw_log(GW_LOG_INFO, "http", "accepting connections again", "failed", n, NULL);
        io->accept_failed = 0;
        io->accept_said = 0;
    }
    io->accept_pause_ms = 0;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    io_thread_t *io = arg;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int cfd = accept4(fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(io, errno);
            else if (io->accept_pause_ms && (errno == EAGAIN || errno == EWOULDBLOCK))
                accept_resumed(io);
            return;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_t *c = calloc(1, sizeof(*c));
        struct event *ev = c ? event_new(io->base, cfd, EV_READ | EV_PERSIST, on_conn, c) : NULL;
        if (!ev) {
            free(c);
            close(cfd);
            continue;
        }
        c->io = io;
        c->fd = cfd;
        c->ev = ev;
        c->keep_alive = 1;
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, c->peer, sizeof(c->peer));
        else if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, c->peer, sizeof(c->peer));
        if (peer_take(io->srv, c->peer)) { /* over a cap: a 503, closed at once, nothing held */
            event_free(ev);
            free(c);
            refuse_over_cap(io->srv, cfd);
            continue;
        }
        c->counted = 1;
        c->next = io->conns;
        if (io->conns)
            io->conns->prev = c;
        io->conns = c;
        c->watching = EV_READ;
        /* the first request's head is due from the accept: a connection that says nothing
         * is held no longer than one that trickles */
        c->req_deadline = mono_ms() + request_timeout(&io->srv->opts) * 1000L;
        event_add(ev, &(struct timeval){ request_timeout(&io->srv->opts), 0 });
    }
}

json_t *gw_server_pools(gw_server_t *s)
{
    static const char *const names[POOL_COUNT] = { "local", "upstream" };
    json_t *o = json_object();
    for (int k = 0; k < POOL_COUNT; k++) {
        pool_t *p = &s->pool[k];
        pthread_mutex_lock(&p->lock);
        json_t *v = json_pack("{s:i,s:i,s:I,s:I}", "threads", p->n, "busy", p->n - p->nidle, "queued",
                              (json_int_t)p->len, "max_queued", (json_int_t)p->max_len);
        pthread_mutex_unlock(&p->lock);
        json_object_set_new(o, names[k], v);
    }
    /* requests whose next step waits on an outgoing call (or on a pool) without a thread */
    json_object_set_new(o, "io",
                        json_pack("{s:i,s:i,s:i}", "threads", s->nio, "waiting",
                                  __atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE), "max_waiting", s->opts.max_waiting));
    return o;
}

void gw_server_metrics(gw_server_t *s, gw_buf_t *out)
{
    gw_metric_head(out, "eidgw_http_requests_total", "counter", "Answers by route and status class.");
    for (size_t i = 0; i <= s->nroutes; i++)
        for (int k = 0; k < 5; k++) {
            uint64_t n = __atomic_load_n(&s->metrics[i].by_class[k], __ATOMIC_RELAXED);
            if (n)
                gw_buf_printf(out, "eidgw_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                              i < s->nroutes ? s->routes[i]->path : "other", k + 1, (unsigned long long)n);
        }
    gw_metric_head(out, "eidgw_http_request_duration_seconds", "histogram",
                   "From the request head read to the answer, by route.");
    for (size_t i = 0; i <= s->nroutes; i++) {
        if (!__atomic_load_n(&s->metrics[i].seconds.count, __ATOMIC_RELAXED))
            continue;
        char *l = gw_sprintf("route=\"%s\"", i < s->nroutes ? s->routes[i]->path : "other");
        gw_hist_write(out, "eidgw_http_request_duration_seconds", l, &s->metrics[i].seconds);
        free(l);
    }
    static const char *const names[POOL_COUNT] = { "local", "upstream" };
    size_t pools_queued[POOL_COUNT];
    gw_metric_head(out, "eidgw_pool_threads", "gauge", "Worker threads by pool and state.");
    for (int k = 0; k < POOL_COUNT; k++) {
        pool_t *p = &s->pool[k];
        pthread_mutex_lock(&p->lock);
        int busy = p->n - p->nidle, idle = p->nidle;
        size_t queued = p->len;
        pthread_mutex_unlock(&p->lock);
        gw_buf_printf(out, "eidgw_pool_threads{pool=\"%s\",state=\"busy\"} %d\n", names[k], busy);
        gw_buf_printf(out, "eidgw_pool_threads{pool=\"%s\",state=\"idle\"} %d\n", names[k], idle);
        pools_queued[k] = queued;
    }
    gw_metric_head(out, "eidgw_pool_queued", "gauge", "Jobs waiting for a worker, by pool.");
    for (int k = 0; k < POOL_COUNT; k++)
        gw_buf_printf(out, "eidgw_pool_queued{pool=\"%s\"} %zu\n", names[k], pools_queued[k]);
    gw_metric_head(out, "eidgw_http_waiting_requests", "gauge",
                   "Requests waiting on an outgoing call without a thread.");
    gw_buf_printf(out, "eidgw_http_waiting_requests %d\n", __atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE));
}

int gw_route_always(struct gw_ctx *app, const gw_req_t *req)
{
    (void)app;
    (void)req;
    return 1;
}

static void *worker_main(void *arg)
{
    pool_t *p = arg;
    waiter_t w = { .woken = 0 };
    pthread_cond_init(&w.cond, NULL);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !__atomic_load_n(&p->srv->workers_exit, __ATOMIC_ACQUIRE)) {
            w.woken = 0;
            w.next = p->idle;
            p->idle = &w;
            p->nidle++;
            while (!w.woken)
                pthread_cond_wait(&w.cond, &p->lock);
        }
        job_t *j = p->head;
        if (!j) { /* the loops have ended and the queue is empty */
            pthread_mutex_unlock(&p->lock);
            break;
        }
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->len--;
        pthread_mutex_unlock(&p->lock);
        gw_handler_fn fn = j->step ? j->step : j->route->fn;
        j->step = NULL;
        if (!j->continued && __atomic_load_n(&p->srv->stopping, __ATOMIC_ACQUIRE)) /* not started before */
            refusal(p->srv, &j->req, &j->resp, 503, NULL); /* the stop: a 503 now, not its upstream calls */
        else
            fn(p->srv->app, &j->req, &j->resp);
        event_active(j->done_ev, 0, 0);
    }
    pthread_cond_destroy(&w.cond);
    gw_http_thread_cleanup();
    return NULL;
}

/* The loop one pass at a time: the log lines of a pass go out in one write. */
static void *io_main(void *arg)
{
    io_thread_t *io = arg;
    gw_log_hold(1);
    while (event_base_loop(io->base, EVLOOP_ONCE) == 0 && !event_base_got_exit(io->base) &&
           !event_base_got_break(io->base))
        gw_log_flush();
    gw_log_hold(0);
    return NULL;
}

int gw_server_stopping(const gw_server_t *s) { return __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE); }

/* The address to listen on: an IPv4 address or "localhost" (127.0.0.1); names and IPv6
 * are not listened on. 0, or -1 with the reason in err. */
static int listen_addr(const char *host, int port, struct sockaddr_in *sa, char *err, size_t errlen)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, !strcmp(host, "localhost") ? "127.0.0.1" : host, &sa->sin_addr) == 1)
        return 0;
    snprintf(err, errlen, "listen: '%s' is not an IPv4 address", host);
    return -1;
}

static int listen_socket(const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (listen_addr(host, port, &sa, err, errlen))
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "listen %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024)) {
        snprintf(err, errlen, "listen %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* SO_REUSEPORT would let a second eidgw share the port silently: first make sure the
 * address is free with a plain bind. 0, or -1 with the reason in err. */
static int check_port_free(const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (listen_addr(host, port, &sa, err, errlen))
        return -1;
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof(sa)) ? -1 : 0;
    if (rc)
        snprintf(err, errlen, "listen %s:%d: %s", host, port, strerror(errno));
    if (probe >= 0)
        close(probe);
    return rc;
}

/* On each I/O thread once stopping: close the listener, then run the loop until no
 * request waits on an outgoing call any more (bounded by the calls' timeouts). */
static void drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    io_thread_t *io = arg;
    if (io->listen_ev) {
        event_free(io->listen_ev);
        io->listen_ev = NULL;
        close(io->fd);
        io->fd = -1;
    }
    if (!__atomic_load_n(&io->srv->waiting, __ATOMIC_ACQUIRE) ||
        event_base_once(io->base, -1, EV_TIMEOUT, drain, io, &(struct timeval){ 0, 20000 }))
        event_base_loopexit(io->base, NULL);
}

static void on_stop_pipe(evutil_socket_t fd, short what, void *arg)
{
    gw_server_t *s = arg;
    char c;
    (void)!read(fd, &c, 1);
    /* graceful: stop accepting on every thread, let the requests under way finish */
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < s->nio; i++)
        event_base_once(s->io[i].base, -1, EV_TIMEOUT, drain, &s->io[i], &(struct timeval){ 0, 200000 });
}

static void loop_exit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

/* A start that failed part way: the threads already running (the first nio_running I/O
 * threads, pool->n workers of each pool) end, then the sockets, loops and the rest go. */
static void start_failed(gw_server_t *s, int nio_running)
{
    for (int i = 0; i < nio_running; i++) { /* from inside the loop: a break before it runs would be lost */
        event_base_once(s->io[i].base, -1, EV_TIMEOUT, loop_exit, s->io[i].base, &(struct timeval){ 0, 0 });
        pthread_join(s->io[i].tid, NULL);
    }
    __atomic_store_n(&s->workers_exit, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < POOL_COUNT; k++) {
        pool_t *p = &s->pool[k];
        pthread_mutex_lock(&p->lock);
        while (p->idle)
            wake_one(p);
        pthread_mutex_unlock(&p->lock);
        for (int i = 0; i < p->n; i++)
            pthread_join(p->threads[i], NULL);
    }
    gw_server_free(s);
}

gw_server_t *gw_server_start(const gw_server_opts_t *opts, const gw_server_hooks_t *hooks,
                             const gw_route_t *const *tables, char *err, size_t errlen)
{
    static int threads_ready;
    if (!threads_ready) {
        evthread_use_pthreads();
        threads_ready = 1;
    }
    gw_server_t *s = gw_xcalloc(1, sizeof(*s));
    s->opts = *opts;
    s->hooks = *hooks;
    s->app = hooks->ctx;
    s->nio = opts->io_threads;
    s->pool[POOL_LOCAL].n = opts->workers;
    s->pool[POOL_LOCAL].max_len = MAX_QUEUE;
    s->pool[POOL_UPSTREAM].n = opts->upstream_workers;
    /* an upstream job queued behind more than 8 rounds of the pool's threads would wait
     * for seconds more than any citizen does (or the 30 s a connection may idle): a 503 page at once */
    s->pool[POOL_UPSTREAM].max_len = (size_t)(opts->upstream_workers < 8 ? 8 : opts->upstream_workers) * 8;
    for (int k = 0; k < POOL_COUNT; k++) {
        s->pool[k].srv = s;
        pthread_mutex_init(&s->pool[k].lock, NULL);
    }
    pthread_mutex_init(&s->peers_lock, NULL);
    if (pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        free(s);
        return NULL;
    }
    if (check_port_free(opts->listen_host, opts->listen_port, err, errlen)) {
        close(s->stop_pipe[0]);
        close(s->stop_pipe[1]);
        free(s);
        return NULL;
    }
    routes_init(s, tables);
    s->io = gw_xcalloc((size_t)s->nio, sizeof(io_thread_t));
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    for (int i = 0; i < s->nio; i++)
        s->io[i].fd = -1;
    for (int i = 0; i < s->nio; i++) {
        io_thread_t *io = &s->io[i];
        io->srv = s;
        io->fd = listen_socket(opts->listen_host, opts->listen_port, err, errlen);
        if (io->fd < 0) {
            event_config_free(ec);
            start_failed(s, 0);
            return NULL;
        }
        io->base = event_base_new_with_config(ec);
        io->listen_ev = io->base ? event_new(io->base, io->fd, EV_READ | EV_PERSIST, on_accept, io) : NULL;
        io->resume_ev = io->base ? evtimer_new(io->base, resume_accept, io) : NULL;
        io->fetch = io->base ? gw_fetch_loop_new(io->base, 256) : NULL;
        if (!io->listen_ev || !io->resume_ev || !io->fetch || event_add(io->listen_ev, NULL)) {
            snprintf(err, errlen, "cannot set up the event loop");
            event_config_free(ec);
            start_failed(s, 0);
            return NULL;
        }
        if (i == 0) {
            s->stop_ev = event_new(io->base, s->stop_pipe[0], EV_READ, on_stop_pipe, s);
            event_add(s->stop_ev, NULL);
        }
    }
    event_config_free(ec);
    int rc = 0;
    for (int k = 0; k < POOL_COUNT; k++)
        s->pool[k].threads = gw_xcalloc((size_t)s->pool[k].n, sizeof(pthread_t));
    int started[POOL_COUNT] = { 0 }, io_started = 0;
    for (int k = 0; k < POOL_COUNT && !rc; k++)
        while (!rc && started[k] < s->pool[k].n)
            if (!(rc = pthread_create(&s->pool[k].threads[started[k]], NULL, worker_main, &s->pool[k])))
                started[k]++;
    while (!rc && io_started < s->nio)
        if (!(rc = pthread_create(&s->io[io_started].tid, NULL, io_main, &s->io[io_started])))
            io_started++;
    if (rc) {
        snprintf(err, errlen, "cannot start threads: %s", strerror(rc));
        for (int k = 0; k < POOL_COUNT; k++)
            s->pool[k].n = started[k];
        start_failed(s, io_started);
        return NULL;
    }
    return s;
}

void gw_server_request_stop(gw_server_t *s)
{
    char c = 1;
    (void)!write(s->stop_pipe[1], &c, 1);
}

void gw_server_wait(gw_server_t *s)
{
    /* thread 0 exits first (it owns the stop pipe); then the others */
    for (int i = 0; i < s->nio; i++)
        pthread_join(s->io[i].tid, NULL);
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&s->workers_exit, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < POOL_COUNT; k++) {
        pool_t *p = &s->pool[k];
        pthread_mutex_lock(&p->lock); /* every idle worker wakes, sees the exit and leaves */
        while (p->idle)
            wake_one(p);
        pthread_mutex_unlock(&p->lock);
    }
    for (int k = 0; k < POOL_COUNT; k++)
        for (int i = 0; i < s->pool[k].n; i++)
            pthread_join(s->pool[k].threads[i], NULL);
    /* jobs finished after their I/O loop stopped: run their completions now, and give
     * the answers a moment to be written (one pass only queues them) */
    for (int i = 0; i < s->nio; i++) {
        event_base_loopexit(s->io[i].base, &(struct timeval){ 0, 100000 });
        event_base_dispatch(s->io[i].base);
    }
}

void gw_server_free(gw_server_t *s)
{
    if (!s)
        return;
    if (s->stop_ev)
        event_free(s->stop_ev);
    for (int i = 0; i < s->nio; i++) {
        io_thread_t *io = &s->io[i];
        while (io->conns) {
            io->conns->processing = 0;
            conn_free(io->conns);
        }
        if (io->listen_ev)
            event_free(io->listen_ev);
        if (io->resume_ev)
            event_free(io->resume_ev);
        gw_fetch_loop_free(s->io[i].fetch);
        if (s->io[i].base)
            event_base_free(s->io[i].base);
        if (s->io[i].fd >= 0)
            close(s->io[i].fd);
    }
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    free(s->io);
    for (int k = 0; k < POOL_COUNT; k++) {
        free(s->pool[k].threads);
        pthread_mutex_destroy(&s->pool[k].lock);
    }
    pthread_mutex_destroy(&s->peers_lock); /* every connection gave its place back above */
    free(s->routes);
    free(s->runs_inline);
    free(s->metrics);
    free(s);
}
void gw_error_json(gw_resp_t *resp, int status, const char *error, const char *description)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(error));
    if (description)
        json_object_set_new(o, "error_description", json_string(description));
    gw_resp_json(resp, status, o);
    gw_resp_header(resp, "Pragma", "no-cache");
}
