/* SPDX-License-Identifier: MIT
 *
 * HTTP server plumbing shared by the three processes, on libevhtp: a router
 * with path parameters, a per-request context (hg_req) that survives the
 * client going away, answers paused across Redis round trips with a
 * deadline, problem+json errors, the body size limit (413 before the body is
 * read), and the response writer. libevhtp's own reply writer is not used
 * because it has no reason phrase for 422 or 429 and adds headers of its
 * own.
 *
 * Threads: with threads > 0, each thread runs its own event loop and gets
 * its own context from the thread_init callback; an hg_req is only touched
 * on its own thread.
 */
#ifndef HG_HTTP_H
#define HG_HTTP_H

#include <evhtp.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errors.h"
#include "common/trace.h"

#define HG_MAX_PARAMS 4
#define HG_PARAM_MAX 128
#define HG_REQUEST_ID_MAX 128

typedef struct hg_http hg_http;
typedef struct hg_req hg_req;

typedef void (*hg_route_fn)(hg_req *r);

typedef struct hg_route {
    htp_method method;
    /* Literal segments and "{name}" parameters, as in
     * "/api/v1/integrations/{id}/events". A parameter matches one non-empty
     * segment. */
    const char *pattern;
    hg_route_fn handler;
    /* For a deprecated route, the HTTP-date after which it may be removed;
     * NULL otherwise. The router does not send it: the handler sends it as
     * Sunset together with Deprecation, whose value (RFC 9745) is the date
     * of deprecation, which the table does not have. */
    const char *sunset;
} hg_route;

/* Route table entries. */
#define HG_ROUTE(method, pattern, handler) {method, pattern, handler, NULL}
#define HG_DEPRECATED_ROUTE(method, pattern, handler, sunset)                 \
    {method, pattern, handler, sunset}

/* One query parameter, percent-decoded. */
typedef struct hg_query_param {
    const char *name;
    const char *value;
} hg_query_param;

typedef struct hg_http_options {
    const char *service;
    const hg_route *routes;
    int route_count;
    /* Complete "Name: value\r\n" lines added to every response, such
     * as the API version; may be NULL. */
    const char *static_headers;
    /* Bodies larger than this answer 413 before they are read. */
    long long max_body_bytes;
    /* 0: serve on the caller's loop; n: n worker threads, each its loop. */
    int threads;
    /* Builds the per-thread context on the new thread's base (threads > 0),
     * or NULL; its result is what hg_req_thread() returns. */
    void *(*thread_init)(struct event_base *base, void *arg);
    void (*thread_exit)(void *thread_ctx, void *arg);
    void *arg;
    /* Context when threads == 0. */
    void *single_thread_ctx;
    /* Called once per request that reached a route lookup, on the
     * request's thread, when libevhtp frees it: after the reply was
     * written or the client went away. status is the status sent, or 0
     * when the client left before any reply. duration_us runs from the
     * parsed request head to that moment, so for a stream it is the
     * stream's lifetime. r->route (NULL when unmatched), r->method,
     * r->auth_integration and r->auth_actor are readable; r->req is NULL.
     * Requests rejected before routing (413 from the head, framing errors,
     * NUL bytes in the head) are not reported. May be NULL. */
    void (*on_done)(hg_req *r, int status, long long duration_us);
    /* A sentence added to the detail of a 405 for a path under /api/, such
     * as where the route's other methods are served. May be NULL. */
    const char *method_hint;
} hg_http_options;

struct hg_req {
    evhtp_request_t *req;     /* NULL once libevhtp freed the request */
    hg_http *server;
    struct event_base *base;
    void *thread;
    const hg_route *route;
    htp_method method;
    char params[HG_MAX_PARAMS][HG_PARAM_MAX];
    char request_id[HG_REQUEST_ID_MAX + 1];
    /* W3C trace context: the caller's trace (or a new one when the
     * traceparent header is missing or invalid) and this request's span,
     * sent back in the traceparent response header. */
    hg_trace trace;
    /* Requests in progress on this thread, for the log's trace lookup. */
    struct hg_req *live_next;
    struct hg_req *live_prev;
    int64_t start_us;
    struct event *deadline;
    struct evbuffer *headers_out; /* extra response header lines */
    int refs;
    bool paused;
    bool replied;
    bool streaming;
    /* Listed with its connection, so hg_http_end_streams() can end it. */
    bool stream_listed;
    /* A HEAD request, served by the GET route: the reply has the GET
     * response's status and headers but no body. */
    bool head;
    int status;
    /* The query parameters in request order; names and values point into
     * query_text. */
    hg_query_param *query;
    int query_count;
    char *query_text;
    /* Called once when libevhtp frees the request (reply sent or client
     * gone), before the request's reference is released. */
    void (*on_close)(hg_req *r);
    /* Detail of the 503 sent when the deadline passes; NULL for the
     * default. */
    const char *timeout_detail;
    /* Handler state, freed with the request by data_free. */
    void *data;
    void (*data_free)(void *data);
    /* The step that the process's authorization runs next, kept while it
     * checks the request's preconditions first. */
    void (*authorized_next)(struct hg_req *r);
    /* Set by the process's authentication step. auth_actor names the
     * caller in audit records: "admin", "key:<key id>", "client:<id>".
     * auth_role is the inspector role of a person signed in: "admin",
     * "integration", "viewer" or "support"; empty elsewhere. */
    char auth_integration[64];
    bool auth_admin;
    unsigned auth_scopes;
    char auth_actor[96];
    char auth_role[16];
    /* When the caller's API key or support token expires, in ms since
     * the epoch; 0 when it never does or the step does not tell. */
    long long auth_expires_ms;
};

