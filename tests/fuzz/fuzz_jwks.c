/* libFuzzer target for the upstream JWKS import (gw_jwks_cache_set): any bytes as the JWKS
 * document a provider serves. Checks: the import answers GW_OK exactly when the document is
 * a JSON object with a "keys" array, and then holds at most one key per RSA or EC entry for
 * signing (never an `oct` key); a refused document leaves the keys held before, so a genuine
 * token still verifies; and the same document with a genuine key appended (entries with its
 * kid taken out) verifies that key's token: junk entries never stop a good key.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "gw_crypto.h"
#include "gw_json.h"
#include "gw_util.h"

static const char *const SEEDS[] = {
    JWKS,
    "{\"keys\":[]}",
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"" ES256_KID "\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\",\"use\":\"enc\"},{\"kty\":\"oct\",\"k\":"
    "\"AA\"},"
    "1,null,\"x\",[]]}",
    "{\"keys\":{}}",
    "[{\"keys\":[]}]",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_text_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

static int es256_verifies(gw_jwks_cache_t *c)
{
    json_t *claims = NULL;
    int rc = gw_jwt_verify(c, TOKEN_ES256, "ES256", &claims);
    json_decref(claims);
    return rc == GW_JWT_OK;
}

/* entries a JWKS import may take: RSA or EC, for signing or of no stated use */
static size_t signing_entries(json_t *keys)
{
    size_t i, n = 0;
    json_t *k;
    json_array_foreach (keys, i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        n += kty && (!strcmp(kty, "RSA") || !strcmp(kty, "EC")) && (!use || !strcmp(use, "sig"));
    }
    return n;
}

/* the document's keys without entries of the genuine kid, then the genuine key */
static char *with_genuine_key(json_t *doc)
{
    json_t *keys = json_array(), *k;
    size_t i;
    json_array_foreach (json_object_get(doc, "keys"), i, k)
        if (!gw_streq(json_string_value(json_object_get(k, "kid")), ES256_KID))
            json_array_append(keys, k);
    json_array_append_new(keys, json_loads(ES256_JWK, 0, NULL));
    json_t *d = json_copy(doc);
    json_object_set_new(d, "keys", keys);
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    gw_jwks_cache_t *c = gw_jwks_cache_new(NULL, 1L << 30, NULL);
    CHECK(gw_jwks_cache_set(c, JWKS) == GW_OK && es256_verifies(c));
    json_t *doc = gw_json_parse_str(s);
    int want_ok = json_is_object(doc) && json_is_array(json_object_get(doc, "keys"));
    int rc = gw_jwks_cache_set(c, s);
    size_t n;
    int64_t fetched, attempted;
    gw_jwks_cache_state(c, &n, &fetched, &attempted);
    if (!want_ok) {
        CHECK(rc == GW_EINVAL);
        CHECK(n == 2 && es256_verifies(c)); /* JWKS has two signing keys */
    } else {
        CHECK(rc == GW_OK);
        CHECK(n <= signing_entries(json_object_get(doc, "keys")));
        char *good = with_genuine_key(doc);
        CHECK(gw_jwks_cache_set(c, good) == GW_OK && es256_verifies(c));
        free(good);
    }
    json_decref(doc);
    gw_jwks_cache_free(c);
    free(s);
    return 0;
}
