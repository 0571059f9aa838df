/* idp_vneid: eidgw as an OpenID Connect relying party of VNeID (or of any OP that speaks
 * the authorization-code flow), driven by a profile in the configuration: endpoint URLs,
 * claim names, date format, sex and level value tables, optional id_token, nonce, PKCE.
 *
 * Where an id_token comes, it is verified before anything is read from it: alg from the
 * provider's allow-list, key by kid from the JWKS (refetched on an unknown kid), then
 * iss, aud, azp, exp, iat and nonce. The userinfo `sub` must equal the id_token's. */
#include "../plugin.h"
#include "gw_json.h"
#include "idp_vneid.h"
#include "idp_vneid_internal.h"
#include "vneid_envelope.h"
#include "gw_directive.h"
#include "gw_crypto.h"
#include "gw_http.h"
#include "gw_log.h"
#include "gw_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

void gw_identity_cleanup(gw_identity_t *id)
{
    free(id->id12);
    free(id->name);
    free(id->birthdate);
    free(id->account_type);
    free(id->issuer);
    free(id->sub);
    free(id->logout_uri);
    memset(id, 0, sizeof(*id));
}

static char *vneid_auth_url(const gw_idp_env_t *env, const void *settings, const char *state, const char *nonce,
                            const char *challenge, const char *ui_locales)
{
    const gw_vneid_settings_t *up = settings;
    gw_buf_t u;
    gw_buf_init(&u, 16384);
    gw_buf_adds(&u, up->authorization_endpoint);
    gw_url_add_param(&u, "response_type", "code");
    gw_url_add_param(&u, "client_id", up->client_id);
    const char *cb = env->redirect_uri;
    gw_url_add_param(&u, "redirect_uri", cb);
    gw_url_add_param(&u, "scope", up->scope);
    gw_url_add_param(&u, "state", state);
    if (nonce)
        gw_url_add_param(&u, "nonce", nonce);
    if (challenge) {
        gw_url_add_param(&u, "code_challenge", challenge);
        gw_url_add_param(&u, "code_challenge_method", "S256");
    }
    if (ui_locales)
        gw_url_add_param(&u, "ui_locales", ui_locales);
    return gw_buf_steal(&u);
}

