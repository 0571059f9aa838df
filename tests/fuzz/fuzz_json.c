/* libFuzzer target for gw_json_parse, held against jansson's own reader.
 *
 * Input: any bytes, read as JSON text.
 *
 * Invariants: gw_json_parse accepts exactly what json_loadb(JSON_REJECT_DUPLICATES)
 * accepts, except documents nested deeper than GW_JSON_MAX_DEPTH and texts with a NUL
 * byte outside a string (which only jansson takes); when both accept, the values are equal (json_equal); a refusal always has a
 * reason and an acceptance none; what it accepts, dumped by jansson and read again, gives
 * the same value.
 *
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "gw_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *SEEDS[] = {
    "{\"access_token\":\"SlAV32hkKG\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
    "\"id_token\":\"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\"}",
    "{\"sub\":\"x\",\"HoVaTen\":\"Nguy\\u1ec5n V\\u0103n A\",\"GioiTinh\":1,\"IAL\":2.0,\"x\":[true,false,null]}",
    "[\"\\ud83d\\ude00\",\"\xf0\x9f\x98\x80\",-0,1e-400,1.5E+3,-9223372036854775808]",
    "{\"a\":1,\"a\":2}",
    "[\"\\ud800\",\"\\u0000\",01,1.,9223372036854775808]",
    " {\"k\":{\"k\":{\"k\":[[[{}]]]}}} \r\n\t",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    write_text_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

static int depth(const json_t *v)
{
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach ((json_t *)v, k, x) {
            int e = depth(x);
            d = e > d ? e : d;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach (v, i, x) {
            int e = depth(x);
            d = e > d ? e : d;
        }
        return d + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160] = "unset";
    json_t *ours = gw_json_parse((const char *)data, size, err, sizeof(err));
    json_error_t je;
    json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    CHECK(ours ? err[0] == 0 : err[0] != 0);
    /* jansson drops a NUL byte that follows a token it looked one byte past ("[1\0]"
     * reads as [1]): with a NUL in the text its acceptance is not the reference */
    if (ref && !ours && !memchr(data, 0, size))
        CHECK(depth(ref) > GW_JSON_MAX_DEPTH);
    CHECK(!ours || ref);
    if (ours && ref)
        CHECK(json_equal(ours, ref));
    if (ours) {
        char *text = json_dumps(ours, JSON_COMPACT);
        CHECK(text);
        json_t *again = gw_json_parse_str(text);
        CHECK(again && json_equal(again, ours));
        json_decref(again);
        free(text);
    }
    json_decref(ours);
    json_decref(ref);
    return 0;
}
