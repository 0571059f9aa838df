/* HTTP/1.x request heads and chunked bodies (gw_h1.h). Strict where leniency lets two
 * readers of one request disagree (request smuggling): no folded lines, no space before
 * a field's colon, one Content-Length, no Content-Length next to Transfer-Encoding, one
 * well-formed Host (RFC 9112 3.2). A line may end in LF alone (RFC 9112 2.2). */
#include "gw_h1.h"

#include "gw_util.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The next line from *pos: its start and length without CR LF; -1 when no LF yet. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *llen)
{
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    if (!nl)
        return -1;
    *line = buf + *pos;
    *llen = (size_t)(nl - *line);
    if (*llen && (*line)[*llen - 1] == '\r')
        (*llen)--;
    *pos = (size_t)(nl - buf) + 1;
    return 0;
}

static int token_eq(const char *s, size_t n, const char *word) { return strlen(word) == n && !strncasecmp(s, word, n); }

/* Connection: a comma-separated list of options */
static void connection_options(const char *v, size_t n, gw_h1_head_t *h)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (token_eq(v + s, i - s, "close"))
            h->keep_alive = 0;
        else if (token_eq(v + s, i - s, "keep-alive") && h->minor == 0)
            h->keep_alive = 1;
    }
}

static int request_line(const char *l, size_t n, gw_h1_head_t *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (!i || i >= n || l[i] != ' ')
        return -400;
    h->method = l;
    h->mlen = i++;
    size_t t = i;
    while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7F)
        i++;
    if (i == t || i >= n || l[i] != ' ')
        return -400;
    h->target = l + t;
    h->tlen = i - t;
    const char *v = l + i + 1;
    size_t vn = n - i - 1;
    if (vn != 8 || strncmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return -400;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return -505;
    h->minor = v[7] - '0';
    h->keep_alive = h->minor == 1;
    return 0;
}

static int field_line(const char *l, size_t n, gw_h1_head_t *h)
{
    if (l[0] == ' ' || l[0] == '\t')
        return -400; /* obs-fold */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (!i || i >= n || l[i] != ':')
        return -400;
    if (h->nfields >= GW_H1_MAX_HEADERS)
        return -431;
    size_t vs = i + 1, ve = n;
    while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
        vs++;
    while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
        ve--;
    for (size_t k = vs; k < ve; k++) {
        unsigned char c = (unsigned char)l[k];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return -400;
    }
    gw_h1_field_t *f = &h->field[h->nfields++];
    f->name = l;
    f->nlen = i;
    f->value = l + vs;
    f->vlen = ve - vs;
    return 0;
}

/* An IP-literal's inside (RFC 3986 3.2.2): an IPv6 address; IPvFuture names nothing we serve. */
static int is_ipv6(const char *s, size_t n)
{
    char text[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    if (!n || n >= sizeof(text))
        return 0;
    memcpy(text, s, n);
    text[n] = 0;
    return inet_pton(AF_INET6, text, addr) == 1;
}

/* reg-name or IPv4address (RFC 3986 3.2.2): unreserved, sub-delims and %XX; no userinfo ('@') */
static int is_reg_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || gw_hex_digit((unsigned char)s[i + 1]) < 0 || gw_hex_digit((unsigned char)s[i + 2]) < 0)
                return 0;
            i += 2;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     (c && strchr("-._~!$&'()*+,;=", c)))) {
            return 0;
        }
    }
    return 1;
}

/* Host = uri-host [ ":" port ] (RFC 9112 3.2), port digits only; empty is allowed (a
 * target without an authority) */
