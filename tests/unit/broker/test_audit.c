/* Unit tests for gw_audit: the hash-chained audit log. Real files in a temp directory; the
 * chain is checked both by gw_audit_verify_file and, for the format, by recomputing the
 * canonical hash here as an outside verifier would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_audit.h"
#include "gw_util.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/eidgw-audit-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/audit.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    gw_buf_t b;
    gw_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        gw_buf_add(&b, chunk, n);
    fclose(fp);
    *ret_len = b.len;
    return gw_buf_steal(&b);
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* Offset of the first byte of 1-based line `line`, or of the end for line count + 1. */
static size_t line_start(const char *s, size_t len, long line)
{
    size_t off = 0;
    for (long l = 1; l < line; l++) {
        const char *nl = memchr(s + off, '\n', len - off);
        assert_non_null(nl);
        off = (size_t)(nl - s) + 1;
    }
    return off;
}

static int verify(const char *path, long *ret_events, long *ret_bad, char *why, size_t whylen)
{
    *ret_events = -1;
    *ret_bad = -1;
    return gw_audit_verify_file(path, ret_events, ret_bad, why, whylen);
}

static void expect_broken_at(const char *path, long line, const char *reason)
{
    long events, bad;
    char why[512];
    int rc = verify(path, &events, &bad, why, sizeof(why));
    if (rc != GW_EINVAL || bad != line || (reason && !strstr(why, reason)))
        fail_msg("expected line %ld broken (%s), got rc %d line %ld: %s", line, reason ? reason : "any", rc, bad,
                 rc == GW_OK ? "ok" : why);
}

static void expect_intact(const char *path, long n)
{
    long events, bad;
    char why[512] = "";
    int rc = verify(path, &events, &bad, why, sizeof(why));
    if (rc != GW_OK)
        fail_msg("expected intact, got rc %d line %ld: %s", rc, bad, why);
    assert_int_equal(events, n);
}

static gw_audit_t *open_ok(const char *path)
{
    char err[512] = "";
    gw_audit_t *a = gw_audit_open(path, "gw-test", err, sizeof(err));
    if (!a)
        fail_msg("open: %s", err);
    return a;
}

/* Writes n login events numbered from `first`. */
static void write_events(const char *path, int first, int n)
{
    gw_audit_t *a = open_ok(path);
    for (int i = first; i < first + n; i++) {
        json_t *f = json_pack("{s:s, s:s, s:i, s:s}", "portal", "dichvucong", "who_id12", "001085012345", "i", i,
                              "name", "Nguy\xe1\xbb\x85n V\xc4\x83n An");
        assert_int_equal(gw_audit_write(a, "login", f), GW_OK);
        json_decref(f);
    }
    gw_audit_close(a);
}

typedef struct worker {
    gw_audit_t *a;
    int id, n, failures;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < w->n; i++) {
        json_t *f = json_pack("{s:s, s:i, s:i}", "portal", "portal-a", "thread", w->id, "i", i);
        if (gw_audit_write(w->a, i % 2 ? "link" : "login", f) != GW_OK)
            w->failures++;
        json_decref(f);
    }
    return NULL;
}

static void test_1000_events_from_4_threads_verify(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    pthread_t th[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){ .a = a, .id = i, .n = 250 };
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    gw_audit_close(a);
    expect_intact(f->path, 1000);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* Group commit: writers that come together share an fdatasync instead of queueing for
 * one each, and every line is still in the chain, in order. */
static void test_concurrent_writers_share_syncs(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    enum { T = 8, N = 100 };
    pthread_t th[T];
    worker_t w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker_t){ .a = a, .id = i, .n = N };
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    long syncs = gw_audit_syncs(a);
    gw_audit_close(a);
    expect_intact(f->path, T * N);
    assert_true(syncs >= 1);
    if (syncs > T * N / 2)
        fail_msg("%ld syncs for %d lines from %d threads: the writers did not share them", syncs, T * N, T);
}

