#include "gw_log.h"

#include "gw_util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static gw_log_level_t min_level = GW_LOG_INFO;
static const char *names[] = { "debug", "info", "warn", "error" };

void gw_log_set_level(gw_log_level_t lvl) { min_level = lvl; }

gw_log_level_t gw_log_parse_level(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i]))
            return (gw_log_level_t)i;
    return GW_LOG_INFO;
}

/* JSON string body of s up to end, ASCII only (\uXXXX for the rest, invalid UTF-8 as
 * U+FFFD), cut short rather than overflow. Returns the new position. */
static size_t put_strn(char *buf, size_t pos, size_t cap, const char *s, const char *end)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    while (p < (const unsigned char *)end && *p && pos + 16 < cap) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
            p++;
            continue;
        }
        if (c >= 0x20 && c < 0x7f) {
            buf[pos++] = (char)c;
            p++;
            continue;
        }
        unsigned cp = 0xfffd;
        size_t n = 1;
        if (c < 0x80) {
            cp = c;
        } else if (c >= 0xc2 && c <= 0xdf && (p[1] & 0xc0) == 0x80) {
            cp = ((c & 0x1fu) << 6) | (p[1] & 0x3fu);
            n = 2;
        } else if (c >= 0xe0 && c <= 0xef && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
            cp = ((c & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
            n = 3;
            if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
                cp = 0xfffd;
        } else if (c >= 0xf0 && c <= 0xf4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80) {
            cp = ((c & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
            n = 4;
            if (cp < 0x10000 || cp > 0x10ffff)
                cp = 0xfffd;
        }
        p += n;
        unsigned units[2] = { cp, 0 };
        int nu = 1;
        if (cp >= 0x10000) {
            units[0] = 0xd800 + ((cp - 0x10000) >> 10);
            units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
            nu = 2;
        }
        for (int i = 0; i < nu; i++) {
            buf[pos++] = '\\';
            buf[pos++] = 'u';
            buf[pos++] = hex[(units[i] >> 12) & 15];
            buf[pos++] = hex[(units[i] >> 8) & 15];
            buf[pos++] = hex[(units[i] >> 4) & 15];
            buf[pos++] = hex[units[i] & 15];
        }
    }
    return pos;
}

static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    return put_strn(buf, pos, cap, s, s + strlen(s));
}

static size_t put_key(char *buf, size_t pos, size_t cap, const char *k)
{
    if (pos > 1)
        buf[pos++] = ',';
    buf[pos++] = '"';
    pos = put_str(buf, pos, cap, k);
    buf[pos++] = '"';
    buf[pos++] = ':';
    buf[pos++] = '"';
    return pos;
}

static size_t put_field(char *buf, size_t pos, size_t cap, const char *k, const char *v)
{
    if (pos + 8 >= cap)
        return pos;
    pos = put_str(buf, put_key(buf, pos, cap, k), cap, v);
    buf[pos++] = '"';
    return pos;
}

/* A value the caller passed: most come from a request (a path, a header, a name), so one
 * is cut at GW_LOG_VALUE_MAX bytes, on a character's boundary, and says how long it was. */
static size_t put_value(char *buf, size_t pos, size_t cap, const char *k, const char *v)
{
    size_t n = strlen(v);
    if (n <= GW_LOG_VALUE_MAX || pos + 8 >= cap)
        return put_field(buf, pos, cap, k, v);
    size_t cut = GW_LOG_VALUE_MAX;
    while (cut && ((unsigned char)v[cut] & 0xc0) == 0x80)
        cut--;
    char mark[48];
    snprintf(mark, sizeof(mark), "...[%zu bytes]", n);
    pos = put_strn(buf, put_key(buf, pos, cap, k), cap, v, v + cut);
    pos = put_str(buf, pos, cap, mark);
    buf[pos++] = '"';
    return pos;
}

static void write_all(const char *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, p + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

/* Lines held on this thread (gw_log_hold), written together by gw_log_flush. */
#define HOLD_CAP 65536 /* > a line's 8 KB buffer */
static __thread struct {
    char *buf;
    size_t len;
} held;

/* One line, printed straight into a buffer and written with one write(2): a line per
 * request must cost little, and lines from different threads never interleave. */
static void vlog(gw_log_level_t lvl, const char *module, const char *msg, va_list ap)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    /* the formatted second, per thread */
    static __thread time_t ts_sec = -1;
    static __thread char ts_base[32];
    if (tv.tv_sec != ts_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        strftime(ts_base, sizeof(ts_base), "%Y-%m-%dT%H:%M:%S", &tm);
        ts_sec = tv.tv_sec;
    }
    char ts[40];
    snprintf(ts, sizeof(ts), "%s.%03dZ", ts_base, (int)(tv.tv_usec / 1000));
    char buf[8192];
    size_t cap = sizeof(buf) - 16, pos = 0;
    buf[pos++] = '{';
    pos = put_field(buf, pos, cap, "ts", ts);
    pos = put_field(buf, pos, cap, "level", names[lvl]);
    pos = put_field(buf, pos, cap, "module", module ? module : "");
    pos = put_field(buf, pos, cap, "msg", msg ? msg : "");
    const char *seen[32];
    size_t nseen = 0;
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        if (!v)
            continue;
        size_t kl = strlen(k);
        if (!strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "module") || !strcmp(k, "msg"))
            continue; /* never let a field overwrite the line's own keys */
        int dup = 0;
        for (size_t i = 0; i < nseen && !dup; i++)
            dup = !strcmp(seen[i], k);
        if (dup)
            continue; /* a key appears once: the first value given */
        if (nseen < 32)
            seen[nseen++] = k;
        if (kl >= 5 && !strcmp(k + kl - 5, "_id12")) {
            char masked[64];
            gw_id_mask(v, masked, sizeof(masked));
            pos = put_field(buf, pos, cap, k, masked);
        } else {
            pos = put_value(buf, pos, cap, k, v);
        }
    }
    buf[pos++] = '}';
    buf[pos++] = '\n';
    if (held.buf) {
        if (held.len + pos > HOLD_CAP)
            gw_log_flush();
        memcpy(held.buf + held.len, buf, pos);
        held.len += pos;
        if (lvl >= GW_LOG_WARN)
            gw_log_flush();
        return;
    }
    write_all(buf, pos);
}

