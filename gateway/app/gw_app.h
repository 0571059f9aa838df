/* gw_app: process wiring. Fills the context (gw_ctx_t) from the configuration, hands the
 * HTTP server its routes and hooks, and runs the upkeep the server's timer asks for. */
#ifndef GW_APP_H
#define GW_APP_H
#include "gw_ctx.h"

/* The configuration file read whole: the gateway's sections, then each plugin's section
 * by that plugin's own table. NULL with "file:line: key: message" in err. */
gw_config_t *gw_app_config_load(const char *path, char *err, size_t errlen);
/* (gw_app_init reads the plugins' sections too when the caller parsed the file itself.) */
int gw_app_init(gw_ctx_t *app, gw_config_t *cfg, char *err, size_t errlen);
/* The same for check-config: everything is read and opened as for serving, except that
 * the audit file is only checked for writing (a running gateway holds its lock), so a
 * changed configuration can be checked beside the gateway that runs the old one. */
int gw_app_check(gw_ctx_t *app, gw_config_t *cfg, char *err, size_t errlen);
void gw_app_cleanup(gw_ctx_t *app);

/* Start serving: the HTTP server with every front end's routes, and the upkeep threads.
 * NULL with the reason in err. Stop it with gw_server_request_stop (async-signal-safe). */
gw_server_t *gw_app_start(gw_ctx_t *app, char *err, size_t errlen);
/* Wait until the server has stopped and drained, end the upkeep, free the server. */
void gw_app_wait(gw_ctx_t *app, gw_server_t *s);

#endif
