/* popdb_http: the population-DB "3-item check" (CMND + personal ID number + full name,
 * letter 761/VPCP-KSTT) over HTTP. Request: POST JSON {"cmnd9","id12","name"} with the
 * name in the configured format; answer {"result":"MATCH"|"NO_MATCH"}. The field names,
 * the answer's field and its two values are settings of [popdb] (the service's wire format
 * is not public). Anything else —
 * timeout, a 5xx, an unreadable body — is an error the caller must not count as a
 * mismatch (docs/domain.md section 9). */
#include "../plugin.h"
#include "gw_json.h"
#include "popdb_http.h"
#include "popdb_http_internal.h"
#include "gw_directive.h"
#include "gw_http.h"
#include "gw_crypto.h"
#include "gw_log.h"
#include "gw_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#define POPDB(k, t, f, mn, mx, w, req, d)                                                                              \
    {                                                                                                                  \
        .name = k, .type = t, .offset = offsetof(gw_popdb_settings_t, f), .min = mn, .max = mx, .words = w,            \
        .required = req, .def = d                                                                                      \
    }
static const gw_directive_t popdb_dirs[] = {
    POPDB("url", GW_DIR_URL, url, 0, 0, NULL, 1, NULL),
    POPDB("name_format", GW_DIR_WORD, name_format, 0, 0, "nfc nfc_upper ascii_upper_nospace", 0, "nfc"),
    POPDB("timeout", GW_DIR_SECONDS, timeout, 1, 60, NULL, 0, "10s"),
    POPDB("field_cmnd", GW_DIR_STR, field_cmnd, 0, 0, NULL, 0, "cmnd9"),
    POPDB("field_id12", GW_DIR_STR, field_id12, 0, 0, NULL, 0, "id12"),
    POPDB("field_name", GW_DIR_STR, field_name, 0, 0, NULL, 0, "name"),
    POPDB("result_field", GW_DIR_STR, result_field, 0, 0, NULL, 0, "result"),
    POPDB("match_value", GW_DIR_STR, match, 0, 0, NULL, 0, "MATCH"),
    POPDB("nomatch_value", GW_DIR_STR, nomatch, 0, 0, NULL, 0, "NO_MATCH"),
    { 0 },
};

const gw_plugin_conf_t gw_popdb_conf = { .directives = popdb_dirs, .size = sizeof(gw_popdb_settings_t) };

int gw_popdb_configured(const void *settings)
{
    const gw_popdb_settings_t *pd = settings;
    return pd && pd->url;
}

int gw_popdb_answer(const void *settings, const gw_http_result_t *r, char *detail, size_t dl)
{
    const gw_popdb_settings_t *pd = settings;
    if (r->status != 200) {
        snprintf(detail, dl, "%s", r->status ? "HTTP error status" : r->error);
        return GW_POPDB_ERROR;
    }
    json_t *j = gw_json_parse(r->body, r->len, NULL, 0);
    const char *res = json_string_value(json_object_get(j, pd->result_field));
    int rc = GW_POPDB_ERROR;
    if (res && !strcmp(res, pd->match))
        rc = GW_POPDB_MATCH;
    else if (res && !strcmp(res, pd->nomatch))
        rc = GW_POPDB_NO_MATCH;
    else
        snprintf(detail, dl, "unexpected answer");
    json_decref(j);
    return rc;
}

int gw_popdb_check(const void *settings, const char *cmnd9, const char *id12, const char *name, char *detail, size_t dl)
{
    const gw_popdb_settings_t *pd = settings;
    if (!gw_popdb_configured(pd)) {
        snprintf(detail, dl, "no [popdb] configured");
        return GW_POPDB_ERROR;
    }
    char fname[512];
    if (gw_name_format_popdb(name, pd->name_format, fname, sizeof(fname)) != 0) {
        snprintf(detail, dl, "name cannot be formatted for the population DB");
        return GW_POPDB_ERROR;
    }
    json_t *req = json_pack("{s:s,s:s,s:s}", pd->field_cmnd, cmnd9, pd->field_id12, id12, pd->field_name, fname);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    gw_http_result_t r;
    gw_http_call(pd->url, NULL, NULL, NULL, NULL, body, pd->timeout * 1000, &r);
    free(body);
    int rc = gw_popdb_answer(pd, &r, detail, dl);
    gw_http_result_cleanup(&r);
    return rc;
}
