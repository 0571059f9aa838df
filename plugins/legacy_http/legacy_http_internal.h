/* legacy_http's reading of the portal's answer, for its tests and fuzz targets. */
#ifndef GW_LEGACY_HTTP_INTERNAL_H
#define GW_LEGACY_HTTP_INTERNAL_H
#include "gw_fetch.h"

#include <stddef.h>

/* GW_LEGACY_OK for a 200 {"result":"ok","account_id":"..."} whose account id fits
 * account_len (copied into ret_account, which is left alone otherwise); GW_LEGACY_DENIED
 * for a 401, a 403 or a 200 {"result":"denied"}; anything else is GW_LEGACY_ERROR. */
int gw_legacy_http_answer(const gw_http_result_t *r, char *ret_account, size_t account_len);

#endif
