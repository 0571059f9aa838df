/* gw_tmpl: the page renderer. Every page a citizen sees (login, error, logout) is rendered
 * here from templates/ and the vi/en message catalogs. Templates are parsed once at load into
 * a flat array of nodes per template; partials and messages are resolved and messages
 * HTML-escaped at load, so rendering is a walk over the nodes into one growing buffer.
 * Sections need no recursion (a section node records where its block ends); only partials
 * recurse, and their depth is checked at load. A loaded set is immutable and may be shared
 * between threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gw_tmpl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#define MAX_DEPTH 4 /* nested {{>partial}} levels */
#define MAX_FILE (1024 * 1024) /* bytes per template or catalog file */
#define MAX_NAME 128 /* bytes in a variable, key or partial name */

enum { LANG_VI, LANG_EN, NLANG };

static const char *const lang_names[NLANG] = { "vi", "en" };

typedef enum { N_TEXT, N_VAR, N_MSG, N_SECTION, N_INVERTED, N_PARTIAL } node_kind_t;

typedef struct msg {
    const char *key; /* into the catalog text */
    const char *value; /* into the catalog text */
    char *html; /* value, escaped */
    size_t html_len;
    unsigned line;
} msg_t;

typedef struct node {
    uint8_t kind;
    uint32_t line;
    uint32_t len; /* of s */
    const char *s; /* TEXT: the text; others: the name or key (not NUL-terminated) */
    union {
        size_t end; /* SECTION, INVERTED: index of the node after the block */
        size_t tmpl; /* PARTIAL: index of the included template */
        const msg_t *msg[NLANG]; /* MSG: per language, NULL = render the key */
    } u;
} node_t;

typedef struct tmpl {
    char *name; /* file name without .html */
    char *file; /* for error messages */
    char *text; /* the source; nodes point into it */
    node_t *nodes;
    size_t nnodes;
    size_t size_hint; /* static text bytes, partials included */
    int state; /* while linking: 0 new, 1 in progress, 2 done */
    int depth; /* while linking: deepest include chain below this template */
} tmpl_t;

typedef struct catalog {
    char lang[16];
    char *text;
    msg_t *msgs; /* sorted by key */
    size_t nmsgs;
} catalog_t;

struct gw_tmpl_set {
    tmpl_t *tmpls; /* sorted by name */
    size_t ntmpls;
    catalog_t *cats;
    size_t ncats;
    const catalog_t *by_lang[NLANG];
};

typedef struct buf {
    char *p;
    size_t len;
    size_t cap;
    int is_oom;
} buf_t;

/* ---- errors ---------------------------------------------------------------------------- */

