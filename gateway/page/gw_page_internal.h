/* The page helpers' pure parts, for their tests and fuzz targets. */
#ifndef GW_PAGE_INTERNAL_H
#define GW_PAGE_INTERNAL_H
#include "gw_http.h"

/* The language switch's link (malloc'd): this request's path and query with lang set to the
 * other language of `lang`, always a path on this host (one leading '/', never "//" or "/\"). */
char *gw_page_lang_switch_url(const gw_req_t *req, const char *lang);

#endif
