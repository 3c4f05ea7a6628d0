/* SPDX-License-Identifier: MIT
 *
 * Per-integration metrics kept in Redis: counters and fixed-bucket
 * histograms added up per minute ("hg:{I}:m:<unix minute>") and per hour
 * ("hg:{I}:mh:<unix hour>"), with ":ep:<endpoint>" hashes for delivery
 * metrics of one endpoint. The delivery counters are also added up per
 * HG_METRICS_FINE_S seconds ("hg:{I}:m5:<unix time / HG_METRICS_FINE_S>"),
 * for alert windows of a few seconds. Several processes add to the same
 * hashes, so their numbers sum. Each event loop owns one hg_metrics: it
 * counts in memory and flushes once a second with one metrics_add.lua call
 * per hash touched, all sent together, so a request costs no Redis round
 * trip of its own.
 */
#ifndef HG_METRICS_STORE_H
#define HG_METRICS_STORE_H

#include <stddef.h>

#include "common/redis.h"

struct event_base;

/* Upper bounds of the latency buckets in milliseconds; the last bucket
 * (index HG_METRICS_BUCKETS - 1) has no upper bound. */
#define HG_METRICS_BUCKETS 16
extern const long long hg_metrics_bounds_ms[HG_METRICS_BUCKETS - 1];

/* Minute and hour hashes expire after 8 days, so last_7d stays complete. */
#define HG_METRICS_TTL_S (8 * 24 * 3600)
/* Width of the fine buckets in seconds, and their expiry: alert windows up
 * to HG_METRICS_FINE_MAX_S read fine buckets, longer ones minute hashes. */
#define HG_METRICS_FINE_S 5
#define HG_METRICS_FINE_MAX_S 300
#define HG_METRICS_FINE_TTL_S (HG_METRICS_FINE_MAX_S + 60)

typedef struct hg_metrics hg_metrics;

/* Starts the one-second flush timer on base; commands go to redis, which
 * must outlive the returned accumulator. */
hg_metrics *hg_metrics_new(struct event_base *base, hg_redis *redis);
/* Stops the timer and drops what was not flushed. Accepts NULL. */
void hg_metrics_free(hg_metrics *m);

/* Adds n to a counter field of integration_id, or of its endpoint when
 * endpoint_id is not NULL, in the current minute (and, for the delivery
 * fields "d_*" and "dl:*", in the current fine bucket). */
void hg_metrics_add(hg_metrics *m, const char *integration_id,
                    const char *endpoint_id, const char *field, long long n);
/* Counts one latency in the histogram named prefix ("rt", "dl"): adds 1 to
 * "<prefix>:<bucket index>" and value_ms to "<prefix>_sum_ms". */
void hg_metrics_observe(hg_metrics *m, const char *integration_id,
                        const char *endpoint_id, const char *prefix,
                        long long value_ms);

/* Returns the bucket index of a latency in milliseconds. */
int hg_metrics_bucket(long long value_ms);
/* Returns the q-quantile (0 < q <= 1) of a histogram by linear
 * interpolation inside the bucket that contains it, or 0 for an empty one.
 * A value in the unbounded last bucket is reported as its lower bound. */
double hg_metrics_percentile(const long long counts[HG_METRICS_BUCKETS],
                             double q);

#endif
