/* SPDX-License-Identifier: MIT
 *
 * W3C Trace Context (https://www.w3.org/TR/trace-context/, level 1):
 * parsing and formatting of the traceparent and tracestate headers, and the
 * trace context of one request or delivery attempt. Parsing and formatting
 * are pure; only hg_trace_begin() and hg_trace_new_span() draw random ids.
 * Which headers to read and where to send the result is left to callers.
 */
#ifndef HG_TRACE_H
#define HG_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "00-" 32 hex "-" 16 hex "-" 2 hex. */
#define HG_TRACEPARENT_LEN 55
#define HG_TRACE_ID_LEN 32
#define HG_SPAN_ID_LEN 16
/* Maximum tracestate length kept; a longer value is dropped as a whole. */
#define HG_TRACESTATE_MAX 512
/* Maximum number of tracestate list members. */
#define HG_TRACESTATE_MEMBERS_MAX 32
/* The sampled flag, the only flag of version 00 that is passed on. */
#define HG_TRACE_FLAG_SAMPLED 0x01

/* The trace context of one unit of work: the trace it belongs to, the
 * caller's span (empty when this work started the trace) and its own new
 * span. */
typedef struct hg_trace {
    char trace_id[HG_TRACE_ID_LEN + 1];
    char parent_id[HG_SPAN_ID_LEN + 1];
    char span_id[HG_SPAN_ID_LEN + 1];
    uint8_t flags;
    char tracestate[HG_TRACESTATE_MAX + 1];
} hg_trace;

/* Parses a traceparent value. Version 00 must be exactly 55 characters.
 * A higher version is parsed by its first four fields, and anything after
 * them must start with "-". Version ff, upper-case hex, and an all-zero
 * trace id or parent id are invalid. On success fills trace_id and
 * parent_id (NUL-terminated, lower-case hex) and flags, and returns true;
 * returns false for NULL or an invalid value, leaving the outputs
 * unspecified. */
bool hg_traceparent_parse(const char *s, char trace_id[HG_TRACE_ID_LEN + 1],
                          char parent_id[HG_SPAN_ID_LEN + 1], uint8_t *flags);

/* Writes "00-<trace_id>-<span_id>-<flags>" into out (at least
 * HG_TRACEPARENT_LEN + 1 bytes). Only the sampled flag is kept, because
 * version 00 defines no other. */
void hg_traceparent_format(const char *trace_id, const char *span_id,
                           uint8_t flags, char *out);

/* Validates a tracestate value and writes its normalized form into out
 * (cap bytes with the NUL): members joined by "," without optional white
 * space, empty members left out. Keys follow the specification's grammar
 * (simple or tenant@system). Values are 1 to 256 printable ASCII
 * characters without "," or "=" and not ending in a space. Returns false
 * when any member is invalid, a key repeats, there are more than
 * HG_TRACESTATE_MEMBERS_MAX members, or the result would not fit in cap or
 * in HG_TRACESTATE_MAX; the whole value is then to be dropped. An empty or
 * NULL value is valid and gives "". */
bool hg_tracestate_normalize(const char *s, char *out, size_t cap);

/* Writes nbytes random bytes as lower-case hex (2 * nbytes characters and a
 * NUL) into out; never all zeros. Returns -1 when no random bytes could be
 * read. */
int hg_trace_random_hex(size_t nbytes, char *out);

/* Starts the trace context of incoming work: continues traceparent when
 * valid (keeping a valid tracestate), otherwise starts a new sampled trace
 * and drops tracestate. Always draws a new span id. Returns true when the
 * incoming traceparent was valid. Either header value may be NULL. */
bool hg_trace_begin(hg_trace *t, const char *traceparent,
                    const char *tracestate);

/* Draws a new span id for a child of t's current span: parent_id becomes
 * the old span_id. */
void hg_trace_new_span(hg_trace *t);

/* Writes t's traceparent (its own span) into out, as
 * hg_traceparent_format(). */
void hg_trace_format(const hg_trace *t, char *out);

#endif
