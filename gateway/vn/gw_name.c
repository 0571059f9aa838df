/* gw_name: display form, comparison keys, population-DB forms and the legacy-encoding
 * detector for personal names (docs/domain.md section 11), on libutf8proc.
 *
 * Every function works on UTF-32 code points: the input is checked, mapped and brought to
 * NFC once (display form), and each key or form is derived from that. Buffers start on the
 * stack and move to the heap only for long names. */
#include "gw_name.h"
#include "gw_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* A code point vector: `local` until it needs more. */
typedef struct cpvec {
    utf8proc_int32_t *v;
    size_t n, cap;
    utf8proc_int32_t local[512];
} cpvec_t;

static void cv_init(cpvec_t *c)
{
    c->v = c->local;
    c->n = 0;
    c->cap = sizeof(c->local) / sizeof(c->local[0]);
}

static void cv_cleanup(cpvec_t *c)
{
    if (c->v != c->local)
        free(c->v);
    c->v = c->local;
}

static int cv_reserve(cpvec_t *c, size_t need)
{
    if (need <= c->cap)
        return GW_OK;
    size_t cap = c->cap;
    while (cap < need)
        cap *= 2;
    utf8proc_int32_t *v = malloc(cap * sizeof(*v));
    if (!v)
        return GW_ENOMEM;
    memcpy(v, c->v, c->n * sizeof(*v));
    if (c->v != c->local)
        free(c->v);
    c->v = v;
    c->cap = cap;
    return GW_OK;
}

static int cv_push(cpvec_t *c, utf8proc_int32_t cp)
{
    if (c->n == c->cap && cv_reserve(c, c->n + 1))
        return GW_ENOMEM;
    c->v[c->n++] = cp;
    return GW_OK;
}

static int is_bidi_control(utf8proc_int32_t cp)
{
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Rule 1: valid UTF-8, no controls, no U+FFFD. */
static int check_input(const char *in, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)in;
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0 || cp < 0)
            return GW_EINVAL;
        if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xFFFD || is_bidi_control(cp))
            return GW_EINVAL;
        i += (size_t)k;
    }
    return GW_OK;
}

static int is_space_like(utf8proc_int32_t cp)
{
    if (cp == 0x20 || cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
        cp == 0x205F || cp == 0x3000 || cp == 0xFEFF)
        return 1;
    return cp > 0x7F && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

/* Rule 2, applied to every code point before decomposition. */
static utf8proc_int32_t map_lookalike(utf8proc_int32_t cp, void *data)
{
    (void)data;
    switch (cp) {
    case 0x00D0:
        return 0x0110; /* Ð -> Đ */
    case 0x00F0:
        return 0x0111; /* ð -> đ */
    case 0x0060:
    case 0x02BC:
    case 0x2018:
    case 0x2019:
        return '\'';
    default:
        break;
    }
    if (cp >= 0x2010 && cp <= 0x2015)
        return '-';
    if (is_space_like(cp))
        return ' ';
    return cp;
}

/* Decompose `len` bytes of (already checked) UTF-8 into `out` with the given options. */
static int decompose(const char *in, size_t len, utf8proc_option_t opt, utf8proc_custom_func fn, cpvec_t *out)
{
    for (;;) {
        utf8proc_ssize_t n = utf8proc_decompose_custom((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, out->v,
                                                       (utf8proc_ssize_t)out->cap, opt, fn, NULL);
        if (n < 0)
            return n == UTF8PROC_ERROR_NOMEM ? GW_ENOMEM : GW_EINVAL;
        if ((size_t)n <= out->cap) {
            out->n = (size_t)n;
            return GW_OK;
        }
        out->n = 0;
        if (cv_reserve(out, (size_t)n))
            return GW_ENOMEM;
    }
}

/* Canonical composition of a decomposed, canonically ordered vector, in place. */
static void compose(cpvec_t *c)
{
    if (c->n == 0)
        return;
    utf8proc_ssize_t n = utf8proc_normalize_utf32(c->v, (utf8proc_ssize_t)c->n, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n >= 0)
        c->n = (size_t)n;
}

static size_t utf8_len(utf8proc_int32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

/* UTF-8 encoding of c->v[0..n) into out, NUL-terminated; GW_ETOOBIG when it does not fit. */
static int encode(const cpvec_t *c, char *out, size_t outlen)
{
    size_t need = 1;
    for (size_t i = 0; i < c->n; i++)
        need += utf8_len(c->v[i]);
    if (need > outlen)
        return GW_ETOOBIG;
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++)
        w += (size_t)utf8proc_encode_char(c->v[i], (utf8proc_uint8_t *)out + w);
    out[w] = '\0';
    return GW_OK;
}

/* The display form as code points (rules 1-3 without the case fold). */
static int display_cps(const char *in, cpvec_t *c)
{
    if (!in)
        return GW_EINVAL;
    size_t len = strlen(in);
    if (len > GW_NAME_MAX_IN)
        return GW_ETOOBIG;
    int rc = check_input(in, len);
    if (rc)
        return rc;
    rc = decompose(in, len, UTF8PROC_STABLE | UTF8PROC_COMPOSE, map_lookalike, c);
    if (rc)
        return rc;
    /* and again after decomposition: a canonical singleton can decompose to a look-alike
     * (U+1FEF GREEK VARIA is U+0060, the backtick), and the display form must be a fixed point */
    for (size_t i = 0; i < c->n; i++)
        c->v[i] = map_lookalike(c->v[i], NULL);
    compose(c);
    /* collapse space runs and trim: composition never creates or joins across a space */
    size_t w = 0;
    int pending = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i] == ' ') {
            pending = w > 0;
            continue;
        }
        if (pending)
            c->v[w++] = ' ';
        pending = 0;
        c->v[w++] = c->v[i];
    }
    c->n = w;
    return GW_OK;
}

