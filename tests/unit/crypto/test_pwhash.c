/* Unit tests for gw_pwhash: legacy password hashes. The vectors were made with the real tools:
 * mkpasswd (whois package, libxcrypt) for bcrypt and sha512-crypt, the argon2 command line
 * tool (and the reference library for the empty password), and passlib's own published
 * pbkdf2-sha256 vectors plus node:crypto pbkdf2Sync encoded passlib-style. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

#include <cmocka.h>

#include "gw_pwhash.h"
#include "gw_util.h"

#define PW "m\xe1\xba\xadt kh\xe1\xba\xa9u 123" /* "mật khẩu 123" in UTF-8 */

/* mkpasswd -m bcrypt -R 10 PW */
#define BCRYPT_2B_10 "$2b$10$jrMgdi5Xn8JNBl14.RTdXO9iIbKtFBpN3MT4n6qdDiecxnXkQDvA2"
/* mkpasswd -m bcrypt-a PW (cost 5) */
#define BCRYPT_2A_5 "$2a$05$laLJ9IC8YdI11dnePJ2Kl.EyYjPZSPMJJwIuXRCrTopjT3sBcItzC"
/* mkpasswd -m bcrypt -R 5 '' */
#define BCRYPT_EMPTY "$2b$05$S86fFBLT59cUpiedOX4/iOiEFbixdPdg6TOSeDePzeYmbFyOtH3Ti"
/* mkpasswd -m bcrypt -R 15 -S abcdefghijklmnopqrstuu x */
#define BCRYPT_15 "$2b$15$abcdefghijklmnopqrstuuHF3y1SJZaAL.LtgQe1F7LfQbpAf5p4O"

/* mkpasswd -m sha512crypt PW (default 5000 rounds, no rounds= field) */
#define SHA512_DEFAULT                                                                                                 \
    "$6$WYHhIU0I6kgWrbS9$04rk.4kjx0E13wyocf0RnMXTtMRgiVS4Bi95vo/"                                                      \
    "l1qPRLuH40FJN7H2A0OG3HV/QvE4iUo6W6yOT9ppEp/KLA0"
/* mkpasswd -m sha512crypt -R 10000 PW */
#define SHA512_10000                                                                                                   \
    "$6$rounds=10000$f8o2Br9I4v3QVSDr$5AMFx1chw5/nI8YHY2FgJ6qyRWgf.gokPnmE9n62gLmgqkr7CIM."                            \
    "Sg8kzCyb0uOT00T6rZ7tK6/LVbKxxzOTw0"
/* mkpasswd -m sha512crypt -R 1000 '' */
#define SHA512_EMPTY                                                                                                   \
    "$6$rounds=1000$SWuCr47zzYnNJvqh$NiR.CyOxuwMl."                                                                    \
    "7gQcVyCjLFRMA9Z3OUt4s1s0v4dncmJqdMggpjUublr9miZ7"                                                                 \
    "sm8YGt4s7Lz7mEz8yMuCfs521"

/* argon2 somesalt -id -t 2 -m 16 -p 1 <<< password (also the reference test vector) */
#define ARGON2_REF "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
/* argon2 saltsalt1234 -id -t 2 -m 12 -p 2 <<< PW */
#define ARGON2_PW "$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHQxMjM0$J+9TWc+D8sVNBlj36nnS62Q0E8fQyH4TDY6rUC6MFyY"
/* argon2id_hash_encoded(t=1, m=1024, p=1, "", "emptysalt") */
#define ARGON2_EMPTY "$argon2id$v=19$m=1024,t=1,p=1$ZW1wdHlzYWx0$fyVk9wDhUY1GnkoQ2y9RKtT10Gx1arG4yeaIJ2ArEo4"

