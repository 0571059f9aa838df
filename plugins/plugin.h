/* Plugins: connectors chosen by configuration, compiled in and listed in a static table
 * (plugins/plugins.c). Kind `idp`: an upstream identity provider, a state machine whose
 * calls the gateway makes. A new connector is one folder under plugins/ and one row in
 * that table.
 *
 * Each plugin owns its configuration keys: it names a directive table (gw_directive.h)
 * and the size of its settings struct, and the registry reads the section's lines into
 * them (gw_plugins_configure). A plugin sees this header and the util, vn, crypto and
 * http layers: never the configuration struct, the broker or the app. */
#ifndef GW_PLUGIN_H
#define GW_PLUGIN_H
#include <stddef.h>

#include "gw_directive.h"

struct gw_config;
struct gw_outcall;
struct gw_http_result;
enum { GW_IDP_CALL = 1, GW_IDP_DONE = 2, GW_IDP_FAIL = 3, GW_IDP_BLOCK = 4 };

/* A plugin's configuration: its keys, its settings struct's size, and the checks that
 * involve more than one key (and defaults that depend on others), run once the table has
 * read the section: 0, or -1 with "file:line: key: message" in err. */
typedef struct gw_plugin_conf {
    const gw_directive_t *directives;
    size_t size;
    int (*check)(void *settings, const gw_dir_section_t *sec, char *err, size_t errlen);
    /* Frees what check() derived and kept in the settings (a loaded key); NULL: nothing.
     * Called before the table frees the settings, also when check() failed. */
    void (*release)(void *settings);
} gw_plugin_conf_t;

/* The verified identity an upstream provider vouches for. Strings are malloc'd. */
typedef struct gw_identity {
    char *id12; /* personal ID number (or the provider's opaque id for foreigners) */
    char *name; /* NFC UTF-8 */
    char *birthdate; /* YYYY-MM-DD or NULL */
    char sex; /* 'M', 'F' or 0 */
    int level; /* 1, 2, or 0 when the provider did not say */
    char *account_type; /* provider's account type value, e.g. "1" citizen */
    char *issuer, *sub; /* secondary key (issuer, sub) */
    char *logout_uri; /* per-session upstream logout link, if any */
} gw_identity_t;

void gw_identity_cleanup(gw_identity_t *id);

/* What the gateway hands an idp plugin: where the provider sends the browser back, and
 * the provider's keys (fetched and cached by the gateway). */
typedef struct gw_idp_env {
    const char *redirect_uri;
    struct gw_jwks_cache *jwks;
} gw_idp_env_t;

/* What the gateway prepares for each login of that upstream. */
typedef struct gw_idp_needs {
    int nonce, pkce;
    const char *keys_uri; /* the provider's JWKS, fetched and cached by the gateway; or NULL */
} gw_idp_needs_t;

/* What the provider sent the browser back with, and what the gateway prepared for this
 * login. The values are read from the raw query and percent-decoded only: a '+' stays a
 * '+' (VNeID's profile 7.3 sends an encrypted code as standard base64, where a '+' turned
 * into a space would be another code). A connector that needs another parameter reads it
 * from `query` with gw_query_param (gw_util.h), the same way. */
typedef struct gw_idp_callback {
    const char *query; /* the callback's query string as it came, without the '?' */
    const char *code; /* `code` from it, present once, not empty */
    const char *nonce, *code_verifier; /* or NULL: the gateway made none for this login */
} gw_idp_callback_t;

/* Every call gets the settings its table read (`settings`). */
typedef struct gw_idp_ops {
    const char *kind;
    gw_plugin_conf_t conf;
    void (*needs)(const void *settings, gw_idp_needs_t *out);
    /* The URL to send the browser to. nonce and code_challenge may be NULL. */
    char *(*auth_url)(const gw_idp_env_t *env, const void *settings, const char *state, const char *nonce,
                      const char *code_challenge, const char *ui_locales);
    /* Redeeming the code is a few calls to the provider, which the gateway makes on its
     * event loop (the plugin never waits on the network itself). begin() returns the
     * plugin's state for this login and fills the first call. step() gets each answer
     * and returns GW_IDP_CALL with the next call filled (its strings may point into the
     * state), GW_IDP_DONE with *ret filled, GW_IDP_FAIL with *ret_code set to a page code
     * ("upstream_unavailable", "upstream_error", "missing_identity") and a log-only
     * reason in detail, or, when may_block is 0, GW_IDP_BLOCK: call step() again with
     * the same answer on a thread that may block (a key fetch). end() frees the state.
     * begin() returns GW_IDP_CALL with *state and the call filled, or GW_IDP_FAIL with
     * *state NULL and *ret_code and detail as for step() (a code that does not decrypt):
     * then no call is made, so nothing spends the code. */
    int (*begin)(const gw_idp_env_t *env, const void *settings, const gw_idp_callback_t *cb, void **state,
                 struct gw_outcall *call, const char **ret_code, char *detail, size_t detail_len);
    int (*step)(const gw_idp_env_t *env, const void *settings, void *state, const struct gw_http_result *answer,
                int may_block, struct gw_outcall *call, gw_identity_t *ret, const char **ret_code, char *detail,
                size_t detail_len);
    void (*end)(void *state);
} gw_idp_ops_t;

extern const gw_idp_ops_t gw_idp_vneid;
/* The idp plugin of that kind ("vneid"), or NULL. */
const gw_idp_ops_t *gw_idp_find(const char *kind);
/* The kinds in the registry, comma-separated, into out. */
void gw_idp_kinds(char *out, size_t len);

/* Kind `popdb`: the population-DB 3-item check (blocking; worker threads only). Its
 * settings come from the [popdb] section (gw_popdb_conf); without one, defaults only and
 * no service: every check is GW_POPDB_ERROR. */
enum { GW_POPDB_MATCH = 1, GW_POPDB_NO_MATCH = 2, GW_POPDB_ERROR = 3 };
extern const gw_plugin_conf_t gw_popdb_conf;
int gw_popdb_configured(const void *settings);
int gw_popdb_check(const void *settings, const char *cmnd9, const char *id12, const char *name, char *detail,
                   size_t detail_len);

/* The configuration's plugin sections read by their plugins' tables: the upstream's
 * plugin is looked up in the registry, and cfg->upstream->settings and cfg->popdb are
 * filled. Once per configuration (again: nothing to do). 0, or -1 with
 * "file:line: key: message" in err. */
int gw_plugins_configure(struct gw_config *cfg, char *err, size_t errlen);

/* Kind `legacy`: the portal's own password check over HTTP (blocking). */
enum { GW_LEGACY_OK = 1, GW_LEGACY_DENIED = 2, GW_LEGACY_ERROR = 3 };
int gw_legacy_http_check(const char *url, const char *username, const char *password, char *ret_account,
                         size_t account_len);

#endif
