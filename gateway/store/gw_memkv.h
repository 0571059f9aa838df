/* gw_memkv: records with a time to live held in this process's memory. On a single-node
 * store (SQLite) the short-lived protocol records live here: authorization requests,
 * upstream flows, codes and access tokens. They need no durability (a restart costs a
 * citizen one new login at most) and no sharing between processes, and keeping them off
 * the disk takes the write-ahead log off the token path. Every operation is atomic on
 * its own and never blocks on I/O, so an I/O thread may call it.
 *
 * The table is sharded (a mutex per shard) and bounded: past max_records (or max_bytes) a put fails
 * with GW_ESTORE, which callers already answer with 503, so a flood of unfinished logins
 * cannot exhaust memory; new logins are refused first (gw_memkv_reserve). Expired records are dropped when met and by gw_memkv_purge. */
#ifndef GW_MEMKV_H
#define GW_MEMKV_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_memkv gw_memkv_t;

/* nslist: space- or comma-separated namespaces held here. NULL when the list is empty. */
gw_memkv_t *gw_memkv_new(const char *nslist, size_t max_records);
/* Puts into the namespaces of `newwork` (space-separated: records that begin new work,
 * such as a new login's authorization request) fail once fewer than `reserve` slots are
 * left: the rest is kept for the records of work already under way (its flow, code and
 * access token), so a full table refuses new logins before it breaks started ones. */
void gw_memkv_reserve(gw_memkv_t *m, const char *newwork, size_t reserve);
void gw_memkv_free(gw_memkv_t *m);
/* 1 when records of ns live here */
int gw_memkv_holds(const gw_memkv_t *m, const char *ns);
/* the namespaces, space-separated */
const char *gw_memkv_namespaces(const gw_memkv_t *m);

/* Same contracts as the gw_store operations of the same name. */
int gw_memkv_put(gw_memkv_t *m, const char *ns, const char *key, const char *val, long ttl, int only_if_absent);
int gw_memkv_get(gw_memkv_t *m, const char *ns, const char *key, char **ret);
int gw_memkv_take(gw_memkv_t *m, const char *ns, const char *key, char **ret);
int gw_memkv_del(gw_memkv_t *m, const char *ns, const char *key);
int gw_memkv_incr(gw_memkv_t *m, const char *ns, const char *key, long ttl, int64_t *ret);
int gw_memkv_decr(gw_memkv_t *m, const char *ns, const char *key);
/* The same, for JSON records: kept as parsed objects (no text round trip). put stores a
 * copy of j; get returns a copy; take returns the record itself. A record put as text
 * reads back as JSON and the other way round. */
int gw_memkv_put_json(gw_memkv_t *m, const char *ns, const char *key, json_t *j, long ttl, int only_if_absent);
int gw_memkv_get_json(gw_memkv_t *m, const char *ns, const char *key, int take, json_t **ret);
/* live records of ns, soonest to expire first */
int gw_memkv_list(gw_memkv_t *m, const char *ns, size_t max, void (*cb)(const char *key, const char *val, void *ud),
                  void *ud);
/* drops expired records; returns how many */
size_t gw_memkv_purge(gw_memkv_t *m);
/* live records of ns (ns NULL: all) */
size_t gw_memkv_count(gw_memkv_t *m, const char *ns);
size_t gw_memkv_max(const gw_memkv_t *m);
/* A bound in bytes besides the bound in records (what keys and values hold, estimated;
 * JSON records by their nodes and text): past it a put fails like past max_records, with
 * the same share kept for work under way. 0 leaves it unbounded. */
void gw_memkv_set_max_bytes(gw_memkv_t *m, size_t max_bytes);
size_t gw_memkv_bytes(gw_memkv_t *m);

#endif
