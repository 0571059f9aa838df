/* gw_oidc_op: the OpenID Provider front end: /authorize, /token, /userinfo, /logout,
 * discovery and the JWKS. */
#ifndef GW_OIDC_OP_H
#define GW_OIDC_OP_H
#include "gw_broker.h"

extern const gw_frontend_ops_t gw_oidc_op_frontend;
extern const gw_route_t gw_oidc_op_routes[];

#endif
