/* SPDX-License-Identifier: MIT
 *
 * In-memory accumulator of the per-integration metrics and its flush to
 * Redis (see metrics_store.h).
 */
#include "common/metrics_store.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/typefilter.h"

const long long hg_metrics_bounds_ms[HG_METRICS_BUCKETS - 1] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000};

/* Past this many distinct counters in one second, new ones are dropped
 * (and the drop is logged) so a burst of event types cannot grow memory
 * without bound. */
#define METRICS_ENTRIES_MAX 4096
#define METRICS_FIELD_MAX (HG_EVENT_TYPE_MAX + 8)

typedef struct metrics_entry {
    char integration_id[64];
    char endpoint_id[64]; /* "" for the integration's own hash */
    long long slot;       /* unix time / HG_METRICS_FINE_S */
    char field[METRICS_FIELD_MAX];
    long long n;
} metrics_entry;

/* Slots of the open-addressing index over the entries: twice the entry
 * limit, so a probe stays short. */
#define METRICS_SLOTS (2 * METRICS_ENTRIES_MAX)

struct hg_metrics {
    hg_redis *redis;
    struct event *timer;
    metrics_entry *entries;
    int count;
    /* Entry index + 1 per slot, 0 for an empty slot. */
    int *slots;
    long long dropped;
};

static void flush(hg_metrics *m);

static void on_flush_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

hg_metrics *hg_metrics_new(struct event_base *base, hg_redis *redis)
{
    hg_metrics *m = calloc(1, sizeof(*m));
    struct timeval second = {1, 0};

    if (m == NULL)
        return NULL;
    m->redis = redis;
    m->entries = calloc(METRICS_ENTRIES_MAX, sizeof(*m->entries));
    m->slots = calloc(METRICS_SLOTS, sizeof(*m->slots));
    m->timer = event_new(base, -1, EV_PERSIST, on_flush_tick, m);
    if (m->entries == NULL || m->slots == NULL || m->timer == NULL) {
        hg_metrics_free(m);
        return NULL;
    }
    event_add(m->timer, &second);
    return m;
}

void hg_metrics_free(hg_metrics *m)
{
    if (m == NULL)
        return;
    if (m->timer != NULL)
        event_free(m->timer);
    free(m->entries);
    free(m->slots);
    free(m);
}

