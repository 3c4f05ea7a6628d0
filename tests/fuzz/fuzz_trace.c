/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the W3C Trace Context parsers. The first line of an input is a
 * traceparent value and the rest a tracestate value. An accepted
 * traceparent written back with hg_traceparent_format() must parse to the
 * same ids and sampled flag. A normalized tracestate must be a fixed point
 * of normalization and fit its limit. hg_trace_begin() must keep exactly
 * what the two parsers accept.
 */
#include <stdbool.h>

#include "common/trace.h"
#include "fuzz.h"

static void check_traceparent(const char *value)
{
    char trace_id[HG_TRACE_ID_LEN + 1], parent_id[HG_SPAN_ID_LEN + 1];
    char again_trace[HG_TRACE_ID_LEN + 1], again_parent[HG_SPAN_ID_LEN + 1];
    char formatted[HG_TRACEPARENT_LEN + 1];
    uint8_t flags, again_flags;

    if (!hg_traceparent_parse(value, trace_id, parent_id, &flags))
        return;
    FUZZ_CHECK(strlen(trace_id) == HG_TRACE_ID_LEN);
    FUZZ_CHECK(strlen(parent_id) == HG_SPAN_ID_LEN);
    FUZZ_CHECK(strspn(trace_id, "0123456789abcdef") == HG_TRACE_ID_LEN);
    FUZZ_CHECK(strspn(trace_id, "0") != HG_TRACE_ID_LEN);
    FUZZ_CHECK(strspn(parent_id, "0") != HG_SPAN_ID_LEN);
    /* Version 00 is exactly the formatted length. */
    if (strncmp(value, "00", 2) == 0)
        FUZZ_CHECK(strlen(value) == HG_TRACEPARENT_LEN);

    hg_traceparent_format(trace_id, parent_id, flags, formatted);
    FUZZ_CHECK(strlen(formatted) == HG_TRACEPARENT_LEN);
    FUZZ_CHECK(hg_traceparent_parse(formatted, again_trace, again_parent,
                                    &again_flags));
    FUZZ_CHECK(strcmp(again_trace, trace_id) == 0);
    FUZZ_CHECK(strcmp(again_parent, parent_id) == 0);
    FUZZ_CHECK(again_flags == (flags & HG_TRACE_FLAG_SAMPLED));
}

static void check_tracestate(const char *value)
{
    char out[HG_TRACESTATE_MAX + 1], again[HG_TRACESTATE_MAX + 1];
    char small[16];

    if (!hg_tracestate_normalize(value, out, sizeof(out)))
        return;
    FUZZ_CHECK(strlen(out) <= HG_TRACESTATE_MAX);
    /* No empty members and no white space around one. */
    FUZZ_CHECK(out[0] != ',' && out[0] != ' ' && strstr(out, ",,") == NULL);
    FUZZ_CHECK(strstr(out, ", ") == NULL && strstr(out, " ,") == NULL);
    FUZZ_CHECK(strchr(out, '\t') == NULL);
    FUZZ_CHECK(hg_tracestate_normalize(out, again, sizeof(again)));
    FUZZ_CHECK(strcmp(out, again) == 0);

    /* A buffer too small for the result is rejected, never overrun. */
    if (strlen(out) >= sizeof(small))
        FUZZ_CHECK(!hg_tracestate_normalize(value, small, sizeof(small)));
}

static void check_begin(const char *traceparent, const char *tracestate)
{
    char trace_id[HG_TRACE_ID_LEN + 1], parent_id[HG_SPAN_ID_LEN + 1];
    char state[HG_TRACESTATE_MAX + 1];
    uint8_t flags;
    bool valid = hg_traceparent_parse(traceparent, trace_id, parent_id, &flags);
    hg_trace t;

    memset(&t, 0, sizeof(t));
    FUZZ_CHECK(hg_trace_begin(&t, traceparent, tracestate) == valid);
    FUZZ_CHECK(strlen(t.span_id) == HG_SPAN_ID_LEN);
    if (!valid) {
        FUZZ_CHECK(t.tracestate[0] == '\0' && t.parent_id[0] == '\0');
        return;
    }
    FUZZ_CHECK(strcmp(t.trace_id, trace_id) == 0);
    FUZZ_CHECK(strcmp(t.parent_id, parent_id) == 0);
    if (hg_tracestate_normalize(tracestate, state, sizeof(state)))
        FUZZ_CHECK(strcmp(t.tracestate, state) == 0);
    else
        FUZZ_CHECK(t.tracestate[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *traceparent = fuzz_next_line(&data, &size);
    char *tracestate = fuzz_strndup(data, size);

    check_traceparent(traceparent);
    check_tracestate(tracestate);
    check_tracestate(traceparent);
    check_begin(traceparent, tracestate);
    free(traceparent);
    free(tracestate);
    return 0;
}
