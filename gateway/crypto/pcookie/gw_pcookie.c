#include "gw_pcookie.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char PCOOKIE_INFO[] = "eidgw portal cookie v1";

void gw_pcookie_key(const unsigned char cookie_key[GW_SEAL_KEYLEN], unsigned char out[GW_SEAL_KEYLEN])
{
    unsigned int len = GW_SEAL_KEYLEN;
    HMAC(EVP_sha256(), cookie_key, GW_SEAL_KEYLEN, (const unsigned char *)PCOOKIE_INFO, sizeof PCOOKIE_INFO - 1, out,
         &len);
}

/* the released claims, in the order of gw_pcookie_t's fields */
#define CLAIMS(X) X(name) X(birthdate) X(gender) X(cccd) X(legacy_account)

int gw_pcookie_seal(const unsigned char k[GW_SEAL_KEYLEN], const gw_pcookie_t *c, char **ret)
{
    if (!c->sid || !c->portal || !c->sub)
        return GW_PCOOKIE_BAD;
    json_t *cl = json_object();
#define PUT(f)                                                                                                         \
    if (c->f)                                                                                                          \
        json_object_set_new(cl, #f, json_string(c->f));
    CLAIMS(PUT)
#undef PUT
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:o}", "v", GW_PCOOKIE_VERSION, "sid", c->sid, "pid",
                          c->portal, "sub", c->sub, "lvl", c->level, "acr", c->acr ? c->acr : "", "at",
                          (json_int_t)c->auth_time, "exp", (json_int_t)c->exp, "rc", (json_int_t)c->recheck, "cl", cl);
    if (!j)
        return GW_PCOOKIE_BAD;
    char *pt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!pt)
        return GW_PCOOKIE_BAD;
    size_t n = strlen(pt);
    /* base64url of 2 + 12 + n + 16 bytes */
    if ((30 + n) / 3 * 4 + 3 > GW_PCOOKIE_MAX) {
        free(pt);
        return GW_PCOOKIE_TOOBIG;
    }
    char *v = gw_seal(k, GW_PCOOKIE_KEY_ID, pt, n);
    free(pt);
    if (!v)
        return GW_PCOOKIE_BAD;
    if (strlen(v) > GW_PCOOKIE_MAX) {
        free(v);
        return GW_PCOOKIE_TOOBIG;
    }
    *ret = v;
    return GW_PCOOKIE_OK;
}

static char *dup_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

void gw_pcookie_clear(gw_pcookie_t *c)
{
    free(c->sid);
    free(c->portal);
    free(c->sub);
    free(c->acr);
#define FREE(f) free(c->f);
    CLAIMS(FREE)
#undef FREE
    memset(c, 0, sizeof *c);
}

int gw_pcookie_open(const unsigned char k[GW_SEAL_KEYLEN], const char *value, const char *portal, int64_t now,
                    gw_pcookie_t *c)
{
    if (!value || !portal || strlen(value) > GW_PCOOKIE_MAX)
        return GW_PCOOKIE_BAD;
    char *pt = NULL;
    size_t n = 0;
    if (gw_seal_open(k, GW_PCOOKIE_KEY_ID, value, &pt, &n) != 0)
        return GW_PCOOKIE_BAD;
    json_t *j = json_loadb(pt, n, JSON_REJECT_DUPLICATES, NULL);
    free(pt);
    if (!json_is_object(j))
        goto bad;
    json_t *v = json_object_get(j, "v"), *cl = json_object_get(j, "cl");
    if (!json_is_integer(v) || json_integer_value(v) != GW_PCOOKIE_VERSION || !json_is_object(cl))
        goto bad;
    const char *pid = json_string_value(json_object_get(j, "pid"));
    const char *sid = json_string_value(json_object_get(j, "sid"));
    const char *sub = json_string_value(json_object_get(j, "sub"));
    json_t *exp = json_object_get(j, "exp");
    if (!pid || !sid || !sub || !json_is_integer(exp))
        goto bad;
    int rc = GW_PCOOKIE_OK;
    if (strcmp(pid, portal) != 0)
        rc = GW_PCOOKIE_PORTAL;
    else if (json_integer_value(exp) <= now)
        rc = GW_PCOOKIE_EXPIRED;
    if (rc != GW_PCOOKIE_OK) {
        json_decref(j);
        return rc;
    }
    memset(c, 0, sizeof *c);
    c->sid = strdup(sid);
    c->portal = strdup(pid);
    c->sub = strdup(sub);
    c->acr = dup_str(j, "acr");
    c->level = (int)json_integer_value(json_object_get(j, "lvl"));
    c->auth_time = json_integer_value(json_object_get(j, "at"));
    c->exp = json_integer_value(exp);
    c->recheck = json_integer_value(json_object_get(j, "rc"));
#define GET(f) c->f = dup_str(cl, #f);
    CLAIMS(GET)
#undef GET
    json_decref(j);
    return c->recheck <= now ? GW_PCOOKIE_RECHECK : GW_PCOOKIE_OK;
bad:
    json_decref(j);
    return GW_PCOOKIE_BAD;
}