static void test_line_format_is_the_documented_canonical_form(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 2);
    size_t len;
    char *s = slurp(f->path, &len);
    char *l2 = strchr(s, '\n') + 1;
    *(l2 - 1) = '\0';
    size_t n1 = strlen(s);
    /* first line: seq 1, the fields in order, prev of zeros, hash last */
    assert_true(!strncmp(s, "{\"seq\":1,\"ts\":\"", 15));
    assert_non_null(strstr(s, "Z\",\"node\":\"gw-test\",\"event\":\"login\",\"portal\":\"dichvucong\","
                              "\"who_id12\":\"001*******45\",\"i\":0,"));
    assert_non_null(strstr(s, ",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""
                              ",\"hash\":\""));
    assert_true(n1 > 75 && !strncmp(s + n1 - 75, ",\"hash\":\"", 9) && !strcmp(s + n1 - 2, "\"}"));
    /* hash = SHA-256 of the bytes before the ,"hash": tail */
    unsigned char d[32];
    gw_sha256(s, n1 - 75, d);
    char *hex = gw_hex_encode(d, 32);
    assert_memory_equal(s + n1 - 66, hex, 64);
    /* the second line's prev is that hash */
    char want_prev[80];
    snprintf(want_prev, sizeof(want_prev), "\"prev\":\"%s\"", hex);
    assert_true(!strncmp(l2, "{\"seq\":2,", 9));
    assert_non_null(strstr(l2, want_prev));
    assert_int_equal(s[len - 1], '\n');
    free(hex);
    free(s);
}

/* Changes the byte at `off` in the file to `c`. */
static void poke(const char *path, size_t off, char c)
{
    size_t len;
    char *s = slurp(path, &len);
    assert_true(off < len);
    s[off] = c;
    spit(path, s, len);
    free(s);
}

static size_t find_in_line(const char *path, long line, const char *what)
{
    size_t len;
    char *s = slurp(path, &len);
    size_t start = line_start(s, len, line);
    char *end = memchr(s + start, '\n', len - start);
    *end = '\0';
    char *p = strstr(s + start, what);
    assert_non_null(p);
    size_t off = (size_t)(p - s);
    free(s);
    return off;
}

static void test_changed_field_value_names_the_line(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    expect_intact(f->path, 20);
    size_t off = find_in_line(f->path, 10, "\"portal\":\"dichvucong\"");
    poke(f->path, off + 10, 'D'); /* "Dichvucong" */
    expect_broken_at(f->path, 10, "hash mismatch");
    /* a changed number */
    unlink(f->path);
    write_events(f->path, 0, 20);
    off = find_in_line(f->path, 12, "\"i\":11,");
    poke(f->path, off + 5, '2');
    expect_broken_at(f->path, 12, "hash mismatch");
}

static void test_changed_prev_names_the_line(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    size_t off = find_in_line(f->path, 10, "\"prev\":\"");
    size_t len;
    char *s = slurp(f->path, &len);
    char c = s[off + 20] == 'a' ? 'b' : 'a';
    free(s);
    poke(f->path, off + 20, c);
    expect_broken_at(f->path, 10, "prev mismatch");
}

static void test_changed_hash_names_the_line(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    size_t off = find_in_line(f->path, 10, ",\"hash\":\"");
    size_t len;
    char *s = slurp(f->path, &len);
    char c = s[off + 30] == '0' ? '1' : '0';
    free(s);
    poke(f->path, off + 30, c);
    expect_broken_at(f->path, 10, "hash mismatch");
    /* an uppercase hex digit is not the canonical form */
    poke(f->path, off + 30, 'F');
    expect_broken_at(f->path, 10, "bad field \"hash\"");
}

