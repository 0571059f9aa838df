#include "gw_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

void gw_buf_init(gw_buf_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : (64u << 20);
}

void gw_buf_cleanup(gw_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int buf_reserve(gw_buf_t *b, size_t extra)
{
    if (b->failed)
        return GW_ETOOBIG;
    if (extra > b->max || b->len + extra > b->max) {
        b->failed = 1;
        return GW_ETOOBIG;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return GW_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return GW_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return GW_OK;
}

int gw_buf_add(gw_buf_t *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return GW_OK;
}

int gw_buf_adds(gw_buf_t *b, const char *s) { return gw_buf_add(b, s, strlen(s)); }

int gw_buf_printf(gw_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return GW_EINVAL;
    if ((size_t)n < sizeof(tmp))
        return gw_buf_add(b, tmp, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return GW_OK;
}

char *gw_buf_steal(gw_buf_t *b)
{
    char *d = b->data;
    if (!d)
        d = gw_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void *gw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("eidgw: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *gw_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) {
        fputs("eidgw: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *gw_strndup(const char *s, size_t n)
{
    char *d = gw_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *gw_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = gw_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

char *gw_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fputs("eidgw: out of memory\n", stderr);
        abort();
    }
    return s;
}

int gw_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

void gw_wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int gw_ct_streq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    unsigned char ha[32], hb[32];
    size_t la = strlen(a), lb = strlen(b);
    /* Compare digests so the time does not depend on where the strings differ or
     * on the secret's length. */
    gw_sha256(a, la, ha);
    gw_sha256(b, lb, hb);
    return CRYPTO_memcmp(ha, hb, 32) == 0 && la == lb;
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *gw_b64url_encode(const void *p, size_t n)
{
    const unsigned char *s = p;
    char *out = gw_xmalloc(n / 3 * 4 + 5);
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
        out[o++] = B64URL[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
    }
    out[o] = 0;
    return out;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

unsigned char *gw_b64url_decode(const char *s, size_t n, size_t *ret_len)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return NULL;
    unsigned char *out = gw_xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    out[o] = 0;
    if (ret_len)
        *ret_len = o;
    return out;
}

char *gw_hex_encode(const void *p, size_t n)
{
    static const char H[] = "0123456789abcdef";
    const unsigned char *s = p;
    char *out = gw_xmalloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = H[s[i] >> 4];
        out[2 * i + 1] = H[s[i] & 15];
    }
    out[2 * n] = 0;
    return out;
}

int gw_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int gw_hex_decode(const char *s, unsigned char *out, size_t outlen)
{
    if (!s || strlen(s) != outlen * 2)
        return GW_EINVAL;
    for (size_t i = 0; i < outlen; i++) {
        int a = gw_hex_digit((unsigned char)s[2 * i]), b = gw_hex_digit((unsigned char)s[2 * i + 1]);
        if (a < 0 || b < 0)
            return GW_EINVAL;
        out[i] = (unsigned char)(a << 4 | b);
    }
    return GW_OK;
}

/* Small requests (tokens, IVs) are served from a per-thread buffer filled by OpenSSL's
 * DRBG 512 bytes at a time: one DRBG call per dozen tokens instead of one each. Bytes are
 * wiped as they are handed out; a forked child starts with an empty buffer. */
#define RAND_BUF 512
static unsigned rand_generation; /* bumped in a forked child */
static __thread struct {
    unsigned char b[RAND_BUF];
    size_t left;
    unsigned generation;
} rnd;
static void rand_forked(void) { __atomic_add_fetch(&rand_generation, 1, __ATOMIC_RELAXED); }
static void rand_atfork(void) { pthread_atfork(NULL, NULL, rand_forked); }

int gw_random(void *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, rand_atfork);
    if (n > RAND_BUF / 4)
        return RAND_bytes(p, (int)n) == 1 ? GW_OK : GW_EAGAIN;
    unsigned g = __atomic_load_n(&rand_generation, __ATOMIC_RELAXED);
    if (rnd.generation != g) {
        OPENSSL_cleanse(rnd.b, sizeof(rnd.b));
        rnd.left = 0;
        rnd.generation = g;
    }
    if (rnd.left < n) {
        if (RAND_bytes(rnd.b, RAND_BUF) != 1)
            return GW_EAGAIN;
        rnd.left = RAND_BUF;
    }
    unsigned char *src = rnd.b + RAND_BUF - rnd.left;
    memcpy(p, src, n);
    OPENSSL_cleanse(src, n);
    rnd.left -= n;
    return GW_OK;
}

char *gw_random_token(size_t nbytes)
{
    unsigned char b[64];
    if (nbytes > sizeof(b) || gw_random(b, nbytes) != GW_OK)
        abort();
    return gw_b64url_encode(b, nbytes);
}

char *gw_ordered_token(size_t nbytes)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u) & 0xffffffffffffull;
    char *r = gw_random_token(nbytes);
    char *t = gw_sprintf("%012" PRIx64 "%s", ms, r);
    free(r);
    return t;
}

/* SHA-256 fetched once: OpenSSL 3 looks an algorithm up in its provider tables on every
 * SHA256()/HMAC() call, which costs more than hashing a short input. */
static EVP_MD *sha256_fetched;
static void fetch_sha256(void) { sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL); }

