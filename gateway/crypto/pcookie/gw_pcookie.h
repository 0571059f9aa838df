/* gw_pcookie: the portal cookie of the reverse-proxy mode (issue 18), the one value a
 * delegating proxy (the daemon's /auth/check, or the nginx module) opens on every request
 * to a proxied portal, in memory, without a store.
 *
 * Contract (format version 1):
 *   value  = gw_seal(K, GW_PCOOKIE_KEY_ID, payload), i.e.
 *            base64url(1 | 0x50 | iv(12) | AES-256-GCM(payload) | tag(16))
 *   K      = HMAC-SHA256(cookie.key, "eidgw portal cookie v1"): a key derived from the
 *            gateway's cookie key, and a key id of its own, so an SSO cookie (key id 1 under
 *            cookie.key itself) never opens as a portal cookie, nor the reverse.
 *   payload = a JSON object:
 *            {"v":1, "sid":SSO session id, "pid":portal (client) id, "sub":the portal's
 *             pairwise sub, "lvl":level (1|2), "acr":acr, "at":auth_time, "exp":expiry,
 *             "rc":re-check time, "cl":{claims released to this portal: "name",
 *             "birthdate", "gender", "cccd" (only where granted), "legacy_account"}}
 *            times are Unix seconds; the claims object holds strings only, absent keys
 *            are not released.
 *   The whole cookie value is at most GW_PCOOKIE_MAX bytes; a larger one is refused at
 *   sealing (never split across cookies).
 * Opening checks the tag, the version, that "pid" is the expected portal, and exp > now.
 * Past "rc" the opener still accepts the cookie but reports it (GW_PCOOKIE_RECHECK): the
 * daemon then checks the session record and re-seals; an nginx module asks the daemon.
 * Revocation by sid is the caller's (the daemon's revocation set).
 *
 * Links: this file, gw_seal.c, gw_util.c (util layer), jansson, libcrypto. */
#ifndef GW_PCOOKIE_H
#define GW_PCOOKIE_H
#include "gw_seal.h"

#include <stddef.h>
#include <stdint.h>

#define GW_PCOOKIE_VERSION 1
#define GW_PCOOKIE_KEY_ID 0x50
#define GW_PCOOKIE_MAX 1024

typedef struct gw_pcookie {
    char *sid, *portal, *sub, *acr;
    int level;
    int64_t auth_time, exp, recheck;
    /* released claims; NULL when not released */
    char *name, *birthdate, *gender, *cccd, *legacy_account;
} gw_pcookie_t;

enum {
    GW_PCOOKIE_OK = 0,
    GW_PCOOKIE_RECHECK = 1, /* valid, but past its re-check time */
    GW_PCOOKIE_BAD = -1, /* tampered, wrong key, bad encoding or payload, wrong version */
    GW_PCOOKIE_PORTAL = -2, /* sealed for another portal */
    GW_PCOOKIE_EXPIRED = -3,
    GW_PCOOKIE_TOOBIG = -4, /* sealing: the value would exceed GW_PCOOKIE_MAX */
};

/* The portal-cookie key derived from the gateway's cookie key. */
void gw_pcookie_key(const unsigned char cookie_key[GW_SEAL_KEYLEN], unsigned char out[GW_SEAL_KEYLEN]);
/* Seals c (sid, portal, sub required) under the derived key k. 0 and a malloc'd value in
 * *ret, GW_PCOOKIE_TOOBIG, or GW_PCOOKIE_BAD on a missing field or a failure. */
int gw_pcookie_seal(const unsigned char k[GW_SEAL_KEYLEN], const gw_pcookie_t *c, char **ret);
/* Opens value for portal at time now into *c (filled on OK and RECHECK only; free with
 * gw_pcookie_clear). Returns one of the codes above. */
int gw_pcookie_open(const unsigned char k[GW_SEAL_KEYLEN], const char *value, const char *portal, int64_t now,
                    gw_pcookie_t *c);
void gw_pcookie_clear(gw_pcookie_t *c);

#endif
