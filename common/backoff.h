/* SPDX-License-Identifier: MIT
 *
 * Retry timing: the schedule of delays between attempts, jitter, and the
 * Retry-After header of a 429 or 503 answer.
 */
#ifndef HG_BACKOFF_H
#define HG_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

#define HG_SCHEDULE_MAX 64
/* Jitter applied to each scheduled delay: up to this many percent either way. */
#define HG_JITTER_PERCENT 20

/* Delays in seconds before each retry. A schedule of n delays means n + 1
 * attempts in all. */
typedef struct hg_schedule {
    int count;
    int64_t delay_s[HG_SCHEDULE_MAX];
} hg_schedule;

/* The default schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
 * 24 h, so ten attempts spread over about 3.1 days. */
void hg_schedule_default(hg_schedule *out);
/* Parses comma-separated non-negative integers (seconds, at most 30 days
 * each, at most HG_SCHEDULE_MAX of them, spaces allowed around commas); an
 * empty string means no retries. Returns 0, or -1 with a message in err. */
int hg_schedule_parse(const char *s, hg_schedule *out, char *err,
                      size_t errsz);
/* Returns the delay in milliseconds before retry number retry_index (0 for
 * the first retry), with jitter: the scheduled delay times a factor in
 * [0.8, 1.2] drawn from random32. Returns -1 when the schedule has no more
 * retries. */
int64_t hg_backoff_delay_ms(const hg_schedule *s, int retry_index,
                            uint32_t random32);
/* Parses a Retry-After value: delta-seconds, or an HTTP-date in IMF-fixdate,
 * RFC 850 or asctime form. On success stores in *delay_s the seconds to wait
 * from now_s (0 for a date in the past) and returns 0; returns -1 for
 * anything else, including negative or empty values. */
int hg_retry_after_parse(const char *value, int64_t now_s, int64_t *delay_s);

#endif