/* passlib's test_handlers_pbkdf2.py known_correct_hashes */
#define PBKDF2_PASSLIB "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"
#define PBKDF2_PASSLIB_WAV "$pbkdf2-sha256$1212$3SABFJGDtyhrQMVt1uABPw$WyaUoqCLgvz97s523nF4iuOqZNbp5Nt8do/cuaa7AiI"
#define WAV "\xce\x99\xcf\x89\xce\xb1\xce\xbd\xce\xbd\xce\xb7\xcf\x82" /* U+0399 U+03C9 ... */
/* node: pbkdf2Sync(PW, random 16 bytes, 29000, 32, 'sha256'), '.' for '+' in both parts */
#define PBKDF2_PW "$pbkdf2-sha256$29000$PqG2/vbDua.SG3AnJ3w93g$AdQTxwY1BO01n8iWYAeA6hL6/MJ0FusqDiYcysu82r4"
/* node: pbkdf2Sync('', random 16 bytes, 1000, 32, 'sha256') */
#define PBKDF2_EMPTY "$pbkdf2-sha256$1000$a3g5u69F8pq1i8kyQyf91A$oReFjHjiZXkCygYAZl.9OsVp1TdsLhpPXBL1J8v2s7E"
/* node: pbkdf2Sync('x', 'salt', 2000001, 32, 'sha256') */
#define PBKDF2_OVER "$pbkdf2-sha256$2000001$c2FsdA$3/MK.BLUXC1yVkbcfQ5RgLe1v2UhCRkqvYGjXCODr9c"

/* `h` with the substring `from` replaced by `to` (first occurrence); static buffer. */
static const char *edit(const char *h, const char *from, const char *to)
{
    static char buf[1024];
    const char *p = strstr(h, from);
    assert_non_null(p);
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - h), h, to, p + strlen(from));
    return buf;
}

/* `h` without its last n characters; static buffer. */
static const char *cut(const char *h, size_t n)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "%.*s", (int)(strlen(h) - n), h);
    return buf;
}

static void test_bcrypt_2b_right_and_wrong_password(void **state)
{
    assert_int_equal(gw_pwhash_verify(PW, BCRYPT_2B_10), GW_OK);
    assert_int_equal(gw_pwhash_verify("m\xe1\xba\xadt kh\xe1\xba\xa9u 124", BCRYPT_2B_10), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify("", BCRYPT_2B_10), GW_EDENIED);
}

static void test_bcrypt_2a_and_2y(void **state)
{
    assert_int_equal(gw_pwhash_verify(PW, BCRYPT_2A_5), GW_OK);
    assert_int_equal(gw_pwhash_verify("wrong", BCRYPT_2A_5), GW_EDENIED);
    /* $2y$ (PHP) is the same algorithm as $2b$ */
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "$2b$", "$2y$")), GW_OK);
    assert_int_equal(gw_pwhash_verify("wrong", edit(BCRYPT_2B_10, "$2b$", "$2y$")), GW_EDENIED);
    /* the 22nd salt character carries 4 unused bits; crypt ignores them, so do we */
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "dXO9iIb", "dXP9iIb")), GW_OK);
    /* $2x$ (the old broken variant) is not accepted */
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "$2b$", "$2x$")), GW_EINVAL);
}

static void test_bcrypt_empty_password(void **state)
{
    assert_int_equal(gw_pwhash_verify("", BCRYPT_EMPTY), GW_OK);
    assert_int_equal(gw_pwhash_verify("x", BCRYPT_EMPTY), GW_EDENIED);
}

static void test_bcrypt_cost_cap_and_malformed(void **state)
{
    /* cost 15 is over the cap: refused without spending 2^15 rounds */
    assert_int_equal(gw_pwhash_verify("x", BCRYPT_15), GW_EINVAL);
    assert_int_equal(gw_pwhash_check(BCRYPT_15), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "$10$", "$03$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "$10$", "$1$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "$10$", "$1a$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(BCRYPT_2B_10, 1)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(BCRYPT_2B_10, 31)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, "$2b$10$"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, "$2b$"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, BCRYPT_2B_10 "A"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(BCRYPT_2B_10, "jrMg", "jr*g")), GW_EINVAL);
}

static void test_sha512_default_rounds(void **state)
{
    assert_int_equal(gw_pwhash_verify(PW, SHA512_DEFAULT), GW_OK);
    assert_int_equal(gw_pwhash_verify("m\xe1\xba\xadt kh\xe1\xba\xa9u", SHA512_DEFAULT), GW_EDENIED);
    /* an explicit rounds=5000 is the same computation */
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_DEFAULT, "$6$", "$6$rounds=5000$")), GW_OK);
}

static void test_sha512_with_rounds(void **state)
{
    assert_int_equal(gw_pwhash_verify(PW, SHA512_10000), GW_OK);
    assert_int_equal(gw_pwhash_verify("PW", SHA512_10000), GW_EDENIED);
    /* another rounds value changes the result */
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=10001$")), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify("", SHA512_EMPTY), GW_OK);
    assert_int_equal(gw_pwhash_verify(" ", SHA512_EMPTY), GW_EDENIED);
}

