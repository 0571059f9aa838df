/* popdb_http's reading of the service's answer, for its tests and fuzz targets. */
#ifndef GW_POPDB_HTTP_INTERNAL_H
#define GW_POPDB_HTTP_INTERNAL_H
#include "gw_fetch.h"

/* GW_POPDB_MATCH or GW_POPDB_NO_MATCH for a 200 whose JSON object has result_field equal to
 * the match or nomatch value; anything else is GW_POPDB_ERROR, with the reason in detail. */
int gw_popdb_answer(const void *settings, const gw_http_result_t *r, char *detail, size_t dl);

#endif