static int host_valid(const char *v, size_t n)
{
    size_t end = n; /* where the uri-host ends */
    if (n && v[0] == '[') {
        const char *close = memchr(v, ']', n);
        if (!close || !is_ipv6(v + 1, (size_t)(close - v) - 1))
            return 0;
        end = (size_t)(close - v) + 1;
    } else {
        const char *colon = memchr(v, ':', n);
        end = colon ? (size_t)(colon - v) : n;
        if (!is_reg_name(v, end))
            return 0;
    }
    if (end == n)
        return 1;
    if (v[end] != ':')
        return 0;
    for (size_t i = end + 1; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

/* What the fields say about the body and the connection */
static int framing(gw_h1_head_t *h)
{
    int te = 0, hosts = 0;
    for (size_t k = 0; k < h->nfields; k++) {
        const gw_h1_field_t *f = &h->field[k];
        if (token_eq(f->name, f->nlen, "host")) {
            /* one, well-formed: two readers must agree on which site a request is for */
            if (hosts++ || !host_valid(f->value, f->vlen))
                return -400;
        } else if (token_eq(f->name, f->nlen, "content-length")) {
            if (!f->vlen || f->vlen > 15)
                return -400;
            long long v = 0;
            for (size_t i = 0; i < f->vlen; i++) {
                if (f->value[i] < '0' || f->value[i] > '9')
                    return -400;
                v = v * 10 + (f->value[i] - '0');
            }
            if (h->content_length >= 0 && h->content_length != v)
                return -400;
            h->content_length = v;
        } else if (token_eq(f->name, f->nlen, "transfer-encoding")) {
            if (te++ || !token_eq(f->value, f->vlen, "chunked"))
                return te > 1 ? -400 : -501;
            h->chunked = 1;
        } else if (token_eq(f->name, f->nlen, "connection")) {
            connection_options(f->value, f->vlen, h);
        } else if (token_eq(f->name, f->nlen, "expect")) {
            h->expect_continue = h->minor == 1 && token_eq(f->value, f->vlen, "100-continue");
        }
    }
    if (h->chunked && (h->content_length >= 0 || h->minor == 0))
        return -400;
    if (!hosts && h->minor == 1)
        return -400; /* HTTP/1.0 predates Host */
    return 0;
}

ssize_t gw_h1_parse_head(const char *buf, size_t len, size_t max, gw_h1_head_t *h)
{
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    size_t pos = 0;
    while (pos < len && pos < 8 && (buf[pos] == '\r' || buf[pos] == '\n'))
        pos++; /* empty lines before a request (RFC 9112 2.2) */
    const char *l;
    size_t n;
    int first = 1;
    for (;;) {
        if (next_line(buf, len, &pos, &l, &n))
            return len > max ? -431 : 0;
        if (pos > max)
            return -431;
        int rc;
        if (first) {
            rc = request_line(l, n, h);
            first = 0;
        } else if (!n) {
            rc = framing(h);
            return rc ? rc : (ssize_t)pos;
        } else {
            rc = field_line(l, n, h);
        }
        if (rc)
            return rc;
    }
}

/* no control byte but HTAB (a bare CR, a NUL, DEL): what a chunk line's extension and a
 * trailer field may hold, as for header fields */
static int clean(const char *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* chunk-size [ BWS ";" chunk-ext ] (RFC 9112 7.1.1): the size, or -1 when malformed, -2
 * when past cap */
static long long chunk_line(const char *l, size_t n, size_t cap)
{
    size_t size = 0, i = 0;
    int d;
    while (i < n && (d = gw_hex_digit((unsigned char)l[i])) >= 0) {
        if (size > cap)
            return -2;
        size = size * 16 + (size_t)d;
        i++;
    }
    if (!i || !clean(l + i, n - i))
        return -1;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    if (i < n ? l[i] != ';' : i > 0 && (l[i - 1] == ' ' || l[i - 1] == '\t'))
        return -1; /* whitespace only before an extension; an extension's content is not used */
    return (long long)size;
}

/* a trailer field: name ":" value, the name a token, nothing a header field may not hold */
static int trailer_line(const char *l, size_t n)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    return i > 0 && i < n && l[i] == ':' && clean(l, n);
}

/* The chunked body from st (where an earlier call stopped): decoded into out when out is
 * not NULL. st moves to each complete chunk or trailer line it passes. */
static ssize_t chunked(const char *buf, size_t len, char *out, size_t cap, gw_h1_chunks_t *st)
{
    const char *l;
    size_t n;
    while (!st->trailer) {
        size_t pos = st->pos;
        if (next_line(buf, len, &pos, &l, &n) || pos - st->pos > 4097) /* a chunk line is at most 4096 bytes */
            return len - st->pos > 4096 ? -400 : 0;
        long long size = chunk_line(l, n, cap);
        if (size == -1)
            return -400;
        if (size == -2 || (size_t)size > cap - st->got)
            return -413;
        if (!size) {
            st->pos = pos;
            st->trailer = 1;
            break;
        }
        if (len - pos < (size_t)size + 1)
            return 0;
        if (out)
            memcpy(out + st->got, buf + pos, (size_t)size);
        pos += (size_t)size;
        if (buf[pos] == '\r') {
            if (len - pos < 2)
                return 0;
            pos++;
        }
        if (buf[pos] != '\n')
            return -400;
        st->got += (size_t)size;
        st->pos = pos + 1;
    }
    for (;;) { /* trailer fields, up to the empty line; none is used */
        size_t pos = st->pos;
        if (next_line(buf, len, &pos, &l, &n) || pos - st->pos > 8193) /* a trailer line, at most 8192 */
            return len - st->pos > 8192 ? -400 : 0;
        st->pos = pos;
        if (!n)
            return (ssize_t)pos;
        if (!trailer_line(l, n))
            return -400;
    }
}

ssize_t gw_h1_scan_chunked(const char *buf, size_t len, size_t cap, gw_h1_chunks_t *st)
{
    return chunked(buf, len, NULL, cap, st);
}

ssize_t gw_h1_parse_chunked(const char *buf, size_t len, char *out, size_t cap, size_t *outlen)
{
    gw_h1_chunks_t st = { 0 };
    ssize_t rc = chunked(buf, len, out, cap, &st);
    if (rc > 0)
        *outlen = st.got;
    return rc;
}

const char *gw_h1_field(const gw_h1_head_t *h, const char *name, size_t *vlen)
{
    for (size_t k = 0; k < h->nfields; k++)
        if (token_eq(h->field[k].name, h->field[k].nlen, name)) {
            *vlen = h->field[k].vlen;
            return h->field[k].value;
        }
    return NULL;
}
