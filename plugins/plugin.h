/* Plugins: connectors chosen by configuration, compiled in and listed in a static table
 * (plugins/plugins.c). Kind `idp`: an upstream identity provider, a state machine whose
 * calls the gateway makes. A new connector is one folder under plugins/ and one row in
 * that table. Plugins see this header and the util, vn, conf, crypto and http layers:
 * never the broker or the app. */
#ifndef GW_PLUGIN_H
#define GW_PLUGIN_H
#include <stddef.h>

struct gw_config;
struct gw_upstream;
struct gw_outcall;
struct gw_http_result;
enum { GW_IDP_CALL = 1, GW_IDP_DONE = 2, GW_IDP_FAIL = 3, GW_IDP_BLOCK = 4 };

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

typedef struct gw_idp_ops {
    const char *kind;
    /* The URL to send the browser to. nonce and code_challenge may be NULL. */
    char *(*auth_url)(const gw_idp_env_t *env, const struct gw_upstream *up, const char *state, const char *nonce,
                      const char *code_challenge, const char *ui_locales);
    /* Redeeming the code is a few calls to the provider, which the gateway makes on its
     * event loop (the plugin never waits on the network itself). begin() returns the
     * plugin's state for this login and fills the first call. step() gets each answer
     * and returns GW_IDP_CALL with the next call filled (its strings may point into the
     * state), GW_IDP_DONE with *ret filled, GW_IDP_FAIL with *ret_code set to a page code
     * ("upstream_unavailable", "upstream_error", "missing_identity") and a log-only
     * reason in detail, or, when may_block is 0, GW_IDP_BLOCK: call step() again with
     * the same answer on a thread that may block (a key fetch). end() frees the state. */
    void *(*begin)(const gw_idp_env_t *env, const struct gw_upstream *up, const char *code, const char *nonce,
                   const char *code_verifier, struct gw_outcall *call);
    int (*step)(const gw_idp_env_t *env, const struct gw_upstream *up, void *state, const struct gw_http_result *answer,
                int may_block, struct gw_outcall *call, gw_identity_t *ret, const char **ret_code, char *detail,
                size_t detail_len);
    void (*end)(void *state);
} gw_idp_ops_t;

extern const gw_idp_ops_t gw_idp_vneid;
/* The idp plugin of that kind ("vneid"), or NULL. */
const gw_idp_ops_t *gw_idp_find(const char *kind);
/* The kinds in the registry, comma-separated, into out. */
void gw_idp_kinds(char *out, size_t len);

/* Kind `popdb`: the population-DB 3-item check (blocking; worker threads only). */
enum { GW_POPDB_MATCH = 1, GW_POPDB_NO_MATCH = 2, GW_POPDB_ERROR = 3 };
int gw_popdb_check(const struct gw_config *cfg, const char *cmnd9, const char *id12, const char *name, char *detail,
                   size_t detail_len);

/* Kind `legacy`: the portal's own password check over HTTP (blocking). */
enum { GW_LEGACY_OK = 1, GW_LEGACY_DENIED = 2, GW_LEGACY_ERROR = 3 };
int gw_legacy_http_check(const char *url, const char *username, const char *password, char *ret_account,
                         size_t account_len);

#endif
