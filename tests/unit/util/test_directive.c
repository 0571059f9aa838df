/* Unit tests for gw_directive: a settings struct read by a table of rows, one value at a
 * time, with defaults and required keys at the section's end and "file:line: key:
 * message" errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_directive.h"
#include "gw_util.h"

typedef struct demo {
    char *url, *name, *mode, *secret, *hash;
    int workers, on, level;
    long timeout, size;
    int64_t at;
    gw_rate_t rate;
    gw_strlist_t tags, hooks;
} demo_t;

static int no_x(const char *v, char *msg, size_t len)
{
    if (!strchr(v, 'x'))
        return 0;
    snprintf(msg, len, "'%s' has an x", v);
    return -1;
}

#define D(f) .offset = offsetof(demo_t, f)
static const gw_directive_t demo_dirs[] = {
    { .name = "url", .type = GW_DIR_URL, D(url), .required = 1 },
    { .name = "name", .type = GW_DIR_STR, D(name), .def = "unnamed", .check = no_x },
    { .name = "mode", .type = GW_DIR_WORD, D(mode), .words = "fast slow", .def = "slow" },
    { .name = "level", .type = GW_DIR_CHOICE, D(level), .words = "absent optional required", .def = "required" },
    { .name = "secret", .type = GW_DIR_STR, D(secret), .secret = 1 },
    { .name = "hash", .type = GW_DIR_HEX64, D(hash) },
    { .name = "workers", .type = GW_DIR_INT, D(workers), .min = 1, .max = 8, .def = "4" },
    { .name = "on", .type = GW_DIR_BOOL, D(on), .def = "yes" },
    { .name = "timeout", .type = GW_DIR_SECONDS, D(timeout), .min = 1, .max = 120, .def = "10s" },
    { .name = "size", .type = GW_DIR_SIZE, D(size), .min = 1024, .max = 1 << 20 },
    { .name = "at", .type = GW_DIR_TIME, D(at) },
    { .name = "rate", .type = GW_DIR_RATE, D(rate) },
    { .name = "tag", .type = GW_DIR_LIST, D(tags), .check = no_x },
    { .name = "hook", .type = GW_DIR_URL_LIST, D(hooks) },
    { 0 },
};

typedef struct fixture {
    demo_t d;
    gw_dir_section_t sec;
    char err[512];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    gw_dir_open(&f->sec, demo_dirs, &f->d, "demo one", "t.conf", 3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gw_dir_free(demo_dirs, &f->d);
    free(f);
    return 0;
}

static int set(fixture_t *f, const char *k, const char *v, int line)
{
    f->err[0] = 0;
    return gw_dir_set(&f->sec, k, v, line, f->err, sizeof(f->err));
}

/* A bad value, in a section of its own (a key is given once per section). */
static void expect_error(fixture_t *f, const char *k, const char *v, const char *want)
{
    gw_dir_open(&f->sec, demo_dirs, &f->d, "demo one", "t.conf", 3);
    assert_int_equal(set(f, k, v, 7), -1);
    assert_string_equal(f->err, want);
}

static void test_values_of_every_type(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(set(f, "url", "https://a.example/x", 4), 0);
    assert_int_equal(set(f, "name", "Nam", 5), 0);
    assert_int_equal(set(f, "mode", "fast", 6), 0);
    assert_int_equal(set(f, "level", "optional", 7), 0);
    assert_int_equal(set(f, "secret", "s3", 8), 0);
    assert_int_equal(set(f, "hash", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 9), 0);
    assert_int_equal(set(f, "workers", "8", 10), 0);
    assert_int_equal(set(f, "on", "off", 11), 0);
    assert_int_equal(set(f, "timeout", "2m", 12), 0);
    assert_int_equal(set(f, "size", "8k", 13), 0);
    assert_int_equal(set(f, "at", "2024-07-01T00:00:00+07:00", 14), 0);
    assert_int_equal(set(f, "rate", "5/15m", 15), 0);
    assert_int_equal(set(f, "tag", "a", 16), 0);
    assert_int_equal(set(f, "tag", "b", 17), 0);
    assert_int_equal(set(f, "hook", "http://h.example/", 18), 0);
    assert_int_equal(gw_dir_close(&f->sec, f->err, sizeof(f->err)), 0);
    assert_string_equal(f->d.url, "https://a.example/x");
    assert_string_equal(f->d.name, "Nam");
    assert_string_equal(f->d.mode, "fast");
    assert_int_equal(f->d.level, 1);
    assert_string_equal(f->d.secret, "s3");
    assert_int_equal(f->d.workers, 8);
    assert_int_equal(f->d.on, 0);
    assert_int_equal(f->d.timeout, 120);
    assert_int_equal(f->d.size, 8192);
    assert_int_equal(f->d.at, 1719766800);
    assert_int_equal(f->d.rate.count, 5);
    assert_int_equal(f->d.rate.window, 900);
    assert_int_equal(f->d.tags.n, 2);
    assert_string_equal(f->d.tags.v[1], "b");
    assert_int_equal(f->d.hooks.n, 1);
    assert_int_equal(gw_dir_line(&f->sec, "workers"), 10);
    assert_int_equal(gw_dir_line(&f->sec, "hash"), 9);
}

