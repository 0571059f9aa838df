#include "gw_events.h"
#include "gw_json.h"

#include "gw_log.h"
#include "gw_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_TTL (30L * 86400)
#define MAX_BACKOFF 3600

void gw_events_enqueue(gw_ctx_t *app, const char *client_id, const char *id12, const char *type, json_t *data)
{
    const gw_client_t *cl = gw_config_client(app->cfg, client_id);
    if (!cl || !cl->events_uri) {
        json_decref(data);
        return;
    }
    char *jti = gw_random_token(16);
    char *sub = id12 ? gw_pairwise_sub(app, cl->id, id12) : NULL;
    char *uri = gw_sprintf("urn:eidgw:event:%s", type);
    json_t *set = json_pack("{s:s,s:s,s:I,s:s,s:{s:o}}", "iss", app->cfg->public_url, "aud", cl->id, "iat",
                            (json_int_t)gw_now(), "jti", jti, "events", uri, data);
    if (sub)
        json_object_set_new(set, "sub", json_string(sub));
    char *jwt = gw_jwt_sign(app->keys, cl->token_alg, set, "secevent+jwt");
    json_t *rec = json_pack("{s:s,s:s,s:s,s:i,s:I}", "client", cl->id, "jwt", jwt ? jwt : "", "type", type, "attempts",
                            0, "next", (json_int_t)gw_now());
    if (!jwt || gw_store_put_json(app->store, "evq", jti, rec, EVENT_TTL, 0) != GW_OK)
        gw_log(GW_LOG_ERROR, "events", "cannot queue an event", "client", cl->id, "type", type, NULL);
    json_decref(rec);
    json_decref(set);
    free(jwt);
    free(uri);
    free(sub);
    free(jti);
}

typedef struct due {
    char *key, *val;
    struct due *next;
} due_t;

static void collect(const char *key, const char *val, void *ud)
{
    due_t **head = ud, *d = gw_xcalloc(1, sizeof(*d));
    d->key = gw_strdup(key);
    d->val = gw_strdup(val);
    d->next = *head;
    *head = d;
}

static void deliver_one(gw_ctx_t *app, const char *key, json_t *rec)
{
    const gw_client_t *cl = gw_config_client(app->cfg, json_string_value(json_object_get(rec, "client")));
    if (!cl || !cl->events_uri) {
        gw_store_del(app->store, "evq", key); /* the portal no longer takes events */
        return;
    }
    /* one node at a time per event */
    if (gw_store_put(app->store, "evl", key, "1", 30, 1) != GW_OK)
        return;
    gw_http_result_t r;
    gw_http_call_type(cl->events_uri, json_string_value(json_object_get(rec, "jwt")), "application/secevent+jwt", 5000,
                      &r);
    char st[8];
    snprintf(st, sizeof(st), "%ld", r.status);
    if (r.status >= 200 && r.status < 300) {
        gw_store_del(app->store, "evq", key);
        gw_log(GW_LOG_INFO, "events", "delivered", "client", cl->id, "type",
               json_string_value(json_object_get(rec, "type")), NULL);
    } else {
        json_int_t n = json_integer_value(json_object_get(rec, "attempts")) + 1;
        long wait = 5;
        for (json_int_t i = 1; i < n && wait < MAX_BACKOFF; i++)
            wait *= 2;
        if (wait > MAX_BACKOFF)
            wait = MAX_BACKOFF;
        json_object_set_new(rec, "attempts", json_integer(n));
        json_object_set_new(rec, "next", json_integer(gw_now() + wait));
        gw_store_put_json(app->store, "evq", key, rec, EVENT_TTL, 0);
        gw_log(GW_LOG_WARN, "events", "delivery failed, will retry", "client", cl->id, "status", st, NULL);
    }
    gw_http_result_cleanup(&r);
    gw_store_del(app->store, "evl", key);
}

void gw_events_deliver(gw_ctx_t *app)
{
    due_t *head = NULL;
    if (gw_store_list(app->store, "evq", 200, collect, &head) != GW_OK)
        return;
    int64_t now = gw_now();
    while (head) {
        due_t *d = head;
        head = d->next;
        json_t *rec = gw_json_parse_str(d->val);
        if (rec && json_integer_value(json_object_get(rec, "next")) <= now)
            deliver_one(app, d->key, rec);
        json_decref(rec);
        free(d->key);
        free(d->val);
        free(d);
    }
}