/* The display form as UTF-8 in a heap or stack buffer owned by the caller's vector. */
static int display_utf8(const char *in, cpvec_t *c, char **ret, size_t *ret_len, char *local, size_t locallen)
{
    int rc = display_cps(in, c);
    if (rc)
        return rc;
    size_t need = 1;
    for (size_t i = 0; i < c->n; i++)
        need += utf8_len(c->v[i]);
    char *s = need <= locallen ? local : malloc(need);
    if (!s)
        return GW_ENOMEM;
    encode(c, s, need);
    *ret = s;
    *ret_len = need - 1;
    return GW_OK;
}

int gw_name_normalize(const char *in, char *out, size_t outlen)
{
    cpvec_t c;
    cv_init(&c);
    int rc = display_cps(in, &c);
    if (rc == GW_OK)
        rc = encode(&c, out, outlen);
    cv_cleanup(&c);
    return rc;
}

static int tone_digit(utf8proc_int32_t cp)
{
    switch (cp) {
    case 0x0300:
        return '1'; /* huyền */
    case 0x0301:
        return '2'; /* sắc */
    case 0x0309:
        return '3'; /* hỏi */
    case 0x0303:
        return '4'; /* ngã */
    case 0x0323:
        return '5'; /* nặng */
    default:
        return 0;
    }
}

int gw_name_strict_key(const char *in, char *out, size_t outlen)
{
    cpvec_t c, d, syl;
    cv_init(&c);
    cv_init(&d);
    cv_init(&syl);
    char local[1024], *disp = NULL;
    size_t dlen = 0;
    int rc = display_utf8(in, &c, &disp, &dlen, local, sizeof(local));
    if (rc)
        goto done;
    /* full case fold and NFD of the whole display form (syllables never merge) */
    rc = decompose(disp, dlen, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD, NULL, &d);
    if (rc)
        goto done;
    c.n = 0;
    for (size_t i = 0; i < d.n;) {
        size_t e = i;
        while (e < d.n && d.v[e] != ' ')
            e++;
        size_t tones = 0;
        int tag = '0';
        for (size_t j = i; j < e; j++)
            if (tone_digit(d.v[j])) {
                tones++;
                tag = tone_digit(d.v[j]);
            }
        if (tones != 1)
            tag = '0';
        syl.n = 0;
        for (size_t j = i; j < e; j++)
            if (tones != 1 || !tone_digit(d.v[j]))
                if ((rc = cv_push(&syl, d.v[j])))
                    goto done;
        compose(&syl);
        if (c.n && (rc = cv_push(&c, ' ')))
            goto done;
        if ((rc = cv_reserve(&c, c.n + syl.n + 1)))
            goto done;
        memcpy(c.v + c.n, syl.v, syl.n * sizeof(*syl.v));
        c.n += syl.n;
        c.v[c.n++] = tag;
        i = e < d.n ? e + 1 : e;
    }
    rc = encode(&c, out, outlen);
done:
    if (disp != local)
        free(disp);
    cv_cleanup(&syl);
    cv_cleanup(&d);
    cv_cleanup(&c);
    return rc;
}

/* Case-folded (or not), marks stripped, compatibility-folded if asked; đ/Đ -> d/D. */
static int stripped_cps(const char *in, utf8proc_option_t extra, cpvec_t *d)
{
    cpvec_t c;
    cv_init(&c);
    char local[1024], *disp = NULL;
    size_t dlen = 0;
    int rc = display_utf8(in, &c, &disp, &dlen, local, sizeof(local));
    if (rc == GW_OK)
        rc = decompose(disp, dlen, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | extra, NULL, d);
    if (rc == GW_OK) {
        for (size_t i = 0; i < d->n; i++)
            if (d->v[i] == 0x0111)
                d->v[i] = 'd';
            else if (d->v[i] == 0x0110)
                d->v[i] = 'D';
        compose(d);
    }
    if (disp && disp != local)
        free(disp);
    cv_cleanup(&c);
    return rc;
}

