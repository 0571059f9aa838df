/* The connection layer's pure parts, for its tests and fuzz targets. */
#ifndef GW_HTTP_INTERNAL_H
#define GW_HTTP_INTERNAL_H
#include <stddef.h>

#include "gw_h1.h"
#include "gw_util.h"

/* What a head's fields count against max_headers: name, value and 4 bytes per field. */
size_t gw_http_head_size(const gw_h1_head_t *h);

/* The client behind trusted proxies: X-Forwarded-For (xff, cut in place) read from the
 * right, skipping hops that are trusted proxies; the first hop that is not one, or the
 * leftmost, goes into out (the TCP peer's address) unless it is empty or does not fit. */
void gw_http_xff_client(const gw_strlist_t *trusted, char *xff, char *out, size_t outlen);

#endif
