/* gw_pwhash: legacy password hash verification (bcrypt, sha512-crypt, argon2id, passlib
 * pbkdf2-sha256). Each hash is parsed strictly and checked against the cost caps before any
 * expensive work; see gw_pwhash.h for the formats. */
#include "gw_pwhash.h"

#include "gw_util.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

/* Built-in caps (see gw_pwhash.h). */
#define CAP_BCRYPT_COST 14u
#define CAP_SHA512_ROUNDS 5000000ul
#define CAP_PBKDF2_ROUNDS 2000000ul
#define CAP_ARGON2_M_KIB 262144ul
#define CAP_ARGON2_T 10ul
#define CAP_ARGON2_P 16ul

/* No accepted format comes close; stops pathological inputs before any scanning. */
#define MAX_HASH_LEN 2048
#define BCRYPT_LEN 60
#define BCRYPT_SUM_LEN 31
#define SHA512_SUM_LEN 86
#define SHA512_MAX_SALT 16
#define PBKDF2_MAX_SALT 1024
#define MAX_DIGEST 128

/* The unknown-user check: bcrypt cost 10 of a random string nobody knows. */
static const char dummy_hash[] = "$2b$10$nKk58mp6szF7Yg4Hzwex9.yrGmyivieRK7UVV4QE1.TbRZUNTT9ly";

enum { S_NONE = 0, S_BCRYPT, S_SHA512, S_ARGON2ID, S_PBKDF2 };

typedef struct parsed {
    int scheme;
    unsigned long cost; /* bcrypt log2 rounds, sha512 / pbkdf2 rounds, argon2 t */
    unsigned long m_kib, lanes;
    size_t sum_off; /* crypt schemes: offset of the checksum in the hash string */
    unsigned char salt[PBKDF2_MAX_SALT];
    size_t saltlen;
    unsigned char digest[MAX_DIGEST];
    size_t digestlen;
    char why[128]; /* a cost refused: which, and the cap */
} parsed_t;

/* A cost out of the verifier's range: GW_EINVAL, with what for an import to say. */
__attribute__((format(printf, 2, 3))) static int refuse(parsed_t *ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ret->why, sizeof(ret->why), fmt, ap);
    va_end(ap);
    return GW_EINVAL;
}

static int is_crypt64(char c)
{
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Decimal without sign or leading zeros, at most 10 digits, ended by `end`.
 * Advances *p past the number (not past `end`). */
static int parse_ulong(const char **p, char end, unsigned long *ret)
{
    const char *s = *p;
    unsigned long v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == 10)
            return -1;
        v = v * 10 + (unsigned long)(s[n] - '0');
        n++;
    }
    if (n == 0 || s[n] != end || (n > 1 && s[0] == '0'))
        return -1;
    *p = s + n;
    *ret = v;
    return 0;
}

static int b64val(char c, char c62)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == c62)
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Unpadded base64 with `c62` as the 62nd character ('+' standard, '.' passlib). Canonical
 * only: a length of 1 mod 4 or non-zero unused bits is an error. */
static int b64_decode(const char *s, size_t n, char c62, unsigned char *out, size_t outcap, size_t *ret_len)
{
    if (n % 4 == 1)
        return -1;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > outcap)
        return -1;
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i], c62);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    *ret_len = o;
    return 0;
}

static unsigned long cap(unsigned long builtin, unsigned long lower)
{
    return lower && lower < builtin ? lower : builtin;
}

static int parse_bcrypt(const char *h, size_t len, const gw_pwhash_limits_t *lim, parsed_t *ret)
{
    /* $2b$NN$ + 22 salt + 31 checksum */
    if (len != BCRYPT_LEN || h[6] != '$')
        return GW_EINVAL;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
        return GW_EINVAL;
    unsigned long cost = (unsigned long)(h[4] - '0') * 10 + (unsigned long)(h[5] - '0');
    unsigned long most = cap(CAP_BCRYPT_COST, lim ? lim->bcrypt_cost : 0);
    if (cost < 4 || cost > most)
        return refuse(ret, "bcrypt cost %lu is outside 4..%lu, what the verifier computes", cost, most);
    for (size_t i = 7; i < len; i++)
        if (!is_crypt64(h[i]))
            return GW_EINVAL;
    ret->scheme = S_BCRYPT;
    ret->cost = cost;
    ret->sum_off = BCRYPT_LEN - BCRYPT_SUM_LEN;
    return GW_OK;
}

