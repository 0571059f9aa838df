/* gw_util: buffers with caps, base64url, hex, random, hashes, URL coding, form parsing.
 * No gateway knowledge here. */
#ifndef GW_UTIL_H
#define GW_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One error enum for the whole daemon (STYLE.md 8.3): every layer returns these, GW_OK or
 * a negative value; gw_strerror names each. The token codes (GW_JWT_*) say why a JWS was
 * refused, for the logs; they are errors like the others (GW_JWT_OK is GW_OK). */
typedef enum gw_err {
    GW_OK = 0,
    GW_ENOMEM = -1,
    GW_EINVAL = -2,
    GW_ENOTFOUND = -3,
    GW_ECONFLICT = -4,
    GW_EUPSTREAM = -5,
    GW_ESTORE = -6,
    GW_EEXPIRED = -7,
    GW_EDENIED = -8,
    GW_EAGAIN = -9,
    GW_ETOOBIG = -10,
    GW_JWT_OK = GW_OK,
    GW_JWT_MALFORMED = -20,
    GW_JWT_ALG = -21, /* alg not in the allow-list (none, HS*, ...) */
    GW_JWT_UNKNOWN_KID = -22,
    GW_JWT_KEY_MISMATCH = -23, /* alg does not fit the key type */
    GW_JWT_SIGNATURE = -24,
    GW_JWT_JWKS_FETCH = -25,
    GW_JWT_NEED_KEYS = -26 /* gw_jwt_verify_cached: the JWKS would have to be fetched */
} gw_err_t;

/* A short English name of an error, for logs ("store unavailable"). */
const char *gw_strerror(int rc);

/* A growing byte buffer with a hard cap (0 = 64 MiB). Always NUL-terminated. */
typedef struct gw_buf {
    char *data;
    size_t len, cap, max;
    int failed; /* set once an append failed: the content is incomplete */
} gw_buf_t;

