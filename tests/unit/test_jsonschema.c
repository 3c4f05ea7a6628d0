/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "common/jsonschema.h"

#include <jansson.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DRAFT "https://json-schema.org/draft/2020-12/schema"

/* A schema, an instance and the expected error, or NULL when the instance
 * is valid. */
struct vcase {
    const char *schema;
    const char *instance;
    const char *error;
};

/* A schema that must not compile and the expected message. */
struct ccase {
    const char *schema;
    const char *error;
};

static json_t *parse(const char *text, size_t flags)
{
    json_error_t jerr;
    json_t *json = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL | flags,
                              &jerr);

    ck_assert_msg(json != NULL, "test JSON %s does not parse: %s", text,
                  jerr.text);
    return json;
}

static hg_schema *compile_text(const char *text)
{
    char err[HG_SCHEMA_ERR_MAX];
    json_t *json = parse(text, 0);
    hg_schema *schema = hg_schema_compile(json, err, sizeof(err));

    json_decref(json);
    ck_assert_msg(schema != NULL, "schema %s does not compile: %s", text, err);
    return schema;
}

/* Validates instance text against schema text, writing the error to err. */
static bool validate_text(const char *schema_text, const char *instance_text,
                          char *err, size_t errsz)
{
    hg_schema *schema = compile_text(schema_text);
    json_t *instance = parse(instance_text, 0);
    bool valid = hg_schema_validate(schema, instance, err, errsz);

    json_decref(instance);
    hg_schema_free(schema);
    return valid;
}

static void run_cases(const struct vcase *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct vcase *c = &cases[i];
        char err[HG_SCHEMA_ERR_MAX];
        bool valid = validate_text(c->schema, c->instance, err, sizeof(err));

        if (c->error == NULL) {
            ck_assert_msg(valid, "case %zu: %s rejected %s: %s", i, c->schema,
                          c->instance, err);
            ck_assert_msg(err[0] == '\0', "case %zu: error \"%s\" on success",
                          i, err);
            continue;
        }
        ck_assert_msg(!valid, "case %zu: %s accepted %s", i, c->schema,
                      c->instance);
        ck_assert_msg(strcmp(err, c->error) == 0,
                      "case %zu: %s on %s: error\n  \"%s\", expected\n  \"%s\"",
                      i, c->schema, c->instance, err, c->error);
    }
}

static void run_compile_cases(const struct ccase *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char err[HG_SCHEMA_ERR_MAX];
        json_t *json = parse(cases[i].schema, 0);
        hg_schema *schema = hg_schema_compile(json, err, sizeof(err));

        json_decref(json);
        ck_assert_msg(schema == NULL, "case %zu: %s compiled", i,
                      cases[i].schema);
        ck_assert_msg(strcmp(err, cases[i].error) == 0,
                      "case %zu: %s: error\n  \"%s\", expected\n  \"%s\"", i,
                      cases[i].schema, err, cases[i].error);
    }
}

/* Checks that each string passes or fails one format. */
static void run_format(const char *format, const char *const *valid,
                       size_t valid_count, const char *const *invalid,
                       size_t invalid_count)
{
    char schema_text[64];
    hg_schema *schema;

    snprintf(schema_text, sizeof(schema_text), "{\"format\":\"%s\"}", format);
    schema = compile_text(schema_text);
    for (size_t i = 0; i < valid_count + invalid_count; i++) {
        bool expected = i < valid_count;
        const char *s = expected ? valid[i] : invalid[i - valid_count];
        json_t *instance = json_string(s);
        char err[HG_SCHEMA_ERR_MAX];

        ck_assert_msg(hg_schema_validate(schema, instance, err, sizeof(err)) ==
                          expected,
                      "format %s: \"%s\" should be %s (%s)", format, s,
                      expected ? "valid" : "invalid", err);
        json_decref(instance);
    }
    hg_schema_free(schema);
}

/* Returns n arrays nested in one another: [[[...]]]. */
static json_t *nested_arrays(size_t n)
{
    json_t *value = json_array();

    for (size_t i = 1; i < n; i++) {
        json_t *outer = json_array();

        json_array_append_new(outer, value);
        value = outer;
    }
    return value;
}

static char *repeat(const char *s, size_t n)
{
    size_t len = strlen(s);
    char *out = malloc(len * n + 1);

    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * len, s, len);
    out[len * n] = '\0';
    return out;
}

