/* SPDX-License-Identifier: MIT */
#include "common/prom.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    uint64_t hash; /* of the label values, compared before the strings */
    char *values[HG_PROM_MAX_LABELS];
    /* Counter value, or the histogram's observation count. */
    _Atomic unsigned long long count;
    /* Gauge value or histogram sum: the bits of a double. */
    _Atomic uint64_t bits;
    /* Observations per bucket, not cumulative. The last bucket is +Inf. */
    _Atomic unsigned long long buckets[HG_PROM_MAX_BUCKETS + 1];
} series;

struct hg_prom_metric {
    hg_prom_registry *reg;
    hg_prom_type type;
    char *name;
    char *help;
    int label_count;
    char *label_names[HG_PROM_MAX_LABELS];
    int bucket_count;
    double bounds[HG_PROM_MAX_BUCKETS];
    pthread_mutex_t lock; /* taken only to add a series */
    _Atomic int series_count;
    series *series[HG_PROM_MAX_SERIES];
    struct hg_prom_metric *next;
};

struct hg_prom_registry {
    hg_prom_metric *first;
    hg_prom_metric *last;
    _Atomic unsigned long long dropped;
};

hg_prom_registry *hg_prom_registry_new(void)
{
    return calloc(1, sizeof(hg_prom_registry));
}

static void metric_free(hg_prom_metric *m)
{
    int n = atomic_load(&m->series_count);

    for (int i = 0; i < n; i++) {
        for (int j = 0; j < m->label_count; j++)
            free(m->series[i]->values[j]);
        free(m->series[i]);
    }
    for (int j = 0; j < m->label_count; j++)
        free(m->label_names[j]);
    pthread_mutex_destroy(&m->lock);
    free(m->name);
    free(m->help);
    free(m);
}

void hg_prom_registry_free(hg_prom_registry *reg)
{
    if (reg == NULL)
        return;
    for (hg_prom_metric *m = reg->first, *next; m != NULL; m = next) {
        next = m->next;
        metric_free(m);
    }
    free(reg);
}

hg_prom_metric *hg_prom_declare(hg_prom_registry *reg, hg_prom_type type,
                                const char *name, const char *help,
                                int label_count, const char *const *label_names,
                                int bucket_count, const double *buckets)
{
    hg_prom_metric *m;

    if (reg == NULL || label_count < 0 || label_count > HG_PROM_MAX_LABELS ||
        bucket_count < 0 || bucket_count > HG_PROM_MAX_BUCKETS)
        return NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->reg = reg;
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help);
    m->label_count = label_count;
    pthread_mutex_init(&m->lock, NULL);
    for (int i = 0; i < label_count; i++)
        m->label_names[i] = strdup(label_names[i]);
    if (type == HG_PROM_HISTOGRAM) {
        m->bucket_count = bucket_count;
        memcpy(m->bounds, buckets, sizeof(double) * (size_t)bucket_count);
    }
    if (m->name == NULL || m->help == NULL) {
        metric_free(m);
        return NULL;
    }
    if (reg->last != NULL)
        reg->last->next = m;
    else
        reg->first = m;
    reg->last = m;
    return m;
}

/* FNV-1a over the values, each with its terminating NUL. */
static uint64_t hash_values(const hg_prom_metric *m, const char *const *values)
{
    uint64_t h = 14695981039346656037ULL;

    for (int i = 0; i < m->label_count; i++) {
        const char *p = values[i];

        do {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        } while (*p++ != '\0');
    }
    return h;
}