static void test_sha512_caps_and_malformed(void **state)
{
    assert_int_equal(gw_pwhash_check(edit(SHA512_10000, "=10000$", "=5000000$")), GW_OK);
    assert_int_equal(gw_pwhash_check(edit(SHA512_10000, "=10000$", "=5000001$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=5000001$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=99999999999$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=999$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=010000$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=-10000$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "=10000$", "=$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_10000, "rounds=", "rounds:")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(SHA512_DEFAULT, 1)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(SHA512_DEFAULT, 86)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, SHA512_DEFAULT "x"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, "$6$"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, "$6$$"), GW_EINVAL);
    /* salt over 16 characters, empty salt, salt with a foreign character */
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_DEFAULT, "$WYHh", "$abcdWYHh")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_DEFAULT, "$WYHhIU0I6kgWrbS9$", "$$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(SHA512_DEFAULT, "$WYHh", "$W:Hh")), GW_EINVAL);
}

static void test_argon2id_vectors(void **state)
{
    assert_int_equal(gw_pwhash_verify("password", ARGON2_REF), GW_OK);
    assert_int_equal(gw_pwhash_verify("Password", ARGON2_REF), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify(PW, ARGON2_PW), GW_OK);
    assert_int_equal(gw_pwhash_verify("password", ARGON2_PW), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify("", ARGON2_EMPTY), GW_OK);
    assert_int_equal(gw_pwhash_verify("\n", ARGON2_EMPTY), GW_EDENIED);
    /* same hash, other parameters: no match */
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_PW, "t=2", "t=3")), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_PW, "p=2", "p=1")), GW_EDENIED);
}

static void test_argon2id_caps_and_malformed(void **state)
{
    assert_int_equal(gw_pwhash_check(edit(ARGON2_REF, "m=65536", "m=262144")), GW_OK);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "m=65536", "m=262145")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "m=65536", "m=4294967295")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "t=2", "t=11")), GW_EINVAL);
    assert_int_equal(gw_pwhash_check(edit(ARGON2_REF, "t=2", "t=10")), GW_OK);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "t=2", "t=0")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "p=1", "p=17")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "p=1", "p=0")), GW_EINVAL);
    /* fewer than 8 KiB per lane */
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "m=65536,t=2,p=1", "m=15,t=2,p=2")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "v=19", "v=16")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "v=19$", "")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, ",t=2", "")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "p=1", "p=1,keyid=AAAA")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "p=1", "p=01")), GW_EINVAL);
    /* salt under 8 bytes ("short" = c2hvcnQ) */
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "c29tZXNhbHQ", "c2hvcnQ")), GW_EINVAL);
    /* padding, a foreign character, a trailing '$', a length of 1 mod 4 */
    assert_int_equal(gw_pwhash_verify(PW, ARGON2_REF "="), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "CTFh", "CT.h")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, ARGON2_REF "$"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(ARGON2_REF, 2)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(ARGON2_REF, 43)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, cut(ARGON2_REF, 44)), GW_EINVAL);
    /* the last character carries 2 unused bits: 'c' has them set, so it is not canonical */
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "GRPPc", "GRPPd")), GW_EINVAL);
    /* a truncation that is still well-formed is a shorter digest: never a match */
    assert_int_equal(gw_pwhash_verify("password", cut(ARGON2_REF, 3)), GW_EDENIED);
    /* argon2i and argon2d are not accepted */
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "argon2id", "argon2i")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(PW, edit(ARGON2_REF, "argon2id", "argon2d")), GW_EINVAL);
}

static void test_pbkdf2_passlib_vectors(void **state)
{
    assert_int_equal(gw_pwhash_verify("password", PBKDF2_PASSLIB), GW_OK);
    assert_int_equal(gw_pwhash_verify("p4ssword", PBKDF2_PASSLIB), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify(WAV, PBKDF2_PASSLIB_WAV), GW_OK);
    assert_int_equal(gw_pwhash_verify("password", PBKDF2_PASSLIB_WAV), GW_EDENIED);
}