static void test_any_single_byte_change_in_a_middle_line_names_it(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    size_t len;
    char *orig = slurp(f->path, &len);
    size_t start = line_start(orig, len, 10), end = line_start(orig, len, 11) - 1; /* the "\n" */
    char *s = gw_xmalloc(len);
    for (size_t off = start; off < end; off++) {
        static const unsigned char flips[] = { 0x01, 0x20, 0x80 };
        for (size_t k = 0; k < sizeof(flips); k++) {
            memcpy(s, orig, len);
            s[off] = (char)(s[off] ^ flips[k]);
            spit(f->path, s, len);
            long events, bad;
            char why[512];
            int rc = verify(f->path, &events, &bad, why, sizeof(why));
            if (rc != GW_EINVAL || bad != 10)
                fail_msg("byte %zu ^ 0x%02x: rc %d line %ld (%s)", off - start, flips[k], rc, bad,
                         rc == GW_OK ? "ok" : why);
        }
    }
    free(s);
    free(orig);
}

static void test_bad_json_names_the_line(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    size_t off = find_in_line(f->path, 7, "\"event\":");
    poke(f->path, off + 7, ';');
    expect_broken_at(f->path, 7, "bad JSON");
}

/* A field value may hold any string, a NUL byte too: the writer escapes it as \u0000, which
 * is JSON, and the verifier must accept what the writer wrote. */
static void test_a_nul_in_a_field_value_verifies(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    json_t *fl = json_object();
    json_object_set_new(fl, "detail", json_stringn("a\0b", 3));
    assert_int_equal(gw_audit_write(a, "refusal", fl), GW_OK);
    json_decref(fl);
    gw_audit_close(a);
    expect_intact(f->path, 1);
    a = open_ok(f->path); /* and the chain continues from that line */
    gw_audit_close(a);
}

static void remove_line(const char *path, long line)
{
    size_t len;
    char *s = slurp(path, &len);
    size_t a = line_start(s, len, line), b = line_start(s, len, line + 1);
    memmove(s + a, s + b, len - b);
    spit(path, s, len - (b - a));
    free(s);
}

static void test_deleted_line_names_the_next_line(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    remove_line(f->path, 10);
    /* the former line 11 is now line 10 */
    expect_broken_at(f->path, 10, "seq gap: expected 10, found 11");
    unlink(f->path);
    write_events(f->path, 0, 20);
    remove_line(f->path, 1);
    expect_broken_at(f->path, 1, "seq gap");
}

static void test_inserted_or_swapped_line_is_named(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 20);
    size_t len;
    char *s = slurp(f->path, &len);
    size_t a = line_start(s, len, 5), b = line_start(s, len, 6);
    /* a copy of line 5 inserted after it */
    gw_buf_t out;
    gw_buf_init(&out, 0);
    gw_buf_add(&out, s, b);
    gw_buf_add(&out, s + a, b - a);
    gw_buf_add(&out, s + b, len - b);
    spit(f->path, out.data, out.len);
    expect_broken_at(f->path, 6, "seq gap");
    /* lines 5 and 6 swapped */
    size_t c = line_start(s, len, 7);
    gw_buf_cleanup(&out);
    gw_buf_init(&out, 0);
    gw_buf_add(&out, s, a);
    gw_buf_add(&out, s + b, c - b);
    gw_buf_add(&out, s + a, b - a);
    gw_buf_add(&out, s + c, len - c);
    spit(f->path, out.data, out.len);
    expect_broken_at(f->path, 5, "seq gap");
    gw_buf_cleanup(&out);
    free(s);
}

static void test_reopen_continues_the_chain(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 5);
    write_events(f->path, 5, 5);
    expect_intact(f->path, 10);
    size_t len;
    char *s = slurp(f->path, &len);
    size_t l6 = line_start(s, len, 6);
    assert_true(!strncmp(s + l6, "{\"seq\":6,", 9));
    /* line 6's prev is line 5's hash */
    char prev[65];
    const char *p = strstr(s + l6, "\"prev\":\"");
    assert_non_null(p);
    memcpy(prev, p + 8, 64);
    prev[64] = '\0';
    assert_memory_equal(s + l6 - 1 - 66, prev, 64);
    free(s);
}

