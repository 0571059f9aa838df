/* gw_config: the one configuration file, validated at start.
 *
 * Format: INI-like, UTF-8. `# comment` lines, `[section]` or `[section name]` headers,
 * `key = value` lines. A key that may repeat (redirect_uri) is given once per value.
 * Every error names "file:line: key: message" and start-up stops. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H
#include <stddef.h>
#include <stdint.h>

#include "gw_directive.h" /* gw_rate_t */
#include "gw_util.h"

#define GW_MAX_CLIENTS 1024
/* short-lived protocol records a single-node store keeps in memory by default */
#define GW_STORE_MEMORY_DEFAULT "ar flow code cux cur err lo pxc"
/* "atr" (access tokens revoked) may be held in memory too, but is not by default: a sealed
 * access token outlives a restart, so must its revocation */
#define GW_STORE_MEMORY_ALLOWED GW_STORE_MEMORY_DEFAULT " atr"

typedef struct gw_client {
    char *id;
    char *name; /* display name shown to citizens */
    char *secret_sha256; /* hex, NULL for public clients */
    int is_public; /* public clients must use PKCE S256 */
    int suspended; /* suspended = yes: no login, token, userinfo or proxied request (default no) */
    gw_strlist_t redirect_uris;
    gw_strlist_t post_logout_uris;
    char *backchannel_logout_uri;
    char *events_uri;
    int response_iss;
    /* iss in authorization responses (RFC 9207); default yes */ /* account events (link, merge, re-key) as signed SETs */
    char *scopes; /* space-separated scopes the client may receive */
    int min_level; /* 1 or 2 */
    char *token_alg; /* ES256 or RS256 */
    char *account_types; /* space-separated upstream account types allowed ("1") */
    /* legacy accounts of this portal (docs/domain.md sections 9 and 10) */
    int has_accounts; /* accounts = yes: eidgw holds the portal's legacy registry */
    int legacy_login; /* show the username/password form before the cutoff */
    int64_t cutoff_individual, cutoff_organisation; /* first instant legacy login is closed */
    int trust_any_id12; /* trust_stored_id12 = any (default verified_only) */
    char *legacy_callback; /* the portal checks passwords itself: POST JSON {username,password} */
    int match_by_name; /* at a VNeID login with no candidate, check same-name accounts with a CMND */
    /* a SAML portal (docs/saml.md): its SP metadata file; redirect_uri is then optional */
    int claim_allow_unverifiable; /* claim_unverifiable = allow: accounts with nothing stored to check */
    char *saml_metadata;
    char *saml_metadata_at; /* "file:line" where it was set, for the SAML IdP's errors */
    int saml_idp_initiated; /* saml_idp_initiated = yes: logins started at /saml/init (no AuthnRequest) */
    /* a portal behind a reverse proxy (docs/proxy.md): its public origins; redirect_uri and a
     * secret are then optional */
    gw_strlist_t proxy_origins; /* "https://host[:port]", lower case, no path */
    gw_strlist_t proxy_bypass; /* path prefixes that need no session (forward-auth) */
    char *proxy_cookie; /* the portal cookie's name on its host; default "eidgw_portal" */
} gw_client_t;

/* An [upstream NAME] section. The gateway reads only `plugin`; every other key belongs to
 * that plugin, which reads the section's lines with its own directive table
 * (plugins/plugins.c, gw_plugins_configure) into its own settings. */
typedef struct gw_upstream {
    char *name; /* section name, e.g. "vneid" */
    char *plugin; /* the idp plugin that speaks to it (plugin.h's registry); default "vneid" */
    char *plugin_at; /* "file:line" where plugin was set (or the section's line), for errors */
    gw_dir_lines_t lines; /* the plugin's keys, as read */
    void *settings; /* the plugin's settings, once read; freed by its table */
    const gw_directive_t *settings_table;
    void (*settings_release)(void *settings); /* the plugin's own, run before the table frees */
} gw_upstream_t;

typedef struct gw_config {
    char *path;
    /* [server] */
    char *listen_host;
    int listen_port;
    char *public_url; /* issuer, no trailing slash */
    int io_threads, workers, upstream_workers;
    int max_waiting; /* requests waiting on outgoing calls (no thread each), in all */
    char *templates_dir;
    long max_body, max_headers, max_uri;
    int max_connections, max_connections_per_ip; /* open at once, in all / from one address */
    long request_timeout, idle_timeout; /* seconds: a request's head; a kept-alive idle connection */
    long min_body_rate; /* bytes a second a body must keep up once request_timeout has passed */
    gw_strlist_t trusted_proxies; /* peers whose X-Forwarded-For names the client */
    int secret_file_mode; /* GW_SECRET_MODE_*: files holding secrets open to others */
    /* [keys] */
    char *keys_dir;
    /* [store] */
    char *store_driver, *store_path;
    char *store_url, *store_password, *store_master;
    gw_strlist_t store_sentinels;
    int store_allow_volatile;
    char *store_memory; /* namespaces held in memory ("none": none); sqlite only */
    int store_memory_max; /* records */
    long store_memory_max_bytes; /* and bytes (keys and values, estimated) */
    /* [session] */
    char *revocation_file; /* [session] the nginx module's revocation feed; NULL = none */
    long session_lifetime, session_recheck, code_lifetime, token_lifetime, flow_lifetime;
    /* [popdb] the population-DB matching service (3-item check): its keys belong to the
     * popdb plugin, which reads them like an upstream's */
    gw_dir_lines_t popdb_lines;
    void *popdb;
    const gw_directive_t *popdb_table;
    /* [limits] */
    gw_rate_t lim_legacy_account, lim_legacy_ip, lim_verify_account, lim_verify_ip, lim_verify_id12;
    gw_rate_t lim_logins_ip; /* logins started per client address (gw_addrlimit, per node) */
    /* [audit] */
    char *audit_path, *node_id;
    /* [admin] */
    char *admin_token_sha256; /* bearer token hash for the admin API; NULL = API off */
    /* [log] */
    char *log_level;
    gw_upstream_t *upstream; /* exactly one for now: the e-ID provider */
    /* what the file allows but should not: "file:line: key: message", printed by
     * check-config and logged at start */
    gw_strlist_t warnings;
    size_t nclients;
    gw_client_t *clients;
} gw_config_t;

/* Load and validate. On error returns NULL and writes "file:line: key: message". */
gw_config_t *gw_config_load(const char *path, char *err, size_t errlen);
/* Same from a string (for tests and fuzzing); `name` stands for the file name. */
gw_config_t *gw_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
void gw_config_free(gw_config_t *cfg);

const gw_client_t *gw_config_client(const gw_config_t *cfg, const char *id);
/* Once the plugins have read their sections: the modes of the files that hold secrets,
 * by cfg->secret_file_mode: the file itself when it holds one inline (a password, a
 * client secret), and every file a row marks secret_file (a private key). 0, or -1 with
 * err; warnings go to cfg->warnings. */
int gw_config_check_secret_files(gw_config_t *cfg, char *err, size_t errlen);
/* The proxied portal one of whose origins has this authority ("host[:port]" as a browser
 * sends it: compared without ASCII case, a default port written out or not), or NULL. */
const gw_client_t *gw_config_client_by_host(const gw_config_t *cfg, const char *authority);
/* cl's origin (proxy_origin) with this authority, compared as above, or NULL. */
const char *gw_config_origin_of(const gw_client_t *cl, const char *authority);

/* memory_max_bytes when the configuration does not set it: sized from the machine */
long gw_config_default_memory_bytes(void);

#endif
