/* Unit tests for gw_fetch, the outgoing calls: blocking (gw_http_call, gw_http_call_type,
 * gw_fetch_body) and on an event loop (gw_fetch_start), against a tiny HTTP server of the
 * test's own on 127.0.0.1 (one thread, one connection at a time, canned answers per path)
 * that keeps the last request it read. What is sent (method, Accept, Basic auth encoded
 * per RFC 6749 2.3.1, Bearer, content types, bodies), non-2xx answers, the timeout, the
 * 1 MiB cap on an answer, refused connections, no redirects and no other schemes. The
 * bodies come back as they are: parsing them (JSON) is the callers'. */
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
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_fetch.h"
#include "gw_test_app.h"
#include "gw_util.h"

#define MIB (1u << 20)

/* ------------------------------------------------------------------ the peer */

static struct {
    int fd, port;
    pthread_t tid;
    pthread_mutex_t lock;
    char *last; /* the last request, head and body */
} g_peer;

static const char JSON_BODY[] = "{\"keys\":[]}";

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void answer(int fd, const char *status, const char *ctype, const char *body)
{
    char *r = gw_sprintf("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         status, ctype, strlen(body), body);
    send_all(fd, r, strlen(r));
    free(r);
}

/* n bytes of body, with a Content-Length or chunked */
static void answer_big(int fd, size_t n, int chunked)
{
    char *head = chunked ? gw_sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                         : gw_sprintf("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", n);
    int rc = send_all(fd, head, strlen(head));
    free(head);
    char block[16384];
    memset(block, 'x', sizeof(block));
    while (!rc && n) {
        size_t k = n < sizeof(block) ? n : sizeof(block);
        if (chunked) {
            char sz[16];
            snprintf(sz, sizeof(sz), "%zx\r\n", k);
            rc = send_all(fd, sz, strlen(sz));
        }
        rc = rc ? rc : send_all(fd, block, k);
        if (!rc && chunked)
            rc = send_all(fd, "\r\n", 2);
        n -= k;
    }
    if (!rc && chunked)
        send_all(fd, "0\r\n\r\n", 5);
}

/* reads one request (head and Content-Length body) into a new string, NULL at the end */
static char *read_request(int fd)
{
    gw_buf_t b;
    gw_buf_init(&b, 4 * MIB);
    char tmp[4096];
    size_t want = 0;
    for (;;) {
        char *end = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
        if (end && !want) {
            const char *cl = strcasestr(b.data, "\r\nContent-Length:");
            want = (size_t)(end - b.data) + 4 + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (want && b.len >= want)
            return gw_buf_steal(&b);
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0) {
            gw_buf_cleanup(&b);
            return NULL;
        }
        gw_buf_add(&b, tmp, (size_t)n);
    }
}

static void serve(int fd, const char *req)
{
    char path[128] = "";
    sscanf(req, "%*s %127s", path);
    if (!strcmp(path, "/ok") || !strcmp(path, "/echo"))
        answer(fd, "200 OK", "application/json", JSON_BODY);
    else if (!strcmp(path, "/not-json"))
        answer(fd, "200 OK", "text/html", "<html>oops</html>");
    else if (!strcmp(path, "/busy"))
        answer(fd, "503 Service Unavailable", "application/json", "{\"error\":\"busy\"}");
    else if (!strcmp(path, "/redirect"))
        answer(fd, "302 Found\r\nLocation: /ok", "text/plain", "");
    else if (!strcmp(path, "/exact-cap"))
        answer_big(fd, MIB, 0);
    else if (!strcmp(path, "/over-cap"))
        answer_big(fd, MIB + 1, 0);
    else if (!strcmp(path, "/over-cap-chunked"))
        answer_big(fd, 2 * MIB, 1);
    else if (!strcmp(path, "/silent")) { /* no answer: wait until the caller gives up */
        char sink[256];
        while (recv(fd, sink, sizeof(sink), 0) > 0)
            ;
    } else if (!strcmp(path, "/hang-up")) {
        /* closes with no answer */
    } else
        answer(fd, "404 Not Found", "text/plain", "no");
}

static void *peer_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(g_peer.fd, NULL, NULL);
        if (c < 0)
            return NULL; /* the listener was shut down */
        char *req = read_request(c);
        if (req) {
            pthread_mutex_lock(&g_peer.lock);
            free(g_peer.last);
            g_peer.last = gw_strdup(req);
            pthread_mutex_unlock(&g_peer.lock);
            serve(c, req);
        }
        free(req);
        close(c);
    }
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&g_peer.lock, NULL);
    if ((g_peer.fd = gw_test_listen(&g_peer.port)) < 0)
        return -1;
    return pthread_create(&g_peer.tid, NULL, peer_main, NULL) ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    shutdown(g_peer.fd, SHUT_RDWR);
    pthread_join(g_peer.tid, NULL);
    close(g_peer.fd);
    free(g_peer.last);
    pthread_mutex_destroy(&g_peer.lock);
    gw_http_thread_cleanup();
    curl_global_cleanup();
    return 0;
}

