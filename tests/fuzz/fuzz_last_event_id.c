/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the resume point of the live feed (inspector/feed.c): the
 * Last-Event-ID header or ?since= value that insp_feed_resume_point()
 * picks, and insp_stream_id_parse(), which turns it into a Redis stream
 * id. An input is a header line, then the query value (absent when the
 * input has no newline). An accepted id must be what a second parser
 * written here reads, with both parts at most UINT64_MAX. It must format
 * as "<ms>-<seq>" in decimal without leading zeros, which parses back to
 * the same id. A rejected one leaves the output unchanged. Ids built from
 * 16 bytes of the input must round-trip, and the same ids with one more
 * digit must be rejected exactly when a part then exceeds UINT64_MAX.
 */
#include <inttypes.h>
#include <stdbool.h>

#include "fuzz.h"
#include "inspector/inspector.h"

/* Definition that auth.c and feed.c take from the inspector's main.c. The
 * parsers never read it. */
inspector *insp;

static const insp_stream_id sentinel = {123456789, 987654321};

/* Reads one decimal part with 128-bit arithmetic, so that an overflow of
 * 64 bits shows as a value above UINT64_MAX, not as a wrapped one. */
static const char *reference_part(const char *s, uint64_t *out)
{
    unsigned __int128 v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > UINT64_MAX)
            return NULL;
    }
    if (p == s)
        return NULL;
    *out = (uint64_t)v;
    return p;
}

static bool reference_parse(const char *s, insp_stream_id *out)
{
    const char *end = reference_part(s, &out->ms);

    out->seq = 0;
    if (end != NULL && *end == '-')
        end = reference_part(end + 1, &out->seq);
    return end != NULL && *end == '\0';
}

static bool same_id(insp_stream_id a, insp_stream_id b)
{
    return a.ms == b.ms && a.seq == b.seq;
}

/* Checks the canonical form of an accepted id: digits, one '-', digits,
 * no leading zero, and a round trip to the same id. */
static void check_format(insp_stream_id id)
{
    char text[INSP_STREAM_ID_MAX], expected[64];
    insp_stream_id again = sentinel;
    const char *dash;

    FUZZ_CHECK(insp_stream_id_format(id, text, sizeof(text)) == text);
    snprintf(expected, sizeof(expected), "%" PRIu64 "-%" PRIu64, id.ms,
             id.seq);
    FUZZ_CHECK(strcmp(text, expected) == 0);
    FUZZ_CHECK(strlen(text) < INSP_STREAM_ID_MAX);
    dash = strchr(text, '-');
    FUZZ_CHECK(dash != NULL && strchr(dash + 1, '-') == NULL);
    FUZZ_CHECK(strspn(text, "0123456789") == (size_t)(dash - text));
    FUZZ_CHECK(strspn(dash + 1, "0123456789") == strlen(dash + 1));
    FUZZ_CHECK(text[0] != '0' || text[1] == '-');
    FUZZ_CHECK(dash[1] != '0' || dash[2] == '\0');
    FUZZ_CHECK(insp_stream_id_parse(text, &again));
    FUZZ_CHECK(same_id(again, id));
}

static void check_parse(const char *s)
{
    insp_stream_id got = sentinel, want;
    bool ok = insp_stream_id_parse(s, &got);

    FUZZ_CHECK(ok == reference_parse(s, &want));
    if (!ok) {
        FUZZ_CHECK(same_id(got, sentinel));
        return;
    }
    FUZZ_CHECK(same_id(got, want));
    check_format(got);
}

static void check_resume(const char *header, const char *query)
{
    const char *chosen = header[0] != '\0' ? header : query;
    bool sent = chosen != NULL && chosen[0] != '\0';
    insp_stream_id got = sentinel, want;
    bool resume = !sent;
    bool ok = insp_feed_resume_point(header[0] != '\0' ? header : NULL,
                                     query, &resume, &got);

    FUZZ_CHECK(resume == sent);
    if (!sent) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(same_id(got, sentinel));
        return;
    }
    FUZZ_CHECK(ok == reference_parse(chosen, &want));
    if (ok)
        FUZZ_CHECK(same_id(got, want));

    /* An empty header counts as an absent one. */
    got = sentinel;
    FUZZ_CHECK(insp_feed_resume_point(header, query, &resume, &got) == ok);
    FUZZ_CHECK(resume == sent);
}

/* Formats an id from 16 bytes, parses it back, and adds a digit to one
 * part: rejected exactly when that part then exceeds UINT64_MAX. */
static void check_built(const uint8_t *data, size_t size)
{
    insp_stream_id id, got;
    char text[INSP_STREAM_ID_MAX], longer[INSP_STREAM_ID_MAX + 1];
    unsigned digit;
    bool fits;

    if (size < 17)
        return;
    memcpy(&id.ms, data, 8);
    memcpy(&id.seq, data + 8, 8);
    digit = data[16] % 10;
    check_format(id);

    insp_stream_id_format(id, text, sizeof(text));
    fits = id.ms <= (UINT64_MAX - digit) / 10;
    snprintf(longer, sizeof(longer), "%" PRIu64 "%u-%" PRIu64, id.ms, digit,
             id.seq);
    got = sentinel;
    FUZZ_CHECK(insp_stream_id_parse(longer, &got) == fits);
    if (fits)
        FUZZ_CHECK(got.ms == id.ms * 10 + digit && got.seq == id.seq);

    fits = id.seq <= (UINT64_MAX - digit) / 10;
    snprintf(longer, sizeof(longer), "%s%u", text, digit);
    got = sentinel;
    FUZZ_CHECK(insp_stream_id_parse(longer, &got) == fits);
    if (fits)
        FUZZ_CHECK(got.ms == id.ms && got.seq == id.seq * 10 + digit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool has_query = size > 0 && memchr(data, '\n', size) != NULL;
    const uint8_t *rest = data;
    size_t rest_size = size;
    char *header = fuzz_next_line(&rest, &rest_size);
    char *query = has_query ? fuzz_strndup(rest, rest_size) : NULL;

    check_parse(header);
    if (query != NULL)
        check_parse(query);
    check_resume(header, query);
    check_built(data, size);
    free(header);
    free(query);
    return 0;
}
