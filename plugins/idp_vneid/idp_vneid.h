/* idp_vneid's settings: an [upstream NAME] section with plugin = vneid (the default),
 * read by the table in idp_vneid.c. docs/configuration.md lists the keys. */
#ifndef GW_IDP_VNEID_H
#define GW_IDP_VNEID_H

#include "gw_util.h" /* gw_strlist_t */

typedef struct gw_vneid_settings {
    char *display_name;
    char *issuer;
    char *authorization_endpoint, *token_endpoint, *userinfo_endpoint, *jwks_uri;
    char *end_session_endpoint;
    char *client_id, *client_secret;
    char *scope;
    int use_pkce, use_nonce;
    int id_token; /* 0 absent, 1 optional, 2 required */
    char *algs; /* allow-list, space-separated: RS256 ES256 PS256 */
    char *claim_id, *claim_name, *claim_birthdate, *birthdate_format;
    char *claim_sex, *sex_male, *sex_female;
    char *claim_level; /* e.g. IAL */
    gw_strlist_t level_map; /* "value:level" pairs, e.g. "1:1" "2:2" */
    char *claim_account_type;
    char *claim_logout_uri;
    long timeout; /* seconds */
    long clock_skew; /* seconds */
    int profile; /* 0 oidc (DOMAIN.md 7.2), 1 encrypted (7.3) */
    char *decryption_key; /* PEM file: eidgw's RSA private key, profile = encrypted */
    void *rp_key; /* that key, loaded once by the check (EVP_PKEY *); not a directive */
} gw_vneid_settings_t;

#endif
