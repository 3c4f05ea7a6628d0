/* SPDX-License-Identifier: MIT
 *
 * The request-body checks of gateway/validate.c: every field of the
 * endpoint, credential, integration and recovery routes, with its valid
 * values, boundaries, wrong JSON types and the exact problem+json detail,
 * and the media type check of the token route. The checks only parse, so
 * none of these tests touches the network.
 */
#include "gateway/validate.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/urlpolicy.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-01-01T00:00:00Z, the "now" of the expiry tests. */
#define NOW_MS 1767225600000LL
#define FIVE_YEARS_S 157680000LL

static const gw_endpoint_rules open_rules = {
    .allow_private_targets = false,
    .https_only = false,
    .connect_timeout_max_ms = 10000,
    .timeout_max_ms = 30000,
};

/* ---- helpers ------------------------------------------------------------- */

/* JSON values made by a test, released by the fixture's teardown so that
 * the sanitizer build reports no leaks. */
static json_t *held[512];
static size_t held_count;

static json_t *hold(json_t *value)
{
    ck_assert_msg(value != NULL, "building a JSON value failed");
    ck_assert_msg(held_count < ARRAY_LEN(held), "too many held JSON values");
    held[held_count++] = value;
    return value;
}

static void release_held(void)
{
    for (size_t i = 0; i < held_count; i++)
        json_decref(held[i]);
    held_count = 0;
}

/* Parses JSON text (any value, not only objects). */
static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &err);

    ck_assert_msg(value != NULL, "test JSON %s is invalid: %s", text, err.text);
    return hold(value);
}

/* Writes n copies of c and a NUL into out. */
static char *fill(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
    return out;
}

static void expect_ok(gw_validate_result res, const char *label)
{
    ck_assert_msg(res.ok, "%s: expected valid, got %s on \"%s\": %s", label,
                  hg_error_code(res.code), res.field, res.message);
}

static void expect_error(gw_validate_result res, hg_error code,
                         const char *field, const char *message,
                         const char *label)
{
    ck_assert_msg(!res.ok, "%s: expected an error", label);
    ck_assert_msg(res.code == code, "%s: code %s, expected %s", label,
                  hg_error_code(res.code), hg_error_code(code));
    ck_assert_msg(strcmp(res.field, field) == 0,
                  "%s: field \"%s\", expected \"%s\"", label, res.field, field);
    ck_assert_msg(strcmp(res.message, message) == 0,
                  "%s: message\n  \"%s\"\nexpected\n  \"%s\"", label,
                  res.message, message);
}

static void expect_invalid(gw_validate_result res, const char *field,
                           const char *message, const char *label)
{
    expect_error(res, HG_E_VALIDATION_ERROR, field, message, label);
}

/* JSON texts of every type, for the wrong-type tables. */
static const char *const any_type[] = {
    "null", "42",        "4.5", "\"text\"", "{}",
    "[]",   "{\"a\":1}", "[1]", "true",     "false",
};

static bool is_string_text(const char *text)
{
    return text[0] == '"';
}

static bool is_integer_text(const char *text)
{
    return strcmp(text, "42") == 0;
}

/* Writes "whsec_" and the base64 of nbytes bytes into out. */
static char *make_secret(size_t nbytes, char *out, size_t cap)
{
    uint8_t bytes[128];

    ck_assert_uint_le(nbytes, sizeof(bytes));
    for (size_t i = 0; i < nbytes; i++)
        bytes[i] = (uint8_t)(i * 37 + 11);
    strcpy(out, "whsec_");
    ck_assert_int_ge(hg_base64_encode(bytes, nbytes, out + 6, cap - 6), 0);
    return out;
}

/* ---- endpoint members ---------------------------------------------------- */

START_TEST(members_create_minimal)
{
    json_t *body = parse("{\"url\":\"https://example.com\","
                         "\"event_types\":[\"*\"]}");

    expect_ok(gw_validate_endpoint_members(body, true), "create minimal");
}
END_TEST

START_TEST(members_create_all_known)
{
    json_t *body = parse("{\"url\":1,\"event_types\":1,\"description\":1,"
                         "\"headers\":1,\"secret\":1,\"enabled\":1,"
                         "\"connect_timeout_ms\":1,\"timeout_ms\":1,"
                         "\"max_concurrency\":1,\"rate_limit\":1,"
                         "\"ordering_key\":1}");

    expect_ok(gw_validate_endpoint_members(body, true), "create all known");
}
END_TEST

START_TEST(members_update_all_known)
{
    json_t *body = parse("{\"url\":1,\"event_types\":1,\"description\":1,"
                         "\"headers\":1,\"enabled\":1,"
                         "\"connect_timeout_ms\":1,\"timeout_ms\":1,"
                         "\"max_concurrency\":1,\"rate_limit\":1,"
                         "\"ordering_key\":1}");

    expect_ok(gw_validate_endpoint_members(body, false), "update all known");
}
END_TEST

START_TEST(members_update_empty)
{
    expect_ok(gw_validate_endpoint_members(parse("{}"), false), "update {}");
}
END_TEST

START_TEST(members_create_requires)
{
    const char *message = "\"url\" and \"event_types\" are required";

    expect_invalid(gw_validate_endpoint_members(parse("{}"), true), "url",
                   message, "create {}");
    expect_invalid(
        gw_validate_endpoint_members(parse("{\"event_types\":[\"*\"]}"), true),
        "url", message, "create without url");
    expect_invalid(gw_validate_endpoint_members(
                       parse("{\"url\":\"https://example.com\"}"), true),
                   "event_types", message, "create without event_types");
}
END_TEST

START_TEST(members_create_unknown)
{
    json_t *body = parse("{\"url\":\"https://example.com\","
                         "\"event_types\":[\"*\"],\"colour\":\"red\"}");

    expect_invalid(gw_validate_endpoint_members(body, true), "colour",
                   "unknown field \"colour\"", "create with colour");
}
END_TEST

START_TEST(members_update_unknown)
{
    expect_invalid(gw_validate_endpoint_members(parse("{\"colour\":1}"), false),
                   "colour", "unknown field \"colour\"",
                   "update with colour");
}
END_TEST

START_TEST(members_update_secret)
{
    expect_invalid(
        gw_validate_endpoint_members(parse("{\"secret\":null}"), false),
        "secret",
        "\"secret\" cannot be changed with PATCH: rotate it with "
        "POST .../rotate-secret",
        "update with secret");
}
END_TEST

START_TEST(members_unknown_before_required)
{
    expect_invalid(gw_validate_endpoint_members(parse("{\"Url\":1}"), true),
                   "Url", "unknown field \"Url\"", "create with Url");
}
END_TEST

START_TEST(members_long_name_cut)
{
    char name[101], text[200], message[200], field[GW_VALIDATE_FIELD_MAX];

    fill(name, 'z', 100);
    snprintf(text, sizeof(text), "{\"%s\":1}", name);
    snprintf(message, sizeof(message), "unknown field \"%.64s\"", name);
    fill(field, 'z', sizeof(field) - 1);
    expect_invalid(gw_validate_endpoint_members(parse(text), true), field,
                   message, "100-byte unknown name");
}
END_TEST

/* ---- endpoint id --------------------------------------------------------- */

START_TEST(endpoint_id_rules)
{
    char longest[64], too_long[65];
    static const struct {
        const char *id;
        bool valid;
    } cases[] = {
        {"ep_a", true},    {"ep_A-_9", true}, {"ep_01HZY", true},
        {"ep_", false},    {"EP_a", false},   {"ep-a", false},
        {"ep_a.b", false}, {"ep_a b", false}, {"ep_a/b", false},
        {"", false},       {"xp_a", false},   {"ep_é", false},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        ck_assert_msg(gw_validate_endpoint_id(cases[i].id) == cases[i].valid,
                      "endpoint id \"%s\" should be %s", cases[i].id,
                      cases[i].valid ? "valid" : "invalid");

    memcpy(fill(longest, 'a', 63), "ep_", 3);
    ck_assert_msg(gw_validate_endpoint_id(longest), "63-byte id is valid");
    memcpy(fill(too_long, 'a', 64), "ep_", 3);
    ck_assert_msg(!gw_validate_endpoint_id(too_long), "64-byte id is invalid");
}
END_TEST

/* ---- url ----------------------------------------------------------------- */

/* Returns the detail hg_url_check gives for url, which gw_validate_url
 * passes on. */
static const char *url_reason(const char *url, bool allow_private,
                              hg_url_result *verdict)
{
    static char reason[300];

    *verdict = hg_url_check(url, allow_private, reason, sizeof(reason));
    return reason;
}

START_TEST(url_valid)
{
    static const char *const urls[] = {
        "http://example.com",        "https://example.com/hooks",
        "HTTPS://Example.COM/Hooks", "http://example.com:8080/a?b=c",
        "https://8.8.8.8/hook",
    };

    for (size_t i = 0; i < ARRAY_LEN(urls); i++) {
        json_t *url = hold(json_string(urls[i]));

        expect_ok(gw_validate_url(url, &open_rules), urls[i]);
    }
}
END_TEST

START_TEST(url_absent)
{
    expect_ok(gw_validate_url(NULL, &open_rules), "absent url");
}
END_TEST

START_TEST(url_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]))
            continue;
        expect_invalid(gw_validate_url(parse(any_type[i]), &open_rules), "url",
                       "\"url\" must be an http or https URL string",
                       any_type[i]);
    }
}
END_TEST

