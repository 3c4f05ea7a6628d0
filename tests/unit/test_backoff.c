/* SPDX-License-Identifier: MIT */

#include "common/backoff.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* 1994-11-06 08:49:37 UTC, the instant of the RFC 9110 example dates. */
#define NOW_1994 INT64_C(784111777)
/* 2025-06-15 12:00:00 UTC. */
#define NOW_2025 INT64_C(1749988800)
/* 2099-06-01 00:00:00 UTC. */
#define NOW_2099 INT64_C(4083955200)

/* Parses s and checks that it fails with a message that contains want. */
static void check_parse_error(const char *s, const char *want)
{
    hg_schedule sched;
    char err[256];
    int rc;

    strcpy(err, "(no message)");
    rc = hg_schedule_parse(s, &sched, err, sizeof(err));
    ck_assert_msg(rc == -1, "parse \"%s\" returned %d, expected -1", s, rc);
    ck_assert_msg(strstr(err, want) != NULL,
                  "parse \"%s\": message \"%s\" lacks \"%s\"", s, err, want);
}

START_TEST(schedule_default_values)
{
    static const int64_t want[] = {5,     300,   1800,  7200, 18000,
                                   36000, 50400, 72000, 86400};
    hg_schedule sched;

    hg_schedule_default(&sched);
    ck_assert_int_eq(sched.count, 9);
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        ck_assert_msg(sched.delay_s[i] == want[i],
                      "delay %zu is %lld, expected %lld", i,
                      (long long)sched.delay_s[i], (long long)want[i]);
}
END_TEST

START_TEST(schedule_default_span)
{
    hg_schedule sched;
    int64_t total = 0;

    hg_schedule_default(&sched);
    for (int i = 0; i < sched.count; i++)
        total += sched.delay_s[i];

    /* 272105 s is about 3.15 days. */
    ck_assert_int_eq(total, 272105);
}
END_TEST

START_TEST(schedule_parse_valid)
{
    static const struct {
        const char *input;
        int count;
        int64_t delays[4];
    } cases[] = {
        {"", 0, {0}},
        {"   ", 0, {0}},
        {"\t", 0, {0}},
        {"5", 1, {5}},
        {"0", 1, {0}},
        {"007", 1, {7}},
        {"2592000", 1, {2592000}},
        {"5,300,1800", 3, {5, 300, 1800}},
        {" 1 , 2 ,3 ", 3, {1, 2, 3}},
        {"10,\t20", 2, {10, 20}},
        {"0,0,0,0", 4, {0, 0, 0, 0}},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        hg_schedule sched;
        char err[128] = "";
        int rc = hg_schedule_parse(cases[i].input, &sched, err, sizeof(err));

        ck_assert_msg(rc == 0, "parse \"%s\" failed: %s", cases[i].input,
                      err);
        ck_assert_msg(sched.count == cases[i].count,
                      "parse \"%s\" gave %d delays, expected %d",
                      cases[i].input, sched.count, cases[i].count);
        for (int j = 0; j < cases[i].count; j++)
            ck_assert_msg(sched.delay_s[j] == cases[i].delays[j],
                          "parse \"%s\": delay %d is %lld, expected %lld",
                          cases[i].input, j, (long long)sched.delay_s[j],
                          (long long)cases[i].delays[j]);
    }
}
END_TEST

START_TEST(schedule_parse_max_entries)
{
    char buf[HG_SCHEDULE_MAX * 3 + 1] = "";
    hg_schedule sched;
    char err[128] = "";

    for (int i = 0; i < HG_SCHEDULE_MAX; i++)
        strcat(buf, i == 0 ? "1" : ",1");

    ck_assert_int_eq(hg_schedule_parse(buf, &sched, err, sizeof(err)), 0);
    ck_assert_int_eq(sched.count, HG_SCHEDULE_MAX);
}
END_TEST

START_TEST(schedule_parse_too_many)
{
    char buf[(HG_SCHEDULE_MAX + 1) * 3 + 1] = "";

    for (int i = 0; i <= HG_SCHEDULE_MAX; i++)
        strcat(buf, i == 0 ? "1" : ",1");

    check_parse_error(buf, "too many delays: at most 64 are allowed");
}
END_TEST

