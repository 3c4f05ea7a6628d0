/* SPDX-License-Identifier: MIT
 *
 * The form body parser of the token route, gw_token_form_parse()
 * (gateway/oauth.c): percent-decoding, '+' as a space, unknown and empty
 * pairs, repeated parameters, the Basic credentials given before it,
 * length limits and NUL bytes. The parser only parses, so none of these
 * tests touches the network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

/* Parses a C-string body into a zeroed form. */
static bool parse(const char *body, gw_token_form *f)
{
    memset(f, 0, sizeof(*f));
    return gw_token_form_parse(body, strlen(body), f);
}

START_TEST(form_reads_all_parameters)
{
    gw_token_form f;

    ck_assert(parse("grant_type=client_credentials&client_id=cli_abc"
                    "&client_secret=s%2Bx%3D&scope=publish+read",
                    &f));
    ck_assert_str_eq(f.grant_type, "client_credentials");
    ck_assert_str_eq(f.client_id, "cli_abc");
    ck_assert_str_eq(f.client_secret, "s+x=");
    ck_assert_str_eq(f.scope, "publish read");
    ck_assert_uint_eq(f.present, GW_TOKEN_GRANT_TYPE | GW_TOKEN_CLIENT_ID |
                                   GW_TOKEN_CLIENT_SECRET | GW_TOKEN_SCOPE);
}
END_TEST

START_TEST(form_ignores_unknown_and_empty)
{
    gw_token_form f;

    ck_assert(parse("&&audience=x&grant_type=client_credentials&", &f));
    ck_assert_str_eq(f.grant_type, "client_credentials");
    ck_assert_uint_eq(f.present, GW_TOKEN_GRANT_TYPE);
    ck_assert(parse("", &f));
    ck_assert_uint_eq(f.present, 0);
}
END_TEST

START_TEST(form_empty_value_is_present)
{
    gw_token_form f;

    ck_assert(parse("scope=", &f));
    ck_assert_str_eq(f.scope, "");
    ck_assert_uint_eq(f.present, GW_TOKEN_SCOPE);
}
END_TEST

START_TEST(form_rejects_malformed)
{
    static const char *const invalid[] = {
        "grant_type",                /* no '=' */
        "grant_type=a&scope",        /* a later pair without '=' */
        "client_secret=%4",          /* short escape */
        "client_secret=%zz",         /* not hexadecimal */
        "client_secret=%00",         /* escaped NUL */
        "client%00id=cli_a",         /* escaped NUL in a name */
    };
    gw_token_form f;

    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        ck_assert_msg(!parse(invalid[i], &f), "accepted \"%s\"",
                      invalid[i]);
}
END_TEST

START_TEST(form_rejects_repeated)
{
    gw_token_form f;

    ck_assert(!parse("scope=read&scope=read", &f));
    ck_assert(!parse("grant_type=client_credentials&grant%5Ftype=x", &f));
}
END_TEST

/* An empty first value used to let a second one through, because only a
 * non-empty value marked a parameter as present. */
START_TEST(form_rejects_repeat_after_empty)
{
    gw_token_form f;

    ck_assert(!parse("client_id=&client_id=cli_abc", &f));
    ck_assert(!parse("scope=&scope=admin", &f));
}
END_TEST

START_TEST(form_rejects_credentials_after_basic)
{
    gw_token_form f;
    const char *body = "grant_type=client_credentials&client_id=cli_x";

    memset(&f, 0, sizeof(f));
    strcpy(f.client_secret, "from-basic");
    f.present = GW_TOKEN_CLIENT_ID | GW_TOKEN_CLIENT_SECRET;
    ck_assert(!gw_token_form_parse(body, strlen(body), &f));

    memset(&f, 0, sizeof(f));
    f.present = GW_TOKEN_CLIENT_ID | GW_TOKEN_CLIENT_SECRET;
    body = "grant_type=client_credentials&scope=read";
    ck_assert(gw_token_form_parse(body, strlen(body), &f));
    ck_assert_str_eq(f.scope, "read");
}
END_TEST

