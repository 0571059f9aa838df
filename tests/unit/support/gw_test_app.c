#include "gw_test_app.h"

#include "gw_app.h"
#include "gw_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int gw_test_app_open(gw_test_app_t *t, const char *clients)
{
    memset(t, 0, sizeof(*t));
    gw_log_set_level(GW_LOG_ERROR);
    snprintf(t->dir, sizeof(t->dir), "/tmp/eidgw-unit-XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    char err[512] = "", keys[96];
    snprintf(keys, sizeof(keys), "%s/keys", t->dir);
    if (gw_keys_generate(keys, 0, err, sizeof(err))) {
        fprintf(stderr, "gw_keys_generate: %s\n", err);
        return -1;
    }
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

void gw_test_app_close(gw_test_app_t *t)
{
    if (t->app_ok)
        gw_app_cleanup(&t->app);
    gw_config_free(t->cfg);
    t->cfg = NULL;
    t->app_ok = 0;
    if (t->dir[0]) {
        char *cmd = gw_sprintf("rm -rf '%s'", t->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", t->dir);
        free(cmd);
    }
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
