/* Unit tests for gw_http, the HTTP server: a real server on 127.0.0.1 with a small route
 * table of the test's own and a refusal hook that records what it was asked, talked to
 * over plain sockets. Routing (404, 405 with Allow), which pool runs a handler, the
 * refusal hook's page or JSON, body and head limits (413, 431), HEAD, chunked and
 * Expect: 100-continue bodies, keep-alive and pipelined requests, Connection: close, a
 * handler that continues after an outgoing call, and a clean stop (no leaks under ASan).
 * The 30 s idle deadline is a constant of the server, not an option: not tested here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gw_http.h"
#include "gw_log.h"

#define MAX_BODY 1024
#define MAX_HEADERS 4096
#define MAX_URI 2048

/* ------------------------------------------------------------------ what the hook saw */

static struct {
    int calls, status, had_route, json;
    char path[64];
} g_refused;

static void on_refusal(struct gw_ctx *ctx, gw_req_t *req, gw_resp_t *resp, int status, const gw_route_t *route)
{
    (void)ctx;
    g_refused.calls++;
    g_refused.status = status;
    g_refused.had_route = route != NULL;
    g_refused.json = route && route->json;
    snprintf(g_refused.path, sizeof(g_refused.path), "%s", route ? route->path : req->path ? req->path : "");
    if (g_refused.json)
        gw_error_json(resp, status, "refused", NULL);
    else
        gw_resp_text(resp, status, "text/html; charset=utf-8", "<p>refused</p>");
}

/* ------------------------------------------------------------------ the routes */

static char g_self_url[64]; /* /hello of the server under test */

static void h_hello(struct gw_ctx *app, gw_req_t *req, gw_resp_t *resp)
{
    (void)app;
    (void)req;
    gw_resp_text(resp, 200, "text/plain", "hello");
}

/* where it ran, and the body and form field "a" it got */
static void h_echo(struct gw_ctx *app, gw_req_t *req, gw_resp_t *resp)
{
    (void)app;
    char *s = gw_sprintf("%s|%d|a=%s|%s", req->ran_on ? req->ran_on : "io", req->on_io_thread,
                         gw_form_get(&req->form, "a") ? gw_form_get(&req->form, "a") : "-", req->body ? req->body : "");
    gw_resp_text(resp, 200, "text/plain", s);
    free(s);
}

static void h_api(struct gw_ctx *app, gw_req_t *req, gw_resp_t *resp)
{
    (void)app;
    gw_resp_json(resp, 200, json_pack("{s:s}", "q", gw_form_get(&req->q, "q") ? gw_form_get(&req->q, "q") : ""));
}

static void h_call_done(struct gw_ctx *app, gw_req_t *req, gw_resp_t *resp)
{
    (void)app;
    char *s = gw_sprintf("%s|%ld|%s|calls=%d", req->ran_on, req->result->status,
                         req->result->body ? req->result->body : "", req->calls);
    gw_resp_text(resp, 200, "text/plain", s);
    free(s);
}

static void h_call(struct gw_ctx *app, gw_req_t *req, gw_resp_t *resp)
{
    (void)app;
    (void)resp;
    gw_outcall_t c = { .url = g_self_url, .timeout_ms = 3000 };
    gw_req_call(req, &c, h_call_done, GW_RUN_LOCAL);
}

static const gw_route_t g_routes[] = {
    { .methods = GW_M_GET | GW_M_HEAD, .path = "/hello", .fn = h_hello, .is_inline = 1 },
    { .methods = GW_M_GET | GW_M_POST, .path = "/echo", .fn = h_echo },
    { .methods = GW_M_POST, .path = "/echo-upstream", .fn = h_echo, .waits_upstream = gw_route_always },
    { .methods = GW_M_POST, .path = "/api", .fn = h_api, .json = 1 },
    { .methods = GW_M_GET, .path = "/call", .fn = h_call, .calls_out = 1 },
    { 0 },
};
static const gw_route_t *const g_tables[] = { g_routes, NULL };

/* ------------------------------------------------------------------ the fixture */

