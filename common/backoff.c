/* SPDX-License-Identifier: MIT */
#include "common/backoff.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Maximum of one scheduled delay: 30 days. */
#define DELAY_MAX_S 2592000
/* Cap on a Retry-After delta-seconds value and on a schedule delay filled in
 * without hg_schedule_parse, about 31.7 years. It keeps milliseconds times
 * the jitter scale far from int64_t overflow. */
#define SECONDS_CAP 1000000000
/* Maximum number of characters of a bad schedule element that an error
 * message quotes. */
#define QUOTE_MAX 40

static const int64_t default_delays[] = {
    5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400,
};

static const char *const day_short[] = {
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};
static const char *const day_long[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday",
};
static const char *const month_names[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Fields of an HTTP-date before conversion. A year of -1 means that only the
 * two-digit year2 of the RFC 850 form is known. */
typedef struct http_date {
    int year;
    int year2;
    int month; /* 0 to 11 */
    int day;
    int hour;
    int min;
    int sec;
} http_date;

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

void hg_schedule_default(hg_schedule *out)
{
    size_t n = sizeof(default_delays) / sizeof(default_delays[0]);

    memset(out, 0, sizeof(*out));
    memcpy(out->delay_s, default_delays, sizeof(default_delays));
    out->count = (int)n;
}

/* Parses one schedule element, the text between two commas without its
 * surrounding spaces, into *delay_s. */
static int parse_delay(const char *p, size_t len, int position,
                       int64_t *delay_s, char *err, size_t errsz)
{
    int64_t value = 0;
    int quoted_len = len > QUOTE_MAX ? QUOTE_MAX : (int)len;
    const char *ellipsis = len > QUOTE_MAX ? "..." : "";

    if (len == 0) {
        set_err(err, errsz,
                "empty delay at position %d: expected whole seconds from 0 "
                "to %d",
                position, DELAY_MAX_S);
        return -1;
    }

    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i])) {
            set_err(err, errsz,
                    "invalid delay \"%.*s%s\" at position %d: expected whole "
                    "seconds from 0 to %d",
                    quoted_len, p, ellipsis, position, DELAY_MAX_S);
            return -1;
        }
        /* Accumulation stops once over the limit, so long inputs cannot
         * overflow. The remaining characters are still checked as digits. */
        if (value <= DELAY_MAX_S)
            value = value * 10 + (p[i] - '0');
    }

    if (value > DELAY_MAX_S) {
        set_err(err, errsz,
                "delay \"%.*s%s\" at position %d is too large: the maximum is "
                "%d seconds (30 days)",
                quoted_len, p, ellipsis, position, DELAY_MAX_S);
        return -1;
    }
    *delay_s = value;
    return 0;
}

/* Finds the element that starts at p, without its surrounding spaces, and
 * returns a pointer to the comma or the terminator after it. */
static const char *scan_element(const char *p, const char **start,
                                size_t *len)
{
    const char *end;

    while (is_space(*p))
        p++;
    *start = p;
    while (*p != ',' && *p != '\0')
        p++;

    end = p;
    while (end > *start && is_space(end[-1]))
        end--;
    *len = (size_t)(end - *start);
    return p;
}

int hg_schedule_parse(const char *s, hg_schedule *out, char *err,
                      size_t errsz)
{
    hg_schedule parsed;
    const char *p = s;

    if (s == NULL || out == NULL) {
        set_err(err, errsz, "missing schedule string");
        return -1;
    }

    memset(&parsed, 0, sizeof(parsed));
    while (is_space(*p))
        p++;
    if (*p == '\0') {
        *out = parsed;
        return 0;
    }

    /* Each pass consumes one element and the comma after it, if any, so a
     * trailing comma leads to an empty last element. */
    for (;;) {
        const char *start;
        size_t len;

        p = scan_element(p, &start, &len);
        if (parsed.count == HG_SCHEDULE_MAX) {
            set_err(err, errsz, "too many delays: at most %d are allowed",
                    HG_SCHEDULE_MAX);
            return -1;
        }
        if (parse_delay(start, len, parsed.count + 1,
                        &parsed.delay_s[parsed.count], err, errsz) < 0)
            return -1;
        parsed.count++;

        if (*p == '\0')
            break;
        p++;
    }

    *out = parsed;
    return 0;
}

