/* gw_revfile: the revocation feed for the nginx module (docs/nginx.md). The daemon keeps a
 * memory-mapped file, an open-addressing table of revoked session id hashes with their expiry
 * (layout in nginx/gw_proxy_wire.h), written slot by slot (expiry, then hash) so a reader
 * never sees half an entry; when the table is half full it is rebuilt with the live entries
 * into a new file renamed over the old one, and readers re-map when the inode changes. */
#ifndef GW_REVFILE_H
#define GW_REVFILE_H
#include <stdint.h>

/* Records sid as revoked until `until` (unix seconds) in the file at path; the first call
 * replaces whatever file was there. 0 on success, -1 on an I/O error (logged by the caller). */
int gw_revfile_add(const char *path, const char *sid, int64_t until, int64_t now);
/* Replaces whatever file was at path with an empty table (what the first gw_revfile_add does):
 * a daemon starting anew drops what an earlier run recorded, and records again what still
 * holds. 0, or -1 on an I/O error. */
int gw_revfile_reset(const char *path, int64_t now);

#endif