static bool values_equal(const hg_prom_metric *m, const series *s,
                         uint64_t hash, const char *const *values)
{
    if (s->hash != hash)
        return false;
    for (int i = 0; i < m->label_count; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static series *scan(hg_prom_metric *m, int from, int to, uint64_t hash,
                    const char *const *values)
{
    for (int i = from; i < to; i++)
        if (values_equal(m, m->series[i], hash, values))
            return m->series[i];
    return NULL;
}

/* Finds the series of values, adding it when it is new. Returns NULL when
 * the metric has HG_PROM_MAX_SERIES series already or memory runs out. */
static series *series_of(hg_prom_metric *m, const char *const *values)
{
    uint64_t hash = hash_values(m, values);
    int n = atomic_load_explicit(&m->series_count, memory_order_acquire);
    series *s = scan(m, 0, n, hash, values);

    if (s != NULL)
        return s;
    pthread_mutex_lock(&m->lock);
    int now = atomic_load_explicit(&m->series_count, memory_order_relaxed);

    s = scan(m, n, now, hash, values);
    if (s == NULL && now < HG_PROM_MAX_SERIES) {
        s = calloc(1, sizeof(*s));
        for (int i = 0; s != NULL && i < m->label_count; i++) {
            s->values[i] = strdup(values[i]);
            if (s->values[i] == NULL) {
                for (int j = 0; j < i; j++)
                    free(s->values[j]);
                free(s);
                s = NULL;
            }
        }
        if (s != NULL) {
            s->hash = hash;
            m->series[now] = s;
            atomic_store_explicit(&m->series_count, now + 1,
                                  memory_order_release);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (s == NULL)
        atomic_fetch_add(&m->reg->dropped, 1);
    return s;
}

static double bits_to_double(uint64_t bits)
{
    double v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

static uint64_t double_to_bits(double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static void add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load(bits);

    while (!atomic_compare_exchange_weak(
        bits, &old, double_to_bits(bits_to_double(old) + delta)))
        ;
}

void hg_prom_inc(hg_prom_metric *m, const char *const *values,
                 unsigned long long delta)
{
    series *s;

    if (m == NULL || m->type != HG_PROM_COUNTER)
        return;
    s = series_of(m, values);
    if (s != NULL)
        atomic_fetch_add_explicit(&s->count, delta, memory_order_relaxed);
}

void hg_prom_set(hg_prom_metric *m, const char *const *values, double v)
{
    series *s;

    if (m == NULL || m->type != HG_PROM_GAUGE)
        return;
    s = series_of(m, values);
    if (s != NULL)
        atomic_store(&s->bits, double_to_bits(v));
}

void hg_prom_observe(hg_prom_metric *m, const char *const *values, double v)
{
    series *s;
    int b = 0;

    if (m == NULL || m->type != HG_PROM_HISTOGRAM)
        return;
    s = series_of(m, values);
    if (s == NULL)
        return;
    while (b < m->bucket_count && !(v <= m->bounds[b]))
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    add_double(&s->bits, v);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

/* ---- rendering -------------------------------------------------------- */

/* Writes s with backslash and newline escaped, and the double quote too
 * when quote is set, as label values need and HELP text does not. */
static void put_escaped(FILE *out, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (*s == '"' && quote)
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* Writes the shortest of %.15g and %.17g that reads back as v, so 0.1 + 0.2
 * renders as 0.30000000000000004 and 0.1 as 0.1. */
static const char *format_double(double v, char *text, size_t cap)
{
    snprintf(text, cap, "%.15g", v);
    if (strtod(text, NULL) != v)
        snprintf(text, cap, "%.17g", v);
    return text;
}

static void put_double(FILE *out, double v)
{
    char text[32];

    if (isnan(v))
        fputs("NaN", out);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", out);
    else
        fputs(format_double(v, text, sizeof(text)), out);
}

/* Writes "{a="x",b="y"" and, when le is not NULL, ",le="..."", then "}";
 * nothing when there are no labels at all. */
static void put_labels(FILE *out, const hg_prom_metric *m, const series *s,
                       const char *le)
{
    if (m->label_count == 0 && le == NULL)
        return;
    fputc('{', out);
    for (int i = 0; i < m->label_count; i++) {
        fprintf(out, "%s%s=\"", i > 0 ? "," : "", m->label_names[i]);
        put_escaped(out, s->values[i], true);
        fputc('"', out);
    }
    if (le != NULL)
        fprintf(out, "%sle=\"%s\"", m->label_count > 0 ? "," : "", le);
    fputc('}', out);
}

static void put_histogram(FILE *out, const hg_prom_metric *m, const series *s)
{
    unsigned long long cumulative = 0;
    char le[32];

    for (int b = 0; b <= m->bucket_count; b++) {
        cumulative += atomic_load(&s->buckets[b]);
        if (b < m->bucket_count)
            snprintf(le, sizeof(le), "%g", m->bounds[b]);
        else
            snprintf(le, sizeof(le), "+Inf");
        fprintf(out, "%s_bucket", m->name);
        put_labels(out, m, s, le);
        fprintf(out, " %llu\n", cumulative);
    }
    fprintf(out, "%s_sum", m->name);
    put_labels(out, m, s, NULL);
    fputc(' ', out);
    put_double(out, bits_to_double(atomic_load(&s->bits)));
    fprintf(out, "\n%s_count", m->name);
    put_labels(out, m, s, NULL);
    /* The count is the +Inf bucket, so the two always agree in one
     * scrape even while observations arrive. */
    fprintf(out, " %llu\n", cumulative);
}

static void put_metric(FILE *out, const hg_prom_metric *m, int n)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};

    fprintf(out, "# HELP %s ", m->name);
    put_escaped(out, m->help, false);
    fprintf(out, "\n# TYPE %s %s\n", m->name, type_names[m->type]);
    for (int i = 0; i < n; i++) {
        const series *s = m->series[i];

        if (m->type == HG_PROM_HISTOGRAM) {
            put_histogram(out, m, s);
            continue;
        }
        fputs(m->name, out);
        put_labels(out, m, s, NULL);
        fputc(' ', out);
        if (m->type == HG_PROM_COUNTER)
            fprintf(out, "%llu", atomic_load(&s->count));
        else
            put_double(out, bits_to_double(atomic_load(&s->bits)));
        fputc('\n', out);
    }
}

char *hg_prom_render(hg_prom_registry *reg, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);

    if (out == NULL)
        return NULL;
    for (hg_prom_metric *m = reg->first; m != NULL; m = m->next) {
        int n = atomic_load_explicit(&m->series_count, memory_order_acquire);

        if (n > 0)
            put_metric(out, m, n);
    }
    fprintf(out,
            "# HELP hookgate_metrics_series_dropped_total Updates dropped "
            "because their metric had reached its maximum of label sets.\n"
            "# TYPE hookgate_metrics_series_dropped_total counter\n"
            "hookgate_metrics_series_dropped_total %llu\n",
            atomic_load(&reg->dropped));
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static hg_prom_registry *default_registry;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void create_default(void)
{
    default_registry = hg_prom_registry_new();
}

hg_prom_registry *hg_prom_default(void)
{
    pthread_once(&default_once, create_default);
    return default_registry;
}
