/* SPDX-License-Identifier: MIT */
#include "common/json_intake.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A body given as a literal that may contain NUL bytes, with the offset of
 * the expected error where the table needs one. */
struct body_case {
    const char *body;
    size_t len;
    size_t offset;
};

#define BODY(s) {(s), sizeof(s) - 1, 0}
#define BODY_AT(s, offset) {(s), sizeof(s) - 1, (offset)}
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Runs the intake on a heap copy of exactly len bytes, so AddressSanitizer
 * reports any read past len. The info is filled with 'x' bytes first, so the
 * checks show that every field is set. */
static hg_json_intake_result intake(const char *body, size_t len, int max_depth,
                                    hg_json_intake_info *info)
{
    char *copy = NULL;
    hg_json_intake_result result;

    if (len > 0) {
        copy = malloc(len);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, body, len);
    }
    memset(info, 'x', sizeof(*info));
    info->type[HG_EVENT_TYPE_MAX] = '\0';
    result = hg_json_intake(copy, len, max_depth, info);
    free(copy);
    return result;
}

/* A growable string for building large bodies. */
struct text {
    char *data;
    size_t len;
    size_t cap;
};

static void text_add(struct text *t, const char *part, size_t times)
{
    size_t part_len = strlen(part);

    for (size_t i = 0; i < times; i++) {
        if (t->len + part_len + 1 > t->cap) {
            t->cap = (t->len + part_len + 1) * 2;
            t->data = realloc(t->data, t->cap);
            ck_assert_ptr_nonnull(t->data);
        }
        memcpy(t->data + t->len, part, part_len);
        t->len += part_len;
        t->data[t->len] = '\0';
    }
}

/* Builds an object nested `levels` deep: {"a":{"a":...{}...}}. */
static struct text nested_objects(size_t levels)
{
    struct text t = {NULL, 0, 0};

    text_add(&t, "{\"a\":", levels - 1);
    text_add(&t, "{}", 1);
    text_add(&t, "}", levels - 1);
    return t;
}

/* Builds {"a":[[...]]} with `levels` levels in all, the object included. */
static struct text nested_arrays_in_object(size_t levels)
{
    struct text t = {NULL, 0, 0};

    text_add(&t, "{\"a\":", 1);
    text_add(&t, "[", levels - 1);
    text_add(&t, "]", levels - 1);
    text_add(&t, "}", 1);
    return t;
}

static const struct body_case valid_cases[] = {
    BODY("{}"),
    BODY(" {} "),
    BODY("\t\r\n {}\n"),
    BODY("{\"a\":1}"),
    BODY("{\"a\":\"b\"}"),
    BODY("{\"a\":true,\"b\":false,\"c\":null}"),
    BODY("{\"a\":[1,\"x\",true,false,null,{},[]]}"),
    BODY("{\"a\":{\"b\":{\"c\":{}}}}"),
    BODY("{\"a\":[]}"),
    BODY("{\"\":1}"),
    BODY("{\"a\":1,\"a\":2}"),
    BODY("{ \"a\" : [ 1 , { } ] , \"b\" : { } }"),
    BODY("{\"a\":0}"),
    BODY("{\"a\":-0}"),
    BODY("{\"a\":10}"),
    BODY("{\"a\":0.5}"),
    BODY("{\"a\":-1.25e-10}"),
    BODY("{\"a\":1E+5}"),
    BODY("{\"a\":1e5}"),
    BODY("{\"a\":1e-0}"),
    BODY("{\"a\":-0.0e0}"),
    BODY("{\"a\":123456789012345678901234567890}"),
    BODY("{\"a\":1e400}"),
    BODY("{\"a\":\"\\u0000\"}"),
    BODY("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"),
    BODY("{\"a\":\"\\uD83D\\uDE00\"}"),
    BODY("{\"a\":\"\\ud800\"}"),
    BODY("{\"a\":\"\\uDC00x\"}"),
    BODY("{\"a\":\"\\uABCD\\uabcd\\u12Ef\"}"),
    BODY("{\"a\":\"caf\xC3\xA9\"}"),
    BODY("{\"a\":\"\xC2\x80\"}"),
    BODY("{\"a\":\"\xE0\xA0\x80\"}"),
    BODY("{\"a\":\"\xE2\x82\xAC\"}"),
    BODY("{\"a\":\"\xED\x9F\xBF\"}"),
    BODY("{\"a\":\"\xEE\x80\x80\"}"),
    BODY("{\"a\":\"\xEF\xBF\xBF\"}"),
    BODY("{\"a\":\"\xF0\x90\x80\x80\"}"),
    BODY("{\"a\":\"\xF0\x9F\x98\x80\"}"),
    BODY("{\"a\":\"\xF4\x8F\xBF\xBF\"}"),
    BODY("{\"a\":\"\x7F\"}"),
    BODY("{\"\xC3\xA9\":1}"),
};

