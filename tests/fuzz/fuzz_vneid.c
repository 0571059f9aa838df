/* libFuzzer target for idp_vneid's identity mapping (gw_vneid_map_identity): a userinfo
 * answer as VNeID sends it. Byte 0 picks the birth date format (mod 3) and whether a level
 * map is set (bit 2); the rest is the userinfo JSON. Checks: an identity comes only with an
 * ID number that is the claim's string, 1-32 letters, digits or '-'; otherwise a reason.
 * The birth date is the claim's digits in ISO form exactly when they are a day of the
 * calendar in the configured format (a reference reading); sex is 'M' or 'F' exactly for
 * the configured values; the level is the mapped one (or "1"/"2" without a map), else 0.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_json.h"
#include "idp_vneid/idp_vneid_internal.h"

static const char *const SEEDS[] = {
    "\x00{\"SoDinhDanh\":\"001099012345\",\"HoVaTen\":\"Nguy\xe1\xbb\x85n V\xc4\x83n An\",\"NgaySinh\":\"19990215\","
    "\"GioiTinh\":\"1\",\"IAL\":\"2\",\"sub\":\"u-1\"}",
    "\x05{\"SoDinhDanh\":\"P-AB12\",\"NgaySinh\":\"2024-02-29\",\"GioiTinh\":2,\"IAL\":\"high\",\"LoaiTaiKhoan\":1}",
    "\x02{\"SoDinhDanh\":\"079200000123\",\"NgaySinh\":\"31/04/1999\",\"GioiTinh\":\"0\",\"IAL\":3}",
    "\x00{\"SoDinhDanh\":1099012345,\"NgaySinh\":19990231}",
    "\x01{\"SoDinhDanh\":\"0010 99\",\"NgaySinh\":\"1900-02-29\"}",
};

static const char *const FORMATS[] = { "YYYYMMDD", "YYYY-MM-DD", "DD/MM/YYYY" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

/* a claim as the mapping reads it: a non-empty string, or an integer printed; else NULL */
static char *claim(json_t *ui, const char *name)
{
    json_t *v = json_object_get(ui, name);
    if (json_is_string(v) && json_string_length(v))
        return strdup(json_string_value(v));
    if (!json_is_integer(v))
        return NULL;
    char *s = malloc(32);
    snprintf(s, 32, "%lld", (long long)json_integer_value(v));
    return s;
}

static int digits(const char *s, int n, int *ret)
{
    *ret = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *ret = *ret * 10 + (s[i] - '0');
    }
    return 1;
}

/* the reference: the date in ISO form when v is exactly fmt's shape and a calendar day */
static int ref_date(const char *v, const char *fmt, char out[11])
{
    if (!v || strlen(v) != strlen(fmt))
        return 0;
    int y, m, d;
    int yo = fmt[0] == 'Y' ? 0 : 6,
        mo = fmt[0] == 'D'   ? 3
             : fmt[4] == '-' ? 5
                             : 4,
        dof = fmt[0] == 'D' ? 0 : mo + 2 + (fmt[4] == '-');
    for (size_t i = 0; fmt[i]; i++)
        if ((fmt[i] == '-' || fmt[i] == '/') && v[i] != fmt[i])
            return 0;
    if (!digits(v + yo, 4, &y) || !digits(v + mo, 2, &m) || !digits(v + dof, 2, &d))
        return 0;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (y < 1850 || y > 2400 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return 0;
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    return 1;
}

static int ref_level(json_t *ui, int mapped)
{
    char *l = claim(ui, "IAL");
    int level = !l       ? 0
                : mapped ? (!strcmp(l, "basic")  ? 1
                            : !strcmp(l, "high") ? 2
                                                 : 0)
                         : (!strcmp(l, "1")   ? 1
                            : !strcmp(l, "2") ? 2
                                              : 0);
    free(l);
    return level;
}

static void check_identity(const gw_vneid_settings_t *up, json_t *ui, const gw_identity_t *id)
{
    json_t *idv = json_object_get(ui, "SoDinhDanh");
    const char *want_id = json_string_value(idv);
    /* the whole string: an ID number is never cut at a NUL */
    CHECK(want_id && !strcmp(id->id12, want_id) && strlen(want_id) == json_string_length(idv));
    CHECK(strlen(want_id) >= 1 && strlen(want_id) <= 32);
    CHECK(strspn(want_id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") == strlen(want_id));
    char *bd = claim(ui, "NgaySinh"), iso[11];
    if (ref_date(bd, up->birthdate_format, iso))
        CHECK(id->birthdate && !strcmp(id->birthdate, iso));
    else
        CHECK(id->birthdate == NULL);
    free(bd);
    char *sex = claim(ui, "GioiTinh");
    CHECK(id->sex == (sex && !strcmp(sex, "1") ? 'M' : sex && !strcmp(sex, "2") ? 'F' : 0));
    free(sex);
    CHECK(id->level == ref_level(ui, up->level_map.n > 0));
    CHECK(!strcmp(id->issuer, up->issuer));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = fuzz_cstr(data + 1, size - 1);
    json_t *ui = gw_json_parse_str(s);
    if (json_is_object(ui)) {
        gw_vneid_settings_t up = {
            .issuer = "https://vneid.test",
            .claim_id = "SoDinhDanh",
            .claim_name = "HoVaTen",
            .claim_birthdate = "NgaySinh",
            .birthdate_format = (char *)FORMATS[data[0] % 3],
            .claim_sex = "GioiTinh",
            .sex_male = "1",
            .sex_female = "2",
            .claim_level = "IAL",
            .claim_account_type = "LoaiTaiKhoan",
            .claim_logout_uri = "logout_uri",
        };
        if (data[0] & 4) {
            up.level_map.v[0] = "basic:1";
            up.level_map.v[1] = "high:2";
            up.level_map.n = 2;
        }
        gw_identity_t id = { 0 };
        char detail[256] = "";
        if (gw_vneid_map_identity(&up, ui, &id, detail, sizeof(detail)) == 0)
            check_identity(&up, ui, &id);
        else
            CHECK(detail[0] != '\0');
        gw_identity_cleanup(&id);
    }
    json_decref(ui);
    free(s);
    return 0;
}