static void test_pbkdf2_adapted_base64_and_empty(void **state)
{
    /* salt and hash both contain '.' (passlib's '+') */
    assert_int_equal(gw_pwhash_verify(PW, PBKDF2_PW), GW_OK);
    assert_int_equal(gw_pwhash_verify("password", PBKDF2_PW), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify("", PBKDF2_EMPTY), GW_OK);
    assert_int_equal(gw_pwhash_verify("a", PBKDF2_EMPTY), GW_EDENIED);
    /* standard base64's '+' is not passlib's alphabet */
    assert_int_equal(gw_pwhash_verify(PW, edit(PBKDF2_PW, "Dua.SG", "Dua+SG")), GW_EINVAL);
    /* other rounds: another result */
    assert_int_equal(gw_pwhash_verify(PW, edit(PBKDF2_PW, "$29000$", "$29001$")), GW_EDENIED);
}

static void test_pbkdf2_caps_and_malformed(void **state)
{
    assert_int_equal(gw_pwhash_verify("x", PBKDF2_OVER), GW_EINVAL);
    assert_int_equal(gw_pwhash_check(edit(PBKDF2_OVER, "2000001", "2000000")), GW_OK);
    /* passlib's known_malformed_hashes */
    assert_int_equal(gw_pwhash_verify("password", edit(PBKDF2_PASSLIB, "$1212$", "$01212$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", edit(PBKDF2_PASSLIB, "$1212$", "$$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", PBKDF2_PASSLIB "$"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", edit(PBKDF2_PASSLIB, "$1212$", "$0$")), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", PBKDF2_PASSLIB "="), GW_EINVAL);
    /* truncated hashes: the digest must be 32 bytes */
    assert_int_equal(gw_pwhash_verify("password", cut(PBKDF2_PASSLIB, 1)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", cut(PBKDF2_PASSLIB, 4)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", cut(PBKDF2_PASSLIB, 43)), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", "$pbkdf2-sha256$1212$"), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify("password", "$pbkdf2-sha256$"), GW_EINVAL);
}

static void test_unknown_schemes_are_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "password",
        "5f4dcc3b5aa765d61d8327deb882cf99",
        "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
        "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF2W4D/I0",
        "$argon2i$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$bOT2Hj9H3P90lOrNKXNhItEOSc/auCxndcCT14l1e4k",
        "$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI",
        ("$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX."
         "esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww"),
        "pbkdf2_sha256$260000$salt$hash",
        "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
        "$2b",
        "$",
        "$$$$",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gw_pwhash_verify("password", bad[i]), GW_EINVAL);
        assert_int_equal(gw_pwhash_check(bad[i]), GW_EINVAL);
    }
    assert_int_equal(gw_pwhash_verify("password", NULL), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify(NULL, BCRYPT_2A_5), GW_EINVAL);
    assert_int_equal(gw_pwhash_check(NULL), GW_EINVAL);
}

static void test_scheme_names(void **state)
{
    assert_string_equal(gw_pwhash_scheme(BCRYPT_2B_10), "bcrypt");
    assert_string_equal(gw_pwhash_scheme(BCRYPT_2A_5), "bcrypt");
    assert_string_equal(gw_pwhash_scheme("$2y$"), "bcrypt");
    assert_string_equal(gw_pwhash_scheme(SHA512_DEFAULT), "sha512-crypt");
    assert_string_equal(gw_pwhash_scheme(ARGON2_REF), "argon2id");
    assert_string_equal(gw_pwhash_scheme(PBKDF2_PASSLIB), "pbkdf2-sha256");
    assert_null(gw_pwhash_scheme("$argon2i$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$bOT2"));
    assert_null(gw_pwhash_scheme("$5$x$y"));
    assert_null(gw_pwhash_scheme(""));
    assert_null(gw_pwhash_scheme(NULL));
}

static void test_check_accepts_every_vector(void **state)
{
    static const char *const good[] = { BCRYPT_2B_10, BCRYPT_2A_5,  BCRYPT_EMPTY,   SHA512_DEFAULT,
                                        SHA512_10000, SHA512_EMPTY, ARGON2_REF,     ARGON2_PW,
                                        ARGON2_EMPTY, PBKDF2_PW,    PBKDF2_PASSLIB, PBKDF2_EMPTY };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(gw_pwhash_check(good[i]), GW_OK);
}