const EVP_MD *gw_sha256_md(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_sha256);
    return sha256_fetched ? sha256_fetched : EVP_sha256();
}

/* SHA-256 of the concatenation of up to two parts. */
static void sha256_2(EVP_MD_CTX *c, const void *a, size_t na, const void *b, size_t nb, unsigned char out[32])
{
    unsigned int len = 32;
    if (!c || EVP_DigestInit_ex2(c, gw_sha256_md(), NULL) != 1 || EVP_DigestUpdate(c, a, na) != 1 ||
        (nb && EVP_DigestUpdate(c, b, nb) != 1) || EVP_DigestFinal_ex(c, out, &len) != 1)
        abort(); /* only on allocation failure: there is no digest to return */
}

void gw_sha256(const void *p, size_t n, unsigned char out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    sha256_2(c, p, n, NULL, 0, out);
    EVP_MD_CTX_free(c);
}

char *gw_sha256_hex(const char *s)
{
    unsigned char d[32];
    gw_sha256(s, strlen(s), d);
    return gw_hex_encode(d, 32);
}

char *gw_sha256_b64url(const char *s)
{
    unsigned char d[32];
    gw_sha256(s, strlen(s), d);
    return gw_b64url_encode(d, 32);
}

/* HMAC-SHA256 (RFC 2104) on the fetched digest. */
void gw_hmac_sha256(const void *key, size_t klen, const void *p, size_t n, unsigned char out[32])
{
    unsigned char k[64] = { 0 }, pad[64], inner[32];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (klen > sizeof(k))
        sha256_2(c, key, klen, NULL, 0, k);
    else if (klen)
        memcpy(k, key, klen);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    sha256_2(c, pad, sizeof(pad), p, n, inner);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    sha256_2(c, pad, sizeof(pad), inner, sizeof(inner), out);
    EVP_MD_CTX_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
}

/* Every byte but the unreserved ones as %XX; a space as '+' if space_plus. */
static char *percent_encode(const char *s, int space_plus)
{
    static const char H[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = gw_xmalloc(n * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else if (*p == ' ' && space_plus) {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = H[*p >> 4];
            *o++ = H[*p & 15];
        }
    }
    *o = 0;
    return out;
}

char *gw_url_encode(const char *s) { return percent_encode(s, 0); }

char *gw_form_encode(const char *s) { return percent_encode(s, 1); }

char *gw_url_decode(const char *s, size_t n, int plus_is_space)
{
    char *out = gw_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                goto bad;
            int a = gw_hex_digit((unsigned char)s[i + 1]), b = a < 0 ? -1 : gw_hex_digit((unsigned char)s[i + 2]);
            if (a < 0 || b < 0)
                goto bad;
            c = (unsigned char)(a << 4 | b);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0)
            goto bad;
        *o++ = (char)c;
    }
    *o = 0;
    return out;
bad:
    free(out);
    return NULL;
}

int gw_form_parse(gw_form_t *f, const char *s, size_t len, size_t max_params)
{
    memset(f, 0, sizeof(*f));
    if (!s || !len)
        return GW_OK;
    size_t cap = 0;
    const char *end = s + len, *p = s;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        if (amp > p) {
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            const char *nend = eq ? eq : amp;
            if (f->n >= max_params)
                goto bad;
            char *name = gw_url_decode(p, (size_t)(nend - p), 1);
            char *value = eq ? gw_url_decode(eq + 1, (size_t)(amp - eq - 1), 1) : gw_strdup("");
            if (!name || !value) {
                free(name);
                free(value);
                goto bad;
            }
            if (f->n == cap) {
                cap = cap ? cap * 2 : 8;
                f->names = realloc(f->names, cap * sizeof(char *));
                f->values = realloc(f->values, cap * sizeof(char *));
                if (!f->names || !f->values)
                    abort();
            }
            f->names[f->n] = name;
            f->values[f->n] = value;
            f->n++;
        }
        p = amp + 1;
    }
    return GW_OK;
bad:
    gw_form_cleanup(f);
    return GW_EINVAL;
}

