/* SPDX-License-Identifier: MIT */

#include "common/sink_script.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-06-15 12:00:00 UTC. */
#define NOW_2025 INT64_C(1749988800)

/* Parses text, which must be valid JSON, and asserts that it is accepted. */
static void parse_ok(const char *text, hg_sink_script *s)
{
    json_error_t jerr;
    json_t *config = json_loads(text, JSON_ALLOW_NUL, &jerr);
    hg_sink_error err;
    int rc;

    ck_assert_msg(config != NULL, "test JSON invalid: %s", jerr.text);
    rc = hg_sink_script_parse(config, NOW_2025, s, &err);
    json_decref(config);
    ck_assert_msg(rc == 0, "%s rejected: %s %s", text, err.field, err.message);
}

/* Parses text and asserts that it is rejected for the field want_field. */
static void parse_rejected(const char *text, const char *want_field)
{
    json_error_t jerr;
    json_t *config = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    hg_sink_script s;
    hg_sink_error err;
    int rc;

    ck_assert_msg(config != NULL, "test JSON invalid: %s", jerr.text);
    rc = hg_sink_script_parse(config, NOW_2025, &s, &err);
    json_decref(config);
    ck_assert_msg(rc == -1, "%s accepted, expected an error on %s", text,
                  want_field);
    ck_assert_msg(strcmp(err.field, want_field) == 0,
                  "%s: error on \"%s\" (%s), expected \"%s\"", text, err.field,
                  err.message, want_field);
    ck_assert_msg(err.message[0] != '\0', "%s: empty message", text);
    ck_assert_int_eq(s.sequence_len, 0);
    ck_assert_ptr_null(s.sequence);
}

/* Returns the status of request n with the given draw. */
static int status_of(const hg_sink_script *s, long long n, int draw)
{
    hg_sink_answer failure;

    return hg_sink_script_pick(s, n, draw, &failure)->status;
}

static const char *header_value(const hg_sink_answer *a, const char *name)
{
    for (int i = 0; i < a->header_count; i++) {
        if (strcmp(a->header_names[i], name) == 0)
            return a->header_values[i];
    }
    return NULL;
}

/* ---- valid configurations ------------------------------------------- */

