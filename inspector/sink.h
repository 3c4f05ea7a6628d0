/* SPDX-License-Identifier: MIT
 *
 * Private declarations of the sinks: Redis key names, the state of one
 * request received at /sink/{sink_id}, and the sending of its scripted
 * answer (sink_answer.c).
 *
 * Every key of a sink carries the hash tag "{<sink_id>}", which is also
 * the tag of the integration with the same id:
 *   hg:sink:{id}:config    hash: integration_id (owner), config (JSON),
 *                          endpoint_id, created_at, updated_at
 *   hg:sink:{id}:seq       requests since the config was set
 *   hg:sink:{id}:stats     hash: requests, status:<code> (answers sent)
 *   hg:sink:{id}:captures  list of capture JSON, newest first
 *   hg:sink:{id}:bytes     bytes stored in the capture list
 * plus the index hg:sinks (sink id -> owner) of configured sinks.
 */
#ifndef HG_INSPECTOR_SINK_H
#define HG_INSPECTOR_SINK_H

#include <jansson.h>
#include <stdbool.h>

#include "common/clock.h"
#include "common/http.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/sink_script.h"

/* Lifetime of captures and of the counters of sinks without config. */
#define SINK_CAPTURE_TTL_S (7 * 86400)

/* Writes "hg:sink:{<sink_id>}:<suffix>" into out (HG_KEY_MAX bytes). */
char *sink_key(char *out, const char *sink_id, const char *suffix);

/* One request received by a sink, from its arrival until its answer is
 * sent. Owned by the hg_req (r->data). */
typedef struct sink_request {
    hg_req *r;
    char sink_id[HG_PARAM_MAX];
    char owner[64];
    char capture_id[HG_ID_MAX];
    char received_at[HG_TIME_BUF];
    long long number; /* request number since the config was set */
    bool configured;
    hg_sink_script script;
    hg_sink_answer failure; /* storage for a failure answer */
    const hg_sink_answer *answer;
    json_t *capture;
    /* Sending: the timer of a delay, a trickled body or a cut-off. */
    struct event *timer;
    bool timer_holds_ref; /* the armed timer owns one reference of r */
    int64_t delay_until_us; /* monotonic end of the delay */
    int phase;
    size_t sent; /* body bytes written */
} sink_request;

/* Sends the chosen answer of s: waits for its delay, then sends it at
 * once, slowly, or cut off. Takes over r; nothing may touch r after it
 * except through the timer. */
void sink_answer_send(sink_request *s);
/* Cancels a pending timer when the request ends early; set as
 * r->on_close. */
void sink_answer_on_close(hg_req *r);
/* Frees what sink_answer_* allocated in s. */
void sink_answer_free(sink_request *s);

#endif
