#include "gw_revfile.h"

#include "gw_proxy_wire.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIN_SLOTS 1024u

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *path;
    uint64_t *slot; /* nslots pairs {hash, expiry} after the header */
    unsigned char *map;
    size_t len;
    uint32_t nslots, used;
} rf;

static size_t file_len(uint32_t nslots) { return GW_PW_REV_HDR + (size_t)nslots * 16u; }

/* puts an entry into a table not yet visible to readers, or visible (then slot by slot) */
static void put(uint64_t *slot, uint32_t nslots, uint64_t h, uint64_t until, uint32_t *used)
{
    for (uint32_t i = (uint32_t)h & (nslots - 1);; i = (i + 1) & (nslots - 1)) {
        uint64_t cur = __atomic_load_n(&slot[2 * i], __ATOMIC_RELAXED);
        if (cur == h) {
            if (until > slot[2 * i + 1])
                __atomic_store_n(&slot[2 * i + 1], until, __ATOMIC_RELEASE);
            return;
        }
        if (cur == 0) {
            __atomic_store_n(&slot[2 * i + 1], until, __ATOMIC_RELAXED);
            __atomic_store_n(&slot[2 * i], h, __ATOMIC_RELEASE);
            (*used)++;
            return;
        }
    }
}

/* writes a new table of nslots with the live entries of the current one and renames it over
 * the path; the new mapping replaces the old */
static int rebuild(const char *path, uint32_t nslots, uint64_t now)
{
    size_t plen = strlen(path), len = file_len(nslots);
    char *tmp = malloc(plen + 8);
    if (!tmp)
        return -1;
    snprintf(tmp, plen + 8, "%s.new", path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
        goto fail;
    unsigned char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        goto fail;
    memcpy(map, GW_PW_REV_MAGIC, 8);
    memcpy(map + 8, &nslots, sizeof nslots);
    uint64_t *slot = (uint64_t *)(void *)(map + GW_PW_REV_HDR);
    uint32_t used = 0;
    for (uint32_t i = 0; rf.map && i < rf.nslots; i++)
        if (rf.slot[2 * i] && rf.slot[2 * i + 1] > now)
            put(slot, nslots, rf.slot[2 * i], rf.slot[2 * i + 1], &used);
    if (rename(tmp, path) != 0) {
        munmap(map, len);
        goto fail;
    }
    close(fd);
    free(tmp);
    if (rf.map)
        munmap(rf.map, rf.len);
    rf.map = map;
    rf.len = len;
    rf.slot = slot;
    rf.nslots = nslots;
    rf.used = used;
    return 0;
fail:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return -1;
}

/* a new, empty table at path (the lock held) */
static int reset_locked(const char *path, int64_t now)
{
    free(rf.path);
    rf.path = strdup(path);
    if (rf.map)
        munmap(rf.map, rf.len);
    rf.map = NULL;
    return !rf.path || rebuild(path, MIN_SLOTS, (uint64_t)now) != 0 ? -1 : 0;
}

int gw_revfile_reset(const char *path, int64_t now)
{
    pthread_mutex_lock(&lock);
    int rc = reset_locked(path, now);
    pthread_mutex_unlock(&lock);
    return rc;
}

int gw_revfile_add(const char *path, const char *sid, int64_t until, int64_t now)
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (!rf.path || strcmp(rf.path, path) != 0)
        rc = reset_locked(path, now);
    if (rc == 0 && until > now) {
        if ((rf.used + 1) * 2 > rf.nslots) {
            uint32_t n = MIN_SLOTS;
            while (n < 4u * rf.used && n < (1u << 30))
                n *= 2;
            /* a table of live entries only; grows when most of them are still live */
            if (rebuild(path, n, (uint64_t)now) != 0)
                rc = -1;
        }
        if (rc == 0 && (rf.used + 1) * 2 <= rf.nslots)
            put(rf.slot, rf.nslots, gw_pw_sid_hash(sid, strlen(sid)), (uint64_t)until, &rf.used);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