START_TEST(empty_config_answers_200)
{
    hg_sink_script s;

    parse_ok("{}", &s);
    ck_assert_int_eq(status_of(&s, 1, 0), 200);
    ck_assert_int_eq(s.single.body_len, 0);
    ck_assert_int_eq(s.single.delay_ms, 0);
    ck_assert_int_eq(s.single.cut_after_bytes, -1);
    ck_assert_int_eq(s.failure_percent, 0);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(single_answer_fields)
{
    hg_sink_script s;
    const hg_sink_answer *a;
    hg_sink_answer failure;

    parse_ok("{\"status\": 202, \"headers\": {\"X-Test\": \"yes\", "
             "\"Content-Type\": \"text/plain\"}, \"body\": \"accepted\", "
             "\"delay_ms\": 1500}",
             &s);
    a = hg_sink_script_pick(&s, 7, 50, &failure);
    ck_assert_int_eq(a->status, 202);
    ck_assert_int_eq(a->delay_ms, 1500);
    ck_assert_int_eq(a->body_len, 8);
    ck_assert_mem_eq(a->body, "accepted", 8);
    ck_assert_int_eq(a->header_count, 2);
    ck_assert_str_eq(header_value(a, "X-Test"), "yes");
    ck_assert_str_eq(header_value(a, "Content-Type"), "text/plain");
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(body_keeps_nul_bytes)
{
    hg_sink_script s;

    parse_ok("{\"body\": \"a\\u0000b\"}", &s);
    ck_assert_int_eq(s.single.body_len, 3);
    ck_assert_mem_eq(s.single.body, "a\0b", 3);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(owner_and_endpoint_ids)
{
    hg_sink_script s;

    parse_ok("{\"integration_id\": \"acme\", \"endpoint_id\": \"ep_A1-b_2\"}",
             &s);
    ck_assert_str_eq(s.integration_id, "acme");
    ck_assert_str_eq(s.endpoint_id, "ep_A1-b_2");
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(empty_ids_mean_absent)
{
    hg_sink_script s;

    parse_ok("{\"integration_id\": \"\", \"endpoint_id\": \"\"}", &s);
    ck_assert_str_eq(s.integration_id, "");
    ck_assert_str_eq(s.endpoint_id, "");
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(slow_and_cut_answers)
{
    hg_sink_script s;

    parse_ok("{\"body\": \"0123456789\", \"trickle_bytes_per_s\": 2, "
             "\"cut_after_bytes\": 4}",
             &s);
    ck_assert_int_eq(s.single.trickle_bytes_per_s, 2);
    ck_assert_int_eq(s.single.cut_after_bytes, 4);
    hg_sink_script_clear(&s);
}
END_TEST

/* ---- sequences ------------------------------------------------------ */

START_TEST(sequence_in_order_then_repeat_last)
{
    hg_sink_script s;

    parse_ok("{\"sequence\": [{\"status\": 500}, {\"status\": 502}, "
             "{\"status\": 200}]}",
             &s);
    ck_assert_int_eq(s.sequence_len, 3);
    ck_assert_int_eq(status_of(&s, 1, 99), 500);
    ck_assert_int_eq(status_of(&s, 2, 99), 502);
    ck_assert_int_eq(status_of(&s, 3, 99), 200);
    ck_assert_int_eq(status_of(&s, 4, 99), 200);
    ck_assert_int_eq(status_of(&s, 1000, 99), 200);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(sequence_cycle)
{
    hg_sink_script s;

    parse_ok("{\"sequence\": [{\"status\": 500}, {\"status\": 200}], "
             "\"after\": \"cycle\"}",
             &s);
    ck_assert_int_eq(status_of(&s, 1, 0), 500);
    ck_assert_int_eq(status_of(&s, 2, 0), 200);
    ck_assert_int_eq(status_of(&s, 3, 0), 500);
    ck_assert_int_eq(status_of(&s, 4, 0), 200);
    ck_assert_int_eq(status_of(&s, 101, 0), 500);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(sequence_with_null_answer_members)
{
    hg_sink_script s;

    parse_ok("{\"status\": null, \"body\": null, \"sequence\": "
             "[{\"status\": 418}]}",
             &s);
    ck_assert_int_eq(status_of(&s, 1, 0), 418);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(sequence_request_zero_is_first)
{
    hg_sink_script s;

    parse_ok("{\"sequence\": [{\"status\": 503}, {\"status\": 201}]}", &s);
    ck_assert_int_eq(status_of(&s, 0, 0), 503);
    ck_assert_int_eq(status_of(&s, -5, 0), 503);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(sequence_items_keep_their_fields)
{
    hg_sink_script s;
    hg_sink_answer failure;
    const hg_sink_answer *a;

    parse_ok("{\"sequence\": [{\"status\": 429, \"retry_after\": 3}, "
             "{\"status\": 200, \"body\": \"ok\", \"delay_ms\": 10}]}",
             &s);
    a = hg_sink_script_pick(&s, 1, 0, &failure);
    ck_assert_str_eq(a->retry_after, "3");
    a = hg_sink_script_pick(&s, 2, 0, &failure);
    ck_assert_ptr_null(a->retry_after);
    ck_assert_int_eq(a->delay_ms, 10);
    ck_assert_mem_eq(a->body, "ok", 2);
    hg_sink_script_clear(&s);
}
END_TEST

/* ---- failure percentage --------------------------------------------- */

START_TEST(failure_percent_zero_never_fails)
{
    hg_sink_script s;

    parse_ok("{\"failure_percent\": 0, \"status\": 204}", &s);
    for (int draw = 0; draw < 100; draw++)
        ck_assert_int_eq(status_of(&s, 1, draw), 204);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(failure_percent_hundred_always_fails)
{
    hg_sink_script s;

    parse_ok("{\"failure_percent\": 100, \"failure_status\": 503}", &s);
    for (int draw = 0; draw < 100; draw++)
        ck_assert_int_eq(status_of(&s, draw + 1, draw), 503);
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(failure_percent_threshold)
{
    hg_sink_script s;
    hg_sink_answer failure;
    const hg_sink_answer *a;

    parse_ok("{\"failure_percent\": 30, \"body\": \"fine\"}", &s);
    ck_assert_int_eq(status_of(&s, 1, 0), 500);
    ck_assert_int_eq(status_of(&s, 1, 29), 500);
    ck_assert_int_eq(status_of(&s, 1, 30), 200);
    ck_assert_int_eq(status_of(&s, 1, 99), 200);
    a = hg_sink_script_pick(&s, 1, 5, &failure);
    ck_assert_ptr_eq(a, &failure);
    ck_assert_int_eq(a->body_len, 0);
    ck_assert_int_eq(a->cut_after_bytes, -1);
    hg_sink_script_clear(&s);
}
END_TEST

/* ---- Retry-After ---------------------------------------------------- */

START_TEST(retry_after_seconds)
{
    hg_sink_script s;

    parse_ok("{\"status\": 429, \"retry_after\": 120}", &s);
    ck_assert_str_eq(s.single.retry_after, "120");
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(retry_after_http_date)
{
    hg_sink_script s;

    parse_ok("{\"status\": 503, \"retry_after\": "
             "\"Sun, 15 Jun 2025 12:01:00 GMT\"}",
             &s);
    ck_assert_str_eq(s.single.retry_after, "Sun, 15 Jun 2025 12:01:00 GMT");
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(retry_after_in_headers)
{
    hg_sink_script s;

    parse_ok("{\"status\": 429, \"headers\": {\"Retry-After\": \"2\"}}", &s);
    ck_assert_ptr_null(s.single.retry_after);
    ck_assert_str_eq(header_value(&s.single, "Retry-After"), "2");
    hg_sink_script_clear(&s);
}
END_TEST

START_TEST(retry_after_invalid_forms)
{
    parse_rejected("{\"retry_after\": -1}", "retry_after");
    parse_rejected("{\"retry_after\": 86401}", "retry_after");
    parse_rejected("{\"retry_after\": 1.5}", "retry_after");
    parse_rejected("{\"retry_after\": \"soon\"}", "retry_after");
    parse_rejected("{\"retry_after\": \"30\"}", "retry_after");
    parse_rejected("{\"retry_after\": true}", "retry_after");
    parse_rejected("{\"retry_after\": 5, \"headers\": "
                   "{\"retry-after\": \"5\"}}",
                   "retry_after");
}
END_TEST

/* Seconds padded with white space parse as a Retry-After value, but as a
 * string they would skip the bound of 86400. */
START_TEST(retry_after_padded_seconds)
{
    parse_rejected("{\"retry_after\": \" 100000\"}", "retry_after");
    parse_rejected("{\"retry_after\": \"30 \"}", "retry_after");
    parse_rejected("{\"retry_after\": \"\\t5\"}", "retry_after");
}
END_TEST

/* ---- invalid configurations ----------------------------------------- */

START_TEST(rejects_non_object)
{
    parse_rejected("[]", "(body)");
    parse_rejected("\"text\"", "(body)");
}
END_TEST

START_TEST(rejects_unknown_fields)
{
    parse_rejected("{\"stauts\": 200}", "stauts");
    parse_rejected("{\"sequence\": [{\"after\": \"cycle\"}]}",
                   "sequence[0].after");
}
END_TEST

START_TEST(rejects_bad_status)
{
    parse_rejected("{\"status\": 199}", "status");
    parse_rejected("{\"status\": 600}", "status");
    parse_rejected("{\"status\": \"200\"}", "status");
    parse_rejected("{\"failure_status\": 200}", "failure_status");
    parse_rejected("{\"status\": 204, \"body\": \"x\"}", "body");
}
END_TEST

START_TEST(rejects_bad_headers)
{
    parse_rejected("{\"headers\": []}", "headers");
    parse_rejected("{\"headers\": {\"Bad Name\": \"x\"}}", "headers.Bad Name");
    parse_rejected("{\"headers\": {\"\": \"x\"}}", "headers.");
    parse_rejected("{\"headers\": {\"X-A\": \"a\\r\\nX-B: b\"}}",
                   "headers.X-A");
    parse_rejected("{\"headers\": {\"X-A\": \"a\\nb\"}}", "headers.X-A");
    parse_rejected("{\"headers\": {\"X-A\": \"a\\u0000b\"}}", "headers.X-A");
    parse_rejected("{\"headers\": {\"X-A\": \"a\\u0085b\"}}", "headers.X-A");
    parse_rejected("{\"headers\": {\"X-A\": 5}}", "headers.X-A");
    parse_rejected("{\"headers\": {\"Content-Length\": \"5\"}}",
                   "headers.Content-Length");
    parse_rejected("{\"headers\": {\"transfer-encoding\": \"chunked\"}}",
                   "headers.transfer-encoding");
    parse_rejected("{\"headers\": {\"X-A\": \"1\", \"x-a\": \"2\"}}",
                   "headers.x-a");
}
END_TEST

/* Sinks respond on the inspector's origin: no script or style the page
 * could load, no redirect to another site, no header that acts on the
 * whole origin. */
START_TEST(rejects_scripts_and_redirects)
{
    static const char *const rejected[][2] = {
        {"{\"headers\": {\"Content-Type\": \"text/javascript\"}}",
         "headers.Content-Type"},
        {"{\"headers\": {\"content-type\": \" Application/JavaScript; "
         "charset=utf-8\"}}",
         "headers.content-type"},
        {"{\"headers\": {\"Content-Type\": \"text/css\"}}",
         "headers.Content-Type"},
        {"{\"headers\": {\"Content-Type\": "
         "\"text/plain,text/javascript\"}}",
         "headers.Content-Type"},
        {"{\"headers\": {\"Content-Type\": \"text/plain, text/css\"}}",
         "headers.Content-Type"},
        {"{\"status\": 302, \"headers\": {\"Location\": "
         "\"http://example.test/\"}}",
         "headers.Location"},
        {"{\"status\": 302, \"headers\": {\"Location\": "
         "\"//example.test/\"}}",
         "headers.Location"},
        {"{\"status\": 302, \"headers\": {\"Location\": "
         "\"/\\\\example.test/\"}}",
         "headers.Location"},
        /* Browsers drop tabs from a URL, so this one names a host. */
        {"{\"status\": 302, \"headers\": {\"Location\": "
         "\"/\\t/example.test/\"}}",
         "headers.Location"},
        {"{\"status\": 302, \"headers\": {\"Location\": "
         "\"/sink/a b\"}}",
         "headers.Location"},
        {"{\"headers\": {\"Strict-Transport-Security\": \"max-age=1\"}}",
         "headers.Strict-Transport-Security"},
        {"{\"headers\": {\"Alt-Svc\": \"clear\"}}", "headers.Alt-Svc"},
    };
    hg_sink_script s;

    for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
        parse_rejected(rejected[i][0], rejected[i][1]);
    parse_ok("{\"status\": 302, \"headers\": {\"Location\": "
             "\"/sink/other\", \"Content-Type\": \"text/html\"}}",
             &s);
    hg_sink_script_clear(&s);
    parse_ok("{\"headers\": {\"Content-Type\": \"application/json\"}}",
             &s);
    hg_sink_script_clear(&s);
}
END_TEST

/* Sinks answer on the inspector's origin, so headers that act on that
 * origin in a browser cannot be scripted. */
START_TEST(rejects_origin_headers)
{
    parse_rejected("{\"headers\": {\"Set-Cookie\": \"hg_session=x\"}}",
                   "headers.Set-Cookie");
    parse_rejected("{\"headers\": {\"content-security-policy\": \"x\"}}",
                   "headers.content-security-policy");
    parse_rejected("{\"headers\": {\"X-Content-Type-Options\": \"x\"}}",
                   "headers.X-Content-Type-Options");
    parse_rejected("{\"headers\": {\"Clear-Site-Data\": \"*\"}}",
                   "headers.Clear-Site-Data");
    parse_rejected("{\"headers\": {\"Server\": \"x\"}}", "headers.Server");
}
END_TEST

START_TEST(rejects_too_many_headers)
{
    char text[4096] = "{\"headers\": {";

    for (int i = 0; i <= HG_SINK_HEADERS_MAX; i++) {
        char one[32];

        snprintf(one, sizeof(one), "%s\"X-%d\": \"v\"", i ? ", " : "", i);
        strcat(text, one);
    }
    strcat(text, "}}");
    parse_rejected(text, "headers");
}
END_TEST

START_TEST(rejects_long_header_value)
{
    size_t n = HG_SINK_HEADER_VALUE_MAX + 1;
    char *text = malloc(n + 64);
    char *p;

    ck_assert_ptr_nonnull(text);
    p = text + sprintf(text, "{\"headers\": {\"X-Long\": \"");
    memset(p, 'a', n);
    strcpy(p + n, "\"}}");
    parse_rejected(text, "headers.X-Long");
    free(text);
}
END_TEST

START_TEST(rejects_bad_body)
{
    size_t n = HG_SINK_ANSWER_BODY_MAX + 1;
    char *text = malloc(n + 32);
    char *p;

    parse_rejected("{\"body\": {\"a\": 1}}", "body");
    ck_assert_ptr_nonnull(text);
    p = text + sprintf(text, "{\"body\": \"");
    memset(p, 'b', n);
    strcpy(p + n, "\"}");
    parse_rejected(text, "body");
    free(text);
}
END_TEST

START_TEST(delay_bounds)
{
    hg_sink_script s;

    parse_ok("{\"delay_ms\": 60000}", &s);
    ck_assert_int_eq(s.single.delay_ms, HG_SINK_DELAY_MAX_MS);
    hg_sink_script_clear(&s);
    parse_rejected("{\"delay_ms\": 60001}", "delay_ms");
    parse_rejected("{\"delay_ms\": -1}", "delay_ms");
    parse_rejected("{\"delay_ms\": \"10\"}", "delay_ms");
}
END_TEST

START_TEST(trickle_and_cut_bounds)
{
    parse_rejected("{\"trickle_bytes_per_s\": 10}", "trickle_bytes_per_s");
    parse_rejected("{\"body\": \"x\", \"trickle_bytes_per_s\": 0}",
                   "trickle_bytes_per_s");
    /* 100 bytes at 1 byte per second take 100 s, over the 60 s bound. */
    parse_rejected("{\"body\": \"0123456789012345678901234567890123456789"
                   "012345678901234567890123456789012345678901234567890123"
                   "456789\", \"trickle_bytes_per_s\": 1}",
                   "trickle_bytes_per_s");
    parse_rejected("{\"body\": \"abc\", \"cut_after_bytes\": 3}",
                   "cut_after_bytes");
    parse_rejected("{\"cut_after_bytes\": 0}", "cut_after_bytes");
    parse_rejected("{\"body\": \"abc\", \"cut_after_bytes\": -1}",
                   "cut_after_bytes");
}
END_TEST

START_TEST(rejects_bad_sequence)
{
    char text[8192] = "{\"sequence\": [";

    parse_rejected("{\"sequence\": []}", "sequence");
    parse_rejected("{\"sequence\": {}}", "sequence");
    parse_rejected("{\"sequence\": [5]}", "sequence[0]");
    parse_rejected("{\"sequence\": [{\"status\": 200}, {\"status\": 99}]}",
                   "sequence[1].status");
    parse_rejected("{\"status\": 500, \"sequence\": [{\"status\": 200}]}",
                   "sequence");
    parse_rejected("{\"after\": \"cycle\"}", "after");
    parse_rejected("{\"sequence\": [{}], \"after\": \"forever\"}", "after");
    for (int i = 0; i <= HG_SINK_SEQUENCE_MAX; i++)
        strcat(text, i ? ", {}" : "{}");
    strcat(text, "]}");
    parse_rejected(text, "sequence");
}
END_TEST

START_TEST(rejects_sequence_bodies_over_total)
{
    /* Five bodies of 60000 bytes are each allowed, but not together. */
    size_t body = 60000, items = 5;
    char *text = malloc(items * (body + 32) + 64);
    char *p;

    ck_assert_ptr_nonnull(text);
    p = text + sprintf(text, "{\"sequence\": [");
    for (size_t i = 0; i < items; i++) {
        p += sprintf(p, "%s{\"body\": \"", i ? ", " : "");
        memset(p, 'c', body);
        p += body;
        p += sprintf(p, "\"}");
    }
    strcpy(p, "]}");
    parse_rejected(text, "sequence");
    free(text);
}
END_TEST

START_TEST(failure_percent_bounds)
{
    parse_rejected("{\"failure_percent\": 101}", "failure_percent");
    parse_rejected("{\"failure_percent\": -1}", "failure_percent");
    parse_rejected("{\"failure_percent\": 50.5}", "failure_percent");
}
END_TEST

START_TEST(rejects_bad_ids)
{
    parse_rejected("{\"integration_id\": \"Acme!\"}", "integration_id");
    parse_rejected("{\"integration_id\": 5}", "integration_id");
    parse_rejected("{\"endpoint_id\": \"acme\"}", "endpoint_id");
    parse_rejected("{\"endpoint_id\": \"ep_\"}", "endpoint_id");
    parse_rejected("{\"endpoint_id\": \"ep_a/b\"}", "endpoint_id");
}
END_TEST

START_TEST(clear_twice_is_safe)
{
    hg_sink_script s;

    parse_ok("{\"sequence\": [{\"body\": \"x\", \"headers\": {\"A\": \"b\"}}]}",
             &s);
    hg_sink_script_clear(&s);
    hg_sink_script_clear(&s);
    ck_assert_int_eq(s.sequence_len, 0);
    ck_assert_int_eq(s.single.status, 200);
}
END_TEST

static Suite *sink_script_suite(void)
{
    Suite *s = suite_create("sink_script");
    TCase *valid = tcase_create("valid");
    TCase *sequence = tcase_create("sequence");
    TCase *failure = tcase_create("failure");
    TCase *retry_after = tcase_create("retry_after");
    TCase *invalid = tcase_create("invalid");

    tcase_add_test(valid, empty_config_answers_200);
    tcase_add_test(valid, single_answer_fields);
    tcase_add_test(valid, body_keeps_nul_bytes);
    tcase_add_test(valid, owner_and_endpoint_ids);
    tcase_add_test(valid, empty_ids_mean_absent);
    tcase_add_test(valid, slow_and_cut_answers);
    tcase_add_test(valid, clear_twice_is_safe);
    suite_add_tcase(s, valid);

    tcase_add_test(sequence, sequence_in_order_then_repeat_last);
    tcase_add_test(sequence, sequence_cycle);
    tcase_add_test(sequence, sequence_request_zero_is_first);
    tcase_add_test(sequence, sequence_with_null_answer_members);
    tcase_add_test(sequence, sequence_items_keep_their_fields);
    suite_add_tcase(s, sequence);

    tcase_add_test(failure, failure_percent_zero_never_fails);
    tcase_add_test(failure, failure_percent_hundred_always_fails);
    tcase_add_test(failure, failure_percent_threshold);
    suite_add_tcase(s, failure);

    tcase_add_test(retry_after, retry_after_seconds);
    tcase_add_test(retry_after, retry_after_http_date);
    tcase_add_test(retry_after, retry_after_in_headers);
    tcase_add_test(retry_after, retry_after_invalid_forms);
    tcase_add_test(retry_after, retry_after_padded_seconds);
    suite_add_tcase(s, retry_after);

    tcase_add_test(invalid, rejects_non_object);
    tcase_add_test(invalid, rejects_unknown_fields);
    tcase_add_test(invalid, rejects_bad_status);
    tcase_add_test(invalid, rejects_bad_headers);
    tcase_add_test(invalid, rejects_origin_headers);
    tcase_add_test(invalid, rejects_scripts_and_redirects);
    tcase_add_test(invalid, rejects_too_many_headers);
    tcase_add_test(invalid, rejects_long_header_value);
    tcase_add_test(invalid, rejects_bad_body);
    tcase_add_test(invalid, delay_bounds);
    tcase_add_test(invalid, trickle_and_cut_bounds);
    tcase_add_test(invalid, rejects_bad_sequence);
    tcase_add_test(invalid, rejects_sequence_bodies_over_total);
    tcase_add_test(invalid, failure_percent_bounds);
    tcase_add_test(invalid, rejects_bad_ids);
    suite_add_tcase(s, invalid);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sink_script_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