/* ------------------------------------------------------------------ helpers */

static char *url(const char *path) { return gw_sprintf("http://127.0.0.1:%d%s", g_peer.port, path); }

/* the last request the peer read (a new string) */
static char *last_request(void)
{
    pthread_mutex_lock(&g_peer.lock);
    char *s = gw_strdup(g_peer.last ? g_peer.last : "");
    pthread_mutex_unlock(&g_peer.lock);
    return s;
}

static void assert_sent(const char *part)
{
    char *r = last_request();
    if (!strstr(r, part))
        fail_msg("'%s' not in the request:\n%s", part, r);
    free(r);
}

static void assert_not_sent(const char *part)
{
    char *r = last_request();
    if (strstr(r, part))
        fail_msg("'%s' in the request:\n%s", part, r);
    free(r);
}

/* a blocking GET of path: its result code */
static int get(const char *path, long timeout_ms, gw_http_result_t *r)
{
    char *u = url(path);
    int rc = gw_http_call(u, NULL, NULL, NULL, NULL, NULL, timeout_ms, r);
    free(u);
    return rc;
}

/* ------------------------------------------------------------------ blocking calls */

static void test_get_returns_status_and_body(void **state)
{
    (void)state;
    gw_http_result_t r;
    assert_int_equal(get("/ok", 3000, &r), GW_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, strlen(JSON_BODY));
    assert_string_equal(r.body, JSON_BODY);
    assert_string_equal(r.error, "");
    assert_sent("GET /ok HTTP/1.1\r\n");
    assert_sent("\r\nAccept: application/json\r\n");
    assert_sent("\r\nUser-Agent: eidgw/");
    assert_not_sent("Authorization");
    gw_http_result_cleanup(&r);
    assert_null(r.body);
}

static void test_post_form_with_basic_auth_encodes_the_credentials(void **state)
{
    (void)state;
    gw_http_result_t r;
    char *u = url("/echo");
    assert_int_equal(
        gw_http_call(u, "grant_type=authorization_code&code=abc", "client id", "s:cr\xc3\xa9t", NULL, NULL, 3000, &r),
        GW_OK);
    assert_int_equal(r.status, 200);
    assert_sent("POST /echo HTTP/1.1\r\n");
    assert_sent("\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    assert_sent("\r\n\r\ngrant_type=authorization_code&code=abc");
    /* RFC 6749 2.3.1: form-encoded first, then Basic */
    char *enc_id = gw_form_encode("client id"), *enc = gw_form_encode("s:cr\xc3\xa9t");
    char *pair = gw_sprintf("%s:%s", enc_id, enc);
    assert_string_equal(pair, "client+id:s%3Acr%C3%A9t"); /* a space is '+', as in a form body */
    gw_buf_t want;
    gw_buf_init(&want, 0);
    /* base64 (standard alphabet): from base64url, with padding */
    char *b64 = gw_b64url_encode(pair, strlen(pair));
    for (char *p = b64; *p; p++)
        *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
    gw_buf_printf(&want, "\r\nAuthorization: Basic %s", b64);
    while ((want.len - 23) % 4)
        gw_buf_adds(&want, "=");
    gw_buf_adds(&want, "\r\n");
    assert_sent(want.data);
    gw_buf_cleanup(&want);
    free(b64);
    free(pair);
    free(enc);
    free(enc_id);
    free(u);
    gw_http_result_cleanup(&r);
}

static void test_bearer_and_json_body(void **state)
{
    (void)state;
    gw_http_result_t r;
    char *u = url("/echo");
    assert_int_equal(gw_http_call(u, NULL, NULL, NULL, "tok-123", "{\"a\":1}", 3000, &r), GW_OK);
    assert_sent("POST /echo HTTP/1.1\r\n");
    assert_sent("\r\nAuthorization: Bearer tok-123\r\n");
    assert_sent("\r\nContent-Type: application/json\r\n");
    assert_sent("\r\n\r\n{\"a\":1}");
    gw_http_result_cleanup(&r);
    /* the next call on this thread's handle carries none of it */
    assert_int_equal(get("/ok", 3000, &r), GW_OK);
    assert_not_sent("Authorization");
    assert_not_sent("Content-Type");
    gw_http_result_cleanup(&r);
    free(u);
}

static void test_call_type_sends_its_content_type(void **state)
{
    (void)state;
    gw_http_result_t r;
    char *u = url("/echo");
    assert_int_equal(gw_http_call_type(u, "eyJ.a.b", "application/secevent+jwt", 3000, &r), GW_OK);
    assert_int_equal(r.status, 200);
    assert_sent("\r\nContent-Type: application/secevent+jwt\r\n");
    assert_sent("\r\n\r\neyJ.a.b");
    gw_http_result_cleanup(&r);
    free(u);
}

static void test_non_2xx_is_an_answer_with_its_body(void **state)
{
    (void)state;
    gw_http_result_t r;
    assert_int_equal(get("/busy", 3000, &r), GW_OK);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"error\":\"busy\"}");
    gw_http_result_cleanup(&r);
    assert_int_equal(get("/redirect", 3000, &r), GW_OK);
    assert_int_equal(r.status, 302); /* not followed */
    assert_int_equal(r.len, 0);
    gw_http_result_cleanup(&r);
    assert_int_equal(get("/not-json", 3000, &r), GW_OK);
    assert_string_equal(r.body, "<html>oops</html>"); /* as it came */
    gw_http_result_cleanup(&r);
}

