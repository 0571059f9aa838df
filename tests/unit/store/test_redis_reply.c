/* Unit tests for how the Redis store reads replies into records (gw_store_redis_internal.h),
 * on replies made by hiredis' own reader from raw RESP bytes: no server needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_store_redis_internal.h"

static redisReply *reply_of(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    redisReaderFree(rd);
    return r;
}

typedef struct seen {
    int n;
    char sid[8][32];
    int64_t until[8];
} seen_t;

static void on_revoked(const char *sid, int64_t until, void *ud)
{
    seen_t *s = ud;
    snprintf(s->sid[s->n], sizeof(s->sid[0]), "%s", sid);
    s->until[s->n++] = until;
}

/* one XRANGE entry: id, then sid and until fields */
#define ENTRY(id, sid, until) "*2\r\n$" id "\r\n*4\r\n$3\r\nsid\r\n$" sid "\r\n$5\r\nuntil\r\n$" until "\r\n"

static void test_revoked_entries_after_the_cursor_are_read(void **state)
{
    redisReply *r =
        reply_of("*2\r\n" ENTRY("3\r\n5-1", "2\r\ns1", "4\r\n2000") ENTRY("3\r\n6-0", "2\r\ns2", "2\r\n10"));
    seen_t s = { 0 };
    int64_t seq = 0;
    assert_int_equal(gw_redis_revoked_reply(r, 0, 1000, on_revoked, &s, &seq), GW_OK);
    assert_int_equal(s.n, 1); /* s2's until has passed */
    assert_string_equal(s.sid[0], "s1");
    assert_int_equal(s.until[0], 2000);
    assert_int_equal(seq, 6000000);
    freeReplyObject(r);
}

static void test_revoked_entries_of_another_shape_never_crash_or_move_the_cursor_back(void **state)
{
    /* an integer id, a nil id, an id that is not "ms-n", fields that are not strings, a
     * field list that is an integer, then one good entry */
    redisReply *r = reply_of("*7\r\n"
                             "*2\r\n:7\r\n*0\r\n"
                             "*2\r\n$-1\r\n*0\r\n"
                             "*2\r\n$3\r\nabc\r\n*0\r\n"
                             "*2\r\n$4\r\n9-0x\r\n*0\r\n"
                             "*2\r\n$3\r\n8-0\r\n*4\r\n:1\r\n$2\r\ns3\r\n$5\r\nuntil\r\n:5000\r\n"
                             "*2\r\n$3\r\n8-1\r\n:3\r\n" ENTRY("3\r\n8-2", "2\r\ns4", "4\r\n5000"));
    seen_t s = { 0 };
    int64_t seq = 0;
    assert_int_equal(gw_redis_revoked_reply(r, 7000000, 1000, on_revoked, &s, &seq), GW_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.sid[0], "s4");
    assert_int_equal(seq, 8000002);
    freeReplyObject(r);
    r = reply_of("*1\r\n*2\r\n$3\r\nzz9\r\n*0\r\n");
    assert_int_equal(gw_redis_revoked_reply(r, 7000000, 1000, on_revoked, &s, &seq), GW_OK);
    assert_int_equal(seq, 7000000);
    freeReplyObject(r);
    r = reply_of("-ERR no such key\r\n");
    assert_int_equal(gw_redis_revoked_reply(r, 0, 1000, on_revoked, &s, &seq), GW_ESTORE);
    freeReplyObject(r);
}

static void test_link_values_read_exactly_or_not_at_all(void **state)
{
    gw_link_t l;
    memset(&l, 0, sizeof(l));
    redisReply *r = reply_of("$11\r\nacct-1\t1700\r\n");
    assert_int_equal(gw_redis_link_reply(r, &l), GW_OK);
    assert_string_equal(l.account, "acct-1");
    assert_int_equal(l.created, 1700);
    freeReplyObject(r);
    static const char *const bad[] = { "$6\r\n\t17000\r\n", "$5\r\na\0b\t1\r\n", ":1\r\n", "*0\r\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redisReader *rd = redisReaderCreate();
        void *v = NULL;
        size_t n = i == 1 ? 11 : strlen(bad[i]);
        assert_int_equal(redisReaderFeed(rd, bad[i], n), REDIS_OK);
        assert_int_equal(redisReaderGetReply(rd, &v), REDIS_OK);
        assert_int_equal(gw_redis_link_reply(v, &l), GW_ESTORE);
        freeReplyObject(v);
        redisReaderFree(rd);
    }
    char big[200];
    memset(big, 'a', sizeof(big));
    char resp[256];
    snprintf(resp, sizeof(resp), "$%zu\r\n%.*s\r\n", sizeof(big), (int)sizeof(big), big);
    r = reply_of(resp);
    assert_int_equal(gw_redis_link_reply(r, &l), GW_ESTORE); /* never cut to fit */
    freeReplyObject(r);
    r = reply_of("$-1\r\n");
    assert_int_equal(gw_redis_link_reply(r, &l), GW_ENOTFOUND);
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoked_entries_after_the_cursor_are_read),
        cmocka_unit_test(test_revoked_entries_of_another_shape_never_crash_or_move_the_cursor_back),
        cmocka_unit_test(test_link_values_read_exactly_or_not_at_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
