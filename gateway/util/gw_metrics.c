/* Counters and histograms for /metrics: see gw_metrics.h. */
#include "gw_metrics.h"

#include <stdlib.h>
#include <string.h>

static const double bounds[GW_HIST_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5 };

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define GET(p) __atomic_load_n((p), __ATOMIC_RELAXED)

void gw_hist_add(gw_hist_t *h, double ms)
{
    double s = ms / 1000;
    int i = 0;
    while (i < GW_HIST_BUCKETS && s > bounds[i])
        i++;
    ADD(i < GW_HIST_BUCKETS ? &h->bucket[i] : &h->over, 1);
    ADD(&h->sum_us, (uint64_t)(ms > 0 ? ms * 1000 : 0));
    ADD(&h->count, 1);
}

void gw_metric_head(gw_buf_t *out, const char *name, const char *type, const char *help)
{
    gw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void gw_hist_write(gw_buf_t *out, const char *name, const char *labels, const gw_hist_t *h)
{
    const char *sep = *labels ? "," : "";
    uint64_t cum = 0;
    for (int i = 0; i < GW_HIST_BUCKETS; i++) {
        cum += GET(&h->bucket[i]);
        gw_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i], (unsigned long long)cum);
    }
    cum += GET(&h->over);
    gw_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    gw_buf_printf(out, "%s_sum{%s} %.6f\n", name, labels, (double)GET(&h->sum_us) / 1e6);
    /* the count as the +Inf bucket read it: the three lines of one histogram agree */
    gw_buf_printf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

/* a label value Prometheus needs no escape for: what codes and keys are made of */
static int plain(const char *v)
{
    size_t n = 0;
    for (; v[n]; n++)
        if (!((v[n] >= 'a' && v[n] <= 'z') || (v[n] >= '0' && v[n] <= '9') || v[n] == '_' || v[n] == '-'))
            return 0;
    return n > 0 && n <= 64;
}

void gw_labelcount_add(gw_labelcount_t *c, const char *value)
{
    if (!value || !plain(value)) {
        ADD(&c->other, 1);
        return;
    }
    for (int i = 0; i < GW_LABELS_MAX; i++) {
        char *n = GET(&c->name[i]);
        if (!n) { /* take the free slot with a copy of its own; another thread may take it first */
            char *copy = gw_strdup(value);
            char *expected = NULL;
            if (__atomic_compare_exchange_n(&c->name[i], &expected, copy, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                n = copy;
            } else {
                free(copy);
                n = expected;
            }
        }
        if (!strcmp(n, value)) {
            ADD(&c->n[i], 1);
            return;
        }
    }
    ADD(&c->other, 1);
}

void gw_labelcount_write(gw_buf_t *out, const char *name, const char *label, const gw_labelcount_t *c)
{
    for (int i = 0; i < GW_LABELS_MAX; i++) {
        const char *n = GET(&c->name[i]);
        if (n)
            gw_buf_printf(out, "%s{%s=\"%s\"} %llu\n", name, label, n, (unsigned long long)GET(&c->n[i]));
    }
    if (GET(&c->other))
        gw_buf_printf(out, "%s{%s=\"other\"} %llu\n", name, label, (unsigned long long)GET(&c->other));
}