START_TEST(schedule_parse_invalid_message)
{
    hg_schedule sched;
    char err[256] = "";

    ck_assert_int_eq(hg_schedule_parse("5, x", &sched, err, sizeof(err)),
                     -1);
    ck_assert_str_eq(err, "invalid delay \"x\" at position 2: expected "
                          "whole seconds from 0 to 2592000");
}
END_TEST

START_TEST(schedule_parse_invalid_elements)
{
    static const struct {
        const char *input;
        const char *want;
    } cases[] = {
        {"x", "invalid delay \"x\" at position 1"},
        {"-5", "invalid delay \"-5\" at position 1"},
        {"+5", "invalid delay \"+5\" at position 1"},
        {"1.5", "invalid delay \"1.5\" at position 1"},
        {"5s", "invalid delay \"5s\" at position 1"},
        {"1 2", "invalid delay \"1 2\" at position 1"},
        {"1,2,0x10", "invalid delay \"0x10\" at position 3"},
        {"1;2", "invalid delay \"1;2\" at position 1"},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_parse_error(cases[i].input, cases[i].want);
}
END_TEST

START_TEST(schedule_parse_empty_elements)
{
    check_parse_error("1,,2", "empty delay at position 2");
    check_parse_error("1,", "empty delay at position 2");
    check_parse_error("1, ", "empty delay at position 2");
    check_parse_error(",1", "empty delay at position 1");
    check_parse_error(",", "empty delay at position 1");
}
END_TEST

START_TEST(schedule_parse_too_large)
{
    check_parse_error("2592001",
                      "delay \"2592001\" at position 1 is too large: the "
                      "maximum is 2592000 seconds (30 days)");
    check_parse_error("1,99999999999999999999999999",
                      "delay \"99999999999999999999999999\" at position 2 "
                      "is too large");
}
END_TEST

START_TEST(schedule_parse_long_element_quoted)
{
    char buf[200];
    hg_schedule sched;
    char err[256] = "";

    memset(buf, 'a', sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';

    ck_assert_int_eq(hg_schedule_parse(buf, &sched, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "aaaa...\" at position 1"));
}
END_TEST

START_TEST(schedule_parse_small_err_buffer)
{
    hg_schedule sched;
    char err[8];

    memset(err, '#', sizeof(err));
    ck_assert_int_eq(hg_schedule_parse("x", &sched, err, sizeof(err)), -1);
    ck_assert_int_eq(strlen(err), sizeof(err) - 1);
    ck_assert_int_eq(hg_schedule_parse("x", &sched, NULL, 0), -1);
}
END_TEST

START_TEST(schedule_parse_null_input)
{
    hg_schedule sched;
    char err[64] = "";

    ck_assert_int_eq(hg_schedule_parse(NULL, &sched, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "missing schedule string");
}
END_TEST

/* Checks the jitter bounds for one base delay over a sweep of random
 * values, and that both ends of the range are reached. */
static void check_jitter_sweep(int64_t delay_s)
{
    hg_schedule sched = {.count = 1, .delay_s = {delay_s}};
    int64_t base = delay_s * 1000, lo = INT64_MAX, hi = INT64_MIN;
    uint32_t r = 12345;

    for (int i = 0; i < 100000; i++) {
        int64_t ms;

        /* Numerical Recipes LCG: a fixed, repeatable spread of values. */
        r = r * 1664525u + 1013904223u;
        ms = hg_backoff_delay_ms(&sched, 0, r);
        /* ck_assert_msg records a mark point on every pass, which is slow
         * over this many iterations, so only a failure calls into Check. */
        if (ms * 10 < base * 8 || ms * 10 > base * 12)
            ck_abort_msg("delay %lld ms for base %lld ms, random %u",
                         (long long)ms, (long long)base, r);
        if (ms < lo)
            lo = ms;
        if (ms > hi)
            hi = ms;
    }

    ck_assert_msg(lo * 100 < base * 85, "min %lld ms for base %lld ms",
                  (long long)lo, (long long)base);
    ck_assert_msg(hi * 100 > base * 115, "max %lld ms for base %lld ms",
                  (long long)hi, (long long)base);
}

START_TEST(jitter_within_bounds)
{
    hg_schedule sched;

    hg_schedule_default(&sched);
    for (int i = 0; i < sched.count; i++)
        check_jitter_sweep(sched.delay_s[i]);
    check_jitter_sweep(1);
    check_jitter_sweep(2592000);
}
END_TEST

START_TEST(jitter_extreme_random_values)
{
    static const uint32_t randoms[] = {0,     1,     19999,      20000,
                                       20001, 40000, 40001,      UINT32_MAX,
                                       1u << 31, UINT32_MAX - 1};
    static const int64_t bases[] = {1, 5, 300, 86400, 2592000};

    for (size_t b = 0; b < ARRAY_LEN(bases); b++) {
        hg_schedule sched = {.count = 1, .delay_s = {bases[b]}};
        int64_t base = bases[b] * 1000;

        for (size_t i = 0; i < ARRAY_LEN(randoms); i++) {
            int64_t ms = hg_backoff_delay_ms(&sched, 0, randoms[i]);

            ck_assert_msg(ms * 10 >= base * 8 && ms * 10 <= base * 12,
                          "delay %lld ms for base %lld ms, random %u",
                          (long long)ms, (long long)base, randoms[i]);
        }
    }
}
END_TEST

START_TEST(jitter_exact_values)
{
    hg_schedule sched = {.count = 1, .delay_s = {5}};

    /* random32 % 40001 picks the offset: 0 gives -20 %, 20000 gives 0 % and
     * 40000 gives +20 %. UINT32_MAX % 40001 is 19924, so -0.076 %. */
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 0), 4000);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 20000), 5000);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 40000), 6000);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 40001), 4000);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, UINT32_MAX), 4997);
}
END_TEST

