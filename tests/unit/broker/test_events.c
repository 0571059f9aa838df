/* Unit tests for gw_events, account events to portals: an event for a portal without
 * events_uri is not queued; a queued one is a signed Security Event Token (RFC 8417)
 * about the portal's pairwise subject; delivery POSTs it as application/secevent+jwt to
 * a listener of the test's own on 127.0.0.1, keeps it with its attempts and the next try
 * (5 s, doubling) while the portal answers an error, does not try again before that, and
 * drops it once the portal answers 2xx. A real context on a temporary store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_broker.h"
#include "gw_events.h"
#include "gw_json.h"
#include "gw_test_app.h"

#define ID_X "079203001234"

static gw_test_app_t g_t;

/* ------------------------------------------------------------------ the portal's listener */

static struct {
    int fd, port, reply; /* reply: the status it answers with */
    int requests;
    char *last;
    pthread_t tid;
    pthread_mutex_t lock;
} g_portal;

static void *portal_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(g_portal.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        gw_buf_t b;
        gw_buf_init(&b, 1 << 20);
        char tmp[4096], *end = NULL;
        size_t want = 0;
        ssize_t n;
        while ((!want || b.len < want) && (n = recv(c, tmp, sizeof(tmp), 0)) > 0) {
            gw_buf_add(&b, tmp, (size_t)n);
            if (!want && (end = strstr(b.data, "\r\n\r\n"))) {
                const char *cl = strcasestr(b.data, "\r\nContent-Length:");
                want = (size_t)(end - b.data) + 4 + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
            }
        }
        pthread_mutex_lock(&g_portal.lock);
        g_portal.requests++;
        free(g_portal.last);
        g_portal.last = gw_buf_steal(&b);
        char *r = gw_sprintf("HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", g_portal.reply);
        pthread_mutex_unlock(&g_portal.lock);
        (void)!send(c, r, strlen(r), MSG_NOSIGNAL);
        free(r);
        close(c);
    }
}

static int group_setup(void **state)
{
    (void)state;
    pthread_mutex_init(&g_portal.lock, NULL);
    if ((g_portal.fd = gw_test_listen(&g_portal.port)) < 0)
        return -1;
    if (pthread_create(&g_portal.tid, NULL, portal_main, NULL))
        return -1;
    return gw_test_app_open(&g_t,
                            "[client portal-a]\nname = A\npublic = yes\nredirect_uri = https://a.example/cb\n"
                            "scopes = openid\nevents_uri = http://127.0.0.1:%d/events\n"
                            "\n[client portal-b]\nname = B\npublic = yes\nredirect_uri = https://b.example/cb\n"
                            "scopes = openid\n",
                            g_portal.port);
}

static int group_teardown(void **state)
{
    (void)state;
    shutdown(g_portal.fd, SHUT_RDWR);
    pthread_join(g_portal.tid, NULL);
    close(g_portal.fd);
    free(g_portal.last);
    pthread_mutex_destroy(&g_portal.lock);
    gw_http_thread_cleanup();
    gw_test_app_close(&g_t);
    return 0;
}

/* ------------------------------------------------------------------ the outbox */

typedef struct outbox {
    size_t n;
    char *key;
    json_t *rec; /* the last one listed */
} outbox_t;

static void on_record(const char *key, const char *val, void *ud)
{
    outbox_t *o = ud;
    o->n++;
    free(o->key);
    json_decref(o->rec);
    o->key = gw_strdup(key);
    o->rec = gw_json_parse_str(val);
}

static outbox_t outbox(void)
{
    outbox_t o = { 0 };
    assert_int_equal(gw_store_list(g_t.app.store, "evq", 200, on_record, &o), GW_OK);
    return o;
}

static void outbox_cleanup(outbox_t *o)
{
    free(o->key);
    json_decref(o->rec);
}

/* the JSON of part i (0: header, 1: claims) of a compact JWT */
static json_t *jwt_part(const char *jwt, int i)
{
    const char *p = jwt;
    for (int k = 0; k < i; k++)
        p = strchr(p, '.') + 1;
    const char *e = strchr(p, '.');
    size_t n;
    unsigned char *raw = gw_b64url_decode(p, (size_t)(e - p), &n);
    assert_non_null(raw);
    json_t *j = gw_json_parse_str((char *)raw);
    free(raw);
    assert_non_null(j);
    return j;
}

static void reply_with(int status)
{
    pthread_mutex_lock(&g_portal.lock);
    g_portal.reply = status;
    pthread_mutex_unlock(&g_portal.lock);
}

static int requests(void)
{
    pthread_mutex_lock(&g_portal.lock);
    int n = g_portal.requests;
    pthread_mutex_unlock(&g_portal.lock);
    return n;
}

