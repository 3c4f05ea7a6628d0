/* SPDX-License-Identifier: MIT */

#include "common/trace.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The example of the W3C Trace Context specification. */
#define EXAMPLE "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define EXAMPLE_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define EXAMPLE_PARENT "00f067aa0ba902b7"

static bool parses(const char *s)
{
    char trace_id[HG_TRACE_ID_LEN + 1], parent_id[HG_SPAN_ID_LEN + 1];
    uint8_t flags;

    return hg_traceparent_parse(s, trace_id, parent_id, &flags);
}

START_TEST(traceparent_parses_example)
{
    char trace_id[HG_TRACE_ID_LEN + 1], parent_id[HG_SPAN_ID_LEN + 1];
    uint8_t flags = 0;

    ck_assert(hg_traceparent_parse(EXAMPLE, trace_id, parent_id, &flags));
    ck_assert_str_eq(trace_id, EXAMPLE_TRACE);
    ck_assert_str_eq(parent_id, EXAMPLE_PARENT);
    ck_assert_uint_eq(flags, 1);
}
END_TEST

START_TEST(traceparent_rejects_invalid)
{
    static const char *const invalid[] = {
        "",
        "00",
        /* upper-case hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* all-zero ids */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* version ff */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* version 00 with anything after the flags */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ab",
        /* wrong lengths and separators */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01",
        /* a later version must separate its extra fields with "-" */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    };

    ck_assert(!parses(NULL));
    for (size_t i = 0; i < ARRAY_LEN(invalid); i++)
        ck_assert_msg(!parses(invalid[i]), "\"%s\" parsed as valid",
                      invalid[i]);
}
END_TEST