START_TEST(jitter_zero_delay)
{
    hg_schedule sched = {.count = 1, .delay_s = {0}};

    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 0), 0);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 40000), 0);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, UINT32_MAX), 0);
}
END_TEST

START_TEST(jitter_hand_filled_schedule)
{
    hg_schedule sched = {.count = 2, .delay_s = {-5, INT64_MAX}};
    int64_t huge = hg_backoff_delay_ms(&sched, 1, 40000);

    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 0, 40000), 0);
    ck_assert_int_gt(huge, 0);
    ck_assert_int_eq(huge, INT64_C(1200000000000));
}
END_TEST

START_TEST(delay_index_out_of_range)
{
    hg_schedule sched, empty;

    hg_schedule_default(&sched);
    memset(&empty, 0, sizeof(empty));

    ck_assert_int_eq(hg_backoff_delay_ms(&sched, -1, 0), -1);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, INT_MIN, 0), -1);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 9, 0), -1);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, 10, 0), -1);
    ck_assert_int_eq(hg_backoff_delay_ms(&sched, INT_MAX, 0), -1);
    ck_assert_int_eq(hg_backoff_delay_ms(&empty, 0, 0), -1);
    ck_assert_int_eq(hg_backoff_delay_ms(NULL, 0, 0), -1);
    ck_assert_int_ge(hg_backoff_delay_ms(&sched, 8, 0), 0);
}
END_TEST

/* Parses value at now_s and checks the result and the stored delay. */
static void check_retry_after(const char *value, int64_t now_s, int64_t want)
{
    int64_t delay = -12345;
    int rc = hg_retry_after_parse(value, now_s, &delay);

    ck_assert_msg(rc == 0, "Retry-After \"%s\" rejected", value);
    ck_assert_msg(delay == want, "Retry-After \"%s\" gave %lld, expected %lld",
                  value, (long long)delay, (long long)want);
}

static void check_retry_after_rejected(const char *value, int64_t now_s)
{
    int64_t delay = -12345;
    int rc = hg_retry_after_parse(value, now_s, &delay);

    ck_assert_msg(rc == -1, "Retry-After \"%s\" accepted with delay %lld",
                  value, (long long)delay);
}

START_TEST(retry_after_delta_seconds)
{
    check_retry_after("0", NOW_2025, 0);
    check_retry_after("120", NOW_2025, 120);
    check_retry_after("007", NOW_2025, 7);
    check_retry_after("999999999", NOW_2025, 999999999);
    check_retry_after("1000000000", NOW_2025, 1000000000);
}
END_TEST

START_TEST(retry_after_delta_huge)
{
    check_retry_after("1000000001", NOW_2025, 1000000000);
    check_retry_after("9223372036854775807", NOW_2025, 1000000000);
    check_retry_after("99999999999999999999999999999999999999", NOW_2025,
                      1000000000);
}
END_TEST

