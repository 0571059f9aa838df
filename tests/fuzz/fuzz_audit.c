/* libFuzzer target for `eidgw audit verify` (gw_audit_verify_file): a log file's lines.
 * Byte 0 even: the rest is the file. Odd: byte 1 picks a bit to flip, the rest is a list of
 * event names (one per "\n"-separated segment) that the harness writes as a genuine chain,
 * following the canonical form of gw_audit.h with its own SHA-256. Checks: the verifier
 * answers GW_OK or GW_EINVAL, GW_OK with one event per line of a file that ends with "\n",
 * GW_EINVAL with a reason and a line that exists; the genuine chain verifies, and the same
 * chain with one bit flipped anywhere is refused at exactly the line that holds the bit.
 * With EIDGW_FUZZ_SEEDS=DIR set, the built-in seeds are written to DIR at start. */
#include <fcntl.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "gw_audit.h"
#include "gw_util.h"

static const char *const SEEDS[] = {
    "\x01\x10login\nlink\nlogout",
    "\x01\xffpopdb_call\n\xc3\xa9v\xc3\xa9nement\n\"quoted\"",
    "\x00{\"seq\":1,\"ts\":\"t\",\"node\":\"n\",\"event\":\"e\",\"prev\":\"" /* hash mismatch */
    "0000000000000000000000000000000000000000000000000000000000000000\",\"hash\":\""
    "0000000000000000000000000000000000000000000000000000000000000000\"}\n",
    "\x00{\"seq\":1}\nnot json\n",
};

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(path, sizeof(path), "/tmp/eidgw-fuzz-audit-%d", (int)getpid());
    write_mode_seeds(SEEDS, sizeof(SEEDS) / sizeof(SEEDS[0]));
    return 0;
}

static int verify(const void *p, size_t n, long *events, long *bad_line, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
    int rc = gw_audit_verify_file(path, events, bad_line, err, errlen);
    unlink(path);
    return rc;
}

static void raw_file(const uint8_t *p, size_t n)
{
    long events = -1, bad = -1, lines = 0;
    char err[512] = "";
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    int complete = n == 0 || p[n - 1] == '\n';
    int rc = verify(p, n, &events, &bad, err, sizeof(err));
    CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc == GW_OK) {
        CHECK(complete && events == lines);
    } else {
        CHECK(err[0] != '\0');
        CHECK(bad >= 1 && bad <= lines + !complete);
    }
}

static void hex(const unsigned char *h, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* One line of the chain: {"seq":N,"ts":..,"node":..,"event":E,"prev":P,"hash":H}\n */
static size_t chain_line(char *out, long seq, const char *event_json, char prev[65])
{
    int n =
        sprintf(out, "{\"seq\":%ld,\"ts\":\"2025-01-31T08:15:02.123Z\",\"node\":\"gw1\",\"event\":%s,\"prev\":\"%s\"",
                seq, event_json, prev);
    unsigned char h[32];
    SHA256((const unsigned char *)out, (size_t)n, h);
    hex(h, prev);
    return (size_t)n + (size_t)sprintf(out + n, ",\"hash\":\"%s\"}\n", prev);
}

/* the event name as a JSON string: the segment if it is UTF-8, else its hex */
static char *event_json(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    if (!s) {
        char *h = gw_hex_encode(p, n);
        s = json_string(h);
        free(h);
    }
    char *out = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(s);
    return out;
}

static void genuine_chain(uint8_t flip, const uint8_t *p, size_t n)
{
    char *file = gw_xmalloc(240 * (n + 1) + 8 * n), prev[65];
    memset(prev, '0', 64);
    prev[64] = '\0';
    size_t len = 0, start = 0;
    long lines = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || p[i] == '\n') {
            char *ev = event_json(p + start, i - start);
            len += chain_line(file + len, ++lines, ev, prev);
            free(ev);
            start = i + 1;
        }
    long events = -1, bad = -1;
    char err[512];
    CHECK(verify(file, len, &events, &bad, err, sizeof(err)) == GW_OK && events == lines);
    /* flip one bit: the line that holds it (its "\n" included) is the first one refused */
    size_t at = (size_t)flip * 7919 % len;
    long line = 1;
    for (size_t i = 0; i < at; i++)
        line += file[i] == '\n';
    file[at] ^= (char)(1u << (flip & 7));
    CHECK(verify(file, len, &events, &bad, err, sizeof(err)) == GW_EINVAL);
    CHECK(bad == line);
    free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!(data[0] & 1))
        raw_file(data + 1, size - 1);
    else if (size >= 2 && size <= 2 + 8192)
        genuine_chain(data[1], data + 2, size - 2);
    return 0;
}
