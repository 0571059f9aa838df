/* The revocation feed: what the daemon writes (gw_revfile) is what the nginx module reads
 * (gw_pw_rev_lookup), through a real file, across a rebuild; and the module's header rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_proxy_wire.h"
#include "gw_revfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[256];

/* the module's view: map the file as it is now and look sid up */
static int lookup(const char *sid, uint64_t now, ino_t *ino)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    if (ino)
        *ino = st.st_ino;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    int rv = gw_pw_rev_lookup(m, (size_t)st.st_size, gw_pw_sid_hash(sid, strlen(sid)), now);
    munmap(m, (size_t)st.st_size);
    close(fd);
    return rv;
}

static void test_written_entries_are_seen_until_they_expire(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/eidgw-revfile-%d", (int)getpid());
    assert_int_equal(gw_revfile_add(path, "sid-a", 2000, 1000), 0);
    assert_int_equal(lookup("sid-a", 1000, NULL), 1);
    assert_int_equal(lookup("sid-b", 1000, NULL), 0);
    assert_int_equal(lookup("sid-a", 2000, NULL), 0); /* expired */
    ino_t before, after;
    lookup("sid-a", 1000, &before);
    char sid[32];
    for (int i = 0; i < 3000; i++) { /* several rebuilds */
        snprintf(sid, sizeof sid, "many-%d", i);
        assert_int_equal(gw_revfile_add(path, sid, 5000, 1000), 0);
    }
    assert_int_equal(lookup("sid-a", 1000, &after), 1);
    assert_true(before != after); /* replaced by rename: readers re-map */
    for (int i = 0; i < 3000; i++) {
        snprintf(sid, sizeof sid, "many-%d", i);
        assert_int_equal(lookup(sid, 1000, NULL), 1);
    }
    unlink(path);
}

/* a suspended portal rides in the same table under "portal:<client id>"; a new start
 * begins an empty file, so a portal no longer suspended is gone from it */
static void test_reset_empties_the_file_and_portals_share_the_table(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/eidgw-revfile-reset-%d", (int)getpid());
    assert_int_equal(gw_revfile_add(path, "sid-a", 2000, 1000), 0);
    assert_int_equal(gw_revfile_add(path, GW_PW_PORTAL_KEY_PREFIX "dvc", 1000 + 3153600000LL, 1000), 0);
    assert_int_equal(lookup("portal:dvc", 1000, NULL), 1);
    assert_int_equal(lookup("portal:dvc", 1500000000, NULL), 1);
    assert_int_equal(lookup("portal:other", 1000, NULL), 0);
    assert_int_equal(lookup("dvc", 1000, NULL), 0);
    assert_int_equal(gw_revfile_reset(path, 1000), 0);
    assert_int_equal(lookup("portal:dvc", 1000, NULL), 0);
    assert_int_equal(lookup("sid-a", 1000, NULL), 0);
    assert_int_equal(gw_revfile_add(path, "sid-b", 2000, 1000), 0);
    assert_int_equal(lookup("sid-b", 1000, NULL), 1);
    unlink(path);
}

static void test_malformed_file_is_refused(void **state)
{
    (void)state;
    unsigned char buf[64] = "EIDGWRV1";
    uint32_t n = 3; /* not a power of two */
    memcpy(buf + 8, &n, sizeof n);
    assert_int_equal(gw_pw_rev_lookup(buf, sizeof buf, 1, 0), -1);
    assert_int_equal(gw_pw_rev_lookup(buf, 4, 1, 0), -1);
    n = 1024; /* larger than the file */
    memcpy(buf + 8, &n, sizeof n);
    assert_int_equal(gw_pw_rev_lookup(buf, sizeof buf, 1, 0), -1);
}

static void test_identity_header_spellings(void **state)
{
    (void)state;
    const char *claims[] = { "X-Citizen-Name" };
    size_t lens[] = { 14 };
    const char *yes[] = { "X-Eidgw-Sub", "x_eidgw_level", "X.EIDGW.Acr", "x-citizen_name", "X.Citizen.NAME" };
    const char *no[] = { "X-Eidgw", "X-Citizen-Names", "Accept", "X-Eidgwx-Sub" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_int_equal(gw_pw_is_identity_header(yes[i], strlen(yes[i]), claims, lens, 1), 1);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_int_equal(gw_pw_is_identity_header(no[i], strlen(no[i]), claims, lens, 1), 0);
    char out[64];
    const char *v = "Nguy\xe1\xbb\x85n 100%\r\n";
    size_t n = gw_pw_pct_encode((const unsigned char *)v, strlen(v), out);
    assert_memory_equal(out, "Nguy%E1%BB%85n 100%25%0D%0A", n);
    assert_int_equal(n, strlen("Nguy%E1%BB%85n 100%25%0D%0A"));
}

static void test_redirect_paths_stay_on_the_host(void **state)
{
    (void)state;
    const char *good[] = { "/", "/a/b?x=1&y=%2F", "/hoso/123#top", "/~user/" };
    const char *bad[] = { "", "a/b", "//evil.example/x", "/\\evil.example", "/a\\b", "/a b", "/a\tb", "/\xc3\xa1" };
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        assert_int_equal(gw_pw_safe_path(good[i]), 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (gw_pw_safe_path(bad[i]))
            fail_msg("'%s' taken as a same-host path", bad[i]);
}

static void test_bypass_takes_plain_prefixes_only(void **state)
{
    (void)state;
    const char *const pre[] = { "/public/", "/healthz" };
    const char *yes[] = { "/public/a.css",           "/public/x?y=/../z",     "/healthz",    "/healthz?full=1",
                          "/.eidgw/callback?code=x", "/public/.well-known/x", "/public/..x", "/healthz/deep" };
    const char *no[] = { "/api",
                         "/public",
                         "/public/../api",
                         "/public/./x",
                         "/public//x",
                         "/public/%2e%2e/api",
                         "/public/..%2fapi",
                         "/public/a\\..\\b",
                         "/public/..",
                         "/.eidgw/../api",
                         "public/a",
                         "",
                         "/public/..;/admin",
                         "/public/x;jsessionid=1",
                         "/healthzadmin",
                         "/healthz.php" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
        if (!gw_pw_bypassed(yes[i], pre, 2))
            fail_msg("'%s' not bypassed", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
        if (gw_pw_bypassed(no[i], pre, 2))
            fail_msg("'%s' bypassed", no[i]);
    assert_int_equal(gw_pw_bypassed(NULL, pre, 2), 0);
    assert_int_equal(gw_pw_bypassed("/public/a", NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_entries_are_seen_until_they_expire),
        cmocka_unit_test(test_reset_empties_the_file_and_portals_share_the_table),
        cmocka_unit_test(test_malformed_file_is_refused),
        cmocka_unit_test(test_identity_header_spellings),
        cmocka_unit_test(test_redirect_paths_stay_on_the_host),
        cmocka_unit_test(test_bypass_takes_plain_prefixes_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