START_TEST(intake_accepts_valid_objects)
{
    const struct body_case *c = &valid_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_OK, "case %d: result %d", _i, r);
    ck_assert_ptr_null(info.error);
    ck_assert_uint_eq(info.error_offset, 0);
    ck_assert_str_eq(info.type, "");
}
END_TEST

static const struct body_case malformed_cases[] = {
    BODY_AT("", 0),
    BODY_AT("   ", 3),
    BODY_AT("\xEF\xBB\xBF{}", 0),
    BODY_AT("\xEF\xBB\xBF", 0),
    BODY_AT("\xEF\xBB{}", 0),
    BODY_AT("{}x", 2),
    BODY_AT("{} {}", 3),
    BODY_AT("{}}", 2),
    BODY_AT("{\"a\":1}{\"b\":2}", 7),
    BODY_AT("{\"a\":1}//", 7),
    BODY_AT("{", 1),
    BODY_AT("{\"a\"", 4),
    BODY_AT("{\"a\":", 5),
    BODY_AT("{\"a\":1", 6),
    BODY_AT("{\"a\":}", 5),
    BODY_AT("{\"a\":1,}", 7),
    BODY_AT("{\"a\":1 \"b\":2}", 7),
    BODY_AT("{\"a\" 1}", 5),
    BODY_AT("{\"a\"::1}", 5),
    BODY_AT("{a:1}", 1),
    BODY_AT("{'a':1}", 1),
    BODY_AT("{,}", 1),
    BODY_AT("{\"a\":1,,\"b\":2}", 7),
    BODY_AT("{/*x*/}", 1),
    BODY_AT("{\"a\":[1,]}", 8),
    BODY_AT("{\"a\":[1 2]}", 8),
    BODY_AT("{\"a\":[}", 6),
    BODY_AT("{\"a\":[1}", 7),
    BODY_AT("{\"a\":[1,2}", 9),
    BODY_AT("{\"a\":{\"b\":1]}", 11),
    BODY_AT("{\"a\":[1,2]]}", 10),
    BODY_AT("[1,", 3),
    BODY_AT("[", 1),
    BODY_AT("{\"a\":01}", 6),
    BODY_AT("{\"a\":00}", 6),
    BODY_AT("{\"a\":-01}", 7),
    BODY_AT("{\"a\":1.}", 7),
    BODY_AT("{\"a\":1.e5}", 7),
    BODY_AT("{\"a\":.5}", 5),
    BODY_AT("{\"a\":+1}", 5),
    BODY_AT("{\"a\":-}", 6),
    BODY_AT("{\"a\":--1}", 6),
    BODY_AT("{\"a\":1e}", 7),
    BODY_AT("{\"a\":1e+}", 8),
    BODY_AT("{\"a\":1.5.2}", 8),
    BODY_AT("{\"a\":1e5.0}", 8),
    BODY_AT("{\"a\":0x10}", 6),
    BODY_AT("{\"a\":NaN}", 5),
    BODY_AT("{\"a\":Infinity}", 5),
    BODY_AT("{\"a\":-Infinity}", 6),
    BODY_AT("{\"a\":tru}", 5),
    BODY_AT("{\"a\":True}", 5),
    BODY_AT("{\"a\":nul}", 5),
    BODY_AT("{\"a\":fals}", 5),
    BODY_AT("{\"a\":truex}", 9),
    BODY_AT("{\"a\":\"\\x\"}", 6),
    BODY_AT("{\"a\":\"\\'\"}", 6),
    BODY_AT("{\"a\":\"\\U0041\"}", 6),
    BODY_AT("{\"a\":\"\\u12\"}", 6),
    BODY_AT("{\"a\":\"\\u12G4\"}", 6),
    BODY_AT("{\"a\":\"\\u 123\"}", 6),
    BODY_AT("{\"a\":\"\t\"}", 6),
    BODY_AT("{\"a\":\"\n\"}", 6),
    BODY_AT("{\"a\":\"\x1F\"}", 6),
    BODY_AT("{\"a\":\"abc", 5),
    BODY_AT("{\"a\":\"abc\\", 9),
    BODY_AT("{\"a\":\"abc\\u00", 9),
    BODY_AT("{\"ab", 1),
    BODY_AT("\v{}", 0),
    BODY_AT("\f{}", 0),
    BODY_AT("\xC2\xA0{}", 0),
    BODY_AT("{}\xC2\xA0", 2),
};