const char *gw_form_get(const gw_form_t *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

size_t gw_form_count(const gw_form_t *f, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < f->n; i++)
        c += strcmp(f->names[i], name) == 0;
    return c;
}

void gw_form_cleanup(gw_form_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->values[i]);
    }
    free(f->names);
    free(f->values);
    memset(f, 0, sizeof(*f));
}

int gw_query_param(const char *query, const char *name, char **ret)
{
    *ret = NULL;
    size_t len = query ? strlen(query) : 0;
    const char *end = query + len, *p = query;
    char *found = NULL;
    int rc = GW_ENOTFOUND;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *nend = eq ? eq : amp;
        char *n = amp > p ? gw_url_decode(p, (size_t)(nend - p), 0) : NULL;
        if (n && !strcmp(n, name)) {
            if (found) { /* twice: neither is taken */
                free(n);
                rc = GW_EINVAL;
                goto done;
            }
            found = eq ? gw_url_decode(eq + 1, (size_t)(amp - eq - 1), 0) : gw_strdup("");
            if (!found) {
                free(n);
                rc = GW_EINVAL;
                goto done;
            }
        }
        free(n);
        p = amp + 1;
    }
    if (found) {
        *ret = found;
        return GW_OK;
    }
done:
    gw_wipe_free(found);
    return rc;
}

void gw_url_add_param(gw_buf_t *url, const char *name, const char *value)
{
    char *n = gw_url_encode(name), *v = gw_url_encode(value ? value : "");
    int has_q = url->data && strchr(url->data, '?');
    gw_buf_printf(url, "%c%s=%s", has_q ? '&' : '?', n, v);
    free(n);
    free(v);
}

char *gw_cookie_get(const char *h, const char *name)
{
    if (!h)
        return NULL;
    size_t nl = strlen(name);
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *semi = strchr(p, ';');
        size_t seg = semi ? (size_t)(semi - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = seg - nl - 1;
            while (vl && v[vl - 1] == ' ')
                vl--;
            char *out = gw_xmalloc(vl + 1);
            memcpy(out, v, vl);
            out[vl] = 0;
            return out;
        }
        if (!semi)
            break;
        p = semi + 1;
    }
    return NULL;
}

int64_t gw_now(void) { return (int64_t)time(NULL); }

double gw_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