int64_t hg_backoff_delay_ms(const hg_schedule *s, int retry_index,
                            uint32_t random32)
{
    int64_t delay_s, base_ms, offset;

    if (s == NULL || retry_index < 0 || retry_index >= s->count ||
        retry_index >= HG_SCHEDULE_MAX)
        return -1;

    /* A schedule filled in without hg_schedule_parse may hold negative or
     * huge values. Clamping them keeps the product below from overflowing. */
    delay_s = s->delay_s[retry_index];
    if (delay_s < 0)
        delay_s = 0;
    if (delay_s > SECONDS_CAP)
        delay_s = SECONDS_CAP;
    base_ms = delay_s * 1000;

    /* offset is in thousandths of a percent of the base, from
     * -HG_JITTER_PERCENT to +HG_JITTER_PERCENT. Division truncates toward
     * zero, which keeps the result inside those bounds. */
    offset = (int64_t)(random32 % (2 * HG_JITTER_PERCENT * 1000 + 1)) -
             HG_JITTER_PERCENT * 1000;
    return base_ms + base_ms * offset / 100000;
}

/* Matches one of names[0..n-1] exactly at *p, advances past it and returns
 * its index, or returns -1. HTTP-date is case-sensitive (RFC 9110, section
 * 5.6.7). */
static int match_name(const char **p, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);

        if (strncmp(*p, names[i], len) == 0) {
            *p += len;
            return i;
        }
    }
    return -1;
}

static bool match_text(const char **p, const char *text)
{
    size_t len = strlen(text);

    if (strncmp(*p, text, len) != 0)
        return false;
    *p += len;
    return true;
}

/* Reads exactly n digits into *value. */
static bool match_digits(const char **p, int n, int *value)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *value = v;
    return true;
}

/* Parses time-of-day = hour ":" minute ":" second. Second 60 is allowed for
 * a leap second (RFC 9110, section 5.6.7). */
static bool match_time(const char **p, http_date *d)
{
    if (!match_digits(p, 2, &d->hour) || !match_text(p, ":") ||
        !match_digits(p, 2, &d->min) || !match_text(p, ":") ||
        !match_digits(p, 2, &d->sec))
        return false;
    return d->hour <= 23 && d->min <= 59 && d->sec <= 60;
}

/* IMF-fixdate after the day name: ", 06 Nov 1994 08:49:37 GMT". */
static bool parse_imf_fixdate(const char *p, http_date *d)
{
    if (!match_text(&p, ", ") || !match_digits(&p, 2, &d->day) ||
        !match_text(&p, " "))
        return false;
    d->month = match_name(&p, month_names, 12);
    if (d->month < 0 || !match_text(&p, " ") ||
        !match_digits(&p, 4, &d->year) || !match_text(&p, " ") ||
        !match_time(&p, d))
        return false;
    return match_text(&p, " GMT") && *p == '\0';
}

/* RFC 850 date after the day name: ", 06-Nov-94 08:49:37 GMT". */
static bool parse_rfc850(const char *p, http_date *d)
{
    if (!match_text(&p, ", ") || !match_digits(&p, 2, &d->day) ||
        !match_text(&p, "-"))
        return false;
    d->month = match_name(&p, month_names, 12);
    if (d->month < 0 || !match_text(&p, "-") ||
        !match_digits(&p, 2, &d->year2) || !match_text(&p, " ") ||
        !match_time(&p, d))
        return false;
    d->year = -1;
    return match_text(&p, " GMT") && *p == '\0';
}

/* asctime date after the day name: " Nov  6 08:49:37 1994". The day is two
 * digits or a space and one digit. */
