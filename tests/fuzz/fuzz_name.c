/* libFuzzer target for gw_name: any bytes as an imported or upstream full name. Runs every
 * function and checks the invariants: the display form is a fixed point, the keys of the
 * display form equal the keys of the raw input, failures leave the output untouched and
 * the ASCII form is ASCII. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_name.h"
#include "gw_store.h"
#include "gw_util.h"

#define OUT (4 * GW_NAME_MAX_IN + 64)

typedef int (*keyfn)(const char *in, char *out, size_t outlen);

/* f(raw) and f(display form) agree: both succeed with the same result, or neither fits. */
static void same_key(keyfn f, const char *raw, const char *disp, char *a, char *b)
{
    int ra = f(raw, a, OUT);
    int rb = f(disp, b, OUT);
    CHECK(ra == rb);
    if (ra == 0)
        CHECK(strcmp(a, b) == 0);
}

static int popdb_ascii(const char *in, char *out, size_t outlen)
{
    return gw_name_format_popdb(in, "ascii_upper_nospace", out, outlen);
}

static int popdb_upper(const char *in, char *out, size_t outlen)
{
    return gw_name_format_popdb(in, "nfc_upper", out, outlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    char *disp = malloc(OUT), *again = malloc(OUT), *a = malloc(OUT), *b = malloc(OUT);
    if (!in || !disp || !again || !a || !b)
        goto done;
    memcpy(in, data, size);
    in[size] = '\0';

    memset(disp, 0x5a, 8);
    int rc = gw_name_normalize(in, disp, OUT);
    if (rc != 0) {
        CHECK(rc == GW_EINVAL || rc == GW_ETOOBIG);
        CHECK(memcmp(disp, "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8) == 0);
        /* every function refuses the same input */
        CHECK(gw_name_strict_key(in, a, OUT) == rc);
        CHECK(gw_name_loose_key(in, a, OUT) == rc);
        CHECK(gw_name_format_popdb(in, "nfc", a, OUT) == rc);
        (void)gw_name_legacy_encoding(in);
        goto done;
    }
    size_t n = strlen(disp);
    CHECK(n == 0 || (disp[0] != ' ' && disp[n - 1] != ' '));
    CHECK(strstr(disp, "  ") == NULL);

    if (n <= GW_NAME_MAX_IN) {
        CHECK(gw_name_normalize(disp, again, OUT) == 0);
        CHECK(strcmp(disp, again) == 0);
        same_key(gw_name_strict_key, in, disp, a, b);
        same_key(gw_name_loose_key, in, disp, a, b);
        same_key(popdb_upper, in, disp, a, b);
        same_key(popdb_ascii, in, disp, a, b);
    }

    rc = gw_name_strict_key(in, a, OUT);
    CHECK(rc == 0 || rc == GW_ETOOBIG);
    if (rc == 0) {
        CHECK(strstr(a, "  ") == NULL);
        /* a tiny buffer fails cleanly */
        char tiny[2] = { 'q', 'q' };
        int rt = gw_name_strict_key(in, tiny, sizeof(tiny));
        CHECK(rt == 0 || (rt == GW_ETOOBIG && tiny[0] == 'q'));
    }
    rc = popdb_ascii(in, a, OUT);
    CHECK(rc == 0 || rc == GW_EINVAL || rc == GW_ETOOBIG);
    if (rc == 0)
        for (const char *p = a; *p; p++)
            CHECK(*p > 0x20 && *p < 0x7f);
    unsigned f = gw_name_legacy_encoding(in);
    CHECK(f == 0 || f == GW_ACCT_FLAG_LEGACY_ENCODING);
    CHECK(gw_name_format_popdb(in, "bogus", a, OUT) == GW_EINVAL);
done:
    free(b);
    free(a);
    free(again);
    free(disp);
    free(in);
    return 0;
}
