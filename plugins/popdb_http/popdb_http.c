/* popdb_http: the population-DB "3-item check" (CMND + personal ID number + full name,
 * letter 761/VPCP-KSTT) over HTTP. Request: POST JSON {"cmnd9","id12","name"} with the
 * name in the configured format; answer {"result":"MATCH"|"NO_MATCH"}. The field names,
 * the answer's field and its two values are settings of [popdb] (the service's wire format
 * is not public). Anything else —
 * timeout, a 5xx, an unreadable body — is an error the caller must not count as a
 * mismatch (docs/domain.md section 9). */
#include "../plugin.h"
#include "gw_json.h"
#include "gw_config.h"
#include "gw_http.h"
#include "gw_crypto.h"
#include "gw_log.h"
#include "gw_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_popdb_check(const gw_config_t *cfg, const char *cmnd9, const char *id12, const char *name, char *detail,
                   size_t dl)
{
    if (!cfg->popdb_url) {
        snprintf(detail, dl, "no [popdb] configured");
        return GW_POPDB_ERROR;
    }
    char fname[512];
    if (gw_name_format_popdb(name, cfg->popdb_name_format, fname, sizeof(fname)) != 0) {
        snprintf(detail, dl, "name cannot be formatted for the population DB");
        return GW_POPDB_ERROR;
    }
    json_t *req = json_pack("{s:s,s:s,s:s}", cfg->popdb_field_cmnd, cmnd9, cfg->popdb_field_id12, id12,
                            cfg->popdb_field_name, fname);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    gw_http_result_t r;
    gw_http_call(cfg->popdb_url, NULL, NULL, NULL, NULL, body, cfg->popdb_timeout * 1000, &r);
    free(body);
    int rc = GW_POPDB_ERROR;
    if (r.status == 200) {
        json_t *j = gw_json_parse(r.body, r.len, NULL, 0);
        const char *res = json_string_value(json_object_get(j, cfg->popdb_result_field));
        if (res && !strcmp(res, cfg->popdb_match))
            rc = GW_POPDB_MATCH;
        else if (res && !strcmp(res, cfg->popdb_nomatch))
            rc = GW_POPDB_NO_MATCH;
        else
            snprintf(detail, dl, "unexpected answer");
        json_decref(j);
    } else {
        snprintf(detail, dl, "%s", r.status ? "HTTP error status" : r.error);
    }
    gw_http_result_cleanup(&r);
    return rc;
}