static int parse_sha512(const char *h, size_t len, const gw_pwhash_limits_t *lim, parsed_t *ret)
{
    const char *p = h + 3;
    unsigned long rounds = 5000;
    if (!strncmp(p, "rounds=", 7)) {
        p += 7;
        if (parse_ulong(&p, '$', &rounds))
            return GW_EINVAL;
        p++;
    }
    /* crypt(3) clamps lower values to 1000 and writes the clamped value */
    unsigned long most = cap(CAP_SHA512_ROUNDS, lim ? lim->sha512_rounds : 0);
    if (rounds < 1000 || rounds > most)
        return refuse(ret, "sha512-crypt rounds %lu is outside 1000..%lu, what the verifier computes", rounds, most);
    size_t slen = 0;
    while (p[slen] && p[slen] != '$') {
        if (!is_crypt64(p[slen]))
            return GW_EINVAL;
        slen++;
    }
    if (slen == 0 || slen > SHA512_MAX_SALT || p[slen] != '$')
        return GW_EINVAL;
    const char *sum = p + slen + 1;
    if ((size_t)(h + len - sum) != SHA512_SUM_LEN)
        return GW_EINVAL;
    for (size_t i = 0; i < SHA512_SUM_LEN; i++)
        if (!is_crypt64(sum[i]))
            return GW_EINVAL;
    ret->scheme = S_SHA512;
    ret->cost = rounds;
    ret->sum_off = (size_t)(sum - h);
    return GW_OK;
}

/* Splits "SALT$HASH" at the one '$' and decodes both parts. */
static int parse_salt_digest(const char *p, const char *end, char c62, size_t min_salt, size_t min_digest,
                             parsed_t *ret)
{
    const char *d = memchr(p, '$', (size_t)(end - p));
    if (!d || memchr(d + 1, '$', (size_t)(end - d - 1)))
        return GW_EINVAL;
    if (b64_decode(p, (size_t)(d - p), c62, ret->salt, sizeof(ret->salt), &ret->saltlen) ||
        b64_decode(d + 1, (size_t)(end - d - 1), c62, ret->digest, sizeof(ret->digest), &ret->digestlen))
        return GW_EINVAL;
    if (ret->saltlen < min_salt || ret->digestlen < min_digest)
        return GW_EINVAL;
    return GW_OK;
}

static int parse_argon2id(const char *h, size_t len, const gw_pwhash_limits_t *lim, parsed_t *ret)
{
    const char *p = h + strlen("$argon2id$");
    unsigned long v, m, t, par;
    if (strncmp(p, "v=", 2))
        return GW_EINVAL;
    p += 2;
    if (parse_ulong(&p, '$', &v) || v != 19)
        return GW_EINVAL;
    p++;
    if (strncmp(p, "m=", 2))
        return GW_EINVAL;
    p += 2;
    if (parse_ulong(&p, ',', &m) || strncmp(p, ",t=", 3))
        return GW_EINVAL;
    p += 3;
    if (parse_ulong(&p, ',', &t) || strncmp(p, ",p=", 3))
        return GW_EINVAL;
    p += 3;
    if (parse_ulong(&p, '$', &par))
        return GW_EINVAL;
    p++;
    unsigned long most_t = cap(CAP_ARGON2_T, lim ? lim->argon2_t : 0);
    unsigned long most_p = cap(CAP_ARGON2_P, lim ? lim->argon2_p : 0);
    unsigned long most_m = cap(CAP_ARGON2_M_KIB, lim ? lim->argon2_m_kib : 0);
    if (t < 1 || t > most_t)
        return refuse(ret, "argon2id time t=%lu is outside 1..%lu, what the verifier computes", t, most_t);
    if (par < 1 || par > most_p)
        return refuse(ret, "argon2id lanes p=%lu is outside 1..%lu, what the verifier computes", par, most_p);
    /* argon2 needs at least 8 KiB per lane */
    if (m < 8 * par || m > most_m)
        return refuse(ret, "argon2id memory m=%lu KiB is outside %lu..%lu KiB, what the verifier computes", m, 8 * par,
                      most_m);
    if (parse_salt_digest(p, h + len, '+', ARGON2_MIN_SALT_LENGTH, ARGON2_MIN_OUTLEN, ret))
        return GW_EINVAL;
    ret->scheme = S_ARGON2ID;
    ret->cost = t;
    ret->m_kib = m;
    ret->lanes = par;
    return GW_OK;
}

static int parse_pbkdf2(const char *h, size_t len, const gw_pwhash_limits_t *lim, parsed_t *ret)
{
    const char *p = h + strlen("$pbkdf2-sha256$");
    unsigned long rounds;
    if (parse_ulong(&p, '$', &rounds))
        return GW_EINVAL;
    p++;
    unsigned long most = cap(CAP_PBKDF2_ROUNDS, lim ? lim->pbkdf2_rounds : 0);
    if (rounds < 1 || rounds > most)
        return refuse(ret, "pbkdf2-sha256 rounds %lu is outside 1..%lu, what the verifier computes", rounds, most);
    if (parse_salt_digest(p, h + len, '.', 0, 32, ret) || ret->digestlen != 32)
        return GW_EINVAL;
    ret->scheme = S_PBKDF2;
    ret->cost = rounds;
    return GW_OK;
}

