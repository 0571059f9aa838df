/* libFuzzer target for `id_token_hint` verification (gw_jwt_verify_own: a token the
 * gateway signed itself, on a keyset generated at start). Byte 0 even: the rest is the hint
 * as a portal sends it. Odd: bit 1 of byte 0 picks ES256 or RS256, byte 1 a bit to flip, the
 * rest is claims JSON that the harness signs. Checks: a hint from outside never verifies
 * (the keys are new in every run, so nothing the fuzzer wrote can be genuine); a signed
 * object verifies to the same claims, and a flipped bit anywhere in its signed part (header
 * and payload) makes it refused.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "gw_crypto.h"
#include "gw_json.h"
#include "gw_util.h"

static const char *const SEEDS[] = {
    "\x01\x05{\"iss\":\"https://sso.example\",\"aud\":\"portal\",\"sub\":\"u-1\",\"sid\":\"s\",\"exp\":1893456000}",
    "\x03\x30{\"sid\":\"\\u00e9\",\"n\":[1,2.5,null,true]}",
    "\x00"
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ1LTEifQ.c2ln",
    "\x00"
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1LTEifQ.",
};

static gw_keyset_t *ks;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[64] = "/tmp/eidgw-fuzz-idtoken-XXXXXX", keys[96], err[256];
    if (!mkdtemp(dir))
        abort();
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    /* the key generator reports what it wrote on stdout */
    fflush(stdout);
    int saved = dup(1);
    CHECK(freopen("/dev/null", "w", stdout));
    int rc = gw_keys_generate(keys, 0, err, sizeof(err));
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    ks = rc ? NULL : gw_keyset_load(keys, err, sizeof(err));
    fuzz_rmtree(dir); /* the keys are in memory now */
    if (!ks) {
        fprintf(stderr, "fuzz_idtoken: %s\n", err);
        abort();
    }
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

static void signed_by_us(const char *alg, unsigned flip, const char *text)
{
    json_t *claims = gw_json_parse_str(text);
    if (!json_is_object(claims)) {
        json_decref(claims);
        return;
    }
    char *token = gw_jwt_sign(ks, alg, claims, "JWT");
    CHECK(token);
    json_t *back = gw_jwt_verify_own(ks, token);
    /* a hint longer than 16 KB is refused unread */
    CHECK(strlen(token) > 16384 ? back == NULL : back && json_equal(back, claims));
    json_decref(back);
    size_t signed_len = (size_t)(strrchr(token, '.') - token);
    token[flip * 7919 % signed_len] ^= (char)(1u << (flip & 7));
    CHECK(gw_jwt_verify_own(ks, token) == NULL);
    free(token);
    json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t skip = data[0] & 1 ? 2 : 1;
    char *s = fuzz_cstr(data + skip, size - skip);
    if (data[0] & 1)
        signed_by_us(data[0] & 2 ? "RS256" : "ES256", data[1], s);
    else
        CHECK(gw_jwt_verify_own(ks, s) == NULL);
    free(s);
    return 0;
}
