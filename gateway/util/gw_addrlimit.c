/* Counts per client address in a fixed window: see gw_addrlimit.h. */
#include "gw_addrlimit.h"
#include "gw_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define NLOCKS 16

typedef struct slot {
    uint64_t h; /* the address's hash; 0: free */
    int64_t start; /* its window's start */
    long n;
} slot_t;

struct gw_addrlimit {
    long count, window;
    size_t mask;
    slot_t *slot;
    unsigned char key[32];
    pthread_mutex_t lock[NLOCKS]; /* by the address's first slot: an address always takes the same lock */
};

gw_addrlimit_t *gw_addrlimit_new(size_t slots, long count, long window)
{
    gw_addrlimit_t *l = gw_xcalloc(1, sizeof(*l));
    size_t n = WAYS;
    while (n < slots)
        n <<= 1;
    l->count = count;
    l->window = window > 0 ? window : 1;
    l->mask = n - 1;
    l->slot = gw_xcalloc(n, sizeof(slot_t));
    gw_random(l->key, sizeof(l->key));
    for (int i = 0; i < NLOCKS; i++)
        pthread_mutex_init(&l->lock[i], NULL);
    return l;
}

void gw_addrlimit_free(gw_addrlimit_t *l)
{
    if (!l)
        return;
    for (int i = 0; i < NLOCKS; i++)
        pthread_mutex_destroy(&l->lock[i]);
    free(l->slot);
    free(l);
}

static uint64_t addr_hash(const gw_addrlimit_t *l, const char *addr)
{
    unsigned char mac[32];
    uint64_t h;
    gw_hmac_sha256(l->key, sizeof(l->key), addr, strlen(addr), mac);
    memcpy(&h, mac, sizeof(h));
    return h ? h : 1;
}

long gw_addrlimit_hit(gw_addrlimit_t *l, const char *addr, int64_t now)
{
    if (!l || l->count <= 0 || !addr)
        return 0;
    uint64_t h = addr_hash(l, addr);
    size_t first = (size_t)h & l->mask & ~(size_t)(WAYS - 1); /* the address's group of WAYS slots */
    pthread_mutex_t *lock = &l->lock[(first / WAYS) % NLOCKS];
    pthread_mutex_lock(lock);
    slot_t *own = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < WAYS; i++) {
        slot_t *s = &l->slot[first + i];
        if (s->h == h) {
            own = s;
            break;
        }
        if (!s->h || s->start + l->window <= now) {
            if (!free_slot)
                free_slot = s;
        } else if (!oldest || s->start < oldest->start) {
            oldest = s;
        }
    }
    slot_t *s = own ? own : free_slot ? free_slot : oldest;
    if (s != own || s->start + l->window <= now) { /* a new window for this address */
        s->h = h;
        s->start = now;
        s->n = 0;
    }
    long wait = ++s->n > l->count ? s->start + l->window - now : 0;
    pthread_mutex_unlock(lock);
    return wait > 0 ? wait : 0;
}
