/* SPDX-License-Identifier: MIT
 *
 * Fuzzes hg_retry_after_parse(), which reads a receiver's Retry-After
 * header, and hg_schedule_parse(), which reads the retry schedule. The
 * first 8 bytes of an input are the current time, the rest the header
 * value. A delta-seconds value must give its own number (capped), and an
 * accepted HTTP-date written back in IMF-fixdate form must give the same
 * delay. Inputs that start with "schedule:" are a schedule, whose delays
 * must survive a round trip through their text form.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <time.h>

#include "common/backoff.h"
#include "fuzz.h"

/* The cap on delta-seconds of common/backoff.c. */
#define SECONDS_CAP 1000000000

static void check_delta_seconds(const char *value, int64_t delay)
{
    const char *p = value + strspn(value, " \t");
    size_t digits = strspn(p, "0123456789");
    int64_t expected = 0;

    if (digits == 0 || p[digits + strspn(p + digits, " \t")] != '\0')
        return;
    for (size_t i = 0; i < digits && expected <= SECONDS_CAP; i++)
        expected = expected * 10 + (p[i] - '0');
    if (expected > SECONDS_CAP)
        expected = SECONDS_CAP;
    FUZZ_CHECK(delay == expected);
}

/* Writes now_s + delay as IMF-fixdate and parses it again. */
static void check_date_round_trip(int64_t now_s, int64_t delay)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t when;
    struct tm tm;
    char text[64];
    int64_t again = -1;

    if (delay <= 0 || delay > INT64_MAX - now_s)
        return;
    when = (time_t)(now_s + delay);
    if (gmtime_r(&when, &tm) == NULL || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return;
    snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    FUZZ_CHECK(hg_retry_after_parse(text, now_s, &again) == 0);
    FUZZ_CHECK(again == delay);
}

static void check_schedule(const char *text)
{
    hg_schedule parsed, again;
    char err[256] = "", formatted[HG_SCHEDULE_MAX * 12 + 1] = "";
    size_t pos = 0;

    if (hg_schedule_parse(text, &parsed, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    FUZZ_CHECK(parsed.count >= 0 && parsed.count <= HG_SCHEDULE_MAX);
    for (int i = 0; i < parsed.count; i++) {
        FUZZ_CHECK(parsed.delay_s[i] >= 0 && parsed.delay_s[i] <= 2592000);
        pos += (size_t)snprintf(formatted + pos, sizeof(formatted) - pos,
                                "%s%" PRId64, i > 0 ? "," : "",
                                parsed.delay_s[i]);
    }
    FUZZ_CHECK(hg_schedule_parse(formatted, &again, err, sizeof(err)) == 0);
    FUZZ_CHECK(again.count == parsed.count);
    for (int i = 0; i < parsed.count; i++)
        FUZZ_CHECK(again.delay_s[i] == parsed.delay_s[i]);
    for (int i = 0; i <= parsed.count; i++) {
        int64_t ms = hg_backoff_delay_ms(&parsed, i, (uint32_t)i * 2654435761u);

        FUZZ_CHECK(i == parsed.count ? ms == -1 : ms >= 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t now_s = 0, delay = -1;
    char *value;

    if (size >= 9 && memcmp(data, "schedule:", 9) == 0) {
        value = fuzz_strndup(data + 9, size - 9);
        check_schedule(value);
        free(value);
        return 0;
    }
    if (size < 8)
        return 0;
    memcpy(&now_s, data, 8);
    /* Times from 1970 to about the year 2500, so that a date in the
     * header can lie on either side of now. */
    now_s = (int64_t)((uint64_t)now_s % 16725225600ULL);
    value = fuzz_strndup(data + 8, size - 8);

    if (hg_retry_after_parse(value, now_s, &delay) == 0) {
        FUZZ_CHECK(delay >= 0);
        check_delta_seconds(value, delay);
        check_date_round_trip(now_s, delay);
    }
    free(value);
    return 0;
}