START_TEST(retry_after_whitespace)
{
    check_retry_after(" 120", NOW_2025, 120);
    check_retry_after("120 ", NOW_2025, 120);
    check_retry_after("\t 120 \t", NOW_2025, 120);
    check_retry_after("  Sun, 06 Nov 1994 09:49:37 GMT\t", NOW_1994, 3600);
}
END_TEST

START_TEST(retry_after_imf_fixdate)
{
    check_retry_after("Sun, 06 Nov 1994 09:49:37 GMT", NOW_1994, 3600);
    check_retry_after("Sun, 06 Nov 1994 08:49:38 GMT", NOW_1994, 1);
    check_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", NOW_1994, 86400);
    check_retry_after("Sun, 15 Jun 2025 12:00:00 GMT", NOW_2025, 0);
    check_retry_after("Mon, 16 Jun 2025 12:00:00 GMT", NOW_2025, 86400);
}
END_TEST

START_TEST(retry_after_rfc850_date)
{
    check_retry_after("Sunday, 06-Nov-94 09:49:37 GMT", NOW_1994, 3600);
    check_retry_after("Wednesday, 09-Nov-94 08:49:37 GMT", NOW_1994,
                      3 * 86400);
    check_retry_after("Sunday, 15-Jun-25 13:00:00 GMT", NOW_2025, 3600);
}
END_TEST

START_TEST(retry_after_asctime_date)
{
    check_retry_after("Sun Nov  6 09:49:37 1994", NOW_1994, 3600);
    check_retry_after("Sun Nov 06 09:49:37 1994", NOW_1994, 3600);
    check_retry_after("Thu Nov 10 08:49:37 1994", NOW_1994, 4 * 86400);
}
END_TEST

START_TEST(retry_after_past_date)
{
    check_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW_2025, 0);
    check_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", NOW_2025, 0);
    check_retry_after("Sun Nov  6 08:49:37 1994", NOW_2025, 0);
    check_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", NOW_2025, 0);
    check_retry_after("Sat, 01 Jan 0000 00:00:00 GMT", NOW_2025, 0);
}
END_TEST

START_TEST(retry_after_far_future_date)
{
    /* 9999-12-31 23:59:59 UTC is 253402300799. */
    check_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", NOW_2025,
                      INT64_C(253402300799) - NOW_2025);
}
END_TEST

START_TEST(retry_after_two_digit_year)
{
    /* Seen from June 2025, 2074 is 49 years ahead and stays in the 2000s. */
    check_retry_after("Monday, 01-Jan-74 00:00:00 GMT", NOW_2025,
                      INT64_C(3281990400) - NOW_2025);
    /* 2075-06-01 is just under 50 years ahead, so it stays too. */
    check_retry_after("Saturday, 01-Jun-75 00:00:00 GMT", NOW_2025,
                      INT64_C(3326572800) - NOW_2025);
    /* 2075-07-01 is just over 50 years ahead, so it means 1975. */
    check_retry_after("Tuesday, 01-Jul-75 00:00:00 GMT", NOW_2025, 0);
    check_retry_after("Wednesday, 01-Jan-76 00:00:00 GMT", NOW_2025, 0);
    check_retry_after("Monday, 01-Jan-24 00:00:00 GMT", NOW_2025, 0);
    check_retry_after("Saturday, 01-Jan-00 00:00:00 GMT", NOW_2025, 0);
}
END_TEST

START_TEST(retry_after_two_digit_year_next_century)
{
    /* Seen from June 2099, "05" means 2105, six years ahead. */
    check_retry_after("Monday, 01-Jan-05 00:00:00 GMT", NOW_2099,
                      INT64_C(4260211200) - NOW_2099);
    check_retry_after("Monday, 01-Jan-99 00:00:00 GMT", NOW_2099, 0);
}
END_TEST

START_TEST(retry_after_leap_day_and_second)
{
    /* 1996 is a leap year. A leap second rolls over into the next minute. */
    check_retry_after("Thu, 29 Feb 1996 00:00:00 GMT", NOW_1994,
                      INT64_C(825552000) - NOW_1994);
    check_retry_after("Sun, 06 Nov 1994 08:50:60 GMT", NOW_1994, 83);
}
END_TEST

