/* gw_metrics: what /metrics reports (Prometheus text format 0.0.4), kept as relaxed
 * atomics by the code that does the work: latency histograms and counters under labels
 * from small fixed sets (a route of the server, a status class, an error page's code, an
 * outgoing call's outcome), never from what a client sends, so the output stays bounded. */
#ifndef GW_METRICS_H
#define GW_METRICS_H
#include "gw_util.h"

#include <stdint.h>

#define GW_HIST_BUCKETS 11

/* a latency histogram, in seconds (the bounds: gw_hist_bounds) */
typedef struct gw_hist {
    uint64_t bucket[GW_HIST_BUCKETS]; /* not cumulative: each counts its own range */
    uint64_t over; /* above the last bound */
    uint64_t sum_us, count;
} gw_hist_t;

void gw_hist_add(gw_hist_t *h, double ms);
/* NAME_bucket{LABELS,le=".."} (cumulative), NAME_sum, NAME_count; labels: `a="x",b="y"` or "" */
void gw_hist_write(gw_buf_t *out, const char *name, const char *labels, const gw_hist_t *h);
/* "# HELP" and "# TYPE" lines */
void gw_metric_head(gw_buf_t *out, const char *name, const char *type, const char *help);

/* Counts under a label value from a bounded set met at run time (error page codes): the
 * first GW_LABELS_MAX values each get their own count (a copy of the value, kept for the
 * process's life), later ones and any value that is not 1-64 of [a-z0-9_-] count as "other". */
#define GW_LABELS_MAX 64
typedef struct gw_labelcount {
    char *name[GW_LABELS_MAX];
    uint64_t n[GW_LABELS_MAX];
    uint64_t other;
} gw_labelcount_t;

void gw_labelcount_add(gw_labelcount_t *c, const char *value);
/* NAME{LABEL="value"} N for each value seen */
void gw_labelcount_write(gw_buf_t *out, const char *name, const char *label, const gw_labelcount_t *c);

#endif
