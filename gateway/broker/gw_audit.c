/* gw_audit: hash-chained JSON-lines audit log (format in gw_audit.h). The writer keeps the
 * last seq and hash in memory and appends under a mutex, then waits for an fdatasync that
 * covers its line (one sync for every line written meanwhile); the verifier streams
 * the file with a capped line reader, so a damaged file cannot make it allocate much. */
#include "gw_audit.h"

#include "gw_idnum.h"
#include "gw_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HASH_HEX 64
#define TAIL_LEN 75 /* ,"hash":"<64 hex>"} */
#define TAIL_HEAD ",\"hash\":\""
#define MAX_DEPTH 32

static const char zero_hash[HASH_HEX + 1] = "0000000000000000000000000000000000000000000000000000000000000000";

struct gw_audit {
    pthread_mutex_t mu;
    int fd;
    char *node;
    long long seq; /* of the last line written, 0 for an empty file */
    char prev[HASH_HEX + 1]; /* hash of the last line */
    off_t size; /* file size after our last write */
    int is_broken; /* a partial line could not be removed: refuse further writes */
    /* group commit: one fdatasync covers every line written before it started */
    pthread_cond_t synced_cv;
    long long synced_seq; /* lines up to this seq are on disk */
    long long failed_seq; /* a sync covering lines up to this seq failed */
    int syncing; /* a thread is in fdatasync (outside the mutex) */
    long syncs; /* fdatasync calls made */
};

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void sha256_hex(const void *p, size_t n, char out[HASH_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[32];
    gw_sha256(p, n, d);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[HASH_HEX] = '\0';
}

/* ---- one line ---------------------------------------------------------------------------- */

/* Checks line `l` (n bytes, no "\n") against the canonical form. expect_seq 0 and
 * expect_prev NULL skip those checks (the last line at open). On success fills ret_seq and
 * ret_hash; on failure writes the reason to why. */
static int check_line(const char *l, size_t n, long long expect_seq, const char *expect_prev, long long *ret_seq,
                      char ret_hash[HASH_HEX + 1], char *why, size_t whylen)
{
    int rc = -1;
    if (n == 0) {
        snprintf(why, whylen, "empty line");
        return -1;
    }
    json_error_t jerr;
    /* \u0000 is JSON, and the writer emits it for a field value that holds a NUL */
    json_t *o = json_loadb(l, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!o) {
        snprintf(why, whylen, "bad JSON: %s (column %d)", jerr.text, jerr.column);
        return -1;
    }
    if (!json_is_object(o)) {
        snprintf(why, whylen, "bad JSON: not an object");
        goto done;
    }
    static const char *const strs[] = { "ts", "node", "event", "prev", "hash" };
    json_t *seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        snprintf(why, whylen, "missing or bad field \"seq\"");
        goto done;
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (!json_is_string(json_object_get(o, strs[i]))) {
            snprintf(why, whylen, "missing or bad field \"%s\"", strs[i]);
            goto done;
        }
    const char *prev = json_string_value(json_object_get(o, "prev"));
    if (strlen(prev) != HASH_HEX || !is_lower_hex(prev, HASH_HEX)) {
        snprintf(why, whylen, "bad field \"prev\" (not 64 lowercase hex digits)");
        goto done;
    }
    const char *hv = json_string_value(json_object_get(o, "hash"));
    const char *tail = n >= TAIL_LEN ? l + n - TAIL_LEN : NULL;
    if (!tail || memcmp(tail, TAIL_HEAD, 9) || !is_lower_hex(tail + 9, HASH_HEX) ||
        memcmp(tail + 9 + HASH_HEX, "\"}", 2) || strlen(hv) != HASH_HEX || memcmp(hv, tail + 9, HASH_HEX)) {
        snprintf(why, whylen, "bad field \"hash\" (the line must end with ,\"hash\":\"<64 lowercase hex>\"})");
        goto done;
    }
    long long s = json_integer_value(seq);
    if (expect_seq && s != expect_seq) {
        snprintf(why, whylen, "seq gap: expected %lld, found %lld", expect_seq, s);
        goto done;
    }
    if (expect_prev && strcmp(prev, expect_prev)) {
        snprintf(why, whylen, "prev mismatch: not the hash of the line before");
        goto done;
    }
    char h[HASH_HEX + 1];
    sha256_hex(l, n - TAIL_LEN, h);
    if (memcmp(h, tail + 9, HASH_HEX)) {
        snprintf(why, whylen, "hash mismatch: the line was changed");
        goto done;
    }
    *ret_seq = s;
    memcpy(ret_hash, h, HASH_HEX + 1);
    rc = 0;
done:
    json_decref(o);
    return rc;
}

/* ---- capped line reader -------------------------------------------------------------------- */

typedef struct reader {
    int fd;
    char *buf;
    size_t start, end, cap;
    int is_eof;
} reader_t;

enum { R_LINE = 1, R_EOF = 0, R_ERROR = -1, R_TOOLONG = -2 };

/* Next line without its "\n"; *ret_has_nl is 0 for a last line without one. */
static int next_line(reader_t *r, const char **ret_line, size_t *ret_len, int *ret_has_nl)
{
    size_t scanned = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned);
        if (nl) {
            *ret_line = r->buf + r->start;
            *ret_len = (size_t)(nl - (r->buf + r->start));
            *ret_has_nl = 1;
            r->start = (size_t)(nl - r->buf) + 1;
            return *ret_len + 1 > GW_AUDIT_MAX_LINE ? R_TOOLONG : R_LINE;
        }
        scanned = r->end - r->start;
        if (scanned >= GW_AUDIT_MAX_LINE)
            return R_TOOLONG;
        if (r->is_eof) {
            if (scanned == 0)
                return R_EOF;
            *ret_line = r->buf + r->start;
            *ret_len = scanned;
            *ret_has_nl = 0;
            r->start = r->end;
            return R_LINE;
        }
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, scanned);
            r->end = scanned;
            r->start = 0;
        }
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return R_ERROR;
        }
        if (got == 0)
            r->is_eof = 1;
        r->end += (size_t)got;
    }
}