/* ------------------------------------------------------------------ tests */

static void test_no_events_uri_queues_nothing(void **state)
{
    (void)state;
    gw_events_enqueue(&g_t.app, "portal-b", ID_X, "account-linked", json_pack("{s:s}", "account", "acct-1"));
    gw_events_enqueue(&g_t.app, "no-such-portal", ID_X, "account-linked", json_pack("{s:s}", "account", "acct-1"));
    outbox_t o = outbox();
    assert_int_equal(o.n, 0);
    outbox_cleanup(&o);
}

static void test_event_is_queued_signed_delivered_retried_and_dropped(void **state)
{
    (void)state;
    int64_t t0 = gw_now();
    gw_events_enqueue(&g_t.app, "portal-a", ID_X, "account-linked", json_pack("{s:s}", "account", "acct-1"));
    outbox_t o = outbox();
    assert_int_equal(o.n, 1);
    assert_string_equal(gw_jstr(o.rec, "client"), "portal-a");
    assert_string_equal(gw_jstr(o.rec, "type"), "account-linked");
    assert_int_equal(json_integer_value(json_object_get(o.rec, "attempts")), 0);
    char *jwt = gw_strdup(gw_jstr(o.rec, "jwt"));
    char *key = gw_strdup(o.key);
    outbox_cleanup(&o);

    json_t *hdr = jwt_part(jwt, 0), *set = jwt_part(jwt, 1);
    assert_string_equal(gw_jstr(hdr, "typ"), "secevent+jwt");
    assert_string_equal(gw_jstr(hdr, "alg"), "ES256");
    assert_string_equal(gw_jstr(set, "iss"), "http://127.0.0.1:18443");
    assert_string_equal(gw_jstr(set, "aud"), "portal-a");
    assert_string_equal(gw_jstr(set, "jti"), key); /* the outbox key */
    char *sub = gw_pairwise_sub(&g_t.app, "portal-a", ID_X);
    assert_string_equal(gw_jstr(set, "sub"), sub);
    free(sub);
    json_t *ev = json_object_get(json_object_get(set, "events"), "urn:eidgw:event:account-linked");
    assert_string_equal(gw_jstr(ev, "account"), "acct-1");
    assert_null(strstr(jwt, ID_X));
    json_decref(hdr);
    json_decref(set);

    /* the portal fails: kept, one attempt, next try in 5 s */
    reply_with(500);
    int before = requests();
    gw_events_deliver(&g_t.app);
    assert_int_equal(requests(), before + 1);
    pthread_mutex_lock(&g_portal.lock);
    char *req = gw_strdup(g_portal.last);
    pthread_mutex_unlock(&g_portal.lock);
    assert_non_null(strstr(req, "POST /events HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Type: application/secevent+jwt\r\n"));
    char *end = strstr(req, "\r\n\r\n");
    assert_non_null(end);
    assert_string_equal(end + 4, jwt);
    free(req);
    o = outbox();
    assert_int_equal(o.n, 1);
    assert_int_equal(json_integer_value(json_object_get(o.rec, "attempts")), 1);
    int64_t next = json_integer_value(json_object_get(o.rec, "next"));
    assert_true(next >= t0 + 5 && next <= gw_now() + 5);
    assert_string_equal(gw_jstr(o.rec, "jwt"), jwt); /* the same token is sent again */

    /* not due yet: not sent */
    gw_events_deliver(&g_t.app);
    assert_int_equal(requests(), before + 1);

    /* due again and failing again: the wait doubles */
    json_object_set_new(o.rec, "next", json_integer(gw_now()));
    assert_int_equal(gw_store_put_json(g_t.app.store, "evq", key, o.rec, 3600, 0), GW_OK);
    outbox_cleanup(&o);
    gw_events_deliver(&g_t.app);
    assert_int_equal(requests(), before + 2);
    o = outbox();
    assert_int_equal(json_integer_value(json_object_get(o.rec, "attempts")), 2);
    next = json_integer_value(json_object_get(o.rec, "next"));
    assert_true(next >= t0 + 10 && next <= gw_now() + 10);

    /* due, and the portal takes it: gone from the outbox */
    json_object_set_new(o.rec, "next", json_integer(gw_now()));
    assert_int_equal(gw_store_put_json(g_t.app.store, "evq", key, o.rec, 3600, 0), GW_OK);
    outbox_cleanup(&o);
    reply_with(202);
    gw_events_deliver(&g_t.app);
    assert_int_equal(requests(), before + 3);
    o = outbox();
    assert_int_equal(o.n, 0);
    outbox_cleanup(&o);
    free(jwt);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_events_uri_queues_nothing),
        cmocka_unit_test(test_event_is_queued_signed_delivered_retried_and_dropped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
