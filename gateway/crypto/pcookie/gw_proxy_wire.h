/* The proxy contract's wire parts, shared by the daemon and the nginx module: identity-header
 * recognition, header value encoding and the revocation-file lookup. No nginx types, no daemon state. */
#ifndef GW_PROXY_WIRE_H
#define GW_PROXY_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Prefix of every header the module injects (compared after normalisation). */
#define GW_PW_HDR_PREFIX "x-eidgw-"

/* 1 when name is, in any spelling nginx or a backend may treat as the same (ASCII case,
 * '_' or '.' for '-'), the X-Eidgw-* prefix or one of the nclaims configured claim header
 * names; 0 otherwise. */
int gw_pw_is_identity_header(const char *name, size_t len, const char *const *claims, const size_t *claim_lens,
                             size_t nclaims);

/* Percent-encodes bytes outside printable ASCII (controls, DEL, >= 0x80) and '%' itself, so a
 * UTF-8 claim value stays an ASCII header value. out must hold 3 * len bytes; returns the
 * encoded length. */
size_t gw_pw_pct_encode(const unsigned char *in, size_t len, char *out);

/* RFC 3986 component encoding: every byte but ALPHA / DIGIT / "-._~" becomes %XX. out must
 * hold 3 * len bytes; returns the encoded length. */
size_t gw_pw_url_encode(const unsigned char *in, size_t len, char *out);

/* A path on the portal's host a browser may be sent back to: starts with '/', not "//" or
 * "/\\" (which a browser reads as another host), printable ASCII with no space or backslash. */
int gw_pw_safe_path(const char *path);

/* 1 when the path part of uri (up to '?' or '#') could be read by a backend as another
 * path: a dot segment, an empty segment, a backslash, a ';' (path parameters: "..;" is ".."
 * to Java servlet containers) or any percent-escape. */
int gw_pw_ambiguous_path(const char *uri);

/* 1 when uri needs no session: its path starts with "/.eidgw/" (the daemon's callback and
 * logout on the portal's host) or with one of the n prefixes (as whole segments: "/healthz"
 * covers "/healthz" and "/healthz/x", not "/healthzadmin"), and is not ambiguous (above:
 * "/public/..%2fadmin" is checked, whatever prefix it shows). */
int gw_pw_bypassed(const char *uri, const char *const *prefixes, size_t n);

/* Revocation file written by the daemon (gw_revfile.c), mapped read-only:
 *   header: magic "EIDGWRV1", uint32 slot count (power of two), uint32 reserved
 *   slots:  { uint64 sid hash (0 = empty), uint64 expiry (unix seconds) }
 * open addressing with linear probing from hash & (slots - 1). A slot is written expiry first,
 * then hash, so a reader that sees the hash sees its expiry. */
#define GW_PW_REV_MAGIC "EIDGWRV1"
#define GW_PW_REV_HDR 16u

/* The key a suspended portal is recorded under (its client id follows), beside session ids:
 * "portal:" cannot begin a session id (base64url). */
#define GW_PW_PORTAL_KEY_PREFIX "portal:"

/* FNV-1a 64 of the session id (or of a portal's key), never 0. */
uint64_t gw_pw_sid_hash(const char *sid, size_t len);

/* 1 when the map holds hash with an expiry after now; 0 when not; -1 when the map is not a
 * well-formed revocation file. */
int gw_pw_rev_lookup(const unsigned char *map, size_t maplen, uint64_t hash, uint64_t now);

#endif