START_TEST(url_other_schemes)
{
    static const char *const urls[] = {
        "ftp://example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ws://example.com/",
        "example.com/hooks",
        "",
        "https://",
        "https://user:pw@example.com/",
    };

    for (size_t i = 0; i < ARRAY_LEN(urls); i++) {
        hg_url_result verdict;
        const char *reason = url_reason(urls[i], false, &verdict);
        char message[400];

        ck_assert_msg(verdict == HG_URL_INVALID, "%s is invalid", urls[i]);
        snprintf(message, sizeof(message), "invalid \"url\": %s", reason);
        expect_invalid(gw_validate_url(hold(json_string(urls[i])), &open_rules),
                       "url", message, urls[i]);
    }
}
END_TEST

static const char *const private_urls[] = {
    "http://127.0.0.1/",
    "http://10.0.0.1/hook",
    "http://192.168.1.5/",
    "http://172.16.0.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://169.254.169.254/latest",
};

START_TEST(url_private_refused)
{
    for (size_t i = 0; i < ARRAY_LEN(private_urls); i++) {
        hg_url_result verdict;
        const char *reason = url_reason(private_urls[i], false, &verdict);

        ck_assert_msg(verdict == HG_URL_NOT_ALLOWED, "%s is private",
                      private_urls[i]);
        expect_error(
            gw_validate_url(hold(json_string(private_urls[i])), &open_rules),
            HG_E_TARGET_NOT_ALLOWED, "url", reason, private_urls[i]);
    }
}
END_TEST

START_TEST(url_private_allowed)
{
    gw_endpoint_rules rules = open_rules;

    rules.allow_private_targets = true;
    for (size_t i = 0; i < ARRAY_LEN(private_urls); i++)
        expect_ok(gw_validate_url(hold(json_string(private_urls[i])), &rules),
                  private_urls[i]);
}
END_TEST

START_TEST(url_https_only)
{
    gw_endpoint_rules rules = open_rules;
    const char *message = "this deployment accepts only https endpoint URLs";

    rules.https_only = true;
    expect_ok(gw_validate_url(parse("\"https://example.com/\""), &rules),
              "https under https_only");
    expect_ok(gw_validate_url(parse("\"HTTPS://example.com/\""), &rules),
              "HTTPS under https_only");
    expect_error(gw_validate_url(parse("\"http://example.com/\""), &rules),
                 HG_E_TARGET_NOT_ALLOWED, "url", message,
                 "http under https_only");
    expect_error(gw_validate_url(parse("\"HTTP://example.com/\""), &rules),
                 HG_E_TARGET_NOT_ALLOWED, "url", message,
                 "HTTP under https_only");
}
END_TEST

START_TEST(url_https_only_private)
{
    gw_endpoint_rules rules = open_rules;
    hg_url_result verdict;
    const char *reason = url_reason("http://10.0.0.1/", false, &verdict);

    rules.https_only = true;
    expect_error(gw_validate_url(parse("\"http://10.0.0.1/\""), &rules),
                 HG_E_TARGET_NOT_ALLOWED, "url", reason,
                 "private http under https_only");
    rules.allow_private_targets = true;
    expect_error(gw_validate_url(parse("\"http://10.0.0.1/\""), &rules),
                 HG_E_TARGET_NOT_ALLOWED, "url",
                 "this deployment accepts only https endpoint URLs",
                 "allowed private http under https_only");
    expect_ok(gw_validate_url(parse("\"https://10.0.0.1/\""), &rules),
              "allowed private https under https_only");
}
END_TEST

/* ---- event_types --------------------------------------------------------- */

static const char *const event_types_message =
    "\"event_types\" must be an array of 1 to 64 type filters, such as "
    "[\"booking.*\"]";

static void expect_bad_filter(const char *types_text, size_t index)
{
    char message[200];
    json_t *distinct = parse("0");

    snprintf(message, sizeof(message),
             "event_types[%zu] is not a valid filter: use a type "
             "(A-Z a-z 0-9 . _ -, up to 128), \"prefix.*\" or \"*\"",
             index);
    expect_invalid(gw_validate_event_types(parse(types_text), &distinct),
                   "event_types", message, types_text);
    ck_assert_msg(distinct == NULL, "%s: no array on failure", types_text);
}

START_TEST(event_types_valid)
{
    static const char *const lists[] = {
        "[\"booking.*\"]",       "[\"*\"]",           "[\"booking.created\"]",
        "[\"a\",\"b.*\",\"*\"]", "[\"A-Z_a-z.0-9\"]",
    };

    for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
        json_t *types = parse(lists[i]);
        json_t *distinct = NULL;

        expect_ok(gw_validate_event_types(types, &distinct), lists[i]);
        ck_assert_msg(json_equal(distinct, types), "%s: distinct equals input",
                      lists[i]);
        json_decref(distinct);
    }
}
END_TEST

START_TEST(event_types_absent)
{
    json_t *distinct = parse("0");

    expect_ok(gw_validate_event_types(NULL, &distinct), "absent");
    ck_assert_msg(distinct == NULL, "absent event_types gives no array");
}
END_TEST

START_TEST(event_types_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        json_t *distinct = parse("0");

        if (any_type[i][0] == '[')
            continue;
        expect_invalid(gw_validate_event_types(parse(any_type[i]), &distinct),
                       "event_types", event_types_message, any_type[i]);
        ck_assert_msg(distinct == NULL, "%s: no array on failure", any_type[i]);
    }
}
END_TEST

START_TEST(event_types_empty)
{
    json_t *distinct = parse("0");

    expect_invalid(gw_validate_event_types(parse("[]"), &distinct),
                   "event_types", event_types_message, "[]");
    ck_assert_msg(distinct == NULL, "[]: no array on failure");
}
END_TEST

/* An array of n distinct filters "t0", "t1", ... */
static json_t *numbered_filters(size_t n)
{
    json_t *types = hold(json_array());

    for (size_t i = 0; i < n; i++) {
        char name[16];

        snprintf(name, sizeof(name), "t%zu", i);
        json_array_append_new(types, json_string(name));
    }
    return types;
}

START_TEST(event_types_64_filters)
{
    json_t *distinct = NULL;

    expect_ok(gw_validate_event_types(numbered_filters(64), &distinct),
              "64 filters");
    ck_assert_uint_eq(json_array_size(distinct), 64);
    json_decref(distinct);
}
END_TEST

START_TEST(event_types_65_filters)
{
    json_t *distinct = parse("0");

    expect_invalid(gw_validate_event_types(numbered_filters(65), &distinct),
                   "event_types", event_types_message, "65 filters");
    ck_assert_msg(distinct == NULL, "65 filters: no array on failure");
}
END_TEST

START_TEST(event_types_65_repeats)
{
    json_t *types = hold(json_array());
    json_t *distinct = parse("0");

    for (int i = 0; i < 65; i++)
        json_array_append_new(types, json_string("a"));
    expect_invalid(gw_validate_event_types(types, &distinct), "event_types",
                   event_types_message, "65 copies of one filter");
}
END_TEST

START_TEST(event_types_deduplicated)
{
    json_t *distinct = NULL;

    expect_ok(
        gw_validate_event_types(
            parse("[\"b\",\"a\",\"b\",\"*\",\"a\",\"c.*\",\"*\"]"), &distinct),
        "repeats");
    ck_assert_msg(json_equal(distinct, parse("[\"b\",\"a\",\"*\",\"c.*\"]")),
                  "distinct filters keep the first-seen order");
    json_decref(distinct);
}
END_TEST

START_TEST(event_types_bad_items)
{
    static const char *const items[] = {
        "1",
        "null",
        "{}",
        "[]",
        "true",
        "\"\"",
        "\"bad type\"",
        "\"booking.*.x\"",
        "\"*.*\"",
        "\".*\"",
        "\"booking*\"",
        "\"booking/created\"",
        "\"booking.é\"",
    };

    for (size_t i = 0; i < ARRAY_LEN(items); i++) {
        char text[64];

        snprintf(text, sizeof(text), "[%s]", items[i]);
        expect_bad_filter(text, 0);
    }
}
END_TEST

START_TEST(event_types_bad_index)
{
    expect_bad_filter("[\"a\",\"b\",\"bad type\",\"c\"]", 2);
    expect_bad_filter("[\"a\",\"a\",\"a\",7]", 3);
}
END_TEST

START_TEST(event_types_length)
{
    char type[200], text[256];
    json_t *distinct = NULL;

    snprintf(text, sizeof(text), "[\"%s\"]", fill(type, 'a', 128));
    expect_ok(gw_validate_event_types(parse(text), &distinct), "128-byte type");
    json_decref(distinct);

    snprintf(text, sizeof(text), "[\"%s.*\"]", fill(type, 'a', 128));
    expect_ok(gw_validate_event_types(parse(text), &distinct),
              "128-byte prefix filter");
    json_decref(distinct);

    snprintf(text, sizeof(text), "[\"%s\"]", fill(type, 'a', 129));
    expect_bad_filter(text, 0);
    snprintf(text, sizeof(text), "[\"%s.*\"]", fill(type, 'a', 129));
    expect_bad_filter(text, 0);
}
END_TEST

/* ---- description --------------------------------------------------------- */

static const char *const description_message =
    "\"description\" must be a string of at most 500 bytes";