/* Connection limits, the same for every server of the process. A
 * connection must send each request line and headers within
 * header_timeout_ms, counted from its start or from the first byte of a
 * later request. It must send each body within body_timeout_ms after its
 * headers. Otherwise it gets 408 and is closed. A keep-alive connection
 * that waits longer than idle_timeout_ms for its next request is closed
 * without a response. A connection beyond max_connections (0: the
 * open-file limit minus 256, at least half of it) gets 503 and is closed.
 * Requests in progress and event streams have none of these deadlines. */
typedef struct hg_http_limits {
    int header_timeout_ms;
    int body_timeout_ms;
    int idle_timeout_ms;
    int max_connections;
} hg_http_limits;

/* Sets the limits of servers created afterwards; the defaults are 10 s,
 * 30 s, 60 s and 0. */
void hg_http_set_limits(const hg_http_limits *limits);
/* Returns the number of client connections a process keeps open. */
int hg_http_connection_limit(void);

/* Creates the server on base. Returns NULL on failure. */
hg_http *hg_http_new(struct event_base *base, const hg_http_options *opts);
/* Binds host:port; returns 0, or -1 with errno set by the bind. */
int hg_http_listen(hg_http *h, const char *host, int port);
/* Makes h accept TLS only (1.2 or later, no compression, the server's
 * cipher order), with the PEM certificate chain and private key at the
 * given paths. Call before hg_http_listen. Returns 0, or -1 after writing
 * into err a sentence naming HOOKGATE_TLS_CERT or HOOKGATE_TLS_KEY (file
 * unreadable, not PEM, or a key that does not match the certificate). */
int hg_http_use_tls(hg_http *h, const char *cert_path, const char *key_path,
                    char *err, size_t errsz);
/* Turns TLS on when cert_path is not empty, then binds host:port, logging
 * what failed. Returns 0, 2 for an unusable TLS setting, or 1 when the
 * address cannot be bound: the process's exit status. */
int hg_http_start(hg_http *h, const char *cert_path, const char *key_path,
                  const char *host, int port);
/* Stops accepting connections; requests in progress go on. */
void hg_http_stop_accepting(hg_http *h);
/* Ends every streaming response (server-sent events) of the calling
 * thread's loop with the closing chunk, so their clients see a clean end
 * and reconnect elsewhere. Returns the number of streams ended. */
int hg_http_end_streams(void);
/* Returns the number of requests in progress in this process. */
int hg_http_active_requests(void);
/* Stops the worker threads and frees the server. Accepts NULL. */
void hg_http_free(hg_http *h);

/* Returns the method's name, such as "GET", or "UNKNOWN" for a method
 * libevhtp does not know. */
const char *hg_method_name(htp_method method);

/* Request accessors. */
const char *hg_req_header(const hg_req *r, const char *name);
/* Returns true when a POST, PUT, PATCH or DELETE has an If-Match line
 * other than "*" (RFC 9110, section 13.1.1). hookgate sends no entity
 * tags, so no current representation matches a listed tag, and ignoring
 * the header would let a client that relies on it lose updates. */
bool hg_req_if_match_fails(const hg_req *r);
/* Replies 412 and returns false when hg_req_if_match_fails(). The
 * authorization steps call it after the credential check, so a caller
 * without valid credentials still gets 401 (RFC 9110, section 13.2.1).
 * NOTE: most routes look the resource up in the script that changes it,
 * after this check, so a missing resource gets 412 rather than 404. */
bool hg_req_preconditions_hold(hg_req *r);
#define HG_IF_MATCH_DETAIL                                                    \
    "If-Match lists an entity tag, but hookgate sends none, so no tag "     \
    "matches and nothing was changed. Send the request without If-Match "   \
    "(changes are last-writer-wins) or with If-Match: *"

/* Stores the values of every header line named name (case-insensitive),
 * in order, in out (at most cap), and returns how many lines there are,
 * which may exceed cap. The values belong to the request. */
size_t hg_req_header_all(const hg_req *r, const char *name, const char **out,
                         size_t cap);
