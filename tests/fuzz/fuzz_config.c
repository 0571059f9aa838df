/* libFuzzer target for gw_config_parse: any bytes as a configuration file. A refused
 * file names the file in its error; an accepted one holds the invariants the daemon
 * relies on (port range, issuer without trailing slash, one upstream, clients with a
 * redirect URI and the openid scope, no none/HS* in the upstream allow-list).
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "fuzz_common.h"
#include "gw_config.h"
#include "plugin.h"
#include "idp_vneid/idp_vneid.h"
#include "gw_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char SEED_FULL[] = "[server]\n"
                                "listen = 127.0.0.1:8443\n"
                                "public_url = https://sso.example.vn/\n"
                                "io_threads = 2\n"
                                "workers = 4\n"
                                "templates = /usr/share/eidgw/templates\n"
                                "max_body = 64k\n"
                                "max_headers = 16k\n"
                                "max_uri = 8k\n"
                                "\n"
                                "[keys]\n"
                                "dir = /var/lib/eidgw/keys\n"
                                "\n"
                                "[store]\n"
                                "driver = sqlite\n"
                                "path = /var/lib/eidgw/eidgw.db\n"
                                "\n"
                                "[session]\n"
                                "lifetime = 8h\n"
                                "recheck = 5m\n"
                                "code_lifetime = 60s\n"
                                "token_lifetime = 5m\n"
                                "flow_lifetime = 15m\n"
                                "\n"
                                "[admin]\n"
                                "token_sha256 = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
                                "\n"
                                "[log]\n"
                                "level = info\n"
                                "\n"
                                "[upstream vneid]\n"
                                "display_name = VNeID\n"
                                "issuer = https://vneid.example\n"
                                "authorization_endpoint = https://vneid.example/auth\n"
                                "token_endpoint = https://vneid.example/token\n"
                                "userinfo_endpoint = https://vneid.example/userinfo\n"
                                "jwks_uri = https://vneid.example/jwks\n"
                                "end_session_endpoint = https://vneid.example/logout\n"
                                "client_id = eidgw\n"
                                "client_secret = s3cret\n"
                                "scope = openid\n"
                                "pkce = yes\n"
                                "nonce = yes\n"
                                "id_token = required\n"
                                "algs = RS256 ES256\n"
                                "claim_id = SoDinhDanh\n"
                                "claim_name = HoVaTen\n"
                                "claim_birthdate = NgayThangNamSinh\n"
                                "birthdate_format = YYYYMMDD\n"
                                "claim_sex = GioiTinh\n"
                                "sex_male = 1\n"
                                "sex_female = 2\n"
                                "claim_level = IAL\n"
                                "level_map = 1:1\n"
                                "level_map = 2:2\n"
                                "claim_account_type = LoaiTaiKhoan\n"
                                "claim_logout_uri = logoutUri\n"
                                "timeout = 10s\n"
                                "clock_skew = 60s\n"
                                "\n"
                                "[client portal-a]\n"
                                "name = Cong A\n"
                                "secret_sha256 = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
                                "redirect_uri = https://a.example/callback\n"
                                "post_logout_redirect_uri = https://a.example/\n"
                                "backchannel_logout_uri = https://a.example/bc\n"
                                "scopes = openid profile cccd\n"
                                "min_level = 2\n"
                                "token_alg = RS256\n"
                                "account_types = 1 2\n"
                                "\n"
                                "[client spa]\n"
                                "public = yes\n"
                                "redirect_uri = http://127.0.0.1:3000/cb\n";

static const char SEED_REDIS[] =
    "[server]\r\nlisten = localhost:80\r\npublic_url = http://x\r\n"
    "[keys]\r\ndir = k\r\n"
    "[store]\r\ndriver = redis\r\nsentinel = 10.0.0.1:26379\r\nsentinel = 10.0.0.2:26379\r\nmaster = m\r\n"
    "[upstream u]\r\nissuer = i\r\nauthorization_endpoint = http://a\r\ntoken_endpoint = http://t\r\n"
    "userinfo_endpoint = http://u\r\nid_token = absent\r\nclient_id = c\r\nclient_secret = s\r\nclaim_id = id\r\n"
    "[client c]\r\npublic = on\r\nredirect_uri = http://r\r\n";

/* The file read whole: the gateway's sections, then the plugins' own tables. */
static gw_config_t *parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    gw_config_t *c = gw_config_parse(name, text, len, err, errlen);
    if (c && gw_plugins_configure(c, err, errlen)) {
        gw_config_free(c);
        return NULL;
    }
    return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[512];
    /* the seeds must parse, or the harness is broken */
    gw_config_t *c = parse("seed", SEED_FULL, strlen(SEED_FULL), err, sizeof(err));
    if (!c) {
        fprintf(stderr, "seed refused: %s\n", err);
        abort();
    }
    gw_config_free(c);
    c = parse("seed", SEED_REDIS, strlen(SEED_REDIS), err, sizeof(err));
    if (!c) {
        fprintf(stderr, "seed refused: %s\n", err);
        abort();
    }
    gw_config_free(c);
    const char *dir = getenv("EIDGW_FUZZ_SEEDS");
    if (dir) {
        write_seed(dir, "seed-full", SEED_FULL, strlen(SEED_FULL));
        write_seed(dir, "seed-redis-crlf", SEED_REDIS, strlen(SEED_REDIS));
    }
    return 0;
}

