/* SPDX-License-Identifier: MIT
 *
 * Counters, gauges and fixed-bucket histograms with labels, rendered in the
 * Prometheus text exposition format 0.0.4.
 *
 * Threads: metrics are declared once, before other threads use the
 * registry. Updates from any thread take no lock once a label set exists:
 * values are atomics, and the series list of a metric only grows, published
 * with a release store. Creating a new label set takes the metric's mutex.
 */
#ifndef HG_PROM_H
#define HG_PROM_H

#include <stddef.h>

#define HG_PROM_MAX_LABELS 4
#define HG_PROM_MAX_BUCKETS 16
/* Label sets per metric. Updates with a further label set are dropped and
 * counted in hookgate_metrics_series_dropped_total. */
#define HG_PROM_MAX_SERIES 1024

typedef struct hg_prom_registry hg_prom_registry;
typedef struct hg_prom_metric hg_prom_metric;

typedef enum hg_prom_type {
    HG_PROM_COUNTER,
    HG_PROM_GAUGE,
    HG_PROM_HISTOGRAM,
} hg_prom_type;

hg_prom_registry *hg_prom_registry_new(void);
/* Frees the registry and its metrics. Accepts NULL. */
void hg_prom_registry_free(hg_prom_registry *reg);

/* Declares a metric. label_names has label_count names (at most
 * HG_PROM_MAX_LABELS); a histogram has bucket_count ascending upper bounds
 * (at most HG_PROM_MAX_BUCKETS), to which "+Inf" is added. Returns NULL
 * when an argument is out of range or memory runs out. */
hg_prom_metric *hg_prom_declare(hg_prom_registry *reg, hg_prom_type type,
                                const char *name, const char *help,
                                int label_count, const char *const *label_names,
                                int bucket_count, const double *buckets);

/* Updates the series whose label values are values (label_count strings;
 * NULL when the metric has no labels). Each accepts a NULL metric. */
void hg_prom_inc(hg_prom_metric *m, const char *const *values,
                 unsigned long long delta);
void hg_prom_set(hg_prom_metric *m, const char *const *values, double v);
void hg_prom_observe(hg_prom_metric *m, const char *const *values, double v);

/* Renders every metric with at least one series. Returns a NUL-terminated
 * string the caller frees, and its length in *len, or NULL when memory
 * runs out. */
char *hg_prom_render(hg_prom_registry *reg, size_t *len);

/* Returns the process's registry, created on first use. */
hg_prom_registry *hg_prom_default(void);

#endif
