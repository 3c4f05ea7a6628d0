/* SPDX-License-Identifier: MIT
 *
 * The inspector's readers of request headers: insp_cookie_value()
 * (inspector/auth.c), which finds the session cookie in the Cookie
 * header, and the live feed's resume point, insp_feed_resume_point() and
 * insp_stream_id_parse() (inspector/feed.c), which read Last-Event-ID or
 * ?since= as a Redis stream id. They only parse, so none of these tests
 * touches the network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspector/inspector.h"

/* Definition that auth.c and feed.c take from the inspector's main.c. The
 * parsers never read it. */
inspector *insp;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Cookie --------------------------------------------------------------- */

START_TEST(cookie_found_among_others)
{
    char value[64];

    ck_assert(insp_cookie_value("theme=dark; hg_session=hgs_abc; lang=en",
                                "hg_session", value, sizeof(value)));
    ck_assert_str_eq(value, "hgs_abc");
    ck_assert(insp_cookie_value("hg_session=hgs_abc", "hg_session", value,
                                sizeof(value)));
    ck_assert_str_eq(value, "hgs_abc");
    ck_assert(insp_cookie_value("a=1;hg_session=x", "hg_session", value,
                                sizeof(value)));
    ck_assert_str_eq(value, "x");
}
END_TEST

START_TEST(cookie_name_must_match_whole)
{
    char value[64];

    ck_assert(!insp_cookie_value("xhg_session=a; hg_sessionx=b",
                                 "hg_session", value, sizeof(value)));
    ck_assert(!insp_cookie_value("a=hg_session=b", "hg_session", value,
                                 sizeof(value)));
    ck_assert(!insp_cookie_value(NULL, "hg_session", value, sizeof(value)));
    ck_assert(!insp_cookie_value("", "hg_session", value, sizeof(value)));
}
END_TEST

/* The value used to keep the spaces before ';', so the token never
 * matched its hash. */
START_TEST(cookie_value_drops_end_blanks)
{
    char value[64];

    ck_assert(insp_cookie_value("hg_session= hgs_abc \t; a=1", "hg_session",
                                value, sizeof(value)));
    ck_assert_str_eq(value, "hgs_abc");
    ck_assert(insp_cookie_value("\thg_session=hgs_abc ", "hg_session", value,
                                sizeof(value)));
    ck_assert_str_eq(value, "hgs_abc");
    ck_assert(!insp_cookie_value("hg_session=  ; a=1", "hg_session", value,
                                 sizeof(value)));
}
END_TEST

START_TEST(cookie_value_bounds)
{
    char value[8];

    ck_assert(insp_cookie_value("hg_session=1234567", "hg_session", value,
                                sizeof(value)));
    ck_assert_str_eq(value, "1234567");
    ck_assert(!insp_cookie_value("hg_session=12345678", "hg_session", value,
                                 sizeof(value)));
    /* The first pair with the name decides, even when it is empty. */
    ck_assert(!insp_cookie_value("hg_session=; hg_session=b", "hg_session",
                                 value, sizeof(value)));
}
END_TEST

/* ---- Last-Event-ID -------------------------------------------------------- */

START_TEST(stream_id_valid)
{
    static const struct {
        const char *text;
        uint64_t ms, seq;
    } cases[] = {
        {"1700000000000-0", 1700000000000ULL, 0},
        {"1700000000000-42", 1700000000000ULL, 42},
        {"1700000000000", 1700000000000ULL, 0},
        {"0-0", 0, 0},
        {"007-08", 7, 8},
        {"18446744073709551615-18446744073709551615", UINT64_MAX,
         UINT64_MAX},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        insp_stream_id id = {1, 1};

        ck_assert_msg(insp_stream_id_parse(cases[i].text, &id),
                      "rejected \"%s\"", cases[i].text);
        ck_assert_uint_eq(id.ms, cases[i].ms);
        ck_assert_uint_eq(id.seq, cases[i].seq);
    }
}
END_TEST

