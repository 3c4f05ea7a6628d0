/* SPDX-License-Identifier: MIT */

#include "common/redact.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(name_credential_headers)
{
    static const char *const names[] = {
        "Authorization",  "authorization",
        "AUTHORIZATION",  "Proxy-Authorization",
        "Cookie",         "cookie",
        "Set-Cookie",     "set-cookie",
        "X-Api-Key",      "x-api-key",
        "Api-Key",        "API-KEY",
        "Ocp-Apim-Subscription-Key",
        "X-Auth-Token",   "x-auth-token",
    };

    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        ck_assert_msg(hg_redact_header_name(names[i]),
                      "header \"%s\" not redacted", names[i]);
}
END_TEST

START_TEST(name_credential_words)
{
    static const char *const names[] = {
        "X-Client-Secret", "secret",         "X-SECRET-Value",
        "X-Access-Token",  "Token",          "x-refresh-token",
        "X-Db-Password",   "PASSWORD",       "mytokenheader",
        "X-Webhook-Secret", "apikey",        "X-Api-Keys",
        "X-Access-Key",     "Private-Key",   "X-Credentials",
        "X-Session-Id",     "X-Passwd",
    };

    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        ck_assert_msg(hg_redact_header_name(names[i]),
                      "header \"%s\" not redacted", names[i]);
}
END_TEST

START_TEST(name_ordinary_headers_kept)
{
    static const char *const names[] = {
        "webhook-signature", "Webhook-Signature", "webhook-id",
        "webhook-timestamp", "Content-Type",      "User-Agent",
        "traceparent",       "X-Request-Id",      "Accept",
        "Authorization-Info-Not", "X-Keys",       "Cookies",
        "",                  "Tok",               "X-Pass",
    };

    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        ck_assert_msg(!hg_redact_header_name(names[i]),
                      "header \"%s\" redacted", names[i]);
}
END_TEST

START_TEST(name_null_is_false)
{
    ck_assert(!hg_redact_header_name(NULL));
}
END_TEST

START_TEST(json_replaces_matching_values)
{
    json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:i}",
                          "Authorization", "Bearer abc",
                          "Content-Type", "application/json",
                          "webhook-signature", "v1,sig",
                          "X-Api-Key", "k1",
                          "Set-Cookie", "a=1", "b=2",
                          "x-auth-token", 7);

    hg_redact_json_headers(h);
    ck_assert_str_eq(json_string_value(json_object_get(h, "Authorization")),
                     HG_REDACTED);
    ck_assert_str_eq(json_string_value(json_object_get(h, "X-Api-Key")),
                     HG_REDACTED);
    ck_assert_str_eq(json_string_value(json_object_get(h, "Set-Cookie")),
                     HG_REDACTED);
    ck_assert_str_eq(json_string_value(json_object_get(h, "x-auth-token")),
                     HG_REDACTED);
    ck_assert_str_eq(json_string_value(json_object_get(h, "Content-Type")),
                     "application/json");
    ck_assert_str_eq(
        json_string_value(json_object_get(h, "webhook-signature")), "v1,sig");
    ck_assert_int_eq(json_object_size(h), 6);
    json_decref(h);
}
END_TEST

START_TEST(json_no_value_left_in_dump)
{
    json_t *h = json_pack("{s:s, s:s, s:s}", "authorization", "Bearer s3cr3t",
                          "cookie", "hg_session=s3cr3t", "X-Other-Password",
                          "s3cr3t");
    char *text;

    hg_redact_json_headers(h);
    text = json_dumps(h, 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_null(strstr(text, "s3cr3t"));
    free(text);
    json_decref(h);
}
END_TEST

START_TEST(json_ignores_non_objects)
{
    json_t *array = json_pack("[s]", "Authorization");
    json_t *string = json_string("Authorization");

    hg_redact_json_headers(NULL);
    hg_redact_json_headers(array);
    hg_redact_json_headers(string);
    ck_assert_str_eq(json_string_value(json_array_get(array, 0)),
                     "Authorization");
    ck_assert_str_eq(json_string_value(string), "Authorization");
    json_decref(array);
    json_decref(string);
}
END_TEST

START_TEST(json_empty_object)
{
    json_t *h = json_object();

    hg_redact_json_headers(h);
    ck_assert_int_eq(json_object_size(h), 0);
    json_decref(h);
}
END_TEST

static Suite *redact_suite(void)
{
    Suite *s = suite_create("redact");
    TCase *name = tcase_create("header_name");
    TCase *json = tcase_create("json_headers");

    tcase_add_test(name, name_credential_headers);
    tcase_add_test(name, name_credential_words);
    tcase_add_test(name, name_ordinary_headers_kept);
    tcase_add_test(name, name_null_is_false);
    suite_add_tcase(s, name);

    tcase_add_test(json, json_replaces_matching_values);
    tcase_add_test(json, json_no_value_left_in_dump);
    tcase_add_test(json, json_ignores_non_objects);
    tcase_add_test(json, json_empty_object);
    suite_add_tcase(s, json);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(redact_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