static int scheme_of(const char *h)
{
    if (!h)
        return S_NONE;
    if (!strncmp(h, "$2a$", 4) || !strncmp(h, "$2b$", 4) || !strncmp(h, "$2y$", 4))
        return S_BCRYPT;
    if (!strncmp(h, "$6$", 3))
        return S_SHA512;
    if (!strncmp(h, "$argon2id$", 10))
        return S_ARGON2ID;
    if (!strncmp(h, "$pbkdf2-sha256$", 15))
        return S_PBKDF2;
    return S_NONE;
}

static int parse(const char *h, const gw_pwhash_limits_t *lim, parsed_t *ret)
{
    size_t len = strnlen(h, MAX_HASH_LEN + 1);
    if (len > MAX_HASH_LEN)
        return GW_EINVAL;
    memset(ret, 0, sizeof(*ret));
    switch (scheme_of(h)) {
    case S_BCRYPT:
        return parse_bcrypt(h, len, lim, ret);
    case S_SHA512:
        return parse_sha512(h, len, lim, ret);
    case S_ARGON2ID:
        return parse_argon2id(h, len, lim, ret);
    case S_PBKDF2:
        return parse_pbkdf2(h, len, lim, ret);
    default:
        return GW_EINVAL;
    }
}

/* bcrypt and sha512-crypt: crypt_rn echoes the setting and appends the checksum; only the
 * checksum is compared (crypt normalises some setting details, e.g. bcrypt's last salt
 * character, which do not change the result). */
static int verify_crypt(const char *password, const char *hash, const parsed_t *ph)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return GW_ENOMEM;
    int rc = GW_EINVAL;
    const char *out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
    if (!out || out[0] == '*')
        goto done;
    /* The checksum has a fixed length and ends the output; bcrypt's follows the salt
     * directly, sha512-crypt's follows a '$'. */
    size_t sumlen = strlen(hash) - ph->sum_off, olen = strlen(out);
    if (olen <= sumlen || (ph->scheme == S_BCRYPT ? olen != BCRYPT_LEN : out[olen - sumlen - 1] != '$'))
        goto done;
    rc = CRYPTO_memcmp(out + olen - sumlen, hash + ph->sum_off, sumlen) == 0 ? GW_OK : GW_EDENIED;
done:
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return rc;
}

/* What argon2id checks may hold at once: each takes its m KiB for the whole computation,
 * and a burst of wrong passwords against memory-hard hashes (one IP within its rate, or a
 * few) must not take the node's memory. A check waits up to ARGON2_WAIT_S for its share,
 * then gives up (GW_ENOMEM: the caller answers "busy", never "wrong password"). */
#define ARGON2_WAIT_S 5
static pthread_mutex_t argon2_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t argon2_room = PTHREAD_COND_INITIALIZER;
static unsigned long argon2_budget_kib = 512UL * 1024, argon2_in_use_kib, argon2_peak_kib;

void gw_pwhash_set_argon2_budget(unsigned long kib)
{
    pthread_mutex_lock(&argon2_lock);
    argon2_budget_kib = kib;
    argon2_peak_kib = 0;
    pthread_cond_broadcast(&argon2_room);
    pthread_mutex_unlock(&argon2_lock);
}

unsigned long gw_pwhash_argon2_peak_kib(void)
{
    pthread_mutex_lock(&argon2_lock);
    unsigned long p = argon2_peak_kib;
    pthread_mutex_unlock(&argon2_lock);
    return p;
}

static int argon2_take(unsigned long kib)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ARGON2_WAIT_S;
    pthread_mutex_lock(&argon2_lock);
    int rc = 0;
    while (rc == 0 && kib <= argon2_budget_kib && argon2_in_use_kib + kib > argon2_budget_kib)
        rc = pthread_cond_timedwait(&argon2_room, &argon2_lock, &until);
    int ok = argon2_in_use_kib + kib <= argon2_budget_kib; /* one bigger than the budget: never */
    if (ok) {
        argon2_in_use_kib += kib;
        if (argon2_in_use_kib > argon2_peak_kib)
            argon2_peak_kib = argon2_in_use_kib;
    }
    pthread_mutex_unlock(&argon2_lock);
    return ok;
}

static void argon2_give_back(unsigned long kib)
{
    pthread_mutex_lock(&argon2_lock);
    argon2_in_use_kib -= kib;
    pthread_cond_broadcast(&argon2_room);
    pthread_mutex_unlock(&argon2_lock);
}

