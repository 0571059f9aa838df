/* gw_forward_auth: the front end of portals behind a reverse proxy (docs/proxy.md): the
 * login start for them (/proxy/login), the callback and logout on the portal's own host
 * (/.eidgw/...), and GET /auth/check, the forward-auth answer from the sealed portal cookie
 * and the in-memory revocation set on the I/O thread. */
#ifndef GW_FORWARD_AUTH_H
#define GW_FORWARD_AUTH_H
#include "gw_broker.h"

extern const gw_frontend_ops_t gw_proxy_frontend;
extern const gw_route_t gw_forward_auth_routes[];
/* Frees the cache of signed assertions (at exit). */
void gw_forward_auth_cleanup(void);

#endif