START_TEST(intake_rejects_malformed)
{
    const struct body_case *c = &malformed_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_MALFORMED, "case %d: result %d", _i, r);
    ck_assert_msg(info.error_offset == c->offset, "case %d: offset %zu, expected %zu",
                  _i, info.error_offset, c->offset);
    ck_assert_ptr_nonnull(info.error);
    ck_assert_str_eq(info.type, "");
}
END_TEST

/* Each body is {"a":"<bytes>"} so the bad sequence starts at offset 6. */
static const struct body_case bad_utf8_cases[] = {
    BODY_AT("{\"a\":\"\x80\"}", 6),
    BODY_AT("{\"a\":\"\xBF\"}", 6),
    BODY_AT("{\"a\":\"\xC0\xAF\"}", 6),
    BODY_AT("{\"a\":\"\xC1\xBF\"}", 6),
    BODY_AT("{\"a\":\"\xE0\x80\xAF\"}", 6),
    BODY_AT("{\"a\":\"\xE0\x9F\xBF\"}", 6),
    BODY_AT("{\"a\":\"\xED\xA0\x80\"}", 6),
    BODY_AT("{\"a\":\"\xED\xBF\xBF\"}", 6),
    BODY_AT("{\"a\":\"\xF0\x80\x80\xAF\"}", 6),
    BODY_AT("{\"a\":\"\xF0\x8F\xBF\xBF\"}", 6),
    BODY_AT("{\"a\":\"\xF4\x90\x80\x80\"}", 6),
    BODY_AT("{\"a\":\"\xF5\x80\x80\x80\"}", 6),
    BODY_AT("{\"a\":\"\xF8\x88\x80\x80\x80\"}", 6),
    BODY_AT("{\"a\":\"\xFE\"}", 6),
    BODY_AT("{\"a\":\"\xFF\"}", 6),
    BODY_AT("{\"a\":\"\xC3\"}", 6),
    BODY_AT("{\"a\":\"\xE2\x82\"}", 6),
    BODY_AT("{\"a\":\"\xF0\x9F\x98\"}", 6),
    BODY_AT("{\"a\":\"\xC3\x28\"}", 6),
    BODY_AT("{\"a\":\"\xE2\x28\xA1\"}", 6),
    BODY_AT("{\"a\":\"\xF0\x9F\x28\x80\"}", 6),
    BODY_AT("{\"a\":\"\xC3", 6),
    BODY_AT("{\"a\":\"\xE2", 6),
    BODY_AT("{\"a\":\"\xF0\x9F\x98", 6),
    BODY_AT("{\"\xFF\":1}", 2),
    BODY_AT("{\"a\":1}\xC3\xA9", 7),
    BODY_AT("{\"a\":\xC3\xA9}", 5),
};

START_TEST(intake_rejects_invalid_utf8)
{
    const struct body_case *c = &bad_utf8_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_MALFORMED, "case %d: result %d", _i, r);
    ck_assert_msg(info.error_offset == c->offset, "case %d: offset %zu, expected %zu",
                  _i, info.error_offset, c->offset);
    ck_assert_ptr_nonnull(info.error);
}
END_TEST

static const struct body_case nul_cases[] = {
    BODY_AT("\0{}", 0),
    BODY_AT("{\0}", 1),
    BODY_AT("{}\0", 2),
    BODY_AT("{\"a\"\0:1}", 4),
    BODY_AT("{\"a\":\0}", 5),
    BODY_AT("{\"a\":1\0}", 6),
    BODY_AT("{\"a\":[1\0]}", 7),
    BODY_AT("{\"a\0\":1}", 3),
    BODY_AT("{\"a\":\"\0\"}", 6),
};

START_TEST(intake_rejects_embedded_nul)
{
    const struct body_case *c = &nul_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_MALFORMED, "case %d: result %d", _i, r);
    ck_assert_msg(info.error_offset == c->offset, "case %d: offset %zu, expected %zu",
                  _i, info.error_offset, c->offset);
}
END_TEST

