/* gw_addrlimit: how many times each client address did something in a fixed window, in
 * this process's memory and in a table of fixed size, so that what one address can make a
 * node keep (pending logins) is bounded, and what the limiter itself holds is bounded
 * whatever the number of addresses.
 *
 * Addresses are hashed with a key of the process's (HMAC-SHA256), so no one can aim two
 * addresses at one slot. An address looks at 4 slots: its own, an expired one, or else the
 * one whose window started first, which it takes over (a node seeing more live addresses
 * than slots forgets the oldest first: it never refuses an address for another's count). */
#ifndef GW_ADDRLIMIT_H
#define GW_ADDRLIMIT_H
#include <stddef.h>
#include <stdint.h>

typedef struct gw_addrlimit gw_addrlimit_t;

/* count per window seconds, in slots slots (rounded up to a power of two); count 0: no limit */
gw_addrlimit_t *gw_addrlimit_new(size_t slots, long count, long window);
void gw_addrlimit_free(gw_addrlimit_t *l);
/* Counts one event of addr at now: 0 while within its count, else the seconds until its
 * window ends (at least 1). */
long gw_addrlimit_hit(gw_addrlimit_t *l, const char *addr, int64_t now);

#endif