START_TEST(stream_id_invalid_unchanged)
{
    static const char *const invalid[] = {
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1-",
        "-",
        "1--2",
        "1-2-3",
        "1-+2",
        "1- 2",
        "0x10",
        "abc",
        "18446744073709551616",
        "18446744073709551616-0",
        "1-18446744073709551616",
        "99999999999999999999999-0",
    };

    for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
        insp_stream_id id = {5, 6};

        ck_assert_msg(!insp_stream_id_parse(invalid[i], &id),
                      "accepted \"%s\"", invalid[i]);
        ck_assert_uint_eq(id.ms, 5);
        ck_assert_uint_eq(id.seq, 6);
    }
    ck_assert(!insp_stream_id_parse(NULL, &(insp_stream_id){0, 0}));
}
END_TEST

START_TEST(stream_id_format_round_trip)
{
    char text[INSP_STREAM_ID_MAX];
    insp_stream_id id = {UINT64_MAX, UINT64_MAX}, again = {0, 0};

    insp_stream_id_format(id, text, sizeof(text));
    ck_assert_str_eq(text, "18446744073709551615-18446744073709551615");
    ck_assert(insp_stream_id_parse(text, &again));
    ck_assert_uint_eq(again.ms, UINT64_MAX);
    ck_assert_uint_eq(again.seq, UINT64_MAX);
}
END_TEST

START_TEST(resume_point_header_wins)
{
    insp_stream_id id = {0, 0};
    bool resume = false;

    ck_assert(insp_feed_resume_point("5-1", "9-9", &resume, &id));
    ck_assert(resume);
    ck_assert_uint_eq(id.ms, 5);
    ck_assert_uint_eq(id.seq, 1);

    /* An empty or absent header leaves the choice to ?since=. */
    ck_assert(insp_feed_resume_point("", "9-9", &resume, &id));
    ck_assert(resume);
    ck_assert_uint_eq(id.ms, 9);
    ck_assert(insp_feed_resume_point(NULL, "8", &resume, &id));
    ck_assert(resume);
    ck_assert_uint_eq(id.ms, 8);
    ck_assert_uint_eq(id.seq, 0);
}
END_TEST

START_TEST(resume_point_none_or_invalid)
{
    insp_stream_id id = {3, 4};
    bool resume = true;

    ck_assert(insp_feed_resume_point(NULL, NULL, &resume, &id));
    ck_assert(!resume);
    resume = true;
    ck_assert(insp_feed_resume_point("", "", &resume, &id));
    ck_assert(!resume);
    ck_assert_uint_eq(id.ms, 3);

    ck_assert(!insp_feed_resume_point("abc", "1-0", &resume, &id));
    ck_assert(resume);
    ck_assert(!insp_feed_resume_point(NULL, "1-x", &resume, &id));
    ck_assert_uint_eq(id.ms, 3);
    ck_assert_uint_eq(id.seq, 4);
}
END_TEST

static Suite *inspector_headers_suite(void)
{
    Suite *s = suite_create("inspector_headers");
    TCase *cookie = tcase_create("cookie");
    TCase *resume = tcase_create("last_event_id");

    tcase_add_test(cookie, cookie_found_among_others);
    tcase_add_test(cookie, cookie_name_must_match_whole);
    tcase_add_test(cookie, cookie_value_drops_end_blanks);
    tcase_add_test(cookie, cookie_value_bounds);
    suite_add_tcase(s, cookie);

    tcase_add_test(resume, stream_id_valid);
    tcase_add_test(resume, stream_id_invalid_unchanged);
    tcase_add_test(resume, stream_id_format_round_trip);
    tcase_add_test(resume, resume_point_header_wins);
    tcase_add_test(resume, resume_point_none_or_invalid);
    suite_add_tcase(s, resume);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(inspector_headers_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
