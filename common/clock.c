/* SPDX-License-Identifier: MIT */
#include "common/clock.h"

#include <stdbool.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
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

static bool digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int year, int mon)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return mon == 2 && leap ? 29 : days[mon - 1];
}

int hg_time_parse(const char *s, int64_t *ms)
{
    struct tm tm;
    int year, mon, day, hour, min, sec, frac_ms = 0, off = 0;
    const char *p = s + 19;

    memset(&tm, 0, sizeof(tm));
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
        !digits(s, 4, &year) || !digits(s + 5, 2, &mon) ||
        !digits(s + 8, 2, &day) || !digits(s + 11, 2, &hour) ||
        !digits(s + 14, 2, &min) || !digits(s + 17, 2, &sec) || mon < 1 ||
        mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return -1;
    /* RFC 3339 section 5.7: the day must exist in its month; timegm()
     * would quietly carry 2027-02-31 into March. */
    if (day > days_in_month(year, mon))
        return -1;
    if (*p == '.') {
        int scale = 100;

        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p == '+' || *p == '-') {
        int oh, om;

        if (strlen(p) != 6 || p[3] != ':' || !digits(p + 1, 2, &oh) ||
            !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
    } else if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0) {
        return -1;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    *ms = ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000 + frac_ms;
    return 0;
}