static void test_truncated_last_line_fails_open_with_line_number(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 6);
    size_t len;
    char *s = slurp(f->path, &len);
    /* a crash in the middle of writing line 6 */
    size_t cutlen = line_start(s, len, 6) + 40;
    spit(f->path, s, cutlen);
    free(s);
    char err[512] = "";
    gw_audit_t *a = gw_audit_open(f->path, "gw-test", err, sizeof(err));
    assert_null(a);
    char want[256];
    snprintf(want, sizeof(want), "%s:6: last line is incomplete", f->path);
    if (!strstr(err, want))
        fail_msg("message: %s", err);
    /* the file is left alone */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal((size_t)st.st_size, cutlen);
    expect_broken_at(f->path, 6, "incomplete last line");
}

static void test_changed_last_line_fails_open(void **state)
{
    fixture_t *f = *state;
    write_events(f->path, 0, 3);
    size_t off = find_in_line(f->path, 3, "dichvucong");
    poke(f->path, off, 'D');
    char err[512] = "";
    assert_null(gw_audit_open(f->path, "gw-test", err, sizeof(err)));
    if (!strstr(err, ":3: last line is not a valid audit record: hash mismatch"))
        fail_msg("message: %s", err);
}

static void test_second_writer_is_refused(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    char err[512] = "";
    assert_null(gw_audit_open(f->path, "gw-test", err, sizeof(err)));
    assert_non_null(strstr(err, "in use"));
    gw_audit_close(a);
    a = open_ok(f->path);
    gw_audit_close(a);
    gw_audit_close(NULL);
}

static void test_secrets_and_reserved_keys_are_refused(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    static const char *const bad[] = { "password",     "token",         "secret",       "code", "Password",
                                       "access_token", "client_secret", "new_password", "seq",  "hash",
                                       "prev",         "event",         "ts",           "node" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *fl = json_pack("{s:s, s:s}", "portal", "a", bad[i], "x");
        if (gw_audit_write(a, "login", fl) != GW_EINVAL)
            fail_msg("key %s accepted", bad[i]);
        json_decref(fl);
    }
    /* nested objects and arrays are checked too */
    json_t *fl = json_pack("{s:{s:s}}", "upstream", "id_token", "eyJ...");
    assert_int_equal(gw_audit_write(a, "login", fl), GW_EINVAL);
    json_decref(fl);
    fl = json_pack("{s:[{s:s}]}", "tries", "code", "abc");
    assert_int_equal(gw_audit_write(a, "login", fl), GW_EINVAL);
    json_decref(fl);
    /* names that only contain the words are fine */
    fl = json_pack("{s:s, s:i, s:s}", "error_code", "denied", "token_count", 2, "reason", "bad password");
    assert_int_equal(gw_audit_write(a, "refusal", fl), GW_OK);
    json_decref(fl);
    /* bad event names, not an object */
    assert_int_equal(gw_audit_write(a, "", NULL), GW_EINVAL);
    assert_int_equal(gw_audit_write(a, "log in", NULL), GW_EINVAL);
    assert_int_equal(gw_audit_write(a, "x\"y", NULL), GW_EINVAL);
    fl = json_array();
    assert_int_equal(gw_audit_write(a, "login", fl), GW_EINVAL);
    json_decref(fl);
    assert_int_equal(gw_audit_write(NULL, "login", NULL), GW_EINVAL);
    assert_int_equal(gw_audit_write(a, NULL, NULL), GW_EINVAL);
    assert_int_equal(gw_audit_write(a, "popdb.call", NULL), GW_OK);
    gw_audit_close(a);
    /* only the two accepted events were written */
    expect_intact(f->path, 2);
    size_t len;
    char *s = slurp(f->path, &len);
    assert_null(strstr(s, "eyJ"));
    free(s);
}