static void log_line(gw_log_level_t lvl, const char *module, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    vlog(lvl, module, msg, ap);
    va_end(ap);
}

/* Repeated warnings: per module and message, at most `burst` lines a window; the rest are
 * counted and said in one line when the window has passed (at the next line logged, of
 * any kind) or when the slot is taken by another message. A flood of bad requests then
 * costs a few lines, not one each. */
#define RATE_SLOTS 64
typedef struct rate_slot {
    char module[32], msg[128]; /* the key, cut: a message is the caller's constant */
    int64_t window_start; /* ms, monotonic */
    unsigned count; /* lines written in this window */
    unsigned long suppressed; /* lines dropped in it */
} rate_slot_t;
static rate_slot_t slots[RATE_SLOTS];
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned rate_burst = GW_LOG_WARN_BURST;
static int64_t rate_window_ms = GW_LOG_WARN_WINDOW_MS;
static _Atomic int64_t rate_due = INT64_MAX; /* the earliest end of a window with lines dropped */

/* What a slot held back, to be said out of the lock. */
typedef struct rate_report {
    char module[32], msg[128];
    unsigned long suppressed;
} rate_report_t;

void gw_log_set_warn_rate(unsigned burst, long window_ms)
{
    pthread_mutex_lock(&rate_lock);
    rate_burst = burst ? burst : GW_LOG_WARN_BURST;
    rate_window_ms = window_ms > 0 ? window_ms : GW_LOG_WARN_WINDOW_MS;
    memset(slots, 0, sizeof(slots));
    atomic_store(&rate_due, INT64_MAX);
    pthread_mutex_unlock(&rate_lock);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Ends a slot's window: what it dropped goes into r (r->suppressed 0: nothing). */
static void slot_reset(rate_slot_t *sl, int64_t now, rate_report_t *r)
{
    r->suppressed = sl->suppressed;
    memcpy(r->module, sl->module, sizeof(r->module));
    memcpy(r->msg, sl->msg, sizeof(r->msg));
    sl->window_start = now;
    sl->count = 0;
    sl->suppressed = 0;
}

static void rate_due_update(void)
{
    int64_t due = INT64_MAX;
    for (int i = 0; i < RATE_SLOTS; i++)
        if (slots[i].suppressed && slots[i].window_start + rate_window_ms < due)
            due = slots[i].window_start + rate_window_ms;
    atomic_store(&rate_due, due);
}

static void report(const rate_report_t *r)
{
    if (!r->suppressed)
        return;
    char what[48], n[24];
    snprintf(what, sizeof(what), "suppressed %lu similar", r->suppressed);
    snprintf(n, sizeof(n), "%lu", r->suppressed);
    log_line(GW_LOG_WARN, r->module, what, "of", r->msg, "count", n, NULL);
}

/* 1: write this warning; 0: drop it (counted). Says first what an ended window dropped. */
static int rate_admit(const char *module, const char *msg, int64_t now)
{
    unsigned h = 2166136261u;
    for (const char *p = module; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = msg; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    rate_report_t r = { .suppressed = 0 };
    pthread_mutex_lock(&rate_lock);
    rate_slot_t *sl = &slots[h % RATE_SLOTS];
    int same = !strncmp(sl->module, module, sizeof(sl->module) - 1) && !strncmp(sl->msg, msg, sizeof(sl->msg) - 1);
    if (!same || now - sl->window_start >= rate_window_ms)
        slot_reset(sl, now, &r);
    if (!same) {
        snprintf(sl->module, sizeof(sl->module), "%s", module);
        snprintf(sl->msg, sizeof(sl->msg), "%s", msg);
    }
    int admit = sl->count < rate_burst;
    if (admit)
        sl->count++;
    else
        sl->suppressed++;
    if (r.suppressed || !admit)
        rate_due_update();
    pthread_mutex_unlock(&rate_lock);
    report(&r);
    return admit;
}

/* The windows that have passed with lines dropped: said now. */
static void rate_sweep(int64_t now)
{
    rate_report_t r[8];
    int n = 0;
    pthread_mutex_lock(&rate_lock);
    for (int i = 0; i < RATE_SLOTS && n < 8; i++)
        if (slots[i].suppressed && now - slots[i].window_start >= rate_window_ms)
            slot_reset(&slots[i], now, &r[n++]);
    rate_due_update();
    pthread_mutex_unlock(&rate_lock);
    for (int i = 0; i < n; i++)
        report(&r[i]);
}

void gw_log(gw_log_level_t lvl, const char *module, const char *msg, ...)
{
    if (lvl < min_level)
        return;
    module = module ? module : "";
    msg = msg ? msg : "";
    int64_t now = now_ms();
    if (now >= atomic_load_explicit(&rate_due, memory_order_relaxed))
        rate_sweep(now);
    if (lvl >= GW_LOG_WARN && !rate_admit(module, msg, now))
        return;
    va_list ap;
    va_start(ap, msg);
    vlog(lvl, module, msg, ap);
    va_end(ap);
}

void gw_log_hold(int on)
{
    gw_log_flush();
    if (on && !held.buf)
        held.buf = malloc(HOLD_CAP);
    else if (!on) {
        free(held.buf);
        held.buf = NULL;
    }
}

void gw_log_flush(void)
{
    if (held.len)
        write_all(held.buf, held.len);
    held.len = 0;
}
