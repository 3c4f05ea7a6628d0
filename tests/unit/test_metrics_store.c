/* SPDX-License-Identifier: MIT */

#include "common/metrics_store.h"

#include <check.h>
#include <stdlib.h>

START_TEST(bucket_bounds_inclusive)
{
    ck_assert_int_eq(hg_metrics_bucket(0), 0);
    ck_assert_int_eq(hg_metrics_bucket(1), 0);
    ck_assert_int_eq(hg_metrics_bucket(2), 1);
    ck_assert_int_eq(hg_metrics_bucket(3), 2);
    ck_assert_int_eq(hg_metrics_bucket(1000), 9);
    ck_assert_int_eq(hg_metrics_bucket(1001), 10);
    ck_assert_int_eq(hg_metrics_bucket(60000), 14);
    ck_assert_int_eq(hg_metrics_bucket(60001), HG_METRICS_BUCKETS - 1);
}
END_TEST

START_TEST(percentile_empty_is_zero)
{
    long long counts[HG_METRICS_BUCKETS] = {0};

    ck_assert_double_eq(hg_metrics_percentile(counts, 0.95), 0);
}
END_TEST

START_TEST(percentile_interpolates_in_bucket)
{
    long long counts[HG_METRICS_BUCKETS] = {0};

    /* 18 values in 20-50 ms, 2 in 1000-2000 ms: rank 19 of 20 is the
     * first of the 2 slow ones, half way through their bucket. */
    counts[hg_metrics_bucket(30)] = 18;
    counts[hg_metrics_bucket(1200)] = 2;
    ck_assert_double_eq_tol(hg_metrics_percentile(counts, 0.95), 1500, 1e-9);
    ck_assert_double_eq_tol(hg_metrics_percentile(counts, 0.5), 20 + 30 * 10.0 / 18,
                            1e-9);
    ck_assert_double_eq_tol(hg_metrics_percentile(counts, 1.0), 2000, 1e-9);
}
END_TEST

START_TEST(percentile_unbounded_bucket_lower_bound)
{
    long long counts[HG_METRICS_BUCKETS] = {0};

    counts[HG_METRICS_BUCKETS - 1] = 5;
    ck_assert_double_eq(hg_metrics_percentile(counts, 0.99), 60000);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics_store");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, bucket_bounds_inclusive);
    tcase_add_test(tc, percentile_empty_is_zero);
    tcase_add_test(tc, percentile_interpolates_in_bucket);
    tcase_add_test(tc, percentile_unbounded_bucket_lower_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
