/* eidgw accounts: a portal's legacy accounts into the store, and the clean-up figures out
 * (docs/domain.md sections 3, 9, 10 and 11).
 *
 *   import  streams a CSV (RFC 4180) or JSONL export, validates every row and writes all
 *           of them in one store transaction, or nothing when any row is wrong;
 *   report  the figures of one portal, as a table or JSON.
 *
 * The file is read once and never held in memory: only the account ids and usernames seen
 * so far are kept, to find duplicates. Rows go to the store as they are validated, inside
 * the transaction; the first error stops the writing, the rest of the file is still
 * checked so that every error is reported, and the transaction is rolled back. A process
 * killed half-way leaves an uncommitted transaction, which SQLite discards.
 * Runs on the main thread; exit codes as in gw_cli.h. */
#include "gw_app.h"
#include "gw_cli.h"
#include "gw_cli_internal.h"
#include "gw_config.h"
#include "gw_idnum.h"
#include "gw_name.h"
#include "gw_pwhash.h"
#include "gw_store.h"
#include "gw_util.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#define MAX_SHOWN 100 /* errors (and warnings, legacy names) printed before a count */
#define MAX_FIELDS 64 /* columns in a CSV header */
#define MAX_RECORD (1u << 20) /* bytes in one CSV record or JSONL line */
/* what the reader and the string sets take at a time: a small file costs small buffers (a
 * megabyte per import made many small imports, and fuzzing, slow) */
#define READ_CHUNK (64u << 10)
#define SET_CHUNK_MIN (16u << 10)
#define SET_CHUNK_MAX (1u << 20)

enum {
    C_ACCOUNT_ID,
    C_USERNAME,
    C_FULL_NAME,
    C_BIRTH_DATE,
    C_SEX,
    C_CMND,
    C_ID_NUMBER,
    C_ID_VERIFIED,
    C_EMAIL,
    C_PHONE,
    C_STATUS,
    C_PASSWORD_HASH,
    C_ACCOUNT_CLASS,
    C_COUNT
};

static const char *const COLS[C_COUNT] = {
    "account_id",  "username", "full_name", "birth_date", "sex",           "cmnd",          "id_number",
    "id_verified", "email",    "phone",     "status",     "password_hash", "account_class",
};

static int column_index(const char *name)
{
    for (int i = 0; i < C_COUNT; i++)
        if (!strcmp(COLS[i], name))
            return i;
    return -1;
}

/* ---- usage ---- */

static const char USAGE[] = "usage: eidgw accounts <command> [options]\n"
                            "\n"
                            "  import -c CONF --portal P FILE [--format csv|jsonl] [--dry-run]\n"
                            "      Import portal P's legacy accounts from FILE ('-' reads standard input). The\n"
                            "      format follows the file name (.jsonl, .ndjson: JSONL) unless --format is given.\n"
                            "      Columns (CSV header, any order) or JSON keys:\n"
                            "        account_id    required, 1-128 printable ASCII characters, unique in the file\n"
                            "        username      required, unique in the file and in the portal\n"
                            "        full_name     required, UTF-8; stored in NFC with its comparison key\n"
                            "        birth_date    YYYY-MM-DD or empty\n"
                            "        sex           M, F, male, female, nam, nu/nữ or empty\n"
                            "        cmnd          9 digits (leading zeros kept) or empty\n"
                            "        id_number     12-digit personal ID number or empty\n"
                            "        id_verified   true/false, 1/0, yes/no (true needs id_number)\n"
                            "        email, phone, status (default active)\n"
                            "        password_hash empty or $2a$/$2b$/$2y$ (bcrypt), $argon2id$, $pbkdf2-sha256$, $6$\n"
                            "        account_class individual (default) or organisation\n"
                            "      Every row is checked first; any error (FILE:LINE: field: reason) imports nothing.\n"
                            "      All rows are written in one transaction, which holds the store's write lock\n"
                            "      while it runs. Importing the same file again changes nothing. Names that look\n"
                            "      like TCVN3 or VNI-Windows text are imported, flagged and listed for an admin.\n"
                            "      --dry-run checks everything and writes nothing.\n"
                            "\n"
                            "  report -c CONF --portal P [--json]\n"
                            "      Accounts, ID numbers, verification, links, merges, duplicates and legacy-encoded\n"
                            "      names of portal P.\n"
                            "\n"
                            "  verify -c CONF --portal P [--rate N] [--limit N] [--dry-run] [--restart]\n"
                            "      Check every account that has a CMND and an ID number but no verification\n"
                            "      against the population DB's 3-item check ([popdb]); a match marks the ID number\n"
                            "      verified. At most N checks per second (default 5). Interrupted runs (Ctrl-C,\n"
                            "      an outage) resume where they stopped; --restart starts over. --dry-run counts.\n"
                            "\n"
                            "  help\n"
                            "      This text.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("eidgw accounts: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nrun 'eidgw accounts help' for the usage\n", stderr);
    va_end(ap);
    return 2;
}

typedef struct opts {
    const char *conf, *portal, *format, *file;
    int dry_run, json;
} opts_t;