START_TEST(intake_rejects_bom)
{
    hg_json_intake_info info;
    hg_json_intake_result r = intake("\xEF\xBB\xBF{}", 5, 512, &info);

    ck_assert_int_eq(r, HG_JSON_MALFORMED);
    ck_assert_uint_eq(info.error_offset, 0);
    ck_assert_ptr_nonnull(strstr(info.error, "byte order mark"));
}
END_TEST

START_TEST(intake_rejects_null_empty_body)
{
    hg_json_intake_info info;
    hg_json_intake_result r = hg_json_intake(NULL, 0, 512, &info);

    ck_assert_int_eq(r, HG_JSON_MALFORMED);
    ck_assert_uint_eq(info.error_offset, 0);
    ck_assert_ptr_nonnull(info.error);
    ck_assert_str_eq(info.type, "");
}
END_TEST

static const struct body_case not_object_cases[] = {
    BODY_AT("[1,2]", 0),
    BODY_AT("[]", 0),
    BODY_AT("1", 0),
    BODY_AT("-1.5e3", 0),
    BODY_AT(" 0 ", 1),
    BODY_AT("\"type\"", 0),
    BODY_AT("\n\"a\"", 1),
    BODY_AT("null", 0),
    BODY_AT("true", 0),
    BODY_AT("false", 0),
    BODY_AT("[{\"type\":1}]", 0),
    BODY_AT("[{\"type\":\"x\"},{\"type\":\"y\"}]", 0),
};

START_TEST(intake_rejects_non_object_top)
{
    const struct body_case *c = &not_object_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_NOT_OBJECT, "case %d: result %d", _i, r);
    ck_assert_msg(info.error_offset == c->offset, "case %d: offset %zu, expected %zu",
                  _i, info.error_offset, c->offset);
    ck_assert_str_eq(info.error, "the top-level value must be a JSON object");
    ck_assert_str_eq(info.type, "");
}
END_TEST

START_TEST(intake_accepts_400_digit_integer)
{
    struct text t = {NULL, 0, 0};
    hg_json_intake_info info;

    text_add(&t, "{\"a\":1", 1);
    text_add(&t, "0", 399);
    text_add(&t, "}", 1);
    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_OK);
    free(t.data);
}
END_TEST

START_TEST(intake_accepts_long_number_parts)
{
    struct text t = {NULL, 0, 0};
    hg_json_intake_info info;

    text_add(&t, "{\"a\":-", 1);
    text_add(&t, "9", 400);
    text_add(&t, ".", 1);
    text_add(&t, "0", 400);
    text_add(&t, "e-", 1);
    text_add(&t, "7", 400);
    text_add(&t, "}", 1);
    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_OK);
    free(t.data);
}
END_TEST

START_TEST(intake_accepts_objects_at_depth_limit)
{
    struct text t = nested_objects(512);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_OK);
    free(t.data);
}
END_TEST

START_TEST(intake_rejects_objects_past_depth_limit)
{
    struct text t = nested_objects(513);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_TOO_DEEP);
    /* Each enclosing level is the 5 bytes {"a": */
    ck_assert_uint_eq(info.error_offset, 512 * 5);
    ck_assert_str_eq(info.error, "nesting is deeper than the maximum depth");
    free(t.data);
}
END_TEST

START_TEST(intake_accepts_arrays_at_depth_limit)
{
    struct text t = nested_arrays_in_object(512);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_OK);
    free(t.data);
}
END_TEST

START_TEST(intake_rejects_arrays_past_depth_limit)
{
    struct text t = nested_arrays_in_object(513);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 5 + 511);
    free(t.data);
}
END_TEST

START_TEST(intake_rejects_100000_open_arrays)
{
    struct text t = {NULL, 0, 0};
    hg_json_intake_info info;

    text_add(&t, "[", 100000);
    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 512);
    free(t.data);
}
END_TEST

START_TEST(intake_rejects_100000_closed_arrays)
{
    struct text t = {NULL, 0, 0};
    hg_json_intake_info info;

    text_add(&t, "[", 100000);
    text_add(&t, "]", 100000);
    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 512);
    free(t.data);
}
END_TEST

