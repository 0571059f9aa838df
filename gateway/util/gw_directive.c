#include "gw_directive.h"

#include "gw_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int gw_dir_verror(char *err, size_t errlen, const char *file, int line, const char *key, const char *fmt, va_list ap)
{
    char msg[384];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0 && key)
        snprintf(err, errlen, "%s:%d: %s: %s", file, line, key, msg);
    else if (line > 0)
        snprintf(err, errlen, "%s:%d: %s", file, line, msg);
    else
        snprintf(err, errlen, "%s: %s", file, msg);
    return -1;
}

int gw_dir_error(char *err, size_t errlen, const char *file, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_dir_verror(err, errlen, file, line, key, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_url(const char *v)
{
    if (strncmp(v, "https://", 8) && strncmp(v, "http://", 7))
        return 0;
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '#')
            return 0;
    const char *host = strstr(v, "://") + 3;
    return *host && *host != '/';
}

/* A unit a number may end with, and what it multiplies by. */
typedef struct unit {
    const char *suffix; /* "" for a bare number */
    long mul;
} unit_t;

/* seconds, at most 100 years; "ms" is not minutes */
static const unit_t duration_units[] = { { "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { 0 } };
static const long duration_max = 100L * 365 * 86400;
/* bytes, at most 1 TiB */
static const unit_t size_units[] = {
    { "", 1 }, { "k", 1024 }, { "K", 1024 }, { "m", 1024 * 1024 }, { "M", 1024 * 1024 }, { 0 }
};
static const long size_max = 1L << 40;

/* A whole number, then one suffix of units (nothing after it): the number times the
 * unit, at most max. 0, or -1 when v is not that. */
static int parse_units(const char *v, const unit_t *units, long max, long *ret)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || n < 0)
        return -1;
    for (const unit_t *u = units; u->suffix; u++) {
        if (strcmp(end, u->suffix))
            continue;
        if (n > max / u->mul)
            return -1;
        *ret = n * u->mul;
        return 0;
    }
    return -1;
}

static int parse_duration(const char *v, long *ret) { return parse_units(v, duration_units, duration_max, ret); }

/* exactly YYYY-MM-DDTHH:MM:SS then Z or +HH:MM / -HH:MM, a real calendar date */
static const char *parse_time(const char *v, int64_t *ret)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t vl = strlen(v);
    int okshape = vl >= 19;
    for (size_t k = 0; okshape && k < 19; k++)
        okshape = shape[k] == 'd' ? (v[k] >= '0' && v[k] <= '9') : v[k] == shape[k];
    const char *z = v + 19;
    char sign = 0;
    if (okshape && !strcmp(z, "Z"))
        sign = 'Z';
    else if (okshape && vl == 25 && (z[0] == '+' || z[0] == '-') && z[1] >= '0' && z[1] <= '9' && z[2] >= '0' &&
             z[2] <= '9' && z[3] == ':' && z[4] >= '0' && z[4] <= '9' && z[5] >= '0' && z[5] <= '9')
        sign = z[0];
    if (!sign && okshape)
        return "needs a zone: Z or +HH:MM";
    if (!sign)
        return "is not a date-time like 2024-07-01T00:00:00+07:00";
    int Y = gw_digits(v, 4), M = gw_digits(v + 5, 2), D = gw_digits(v + 8, 2), h = gw_digits(v + 11, 2),
        m = gw_digits(v + 14, 2), sec = gw_digits(v + 17, 2);
    int oh = sign == 'Z' ? 0 : gw_digits(z + 1, 2), om = sign == 'Z' ? 0 : gw_digits(z + 4, 2);
    struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec };
    int64_t t = (int64_t)timegm(&tm);
    struct tm back;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &back);
    if (M < 1 || M > 12 || h > 23 || m > 59 || sec > 59 || oh > 14 || om > 59 || back.tm_mday != D ||
        back.tm_mon != M - 1 || back.tm_year != Y - 1900)
        return "is not a real date and time";
    int64_t off = (int64_t)(oh * 3600 + om * 60);
    *ret = sign == '+' ? t - off : sign == '-' ? t + off : t;
    return NULL;
}

