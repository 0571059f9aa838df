/* gw_ui: /error, /healthz, /readyz, /. */
#ifndef GW_UI_H
#define GW_UI_H
#include "gw_broker.h"

extern const gw_route_t gw_ui_routes[];

#endif