static void test_defaults_fill_what_was_not_given(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(set(f, "url", "http://a", 4), 0);
    assert_int_equal(gw_dir_close(&f->sec, f->err, sizeof(f->err)), 0);
    assert_string_equal(f->d.name, "unnamed");
    assert_string_equal(f->d.mode, "slow");
    assert_int_equal(f->d.level, 2);
    assert_int_equal(f->d.workers, 4);
    assert_int_equal(f->d.on, 1);
    assert_int_equal(f->d.timeout, 10);
    assert_null(f->d.secret);
    assert_int_equal(f->d.size, 0);
    /* a key not given is placed at the section's header */
    assert_int_equal(gw_dir_line(&f->sec, "workers"), 3);
}

static void test_missing_required_key_names_section_header(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(set(f, "name", "n", 4), 0);
    assert_int_equal(gw_dir_close(&f->sec, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, "t.conf:3: url: missing in section [demo one]");
}

static void test_defaults_without_required_check(void **state)
{
    fixture_t *f = *state;
    gw_dir_defaults(&f->sec);
    assert_null(f->d.url);
    assert_string_equal(f->d.mode, "slow");
    assert_int_equal(f->d.timeout, 10);
}

static void test_bad_values_name_file_line_and_key(void **state)
{
    fixture_t *f = *state;
    expect_error(f, "nope", "1", "t.conf:7: nope: unknown key in [demo one]");
    expect_error(f, "url", "ftp://a", "t.conf:7: url: 'ftp://a' is not an absolute http(s) URL");
    expect_error(f, "name", "", "t.conf:7: name: empty value");
    expect_error(f, "mode", "medium", "t.conf:7: mode: 'medium' is not one of: fast slow");
    expect_error(f, "level", "requir", "t.conf:7: level: 'requir' is not one of: absent optional required");
    expect_error(f, "hash", "abc", "t.conf:7: hash: must be 64 hexadecimal characters (a SHA-256)");
    expect_error(f, "workers", "9", "t.conf:7: workers: 9 is out of range 1..8");
    expect_error(f, "on", "maybe", "t.conf:7: on: 'maybe' is not yes or no");
    expect_error(f, "timeout", "5x", "t.conf:7: timeout: '5x' is not a duration (e.g. 30s, 5m, 8h, 1d)");
    expect_error(f, "size", "1", "t.conf:7: size: 1 is out of range 1024..1048576");
    expect_error(f, "at", "2024-07-01T00:00:00", "t.conf:7: at: '2024-07-01T00:00:00' needs a zone: Z or +HH:MM");
    expect_error(f, "at", "2024-02-30T00:00:00Z", "t.conf:7: at: '2024-02-30T00:00:00Z' is not a real date and time");
    expect_error(f, "rate", "5", "t.conf:7: rate: '5' is not a rate like 5/15m");
    expect_error(f, "tag", "xy", "t.conf:7: tag: 'xy' has an x");
    expect_error(f, "hook", "http://h/#f", "t.conf:7: hook: 'http://h/#f' is not an absolute http(s) URL without fragment");
}

/* Durations and sizes: one unit after a whole number, nothing after the unit, and the
 * parser's own ceilings (100 years, 1 TiB) before the directive's range. */
static void test_units_of_durations_and_sizes(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *key, *v;
        long want;
    } ok[] = {
        { "timeout", "45", 45 }, { "timeout", "45s", 45 }, { "timeout", "2m", 120 },  { "size", "2048", 2048 },
        { "size", "8k", 8192 },  { "size", "8K", 8192 },   { "size", "1m", 1048576 }, { "size", "1M", 1048576 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        gw_dir_open(&f->sec, demo_dirs, &f->d, "demo one", "t.conf", 3);
        assert_int_equal(set(f, ok[i].key, ok[i].v, 7), 0);
        assert_int_equal(!strcmp(ok[i].key, "size") ? f->d.size : f->d.timeout, ok[i].want);
    }
    const char *not_duration = "is not a duration (e.g. 30s, 5m, 8h, 1d)";
    static const char *bad_durations[] = { "5ms", "5ss", "5 s", "s", "-5s", "5S", "1w", "" };
    for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "t.conf:7: timeout: '%s' %s", bad_durations[i], not_duration);
        expect_error(f, "timeout", bad_durations[i], want);
    }
    static const char *bad_sizes[] = { "8kb", "2g", "1mm", "k" };
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "t.conf:7: size: '%s' is not a size (e.g. 8k, 1m)", bad_sizes[i]);
        expect_error(f, "size", bad_sizes[i], want);
    }
    /* 1 TiB is still a size (then out of the directive's range); a byte more is not one */
    expect_error(f, "size", "1048576m", "t.conf:7: size: 1099511627776 is out of range 1024..1048576");
    expect_error(f, "size", "1048577m", "t.conf:7: size: '1048577m' is not a size (e.g. 8k, 1m)");
    /* a rate's window has no range of its own: 100 years is the duration's ceiling */
    gw_dir_open(&f->sec, demo_dirs, &f->d, "demo one", "t.conf", 3);
    assert_int_equal(set(f, "rate", "1/36500d", 7), 0);
    assert_int_equal(f->d.rate.window, 36500L * 86400);
    expect_error(f, "rate", "1/36501d", "t.conf:7: rate: '1/36501d' is not a rate like 5/15m");
    expect_error(f, "rate", "1/3153600001s", "t.conf:7: rate: '1/3153600001s' is not a rate like 5/15m");
}

