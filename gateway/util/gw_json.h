/* gw_json_parse: a strict JSON (RFC 8259) reader that builds jansson values.
 *
 * For text from the network (upstream token and userinfo answers, JWT parts, API bodies)
 * and the store's own records. It accepts what json_loadb(JSON_REJECT_DUPLICATES)
 * accepts, with the same values, except that it refuses nesting deeper than
 * GW_JSON_MAX_DEPTH; it reads a string with one scan and one copy, where jansson reads it
 * byte by byte through its stream (tests/fuzz/fuzz_json.c holds the two to each other).
 *
 * Refused: anything but one object or array (with white space around it), a duplicate
 * key, \u0000, a lone surrogate, invalid UTF-8 (overlong forms, surrogates, beyond
 * U+10FFFF), control characters in strings, integers beyond long long, reals beyond
 * double. */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <jansson.h>
#include <stddef.h>

#define GW_JSON_MAX_DEPTH 64

/* A new reference, or NULL with a reason in err (when err is not NULL). */
json_t *gw_json_parse(const char *text, size_t len, char *err, size_t errlen);

/* The same for a NUL-terminated text (NULL gives NULL). */
json_t *gw_json_parse_str(const char *text);

/* The string member k of object o, or NULL (not an object, absent, not a string). */
const char *gw_jstr(const json_t *o, const char *k);
/* Sets member k to the string v; nothing when v is NULL. */
void gw_jset(json_t *o, const char *k, const char *v);

#endif
