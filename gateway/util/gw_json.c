/* A strict JSON reader building jansson values (gw_json.h). One pass over the text:
 * a string without escapes is checked in place and copied once into its json_t; only a
 * string with escapes is decoded into a buffer first. Numbers are converted by the C
 * library like jansson does (strtoll, strtod); the daemon never changes LC_NUMERIC. */
#include "gw_json.h"

#include "gw_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *start, *p, *end;
    int depth;
    char *err;
    size_t errlen;
} rd_t;

static json_t *fail(rd_t *r, const char *msg)
{
    if (r->err && !r->err[0])
        snprintf(r->err, r->errlen, "%s at offset %zu", msg, (size_t)(r->p - r->start));
    return NULL;
}

static void skip_ws(rd_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* Length of the valid UTF-8 sequence at s (first byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int hex4(const unsigned char *s, const unsigned char *end, unsigned *out)
{
    if (end - s < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = gw_hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* r->p is just past the opening quote. On success *s and *n give the string's content: in the
 * text itself, or in *owned (decoded escapes; the caller frees it). */
static int read_string(rd_t *r, const char **s, size_t *n, char **owned)
{
    const unsigned char *q = r->p, *end = r->end;
    *owned = NULL;
    for (;;) { /* the usual case: no escape */
        if (q >= end) {
            r->p = q;
            return fail(r, "unterminated string"), -1;
        }
        unsigned c = *q;
        if (c == '"') {
            *s = (const char *)r->p;
            *n = (size_t)(q - r->p);
            r->p = q + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20) {
            r->p = q;
            return fail(r, "control character in string"), -1;
        }
        if (c < 0x80) {
            q++;
            continue;
        }
        size_t k = utf8_seq(q, end);
        if (!k) {
            r->p = q;
            return fail(r, "invalid UTF-8"), -1;
        }
        q += k;
    }
    /* escapes: the decoded string is never longer than its text; find where it ends */
    const unsigned char *close = q;
    while (close < end && *close != '"')
        close += *close == '\\' && end - close > 1 ? 2 : 1;
    if (close >= end) {
        r->p = end;
        return fail(r, "unterminated string"), -1;
    }
    unsigned char *out = malloc((size_t)(close - r->p) + 1), *o = out;
    if (!out)
        return fail(r, "out of memory"), -1;
    memcpy(o, r->p, (size_t)(q - r->p));
    o += q - r->p;
    while (q < close) {
        unsigned c = *q;
        if (c == '\\') {
            unsigned e = q[1];
            q += 2;
            switch (e) {
            case '"':
                *o++ = '"';
                break;
            case '\\':
                *o++ = '\\';
                break;
            case '/':
                *o++ = '/';
                break;
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(q, close, &cp)) {
                    r->p = q;
                    goto bad_escape;
                }
                q += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    r->p = q;
                    goto bad_unicode;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (close - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, close, &lo) || lo < 0xDC00 ||
                        lo > 0xDFFF) {
                        r->p = q;
                        goto bad_unicode;
                    }
                    q += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (!cp) {
                    r->p = q;
                    free(out);
                    return fail(r, "\\u0000 is not allowed"), -1;
                }
                o += put_utf8(o, cp);
                break;
            }
            default:
                r->p = q - 1;
                goto bad_escape;
            }
            continue;
        }
        if (c < 0x20) {
            r->p = q;
            free(out);
            return fail(r, "control character in string"), -1;
        }
        size_t k = c < 0x80 ? 1 : utf8_seq(q, close);
        if (!k) {
            r->p = q;
            free(out);
            return fail(r, "invalid UTF-8"), -1;
        }
        memcpy(o, q, k);
        o += k;
        q += k;
    }
    r->p = close + 1;
    *owned = (char *)out;
    *s = (const char *)out;
    *n = (size_t)(o - out);
    return 0;
bad_escape:
    free(out);
    return fail(r, "invalid escape"), -1;
bad_unicode:
    free(out);
    return fail(r, "invalid \\u escape (lone surrogate)"), -1;
}

/* Past the one or more digits at p, or NULL when there is none. */
static const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q = p;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q > p ? q : NULL;
}