__attribute__((format(printf, 5, 6))) static void seterr(char *errbuf, size_t errlen, const char *file, unsigned line,
                                                         const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    int n = line ? snprintf(errbuf, errlen, "%s:%u: ", file, line) : snprintf(errbuf, errlen, "%s: ", file);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- output buffer and escaping -------------------------------------------------------- */

static int buf_reserve(buf_t *b, size_t more)
{
    if (b->is_oom)
        return -1;
    if (more < b->cap - b->len)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (more >= cap - b->len) {
        if (cap > SIZE_MAX / 2) {
            b->is_oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->is_oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void buf_put(buf_t *b, const char *s, size_t n)
{
    if (n == 0 || buf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static const char *const entity[256] = {
    ['&'] = "&amp;",  ['<'] = "&lt;",  ['>'] = "&gt;",  ['"'] = "&quot;",
    ['\''] = "&#39;", ['`'] = "&#96;", ['='] = "&#61;",
};

static void buf_put_escaped(buf_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        const unsigned char *run = p;
        while (*p && entity[*p] == NULL)
            p++;
        buf_put(b, (const char *)run, (size_t)(p - run));
        if (*p == '\0')
            return;
        const char *e = entity[*p++];
        buf_put(b, e, strlen(e));
    }
}

/* Takes the buffer's memory: NUL-terminated result, or NULL (and nothing to free) on OOM. */
static char *buf_finish(buf_t *b, size_t *ret_len)
{
    if (buf_reserve(b, 1) != 0) {
        free(b->p);
        return NULL;
    }
    b->p[b->len] = '\0';
    if (ret_len)
        *ret_len = b->len;
    return b->p;
}

char *gw_html_escape(const char *src)
{
    buf_t b = { 0 };
    buf_put_escaped(&b, src ? src : "");
    return buf_finish(&b, NULL);
}

/* ---- files ------------------------------------------------------------------------------ */

static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/* Reads a whole regular file into a NUL-terminated buffer. */
static char *read_file(const char *path, size_t *ret_len, char *errbuf, size_t errlen)
{
    char *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        seterr(errbuf, errlen, path, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        seterr(errbuf, errlen, path, 0, "not a regular file");
        goto done;
    }
    if (st.st_size > MAX_FILE) {
        seterr(errbuf, errlen, path, 0, "larger than %d bytes", MAX_FILE);
        goto done;
    }
    size_t size = (size_t)st.st_size;
    text = malloc(size + 1);
    if (text == NULL) {
        seterr(errbuf, errlen, path, 0, "out of memory");
        goto done;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, text + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            seterr(errbuf, errlen, path, 0, "cannot read: %s", n < 0 ? strerror(errno) : "short");
            free(text);
            text = NULL;
            goto done;
        }
        got += (size_t)n;
    }
    text[size] = '\0';
    *ret_len = size;
done:
    close(fd);
    return text;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Sorted names of the visible entries of dir ending in suffix, so that loading (and the
 * first error reported) does not depend on directory order. Sets *ret_missing if dir is
 * absent. */
static int list_dir(const char *dir, const char *suffix, char ***ret_names, size_t *ret_n, int *ret_missing,
                    char *errbuf, size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT && ret_missing) {
            *ret_missing = 1;
            *ret_names = NULL;
            *ret_n = 0;
            return 0;
        }
        seterr(errbuf, errlen, dir, 0, "cannot open directory: %s", strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffix))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **p = realloc(names, ncap * sizeof(*names));
            if (p == NULL)
                goto oom;
            names = p;
            cap = ncap;
        }
        if ((names[n] = strdup(de->d_name)) == NULL)
            goto oom;
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    *ret_names = names;
    *ret_n = n;
    names = NULL;
    n = 0;
    rc = 0;
    goto done;
oom:
    seterr(errbuf, errlen, dir, 0, "out of memory");
done:
    free_names(names, n);
    closedir(d);
    return rc;
}

/* Valid UTF-8 without NUL bytes; on failure *ret_line is the line of the first bad byte. */
static int check_utf8(const char *text, size_t len, unsigned *ret_line)
{
    unsigned line = 1;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x80) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n <= 0) {
                *ret_line = line;
                return -1;
            }
            i += (size_t)n;
            continue;
        }
        if (c == '\0') {
            *ret_line = line;
            return -1;
        }
        if (c == '\n')
            line++;
        i++;
    }
    return 0;
}

