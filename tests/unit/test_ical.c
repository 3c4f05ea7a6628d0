/* SPDX-License-Identifier: MIT */

#include "common/ical.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Checks that every physical line of text ends with CRLF, contains at
 * most 75 octets, and that only continuation lines start with a space; returns
 * the number of physical lines. */
static int check_lines(const char *text)
{
    int lines = 0;

    for (const char *p = text; *p;) {
        const char *end = strstr(p, "\r\n");

        ck_assert_ptr_nonnull(end);
        ck_assert_int_le(end - p, 75);
        ck_assert_ptr_null(memchr(p, '\n', (size_t)(end - p)));
        ck_assert_ptr_null(memchr(p, '\r', (size_t)(end - p)));
        if (lines == 0)
            ck_assert_int_ne(p[0], ' ');
        lines++;
        p = end + 2;
    }
    return lines;
}

/* Joins folded lines back (RFC 5545 section 3.1: remove CRLF + space). */
static char *unfold(const char *text)
{
    char *out = malloc(strlen(text) + 1);
    size_t o = 0;

    for (const char *p = text; *p; p++) {
        if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
            p += 2;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

START_TEST(escape_special_characters)
{
    char *e = hg_ical_escape("a,b;c\\d\ne\r\nf\rg");

    ck_assert_str_eq(e, "a\\,b\\;c\\\\d\\ne\\nf\\ng");
    free(e);
}
END_TEST

START_TEST(escape_drops_control_characters)
{
    char *e = hg_ical_escape("a\x01" "b\tc\x7f" "d");

    ck_assert_str_eq(e, "ab\tcd");
    free(e);
}
END_TEST

START_TEST(short_line_unchanged)
{
    hg_ical c = {0};

    hg_ical_line(&c, "VERSION", "2.0");
    ck_assert_str_eq(c.data, "VERSION:2.0\r\n");
    hg_ical_free(&c);
}
END_TEST

START_TEST(fold_exactly_75_octets)
{
    hg_ical c = {0};
    char value[80];

    /* "SUMMARY:" is 8 octets; 67 more make 75 and stay on one line. */
    memset(value, 'x', 67);
    value[67] = '\0';
    hg_ical_line(&c, "SUMMARY", value);
    ck_assert_int_eq(check_lines(c.data), 1);
    hg_ical_free(&c);

    memset(value, 'x', 68);
    value[68] = '\0';
    hg_ical_line(&c, "SUMMARY", value);
    ck_assert_int_eq(check_lines(c.data), 2);
    ck_assert(strncmp(c.data + 75, "\r\n x\r\n", 6) == 0);
    hg_ical_free(&c);
}
END_TEST

START_TEST(fold_long_text_round_trips)
{
    hg_ical c = {0};
    char value[1000];
    char *joined;

    for (int i = 0; i < 999; i++)
        value[i] = (char)('a' + i % 26);
    value[999] = '\0';
    hg_ical_line(&c, "DESCRIPTION", value);
    /* 1011 octets: 75 on the first line, then 74 per continuation. */
    ck_assert_int_eq(check_lines(c.data), 1 + (1011 - 75 + 73) / 74);
    joined = unfold(c.data);
    ck_assert(strncmp(joined, "DESCRIPTION:", 12) == 0);
    ck_assert(strncmp(joined + 12, value, 999) == 0);
    ck_assert_str_eq(joined + 12 + 999, "\r\n");
    free(joined);
    hg_ical_free(&c);
}
END_TEST

START_TEST(fold_keeps_utf8_sequences_whole)
{
    hg_ical c = {0};
    char value[400] = "";
    char *joined;

    /* "é" is two octets; with "SUMMARY:" (8) an odd count would split
     * one at octet 75 if folding ignored sequences. */
    for (int i = 0; i < 100; i++)
        strcat(value, "\xc3\xa9");
    hg_ical_line(&c, "SUMMARY", value);
    check_lines(c.data);
    for (const char *p = c.data; (p = strstr(p, "\r\n ")) != NULL; p += 3)
        ck_assert_int_ne((unsigned char)p[3] & 0xC0, 0x80);
    joined = unfold(c.data);
    ck_assert(strncmp(joined + 8, value, strlen(value)) == 0);
    free(joined);
    hg_ical_free(&c);
}
END_TEST

START_TEST(text_escapes_then_folds)
{
    hg_ical c = {0};
    char *joined;

    hg_ical_text(&c, "SUMMARY", "Database upgrade, part 1; window\n"
                                "for EU, US and APAC customers, all "
                                "regions; expect short pauses");
    check_lines(c.data);
    joined = unfold(c.data);
    ck_assert_str_eq(joined,
                     "SUMMARY:Database upgrade\\, part 1\\; window\\nfor EU\\, "
                     "US and APAC customers\\, all regions\\; expect short "
                     "pauses\r\n");
    free(joined);
    hg_ical_free(&c);
}
END_TEST

START_TEST(time_in_utc_basic_form)
{
    char out[HG_ICAL_TIME_BUF];
    hg_ical c = {0};

    ck_assert_str_eq(hg_ical_format_time(1796439600123LL, out),
                     "20261205T030000Z");
    ck_assert_str_eq(hg_ical_format_time(0, out), "19700101T000000Z");
    hg_ical_time(&c, "DTSTART", 1796439600000LL);
    ck_assert_str_eq(c.data, "DTSTART:20261205T030000Z\r\n");
    hg_ical_free(&c);
    hg_ical_free(&c);
}
END_TEST

static Suite *ical_suite(void)
{
    Suite *s = suite_create("ical");
    TCase *escape = tcase_create("escape");
    TCase *fold = tcase_create("fold");
    TCase *time = tcase_create("time");

    tcase_add_test(escape, escape_special_characters);
    tcase_add_test(escape, escape_drops_control_characters);
    suite_add_tcase(s, escape);

    tcase_add_test(fold, short_line_unchanged);
    tcase_add_test(fold, fold_exactly_75_octets);
    tcase_add_test(fold, fold_long_text_round_trips);
    tcase_add_test(fold, fold_keeps_utf8_sequences_whole);
    tcase_add_test(fold, text_escapes_then_folds);
    suite_add_tcase(s, fold);

    tcase_add_test(time, time_in_utc_basic_form);
    suite_add_tcase(s, time);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ical_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