START_TEST(description_valid)
{
    char text[600];

    expect_ok(gw_validate_description(NULL), "absent");
    expect_ok(gw_validate_description(parse("\"\"")), "empty");
    expect_ok(gw_validate_description(parse("\"Bookings for the CRM\"")),
              "short");
    expect_ok(gw_validate_description(hold(json_string(fill(text, 'd', 500)))),
              "500 bytes");
}
END_TEST

START_TEST(description_too_long)
{
    char text[600];

    expect_invalid(
        gw_validate_description(hold(json_string(fill(text, 'd', 501)))),
        "description", description_message, "501 bytes");
}
END_TEST

START_TEST(description_counts_bytes)
{
    char text[1100] = "";

    for (int i = 0; i < 250; i++)
        strcat(text, "\xc3\xa9");
    expect_ok(gw_validate_description(hold(json_string(text))),
              "250 two-byte characters");
    strcat(text, "\xc3\xa9");
    expect_invalid(gw_validate_description(hold(json_string(text))),
                   "description", description_message,
                   "251 two-byte characters");
}
END_TEST

START_TEST(description_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]))
            continue;
        expect_invalid(gw_validate_description(parse(any_type[i])),
                       "description", description_message, any_type[i]);
    }
}
END_TEST

/* ---- headers ------------------------------------------------------------- */

static const char *const headers_message =
    "\"headers\" must be an object of at most 20 header names and string "
    "values";

/* An object of n headers "X-H0", "X-H1", ... */
static json_t *numbered_headers(size_t n)
{
    json_t *headers = hold(json_object());

    for (size_t i = 0; i < n; i++) {
        char name[16];

        snprintf(name, sizeof(name), "X-H%zu", i);
        json_object_set_new(headers, name, json_string("v"));
    }
    return headers;
}

static json_t *one_header(const char *name, json_t *value)
{
    json_t *headers = hold(json_object());

    json_object_set_new(headers, name, value);
    return headers;
}

static void expect_bad_header_value(json_t *value, const char *label)
{
    expect_invalid(gw_validate_headers(one_header("X-Tenant", value)),
                   "headers",
                   "the value of header \"X-Tenant\" must be a string of at "
                   "most 1000 bytes without control characters other than "
                   "tab",
                   label);
}

START_TEST(headers_valid)
{
    expect_ok(gw_validate_headers(NULL), "absent");
    expect_ok(gw_validate_headers(parse("{}")), "empty object");
    expect_ok(gw_validate_headers(parse("{\"X-Tenant\":\"acme\","
                                        "\"Authorization\":\"Bearer t\"}")),
              "two headers");
    expect_ok(gw_validate_headers(parse("{\"X-Empty\":\"\"}")), "empty value");
    expect_ok(gw_validate_headers(parse("{\"X-Tab\":\"a\\tb\"}")),
              "tab in value");
}
END_TEST

START_TEST(headers_case_insensitive)
{
    expect_invalid(gw_validate_headers(parse("{\"X-Tenant\":\"a\","
                                             "\"x-tenant\":\"b\"}")),
                   "headers",
                   "headers \"X-Tenant\" and \"x-tenant\" are the same "
                   "header (names are case-insensitive)",
                   "X-Tenant and x-tenant");
}
END_TEST

START_TEST(headers_count)
{
    expect_ok(gw_validate_headers(numbered_headers(20)), "20 headers");
    expect_invalid(gw_validate_headers(numbered_headers(21)), "headers",
                   headers_message, "21 headers");
}
END_TEST

START_TEST(headers_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (any_type[i][0] == '{')
            continue;
        expect_invalid(gw_validate_headers(parse(any_type[i])), "headers",
                       headers_message, any_type[i]);
    }
}
END_TEST

START_TEST(headers_name_token)
{
    char longest[101];

    expect_ok(gw_validate_headers(
                  one_header("X-!#$%&'*+-.^_`|~09az", json_string("v"))),
              "every token character");
    expect_ok(gw_validate_headers(
                  one_header(fill(longest, 'x', 100), json_string("v"))),
              "100-byte name");
    expect_ok(gw_validate_headers(one_header("Proxy", json_string("v"))),
              "Proxy without a dash");
    expect_ok(gw_validate_headers(one_header("X-Webhook-Id", json_string("v"))),
              "X-Webhook-Id");
}
END_TEST

START_TEST(headers_name_not_token)
{
    static const char *const names[] = {
        "",    "X Tenant", "X:Tenant", "X(a)",         "X)a",  "X<a",
        "X>a", "X@a",      "X,a",      "X;a",          "X\\a", "X\"a",
        "X/a", "X[a",      "X]a",      "X?a",          "X=a",  "X{a",
        "X}a", "X\ta",     "X\x7f",    "\xc3\x84rger",
    };

    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        char message[200];

        snprintf(message, sizeof(message),
                 "header name \"%s\" is not a valid HTTP field name", names[i]);
        expect_invalid(
            gw_validate_headers(one_header(names[i], json_string("v"))),
            "headers", message, names[i]);
    }
}
END_TEST

START_TEST(headers_name_too_long)
{
    char name[102], message[200];

    fill(name, 'x', 101);
    snprintf(message, sizeof(message),
             "header name \"%.100s\" is not a valid HTTP field name", name);
    expect_invalid(gw_validate_headers(one_header(name, json_string("v"))),
                   "headers", message, "101-byte name");
}
END_TEST

static const char *const reserved_names[] = {
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "traceparent",
    "tracestate",
    "proxy-authorization",
    "proxy-connection",
    "proxy-x",
};

/* Writes name in the letter case of mode: 0 lower, 1 upper, 2 with each
 * word capitalised, 3 alternating. */
static char *letter_case(const char *name, int mode, char *out)
{
    size_t n = strlen(name);

    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        bool upper = mode == 1 ||
                     (mode == 2 && (i == 0 || name[i - 1] == '-')) ||
                     (mode == 3 && i % 2 == 1);

        out[i] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    return out;
}

START_TEST(headers_reserved_any_case)
{
    for (size_t i = 0; i < ARRAY_LEN(reserved_names); i++) {
        for (int mode = 0; mode < 4; mode++) {
            char name[64], message[200];

            letter_case(reserved_names[i], mode, name);
            snprintf(message, sizeof(message),
                     "header \"%s\" is set by hookgate and cannot be "
                     "overridden",
                     name);
            expect_invalid(
                gw_validate_headers(one_header(name, json_string("v"))),
                "headers", message, name);
        }
    }
}
END_TEST

START_TEST(headers_value_length)
{
    char value[1100];

    expect_ok(gw_validate_headers(
                  one_header("X-Tenant", json_string(fill(value, 'v', 1000)))),
              "1000-byte value");
    expect_bad_header_value(json_string(fill(value, 'v', 1001)),
                            "1001-byte value");
}
END_TEST

START_TEST(headers_value_controls)
{
    expect_bad_header_value(json_string("a\rb"), "CR");
    expect_bad_header_value(json_string("a\nb"), "LF");
    expect_bad_header_value(json_string("a\r\nX-Injected: 1"), "CRLF");
    expect_bad_header_value(json_stringn("a\0b", 3), "NUL");
    expect_bad_header_value(json_stringn("\0", 1), "only NUL");
    expect_bad_header_value(json_string("a\001b"), "SOH");
    expect_bad_header_value(json_string("a\013b"), "vertical tab");
    expect_bad_header_value(json_string("a\177b"), "DEL");
    expect_bad_header_value(json_string("a\xc2\x80" "b"), "U+0080");
    expect_bad_header_value(json_string("a\xc2\x85" "b"), "U+0085 (NEL)");
    expect_bad_header_value(json_string("a\xc2\x9f" "b"), "U+009F");
    expect_ok(gw_validate_headers(one_header("X-Tenant",
                                             json_string("Z\xc2\xa0\xc3\xa9"))),
              "U+00A0 and U+00E9 are not controls");
}
END_TEST

START_TEST(headers_value_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]))
            continue;
        expect_bad_header_value(json_incref(parse(any_type[i])), any_type[i]);
    }
}
END_TEST

START_TEST(headers_first_fault)
{
    expect_invalid(gw_validate_headers(parse("{\"Host\":1}")), "headers",
                   "header \"Host\" is set by hookgate and cannot be "
                   "overridden",
                   "reserved name before bad value");
}
END_TEST

/* ---- enabled, ordering_key ----------------------------------------------- */

START_TEST(enabled_values)
{
    expect_ok(gw_validate_enabled(NULL), "absent");
    expect_ok(gw_validate_enabled(parse("true")), "true");
    expect_ok(gw_validate_enabled(parse("false")), "false");
}
END_TEST

START_TEST(enabled_wrong_types)
{
    static const char *const values[] = {
        "null", "1", "0", "\"true\"", "{}", "[]", "4.5",
    };

    for (size_t i = 0; i < ARRAY_LEN(values); i++)
        expect_invalid(gw_validate_enabled(parse(values[i])), "enabled",
                       "\"enabled\" must be true or false", values[i]);
}
END_TEST

static const char *const ordering_key_message =
    "\"ordering_key\" must be null or a JSON Pointer into the event such as "
    "\"/data/booking_id\" (at most 200 characters)";

static const char *const tilde_message =
    "\"ordering_key\" is not a valid JSON Pointer: \"~\" must be followed by "
    "0 or 1 (\"~0\" is \"~\", \"~1\" is \"/\")";