/* Parses argv[3..]. `allowed` lists the flags this command takes. Returns 0 or 2. */
static int parse_opts(int argc, char **argv, const char *cmd, const char *allowed, opts_t *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *flag = a;
        char name[32];
        const char *inl = NULL;
        if (!strncmp(a, "--", 2) && strchr(a, '=')) {
            size_t n = (size_t)(strchr(a, '=') - a);
            if (n >= sizeof(name))
                return usage_error("%s: unknown option '%s'", cmd, a);
            memcpy(name, a, n);
            name[n] = '\0';
            flag = name;
            inl = a + n + 1;
        }
        if (!strcmp(flag, "-c") || !strcmp(flag, "--config"))
            slot = &o->conf;
        else if (!strcmp(flag, "--portal"))
            slot = &o->portal;
        else if (!strcmp(flag, "--format"))
            slot = &o->format;
        else if (!strcmp(flag, "--dry-run") && !inl)
            o->dry_run = 1;
        else if (!strcmp(flag, "--json") && !inl)
            o->json = 1;
        else if (a[0] == '-' && a[1] != '\0')
            return usage_error("%s: unknown option '%s'", cmd, a);
        else if (strstr(allowed, "FILE") && !o->file) {
            o->file = a;
            continue;
        } else {
            return usage_error("%s: unexpected argument '%s'", cmd, a);
        }
        if (!gw_list_has(allowed, flag[1] == '-' ? flag + 2 : "config"))
            return usage_error("%s: option '%s' does not apply here", cmd, flag);
        if (slot) {
            if (inl) {
                *slot = inl;
            } else {
                if (i + 1 >= argc)
                    return usage_error("%s: option '%s' needs a value", cmd, a);
                *slot = argv[++i];
            }
        }
    }
    if (!o->conf)
        return usage_error("%s: -c CONF is required", cmd);
    if (!o->portal || !*o->portal)
        return usage_error("%s: --portal P is required", cmd);
    return 0;
}

/* ---- config and store ---- */

typedef struct env {
    gw_config_t *cfg;
    gw_store_t *st;
} env_t;

static void env_cleanup(env_t *e)
{
    gw_store_close(e->st);
    gw_config_free(e->cfg);
}

static int env_open(env_t *e, const opts_t *o)
{
    char err[512];
    memset(e, 0, sizeof(*e));
    e->cfg = gw_app_config_load(o->conf, err, sizeof(err));
    if (!e->cfg) {
        fprintf(stderr, "eidgw accounts: %s\n", err);
        return 1;
    }
    if (!gw_config_client(e->cfg, o->portal)) {
        fprintf(stderr, "eidgw accounts: unknown portal '%s': %s has no [client %s] section\n", o->portal, o->conf,
                o->portal);
        return 1;
    }
    e->st = gw_store_open_config(e->cfg, err, sizeof(err));
    if (!e->st) {
        fprintf(stderr, "eidgw accounts: %s\n", err);
        return 1;
    }
    if (!e->st->ops->import_begin || !e->st->ops->account_report) {
        fprintf(stderr, "eidgw accounts: the %s store does not hold legacy accounts\n", e->st->ops->name);
        return 1;
    }
    return 0;
}

/* ---- a set of strings (account ids, usernames) with the line each was first seen on ---- */

typedef struct sentry {
    const char *key;
    uint32_t hash;
    uint32_t line;
} sentry_t;

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk_t;

typedef struct strset {
    sentry_t *t;
    size_t cap, n;
    chunk_t *chunks;
} strset_t;

static uint32_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (uint32_t)(h ^ (h >> 32));
}

/* each chunk twice the last, from SET_CHUNK_MIN up to SET_CHUNK_MAX, and at least `need` */
static size_t chunk_cap(const chunk_t *last, size_t need)
{
    size_t cap = last ? 2 * last->cap : SET_CHUNK_MIN;
    if (cap > SET_CHUNK_MAX)
        cap = SET_CHUNK_MAX;
    return cap < need ? need : cap;
}

static const char *set_copy(strset_t *s, const char *key)
{
    size_t n = strlen(key) + 1;
    if (!s->chunks || s->chunks->cap - s->chunks->used < n) {
        size_t cap = chunk_cap(s->chunks, n);
        chunk_t *c = gw_xmalloc(sizeof(*c) + cap);
        c->next = s->chunks;
        c->used = 0;
        c->cap = cap;
        s->chunks = c;
    }
    char *p = s->chunks->data + s->chunks->used;
    memcpy(p, key, n);
    s->chunks->used += n;
    return p;
}

static sentry_t *set_slot(const strset_t *s, const char *key, uint32_t h)
{
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        sentry_t *e = &s->t[i];
        if (!e->key || (e->hash == h && !strcmp(e->key, key)))
            return e;
    }
}

/* 0 when added; else the line the key was first seen on. */
static long set_add(strset_t *s, const char *key, long line)
{
    if ((s->n + 1) * 10 > s->cap * 7) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        sentry_t *old = s->t;
        size_t oldcap = s->cap;
        s->t = gw_xcalloc(cap, sizeof(*s->t));
        s->cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].key)
                *set_slot(s, old[i].key, old[i].hash) = old[i];
        free(old);
    }
    uint32_t h = hash_str(key);
    sentry_t *e = set_slot(s, key, h);
    if (e->key)
        return (long)e->line;
    e->key = set_copy(s, key);
    e->hash = h;
    e->line = line > 0 && line < (long)UINT32_MAX ? (uint32_t)line : UINT32_MAX;
    s->n++;
    return 0;
}