static size_t skip_bom(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* ---- catalogs -------------------------------------------------------------------------- */

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

static int is_name(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int cmp_msg(const void *a, const void *b)
{
    const msg_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

typedef struct key_ref {
    const char *s;
    size_t len;
} key_ref_t;

static int cmp_key_msg(const void *a, const void *b)
{
    const key_ref_t *k = a;
    const msg_t *m = b;
    int c = strncmp(k->s, m->key, k->len);
    if (c != 0)
        return c;
    return m->key[k->len] == '\0' ? 0 : -1;
}

static const msg_t *catalog_find(const catalog_t *cat, const char *key, size_t len)
{
    if (cat == NULL || cat->nmsgs == 0)
        return NULL;
    key_ref_t k = { key, len };
    return bsearch(&k, cat->msgs, cat->nmsgs, sizeof(msg_t), cmp_key_msg);
}

static void catalog_cleanup(catalog_t *cat)
{
    for (size_t i = 0; i < cat->nmsgs; i++)
        free(cat->msgs[i].html);
    free(cat->msgs);
    free(cat->text);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Parses cat->text (len bytes, NUL-terminated) in place: keys and values are cut out of it. */
static int catalog_parse(catalog_t *cat, size_t len, const char *file, char *errbuf, size_t errlen)
{
    char *text = cat->text;
    unsigned bad_line;
    if (check_utf8(text, len, &bad_line) != 0) {
        seterr(errbuf, errlen, file, bad_line, "invalid UTF-8 or NUL byte");
        return -1;
    }
    size_t cap = 0;
    unsigned line = 0;
    char *p = text + skip_bom(text, len), *end = text + len;
    while (p < end) {
        line++;
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        char *next = eol < end ? eol + 1 : end;
        char *e = eol;
        if (e > p && e[-1] == '\r')
            e--;
        char *s = p;
        while (s < e && is_blank(*s))
            s++;
        p = next;
        if (s == e || *s == '#')
            continue;
        char *sep = memmem(s, (size_t)(e - s), " = ", 3);
        if (sep == NULL) {
            seterr(errbuf, errlen, file, line, "expected 'key = value'");
            return -1;
        }
        char *k_end = sep;
        while (k_end > s && is_blank(k_end[-1]))
            k_end--;
        if (!is_name(s, (size_t)(k_end - s))) {
            seterr(errbuf, errlen, file, line, "bad key (letters, digits, '_', '.', '-', at most %d)", MAX_NAME);
            return -1;
        }
        char *v = sep + 3;
        while (v < e && is_blank(*v))
            v++;
        while (e > v && is_blank(e[-1]))
            e--;
        *k_end = '\0';
        *e = '\0';
        if (cat->nmsgs == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            msg_t *m = realloc(cat->msgs, ncap * sizeof(*m));
            if (m == NULL) {
                seterr(errbuf, errlen, file, line, "out of memory");
                return -1;
            }
            cat->msgs = m;
            cap = ncap;
        }
        cat->msgs[cat->nmsgs++] = (msg_t){ .key = s, .value = v, .line = line };
    }
    if (cat->nmsgs > 1)
        qsort(cat->msgs, cat->nmsgs, sizeof(msg_t), cmp_msg);
    /* Report the duplicate that comes first in the file. */
    const msg_t *dup = NULL;
    for (size_t i = 1; i < cat->nmsgs; i++) {
        if (strcmp(cat->msgs[i - 1].key, cat->msgs[i].key) == 0 && (dup == NULL || cat->msgs[i].line < dup->line))
            dup = &cat->msgs[i];
    }
    if (dup) {
        seterr(errbuf, errlen, file, dup->line, "duplicate key '%s' (first at line %u)", dup->key, dup[-1].line);
        return -1;
    }
    for (size_t i = 0; i < cat->nmsgs; i++) {
        buf_t b = { 0 };
        buf_put_escaped(&b, cat->msgs[i].value);
        if ((cat->msgs[i].html = buf_finish(&b, &cat->msgs[i].html_len)) == NULL) {
            seterr(errbuf, errlen, file, cat->msgs[i].line, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* ---- template parsing ------------------------------------------------------------------ */

static void tmpl_cleanup(tmpl_t *t)
{
    free(t->name);
    free(t->file);
    free(t->text);
    free(t->nodes);
}

typedef struct parser {
    tmpl_t *t;
    size_t cap;
    size_t *open; /* stack of open section node indices */
    size_t nopen;
    size_t open_cap;
} parser_t;

static node_t *add_node(parser_t *ps, node_kind_t kind, unsigned line, const char *s, size_t n)
{
    tmpl_t *t = ps->t;
    if (t->nnodes == ps->cap) {
        size_t ncap = ps->cap ? ps->cap * 2 : 32;
        node_t *p = realloc(t->nodes, ncap * sizeof(*p));
        if (p == NULL)
            return NULL;
        t->nodes = p;
        ps->cap = ncap;
    }
    node_t *nd = &t->nodes[t->nnodes++];
    memset(nd, 0, sizeof(*nd));
    nd->kind = (uint8_t)kind;
    nd->line = line;
    nd->s = s;
    nd->len = (uint32_t)n;
    return nd;
}

static unsigned count_lines(const char *s, size_t n)
{
    unsigned c = 0;
    for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + n - p))) != NULL; p++)
        c++;
    return c;
}

/* Parses t->text (len bytes) into t->nodes. Errors name t->file and the tag's line. */
static int tmpl_parse(tmpl_t *t, size_t len, char *errbuf, size_t errlen)
{
    unsigned bad_line;
    if (check_utf8(t->text, len, &bad_line) != 0) {
        seterr(errbuf, errlen, t->file, bad_line, "invalid UTF-8 or NUL byte");
        return -1;
    }
    parser_t ps = { .t = t };
    int rc = -1;
    unsigned line = 1;
    const char *p = t->text + skip_bom(t->text, len), *end = t->text + len;
    while (p < end) {
        const char *tag = memmem(p, (size_t)(end - p), "{{", 2);
        const char *text_end = tag ? tag : end;
        if (text_end > p) {
            if (add_node(&ps, N_TEXT, line, p, (size_t)(text_end - p)) == NULL)
                goto oom;
            t->size_hint += (size_t)(text_end - p);
            line += count_lines(p, (size_t)(text_end - p));
        }
        if (tag == NULL)
            break;
        const char *in = tag + 2;
        const char *close = in;
        while (close + 1 < end && !(close[0] == '}' && close[1] == '}') && *close != '\n')
            close++;
        if (close + 1 >= end || *close == '\n') {
            seterr(errbuf, errlen, t->file, line, "'{{' without '}}' on the same line");
            goto done;
        }
        p = close + 2;
        const char *s = in, *e = close;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        node_kind_t kind = N_VAR;
        char sigil = s < e ? *s : '\0';
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '>') {
            s++;
            while (s < e && *s == ' ')
                s++;
            kind = sigil == '#' ? N_SECTION : sigil == '^' ? N_INVERTED : N_PARTIAL;
        } else if (e - s >= 2 && s[0] == 't' && s[1] == ':') {
            s += 2;
            kind = N_MSG;
        } else if (s < e && !is_name_char((unsigned char)sigil)) {
            if (sigil > ' ' && sigil < 0x7f)
                seterr(errbuf, errlen, t->file, line, "unsupported tag '{{%c'", sigil);
            else
                seterr(errbuf, errlen, t->file, line, "unsupported tag");
            goto done;
        }
        size_t n = (size_t)(e - s);
        if (!is_name(s, n)) {
            seterr(errbuf, errlen, t->file, line, "bad name in tag (letters, digits, '_', '.', '-', at most %d)",
                   MAX_NAME);
            goto done;
        }
        if (sigil == '/') {
            if (ps.nopen == 0) {
                seterr(errbuf, errlen, t->file, line, "'{{/%.*s}}' without an open section", (int)n, s);
                goto done;
            }
            node_t *open = &t->nodes[ps.open[ps.nopen - 1]];
            if (open->len != n || memcmp(open->s, s, n) != 0) {
                seterr(errbuf, errlen, t->file, line, "'{{/%.*s}}' closes '%.*s' opened at line %u", (int)n, s,
                       (int)open->len, open->s, (unsigned)open->line);
                goto done;
            }
            open->u.end = t->nnodes;
            ps.nopen--;
            continue;
        }
        if (add_node(&ps, kind, line, s, n) == NULL)
            goto oom;
        if (kind == N_SECTION || kind == N_INVERTED) {
            if (ps.nopen == ps.open_cap) {
                size_t ncap = ps.open_cap ? ps.open_cap * 2 : 8;
                size_t *o = realloc(ps.open, ncap * sizeof(*o));
                if (o == NULL)
                    goto oom;
                ps.open = o;
                ps.open_cap = ncap;
            }
            ps.open[ps.nopen++] = t->nnodes - 1;
        }
    }
    if (ps.nopen > 0) {
        const node_t *open = &t->nodes[ps.open[ps.nopen - 1]];
        seterr(errbuf, errlen, t->file, open->line, "section '%.*s' is never closed", (int)open->len, open->s);
        goto done;
    }
    rc = 0;
    goto done;
oom:
    seterr(errbuf, errlen, t->file, line, "out of memory");
done:
    free(ps.open);
    return rc;
}

/* ---- the set ---------------------------------------------------------------------------- */

void gw_tmpl_free(gw_tmpl_set_t *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->ntmpls; i++)
        tmpl_cleanup(&set->tmpls[i]);
    free(set->tmpls);
    for (size_t i = 0; i < set->ncats; i++)
        catalog_cleanup(&set->cats[i]);
    free(set->cats);
    free(set);
}

static int cmp_key_tmpl(const void *a, const void *b)
{
    const key_ref_t *k = a;
    const tmpl_t *t = b;
    int c = strncmp(k->s, t->name, k->len);
    if (c != 0)
        return c;
    return t->name[k->len] == '\0' ? 0 : -1;
}

static const tmpl_t *find_tmpl(const gw_tmpl_set_t *set, const char *name, size_t len)
{
    if (set->ntmpls == 0)
        return NULL;
    key_ref_t k = { name, len };
    return bsearch(&k, set->tmpls, set->ntmpls, sizeof(tmpl_t), cmp_key_tmpl);
}

/* Resolves the partials of template ti (and, first, of what it includes), and checks the
 * include depth; fills size_hint with the static text of the whole include tree. */
static int link_partials(gw_tmpl_set_t *set, size_t ti, char *errbuf, size_t errlen)
{
    tmpl_t *t = &set->tmpls[ti];
    if (t->state == 2)
        return 0;
    t->state = 1;
    for (size_t i = 0; i < t->nnodes; i++) {
        node_t *nd = &t->nodes[i];
        if (nd->kind != N_PARTIAL)
            continue;
        const tmpl_t *inc = find_tmpl(set, nd->s, nd->len);
        if (inc == NULL) {
            seterr(errbuf, errlen, t->file, nd->line, "unknown partial '%.*s'", (int)nd->len, nd->s);
            return -1;
        }
        nd->u.tmpl = (size_t)(inc - set->tmpls);
        if (inc->state == 1) {
            seterr(errbuf, errlen, t->file, nd->line, "'{{>%.*s}}' makes an include cycle", (int)nd->len, nd->s);
            return -1;
        }
        if (link_partials(set, nd->u.tmpl, errbuf, errlen) != 0)
            return -1;
        if (inc->depth + 1 > MAX_DEPTH) {
            seterr(errbuf, errlen, t->file, nd->line, "'{{>%.*s}}' nests includes deeper than %d", (int)nd->len, nd->s,
                   MAX_DEPTH);
            return -1;
        }
        if (inc->depth + 1 > t->depth)
            t->depth = inc->depth + 1;
        t->size_hint += inc->size_hint;
    }
    t->state = 2;
    return 0;
}

static int link_set(gw_tmpl_set_t *set, char *errbuf, size_t errlen)
{
    for (int li = 0; li < NLANG; li++) {
        set->by_lang[li] = NULL;
        for (size_t i = 0; i < set->ncats; i++) {
            if (strcmp(set->cats[i].lang, lang_names[li]) == 0)
                set->by_lang[li] = &set->cats[i];
        }
    }
    for (size_t ti = 0; ti < set->ntmpls; ti++) {
        if (link_partials(set, ti, errbuf, errlen) != 0)
            return -1;
        tmpl_t *t = &set->tmpls[ti];
        for (size_t i = 0; i < t->nnodes; i++) {
            node_t *nd = &t->nodes[i];
            if (nd->kind != N_MSG)
                continue;
            const msg_t *vi = catalog_find(set->by_lang[LANG_VI], nd->s, nd->len);
            for (int li = 0; li < NLANG; li++) {
                const msg_t *m = catalog_find(set->by_lang[li], nd->s, nd->len);
                nd->u.msg[li] = m ? m : vi;
            }
        }
    }
    return 0;
}

static int cmp_tmpl(const void *a, const void *b)
{
    return strcmp(((const tmpl_t *)a)->name, ((const tmpl_t *)b)->name);
}

static int load_templates(gw_tmpl_set_t *set, const char *dir, char *errbuf, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    if (list_dir(dir, ".html", &names, &n, NULL, errbuf, errlen) != 0)
        return -1;
    int rc = -1;
    if (n > 0 && (set->tmpls = calloc(n, sizeof(tmpl_t))) == NULL) {
        seterr(errbuf, errlen, dir, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        tmpl_t *t = &set->tmpls[set->ntmpls++];
        size_t len = 0;
        if ((t->file = path_join(dir, names[i])) == NULL ||
            (t->name = strndup(names[i], strlen(names[i]) - strlen(".html"))) == NULL) {
            seterr(errbuf, errlen, dir, 0, "out of memory");
            goto done;
        }
        if ((t->text = read_file(t->file, &len, errbuf, errlen)) == NULL)
            goto done;
        if (tmpl_parse(t, len, errbuf, errlen) != 0)
            goto done;
    }
    rc = 0;
done:
    free_names(names, n);
    return rc;
}

static int load_catalogs(gw_tmpl_set_t *set, const char *dir, char *errbuf, size_t errlen)
{
    char *i18n = path_join(dir, "i18n");
    if (i18n == NULL) {
        seterr(errbuf, errlen, dir, 0, "out of memory");
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    int is_missing = 0, rc = -1;
    char *file = NULL;
    if (list_dir(i18n, ".txt", &names, &n, &is_missing, errbuf, errlen) != 0)
        goto done;
    if (n > 0 && (set->cats = calloc(n, sizeof(catalog_t))) == NULL) {
        seterr(errbuf, errlen, i18n, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        catalog_t *cat = &set->cats[set->ncats++];
        size_t len = 0, namelen = strlen(names[i]) - strlen(".txt");
        free(file);
        if ((file = path_join(i18n, names[i])) == NULL) {
            seterr(errbuf, errlen, i18n, 0, "out of memory");
            goto done;
        }
        if (namelen >= sizeof(cat->lang)) {
            seterr(errbuf, errlen, file, 0, "language name too long");
            goto done;
        }
        memcpy(cat->lang, names[i], namelen);
        if ((cat->text = read_file(file, &len, errbuf, errlen)) == NULL)
            goto done;
        if (catalog_parse(cat, len, file, errbuf, errlen) != 0)
            goto done;
    }
    rc = 0;
done:
    free(file);
    free_names(names, n);
    free(i18n);
    return rc;
}

gw_tmpl_set_t *gw_tmpl_load(const char *dir, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    gw_tmpl_set_t *set = calloc(1, sizeof(*set));
    if (set == NULL) {
        seterr(errbuf, errlen, dir, 0, "out of memory");
        return NULL;
    }
    if (load_templates(set, dir, errbuf, errlen) != 0 || load_catalogs(set, dir, errbuf, errlen) != 0)
        goto fail;
    if (set->ntmpls > 1)
        qsort(set->tmpls, set->ntmpls, sizeof(tmpl_t), cmp_tmpl);
    if (link_set(set, errbuf, errlen) != 0)
        goto fail;
    return set;
fail:
    gw_tmpl_free(set);
    return NULL;
}

gw_tmpl_set_t *gw_tmpl_parse_one(const char *name, const char *text, size_t len, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (name == NULL || text == NULL) {
        seterr(errbuf, errlen, "(template)", 0, "no name or text");
        return NULL;
    }
    if (len > MAX_FILE) {
        seterr(errbuf, errlen, name, 0, "larger than %d bytes", MAX_FILE);
        return NULL;
    }
    gw_tmpl_set_t *set = calloc(1, sizeof(*set));
    if (set == NULL || (set->tmpls = calloc(1, sizeof(tmpl_t))) == NULL)
        goto oom;
    set->ntmpls = 1;
    tmpl_t *t = &set->tmpls[0];
    if ((t->name = strdup(name)) == NULL || asprintf(&t->file, "%s.html", name) < 0) {
        t->file = NULL;
        goto oom;
    }
    if ((t->text = malloc(len + 1)) == NULL)
        goto oom;
    memcpy(t->text, text, len);
    t->text[len] = '\0';
    if (tmpl_parse(t, len, errbuf, errlen) != 0 || link_set(set, errbuf, errlen) != 0)
        goto fail;
    return set;
oom:
    seterr(errbuf, errlen, name, 0, "out of memory");
fail:
    gw_tmpl_free(set);
    return NULL;
}

/* ---- rendering -------------------------------------------------------------------------- */

typedef struct render_ctx {
    const gw_tmpl_set_t *set;
    const gw_tmpl_var_t *vars;
    size_t nvars;
    int lang;
    buf_t out;
    char prefix[MAX_NAME + 16]; /* inside a list section: "items.3." */
} render_ctx_t;

static const char *lookup_exact(const render_ctx_t *rc, const char *name, size_t len)
{
    for (size_t i = 0; i < rc->nvars; i++) {
        const char *v = rc->vars[i].name;
        if (v && strncmp(v, name, len) == 0 && v[len] == '\0')
            return rc->vars[i].value;
    }
    return NULL;
}

static const char *lookup(const render_ctx_t *rc, const char *name, size_t len)
{
    if (len == 4 && memcmp(name, "lang", 4) == 0)
        return lang_names[rc->lang];
    if (len == 10 && memcmp(name, "other_lang", 10) == 0)
        return lang_names[rc->lang == LANG_VI ? LANG_EN : LANG_VI];
    if (rc->prefix[0] && len <= MAX_NAME) {
        char full[2 * MAX_NAME + 16];
        size_t pl = strlen(rc->prefix);
        memcpy(full, rc->prefix, pl);
        memcpy(full + pl, name, len);
        const char *v = lookup_exact(rc, full, pl + len);
        if (v)
            return v;
    }
    return lookup_exact(rc, name, len);
}

/* A list is given as variables "NAME.0.FIELD", "NAME.1.FIELD", ...: a section over NAME
 * repeats its block once per index, and {{FIELD}} inside reads that item's value. */
static int list_has_item(const render_ctx_t *rc, const char *name, size_t len, unsigned k)
{
    char p[MAX_NAME + 16];
    int n = snprintf(p, sizeof(p), "%.*s.%u.", (int)len, name, k);
    for (size_t i = 0; n > 0 && i < rc->nvars; i++)
        if (rc->vars[i].name && strncmp(rc->vars[i].name, p, (size_t)n) == 0)
            return 1;
    return 0;
}

static void render_range(render_ctx_t *rc, const tmpl_t *t, size_t from, size_t to, int depth);

static void render_tmpl(render_ctx_t *rc, const tmpl_t *t, int depth) { render_range(rc, t, 0, t->nnodes, depth); }

static void render_range(render_ctx_t *rc, const tmpl_t *t, size_t from, size_t to, int depth)
{
    const node_t *nodes = t->nodes;
    size_t i = from;
    while (i < to) {
        const node_t *nd = &nodes[i];
        const char *v;
        switch ((node_kind_t)nd->kind) {
        case N_TEXT:
            buf_put(&rc->out, nd->s, nd->len);
            i++;
            break;
        case N_VAR:
            if ((v = lookup(rc, nd->s, nd->len)) != NULL)
                buf_put_escaped(&rc->out, v);
            i++;
            break;
        case N_MSG: {
            const msg_t *m = nd->u.msg[rc->lang];
            if (m)
                buf_put(&rc->out, m->html, m->html_len);
            else /* key characters need no escaping */
                buf_put(&rc->out, nd->s, nd->len);
            i++;
            break;
        }
        case N_SECTION:
        case N_INVERTED:
            v = lookup(rc, nd->s, nd->len);
            if (v == NULL && nd->kind == N_SECTION && !rc->prefix[0] && list_has_item(rc, nd->s, nd->len, 0)) {
                for (unsigned k = 0; k < 1000 && list_has_item(rc, nd->s, nd->len, k); k++) {
                    snprintf(rc->prefix, sizeof(rc->prefix), "%.*s.%u.", (int)nd->len, nd->s, k);
                    render_range(rc, t, i + 1, nd->u.end, depth);
                }
                rc->prefix[0] = '\0';
                i = nd->u.end;
                break;
            }
            if (v == NULL && nd->kind == N_INVERTED && list_has_item(rc, nd->s, nd->len, 0))
                v = "1";
            if ((v != NULL && *v != '\0') == (nd->kind == N_SECTION))
                i++;
            else
                i = nd->u.end;
            break;
        case N_PARTIAL:
            /* Depth and cycles were refused at load. */
            if (depth < MAX_DEPTH)
                render_tmpl(rc, &rc->set->tmpls[nd->u.tmpl], depth + 1);
            i++;
            break;
        }
    }
}

static int lang_index(const char *lang) { return lang && strcmp(lang, "en") == 0 ? LANG_EN : LANG_VI; }

char *gw_tmpl_render(const gw_tmpl_set_t *set, const char *name, const char *lang, const gw_tmpl_var_t *vars,
                     size_t nvars, size_t *ret_len)
{
    if (set == NULL || name == NULL)
        return NULL;
    const tmpl_t *t = find_tmpl(set, name, strlen(name));
    if (t == NULL)
        return NULL;
    render_ctx_t rc = { .set = set, .vars = vars, .nvars = vars ? nvars : 0, .lang = lang_index(lang) };
    /* Room for the static text plus typical values, so most pages need one allocation. */
    if (buf_reserve(&rc.out, t->size_hint + t->size_hint / 4 + 256) != 0)
        return NULL;
    render_tmpl(&rc, t, 0);
    return buf_finish(&rc.out, ret_len);
}

const char *gw_tmpl_msg(const gw_tmpl_set_t *set, const char *lang, const char *key)
{
    if (set == NULL || key == NULL)
        return key;
    size_t len = strlen(key);
    const msg_t *m = catalog_find(set->by_lang[lang_index(lang)], key, len);
    if (m == NULL)
        m = catalog_find(set->by_lang[LANG_VI], key, len);
    return m ? m->value : key;
}