static void test_timeout_gives_no_status(void **state)
{
    (void)state;
    gw_http_result_t r;
    double t0 = gw_now_ms();
    assert_int_equal(get("/silent", 300, &r), GW_EUPSTREAM);
    double took = gw_now_ms() - t0;
    assert_int_equal(r.status, 0);
    assert_string_equal(r.error, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
    assert_true(took >= 250 && took < 2000);
    gw_http_result_cleanup(&r);
}

static void test_no_answer_and_no_server_give_no_status(void **state)
{
    (void)state;
    gw_http_result_t r;
    assert_int_equal(get("/hang-up", 3000, &r), GW_EUPSTREAM);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.error, curl_easy_strerror(CURLE_GOT_NOTHING));
    gw_http_result_cleanup(&r);
    /* port 9 on loopback: nobody listens */
    assert_int_equal(gw_http_call("http://127.0.0.1:9/", NULL, NULL, NULL, NULL, NULL, 3000, &r), GW_EUPSTREAM);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.error, curl_easy_strerror(CURLE_COULDNT_CONNECT));
    gw_http_result_cleanup(&r);
}

static void test_answers_are_capped_at_one_mib(void **state)
{
    (void)state;
    gw_http_result_t r;
    assert_int_equal(get("/exact-cap", 5000, &r), GW_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, MIB);
    gw_http_result_cleanup(&r);
    assert_int_equal(get("/over-cap", 5000, &r), GW_EUPSTREAM); /* refused from its Content-Length */
    assert_int_equal(r.status, 0);
    assert_string_equal(r.error, curl_easy_strerror(CURLE_FILESIZE_EXCEEDED));
    gw_http_result_cleanup(&r);
    assert_int_equal(get("/over-cap-chunked", 5000, &r), GW_EUPSTREAM); /* cut off while read */
    assert_int_equal(r.status, 0);
    assert_true(r.len <= MIB);
    gw_http_result_cleanup(&r);
}

static void test_only_http_and_https(void **state)
{
    (void)state;
    gw_http_result_t r;
    assert_int_equal(gw_http_call("file:///etc/hostname", NULL, NULL, NULL, NULL, NULL, 1000, &r), GW_EUPSTREAM);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.error, curl_easy_strerror(CURLE_UNSUPPORTED_PROTOCOL));
    gw_http_result_cleanup(&r);
}

static void test_fetch_body_takes_a_200_only(void **state)
{
    (void)state;
    char err[160] = "";
    char *u = url("/ok");
    char *b = gw_fetch_body(u, err, sizeof(err));
    assert_non_null(b);
    assert_string_equal(b, JSON_BODY);
    free(b);
    free(u);
    u = url("/busy");
    assert_null(gw_fetch_body(u, err, sizeof(err)));
    assert_string_equal(err, "bad status or body");
    free(u);
    assert_null(gw_fetch_body("http://127.0.0.1:9/jwks", err, sizeof(err)));
    assert_string_equal(err, curl_easy_strerror(CURLE_COULDNT_CONNECT));
}