static long set_find(const strset_t *s, const char *key)
{
    if (!s->cap)
        return 0;
    sentry_t *e = set_slot(s, key, hash_str(key));
    return e->key ? (long)e->line : 0;
}

static void set_cleanup(strset_t *s)
{
    free(s->t);
    while (s->chunks) {
        chunk_t *n = s->chunks->next;
        free(s->chunks);
        s->chunks = n;
    }
    memset(s, 0, sizeof(*s));
}

/* ---- the input stream ---- */

typedef struct reader {
    FILE *f;
    unsigned char *buf;
    size_t len, pos;
    int eof, ioerr;
    uint64_t done; /* bytes consumed */
    long line; /* physical line of the next byte, from 1 */
} reader_t;

static int rd_fill(reader_t *r)
{
    if (r->eof)
        return 0;
    r->len = fread(r->buf, 1, READ_CHUNK, r->f);
    r->pos = 0;
    if (r->len == 0) {
        r->eof = 1;
        if (ferror(r->f))
            r->ioerr = errno ? errno : EIO;
        return 0;
    }
    return 1;
}

static inline int rd_get(reader_t *r)
{
    if (r->pos == r->len && !rd_fill(r))
        return EOF;
    r->done++;
    int c = r->buf[r->pos++];
    if (c == '\n')
        r->line++;
    return c;
}

static inline int rd_peek(reader_t *r)
{
    if (r->pos == r->len && !rd_fill(r))
        return EOF;
    return r->buf[r->pos];
}

static void rd_skip_bom(reader_t *r)
{
    if (rd_peek(r) != 0xEF || r->len - r->pos < 3)
        return;
    if (r->buf[r->pos + 1] == 0xBB && r->buf[r->pos + 2] == 0xBF) {
        r->pos += 3;
        r->done += 3;
    }
}

/* One CSV record or JSONL line: the bytes, and for CSV the fields as NUL-terminated runs. */
typedef struct record {
    char *data;
    size_t len, cap;
    size_t off[MAX_FIELDS];
    size_t nf;
    int any_quoted;
    long line;
} record_t;

static int rec_put(record_t *rec, int c)
{
    if (rec->len + 1 >= rec->cap) {
        if (rec->cap >= MAX_RECORD)
            return -1;
        rec->cap = rec->cap ? rec->cap * 2 : 4096;
        char *d = realloc(rec->data, rec->cap);
        if (!d)
            abort();
        rec->data = d;
    }
    rec->data[rec->len++] = (char)c;
    return 0;
}

/* RFC 4180. Returns 1 with a record, 0 at the end of input, -1 on a fatal error (err set). */
static int csv_record(reader_t *r, record_t *rec, char *err, size_t errlen)
{
    rec->len = rec->nf = 0;
    rec->any_quoted = 0;
    rec->line = r->line;
    int c = rd_get(r);
    if (c == EOF)
        return 0;
    for (;;) {
        if (rec->nf == MAX_FIELDS) {
            snprintf(err, errlen, "more than %d fields", MAX_FIELDS);
            return -1;
        }
        rec->off[rec->nf++] = rec->len;
        if (c == '"') {
            rec->any_quoted = 1;
            for (;;) {
                c = rd_get(r);
                if (c == EOF) {
                    snprintf(err, errlen, "quoted field not closed before the end of the file");
                    return -1;
                }
                if (c == '"') {
                    if (rd_peek(r) != '"')
                        break;
                    rd_get(r);
                }
                if (c == 0) {
                    snprintf(err, errlen, "NUL byte");
                    return -1;
                }
                if (rec_put(rec, c)) {
                    snprintf(err, errlen, "longer than %u bytes (a quote not closed?)", MAX_RECORD);
                    return -1;
                }
            }
            c = rd_get(r);
            if (c == '\r' && rd_peek(r) == '\n')
                c = rd_get(r);
            if (c != ',' && c != '\n' && c != EOF) {
                snprintf(err, errlen, "text after the closing quote of field %zu", rec->nf);
                return -1;
            }
        } else {
            while (c != ',' && c != '\n' && c != EOF) {
                if (c == '\r' && rd_peek(r) == '\n') {
                    c = rd_get(r);
                    break;
                }
                if (c == '"') {
                    snprintf(err, errlen, "quote inside unquoted field %zu (quote the whole field)", rec->nf);
                    return -1;
                }
                if (c == 0) {
                    snprintf(err, errlen, "NUL byte");
                    return -1;
                }
                if (rec_put(rec, c)) {
                    snprintf(err, errlen, "longer than %u bytes", MAX_RECORD);
                    return -1;
                }
                c = rd_get(r);
            }
        }
        if (rec_put(rec, 0)) {
            snprintf(err, errlen, "longer than %u bytes", MAX_RECORD);
            return -1;
        }
        if (c != ',')
            return 1;
        c = rd_get(r);
    }
}

/* One JSONL line without its line end. Returns 1, 0 at the end, -1 when too long. */
static int jsonl_line(reader_t *r, record_t *rec)
{
    rec->len = 0;
    rec->line = r->line;
    int c = rd_get(r);
    if (c == EOF)
        return 0;
    while (c != '\n' && c != EOF) {
        if (rec_put(rec, c))
            return -1;
        c = rd_get(r);
    }
    if (rec->len && rec->data[rec->len - 1] == '\r')
        rec->len--;
    if (rec_put(rec, 0))
        return -1;
    rec->len--;
    return 1;
}