START_TEST(ordering_key_valid)
{
    char pointer[256];

    expect_ok(gw_validate_ordering_key(NULL), "absent");
    expect_ok(gw_validate_ordering_key(parse("null")), "null");
    expect_ok(gw_validate_ordering_key(parse("\"/data/booking_id\"")),
              "/data/booking_id");
    expect_ok(gw_validate_ordering_key(parse("\"/\"")), "/");
    expect_ok(gw_validate_ordering_key(parse("\"/a~0b/c~1d\"")), "~0 and ~1");
    fill(pointer, 'k', 200)[0] = '/';
    expect_ok(gw_validate_ordering_key(hold(json_string(pointer))),
              "200 bytes");
}
END_TEST

START_TEST(ordering_key_invalid)
{
    char pointer[256];

    fill(pointer, 'k', 201)[0] = '/';
    expect_invalid(gw_validate_ordering_key(hold(json_string(pointer))),
                   "ordering_key", ordering_key_message, "201 bytes");
    expect_invalid(gw_validate_ordering_key(parse("\"data/booking_id\"")),
                   "ordering_key", ordering_key_message, "no leading /");
    expect_invalid(gw_validate_ordering_key(parse("\"\"")), "ordering_key",
                   ordering_key_message, "empty");
    expect_invalid(gw_validate_ordering_key(parse("\"/a~2\"")), "ordering_key",
                   tilde_message, "~2");
    expect_invalid(gw_validate_ordering_key(parse("\"/a~\"")), "ordering_key",
                   tilde_message, "~ at the end");
    expect_invalid(gw_validate_ordering_key(parse("\"/a~0~x\"")),
                   "ordering_key", tilde_message, "~x after ~0");
}
END_TEST

START_TEST(ordering_key_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]) || strcmp(any_type[i], "null") == 0)
            continue;
        expect_invalid(gw_validate_ordering_key(parse(any_type[i])),
                       "ordering_key", ordering_key_message, any_type[i]);
    }
}
END_TEST

/* ---- delivery settings --------------------------------------------------- */

static const struct {
    const char *name;
    long long min, max;
} setting_ranges[] = {
    {"connect_timeout_ms", 100, 10000},
    {"timeout_ms", 1000, 30000},
    {"max_concurrency", 1, 1000},
    {"rate_limit", 1, 100000},
};

static void setting_message(size_t i, char *out, size_t cap)
{
    snprintf(out, cap, "\"%s\" must be null or an integer from %lld to %lld",
             setting_ranges[i].name, setting_ranges[i].min,
             setting_ranges[i].max);
}

START_TEST(setting_bounds)
{
    for (size_t i = 0; i < ARRAY_LEN(setting_ranges); i++) {
        const char *name = setting_ranges[i].name;
        long long min = setting_ranges[i].min, max = setting_ranges[i].max;
        char message[200], label[80];

        setting_message(i, message, sizeof(message));
        snprintf(label, sizeof(label), "%s min-1", name);
        expect_invalid(
            gw_validate_setting(hold(json_integer(min - 1)), name, &open_rules),
            name, message, label);
        snprintf(label, sizeof(label), "%s min", name);
        expect_ok(
            gw_validate_setting(hold(json_integer(min)), name, &open_rules),
            label);
        snprintf(label, sizeof(label), "%s max", name);
        expect_ok(
            gw_validate_setting(hold(json_integer(max)), name, &open_rules),
            label);
        snprintf(label, sizeof(label), "%s max+1", name);
        expect_invalid(
            gw_validate_setting(hold(json_integer(max + 1)), name, &open_rules),
            name, message, label);
    }
}
END_TEST

START_TEST(setting_null_absent)
{
    for (size_t i = 0; i < ARRAY_LEN(setting_ranges); i++) {
        const char *name = setting_ranges[i].name;

        expect_ok(gw_validate_setting(NULL, name, &open_rules), name);
        expect_ok(gw_validate_setting(parse("null"), name, &open_rules), name);
    }
}
END_TEST

START_TEST(setting_wrong_types)
{
    static const char *const values[] = {
        "\"1000\"", "1000.0", "4.5", "true", "false", "[]", "{}", "[1000]",
    };

    for (size_t i = 0; i < ARRAY_LEN(setting_ranges); i++) {
        const char *name = setting_ranges[i].name;
        char message[200];

        setting_message(i, message, sizeof(message));
        for (size_t k = 0; k < ARRAY_LEN(values); k++)
            expect_invalid(
                gw_validate_setting(parse(values[k]), name, &open_rules), name,
                message, values[k]);
    }
}
END_TEST

START_TEST(setting_rules_bounds)
{
    gw_endpoint_rules rules = open_rules;

    rules.connect_timeout_max_ms = 500;
    rules.timeout_max_ms = 2000;
    expect_ok(gw_validate_setting(parse("500"), "connect_timeout_ms", &rules),
              "connect_timeout_ms at the deployment maximum");
    expect_invalid(
        gw_validate_setting(parse("501"), "connect_timeout_ms", &rules),
        "connect_timeout_ms",
        "\"connect_timeout_ms\" must be null or an integer from "
        "100 to 500",
        "connect_timeout_ms over the deployment maximum");
    expect_ok(gw_validate_setting(parse("2000"), "timeout_ms", &rules),
              "timeout_ms at the deployment maximum");
    expect_invalid(gw_validate_setting(parse("2001"), "timeout_ms", &rules),
                   "timeout_ms",
                   "\"timeout_ms\" must be null or an integer from 1000 to "
                   "2000",
                   "timeout_ms over the deployment maximum");
}
END_TEST

START_TEST(setting_unknown_name)
{
    expect_invalid(gw_validate_setting(parse("1"), "retries", &open_rules),
                   "retries", "unknown field \"retries\"", "retries");
}
END_TEST

/* ---- secret, grace_period_s ---------------------------------------------- */

static void expect_bad_secret(json_t *secret, const char *reason,
                              const char *label)
{
    char message[200];

    snprintf(message, sizeof(message), "invalid \"secret\": %s", reason);
    expect_invalid(gw_validate_secret(secret), "secret", message, label);
}

START_TEST(secret_valid)
{
    char secret[400];

    expect_ok(gw_validate_secret(NULL), "absent");
    expect_ok(gw_validate_secret(parse("null")), "null");
    expect_ok(gw_validate_secret(
                  hold(json_string(make_secret(32, secret, sizeof(secret))))),
              "32 bytes");
    expect_ok(gw_validate_secret(
                  hold(json_string(make_secret(24, secret, sizeof(secret))))),
              "24 bytes");
    expect_ok(gw_validate_secret(
                  hold(json_string(make_secret(64, secret, sizeof(secret))))),
              "64 bytes");
}
END_TEST

START_TEST(secret_too_short)
{
    char secret[400];

    expect_bad_secret(
        hold(json_string(make_secret(23, secret, sizeof(secret)))),
        "the secret must encode 24 to 64 bytes", "23 bytes");
    expect_bad_secret(parse("\"whsec_\""),
                      "the secret must encode 24 to 64 bytes", "no bytes");
}
END_TEST

START_TEST(secret_too_long)
{
    char secret[400];

    expect_bad_secret(
        hold(json_string(make_secret(65, secret, sizeof(secret)))),
        "the secret must encode 24 to 64 bytes", "65 bytes");
    make_secret(72, secret, sizeof(secret));
    ck_assert_uint_ge(strlen(secret), HG_SECRET_MAX_LEN);
    expect_bad_secret(hold(json_string(secret)),
                      "the secret must encode 24 to 64 bytes",
                      "72 bytes, over the record's buffer");
}
END_TEST

START_TEST(secret_bad_base64)
{
    static const char *const secrets[] = {
        "\"whsec_!!!!\"",
        "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=\"",
        "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS\"",
        "\"whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw\"",
        "\"whsec_MfKQ9r8G-KYqrTwjUPD8ILPZIo2LaLaSw\"",
    };

    for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
        expect_bad_secret(parse(secrets[i]),
                          "the part after \"whsec_\" is not valid padded "
                          "base64",
                          secrets[i]);
}
END_TEST

START_TEST(secret_bad_prefix)
{
    static const char *const secrets[] = {
        "\"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
        "\"WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
        "\"whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
        "\"\"",
    };

    for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
        expect_bad_secret(parse(secrets[i]),
                          "the secret must start with \"whsec_\"", secrets[i]);
}
END_TEST

START_TEST(secret_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]) || strcmp(any_type[i], "null") == 0)
            continue;
        expect_bad_secret(parse(any_type[i]),
                          "it must be a string such as whsec_...", any_type[i]);
    }
}
END_TEST

START_TEST(secret_nul)
{
    char secret[400], with_nul[420];
    size_t n = strlen(make_secret(32, secret, sizeof(secret)));

    memcpy(with_nul, secret, n);
    memcpy(with_nul + n, "\0tail", 5);
    expect_bad_secret(hold(json_stringn(with_nul, n + 5)),
                      "it must be a string such as whsec_...",
                      "valid secret followed by NUL");
}
END_TEST

static const char *const grace_message =
    "\"grace_period_s\" must be an integer from 0 to 2592000 (30 days)";