void gw_buf_init(gw_buf_t *b, size_t max);
void gw_buf_cleanup(gw_buf_t *b);
int gw_buf_add(gw_buf_t *b, const void *p, size_t n);
int gw_buf_adds(gw_buf_t *b, const char *s);
int gw_buf_printf(gw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *gw_buf_steal(gw_buf_t *b); /* returns data (caller frees), resets b */

char *gw_strdup(const char *s); /* NULL-safe; aborts on OOM */
char *gw_strndup(const char *s, size_t n); /* n bytes of s and a NUL; aborts on OOM */
void *gw_xmalloc(size_t n); /* aborts on OOM */
void *gw_xcalloc(size_t n, size_t m);
char *gw_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gw_streq(const char *a, const char *b); /* NULL-safe */
void gw_wipe_free(char *s); /* zero a secret string, then free */
/* Whether this process could write path without writing it now: an existing file is
 * writable, or a missing one could be created in its directory. 0, or -1 with
 * "path: why" in err. */
int gw_path_writable(const char *path, char *err, size_t errlen);

/* Constant-time equality of two strings of any length. */
int gw_ct_streq(const char *a, const char *b);

char *gw_b64url_encode(const void *p, size_t n);
/* Returns malloc'd bytes (NUL-terminated for convenience) or NULL on bad input. */
unsigned char *gw_b64url_decode(const char *s, size_t slen, size_t *ret_len);
char *gw_hex_encode(const void *p, size_t n);
int gw_hex_decode(const char *s, unsigned char *out, size_t outlen); /* exact length */
int gw_hex_digit(int c); /* 0..15, or -1 for a character that is not a hex digit */

int gw_random(void *p, size_t n);
char *gw_random_token(size_t nbytes); /* base64url of nbytes random bytes */
/* gw_random_token after 12 hex digits of the wall clock in milliseconds: keys made of it
 * sort by creation time, so a B-tree store appends them instead of writing a random page
 * per insert; the random part alone keeps them unguessable. */
char *gw_ordered_token(size_t nbytes);

void gw_sha256(const void *p, size_t n, unsigned char out[32]);
/* The SHA-256 EVP_MD, fetched once. */
const struct evp_md_st *gw_sha256_md(void);
char *gw_sha256_hex(const char *s);
char *gw_sha256_b64url(const char *s);
void gw_hmac_sha256(const void *key, size_t klen, const void *p, size_t n, unsigned char out[32]);

/* Percent-encoding of every byte but the unreserved ones (RFC 3986 2.3), a space as %20 */
char *gw_url_encode(const char *s);
/* application/x-www-form-urlencoded (the WHATWG form encoding): the same, but a space as '+' */
char *gw_form_encode(const char *s);
/* Decodes %XX and, if plus_is_space, '+'. NULL on a bad escape or a NUL byte. */
char *gw_url_decode(const char *s, size_t n, int plus_is_space);

/* A parsed query string or form body: name/value pairs, values decoded. */
typedef struct gw_form {
    size_t n;
    char **names, **values;
} gw_form_t;
/* Parses `s` (len bytes). Fails (GW_EINVAL) on bad escapes, on more than max_params pairs.
 * Repeated parameters are kept; gw_form_get returns the first and gw_form_count counts. */
int gw_form_parse(gw_form_t *f, const char *s, size_t len, size_t max_params);
const char *gw_form_get(const gw_form_t *f, const char *name);
size_t gw_form_count(const gw_form_t *f, const char *name);
void gw_form_cleanup(gw_form_t *f);

/* One parameter of a raw query string, percent-decoded only: a '+' stays a '+' (a value
 * that is standard base64, such as an encrypted code, keeps its meaning). GW_OK with a
 * malloc'd value in *ret; GW_ENOTFOUND when the name is not there; GW_EINVAL when it is
 * there twice or its value has a bad escape or a NUL byte (*ret NULL in both). A name is
 * compared after percent-decoding. */
int gw_query_param(const char *query, const char *name, char **ret);

/* Append "&name=value" (or "?name=value" when the URL has no query yet), encoded. */
void gw_url_add_param(gw_buf_t *url, const char *name, const char *value);

/* Cookie header lookup: returns malloc'd value or NULL. */
char *gw_cookie_get(const char *cookie_header, const char *name);

int64_t gw_now(void); /* seconds since epoch */
double gw_now_ms(void);

/* Space-separated list helpers */
int gw_list_has(const char *list, const char *word);

/* A short list of strings (a setting that repeats: redirect URIs, proxies). */
#define GW_MAX_LIST 16
typedef struct gw_strlist {
    size_t n;
    char *v[GW_MAX_LIST];
} gw_strlist_t;
int gw_strlist_has(const gw_strlist_t *l, const char *s);

/* An address range "ADDR/BITS", IPv4 or IPv6; a plain address is /32 or /128. */
typedef struct gw_cidr {
    int v6;
    unsigned char addr[16]; /* the network, host bits cleared */
    int bits;
} gw_cidr_t;
/* n bytes at s as a range: 0, or -1 with why in msg (a bad address, a bad or too long
 * prefix). */
int gw_cidr_parse(const char *s, size_t n, gw_cidr_t *out, char *msg, size_t msglen);
/* Whether addr (an IPv4 or IPv6 address, IPv4-mapped IPv6 read as IPv4) is in the range. */
int gw_cidr_match(const gw_cidr_t *c, const char *addr);
/* Whether addr is in a range of any entry of l, each entry one range or several separated
 * by commas; an entry that does not parse matches nothing. */
int gw_cidr_list_has(const gw_strlist_t *l, const char *addr);

/* How a file holding a secret may be open to others ([server] secret_file_mode). */
enum { GW_SECRET_MODE_ERROR = 0, GW_SECRET_MODE_WARN, GW_SECRET_MODE_OFF };
/* A file holding a secret, by its mode: readable or writable by other users is an error
 * (-1, err names the file, its mode and the chmod to run) under GW_SECRET_MODE_ERROR, a
 * warning under GW_SECRET_MODE_WARN; open to a group other than this process's, a
 * warning under both; nothing
 * under GW_SECRET_MODE_OFF. Warnings ("path: message") are added to warnings while it has
 * room. A file that cannot be read is left to its reader. */
int gw_secret_file_check(const char *path, int policy, gw_strlist_t *warnings, char *err, size_t errlen);

/* Masked form for logs: keep the first 3 and last 2 characters, '*' between
 * ("001*******45"); a string of 5 characters or fewer is masked whole. Works for any
 * string (NULL gives ""); writes at most outlen bytes incl. NUL, truncating. */
void gw_id_mask(const char *id, char *out, size_t outlen);

/* A whole string as a decimal integer in [min, max]: GW_OK with *ret set, or GW_EINVAL
 * (empty, a sign or digit missing, trailing bytes, out of range). */
int gw_parse_long(const char *s, long min, long max, long *ret);
/* The value of exactly n decimal digits at p (the caller checked they are digits). */
int gw_digits(const char *p, int n);

#endif