static int has_bad_alg(const char *algs)
{
    return gw_list_has(algs, "none") || strstr(algs, "HS") != NULL || strstr(algs, "hs") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    memset(err, 0, sizeof(err));
    gw_config_t *c = parse("fuzz.conf", (const char *)data, size, err, sizeof(err));
    if (!c) {
        CHECK(strncmp(err, "fuzz.conf", 9) == 0);
        CHECK(err[9] == ':');
        return 0;
    }
    CHECK(c->listen_host != NULL);
    struct in_addr ia;
    CHECK(!strcmp(c->listen_host, "localhost") || inet_pton(AF_INET, c->listen_host, &ia) == 1);
    CHECK(c->listen_port >= 1 && c->listen_port <= 65535);
    size_t ul = strlen(c->public_url);
    CHECK(ul > 0 && c->public_url[ul - 1] != '/');
    CHECK(!strncmp(c->public_url, "http://", 7) || !strncmp(c->public_url, "https://", 8));
    CHECK(!strpbrk(c->public_url, "?#")); /* the issuer: no query or fragment */
    const char *authority = strstr(c->public_url, "://") + 3;
    CHECK(!memchr(authority, '@', strcspn(authority, "/"))); /* nor a user */
    for (size_t i = 0; i < c->trusted_proxies.n; i++) { /* every range parses */
        gw_cidr_t range;
        char why[128];
        for (const char *r = c->trusted_proxies.v[i];; r++) {
            size_t n = strcspn(r, ",");
            CHECK(gw_cidr_parse(r, n, &range, why, sizeof(why)) == 0);
            r += n;
            if (!*r)
                break;
        }
    }
    CHECK(c->keys_dir && *c->keys_dir);
    CHECK(!strcmp(c->store_driver, "sqlite") || !strcmp(c->store_driver, "redis"));
    CHECK(c->io_threads >= 1 && c->io_threads <= 64);
    CHECK(c->workers >= 1 && c->workers <= 256);
    CHECK(c->code_lifetime >= 5 && c->code_lifetime <= 60);
    CHECK(c->upstream != NULL);
    CHECK(c->upstream->name && c->upstream->settings);
    const gw_vneid_settings_t *u = c->upstream->settings; /* the only upstream plugin so far */
    CHECK(u->issuer && u->client_id && u->client_secret && u->claim_id);
    CHECK(u->algs && !has_bad_alg(u->algs));
    CHECK(u->id_token >= 0 && u->id_token <= 2);
    CHECK(u->id_token == 0 || u->jwks_uri != NULL);
    for (size_t i = 0; i < u->level_map.n; i++) {
        const char *e = strchr(u->level_map.v[i], ':');
        CHECK(e && e != u->level_map.v[i] && (!strcmp(e + 1, "1") || !strcmp(e + 1, "2")));
    }
    CHECK(c->nclients >= 1);
    for (size_t i = 0; i < c->nclients; i++) {
        const gw_client_t *cl = &c->clients[i];
        CHECK(cl->id && *cl->id && strlen(cl->id) <= 64);
        CHECK(gw_config_client(c, cl->id) == cl);
        CHECK((cl->redirect_uris.n >= 1 || cl->saml_metadata) && cl->redirect_uris.n <= GW_MAX_LIST);
        for (size_t j = 0; j < cl->redirect_uris.n; j++)
            CHECK(strchr(cl->redirect_uris.v[j], '#') == NULL);
        CHECK(gw_list_has(cl->scopes, "openid"));
        CHECK(!strcmp(cl->token_alg, "ES256") || !strcmp(cl->token_alg, "RS256"));
        CHECK(cl->is_public == (cl->secret_sha256 == NULL) || (cl->saml_metadata && !cl->secret_sha256));
        CHECK(cl->min_level == 1 || cl->min_level == 2);
        CHECK(cl->name && cl->account_types);
    }
    gw_config_free(c);
    return 0;
}