START_TEST(grace_bounds)
{
    expect_ok(gw_validate_grace_period(NULL), "absent");
    expect_ok(gw_validate_grace_period(parse("0")), "0");
    expect_ok(gw_validate_grace_period(parse("2592000")), "2592000");
    expect_invalid(gw_validate_grace_period(parse("-1")), "grace_period_s",
                   grace_message, "-1");
    expect_invalid(gw_validate_grace_period(parse("2592001")), "grace_period_s",
                   grace_message, "2592001");
}
END_TEST

START_TEST(grace_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_integer_text(any_type[i]))
            continue;
        expect_invalid(gw_validate_grace_period(parse(any_type[i])),
                       "grace_period_s", grace_message, any_type[i]);
    }
}
END_TEST

/* ---- credential name, scopes --------------------------------------------- */

START_TEST(cred_name_bounds)
{
    char name[200];
    const char *message = "\"name\" must be a string of 1 to 100 bytes";

    expect_ok(gw_validate_credential_name(NULL), "absent");
    expect_ok(gw_validate_credential_name(parse("\"a\"")), "1 byte");
    expect_ok(
        gw_validate_credential_name(hold(json_string(fill(name, 'n', 100)))),
        "100 bytes");
    expect_invalid(
        gw_validate_credential_name(hold(json_string(fill(name, 'n', 101)))),
        "name", message, "101 bytes");
    expect_invalid(gw_validate_credential_name(parse("\"\"")), "name", message,
                   "empty");
}
END_TEST

START_TEST(cred_name_wrong_types)
{
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]))
            continue;
        expect_invalid(gw_validate_credential_name(parse(any_type[i])), "name",
                       "\"name\" must be a string of 1 to 100 bytes",
                       any_type[i]);
    }
}
END_TEST

static const char *const scopes_message =
    "\"scopes\" must be a non-empty array of \"publish\", \"read\" and "
    "\"manage\"";

static void expect_scopes(const char *scopes_text, const char *want)
{
    char out[GW_SCOPES_TEXT_MAX];

    expect_ok(gw_validate_scopes(parse(scopes_text), out, sizeof(out)),
              scopes_text);
    ck_assert_msg(strcmp(out, want) == 0, "%s: scopes \"%s\", expected \"%s\"",
                  scopes_text, out, want);
}

static void expect_bad_scope(json_t *scopes, size_t index, const char *label)
{
    char out[GW_SCOPES_TEXT_MAX] = "unchanged", message[120];

    snprintf(message, sizeof(message),
             "scopes[%zu] must be \"publish\", \"read\" or \"manage\"", index);
    expect_invalid(gw_validate_scopes(scopes, out, sizeof(out)), "scopes",
                   message, label);
    ck_assert_msg(out[0] == '\0', "%s: scopes empty on failure", label);
}

START_TEST(scopes_valid)
{
    expect_scopes("[\"publish\"]", "publish");
    expect_scopes("[\"read\"]", "read");
    expect_scopes("[\"manage\"]", "manage");
    expect_scopes("[\"manage\",\"publish\"]", "publish manage");
    expect_scopes("[\"manage\",\"read\"]", "read manage");
    expect_scopes("[\"read\",\"publish\"]", "publish read");
    expect_scopes("[\"manage\",\"read\",\"publish\"]", "publish read manage");
}
END_TEST

START_TEST(scopes_duplicates)
{
    expect_scopes("[\"read\",\"read\"]", "read");
    expect_scopes("[\"manage\",\"publish\",\"manage\",\"publish\",\"read\"]",
                  "publish read manage");
}
END_TEST

START_TEST(scopes_not_array)
{
    char out[GW_SCOPES_TEXT_MAX] = "unchanged";

    expect_invalid(gw_validate_scopes(NULL, out, sizeof(out)), "scopes",
                   scopes_message, "absent");
    expect_invalid(gw_validate_scopes(parse("[]"), out, sizeof(out)), "scopes",
                   scopes_message, "empty array");
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (any_type[i][0] == '[')
            continue;
        expect_invalid(gw_validate_scopes(parse(any_type[i]), out, sizeof(out)),
                       "scopes", scopes_message, any_type[i]);
    }
    expect_invalid(
        gw_validate_scopes(parse("\"publish read\""), out, sizeof(out)),
        "scopes", scopes_message, "space-separated string");
}
END_TEST

START_TEST(scopes_unknown)
{
    static const char *const items[] = {
        "\"admin\"",
        "\"READ\"",
        "\"Publish\"",
        "\"\"",
        "\" read\"",
        "\"read \"",
        "\"publish read\"",
        "\"write\"",
        "\"manage*\"",
        "1",
        "null",
        "true",
        "{}",
        "[]",
        "[\"read\"]",
    };

    for (size_t i = 0; i < ARRAY_LEN(items); i++) {
        char text[64];

        snprintf(text, sizeof(text), "[%s]", items[i]);
        expect_bad_scope(parse(text), 0, text);
    }
    expect_bad_scope(hold(json_pack("[o]", json_stringn("read\0x", 6))), 0,
                     "read with NUL");
}
END_TEST

START_TEST(scopes_mixed)
{
    expect_bad_scope(parse("[\"read\",\"admin\"]"), 1, "read, admin");
    expect_bad_scope(parse("[\"publish\",\"read\",\"manage\",\"all\"]"), 3,
                     "three valid, one unknown");
    expect_bad_scope(parse("[\"nope\",\"read\"]"), 0, "unknown first");
}
END_TEST

/* ---- key expiry ---------------------------------------------------------- */

static const char *const expires_in_message =
    "\"expires_in_s\" must be an integer from 60 to 157680000 seconds";
static const char *const expires_at_message =
    "\"expires_at\" must be an RFC 3339 time at least a minute and at most "
    "five years ahead";

static void expect_expiry(json_t *body, long long want, const char *label)
{
    long long got = -1;

    expect_ok(gw_validate_key_expiry(body, NOW_MS, &got), label);
    ck_assert_msg(got == want, "%s: expiry %lld, expected %lld", label, got,
                  want);
}

static void expect_bad_expiry(json_t *body, const char *field,
                              const char *message, const char *label)
{
    long long got = -1;

    expect_invalid(gw_validate_key_expiry(body, NOW_MS, &got), field, message,
                   label);
    ck_assert_msg(got == 0, "%s: expiry 0 on failure, got %lld", label, got);
}

/* A body {"expires_at": the RFC 3339 form of ms}. */
static json_t *expires_at_body(long long ms)
{
    char text[HG_TIME_BUF];

    hg_time_format(ms, text);
    return hold(json_pack("{s:s}", "expires_at", text));
}

START_TEST(expiry_none)
{
    expect_expiry(parse("{}"), 0, "neither member");
    expect_expiry(parse("{\"name\":\"ci\",\"scopes\":[\"read\"]}"), 0,
                  "other members only");
}
END_TEST

START_TEST(expiry_in_bounds)
{
    expect_bad_expiry(parse("{\"expires_in_s\":59}"), "expires_in_s",
                      expires_in_message, "59 s");
    expect_expiry(parse("{\"expires_in_s\":60}"), NOW_MS + 60000, "60 s");
    expect_expiry(parse("{\"expires_in_s\":157680000}"),
                  NOW_MS + FIVE_YEARS_S * 1000, "five years");
    expect_bad_expiry(parse("{\"expires_in_s\":157680001}"), "expires_in_s",
                      expires_in_message, "five years and 1 s");
    expect_bad_expiry(parse("{\"expires_in_s\":-60}"), "expires_in_s",
                      expires_in_message, "negative");
}
END_TEST

START_TEST(expiry_in_wrong_types)
{
    static const char *const values[] = {
        "null", "\"3600\"", "3600.0", "4.5", "true", "[]", "{}",
    };

    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        char text[64];

        snprintf(text, sizeof(text), "{\"expires_in_s\":%s}", values[i]);
        expect_bad_expiry(parse(text), "expires_in_s", expires_in_message,
                          text);
    }
}
END_TEST

START_TEST(expiry_at_bounds)
{
    expect_bad_expiry(expires_at_body(NOW_MS + 59999), "expires_at",
                      expires_at_message, "59.999 s ahead");
    expect_expiry(expires_at_body(NOW_MS + 60000), NOW_MS + 60000,
                  "a minute ahead");
    expect_expiry(expires_at_body(NOW_MS + FIVE_YEARS_S * 1000),
                  NOW_MS + FIVE_YEARS_S * 1000, "five years ahead");
    expect_bad_expiry(expires_at_body(NOW_MS + FIVE_YEARS_S * 1000 + 1),
                      "expires_at", expires_at_message,
                      "five years and 1 ms ahead");
}
END_TEST

START_TEST(expiry_at_past)
{
    expect_bad_expiry(expires_at_body(NOW_MS), "expires_at", expires_at_message,
                      "now");
    expect_bad_expiry(parse("{\"expires_at\":\"2025-01-01T00:00:00Z\"}"),
                      "expires_at", expires_at_message, "a year ago");
    expect_bad_expiry(parse("{\"expires_at\":\"1970-01-01T00:00:00Z\"}"),
                      "expires_at", expires_at_message, "the epoch");
}
END_TEST

START_TEST(expiry_at_too_far)
{
    expect_bad_expiry(parse("{\"expires_at\":\"2040-01-01T00:00:00Z\"}"),
                      "expires_at", expires_at_message, "2040");
    expect_bad_expiry(parse("{\"expires_at\":\"9999-12-31T23:59:59Z\"}"),
                      "expires_at", expires_at_message, "year 9999");
}
END_TEST

