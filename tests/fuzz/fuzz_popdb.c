/* libFuzzer target for the population-DB answer (gw_popdb_answer): byte 0 picks the HTTP
 * status, the rest is the body. Checks: MATCH or NO_MATCH exactly for a 200 whose JSON object
 * has the configured result field equal, whole, to the configured value; anything else is an
 * error with a reason, never counted as a mismatch.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gw_json.h"
#include "plugin.h"
#include "popdb_http/popdb_http.h"
#include "popdb_http/popdb_http_internal.h"

static const long STATUS[] = { 200, 200, 200, 200, 0, 500, 401, 302 };

static const char *const SEEDS[] = {
    "\x00{\"ketQua\":\"KHOP\"}", "\x01{\"ketQua\":\"KHONG_KHOP\",\"x\":[1,{}]}",
    "\x02{\"ketQua\":\"khop\"}", "\x03{\"ketQua\":1,\"result\":\"MATCH\"}",
    "\x05{\"ketQua\":\"KHOP\"}", "\x00[\"KHOP\"]",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

/* the value of the result field when it is exactly `want` (a string of the same length) */
static int field_is(json_t *j, const char *want)
{
    json_t *v = json_object_get(j, "ketQua");
    return json_is_string(v) && json_string_length(v) == strlen(want) && !strcmp(json_string_value(v), want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gw_popdb_settings_t pd = {
        .url = "http://127.0.0.1:1/", .result_field = "ketQua", .match = "KHOP", .nomatch = "KHONG_KHOP"
    };
    char *body = fuzz_cstr(data + 1, size - 1);
    gw_http_result_t r = { .status = STATUS[data[0] % 8], .body = body, .len = size - 1 };
    if (!r.status)
        strcpy(r.error, "connection refused");
    char detail[256] = "";
    int rc = gw_popdb_answer(&pd, &r, detail, sizeof(detail));
    json_t *j = r.status == 200 ? gw_json_parse(body, size - 1, NULL, 0) : NULL;
    int want = field_is(j, pd.match) ? GW_POPDB_MATCH : field_is(j, pd.nomatch) ? GW_POPDB_NO_MATCH : GW_POPDB_ERROR;
    CHECK(rc == want);
    CHECK(rc != GW_POPDB_ERROR || detail[0] != '\0');
    json_decref(j);
    free(body);
    return 0;
}
