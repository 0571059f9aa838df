/* gw_addrlimit: per-address counts in a fixed window, in a table of fixed size. */
#include "gw_addrlimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* an address gets its count in a window, then the seconds left; a new window starts afresh */
static void test_count_per_window_then_wait(void **state)
{
    (void)state;
    gw_addrlimit_t *l = gw_addrlimit_new(64, 3, 60);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_addrlimit_hit(l, "203.0.113.7", 1000), 0);
    assert_int_equal(gw_addrlimit_hit(l, "203.0.113.7", 1000), 60);
    assert_int_equal(gw_addrlimit_hit(l, "203.0.113.7", 1059), 1);
    /* another address is not affected */
    assert_int_equal(gw_addrlimit_hit(l, "203.0.113.8", 1010), 0);
    /* the window is over */
    assert_int_equal(gw_addrlimit_hit(l, "203.0.113.7", 1060), 0);
    gw_addrlimit_free(l);
}

/* far more live addresses than slots: none is ever refused for another's count, and an
 * address under its own count in a busy table stays countable */
static void test_many_addresses_never_refused_for_others(void **state)
{
    (void)state;
    gw_addrlimit_t *l = gw_addrlimit_new(16, 2, 60);
    char a[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(gw_addrlimit_hit(l, a, 5000), 0);
    }
    /* one address hammering a full table still gets refused past its count */
    long refused = 0;
    for (int i = 0; i < 10; i++)
        refused += gw_addrlimit_hit(l, "198.51.100.1", 5000) > 0;
    assert_int_equal(refused, 8);
    gw_addrlimit_free(l);
}

/* count 0 is no limit; NULL limiter or address counts nothing */
static void test_no_limit(void **state)
{
    (void)state;
    gw_addrlimit_t *l = gw_addrlimit_new(16, 0, 60);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(gw_addrlimit_hit(l, "192.0.2.1", 1), 0);
    assert_int_equal(gw_addrlimit_hit(NULL, "192.0.2.1", 1), 0);
    assert_int_equal(gw_addrlimit_hit(l, NULL, 1), 0);
    gw_addrlimit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_per_window_then_wait),
        cmocka_unit_test(test_many_addresses_never_refused_for_others),
        cmocka_unit_test(test_no_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