START_TEST(expiry_at_offsets)
{
    int64_t utc, leap;

    ck_assert_int_eq(hg_time_parse("2026-06-01T11:00:00Z", &utc), 0);
    /* A leap day exists in 2028 and 2000, not in 2100. */
    ck_assert_int_eq(hg_time_parse("2028-02-29T00:00:00Z", &leap), 0);
    ck_assert_int_eq(hg_time_parse("2000-02-29T00:00:00Z", &leap), 0);
    ck_assert_int_eq(hg_time_parse("2100-02-29T00:00:00Z", &leap), -1);
    expect_expiry(parse("{\"expires_at\":\"2026-06-01T12:00:00+01:00\"}"), utc,
                  "+01:00 offset");
    expect_expiry(parse("{\"expires_at\":\"2026-06-01T10:00:00-01:00\"}"), utc,
                  "-01:00 offset");
    expect_expiry(parse("{\"expires_at\":\"2026-06-01T11:00:00.000Z\"}"), utc,
                  "fractional seconds");
}
END_TEST

START_TEST(expiry_at_invalid)
{
    static const char *const values[] = {
        "\"tomorrow\"",
        "\"\"",
        "\"2026-06-01\"",
        "\"2026-06-01 11:00:00Z\"",
        "\"2026-13-01T11:00:00Z\"",
        "\"2027-02-29T11:00:00Z\"",
        "\"2026-04-31T11:00:00Z\"",
        "\"2026-06-01T11:00:00\"",
        "\"2026-06-01T11:00:00%2B01:00\"",
        "null",
        "1780311600000",
        "4.5",
        "true",
        "[]",
        "{}",
    };

    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        char text[80];

        snprintf(text, sizeof(text), "{\"expires_at\":%s}", values[i]);
        expect_bad_expiry(parse(text), "expires_at", expires_at_message, text);
    }
}
END_TEST

START_TEST(expiry_both)
{
    const char *message = "give \"expires_in_s\" or \"expires_at\", not both";

    expect_bad_expiry(parse("{\"expires_in_s\":3600,"
                            "\"expires_at\":\"2026-06-01T11:00:00Z\"}"),
                      "expires_at", message, "both valid");
    expect_bad_expiry(parse("{\"expires_in_s\":1,\"expires_at\":\"x\"}"),
                      "expires_at", message, "both invalid");
    expect_bad_expiry(parse("{\"expires_in_s\":null,\"expires_at\":null}"),
                      "expires_at", message, "both null");
}
END_TEST

/* ---- integrations -------------------------------------------------------- */

static const char *const integration_id_message =
    "\"id\" must be a string matching [a-z0-9][a-z0-9_-]{0,62}";
static const char *const integration_update_message =
    "\"name\" must be a string of 1 to 200 bytes, \"operational_endpoint_id\" "
    "an endpoint id or null, \"validate_payloads\" a boolean";

START_TEST(integration_id_valid)
{
    static const char *const ids[] = {"acme",  "a",    "0",
                                      "a_b-c", "0abc", "acme-prod_2"};
    char longest[64];

    for (size_t i = 0; i < ARRAY_LEN(ids); i++)
        expect_ok(gw_validate_integration_id(hold(json_string(ids[i]))),
                  ids[i]);
    expect_ok(
        gw_validate_integration_id(hold(json_string(fill(longest, 'a', 63)))),
        "63 bytes");
}
END_TEST

START_TEST(integration_id_invalid)
{
    static const char *const ids[] = {
        "",          "Acme",   "-acme", "_acme", "acme corp",
        "acme.prod", "acme/x", "ACME",  "acmé",
    };
    char too_long[65];

    for (size_t i = 0; i < ARRAY_LEN(ids); i++)
        expect_invalid(gw_validate_integration_id(hold(json_string(ids[i]))),
                       "id", integration_id_message, ids[i]);
    expect_invalid(
        gw_validate_integration_id(hold(json_string(fill(too_long, 'a', 64)))),
        "id", integration_id_message, "64 bytes");
}
END_TEST

START_TEST(integration_id_shared_tag)
{
    static const char *const reserved[] = {"act", "admin", "jobs", "status",
                                           "wq0", "wq1", "wq63", "wq007"};
    static const char *const allowed[] = {
        "wq", "wqa", "wq0a", "wq-1", "acts", "admin2", "job", "status-page",
        "xwq0"};

    for (size_t i = 0; i < ARRAY_LEN(reserved); i++) {
        gw_validate_result res =
            gw_validate_integration_id(hold(json_string(reserved[i])));

        ck_assert_msg(!res.ok, "%s accepted", reserved[i]);
        ck_assert_str_eq(res.field, "id");
        ck_assert_msg(strstr(res.message, "is reserved") != NULL,
                      "%s: message %s", reserved[i], res.message);
    }
    for (size_t i = 0; i < ARRAY_LEN(allowed); i++)
        expect_ok(gw_validate_integration_id(hold(json_string(allowed[i]))),
                  allowed[i]);
}
END_TEST

START_TEST(integration_id_types)
{
    expect_invalid(gw_validate_integration_id(NULL), "id",
                   integration_id_message, "absent");
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]))
            continue;
        expect_invalid(gw_validate_integration_id(parse(any_type[i])), "id",
                       integration_id_message, any_type[i]);
    }
}
END_TEST

START_TEST(integration_name_bounds)
{
    char name[300];
    const char *message = "\"name\" must be a string of 1 to 200 bytes";

    expect_ok(gw_validate_integration_name(NULL), "absent");
    expect_ok(gw_validate_integration_name(parse("\"A\"")), "1 byte");
    expect_ok(
        gw_validate_integration_name(hold(json_string(fill(name, 'n', 200)))),
        "200 bytes");
    expect_invalid(
        gw_validate_integration_name(hold(json_string(fill(name, 'n', 201)))),
        "name", message, "201 bytes");
    expect_invalid(gw_validate_integration_name(parse("\"\"")), "name", message,
                   "empty");
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        if (is_string_text(any_type[i]))
            continue;
        expect_invalid(gw_validate_integration_name(parse(any_type[i])), "name",
                       message, any_type[i]);
    }
}
END_TEST

START_TEST(update_valid)
{
    static const char *const bodies[] = {
        "{}",
        "{\"name\":\"Acme\"}",
        "{\"operational_endpoint_id\":\"ep_01HZY\"}",
        "{\"operational_endpoint_id\":null}",
        "{\"validate_payloads\":true}",
        "{\"validate_payloads\":false}",
        ("{\"name\":\"Acme\",\"operational_endpoint_id\":\"ep_a\","
         "\"validate_payloads\":true}"),
    };

    for (size_t i = 0; i < ARRAY_LEN(bodies); i++)
        expect_ok(gw_validate_integration_update(parse(bodies[i])), bodies[i]);
}
END_TEST

START_TEST(update_unknown_field)
{
    expect_invalid(gw_validate_integration_update(parse("{\"id\":\"acme\"}")),
                   "id", "unknown field \"id\"", "id");
    expect_invalid(gw_validate_integration_update(
                       parse("{\"name\":\"A\",\"Name\":\"B\"}")),
                   "Name", "unknown field \"Name\"", "Name");
    expect_invalid(
        gw_validate_integration_update(parse("{\"name\":\"\",\"extra\":1}")),
        "extra", "unknown field \"extra\"", "unknown field before bad value");
}
END_TEST

START_TEST(update_name)
{
    char name[300], text[320];

    snprintf(text, sizeof(text), "{\"name\":\"%s\"}", fill(name, 'n', 200));
    expect_ok(gw_validate_integration_update(parse(text)), "200-byte name");
    snprintf(text, sizeof(text), "{\"name\":\"%s\"}", fill(name, 'n', 201));
    expect_invalid(gw_validate_integration_update(parse(text)), "name",
                   integration_update_message, "201-byte name");
    expect_invalid(gw_validate_integration_update(parse("{\"name\":\"\"}")),
                   "name", integration_update_message, "empty name");
    expect_invalid(gw_validate_integration_update(parse("{\"name\":null}")),
                   "name", integration_update_message, "null name");
    expect_invalid(gw_validate_integration_update(parse("{\"name\":7}")),
                   "name", integration_update_message, "number name");
}
END_TEST

START_TEST(update_operational_endpoint)
{
    static const char *const values[] = {
        "\"abc\"", "\"ep_\"", "\"ep_a b\"", "\"EP_a\"", "\"\"",
        "1",       "true",    "{}",         "[]",       "[\"ep_a\"]",
    };
    char id[80], text[120];

    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        snprintf(text, sizeof(text), "{\"operational_endpoint_id\":%s}",
                 values[i]);
        expect_invalid(gw_validate_integration_update(parse(text)),
                       "operational_endpoint_id", integration_update_message,
                       text);
    }
    memcpy(fill(id, 'a', 63), "ep_", 3);
    snprintf(text, sizeof(text), "{\"operational_endpoint_id\":\"%s\"}", id);
    expect_ok(gw_validate_integration_update(parse(text)), "63-byte id");
    memcpy(fill(id, 'a', 64), "ep_", 3);
    snprintf(text, sizeof(text), "{\"operational_endpoint_id\":\"%s\"}", id);
    expect_invalid(gw_validate_integration_update(parse(text)),
                   "operational_endpoint_id", integration_update_message,
                   "64-byte id");
}
END_TEST

