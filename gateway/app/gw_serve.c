/* gw_serve: the daemon's wiring. The HTTP server gets its options from the configuration,
 * the route tables of every front end, and two hooks (how a refusal looks, which store
 * namespaces are in memory); the upkeep runs on threads of its own here. */
#include "gw_admin.h"
#include "gw_app.h"
#include "gw_broker.h"
#include "gw_events.h"
#include "gw_log.h"
#include "gw_oidc_op.h"
#include "gw_saml_idp.h"
#include "gw_forward_auth.h"
#include "gw_ui.h"

#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The answer to a request the server refuses: JSON for an API (its route says so, the
 * path is under /admin/, or the client accepts only JSON), else the citizen's error page. */
static void refusal(gw_ctx_t *app, gw_req_t *q, gw_resp_t *rp, int status, const gw_route_t *route)
{
    const char *code = status == 413 || status == 414 || status == 431 ? "too_large"
                       : status == 404                                 ? "not_found"
                       : status == 405                                 ? "method_not_allowed"
                       : status == 503                                 ? "server_busy"
                                                                       : "invalid_request";
    int wants_json = q->accept && strstr(q->accept, "application/json") && !strstr(q->accept, "text/html");
    int admin = q->path && (!strncmp(q->path, "/admin/", 7) || !strcmp(q->path, "/admin"));
    if (wants_json || admin || (route && route->json))
        gw_error_json(rp, status, status == 413 ? "invalid_request" : code, code);
    else
        gw_error_page(&app->page, q, rp, status, code, NULL, NULL, NULL);
}

static int ns_local(gw_ctx_t *app, const char *ns) { return gw_store_local(app->store, ns); }

static struct {
    pthread_t reaper, events;
    int exit; /* the server has stopped and drained: the reaper leaves */
} upkeep;

/* Background upkeep: revocations from the store, the store's checkpoints, purge of
 * expired records. On while the server drains. */
static void *reaper_main(void *arg)
{
    gw_ctx_t *app = arg;
    int ticks = 0;
    while (!__atomic_load_n(&upkeep.exit, __ATOMIC_ACQUIRE)) {
        gw_revset_sync(app);
        gw_store_maintain(app->store);
        if (++ticks % 120 == 0)
            gw_store_purge(app->store);
        usleep(250 * 1000);
    }
    gw_http_thread_cleanup();
    return NULL;
}

/* Account events go out on their own thread: a portal that hangs must not hold up the
 * revocation sync above. They stop with the server. */
static void *events_main(void *arg)
{
    gw_ctx_t *app = arg;
    gw_server_t *s = __atomic_load_n(&app->server, __ATOMIC_ACQUIRE);
    while (!gw_server_stopping(s)) {
        gw_events_deliver(app);
        for (int i = 0; i < 4 && !gw_server_stopping(s); i++)
            usleep(250 * 1000);
    }
    gw_http_thread_cleanup();
    return NULL;
}

/* Connections need descriptors: the soft limit is raised to the hard one, and the cap is
 * lowered (with a warning) to what the limit allows beside the store, the upstream calls
 * and the log (256 kept for them). */
static int fit_descriptors(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want + 256 > rl.rlim_cur) {
        int fit = rl.rlim_cur > 256 + 16 ? (int)(rl.rlim_cur - 256) : 16;
        char w[16], f[16];
        snprintf(w, sizeof(w), "%d", want);
        snprintf(f, sizeof(f), "%d", fit);
        gw_log(GW_LOG_WARN, "main", "max_connections lowered to fit the open-file limit (ulimit -n)", "configured", w,
               "used", f, NULL);
        return fit;
    }
    return want;
}

gw_server_t *gw_app_start(gw_ctx_t *app, char *err, size_t errlen)
{
    const gw_config_t *cfg = app->cfg;
    gw_server_opts_t opts = {
        .listen_host = cfg->listen_host,
        .listen_port = cfg->listen_port,
        .io_threads = cfg->io_threads,
        .workers = cfg->workers,
        .upstream_workers = cfg->upstream_workers,
        .max_waiting = cfg->max_waiting,
        .max_uri = cfg->max_uri,
        .max_headers = cfg->max_headers,
        .max_body = cfg->max_body,
        .trusted_proxies = &cfg->trusted_proxies,
        .max_connections = fit_descriptors(cfg->max_connections),
        .max_connections_per_ip = cfg->max_connections_per_ip,
        .request_timeout = (int)cfg->request_timeout,
        .min_body_rate = cfg->min_body_rate,
        .idle_timeout = (int)cfg->idle_timeout,
        .hsts = app->is_tls,
    };
    gw_server_hooks_t hooks = { .ctx = app, .refusal = refusal, .ns_local = ns_local };
    static const gw_route_t *const tables[] = {
        gw_oidc_op_routes,        gw_forward_auth_routes, gw_ui_routes,       gw_broker_routes,
        gw_broker_account_routes, gw_admin_routes,        gw_saml_idp_routes, NULL
    };
    gw_revfile_feed_portals(app); /* before the upkeep's first revocation reaches the file */
    gw_server_t *s = gw_server_start(&opts, &hooks, tables, err, errlen);
    if (!s)
        return NULL;
    __atomic_store_n(&app->server, s, __ATOMIC_RELEASE);
    __atomic_store_n(&upkeep.exit, 0, __ATOMIC_RELEASE);
    int rc = pthread_create(&upkeep.reaper, NULL, reaper_main, app);
    if (!rc && (rc = pthread_create(&upkeep.events, NULL, events_main, app)) != 0) {
        __atomic_store_n(&upkeep.exit, 1, __ATOMIC_RELEASE);
        pthread_join(upkeep.reaper, NULL);
    }
    if (rc) {
        snprintf(err, errlen, "cannot start threads: %s", strerror(rc));
        /* no half-started gateway: the server that takes requests stops too */
        gw_server_request_stop(s);
        gw_server_wait(s);
        __atomic_store_n(&app->server, NULL, __ATOMIC_RELEASE);
        gw_server_free(s);
        return NULL;
    }
    return s;
}

void gw_app_wait(gw_ctx_t *app, gw_server_t *s)
{
    gw_server_wait(s);
    __atomic_store_n(&upkeep.exit, 1, __ATOMIC_RELEASE);
    pthread_join(upkeep.reaper, NULL);
    pthread_join(upkeep.events, NULL);
    __atomic_store_n(&app->server, NULL, __ATOMIC_RELEASE);
    gw_server_free(s);
}
