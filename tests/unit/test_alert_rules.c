/* SPDX-License-Identifier: MIT */

#include "common/alert_rules.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Rules with the documented defaults. */
static hg_alert_rules defaults(void)
{
    hg_config cfg;
    hg_alert_rules rules;

    memset(&cfg, 0, sizeof(cfg));
    cfg.alert_error_rate = 0.05;
    cfg.alert_p95_ms = 1000;
    cfg.alert_window_s = 300;
    cfg.alert_min_samples = 20;
    cfg.alert_resolve_ratio = 0.8;
    cfg.alert_resolve_after_s = 60;
    hg_alert_rules_defaults(&rules, &cfg);
    return rules;
}

/* Applies the JSON text body to the defaults and checks that it is
 * rejected with a message containing want, leaving the rules unchanged. */
static void check_rejected(const char *body_text, const char *want)
{
    hg_alert_rules rules = defaults(), before = rules;
    json_t *body = json_loads(body_text, JSON_DECODE_ANY, NULL);
    char why[256] = "";
    bool ok;

    ck_assert_msg(body != NULL, "test body %s is not JSON", body_text);
    ok = hg_alert_rules_apply_json(&rules, body, why, sizeof(why));
    json_decref(body);
    ck_assert_msg(!ok, "%s was accepted", body_text);
    ck_assert_msg(strstr(why, want) != NULL, "%s: message \"%s\" lacks \"%s\"",
                  body_text, why, want);
    ck_assert_msg(memcmp(&rules, &before, sizeof(rules)) == 0,
                  "%s changed the rules although it was rejected", body_text);
}

START_TEST(rules_defaults_from_config)
{
    hg_alert_rules rules = defaults();

    ck_assert_double_eq(rules.error_rate_threshold, 0.05);
    ck_assert_int_eq(rules.p95_latency_ms, 1000);
    ck_assert_int_eq(rules.window_s, 300);
    ck_assert_int_eq(rules.min_samples, 20);
    ck_assert_double_eq(rules.resolve_ratio, 0.8);
    ck_assert_int_eq(rules.resolve_after_s, 60);
}
END_TEST

START_TEST(rules_partial_update)
{
    hg_alert_rules rules = defaults();
    json_t *body =
        json_pack("{s:f, s:i}", "error_rate_threshold", 0.2, "window_s", 10);
    char why[256] = "";

    ck_assert(hg_alert_rules_apply_json(&rules, body, why, sizeof(why)));
    json_decref(body);
    ck_assert_double_eq(rules.error_rate_threshold, 0.2);
    ck_assert_int_eq(rules.window_s, 10);
    ck_assert_int_eq(rules.p95_latency_ms, 1000);
    ck_assert_int_eq(rules.min_samples, 20);
    ck_assert_double_eq(rules.resolve_ratio, 0.8);
    ck_assert_int_eq(rules.resolve_after_s, 60);
}
END_TEST

START_TEST(rules_empty_body_keeps_all)
{
    hg_alert_rules rules = defaults(), before = rules;
    json_t *body = json_object();
    char why[256] = "";

    ck_assert(hg_alert_rules_apply_json(&rules, body, why, sizeof(why)));
    json_decref(body);
    ck_assert(memcmp(&rules, &before, sizeof(rules)) == 0);
}
END_TEST

START_TEST(rules_null_keeps_field)
{
    hg_alert_rules rules = defaults(), before = rules;
    json_t *body = json_loads("{\"resolve_after_s\":null,\"window_s\":10}", 0,
                              NULL);
    char why[256] = "";

    ck_assert(body != NULL);
    ck_assert_msg(hg_alert_rules_apply_json(&rules, body, why, sizeof(why)),
                  "rejected: %s", why);
    json_decref(body);
    ck_assert_int_eq(rules.resolve_after_s, before.resolve_after_s);
    ck_assert_int_eq(rules.window_s, 10);
}
END_TEST

START_TEST(rules_rejected_values)
{
    check_rejected("[]", "JSON object");
    check_rejected("{\"threshold\":1}", "unknown field \"threshold\"");
    check_rejected("{\"error_rate_threshold\":0}", "error_rate_threshold");
    check_rejected("{\"error_rate_threshold\":1.5}", "error_rate_threshold");
    check_rejected("{\"error_rate_threshold\":\"0.1\"}",
                   "error_rate_threshold");
    check_rejected("{\"p95_latency_ms\":0}", "p95_latency_ms");
    check_rejected("{\"p95_latency_ms\":10.5}", "whole number");
    check_rejected("{\"window_s\":4}", "window_s");
    check_rejected("{\"window_s\":3601}", "window_s");
    check_rejected("{\"min_samples\":0}", "min_samples");
    check_rejected("{\"resolve_ratio\":0}", "resolve_ratio");
    check_rejected("{\"resolve_ratio\":1.01}", "resolve_ratio");
    check_rejected("{\"resolve_after_s\":-1}", "resolve_after_s");
    /* A valid member does not save an invalid one after it. */
    check_rejected("{\"window_s\":10,\"min_samples\":-3}", "min_samples");
}
END_TEST

