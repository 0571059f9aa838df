/* gw_ctx: the audit door and the revocation set of the process context. */
#include "gw_ctx.h"
#include "gw_audit.h"
#include "gw_log.h"
#include "gw_proxy_wire.h"
#include "gw_revfile.h"
#include <errno.h>
#include <time.h>

#include <stdlib.h>
#include <string.h>

void gw_audit_event(gw_ctx_t *app, const char *event, json_t *fields)
{
    /* the log line names the event and portal only: ID numbers stay in the audit file, masked */
    gw_log(GW_LOG_INFO, "audit", event, "portal", json_string_value(json_object_get(fields, "portal")), "result",
           json_string_value(json_object_get(fields, "result")), NULL);
    if (app->audit && gw_audit_write(app->audit, event, fields) != 0)
        gw_log(GW_LOG_ERROR, "audit", "cannot write the audit log", "event", event, NULL);
    json_decref(fields);
}

/* ------------------------------------------------------------------ revocations */

void gw_revset_init(gw_revset_t *rs)
{
    memset(rs, 0, sizeof(*rs));
    pthread_rwlock_init(&rs->lock, NULL);
}

void gw_revset_cleanup(gw_revset_t *rs)
{
    for (size_t i = 0; i < rs->cap; i++)
        free(rs->slot[i].sid);
    free(rs->slot);
    pthread_rwlock_destroy(&rs->lock);
}

static size_t sid_hash(const char *sid)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: session ids are random, nothing to aim at */
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

/* the slot of sid, or the empty slot where it would go (cap > 0) */
static gw_revset_slot_t *find_slot(const gw_revset_t *rs, const char *sid)
{
    size_t i = sid_hash(sid) & (rs->cap - 1);
    while (rs->slot[i].sid && strcmp(rs->slot[i].sid, sid))
        i = (i + 1) & (rs->cap - 1);
    return &rs->slot[i];
}

/* a table with room for what is still live, twice over */
static void regrow(gw_revset_t *rs, int64_t now)
{
    size_t live = 0;
    for (size_t i = 0; i < rs->cap; i++)
        live += rs->slot[i].sid && rs->slot[i].until > now;
    size_t cap = 64;
    while (cap < (live + 1) * 2)
        cap *= 2;
    gw_revset_t next = { .cap = cap, .slot = gw_xcalloc(cap, sizeof(gw_revset_slot_t)) };
    for (size_t i = 0; i < rs->cap; i++) {
        if (!rs->slot[i].sid)
            continue;
        if (rs->slot[i].until > now) {
            *find_slot(&next, rs->slot[i].sid) = rs->slot[i];
            next.n++;
        } else {
            free(rs->slot[i].sid);
        }
    }
    free(rs->slot);
    rs->slot = next.slot;
    rs->cap = next.cap;
    rs->n = next.n;
}

void gw_revset_add(gw_revset_t *rs, const char *sid, int64_t until)
{
    pthread_rwlock_wrlock(&rs->lock);
    if ((rs->n + 1) * 10 > rs->cap * 7) /* past 70%: drop what expired, grow if still full */
        regrow(rs, gw_now());
    gw_revset_slot_t *sl = find_slot(rs, sid);
    if (!sl->sid) {
        sl->sid = gw_strdup(sid);
        sl->until = until;
        rs->n++;
    } else if (until > sl->until) {
        sl->until = until;
    }
    pthread_rwlock_unlock(&rs->lock);
}

int gw_revset_has(gw_revset_t *rs, const char *sid)
{
    pthread_rwlock_rdlock(&rs->lock);
    int found = rs->cap && find_slot(rs, sid)->sid != NULL;
    pthread_rwlock_unlock(&rs->lock);
    return found;
}

static void on_revoked(const char *sid, int64_t until, void *ud)
{
    gw_ctx_t *app = ud;
    gw_revset_add(&app->revoked, sid, until);
    if (app->cfg->revocation_file && gw_revfile_add(app->cfg->revocation_file, sid, until, (int64_t)time(NULL)) != 0)
        gw_log(GW_LOG_ERROR, "revfile", "cannot write the revocation file", "path", app->cfg->revocation_file, "error",
               strerror(errno), NULL);
}

void gw_revfile_feed_portals(gw_ctx_t *app)
{
    const char *path = app->cfg->revocation_file;
    int64_t now = (int64_t)time(NULL);
    int rc = path ? gw_revfile_reset(path, now) : 0;
    for (size_t i = 0; path && rc == 0 && i < app->cfg->nclients; i++) {
        const gw_client_t *cl = &app->cfg->clients[i];
        if (!cl->suspended)
            continue;
        char *key = gw_sprintf("%s%s", GW_PW_PORTAL_KEY_PREFIX, cl->id);
        /* far: a suspension lasts until a start without it */
        rc = gw_revfile_add(path, key, now + 100LL * 365 * 86400, now);
        free(key);
        gw_log(GW_LOG_INFO, "revfile", "portal suspended", "client", cl->id, NULL);
    }
    if (rc != 0)
        gw_log(GW_LOG_ERROR, "revfile", "cannot write the revocation file", "path", path, "error", strerror(errno),
               NULL);
}

void gw_revset_sync(gw_ctx_t *app)
{
    int64_t seq = app->revoked.seq;
    if (gw_store_revoked_since(app->store, seq, on_revoked, app, &seq) == GW_OK)
        app->revoked.seq = seq;
}