/* A claim as a string: strings as they are, integers printed. NULL when absent. */
static char *claim_str(json_t *o, const char *name)
{
    if (!name)
        return NULL;
    json_t *v = json_object_get(o, name);
    if (json_is_string(v))
        return json_string_length(v) ? gw_strdup(json_string_value(v)) : NULL;
    if (json_is_integer(v))
        return gw_sprintf("%lld", (long long)json_integer_value(v));
    return NULL;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* A birth date as the provider writes it (fmt: YYYYMMDD, YYYY-MM-DD or DD/MM/YYYY) in ISO
 * form, or NULL when it is not a date of the calendar (30 February is refused, not stored). */
char *gw_vneid_iso_date(const char *v, const char *fmt)
{
    if (!v)
        return NULL;
    int y, m, d;
    char tail;
    size_t n = strlen(v);
    if (!strcmp(fmt, "YYYYMMDD")) {
        if (n != 8 || sscanf(v, "%4d%2d%2d%c", &y, &m, &d, &tail) != 3)
            return NULL;
    } else if (!strcmp(fmt, "YYYY-MM-DD")) {
        if (n != 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
            return NULL;
    } else {
        if (n != 10 || sscanf(v, "%2d/%2d/%4d%c", &d, &m, &y, &tail) != 3)
            return NULL;
    }
    if (y < 1850 || y > 2400 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return NULL;
    for (const char *c = v; *c; c++)
        if ((*c < '0' || *c > '9') && *c != '-' && *c != '/')
            return NULL;
    return gw_sprintf("%04d-%02d-%02d", y, m, d);
}

static int check_id_token(const gw_vneid_settings_t *up, json_t *c, const char *nonce, char *detail, size_t dl)
{
    int64_t now = gw_now();
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!iss || strcmp(iss, up->issuer)) {
        snprintf(detail, dl, "id_token iss '%s' is not '%s'", iss ? iss : "(none)", up->issuer);
        return -1;
    }
    json_t *aud = json_object_get(c, "aud");
    int aud_ok = 0, naud = 0;
    if (json_is_string(aud)) {
        aud_ok = !strcmp(json_string_value(aud), up->client_id);
        naud = 1;
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        json_array_foreach (aud, i, a) {
            naud++;
            if (json_is_string(a) && !strcmp(json_string_value(a), up->client_id))
                aud_ok = 1;
        }
    }
    if (!aud_ok) {
        snprintf(detail, dl, "id_token aud does not contain our client id");
        return -1;
    }
    const char *azp = json_string_value(json_object_get(c, "azp"));
    if ((azp || naud > 1) && (!azp || strcmp(azp, up->client_id))) {
        snprintf(detail, dl, "id_token azp '%s' is not our client id", azp ? azp : "(none)");
        return -1;
    }
    json_t *exp = json_object_get(c, "exp"), *iat = json_object_get(c, "iat");
    if (!json_is_number(exp) || (json_number_value(exp) + (double)up->clock_skew) < (double)now) {
        snprintf(detail, dl, "id_token expired or without exp");
        return -1;
    }
    if (!json_is_number(iat) || json_number_value(iat) > (double)(now + up->clock_skew)) {
        snprintf(detail, dl, "id_token iat missing or in the future");
        return -1;
    }
    if (nonce) {
        const char *n = json_string_value(json_object_get(c, "nonce"));
        if (!n || !gw_ct_streq(n, nonce)) {
            snprintf(detail, dl, "id_token nonce does not match");
            return -1;
        }
    }
    if (!json_string_value(json_object_get(c, "sub"))) {
        snprintf(detail, dl, "id_token without sub");
        return -1;
    }
    return 0;
}

int gw_vneid_map_identity(const gw_vneid_settings_t *up, json_t *ui, gw_identity_t *id, char *detail, size_t dl)
{
    /* the ID number must be a string: as a JSON number its leading zeros are gone */
    json_t *idv = json_object_get(ui, up->claim_id);
    id->id12 = json_is_string(idv) && json_string_length(idv) && json_string_length(idv) <= 32
                   ? gw_strdup(json_string_value(idv))
                   : NULL;
    if (!id->id12) {
        snprintf(detail, dl, "userinfo has no string '%s'", up->claim_id);
        return -1;
    }
    for (const char *c = id->id12; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '-')) {
            snprintf(detail, dl, "'%s' has characters an identifier cannot have", up->claim_id);
            return -1;
        }
    id->name = claim_str(ui, up->claim_name);
    char *bd = claim_str(ui, up->claim_birthdate);
    id->birthdate = gw_vneid_iso_date(bd, up->birthdate_format);
    free(bd);
    char *sex = claim_str(ui, up->claim_sex);
    if (sex && up->sex_male && !strcmp(sex, up->sex_male))
        id->sex = 'M';
    else if (sex && up->sex_female && !strcmp(sex, up->sex_female))
        id->sex = 'F';
    free(sex);
    char *lvl = claim_str(ui, up->claim_level);
    id->level = 0;
    if (lvl && up->level_map.n) {
        for (size_t i = 0; i < up->level_map.n; i++) {
            const char *e = strchr(up->level_map.v[i], ':');
            if ((size_t)(e - up->level_map.v[i]) == strlen(lvl) && !strncmp(up->level_map.v[i], lvl, strlen(lvl)))
                id->level = e[1] - '0'; /* "1" or "2": checked at load */
        }
    } else if (lvl && (!strcmp(lvl, "1") || !strcmp(lvl, "2"))) {
        id->level = lvl[0] - '0';
    }
    free(lvl);
    id->account_type = claim_str(ui, up->claim_account_type);
    id->logout_uri = claim_str(ui, up->claim_logout_uri);
    id->sub = claim_str(ui, "sub");
    id->issuer = gw_strdup(up->issuer);
    return 0;
}

/* One login's redemption: the token call, then (with the access token) the userinfo call. */
typedef struct vneid_run {
    int stage; /* 0: the token answer is due, 1: the userinfo answer */
    char *form; /* the token request's body */
    char *nonce;
    char *at; /* the access token, for the userinfo call */
    json_t *claims; /* the verified id_token's claims, if one came */
} vneid_run_t;

static void vneid_end(void *state)
{
    vneid_run_t *r = state;
    if (!r)
        return;
    gw_wipe_free(r->form);
    free(r->nonce);
    gw_wipe_free(r->at);
    json_decref(r->claims);
    free(r);
}

/* encrypt_key as VNeID's profile 7.3 sends it beside an encrypted code: standard base64
 * of an RSA-wrapped AES key, so at most a few hundred bytes of [A-Za-z0-9+/=] */
#define ENCRYPT_KEY_MAX 2048
static int encrypt_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (!n || n > ENCRYPT_KEY_MAX)
        return 0;
    return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == n;
}