START_TEST(traceparent_future_version)
{
    char trace_id[HG_TRACE_ID_LEN + 1], parent_id[HG_SPAN_ID_LEN + 1];
    uint8_t flags = 0;

    ck_assert(hg_traceparent_parse(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-ever",
        trace_id, parent_id, &flags));
    ck_assert_str_eq(trace_id, EXAMPLE_TRACE);
    ck_assert_str_eq(parent_id, EXAMPLE_PARENT);
    ck_assert_uint_eq(flags, 3);
    ck_assert(parses(
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
}
END_TEST

START_TEST(traceparent_format_keeps_sampled_only)
{
    char out[HG_TRACEPARENT_LEN + 1];

    hg_traceparent_format(EXAMPLE_TRACE, EXAMPLE_PARENT, 0x03, out);
    ck_assert_str_eq(out, EXAMPLE);
    hg_traceparent_format(EXAMPLE_TRACE, EXAMPLE_PARENT, 0x00, out);
    ck_assert_str_eq(out,
                     "00-" EXAMPLE_TRACE "-" EXAMPLE_PARENT "-00");
}
END_TEST

START_TEST(tracestate_normalizes_members)
{
    char out[HG_TRACESTATE_MAX + 1];

    ck_assert(hg_tracestate_normalize(
        " rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE,, ", out, sizeof(out)));
    ck_assert_str_eq(out, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    ck_assert(hg_tracestate_normalize("tenant1@sys=a b", out, sizeof(out)));
    ck_assert_str_eq(out, "tenant1@sys=a b");
    ck_assert(hg_tracestate_normalize("", out, sizeof(out)));
    ck_assert_str_eq(out, "");
    ck_assert(hg_tracestate_normalize(NULL, out, sizeof(out)));
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(tracestate_rejects_invalid)
{
    static const char *const invalid[] = {
        "rojo",              /* no "=" */
        "Rojo=1",            /* upper-case key */
        "1rojo=1",           /* simple key starting with a digit */
        "rojo=",             /* empty value */
        "ro jo=1",           /* space in the key */
        "rojo=a=b",          /* "=" in the value */
        "rojo=\x01",         /* control character */
        "rojo=1,rojo=2",     /* repeated key */
        "@sys=1",            /* empty tenant */
        "tenant@=1",         /* empty system */
        "tenant@Sys=1",      /* system not starting with lcalpha */
        "tenant@systemnameistoolong=1",
    };
    char out[HG_TRACESTATE_MAX + 1];

    for (size_t i = 0; i < ARRAY_LEN(invalid); i++)
        ck_assert_msg(!hg_tracestate_normalize(invalid[i], out, sizeof(out)),
                      "\"%s\" accepted", invalid[i]);
}
END_TEST

START_TEST(tracestate_bounds)
{
    char in[2048], out[HG_TRACESTATE_MAX + 1];
    size_t pos = 0;

    /* 32 members are allowed, 33 are not. */
    for (int i = 0; i < 32; i++)
        pos += (size_t)snprintf(in + pos, sizeof(in) - pos, "%sk%d=v",
                                i ? "," : "", i);
    ck_assert(hg_tracestate_normalize(in, out, sizeof(out)));
    snprintf(in + pos, sizeof(in) - pos, ",k32=v");
    ck_assert(!hg_tracestate_normalize(in, out, sizeof(out)));

    /* Two members of 253 characters fit in HG_TRACESTATE_MAX; a third
     * makes the value too long, and it is dropped. */
    pos = 0;
    for (int i = 0; i < 2; i++)
        pos += (size_t)snprintf(in + pos, sizeof(in) - pos, "%sk%d=%0250d",
                                i ? "," : "", i, 7);
    ck_assert(hg_tracestate_normalize(in, out, sizeof(out)));
    ck_assert_uint_eq(strlen(out), 2 * 253 + 1);
    snprintf(in + pos, sizeof(in) - pos, ",k2=%0250d", 7);
    ck_assert(!hg_tracestate_normalize(in, out, sizeof(out)));
}
END_TEST

START_TEST(trace_begin_continues_valid)
{
    hg_trace t;

    ck_assert(hg_trace_begin(&t, EXAMPLE, "rojo=1"));
    ck_assert_str_eq(t.trace_id, EXAMPLE_TRACE);
    ck_assert_str_eq(t.parent_id, EXAMPLE_PARENT);
    ck_assert_str_eq(t.tracestate, "rojo=1");
    ck_assert_uint_eq(strlen(t.span_id), HG_SPAN_ID_LEN);
    ck_assert_str_ne(t.span_id, EXAMPLE_PARENT);
}
END_TEST

START_TEST(trace_begin_replaces_invalid)
{
    char formatted[HG_TRACEPARENT_LEN + 1];
    hg_trace t;

    ck_assert(!hg_trace_begin(
        &t, "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "rojo=1"));
    ck_assert_str_ne(t.trace_id, "00000000000000000000000000000000");
    ck_assert_uint_eq(strlen(t.trace_id), HG_TRACE_ID_LEN);
    ck_assert_str_eq(t.parent_id, "");
    /* The tracestate of a replaced trace is dropped. */
    ck_assert_str_eq(t.tracestate, "");
    hg_trace_format(&t, formatted);
    ck_assert(parses(formatted));
}
END_TEST

START_TEST(trace_begin_drops_invalid_tracestate)
{
    hg_trace t;

    ck_assert(hg_trace_begin(&t, EXAMPLE, "Bad Key=1"));
    ck_assert_str_eq(t.trace_id, EXAMPLE_TRACE);
    ck_assert_str_eq(t.tracestate, "");
}
END_TEST

START_TEST(trace_new_span_links_parent)
{
    hg_trace t;
    char first[HG_SPAN_ID_LEN + 1];

    hg_trace_begin(&t, NULL, NULL);
    memcpy(first, t.span_id, sizeof(first));
    hg_trace_new_span(&t);
    ck_assert_str_eq(t.parent_id, first);
    ck_assert_str_ne(t.span_id, first);
    ck_assert_uint_eq(strlen(t.span_id), HG_SPAN_ID_LEN);
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, traceparent_parses_example);
    tcase_add_test(tc, traceparent_rejects_invalid);
    tcase_add_test(tc, traceparent_future_version);
    tcase_add_test(tc, traceparent_format_keeps_sampled_only);
    tcase_add_test(tc, tracestate_normalizes_members);
    tcase_add_test(tc, tracestate_rejects_invalid);
    tcase_add_test(tc, tracestate_bounds);
    tcase_add_test(tc, trace_begin_continues_valid);
    tcase_add_test(tc, trace_begin_replaces_invalid);
    tcase_add_test(tc, trace_begin_drops_invalid_tracestate);
    tcase_add_test(tc, trace_new_span_links_parent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trace_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
