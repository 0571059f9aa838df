/* gw_idnum: checks a Vietnamese personal identification number (12 digits) or an old CMND
 * number (9 digits) as typed or received, and decodes what the 12-digit number encodes:
 * place of birth registration, century and sex, year of birth (docs/domain.md sections 3 and 4).
 * Used wherever an ID number enters the gateway (VNeID claims, legacy imports, admin input)
 * and by the log masking. Pure code: no allocation, no I/O, thread-safe. */
#include "gw_idnum.h"

#include <time.h>

#include <stdlib.h>
#include <string.h>

typedef struct province {
    char code[4];
    const char *name;
} province_t;

/* The 63 legacy codes (Circular 07/2016/TT-BCA annex I), sorted by code. They stay valid
 * after the 2025 merger: numbers already issued never change, closed codes are never reused. */
static const province_t provinces[] = {
    { "001", "Hà Nội" },
    { "002", "Hà Giang" },
    { "004", "Cao Bằng" },
    { "006", "Bắc Kạn" },
    { "008", "Tuyên Quang" },
    { "010", "Lào Cai" },
    { "011", "Điện Biên" },
    { "012", "Lai Châu" },
    { "014", "Sơn La" },
    { "015", "Yên Bái" },
    { "017", "Hòa Bình" },
    { "019", "Thái Nguyên" },
    { "020", "Lạng Sơn" },
    { "022", "Quảng Ninh" },
    { "024", "Bắc Giang" },
    { "025", "Phú Thọ" },
    { "026", "Vĩnh Phúc" },
    { "027", "Bắc Ninh" },
    { "030", "Hải Dương" },
    { "031", "Hải Phòng" },
    { "033", "Hưng Yên" },
    { "034", "Thái Bình" },
    { "035", "Hà Nam" },
    { "036", "Nam Định" },
    { "037", "Ninh Bình" },
    { "038", "Thanh Hóa" },
    { "040", "Nghệ An" },
    { "042", "Hà Tĩnh" },
    { "044", "Quảng Bình" },
    { "045", "Quảng Trị" },
    { "046", "Thừa Thiên Huế" },
    { "048", "Đà Nẵng" },
    { "049", "Quảng Nam" },
    { "051", "Quảng Ngãi" },
    { "052", "Bình Định" },
    { "054", "Phú Yên" },
    { "056", "Khánh Hòa" },
    { "058", "Ninh Thuận" },
    { "060", "Bình Thuận" },
    { "062", "Kon Tum" },
    { "064", "Gia Lai" },
    { "066", "Đắk Lắk" },
    { "067", "Đắk Nông" },
    { "068", "Lâm Đồng" },
    { "070", "Bình Phước" },
    { "072", "Tây Ninh" },
    { "074", "Bình Dương" },
    { "075", "Đồng Nai" },
    { "077", "Bà Rịa - Vũng Tàu" },
    { "079", "TP Hồ Chí Minh" },
    { "080", "Long An" },
    { "082", "Tiền Giang" },
    { "083", "Bến Tre" },
    { "084", "Trà Vinh" },
    { "086", "Vĩnh Long" },
    { "087", "Đồng Tháp" },
    { "089", "An Giang" },
    { "091", "Kiên Giang" },
    { "092", "Cần Thơ" },
    { "093", "Hậu Giang" },
    { "094", "Sóc Trăng" },
    { "095", "Bạc Liêu" },
    { "096", "Cà Mau" },
};

static int province_cmp(const void *key, const void *elem)
{
    const province_t *p = elem;
    return memcmp(key, p->code, 3);
}

const char *gw_id_province(const char *code3)
{
    if (code3 == NULL || strnlen(code3, 4) != 3)
        return NULL;
    const province_t *p =
        bsearch(code3, provinces, sizeof(provinces) / sizeof(provinces[0]), sizeof(provinces[0]), province_cmp);
    return p ? p->name : NULL;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int gw_id_check(const char *in, size_t len, int current_year, gw_id_info_t *ret)
{
    if (in == NULL)
        return len ? GW_ID_ERR_FORMAT : GW_ID_ERR_LENGTH;
    while (len > 0 && is_blank(in[0])) {
        in++;
        len--;
    }
    while (len > 0 && is_blank(in[len - 1]))
        len--;
    for (size_t i = 0; i < len; i++) {
        if (in[i] < '0' || in[i] > '9')
            return GW_ID_ERR_FORMAT;
    }
    if (len != 12 && len != 9)
        return GW_ID_ERR_LENGTH;

    gw_id_info_t info;
    memset(&info, 0, sizeof(info));
    memcpy(info.digits, in, len);
    if (len == 9) {
        info.kind = GW_ID_CMND9;
        *ret = info;
        return GW_ID_OK;
    }

    /* Digit 4 gives century and sex: 0/1 1900s, 2/3 2000s, ... 8/9 2300s; even = male. */
    int g = in[3] - '0';
    int year = 1900 + 100 * (g / 2) + 10 * (in[4] - '0') + (in[5] - '0');
    if (year > current_year)
        return GW_ID_ERR_IMPOSSIBLE;
    info.kind = GW_ID_PERSONAL;
    info.birth_year = year;
    info.sex = (g % 2) ? 'F' : 'M';
    memcpy(info.place, in, 3);
    info.province = gw_id_province(info.place);
    /* Not one of the 63 codes: perhaps a country code (born abroad), whose list is not known. */
    if (info.province == NULL)
        info.warnings |= GW_ID_WARN_PLACE_UNKNOWN;
    *ret = info;
    return GW_ID_OK;
}

unsigned gw_id_compare(gw_id_info_t *info, int birth_year, char sex)
{
    if (info == NULL || info->kind != GW_ID_PERSONAL)
        return 0;
    unsigned w = 0;
    /* A wrong year or sex in the number is kept unless the citizen asks for a new number
     * (Decree 70/2024 art. 11), so a mismatch is only ever reported. */
    if (birth_year != 0 && birth_year != info->birth_year)
        w |= GW_ID_WARN_DOB_MISMATCH;
    if (sex == 'm')
        sex = 'M';
    else if (sex == 'f')
        sex = 'F';
    if ((sex == 'M' || sex == 'F') && sex != info->sex)
        w |= GW_ID_WARN_SEX_MISMATCH;
    info->warnings |= w;
    return w;
}

const char *gw_id_strerror(int err)
{
    switch (err) {
    case GW_ID_OK:
        return "ok";
    case GW_ID_ERR_FORMAT:
        return "format";
    case GW_ID_ERR_LENGTH:
        return "length";
    case GW_ID_ERR_IMPOSSIBLE:
        return "impossible";
    default:
        return "unknown";
    }
}

int gw_id_year_now(void)
{
    time_t vn = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&vn, &tm);
    return tm.tm_year + 1900;
}
