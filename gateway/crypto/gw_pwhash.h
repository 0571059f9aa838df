/* gw_pwhash: verifies a password against a hash imported from a legacy portal account, so a
 * citizen can prove "this old account is mine" once before it is linked. Pure computation,
 * no I/O; safe to call from any thread (no shared state). Callers run it on a worker thread:
 * a check costs tens to hundreds of milliseconds by design.
 *
 * Accepted formats (anything else is GW_EINVAL):
 *   bcrypt         $2a$NN$<22 salt><31 hash>, also $2b$ and $2y$   (libxcrypt crypt_rn)
 *   sha512-crypt   $6$SALT$<86 hash>, $6$rounds=N$SALT$<86 hash>, SALT 1..16 characters of
 *                  ./0-9A-Za-z, N >= 1000 (libxcrypt crypt_rn)
 *   argon2id       $argon2id$v=19$m=M,t=T,p=P$SALT$HASH, SALT (8..1024 bytes) and HASH
 *                  (4..128 bytes) in standard base64 without padding (PHC string format;
 *                  libargon2 argon2id_hash_raw; no keyid/data parameters)
 *   pbkdf2-sha256  $pbkdf2-sha256$ROUNDS$SALT$HASH as written by Python passlib: SALT and HASH
 *                  in "adapted base64" (standard alphabet with '.' instead of '+', no padding),
 *                  HASH 32 bytes, SALT 0..1024 bytes  (OpenSSL PKCS5_PBKDF2_HMAC)
 * Parsing is strict: exact field counts, decimal numbers without sign or leading zeros,
 * canonical base64 (unused trailing bits zero), no trailing bytes.
 *
 * Cost caps: an imported hash must not be able to pin a worker, so a hash whose cost exceeds
 * these is GW_EINVAL without computing anything:
 *   bcrypt cost <= 14; sha512-crypt rounds <= 5,000,000; PBKDF2 rounds <= 2,000,000;
 *   argon2id m <= 262144 KiB (256 MiB), t <= 10, p <= 16.
 * Passwords longer than GW_PWHASH_MAX_PASSWORD bytes never match (GW_EDENIED after the time of
 * gw_pwhash_dummy_verify): sha512-crypt's cost grows with the password length (crypt(3)
 * itself refuses 512 bytes and more). bcrypt uses only the first 72 bytes.
 * Comparisons of computed and stored hashes are constant-time (CRYPTO_memcmp). */
#ifndef GW_PWHASH_H
#define GW_PWHASH_H

#include <stddef.h>

#define GW_PWHASH_MAX_PASSWORD 256

/* GW_OK: the password matches. GW_EDENIED: it does not. GW_EINVAL: the hash is unknown,
 * malformed or over a cost cap, or password/hash is NULL. GW_ENOMEM: out of memory, or the
 * argon2id checks under way hold the process's budget for them (512 MiB) for 5 s. */
int gw_pwhash_verify(const char *password, const char *hash);

/* Stricter caps, e.g. for a fuzzer or a config that wants cheaper checks. A field can only
 * lower the built-in cap; 0 keeps the built-in value. */
typedef struct gw_pwhash_limits {
    unsigned bcrypt_cost; /* log2 rounds */
    unsigned long sha512_rounds;
    unsigned long pbkdf2_rounds;
    unsigned long argon2_m_kib, argon2_t, argon2_p;
} gw_pwhash_limits_t;

/* As gw_pwhash_verify with `limits` (NULL = built-in caps). */
int gw_pwhash_verify_limits(const char *password, const char *hash, const gw_pwhash_limits_t *limits);

/* Checks the format and the caps without a password, e.g. when accounts are imported:
 * GW_OK when gw_pwhash_verify would compute, GW_EINVAL otherwise (also for NULL). Cheap. */
int gw_pwhash_check(const char *hash);
/* The same, saying why a hash is refused (never quoting it): an unknown scheme, a cost
 * outside the caps above (naming the cap), or a malformed hash of a known scheme. */
int gw_pwhash_refusal(const char *hash, char *why, size_t whylen);

/* Scheme name from the prefix only ("bcrypt", "argon2id", "pbkdf2-sha256", "sha512-crypt"),
 * or NULL for anything else (including NULL). Does not validate the rest of the hash. */
const char *gw_pwhash_scheme(const char *hash);

/* For an unknown user or an account without a hash: spends about the time of a bcrypt
 * cost-10 check and always returns GW_EDENIED, so a wrong user and a wrong password get the
 * same answer after the same time. (Hashes of other schemes or costs take their own time.) */
int gw_pwhash_dummy_verify(const char *password);

/* The stand-in check for an unknown user of a portal whose accounts have hashes: the same
 * work as checking the password against `model` (a hash of one of that portal's accounts,
 * so the scheme and its cost are the portal's own), and always GW_EDENIED, even when the
 * password is the model's. With no usable model, gw_pwhash_dummy_verify. */
int gw_pwhash_dummy_verify_like(const char *password, const char *model);

/* Hash computations done by this process, by scheme name (as gw_pwhash_scheme); for
 * status pages and tests. Unknown names: 0. */
unsigned long gw_pwhash_work_count(const char *scheme);

/* The memory argon2id checks may hold at once (default 512 MiB; a check bigger than it is
 * refused at once), and the most they held since it was set: for tests. */
void gw_pwhash_set_argon2_budget(unsigned long kib);
unsigned long gw_pwhash_argon2_peak_kib(void);

#endif