/* ---- the import ---- */

typedef struct pending {
    long line;
    const char *owner; /* the account that holds the row's username in the store */
} pending_t;

typedef struct import {
    const char *file, *portal;
    gw_store_t *st;
    int dry_run, writing, failed, tty;
    long rows, errors, warnings, legacy, shown_errors, shown_warnings, shown_legacy;
    gw_import_stats_t stats;
    strset_t ids, users, owners;
    pending_t *pend;
    size_t npend, cappend;
    int year;
    char today[11];
    double t0, last;
    uint64_t total_bytes;
} import_t;

static void row_error(import_t *im, long line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void row_error(import_t *im, long line, const char *field, const char *fmt, ...)
{
    im->errors++;
    if (im->shown_errors >= MAX_SHOWN)
        return;
    im->shown_errors++;
    if (im->tty)
        fputs("\r\033[K", stderr);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%ld: %s: ", im->file, line, field);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void row_warning(import_t *im, long line, const char *field, const char *what)
{
    im->warnings++;
    if (im->shown_warnings >= MAX_SHOWN)
        return;
    im->shown_warnings++;
    if (im->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s:%ld: %s: warning: %s\n", im->file, line, field, what);
}

static void row_legacy(import_t *im, long line)
{
    im->legacy++;
    if (im->shown_legacy >= MAX_SHOWN)
        return;
    im->shown_legacy++;
    if (im->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s:%ld: full_name: legacy encoding: needs conversion by an admin\n", im->file, line);
}

/* Valid UTF-8 without control characters. */
static int text_ok(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
            return 0;
        i += (size_t)k;
    }
    return 1;
}

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* NULL when s is a real date YYYY-MM-DD from 1900 to today, else the reason. */
static const char *date_problem(const char *s, const char *today, int *ret_year)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return "not a date (YYYY-MM-DD)";
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return "not a date (YYYY-MM-DD)";
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12)
        return "no such month";
    int md = mdays[m - 1] + (m == 2 && is_leap(y));
    if (d < 1 || d > md)
        return "no such day in that month";
    if (y < 1900)
        return "before 1900";
    if (strcmp(s, today) > 0)
        return "in the future";
    *ret_year = y;
    return NULL;
}

static int ieq(const char *a, const char *b) { return !strcasecmp(a, b); }

static int email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || !text_ok(s))
        return 0;
    for (const char *p = s; *p; p++)
        if (*p == ' ')
            return 0;
    return 1;
}

static int phone_ok(const char *s)
{
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (!strchr("+-(). ", *p))
            return 0;
    }
    return digits > 0;
}

static int status_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return 0;
    return 1;
}

static void add_pending(import_t *im, long line, const char *owner)
{
    if (im->npend == im->cappend) {
        im->cappend = im->cappend ? im->cappend * 2 : 64;
        pending_t *p = realloc(im->pend, im->cappend * sizeof(*p));
        if (!p)
            abort();
        im->pend = p;
    }
    pending_t *p = &im->pend[im->npend++];
    p->line = line;
    p->owner = set_copy(&im->owners, owner);
}

static void check_id_number(import_t *im, long line, const char *v, int birth_year, char sex, gw_account_t *a)
{
    gw_id_info_t info;
    int rc = gw_id_check(v, strlen(v), im->year, &info);
    if (rc == GW_ID_ERR_FORMAT) {
        row_error(im, line, "id_number", "not a number (digits only)");
        return;
    }
    if (rc == GW_ID_ERR_LENGTH || (rc == GW_ID_OK && info.kind != GW_ID_PERSONAL)) {
        row_error(im, line, "id_number", "must be 12 digits%s",
                  rc == GW_ID_OK ? " (9 digits is a CMND: use the cmnd column)" : "");
        return;
    }
    if (rc == GW_ID_ERR_IMPOSSIBLE) {
        row_error(im, line, "id_number", "impossible: the century and year digits give a birth year after %d",
                  im->year);
        return;
    }
    if (rc != GW_ID_OK) {
        row_error(im, line, "id_number", "invalid (%s)", gw_id_strerror(rc));
        return;
    }
    unsigned w = info.warnings | gw_id_compare(&info, birth_year, sex);
    char msg[160];
    if (w & GW_ID_WARN_PLACE_UNKNOWN) {
        snprintf(msg, sizeof(msg), "place code %s is not a province code (born abroad?)", info.place);
        row_warning(im, line, "id_number", msg);
    }
    if (w & GW_ID_WARN_DOB_MISMATCH) {
        snprintf(msg, sizeof(msg), "birth year %d in the number differs from birth_date", info.birth_year);
        row_warning(im, line, "id_number", msg);
    }
    if (w & GW_ID_WARN_SEX_MISMATCH) {
        snprintf(msg, sizeof(msg), "sex %c in the number differs from the sex column", info.sex);
        row_warning(im, line, "id_number", msg);
    }
    snprintf(a->id12, sizeof(a->id12), "%s", info.digits);
}