/* Number of "\n" in the file (for line numbers in error messages); -1 on a read error. */
static long count_newlines(int fd)
{
    char buf[65536];
    long n = 0;
    off_t off = 0;
    for (;;) {
        ssize_t got = pread(fd, buf, sizeof(buf), off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (got == 0)
            return n;
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++)
            n++;
        off += got;
    }
}

/* ---- verify --------------------------------------------------------------------------------- */

int gw_audit_verify_file(const char *path, long *ret_events, long *ret_bad_line, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? GW_ENOTFOUND : GW_ESTORE;
    }
    reader_t r = { .fd = fd, .cap = 2 * GW_AUDIT_MAX_LINE };
    r.buf = gw_xmalloc(r.cap);
    char prev[HASH_HEX + 1], why[256];
    memcpy(prev, zero_hash, sizeof(prev));
    long line = 0;
    int rc = GW_OK;
    for (;;) {
        const char *l;
        size_t n;
        int has_nl;
        int got = next_line(&r, &l, &n, &has_nl);
        if (got == R_EOF)
            break;
        line++;
        if (got == R_ERROR) {
            snprintf(err, errlen, "line %ld: read error: %s", line, strerror(errno));
            rc = GW_ESTORE;
            goto done;
        }
        if (got == R_TOOLONG) {
            snprintf(why, sizeof(why), "line too long (over %d bytes)", GW_AUDIT_MAX_LINE);
        } else if (!has_nl) {
            snprintf(why, sizeof(why), "incomplete last line (no newline at the end; an interrupted write?)");
        } else {
            long long seq;
            if (check_line(l, n, line, prev, &seq, prev, why, sizeof(why)) == 0)
                continue;
        }
        snprintf(err, errlen, "%s", why);
        if (ret_bad_line)
            *ret_bad_line = line;
        rc = GW_EINVAL;
        goto done;
    }
    if (ret_events)
        *ret_events = line;
done:
    free(r.buf);
    close(fd);
    return rc;
}

/* ---- writer --------------------------------------------------------------------------------- */

