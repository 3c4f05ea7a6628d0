/* SPDX-License-Identifier: MIT
 *
 * The answer script of a sink (a test endpoint of the inspector): parsing
 * and validation of the JSON configuration, and the choice of the answer
 * for request number n given a random draw. Pure functions with no I/O;
 * the inspector keeps the request counter in Redis and sends the answer.
 *
 * docs/inspector.md ("Sinks") documents every field and bound.
 */
#ifndef HG_SINK_SCRIPT_H
#define HG_SINK_SCRIPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of a configuration. */
#define HG_SINK_SEQUENCE_MAX 100
#define HG_SINK_HEADERS_MAX 32
#define HG_SINK_HEADER_NAME_MAX 128
#define HG_SINK_HEADER_VALUE_MAX 1024
/* Bytes of one answer body, and of all bodies of a configuration. */
#define HG_SINK_ANSWER_BODY_MAX (64 * 1024)
#define HG_SINK_BODIES_TOTAL_MAX (256 * 1024)
/* Longest wait before an answer starts. */
#define HG_SINK_DELAY_MAX_MS 60000
/* Longest time a trickled body may take, at its configured rate. */
#define HG_SINK_TRICKLE_MAX_MS 60000
#define HG_SINK_RETRY_AFTER_MAX_S 86400
/* Bytes of a field path with its NUL: "sequence[99].headers." and a
 * header name of HG_SINK_HEADER_NAME_MAX bytes fit. */
#define HG_SINK_FIELD_MAX 192

typedef enum hg_sink_after {
    HG_SINK_AFTER_REPEAT_LAST = 0, /* the last response is repeated */
    HG_SINK_AFTER_CYCLE            /* the sequence starts again */
} hg_sink_after;

/* One scripted response. Its strings belong to the script that contains
 * it. */
typedef struct hg_sink_answer {
    int status;
    int delay_ms;
    /* Bytes per second of a slowly sent body; 0 sends it at once. */
    int trickle_bytes_per_s;
    /* Body bytes sent before the connection is closed; -1 sends the whole
     * body. */
    long cut_after_bytes;
    /* Value of the Retry-After header, or NULL. */
    char *retry_after;
    char *body;
    size_t body_len;
    int header_count;
    char *header_names[HG_SINK_HEADERS_MAX];
    char *header_values[HG_SINK_HEADERS_MAX];
} hg_sink_answer;

typedef struct hg_sink_script {
    /* The answer when there is no sequence. */
    hg_sink_answer single;
    hg_sink_answer *sequence;
    int sequence_len;
    hg_sink_after after;
    /* Percentage (0 to 100) of requests answered with failure_status
     * instead of the scripted answer. */
    int failure_percent;
    int failure_status;
    /* Owner and signature endpoint named in the configuration; empty when
     * not given. */
    char integration_id[64];
    char endpoint_id[64];
} hg_sink_script;

/* A validation failure: the field path (such as "sequence[1].status") and
 * a sentence that states the accepted values. */
typedef struct hg_sink_error {
    char field[HG_SINK_FIELD_MAX];
    char message[256];
} hg_sink_error;

/* Parses and validates a configuration object into *out, which the caller
 * frees with hg_sink_script_clear(). now_s is the current Unix time, used
 * to check an HTTP-date Retry-After. Returns 0, or -1 with *err filled and
 * *out left empty. */
int hg_sink_script_parse(const json_t *config, int64_t now_s,
                         hg_sink_script *out, hg_sink_error *err);
/* Frees what a script owns and empties it. Accepts a cleared script. */
void hg_sink_script_clear(hg_sink_script *s);

/* Returns the answer of request number n (1 for the first request since
 * the configuration was set) when the random draw is draw_percent (0 to
 * 99). A failure answer is written to *failure and returned; otherwise
 * the result points into s. */
const hg_sink_answer *hg_sink_script_pick(const hg_sink_script *s, long long n,
                                          int draw_percent,
                                          hg_sink_answer *failure);

/* Returns the script's default answer for a sink without configuration:
 * 200 with an empty body. */
void hg_sink_script_default(hg_sink_script *out);

#endif