/* A max_depth above the 65536-level bit stack is lowered to it. */
START_TEST(intake_caps_depth_at_65536)
{
    struct text at_cap = {NULL, 0, 0};
    struct text past_cap = {NULL, 0, 0};
    hg_json_intake_info info;

    text_add(&at_cap, "[", 65536);
    text_add(&at_cap, "]", 65536);
    ck_assert_int_eq(intake(at_cap.data, at_cap.len, 100000, &info), HG_JSON_NOT_OBJECT);

    text_add(&past_cap, "[", 65537);
    text_add(&past_cap, "]", 65537);
    ck_assert_int_eq(intake(past_cap.data, past_cap.len, 100000, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 65536);
    free(at_cap.data);
    free(past_cap.data);
}
END_TEST

START_TEST(intake_nonpositive_depth_uses_default)
{
    struct text ok = nested_objects(HG_JSON_DEFAULT_MAX_DEPTH);
    struct text deep = nested_objects(HG_JSON_DEFAULT_MAX_DEPTH + 1);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(ok.data, ok.len, 0, &info), HG_JSON_OK);
    ck_assert_int_eq(intake(deep.data, deep.len, 0, &info), HG_JSON_TOO_DEEP);
    ck_assert_int_eq(intake(deep.data, deep.len, -1, &info), HG_JSON_TOO_DEEP);
    free(ok.data);
    free(deep.data);
}
END_TEST

START_TEST(intake_depth_one_allows_flat_object)
{
    hg_json_intake_info info;

    ck_assert_int_eq(intake("{\"a\":1}", 7, 1, &info), HG_JSON_OK);
    ck_assert_int_eq(intake("{\"a\":[]}", 8, 1, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 5);
    ck_assert_int_eq(intake("{\"a\":{}}", 8, 1, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 5);
}
END_TEST

START_TEST(intake_too_deep_beats_type_error)
{
    const char body[] = "{\"type\":1,\"a\":[[[]]]}";
    hg_json_intake_info info;

    ck_assert_int_eq(intake(body, sizeof(body) - 1, 3, &info), HG_JSON_TOO_DEEP);
    ck_assert_uint_eq(info.error_offset, 16);
}
END_TEST

START_TEST(intake_malformed_before_depth_wins)
{
    const char body[] = "{\"a\":x,\"b\":[[[[]]]]}";
    hg_json_intake_info info;

    ck_assert_int_eq(intake(body, sizeof(body) - 1, 2, &info), HG_JSON_MALFORMED);
    ck_assert_uint_eq(info.error_offset, 5);
}
END_TEST

static const struct {
    const char *body;
    const char *type;
} type_cases[] = {
    {"{\"type\":\"booking.created\"}", "booking.created"},
    {"{\"a\":1,\"type\":\"x_y-Z.9\",\"b\":[]}", "x_y-Z.9"},
    {" { \"type\" : \"a\" } ", "a"},
    {"{\"\\u0074ype\":\"a\"}", "a"},
    {"{\"typ\\u0065\":\"a\"}", "a"},
    {"{\"\\u0074\\u0079\\u0070\\u0065\":\"a\"}", "a"},
    {"{\"type\":\"booking\\u002ecreated\"}", "booking.created"},
    {"{\"type\":\"\\u0041\\u005a\"}", "AZ"},
    {"{\"type\":\"a\",\"b\":{\"type\":\"c\"}}", "a"},
    {"{\"b\":{\"type\":\"c\"},\"type\":\"a\"}", "a"},
    {"{\"types\":\"a\"}", ""},
    {"{\"typ\":\"a\"}", ""},
    {"{\"Type\":\"a\"}", ""},
    {"{\"TYPE\":1}", ""},
    {"{\"type \":1}", ""},
    {"{\"type\\u0000\":1}", ""},
    {"{\"t\\u00ffpe\":1}", ""},
    {"{\"a\":{\"type\":5}}", ""},
    {"{\"a\":[{\"type\":\"x y\"}]}", ""},
    {"{\"a\":{\"type\":1,\"type\":2}}", ""},
};

START_TEST(intake_extracts_type)
{
    hg_json_intake_info info;
    hg_json_intake_result r =
        intake(type_cases[_i].body, strlen(type_cases[_i].body), 512, &info);

    ck_assert_msg(r == HG_JSON_OK, "case %d: result %d", _i, r);
    ck_assert_str_eq(info.type, type_cases[_i].type);
    ck_assert_ptr_null(info.error);
}
END_TEST

/* Each value follows {"type": and so starts at offset 8. */
static const struct body_case bad_type_cases[] = {
    BODY("{\"type\":\"\"}"),
    BODY("{\"type\":\"booking created\"}"),
    BODY("{\"type\":\"a/b\"}"),
    BODY("{\"type\":\"a\\/b\"}"),
    BODY("{\"type\":\"a:b\"}"),
    BODY("{\"type\":\"a+b\"}"),
    BODY("{\"type\":\"*\"}"),
    BODY("{\"type\":\"a.*\"}"),
    BODY("{\"type\":\"caf\xC3\xA9\"}"),
    BODY("{\"type\":\"caf\\u00e9\"}"),
    BODY("{\"type\":\"\\u0000\"}"),
    BODY("{\"type\":\"a\\u0000\"}"),
    BODY("{\"type\":\"a\\nb\"}"),
    BODY("{\"type\":\"a\\tb\"}"),
    BODY("{\"type\":\"a\\\"b\"}"),
    BODY("{\"type\":\"a\\\\b\"}"),
    BODY("{\"type\":\"\\ud800\"}"),
    BODY("{\"type\":\"\\uD83D\\uDE00\"}"),
};

START_TEST(intake_rejects_invalid_type)
{
    const struct body_case *c = &bad_type_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_TYPE_INVALID, "case %d: result %d", _i, r);
    ck_assert_uint_eq(info.error_offset, 8);
    ck_assert_ptr_nonnull(info.error);
    ck_assert_str_eq(info.type, "");
}
END_TEST

/* Builds {"type":"<plain a's><escaped b's>"}. */
static struct text type_body(size_t plain, size_t escaped)
{
    struct text t = {NULL, 0, 0};

    text_add(&t, "{\"type\":\"", 1);
    text_add(&t, "a", plain);
    text_add(&t, "\\u0062", escaped);
    text_add(&t, "\"}", 1);
    return t;
}

START_TEST(intake_accepts_128_char_type)
{
    struct text t = type_body(128, 0);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_OK);
    ck_assert_uint_eq(strlen(info.type), 128);
    ck_assert_int_eq(info.type[127], 'a');
    free(t.data);
}
END_TEST

