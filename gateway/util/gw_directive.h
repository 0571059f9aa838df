/* gw_directive: settings read from `key = value` lines by a table of rows.
 *
 * A row names a key, its type, where it goes in a settings struct (offsetof), an optional
 * default (given as a configuration value, read at the section's end when the key was
 * not given) and whether it is required. Rows are built with designated initializers:
 *
 *   static const gw_directive_t dirs[] = {
 *       { .name = "url", .type = GW_DIR_URL, .offset = offsetof(my_t, url), .required = 1 },
 *       { .name = "timeout", .type = GW_DIR_SECONDS, .offset = offsetof(my_t, timeout),
 *         .min = 1, .max = 60, .def = "10s" },
 *       { 0 },
 *   };
 *
 * Every error reads "file:line: key: message". The configuration file's sections and the
 * plugins' own sections are read by this one mechanism. */
#ifndef GW_DIRECTIVE_H
#define GW_DIRECTIVE_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    GW_DIR_STR = 1, /* char *, not empty */
    GW_DIR_URL, /* char *, an absolute http(s) URL */
    GW_DIR_INT, /* int in min..max */
    GW_DIR_SECONDS, /* long seconds in min..max: 30s, 5m, 8h, 1d */
    GW_DIR_SIZE, /* long bytes in min..max: 8k, 1m */
    GW_DIR_BOOL, /* int: yes/no, true/false, on/off */
    GW_DIR_WORD, /* char *, one of the space-separated `words` */
    GW_DIR_CHOICE, /* int, the index of the value among `words` */
    GW_DIR_LIST, /* gw_strlist_t, one value a line, each once */
    GW_DIR_URL_LIST, /* gw_strlist_t of URLs without fragment */
    GW_DIR_HEX64, /* char *, 64 hexadecimal characters (a SHA-256) */
    GW_DIR_TIME, /* int64_t Unix time from 2024-07-01T00:00:00+07:00 */
    GW_DIR_RATE, /* gw_rate_t from N/DURATION, e.g. 5/15m */
} gw_dir_type_t;

typedef struct gw_rate {
    long count; /* at most count events ... */
    long window; /* ... per window seconds */
} gw_rate_t;

typedef struct gw_directive {
    const char *name;
    gw_dir_type_t type;
    size_t offset;
    long min, max; /* GW_DIR_INT, GW_DIR_SECONDS, GW_DIR_SIZE */
    const char *words; /* GW_DIR_WORD, GW_DIR_CHOICE */
    int required;
    const char *def; /* the default, as a value in the file; NULL: none */
    int secret; /* a string wiped before it is freed */
    int secret_file; /* the path of a file holding a secret (a private key): its mode is checked */
    /* a further check of one value: 0, or -1 with the message in msg */
    int (*check)(const char *value, char *msg, size_t msglen);
} gw_directive_t;

#define GW_DIR_MAX 64 /* rows in one table */

/* One section being read: where it began and where each row was given. */
typedef struct gw_dir_section {
    const gw_directive_t *table;
    void *base; /* the settings struct */
    const char *name; /* "upstream vneid", for messages */
    const char *file;
    int line; /* the section header's line */
    int set_line[GW_DIR_MAX]; /* 0: not given */
} gw_dir_section_t;

void gw_dir_open(gw_dir_section_t *s, const gw_directive_t *table, void *base, const char *name, const char *file,
                 int line);
/* The row of that key, or NULL. */
const gw_directive_t *gw_dir_find(const gw_directive_t *table, const char *key);
/* Apply one `key = value` given at line. 0, or -1 with "file:line: key: message" in err
 * (an unknown key, one given twice, a bad value). */
int gw_dir_set(gw_dir_section_t *s, const char *key, const char *value, int line, char *err, size_t errlen);
/* At the section's end: a missing required key is an error at the header's line; then
 * the defaults of the rows not given. */
int gw_dir_close(gw_dir_section_t *s, char *err, size_t errlen);
/* The defaults of every row not given, without the required check (a section absent). */
void gw_dir_defaults(gw_dir_section_t *s);
/* The line where key was given, or the header's line when it was not. */
int gw_dir_line(const gw_dir_section_t *s, const char *key);
/* Free the strings and lists the table's rows put into base (not base itself). */
void gw_dir_free(const gw_directive_t *table, void *base);

/* "file:line: key: message" (without key when key is NULL, without line when line is 0).
 * Returns -1. */
__attribute__((format(printf, 6, 7))) int gw_dir_error(char *err, size_t errlen, const char *file, int line,
                                                       const char *key, const char *fmt, ...);
__attribute__((format(printf, 6, 0))) int gw_dir_verror(char *err, size_t errlen, const char *file, int line,
                                                        const char *key, const char *fmt, va_list ap);

/* Lines of a section kept as they were read, for the one who owns its keys. */
typedef struct gw_dir_line {
    char *key, *value;
    int line;
} gw_dir_line_t;

typedef struct gw_dir_lines {
    char *name; /* "upstream vneid", "popdb" */
    char *file;
    int line; /* the header's line; 0: the section is absent */
    size_t n, cap;
    gw_dir_line_t *v;
} gw_dir_lines_t;

void gw_dir_lines_add(gw_dir_lines_t *l, const char *key, const char *value, int line);
void gw_dir_lines_cleanup(gw_dir_lines_t *l);
/* A settings struct of `size` bytes read from the lines by the table (defaults only when
 * the section is absent). The section's record is left in *sec for further checks. NULL
 * with the error in err. Free with gw_dir_settings_free. */
void *gw_dir_settings_new(const gw_directive_t *table, size_t size, const gw_dir_lines_t *lines, gw_dir_section_t *sec,
                          char *err, size_t errlen);
void gw_dir_settings_free(const gw_directive_t *table, void *settings);

#endif
