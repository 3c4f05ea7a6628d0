/* SPDX-License-Identifier: MIT */

#include "common/text.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Decodes s with flags into a buffer of cap bytes; returns the result of
 * hg_percent_decode() and leaves the text in out. */
static long decode(const char *s, unsigned flags, char *out, size_t cap)
{
    memset(out, 'x', cap);
    return hg_percent_decode(s, strlen(s), out, cap, flags);
}

START_TEST(percent_decodes_escapes_of_either_case)
{
    char out[32];

    ck_assert_int_eq(decode("a%2Fb%2fc%40", 0, out, sizeof(out)), 6);
    ck_assert_str_eq(out, "a/b/c@");
    ck_assert_int_eq(decode("%e2%82%AC", 0, out, sizeof(out)), 3);
    ck_assert_str_eq(out, "\xe2\x82\xac");
}
END_TEST

START_TEST(percent_plus_is_a_space_only_with_the_flag)
{
    char out[32];

    ck_assert_int_eq(decode("a+b%2B", 0, out, sizeof(out)), 4);
    ck_assert_str_eq(out, "a+b+");
    ck_assert_int_eq(decode("a+b%2B", HG_PCT_PLUS, out, sizeof(out)), 4);
    ck_assert_str_eq(out, "a b+");
}
END_TEST

START_TEST(percent_strict_rejects_bad_escapes_and_nul)
{
    static const char *const bad[] = {"%", "a%", "%4", "%4g", "%g4", "%00",
                                      "ab%zz", "%%41"};
    char out[32];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(decode(bad[i], HG_PCT_PLUS, out, sizeof(out)) == -1,
                      "\"%s\" decoded", bad[i]);
}
END_TEST

START_TEST(percent_lenient_keeps_bad_escapes)
{
    char out[32];

    ck_assert_int_eq(decode("%zz%4%00%41%", HG_PCT_LENIENT, out, sizeof(out)),
                     10);
    ck_assert_str_eq(out, "%zz%4%00A%");
}
END_TEST

START_TEST(percent_length_bounds_the_input)
{
    char out[32];

    /* The escape is cut by len, so it is invalid, not read past len. */
    ck_assert_int_eq(hg_percent_decode("a%41", 3, out, sizeof(out), 0), -1);
    ck_assert_int_eq(hg_percent_decode("a%41", 4, out, sizeof(out), 0), 2);
    ck_assert_str_eq(out, "aA");
}
END_TEST

START_TEST(percent_capacity_counts_the_nul)
{
    char out[8];

    ck_assert_int_eq(decode("%41%42%43", 0, out, 4), 3);
    ck_assert_str_eq(out, "ABC");
    ck_assert_int_eq(decode("%41%42%43", 0, out, 3), -1);
    ck_assert_int_eq(decode("", 0, out, 1), 0);
    ck_assert_str_eq(out, "");
    out[0] = 'x';
    ck_assert_int_eq(hg_percent_decode("", 0, out, 0, 0), -1);
    ck_assert_int_eq(out[0], 'x');
}
END_TEST

START_TEST(percent_check_only_and_in_place)
{
    char s[] = "a%20b+c";

    ck_assert_int_eq(hg_percent_decode("x%2", 3, NULL, 0, 0), -1);
    ck_assert_int_eq(hg_percent_decode("%41%42", 6, NULL, 0, 0), 2);
    ck_assert_int_eq(hg_percent_decode(s, strlen(s), s, sizeof(s),
                                       HG_PCT_PLUS),
                     5);
    ck_assert_str_eq(s, "a b c");
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *pct = tcase_create("percent_decode");

    tcase_add_test(pct, percent_decodes_escapes_of_either_case);
    tcase_add_test(pct, percent_plus_is_a_space_only_with_the_flag);
    tcase_add_test(pct, percent_strict_rejects_bad_escapes_and_nul);
    tcase_add_test(pct, percent_lenient_keeps_bad_escapes);
    tcase_add_test(pct, percent_length_bounds_the_input);
    tcase_add_test(pct, percent_capacity_counts_the_nul);
    tcase_add_test(pct, percent_check_only_and_in_place);
    suite_add_tcase(s, pct);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