static int vneid_begin(const gw_idp_env_t *env, const void *settings, const gw_idp_callback_t *cb, void **state,
                       gw_outcall_t *call, const char **ret_code, char *detail, size_t dl)
{
    const gw_vneid_settings_t *up = settings;
    *state = NULL;
    /* 7.3: an encrypted code comes with its wrapped key, which goes back with it unchanged */
    char *ekey = NULL;
    int krc = up->profile == 1 ? gw_query_param(cb->query, "encrypt_key", &ekey) : GW_ENOTFOUND;
    if (krc == GW_EINVAL || (krc == GW_OK && !encrypt_key_ok(ekey))) {
        gw_wipe_free(ekey);
        *ret_code = "upstream_error";
        snprintf(detail, dl, "callback: encrypt_key is repeated, too long or not base64");
        return GW_IDP_FAIL;
    }
    vneid_run_t *r = gw_xcalloc(1, sizeof(*r));
    gw_buf_t form;
    gw_buf_init(&form, 16384);
    char *e_code = gw_url_encode(cb->code), *e_cb = gw_url_encode(env->redirect_uri);
    gw_buf_printf(&form, "grant_type=authorization_code&code=%s&redirect_uri=%s", e_code, e_cb);
    gw_wipe_free(e_code);
    free(e_cb);
    if (cb->code_verifier) {
        char *ev = gw_url_encode(cb->code_verifier);
        gw_buf_printf(&form, "&code_verifier=%s", ev);
        gw_wipe_free(ev);
    }
    if (up->profile == 1) { /* 7.3: the client's credentials in the form */
        char *eid = gw_url_encode(up->client_id), *esec = gw_url_encode(up->client_secret);
        gw_buf_printf(&form, "&client_id=%s&client_secret=%s", eid, esec);
        free(eid);
        gw_wipe_free(esec);
        if (ekey) {
            char *ek = gw_url_encode(ekey);
            gw_buf_printf(&form, "&encrypt_key=%s", ek);
            gw_wipe_free(ek);
        }
    }
    gw_wipe_free(ekey);
    r->form = gw_buf_steal(&form);
    r->nonce = cb->nonce ? gw_strdup(cb->nonce) : NULL;
    *call = (gw_outcall_t){ .url = up->token_endpoint,
                            .form = r->form,
                            .basic_user = up->profile == 1 ? NULL : up->client_id,
                            .basic_pass = up->profile == 1 ? NULL : up->client_secret,
                            .timeout_ms = up->timeout * 1000 };
    *state = r;
    return GW_IDP_CALL;
}