/* Returns the value of the first query parameter called name, or NULL.
 * Names and values are percent-decoded once, with "+" as a space. A "%"
 * that is not followed by two hex digits, and "%00", stay as sent, so such
 * a value fails the route's own check instead of being cut short. */
const char *hg_req_query(const hg_req *r, const char *name);
const char *hg_req_path(const hg_req *r);
/* Copies the token of "Authorization: Bearer <token>" into out (cap bytes
 * with the NUL); false when the header is missing, malformed or too long. */
bool hg_req_bearer(const hg_req *r, char *out, size_t cap);
/* Returns true when the Content-Type header is application/json, with or
 * without parameters such as charset. */
bool hg_req_is_json(const hg_req *r);
/* Returns the whole body as one contiguous buffer (valid while the request
 * lives) and its length. */
const char *hg_req_body(hg_req *r, size_t *len);
/* Writes the client's address as text into buf. */
char *hg_req_peer(const hg_req *r, char *buf, size_t cap);
static inline void *hg_req_thread(const hg_req *r)
{
    return r->thread;
}

/* Reference counting: the handler's caller and every pending asynchronous
 * operation each hold one reference. */
void hg_req_hold(hg_req *r);
void hg_req_release(hg_req *r);
/* Pauses the request until a reply is sent, holds a reference for the
 * asynchronous work, and arms a deadline after which the client gets 503.
 * The work must end with hg_req_release(). */
void hg_req_async(hg_req *r, int timeout_ms);
/* True when a reply can no longer be sent (already sent, or client gone). */
bool hg_req_done(const hg_req *r);

/* Adds a response header (both strings are copied). */
void hg_reply_header(hg_req *r, const char *name, const char *value);
/* A response body that many responses send without copying it: each one
 * keeps a reference until its connection wrote or dropped the bytes. For
 * one event loop: the counts are not atomic. */
typedef struct hg_shared_body hg_shared_body;
/* Wraps text of len bytes (taken; freed with the last reference) with one
 * reference, the caller's. Returns NULL and frees text when out of memory. */
hg_shared_body *hg_shared_body_new(char *text, size_t len);
/* Drops the caller's reference; NULL is ignored. */
void hg_shared_body_release(hg_shared_body *b);
/* Like hg_reply(), with the body of b, which gets a reference for as
 * long as the connection keeps the bytes. */
void hg_reply_shared(hg_req *r, int status, const char *content_type,
                     hg_shared_body *b);
/* Sends status with body (may be NULL for none) and content type. */
void hg_reply(hg_req *r, int status, const char *content_type,
              const void *body, size_t len);
/* Sends a JSON body; takes ownership of json. */
void hg_reply_json(hg_req *r, int status, json_t *json);
/* Like hg_reply_json, with reals printed to at most digits significant
 * digits (1 to 30), for values already rounded: jansson's default of 17
 * prints 0.7 as 0.69999999999999996. Never for replies that carry a
 * caller's numbers, which must come back as sent. */
void hg_reply_json_digits(hg_req *r, int status, json_t *json, int digits);
/* Sends application/problem+json with the code's status and title, the
 * detail sentence and the request id. */
void hg_reply_problem(hg_req *r, hg_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Builds a problem object (type, title, status, detail, code, request_id)
 * to which a route may add members before sending it. */
json_t *hg_problem_new(const hg_req *r, hg_error code, const char *detail);
/* Sends a problem object with the code's status; takes ownership. */
void hg_reply_problem_json(hg_req *r, hg_error code, json_t *problem);
/* Sends 503 with Retry-After for a Redis failure. */
void hg_reply_unavailable(hg_req *r, const char *why);

/* Sends GET /metrics: the process's metrics (common/prom.h) in the
 * Prometheus text format 0.0.4. When token is not empty, the request must
 * carry "Authorization: Bearer <token>", compared in constant time, or
 * gets 401 UNAUTHORIZED. Every request of a server created by hg_http_new
 * is counted in hookgate_http_requests_total and
 * hookgate_http_request_duration_seconds. */
void hg_reply_metrics(hg_req *r, const char *token);

/* Starts a chunked streaming response (server-sent events). The read
 * timeout is lifted for the connection. */
void hg_stream_start(hg_req *r, int status, const char *content_type);
/* Writes one chunk; returns the bytes still waiting to be sent to the
 * client, or -1 when the client is gone. */
long hg_stream_write(hg_req *r, const void *data, size_t len);
/* Ends the chunked response. */
void hg_stream_end(hg_req *r);

/* Sends the response of /healthz and /readyz for all processes: 200
 * {"status": "ok"}, or for a readiness check with a reason (NULL when
 * ready) 503 UNAVAILABLE as problem+json whose detail and "reason" member
 * are the reason. */
void hg_reply_health(hg_req *r, bool readiness, const char *reason);

#endif