static void test_long_password_never_matches(void **state)
{
    char pw[GW_PWHASH_MAX_PASSWORD + 2];
    memset(pw, 'a', sizeof(pw) - 1);
    pw[sizeof(pw) - 1] = '\0';
    assert_int_equal(gw_pwhash_verify(pw, BCRYPT_2A_5), GW_EDENIED);
    assert_int_equal(gw_pwhash_verify(pw, SHA512_EMPTY), GW_EDENIED);
    /* exactly the maximum is still computed */
    pw[GW_PWHASH_MAX_PASSWORD] = '\0';
    assert_int_equal(gw_pwhash_verify(pw, SHA512_EMPTY), GW_EDENIED);
}

static void test_limits_only_lower_the_caps(void **state)
{
    gw_pwhash_limits_t lim = { .bcrypt_cost = 5,
                               .sha512_rounds = 1000,
                               .pbkdf2_rounds = 1212,
                               .argon2_m_kib = 1024,
                               .argon2_t = 1,
                               .argon2_p = 1 };
    assert_int_equal(gw_pwhash_verify_limits(PW, BCRYPT_2A_5, &lim), GW_OK);
    assert_int_equal(gw_pwhash_verify_limits(PW, BCRYPT_2B_10, &lim), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify_limits("", SHA512_EMPTY, &lim), GW_OK);
    assert_int_equal(gw_pwhash_verify_limits(PW, SHA512_10000, &lim), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify_limits(PW, SHA512_DEFAULT, &lim), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify_limits("password", PBKDF2_PASSLIB, &lim), GW_OK);
    assert_int_equal(gw_pwhash_verify_limits(PW, PBKDF2_PW, &lim), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify_limits("", ARGON2_EMPTY, &lim), GW_OK);
    assert_int_equal(gw_pwhash_verify_limits(PW, ARGON2_PW, &lim), GW_EINVAL);
    /* a higher value does not raise a built-in cap */
    gw_pwhash_limits_t high = { .bcrypt_cost = 31 };
    assert_int_equal(gw_pwhash_verify_limits("x", BCRYPT_15, &high), GW_EINVAL);
    assert_int_equal(gw_pwhash_verify_limits(PW, BCRYPT_2B_10, &high), GW_OK);
}

/* The stand-in does one bcrypt computation and never says yes. (Its cost is the cost of the
 * built-in bcrypt-10 stand-in; how long that takes is for the bench, not a unit test.) */
static void test_dummy_verify_takes_a_bcrypt10_time(void **state)
{
    (void)state;
    unsigned long b0 = gw_pwhash_work_count("bcrypt"), s0 = gw_pwhash_work_count("sha512-crypt");
    assert_int_equal(gw_pwhash_dummy_verify("anything"), GW_EDENIED);
    assert_int_equal(gw_pwhash_dummy_verify(""), GW_EDENIED);
    assert_int_equal(gw_pwhash_dummy_verify(NULL), GW_EDENIED);
    assert_int_equal(gw_pwhash_work_count("bcrypt") - b0, 3);
    assert_int_equal(gw_pwhash_work_count("sha512-crypt") - s0, 0);
}

/* Modelled on a portal's own hash: that scheme's work, and never a yes, not even for the
 * model's own password. */
static void test_dummy_verify_like_does_the_models_work_and_never_matches(void **state)
{
    (void)state;
    static const struct {
        const char *model, *password, *scheme;
    } cases[] = {
        { SHA512_DEFAULT, PW, "sha512-crypt" },
        { SHA512_EMPTY, "", "sha512-crypt" },
        { BCRYPT_EMPTY, "", "bcrypt" },
        { ARGON2_REF, "password", "argon2id" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(gw_pwhash_verify(cases[i].password, cases[i].model), GW_OK); /* the real check says yes */
        unsigned long n0 = gw_pwhash_work_count(cases[i].scheme);
        assert_int_equal(gw_pwhash_dummy_verify_like(cases[i].password, cases[i].model), GW_EDENIED);
        assert_int_equal(gw_pwhash_work_count(cases[i].scheme) - n0, 1);
    }
    /* no usable model: the built-in stand-in */
    const char *bad[] = { NULL, "", "$6$", BCRYPT_15 /* over the cost cap */ };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned long b0 = gw_pwhash_work_count("bcrypt");
        assert_int_equal(gw_pwhash_dummy_verify_like("x", bad[i]), GW_EDENIED);
        assert_int_equal(gw_pwhash_work_count("bcrypt") - b0, 1);
    }
    assert_int_equal(gw_pwhash_work_count("nonsense"), 0);
}

