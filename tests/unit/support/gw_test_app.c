#include "gw_test_app.h"

#include "gw_app.h"
#include "gw_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int gw_test_keys_make(char dir[64])
{
    snprintf(dir, 64, "/tmp/eidgw-unit-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char err[512] = "", keys[96];
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    if (gw_keys_generate(keys, 0, err, sizeof(err))) {
        fprintf(stderr, "gw_keys_generate: %s\n", err);
        return -1;
    }
    return 0;
}

void gw_test_rmdir(const char *dir)
{
    if (!dir[0])
        return;
    char *cmd = gw_sprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(cmd);
}

/* keys: a key directory, or NULL for fresh keys in t->dir/keys */
static int open_v(gw_test_app_t *t, const char *keys, const char *fmt, va_list ap)
{
    memset(t, 0, sizeof(*t));
    gw_log_set_level(GW_LOG_ERROR);
    char err[512] = "", fresh[96];
    if (keys) {
        snprintf(t->dir, sizeof(t->dir), "/tmp/eidgw-unit-XXXXXX");
        if (!mkdtemp(t->dir))
            return -1;
    } else {
        if (gw_test_keys_make(t->dir))
            return -1;
        snprintf(fresh, sizeof(fresh), "%s/keys", t->dir);
        keys = fresh;
    }
    char *clients = NULL;
    if (vasprintf(&clients, fmt, ap) < 0)
        return -1;
    char *text = gw_sprintf("[server]\nlisten = 127.0.0.1:18443\npublic_url = http://127.0.0.1:18443\n"
                            "\n[keys]\ndir = %s\n"
                            "\n[store]\ndriver = sqlite\npath = %s/store.db\n"
                            "\n[session]\nlifetime = 1h\n"
                            "\n[log]\nlevel = error\n"
                            "\n[upstream vneid]\n"
                            "issuer = http://127.0.0.1:9\n"
                            "authorization_endpoint = http://127.0.0.1:9/auth\n"
                            "token_endpoint = http://127.0.0.1:9/token\n"
                            "userinfo_endpoint = http://127.0.0.1:9/userinfo\n"
                            "jwks_uri = http://127.0.0.1:9/jwks\n"
                            "client_id = eidgw\nclient_secret = upstream-secret\n"
                            "id_token = required\nalgs = RS256\n"
                            "claim_id = SoDinhDanh\nclaim_name = HoVaTen\nclaim_level = IAL\n"
                            "level_map = 1:1\nlevel_map = 2:2\n\n%s",
                            keys, t->dir, clients);
    free(clients);
    t->cfg = gw_config_parse("unit-test.conf", text, strlen(text), err, sizeof(err));
    free(text);
    if (!t->cfg) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    if (gw_app_init(&t->app, t->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gw_app_init: %s\n", err);
        gw_app_cleanup(&t->app);
        return -1;
    }
    t->app_ok = 1;
    return 0;
}

int gw_test_app_open(gw_test_app_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = open_v(t, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int gw_test_app_open_keys(gw_test_app_t *t, const char *keys, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = open_v(t, keys, fmt, ap);
    va_end(ap);
    return rc;
}

void gw_test_app_close(gw_test_app_t *t)
{
    if (t->app_ok)
        gw_app_cleanup(&t->app);
    gw_config_free(t->cfg);
    t->cfg = NULL;
    t->app_ok = 0;
    gw_test_rmdir(t->dir);
}

int gw_test_app_teardown(void **state)
{
    gw_test_app_close(*state);
    return 0;
}

int gw_test_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

void gw_test_call(gw_test_app_t *t, const gw_route_t *routes, gw_test_call_t *c, int method, const char *path,
                  const char *params, const char *content_type, const char *authorization)
{
    memset(c, 0, sizeof(*c));
    gw_buf_init(&c->resp.body, 0);
    gw_req_t *q = &c->req;
    q->method = method;
    q->path = gw_strdup(path);
    q->query = gw_strdup(method == GW_M_GET ? params : "");
    if (method == GW_M_GET) {
        gw_form_parse(&q->q, params, strlen(params), 64);
    } else {
        q->body = gw_strdup(params);
        q->body_len = strlen(params);
        q->content_type = gw_strdup(content_type);
        if (content_type && !strncasecmp(content_type, "application/x-www-form-urlencoded", 33))
            gw_form_parse(&q->form, params, strlen(params), 64);
    }
    q->authorization = gw_strdup(authorization);
    snprintf(q->remote, sizeof(q->remote), "192.0.2.10");
    snprintf(q->id, sizeof(q->id), "unit-test");
    q->ran_on = "local";
    for (const gw_route_t *r = routes; r->path; r++)
        if (!strcmp(r->path, path)) {
            r->fn(&t->app, q, &c->resp);
            return;
        }
    fprintf(stderr, "no route %s\n", path);
    abort();
}

void gw_test_call_cleanup(gw_test_call_t *c)
{
    free(c->req.path);
    free(c->req.query);
    free(c->req.body);
    free(c->req.content_type);
    free(c->req.authorization);
    gw_form_cleanup(&c->req.q);
    gw_form_cleanup(&c->req.form);
    gw_resp_reset(&c->resp);
    gw_buf_cleanup(&c->resp.body);
}

const char *gw_test_call_header(const gw_test_call_t *c, const char *name)
{
    for (size_t i = 0; i < c->resp.nheaders; i++)
        if (!strcasecmp(c->resp.hname[i], name))
            return c->resp.hvalue[i];
    return NULL;
}