START_TEST(retry_after_weekday_not_checked)
{
    /* 1994-11-06 was a Sunday. The day name is not compared to the date. */
    check_retry_after("Fri, 06 Nov 1994 09:49:37 GMT", NOW_1994, 3600);
}
END_TEST

START_TEST(retry_after_garbage)
{
    static const char *const values[] = {
        "",
        " ",
        "\t",
        "abc",
        "-5",
        "+5",
        "1.5",
        "5s",
        "5 5",
        "0x10",
        "1e3",
        "-0",
        /* IMF-fixdate with one wrong detail each */
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 08:49:37GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 November 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1994 08:49:37 GMT",
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        /* RFC 850 form */
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 6-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37",
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "sunday, 06-Nov-94 08:49:37 GMT",
        "Sunday 06-Nov-94 08:49:37 GMT",
        /* asctime form */
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun  Nov  6 08:49:37 1994",
        "Sun Nov  6 08:49:37",
        "Sunday Nov  6 08:49:37 1994",
        "Sun Nov 31 08:49:37 1994",
        /* truncated and oversized */
        "Sun",
        "Sun,",
        "Sun, 06 Nov 1994",
        "Sun, 06 Nov 1994 08:49:37 GMT GMT GMT GMT GMT GMT GMT GMT GMT GMT",
    };

    for (size_t i = 0; i < ARRAY_LEN(values); i++)
        check_retry_after_rejected(values[i], NOW_1994);
}
END_TEST

START_TEST(retry_after_null_arguments)
{
    int64_t delay;

    ck_assert_int_eq(hg_retry_after_parse(NULL, NOW_2025, &delay), -1);
    ck_assert_int_eq(hg_retry_after_parse("5", NOW_2025, NULL), -1);
}
END_TEST

static Suite *backoff_suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *schedule = tcase_create("schedule");
    TCase *jitter = tcase_create("jitter");
    TCase *retry_after = tcase_create("retry_after");

    tcase_add_test(schedule, schedule_default_values);
    tcase_add_test(schedule, schedule_default_span);
    tcase_add_test(schedule, schedule_parse_valid);
    tcase_add_test(schedule, schedule_parse_max_entries);
    tcase_add_test(schedule, schedule_parse_too_many);
    tcase_add_test(schedule, schedule_parse_invalid_message);
    tcase_add_test(schedule, schedule_parse_invalid_elements);
    tcase_add_test(schedule, schedule_parse_empty_elements);
    tcase_add_test(schedule, schedule_parse_too_large);
    tcase_add_test(schedule, schedule_parse_long_element_quoted);
    tcase_add_test(schedule, schedule_parse_small_err_buffer);
    tcase_add_test(schedule, schedule_parse_null_input);
    suite_add_tcase(s, schedule);

    tcase_add_test(jitter, jitter_within_bounds);
    tcase_add_test(jitter, jitter_extreme_random_values);
    tcase_add_test(jitter, jitter_exact_values);
    tcase_add_test(jitter, jitter_zero_delay);
    tcase_add_test(jitter, jitter_hand_filled_schedule);
    tcase_add_test(jitter, delay_index_out_of_range);
    suite_add_tcase(s, jitter);

    tcase_add_test(retry_after, retry_after_delta_seconds);
    tcase_add_test(retry_after, retry_after_delta_huge);
    tcase_add_test(retry_after, retry_after_whitespace);
    tcase_add_test(retry_after, retry_after_imf_fixdate);
    tcase_add_test(retry_after, retry_after_rfc850_date);
    tcase_add_test(retry_after, retry_after_asctime_date);
    tcase_add_test(retry_after, retry_after_past_date);
    tcase_add_test(retry_after, retry_after_far_future_date);
    tcase_add_test(retry_after, retry_after_two_digit_year);
    tcase_add_test(retry_after, retry_after_two_digit_year_next_century);
    tcase_add_test(retry_after, retry_after_leap_day_and_second);
    tcase_add_test(retry_after, retry_after_weekday_not_checked);
    tcase_add_test(retry_after, retry_after_garbage);
    tcase_add_test(retry_after, retry_after_null_arguments);
    suite_add_tcase(s, retry_after);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(backoff_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
