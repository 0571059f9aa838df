#include "gw_log.h"

#include "gw_util.h"

#include <stdarg.h>
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

/* JSON string body, ASCII only (\uXXXX for the rest, invalid UTF-8 as U+FFFD), cut
 * short rather than overflow. Returns the new position. */
static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    while (*p && pos + 16 < cap) {
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

static size_t put_field(char *buf, size_t pos, size_t cap, const char *k, const char *v)
{
    if (pos + 8 >= cap)
        return pos;
    if (pos > 1)
        buf[pos++] = ',';
    buf[pos++] = '"';
    pos = put_str(buf, pos, cap, k);
    buf[pos++] = '"';
    buf[pos++] = ':';
    buf[pos++] = '"';
    pos = put_str(buf, pos, cap, v);
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
void gw_log(gw_log_level_t lvl, const char *module, const char *msg, ...)
{
    if (lvl < min_level)
        return;
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
    va_list ap;
    va_start(ap, msg);
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
            pos = put_field(buf, pos, cap, k, v);
        }
    }
    va_end(ap);
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