static EVP_PKEY *load_rp_key(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/* A token or userinfo body as JSON; in profile 7.3 a {"data","key"} body is opened first.
 * NULL, with *sealed_bad set, for an envelope that does not open: one outcome for every
 * way it can fail, so nothing on the wire tells them apart. */
static json_t *answer_json(const gw_vneid_settings_t *up, const gw_http_result_t *a, int *sealed_bad)
{
    *sealed_bad = 0;
    json_t *o = gw_json_parse(a->body, a->len, NULL, 0);
    if (up->profile != 1 || !json_is_object(o) || !json_object_get(o, "data") || !json_object_get(o, "key"))
        return o;
    json_decref(o);
    o = NULL;
    char *pt = NULL;
    size_t n = 0;
    if (up->rp_key && gw_vneid_envelope_open(up->rp_key, a->body, a->len, &pt, &n) == GW_OK)
        o = gw_json_parse(pt, n, NULL, 0);
    gw_wipe_free(pt);
    if (!o)
        *sealed_bad = 1;
    return o;
}

/* The token answer: the access token, and the id_token checked. Returns GW_IDP_CALL with
 * the userinfo call, GW_IDP_FAIL or GW_IDP_BLOCK. */
static int token_answer(const gw_idp_env_t *env, const gw_vneid_settings_t *up, vneid_run_t *r,
                        const gw_http_result_t *tr, int may_block, gw_outcall_t *call, const char **ret_code,
                        char *detail, size_t dl)
{
    int rc = GW_IDP_FAIL;
    if (tr->status == 0 || tr->status >= 500) {
        *ret_code = "upstream_unavailable";
        snprintf(detail, dl, "token endpoint: %s", tr->status ? "server error" : tr->error);
        if (tr->status)
            snprintf(detail, dl, "token endpoint: HTTP %ld", tr->status);
        return GW_IDP_FAIL;
    }
    int sealed_bad = 0;
    json_t *tok = answer_json(up, tr, &sealed_bad);
    if (sealed_bad) {
        *ret_code = "upstream_error";
        snprintf(detail, dl, "token endpoint: the encrypted response does not open");
        return GW_IDP_FAIL;
    }
    const char *at = json_string_value(json_object_get(tok, "access_token"));
    if (tr->status != 200 || !at) {
        *ret_code = "upstream_error";
        snprintf(detail, dl, "token endpoint: HTTP %ld, error '%s'", tr->status,
                 json_string_value(json_object_get(tok, "error")) ? json_string_value(json_object_get(tok, "error"))
                                                                  : "-");
        goto done;
    }
    const char *tt = json_string_value(json_object_get(tok, "token_type"));
    if (tt && strcasecmp(tt, "Bearer")) {
        *ret_code = "upstream_error";
        snprintf(detail, dl, "token_type '%s' is not Bearer", tt);
        goto done;
    }
    const char *idt = json_string_value(json_object_get(tok, "id_token"));
    if (up->id_token == 2 && !idt) {
        *ret_code = "upstream_error";
        snprintf(detail, dl, "token response has no id_token");
        goto done;
    }
    if (idt && up->id_token) {
        int jr = may_block ? gw_jwt_verify(env->jwks, idt, up->algs, &r->claims)
                           : gw_jwt_verify_cached(env->jwks, idt, up->algs, &r->claims);
        if (jr == GW_JWT_NEED_KEYS) { /* the JWKS must be fetched: on a thread that may wait */
            rc = GW_IDP_BLOCK;
            goto done;
        }
        if (jr != GW_JWT_OK) {
            *ret_code = jr == GW_JWT_JWKS_FETCH ? "upstream_unavailable" : "upstream_error";
            snprintf(detail, dl, "id_token: %s", gw_jwt_strerror(jr));
            goto done;
        }
        if (check_id_token(up, r->claims, up->use_nonce ? r->nonce : NULL, detail, dl)) {
            *ret_code = "upstream_error";
            goto done;
        }
    }
    r->at = gw_strdup(at);
    *call = (gw_outcall_t){ .url = up->userinfo_endpoint, .bearer = r->at, .timeout_ms = up->timeout * 1000 };
    r->stage = 1;
    rc = GW_IDP_CALL;
done:
    json_decref(tok);
    return rc;
}

static int userinfo_answer(const gw_vneid_settings_t *up, vneid_run_t *r, const gw_http_result_t *ur,
                           gw_identity_t *ret, const char **ret_code, char *detail, size_t dl)
{
    if (ur->status == 0 || ur->status >= 500) {
        *ret_code = "upstream_unavailable";
        snprintf(detail, dl, "userinfo: %s", ur->status ? "server error" : ur->error);
        return GW_IDP_FAIL;
    }
    int sealed_bad = 0;
    json_t *ui = ur->status == 200 ? answer_json(up, ur, &sealed_bad) : NULL;
    int rc = GW_IDP_FAIL;
    if (sealed_bad) {
        *ret_code = "upstream_error";
        snprintf(detail, dl, "userinfo: the encrypted response does not open");
        return GW_IDP_FAIL;
    }
    if (!json_is_object(ui)) {
        *ret_code = "upstream_error";
        snprintf(detail, dl, "userinfo: HTTP %ld or not a JSON object", ur->status);
        goto done;
    }
    const char *usub = json_string_value(json_object_get(ui, "sub"));
    if (r->claims) {
        const char *isub = json_string_value(json_object_get(r->claims, "sub"));
        if (!usub || strcmp(usub, isub)) {
            *ret_code = "upstream_error";
            snprintf(detail, dl, "userinfo sub differs from id_token sub");
            goto done;
        }
    }
    if (gw_vneid_map_identity(up, ui, ret, detail, dl)) {
        gw_identity_cleanup(ret);
        *ret_code = "missing_identity";
        goto done;
    }
    rc = GW_IDP_DONE;
done:
    json_decref(ui);
    return rc;
}

static int vneid_step(const gw_idp_env_t *env, const void *settings, void *state, const gw_http_result_t *answer,
                      int may_block, gw_outcall_t *call, gw_identity_t *ret, const char **ret_code, char *detail,
                      size_t dl)
{
    const gw_vneid_settings_t *up = settings;
    vneid_run_t *r = state;
    if (r->stage == 0)
        return token_answer(env, up, r, answer, may_block, call, ret_code, detail, dl);
    return userinfo_answer(up, r, answer, ret, ret_code, detail, dl);
}

/* ---- its configuration ---- */

#define UPS(k, t, f, mn, mx, w, req, d, ...)                                                                           \
    {                                                                                                                  \
        .name = k, .type = t, .offset = offsetof(gw_vneid_settings_t, f), .min = mn, .max = mx, .words = w,            \
        .required = req, .def = d, __VA_ARGS__                                                                         \
    }

/* a level_map value: VALUE:1 or VALUE:2 */
static int level_pair(const char *v, char *msg, size_t msglen)
{
    const char *e = strchr(v, ':');
    if (e && e != v && (!strcmp(e + 1, "1") || !strcmp(e + 1, "2")))
        return 0;
    snprintf(msg, msglen, "'%s' must be VALUE:1 or VALUE:2", v);
    return -1;
}

/* an algs value: signature algorithms from the allow-list, never none or HS* */
static int alg_list(const char *v, char *msg, size_t msglen)
{
    char *algs = gw_strdup(v), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(algs, " ,", &save); t && !rc; t = strtok_r(NULL, " ,", &save))
        if (!gw_list_has("RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512", t)) {
            snprintf(msg, msglen, "'%s' is not an allowed signature algorithm (RS*, PS*, ES*; never none or HS*)", t);
            rc = -1;
        }
    free(algs);
    return rc;
}

