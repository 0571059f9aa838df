/* gw_ctx: the audit door and the revocation set of the process context. */
#include "gw_ctx.h"
#include "gw_audit.h"
#include "gw_log.h"

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
    for (size_t i = 0; i < rs->n; i++)
        free(rs->sid[i]);
    free(rs->sid);
    free(rs->until);
    pthread_rwlock_destroy(&rs->lock);
}

void gw_revset_add(gw_revset_t *rs, const char *sid, int64_t until)
{
    pthread_rwlock_wrlock(&rs->lock);
    int64_t now = gw_now();
    /* drop entries that expired, then append */
    size_t w = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->until[i] > now) {
            rs->sid[w] = rs->sid[i];
            rs->until[w++] = rs->until[i];
        } else {
            free(rs->sid[i]);
        }
    }
    rs->n = w;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->sid = realloc(rs->sid, rs->cap * sizeof(char *));
        rs->until = realloc(rs->until, rs->cap * sizeof(int64_t));
        if (!rs->sid || !rs->until)
            abort();
    }
    rs->sid[rs->n] = gw_strdup(sid);
    rs->until[rs->n++] = until;
    pthread_rwlock_unlock(&rs->lock);
}

int gw_revset_has(gw_revset_t *rs, const char *sid)
{
    pthread_rwlock_rdlock(&rs->lock);
    int found = 0;
    for (size_t i = 0; i < rs->n && !found; i++)
        found = !strcmp(rs->sid[i], sid);
    pthread_rwlock_unlock(&rs->lock);
    return found;
}

static void on_revoked(const char *sid, int64_t until, void *ud)
{
    gw_ctx_t *app = ud;
    if (!gw_revset_has(&app->revoked, sid))
        gw_revset_add(&app->revoked, sid, until);
}

void gw_revset_sync(gw_ctx_t *app)
{
    int64_t seq = app->revoked.seq;
    if (gw_store_revoked_since(app->store, seq, on_revoked, app, &seq) == GW_OK)
        app->revoked.seq = seq;
}