static int word_index(const char *words, const char *v)
{
    int i = 0;
    for (const char *w = words; *w;) {
        size_t n = strcspn(w, " ");
        if (n == strlen(v) && !strncmp(w, v, n))
            return i;
        w += n;
        while (*w == ' ')
            w++;
        i++;
    }
    return -1;
}

/* One value into its field. Messages carry the value where it helps. */
static int set_field(const gw_directive_t *d, void *base, const char *v, const char *file, int line, char *err,
                     size_t errlen)
{
    void *field = (char *)base + d->offset;
#define FAIL(...) return gw_dir_error(err, errlen, file, line, d->name, __VA_ARGS__)
    switch (d->type) {
    case GW_DIR_URL:
        if (!is_url(v))
            FAIL("'%s' is not an absolute http(s) URL", v);
        /* fallthrough */
    case GW_DIR_STR:
        if (!*v)
            FAIL("empty value");
        break;
    case GW_DIR_HEX64: {
        unsigned char tmp[32];
        if (gw_hex_decode(v, tmp, 32))
            FAIL("must be 64 hexadecimal characters (a SHA-256)");
        break;
    }
    case GW_DIR_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end)
            FAIL("'%s' is not a number", v);
        if (n < d->min || n > d->max)
            FAIL("%ld is out of range %ld..%ld", n, d->min, d->max);
        *(int *)field = (int)n;
        return 0;
    }
    case GW_DIR_SECONDS:
    case GW_DIR_SIZE: {
        int secs = d->type == GW_DIR_SECONDS;
        const char *unit = secs ? "s" : "";
        long n;
        if (secs ? parse_duration(v, &n) : parse_units(v, size_units, size_max, &n))
            FAIL("'%s' is not a %s", v, secs ? "duration (e.g. 30s, 5m, 8h, 1d)" : "size (e.g. 8k, 1m)");
        if (n < d->min || n > d->max)
            FAIL("%ld%s is out of range %ld%s..%ld%s", n, unit, d->min, unit, d->max, unit);
        *(long *)field = n;
        return 0;
    }
    case GW_DIR_TIME: {
        const char *why = parse_time(v, (int64_t *)field);
        if (why)
            FAIL("'%s' %s", v, why);
        return 0;
    }
    case GW_DIR_RATE: {
        char *slash = strchr(v, '/'), *end;
        long n = slash ? strtol(v, &end, 10) : -1;
        long w;
        if (!slash || end != slash || n < 1 || n > 1000000 || parse_duration(slash + 1, &w) || w < 1)
            FAIL("'%s' is not a rate like 5/15m", v);
        ((gw_rate_t *)field)->count = n;
        ((gw_rate_t *)field)->window = w;
        return 0;
    }
    case GW_DIR_BOOL:
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
            *(int *)field = 1;
        else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
            *(int *)field = 0;
        else
            FAIL("'%s' is not yes or no", v);
        return 0;
    case GW_DIR_WORD:
    case GW_DIR_CHOICE: {
        int i = word_index(d->words, v);
        if (!*v || i < 0)
            FAIL("'%s' is not one of: %s", v, d->words);
        if (d->type == GW_DIR_CHOICE) {
            *(int *)field = i;
            return 0;
        }
        break;
    }
    case GW_DIR_LIST:
    case GW_DIR_URL_LIST: {
        gw_strlist_t *l = field;
        if (!*v)
            FAIL("empty value");
        if (l->n >= GW_MAX_LIST)
            FAIL("at most %d values", GW_MAX_LIST);
        if (gw_strlist_has(l, v))
            FAIL("'%s' given twice", v);
        char msg[256];
        if (d->check && d->check(v, msg, sizeof(msg)))
            FAIL("%s", msg);
        if (d->type == GW_DIR_URL_LIST && !is_url(v))
            FAIL("'%s' is not an absolute http(s) URL without fragment", v);
        l->v[l->n++] = gw_strdup(v);
        return 0;
    }
    }
    /* the string kinds */
    char msg[256];
    if (d->check && d->check(v, msg, sizeof(msg)))
        FAIL("%s", msg);
    char **s = field;
    if (d->secret)
        gw_wipe_free(*s);
    else
        free(*s);
    *s = gw_strdup(v);
    return 0;
#undef FAIL
}

