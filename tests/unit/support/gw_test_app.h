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

/* clients: the [client ...] sections (and any other section) appended to the file.
 * 0, or -1 with the reason on stderr. */
int gw_test_app_open(gw_test_app_t *t, const char *clients);
/* The context, its store and the directory go. */
void gw_test_app_close(gw_test_app_t *t);

/* A listening socket on 127.0.0.1 at a port the kernel picks (*port): a peer of the
 * test's own. -1 on failure. */
int gw_test_listen(int *port);

#endif
