/* SPDX-License-Identifier: MIT
 *
 * Wall-clock and monotonic time in milliseconds, and the RFC 3339 form that
 * every API response and log line uses (UTC, millisecond precision, "Z").
 */
#ifndef HG_CLOCK_H
#define HG_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define HG_TIME_BUF 32

/* Returns milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t hg_time_ms(void);
/* Returns milliseconds of CLOCK_MONOTONIC, for durations and deadlines. */
int64_t hg_mono_ms(void);
/* Returns microseconds of CLOCK_MONOTONIC. */
int64_t hg_mono_us(void);
/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (HG_TIME_BUF bytes). */
char *hg_time_format(int64_t ms, char *buf);
/* Parses an RFC 3339 date-time ("2026-12-04T10:00:00Z", fractional seconds
 * and numeric offsets allowed) into milliseconds since the epoch. Returns
 * 0, or -1 when s is not such a time. */
int hg_time_parse(const char *s, int64_t *ms);

#endif