START_TEST(update_validate_payloads)
{
    static const char *const values[] = {
        "null", "\"true\"", "1", "0", "{}", "[]",
    };

    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        char text[80];

        snprintf(text, sizeof(text), "{\"validate_payloads\":%s}", values[i]);
        expect_invalid(gw_validate_integration_update(parse(text)),
                       "validate_payloads", integration_update_message, text);
    }
}
END_TEST

START_TEST(update_first_fault)
{
    expect_invalid(gw_validate_integration_update(
                       parse("{\"validate_payloads\":1,"
                             "\"operational_endpoint_id\":1,\"name\":1}")),
                   "name", integration_update_message, "all three invalid");
    expect_invalid(
        gw_validate_integration_update(parse("{\"validate_payloads\":1,"
                                             "\"operational_endpoint_id\":1}")),
        "operational_endpoint_id", integration_update_message, "two invalid");
}
END_TEST

/* ---- member lists -------------------------------------------------------- */

START_TEST(members_known_only)
{
    static const char *const known[] = {"a", "b", NULL};

    expect_ok(gw_validate_members(parse("{}"), known), "empty body");
    expect_ok(gw_validate_members(parse("{\"a\":1,\"b\":null}"), known),
              "known members");
    expect_invalid(gw_validate_members(parse("{\"a\":1,\"c\":2}"), known),
                   "c", "unknown field \"c\"", "one unknown member");
    expect_invalid(gw_validate_members(parse("{\"A\":1}"), known), "A",
                   "unknown field \"A\"", "names are case-sensitive");
    expect_invalid(gw_validate_members(parse("{\"\":1}"), known), "",
                   "unknown field \"\"", "empty name");
}
END_TEST

START_TEST(members_first_unknown)
{
    static const char *const known[] = {"a", NULL};

    /* jansson keeps the order of the members as they were parsed. */
    expect_invalid(gw_validate_members(parse("{\"x\":1,\"a\":1,\"y\":2}"),
                                       known),
                   "x", "unknown field \"x\"", "first of two unknown");
}
END_TEST

START_TEST(members_route_lists)
{
    static const struct {
        gw_validate_result (*check)(const json_t *body);
        const char *valid;
        const char *unknown;
        const char *name;
    } cases[] = {
        {gw_validate_integration_members, "{\"id\":\"a\",\"name\":\"b\"}",
         "{\"id\":\"a\",\"owner\":\"me\"}", "owner"},
        {gw_validate_credential_members,
         "{\"name\":\"a\",\"scopes\":[\"read\"],\"expires_in_s\":60,"
         "\"expires_at\":\"x\"}",
         "{\"scopes\":[\"read\"],\"redirect_uri\":\"https://x\"}",
         "redirect_uri"},
        {gw_validate_rotation_members,
         "{\"grace_period_s\":0,\"secret\":null}", "{\"grace\":1}", "grace"},
    };
    char message[100];

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        expect_ok(cases[i].check(parse(cases[i].valid)), cases[i].valid);
        snprintf(message, sizeof(message), "unknown field \"%s\"",
                 cases[i].name);
        expect_invalid(cases[i].check(parse(cases[i].unknown)),
                       cases[i].name, message, cases[i].unknown);
    }
}
END_TEST

/* ---- media types ---------------------------------------------------------- */

START_TEST(media_type_matches)
{
    static const char *const accepted[] = {
        "application/x-www-form-urlencoded",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/x-www-form-urlencoded;charset=utf-8",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded ; charset=utf-8 ",
        "application/x-www-form-urlencoded;charset=\"utf-8\"",
        "application/x-www-form-urlencoded; a=\"q\\\"uoted;\"; b=c",
        "application/x-www-form-urlencoded;",
        "application/x-www-form-urlencoded;;a=b",
        " application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded\t",
    };

    for (size_t i = 0; i < ARRAY_LEN(accepted); i++)
        ck_assert_msg(gw_media_type_is(accepted[i],
                                       "application/x-www-form-urlencoded"),
                      "\"%s\" should match", accepted[i]);
}
END_TEST

START_TEST(media_type_rejects)
{
    static const char *const rejected[] = {
        "",
        "application",
        "application/x-www-form",
        "application/x-www-form-urlencodedXYZ",
        "application/x-www-form-urlencoded-extra",
        "application/x-www-form-urlencoded/x",
        "application/x-www-form-urlencoded charset=utf-8",
        "application/x-www-form-urlencoded; charset",
        "application/x-www-form-urlencoded; charset=",
        "application/x-www-form-urlencoded; =utf-8",
        "application/x-www-form-urlencoded; charset=\"utf-8",
        "application/x-www-form-urlencoded; charset=\"utf-8\\",
        "application/x-www-form-urlencoded; a=b c",
        "application/x-www-form-urlencoded, text/plain",
        "application/json",
        "multipart/form-data",
    };

    ck_assert(!gw_media_type_is(NULL, "application/x-www-form-urlencoded"));
    for (size_t i = 0; i < ARRAY_LEN(rejected); i++)
        ck_assert_msg(!gw_media_type_is(rejected[i],
                                        "application/x-www-form-urlencoded"),
                      "\"%s\" should not match", rejected[i]);
}
END_TEST

/* ---- recovery window ------------------------------------------------------ */

/* One day of retention, for the recovery tests. */
#define RETENTION_S 86400LL
#define HOUR_MS 3600000LL

/* Formats NOW_MS + offset_ms as RFC 3339 into out. */
static const char *time_at(long long offset_ms, char *out)
{
    return hg_time_format(NOW_MS + offset_ms, out);
}

/* Builds a recovery body from since and until texts (NULL leaves a member
 * out). */
static json_t *recovery_body(const char *since, const char *until)
{
    json_t *body = hold(json_object());

    if (since != NULL)
        json_object_set_new(body, "since", json_string(since));
    if (until != NULL)
        json_object_set_new(body, "until", json_string(until));
    return body;
}

static gw_validate_result check_recovery(json_t *body, long long *since,
                                         long long *until)
{
    return gw_validate_recovery(body, NOW_MS, RETENTION_S, since, until);
}

START_TEST(recovery_valid)
{
    char since[HG_TIME_BUF], until[HG_TIME_BUF];
    long long since_ms, until_ms;

    expect_ok(check_recovery(recovery_body(time_at(-HOUR_MS, since), NULL),
                             &since_ms, &until_ms),
              "since only");
    ck_assert_int_eq(since_ms, NOW_MS - HOUR_MS);
    ck_assert_int_eq(until_ms, NOW_MS);

    expect_ok(check_recovery(recovery_body(time_at(-2 * HOUR_MS, since),
                                           time_at(-HOUR_MS, until)),
                             &since_ms, &until_ms),
              "since and until");
    ck_assert_int_eq(since_ms, NOW_MS - 2 * HOUR_MS);
    ck_assert_int_eq(until_ms, NOW_MS - HOUR_MS);
}
END_TEST

START_TEST(recovery_bounds)
{
    char since[HG_TIME_BUF], until[HG_TIME_BUF];
    long long since_ms, until_ms;
    const long long retention_ms = RETENTION_S * 1000;
    const long long skew_ms = GW_RECOVERY_FUTURE_SKEW_S * 1000LL;

    expect_ok(check_recovery(recovery_body(time_at(-retention_ms, since),
                                           NULL),
                             &since_ms, &until_ms),
              "since at the retention");
    expect_invalid(check_recovery(recovery_body(
                                      time_at(-retention_ms - 1, since), NULL),
                                  &since_ms, &until_ms),
                   "since",
                   "\"since\" must be within the event retention of 86400 s "
                   "before now: older deliveries are deleted",
                   "since 1 ms past the retention");

    expect_ok(check_recovery(recovery_body(time_at(-HOUR_MS, since),
                                           time_at(skew_ms, until)),
                             &since_ms, &until_ms),
              "until at the skew");
    expect_invalid(check_recovery(recovery_body(time_at(-HOUR_MS, since),
                                                time_at(skew_ms + 1, until)),
                                  &since_ms, &until_ms),
                   "until",
                   "\"until\" must not be more than 60 s in the future",
                   "until 1 ms past the skew");
}
END_TEST

START_TEST(recovery_order)
{
    const char *message = "\"since\" must be before \"until\" (default: now)";
    char since[HG_TIME_BUF], until[HG_TIME_BUF];
    long long since_ms, until_ms;

    expect_invalid(check_recovery(recovery_body(time_at(-HOUR_MS, since),
                                                time_at(-HOUR_MS, until)),
                                  &since_ms, &until_ms),
                   "since", message, "since equal to until");
    expect_invalid(check_recovery(recovery_body(time_at(-HOUR_MS, since),
                                                time_at(-2 * HOUR_MS, until)),
                                  &since_ms, &until_ms),
                   "since", message, "since after until");
    expect_invalid(check_recovery(recovery_body(time_at(1000, since), NULL),
                                  &since_ms, &until_ms),
                   "since", message, "since in the future, until now");
    expect_ok(check_recovery(recovery_body(time_at(1000, since),
                                           time_at(2000, until)),
                             &since_ms, &until_ms),
              "both a little ahead");
}
END_TEST

