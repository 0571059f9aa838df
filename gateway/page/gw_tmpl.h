/* gw_tmpl: the page renderer. Templates are HTML files in templates/; every value is
 * HTML-escaped by the renderer, never by the caller. Messages come from the catalogs
 * templates/i18n/<lang>.txt ("key = value" lines, '#' comments, UTF-8).
 *
 * Template syntax (a small, logic-less subset of mustache):
 *   {{name}}          value of variable `name`, HTML-escaped ("" if unset)
 *   {{t:key}}         message `key` of the page language, HTML-escaped
 *                     (falls back to "vi", then to the key itself)
 *   {{#name}}..{{/name}}  the block if `name` is set and non-empty
 *   {{^name}}..{{/name}}  the block if `name` is unset or empty
 *   {{#list}}..{{/list}} with variables "list.0.f", "list.1.f", ...: the block once per
 *                     item; {{f}} inside reads that item's field (one level, no nesting)
 *   {{>name}}         include template `name` (e.g. a shared header), max depth 4
 * Any other "{{" is a template error found at load time. */
#ifndef GW_TMPL_H
#define GW_TMPL_H
#include <stddef.h>

typedef struct gw_tmpl_set gw_tmpl_set_t; /* loaded templates + catalogs, immutable */

typedef struct gw_tmpl_var {
    const char *name;
    const char *value;
} gw_tmpl_var_t;

/* Load every <name>.html in dir and every catalog i18n/<lang>.txt under it (the i18n
 * folder may be absent). Templates are parsed, partials resolved and messages escaped here.
 * On error returns NULL and writes "file:line: message" into errbuf. */
gw_tmpl_set_t *gw_tmpl_load(const char *dir, char *errbuf, size_t errlen);
void gw_tmpl_free(gw_tmpl_set_t *set);

/* Render template `name` (file name without .html) in language `lang` ("vi" or "en";
 * anything else means "vi"). `vars` is an array of nvars entries; the renderer adds
 * the variables "lang" (the page language) and "other_lang" (the other one), which take
 * precedence over entries of the same name; a NULL value counts as unset. Returns a
 * malloc'd NUL-terminated string (length in *ret_len if not NULL) or NULL if the template
 * does not exist or memory ran out. Thread-safe on a shared set. */
char *gw_tmpl_render(const gw_tmpl_set_t *set, const char *name, const char *lang, const gw_tmpl_var_t *vars,
                     size_t nvars, size_t *ret_len);

/* A message of the catalog (not escaped; falls back to "vi"), or the key itself when
 * missing. The string lives as long as the set. */
const char *gw_tmpl_msg(const gw_tmpl_set_t *set, const char *lang, const char *key);

/* For tests and fuzzing: a set holding the single template `name` parsed from text (len
 * bytes), with no catalogs ({{t:key}} renders the key); partials may only name the
 * template itself, which is refused as a cycle. NULL and "name.html:line: message" in
 * errbuf on error. */
gw_tmpl_set_t *gw_tmpl_parse_one(const char *name, const char *text, size_t len, char *errbuf, size_t errlen);

/* HTML-escape src into a malloc'd string (& < > " ' and also ` =); NULL is read as "".
 * NULL only when memory ran out. */
char *gw_html_escape(const char *src);

#endif