START_TEST(type_keyword)
{
    static const struct vcase cases[] = {
        {"{\"type\":\"string\"}", "\"a\"", NULL},
        {"{\"type\":\"string\"}", "1",
         "(root): expected a string, got an integer"},
        {"{\"type\":\"integer\"}", "1", NULL},
        {"{\"type\":\"integer\"}", "1.0", NULL},
        {"{\"type\":\"integer\"}", "-0.0", NULL},
        {"{\"type\":\"integer\"}", "1e30", NULL},
        {"{\"type\":\"integer\"}", "1.5",
         "(root): expected an integer, got a number"},
        {"{\"type\":\"integer\"}", "\"1\"",
         "(root): expected an integer, got a string"},
        {"{\"type\":\"number\"}", "3", NULL},
        {"{\"type\":\"number\"}", "3.25", NULL},
        {"{\"type\":\"number\"}", "true",
         "(root): expected a number, got a boolean"},
        {"{\"type\":\"boolean\"}", "false", NULL},
        {"{\"type\":\"boolean\"}", "0",
         "(root): expected a boolean, got an integer"},
        {"{\"type\":\"null\"}", "null", NULL},
        {"{\"type\":\"null\"}", "{}", "(root): expected null, got an object"},
        {"{\"type\":\"object\"}", "[]", "(root): expected an object, got an array"},
        {"{\"type\":\"array\"}", "null", "(root): expected an array, got null"},
        {"{\"type\":[\"string\",\"null\"]}", "null", NULL},
        {"{\"type\":[\"string\",\"null\"]}", "\"x\"", NULL},
        {"{\"type\":[\"string\",\"null\"]}", "5",
         "(root): expected a string or null, got an integer"},
        {"{\"type\":[\"boolean\",\"array\",\"object\"]}", "\"x\"",
         "(root): expected an object, an array or a boolean, got a string"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(type_error_path)
{
    static const struct vcase cases[] = {
        {"{\"properties\":{\"data\":{\"properties\":{\"services\":{\"items\":"
         "{\"properties\":{\"price\":{\"properties\":{\"amount\":{\"type\":"
         "\"integer\"}}}}}}}}}}",
         "{\"data\":{\"services\":[{\"price\":{\"amount\":\"12\"}}]}}",
         "/data/services/0/price/amount: expected an integer, got a string"},
        {"{\"properties\":{\"a/b\":{\"type\":\"string\"}}}", "{\"a/b\":1}",
         "/a~1b: expected a string, got an integer"},
        {"{\"properties\":{\"m~n\":{\"type\":\"string\"}}}", "{\"m~n\":1}",
         "/m~0n: expected a string, got an integer"},
        {"{\"properties\":{\"\":{\"type\":\"string\"}}}", "{\"\":1}",
         "/: expected a string, got an integer"},
        {"{\"items\":{\"items\":{\"type\":\"string\"}}}", "[[],[\"a\",2]]",
         "/1/1: expected a string, got an integer"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(type_integer_as_real)
{
    char err[HG_SCHEMA_ERR_MAX];
    hg_schema *schema = compile_text("{\"type\":\"integer\",\"minimum\":0}");
    json_t *big = parse("123456789012345678901234567890", JSON_DECODE_INT_AS_REAL);
    json_t *fraction = parse("1.5", JSON_DECODE_INT_AS_REAL);

    ck_assert(json_is_real(big));
    ck_assert_msg(hg_schema_validate(schema, big, err, sizeof(err)), "%s", err);
    ck_assert(!hg_schema_validate(schema, fraction, err, sizeof(err)));
    json_decref(big);
    json_decref(fraction);
    hg_schema_free(schema);
}
END_TEST

START_TEST(enum_keyword)
{
    static const struct vcase cases[] = {
        {"{\"enum\":[\"a\",\"b\",1,null]}", "\"b\"", NULL},
        {"{\"enum\":[\"a\",\"b\",1,null]}", "null", NULL},
        {"{\"enum\":[\"a\",\"b\",1,null]}", "1.0", NULL},
        {"{\"enum\":[\"a\",\"b\",1,null]}", "\"d\"",
         "(root): expected one of \"a\", \"b\", 1, null; got \"d\""},
        {"{\"enum\":[\"a\",\"b\",1,null]}", "false",
         "(root): expected one of \"a\", \"b\", 1, null; got false"},
        {"{\"enum\":[{\"a\":1,\"b\":[2]}]}", "{\"b\":[2],\"a\":1}", NULL},
        {"{\"enum\":[{\"a\":1,\"b\":[2]}]}", "{\"a\":1}",
         "(root): expected one of {\"a\":1,\"b\":[2]}; got {\"a\":1}"},
        {"{\"enum\":[\"say \\\"hi\\\"\"]}", "\"x\\ny\"",
         "(root): expected one of \"say \\\"hi\\\"\"; got \"x\\u000ay\""},
        {"{\"enum\":[\"1\"]}", "1", "(root): expected one of \"1\"; got 1"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(const_keyword)
{
    static const struct vcase cases[] = {
        {"{\"const\":\"booking.created\"}", "\"booking.created\"", NULL},
        {"{\"const\":\"booking.created\"}", "\"booking.updated\"",
         "(root): expected \"booking.created\", got \"booking.updated\""},
        {"{\"const\":5}", "5.0", NULL},
        {"{\"const\":null}", "null", NULL},
        {"{\"const\":null}", "false", "(root): expected null, got false"},
        {"{\"const\":[1,2]}", "[1,2]", NULL},
        {"{\"const\":[1,2]}", "[2,1]", "(root): expected [1,2], got [2,1]"},
        {"{\"const\":\"x\"}", "0.0000001", "(root): expected \"x\", got 1e-7"},
        {"{\"const\":\"x\"}", "123e18",
         "(root): expected \"x\", got 123000000000000000000"},
        {"{\"const\":\"x\"}", "-2.5e300", "(root): expected \"x\", got -2.5e+300"},
        {"{\"const\":{\"a\":[]}}", "{\"a\":{}}",
         "(root): expected {\"a\":[]}, got {\"a\":{}}"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(const_long_value)
{
    char err[HG_SCHEMA_ERR_MAX];
    char *items = repeat("123456789,", 50);
    char schema[600], instance[600];
    bool valid;

    items[strlen(items) - 1] = '\0';
    snprintf(schema, sizeof(schema), "{\"const\":[%s]}", items);
    snprintf(instance, sizeof(instance), "[%s,0]", items);
    valid = validate_text(schema, instance, err, sizeof(err));
    free(items);

    ck_assert(!valid);
    ck_assert_msg(strstr(err, "...,") != NULL, "value not cut: %s", err);
    ck_assert_msg(strlen(err) < 300, "message too long: %s", err);
}
END_TEST

START_TEST(required_keyword)
{
    static const struct vcase cases[] = {
        {"{\"required\":[\"id\",\"type\"]}", "{\"id\":1,\"type\":2}", NULL},
        {"{\"required\":[\"id\",\"type\"]}", "{\"type\":2}",
         "(root): missing required property \"id\""},
        {"{\"required\":[\"id\",\"type\"]}", "{\"id\":null}",
         "(root): missing required property \"type\""},
        {"{\"required\":[\"id\"]}", "[1]", NULL},
        {"{\"properties\":{\"data\":{\"required\":[\"customer_id\"]}}}",
         "{\"data\":{}}", "/data: missing required property \"customer_id\""},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(properties_keyword)
{
    static const struct vcase cases[] = {
        {"{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
         "\"integer\"}}}",
         "{\"a\":\"x\",\"c\":[]}", NULL},
        {"{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
         "\"integer\"}}}",
         "{\"b\":\"x\",\"a\":1}", "/a: expected a string, got an integer"},
        {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "\"not an object\"",
         NULL},
        {"{\"properties\":{\"a\":false}}", "{\"a\":1}",
         "/a: no value is allowed here because the schema is false"},
        {"{\"properties\":{\"a\":true}}", "{\"a\":1}", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(additional_properties_keyword)
{
    static const struct vcase cases[] = {
        {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
         "{\"a\":1}", NULL},
        {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
         "{\"a\":1,\"b\":2}",
         "/b: property is not allowed by additionalProperties"},
        {"{\"properties\":{\"a\":{\"type\":\"string\"}},"
         "\"additionalProperties\":{\"type\":\"integer\"}}",
         "{\"a\":\"x\",\"b\":2}", NULL},
        {"{\"properties\":{\"a\":{\"type\":\"string\"}},"
         "\"additionalProperties\":{\"type\":\"integer\"}}",
         "{\"a\":\"x\",\"b\":\"y\"}", "/b: expected an integer, got a string"},
        {"{\"additionalProperties\":true}", "{\"z\":1}", NULL},
        {"{\"additionalProperties\":false}", "{}", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(pattern_properties_keyword)
{
    static const char schema[] =
        "{\"properties\":{\"id\":{}},\"patternProperties\":{\"^x-\":{\"type\":"
        "\"string\"},\"-id$\":{\"minLength\":3}},\"additionalProperties\":false}";
    static const struct vcase cases[] = {
        {schema, "{\"id\":1,\"x-trace\":\"t\"}", NULL},
        {schema, "{\"x-trace\":1}", "/x-trace: expected a string, got an integer"},
        {schema, "{\"x-id\":\"ab\"}", "/x-id: expected at least 3 characters, got 2"},
        {schema, "{\"y\":1}", "/y: property is not allowed by additionalProperties"},
        {"{\"patternProperties\":{\"^[a-z]+$\":{\"type\":\"integer\"}}}",
         "{\"abc\":1,\"ABC\":\"free\"}", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(property_count_keywords)
{
    static const struct vcase cases[] = {
        {"{\"minProperties\":1}", "{\"a\":1}", NULL},
        {"{\"minProperties\":1}", "{}", "(root): expected at least 1 property, got 0"},
        {"{\"minProperties\":2}", "{\"a\":1}",
         "(root): expected at least 2 properties, got 1"},
        {"{\"maxProperties\":2}", "{\"a\":1,\"b\":2}", NULL},
        {"{\"maxProperties\":2}", "{\"a\":1,\"b\":2,\"c\":3}",
         "(root): expected at most 2 properties, got 3"},
        {"{\"maxProperties\":1}", "{\"a\":1,\"b\":2}",
         "(root): expected at most 1 property, got 2"},
        {"{\"maxProperties\":0}", "[1,2]", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(items_keywords)
{
    static const char tuple[] =
        "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    static const char closed[] =
        "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
        "\"items\":false}";
    static const struct vcase cases[] = {
        {"{\"items\":{\"type\":\"integer\"}}", "[1,2,3]", NULL},
        {"{\"items\":{\"type\":\"integer\"}}", "[1,2,\"x\"]",
         "/2: expected an integer, got a string"},
        {"{\"items\":{\"type\":\"integer\"}}", "{\"0\":\"x\"}", NULL},
        {tuple, "[\"a\",1,true]", NULL},
        {tuple, "[\"a\"]", NULL},
        {tuple, "[1]", "/0: expected a string, got an integer"},
        {closed, "[\"a\",1]", NULL},
        {closed, "[\"a\",1,true]",
         "/2: unexpected item, the array allows at most 2 items"},
        {"{\"items\":false}", "[]", NULL},
        {"{\"items\":false}", "[1]",
         "/0: unexpected item, the array allows at most 0 items"},
        {"{\"prefixItems\":[{}],\"items\":{\"type\":\"string\"}}", "[1,\"a\",2]",
         "/2: expected a string, got an integer"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(item_count_keywords)
{
    static const struct vcase cases[] = {
        {"{\"minItems\":1}", "[0]", NULL},
        {"{\"minItems\":1}", "[]", "(root): expected at least 1 item, got 0"},
        {"{\"minItems\":2}", "[0]", "(root): expected at least 2 items, got 1"},
        {"{\"maxItems\":2}", "[0,1]", NULL},
        {"{\"maxItems\":2}", "[0,1,2]", "(root): expected at most 2 items, got 3"},
        {"{\"maxItems\":1.0}", "[0,1]", "(root): expected at most 1 item, got 2"},
        {"{\"minItems\":5}", "\"abc\"", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(unique_items_keyword)
{
    static const char unique[] = "{\"uniqueItems\":true}";
    static const struct vcase cases[] = {
        {unique, "[1,2,3]", NULL},
        {unique, "[1,2,1]", "(root): items 0 and 2 are equal, expected unique items"},
        {unique, "[1,1.0]", "(root): items 0 and 1 are equal, expected unique items"},
        {unique, "[\"1\",1]", NULL},
        {unique, "[false,0,null,\"\"]", NULL},
        {unique, "[null,null]", "(root): items 0 and 1 are equal, expected unique items"},
        {unique, "[[1,2],[2,1]]", NULL},
        {unique, "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]",
         "(root): items 0 and 1 are equal, expected unique items"},
        {unique, "[3,1,2,2,1]", "(root): items 2 and 3 are equal, expected unique items"},
        {"{\"uniqueItems\":false}", "[1,1]", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

/* Arrays longer than 16 items take the hashing path. */
START_TEST(unique_items_long)
{
    char err[HG_SCHEMA_ERR_MAX];
    hg_schema *schema = compile_text("{\"uniqueItems\":true}");
    json_t *array = json_array();

    for (int i = 0; i < 1000; i++)
        json_array_append_new(array, i % 2 ? json_integer(i) : json_real(i + 0.5));
    ck_assert_msg(hg_schema_validate(schema, array, err, sizeof(err)), "%s", err);

    json_array_append_new(array, json_real(57.0));
    json_array_append_new(array, json_real(2.5));
    ck_assert(!hg_schema_validate(schema, array, err, sizeof(err)));
    ck_assert_str_eq(err,
                     "(root): items 57 and 1000 are equal, expected unique items");

    json_decref(array);
    hg_schema_free(schema);
}
END_TEST

/* 200000 items: comparing every pair would take minutes and hit the test
 * timeout, so this shows that equal and distinct items both stay fast. */
START_TEST(unique_items_large)
{
    char err[HG_SCHEMA_ERR_MAX];
    hg_schema *schema = compile_text("{\"uniqueItems\":true}");
    json_t *distinct = json_array();
    json_t *same = json_array();

    for (int i = 0; i < 200000; i++) {
        char id[32];

        snprintf(id, sizeof(id), "svc_%d", i);
        json_array_append_new(distinct, json_string(id));
        json_array_append_new(same, json_string("svc_sandbox_deep_clean"));
    }
    ck_assert_msg(hg_schema_validate(schema, distinct, err, sizeof(err)), "%s",
                  err);
    ck_assert(!hg_schema_validate(schema, same, err, sizeof(err)));
    ck_assert_str_eq(err, "(root): items 0 and 1 are equal, expected unique items");

    json_decref(distinct);
    json_decref(same);
    hg_schema_free(schema);
}
END_TEST

START_TEST(unique_items_long_objects)
{
    char err[HG_SCHEMA_ERR_MAX];
    hg_schema *schema = compile_text("{\"uniqueItems\":true}");
    json_t *array = json_array();

    for (int i = 0; i < 40; i++)
        json_array_append_new(array, json_pack("{s:i, s:[i]}", "a", i, "b", i));
    ck_assert_msg(hg_schema_validate(schema, array, err, sizeof(err)), "%s", err);

    json_array_append_new(array, json_pack("{s:[i], s:f}", "b", 7, "a", 7.0));
    ck_assert(!hg_schema_validate(schema, array, err, sizeof(err)));
    ck_assert_str_eq(err, "(root): items 7 and 40 are equal, expected unique items");

    json_decref(array);
    hg_schema_free(schema);
}
END_TEST

START_TEST(length_keywords)
{
    static const struct vcase cases[] = {
        {"{\"maxLength\":5}", "\"h\\u00e9llo\"", NULL},
        {"{\"maxLength\":5}", "\"h\\u00e9llo!\"",
         "(root): expected at most 5 characters, got 6"},
        {"{\"maxLength\":1}", "\"\\ud83d\\ude00\"", NULL},
        {"{\"minLength\":2}", "\"\\ud83d\\ude00\"",
         "(root): expected at least 2 characters, got 1"},
        {"{\"minLength\":1}", "\"\"", "(root): expected at least 1 character, got 0"},
        {"{\"maxLength\":1}", "\"ab\"", "(root): expected at most 1 character, got 2"},
        {"{\"minLength\":2}", "\"a\\u0000\"", NULL},
        {"{\"minLength\":3}", "12", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(pattern_keyword)
{
    static const struct vcase cases[] = {
        {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"USD\"", NULL},
        {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"usd\"",
         "(root): expected a string matching the pattern \"^[A-Z]{3}$\", got "
         "\"usd\""},
        {"{\"pattern\":\"b\"}", "\"abc\"", NULL},
        {"{\"pattern\":\"^[[:digit:]]+$\"}", "\"0123\"", NULL},
        {"{\"pattern\":\"^.{2}$\"}", "\"\\u00e9\\u00e9\"", NULL},
        {"{\"pattern\":\"^.{2}$\"}", "\"\\u00e9\"",
         "(root): expected a string matching the pattern \"^.{2}$\", got "
         "\"\u00e9\""},
        {"{\"pattern\":\"^[[:alpha:] -]+$\"}", "\"Zo\\u00eb L\\u00f3pez-Ada\"",
         NULL},
        {"{\"pattern\":\"^a$\"}", "\"a\\u0000\"",
         "(root): expected a string matching the pattern \"^a$\", got "
         "\"a\\u0000\""},
        {"{\"pattern\":\"^\\\\\\\\d$\"}", "\"\\\\d\"", NULL},
        {"{\"pattern\":\"^a\"}", "5", NULL},
        {"{\"pattern\":\"^x\"}", "\"0123456789012345678901234567890123456789012345"
                                 "678901234567890123456789\"",
         "(root): expected a string matching the pattern \"^x\", got "
         "\"0123456789012345678901234567890123456789012345678901234567890123\"..."},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

/* Patterns switch to C.UTF-8 only for the calling thread and only while
 * they run. */
START_TEST(pattern_keeps_locale)
{
    char err[HG_SCHEMA_ERR_MAX];
    bool valid = validate_text("{\"pattern\":\"^.$\"}", "\"\\u00e9\"", err,
                               sizeof(err));

    ck_assert_msg(valid, "%s", err);
    ck_assert_str_eq(setlocale(LC_CTYPE, NULL), "C");
    ck_assert(uselocale((locale_t)0) == LC_GLOBAL_LOCALE);
}
END_TEST

START_TEST(range_keywords)
{
    static const struct vcase cases[] = {
        {"{\"minimum\":0}", "0", NULL},
        {"{\"minimum\":0}", "-1", "(root): expected a number >= 0, got -1"},
        {"{\"minimum\":0}", "-0.5", "(root): expected a number >= 0, got -0.5"},
        {"{\"exclusiveMinimum\":0}", "0.001", NULL},
        {"{\"exclusiveMinimum\":0}", "0", "(root): expected a number > 0, got 0"},
        {"{\"maximum\":10.5}", "10.5", NULL},
        {"{\"maximum\":10.5}", "11", "(root): expected a number <= 10.5, got 11"},
        {"{\"exclusiveMaximum\":10}", "9", NULL},
        {"{\"exclusiveMaximum\":10}", "10.0", "(root): expected a number < 10, got 10"},
        {"{\"maximum\":9007199254740992}", "9007199254740993",
         "(root): expected a number <= 9007199254740992, got 9007199254740993"},
        {"{\"minimum\":0.1}", "0.1", NULL},
        {"{\"minimum\":5}", "\"1\"", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(multiple_of_keyword)
{
    static const struct vcase cases[] = {
        {"{\"multipleOf\":5}", "10", NULL},
        {"{\"multipleOf\":5}", "-15", NULL},
        {"{\"multipleOf\":5}", "7", "(root): expected a multiple of 5, got 7"},
        {"{\"multipleOf\":2}", "4.0", NULL},
        {"{\"multipleOf\":2}", "4.5", "(root): expected a multiple of 2, got 4.5"},
        {"{\"multipleOf\":0.1}", "0.3", NULL},
        {"{\"multipleOf\":0.1}", "0.35", "(root): expected a multiple of 0.1, got 0.35"},
        {"{\"multipleOf\":0.01}", "19.99", NULL},
        {"{\"multipleOf\":0.01}", "19.995",
         "(root): expected a multiple of 0.01, got 19.995"},
        {"{\"multipleOf\":0.1}", "123456789.1", NULL},
        {"{\"multipleOf\":0.1}", "1e17", NULL},
        {"{\"multipleOf\":0.01}", "1000000000000", NULL},
        {"{\"multipleOf\":0.25}", "-2.75", NULL},
        {"{\"multipleOf\":1.5}", "4.5", NULL},
        {"{\"multipleOf\":1.5}", "4", "(root): expected a multiple of 1.5, got 4"},
        {"{\"multipleOf\":1e-300}", "3e-299", NULL},
        {"{\"multipleOf\":3e-300}", "1e-320",
         "(root): expected a multiple of 3e-300, got 1e-320"},
        {"{\"multipleOf\":7}", "1e300", "(root): expected a multiple of 7, got 1e+300"},
        {"{\"multipleOf\":5}", "1e300", NULL},
        {"{\"multipleOf\":7}", "-9223372036854775807", NULL},
        {"{\"multipleOf\":2}", "-9223372036854775808", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(format_date_time)
{
    static const char *const valid[] = {
        "2027-03-15T09:00:00Z",          "2027-03-15T09:00:00.123-05:00",
        "2027-03-15t09:00:00z",          "1985-04-12T23:20:50.52Z",
        "2024-02-29T00:00:00Z",          "2000-02-29T12:00:00+14:00",
        "2016-12-31T23:59:60Z",          "2017-01-01T00:59:60+01:00",
        "2016-12-31T18:59:60-05:00",     "0000-01-01T00:00:00Z",
    };
    static const char *const invalid[] = {
        "2027-03-15",
        "2027-13-01T00:00:00Z",
        "2027-00-10T00:00:00Z",
        "2027-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2027-03-15T24:00:00Z",
        "2027-03-15T09:60:00Z",
        "2027-03-15T09:00:00",
        "2027-03-15 09:00:00Z",
        "2027-03-15T09:00:00.Z",
        "2027-03-15T12:00:60Z",
        "2027-03-15T09:00:00+5:00",
        "2027-03-15T09:00:00+05:60",
        "2027-03-15T09:00:00+24:00",
        "2027-03-15T09:00:00+0500",
        "2027-3-15T09:00:00Z",
        "2027-03-15T09:00:00Z ",
        "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x97-03-15T09:00:00Z",
        "",
    };

    run_format("date-time", valid, COUNT(valid), invalid, COUNT(invalid));
}
END_TEST

START_TEST(format_date)
{
    static const char *const valid[] = {"2027-03-16", "2024-02-29", "9999-12-31"};
    static const char *const invalid[] = {
        "2027-02-30", "2027-03-16T00:00:00Z", "27-03-16", "2027/03/16", "",
    };

    run_format("date", valid, COUNT(valid), invalid, COUNT(invalid));
}
END_TEST

START_TEST(format_email)
{
    static const char *const valid[] = {
        "ada@example.com", "first.last+tag@mail.example.co.uk", "a@localhost",
        "o'brien@example.com", "x-y_z@ex-ample.com",
    };
    static const char *const invalid[] = {
        "ada",           "ada@",           "@example.com",
        "a..b@example.com", ".a@example.com", "a.@example.com",
        "a@-example.com", "a@example-.com", "a@example..com",
        "a b@example.com", "a@b@example.com", "a@example.com.",
        "\"a\"@example.com", "a@[192.0.2.1]", "",
    };

    run_format("email", valid, COUNT(valid), invalid, COUNT(invalid));
}
END_TEST

START_TEST(format_uri)
{
    static const char *const valid[] = {
        "https://example.com/receipts/1?x=1#top",
        "urn:isbn:0451450523",
        "mailto:ada@example.com",
        "http://[2001:db8::1]:8080/a%20b",
        "x+y.z-w:",
    };
    static const char *const invalid[] = {
        "example.com/path",         "/relative",
        "https://exa mple.com",     "https://example.com/%zz",
        "https://example.com/%2",   "1http://example.com",
        "https://example.com/#a#b", "https://example.com/\xc3\xa9",
        "https://example.com/<x>",  "",
    };

    run_format("uri", valid, COUNT(valid), invalid, COUNT(invalid));
}
END_TEST

START_TEST(format_uuid)
{
    static const char *const valid[] = {
        "123e4567-e89b-12d3-a456-426614174000",
        "123E4567-E89B-12D3-A456-426614174000",
    };
    static const char *const invalid[] = {
        "123e4567e89b12d3a456426614174000",
        "123e4567-e89b-12d3-a456-42661417400g",
        "123e4567-e89b-12d3-a456-4266141740000",
        "{123e4567-e89b-12d3-a456-426614174000}",
    };

    run_format("uuid", valid, COUNT(valid), invalid, COUNT(invalid));
}
END_TEST

START_TEST(format_messages)
{
    static const struct vcase cases[] = {
        {"{\"format\":\"date-time\"}", "\"2027-13-01T00:00:00Z\"",
         "(root): expected a date-time (RFC 3339), got \"2027-13-01T00:00:00Z\""},
        {"{\"format\":\"email\"}", "\"ada\"",
         "(root): expected an email address, got \"ada\""},
        {"{\"format\":\"hostname\"}", "\"not a host name!\"", NULL},
        {"{\"format\":\"date\"}", "5", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(one_of_keyword)
{
    static const char overlap[] =
        "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}";
    static const struct vcase cases[] = {
        {overlap, "1", NULL},
        {overlap, "2.5", NULL},
        {overlap, "3",
         "(root): matches schemas 0 and 1 in oneOf, expected exactly one"},
        {overlap, "1.5",
         "(root): matches none of the 2 schemas in oneOf (closest: schema 0, "
         "which fails with \"(root): expected an integer, got a number\")"},
        {"{\"properties\":{\"fee\":{\"oneOf\":[{\"type\":\"null\"},{\"type\":"
         "\"object\",\"properties\":{\"amount\":{\"type\":\"integer\"}}}]}}}",
         "{\"fee\":{\"amount\":\"x\"}}",
         "/fee: matches none of the 2 schemas in oneOf (closest: schema 1, "
         "which fails with \"/fee/amount: expected an integer, got a string\")"},
        {"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"string\"},{\"type\":"
         "\"integer\"}]}",
         "\"a\"", "(root): matches schemas 0 and 1 in oneOf, expected exactly one"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(any_of_keyword)
{
    static const char either[] =
        "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    static const struct vcase cases[] = {
        {either, "1", NULL},
        {either, "\"a\"", NULL},
        {either, "true",
         "(root): matches none of the 2 schemas in anyOf (closest: schema 0, "
         "which fails with \"(root): expected a string, got a boolean\")"},
        {"{\"anyOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(all_of_keyword)
{
    static const char both[] =
        "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":5}]}";
    static const struct vcase cases[] = {
        {both, "5", NULL},
        {both, "3", "(root): expected a number >= 5, got 3"},
        {both, "5.5", "(root): expected an integer, got a number"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(not_keyword)
{
    static const struct vcase cases[] = {
        {"{\"not\":{\"type\":\"string\"}}", "1", NULL},
        {"{\"not\":{\"type\":\"string\"}}", "\"a\"",
         "(root): matches the schema in not, expected it not to"},
        {"{\"properties\":{\"a\":{\"not\":{\"type\":\"integer\"}},\"b\":"
         "{\"type\":\"string\"}}}",
         "{\"a\":\"x\",\"b\":1}", "/b: expected a string, got an integer"},
        {"{\"not\":{\"not\":{\"minimum\":3}}}", "4", NULL},
        {"{\"not\":{\"not\":{\"minimum\":3}}}", "2",
         "(root): matches the schema in not, expected it not to"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(ref_keyword)
{
    static const char tree[] =
        "{\"$defs\":{\"node\":{\"type\":\"object\",\"required\":[\"name\"],"
        "\"properties\":{\"name\":{\"type\":\"string\"},\"children\":{\"type\":"
        "\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}}}},"
        "\"$ref\":\"#/$defs/node\"}";
    static const struct vcase cases[] = {
        {"{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},"
         "\"properties\":{\"n\":{\"$ref\":\"#/$defs/pos\"}}}",
         "{\"n\":0}", "/n: expected a number >= 1, got 0"},
        {tree, "{\"name\":\"a\",\"children\":[{\"name\":\"b\"}]}", NULL},
        {tree,
         "{\"name\":\"a\",\"children\":[{\"name\":\"b\",\"children\":"
         "[{\"name\":3}]}]}",
         "/children/0/children/0/name: expected a string, got an integer"},
        {"{\"$defs\":{\"a/b\":{\"type\":\"string\"},\"c~d\":{\"minLength\":2}},"
         "\"allOf\":[{\"$ref\":\"#/$defs/a~1b\"},{\"$ref\":\"#/$defs/c~0d\"}]}",
         "1", "(root): expected a string, got an integer"},
        {"{\"$defs\":{\"a/b\":{\"type\":\"string\"},\"c~d\":{\"minLength\":2}},"
         "\"allOf\":[{\"$ref\":\"#/$defs/a~1b\"},{\"$ref\":\"#/$defs/c~0d\"}]}",
         "\"x\"", "(root): expected at least 2 characters, got 1"},
        {"{\"$defs\":{\"s\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/s\","
         "\"maxLength\":2}",
         "\"abc\"", "(root): expected at most 2 characters, got 3"},
        {"{\"$defs\":{\"s\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/s\","
         "\"maxLength\":2}",
         "5", "(root): expected a string, got an integer"},
        {"{\"$defs\":{\"later\":{\"$ref\":\"#/$defs/last\"},\"last\":{\"const\":"
         "1}},\"$ref\":\"#/$defs/later\"}",
         "2", "(root): expected 1, got 2"},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(ref_cycle_guard)
{
    static const char guard[] =
        "(root): more than 32 $ref in a row at this location; the schema has a "
        "$ref cycle that never descends into the instance";
    static const struct vcase cases[] = {
        {"{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":"
         "\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}",
         "1", guard},
        {"{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"not\":{\"$ref\":"
         "\"#/$defs/a\"}}",
         "1", guard},
        {"{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"anyOf\":[{\"$ref\":"
         "\"#/$defs/a\"},true]}",
         "1", guard},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

/* Each level of this schema applies 11 nested subschemas, so an instance of
 * 250 levels needs more than HG_SCHEMA_MAX_EVAL_DEPTH. */
START_TEST(eval_depth_guard)
{
    static const char schema_text[] =
        "{\"$defs\":{\"a\":{\"items\":{\"allOf\":[{\"allOf\":[{\"allOf\":"
        "[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"$ref\":"
        "\"#/$defs/a\"}]}]}]}]}]}]}]}]}}},\"$ref\":\"#/$defs/a\"}";
    char err[4096];
    hg_schema *schema = compile_text(schema_text);
    json_t *shallow = nested_arrays(100);
    json_t *deep = nested_arrays(250);

    ck_assert_msg(hg_schema_validate(schema, shallow, err, sizeof(err)), "%s",
                  err);
    ck_assert(!hg_schema_validate(schema, deep, err, sizeof(err)));
    ck_assert_msg(strstr(err, ": validation nests more than 2048 subschemas "
                              "here") != NULL,
                  "error: %s", err);
    json_decref(shallow);
    json_decref(deep);
    hg_schema_free(schema);
}
END_TEST

START_TEST(depth_guard_limit)
{
    char err[4096];
    char *pointer = repeat("/0", HG_SCHEMA_MAX_DEPTH);
    char expected[4096];
    hg_schema *schema = compile_text("{}");
    json_t *at_limit = nested_arrays(HG_SCHEMA_MAX_DEPTH);
    json_t *past_limit = nested_arrays(HG_SCHEMA_MAX_DEPTH + 1);

    snprintf(expected, sizeof(expected),
             "%s: arrays and objects nest deeper than 256 levels", pointer);
    ck_assert_msg(hg_schema_validate(schema, at_limit, err, sizeof(err)), "%s",
                  err);
    ck_assert(!hg_schema_validate(schema, past_limit, err, sizeof(err)));
    ck_assert_str_eq(err, expected);

    free(pointer);
    json_decref(at_limit);
    json_decref(past_limit);
    hg_schema_free(schema);
}
END_TEST

START_TEST(depth_guard_huge)
{
    char err[HG_SCHEMA_ERR_MAX];
    hg_schema *schema = compile_text(
        "{\"$defs\":{\"t\":{\"items\":{\"$ref\":\"#/$defs/t\"},"
        "\"additionalProperties\":{\"$ref\":\"#/$defs/t\"}}},"
        "\"$ref\":\"#/$defs/t\"}");
    json_t *deep = nested_arrays(20000);
    json_t *objects = json_object();

    for (int i = 0; i < 300; i++)
        objects = json_pack("{s:o}", "a", objects);

    ck_assert(!hg_schema_validate(schema, deep, err, sizeof(err)));
    ck_assert(!hg_schema_validate(schema, objects, err, sizeof(err)));
    ck_assert_msg(strncmp(err, "/a/a/a/", 7) == 0, "error: %s", err);
    json_decref(deep);
    json_decref(objects);
    hg_schema_free(schema);
}
END_TEST

START_TEST(boolean_schemas)
{
    static const struct vcase cases[] = {
        {"true", "{\"anything\":[1,2]}", NULL},
        {"false", "null", "(root): no value is allowed here because the schema is false"},
        {"{}", "\"x\"", NULL},
    };

    run_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(compile_unknown_keyword)
{
    static const struct ccase cases[] = {
        {"{\"type\":\"string\",\"patern\":\"x\"}", "(root): unknown keyword \"patern\""},
        {"{\"properties\":{\"id\":{\"minLenght\":1}}}",
         "/properties/id: unknown keyword \"minLenght\""},
        {"{\"if\":{},\"then\":{}}", "(root): unknown keyword \"if\""},
        {"{\"items\":{\"readOnly\":true}}", "/items: unknown keyword \"readOnly\""},
        {"{\"allOf\":[{},{\"dependentRequired\":{}}]}",
         "/allOf/1: unknown keyword \"dependentRequired\""},
        {"{\"$defs\":{\"a\":{\"unevaluatedProperties\":false}}}",
         "/$defs/a: unknown keyword \"unevaluatedProperties\""},
    };

    run_compile_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(compile_ecma_escapes)
{
    static const struct ccase cases[] = {
        {"{\"pattern\":\"^\\\\d+$\"}",
         "/pattern: pattern \"^\\d+$\" uses \\d, an ECMA-262 class that POSIX "
         "regular expressions do not support; write [0-9] instead"},
        {"{\"pattern\":\"\\\\w\"}",
         "/pattern: pattern \"\\w\" uses \\w, an ECMA-262 class that POSIX "
         "regular expressions do not support; write [[:alnum:]_] instead"},
        {"{\"pattern\":\"a\\\\s\"}",
         "/pattern: pattern \"a\\s\" uses \\s, an ECMA-262 class that POSIX "
         "regular expressions do not support; write [[:space:]] instead"},
        {"{\"pattern\":\"\\\\D\"}",
         "/pattern: pattern \"\\D\" uses \\D, an ECMA-262 class that POSIX "
         "regular expressions do not support; write [^0-9] instead"},
        {"{\"properties\":{\"a\":{\"pattern\":\"[\\\\\\\\]\\\\S\"}}}",
         "/properties/a/pattern: pattern \"[\\\\]\\S\" uses \\S, an ECMA-262 "
         "class that POSIX regular expressions do not support; write "
         "[^[:space:]] instead"},
        {"{\"patternProperties\":{\"^\\\\d\":{}}}",
         "/patternProperties/^\\d: pattern \"^\\d\" uses \\d, an ECMA-262 "
         "class that POSIX regular expressions do not support; write [0-9] "
         "instead"},
    };

    run_compile_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(compile_bad_regex)
{
    static const char *const patterns[] = {
        "{\"pattern\":\"(ab\"}",
        "{\"pattern\":\"a{2,1}\"}",
        "{\"pattern\":\"(?:ab)\"}",
        "{\"pattern\":\"[b-a]\"}",
    };

    for (size_t i = 0; i < COUNT(patterns); i++) {
        char err[HG_SCHEMA_ERR_MAX];
        json_t *json = parse(patterns[i], 0);
        hg_schema *schema = hg_schema_compile(json, err, sizeof(err));

        json_decref(json);
        ck_assert_msg(schema == NULL, "%s compiled", patterns[i]);
        ck_assert_msg(strncmp(err, "/pattern: invalid pattern \"", 27) == 0,
                      "%s: %s", patterns[i], err);
        ck_assert_msg(strstr(err, "(patterns are POSIX extended regular "
                                  "expressions)") != NULL,
                      "%s: %s", patterns[i], err);
    }
}
END_TEST

START_TEST(compile_escaped_backslash)
{
    hg_schema *schema = compile_text("{\"pattern\":\"^\\\\\\\\d[\\\\\\\\]$\"}");

    hg_schema_free(schema);
}
END_TEST

START_TEST(compile_refs)
{
    static const struct ccase cases[] = {
        {"{\"$ref\":\"other.json#/$defs/a\"}",
         "/$ref: $ref \"other.json#/$defs/a\" is not supported; use a local "
         "reference of the form \"#/$defs/name\""},
        {"{\"$ref\":\"#/definitions/a\"}",
         "/$ref: $ref \"#/definitions/a\" is not supported; use a local "
         "reference of the form \"#/$defs/name\""},
        {"{\"$ref\":\"#\"}",
         "/$ref: $ref \"#\" is not supported; use a local reference of the "
         "form \"#/$defs/name\""},
        {"{\"$ref\":5}",
         "/$ref: $ref that is not a string is not supported; use a local "
         "reference of the form \"#/$defs/name\""},
        {"{\"$defs\":{\"a\":{}},\"$ref\":\"#/$defs/missing\"}",
         "/$ref: $ref \"#/$defs/missing\" names no entry of the root $defs"},
        {"{\"$defs\":{\"a\":{\"properties\":{\"b\":{\"$ref\":\"#/$defs/a/x\"}}}}}",
         "/$defs/a/properties/b/$ref: $ref \"#/$defs/a/x\" names no entry of "
         "the root $defs"},
        {"{\"properties\":{\"a\":{\"$defs\":{}}}}",
         "/properties/a/$defs: $defs is supported only at the schema root"},
        {"{\"$defs\":[]}", "/$defs: $defs must be an object of schemas"},
    };

    run_compile_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(compile_bad_values)
{
    static const struct ccase cases[] = {
        {"5", "(root): a schema must be an object or a boolean"},
        {"{\"properties\":{\"a\":\"string\"}}",
         "/properties/a: a schema must be an object or a boolean"},
        {"{\"items\":[{}]}",
         "/items: items must be a schema; draft 2020-12 uses prefixItems for "
         "per-position schemas"},
        {"{\"type\":\"str\"}",
         "/type: type must be one of \"object\", \"array\", \"string\", "
         "\"integer\", \"number\", \"boolean\", \"null\" or a non-empty array of "
         "them without duplicates"},
        {"{\"type\":[\"string\",\"string\"]}",
         "/type: type must be one of \"object\", \"array\", \"string\", "
         "\"integer\", \"number\", \"boolean\", \"null\" or a non-empty array of "
         "them without duplicates"},
        {"{\"minLength\":-1}", "/minLength: minLength must be a non-negative integer"},
        {"{\"maxItems\":1.5}", "/maxItems: maxItems must be a non-negative integer"},
        {"{\"minProperties\":\"1\"}",
         "/minProperties: minProperties must be a non-negative integer"},
        {"{\"multipleOf\":0}", "/multipleOf: multipleOf must be a number greater than 0"},
        {"{\"exclusiveMinimum\":true}",
         "/exclusiveMinimum: exclusiveMinimum must be a number"},
        {"{\"maximum\":\"10\"}", "/maximum: maximum must be a number"},
        {"{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}",
         "/$schema: $schema must be \"" DRAFT "\", the only draft supported"},
        {"{\"enum\":[]}", "/enum: enum must be a non-empty array"},
        {"{\"required\":[\"a\",\"a\"]}",
         "/required: required must be an array of distinct strings"},
        {"{\"required\":\"a\"}",
         "/required: required must be an array of distinct strings"},
        {"{\"allOf\":[]}", "/allOf: allOf must be a non-empty array of schemas"},
        {"{\"oneOf\":{}}", "/oneOf: oneOf must be a non-empty array of schemas"},
        {"{\"prefixItems\":[{},{\"type\":1}]}",
         "/prefixItems/1/type: type must be one of \"object\", \"array\", "
         "\"string\", \"integer\", \"number\", \"boolean\", \"null\" or a "
         "non-empty array of them without duplicates"},
        {"{\"format\":5}", "/format: format must be a string"},
        {"{\"pattern\":5}", "/pattern: pattern must be a string"},
        {"{\"uniqueItems\":1}", "/uniqueItems: uniqueItems must be a boolean"},
        {"{\"properties\":[]}", "/properties: properties must be an object of schemas"},
        {"{\"patternProperties\":[]}",
         "/patternProperties: patternProperties must be an object of schemas"},
    };

    run_compile_cases(cases, COUNT(cases));
}
END_TEST

START_TEST(compile_nul_in_pattern)
{
    char err[HG_SCHEMA_ERR_MAX];
    json_t *json = json_pack("{s:s%}", "pattern", "a\0b", (size_t)3);
    hg_schema *schema = hg_schema_compile(json, err, sizeof(err));

    ck_assert_ptr_null(schema);
    ck_assert_str_eq(err, "/pattern: pattern contains a NUL character");
    json_decref(json);
}
END_TEST

START_TEST(compile_annotations)
{
    hg_schema *schema = compile_text(
        "{\"$schema\":\"" DRAFT "\",\"$id\":\"https://example.com/s\","
        "\"title\":\"t\",\"description\":\"d\",\"examples\":[1],"
        "\"default\":1,\"$comment\":\"c\",\"deprecated\":true,"
        "\"properties\":{\"a\":{\"title\":\"nested\",\"format\":\"color\"}}}");

    hg_schema_free(schema);
}
END_TEST

START_TEST(compile_nesting_limit)
{
    char err[HG_SCHEMA_ERR_MAX];
    json_t *json = json_object();
    hg_schema *schema;

    for (int i = 0; i < HG_SCHEMA_MAX_SCHEMA_DEPTH + 10; i++)
        json = json_pack("{s:o}", "not", json);
    schema = hg_schema_compile(json, err, sizeof(err));
    json_decref(json);

    ck_assert_ptr_null(schema);
    ck_assert_msg(strstr(err, ": subschemas nest deeper than 64 levels") != NULL,
                  "error: %s", err);
}
END_TEST

START_TEST(compile_copies_schema)
{
    char err[HG_SCHEMA_ERR_MAX];
    json_t *json = parse("{\"enum\":[\"a\"],\"pattern\":\"^a$\"}", 0);
    hg_schema *schema = hg_schema_compile(json, err, sizeof(err));
    json_t *instance = json_string("b");

    json_object_clear(json);
    json_decref(json);
    ck_assert_ptr_nonnull(schema);
    ck_assert(!hg_schema_validate(schema, instance, err, sizeof(err)));
    ck_assert_str_eq(err, "(root): expected one of \"a\"; got \"b\"");
    json_decref(instance);
    hg_schema_free(schema);
}
END_TEST

START_TEST(error_buffer_sizes)
{
    char small[10];
    hg_schema *schema = compile_text("{\"type\":\"string\"}");
    json_t *instance = json_integer(1);
    json_t *bad = json_integer(1);

    ck_assert(!hg_schema_validate(schema, instance, NULL, 0));
    ck_assert(!hg_schema_validate(schema, instance, small, sizeof(small)));
    ck_assert_str_eq(small, "(root): e");
    ck_assert_ptr_null(hg_schema_compile(bad, NULL, 0));
    ck_assert(!hg_schema_validate(schema, NULL, small, sizeof(small)));

    json_decref(instance);
    json_decref(bad);
    hg_schema_free(schema);
    hg_schema_free(NULL);
}
END_TEST

/* A message cut inside a multi-byte character must stay valid UTF-8, which
 * json_string() checks. */
START_TEST(error_truncation_utf8)
{
    hg_schema *schema = compile_text(
        "{\"properties\":{\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\":"
        "{\"type\":\"string\"}}}");
    json_t *instance = parse("{\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\":1}", 0);

    for (size_t size = 1; size < 40; size++) {
        char err[40];
        json_t *text;

        ck_assert(!hg_schema_validate(schema, instance, err, size));
        ck_assert_msg(strlen(err) < size, "size %zu: %s", size, err);
        text = json_string(err);
        ck_assert_msg(text != NULL, "size %zu: invalid UTF-8 in \"%s\"", size, err);
        json_decref(text);
    }
    json_decref(instance);
    hg_schema_free(schema);
}
END_TEST

START_TEST(parse_date_time_seconds)
{
    static const struct {
        const char *text;
        int64_t seconds;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2027-06-30T00:00:00Z", 1814313600},
        {"2027-06-30T02:00:00+02:00", 1814313600},
        {"2027-06-29T19:00:00.999-05:00", 1814313600},
        {"2016-12-31T23:59:60Z", 1483228799},
        {"1969-12-31T23:59:59.5Z", -1},
        {"0000-01-01T00:00:00Z", -62167219200},
        {"9999-12-31T23:59:59Z", 253402300799},
    };

    for (size_t i = 0; i < COUNT(cases); i++) {
        int64_t seconds = 42;

        ck_assert_msg(hg_schema_parse_date_time(cases[i].text,
                                                strlen(cases[i].text), &seconds),
                      "%s rejected", cases[i].text);
        ck_assert_msg(seconds == cases[i].seconds, "%s: %lld, expected %lld",
                      cases[i].text, (long long)seconds,
                      (long long)cases[i].seconds);
    }
}
END_TEST

START_TEST(parse_date_time_length)
{
    static const char text[] = "2027-06-30T00:00:00Zjunk";

    ck_assert(hg_schema_parse_date_time(text, 20, NULL));
    ck_assert(!hg_schema_parse_date_time(text, strlen(text), NULL));
    ck_assert(!hg_schema_parse_date_time(text, 19, NULL));
}
END_TEST

/* xorshift64*, so the random instances are the same on every run. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

static json_t *random_value(uint64_t *state, int depth)
{
    static const char *const strings[] = {
        "", "a", "booking.created", "2027-03-15T09:00:00Z", "ada@example.com",
        "\xc3\xa9\xc3\xa9", "USD", "x-trace", "id",
    };
    uint64_t r = next_random(state);
    json_t *container;

    switch (r % (depth > 4 ? 5 : 7)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(r & 64);
    case 2:
        return json_integer((json_int_t)(r >> 8) % 2000 - 1000);
    case 3:
        return json_real((double)((r >> 8) % 1000) / 8.0);
    case 4:
        return json_string(strings[(r >> 8) % COUNT(strings)]);
    case 5:
        container = json_array();
        for (uint64_t i = 0; i < (r >> 8) % 5; i++)
            json_array_append_new(container, random_value(state, depth + 1));
        return container;
    default:
        container = json_object();
        for (uint64_t i = 0; i < (r >> 8) % 5; i++)
            json_object_set_new(container, strings[next_random(state) % COUNT(strings)],
                                random_value(state, depth + 1));
        return container;
    }
}

/* Random instances against a schema that uses most keywords: every result
 * must come with an error message exactly when it is a failure. */
START_TEST(random_instances)
{
    static const char schema_text[] =
        "{\"$defs\":{\"v\":{\"anyOf\":[{\"type\":[\"string\",\"null\"],"
        "\"maxLength\":3},{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/v\"},"
        "\"uniqueItems\":true},{\"type\":\"object\",\"additionalProperties\":"
        "{\"$ref\":\"#/$defs/v\"}},{\"type\":\"number\",\"multipleOf\":0.5,"
        "\"exclusiveMaximum\":500}]}},"
        "\"oneOf\":[{\"type\":\"object\",\"required\":[\"id\"],\"properties\":"
        "{\"id\":{\"type\":\"integer\",\"minimum\":-500},\"a\":{\"format\":"
        "\"date-time\"}},\"patternProperties\":{\"^x-\":{\"not\":{\"type\":"
        "\"null\"}}},\"additionalProperties\":{\"$ref\":\"#/$defs/v\"}},"
        "{\"type\":\"array\",\"prefixItems\":[{\"enum\":[null,true,\"a\"]}],"
        "\"items\":{\"$ref\":\"#/$defs/v\"},\"maxItems\":3},{\"$ref\":"
        "\"#/$defs/v\"}]}";
    hg_schema *schema = compile_text(schema_text);
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    int valid_count = 0;

    for (int i = 0; i < 20000; i++) {
        char err[HG_SCHEMA_ERR_MAX];
        json_t *instance = random_value(&state, 0);
        bool valid = hg_schema_validate(schema, instance, err, sizeof(err));
        json_t *text = json_string(err);

        ck_assert_msg(valid == (err[0] == '\0'), "instance %d: %s", i, err);
        ck_assert_msg(text != NULL, "instance %d: invalid UTF-8", i);
        valid_count += valid;
        json_decref(text);
        json_decref(instance);
    }
    ck_assert_msg(valid_count > 1000, "only %d valid instances", valid_count);
    ck_assert_msg(valid_count < 19000, "%d valid instances", valid_count);
    hg_schema_free(schema);
}
END_TEST

static Suite *jsonschema_suite(void)
{
    Suite *s = suite_create("jsonschema");
    TCase *keywords = tcase_create("keywords");
    TCase *formats = tcase_create("formats");
    TCase *applicators = tcase_create("applicators");
    TCase *guards = tcase_create("guards");
    TCase *compile = tcase_create("compile");
    TCase *api = tcase_create("api");

    tcase_add_test(keywords, type_keyword);
    tcase_add_test(keywords, type_error_path);
    tcase_add_test(keywords, type_integer_as_real);
    tcase_add_test(keywords, enum_keyword);
    tcase_add_test(keywords, const_keyword);
    tcase_add_test(keywords, const_long_value);
    tcase_add_test(keywords, required_keyword);
    tcase_add_test(keywords, properties_keyword);
    tcase_add_test(keywords, additional_properties_keyword);
    tcase_add_test(keywords, pattern_properties_keyword);
    tcase_add_test(keywords, property_count_keywords);
    tcase_add_test(keywords, items_keywords);
    tcase_add_test(keywords, item_count_keywords);
    tcase_add_test(keywords, unique_items_keyword);
    tcase_add_test(keywords, unique_items_long);
    tcase_add_test(keywords, unique_items_long_objects);
    tcase_add_test(keywords, length_keywords);
    tcase_add_test(keywords, pattern_keyword);
    tcase_add_test(keywords, pattern_keeps_locale);
    tcase_add_test(keywords, range_keywords);
    tcase_add_test(keywords, multiple_of_keyword);
    tcase_add_test(keywords, boolean_schemas);
    suite_add_tcase(s, keywords);

    tcase_add_test(formats, format_date_time);
    tcase_add_test(formats, format_date);
    tcase_add_test(formats, format_email);
    tcase_add_test(formats, format_uri);
    tcase_add_test(formats, format_uuid);
    tcase_add_test(formats, format_messages);
    tcase_add_test(formats, parse_date_time_seconds);
    tcase_add_test(formats, parse_date_time_length);
    suite_add_tcase(s, formats);

    tcase_add_test(applicators, one_of_keyword);
    tcase_add_test(applicators, any_of_keyword);
    tcase_add_test(applicators, all_of_keyword);
    tcase_add_test(applicators, not_keyword);
    tcase_add_test(applicators, ref_keyword);
    suite_add_tcase(s, applicators);

    tcase_add_test(guards, ref_cycle_guard);
    tcase_add_test(guards, eval_depth_guard);
    tcase_add_test(guards, depth_guard_limit);
    tcase_add_test(guards, depth_guard_huge);
    tcase_add_test(guards, unique_items_large);
    tcase_add_test(guards, random_instances);
    tcase_set_timeout(guards, 60);
    suite_add_tcase(s, guards);

    tcase_add_test(compile, compile_unknown_keyword);
    tcase_add_test(compile, compile_ecma_escapes);
    tcase_add_test(compile, compile_bad_regex);
    tcase_add_test(compile, compile_escaped_backslash);
    tcase_add_test(compile, compile_refs);
    tcase_add_test(compile, compile_bad_values);
    tcase_add_test(compile, compile_nul_in_pattern);
    tcase_add_test(compile, compile_annotations);
    tcase_add_test(compile, compile_nesting_limit);
    tcase_add_test(compile, compile_copies_schema);
    suite_add_tcase(s, compile);

    tcase_add_test(api, error_buffer_sizes);
    tcase_add_test(api, error_truncation_utf8);
    suite_add_tcase(s, api);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jsonschema_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