START_TEST(rules_bounds_accepted)
{
    hg_alert_rules rules = defaults();
    json_t *body =
        json_pack("{s:f, s:i, s:i, s:i, s:f, s:i}", "error_rate_threshold", 1.0,
                  "p95_latency_ms", 1, "window_s", 3600, "min_samples", 1,
                  "resolve_ratio", 0.01, "resolve_after_s", 0);
    char why[256] = "";

    ck_assert_msg(hg_alert_rules_apply_json(&rules, body, why, sizeof(why)),
                  "bounds rejected: %s", why);
    json_decref(body);
    ck_assert_int_eq(rules.window_s, 3600);
    ck_assert_int_eq(rules.resolve_after_s, 0);
}
END_TEST

START_TEST(rules_stored_overrides)
{
    hg_alert_rules rules = defaults();

    hg_alert_rules_set_stored(&rules, "error_rate_threshold", "0.25");
    hg_alert_rules_set_stored(&rules, "min_samples", "5");
    /* Bad stored values fall back to what was there. */
    hg_alert_rules_set_stored(&rules, "window_s", "0");
    hg_alert_rules_set_stored(&rules, "p95_latency_ms", "fast");
    hg_alert_rules_set_stored(&rules, "unknown", "1");
    hg_alert_rules_set_stored(&rules, NULL, "1");
    ck_assert_double_eq(rules.error_rate_threshold, 0.25);
    ck_assert_int_eq(rules.min_samples, 5);
    ck_assert_int_eq(rules.window_s, 300);
    ck_assert_int_eq(rules.p95_latency_ms, 1000);
}
END_TEST

START_TEST(rules_format_round_trip)
{
    hg_alert_rules rules = defaults(), back = defaults();
    char text[32];

    rules.error_rate_threshold = 0.05;
    rules.resolve_ratio = 0.3;
    rules.min_samples = 123456;
    for (int i = 0; i < HG_ALERT_RULE_FIELDS; i++) {
        hg_alert_rules_format(&rules, i, text, sizeof(text));
        hg_alert_rules_set_stored(&back, hg_alert_rule_names[i], text);
    }
    hg_alert_rules_format(&rules, 0, text, sizeof(text));
    ck_assert_str_eq(text, "0.05");
    ck_assert(memcmp(&rules, &back, sizeof(rules)) == 0);
}
END_TEST

START_TEST(rules_json_shape)
{
    hg_alert_rules rules = defaults();
    json_t *out = hg_alert_rules_json(&rules);

    ck_assert_int_eq(json_object_size(out), HG_ALERT_RULE_FIELDS);
    ck_assert(json_is_real(json_object_get(out, "error_rate_threshold")));
    ck_assert(json_is_integer(json_object_get(out, "p95_latency_ms")));
    ck_assert(json_is_integer(json_object_get(out, "window_s")));
    ck_assert(json_is_integer(json_object_get(out, "min_samples")));
    ck_assert(json_is_real(json_object_get(out, "resolve_ratio")));
    ck_assert(json_is_integer(json_object_get(out, "resolve_after_s")));
    ck_assert_int_eq(
        json_integer_value(json_object_get(out, "resolve_after_s")), 60);
    json_decref(out);
}
END_TEST

static Suite *alert_rules_suite(void)
{
    Suite *s = suite_create("alert_rules");
    TCase *tc = tcase_create("rules");

    tcase_add_test(tc, rules_defaults_from_config);
    tcase_add_test(tc, rules_partial_update);
    tcase_add_test(tc, rules_empty_body_keeps_all);
    tcase_add_test(tc, rules_null_keeps_field);
    tcase_add_test(tc, rules_rejected_values);
    tcase_add_test(tc, rules_bounds_accepted);
    tcase_add_test(tc, rules_stored_overrides);
    tcase_add_test(tc, rules_format_round_trip);
    tcase_add_test(tc, rules_json_shape);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alert_rules_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