int gw_name_loose_key(const char *in, char *out, size_t outlen)
{
    cpvec_t d;
    cv_init(&d);
    int rc = stripped_cps(in, UTF8PROC_CASEFOLD, &d);
    if (rc == GW_OK)
        rc = encode(&d, out, outlen);
    cv_cleanup(&d);
    return rc;
}

static int popdb_upper(const char *in, char *out, size_t outlen)
{
    cpvec_t c, d;
    cv_init(&c);
    cv_init(&d);
    char local[1024], *up = NULL;
    int rc = display_cps(in, &c);
    if (rc)
        goto done;
    /* simple upper-case mappings, except ß whose upper case is "SS" */
    size_t need = 1;
    for (size_t i = 0; i < c.n; i++) {
        if (c.v[i] != 0xDF)
            c.v[i] = utf8proc_toupper(c.v[i]);
        need += c.v[i] == 0xDF ? 2 : utf8_len(c.v[i]);
    }
    for (size_t i = c.n; i-- > 0;)
        if (c.v[i] == 0xDF) {
            if ((rc = cv_reserve(&c, c.n + 1)))
                goto done;
            memmove(c.v + i + 1, c.v + i, (c.n - i) * sizeof(*c.v));
            c.v[i] = c.v[i + 1] = 'S';
            c.n++;
        }
    up = need <= sizeof(local) ? local : malloc(need);
    if (!up) {
        rc = GW_ENOMEM;
        goto done;
    }
    encode(&c, up, need);
    /* the mappings may leave a non-NFC sequence: normalise again */
    rc = decompose(up, need - 1, UTF8PROC_STABLE | UTF8PROC_COMPOSE, NULL, &d);
    if (rc)
        goto done;
    compose(&d);
    rc = encode(&d, out, outlen);
done:
    if (up && up != local)
        free(up);
    cv_cleanup(&d);
    cv_cleanup(&c);
    return rc;
}

static int popdb_ascii(const char *in, char *out, size_t outlen)
{
    cpvec_t d, a;
    cv_init(&d);
    cv_init(&a);
    int rc = stripped_cps(in, UTF8PROC_COMPAT, &d);
    for (size_t i = 0; i < d.n && rc == GW_OK; i++) {
        utf8proc_int32_t cp = d.v[i];
        if (cp == ' ')
            continue;
        if (cp == 0xDF) {
            if (!(rc = cv_push(&a, 'S')))
                rc = cv_push(&a, 'S');
            continue;
        }
        if (cp >= 'a' && cp <= 'z')
            cp -= 'a' - 'A';
        rc = cp < 0x21 || cp > 0x7E ? GW_EINVAL : cv_push(&a, cp);
    }
    if (rc == GW_OK)
        rc = encode(&a, out, outlen);
    cv_cleanup(&a);
    cv_cleanup(&d);
    return rc;
}

int gw_name_format_popdb(const char *in, const char *format, char *out, size_t outlen)
{
    if (!format)
        return GW_EINVAL;
    if (!strcmp(format, "nfc"))
        return gw_name_normalize(in, out, outlen);
    if (!strcmp(format, "nfc_upper"))
        return popdb_upper(in, out, outlen);
    if (!strcmp(format, "ascii_upper_nospace"))
        return popdb_ascii(in, out, outlen);
    return GW_EINVAL;
}

/* ---- legacy encodings (rule 6) ---- */

/* Code points that only Unicode Vietnamese text carries. */
static int is_unicode_vietnamese(utf8proc_int32_t cp)
{
    if (cp >= 0x1EA0 && cp <= 0x1EF9)
        return 1;
    switch (cp) {
    case 0x0102:
    case 0x0103: /* Ă ă */
    case 0x0110:
    case 0x0111: /* Đ đ */
    case 0x0128:
    case 0x0129: /* Ĩ ĩ */
    case 0x0168:
    case 0x0169: /* Ũ ũ */
    case 0x01A0:
    case 0x01A1: /* Ơ ơ */
    case 0x01AF:
    case 0x01B0: /* Ư ư */
    case 0x0300:
    case 0x0301:
    case 0x0302:
    case 0x0303:
    case 0x0306:
    case 0x0309:
    case 0x031B:
    case 0x0323:
        return 1;
    default:
        return 0;
    }
}