/* Checks one row (v[c] is "" for an absent column) and writes it when all is well so far. */
static void import_one(import_t *im, long line, const char *const v[C_COUNT])
{
    gw_account_t a;
    memset(&a, 0, sizeof(a));
    long errors_before = im->errors;
    snprintf(a.portal, sizeof(a.portal), "%s", im->portal);

    /* account_id */
    const char *id = v[C_ACCOUNT_ID];
    size_t idlen = strlen(id);
    int id_ok = idlen > 0 && idlen < sizeof(a.id);
    for (size_t i = 0; id_ok && i < idlen; i++)
        id_ok = id[i] >= 0x20 && id[i] < 0x7F;
    if (!idlen)
        row_error(im, line, "account_id", "required");
    else if (!id_ok)
        row_error(im, line, "account_id", "must be 1-%zu printable ASCII characters", sizeof(a.id) - 1);
    else {
        long first = set_add(&im->ids, id, line);
        if (first)
            row_error(im, line, "account_id", "duplicate of line %ld", first);
        snprintf(a.id, sizeof(a.id), "%s", id);
    }

    /* username */
    const char *user = v[C_USERNAME];
    if (!*user)
        row_error(im, line, "username", "required");
    else if (strlen(user) >= sizeof(a.username))
        row_error(im, line, "username", "longer than %zu bytes", sizeof(a.username) - 1);
    else if (!text_ok(user))
        row_error(im, line, "username", "not valid UTF-8 or contains control characters");
    else {
        long first = set_add(&im->users, user, line);
        if (first)
            row_error(im, line, "username", "duplicate of line %ld", first);
        snprintf(a.username, sizeof(a.username), "%s", user);
    }

    /* full_name */
    int rc = gw_name_normalize(v[C_FULL_NAME], a.full_name, sizeof(a.full_name));
    if (rc == GW_ETOOBIG)
        row_error(im, line, "full_name", "longer than %zu bytes", sizeof(a.full_name) - 1);
    else if (rc)
        row_error(im, line, "full_name", "not valid UTF-8 or contains control characters");
    else if (!a.full_name[0])
        row_error(im, line, "full_name", "required");
    else if (gw_name_strict_key(a.full_name, a.name_key, sizeof(a.name_key)))
        row_error(im, line, "full_name", "too long for its comparison key");
    else
        a.flags |= gw_name_legacy_encoding(a.full_name);

    /* birth_date */
    int birth_year = 0;
    if (*v[C_BIRTH_DATE]) {
        const char *why = date_problem(v[C_BIRTH_DATE], im->today, &birth_year);
        if (why)
            row_error(im, line, "birth_date", "%s", why);
        else
            memcpy(a.birthdate, v[C_BIRTH_DATE], 11);
    }

    /* sex */
    const char *sx = v[C_SEX];
    if (*sx) {
        char key[32];
        if (gw_name_loose_key(sx, key, sizeof(key)))
            key[0] = '\0';
        if (!strcmp(key, "m") || !strcmp(key, "male") || !strcmp(key, "nam"))
            a.sex = 'M';
        else if (!strcmp(key, "f") || !strcmp(key, "female") || !strcmp(key, "nu"))
            a.sex = 'F';
        else
            row_error(im, line, "sex", "must be M, F, male, female, nam, nữ or empty");
    }

    /* cmnd */
    if (*v[C_CMND]) {
        if (!all_digits(v[C_CMND], 9))
            row_error(im, line, "cmnd", "must be 9 digits");
        else
            memcpy(a.cmnd9, v[C_CMND], 10);
    }

    /* id_number */
    if (*v[C_ID_NUMBER])
        check_id_number(im, line, v[C_ID_NUMBER], birth_year, a.sex, &a);

    /* id_verified */
    const char *ver = v[C_ID_VERIFIED];
    if (*ver) {
        if (ieq(ver, "true") || ieq(ver, "1") || ieq(ver, "yes"))
            a.id12_verified = 1;
        else if (!ieq(ver, "false") && !ieq(ver, "0") && !ieq(ver, "no"))
            row_error(im, line, "id_verified", "must be true/false, 1/0 or yes/no");
        if (a.id12_verified && !*v[C_ID_NUMBER])
            row_error(im, line, "id_verified", "true without id_number");
        if (a.id12_verified)
            snprintf(a.verified_by, sizeof(a.verified_by), "import");
    }

    /* email, phone, status */
    const char *em = v[C_EMAIL];
    if (*em) {
        if (strlen(em) >= sizeof(a.email))
            row_error(im, line, "email", "longer than %zu bytes", sizeof(a.email) - 1);
        else if (!email_ok(em))
            row_error(im, line, "email", "not an e-mail address");
        else
            snprintf(a.email, sizeof(a.email), "%s", em);
    }
    const char *ph = v[C_PHONE];
    if (*ph) {
        if (strlen(ph) >= sizeof(a.phone))
            row_error(im, line, "phone", "longer than %zu bytes", sizeof(a.phone) - 1);
        else if (!phone_ok(ph))
            row_error(im, line, "phone", "only digits, spaces and + - ( ) . are allowed");
        else
            snprintf(a.phone, sizeof(a.phone), "%s", ph);
    }
    const char *stt = *v[C_STATUS] ? v[C_STATUS] : "active";
    if (strlen(stt) >= sizeof(a.status) || !status_ok(stt))
        row_error(im, line, "status", "must be 1-%zu letters, digits, '_' or '-'", sizeof(a.status) - 1);
    else
        snprintf(a.status, sizeof(a.status), "%s", stt);

    /* password_hash: never echoed */
    const char *pw = v[C_PASSWORD_HASH];
    char why[160];
    if (*pw) {
        if (strlen(pw) >= sizeof(a.pw_hash))
            row_error(im, line, "password_hash", "longer than %zu bytes", sizeof(a.pw_hash) - 1);
        else if (gw_pwhash_refusal(pw, why, sizeof(why)) != GW_OK) /* the login's verifier would refuse it */
            row_error(im, line, "password_hash", "%s", why);
        else
            snprintf(a.pw_hash, sizeof(a.pw_hash), "%s", pw);
    }

    /* account_class */
    const char *cls = v[C_ACCOUNT_CLASS];
    if (!*cls || ieq(cls, "individual"))
        snprintf(a.account_class, sizeof(a.account_class), "individual");
    else if (ieq(cls, "organisation") || ieq(cls, "organization"))
        snprintf(a.account_class, sizeof(a.account_class), "organisation");
    else
        row_error(im, line, "account_class", "must be individual or organisation");

    if (im->errors > errors_before)
        return;

    /* the username must not belong to another account of the portal, unless that account
     * is in this file too (it then gets another username): decided at the end */
    gw_account_t cur; /* first the holder of the username, then the stored account */
    rc = GW_STORE_ACCT(im->st, account_by_username, im->portal, a.username, &cur);
    if (rc == GW_OK && strcmp(cur.id, a.id)) {
        add_pending(im, line, cur.id);
        rc = GW_ENOTFOUND;
    }
    if (rc == GW_ENOTFOUND)
        rc = GW_STORE_ACCT(im->st, account_get, im->portal, a.id, &cur);
    if (rc != GW_OK && rc != GW_ENOTFOUND) {
        row_error(im, line, "store", "cannot read the store");
        im->failed = 1;
        return;
    }

    /* a number confirmed since the last import (population DB, VNeID) or carried by a
     * link outranks the file: the import keeps it */
    if (rc == GW_OK && cur.id12[0] &&
        ((cur.id12_verified && strcmp(cur.verified_by, "import")) || cur.state == GW_ACCT_LINKED ||
         cur.state == GW_ACCT_MERGED)) {
        if (a.id12[0] && strcmp(cur.id12, a.id12)) {
            char msg[96];
            snprintf(msg, sizeof(msg), "differs from the number confirmed by %s, which is kept",
                     cur.verified_by[0] ? cur.verified_by : "a link");
            row_warning(im, line, "id_number", msg);
        }
        memcpy(a.id12, cur.id12, sizeof(a.id12));
        a.id12_verified = cur.id12_verified;
        memcpy(a.verified_by, cur.verified_by, sizeof(a.verified_by));
    }

    im->rows++;
    if (a.flags & GW_ACCT_FLAG_LEGACY_ENCODING)
        row_legacy(im, line);
    if (!im->writing || im->errors)
        return;
    rc = GW_STORE_ACCT(im->st, import_row, &a, &im->stats);
    if (rc) {
        row_error(im, line, "store", "%s", rc == GW_ECONFLICT ? "conflict with an existing record" : "write failed");
        im->failed = 1;
    }
}