static void test_refusal_names_the_cap_or_the_scheme_never_the_hash(void **state)
{
    (void)state;
    char why[160];
    assert_int_equal(gw_pwhash_refusal(BCRYPT_2B_10, why, sizeof(why)), GW_OK);
    static const char *const cases[][2] = {
        { BCRYPT_15, "bcrypt cost 15 is outside 4..14, what the verifier computes" },
        { "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
          "argon2id memory m=4194304 KiB is outside 8..262144 KiB, what the verifier computes" },
        { "$argon2id$v=19$m=65536,t=11,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
          "argon2id time t=11 is outside 1..10, what the verifier computes" },
        { "$argon2id$v=19$m=65536,t=2,p=17$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
          "argon2id lanes p=17 is outside 1..16, what the verifier computes" },
        { PBKDF2_OVER, "pbkdf2-sha256 rounds 2000001 is outside 1..2000000, what the verifier computes" },
        { "$6$rounds=5000001$saltsalt$x", "sha512-crypt rounds 5000001 is outside 1000..5000000, what the verifier "
                                          "computes" },
        { "$2b$10$short", "not a well-formed bcrypt hash" },
        { "$1$abc$def", "not a recognised scheme ($2a$, $2b$, $2y$, $argon2id$, $pbkdf2-sha256$, $6$)" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(gw_pwhash_refusal(cases[i][0], why, sizeof(why)), GW_EINVAL);
        assert_string_equal(why, cases[i][1]);
        assert_int_equal(gw_pwhash_check(cases[i][0]), GW_EINVAL); /* one rule for both */
    }
}

/* argon2id checks share a memory budget: a check bigger than it is refused at once (never
 * "wrong password"), and checks that fit wait their turn, so no more than the budget is
 * held at once (ARGON2_REF takes 64 MiB) */
static void *check_ref(void *arg)
{
    *(int *)arg = gw_pwhash_verify("password", ARGON2_REF);
    return NULL;
}

static void test_argon2_checks_share_a_memory_budget(void **state)
{
    (void)state;
    gw_pwhash_set_argon2_budget(32 * 1024);
    assert_int_equal(gw_pwhash_verify("password", ARGON2_REF), GW_ENOMEM);
    assert_int_equal(gw_pwhash_verify(PW, ARGON2_PW), GW_OK); /* 4 MiB fits */
    gw_pwhash_set_argon2_budget(128 * 1024); /* two of ARGON2_REF at once */
    pthread_t t[4];
    int rc[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, check_ref, &rc[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(rc[i], GW_OK);
    }
    assert_true(gw_pwhash_argon2_peak_kib() <= 128 * 1024);
    assert_true(gw_pwhash_argon2_peak_kib() >= 64 * 1024);
    gw_pwhash_set_argon2_budget(512 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argon2_checks_share_a_memory_budget),
        cmocka_unit_test(test_bcrypt_2b_right_and_wrong_password),
        cmocka_unit_test(test_bcrypt_2a_and_2y),
        cmocka_unit_test(test_bcrypt_empty_password),
        cmocka_unit_test(test_bcrypt_cost_cap_and_malformed),
        cmocka_unit_test(test_sha512_default_rounds),
        cmocka_unit_test(test_sha512_with_rounds),
        cmocka_unit_test(test_sha512_caps_and_malformed),
        cmocka_unit_test(test_argon2id_vectors),
        cmocka_unit_test(test_argon2id_caps_and_malformed),
        cmocka_unit_test(test_pbkdf2_passlib_vectors),
        cmocka_unit_test(test_pbkdf2_adapted_base64_and_empty),
        cmocka_unit_test(test_pbkdf2_caps_and_malformed),
        cmocka_unit_test(test_unknown_schemes_are_invalid),
        cmocka_unit_test(test_scheme_names),
        cmocka_unit_test(test_check_accepts_every_vector),
        cmocka_unit_test(test_long_password_never_matches),
        cmocka_unit_test(test_limits_only_lower_the_caps),
        cmocka_unit_test(test_dummy_verify_takes_a_bcrypt10_time),
        cmocka_unit_test(test_dummy_verify_like_does_the_models_work_and_never_matches),
        cmocka_unit_test(test_refusal_names_the_cap_or_the_scheme_never_the_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