static json_t *read_number(rd_t *r)
{
    const unsigned char *s = r->p, *p = r->p, *end = r->end, *q;
    int real = 0;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!(q = digits(p, end)))
        goto bad;
    else
        p = q;
    if (p < end && *p == '.') {
        real = 1;
        if (!(q = digits(++p, end)))
            goto bad;
        p = q;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(q = digits(p, end)))
            goto bad;
        p = q;
    }
    size_t n = (size_t)(p - s);
    char small[64], *t = n < sizeof(small) ? small : malloc(n + 1);
    if (!t)
        return fail(r, "out of memory");
    memcpy(t, s, n);
    t[n] = 0;
    json_t *v = NULL;
    errno = 0;
    if (real) {
        double d = strtod(t, NULL);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
            fail(r, "real number overflow");
        else if (!(v = json_real(d)))
            fail(r, "invalid real");
    } else {
        long long i = strtoll(t, NULL, 10);
        if (errno == ERANGE)
            fail(r, "integer out of range");
        else if (!(v = json_integer(i)))
            fail(r, "out of memory");
    }
    if (t != small)
        free(t);
    r->p = p;
    return v;
bad:
    r->p = p;
    return fail(r, "invalid number");
}

static json_t *read_value(rd_t *r);

/* One "key": value of an object into obj; 0, or -1 with the reason set. */
static int read_member(rd_t *r, json_t *obj)
{
    if (r->p >= r->end || *r->p != '"')
        return fail(r, "'\"' expected"), -1;
    const unsigned char *at = r->p++;
    const char *k;
    size_t kn;
    char *owned;
    if (read_string(r, &k, &kn, &owned))
        return -1;
    int rc = -1;
    if (json_object_getn(obj, k, kn)) {
        r->p = at;
        fail(r, "duplicate object key");
        goto out;
    }
    skip_ws(r);
    if (r->p >= r->end || *r->p != ':') {
        fail(r, "':' expected");
        goto out;
    }
    r->p++;
    skip_ws(r);
    json_t *v = read_value(r);
    if (!v)
        goto out;
    if (json_object_setn_new_nocheck(obj, k, kn, v))
        fail(r, "out of memory");
    else
        rc = 0;
out:
    free(owned);
    return rc;
}

/* An object (close '}') or an array (close ']'); r->p is on its opening character. */
static json_t *read_container(rd_t *r, char close)
{
    if (++r->depth > GW_JSON_MAX_DEPTH)
        return fail(r, "nested too deep");
    json_t *c = close == '}' ? json_object() : json_array();
    if (!c)
        return fail(r, "out of memory");
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        r->depth--;
        return c;
    }
    for (;;) {
        if (close == '}') {
            if (read_member(r, c))
                break;
        } else {
            json_t *v = read_value(r);
            if (!v)
                break;
            if (json_array_append_new(c, v)) {
                fail(r, "out of memory");
                break;
            }
        }
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            r->depth--;
            return c;
        }
        fail(r, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
        break;
    }
    json_decref(c);
    return NULL;
}

static json_t *literal(rd_t *r, const char *word, size_t n, json_t *v)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return fail(r, "invalid literal");
    r->p += n;
    return v;
}

static json_t *read_value(rd_t *r)
{
    if (r->p >= r->end)
        return fail(r, "value expected");
    switch (*r->p) {
    case '{':
        return read_container(r, '}');
    case '[':
        return read_container(r, ']');
    case '"': {
        r->p++;
        const char *s;
        size_t n;
        char *owned;
        if (read_string(r, &s, &n, &owned))
            return NULL;
        json_t *v = json_stringn_nocheck(s, n);
        free(owned);
        return v ? v : fail(r, "out of memory");
    }
    case 't':
        return literal(r, "true", 4, json_true());
    case 'f':
        return literal(r, "false", 5, json_false());
    case 'n':
        return literal(r, "null", 4, json_null());
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return read_number(r);
        return fail(r, "value expected");
    }
}

json_t *gw_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    rd_t r = {
        (const unsigned char *)text, (const unsigned char *)text, (const unsigned char *)text + len, 0, err, errlen
    };
    if (err && errlen)
        err[0] = 0;
    if (!text)
        return fail(&r, "no text");
    skip_ws(&r);
    if (r.p >= r.end || (*r.p != '{' && *r.p != '['))
        return fail(&r, "'[' or '{' expected");
    json_t *v = read_value(&r);
    if (!v)
        return NULL;
    skip_ws(&r);
    if (r.p != r.end) {
        json_decref(v);
        return fail(&r, "end of text expected");
    }
    return v;
}

json_t *gw_json_parse_str(const char *text) { return text ? gw_json_parse(text, strlen(text), NULL, 0) : NULL; }

const char *gw_jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

void gw_jset(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}