/* FNV-1a over the strings of a counter's identity and its slot. */
static unsigned hash_counter(const char *integration_id, const char *ep,
                             const char *field, long long slot)
{
    const char *parts[] = {integration_id, ep, field};
    unsigned h = 2166136261u;

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        for (const char *c = parts[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        h = (h ^ 0xff) * 16777619u;
    }
    return (h ^ (unsigned)slot) * 16777619u;
}

void hg_metrics_add(hg_metrics *m, const char *integration_id,
                    const char *endpoint_id, const char *field, long long n)
{
    long long slot = hg_time_ms() / (HG_METRICS_FINE_S * 1000);
    const char *ep = endpoint_id != NULL ? endpoint_id : "";
    unsigned index;

    if (m == NULL || integration_id == NULL || integration_id[0] == '\0')
        return;
    index = hash_counter(integration_id, ep, field, slot) % METRICS_SLOTS;
    for (;; index = (index + 1) % METRICS_SLOTS) {
        metrics_entry *e;

        if (m->slots[index] == 0)
            break;
        e = &m->entries[m->slots[index] - 1];
        if (e->slot == slot && strcmp(e->field, field) == 0 &&
            strcmp(e->integration_id, integration_id) == 0 &&
            strcmp(e->endpoint_id, ep) == 0) {
            e->n += n;
            return;
        }
    }
    if (m->count == METRICS_ENTRIES_MAX) {
        m->dropped++;
        return;
    }
    metrics_entry *e = &m->entries[m->count++];

    m->slots[index] = m->count;
    snprintf(e->integration_id, sizeof(e->integration_id), "%s",
             integration_id);
    snprintf(e->endpoint_id, sizeof(e->endpoint_id), "%s", ep);
    snprintf(e->field, sizeof(e->field), "%s", field);
    e->slot = slot;
    e->n = n;
}

int hg_metrics_bucket(long long value_ms)
{
    for (int i = 0; i < HG_METRICS_BUCKETS - 1; i++)
        if (value_ms <= hg_metrics_bounds_ms[i])
            return i;
    return HG_METRICS_BUCKETS - 1;
}

void hg_metrics_observe(hg_metrics *m, const char *integration_id,
                        const char *endpoint_id, const char *prefix,
                        long long value_ms)
{
    char field[32];

    if (value_ms < 0)
        value_ms = 0;
    snprintf(field, sizeof(field), "%s:%d", prefix, hg_metrics_bucket(value_ms));
    hg_metrics_add(m, integration_id, endpoint_id, field, 1);
    snprintf(field, sizeof(field), "%s_sum_ms", prefix);
    hg_metrics_add(m, integration_id, endpoint_id, field, value_ms);
}

double hg_metrics_percentile(const long long counts[HG_METRICS_BUCKETS],
                             double q)
{
    long long total = 0, below = 0;
    double rank;

    for (int i = 0; i < HG_METRICS_BUCKETS; i++)
        total += counts[i];
    if (total == 0)
        return 0;
    rank = q * (double)total;
    for (int i = 0; i < HG_METRICS_BUCKETS; i++) {
        double lo = i == 0 ? 0 : (double)hg_metrics_bounds_ms[i - 1];

        if (counts[i] == 0 || (double)(below + counts[i]) < rank) {
            below += counts[i];
            continue;
        }
        if (i == HG_METRICS_BUCKETS - 1)
            return lo;
        return lo + ((double)hg_metrics_bounds_ms[i] - lo) *
                        (rank - (double)below) / (double)counts[i];
    }
    return (double)hg_metrics_bounds_ms[HG_METRICS_BUCKETS - 2];
}

static void on_flushed(hg_redis_status status, redisReply *reply, void *arg)
{
    (void)arg;
    if (status != HG_REDIS_OK || hg_reply_is_error(reply))
        hg_warn(NULL, "metrics flush failed: %s; one second of counters "
                      "is lost",
                status != HG_REDIS_OK ? hg_redis_status_text(status)
                                      : reply->str);
}

/* Orders entries by (integration, endpoint, slot), so each hash's
 * counters are adjacent. */
static int compare_group(const void *a, const void *b)
{
    const metrics_entry *x = a, *y = b;
    int c = strcmp(x->integration_id, y->integration_id);

    if (c == 0)
        c = strcmp(x->endpoint_id, y->endpoint_id);
    if (c == 0)
        c = (x->slot > y->slot) - (x->slot < y->slot);
    return c;
}

/* Sends entries [first, end), which share one hash, in one script call. */
static void flush_group(hg_metrics *m, int first, int end)
{
    const metrics_entry *g = &m->entries[first];
    long long minute = g->slot * HG_METRICS_FINE_S / 60;
    char k_min[HG_KEY_MAX], k_hour[HG_KEY_MAX], k_int[HG_KEY_MAX];
    char k_fine[HG_KEY_MAX], suffix[HG_KEY_MAX] = "", ttl[16], fine_ttl[16];
    const char **argv = calloc((size_t)(6 + 2 * (end - first)), sizeof(*argv));
    char (*numbers)[24] = calloc((size_t)(end - first), sizeof(*numbers));
    int argc = 0;

    if (argv == NULL || numbers == NULL) {
        hg_warn(NULL, "metrics flush failed: out of memory; %d counters of "
                      "integration %s are lost",
                end - first, g->integration_id);
        free(argv);
        free(numbers);
        return;
    }
    if (g->endpoint_id[0] != '\0')
        snprintf(suffix, sizeof(suffix), ":ep:%s", g->endpoint_id);
    snprintf(k_min, sizeof(k_min), "hg:{%s}:m:%lld%s", g->integration_id,
             minute, suffix);
    snprintf(k_hour, sizeof(k_hour), "hg:{%s}:mh:%lld%s", g->integration_id,
             minute / 60, suffix);
    snprintf(k_fine, sizeof(k_fine), "hg:{%s}:m5:%lld%s", g->integration_id,
             g->slot, suffix);
    hg_key(k_int, g->integration_id, "integration");
    snprintf(ttl, sizeof(ttl), "%d", HG_METRICS_TTL_S);
    snprintf(fine_ttl, sizeof(fine_ttl), "%d", HG_METRICS_FINE_TTL_S);
    argv[argc++] = k_min;
    argv[argc++] = k_hour;
    argv[argc++] = k_int;
    argv[argc++] = k_fine;
    argv[argc++] = ttl;
    argv[argc++] = fine_ttl;
    for (int i = first; i < end; i++) {
        snprintf(numbers[i - first], sizeof(numbers[i - first]), "%lld",
                 m->entries[i].n);
        argv[argc++] = m->entries[i].field;
        argv[argc++] = numbers[i - first];
    }
    hg_redis_eval(m->redis, &hg_script_metrics_add, 0, on_flushed, NULL, 4,
                  argc, argv, NULL);
    free(argv);
    free(numbers);
}

static void flush(hg_metrics *m)
{
    int first = 0;

    if (m->dropped > 0) {
        hg_warn(NULL, "metrics: %lld counter updates dropped because more "
                      "than %d distinct counters changed within one second",
                m->dropped, METRICS_ENTRIES_MAX);
        m->dropped = 0;
    }
    if (m->count == 0)
        return;
    qsort(m->entries, (size_t)m->count, sizeof(*m->entries), compare_group);
    for (int i = 1; i <= m->count; i++) {
        if (i == m->count ||
            compare_group(&m->entries[first], &m->entries[i]) != 0) {
            flush_group(m, first, i);
            first = i;
        }
    }
    m->count = 0;
    memset(m->slots, 0, METRICS_SLOTS * sizeof(*m->slots));
}
