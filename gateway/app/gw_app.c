#include "gw_app.h"
#include "gw_broker.h"
#include "gw_oidc_op.h"
#include "gw_saml_idp.h"
#include "gw_forward_auth.h"
#include "gw_pcookie.h"
#include "gw_fetch.h"
#include "gw_json.h"

#include "gw_log.h"
#include "gw_audit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gw_config_t *gw_app_config_load(const char *path, char *err, size_t errlen)
{
    gw_config_t *cfg = gw_config_load(path, err, errlen);
    if (cfg && (gw_plugins_configure(cfg, err, errlen) || gw_config_check_secret_files(cfg, err, errlen))) {
        gw_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* The keys directory's private keys and secrets (*.jwk, *.key: signing keys, cookie.key,
 * pairwise.key, saml-idp.key) by [server] secret_file_mode; public files are not asked. */
static int check_key_files(gw_config_t *cfg, char *err, size_t errlen)
{
    DIR *d = opendir(cfg->keys_dir);
    if (!d)
        return 0; /* the keyset's loader has said why */
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        const char *ext = n > 4 ? e->d_name + n - 4 : "";
        if (!strcmp(ext, ".jwk") || !strcmp(ext, ".key")) {
            char *p = gw_sprintf("%s/%s", cfg->keys_dir, e->d_name);
            rc = gw_secret_file_check(p, cfg->secret_file_mode, &cfg->warnings, err, errlen);
            free(p);
        }
    }
    closedir(d);
    return rc;
}

static int app_init(gw_ctx_t *app, gw_config_t *cfg, int check_only, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    if (gw_plugins_configure(cfg, err, errlen))
        return -1;
    app->cfg = cfg;
    app->is_tls = !strncmp(cfg->public_url, "https://", 8);
    /* __Host- needs Secure, and Secure needs TLS */
    app->sso_cookie = app->is_tls ? "__Host-eidgw_sso" : "eidgw_sso";
    app->bind_cookie = app->is_tls ? "__Host-eidgw_bind" : "eidgw_bind";
    app->lang_cookie = app->is_tls ? "__Host-eidgw_lang" : "eidgw_lang";
    gw_revset_init(&app->revoked);
    app->login_limit = gw_addrlimit_new(16384, cfg->lim_logins_ip.count, cfg->lim_logins_ip.window);
    gw_log_set_level(gw_log_parse_level(cfg->log_level));
    app->keys = gw_keyset_load(cfg->keys_dir, err, errlen);
    if (app->keys) {
        gw_pcookie_key(app->keys->cookie_key, app->pcookie_key);
        gw_access_token_key(app->keys->cookie_key, app->at_key);
    }
    if (!app->keys || check_key_files(cfg, err, errlen))
        return -1;
    const char *tdir = cfg->templates_dir ? cfg->templates_dir : EIDGW_SOURCE_DIR "/templates";
    app->tmpl = gw_tmpl_load(tdir, err, errlen);
    if (!app->tmpl)
        return -1;
    /* check-config may run beside a gateway on the same store: it opens nothing there */
    if (check_only ? gw_store_check_config(cfg, err, errlen) : !(app->store = gw_store_open_config(cfg, err, errlen)))
        return -1;
    app->page =
        (gw_pages_t){ .tmpl = app->tmpl, .store = app->store, .lang_cookie = app->lang_cookie, .is_tls = app->is_tls };
    if (app->store && cfg->store_memory && strcmp(cfg->store_memory, "none")) {
        gw_store_set_memory(app->store, gw_memkv_new(cfg->store_memory, (size_t)cfg->store_memory_max));
        /* a full table refuses new logins (authorization requests) with the last 10% of
         * its room still free for the logins already under way */
        if (app->store->mem) {
            gw_memkv_reserve(app->store->mem, "ar", (size_t)cfg->store_memory_max / 10);
            gw_memkv_set_max_bytes(app->store->mem, (size_t)cfg->store_memory_max_bytes);
        }
    }
    if (cfg->audit_path && check_only) {
        /* a running gateway holds the audit file's lock: check only that it could be written */
        if (gw_path_writable(cfg->audit_path, err, errlen))
            return -1;
    } else if (cfg->audit_path) {
        app->audit = gw_audit_open(cfg->audit_path, cfg->node_id, err, errlen);
        if (!app->audit)
            return -1;
    }
    app->idp = gw_idp_find(cfg->upstream->plugin); /* found: gw_plugins_configure checked it */
    app->idp->needs(cfg->upstream->settings, &app->idp_needs);
    if (app->idp_needs.keys_uri)
        app->upstream_jwks = gw_jwks_cache_new(app->idp_needs.keys_uri, 10, gw_fetch_body);
    app->callback_url = gw_sprintf("%s/callback", cfg->public_url);
    app->idp_env = (gw_idp_env_t){ .redirect_uri = app->callback_url, .jwks = app->upstream_jwks };
    if (gw_saml_idp_init(app, err, errlen))
        return -1;
    static const gw_frontend_ops_t *const frontends[] = { &gw_oidc_op_frontend, &gw_saml_idp_frontend,
                                                          &gw_proxy_frontend, NULL };
    gw_broker_register(frontends);
    return 0;
}

int gw_app_init(gw_ctx_t *app, gw_config_t *cfg, char *err, size_t errlen)
{
    return app_init(app, cfg, 0, err, errlen);
}

int gw_app_check(gw_ctx_t *app, gw_config_t *cfg, char *err, size_t errlen)
{
    return app_init(app, cfg, 1, err, errlen);
}

void gw_app_cleanup(gw_ctx_t *app)
{
    gw_saml_idp_cleanup(app);
    gw_forward_auth_cleanup();
    gw_audit_close(app->audit);
    gw_jwks_cache_free(app->upstream_jwks);
    gw_store_close(app->store);
    gw_tmpl_free(app->tmpl);
    gw_keyset_free(app->keys);
    gw_revset_cleanup(&app->revoked);
    gw_addrlimit_free(app->login_limit);
    free(app->callback_url);
}