static void progress(import_t *im, const reader_t *r, int final)
{
    double now = gw_now_ms();
    if (!final && now - im->last < 100)
        return;
    im->last = now;
    double secs = (now - im->t0) / 1000.0;
    double rate = secs > 0 ? (double)im->rows / secs : 0;
    if (im->tty) {
        char bar[31];
        int pct = im->total_bytes ? (int)(100.0 * (double)r->done / (double)im->total_bytes) : 0;
        if (pct > 100)
            pct = 100;
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        if (im->total_bytes)
            fprintf(stderr, "\r\033[K[%s] %3d%%  %ld rows  %.0f rows/s", bar, pct, im->rows, rate);
        else
            fprintf(stderr, "\r\033[K%ld rows  %.0f rows/s", im->rows, rate);
        if (final)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (final) {
        fprintf(stderr, "%s: read %ld rows in %.1f s (%.0f rows/s)\n", im->file, im->rows, secs, rate);
    }
}

static const char *const EMPTY[C_COUNT] = { "", "", "", "", "", "", "", "", "", "", "", "", "" };

static void read_csv(import_t *im, reader_t *r)
{
    record_t rec = { 0 };
    char err[256];
    int hdr[MAX_FIELDS];
    size_t ncols = 0;
    int rc;
    /* header: the first non-empty record */
    while ((rc = csv_record(r, &rec, err, sizeof(err))) == 1 && rec.nf == 1 && rec.len == 1 && !rec.any_quoted)
        ;
    if (rc < 0) {
        row_error(im, rec.line, "row", "%s", err);
        goto done;
    }
    if (rc == 0) {
        row_error(im, 1, "header", "missing: the first row must name the columns");
        goto done;
    }
    int seen[C_COUNT] = { 0 };
    for (size_t i = 0; i < rec.nf; i++) {
        char *name = rec.data + rec.off[i];
        while (*name == ' ')
            name++;
        size_t n = strlen(name);
        while (n && name[n - 1] == ' ')
            name[--n] = '\0';
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        int c = column_index(name);
        if (c < 0)
            row_error(im, rec.line, "header", "unknown column '%.64s'", name);
        else if (seen[c])
            row_error(im, rec.line, "header", "column '%s' given twice", name);
        else
            seen[c] = 1;
        hdr[i] = c;
    }
    for (int c = 0; c <= C_FULL_NAME; c++)
        if (!seen[c])
            row_error(im, rec.line, "header", "required column '%s' missing", COLS[c]);
    if (im->errors) {
        goto done;
    }
    ncols = rec.nf;
    long n = 0;
    while ((rc = csv_record(r, &rec, err, sizeof(err))) == 1) {
        if (rec.nf == 1 && rec.len == 1 && !rec.any_quoted)
            continue; /* blank line */
        if (rec.nf != ncols) {
            row_error(im, rec.line, "row", "%zu fields, the header has %zu", rec.nf, ncols);
        } else {
            const char *v[C_COUNT];
            memcpy(v, EMPTY, sizeof(v));
            for (size_t i = 0; i < ncols; i++)
                v[hdr[i]] = rec.data + rec.off[i];
            import_one(im, rec.line, v);
        }
        if (im->failed)
            break;
        if ((++n & 1023) == 0)
            progress(im, r, 0);
    }
    if (rc < 0)
        row_error(im, rec.line, "row", "%s", err);
done:
    free(rec.data);
}

static void read_jsonl(import_t *im, reader_t *r)
{
    record_t rec = { 0 };
    int rc;
    long n = 0;
    while ((rc = jsonl_line(r, &rec)) == 1) {
        size_t k = 0;
        while (k < rec.len && (rec.data[k] == ' ' || rec.data[k] == '\t'))
            k++;
        if (k == rec.len)
            continue;
        json_error_t jerr;
        json_t *o = json_loadb(rec.data, rec.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o || !json_is_object(o)) {
            row_error(im, rec.line, "row", "%s", o ? "not a JSON object" : jerr.text);
            json_decref(o);
        } else {
            const char *v[C_COUNT];
            memcpy(v, EMPTY, sizeof(v));
            char idnum[32];
            int bad = 0;
            const char *key;
            json_t *val;
            json_object_foreach (o, key, val) {
                int c = column_index(key);
                if (c < 0) {
                    row_error(im, rec.line, "row", "unknown field '%.64s'", key);
                    bad = 1;
                } else if (json_is_string(val)) {
                    v[c] = json_string_value(val);
                } else if (json_is_null(val)) {
                    v[c] = "";
                } else if (c == C_ID_VERIFIED && json_is_boolean(val)) {
                    v[c] = json_is_true(val) ? "true" : "false";
                } else if (c == C_ACCOUNT_ID && json_is_integer(val)) {
                    snprintf(idnum, sizeof(idnum), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
                    v[c] = idnum;
                } else {
                    row_error(im, rec.line, COLS[c], "%s",
                              c == C_ID_VERIFIED ? "must be true or false"
                              : c == C_CMND || c == C_ID_NUMBER || c == C_PHONE
                                  ? "must be a string (a number loses leading zeros)"
                                  : "must be a string");
                    bad = 1;
                }
            }
            if (!bad)
                import_one(im, rec.line, v);
            json_decref(o);
        }
        if (im->failed)
            break;
        if ((++n & 1023) == 0)
            progress(im, r, 0);
    }
    free(rec.data);
    if (rc < 0)
        row_error(im, r->line, "row", "longer than %u bytes", MAX_RECORD);
}

/* Reads and checks the whole input, writing rows while all is well; reports at the end. */
static void read_input(import_t *im, FILE *f, int jsonl)
{
    reader_t r = { .f = f, .line = 1 };
    r.buf = gw_xmalloc(READ_CHUNK);
    rd_skip_bom(&r);
    if (jsonl)
        read_jsonl(im, &r);
    else
        read_csv(im, &r);
    if (r.ioerr)
        row_error(im, r.line, "file", "read error: %s", strerror(r.ioerr));

    /* usernames held by other accounts of the portal that are not in this file */
    for (size_t i = 0; i < im->npend; i++)
        if (!set_find(&im->ids, im->pend[i].owner))
            row_error(im, im->pend[i].line, "username", "already used by account '%s' of portal %s", im->pend[i].owner,
                      im->portal);

    if (!im->tty || im->rows)
        progress(im, &r, 1);
    free(r.buf);
    if (im->errors > im->shown_errors)
        fprintf(stderr, "%s: %ld more errors not shown\n", im->file, im->errors - im->shown_errors);
    if (im->warnings > im->shown_warnings)
        fprintf(stderr, "%s: %ld more warnings not shown\n", im->file, im->warnings - im->shown_warnings);
    if (im->legacy > im->shown_legacy)
        fprintf(stderr, "%s: %ld more legacy-encoded names not shown\n", im->file, im->legacy - im->shown_legacy);
    if (im->errors)
        fprintf(stderr, "%s: %ld error%s; nothing imported\n", im->file, im->errors, im->errors == 1 ? "" : "s");
}

static void import_cleanup(import_t *im)
{
    set_cleanup(&im->ids);
    set_cleanup(&im->users);
    set_cleanup(&im->owners);
    free(im->pend);
}

int gw_cli_import_run(gw_store_t *st, const char *portal, const char *file, FILE *f, int jsonl, int dry_run)
{
    int ret = 0;
    import_t im;
    memset(&im, 0, sizeof(im));
    im.file = file;
    im.portal = portal;
    im.st = st;
    im.dry_run = dry_run;
    im.tty = isatty(STDERR_FILENO);
    /* today as Vietnam counts it (UTC+7), like the year the ID number rules use */
    time_t now = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    im.year = gw_id_year_now();
    strftime(im.today, sizeof(im.today), "%Y-%m-%d", &tm);
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        im.total_bytes = (uint64_t)sb.st_size;
    im.t0 = im.last = gw_now_ms();

    if (!im.dry_run) {
        int rc = GW_STORE_ACCT(st, import_begin, portal);
        if (rc) {
            fprintf(stderr, "eidgw accounts: cannot start the import transaction (store busy or unwritable)\n");
            ret = 1;
            goto done;
        }
        im.writing = 1;
    }

    read_input(&im, f, jsonl);
    if (im.errors)
        ret = 1;
    if (im.writing) {
        int commit = !ret;
        int rc = GW_STORE_ACCT(st, import_end, commit);
        if (rc && commit) {
            fprintf(stderr, "eidgw accounts: the store could not commit the import; nothing imported\n");
            ret = 1;
        }
    }
    if (!ret) {
        if (im.dry_run)
            printf("dry run %s: %ld rows valid, %ld warnings, %ld legacy-encoded names; nothing "
                   "written\n",
                   im.portal, im.rows, im.warnings, im.legacy);
        else
            printf("imported %s: %ld rows (inserted %ld, updated %ld, unchanged %ld), %ld warnings, "
                   "%ld legacy-encoded names\n",
                   im.portal, im.rows, im.stats.inserted, im.stats.updated, im.stats.unchanged, im.warnings, im.legacy);
    }
done:
    import_cleanup(&im);
    return ret;
}

static int cmd_import(int argc, char **argv)
{
    opts_t o;
    if (parse_opts(argc, argv, "import", "config portal format dry-run FILE", &o))
        return 2;
    if (!o.file)
        return usage_error("import: FILE is required");
    int jsonl;
    if (o.format) {
        if (strcmp(o.format, "csv") && strcmp(o.format, "jsonl"))
            return usage_error("import: --format must be csv or jsonl");
        jsonl = !strcmp(o.format, "jsonl");
    } else {
        const char *dot = strrchr(o.file, '.');
        jsonl = dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson"));
    }
    FILE *f = strcmp(o.file, "-") ? fopen(o.file, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "eidgw accounts: %s: %s\n", o.file, strerror(errno));
        return 1;
    }
    env_t e;
    int ret = env_open(&e, &o);
    if (ret) {
        env_cleanup(&e);
        if (f != stdin)
            fclose(f);
        return ret;
    }

    ret = gw_cli_import_run(e.st, o.portal, o.file, f, jsonl, o.dry_run);
    env_cleanup(&e);
    if (f != stdin)
        fclose(f);
    return ret;
}

/* ---- report ---- */

static int cmd_report(int argc, char **argv)
{
    opts_t o;
    if (parse_opts(argc, argv, "report", "config portal json", &o))
        return 2;
    env_t e;
    int ret = env_open(&e, &o);
    if (ret) {
        env_cleanup(&e);
        return ret;
    }
    gw_account_report_t r;
    if (GW_STORE_ACCT(e.st, account_report, o.portal, &r)) {
        fprintf(stderr, "eidgw accounts: cannot read the store\n");
        env_cleanup(&e);
        return 1;
    }
    if (o.json) {
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "portal", o.portal, "total",
                              (json_int_t)r.total, "with_id_number", (json_int_t)r.with_id12, "id_verified",
                              (json_int_t)r.id12_verified, "with_cmnd", (json_int_t)r.with_cmnd9, "linked",
                              (json_int_t)r.linked, "merged", (json_int_t)r.merged, "duplicate_groups",
                              (json_int_t)r.duplicate_groups, "duplicate_accounts", (json_int_t)r.duplicate_accounts,
                              "unverified", (json_int_t)r.unverified, "legacy_encoding", (json_int_t)r.legacy_encoding);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (!s) {
            fprintf(stderr, "eidgw accounts: out of memory\n");
            ret = 1;
        } else {
            printf("%s\n", s);
        }
        free(s);
        json_decref(j);
    } else {
        printf("legacy accounts of portal %s\n", o.portal);
        printf("  %-26s %10ld\n", "accounts", r.total);
        printf("  %-26s %10ld\n", "with ID number", r.with_id12);
        printf("  %-26s %10ld\n", "ID number verified", r.id12_verified);
        printf("  %-26s %10ld\n", "with CMND", r.with_cmnd9);
        printf("  %-26s %10ld\n", "linked", r.linked);
        printf("  %-26s %10ld\n", "merged", r.merged);
        printf("  %-26s %10ld groups, %ld accounts\n", "duplicates", r.duplicate_groups, r.duplicate_accounts);
        printf("  %-26s %10ld\n", "unverified (pending)", r.unverified);
        printf("  %-26s %10ld\n", "legacy-encoded names", r.legacy_encoding);
    }
    env_cleanup(&e);
    return ret;
}

int gw_cli_accounts(int argc, char **argv)
{
    if (argc < 3)
        return usage_error("a command is required (import, report, verify, help)");
    const char *cmd = argv[2];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!strcmp(cmd, "import"))
        return cmd_import(argc, argv);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc, argv);
    if (!strcmp(cmd, "verify"))
        return gw_cli_accounts_verify(argc, argv);
    return usage_error("unknown command '%s'", cmd);
}