/* Reads the last line of the open file and sets a->seq, a->prev. */
static int load_tail(gw_audit_t *a, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(a->fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    a->size = st.st_size;
    a->seq = 0;
    memcpy(a->prev, zero_hash, sizeof(a->prev));
    if (st.st_size == 0)
        return 0;
    size_t want = (size_t)(st.st_size < GW_AUDIT_MAX_LINE + 1 ? st.st_size : GW_AUDIT_MAX_LINE + 1);
    off_t off = st.st_size - (off_t)want;
    char *buf = gw_xmalloc(want);
    int rc = -1;
    size_t have = 0;
    while (have < want) {
        ssize_t got = pread(a->fd, buf + have, want - have, off + (off_t)have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            snprintf(err, errlen, "%s: cannot read the last line: %s", path, got < 0 ? strerror(errno) : "short read");
            goto done;
        }
        have += (size_t)got;
    }
    long nl = 0;
    if (buf[want - 1] != '\n') {
        nl = count_newlines(a->fd);
        snprintf(err, errlen,
                 "%s:%ld: last line is incomplete (no newline at the end; a write was interrupted): "
                 "the log is left as it is; check it with 'eidgw audit verify', then move the file "
                 "aside or remove that partial line",
                 path, nl + 1);
        goto done;
    }
    size_t start = want - 1;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 && off > 0) {
        nl = count_newlines(a->fd);
        snprintf(err, errlen, "%s:%ld: last line is too long (over %d bytes)", path, nl, GW_AUDIT_MAX_LINE);
        goto done;
    }
    char why[256];
    if (check_line(buf + start, want - 1 - start, 0, NULL, &a->seq, a->prev, why, sizeof(why))) {
        nl = count_newlines(a->fd);
        snprintf(err, errlen, "%s:%ld: last line is not a valid audit record: %s; run 'eidgw audit verify'", path, nl,
                 why);
        goto done;
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

gw_audit_t *gw_audit_open(const char *path, const char *node_id, char *err, size_t errlen)
{
    char host[256];
    if (!path) {
        snprintf(err, errlen, "audit: no path");
        return NULL;
    }
    if (!node_id) {
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "unknown");
        host[sizeof(host) - 1] = '\0';
        node_id = host;
    }
    json_t *node_json = json_string(node_id);
    if (!node_json) {
        snprintf(err, errlen, "%s: node id is not valid UTF-8", path);
        return NULL;
    }
    json_decref(node_json);
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EWOULDBLOCK ? "in use by another writer (locked)" : strerror(errno));
        close(fd);
        return NULL;
    }
    gw_audit_t *a = gw_xcalloc(1, sizeof(*a));
    a->fd = fd;
    if (load_tail(a, path, err, errlen)) {
        close(fd);
        free(a);
        return NULL;
    }
    a->node = gw_strdup(node_id);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->synced_cv, NULL);
    a->synced_seq = a->seq; /* what was in the file at open */
    return a;
}

long gw_audit_syncs(gw_audit_t *a)
{
    pthread_mutex_lock(&a->mu);
    long n = a->syncs;
    pthread_mutex_unlock(&a->mu);
    return n;
}

void gw_audit_close(gw_audit_t *a)
{
    if (!a)
        return;
    close(a->fd);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->synced_cv);
    free(a->node);
    free(a);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static int is_secret_key(const char *k)
{
    size_t n = strlen(k);
    return !strcasecmp(k, "password") || !strcasecmp(k, "secret") || !strcasecmp(k, "token") ||
           !strcasecmp(k, "code") || ends_with(k, n, "_password") || ends_with(k, n, "_secret") ||
           ends_with(k, n, "_token");
}

static int is_reserved_key(const char *k)
{
    static const char *const reserved[] = { "seq", "ts", "node", "event", "prev", "hash" };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!strcmp(k, reserved[i]))
            return 1;
    return 0;
}

/* Refuses secrets and masks _id12 values in v (a private copy), at any depth. */
static int sanitize(json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return GW_EINVAL;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (sanitize(json_array_get(v, i), depth + 1))
                return GW_EINVAL;
        return GW_OK;
    }
    if (!json_is_object(v))
        return GW_OK;
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        const char *k = json_object_iter_key(it);
        json_t *val = json_object_iter_value(it);
        if (is_secret_key(k))
            return GW_EINVAL;
        if (ends_with(k, strlen(k), "_id12")) {
            if (json_is_null(val))
                continue;
            if (!json_is_string(val))
                return GW_EINVAL;
            size_t n = json_string_length(val);
            char *masked = gw_xmalloc(n + 1);
            gw_id_mask(json_string_value(val), masked, n + 1);
            json_t *m = json_string(masked);
            free(masked);
            if (!m || json_object_iter_set_new(v, it, m))
                return GW_ENOMEM;
            continue;
        }
        if (sanitize(val, depth + 1))
            return GW_EINVAL;
    }
    return GW_OK;
}

