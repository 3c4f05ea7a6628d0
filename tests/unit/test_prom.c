/* SPDX-License-Identifier: MIT */

#include "common/prom.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROUTE_METHOD[] = {"route", "method"};

/* Returns true when text contains line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

START_TEST(render_counter_with_help_and_type)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    hg_prom_metric *m =
        hg_prom_declare(reg, HG_PROM_COUNTER, "t_requests_total",
                        "Requests served.", 2, ROUTE_METHOD, 0, NULL);
    const char *get[] = {"/a/{id}", "GET"};
    const char *post[] = {"/a/{id}", "POST"};
    size_t len;
    char *text;

    hg_prom_inc(m, get, 2);
    hg_prom_inc(m, post, 1);
    hg_prom_inc(m, get, 3);
    text = hg_prom_render(reg, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert(has_line(text, "# HELP t_requests_total Requests served."));
    ck_assert(has_line(text, "# TYPE t_requests_total counter"));
    ck_assert(
        has_line(text, "t_requests_total{route=\"/a/{id}\",method=\"GET\"} 5"));
    ck_assert(has_line(
        text, "t_requests_total{route=\"/a/{id}\",method=\"POST\"} 1"));
    free(text);
    hg_prom_registry_free(reg);
}
END_TEST

START_TEST(render_gauge_without_labels)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    hg_prom_metric *m = hg_prom_declare(reg, HG_PROM_GAUGE, "t_depth", "Depth.",
                                        0, NULL, 0, NULL);
    hg_prom_metric *unused = hg_prom_declare(reg, HG_PROM_GAUGE, "t_unused",
                                             "Never set.", 0, NULL, 0, NULL);
    size_t len;
    char *text;

    ck_assert_ptr_nonnull(unused);
    hg_prom_set(m, NULL, 7);
    hg_prom_set(m, NULL, 2.5);
    text = hg_prom_render(reg, &len);
    ck_assert(has_line(text, "# TYPE t_depth gauge"));
    ck_assert(has_line(text, "t_depth 2.5"));
    ck_assert_ptr_null(strstr(text, "t_unused"));
    free(text);
    hg_prom_registry_free(reg);
}
END_TEST

START_TEST(render_escapes_label_values_and_help)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    const char *const names[] = {"v"};
    hg_prom_metric *m =
        hg_prom_declare(reg, HG_PROM_COUNTER, "t_escaped_total",
                        "Line one\nback\\slash \"quoted\"", 1, names, 0, NULL);
    const char *value[] = {"a\"b\\c\nd"};
    size_t len;
    char *text;

    hg_prom_inc(m, value, 1);
    text = hg_prom_render(reg, &len);
    ck_assert(has_line(
        text, "# HELP t_escaped_total Line one\\nback\\\\slash \"quoted\""));
    ck_assert(has_line(text, "t_escaped_total{v=\"a\\\"b\\\\c\\nd\"} 1"));
    free(text);
    hg_prom_registry_free(reg);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    const double bounds[] = {0.1, 0.5, 1};
    const char *const names[] = {"route"};
    hg_prom_metric *m = hg_prom_declare(reg, HG_PROM_HISTOGRAM, "t_seconds",
                                        "Durations.", 1, names, 3, bounds);
    const char *route[] = {"/x"};
    size_t len;
    char *text;

    hg_prom_observe(m, route, 0.05);
    hg_prom_observe(m, route, 0.1); /* on a bound: counts in that bucket */
    hg_prom_observe(m, route, 0.3);
    hg_prom_observe(m, route, 2);
    text = hg_prom_render(reg, &len);
    ck_assert(has_line(text, "# TYPE t_seconds histogram"));
    ck_assert(has_line(text, "t_seconds_bucket{route=\"/x\",le=\"0.1\"} 2"));
    ck_assert(has_line(text, "t_seconds_bucket{route=\"/x\",le=\"0.5\"} 3"));
    ck_assert(has_line(text, "t_seconds_bucket{route=\"/x\",le=\"1\"} 3"));
    ck_assert(has_line(text, "t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4"));
    ck_assert(has_line(text, "t_seconds_count{route=\"/x\"} 4"));
    ck_assert(has_line(text, "t_seconds_sum{route=\"/x\"} 2.45"));
    free(text);
    hg_prom_registry_free(reg);
}
END_TEST