static int verify_argon2id(const char *password, const parsed_t *ph)
{
    unsigned char out[MAX_DIGEST];
    unsigned long kib = (unsigned long)ph->m_kib;
    if (!argon2_take(kib))
        return GW_ENOMEM;
    int arc = argon2id_hash_raw((uint32_t)ph->cost, (uint32_t)ph->m_kib, (uint32_t)ph->lanes, password,
                                strlen(password), ph->salt, ph->saltlen, out, ph->digestlen);
    int rc;
    if (arc == ARGON2_OK)
        rc = CRYPTO_memcmp(out, ph->digest, ph->digestlen) == 0 ? GW_OK : GW_EDENIED;
    else
        rc = arc == ARGON2_MEMORY_ALLOCATION_ERROR ? GW_ENOMEM : GW_EINVAL;
    argon2_give_back(kib);
    OPENSSL_cleanse(out, sizeof(out));
    return rc;
}

static int verify_pbkdf2(const char *password, const parsed_t *ph)
{
    unsigned char out[MAX_DIGEST];
    int rc = GW_ENOMEM;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), ph->salt, (int)ph->saltlen, (int)ph->cost, EVP_sha256(),
                          (int)ph->digestlen, out) == 1)
        rc = CRYPTO_memcmp(out, ph->digest, ph->digestlen) == 0 ? GW_OK : GW_EDENIED;
    OPENSSL_cleanse(out, sizeof(out));
    return rc;
}

static _Atomic unsigned long work_count[S_PBKDF2 + 1];

static int dummy_work(void)
{
    parsed_t ph;
    if (parse(dummy_hash, NULL, &ph) == GW_OK) {
        work_count[S_BCRYPT]++;
        (void)verify_crypt("", dummy_hash, &ph);
    }
    return GW_EDENIED;
}

int gw_pwhash_verify_limits(const char *password, const char *hash, const gw_pwhash_limits_t *limits)
{
    if (!password || !hash)
        return GW_EINVAL;
    parsed_t parsed, *ph = &parsed;
    int rc = parse(hash, limits, ph);
    if (rc != GW_OK)
        goto done;
    if (strnlen(password, GW_PWHASH_MAX_PASSWORD + 1) > GW_PWHASH_MAX_PASSWORD) {
        /* same time as a wrong password on an unknown user */
        rc = dummy_work();
        goto done;
    }
    work_count[ph->scheme]++;
    switch (ph->scheme) {
    case S_BCRYPT:
    case S_SHA512:
        rc = verify_crypt(password, hash, ph);
        break;
    case S_ARGON2ID:
        rc = verify_argon2id(password, ph);
        break;
    case S_PBKDF2:
        rc = verify_pbkdf2(password, ph);
        break;
    default:
        rc = GW_EINVAL;
    }
done:
    OPENSSL_cleanse(ph, sizeof(*ph));
    return rc;
}

int gw_pwhash_verify(const char *password, const char *hash) { return gw_pwhash_verify_limits(password, hash, NULL); }

int gw_pwhash_check(const char *hash) { return gw_pwhash_refusal(hash, NULL, 0); }

int gw_pwhash_refusal(const char *hash, char *why, size_t whylen)
{
    parsed_t ph = { 0 };
    int rc = hash ? parse(hash, NULL, &ph) : GW_EINVAL;
    if (rc == GW_OK || !why)
        return rc;
    const char *scheme = gw_pwhash_scheme(hash);
    if (!scheme)
        snprintf(why, whylen, "not a recognised scheme ($2a$, $2b$, $2y$, $argon2id$, $pbkdf2-sha256$, $6$)");
    else if (ph.why[0])
        snprintf(why, whylen, "%s", ph.why);
    else
        snprintf(why, whylen, "not a well-formed %s hash", scheme);
    return rc;
}

const char *gw_pwhash_scheme(const char *hash)
{
    switch (scheme_of(hash)) {
    case S_BCRYPT:
        return "bcrypt";
    case S_SHA512:
        return "sha512-crypt";
    case S_ARGON2ID:
        return "argon2id";
    case S_PBKDF2:
        return "pbkdf2-sha256";
    default:
        return NULL;
    }
}

int gw_pwhash_dummy_verify(const char *password)
{
    (void)password;
    return dummy_work();
}

int gw_pwhash_dummy_verify_like(const char *password, const char *model)
{
    if (!password || !model || gw_pwhash_check(model) != GW_OK)
        return dummy_work();
    (void)gw_pwhash_verify(password, model); /* its time, never its answer */
    return GW_EDENIED;
}

unsigned long gw_pwhash_work_count(const char *scheme)
{
    static const char *const names[] = {
        [S_BCRYPT] = "bcrypt", [S_SHA512] = "sha512-crypt", [S_ARGON2ID] = "argon2id", [S_PBKDF2] = "pbkdf2-sha256"
    };
    for (int i = S_BCRYPT; i <= S_PBKDF2; i++)
        if (scheme && !strcmp(names[i], scheme))
            return work_count[i];
    return 0;
}
