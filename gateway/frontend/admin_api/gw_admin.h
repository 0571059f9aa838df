/* gw_admin: the admin API for portal operators (links, locks). */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H
#include "gw_ctx.h"

extern const gw_route_t gw_admin_routes[];
/* Revoke at once every SSO session of an ID number (lock, unlink): GW_OK when every one
 * ended, else the store failed (repeat to end the rest). */
int gw_admin_revoke_sessions(gw_ctx_t *app, const char *id12);

#endif
