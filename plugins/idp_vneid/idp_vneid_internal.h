/* idp_vneid's identity mapping, for its tests and fuzz targets. */
#ifndef GW_IDP_VNEID_INTERNAL_H
#define GW_IDP_VNEID_INTERNAL_H
#include <jansson.h>

#include "idp_vneid.h"
#include "plugin.h"

/* A birth date in the provider's format (birthdate_format: YYYYMMDD, YYYY-MM-DD or
 * DD/MM/YYYY) as YYYY-MM-DD (malloc'd), or NULL when it is not one: a year 1850-2400 and a
 * day that month has. */
char *gw_vneid_iso_date(const char *v, const char *fmt);

/* The identity of a userinfo answer: the ID number (a string of 1-32 letters, digits and
 * '-', else -1 with the reason in detail), name, birth date, sex (sex_male / sex_female),
 * level (level_map, or "1"/"2" without one), account type, logout link, sub and issuer. The
 * caller cleans up id, also after -1. */
int gw_vneid_map_identity(const gw_vneid_settings_t *up, json_t *ui, gw_identity_t *id, char *detail, size_t dl);

#endif
