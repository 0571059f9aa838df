/* A real process context for the unit tests of the broker and the front ends: a
 * temporary directory with fresh keys (gw_keys_generate), a SQLite store in it, a
 * configuration with one upstream that nobody serves and the clients the test names, and
 * gw_app_init over it. No sockets. */
#ifndef GW_TEST_APP_H
#define GW_TEST_APP_H
#include "gw_ctx.h"

typedef struct gw_test_app {
    char dir[64];
    gw_config_t *cfg;
    gw_ctx_t app;
    int app_ok;
} gw_test_app_t;

/* The [client ...] sections (and any other section) appended to the file, as a printf
 * format and its arguments. 0, or -1 with the reason on stderr. */
int gw_test_app_open(gw_test_app_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As gw_test_app_open, with the key directory keys (from gw_test_keys_make) instead of
 * fresh keys: for a suite that opens a context per test (RSA key generation is slow). The
 * store is still the context's own, in t->dir. */
int gw_test_app_open_keys(gw_test_app_t *t, const char *keys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A new temporary directory (dir) with fresh keys in dir/keys. 0, or -1 with the reason
 * on stderr. */
int gw_test_keys_make(char dir[64]);
/* dir and all below it go (nothing when dir is ""). */
void gw_test_rmdir(const char *dir);
/* The context, its store and the directory go. */
void gw_test_app_close(gw_test_app_t *t);
/* A cmocka group teardown for a group whose setup left its gw_test_app_t in *state. */
int gw_test_app_teardown(void **state);

/* One request to a handler of a route table, as the HTTP server would run it (on a
 * worker): GET path?params, or POST path with params as its body of content_type (parsed
 * as a form when urlencoded). authorization may be NULL. */
typedef struct gw_test_call {
    gw_req_t req;
    gw_resp_t resp;
} gw_test_call_t;
void gw_test_call(gw_test_app_t *t, const gw_route_t *routes, gw_test_call_t *c, int method, const char *path,
                  const char *params, const char *content_type, const char *authorization);
void gw_test_call_cleanup(gw_test_call_t *c);
/* The first response field of that name, or NULL. */
const char *gw_test_call_header(const gw_test_call_t *c, const char *name);

/* A listening socket on 127.0.0.1 at a port the kernel picks (*port): a peer of the
 * test's own. -1 on failure. */
int gw_test_listen(int *port);

#endif
