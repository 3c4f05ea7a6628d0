/* SPDX-License-Identifier: MIT
 *
 * Outbound HTTP for deliveries: libcurl's multi-socket API driven by the
 * libevent loop, so thousands of deliveries share one thread without
 * blocking it. Each request is a POST with no redirects, http and https
 * only, connect and total timeouts, a bounded capture of the answer (the
 * rest of a large body is not read), and an address check on the resolved
 * address in the open-socket callback.
 */
#ifndef HG_HTTP_CLIENT_H
#define HG_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct hg_http_client hg_http_client;

typedef struct hg_http_request {
    const char *url;
    /* "Name: value" lines, NULL-terminated; copied by libcurl. */
    const char *const *headers;
    const char *body; /* must stay valid until the callback */
    size_t body_len;
    long connect_timeout_ms;
    long total_timeout_ms;
    size_t capture_limit; /* response body bytes kept */
    bool allow_private;   /* false: refuse non-public addresses */
    const char *proxy;    /* "" for none; with a proxy, it owns the
                             address policy */
    /* NULL, or a curl_slist of CURLOPT_RESOLVE entries (tests). */
    struct curl_slist *resolve;
} hg_http_request;

typedef struct hg_http_result {
    long http_status; /* 0 when no response status line was received */
    /* NULL when an HTTP status was received; otherwise one of "dns",
     * "connect", "tls", "timeout", "blocked_by_policy". */
    const char *error_class;
    /* Shown to the partner in the attempt record. */
    char error_message[256];
    /* The blocked address of a blocked_by_policy result, for the
     * operator's log only: partners must not map internal DNS with it. */
    char blocked_address[64];
    int64_t started_at_ms; /* wall clock */
    int64_t duration_ms;
    /* Raw response header block (status line excluded), bounded. */
    const char *response_headers;
    size_t response_headers_len;
    const char *response_body;
    size_t response_body_len;
    bool response_truncated;
    /* False when the connection broke or timed out before the whole
     * response arrived (a cut at the capture limit is not a break). */
    bool response_complete;
} hg_http_result;

/* Runs exactly once per request, on the loop, never inside send. The result
 * and its buffers are valid only during the callback. */
typedef void (*hg_http_done_cb)(const hg_http_result *res, void *arg);

hg_http_client *hg_http_client_new(struct event_base *base);
/* Starts a request. Always succeeds from the caller's view: failures to
 * start are reported through cb like any other error. */
void hg_http_client_send(hg_http_client *c, const hg_http_request *req,
                         hg_http_done_cb cb, void *arg);
/* Requests in progress. */
int hg_http_client_active(const hg_http_client *c);
/* Aborts requests in progress (their callbacks run with a "connect" error
 * inside this call) and frees the client. Accepts NULL. */
void hg_http_client_free(hg_http_client *c);

#endif