START_TEST(declare_rejects_out_of_range)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    const char *const many[] = {"a", "b", "c", "d", "e"};
    double bounds[HG_PROM_MAX_BUCKETS + 1] = {0};

    ck_assert_ptr_null(hg_prom_declare(reg, HG_PROM_COUNTER, "t", "h",
                                       HG_PROM_MAX_LABELS + 1, many, 0, NULL));
    ck_assert_ptr_null(hg_prom_declare(reg, HG_PROM_HISTOGRAM, "t", "h", 0,
                                       NULL, HG_PROM_MAX_BUCKETS + 1, bounds));
    hg_prom_registry_free(reg);
}
END_TEST

START_TEST(series_limit_drops_and_counts)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    const char *const names[] = {"n"};
    hg_prom_metric *m = hg_prom_declare(reg, HG_PROM_COUNTER, "t_total", "h", 1,
                                        names, 0, NULL);
    char value[16];
    const char *values[] = {value};
    size_t len;
    char *text;

    for (int i = 0; i < HG_PROM_MAX_SERIES + 3; i++) {
        snprintf(value, sizeof(value), "%d", i);
        hg_prom_inc(m, values, 1);
    }
    text = hg_prom_render(reg, &len);
    ck_assert(has_line(text, "t_total{n=\"0\"} 1"));
    ck_assert_ptr_null(strstr(text, "t_total{n=\"1024\"}"));
    ck_assert(has_line(text, "hookgate_metrics_series_dropped_total 3"));
    free(text);
    hg_prom_registry_free(reg);
}
END_TEST

#define THREADS 8
#define PER_THREAD 20000

typedef struct worker_args {
    hg_prom_metric *counter;
    hg_prom_metric *histogram;
    int index;
} worker_args;

static void *increment(void *arg)
{
    worker_args *a = arg;
    char own[16];
    const char *shared[] = {"shared"};
    const char *mine[] = {own};

    snprintf(own, sizeof(own), "t%d", a->index);
    for (int i = 0; i < PER_THREAD; i++) {
        hg_prom_inc(a->counter, shared, 1);
        hg_prom_inc(a->counter, mine, 1);
        hg_prom_observe(a->histogram, NULL, 1);
    }
    return NULL;
}

START_TEST(concurrent_increments_are_exact)
{
    hg_prom_registry *reg = hg_prom_registry_new();
    const char *const names[] = {"k"};
    const double bounds[] = {0.5, 2};
    worker_args args[THREADS];
    pthread_t threads[THREADS];
    char line[96];
    size_t len;
    char *text;

    args[0].counter = hg_prom_declare(reg, HG_PROM_COUNTER, "t_total", "h", 1,
                                      names, 0, NULL);
    args[0].histogram = hg_prom_declare(reg, HG_PROM_HISTOGRAM, "t_hist", "h",
                                        0, NULL, 2, bounds);
    for (int i = 0; i < THREADS; i++) {
        args[i] = args[0];
        args[i].index = i;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, increment, &args[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    text = hg_prom_render(reg, &len);
    snprintf(line, sizeof(line), "t_total{k=\"shared\"} %d",
             THREADS * PER_THREAD);
    ck_assert_msg(has_line(text, line), "missing \"%s\"", line);
    for (int i = 0; i < THREADS; i++) {
        snprintf(line, sizeof(line), "t_total{k=\"t%d\"} %d", i, PER_THREAD);
        ck_assert_msg(has_line(text, line), "missing \"%s\"", line);
    }
    snprintf(line, sizeof(line), "t_hist_count %d", THREADS * PER_THREAD);
    ck_assert_msg(has_line(text, line), "missing \"%s\"", line);
    snprintf(line, sizeof(line), "t_hist_sum %d", THREADS * PER_THREAD);
    ck_assert_msg(has_line(text, line), "missing \"%s\"", line);
    snprintf(line, sizeof(line), "t_hist_bucket{le=\"0.5\"} 0");
    ck_assert_msg(has_line(text, line), "missing \"%s\"", line);
    free(text);
    hg_prom_registry_free(reg);
}
END_TEST

static Suite *prom_suite(void)
{
    Suite *s = suite_create("prom");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, render_counter_with_help_and_type);
    tcase_add_test(tc, render_gauge_without_labels);
    tcase_add_test(tc, render_escapes_label_values_and_help);
    tcase_add_test(tc, histogram_buckets_are_cumulative);
    tcase_add_test(tc, declare_rejects_out_of_range);
    tcase_add_test(tc, series_limit_drops_and_counts);
    tcase_add_test(tc, concurrent_increments_are_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prom_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