START_TEST(recovery_invalid_times)
{
    const char *since_message = "\"since\" must be an RFC 3339 time such as "
                                "2026-01-01T00:00:00Z";
    const char *until_message = "\"until\" must be an RFC 3339 time such as "
                                "2026-01-01T00:00:00Z";
    long long since_ms, until_ms;
    json_t *with_nul;

    expect_invalid(check_recovery(parse("{}"), &since_ms, &until_ms), "since",
                   "\"since\" is required: an RFC 3339 time such as "
                   "2026-01-01T00:00:00Z",
                   "no since");
    for (size_t i = 0; i < ARRAY_LEN(any_type); i++) {
        char text[80];

        if (is_string_text(any_type[i]))
            continue;
        snprintf(text, sizeof(text), "{\"since\":%s}", any_type[i]);
        expect_invalid(check_recovery(parse(text), &since_ms, &until_ms),
                       "since", since_message, text);
        snprintf(text, sizeof(text),
                 "{\"since\":\"2026-01-01T00:00:00Z\",\"until\":%s}",
                 any_type[i]);
        expect_invalid(check_recovery(parse(text), &since_ms, &until_ms),
                       "until", until_message, text);
    }
    expect_invalid(check_recovery(recovery_body("yesterday", NULL), &since_ms,
                                  &until_ms),
                   "since", since_message, "since not a time");
    with_nul = hold(json_object());
    json_object_set_new(with_nul, "since",
                        json_stringn("2026-01-01T00:00:00Z\0", 21));
    expect_invalid(check_recovery(with_nul, &since_ms, &until_ms), "since",
                   since_message, "since with a NUL");
    expect_invalid(check_recovery(recovery_body("2026-01-01T00:00:00Z", "now"),
                                  &since_ms, &until_ms),
                   "until", until_message, "until not a time");
}
END_TEST

START_TEST(recovery_offsets)
{
    long long since_ms, until_ms;
    int64_t expected;

    /* A JSON string is not URL-encoded: "+" is the offset sign. */
    ck_assert_int_eq(hg_time_parse("2025-12-31T22:00:00Z", &expected), 0);
    expect_ok(check_recovery(recovery_body("2026-01-01T00:00:00+02:00", NULL),
                             &since_ms, &until_ms),
              "since with +02:00");
    ck_assert_int_eq(since_ms, expected);
}
END_TEST

START_TEST(recovery_unknown_member)
{
    long long since_ms, until_ms;

    expect_invalid(check_recovery(parse("{\"since\":\"2026-01-01T00:00:00Z\","
                                        "\"endpoint_id\":\"ep_a\"}"),
                                  &since_ms, &until_ms),
                   "endpoint_id", "unknown field \"endpoint_id\"",
                   "unknown member");
    expect_invalid(check_recovery(parse("{\"Since\":\"x\"}"), &since_ms,
                                  &until_ms),
                   "Since", "unknown field \"Since\"",
                   "unknown member before a missing since");
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static TCase *new_case(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, NULL, release_held);
    suite_add_tcase(s, tc);
    return tc;
}

static void add_endpoint_cases(Suite *s)
{
    TCase *members = new_case(s, "members");
    TCase *url = new_case(s, "url");
    TCase *types = new_case(s, "event_types");
    TCase *fields = new_case(s, "fields");
    TCase *headers = new_case(s, "headers");

    tcase_add_test(members, members_create_minimal);
    tcase_add_test(members, members_create_all_known);
    tcase_add_test(members, members_update_all_known);
    tcase_add_test(members, members_update_empty);
    tcase_add_test(members, members_create_requires);
    tcase_add_test(members, members_create_unknown);
    tcase_add_test(members, members_update_unknown);
    tcase_add_test(members, members_update_secret);
    tcase_add_test(members, members_unknown_before_required);
    tcase_add_test(members, members_long_name_cut);
    tcase_add_test(members, endpoint_id_rules);

    tcase_add_test(url, url_valid);
    tcase_add_test(url, url_absent);
    tcase_add_test(url, url_wrong_types);
    tcase_add_test(url, url_other_schemes);
    tcase_add_test(url, url_private_refused);
    tcase_add_test(url, url_private_allowed);
    tcase_add_test(url, url_https_only);
    tcase_add_test(url, url_https_only_private);

    tcase_add_test(types, event_types_valid);
    tcase_add_test(types, event_types_absent);
    tcase_add_test(types, event_types_wrong_types);
    tcase_add_test(types, event_types_empty);
    tcase_add_test(types, event_types_64_filters);
    tcase_add_test(types, event_types_65_filters);
    tcase_add_test(types, event_types_65_repeats);
    tcase_add_test(types, event_types_deduplicated);
    tcase_add_test(types, event_types_bad_items);
    tcase_add_test(types, event_types_bad_index);
    tcase_add_test(types, event_types_length);

    tcase_add_test(headers, headers_valid);
    tcase_add_test(headers, headers_case_insensitive);
    tcase_add_test(headers, headers_count);
    tcase_add_test(headers, headers_wrong_types);
    tcase_add_test(headers, headers_name_token);
    tcase_add_test(headers, headers_name_not_token);
    tcase_add_test(headers, headers_name_too_long);
    tcase_add_test(headers, headers_reserved_any_case);
    tcase_add_test(headers, headers_value_length);
    tcase_add_test(headers, headers_value_controls);
    tcase_add_test(headers, headers_value_wrong_types);
    tcase_add_test(headers, headers_first_fault);

    tcase_add_test(fields, description_valid);
    tcase_add_test(fields, description_too_long);
    tcase_add_test(fields, description_counts_bytes);
    tcase_add_test(fields, description_wrong_types);
    tcase_add_test(fields, enabled_values);
    tcase_add_test(fields, enabled_wrong_types);
    tcase_add_test(fields, ordering_key_valid);
    tcase_add_test(fields, ordering_key_invalid);
    tcase_add_test(fields, ordering_key_wrong_types);
    tcase_add_test(fields, setting_bounds);
    tcase_add_test(fields, setting_null_absent);
    tcase_add_test(fields, setting_wrong_types);
    tcase_add_test(fields, setting_rules_bounds);
    tcase_add_test(fields, setting_unknown_name);
}

static void add_secret_cases(Suite *s)
{
    TCase *secret = new_case(s, "secret");

    tcase_add_test(secret, secret_valid);
    tcase_add_test(secret, secret_too_short);
    tcase_add_test(secret, secret_too_long);
    tcase_add_test(secret, secret_bad_base64);
    tcase_add_test(secret, secret_bad_prefix);
    tcase_add_test(secret, secret_wrong_types);
    tcase_add_test(secret, secret_nul);
    tcase_add_test(secret, grace_bounds);
    tcase_add_test(secret, grace_wrong_types);
}

static void add_credential_cases(Suite *s)
{
    TCase *credentials = new_case(s, "credentials");
    TCase *expiry = new_case(s, "expiry");

    tcase_add_test(credentials, cred_name_bounds);
    tcase_add_test(credentials, cred_name_wrong_types);
    tcase_add_test(credentials, scopes_valid);
    tcase_add_test(credentials, scopes_duplicates);
    tcase_add_test(credentials, scopes_not_array);
    tcase_add_test(credentials, scopes_unknown);
    tcase_add_test(credentials, scopes_mixed);

    tcase_add_test(expiry, expiry_none);
    tcase_add_test(expiry, expiry_in_bounds);
    tcase_add_test(expiry, expiry_in_wrong_types);
    tcase_add_test(expiry, expiry_at_bounds);
    tcase_add_test(expiry, expiry_at_past);
    tcase_add_test(expiry, expiry_at_too_far);
    tcase_add_test(expiry, expiry_at_offsets);
    tcase_add_test(expiry, expiry_at_invalid);
    tcase_add_test(expiry, expiry_both);
}

static void add_integration_cases(Suite *s)
{
    TCase *integrations = new_case(s, "integrations");

    tcase_add_test(integrations, integration_id_valid);
    tcase_add_test(integrations, integration_id_invalid);
    tcase_add_test(integrations, integration_id_shared_tag);
    tcase_add_test(integrations, integration_id_types);
    tcase_add_test(integrations, integration_name_bounds);
    tcase_add_test(integrations, update_valid);
    tcase_add_test(integrations, update_unknown_field);
    tcase_add_test(integrations, update_name);
    tcase_add_test(integrations, update_operational_endpoint);
    tcase_add_test(integrations, update_validate_payloads);
    tcase_add_test(integrations, update_first_fault);
}

static void add_request_cases(Suite *s)
{
    TCase *members = new_case(s, "member lists");
    TCase *media = new_case(s, "media types");
    TCase *recovery = new_case(s, "recovery");

    tcase_add_test(members, members_known_only);
    tcase_add_test(members, members_first_unknown);
    tcase_add_test(members, members_route_lists);

    tcase_add_test(media, media_type_matches);
    tcase_add_test(media, media_type_rejects);

    tcase_add_test(recovery, recovery_valid);
    tcase_add_test(recovery, recovery_bounds);
    tcase_add_test(recovery, recovery_order);
    tcase_add_test(recovery, recovery_invalid_times);
    tcase_add_test(recovery, recovery_offsets);
    tcase_add_test(recovery, recovery_unknown_member);
}

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");

    add_endpoint_cases(s);
    add_secret_cases(s);
    add_credential_cases(s);
    add_integration_cases(s);
    add_request_cases(s);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(validate_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
