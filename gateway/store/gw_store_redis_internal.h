/* How the Redis store reads replies into records, for its tests and fuzz targets. A reply
 * of any shape (a server of another version, a proxy, a corrupted value) reads as a record
 * or as GW_ESTORE, never as a crash. */
#ifndef GW_STORE_REDIS_INTERNAL_H
#define GW_STORE_REDIS_INTERNAL_H
#include <hiredis/hiredis.h>
#include <stdint.h>

#include "gw_store.h"

/* An XRANGE reply of the revocation stream: cb(sid, until) for each entry whose id
 * ("ms-n") follows the cursor, with a sid and an until after now; *ret_seq the last such
 * id (ms*1e6+n), or `after` when none. Entries of another shape are skipped and never move
 * the cursor back. GW_ESTORE when the reply is not an array. */
int gw_redis_revoked_reply(const redisReply *r, int64_t after, int64_t now, gw_store_revoked_cb cb, void *ud,
                           int64_t *ret_seq);

/* A link's value "account\tcreated": GW_OK with ret->account and ret->created set (the
 * rest untouched); GW_ENOTFOUND for nil; GW_ESTORE for another type, or an account that is
 * empty, too long for gw_link_t or holds a NUL. */
int gw_redis_link_reply(const redisReply *r, gw_link_t *ret);

#endif
