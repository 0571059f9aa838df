/* libFuzzer target for gw_pwhash: any bytes as an imported password hash. Verification with a
 * fixed password must never crash and only return the documented codes; whatever the
 * verifier computes, the format check agrees with it, and so does the reason an import
 * gives. Costs are capped far below the
 * built-in caps so every input stays fast. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_pwhash.h"
#include "gw_util.h"

static const gw_pwhash_limits_t fuzz_limits = {
    .bcrypt_cost = 4,
    .sha512_rounds = 1000,
    .pbkdf2_rounds = 1000,
    .argon2_m_kib = 64,
    .argon2_t = 1,
    .argon2_p = 2,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = malloc(size + 1);
    if (h == NULL)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';

    int rc = gw_pwhash_verify_limits("x", h, &fuzz_limits);
    CHECK(rc == GW_OK || rc == GW_EDENIED || rc == GW_EINVAL || rc == GW_ENOMEM);
    const char *scheme = gw_pwhash_scheme(h);
    if (rc != GW_EINVAL) {
        /* computed: the hash is well-formed under the built-in caps too */
        CHECK(scheme != NULL);
        CHECK(gw_pwhash_check(h) == GW_OK);
    }
    if (scheme == NULL)
        CHECK(rc == GW_EINVAL && gw_pwhash_check(h) == GW_EINVAL);
    /* the import's reason agrees with the check */
    char why[160] = "";
    int refused = gw_pwhash_refusal(h, why, sizeof(why));
    CHECK(refused == gw_pwhash_check(h));
    CHECK(refused == GW_OK ? why[0] == 0 : why[0] != 0);
    free(h);
    return 0;
}