static bool parse_asctime(const char *p, http_date *d)
{
    if (!match_text(&p, " "))
        return false;
    d->month = match_name(&p, month_names, 12);
    if (d->month < 0 || !match_text(&p, " "))
        return false;
    if (*p == ' ') {
        p++;
        if (!match_digits(&p, 1, &d->day))
            return false;
    } else if (!match_digits(&p, 2, &d->day)) {
        return false;
    }
    if (!match_text(&p, " ") || !match_time(&p, d) || !match_text(&p, " ") ||
        !match_digits(&p, 4, &d->year))
        return false;
    return *p == '\0';
}

/* Picks the form from what follows the day name. The long day names all
 * start with a short one, so they are tried first. */
static bool parse_http_date(const char *p, http_date *d)
{
    const char *q = p;

    if (match_name(&q, day_long, 7) >= 0)
        return parse_rfc850(q, d);

    q = p;
    if (match_name(&q, day_short, 7) < 0)
        return false;
    if (*q == ',')
        return parse_imf_fixdate(q, d);
    return parse_asctime(q, d);
}

static int64_t date_to_time(int year, const http_date *d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = d->month;
    tm.tm_mday = d->day;
    tm.tm_hour = d->hour;
    tm.tm_min = d->min;
    tm.tm_sec = d->sec;
    return (int64_t)timegm(&tm);
}

/* RFC 9110, section 5.6.7: a two-digit year that would put the timestamp
 * more than 50 years in the future means the most recent past year with the
 * same last two digits. The timestamp is more than 50 years ahead exactly
 * when the same date 50 years earlier is still after now_s. */
static int resolve_two_digit_year(int year2, const http_date *d,
                                  int64_t now_s)
{
    time_t now = (time_t)now_s;
    struct tm now_tm;
    int year;

    if (gmtime_r(&now, &now_tm) == NULL)
        return -1;
    year = now_tm.tm_year + 1900;
    year = year - year % 100 + year2 + 100;
    while (date_to_time(year - 50, d) > now_s)
        year -= 100;
    return year;
}

static bool leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static bool day_in_month(int year, int month, int day)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    int last = days[month] + (month == 1 && leap_year(year) ? 1 : 0);

    return day >= 1 && day <= last;
}

/* delay-seconds = 1*DIGIT (RFC 9110, section 10.2.3). Values above
 * SECONDS_CAP are clamped rather than rejected, because a very long requested
 * wait still means "not now". */
static int parse_delta_seconds(const char *p, size_t len, int64_t *delay_s)
{
    int64_t value = 0;

    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i]))
            return -1;
        if (value < SECONDS_CAP)
            value = value * 10 + (p[i] - '0');
    }
    *delay_s = value > SECONDS_CAP ? SECONDS_CAP : value;
    return 0;
}

int hg_retry_after_parse(const char *value, int64_t now_s, int64_t *delay_s)
{
    char buf[64];
    const char *start = value, *end;
    http_date d;
    int64_t when;

    if (value == NULL || delay_s == NULL)
        return -1;

    /* A field value excludes leading and trailing whitespace (RFC 9110,
     * section 5.5). */
    while (is_space(*start))
        start++;
    end = start + strlen(start);
    while (end > start && is_space(end[-1]))
        end--;
    if (end == start)
        return -1;

    if (is_digit(*start))
        return parse_delta_seconds(start, (size_t)(end - start), delay_s);

    /* The longest valid date is the RFC 850 form with "Wednesday", 33
     * characters, so a longer value is not a date. */
    if ((size_t)(end - start) >= sizeof(buf))
        return -1;
    memcpy(buf, start, (size_t)(end - start));
    buf[end - start] = '\0';

    memset(&d, 0, sizeof(d));
    if (!parse_http_date(buf, &d))
        return -1;
    if (d.year < 0)
        d.year = resolve_two_digit_year(d.year2, &d, now_s);
    if (d.year < 0 || !day_in_month(d.year, d.month, d.day))
        return -1;

    when = date_to_time(d.year, &d);
    if (when <= now_s)
        *delay_s = 0;
    else if (__builtin_sub_overflow(when, now_s, delay_s))
        *delay_s = INT64_MAX;
    return 0;
}