static int is_ascii_letter(utf8proc_int32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'); }

static int is_ascii_lower(utf8proc_int32_t cp) { return cp >= 'a' && cp <= 'z'; }

/* TCVN3 bytes 0xA1-0xAE (Ă Â Ê Ô Ơ Ư Đ ă â ê ô ơ ư đ), 0xB5-0xB9 (à ả ã á ạ), 0xBB-0xBE
 * (ằ ẳ ẵ ắ) and 0xD7 (ì): symbols in Latin-1, never letters inside a real word. */
static int is_tcvn3_symbol(utf8proc_int32_t cp)
{
    return (cp >= 0xA1 && cp <= 0xAE) || (cp >= 0xB5 && cp <= 0xB9) || (cp >= 0xBB && cp <= 0xBE) || cp == 0xD7;
}

/* TCVN3 bytes 0xC6-0xDE: toned lower-case vowels that read as upper-case Latin-1 letters. */
static int is_tcvn3_upper(utf8proc_int32_t cp) { return cp >= 0xC6 && cp <= 0xDE && cp != 0xD7; }

/* A letter in either reading: ASCII or any Latin-1 code point TCVN3 uses for one. */
static int is_wordish(utf8proc_int32_t cp) { return is_ascii_letter(cp) || (cp >= 0xA1 && cp <= 0xFF); }

static int is_ascii_vowel(utf8proc_int32_t cp)
{
    switch (cp | 0x20) {
    case 'a':
    case 'e':
    case 'i':
    case 'o':
    case 'u':
    case 'y':
        return is_ascii_letter(cp);
    default:
        return 0;
    }
}

/* VNI-Windows: ô/ö (ơ/ư) also carry tones. */
static int is_vni_base(utf8proc_int32_t cp)
{
    return is_ascii_vowel(cp) || cp == 0xF4 || cp == 0xF6 || cp == 0xD4 || cp == 0xD6;
}

static int is_ovni_base(utf8proc_int32_t cp) { return cp == 0xF4 || cp == 0xF6 || cp == 0xD4 || cp == 0xD6; }

static int lower1(utf8proc_int32_t cp)
{
    return (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ? cp + 0x20 : cp;
}

/* How strongly the pair (vowel, next) reads as VNI: 2 alone, 1 only with another, 0 not.
 * Pairs that Unicode Vietnamese also writes with Latin-1 letters ("Hoà", "quá", "già",
 * "tuân", "tiên") never count. */
static int vni_pair(utf8proc_int32_t prev, utf8proc_int32_t cur)
{
    if (!is_vni_base(prev))
        return 0;
    utf8proc_int32_t p = lower1(prev), c = lower1(cur);
    if (c == 0xF8)
        return 2; /* ø: huyền */
    if (c == 0xE2 && (p == 'a' || p == 'e' || p == 'o'))
        return 2; /* circumflex written after the vowel */
    if (c == 0xEA && p == 'a')
        return 2; /* breve written after the a */
    if (is_ovni_base(prev))
        return c == 0xF9 || c == 0xFB || c == 0xF5 || c == 0xEF ? 2 : 0; /* ơ/ư with a tone */
    switch (c) {
    case 0xFB:
    case 0xEF:
    case 0xE5:
    case 0xE4:
    case 0xEB:
    case 0xFC: /* û ï å ä ë ü */
    case 0xF9:
    case 0xF5: /* ù õ */
        return 1;
    case 0xE0:
    case 0xE1:
    case 0xE3:
    case 0xE8:
    case 0xE9:
    case 0xFA: /* à á ã è é ú */
        return p == 'a' || p == 'e';
    default:
        return 0;
    }
}

unsigned gw_name_legacy_encoding(const char *in)
{
    if (!in)
        return 0;
    size_t len = strlen(in);
    if (len > GW_NAME_MAX_IN)
        len = GW_NAME_MAX_IN;
    cpvec_t c;
    cv_init(&c);
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)in;
    unsigned ret = 0;
    int tcvn = 0, tcvn_weak = 0, vni_strong = 0, vni_weak = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0 || is_unicode_vietnamese(cp) || cv_push(&c, cp))
            goto done;
        i += (size_t)k;
    }
    for (size_t i = 0; i < c.n; i++) {
        utf8proc_int32_t cur = c.v[i], prev = i ? c.v[i - 1] : ' ', next = i + 1 < c.n ? c.v[i + 1] : ' ';
        if (is_tcvn3_symbol(cur) && (is_wordish(prev) || is_wordish(next)))
            tcvn++;
        else if (is_tcvn3_upper(cur) &&
                 (is_ascii_lower(prev) || (prev >= 0xA8 && prev <= 0xAE) || (prev >= 0xB5 && prev <= 0xBE)))
            tcvn++;
        else if (cur == 0xDF && is_ascii_lower(prev))
            tcvn_weak++;
        int v = vni_pair(prev, cur);
        if (v == 2)
            vni_strong++;
        else if (v == 1)
            vni_weak++;
    }
    if (tcvn > 0 || tcvn_weak + vni_weak >= 2 || vni_strong > 0)
        ret = GW_NAME_LEGACY_ENCODING;
done:
    cv_cleanup(&c);
    return ret;
}
