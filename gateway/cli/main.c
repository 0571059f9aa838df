/* eidgw: one binary, subcommands. This file only dispatches. */
#include "gw_app.h"
#include "gw_cli.h"
#include "gw_crypto.h"
#include "gw_idnum.h"
#include "gw_log.h"
#include "gw_saml_idp.h"
#include "plugin.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gw_server_t *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        gw_server_request_stop(running);
}

static int usage(FILE *f)
{
    fprintf(f, "usage: eidgw <command> [options]\n"
               "\n"
               "  serve -c FILE            run the gateway\n"
               "  check-config -c FILE     validate the configuration and exit\n"
               "  keys generate DIR        create signing keys (ES256, RS256), the cookie key and\n"
               "                           the pairwise-subject secret in DIR (kept if present)\n"
               "  keys rotate DIR          add a new signing pair; the newest signs, all stay in\n"
               "                           the JWKS until their files are removed\n"
               "  client-secret            print a new client secret and the SHA-256 for the config\n"
               "  id check NUMBER          validate a personal ID (12 digits) or CMND (9 digits)\n"
               "  accounts import|report|verify ...   legacy portal accounts (see 'eidgw accounts help')\n"
               "  audit verify FILE        check the audit log's hash chain\n"
               "  version\n");
    return f == stderr ? 2 : 0;
}

static const char *opt_config(int argc, char **argv)
{
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
            return argv[i + 1];
    return NULL;
}

/* What the file allows but should not: on the terminal for check-config, in the log for
 * the daemon (whose stderr is the log). */
static void print_warnings(const gw_config_t *cfg, int serve)
{
    for (size_t i = 0; i < cfg->warnings.n; i++)
        if (serve)
            gw_log(GW_LOG_WARN, "config", cfg->warnings.v[i], NULL);
        else
            fprintf(stderr, "eidgw: warning: %s\n", cfg->warnings.v[i]);
}

static int cmd_check(int argc, char **argv, int serve)
{
    const char *path = opt_config(argc, argv);
    if (!path) {
        fprintf(stderr, "eidgw: -c FILE is required\n");
        return 2;
    }
    char err[512];
    gw_config_t *cfg = gw_app_config_load(path, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "eidgw: %s\n", err);
        return 1;
    }
    gw_ctx_t app;
    int bad = (serve ? gw_app_init : gw_app_check)(&app, cfg, err, sizeof(err));
    print_warnings(cfg, serve); /* the keys' among them */
    if (bad) {
        fprintf(stderr, "eidgw: %s\n", err);
        gw_app_cleanup(&app);
        gw_config_free(cfg);
        return 1;
    }
    int rc = 0;
    if (!serve) {
        printf("%s: ok (%zu clients, upstream %s)\n", path, cfg->nclients, cfg->upstream->name);
        for (size_t i = 0; i < cfg->nclients; i++)
            if (cfg->clients[i].has_accounts && !gw_popdb_configured(cfg->popdb))
                fprintf(stderr,
                        "eidgw: warning: client '%s' has accounts = yes but there is no [popdb] url: the ID-number "
                        "check of old accounts (letter 356) and `accounts verify` cannot run\n",
                        cfg->clients[i].id);
    } else {
        signal(SIGPIPE, SIG_IGN);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        running = gw_app_start(&app, err, sizeof(err));
        if (!running) {
            fprintf(stderr, "eidgw: %s\n", err);
            rc = 1;
        } else {
            char port[8];
            snprintf(port, sizeof(port), "%d", cfg->listen_port);
            gw_log(GW_LOG_INFO, "main", "listening", "host", cfg->listen_host, "port", port, "public_url",
                   cfg->public_url, NULL);
            gw_app_wait(&app, running);
            running = NULL;
            gw_log(GW_LOG_INFO, "main", "stopped", NULL);
        }
    }
    gw_app_cleanup(&app);
    gw_config_free(cfg);
    return rc;
}

static int cmd_keys(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[2], "generate") && strcmp(argv[2], "rotate"))) {
        fprintf(stderr, "usage: eidgw keys generate DIR | eidgw keys rotate DIR\n");
        return 2;
    }
    /* rotate: a new signing pair beside the old ones (they stay in the JWKS until their
     * files are removed, after the longest token lifetime) */
    int force = !strcmp(argv[2], "rotate");
    char err[512];
    if (gw_keys_generate(argv[3], force, err, sizeof(err))) {
        fprintf(stderr, "eidgw: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_client_secret(void)
{
    char *s = gw_random_token(32);
    char *h = gw_sha256_hex(s);
    printf("client_secret = %s\nsecret_sha256 = %s\n", s, h);
    gw_wipe_free(s);
    free(h);
    return 0;
}

static int cmd_id(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "check")) {
        fprintf(stderr, "usage: eidgw id check NUMBER\n");
        return 2;
    }
    gw_id_info_t info;
    int rc = gw_id_check(argv[3], strlen(argv[3]), gw_id_year_now(), &info);
    if (rc != GW_ID_OK) {
        fprintf(stderr, "eidgw: %s: invalid (%s)\n", argv[3], gw_id_strerror(rc));
        return 1;
    }
    if (info.kind == GW_ID_CMND9) {
        printf("%s: CMND (9 digits)\n", info.digits);
        return 0;
    }
    printf("%s: personal ID; born %d; sex %c; registered in %s %s%s\n", info.digits, info.birth_year, info.sex,
           info.place, info.province ? info.province : "(unknown code)",
           info.warnings & GW_ID_WARN_PLACE_UNKNOWN ? " [warning: place code unknown]" : "");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* lasso (the SAML IdP) before any thread starts */
    if (gw_saml_process_init()) {
        fprintf(stderr, "eidgw: lasso 2.8.1 or newer is needed\n");
        return 1;
    }
    const char *cmd = argv[1];
    int rc;
    if (!strcmp(cmd, "serve"))
        rc = cmd_check(argc, argv, 1);
    else if (!strcmp(cmd, "check-config"))
        rc = cmd_check(argc, argv, 0);
    else if (!strcmp(cmd, "keys"))
        rc = cmd_keys(argc, argv);
    else if (!strcmp(cmd, "client-secret"))
        rc = cmd_client_secret();
    else if (!strcmp(cmd, "id"))
        rc = cmd_id(argc, argv);
    else if (!strcmp(cmd, "accounts"))
        rc = gw_cli_accounts(argc, argv);
    else if (!strcmp(cmd, "audit"))
        rc = gw_cli_audit(argc, argv);
    else if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("eidgw %s\n", EIDGW_VERSION);
        rc = 0;
    } else if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        rc = usage(stdout);
    else {
        fprintf(stderr, "eidgw: unknown command '%s'\n", cmd);
        rc = usage(stderr);
    }
    gw_saml_process_shutdown();
    curl_global_cleanup();
    return rc;
}