typedef struct fixture {
    gw_server_t *srv;
    int port;
} fixture_t;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f || (f->port = free_port()) < 0) {
        free(f);
        return -1;
    }
    memset(&g_refused, 0, sizeof(g_refused));
    snprintf(g_self_url, sizeof(g_self_url), "http://127.0.0.1:%d/hello", f->port);
    gw_server_opts_t o = {
        .listen_host = "127.0.0.1",
        .listen_port = f->port,
        .io_threads = 1,
        .workers = 2,
        .upstream_workers = 1,
        .max_waiting = 16,
        .max_uri = MAX_URI,
        .max_headers = MAX_HEADERS,
        .max_body = MAX_BODY,
    };
    gw_server_hooks_t hk = { .refusal = on_refusal };
    char err[256] = "";
    f->srv = gw_server_start(&o, &hk, g_tables, err, sizeof(err));
    if (!f->srv) {
        fprintf(stderr, "gw_server_start: %s\n", err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gw_server_request_stop(f->srv);
    gw_server_wait(f->srv);
    gw_server_free(f->srv);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ the client */

typedef struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
} client_t;

typedef struct answer {
    int status;
    char *head; /* the status line and fields, through the empty line */
    char *body;
    size_t blen;
} answer_t;

static client_t *client_open(const fixture_t *f)
{
    client_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct timeval tv = { 5, 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return c;
}

static void client_close(client_t *c)
{
    close(c->fd);
    free(c);
}

static void send_all(client_t *c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void sends(client_t *c, const char *s) { send_all(c, s, strlen(s)); }

/* more bytes into c->buf: 0 at the end of the stream */
static ssize_t fill(client_t *c)
{
    assert_true(c->len < sizeof(c->buf));
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

static void take(client_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* the value of a field in an answer's head (a new string), or NULL */
static char *field_of(const answer_t *a, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(a->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2;
        if (!strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            return gw_strndup(v, (size_t)(e - v));
        }
    }
    return NULL;
}

/* One answer: its head, then Content-Length bytes of body (none for HEAD). */
static answer_t read_answer(client_t *c, int is_head)
{
    answer_t a = { 0 };
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (fill(c) <= 0)
            fail_msg("the connection ended before an answer (%zu bytes)", c->len);
    size_t hl = (size_t)(end - c->buf) + 4;
    a.head = gw_strndup(c->buf, hl);
    assert_int_equal(sscanf(a.head, "HTTP/1.1 %d ", &a.status), 1);
    take(c, hl);
    char *cl = field_of(&a, "Content-Length");
    assert_non_null(cl);
    a.blen = is_head ? 0 : strtoul(cl, NULL, 10);
    free(cl);
    while (c->len < a.blen)
        if (fill(c) <= 0)
            fail_msg("the connection ended inside a body");
    a.body = gw_strndup(c->buf, a.blen);
    take(c, a.blen);
    return a;
}

static void answer_cleanup(answer_t *a)
{
    free(a->head);
    free(a->body);
}

static void assert_field_is(const answer_t *a, const char *name, const char *want)
{
    char *v = field_of(a, name);
    if (!v)
        fail_msg("no %s in:\n%s", name, a->head);
    assert_string_equal(v, want);
    free(v);
}

static void assert_closed(client_t *c)
{
    char b[256];
    ssize_t n;
    while ((n = recv(c->fd, b, sizeof(b), 0)) > 0)
        ;
    assert_int_equal(n, 0);
}

/* one request on a new connection, closed after its answer */
static answer_t exchange(const fixture_t *f, const char *request)
{
    client_t *c = client_open(f);
    sends(c, request);
    answer_t a = read_answer(c, !strncmp(request, "HEAD ", 5));
    client_close(c);
    return a;
}

/* one request on a new connection: its answer has this status (and body, unless NULL) */
static void expect(const fixture_t *f, const char *request, int status, const char *body)
{
    answer_t a = exchange(f, request);
    assert_int_equal(a.status, status);
    if (body)
        assert_string_equal(a.body, body);
    answer_cleanup(&a);
}

/* one request on a new connection: answered with status and Connection: close, then the
 * connection ends (what came after the request is not read) */
static void expect_closing(const fixture_t *f, const char *request, int status)
{
    client_t *c = client_open(f);
    sends(c, request);
    answer_t a = read_answer(c, 0);
    assert_int_equal(a.status, status);
    assert_field_is(&a, "Connection", "close");
    assert_closed(c);
    answer_cleanup(&a);
    client_close(c);
}

/* ------------------------------------------------------------------ routing */

static void test_inline_route_answers_with_the_security_fields(void **state)
{
    fixture_t *f = *state;
    answer_t a = exchange(f, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "hello");
    assert_field_is(&a, "Content-Length", "5");
    assert_field_is(&a, "Content-Type", "text/plain");
    assert_field_is(&a, "X-Content-Type-Options", "nosniff");
    assert_field_is(&a, "Referrer-Policy", "no-referrer");
    assert_field_is(&a, "Cache-Control", "no-store");
    assert_null(field_of(&a, "Connection"));
    assert_int_equal(g_refused.calls, 0);
    answer_cleanup(&a);
}

static void test_head_has_the_length_and_no_body(void **state)
{
    fixture_t *f = *state;
    client_t *c = client_open(f);
    sends(c, "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
    answer_t a = read_answer(c, 1);
    assert_int_equal(a.status, 200);
    assert_field_is(&a, "Content-Length", "5");
    answer_t b = read_answer(c, 0); /* right after the head: nothing came between */
    assert_int_equal(b.status, 200);
    assert_string_equal(b.body, "hello");
    answer_cleanup(&a);
    answer_cleanup(&b);
    client_close(c);
}

static void test_unknown_path_is_404_through_the_hook(void **state)
{
    fixture_t *f = *state;
    answer_t a = exchange(f, "GET /nowhere?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(a.status, 404);
    assert_int_equal(g_refused.calls, 1);
    assert_int_equal(g_refused.status, 404);
    assert_int_equal(g_refused.had_route, 0);
    assert_string_equal(g_refused.path, "/nowhere");
    assert_string_equal(a.body, "<p>refused</p>");
    assert_field_is(&a, "Content-Type", "text/html; charset=utf-8");
    assert_field_is(&a, "X-Frame-Options", "DENY"); /* a page gets the page fields */
    answer_cleanup(&a);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    fixture_t *f = *state;
    answer_t a = exchange(f, "POST /hello HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(a.status, 405);
    assert_field_is(&a, "Allow", "GET, HEAD");
    assert_int_equal(g_refused.status, 405);
    assert_string_equal(g_refused.path, "/hello");
    assert_int_equal(g_refused.json, 0);
    answer_cleanup(&a);

    a = exchange(f, "GET /api HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(a.status, 405);
    assert_field_is(&a, "Allow", "POST");
    assert_int_equal(g_refused.calls, 2);
    assert_int_equal(g_refused.json, 1); /* a JSON route's refusals are JSON */
    assert_field_is(&a, "Content-Type", "application/json");
    assert_string_equal(a.body, "{\"error\":\"refused\"}");
    answer_cleanup(&a);

    a = exchange(f, "DELETE /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(a.status, 405);
    assert_field_is(&a, "Allow", "GET, HEAD, POST");
    answer_cleanup(&a);
}

static void test_handlers_run_on_the_pool_their_route_names(void **state)
{
    fixture_t *f = *state;
    expect(f,
           "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: 9\r\n\r\na=x%20y&b",
           200, "local|0|a=x y|a=x%20y&b");
    expect(f, "POST /echo-upstream HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 200, "upstream|0|a=-|abc");
    expect(f, "POST /api?q=%C3%A9 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 200, "{\"q\":\"\xc3\xa9\"}");
    assert_int_equal(g_refused.calls, 0);
}

static void test_bad_form_body_and_bad_query_are_400(void **state)
{
    fixture_t *f = *state;
    answer_t a = exchange(f, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                             "Content-Length: 4\r\n\r\na=%G");
    assert_int_equal(a.status, 400);
    assert_int_equal(g_refused.status, 400);
    assert_string_equal(g_refused.path, "/echo");
    answer_cleanup(&a);
    expect(f, "GET /echo?a=%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400, NULL);
    expect(f, "GET /echo#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, NULL);
    expect(f, "GET echo HTTP/1.1\r\nHost: h\r\n\r\n", 400, NULL); /* not an origin-form target */
    assert_int_equal(g_refused.calls, 4);
}

/* ------------------------------------------------------------------ limits */

static char *post_of(const char *path, size_t blen)
{
    char *body = gw_xmalloc(blen + 1);
    memset(body, 'x', blen);
    body[blen] = 0;
    char *r = gw_sprintf("POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n%s", path, blen, body);
    free(body);
    return r;
}

static void test_body_over_max_body_is_413_through_the_hook(void **state)
{
    fixture_t *f = *state;
    char *ok = post_of("/api", MAX_BODY), *over = post_of("/api", MAX_BODY + 1);
    expect(f, ok, 200, NULL);
    client_t *c = client_open(f);
    sends(c, over);
    answer_t a = read_answer(c, 0);
    assert_int_equal(a.status, 413);
    assert_int_equal(g_refused.status, 413);
    assert_string_equal(g_refused.path, "/api");
    assert_int_equal(g_refused.json, 1);
    assert_string_equal(a.body, "{\"error\":\"refused\"}");
    answer_cleanup(&a);
    /* read whole and refused: the connection can go on */
    sends(c, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
    a = read_answer(c, 0);
    assert_int_equal(a.status, 200);
    answer_cleanup(&a);
    client_close(c);
    free(ok);
    free(over);
}

static void test_huge_content_length_is_413_and_closes(void **state)
{
    fixture_t *f = *state;
    expect_closing(f, "POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999\r\n\r\n", 413);
    assert_int_equal(g_refused.status, 413);
}

static void test_fields_over_max_headers_are_431(void **state)
{
    fixture_t *f = *state;
    char big[MAX_HEADERS + 1];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    /* over max_headers, within the head's cap: built and refused through the hook */
    char *req = gw_sprintf("GET /hello HTTP/1.1\r\nHost: h\r\nX-Big: %s\r\n\r\n", big);
    answer_t a = exchange(f, req);
    assert_int_equal(a.status, 431);
    assert_int_equal(g_refused.status, 431);
    assert_string_equal(g_refused.path, "/hello");
    answer_cleanup(&a);
    free(req);
    /* a head beyond the cap: refused as it is read, and the connection closes */
    req = gw_sprintf("GET /hello HTTP/1.1\r\nHost: h\r\nX-1: %s\r\nX-2: %s\r\nX-3: %s\r\n\r\n", big, big, big);
    expect_closing(f, req, 431);
    free(req);
}

static void test_uri_over_max_uri_is_414(void **state)
{
    fixture_t *f = *state;
    char *req = gw_sprintf("GET /hello?x=%0*d HTTP/1.1\r\nHost: h\r\n\r\n", MAX_URI, 0);
    answer_t a = exchange(f, req);
    assert_int_equal(a.status, 414);
    assert_int_equal(g_refused.status, 414);
    answer_cleanup(&a);
    free(req);
}

static void test_malformed_head_is_400_and_closes(void **state)
{
    fixture_t *f = *state;
    expect_closing(f,
                   "GET /hello HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nGET /hello "
                   "HTTP/1.1\r\nHost: h\r\n\r\n",
                   400);
    assert_int_equal(g_refused.calls, 1); /* the request after it was not read */

    expect(f, "GET /hello HTTP/2.0\r\n\r\n", 505, NULL);
    expect(f, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, NULL);
}

/* ------------------------------------------------------------------ bodies */

static void test_chunked_body_reaches_the_handler_decoded(void **state)
{
    fixture_t *f = *state;
    expect(f,
           "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n",
           200, "local|0|a=-|abcdefg");
}

static void test_expect_continue_gets_100_before_the_body(void **state)
{
    fixture_t *f = *state;
    client_t *c = client_open(f);
    sends(c, "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    while (c->len < sizeof(cont) - 1)
        assert_true(fill(c) > 0);
    assert_memory_equal(c->buf, cont, sizeof(cont) - 1);
    take(c, sizeof(cont) - 1);
    sends(c, "body");
    answer_t a = read_answer(c, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "local|0|a=-|body");
    answer_cleanup(&a);
    client_close(c);
}

static void test_body_in_pieces_is_waited_for(void **state)
{
    fixture_t *f = *state;
    client_t *c = client_open(f);
    sends(c, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc");
    usleep(50000);
    sends(c, "def");
    answer_t a = read_answer(c, 0);
    assert_string_equal(a.body, "local|0|a=-|abcdef");
    answer_cleanup(&a);
    client_close(c);
}

/* ------------------------------------------------------------------ connections */

static void test_keep_alive_serves_requests_one_after_another(void **state)
{
    fixture_t *f = *state;
    client_t *c = client_open(f);
    for (int i = 0; i < 3; i++) {
        sends(c, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
        answer_t a = read_answer(c, 0);
        assert_int_equal(a.status, 200);
        assert_string_equal(a.body, "hello");
        answer_cleanup(&a);
    }
    /* HTTP/1.0 with keep-alive too */
    sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    answer_t a = read_answer(c, 0);
    assert_null(field_of(&a, "Connection"));
    answer_cleanup(&a);
    client_close(c);
}

static void test_pipelined_requests_are_answered_in_order(void **state)
{
    fixture_t *f = *state;
    client_t *c = client_open(f);
    sends(c, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\none"
             "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
             "POST /echo-upstream HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nthree"
             "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n"
             "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    static const char *const want[] = { "local|0|a=-|one", "hello", "upstream|0|a=-|three", "<p>refused</p>", "hello" };
    for (size_t i = 0; i < 5; i++) {
        answer_t a = read_answer(c, 0);
        assert_string_equal(a.body, want[i]);
        answer_cleanup(&a);
    }
    assert_closed(c);
    client_close(c);
}

static void test_connection_close_and_http_1_0_close_after_the_answer(void **state)
{
    fixture_t *f = *state;
    expect_closing(f, "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 200);
    expect_closing(f, "GET /hello HTTP/1.0\r\n\r\n", 200);
}

/* ------------------------------------------------------------------ continuing after a call */

static void test_handler_continues_after_an_outgoing_call(void **state)
{
    fixture_t *f = *state;
    answer_t a = exchange(f, "GET /call HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(a.status, 200);
    /* the call went to /hello of this very server, on the I/O thread's loop; the next
     * step ran on the local pool with its answer */
    assert_string_equal(a.body, "local|200|hello|calls=1");
    answer_cleanup(&a);
    /* no longer counted as waiting once answered (just after the answer is written) */
    json_t *pools = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(pools);
        pools = gw_server_pools(f->srv);
        if (!json_integer_value(json_object_get(json_object_get(pools, "io"), "waiting")))
            break;
        usleep(10000);
    }
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pools, "io"), "waiting")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pools, "local"), "threads")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pools, "upstream"), "threads")), 1);
    json_decref(pools);
}

/* ------------------------------------------------------------------ start and stop */

/* The descriptors this process has open (and the highest of them in *top). */
static int open_fds(int *top)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0, self = dirfd(d);
    *top = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        n++;
        if (atoi(e->d_name) > *top)
            *top = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static gw_server_opts_t small_opts(const char *host, int port, int io_threads)
{
    return (gw_server_opts_t){ .listen_host = host,
                               .listen_port = port,
                               .io_threads = io_threads,
                               .workers = 1,
                               .upstream_workers = 1,
                               .max_waiting = 1,
                               .max_uri = 100,
                               .max_headers = 100,
                               .max_body = 100 };
}

static void test_a_port_in_use_is_refused_at_start(void **state)
{
    fixture_t *f = *state;
    gw_server_opts_t o = small_opts("127.0.0.1", f->port, 1);
    gw_server_hooks_t hk = { 0 };
    char err[256] = "";
    assert_null(gw_server_start(&o, &hk, g_tables, err, sizeof(err)));
    char *want = gw_sprintf("listen 127.0.0.1:%d: ", f->port);
    assert_true(!strncmp(err, want, strlen(want)));
    free(want);
}

/* IPv6 and names are not listened on: refused by name before any socket is opened (not
 * a bind of 0.0.0.0 in their place). */
static void test_a_listen_host_that_is_not_ipv4_is_refused_at_start(void **state)
{
    (void)state;
    int port = free_port(), top;
    assert_true(port > 0);
    static const char *bad[] = { "::1", "sso.example.vn", "127.0.0.256", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int before = open_fds(&top);
        gw_server_opts_t o = small_opts(bad[i], port, 2);
        gw_server_hooks_t hk = { 0 };
        char err[256] = "";
        assert_null(gw_server_start(&o, &hk, g_tables, err, sizeof(err)));
        char *want = gw_sprintf("listen: '%s' is not an IPv4 address", bad[i]);
        assert_string_equal(err, want);
        free(want);
        assert_int_equal(open_fds(&top), before);
    }
}

static void test_stop_closes_the_listener(void **state)
{
    fixture_t *f = *state;
    client_t *idle = client_open(f); /* an idle connection does not hold up the stop */
    gw_server_request_stop(f->srv);
    gw_server_wait(f->srv);
    assert_true(gw_server_stopping(f->srv));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    gw_server_free(f->srv);
    assert_closed(idle);
    client_close(idle);
    f->srv = NULL;
}

static int teardown_stopped(void **state)
{
    fixture_t *f = *state;
    if (f->srv)
        return teardown(state);
    free(f);
    return 0;
}

int main(void)
{
    gw_log_set_level(GW_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inline_route_answers_with_the_security_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_has_the_length_and_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_is_404_through_the_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method_is_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handlers_run_on_the_pool_their_route_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_form_body_and_bad_query_are_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_max_body_is_413_through_the_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_content_length_is_413_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_over_max_headers_are_431, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri_over_max_uri_is_414, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_head_is_400_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body_reaches_the_handler_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue_gets_100_before_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_in_pieces_is_waited_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_serves_requests_one_after_another, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_requests_are_answered_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_close_and_http_1_0_close_after_the_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_continues_after_an_outgoing_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_port_in_use_is_refused_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_closes_the_listener, setup, teardown_stopped),
        cmocka_unit_test(test_a_listen_host_that_is_not_ipv4_is_refused_at_start),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