static int valid_event(const char *e)
{
    size_t n = strlen(e);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = e[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static void format_ts(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Builds the complete line (with "\n") for the next seq; caller holds the mutex. */
static int build_line(gw_audit_t *a, const char *event, json_t *clean, char **ret_line, size_t *ret_len,
                      char ret_hash[HASH_HEX + 1])
{
    char ts[32];
    format_ts(ts);
    json_t *o = json_object();
    if (!o)
        return GW_ENOMEM;
    int rc = GW_ENOMEM;
    char *dump = NULL;
    if (json_object_set_new(o, "seq", json_integer(a->seq + 1)) || json_object_set_new(o, "ts", json_string(ts)) ||
        json_object_set_new(o, "node", json_string(a->node)) || json_object_set_new(o, "event", json_string(event)))
        goto done;
    const char *k;
    json_t *v;
    json_object_foreach (clean, k, v) {
        if (json_object_set(o, k, v))
            goto done;
    }
    if (json_object_set_new(o, "prev", json_string(a->prev)))
        goto done;
    dump = json_dumps(o, JSON_COMPACT);
    if (!dump)
        goto done;
    size_t plen = strlen(dump);
    if (plen < 2 || dump[plen - 1] != '}') {
        rc = GW_EINVAL;
        goto done;
    }
    plen--; /* P: everything before the closing brace */
    size_t n = plen + TAIL_LEN + 1;
    if (n > GW_AUDIT_MAX_LINE) {
        rc = GW_ETOOBIG;
        goto done;
    }
    char *line = malloc(n + 1);
    if (!line)
        goto done;
    sha256_hex(dump, plen, ret_hash);
    memcpy(line, dump, plen);
    snprintf(line + plen, n + 1 - plen, TAIL_HEAD "%s\"}\n", ret_hash);
    *ret_line = line;
    *ret_len = n;
    rc = GW_OK;
done:
    free(dump);
    json_decref(o);
    return rc;
}

int gw_audit_write(gw_audit_t *a, const char *event, json_t *fields)
{
    if (!a || !event || !valid_event(event) || (fields && !json_is_object(fields)))
        return GW_EINVAL;
    const char *k;
    json_t *v;
    json_object_foreach (fields, k, v) {
        if (is_reserved_key(k))
            return GW_EINVAL;
    }
    json_t *clean = fields ? json_deep_copy(fields) : json_object();
    if (!clean)
        return GW_ENOMEM;
    int rc = sanitize(clean, 0);
    if (rc != GW_OK) {
        json_decref(clean);
        return rc;
    }
    char *line = NULL;
    size_t n = 0;
    char hash[HASH_HEX + 1];
    pthread_mutex_lock(&a->mu);
    if (a->is_broken) {
        rc = GW_ESTORE;
        goto unlock;
    }
    rc = build_line(a, event, clean, &line, &n, hash);
    if (rc != GW_OK)
        goto unlock;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(a->fd, line + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (done < n) {
        /* Cut a partial line off again, or the next line would extend it. */
        if (done > 0 && ftruncate(a->fd, a->size) != 0)
            a->is_broken = 1;
        rc = GW_ESTORE;
        goto unlock;
    }
    a->size += (off_t)n;
    a->seq++;
    memcpy(a->prev, hash, sizeof(a->prev));
    /* The line is in the file either way; what follows is its durability. Group commit:
     * the first writer to get here syncs, outside the mutex, for every line written so
     * far; the writers whose lines arrive meanwhile wait for that sync, or the next one,
     * instead of syncing one after another. */
    long long mine = a->seq;
    rc = GW_OK;
    while (a->synced_seq < mine) {
        if (a->failed_seq >= mine) {
            rc = GW_ESTORE; /* the sync that covered this line failed */
            break;
        }
        if (a->syncing) {
            pthread_cond_wait(&a->synced_cv, &a->mu);
            continue;
        }
        a->syncing = 1;
        long long upto = a->seq;
        pthread_mutex_unlock(&a->mu);
        int ok = fdatasync(a->fd) == 0;
        pthread_mutex_lock(&a->mu);
        a->syncing = 0;
        a->syncs++;
        if (ok)
            a->synced_seq = upto;
        else
            a->failed_seq = upto;
        pthread_cond_broadcast(&a->synced_cv);
    }
unlock:
    pthread_mutex_unlock(&a->mu);
    free(line);
    json_decref(clean);
    return rc;
}