START_TEST(intake_rejects_129_char_type)
{
    struct text t = type_body(129, 0);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(t.data, t.len, 512, &info), HG_JSON_TYPE_INVALID);
    ck_assert_uint_eq(info.error_offset, 8);
    ck_assert_str_eq(info.type, "");
    free(t.data);
}
END_TEST

START_TEST(intake_counts_escaped_type_chars)
{
    struct text fits = type_body(127, 1);
    struct text too_long = type_body(128, 1);
    struct text all_escaped = type_body(0, 200);
    hg_json_intake_info info;

    ck_assert_int_eq(intake(fits.data, fits.len, 512, &info), HG_JSON_OK);
    ck_assert_uint_eq(strlen(info.type), 128);
    ck_assert_int_eq(info.type[127], 'b');
    ck_assert_int_eq(intake(too_long.data, too_long.len, 512, &info),
                     HG_JSON_TYPE_INVALID);
    ck_assert_int_eq(intake(all_escaped.data, all_escaped.len, 512, &info),
                     HG_JSON_TYPE_INVALID);
    free(fits.data);
    free(too_long.data);
    free(all_escaped.data);
}
END_TEST

static const struct body_case not_string_type_cases[] = {
    BODY_AT("{\"type\":1}", 8),
    BODY_AT("{\"type\":-1.5}", 8),
    BODY_AT("{\"type\":0}", 8),
    BODY_AT("{\"type\":null}", 8),
    BODY_AT("{\"type\":true}", 8),
    BODY_AT("{\"type\":false}", 8),
    BODY_AT("{\"type\":{}}", 8),
    BODY_AT("{\"type\":{\"type\":\"a\"}}", 8),
    BODY_AT("{\"type\":[]}", 8),
    BODY_AT("{\"type\":[\"a\"]}", 8),
    BODY_AT("{\"a\":1, \"type\" : 5}", 17),
    BODY_AT("{\"\\u0074ype\":2}", 13),
};

START_TEST(intake_rejects_non_string_type)
{
    const struct body_case *c = &not_string_type_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_TYPE_NOT_STRING, "case %d: result %d", _i, r);
    ck_assert_msg(info.error_offset == c->offset, "case %d: offset %zu, expected %zu",
                  _i, info.error_offset, c->offset);
    ck_assert_str_eq(info.error, "the \"type\" member must be a string");
    ck_assert_str_eq(info.type, "");
}
END_TEST

