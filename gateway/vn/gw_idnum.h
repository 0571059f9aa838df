/* gw_idnum: Vietnamese personal ID numbers (12 digits) and old CMND (9 digits).
 * Rules: docs/domain.md section 3 and the province table of section 4. Pure code, no I/O. */
#ifndef GW_IDNUM_H
#define GW_IDNUM_H
#include "gw_util.h" /* gw_id_mask */
#include <stddef.h>

typedef enum {
    GW_ID_PERSONAL = 1, /* 12-digit personal identification number (CCCD) */
    GW_ID_CMND9 = 2 /* 9-digit old ID card number */
} gw_id_kind_t;

/* Errors: the input cannot be an ID number. */
enum {
    GW_ID_OK = 0,
    GW_ID_ERR_FORMAT = -1, /* a byte other than '0'..'9' after trimming ASCII space/tab */
    GW_ID_ERR_LENGTH = -2, /* neither 9 nor 12 digits */
    GW_ID_ERR_IMPOSSIBLE = -3 /* century/year digits give a birth year after the current year */
};

/* Warnings: a valid number with something to audit, never a reason to refuse. */
#define GW_ID_WARN_PLACE_UNKNOWN 0x1u /* digits 1-3 not among the 63 legacy province codes */
#define GW_ID_WARN_DOB_MISMATCH 0x2u
#define GW_ID_WARN_SEX_MISMATCH 0x4u

typedef struct gw_id_info {
    gw_id_kind_t kind;
    char digits[13]; /* NUL-terminated ASCII digits, leading zeros kept */
    int birth_year; /* PERSONAL only, else 0 */
    char sex; /* 'M' or 'F' for PERSONAL, else 0 */
    char place[4]; /* "001".."096" for PERSONAL, else "" */
    const char *province; /* legacy province name (UTF-8) or NULL if unknown */
    unsigned warnings; /* GW_ID_WARN_* */
} gw_id_info_t;

/* Check `in` (len bytes, not necessarily NUL-terminated) as received.
 * current_year bounds the birth year. On success fills *ret and returns GW_ID_OK;
 * on failure returns a GW_ID_ERR_* and leaves *ret untouched. */
int gw_id_check(const char *in, size_t len, int current_year, gw_id_info_t *ret);

/* Compare a checked PERSONAL number with a known birth year (0 = unknown) and sex
 * ('M','F', 0 = unknown); returns the GW_ID_WARN_* bits that apply (also OR-ed into info). */
unsigned gw_id_compare(gw_id_info_t *info, int birth_year, char sex);

/* Legacy province name for a 3-digit code, or NULL. */
const char *gw_id_province(const char *code3);

/* Short name for an error code ("format", "length", "impossible"). */
const char *gw_id_strerror(int err);

/* The current year in Vietnam (UTC+7, no daylight saving): the year ID-number checks
 * measure birth years against. */
int gw_id_year_now(void);

#endif
