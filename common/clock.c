/* SPDX-License-Identifier: MIT */
#include "common/clock.h"

#include <stdio.h>
#include <time.h>

int64_t hg_time_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hg_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hg_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *hg_time_format(int64_t ms, char *buf)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(buf, HG_TIME_BUF, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, HG_TIME_BUF - n, ".%03dZ", (int)(ms % 1000));
    return buf;
}