/* The offset is that of the second "type" name. */
static const struct body_case duplicate_type_cases[] = {
    BODY_AT("{\"type\":\"a\",\"type\":\"b\"}", 12),
    BODY_AT("{\"type\":\"a\",\"type\":\"a\"}", 12),
    BODY_AT("{\"type\":\"a\",\"\\u0074ype\":\"a\"}", 12),
    BODY_AT("{\"type\":\"a\",\"b\":1,\"type\":\"a\"}", 18),
    BODY_AT("{\"type\":\"a\",\"type\":\"b\",\"type\":\"c\"}", 12),
    BODY_AT("{\"type\":\"a\",\"type\":5}", 12),
};

START_TEST(intake_rejects_duplicate_type)
{
    const struct body_case *c = &duplicate_type_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_TYPE_DUPLICATE, "case %d: result %d", _i, r);
    ck_assert_msg(info.error_offset == c->offset, "case %d: offset %zu, expected %zu",
                  _i, info.error_offset, c->offset);
    ck_assert_ptr_nonnull(info.error);
    ck_assert_str_eq(info.type, "");
}
END_TEST

START_TEST(intake_reports_first_type_error)
{
    hg_json_intake_info info;
    const char not_string_first[] = "{\"type\":1,\"type\":\"a\"}";
    const char invalid_first[] = "{\"type\":\"a b\",\"type\":1}";

    ck_assert_int_eq(intake(not_string_first, sizeof(not_string_first) - 1, 512, &info),
                     HG_JSON_TYPE_NOT_STRING);
    ck_assert_uint_eq(info.error_offset, 8);
    ck_assert_int_eq(intake(invalid_first, sizeof(invalid_first) - 1, 512, &info),
                     HG_JSON_TYPE_INVALID);
    ck_assert_uint_eq(info.error_offset, 8);
}
END_TEST

static const struct body_case malformed_over_type_cases[] = {
    BODY("{\"type\":1,\"a\":01}"),
    BODY("{\"type\":\"a\",\"type\":\"b\""),
    BODY("{\"type\":1} x"),
    BODY("{\"type\":\"a b\",}"),
    BODY("{\"type\":\"\\x\"}"),
    BODY("{\"type\":\"caf\xC3\"}"),
    BODY("{\"type\":tru}"),
    BODY("{\"type\":[1,}"),
    BODY("{\"type\":\"a\",\"type\":1,"),
};

START_TEST(intake_malformed_beats_type_error)
{
    const struct body_case *c = &malformed_over_type_cases[_i];
    hg_json_intake_info info;
    hg_json_intake_result r = intake(c->body, c->len, 512, &info);

    ck_assert_msg(r == HG_JSON_MALFORMED, "case %d: result %d", _i, r);
    ck_assert_str_eq(info.type, "");
}
END_TEST

/* Each buffer continues past len with bytes that would change the result. */
static const struct {
    const char *buffer;
    size_t len;
    hg_json_intake_result result;
} len_cases[] = {
    {"{}garbage", 2, HG_JSON_OK},
    {"{\"a\":1}}}", 7, HG_JSON_OK},
    {"{\"type\":\"abc\"}xyz", 14, HG_JSON_OK},
    {"{}", 1, HG_JSON_MALFORMED},
    {"{\"a\":1}", 6, HG_JSON_MALFORMED},
    {"{\"a\":1.5}", 7, HG_JSON_MALFORMED},
    {"{\"a\":1e5}", 7, HG_JSON_MALFORMED},
    {"{\"a\":true}", 7, HG_JSON_MALFORMED},
    {"{\"a\":\"x\"}", 7, HG_JSON_MALFORMED},
    {"{\"a\":\"\\n\"}", 7, HG_JSON_MALFORMED},
    {"{\"a\":\"\\u0041\"}", 9, HG_JSON_MALFORMED},
    {"{\"a\":\"\xE2\x82\xAC\"}", 8, HG_JSON_MALFORMED},
    {"{\"a\":\"\xF0\x9F\x98\x80\"}", 9, HG_JSON_MALFORMED},
    {"\xEF\xBB\xBF{}", 2, HG_JSON_MALFORMED},
    {"{\"type\"", 6, HG_JSON_MALFORMED},
};

