/* libFuzzer target for the portal's legacy password check answer (gw_legacy_http_answer):
 * byte 0 picks the HTTP status, the rest is the body. Checks: OK exactly for a 200 JSON
 * object with "result":"ok" and a string account_id that fits, copied whole; DENIED for a
 * 401, a 403 or a 200 "result":"denied" that is not OK; anything else an outage; the account
 * buffer is written only with OK.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_json.h"
#include "legacy_http/legacy_http_internal.h"
#include "plugin.h"

static const long STATUS[] = { 200, 200, 200, 200, 401, 403, 500, 0 };

static const char *const SEEDS[] = {
    "\x00{\"result\":\"ok\",\"account_id\":\"A-0001\"}",
    "\x01{\"result\":\"denied\"}",
    "\x02{\"result\":\"ok\",\"account_id\":\"\"}",
    "\x03{\"result\":\"ok\",\"account_id\":12}",
    "\x04{\"result\":\"ok\",\"account_id\":\"A\"}",
    "\x00{\"result\":\"ok\",\"account_id\":\"0123456789abcdef0123456789abcdef\"}",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

static int is_str(json_t *j, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v && !strcmp(v, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *body = fuzz_cstr(data + 1, size - 1);
    gw_http_result_t r = { .status = STATUS[data[0] % 8], .body = body, .len = size - 1 };
    char acct[17];
    memset(acct, 'q', sizeof(acct));
    int rc = gw_legacy_http_answer(&r, acct, sizeof(acct));
    json_t *j = r.status == 200 ? gw_json_parse(body, size - 1, NULL, 0) : NULL;
    json_t *id = json_object_get(j, "account_id");
    int ok = is_str(j, "result", "ok") && json_is_string(id) && json_string_length(id) < sizeof(acct);
    int denied = r.status == 401 || r.status == 403 || (!ok && is_str(j, "result", "denied"));
    CHECK(rc == (ok ? GW_LEGACY_OK : denied ? GW_LEGACY_DENIED : GW_LEGACY_ERROR));
    if (ok)
        CHECK(!strcmp(acct, json_string_value(id)));
    else
        CHECK(acct[0] == 'q' && acct[sizeof(acct) - 1] == 'q');
    json_decref(j);
    free(body);
    return 0;
}