static const gw_directive_t vneid_dirs[] = {
    UPS("display_name", GW_DIR_STR, display_name, 0, 0, NULL, 0, "VNeID"),
    UPS("issuer", GW_DIR_STR, issuer, 0, 0, NULL, 1, NULL),
    UPS("authorization_endpoint", GW_DIR_URL, authorization_endpoint, 0, 0, NULL, 1, NULL),
    UPS("token_endpoint", GW_DIR_URL, token_endpoint, 0, 0, NULL, 1, NULL),
    UPS("userinfo_endpoint", GW_DIR_URL, userinfo_endpoint, 0, 0, NULL, 1, NULL),
    UPS("jwks_uri", GW_DIR_URL, jwks_uri, 0, 0, NULL, 0, NULL),
    UPS("end_session_endpoint", GW_DIR_URL, end_session_endpoint, 0, 0, NULL, 0, NULL),
    UPS("client_id", GW_DIR_STR, client_id, 0, 0, NULL, 1, NULL),
    UPS("client_secret", GW_DIR_STR, client_secret, 0, 0, NULL, 1, NULL, .secret = 1),
    UPS("scope", GW_DIR_STR, scope, 0, 0, NULL, 0, "openid"),
    UPS("pkce", GW_DIR_BOOL, use_pkce, 0, 0, NULL, 0, "yes"),
    UPS("nonce", GW_DIR_BOOL, use_nonce, 0, 0, NULL, 0, "yes"),
    UPS("id_token", GW_DIR_CHOICE, id_token, 0, 0, "absent optional required", 0, "required"),
    UPS("algs", GW_DIR_STR, algs, 0, 0, NULL, 0, "RS256 ES256 PS256", .check = alg_list),
    UPS("claim_id", GW_DIR_STR, claim_id, 0, 0, NULL, 1, NULL),
    UPS("claim_name", GW_DIR_STR, claim_name, 0, 0, NULL, 0, NULL),
    UPS("claim_birthdate", GW_DIR_STR, claim_birthdate, 0, 0, NULL, 0, NULL),
    UPS("birthdate_format", GW_DIR_WORD, birthdate_format, 0, 0, "YYYYMMDD YYYY-MM-DD DD/MM/YYYY", 0, "YYYYMMDD"),
    UPS("claim_sex", GW_DIR_STR, claim_sex, 0, 0, NULL, 0, NULL),
    UPS("sex_male", GW_DIR_STR, sex_male, 0, 0, NULL, 0, NULL),
    UPS("sex_female", GW_DIR_STR, sex_female, 0, 0, NULL, 0, NULL),
    UPS("claim_level", GW_DIR_STR, claim_level, 0, 0, NULL, 0, NULL),
    UPS("level_map", GW_DIR_LIST, level_map, 0, 0, NULL, 0, NULL, .check = level_pair),
    UPS("claim_account_type", GW_DIR_STR, claim_account_type, 0, 0, NULL, 0, NULL),
    UPS("claim_logout_uri", GW_DIR_STR, claim_logout_uri, 0, 0, NULL, 0, NULL),
    UPS("timeout", GW_DIR_SECONDS, timeout, 1, 120, NULL, 0, "10s"),
    UPS("clock_skew", GW_DIR_SECONDS, clock_skew, 0, 600, NULL, 0, "60s"),
    UPS("profile", GW_DIR_CHOICE, profile, 0, 0, "oidc encrypted", 0, "oidc"),
    UPS("decryption_key", GW_DIR_STR, decryption_key, 0, 0, NULL, 0, NULL, .secret_file = 1),
    { 0 },
};

