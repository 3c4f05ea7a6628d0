/* SPDX-License-Identifier: MIT
 *
 * Shared declarations of hookgate-retry: the dispatcher (reads delivery
 * tasks from the work streams with a consumer group, sends them and records
 * every attempt), the scheduler (moves due retries from the schedule to the
 * work streams) and the pieces of one delivery job.
 */
#ifndef HG_RETRY_H
#define HG_RETRY_H

#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/redis.h"
#include "common/trace.h"
#include "common/typefilter.h"
#include "retry/http_client.h"

struct event_base;
struct event;
typedef struct dispatcher dispatcher;

typedef enum job_outcome {
    OUTCOME_SUCCEEDED,
    OUTCOME_FAILED, /* another attempt is scheduled */
    OUTCOME_DEAD
} job_outcome;

/* One work entry being processed, from read to the recorded attempt. */
typedef struct job {
    dispatcher *d;
    int shard;
    char entry_id[48];
    char integration_id[64];
    char delivery_id[96];
    bool manual;

    /* Loaded by load_delivery.lua. */
    char status[16];
    char event_id[HG_ID_MAX];
    char endpoint_id[64];
    int retry_index;
    char *payload;
    size_t payload_len;
    char type[HG_EVENT_TYPE_MAX + 1];
    char traceparent[64];
    char tracestate[HG_TRACESTATE_MAX + 1]; /* of the event, "" for none */
    /* The attempt's trace context: the event's trace, the stored span as
     * parent, and a new span for this attempt. */
    hg_trace trace;
    char *url;
    char *secret;          /* opened (in clear); wiped when freed */
    char *previous_secret; /* during a rotation, else NULL */
    char endpoint_status[16];
    char *headers_json;    /* the endpoint's custom headers */
    long connect_timeout_ms;
    long timeout_ms;
    bool probe; /* the breaker's single trial delivery */
    int hops;   /* hookgate deliveries the event came through */

    /* The signed request headers, kept for the attempt record. */
    struct attempt_request *request;

    /* Outcome of the attempt, kept until Redis recorded it. */
    job_outcome outcome;
    int64_t next_due_ms;
    const char *dead_reason;
    /* Reason to disable the endpoint after this attempt, or NULL. */
    const char *endpoint_action;
    /* False when hookgate's own policy refused the attempt. */
    bool counts_for_health;
    /* Of the attempt, for the log: the partner's message and, for a
     * blocked address, the address. */
    char error_message[384];
    const char *error_class; /* of the attempt, a static string, or NULL */
    int http_status;         /* of the response, 0 for none */
    char attempt_id[HG_ID_MAX];
    char *attempt_json;
    unsigned char *attempt_packed; /* attempt_json deflated, for Redis */
    size_t attempt_packed_len;
    char *activity_fields;
    int record_failures;
    struct event *retry_timer;
} job;

#define ATTEMPT_HEADERS_MAX 32

/* The headers sent with one attempt: Standard Webhooks, trace context and
 * the endpoint's custom headers. */
typedef struct attempt_request {
    char webhook_id[HG_ID_MAX];
    char timestamp[24];
    /* One "v1,<base64>" per secret in use, space-separated. */
    char signature[2 * HG_SIGNATURE_LEN + 2];
    char traceparent[64];
    char tracestate[HG_TRACESTATE_MAX + 1]; /* "" when none was sent */
    char hops[16];                  /* the Hookgate-Hops value sent */
    json_t *custom;                 /* the custom headers, for the record */
    char *lines[ATTEMPT_HEADERS_MAX]; /* "Name: value", owned */
    const char *line_ptrs[ATTEMPT_HEADERS_MAX + 1];
    int nlines;
} attempt_request;

void attempt_request_free(attempt_request *req);

/* Fills the headers for j, signed with j->secret (and j->previous_secret
 * during a rotation) at the current time. Returns -1 when a secret cannot
 * be decoded. */
int attempt_prepare(const job *j, attempt_request *out);
/* Decides the outcome of an answer and fills j->outcome, next_due_ms and
 * dead_reason, using the schedule and a receiver's Retry-After. */
void attempt_decide(job *j, const hg_http_result *res,
                    const hg_config *cfg);
/* Builds the attempt record (JSON) and the activity fields of the result
 * into j (malloc'd strings). Returns -1 when memory runs out. */
int attempt_describe(job *j, const attempt_request *req,
                     const hg_http_result *res);

typedef struct jobs_runner jobs_runner;
/* Runs background jobs under the gate's consumer name, once the gate
 * (this worker's dispatcher) is ready. */
jobs_runner *jobs_runner_new(struct event_base *base, const hg_config *cfg,
                             const dispatcher *gate);
void jobs_runner_free(jobs_runner *j);

typedef struct alert_runner alert_runner;
/* Evaluates the alert rules of every integration each
 * cfg->alert_eval_interval_ms on a Redis connection of its own, once the
 * gate (this worker's dispatcher) is ready (alerts.c). */
alert_runner *alert_runner_new(struct event_base *base, const hg_config *cfg,
                               const dispatcher *gate);
/* Stops the timer and completes the evaluations in flight. Accepts NULL. */
void alert_runner_free(alert_runner *a);

/* Worker heartbeat for the status page (heartbeat.c): a sorted set of
 * consumer names scored by the last time each was seen, in milliseconds. */
#define RETRY_KEY_WORKERS "hg:{status}:workers"
/* Starts writing this worker's heartbeat every two seconds on base, on a
 * Redis connection of its own; worker is copied. Once the process is
 * stopping, the entry is removed. retry_heartbeat_free() stops it and
 * accepts being called when it never started. */
void retry_heartbeat_start(struct event_base *base, const hg_config *cfg,
                           const char *worker);
/* Removes this worker's entry from the status page's set, then calls
 * done(arg), also when Redis cannot be reached (within about a second). */
void retry_heartbeat_stop(void (*done)(void *arg), void *arg);
void retry_heartbeat_free(void);

dispatcher *dispatcher_new(struct event_base *base, const hg_config *cfg);
/* The consumer name of this worker in the consumer groups. */
const char *dispatcher_consumer(const dispatcher *d);
/* Deletes the consumers of group on stream that gone workers left behind:
 * no pending entry, no entry served and no heartbeat for a visibility
 * timeout (a live worker sends one every 2 s). group must outlive the
 * call, since the reply's log line names it. */
void retry_prune_consumers(hg_redis *r, const hg_config *cfg,
                           const char *stream, const char *group,
                           const char *consumer);
/* Stops reading new work; calls done() once in-flight jobs are recorded or
 * the grace period ended. */
void dispatcher_stop(dispatcher *d, void (*done)(void *arg), void *arg);
void dispatcher_free(dispatcher *d);
/* Returns NULL when ready, else the reason. */
const char *dispatcher_readiness(const dispatcher *d);

#endif
