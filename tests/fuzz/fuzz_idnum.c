/* libFuzzer target for gw_idnum: any bytes as a typed or received ID number. Checks the
 * invariants of a successful check, the masking and the province lookup. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_idnum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    gw_id_info_t info;
    memset(&info, 0xa5, sizeof(info));
    gw_id_info_t before = info;
    int rc = gw_id_check(in, size, 2025, &info);
    if (rc != GW_ID_OK) {
        CHECK(rc == GW_ID_ERR_FORMAT || rc == GW_ID_ERR_LENGTH || rc == GW_ID_ERR_IMPOSSIBLE);
        CHECK(memcmp(&info, &before, sizeof(info)) == 0);
        CHECK(strcmp(gw_id_strerror(rc), "unknown") != 0);
    } else {
        size_t n = strlen(info.digits);
        CHECK(n == 9 || n == 12);
        for (size_t i = 0; i < n; i++)
            CHECK(info.digits[i] >= '0' && info.digits[i] <= '9');
        CHECK(memmem(in, size, info.digits, n) != NULL);
        if (n == 9) {
            CHECK(info.kind == GW_ID_CMND9 && info.birth_year == 0 && info.sex == 0);
            CHECK(info.place[0] == '\0' && info.province == NULL && info.warnings == 0);
            CHECK(gw_id_compare(&info, 1990, 'F') == 0);
        } else {
            CHECK(info.kind == GW_ID_PERSONAL);
            CHECK(info.birth_year >= 1900 && info.birth_year <= 2025);
            CHECK(info.sex == ((info.digits[3] - '0') % 2 ? 'F' : 'M'));
            CHECK(memcmp(info.place, info.digits, 3) == 0 && info.place[3] == '\0');
            CHECK((info.province == NULL) == ((info.warnings & GW_ID_WARN_PLACE_UNKNOWN) != 0));
            CHECK(info.province == gw_id_province(info.place));
            unsigned w = gw_id_compare(&info, info.birth_year, info.sex);
            CHECK(w == 0);
            w = gw_id_compare(&info, info.birth_year + 1, info.sex == 'M' ? 'F' : 'M');
            CHECK(w == (GW_ID_WARN_DOB_MISMATCH | GW_ID_WARN_SEX_MISMATCH));
            CHECK((info.warnings & w) == w);
        }
    }

    /* Masking any string: same length (or truncated), first 3 and last 2 kept. */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);
    char out[64];
    gw_id_mask(s, out, sizeof(out));
    size_t olen = strlen(out);
    CHECK(olen == (len < sizeof(out) ? len : sizeof(out) - 1));
    for (size_t i = 0; i < olen; i++) {
        int keep = len > 5 && (i < 3 || i >= len - 2);
        CHECK(out[i] == (keep ? s[i] : '*'));
    }
    const char *name = gw_id_province(s);
    CHECK(name == NULL || len == 3);
    free(s);
    return 0;
}
