/* legacy_http: the portal checks a legacy password itself. eidgw POSTs
 * {"username","password"} as JSON to the client's legacy_callback (TLS verified, 5 s) and
 * expects 200 {"result":"ok","account_id":"..."} for a good password and 401/403 (or
 * {"result":"denied"}) for a bad one. Anything else is an outage: the citizen is asked to
 * try later and nothing is counted. The password is never logged. */
#include "../plugin.h"
#include "gw_json.h"
#include "legacy_http_internal.h"
#include "gw_http.h"
#include "gw_crypto.h"
#include "gw_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_legacy_http_answer(const gw_http_result_t *r, char *ret_account, size_t account_len)
{
    if (r->status == 401 || r->status == 403)
        return GW_LEGACY_DENIED;
    if (r->status != 200)
        return GW_LEGACY_ERROR;
    json_t *j = gw_json_parse(r->body, r->len, NULL, 0);
    const char *res = json_string_value(json_object_get(j, "result"));
    const char *acct = json_string_value(json_object_get(j, "account_id"));
    int rc = GW_LEGACY_ERROR;
    if (res && !strcmp(res, "ok") && acct && strlen(acct) < account_len) {
        snprintf(ret_account, account_len, "%s", acct);
        rc = GW_LEGACY_OK;
    } else if (res && !strcmp(res, "denied")) {
        rc = GW_LEGACY_DENIED;
    }
    json_decref(j);
    return rc;
}

int gw_legacy_http_check(const char *url, const char *username, const char *password, char *ret_account,
                         size_t account_len)
{
    json_t *req = json_pack("{s:s,s:s}", "username", username, "password", password);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    gw_http_result_t r;
    gw_http_call(url, NULL, NULL, NULL, NULL, body, 5000, &r);
    if (body) {
        memset(body, 0, strlen(body));
        free(body);
    }
    int rc = gw_legacy_http_answer(&r, ret_account, account_len);
    if (rc == GW_LEGACY_ERROR)
        gw_log(GW_LOG_WARN, "legacy_http", "password check callback failed", "url", url, NULL);
    gw_http_result_cleanup(&r);
    return rc;
}
