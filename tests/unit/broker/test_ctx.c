/* Unit tests for the process context's revocation set: what was revoked is found, what was
 * not is not, however many entries it holds; entries past their time are dropped as the
 * table grows, live ones never; a later revocation of the same session only extends it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_ctx.h"
#include "gw_util.h"

static void test_revset_finds_exactly_what_was_revoked_among_many(void **state)
{
    (void)state;
    gw_revset_t rs;
    gw_revset_init(&rs);
    assert_false(gw_revset_has(&rs, "nothing-yet"));
    int64_t later = gw_now() + 3600;
    char sid[48];
    for (int i = 0; i < 200000; i++) {
        snprintf(sid, sizeof(sid), "sid-%d", i);
        gw_revset_add(&rs, sid, later);
    }
    for (int i = 0; i < 200000; i += 997) {
        snprintf(sid, sizeof(sid), "sid-%d", i);
        assert_true(gw_revset_has(&rs, sid));
        snprintf(sid, sizeof(sid), "other-%d", i);
        assert_false(gw_revset_has(&rs, sid));
    }
    assert_true(gw_revset_has(&rs, "sid-199999"));
    assert_int_equal(rs.n, 200000);
    assert_true(rs.n * 10 <= rs.cap * 7); /* room to probe */
    gw_revset_add(&rs, "sid-7", later + 10); /* again: no second entry */
    assert_int_equal(rs.n, 200000);
    gw_revset_cleanup(&rs);
}

static void test_revset_drops_expired_entries_as_it_grows_and_keeps_live_ones(void **state)
{
    (void)state;
    gw_revset_t rs;
    gw_revset_init(&rs);
    int64_t past = gw_now() - 1, later = gw_now() + 3600;
    char sid[48];
    for (int i = 0; i < 40; i++) {
        snprintf(sid, sizeof(sid), "old-%d", i);
        gw_revset_add(&rs, sid, past);
    }
    gw_revset_add(&rs, "live", later);
    for (int i = 0; i < 1000; i++) { /* growing past 70% drops the expired ones */
        snprintf(sid, sizeof(sid), "new-%d", i);
        gw_revset_add(&rs, sid, later);
    }
    assert_true(gw_revset_has(&rs, "live"));
    assert_false(gw_revset_has(&rs, "old-3"));
    assert_int_equal(rs.n, 1001);
    gw_revset_cleanup(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revset_finds_exactly_what_was_revoked_among_many),
        cmocka_unit_test(test_revset_drops_expired_entries_as_it_grows_and_keeps_live_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