static void test_key_given_twice_and_list_value_given_twice(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(set(f, "workers", "2", 4), 0);
    assert_int_equal(set(f, "workers", "3", 7), -1);
    assert_string_equal(f->err, "t.conf:7: workers: given twice");
    assert_int_equal(f->d.workers, 2);
    assert_int_equal(set(f, "tag", "a", 5), 0);
    assert_int_equal(set(f, "tag", "a", 7), -1);
    assert_string_equal(f->err, "t.conf:7: tag: 'a' given twice");
}

static void test_settings_from_kept_lines(void **state)
{
    (void)state;
    gw_dir_lines_t l = { .name = gw_strdup("demo two"), .file = gw_strdup("k.conf"), .line = 20 };
    gw_dir_lines_add(&l, "url", "https://k.example", 21);
    gw_dir_lines_add(&l, "workers", "2", 22);
    gw_dir_section_t sec;
    char err[256] = "";
    demo_t *d = gw_dir_settings_new(demo_dirs, sizeof(demo_t), &l, &sec, err, sizeof(err));
    assert_non_null(d);
    assert_string_equal(d->url, "https://k.example");
    assert_int_equal(d->workers, 2);
    assert_string_equal(d->mode, "slow");
    assert_int_equal(gw_dir_line(&sec, "workers"), 22);
    gw_dir_settings_free(demo_dirs, d);
    gw_dir_lines_add(&l, "workers", "0", 23);
    assert_null(gw_dir_settings_new(demo_dirs, sizeof(demo_t), &l, &sec, err, sizeof(err)));
    assert_string_equal(err, "k.conf:23: workers: given twice");
    gw_dir_lines_cleanup(&l);
    /* an absent section: defaults, and no complaint about required keys */
    d = gw_dir_settings_new(demo_dirs, sizeof(demo_t), &l, &sec, err, sizeof(err));
    assert_non_null(d);
    assert_null(d->url);
    assert_int_equal(d->workers, 4);
    gw_dir_settings_free(demo_dirs, d);
}

static void test_error_without_line_or_key(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(gw_dir_error(err, sizeof(err), "f.conf", 0, NULL, "no [%s]", "x"), -1);
    assert_string_equal(err, "f.conf: no [x]");
    gw_dir_error(err, sizeof(err), "f.conf", 4, NULL, "bad header");
    assert_string_equal(err, "f.conf:4: bad header");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_values_of_every_type),
        T(test_defaults_fill_what_was_not_given),
        T(test_missing_required_key_names_section_header),
        T(test_defaults_without_required_check),
        T(test_bad_values_name_file_line_and_key),
        T(test_key_given_twice_and_list_value_given_twice),
        T(test_units_of_durations_and_sizes),
        cmocka_unit_test(test_settings_from_kept_lines),
        cmocka_unit_test(test_error_without_line_or_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
