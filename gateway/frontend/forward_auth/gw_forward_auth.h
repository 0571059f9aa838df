/* gw_forward_auth: GET /auth/check, answered from the sealed cookie and the in-memory
 * revocation set on the I/O thread. */
#ifndef GW_FORWARD_AUTH_H
#define GW_FORWARD_AUTH_H
#include "gw_broker.h"

extern const gw_route_t gw_forward_auth_routes[];

#endif