int gw_list_has(const char *list, const char *word)
{
    if (!list || !word || !*word)
        return 0;
    size_t wl = strlen(word);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != ',')
            e++;
        if ((size_t)(e - p) == wl && strncmp(p, word, wl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

int gw_strlist_has(const gw_strlist_t *l, const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return 1;
    return 0;
}

int gw_path_writable(const char *path, char *err, size_t errlen)
{
    if (!access(path, W_OK))
        return 0;
    if (errno != ENOENT) {
        snprintf(err, errlen, "%s: cannot be written: %s", path, strerror(errno));
        return -1;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? gw_sprintf("%.*s", (int)(slash == path ? 1 : slash - path), path) : gw_strdup(".");
    int rc = access(dir, W_OK | X_OK);
    if (rc)
        snprintf(err, errlen, "%s: cannot be created: %s: %s", path, dir, strerror(errno));
    free(dir);
    return rc ? -1 : 0;
}

static void warn_add(gw_strlist_t *warnings, char *msg)
{
    if (warnings->n < GW_MAX_LIST)
        warnings->v[warnings->n++] = msg;
    else
        free(msg);
}

int gw_secret_file_check(const char *path, int policy, gw_strlist_t *warnings, char *err, size_t errlen)
{
    struct stat st;
    if (policy == GW_SECRET_MODE_OFF || stat(path, &st) || !S_ISREG(st.st_mode))
        return 0;
    unsigned mode = (unsigned)st.st_mode & 07777;
    if (mode & (S_IROTH | S_IWOTH)) {
        char *msg = gw_sprintf("%s: mode %04o lets every user of this machine read or change it, and it holds a "
                               "secret: run chmod o-rwx %s",
                               path, mode, path);
        if (policy == GW_SECRET_MODE_WARN) {
            warn_add(warnings, msg);
            return 0;
        }
        snprintf(err, errlen, "%s ([server] secret_file_mode = warn lets it pass)", msg);
        free(msg);
        return -1;
    }
    /* root:eidgw 0640 is how a configuration is installed for a daemon of group eidgw */
    if ((mode & (S_IRGRP | S_IWGRP)) && st.st_gid != getegid())
        warn_add(warnings, gw_sprintf("%s: mode %04o lets its group (gid %u) read it, and it holds a secret: run "
                                      "chmod g-rwx %s, or give it the daemon's group",
                                      path, mode, (unsigned)st.st_gid, path));
    return 0;
}

/* addr as 4 or 16 bytes: 4, 16, or 0 when it is not an address */
static int addr_bytes(const char *addr, unsigned char out[16])
{
    if (inet_pton(AF_INET, addr, out) == 1)
        return 4;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return 0;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) { /* a dual-stack socket's view of an IPv4 peer */
        memcpy(out, a6.s6_addr + 12, 4);
        return 4;
    }
    memcpy(out, a6.s6_addr, 16);
    return 16;
}

int gw_cidr_parse(const char *s, size_t n, gw_cidr_t *out, char *msg, size_t msglen)
{
    char a[64];
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    if (n >= sizeof(a)) {
        snprintf(msg, msglen, "'%.*s' is not an address or ADDRESS/BITS", (int)(n < 64 ? n : 64), s);
        return -1;
    }
    memcpy(a, s, n);
    a[n] = 0;
    char *slash = strchr(a, '/');
    if (slash)
        *slash = 0;
    memset(out, 0, sizeof(*out));
    int len = strchr(a, ':') ? 16 : 4; /* an IPv4-mapped range is written as IPv4 */
    int got = len == 16 ? inet_pton(AF_INET6, a, out->addr) : inet_pton(AF_INET, a, out->addr);
    if (got != 1) {
        snprintf(msg, msglen, "'%s' is not an IPv4 or IPv6 address", a);
        return -1;
    }
    long bits = len * 8;
    const char *digits = slash ? slash + 1 : "";
    if (slash && (!*digits || digits[strspn(digits, "0123456789")] || gw_parse_long(digits, 0, len * 8, &bits))) {
        snprintf(msg, msglen, "'/%s' is not a prefix length of 0..%d for %s", slash + 1, len * 8, a);
        return -1;
    }
    out->v6 = len == 16;
    out->bits = (int)bits;
    for (int i = 0; i < len; i++) { /* the network itself: 10.1.2.3/8 is 10.0.0.0/8 */
        int keep = out->bits - i * 8;
        out->addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
    return 0;
}

int gw_cidr_match(const gw_cidr_t *c, const char *addr)
{
    unsigned char b[16];
    int len = addr ? addr_bytes(addr, b) : 0;
    if (!len || (len == 16) != c->v6)
        return 0;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(b, c->addr, (size_t)full))
        return 0;
    return !rest || (b[full] & (unsigned char)(0xff << (8 - rest))) == c->addr[full];
}

int gw_cidr_list_has(const gw_strlist_t *l, const char *addr)
{
    char msg[128];
    for (size_t i = 0; addr && i < l->n; i++)
        for (const char *p = l->v[i]; *p;) {
            size_t n = strcspn(p, ",");
            gw_cidr_t c;
            if (!gw_cidr_parse(p, n, &c, msg, sizeof(msg)) && gw_cidr_match(&c, addr))
                return 1;
            p += n + (p[n] == ',');
        }
    return 0;
}

void gw_id_mask(const char *id, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return;
    size_t n = id ? strlen(id) : 0;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        /* Strings of 5 characters or fewer would be shown whole: mask them entirely. */
        int keep = n > 5 && (i < 3 || i >= n - 2);
        out[o++] = keep ? id[i] : '*';
    }
    out[o] = '\0';
}

int gw_parse_long(const char *s, long min, long max, long *ret)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return GW_EINVAL;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return GW_EINVAL;
    *ret = v;
    return GW_OK;
}

int gw_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

const char *gw_strerror(int rc)
{
    switch ((gw_err_t)rc) {
    case GW_OK:
        return "ok";
    case GW_ENOMEM:
        return "out of memory";
    case GW_EINVAL:
        return "invalid input";
    case GW_ENOTFOUND:
        return "not found";
    case GW_ECONFLICT:
        return "conflict";
    case GW_EUPSTREAM:
        return "upstream failed";
    case GW_ESTORE:
        return "store unavailable";
    case GW_EEXPIRED:
        return "expired";
    case GW_EDENIED:
        return "denied";
    case GW_EAGAIN:
        return "try again";
    case GW_ETOOBIG:
        return "too big";
    case GW_JWT_MALFORMED:
        return "malformed token";
    case GW_JWT_ALG:
        return "algorithm not allowed";
    case GW_JWT_UNKNOWN_KID:
        return "unknown key id";
    case GW_JWT_KEY_MISMATCH:
        return "algorithm does not fit the key";
    case GW_JWT_SIGNATURE:
        return "bad signature";
    case GW_JWT_JWKS_FETCH:
        return "JWKS unavailable";
    case GW_JWT_NEED_KEYS:
        return "JWKS fetch due";
    }
    return "error";
}