START_TEST(intake_respects_len)
{
    hg_json_intake_info info;
    hg_json_intake_result r = intake(len_cases[_i].buffer, len_cases[_i].len, 512, &info);

    ck_assert_msg(r == len_cases[_i].result, "case %d: result %d, expected %d", _i, r,
                  len_cases[_i].result);
}
END_TEST

START_TEST(intake_clears_stale_info)
{
    hg_json_intake_info info;

    ck_assert_int_eq(intake("{\"type\":\"a\"}", 12, 512, &info), HG_JSON_OK);
    ck_assert_str_eq(info.type, "a");
    ck_assert_int_eq(hg_json_intake("{}", 2, 512, &info), HG_JSON_OK);
    ck_assert_str_eq(info.type, "");
    ck_assert_ptr_null(info.error);
    ck_assert_uint_eq(info.error_offset, 0);
}
END_TEST

START_TEST(intake_names_escape_error)
{
    hg_json_intake_info info;

    ck_assert_int_eq(intake("{\"a\":\"\\q\"}", 10, 512, &info), HG_JSON_MALFORMED);
    ck_assert_str_eq(info.error, "invalid escape sequence in a string");
    ck_assert_int_eq(intake("{}x", 3, 512, &info), HG_JSON_MALFORMED);
    ck_assert_str_eq(info.error, "unexpected character after the JSON value");
}
END_TEST

static Suite *json_intake_suite(void)
{
    Suite *s = suite_create("json_intake");
    TCase *grammar = tcase_create("grammar");
    TCase *depth = tcase_create("depth");
    TCase *type = tcase_create("type");

    tcase_add_loop_test(grammar, intake_accepts_valid_objects, 0, COUNT(valid_cases));
    tcase_add_loop_test(grammar, intake_rejects_malformed, 0, COUNT(malformed_cases));
    tcase_add_loop_test(grammar, intake_rejects_invalid_utf8, 0, COUNT(bad_utf8_cases));
    tcase_add_loop_test(grammar, intake_rejects_embedded_nul, 0, COUNT(nul_cases));
    tcase_add_loop_test(grammar, intake_rejects_non_object_top, 0, COUNT(not_object_cases));
    tcase_add_loop_test(grammar, intake_respects_len, 0, COUNT(len_cases));
    tcase_add_test(grammar, intake_rejects_bom);
    tcase_add_test(grammar, intake_rejects_null_empty_body);
    tcase_add_test(grammar, intake_accepts_400_digit_integer);
    tcase_add_test(grammar, intake_accepts_long_number_parts);
    tcase_add_test(grammar, intake_clears_stale_info);
    tcase_add_test(grammar, intake_names_escape_error);
    suite_add_tcase(s, grammar);

    tcase_add_test(depth, intake_accepts_objects_at_depth_limit);
    tcase_add_test(depth, intake_rejects_objects_past_depth_limit);
    tcase_add_test(depth, intake_accepts_arrays_at_depth_limit);
    tcase_add_test(depth, intake_rejects_arrays_past_depth_limit);
    tcase_add_test(depth, intake_rejects_100000_open_arrays);
    tcase_add_test(depth, intake_rejects_100000_closed_arrays);
    tcase_add_test(depth, intake_caps_depth_at_65536);
    tcase_add_test(depth, intake_nonpositive_depth_uses_default);
    tcase_add_test(depth, intake_depth_one_allows_flat_object);
    tcase_add_test(depth, intake_too_deep_beats_type_error);
    tcase_add_test(depth, intake_malformed_before_depth_wins);
    suite_add_tcase(s, depth);

    tcase_add_loop_test(type, intake_extracts_type, 0, COUNT(type_cases));
    tcase_add_loop_test(type, intake_rejects_invalid_type, 0, COUNT(bad_type_cases));
    tcase_add_loop_test(type, intake_rejects_non_string_type, 0,
                        COUNT(not_string_type_cases));
    tcase_add_loop_test(type, intake_rejects_duplicate_type, 0, COUNT(duplicate_type_cases));
    tcase_add_loop_test(type, intake_malformed_beats_type_error, 0,
                        COUNT(malformed_over_type_cases));
    tcase_add_test(type, intake_accepts_128_char_type);
    tcase_add_test(type, intake_rejects_129_char_type);
    tcase_add_test(type, intake_counts_escaped_type_chars);
    tcase_add_test(type, intake_reports_first_type_error);
    suite_add_tcase(s, type);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(json_intake_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