/* ------------------------------------------------------------------ on an event loop */

typedef struct loop_call {
    struct event_base *base;
    int done, started; /* done: calls ended; started: set once gw_fetch_start returned */
    int done_inside_start;
} loop_call_t;

static void on_done(void *arg)
{
    loop_call_t *lc = arg;
    if (!lc->started)
        lc->done_inside_start = 1;
    if (++lc->done == 2)
        event_base_loopbreak(lc->base);
}

/* two calls at once on one loop, run until both ended */
static void run_two(const gw_outcall_t *a, gw_http_result_t *ra, const gw_outcall_t *b, gw_http_result_t *rb)
{
    loop_call_t lc = { .base = event_base_new() };
    assert_non_null(lc.base);
    gw_fetch_loop_t *l = gw_fetch_loop_new(lc.base, 4);
    assert_non_null(l);
    gw_fetch_start(l, a, ra, on_done, &lc);
    gw_fetch_start(l, b, rb, on_done, &lc);
    lc.started = 1;
    event_base_dispatch(lc.base);
    assert_int_equal(lc.done, 2);
    assert_int_equal(lc.done_inside_start, 0);
    gw_fetch_loop_free(l);
    event_base_free(lc.base);
}

static void test_loop_calls_end_with_their_answers(void **state)
{
    (void)state;
    char *u1 = url("/ok"), *u2 = url("/busy");
    gw_outcall_t a = { .url = u1, .form = "code=1", .bearer = "tk", .timeout_ms = 3000 };
    gw_outcall_t b = { .url = u2, .timeout_ms = 3000 };
    gw_http_result_t ra, rb;
    run_two(&a, &ra, &b, &rb);
    assert_int_equal(ra.status, 200);
    assert_string_equal(ra.body, JSON_BODY);
    assert_int_equal(rb.status, 503);
    assert_string_equal(rb.body, "{\"error\":\"busy\"}");
    gw_http_result_cleanup(&ra);
    gw_http_result_cleanup(&rb);
    free(u1);
    free(u2);
}

static void test_loop_calls_time_out_and_fail_to_start(void **state)
{
    (void)state;
    char *u1 = url("/silent");
    gw_outcall_t a = { .url = u1, .timeout_ms = 300 };
    gw_outcall_t b = { .url = "gopher://127.0.0.1/", .timeout_ms = 300 };
    gw_http_result_t ra, rb;
    double t0 = gw_now_ms();
    run_two(&a, &ra, &b, &rb);
    assert_true(gw_now_ms() - t0 < 2000);
    assert_int_equal(ra.status, 0);
    assert_string_equal(ra.error, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
    assert_int_equal(rb.status, 0);
    assert_string_equal(rb.error, curl_easy_strerror(CURLE_UNSUPPORTED_PROTOCOL));
    gw_http_result_cleanup(&ra);
    gw_http_result_cleanup(&rb);
    free(u1);
}

static void test_outcall_dup_owns_its_strings(void **state)
{
    (void)state;
    char u[] = "http://a/", f[] = "x=1";
    gw_outcall_t c = { .url = u, .form = f, .basic_user = "id", .timeout_ms = 7 };
    gw_outcall_t *d = gw_outcall_dup(&c);
    u[0] = f[0] = 'Z';
    assert_string_equal(d->url, "http://a/");
    assert_string_equal(d->form, "x=1");
    assert_string_equal(d->basic_user, "id");
    assert_null(d->basic_pass);
    assert_null(d->bearer);
    assert_int_equal(d->timeout_ms, 7);
    gw_outcall_free(d);
    gw_outcall_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_returns_status_and_body),
        cmocka_unit_test(test_post_form_with_basic_auth_encodes_the_credentials),
        cmocka_unit_test(test_bearer_and_json_body),
        cmocka_unit_test(test_call_type_sends_its_content_type),
        cmocka_unit_test(test_non_2xx_is_an_answer_with_its_body),
        cmocka_unit_test(test_timeout_gives_no_status),
        cmocka_unit_test(test_no_answer_and_no_server_give_no_status),
        cmocka_unit_test(test_answers_are_capped_at_one_mib),
        cmocka_unit_test(test_only_http_and_https),
        cmocka_unit_test(test_fetch_body_takes_a_200_only),
        cmocka_unit_test(test_loop_calls_end_with_their_answers),
        cmocka_unit_test(test_loop_calls_time_out_and_fail_to_start),
        cmocka_unit_test(test_outcall_dup_owns_its_strings),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
