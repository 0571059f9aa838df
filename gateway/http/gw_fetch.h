/* gw_fetch: outgoing HTTP on libcurl, blocking (worker threads) or on an I/O thread's
 * event loop. */
#ifndef GW_FETCH_H
#define GW_FETCH_H
#include "gw_util.h"
#include <stddef.h>

/* ---- outgoing HTTP (blocking; worker threads only) ---- */
typedef struct gw_http_result {
    long status; /* 0 when no answer */
    char *body;
    size_t len;
    char error[160];
} gw_http_result_t;
/* GET when form is NULL, else POST application/x-www-form-urlencoded. basic_user/pass
 * adds HTTP Basic auth; bearer adds Authorization: Bearer. Response capped at 1 MiB. */
int gw_http_call(const char *url, const char *form, const char *basic_user, const char *basic_pass, const char *bearer,
                 const char *json_body, long timeout_ms, gw_http_result_t *ret);
void gw_http_result_cleanup(gw_http_result_t *r);
/* POST body with a given content type. */
int gw_http_call_type(const char *url, const char *body, const char *content_type, long timeout_ms,
                      gw_http_result_t *ret);
/* Release this thread's connection cache (call when a worker thread ends). */
void gw_http_thread_cleanup(void);

/* ---- outgoing HTTP on an event loop (libcurl multi on an I/O thread's libevent base) ----
 * The same calls as above without holding a thread while the other server answers: a
 * thousand logins waiting on a slow VNeID are a thousand sockets, not a thousand threads. */
typedef struct gw_outcall {
    const char *url;
    const char *form; /* POST x-www-form-urlencoded; NULL: GET */
    const char *basic_user, *basic_pass; /* HTTP Basic (RFC 6749 2.3.1 encoding) */
    const char *bearer; /* Authorization: Bearer */
    long timeout_ms;
} gw_outcall_t;
/* A copy that owns its strings; free with gw_outcall_free. */
gw_outcall_t *gw_outcall_dup(const gw_outcall_t *c);
void gw_outcall_free(gw_outcall_t *c);

struct event_base;
typedef struct gw_fetch_loop gw_fetch_loop_t;
/* Runs on the loop's thread when the call has ended, whatever the outcome (ret->status
 * 0 and ret->error when there was no answer). */
typedef void (*gw_fetch_done_fn)(void *arg);
gw_fetch_loop_t *gw_fetch_loop_new(struct event_base *base, long max_host_connections);
/* Only once no call is in flight. */
void gw_fetch_loop_free(gw_fetch_loop_t *l);
/* On the loop's thread only. The strings are copied. done never runs inside this call. */
void gw_fetch_start(gw_fetch_loop_t *l, const gw_outcall_t *call, gw_http_result_t *ret, gw_fetch_done_fn done,
                    void *arg);

/* A gw_jwks_fetch_fn: GET url, 200 with a body or NULL (5 s). */
char *gw_fetch_body(const char *url, char *err, size_t errlen);

/* the outgoing calls' part of /metrics, appended to out */
void gw_fetch_metrics(gw_buf_t *out);

#endif
