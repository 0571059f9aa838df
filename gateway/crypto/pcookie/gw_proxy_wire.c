#include "gw_proxy_wire.h"

#include <string.h>

static unsigned char norm_ch(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c - 'A' + 'a');
    if (c == '_' || c == '.')
        return '-';
    return c;
}

/* 1 when the first n bytes of a and b are equal after normalisation */
static int norm_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (norm_ch((unsigned char)a[i]) != norm_ch((unsigned char)b[i]))
            return 0;
    return 1;
}

int gw_pw_is_identity_header(const char *name, size_t len, const char *const *claims, const size_t *claim_lens,
                             size_t nclaims)
{
    const size_t plen = sizeof(GW_PW_HDR_PREFIX) - 1;
    if (len >= plen && norm_eq(name, GW_PW_HDR_PREFIX, plen))
        return 1;
    for (size_t i = 0; i < nclaims; i++)
        if (claim_lens[i] == len && norm_eq(name, claims[i], len))
            return 1;
    return 0;
}

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static int header_safe(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '%'; }

/* %XX-encodes every byte keep() refuses */
static size_t encode(const unsigned char *in, size_t len, char *out, int (*keep)(unsigned char))
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (!keep(c)) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

size_t gw_pw_pct_encode(const unsigned char *in, size_t len, char *out) { return encode(in, len, out, header_safe); }

size_t gw_pw_url_encode(const unsigned char *in, size_t len, char *out) { return encode(in, len, out, unreserved); }

uint64_t gw_pw_sid_hash(const char *sid, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)sid[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

int gw_pw_rev_lookup(const unsigned char *map, size_t maplen, uint64_t hash, uint64_t now)
{
    uint32_t nslots;
    if (!map || maplen < GW_PW_REV_HDR || memcmp(map, GW_PW_REV_MAGIC, 8) != 0)
        return -1;
    memcpy(&nslots, map + 8, sizeof nslots);
    if (nslots == 0 || (nslots & (nslots - 1)) || (maplen - GW_PW_REV_HDR) / 16 < nslots)
        return -1;
    const unsigned char *slots = map + GW_PW_REV_HDR;
    for (uint32_t n = 0, i = (uint32_t)hash & (nslots - 1); n < nslots; n++, i = (i + 1) & (nslots - 1)) {
        const volatile uint64_t *slot = (const volatile uint64_t *)(const void *)(slots + 16u * i);
        uint64_t h = slot[0];
        if (h == 0)
            return 0;
        if (h == hash)
            return slot[1] > now;
    }
    return 0;
}

int gw_pw_safe_path(const char *p)
{
    if (p[0] != '/' || p[1] == '/' || p[1] == '\\')
        return 0;
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\')
            return 0;
    return 1;
}

int gw_pw_ambiguous_path(const char *uri)
{
    size_t plen = strcspn(uri, "?#");
    for (size_t i = 0; i < plen; i++) {
        if (uri[i] == '%' || uri[i] == '\\' || uri[i] == ';') /* ';': "..;" is ".." to servlet containers */
            return 1;
        if (uri[i] != '/' || i + 1 >= plen)
            continue;
        size_t r = plen - i - 1; /* what follows this '/' */
        const char *seg = uri + i + 1;
        if (seg[0] == '/' || (seg[0] == '.' && (r == 1 || seg[1] == '/')) ||
            (r >= 2 && seg[0] == '.' && seg[1] == '.' && (r == 2 || seg[2] == '/')))
            return 1;
    }
    return 0;
}

int gw_pw_bypassed(const char *uri, const char *const *prefixes, size_t n)
{
    if (!uri || uri[0] != '/' || gw_pw_ambiguous_path(uri))
        return 0;
    size_t plen = strcspn(uri, "?#");
    if (plen >= 8 && !strncmp(uri, "/.eidgw/", 8))
        return 1;
    for (size_t i = 0; i < n; i++) { /* whole segments: "/healthz" is not "/healthzadmin" */
        size_t k = strlen(prefixes[i]);
        if (plen >= k && !strncmp(uri, prefixes[i], k) && (plen == k || uri[k] == '/' || uri[k - 1] == '/'))
            return 1;
    }
    return 0;
}
