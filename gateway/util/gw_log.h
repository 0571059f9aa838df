/* gw_log: one JSON object per line on stderr. ID numbers are masked by the caller with
 * gw_id_mask (or by passing them under a key ending in "_id12", which masks here). */
#ifndef GW_LOG_H
#define GW_LOG_H

typedef enum { GW_LOG_DEBUG = 0, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR } gw_log_level_t;

void gw_log_set_level(gw_log_level_t lvl);
gw_log_level_t gw_log_parse_level(const char *s);
/* gw_log(level, module, message, key1, value1, key2, value2, ..., NULL). Values are
 * strings (NULL values are skipped); one longer than GW_LOG_VALUE_MAX bytes is cut there
 * and ends "...[N bytes]" with its length (a value may come from a request). The message
 * is the caller's constant: warnings and errors with the same module and message are
 * written at most GW_LOG_WARN_BURST times a GW_LOG_WARN_WINDOW_MS, the rest counted and
 * said in one line "suppressed K similar" (field "of": the message) once the window has
 * passed, at the next line logged. */
#define GW_LOG_VALUE_MAX 200
#define GW_LOG_WARN_BURST 100
#define GW_LOG_WARN_WINDOW_MS 10000
void gw_log(gw_log_level_t lvl, const char *module, const char *msg, ...) __attribute__((sentinel));
/* For tests: another burst and window (0: the defaults); forgets what was counted. */
void gw_log_set_warn_rate(unsigned burst, long window_ms);

/* An event loop's thread holds its lines and writes them with one write(2) per pass of
 * the loop (gw_log_flush), not one per line: a login is five requests and as many lines.
 * A warning or an error is written at once, with the lines held before it. hold(0)
 * writes what is held and goes back to a write per line. */
void gw_log_hold(int on);
void gw_log_flush(void);

#endif
