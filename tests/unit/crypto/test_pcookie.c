/* Unit tests for gw_pcookie: the portal cookie of the reverse-proxy mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_pcookie.h"
#include "gw_util.h"

static unsigned char COOKIE_KEY[GW_SEAL_KEYLEN];
static unsigned char K[GW_SEAL_KEYLEN];
#define NOW 1893456000

static gw_pcookie_t sample(void)
{
    gw_pcookie_t c = {
        .sid = "sid-1",
        .portal = "portal-a",
        .sub = "pw-sub",
        .acr = "urn:vneid:level2",
        .level = 2,
        .auth_time = NOW - 100,
        .exp = NOW + 3600,
        .recheck = NOW + 300,
        .name = "Nguyễn Văn A",
        .birthdate = "1990-01-02",
        .gender = "male",
        .cccd = "001090000001",
    };
    return c;
}

static void setup_keys(void)
{
    for (int i = 0; i < GW_SEAL_KEYLEN; i++)
        COOKIE_KEY[i] = (unsigned char)i;
    gw_pcookie_key(COOKIE_KEY, K);
}

static void test_round_trip(void **st)
{
    setup_keys();
    gw_pcookie_t in = sample(), out;
    char *v = NULL;
    assert_int_equal(gw_pcookie_seal(K, &in, &v), GW_PCOOKIE_OK);
    assert_true(strlen(v) <= GW_PCOOKIE_MAX);
    assert_int_equal(gw_pcookie_open(K, v, "portal-a", NOW, &out), GW_PCOOKIE_OK);
    assert_string_equal(out.sid, "sid-1");
    assert_string_equal(out.portal, "portal-a");
    assert_string_equal(out.sub, "pw-sub");
    assert_string_equal(out.acr, "urn:vneid:level2");
    assert_int_equal(out.level, 2);
    assert_int_equal(out.auth_time, NOW - 100);
    assert_int_equal(out.exp, NOW + 3600);
    assert_int_equal(out.recheck, NOW + 300);
    assert_string_equal(out.name, "Nguyễn Văn A");
    assert_string_equal(out.birthdate, "1990-01-02");
    assert_string_equal(out.gender, "male");
    assert_string_equal(out.cccd, "001090000001");
    assert_null(out.legacy_account);
    gw_pcookie_clear(&out);
    /* past the re-check time: valid, reported */
    assert_int_equal(gw_pcookie_open(K, v, "portal-a", NOW + 300, &out), GW_PCOOKIE_RECHECK);
    assert_string_equal(out.sid, "sid-1");
    gw_pcookie_clear(&out);
    free(v);
}

static void test_refusals(void **st)
{
    setup_keys();
    gw_pcookie_t in = sample(), out;
    char *v = NULL;
    assert_int_equal(gw_pcookie_seal(K, &in, &v), GW_PCOOKIE_OK);
    assert_int_equal(gw_pcookie_open(K, v, "portal-b", NOW, &out), GW_PCOOKIE_PORTAL);
    assert_int_equal(gw_pcookie_open(K, v, "portal-a", NOW + 3600, &out), GW_PCOOKIE_EXPIRED);
    /* under the cookie key itself (the SSO cookie's key) it does not open */
    assert_int_equal(gw_pcookie_open(COOKIE_KEY, v, "portal-a", NOW, &out), GW_PCOOKIE_BAD);
    /* one changed character anywhere is refused */
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++) {
        char saved = v[i];
        v[i] = saved == 'A' ? 'B' : 'A';
        assert_int_not_equal(gw_pcookie_open(K, v, "portal-a", NOW, &out), GW_PCOOKIE_OK);
        v[i] = saved;
    }
    free(v);
    /* an SSO cookie (key id 1 under the cookie key) is not a portal cookie */
    const char *sso = "{\"v\":1,\"sid\":\"s\",\"pid\":\"portal-a\",\"sub\":\"x\",\"exp\":1999999999,\"cl\":{}}";
    char *s1 = gw_seal(COOKIE_KEY, 1, sso, strlen(sso));
    assert_int_equal(gw_pcookie_open(K, s1, "portal-a", NOW, &out), GW_PCOOKIE_BAD);
    free(s1);
    /* right key and key id, but another format version */
    const char *v2 = "{\"v\":2,\"sid\":\"s\",\"pid\":\"portal-a\",\"sub\":\"x\",\"exp\":1999999999,\"cl\":{}}";
    char *s2 = gw_seal(K, GW_PCOOKIE_KEY_ID, v2, strlen(v2));
    assert_int_equal(gw_pcookie_open(K, s2, "portal-a", NOW, &out), GW_PCOOKIE_BAD);
    free(s2);
    assert_int_equal(gw_pcookie_open(K, "", "portal-a", NOW, &out), GW_PCOOKIE_BAD);
    assert_int_equal(gw_pcookie_open(K, "!!", "portal-a", NOW, &out), GW_PCOOKIE_BAD);
}

static void test_size_limit(void **st)
{
    setup_keys();
    gw_pcookie_t in = sample();
    char big[900];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    in.legacy_account = big;
    char *v = (char *)0x1;
    assert_int_equal(gw_pcookie_seal(K, &in, &v), GW_PCOOKIE_TOOBIG);
    assert_ptr_equal(v, (char *)0x1);
    in.sid = NULL;
    in.legacy_account = NULL;
    assert_int_equal(gw_pcookie_seal(K, &in, &v), GW_PCOOKIE_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