/* the line of a key in the section, or the section's own line when the key was not given */
static int line_of(const gw_dir_section_t *sec, const char *key)
{
    for (int i = 0; vneid_dirs[i].name; i++)
        if (!strcmp(vneid_dirs[i].name, key))
            return sec->set_line[i] ? sec->set_line[i] : sec->line;
    return sec->line;
}

/* profile = encrypted (DOMAIN.md 7.3): eidgw's RSA key, and neither id_token nor nonce */
static int encrypted_check(gw_vneid_settings_t *up, const gw_dir_section_t *sec, char *err, size_t errlen)
{
    if (up->profile != 1) {
        if (up->decryption_key)
            return gw_dir_error(err, errlen, sec->file, line_of(sec, "decryption_key"), "decryption_key",
                                "only with profile = encrypted");
        return 0;
    }
    if (!up->decryption_key)
        return gw_dir_error(err, errlen, sec->file, line_of(sec, "profile"), "decryption_key",
                            "required with profile = encrypted");
    up->rp_key = load_rp_key(up->decryption_key); /* once: every encrypted answer uses it */
    if (!up->rp_key)
        return gw_dir_error(err, errlen, sec->file, line_of(sec, "decryption_key"), "decryption_key",
                            "'%s' is not a readable PEM RSA private key", up->decryption_key);
    if (up->id_token)
        return gw_dir_error(err, errlen, sec->file, line_of(sec, "id_token"), "id_token",
                            "profile = encrypted has no id_token: set id_token = absent");
    if (up->use_nonce)
        return gw_dir_error(err, errlen, sec->file, line_of(sec, "nonce"), "nonce",
                            "profile = encrypted has no nonce: set nonce = no");
    return 0;
}

static int vneid_check(void *settings, const gw_dir_section_t *sec, char *err, size_t errlen)
{
    gw_vneid_settings_t *up = settings;
    if (encrypted_check(up, sec, err, errlen))
        return -1;
    if (up->id_token && !up->jwks_uri)
        return gw_dir_error(err, errlen, sec->file, sec->line, "jwks_uri", "required in [%s] unless id_token = absent",
                            sec->name);
    return 0;
}

static void vneid_release(void *settings)
{
    gw_vneid_settings_t *up = settings;
    EVP_PKEY_free(up->rp_key);
    up->rp_key = NULL;
}

static void vneid_needs(const void *settings, gw_idp_needs_t *out)
{
    const gw_vneid_settings_t *up = settings;
    *out = (gw_idp_needs_t){ .nonce = up->use_nonce, .pkce = up->use_pkce, .keys_uri = up->jwks_uri };
}

const gw_idp_ops_t gw_idp_vneid = {
    .kind = "vneid",
    .conf = { .directives = vneid_dirs,
              .size = sizeof(gw_vneid_settings_t),
              .check = vneid_check,
              .release = vneid_release },
    .needs = vneid_needs,
    .auth_url = vneid_auth_url,
    .begin = vneid_begin,
    .step = vneid_step,
    .end = vneid_end,
};
