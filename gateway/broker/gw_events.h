/* gw_events: telling a portal what happened to its accounts. Each event is a Security
 * Event Token (RFC 8417), signed with the portal's token algorithm, POSTed to the
 * portal's events_uri as application/secevent+jwt (RFC 8935). Events wait in the store's
 * outbox until the portal answers 2xx, retried with exponential backoff (5 s doubling, at
 * most 1 h between tries) for up to 30 days; any node may deliver, one at a time per event.
 *
 * Event types (the key under "events"):
 *   urn:eidgw:event:account-linked    {"account"}                      sub = the citizen
 *   urn:eidgw:event:accounts-merged   {"primary","merged":[ids]}
 *   urn:eidgw:event:account-unlinked  {"account","reason"}
 *   urn:eidgw:event:id-rekeyed        {"account","previous_sub"}      sub = the new subject */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H
#include "gw_ctx.h"

/* Queue an event for portal client_id (no-op without events_uri). data is consumed. */
void gw_events_enqueue(gw_ctx_t *app, const char *client_id, const char *id12, const char *type, json_t *data);
/* Deliver what is due (the server's background thread calls this). */
void gw_events_deliver(gw_ctx_t *app);

#endif