void gw_dir_open(gw_dir_section_t *s, const gw_directive_t *table, void *base, const char *name, const char *file,
                 int line)
{
    memset(s, 0, sizeof(*s));
    s->table = table;
    s->base = base;
    s->name = name;
    s->file = file;
    s->line = line;
}

const gw_directive_t *gw_dir_find(const gw_directive_t *table, const char *key)
{
    for (const gw_directive_t *d = table; d && d->name; d++)
        if (!strcmp(d->name, key))
            return d;
    return NULL;
}

int gw_dir_set(gw_dir_section_t *s, const char *key, const char *value, int line, char *err, size_t errlen)
{
    const gw_directive_t *d = gw_dir_find(s->table, key);
    if (!d)
        return gw_dir_error(err, errlen, s->file, line, key, "unknown key in [%s]", s->name);
    size_t i = (size_t)(d - s->table);
    int list = d->type == GW_DIR_LIST || d->type == GW_DIR_URL_LIST;
    if (!list && s->set_line[i])
        return gw_dir_error(err, errlen, s->file, line, key, "given twice");
    s->set_line[i] = line;
    return set_field(d, s->base, value, s->file, line, err, errlen);
}

void gw_dir_defaults(gw_dir_section_t *s)
{
    char err[256];
    for (size_t i = 0; s->table[i].name; i++)
        if (!s->set_line[i] && s->table[i].def)
            set_field(&s->table[i], s->base, s->table[i].def, s->file, s->line, err, sizeof(err));
}

int gw_dir_close(gw_dir_section_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; s->table[i].name; i++)
        if (s->table[i].required && !s->set_line[i])
            return gw_dir_error(err, errlen, s->file, s->line, s->table[i].name, "missing in section [%s]", s->name);
    gw_dir_defaults(s);
    return 0;
}

int gw_dir_line(const gw_dir_section_t *s, const char *key)
{
    const gw_directive_t *d = gw_dir_find(s->table, key);
    int l = d ? s->set_line[d - s->table] : 0;
    return l ? l : s->line;
}

void gw_dir_free(const gw_directive_t *table, void *base)
{
    if (!base)
        return;
    for (const gw_directive_t *d = table; d && d->name; d++) {
        void *field = (char *)base + d->offset;
        switch (d->type) {
        case GW_DIR_STR:
        case GW_DIR_URL:
        case GW_DIR_WORD:
        case GW_DIR_HEX64:
            if (d->secret)
                gw_wipe_free(*(char **)field);
            else
                free(*(char **)field);
            *(char **)field = NULL;
            break;
        case GW_DIR_LIST:
        case GW_DIR_URL_LIST: {
            gw_strlist_t *l = field;
            for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
            l->n = 0;
            break;
        }
        default:
            break;
        }
    }
}

void gw_dir_lines_add(gw_dir_lines_t *l, const char *key, const char *value, int line)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (!l->v)
            abort();
    }
    l->v[l->n++] = (gw_dir_line_t){ .key = gw_strdup(key), .value = gw_strdup(value), .line = line };
}

void gw_dir_lines_cleanup(gw_dir_lines_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        gw_wipe_free(l->v[i].value); /* a value may be a secret */
    }
    free(l->v);
    free(l->name);
    free(l->file);
    memset(l, 0, sizeof(*l));
}

void *gw_dir_settings_new(const gw_directive_t *table, size_t size, const gw_dir_lines_t *lines,
                          gw_dir_section_t *sec, char *err, size_t errlen)
{
    void *settings = gw_xcalloc(1, size);
    gw_dir_open(sec, table, settings, lines->name ? lines->name : "", lines->file ? lines->file : "", lines->line);
    if (!lines->line) {
        gw_dir_defaults(sec);
        return settings;
    }
    for (size_t i = 0; i < lines->n; i++)
        if (gw_dir_set(sec, lines->v[i].key, lines->v[i].value, lines->v[i].line, err, errlen))
            goto bad;
    if (gw_dir_close(sec, err, errlen))
        goto bad;
    return settings;
bad:
    gw_dir_settings_free(table, settings);
    return NULL;
}

void gw_dir_settings_free(const gw_directive_t *table, void *settings)
{
    gw_dir_free(table, settings);
    free(settings);
}