START_TEST(form_length_limits)
{
    char body[1024];
    gw_token_form f;

    /* 255 decoded bytes fit a value, 256 do not. */
    snprintf(body, sizeof(body), "client_secret=%0255d", 7);
    ck_assert(parse(body, &f));
    ck_assert_uint_eq(strlen(f.client_secret), GW_TOKEN_FIELD_MAX - 1);
    snprintf(body, sizeof(body), "client_secret=%0256d", 7);
    ck_assert(!parse(body, &f));

    /* An unknown parameter is ignored whatever its length, but its
     * escapes must still be valid. */
    snprintf(body, sizeof(body), "%0500d=%0500d", 7, 7);
    ck_assert(parse(body, &f));
    snprintf(body, sizeof(body), "scope=read&%0300d=%%zz", 7);
    ck_assert(!parse(body, &f));
    /* %00 is malformed in a name too, and a known name spelled with
     * escapes is still known, so here it is given twice. */
    ck_assert(!parse("client_secret%00=b", &f));
    ck_assert(!parse("client%5Fsecret=a&client_secret=b", &f));
}
END_TEST

/* A rejected form gets an error that names the cause, without quoting a
 * value. */
START_TEST(form_error_says_why)
{
    static const struct {
        const char *body;
        const char *error;
    } cases[] = {
        {"grant_type=client_credentials&x", "a form pair has no \"=\""},
        {"scope=%zz", "invalid percent escape"},
        {"scope=read&scope=read", "scope is given twice"},
        {"client_secret=s1&client_secret=s2",
         "client_secret is given twice"},
    };
    gw_token_form f;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(!parse(cases[i].body, &f), "%s", cases[i].body);
        ck_assert_ptr_nonnull(f.error);
        ck_assert_msg(strstr(f.error, cases[i].error) != NULL, "%s: %s",
                      cases[i].body, f.error);
        ck_assert(strstr(f.error, "s1") == NULL);
    }
}
END_TEST

/* Basic credentials: "id:secret" in base64, each part form-encoded. */
START_TEST(basic_reads_credentials)
{
    gw_token_form f;

    memset(&f, 0, sizeof(f));
    /* base64 of "cli_a%3Ab:s+c" */
    ck_assert(gw_token_basic_parse("Basic Y2xpX2ElM0FiOnMrYw==", &f));
    ck_assert_str_eq(f.client_id, "cli_a:b");
    ck_assert_str_eq(f.client_secret, "s c");
    ck_assert_uint_eq(f.present, GW_TOKEN_CLIENT_ID | GW_TOKEN_CLIENT_SECRET);
}
END_TEST

START_TEST(basic_rejects_malformed)
{
    /* "no colon", "cli_a:sec\0ret", "cli_a:%zz", and not base64 */
    static const char *const bad[] = {"Basic bm8gY29sb24=",
                                      "Basic Y2xpX2E6c2VjAHJldA==",
                                      "Basic Y2xpX2E6JXp6", "Basic !!!",
                                      "Basic "};
    gw_token_form f;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&f, 0, sizeof(f));
        ck_assert_msg(!gw_token_basic_parse(bad[i], &f), "%s", bad[i]);
        ck_assert_uint_eq(f.present, 0);
        ck_assert_str_eq(f.client_id, "");
        ck_assert_str_eq(f.client_secret, "");
    }
}
END_TEST

/* A NUL byte in the body used to end the copy early while the whole
 * length was cleared, which wrote past the copy, and the text after it
 * was dropped without an error. */
START_TEST(form_rejects_nul_byte)
{
    static const char body[] = "grant_type=client_credentials\0"
                               "&client_id=cli_abc&client_secret=xxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    gw_token_form f;

    memset(&f, 0, sizeof(f));
    ck_assert(!gw_token_form_parse(body, sizeof(body) - 1, &f));
    memset(&f, 0, sizeof(f));
    ck_assert(!gw_token_form_parse("\0", 1, &f));
}
END_TEST

static Suite *oauth_form_suite(void)
{
    Suite *s = suite_create("oauth_form");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, form_reads_all_parameters);
    tcase_add_test(tc, form_ignores_unknown_and_empty);
    tcase_add_test(tc, form_empty_value_is_present);
    tcase_add_test(tc, form_rejects_malformed);
    tcase_add_test(tc, form_rejects_repeated);
    tcase_add_test(tc, form_rejects_repeat_after_empty);
    tcase_add_test(tc, form_rejects_credentials_after_basic);
    tcase_add_test(tc, form_length_limits);
    tcase_add_test(tc, form_rejects_nul_byte);
    tcase_add_test(tc, form_error_says_why);
    tcase_add_test(tc, basic_reads_credentials);
    tcase_add_test(tc, basic_rejects_malformed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(oauth_form_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
