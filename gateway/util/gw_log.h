/* gw_log: one JSON object per line on stderr. ID numbers are masked by the caller with
 * gw_id_mask (or by passing them under a key ending in "_id12", which masks here). */
#ifndef GW_LOG_H
#define GW_LOG_H

typedef enum { GW_LOG_DEBUG = 0, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR } gw_log_level_t;

void gw_log_set_level(gw_log_level_t lvl);
gw_log_level_t gw_log_parse_level(const char *s);
/* gw_log(level, module, message, key1, value1, key2, value2, ..., NULL). Values are
 * strings (NULL values are skipped). */
void gw_log(gw_log_level_t lvl, const char *module, const char *msg, ...) __attribute__((sentinel));

/* An event loop's thread holds its lines and writes them with one write(2) per pass of
 * the loop (gw_log_flush), not one per line: a login is five requests and as many lines.
 * A warning or an error is written at once, with the lines held before it. hold(0)
 * writes what is held and goes back to a write per line. */
void gw_log_hold(int on);
void gw_log_flush(void);

#endif