static void test_id12_values_are_masked(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    json_t *fl =
        json_pack("{s:s, s:s, s:n, s:{s:s}, s:[{s:s}]}", "who_id12", "001085012345", "old_id12", "079*******01",
                  "new_id12", "merge", "other_id12", "079300000001", "list", "x_id12", "031099000123");
    assert_int_equal(gw_audit_write(a, "merge", fl), GW_OK);
    /* the caller's object is borrowed, not changed */
    assert_string_equal(json_string_value(json_object_get(fl, "who_id12")), "001085012345");
    json_decref(fl);
    fl = json_pack("{s:i}", "who_id12", 1085012345);
    assert_int_equal(gw_audit_write(a, "login", fl), GW_EINVAL);
    json_decref(fl);
    gw_audit_close(a);
    expect_intact(f->path, 1);
    size_t len;
    char *s = slurp(f->path, &len);
    assert_non_null(strstr(s, "\"who_id12\":\"001*******45\""));
    assert_non_null(strstr(s, "\"old_id12\":\"079*******01\""));
    assert_non_null(strstr(s, "\"new_id12\":null"));
    assert_non_null(strstr(s, "\"other_id12\":\"079*******01\""));
    assert_non_null(strstr(s, "\"x_id12\":\"031*******23\""));
    assert_null(strstr(s, "001085012345"));
    assert_null(strstr(s, "079300000001"));
    assert_null(strstr(s, "031099000123"));
    free(s);
}

static void test_oversized_event_is_refused(void **state)
{
    fixture_t *f = *state;
    gw_audit_t *a = open_ok(f->path);
    char *big = gw_xmalloc(GW_AUDIT_MAX_LINE);
    memset(big, 'x', GW_AUDIT_MAX_LINE - 1);
    big[GW_AUDIT_MAX_LINE - 1] = '\0';
    json_t *fl = json_pack("{s:s}", "detail", big);
    assert_int_equal(gw_audit_write(a, "login", fl), GW_ETOOBIG);
    json_decref(fl);
    /* just under the limit is fine */
    big[GW_AUDIT_MAX_LINE - 300] = '\0';
    fl = json_pack("{s:s}", "detail", big);
    assert_int_equal(gw_audit_write(a, "login", fl), GW_OK);
    json_decref(fl);
    assert_int_equal(gw_audit_write(a, "login", NULL), GW_OK);
    gw_audit_close(a);
    free(big);
    expect_intact(f->path, 2);
    /* and the next open reads that long last line back */
    write_events(f->path, 0, 1);
    expect_intact(f->path, 3);
}

static void test_verify_empty_missing_and_garbage(void **state)
{
    fixture_t *f = *state;
    spit(f->path, "", 0);
    expect_intact(f->path, 0);
    gw_audit_t *a = open_ok(f->path); /* an empty file starts a chain */
    gw_audit_close(a);
    long events = -1, bad = -1;
    char why[512];
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/none.log", f->dir);
    assert_int_equal(gw_audit_verify_file(missing, &events, &bad, why, sizeof(why)), GW_ENOTFOUND);
    assert_int_equal(events, -1);
    assert_int_equal(bad, -1);
    spit(f->path, "\n", 1);
    expect_broken_at(f->path, 1, "empty line");
    spit(f->path, "hello\n", 6);
    expect_broken_at(f->path, 1, "bad JSON");
    spit(f->path, "{\"seq\":1}\n", 10);
    expect_broken_at(f->path, 1, "missing or bad field");
    /* a line without a newline anywhere, longer than the limit */
    char *big = gw_xmalloc(3 * GW_AUDIT_MAX_LINE);
    memset(big, 'x', 3 * GW_AUDIT_MAX_LINE);
    spit(f->path, big, 3 * GW_AUDIT_MAX_LINE);
    expect_broken_at(f->path, 1, "line too long");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_writers_share_syncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_1000_events_from_4_threads_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_format_is_the_documented_canonical_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_field_value_names_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_prev_names_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_hash_names_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_single_byte_change_in_a_middle_line_names_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_nul_in_a_field_value_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_json_names_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_line_names_the_next_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted_or_swapped_line_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_continues_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_last_line_fails_open_with_line_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_last_line_fails_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_and_reserved_keys_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id12_values_are_masked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_event_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_empty_missing_and_garbage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
