/* gw_h1: the HTTP/1.x request reader of the I/O threads (RFC 9112). Pure functions over
 * a buffer: the connection code (gw_http.c) reads, calls these, and answers. */
#ifndef GW_H1_H
#define GW_H1_H

#include <stddef.h>
#include <sys/types.h>

#define GW_H1_MAX_HEADERS 100

typedef struct {
    const char *name, *value; /* in the caller's buffer, not NUL-terminated */
    size_t nlen, vlen;
} gw_h1_field_t;

typedef struct {
    const char *method, *target;
    size_t mlen, tlen;
    int minor; /* HTTP/1.0 or HTTP/1.1 */
    gw_h1_field_t field[GW_H1_MAX_HEADERS];
    size_t nfields;
    long long content_length; /* -1: none */
    int chunked; /* Transfer-Encoding: chunked */
    int keep_alive; /* after this request, per version and Connection */
    int expect_continue; /* Expect: 100-continue */
} gw_h1_head_t;

/* Reads the request head at buf. Returns its length (through the empty line) when it is
 * complete, 0 when more is needed (and len is within max), or a negative HTTP status:
 * -400 malformed (also: an HTTP/1.1 request without Host; more than one Host, or one
 * that is not uri-host[:port]), -431 head longer than max or too many fields, -501 a
 * transfer coding other than chunked, -505 not HTTP/1.0 or 1.1. */
ssize_t gw_h1_parse_head(const char *buf, size_t len, size_t max, gw_h1_head_t *h);

/* A chunked body at buf (after the head). Returns the bytes it takes (through the
 * trailer section) when complete, with the data decoded into out (*outlen bytes, at
 * most cap), 0 when more is needed, -413 when the data would pass cap, -400 when
 * malformed (a chunk line other than size [BWS ";" extension], a control byte but HTAB in
 * an extension or a trailer field, a trailer line that is not name ":" value). out needs
 * room for cap bytes. */
ssize_t gw_h1_parse_chunked(const char *buf, size_t len, char *out, size_t cap, size_t *outlen);

/* Where reading a chunked body stopped: the next chunk or trailer line at pos, got bytes
 * of data before it. Zeroed for a new body. */
typedef struct gw_h1_chunks {
    size_t pos, got;
    int trailer;
} gw_h1_chunks_t;
/* gw_h1_parse_chunked's answer without the data, going on from st: a body that arrives a
 * little at a time is read once in all, not once per arrival. */
ssize_t gw_h1_scan_chunked(const char *buf, size_t len, size_t cap, gw_h1_chunks_t *st);

/* The field's value (first of that name, case-insensitive) or NULL; *vlen its length. */
const char *gw_h1_field(const gw_h1_head_t *h, const char *name, size_t *vlen);

#endif
