/* gw_release: what a portal may know of a citizen. Each portal sees its own pairwise id
 * (never the ID number itself unless granted the "cccd" scope) and the claims of the
 * scopes it was granted. */
#include "gw_broker.h"
#include "gw_json.h"

#include <stdlib.h>

char *gw_pairwise_sub(gw_ctx_t *app, const char *portal, const char *id12)
{
    if (!id12)
        id12 = ""; /* never for a real session: every identity carries its number */
    gw_buf_t b;
    gw_buf_init(&b, 1024);
    gw_buf_printf(&b, "%s", portal);
    gw_buf_add(&b, "\0", 1);
    gw_buf_adds(&b, id12);
    unsigned char mac[32];
    gw_hmac_sha256(app->keys->pairwise_key, 32, b.data, b.len, mac);
    gw_buf_cleanup(&b);
    return gw_b64url_encode(mac, 32);
}

const char *gw_acr_for(int level)
{
    return level >= 2 ? GW_ACR_L2 : level == 1 ? GW_ACR_L1 : "urn:vn:eid:legacy"; /* 0: a legacy password login */
}

json_t *gw_release_claims(gw_ctx_t *app, const gw_client_t *cl, const char *scope, json_t *ident, const char *account,
                          json_t *merged)
{
    json_t *o = json_object();
    /* the portal's own account id for this citizen, and the ids merged into it */
    gw_jset(o, "legacy_account", account);
    if (json_is_array(merged))
        json_object_set(o, "merged_accounts", merged);
    char *sub = gw_pairwise_sub(app, cl->id, gw_jstr(ident, "id12"));
    gw_jset(o, "sub", sub);
    free(sub);
    if (gw_list_has(scope, "profile")) {
        gw_jset(o, "name", gw_jstr(ident, "name"));
        gw_jset(o, "birthdate", gw_jstr(ident, "birthdate"));
        gw_jset(o, "gender", gw_jstr(ident, "sex"));
    }
    if (gw_list_has(scope, "cccd"))
        gw_jset(o, "cccd", gw_jstr(ident, "id12"));
    return o;
}
