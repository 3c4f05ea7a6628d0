/* SPDX-License-Identifier: MIT */
#include "common/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <evhtp/thread.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/http_parse.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/text.h"

/* Retry-After seconds sent with a 503 caused by Redis. */
#define RETRY_AFTER_UNAVAILABLE "1"
/* A client that reads nothing of a response for this long is cut. */
#define WRITE_TIMEOUT_S 60

/* Set once the process stops accepting connections (see write_head). */
static atomic_bool http_draining;

/* Requests in progress, across all threads (for draining at shutdown). */
static _Atomic int active_requests;

static void list_stream(hg_req *r, evhtp_connection_t *conn, bool add);
static void note_message_done(evhtp_connection_t *conn);
static void note_closing(evhtp_connection_t *conn);
static void note_request_fini(evhtp_connection_t *conn);

struct hg_http {
    evhtp_t *evhtp;
    struct event_base *base;
    hg_http_options opts;
    /* libevhtp keeps a pointer to this for the server's lifetime. */
    evhtp_ssl_cfg_t ssl_cfg;
};

/* ---- typed wrappers over libevhtp's untyped hook setter -------------- */

typedef evhtp_res (*request_fini_hook)(evhtp_request_t *req, void *arg);
typedef evhtp_res (*headers_hook)(evhtp_request_t *req,
                                  evhtp_headers_t *headers, void *arg);
typedef evhtp_res (*read_hook)(evhtp_request_t *req, struct evbuffer *buf,
                               void *arg);
typedef evhtp_res (*connection_fini_hook)(evhtp_connection_t *conn,
                                          void *arg);
typedef evhtp_res (*headers_start_hook)(evhtp_request_t *req, void *arg);

static void set_request_fini_hook(evhtp_request_t *req, request_fini_hook fn,
                                  void *arg)
{
    evhtp_request_set_hook(req, evhtp_hook_on_request_fini, (evhtp_hook)fn,
                           arg);
}

static void set_headers_hook(evhtp_connection_t *conn, headers_hook fn,
                             void *arg)
{
    evhtp_connection_set_hook(conn, evhtp_hook_on_headers, (evhtp_hook)fn,
                              arg);
}

static void set_headers_start_hook(evhtp_connection_t *conn,
                                   headers_start_hook fn, void *arg)
{
    evhtp_connection_set_hook(conn, evhtp_hook_on_headers_start,
                              (evhtp_hook)fn, arg);
}

static void set_read_hook(evhtp_connection_t *conn, read_hook fn, void *arg)
{
    evhtp_connection_set_hook(conn, evhtp_hook_on_read, (evhtp_hook)fn, arg);
}

static void set_connection_fini_hook(evhtp_connection_t *conn,
                                     connection_fini_hook fn, void *arg)
{
    evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini,
                              (evhtp_hook)fn, arg);
}

static void set_request_read_hook(evhtp_request_t *req, read_hook fn,
                                  void *arg)
{
    evhtp_request_set_hook(req, evhtp_hook_on_read, (evhtp_hook)fn, arg);
}

/* ---- response writing ------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 418: return "I'm a teapot";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    /* The phrase is optional (RFC 9112, section 4), so the rest get a
     * generic word for their class. */
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : "Error";
    }
}

/* Returns the method's name, or "UNKNOWN" for a method libevhtp does not
 * know, for which htparser_get_methodstr_m() returns NULL. */
static const char *method_name(htp_method method)
{
    const char *name = htparser_get_methodstr_m(method);

    return name != NULL ? name : "UNKNOWN";
}

const char *hg_method_name(htp_method method)
{
    return method_name(method);
}

/* Returns true when extra already contains a header line named name, which
 * must be spelled as the code that added it spells it. */
static bool has_header_line(struct evbuffer *extra, const char *name)
{
    char line[64];
    struct evbuffer_ptr at;

    if (extra == NULL)
        return false;
    snprintf(line, sizeof(line), "%s:", name);
    at = evbuffer_search(extra, line, strlen(line), NULL);
    return at.pos >= 0;
}

/* Writes the status line and headers to the connection. extra contains
 * complete "Name: value\r\n" lines or is NULL. */
static void write_head(evhtp_request_t *req, int status,
                       const char *content_type, size_t content_length,
                       bool chunked, const char *request_id,
                       struct evbuffer *extra)
{
    const hg_http *h = req->htp ? req->htp->arg : NULL;
    struct evbuffer *out = bufferevent_get_output(req->conn->bev);
    bool http10 = req->proto == EVHTP_PROTO_10;
    bool keepalive;

    /* A stopping server closes each connection after its response, so the
     * client's next request opens a connection to another instance rather
     * than being reset when this process exits. */
    if (atomic_load(&http_draining))
        req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    /* HTTP/1.0 has no chunked coding (RFC 9112, section 6.1): there a
     * stream's body is sent as is and ends when the connection closes. */
    if (chunked && http10)
        req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    keepalive = (req->flags & EVHTP_REQ_FLAG_KEEPALIVE) != 0;

    evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\n", http10 ? 0 : 1, status,
                        reason_phrase(status));
    evbuffer_add_printf(out, "Server: hookgate/%s\r\n", HOOKGATE_VERSION);
    if (content_type != NULL)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    /* 204 and 304 carry no Content-Length: the first has no content at
     * all, and the second's would describe the content it leaves out
     * (RFC 9110, sections 8.6, 15.3.5 and 15.4.5). */
    if (chunked && !http10)
        evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    else if (!chunked && status != 204 && status != 304)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", content_length);
    if (request_id != NULL)
        evbuffer_add_printf(out, "X-Request-Id: %s\r\n", request_id);
    if (h != NULL && h->opts.static_headers != NULL)
        evbuffer_add(out, h->opts.static_headers,
                     strlen(h->opts.static_headers));
    /* JSON responses carry customer data or credentials, which no browser
     * or proxy cache may keep, unless the route set its own policy. */
    if (content_type != NULL &&
        (strcmp(content_type, "application/json") == 0 ||
         strcmp(content_type, "application/problem+json") == 0) &&
        !has_header_line(extra, "Cache-Control"))
        evbuffer_add_printf(out, "Cache-Control: no-store\r\n");
    if (extra != NULL)
        evbuffer_add_buffer(out, extra);
    if (!keepalive) {
        evbuffer_add_printf(out, "Connection: close\r\n");
        note_closing(req->conn);
    }
    else if (http10)
        evbuffer_add_printf(out, "Connection: keep-alive\r\n");
    evbuffer_add(out, "\r\n", 2);
}

static json_t *problem_json(hg_error code, const char *detail,
                            const char *request_id)
{
    char clean[1100];

    hg_text_sanitize(detail, clean, sizeof(clean));
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "about:blank",
                     "title", hg_error_title(code), "status",
                     hg_error_status(code), "detail", clean, "code",
                     hg_error_code(code), "request_id", request_id);
}

static void problem_body(struct evbuffer *out, hg_error code,
                         const char *detail, const char *request_id)
{
    json_t *body = problem_json(code, detail, request_id);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    if (text == NULL) {
        evbuffer_add_printf(out, "{\"code\":\"%s\",\"status\":%d}",
                            hg_error_code(code), hg_error_status(code));
        json_decref(body);
        return;
    }
    evbuffer_add(out, text, strlen(text));
    free(text);
    json_decref(body);
}

/* ---- request context -------------------------------------------------- */

/* Requests in progress on this thread. An hg_req and every log line about
 * it stay on one thread, so no lock is needed. */
static _Thread_local hg_req *live_requests;

static void live_add(hg_req *r)
{
    r->live_next = live_requests;
    r->live_prev = NULL;
    if (live_requests != NULL)
        live_requests->live_prev = r;
    live_requests = r;
}

static void live_remove(hg_req *r)
{
    if (r->live_prev != NULL)
        r->live_prev->live_next = r->live_next;
    else if (live_requests == r)
        live_requests = r->live_next;
    if (r->live_next != NULL)
        r->live_next->live_prev = r->live_prev;
}

/* The log's trace lookup: linear in the requests in progress on this
 * thread, and only run for lines that name a request but no trace. */
static bool lookup_trace(const char *correlation_id, const char **trace_id,
                         const char **span_id)
{
    for (const hg_req *r = live_requests; r != NULL; r = r->live_next) {
        if (r->request_id == correlation_id) {
            *trace_id = r->trace.trace_id;
            *span_id = r->trace.span_id;
            return true;
        }
    }
    return false;
}

/* Reads the trace context headers. Two traceparent headers are treated as
 * invalid, because nothing tells which one is right. Several tracestate
 * headers are joined with commas, as HTTP combines repeated list headers. */
static void begin_trace(evhtp_request_t *req, hg_trace *trace)
{
    const char *traceparent = NULL;
    char tracestate[HG_TRACESTATE_MAX * 2 + 2] = "";
    bool tracestate_too_long = false;
    int traceparents = 0;
    evhtp_kv_t *kv;

    TAILQ_FOREACH(kv, req->headers_in, next) {
        if (strcasecmp(kv->key, "traceparent") == 0) {
            traceparent = kv->val;
            traceparents++;
        } else if (strcasecmp(kv->key, "tracestate") == 0) {
            size_t n = strlen(tracestate);

            if (n + 1 + strlen(kv->val) >= sizeof(tracestate))
                tracestate_too_long = true;
            else
                snprintf(tracestate + n, sizeof(tracestate) - n, "%s%s",
                         n > 0 ? "," : "", kv->val);
        }
    }
    hg_trace_begin(trace, traceparents == 1 ? traceparent : NULL,
                   tracestate_too_long ? NULL : tracestate);
}

static void req_free(hg_req *r)
{
    active_requests--;
    live_remove(r);
    if (r->deadline != NULL)
        event_free(r->deadline);
    if (r->headers_out != NULL)
        evbuffer_free(r->headers_out);
    free(r->query);
    free(r->query_text);
    if (r->data_free != NULL)
        r->data_free(r->data);
    free(r);
}

void hg_req_hold(hg_req *r)
{
    r->refs++;
}

void hg_req_release(hg_req *r)
{
    if (--r->refs == 0)
        req_free(r);
}

bool hg_req_done(const hg_req *r)
{
    return r->replied || r->req == NULL;
}

/* ---- Prometheus metrics ----------------------------------------------- */

/* Upper bounds in seconds of the request duration histogram. */
static const double request_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,  0.1,    0.25,  0.5,  1,
                                         2.5,   5,      10};

static struct {
    hg_prom_metric *requests;
    hg_prom_metric *duration;
    hg_prom_metric *build_info;
    hg_prom_metric *start_time;
    hg_prom_metric *resident;
} http_metrics;
static pthread_once_t http_metrics_once = PTHREAD_ONCE_INIT;

static void declare_http_metrics(void)
{
    hg_prom_registry *reg = hg_prom_default();
    const char *const route_method_status[] = {"route", "method", "status"};
    const char *const route_method[] = {"route", "method"};
    const char *const version[] = {"version"};
    const char *const version_value[] = {HOOKGATE_VERSION};

    http_metrics.requests = hg_prom_declare(
        reg, HG_PROM_COUNTER, "hookgate_http_requests_total",
        "HTTP requests served, by route pattern, method and status (0: the "
        "client left before a reply).",
        3, route_method_status, 0, NULL);
    http_metrics.duration = hg_prom_declare(
        reg, HG_PROM_HISTOGRAM, "hookgate_http_request_duration_seconds",
        "Time from the parsed request head until the reply was written or "
        "the client left.",
        2, route_method, (int)(sizeof(request_buckets) / sizeof(double)),
        request_buckets);
    http_metrics.build_info = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_build_info",
        "Always 1; the version label is the hookgate version.", 1, version,
        0, NULL);
    http_metrics.start_time = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.", 0,
        NULL, 0, NULL);
    http_metrics.resident = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_process_resident_memory_bytes",
        "Resident memory of the process, from /proc/self/statm.", 0, NULL, 0,
        NULL);
    hg_prom_set(http_metrics.build_info, version_value, 1);
    hg_prom_set(http_metrics.start_time, NULL, (double)hg_time_ms() / 1000);
}

static void record_request(hg_req *r, int status, long long duration_us)
{
    const char *route = r->route != NULL ? r->route->pattern : "(unmatched)";
    const char *method = method_name(r->method);
    char status_text[8];
    const char *counter_values[] = {route, method, status_text};
    const char *histogram_values[] = {route, method};

    snprintf(status_text, sizeof(status_text), "%d", status);
    hg_prom_inc(http_metrics.requests, counter_values, 1);
    hg_prom_observe(http_metrics.duration, histogram_values,
                    (double)duration_us / 1e6);
    if (r->server->opts.on_done != NULL)
        r->server->opts.on_done(r, status, duration_us);
}

/* Reads the resident set size; the second field of /proc/self/statm is in
 * pages. */
static void update_resident_memory(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, resident;

    if (f == NULL)
        return;
    if (fscanf(f, "%llu %llu", &size, &resident) == 2)
        hg_prom_set(http_metrics.resident, NULL,
                    (double)resident * (double)sysconf(_SC_PAGESIZE));
    fclose(f);
}

void hg_reply_metrics(hg_req *r, const char *token)
{
    char given[256];
    size_t len;
    char *text;

    if (token != NULL && token[0] != '\0') {
        size_t token_len = strlen(token);

        if (!hg_req_bearer(r, given, sizeof(given)) ||
            strlen(given) != token_len ||
            !hg_ct_equal(given, token, token_len)) {
            hg_reply_header(r, "WWW-Authenticate", "Bearer");
            hg_reply_problem(r, HG_E_UNAUTHORIZED,
                             "/metrics requires Authorization: Bearer with "
                             "the HOOKGATE_METRICS_TOKEN value");
            return;
        }
    }
    update_resident_memory();
    text = hg_prom_render(hg_prom_default(), &len);
    if (text == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    hg_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static evhtp_res on_request_fini(evhtp_request_t *req, void *arg)
{
    hg_req *r = arg;

    note_request_fini(req->conn);
    r->req = NULL;
    if (r->stream_listed)
        list_stream(r, NULL, false);
    if (r->deadline != NULL)
        evtimer_del(r->deadline);
    if (r->on_close != NULL)
        r->on_close(r);
    record_request(r, r->replied || r->streaming ? r->status : 0,
                   hg_mono_us() - r->start_us);
    hg_req_release(r);
    return EVHTP_RES_OK;
}

static bool request_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > HG_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == ':'))
            return false;
    }
    return true;
}

static void choose_request_id(evhtp_request_t *req, char *out)
{
    const char *given = evhtp_header_find(req->headers_in, "X-Request-Id");
    char id[HG_ID_MAX];

    if (given != NULL && request_id_valid(given)) {
        snprintf(out, HG_REQUEST_ID_MAX + 1, "%s", given);
        return;
    }
    snprintf(out, HG_REQUEST_ID_MAX + 1, "%s", hg_id_new("req_", id));
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    hg_req *r = arg;

    (void)fd;
    (void)what;
    hg_reply_unavailable(r, r->timeout_detail
                                ? r->timeout_detail
                                : "the request timed out waiting for Redis");
}

void hg_req_async(hg_req *r, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    hg_req_hold(r);
    if (r->req == NULL || r->replied)
        return;
    if (!r->paused) {
        r->paused = true;
        evhtp_request_pause(r->req);
    }
    if (r->deadline == NULL)
        r->deadline = evtimer_new(r->base, on_deadline, r);
    evtimer_add(r->deadline, &tv);
}

/* ---- accessors --------------------------------------------------------- */

const char *hg_req_header(const hg_req *r, const char *name)
{
    return r->req ? evhtp_header_find(r->req->headers_in, name) : NULL;
}

size_t hg_req_header_all(const hg_req *r, const char *name, const char **out,
                         size_t cap)
{
    evhtp_kv_t *kv;
    size_t n = 0;

    if (r->req == NULL || r->req->headers_in == NULL)
        return 0;
    TAILQ_FOREACH(kv, r->req->headers_in, next) {
        if (kv->key != NULL && strcasecmp(kv->key, name) == 0) {
            if (n < cap)
                out[n] = kv->val;
            n++;
        }
    }
    return n;
}

const char *hg_req_query(const hg_req *r, const char *name)
{
    for (int i = 0; i < r->query_count; i++) {
        if (strcmp(r->query[i].name, name) == 0)
            return r->query[i].value;
    }
    return NULL;
}

/* Percent-decodes s in place, as hg_req_query() describes. */
static void percent_decode(char *s)
{
    size_t len = strlen(s);

    hg_percent_decode(s, len, s, len + 1, HG_PCT_PLUS | HG_PCT_LENIENT);
}

/* Splits the query string at "&", as HTML forms and the WHATWG URL
 * standard do (libevhtp's own parser also splits at ";"), and decodes each
 * name and value once. Returns false when out of memory. */
static bool parse_query(hg_req *r)
{
    const char *raw = r->req->uri ? (const char *)r->req->uri->query_raw : NULL;
    size_t pairs = 1;
    char *save = NULL;

    if (raw == NULL || raw[0] == '\0')
        return true;
    for (const char *c = raw; *c != '\0'; c++)
        pairs += *c == '&';
    r->query_text = strdup(raw);
    r->query = calloc(pairs, sizeof(*r->query));
    if (r->query_text == NULL || r->query == NULL)
        return false;
    for (char *pair = strtok_r(r->query_text, "&", &save); pair != NULL;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char *value = eq != NULL ? eq + 1 : pair + strlen(pair);

        if (eq != NULL)
            *eq = '\0';
        percent_decode(pair);
        percent_decode(value);
        r->query[r->query_count].name = pair;
        r->query[r->query_count].value = value;
        r->query_count++;
    }
    return true;
}

bool hg_req_bearer(const hg_req *r, char *out, size_t cap)
{
    const char *h = hg_req_header(r, "Authorization");
    size_t n;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    n = strcspn(h, " \t");
    if (n == 0 || n >= cap || h[n] != '\0')
        return false;
    memcpy(out, h, n);
    out[n] = '\0';
    return true;
}

bool hg_req_is_json(const hg_req *r)
{
    const char *type = hg_req_header(r, "Content-Type");

    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ' ||
            type[16] == '\t');
}

const char *hg_req_path(const hg_req *r)
{
    if (r->req == NULL || r->req->uri == NULL || r->req->uri->path == NULL)
        return "";
    return r->req->uri->path->full;
}

const char *hg_req_body(hg_req *r, size_t *len)
{
    struct evbuffer *in;

    *len = 0;
    if (r->req == NULL)
        return NULL;
    in = r->req->buffer_in;
    *len = evbuffer_get_length(in);
    return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

char *hg_req_peer(const hg_req *r, char *buf, size_t cap)
{
    const struct sockaddr *sa = r->req ? r->req->conn->saddr : NULL;

    buf[0] = '\0';
    if (sa == NULL)
        return buf;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, cap, "%s:%d", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        char ip[INET6_ADDRSTRLEN];

        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, cap, "[%s]:%d", ip, ntohs(in6->sin6_port));
    }
    return buf;
}

/* ---- replies ----------------------------------------------------------- */

static struct evbuffer *headers_of(hg_req *r)
{
    if (r->headers_out == NULL)
        r->headers_out = evbuffer_new();
    return r->headers_out;
}

void hg_reply_header(hg_req *r, const char *name, const char *value)
{
    struct evbuffer *h = headers_of(r);

    /* Header values come from validated input or from constants; a CR or
     * LF would still split the response, so such a value is dropped. */
    if (h == NULL || strpbrk(value, "\r\n") != NULL)
        return;
    evbuffer_add_printf(h, "%s: %s\r\n", name, value);
}

/* Writes the request's line: INFO for every request, except DEBUG for the
 * health probes, which load balancers call every few seconds. The route
 * is the matched pattern, so lines group by route and carry no id from the
 * path. A request that matched no route has "(unmatched)". */
static void log_access(const hg_req *r, int status)
{
    const char *route = r->route != NULL ? r->route->pattern : "(unmatched)";
    hg_log_fields f = {.correlation_id = r->request_id,
                       .trace_id = r->trace.trace_id,
                       .span_id = r->trace.span_id,
                       .route = route,
                       .method = r->req ? method_name(r->req->method) : "-",
                       .status = status,
                       .duration_ms = (hg_mono_us() - r->start_us) / 1000};
    bool probe = strcmp(route, "/healthz") == 0 ||
                 strcmp(route, "/readyz") == 0;

    hg_log(probe ? HG_LOG_DEBUG : HG_LOG_INFO, &f, "%s %s answered %d",
           f.method, route, status);
}

/* Marks the reply as sent and lets a paused request continue. */
static void finish(hg_req *r, int status)
{
    log_access(r, status);
    r->replied = true;
    r->status = status;
    if (r->deadline != NULL)
        evtimer_del(r->deadline);
    if (r->paused) {
        r->paused = false;
        evhtp_request_resume(r->req);
    }
}

void hg_reply(hg_req *r, int status, const char *content_type,
              const void *body, size_t len)
{
    struct evbuffer *out;

    if (hg_req_done(r))
        return;
    /* These statuses have no content (RFC 9110, sections 15.3.5, 15.3.6
     * and 15.4.5), whatever a sink's script gave them. */
    if (status == 204 || status == 205 || status == 304) {
        len = 0;
        content_type = NULL;
    }
    write_head(r->req, status, content_type, len, false, r->request_id,
               headers_of(r));
    out = bufferevent_get_output(r->req->conn->bev);
    /* A HEAD response gets the Content-Length of the body it leaves out
     * (RFC 9110, section 9.3.2). */
    if (len > 0 && !r->head)
        evbuffer_add(out, body, len);
    r->req->flags |= EVHTP_REQ_FLAG_FINISHED;
    finish(r, status);
}

struct hg_shared_body {
    char *text;
    size_t len;
    unsigned long refs;
};

hg_shared_body *hg_shared_body_new(char *text, size_t len)
{
    hg_shared_body *b = malloc(sizeof(*b));

    if (b == NULL) {
        free(text);
        return NULL;
    }
    b->text = text;
    b->len = len;
    b->refs = 1;
    return b;
}

void hg_shared_body_release(hg_shared_body *b)
{
    if (b == NULL || --b->refs > 0)
        return;
    free(b->text);
    free(b);
}

/* evbuffer cleanup: the connection is done with the referenced bytes. */
static void shared_body_sent(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    hg_shared_body_release(arg);
}

void hg_reply_shared(hg_req *r, int status, const char *content_type,
                     hg_shared_body *b)
{
    struct evbuffer *out;

    if (hg_req_done(r))
        return;
    write_head(r->req, status, content_type, b->len, false, r->request_id,
               headers_of(r));
    out = bufferevent_get_output(r->req->conn->bev);
    if (b->len > 0 && !r->head) {
        b->refs++;
        /* On failure libevent does not call the cleanup, so the reference
         * is dropped here, and the bytes are copied instead. */
        if (evbuffer_add_reference(out, b->text, b->len, shared_body_sent,
                                   b) != 0) {
            b->refs--;
            evbuffer_add(out, b->text, b->len);
        }
    }
    r->req->flags |= EVHTP_REQ_FLAG_FINISHED;
    finish(r, status);
}

void hg_reply_json(hg_req *r, int status, json_t *json)
{
    hg_reply_json_digits(r, status, json, 0);
}

void hg_reply_json_digits(hg_req *r, int status, json_t *json, int digits)
{
    size_t flags = JSON_COMPACT |
                   (digits > 0 ? JSON_REAL_PRECISION(digits) : 0);
    char *text = json ? json_dumps(json, flags) : NULL;

    json_decref(json);
    if (text == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "failed to encode JSON");
        return;
    }
    hg_reply(r, status, "application/json", text, strlen(text));
    free(text);
}

void hg_reply_problem(hg_req *r, hg_error code, const char *fmt, ...)
{
    char detail[1024];
    struct evbuffer *body;
    va_list ap;
    size_t len;

    if (hg_req_done(r))
        return;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);

    body = evbuffer_new();
    problem_body(body, code, detail, r->request_id);
    len = evbuffer_get_length(body);
    hg_reply(r, hg_error_status(code), "application/problem+json",
             evbuffer_pullup(body, -1), len);
    evbuffer_free(body);
}

json_t *hg_problem_new(const hg_req *r, hg_error code, const char *detail)
{
    return problem_json(code, detail, r->request_id);
}

void hg_reply_problem_json(hg_req *r, hg_error code, json_t *problem)
{
    char *text = problem ? json_dumps(problem, JSON_COMPACT) : NULL;

    json_decref(problem);
    if (text == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "failed to encode JSON");
        return;
    }
    hg_reply(r, hg_error_status(code), "application/problem+json", text,
             strlen(text));
    free(text);
}

void hg_reply_unavailable(hg_req *r, const char *why)
{
    hg_log_fields f = {.correlation_id = r->request_id, .error = why};

    if (hg_req_done(r))
        return;
    hg_warn(&f, "answering 503: %s", why);
    hg_reply_header(r, "Retry-After", RETRY_AFTER_UNAVAILABLE);
    hg_reply_problem(r, HG_E_UNAVAILABLE, "%s; retry shortly", why);
}

void hg_reply_health(hg_req *r, bool readiness, const char *reason)
{
    json_t *problem;

    if (!readiness || reason == NULL) {
        hg_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    /* Not hg_reply_unavailable(): probes poll, so a warning per response
     * would flood the log while Redis is away. */
    problem = hg_problem_new(r, HG_E_UNAVAILABLE, reason);
    json_object_set_new(problem, "reason", json_string(reason));
    hg_reply_problem_json(r, HG_E_UNAVAILABLE, problem);
}

/* ---- streaming -------------------------------------------------------- */

/* Marks a stream as complete; libevhtp closes the connection once the
 * output is sent, which frees the request. */
static void stream_finish(hg_req *r)
{
    r->req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    r->req->flags |= EVHTP_REQ_FLAG_FINISHED;
    note_closing(r->req->conn);
    r->streaming = false;
    r->replied = true;
    /* Nudges libevhtp to notice the finished request once the output
     * drains; the write callback then closes the connection. */
    bufferevent_enable(r->req->conn->bev, EV_WRITE);
}

void hg_stream_start(hg_req *r, int status, const char *content_type)
{
    struct timeval write_timeout = {WRITE_TIMEOUT_S, 0};

    if (hg_req_done(r))
        return;
    /* The response has started, so the deadline of any lookup that preceded
     * it no longer applies, and the request must read again to notice the
     * client leaving. */
    if (r->deadline != NULL)
        evtimer_del(r->deadline);
    if (r->paused) {
        r->paused = false;
        evhtp_request_resume(r->req);
    }
    /* A stream is idle on the read side by design; only writes may stall. */
    evhtp_connection_set_timeouts(r->req->conn, NULL, &write_timeout);
    if (r->head)
        r->req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    write_head(r->req, status, content_type, 0, true, r->request_id,
               headers_of(r));
    r->streaming = true;
    list_stream(r, r->req->conn, true);
    log_access(r, status);
    r->status = status;
    /* A HEAD response ends with its head: later writes return -1, as
     * they do once a client is gone. */
    if (r->head)
        stream_finish(r);
}

long hg_stream_write(hg_req *r, const void *data, size_t len)
{
    struct evbuffer *out;

    if (r->req == NULL || !r->streaming)
        return -1;
    out = bufferevent_get_output(r->req->conn->bev);
    if (len > 0 && r->req->proto == EVHTP_PROTO_10) {
        evbuffer_add(out, data, len);
    } else if (len > 0) {
        evbuffer_add_printf(out, "%zx\r\n", len);
        evbuffer_add(out, data, len);
        evbuffer_add(out, "\r\n", 2);
    }
    return (long)evbuffer_get_length(out);
}

void hg_stream_end(hg_req *r)
{
    if (r->req == NULL || !r->streaming)
        return;
    /* An HTTP/1.0 body ends with the connection (see write_head). */
    if (r->req->proto != EVHTP_PROTO_10)
        evbuffer_add(bufferevent_get_output(r->req->conn->bev), "0\r\n\r\n",
                     5);
    stream_finish(r);
}

/* ---- routing ---------------------------------------------------------- */

/* Matches path against pattern; fills params on success. */
static bool match_route(const char *pattern, const char *path,
                        char params[HG_MAX_PARAMS][HG_PARAM_MAX])
{
    int n = 0;

    while (*pattern != '\0' && *path != '\0') {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            size_t len = strcspn(path, "/");

            if (close == NULL || len == 0 || len >= HG_PARAM_MAX ||
                n >= HG_MAX_PARAMS)
                return false;
            memcpy(params[n], path, len);
            params[n][len] = '\0';
            n++;
            pattern = close + 1;
            path += len;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* Appends a method to the Allow list of a 405. */
static void allow_add(char *allow, size_t cap, const char *method)
{
    size_t n = strlen(allow);

    snprintf(allow + n, cap - n, "%s%s", n > 0 ? ", " : "", method);
}

/* Finds the route that a path with a trailing slash or a doubled slash
 * was probably meant for: the same path with those slashes removed. Writes
 * it to out and returns true when some route matches it. */
static bool similar_route(const hg_http_options *o, const char *path,
                          char *out, size_t cap)
{
    char params[HG_MAX_PARAMS][HG_PARAM_MAX];
    size_t n = 0;

    for (const char *c = path; *c != '\0' && n + 1 < cap; c++) {
        if (*c == '/' && n > 0 && out[n - 1] == '/')
            continue;
        out[n++] = *c;
    }
    while (n > 1 && out[n - 1] == '/')
        n--;
    out[n] = '\0';
    if (strcmp(out, path) == 0)
        return false;
    for (int i = 0; i < o->route_count; i++) {
        if (match_route(o->routes[i].pattern, out, params))
            return true;
    }
    return false;
}

bool hg_req_if_match_fails(const hg_req *r)
{
    htp_method method = r->method;
    evhtp_kv_t *kv;

    if (r->req == NULL || r->req->headers_in == NULL ||
        (method != htp_method_POST && method != htp_method_PUT &&
         method != htp_method_PATCH && method != htp_method_DELETE))
        return false;
    TAILQ_FOREACH(kv, r->req->headers_in, next) {
        const char *v;
        size_t len;

        if (kv->key == NULL || strcasecmp(kv->key, "If-Match") != 0)
            continue;
        v = hg_http_trim_ows(kv->val != NULL ? kv->val : "", &len);
        if (len != 1 || v[0] != '*')
            return true;
    }
    return false;
}

bool hg_req_preconditions_hold(hg_req *r)
{
    if (!hg_req_if_match_fails(r))
        return true;
    hg_reply_problem(r, HG_E_PRECONDITION_FAILED, "%s", HG_IF_MATCH_DETAIL);
    return false;
}

static void dispatch(hg_req *r)
{
    const hg_http_options *o = &r->server->opts;
    const char *path = hg_req_path(r);
    htp_method method = r->req->method;
    bool path_known = false;
    char allow[160] = "", suggestion[512];

    /* A CONNECT client sends tunnel bytes after its request, which must
     * not be read as further requests. */
    if (method == htp_method_CONNECT) {
        r->req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
        hg_reply_problem(r, HG_E_BAD_REQUEST,
                         "CONNECT is not supported; this server is not a "
                         "proxy");
        return;
    }
    for (int i = 0; i < o->route_count; i++) {
        const hg_route *route = &o->routes[i];

        if (!match_route(route->pattern, path, r->params))
            continue;
        /* Every GET route serves HEAD too (RFC 9110, section 9.3.2). */
        if (route->method == method ||
            (r->head && route->method == htp_method_GET)) {
            r->route = route;
            route->handler(r);
            return;
        }
        path_known = true;
        allow_add(allow, sizeof(allow), method_name(route->method));
        if (route->method == htp_method_GET)
            allow_add(allow, sizeof(allow), "HEAD");
    }
    if (path_known) {
        hg_reply_header(r, "Allow", allow);
        bool hint = o->method_hint != NULL && strncmp(path, "/api/", 5) == 0;

        hg_reply_problem(r, HG_E_METHOD_NOT_ALLOWED,
                         "%s is not allowed on %s; allowed: %s%s%s",
                         method == htp_method_UNKNOWN ? "this method"
                                                      : method_name(method),
                         path, allow, hint ? ". " : "",
                         hint ? o->method_hint : "");
        return;
    }
    if (similar_route(o, path, suggestion, sizeof(suggestion)))
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "no route matches %s; did you mean %s (without "
                         "the extra slash)?",
                         path, suggestion);
    else
        hg_reply_problem(r, HG_E_NOT_FOUND, "no route matches %s", path);
}

/* Makes libevhtp read the next pipelined request after a reply sent from
 * within the request callback. With libevhtp 1.2.18 (Debian 12), requests
 * that arrived in the same read as such a request were never parsed, so a
 * client that pipelined three requests received one response and then
 * waited for the read timeout (observed). A paused request does not have
 * this problem, because the resume event flushes the reply and then parses
 * the rest of the input. A synchronous reply therefore takes the same path.
 * The pause flag stays set until the resume event runs, so the parser
 * stops after this request when the callback returns. */
static void resume_after_reply(evhtp_request_t *req)
{
    evhtp_connection_pause(req->conn);
    req->status = EVHTP_RES_PAUSE;
    event_active(req->conn->resume_ev, EV_WRITE, 1);
}

static bool had_trailer(const evhtp_connection_t *conn);
static evhtp_res reject_early(evhtp_request_t *req, hg_error code,
                              const char *detail);
static void on_rejected_complete(evhtp_request_t *req, void *arg);

static void on_request(evhtp_request_t *req, void *arg)
{
    hg_http *h = arg;
    hg_req *r;
    char traceparent[HG_TRACEPARENT_LEN + 1];

    note_message_done(req->conn);
    if (had_trailer(req->conn)) {
        reject_early(req, HG_E_BAD_REQUEST,
                     "trailer fields after a chunked body are not "
                     "supported; send them as headers");
        on_rejected_complete(req, arg);
        return;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        evhtp_send_reply(req, EVHTP_RES_SERVERR);
        return;
    }
    active_requests++;
    r->req = req;
    r->server = h;
    r->base = req->conn->evbase;
    r->thread = req->conn->thread ? evthr_get_aux(req->conn->thread)
                                  : h->opts.single_thread_ctx;
    r->start_us = hg_mono_us();
    r->method = req->method;
    r->head = req->method == htp_method_HEAD;
    /* One reference for libevhtp's request, released by the fini hook, and
     * one for this function. */
    r->refs = 2;
    choose_request_id(req, r->request_id);
    begin_trace(req, &r->trace);
    live_add(r);
    hg_trace_format(&r->trace, traceparent);
    hg_reply_header(r, "traceparent", traceparent);
    set_request_fini_hook(req, on_request_fini, r);

    if (parse_query(r))
        dispatch(r);
    else
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
    if (r->replied && r->req != NULL && !r->paused)
        resume_after_reply(req);
    hg_req_release(r);
}

/* ---- raw request heads ------------------------------------------------ */

/* A request line or header line of MAX_LINE_BYTES or more is rejected.
 * The limit stays below libevhtp's token buffer of 8192 bytes, so the head
 * scan sees the line before the parser would close the connection without
 * a response. */
#define MAX_LINE_BYTES 8000
/* Largest request head (request line and headers), and most headers. */
#define MAX_HEAD_BYTES (32 * 1024)
#define MAX_HEADER_COUNT 100

/* Where the scan of a chunked body is: within a chunk-size line, at the
 * LF after it, within the data, or at the line end after the data.
 * CHUNK_OFF: not chunked, or done (the last chunk, or a line that the
 * parser rejects itself). */
typedef enum chunk_state {
    CHUNK_OFF,
    CHUNK_SIZE,
    CHUNK_SIZE_LF,
    CHUNK_DATA,
    CHUNK_DATA_END,
    CHUNK_LAST /* after the last chunk: a blank line or a trailer field */
} chunk_state;

#define TE_HEADER "transfer-encoding:"
#define TE_NO_MATCH UINT_MAX

/* libevhtp 1.2.18 copies the request target and each header value into a
 * C string and measures it with strlen(), so a NUL byte cuts the value
 * short without an error. "Bearer <key>\0junk" would read as "Bearer
 * <key>". The raw bytes are therefore scanned as they arrive, before the
 * parser runs, from the start of each request to the blank line that ends
 * its head. The parser stops after every complete request (see
 * resume_after_reply), so the first drain of the input after a request
 * completes ends exactly at the start of the next one. */
typedef struct head_scan {
    bool in_head;      /* whether the next bytes belong to a request head */
    bool started;      /* whether a byte other than CR or LF was seen */
    bool nul;          /* whether the head contains a NUL byte */
    bool fold;         /* whether a header line starts with SP or HTAB */
    unsigned newlines; /* count of LF bytes in a row, ignoring CR */
    size_t head_bytes; /* bytes since the first byte of the request line */
    size_t line_bytes; /* bytes of the current line, without CR and LF */
    unsigned lines;    /* complete lines: the request line and headers */
    /* 414 or 431 once the head passed a limit (then scanning stops). */
    int too_large;
    /* How many bytes of "transfer-encoding:" the current line starts
     * with, or TE_NO_MATCH. The scan of a head with such a line goes on
     * into its chunk-size lines (see chunk_scan_bytes). */
    unsigned te_match;
    bool chunked;
    chunk_state chunk;
    unsigned chunk_digits; /* hex digits of the size after leading zeros */
    uint64_t chunk_left;   /* size being read, then data bytes to skip */
    /* Whether a chunk size needs more than 64 bits: libevhtp keeps only
     * the low 64, so 2^64 would end the body and 2^64 + 5 read 5 bytes. */
    bool chunk_overflow;
    /* Whether trailer fields follow the last chunk. libevhtp 1.2.18 then
     * loses track of the connection and never processes the next request
     * on it, so such a request is rejected (see on_request). */
    bool chunk_trailer;
} head_scan;

/* What a connection is waiting for, which decides its deadline. */
typedef enum conn_phase {
    PHASE_HEAD,    /* a request head: header timeout */
    PHASE_BODY,    /* the rest of a request body: body timeout */
    PHASE_BUSY,    /* a request is being answered, or streams: none */
    PHASE_IDLE,    /* the next request on a keep-alive connection: idle */
    PHASE_CLOSING  /* closes once the response is sent: write timeout */
} conn_phase;

/* The error response a connection gets when it is closed for breaking a
 * limit or the HTTP syntax. */
typedef struct rejection {
    int status; /* 0: none */
    const char *code;
    const char *title;
    const char *retry_after; /* NULL: no Retry-After */
    char detail[200];
} rejection;

/* Per-connection state of every open connection of the calling thread's
 * loop. The list lets stopping the server close them, because libevhtp
 * itself leaves them allocated. */
typedef struct open_conn {
    evhtp_connection_t *conn;
    hg_http *server;
    hg_req *stream; /* the streaming response on it, or NULL */
    struct evbuffer_cb_entry *input_cb;
    head_scan head;
    /* Set when a request completed, so the next drain of the input starts
     * the head of the next request. */
    bool message_done;
    /* Set once a response announced "Connection: close". Requests that
     * were pipelined after it are not served. */
    bool closing;
    conn_phase phase;
    struct event *timer; /* the deadline of the phase */
    rejection rejection;
    LIST_ENTRY(open_conn) link;
} open_conn;

static void head_scan_reset(head_scan *h)
{
    memset(h, 0, sizeof(*h));
    h->in_head = true;
}

static bool head_scan_active(const head_scan *h)
{
    return h->in_head || h->chunk != CHUNK_OFF;
}

/* Follows the framing of a chunked body up to its last chunk, to see each
 * chunk size in full. The parser still reads the body itself. A line that
 * the parser rejects (an extension, a bad digit) stops the scan. */
static void chunk_scan_bytes(head_scan *h, const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n && h->chunk != CHUNK_OFF) {
        unsigned char c = p[i];
        int d;

        switch (h->chunk) {
        case CHUNK_SIZE:
            i++;
            if (c == '\r') {
                h->chunk = CHUNK_SIZE_LF;
                break;
            }
            d = hg_hex_value(c);
            if (d < 0) {
                h->chunk = CHUNK_OFF;
                break;
            }
            if (d != 0 || h->chunk_digits > 0)
                h->chunk_digits++;
            if (h->chunk_digits > 16) {
                h->chunk_overflow = true;
                h->chunk = CHUNK_OFF;
                break;
            }
            h->chunk_left = h->chunk_left * 16 + (uint64_t)d;
            break;
        case CHUNK_SIZE_LF:
            i++;
            if (c != '\n')
                h->chunk = CHUNK_OFF;
            else
                h->chunk = h->chunk_left > 0 ? CHUNK_DATA : CHUNK_LAST;
            break;
        case CHUNK_LAST:
            i++;
            h->chunk_trailer = c != '\r' && c != '\n';
            h->chunk = CHUNK_OFF;
            break;
        case CHUNK_DATA: {
            uint64_t take = h->chunk_left < n - i ? h->chunk_left : n - i;

            i += (size_t)take;
            h->chunk_left -= take;
            if (h->chunk_left == 0)
                h->chunk = CHUNK_DATA_END;
            break;
        }
        case CHUNK_DATA_END:
            i++;
            if (c == '\n') {
                h->chunk = CHUNK_SIZE;
                h->chunk_digits = 0;
            }
            break;
        case CHUNK_OFF:
            break;
        }
    }
}

static void head_scan_bytes(head_scan *h, const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n && h->in_head && h->too_large == 0 && !h->fold; i++) {
        unsigned char c = p[i];

        /* The parser skips empty lines before a request line. */
        if (!h->started && (c == '\r' || c == '\n'))
            continue;
        h->started = true;
        h->head_bytes++;
        if (c == '\0')
            h->nul = true;
        /* Obsolete line folding (RFC 9112, section 5.2). libevhtp closes
         * the connection on some folds and reads others its own way, which
         * a proxy in front may not share. */
        if (h->lines > 0 && h->line_bytes == 0 && (c == ' ' || c == '\t'))
            h->fold = true;
        if (c == '\n') {
            if (h->line_bytes > 0)
                h->lines++;
            h->line_bytes = 0;
            if (++h->newlines == 2) {
                h->in_head = false;
                if (h->chunked)
                    h->chunk = CHUNK_SIZE;
            }
        } else if (c != '\r') {
            if (h->line_bytes == 0)
                h->te_match = h->lines > 0 ? 0 : TE_NO_MATCH;
            if (h->te_match < sizeof(TE_HEADER) - 1) {
                if ((unsigned char)tolower(c) == TE_HEADER[h->te_match]) {
                    if (++h->te_match == sizeof(TE_HEADER) - 1)
                        h->chunked = true;
                } else {
                    h->te_match = TE_NO_MATCH;
                }
            }
            h->newlines = 0;
            h->line_bytes++;
        }
        if (h->line_bytes >= MAX_LINE_BYTES)
            h->too_large = h->lines == 0 ? 414 : 431;
        else if (h->head_bytes > MAX_HEAD_BYTES ||
                 h->lines > MAX_HEADER_COUNT + 1)
            h->too_large = 431;
    }
    if (i < n)
        chunk_scan_bytes(h, p + i, n - i);
}

/* Scans len bytes of input starting at offset. */
static void head_scan_input(head_scan *h, struct evbuffer *input,
                            size_t offset, size_t len)
{
    struct evbuffer_ptr at;
    struct evbuffer_iovec vec[8];
    int count;

    if (len == 0 || !head_scan_active(h) ||
        evbuffer_ptr_set(input, &at, offset, EVBUFFER_PTR_SET) != 0)
        return;
    while (len > 0 && head_scan_active(h)) {
        size_t before = len;

        count = evbuffer_peek(input, (ev_ssize_t)len, &at, vec, 8);
        if (count <= 0)
            return;
        for (int i = 0; i < count && i < 8 && len > 0; i++) {
            size_t n = vec[i].iov_len < len ? vec[i].iov_len : len;

            head_scan_bytes(h, vec[i].iov_base, n);
            len -= n;
            offset += n;
        }
        if (len == before ||
            evbuffer_ptr_set(input, &at, offset, EVBUFFER_PTR_SET) != 0)
            return;
    }
}

static void note_head_progress(open_conn *o, bool was_started);

static void on_input_change(struct evbuffer *input,
                            const struct evbuffer_cb_info *info, void *arg)
{
    open_conn *o = arg;
    bool was_started = o->head.started;

    if (info->n_deleted > 0 && o->message_done) {
        o->message_done = false;
        head_scan_reset(&o->head);
        head_scan_input(&o->head, input, 0, evbuffer_get_length(input));
        note_head_progress(o, false);
        return;
    }
    if (info->n_added > 0)
        head_scan_input(&o->head, input, info->orig_size - info->n_deleted,
                        info->n_added);
    note_head_progress(o, was_started);
}

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg);

/* Returns the connection's state, which on_accept() set as the argument of
 * its fini hook, or NULL when the connection is not tracked. */
static open_conn *open_conn_of(const evhtp_connection_t *conn)
{
    const evhtp_hooks_t *hooks = conn != NULL ? conn->hooks : NULL;

    if (hooks == NULL ||
        hooks->on_connection_fini != (evhtp_hook)on_connection_fini)
        return NULL;
    return hooks->on_connection_fini_arg;
}

/* Returns whether the request that just completed on conn had trailer
 * fields after its chunked body. */
static bool had_trailer(const evhtp_connection_t *conn)
{
    const open_conn *o = open_conn_of(conn);

    return o != NULL && o->head.chunk_trailer;
}

static void note_closing(evhtp_connection_t *conn)
{
    open_conn *o = open_conn_of(conn);

    if (o != NULL) {
        o->closing = true;
        o->phase = PHASE_CLOSING;
        evtimer_del(o->timer);
    }
}

/* Records that the parser completed a request on conn, so the head scan
 * restarts where the input is drained next, and that the request is being
 * answered, which has its own deadlines. */
static void note_message_done(evhtp_connection_t *conn)
{
    open_conn *o = open_conn_of(conn);

    if (o != NULL) {
        o->message_done = true;
        o->phase = PHASE_BUSY;
        evtimer_del(o->timer);
    }
}

/* ---- connection limits ------------------------------------------------- */

/* File descriptors kept free of client connections (Redis, logs, the
 * closing connections below) when the connection limit is derived. */
#define CONN_FD_RESERVE 256

static hg_http_limits limits = {
    .header_timeout_ms = 10000,
    .body_timeout_ms = 30000,
    .idle_timeout_ms = 60000,
    .max_connections = 0,
};
/* Client connections open in this process, across threads, and the
 * limit, set by hg_http_new(). */
static _Atomic int open_connections;
static _Atomic int max_connections;

/* Returns limits.max_connections, or when that is 0, the open-file limit
 * minus CONN_FD_RESERVE (at least half the limit). */
static int connection_limit(void)
{
    struct rlimit rl;
    long long files, room;

    if (limits.max_connections > 0)
        return limits.max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024 / 2;
    files = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX
                ? INT_MAX
                : (long long)rl.rlim_cur;
    room = files - CONN_FD_RESERVE;
    if (room < files / 2)
        room = files / 2;
    return room > 0 ? (int)room : 1;
}

void hg_http_set_limits(const hg_http_limits *l)
{
    limits = *l;
}

int hg_http_connection_limit(void)
{
    return connection_limit();
}

static void arm_timer(open_conn *o, conn_phase phase, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    o->phase = phase;
    evtimer_add(o->timer, &tv);
}

/* Fills o's rejection with status and its code, unless one is set. */
static void reject_with(open_conn *o, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject_with(open_conn *o, int status, const char *fmt, ...)
{
    rejection *rf = &o->rejection;
    va_list ap;

    if (rf->status != 0)
        return;
    rf->status = status;
    rf->retry_after = NULL;
    switch (status) {
    case 408:
        rf->code = "REQUEST_TIMEOUT";
        rf->title = "The request did not arrive in time";
        break;
    case 414:
        rf->code = "URI_TOO_LONG";
        rf->title = "The request target is too long";
        break;
    case 431:
        rf->code = "HEADERS_TOO_LARGE";
        rf->title = "The request headers are too large";
        break;
    case 503:
        rf->code = hg_error_code(HG_E_UNAVAILABLE);
        rf->title = hg_error_title(HG_E_UNAVAILABLE);
        rf->retry_after = RETRY_AFTER_UNAVAILABLE;
        break;
    default:
        rf->status = 400;
        rf->code = hg_error_code(HG_E_BAD_REQUEST);
        rf->title = hg_error_title(HG_E_BAD_REQUEST);
        break;
    }
    va_start(ap, fmt);
    vsnprintf(rf->detail, sizeof(rf->detail), fmt, ap);
    va_end(ap);
}

/* Runs after the head scan read new bytes of a head. The header deadline
 * of a keep-alive connection starts with the first byte of its next
 * request; a head over a limit ends the connection on the next loop turn,
 * before libevhtp buffers more of it, unless a request is still being
 * answered, which then ends first (see note_request_fini). */
static void note_head_progress(open_conn *o, bool was_started)
{
    if (!was_started && o->head.started && o->phase == PHASE_IDLE)
        arm_timer(o, PHASE_HEAD, limits.header_timeout_ms);
    if ((o->head.too_large == 0 && !o->head.fold) ||
        o->rejection.status != 0)
        return;
    if (o->head.fold)
        reject_with(o, 400,
                    "a header line starts with a space or tab (obsolete "
                    "line folding); send each header on one line");
    else if (o->head.too_large == 414)
        reject_with(o, 414,
                    "the request line is longer than %d bytes; send a "
                    "shorter URL",
                    MAX_LINE_BYTES - 1);
    else if (o->head.lines > MAX_HEADER_COUNT + 1)
        reject_with(o, 431, "the request has more than %d headers",
                    MAX_HEADER_COUNT);
    else if (o->head.line_bytes >= MAX_LINE_BYTES)
        reject_with(o, 431, "a header line is longer than %d bytes",
                    MAX_LINE_BYTES - 1);
    else
        reject_with(o, 431,
                    "the request line and headers are larger than %d bytes",
                    MAX_HEAD_BYTES);
    if (o->phase == PHASE_HEAD || o->phase == PHASE_IDLE)
        arm_timer(o, PHASE_HEAD, 0);
}

/* Runs when libevhtp frees a request that reached the router, after its
 * response was sent (or the connection is closing). A keep-alive
 * connection then waits for its next request. */
static void note_request_fini(evhtp_connection_t *conn)
{
    open_conn *o = open_conn_of(conn);

    if (o == NULL || o->phase != PHASE_BUSY)
        return;
    if (o->rejection.status != 0)
        arm_timer(o, PHASE_HEAD, 0);
    else if (o->head.started)
        arm_timer(o, PHASE_HEAD, limits.header_timeout_ms);
    else
        arm_timer(o, PHASE_IDLE, limits.idle_timeout_ms);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    open_conn *o = arg;

    (void)fd;
    (void)what;
    switch (o->phase) {
    case PHASE_HEAD:
        /* A connection that sent nothing is closed without a response. */
        if (o->head.started)
            reject_with(o, 408,
                        "the request line and headers did not arrive "
                        "within %d ms",
                        limits.header_timeout_ms);
        break;
    case PHASE_BODY:
        reject_with(o, 408, "the request body did not arrive within %d ms",
                    limits.body_timeout_ms);
        break;
    case PHASE_IDLE:
        break;
    case PHASE_BUSY:
    case PHASE_CLOSING:
        return;
    }
    /* The fini hook sends the rejection and frees o. */
    evhtp_connection_free(o->conn);
}

/* Returns the detail of a parser error that closes a connection, or NULL
 * when the close needs no response: no error, or a hook of this file
 * asked for it. */
static const char *parser_error_detail(htpparse_error e)
{
    switch (e) {
    case htparse_error_none:
    case htparse_error_user:
        return NULL;
    case htparse_error_too_big:
        /* Also what a Content-Length that is not a number gives; a line
         * too long for the parser was rejected by the head scan first. */
        return "a header value is not valid: Content-Length must be a "
               "decimal number";
    case htparse_error_inval_method:
        return "the method is not valid; methods are upper-case tokens "
               "such as GET";
    case htparse_error_inval_reqline:
    case htparse_error_inval_schema:
        return "the request line is malformed";
    case htparse_error_inval_proto:
    case htparse_error_inval_ver:
        return "the HTTP version is not valid; send HTTP/1.1";
    case htparse_error_inval_hdr:
        return "a header line is malformed: lines must end with CRLF, and "
               "Content-Length must be a decimal number";
    case htparse_error_inval_chunk_sz:
    case htparse_error_inval_chunk:
        return "the chunked body is malformed";
    default:
        return "the request is malformed";
    }
}

/* ---- parting responses ------------------------------------------------- */

/* libevhtp closes a connection at once when its parser fails, and frees
 * it from a deadline or a rejected accept. To still send the client an
 * error response, a duplicate of the socket stays open after libevhtp
 * closed its own: it sends what was unsent plus the response, then reads
 * and drops the client's input for up to PARTING_MS and
 * PARTING_DRAIN_BYTES, so that the close does not reset the connection
 * before the client read the response. A TLS connection keeps its state
 * in the bufferevent and closes without a response. */
#define PARTING_MS 2000
#define PARTING_DRAIN_BYTES (1024 * 1024)
/* More closing connections than this per thread close without a
 * response, so a flood of bad requests cannot pile up descriptors. */
#define MAX_PARTINGS 1024

typedef struct parting {
    evutil_socket_t fd;
    struct evbuffer *out;
    struct event *readable;
    struct event *writable;
    struct event *timer;
    size_t dropped;
    bool eof;  /* the client closed its side */
    bool shut; /* everything was sent and the write side shut */
    LIST_ENTRY(parting) link;
} parting;

static _Thread_local LIST_HEAD(parting_list, parting) partings =
    LIST_HEAD_INITIALIZER(partings);
static _Thread_local int parting_count;

static void parting_free(parting *p)
{
    LIST_REMOVE(p, link);
    parting_count--;
    if (p->readable != NULL)
        event_free(p->readable);
    if (p->writable != NULL)
        event_free(p->writable);
    if (p->timer != NULL)
        event_free(p->timer);
    if (p->out != NULL)
        evbuffer_free(p->out);
    if (p->fd >= 0)
        evutil_closesocket(p->fd);
    free(p);
}

static bool retriable(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static void on_parting_writable(evutil_socket_t fd, short what, void *arg)
{
    parting *p = arg;

    (void)what;
    if (evbuffer_get_length(p->out) > 0 && evbuffer_write(p->out, fd) < 0 &&
        !retriable(errno)) {
        parting_free(p);
        return;
    }
    if (evbuffer_get_length(p->out) > 0)
        return;
    event_del(p->writable);
    shutdown(fd, SHUT_WR);
    p->shut = true;
    if (p->eof)
        parting_free(p);
}

static void on_parting_readable(evutil_socket_t fd, short what, void *arg)
{
    parting *p = arg;
    char buf[4096];
    ssize_t n;

    (void)what;
    n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
        p->dropped += (size_t)n;
        if (p->dropped > PARTING_DRAIN_BYTES)
            parting_free(p);
        return;
    }
    if (n < 0 && retriable(errno))
        return;
    if (n < 0 || p->shut) {
        parting_free(p);
        return;
    }
    /* The client finished sending but may still read the response. */
    p->eof = true;
    event_del(p->readable);
}

static void on_parting_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    parting_free(arg);
}

/* Appends rf's response, problem+json with a new request id, to out. */
static void write_rejection(struct evbuffer *out, const hg_http *h,
                            const rejection *rf)
{
    char id[HG_ID_MAX];
    const char *request_id = hg_id_new("req_", id);
    hg_log_fields f = {.correlation_id = request_id, .status = rf->status};
    json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type",
                             "about:blank", "title", rf->title, "status",
                             rf->status, "detail", rf->detail, "code",
                             rf->code, "request_id", request_id);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t len = text != NULL ? strlen(text) : 0;

    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nServer: hookgate/%s\r\n"
                        "Content-Type: application/problem+json\r\n"
                        "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                        "X-Request-Id: %s\r\n",
                        rf->status, reason_phrase(rf->status),
                        HOOKGATE_VERSION, len, request_id);
    if (h != NULL && h->opts.static_headers != NULL)
        evbuffer_add(out, h->opts.static_headers,
                     strlen(h->opts.static_headers));
    if (rf->retry_after != NULL)
        evbuffer_add_printf(out, "Retry-After: %s\r\n", rf->retry_after);
    evbuffer_add_printf(out, "Connection: close\r\n\r\n");
    if (text != NULL)
        evbuffer_add(out, text, len);
    free(text);
    json_decref(body);
    hg_info(&f, "closing a connection with %d: %s", rf->status, rf->detail);
}

/* Takes over conn's socket to send its unsent output and rf's response;
 * libevhtp then frees conn and closes its own descriptor. */
static void part(evhtp_connection_t *conn, const hg_http *h,
                 const rejection *rf)
{
    struct timeval tv = {PARTING_MS / 1000, (PARTING_MS % 1000) * 1000};
    evutil_socket_t fd = conn->bev != NULL ? bufferevent_getfd(conn->bev) : -1;
    parting *p;

    if (fd < 0 || conn->ssl != NULL || parting_count >= MAX_PARTINGS)
        return;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return;
    LIST_INSERT_HEAD(&partings, p, link);
    parting_count++;
    p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    p->out = evbuffer_new();
    if (p->fd >= 0) {
        p->readable = event_new(conn->evbase, p->fd, EV_READ | EV_PERSIST,
                                on_parting_readable, p);
        p->writable = event_new(conn->evbase, p->fd, EV_WRITE | EV_PERSIST,
                                on_parting_writable, p);
    }
    p->timer = evtimer_new(conn->evbase, on_parting_timer, p);
    if (p->fd < 0 || p->out == NULL || p->readable == NULL ||
        p->writable == NULL || p->timer == NULL) {
        parting_free(p);
        return;
    }
    evbuffer_add_buffer(p->out, bufferevent_get_output(conn->bev));
    write_rejection(p->out, h, rf);
    event_add(p->readable, NULL);
    event_add(p->writable, NULL);
    evtimer_add(p->timer, &tv);
}

static void free_thread_partings(void)
{
    parting *p;

    while ((p = LIST_FIRST(&partings)) != NULL)
        parting_free(p);
}

/* ---- body limit -------------------------------------------------------- */

/* After a 413 the rest of the body is read and dropped for up to
 * LINGER_MS and DRAIN_MAX_BYTES, then the connection is closed. Closing at
 * once with unread input would make the kernel send a reset, which can
 * destroy the 413 before a client that writes its whole body first reads
 * it; waiting longer would hold the connection of a client that never
 * sends the body. */
#define LINGER_MS 2000
#define DRAIN_MAX_BYTES (64LL * 1024 * 1024)

typedef struct linger_state {
    evhtp_connection_t *conn;
    struct event *timer;
} linger_state;

static evhtp_res drain_body(evhtp_request_t *req, struct evbuffer *buf,
                            void *arg)
{
    (void)arg;
    evbuffer_drain(buf, evbuffer_get_length(buf));
    if (req->conn->body_bytes_read > (uint64_t)DRAIN_MAX_BYTES)
        return EVHTP_RES_ERROR;
    return EVHTP_RES_OK;
}

/* Runs instead of the router once a rejected body was read to its end:
 * the request is finished, and libevhtp closes the connection once the
 * 413 is flushed because keep-alive is off. */
static void on_rejected_complete(evhtp_request_t *req, void *arg)
{
    (void)arg;
    req->flags |= EVHTP_REQ_FLAG_FINISHED;
    bufferevent_trigger(req->conn->bev, EV_WRITE,
                        BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void on_linger_end(evutil_socket_t fd, short what, void *arg)
{
    linger_state *l = arg;

    (void)fd;
    (void)what;
    /* Frees the request too, whose fini hook frees l. */
    evhtp_connection_free(l->conn);
}

static evhtp_res on_linger_fini(evhtp_request_t *req, void *arg)
{
    linger_state *l = arg;

    (void)req;
    event_free(l->timer);
    free(l);
    return EVHTP_RES_OK;
}

static void start_linger(evhtp_request_t *req)
{
    linger_state *l = calloc(1, sizeof(*l));
    struct timeval tv = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};

    if (l == NULL)
        return;
    l->conn = req->conn;
    l->timer = evtimer_new(req->conn->evbase, on_linger_end, l);
    evtimer_add(l->timer, &tv);
    set_request_fini_hook(req, on_linger_fini, l);
}

/* Sends an error from a parser hook, before the body is read, then lets
 * the parser read and drop the rest of the body and closes the
 * connection. */
static evhtp_res reject_early(evhtp_request_t *req, hg_error code,
                              const char *detail)
{
    char request_id[HG_REQUEST_ID_MAX + 1];
    char traceparent[HG_TRACEPARENT_LEN + 1];
    hg_trace trace;
    hg_log_fields f = {.correlation_id = request_id,
                       .trace_id = trace.trace_id,
                       .span_id = trace.span_id,
                       .method = method_name(req->method),
                       .status = hg_error_status(code)};
    struct evbuffer *body = evbuffer_new();
    struct evbuffer *extra = evbuffer_new();

    choose_request_id(req, request_id);
    begin_trace(req, &trace);
    hg_trace_format(&trace, traceparent);
    if (extra != NULL)
        evbuffer_add_printf(extra, "traceparent: %s\r\n", traceparent);
    problem_body(body, code, detail, request_id);

    req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    write_head(req, hg_error_status(code), "application/problem+json",
               evbuffer_get_length(body), false, request_id, extra);
    if (req->method != htp_method_HEAD)
        evbuffer_add_buffer(bufferevent_get_output(req->conn->bev), body);
    evbuffer_free(body);
    if (extra != NULL)
        evbuffer_free(extra);

    evbuffer_drain(req->buffer_in, evbuffer_get_length(req->buffer_in));
    set_request_read_hook(req, drain_body, NULL);
    start_linger(req);
    req->cb = on_rejected_complete;
    req->cbarg = NULL;
    hg_info(&f, "rejected a request before its body: %s", detail);
    return EVHTP_RES_OK;
}

static evhtp_res reject_too_large(evhtp_request_t *req, hg_http *h)
{
    char detail[160];

    snprintf(detail, sizeof(detail),
             "the body is larger than the limit of %lld bytes",
             h->opts.max_body_bytes);
    return reject_early(req, HG_E_PAYLOAD_TOO_LARGE, detail);
}

/* Checks the message framing: every header name a token, one
 * Content-Length of digits only, or one Transfer-Encoding that is exactly
 * "chunked", never both. Ambiguous framing is how requests are smuggled
 * past a proxy (RFC 9112, section 6.3). libevhtp 1.2.18 reads a body as
 * chunked only for the value "chunked" or "Chunked" with nothing around
 * it, and reads no body for any other value. It also keeps a space before
 * the colon as part of the name, so "Content-Length : 5" frames no body.
 * Such requests are rejected here, because a proxy in front may frame
 * them another way. */
static const char *framing_error(evhtp_headers_t *headers,
                                 unsigned long long *length, bool *has_length)
{
    const char *cl = NULL, *te = NULL;
    evhtp_kv_t *kv;

    *has_length = false;
    TAILQ_FOREACH(kv, headers, next) {
        if (!hg_http_token_valid(kv->key, SIZE_MAX))
            return "a header name is not valid: it must be a token, with no "
                   "space before the colon";
        if (strcasecmp(kv->key, "Content-Length") == 0) {
            if (cl != NULL && strcmp(cl, kv->val) != 0)
                return "the request has conflicting Content-Length headers";
            cl = kv->val;
        } else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
            if (te != NULL)
                return "the request has more than one Transfer-Encoding "
                       "header; send one, \"chunked\"";
            te = kv->val;
        }
    }
    if (te != NULL && strcmp(te, "chunked") != 0 && strcmp(te, "Chunked") != 0)
        return "Transfer-Encoding must be \"chunked\"; other transfer "
               "codings are not supported";
    if (cl == NULL)
        return NULL;
    if (te != NULL)
        return "the request has both Content-Length and Transfer-Encoding";
    if (cl[0] == '\0' || strspn(cl, "0123456789") != strlen(cl) ||
        strlen(cl) > 18)
        return "the Content-Length header is not a decimal number";
    *length = strtoull(cl, NULL, 10);
    *has_length = true;
    return NULL;
}

static evhtp_res on_headers(evhtp_request_t *req, evhtp_headers_t *headers,
                            void *arg)
{
    hg_http *h = arg;
    unsigned long long length = 0;
    bool has_length;
    const char *error = framing_error(headers, &length, &has_length);
    open_conn *o = open_conn_of(req->conn);

    /* A head over a limit closes the connection; the fini hook sends
     * the response. */
    if (o != NULL && o->rejection.status != 0)
        return EVHTP_RES_ERROR;
    /* Checked before routing and authentication, which only see the
     * values cut short at the NUL. */
    if (o != NULL && o->head.nul)
        return reject_early(req, HG_E_BAD_REQUEST,
                            "the request line or a header contains a NUL "
                            "byte");
    if (error != NULL)
        return reject_early(req, HG_E_BAD_REQUEST, error);
    /* libevhtp 1.2.18 reads a form-encoded body as the query when the
     * request line has none, so handlers and captures would take body
     * fields for query parameters. An empty query stops that. */
    if (req->uri != NULL && req->uri->query == NULL)
        req->uri->query = evhtp_query_new();
    if (has_length && h->opts.max_body_bytes > 0 &&
        length > (unsigned long long)h->opts.max_body_bytes)
        return reject_too_large(req, h);
    if (o != NULL && o->phase == PHASE_HEAD &&
        ((has_length && length > 0) ||
         evhtp_header_find(headers, "Transfer-Encoding") != NULL))
        arm_timer(o, PHASE_BODY, limits.body_timeout_ms);
    return EVHTP_RES_OK;
}

/* libevhtp 1.2.18's parser closes the connection without calling any hook
 * for a bad chunk size, a Content-Length that is not a number (such as -1),
 * bare LF line ends, a lower-case method, and a URL or header of 8192 bytes
 * or more (its token buffer). The connection's fini hook then sends 400
 * (see parser_error_detail), and the head scan rejects long lines before
 * the parser sees them, with 414 or 431. NOTE: over TLS these requests
 * still close without a response (see part()). */

/* Runs after the request line. An HTTP/0.9 request ("GET /path" without a
 * version) gets a 400 here, because libevhtp would otherwise wait for a
 * header section that such a client never sends. */
static evhtp_res on_headers_start(evhtp_request_t *req, void *arg)
{
    open_conn *o = open_conn_of(req->conn);

    (void)arg;
    /* A request after a "Connection: close" response ends the connection
     * without a reply. libevhtp reads it only once that response was
     * flushed, because the connection stays paused until then. */
    if (o != NULL && (o->closing || o->rejection.status != 0))
        return EVHTP_RES_ERROR;
    if (htparser_get_major(req->conn->parser) == 0)
        return reject_early(req, HG_E_BAD_REQUEST,
                            "HTTP/0.9 is not supported; send HTTP/1.1");
    /* libevhtp parses any major version with HTTP/1.1 rules, and does not
     * end the connection after a response to HTTP/9.9, so the fini hook
     * sends this one and closes. */
    if (htparser_get_major(req->conn->parser) != 1 && o != NULL) {
        reject_with(o, 400,
                    "only HTTP/1.0 and HTTP/1.1 are supported; send "
                    "HTTP/1.1");
        return EVHTP_RES_ERROR;
    }
    return EVHTP_RES_OK;
}

/* Counts the bytes of bodies sent without Content-Length (chunked). */
static evhtp_res on_read(evhtp_request_t *req, struct evbuffer *buf,
                         void *arg)
{
    hg_http *h = arg;
    size_t total = evbuffer_get_length(req->buffer_in) +
                   evbuffer_get_length(buf);

    if (h->opts.max_body_bytes > 0 &&
        total > (size_t)h->opts.max_body_bytes)
        return reject_too_large(req, h);
    return EVHTP_RES_OK;
}

/* Rejects with 413 a request whose raw bytes had a chunk size of more
 * than 64 bits (see chunk_scan_bytes). */
static evhtp_res reject_chunk_overflow(evhtp_request_t *req, hg_http *h)
{
    if (h->opts.max_body_bytes > 0)
        return reject_too_large(req, h);
    return reject_early(req, HG_E_PAYLOAD_TOO_LARGE,
                        "a chunk size is larger than 2^64 - 1 bytes");
}

/* Runs at each chunk-size line of a chunked body: a chunk that alone
 * passes the body limit gets 413 at once rather than after the body
 * timeout, as a client that announced it may never send it. len is the
 * size as libevhtp read it, which keeps only the low 64 bits, so a size
 * the head scan found too long for 64 bits is rejected whatever the value
 * of len. */
static evhtp_res on_new_chunk(evhtp_request_t *req, uint64_t len, void *arg)
{
    hg_http *h = arg;
    const open_conn *o = open_conn_of(req->conn);

    if (req->cb == on_rejected_complete)
        return EVHTP_RES_OK;
    if (o != NULL && o->head.chunk_overflow)
        return reject_chunk_overflow(req, h);
    if (h->opts.max_body_bytes > 0 &&
        len > (uint64_t)h->opts.max_body_bytes)
        return reject_too_large(req, h);
    return EVHTP_RES_OK;
}

/* Runs at the last chunk. libevhtp takes a size that is 2^64 exactly for
 * the last chunk without calling on_new_chunk, and would serve the bytes
 * after it as the next request. */
static evhtp_res on_chunks_complete(evhtp_request_t *req, void *arg)
{
    const open_conn *o = open_conn_of(req->conn);

    if (req->cb != on_rejected_complete && o != NULL &&
        o->head.chunk_overflow)
        return reject_chunk_overflow(req, arg);
    return EVHTP_RES_OK;
}

/* Open connections of the calling thread's loop. */

static _Thread_local LIST_HEAD(open_list, open_conn) open_conns =
    LIST_HEAD_INITIALIZER(open_conns);

/* Records r as the stream of its connection, or removes it (linear in the
 * thread's open connections, and only done for streams). */
static void list_stream(hg_req *r, evhtp_connection_t *conn, bool add)
{
    open_conn *o;

    LIST_FOREACH(o, &open_conns, link) {
        if (add && o->conn == conn) {
            o->stream = r;
            r->stream_listed = true;
            return;
        }
        if (!add && o->stream == r) {
            o->stream = NULL;
            r->stream_listed = false;
            return;
        }
    }
}

int hg_http_end_streams(void)
{
    open_conn *o;
    int ended = 0;

    LIST_FOREACH(o, &open_conns, link) {
        if (o->stream != NULL && o->stream->streaming) {
            hg_stream_end(o->stream);
            ended++;
        }
    }
    return ended;
}

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg)
{
    open_conn *o = arg;
    const evhtp_request_t *req = conn->request;
    const char *detail;

    /* A request being answered or a response that announced the close
     * owns the connection's output: nothing is added to it. A finished
     * request is still the connection's current one while libevhtp
     * parses a pipelined request after it. */
    if (o->phase != PHASE_CLOSING &&
        (o->phase != PHASE_BUSY || req == NULL ||
         (req->flags & EVHTP_REQ_FLAG_FINISHED) != 0)) {
        detail = conn->parser != NULL
                     ? parser_error_detail(htparser_get_error(conn->parser))
                     : NULL;
        if (detail != NULL)
            reject_with(o, 400, "%s", detail);
        if (o->rejection.status != 0)
            part(conn, o->server, &o->rejection);
    }
    if (o->input_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_input(conn->bev),
                                 o->input_cb);
    /* The request's fini hooks run after this one and must not find o. */
    conn->hooks->on_connection_fini_arg = NULL;
    open_connections--;
    event_free(o->timer);
    LIST_REMOVE(o, link);
    free(o);
    return EVHTP_RES_OK;
}

static evhtp_res on_accept(evhtp_connection_t *conn, void *arg)
{
    open_conn *o;

    if (open_connections >= max_connections) {
        open_conn full = {.conn = conn};

        reject_with(&full, 503,
                    "the server has too many open connections; retry "
                    "shortly");
        part(conn, arg, &full.rejection);
        return EVHTP_RES_ERROR;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return EVHTP_RES_ERROR;
    o->conn = conn;
    o->server = arg;
    head_scan_reset(&o->head);
    o->timer = evtimer_new(conn->evbase, on_conn_timer, o);
    o->input_cb = o->timer != NULL
                      ? evbuffer_add_cb(bufferevent_get_input(conn->bev),
                                        on_input_change, o)
                      : NULL;
    if (o->input_cb == NULL) {
        if (o->timer != NULL)
            event_free(o->timer);
        free(o);
        return EVHTP_RES_ERROR;
    }
    open_connections++;
    /* A new connection has the header timeout for its first request. */
    arm_timer(o, PHASE_HEAD, limits.header_timeout_ms);
    LIST_INSERT_HEAD(&open_conns, o, link);
    set_connection_fini_hook(conn, on_connection_fini, o);
    set_headers_start_hook(conn, on_headers_start, arg);
    set_headers_hook(conn, on_headers, arg);
    set_read_hook(conn, on_read, arg);
    evhtp_connection_set_hook(conn, evhtp_hook_on_new_chunk,
                              (evhtp_hook)on_new_chunk, arg);
    evhtp_connection_set_hook(conn, evhtp_hook_on_chunks_complete,
                              (evhtp_hook)on_chunks_complete, arg);
    return EVHTP_RES_OK;
}

/* Closes every connection of the calling thread (at shutdown only). */
static void close_thread_connections(void)
{
    open_conn *o;

    while ((o = LIST_FIRST(&open_conns)) != NULL) {
        o->phase = PHASE_CLOSING; /* no response at shutdown */
        evhtp_connection_free(o->conn); /* its fini hook unlinks o */
    }
    free_thread_partings();
}

/* ---- server lifecycle ------------------------------------------------- */

static void on_thread_init(evhtp_t *htp, evthr_t *thr, void *arg)
{
    hg_http *h = arg;

    (void)htp;
    evthr_set_aux(thr, h->opts.thread_init(evthr_get_base(thr), h->opts.arg));
}

static void on_thread_exit(evhtp_t *htp, evthr_t *thr, void *arg)
{
    hg_http *h = arg;

    (void)htp;
    close_thread_connections();
    /* A connection freed just before the loop stopped (a client that hung
     * up) can still have a deferred bufferevent callback queued, which
     * holds a reference to its bufferevent; event_base_free drops such
     * callbacks without running them. Two non-blocking turns run them, so
     * the bufferevents are freed. */
    for (int i = 0; i < 2; i++)
        event_base_loop(evthr_get_base(thr), EVLOOP_NONBLOCK);
    if (h->opts.thread_exit != NULL)
        h->opts.thread_exit(evthr_get_aux(thr), h->opts.arg);
}

hg_http *hg_http_new(struct event_base *base, const hg_http_options *opts)
{
    hg_http *h = calloc(1, sizeof(*h));
    /* The phase deadlines (see on_conn_timer) come first; libevent's read
     * timeout, which restarts with every byte, only backs them up. */
    int read_ms = limits.header_timeout_ms > limits.body_timeout_ms
                      ? limits.header_timeout_ms
                      : limits.body_timeout_ms;
    struct timeval read_timeout;
    struct timeval write_timeout = {WRITE_TIMEOUT_S, 0};

    if (h == NULL)
        return NULL;
    hg_log_set_trace_lookup(lookup_trace);
    pthread_once(&http_metrics_once, declare_http_metrics);
    if (limits.idle_timeout_ms > read_ms)
        read_ms = limits.idle_timeout_ms;
    read_ms += 1000;
    max_connections = connection_limit();
    read_timeout.tv_sec = read_ms / 1000;
    read_timeout.tv_usec = (read_ms % 1000) * 1000;
    h->base = base;
    h->opts = *opts;
    h->evhtp = evhtp_new(base, h);
    if (h->evhtp == NULL) {
        free(h);
        return NULL;
    }
    evhtp_set_timeouts(h->evhtp, &read_timeout, &write_timeout);
    evhtp_set_gencb(h->evhtp, on_request, h);
    evhtp_set_post_accept_cb(h->evhtp, on_accept, h);
    /* The 100 Continue would invite a body that may be refused with 413. */
    evhtp_disable_flag(h->evhtp, EVHTP_FLAG_ENABLE_100_CONT);
    if (opts->threads > 0 &&
        evhtp_use_threads_wexit(h->evhtp, on_thread_init, on_thread_exit,
                                opts->threads, h) != 0) {
        evhtp_free(h->evhtp);
        free(h);
        return NULL;
    }
    return h;
}

int hg_http_listen(hg_http *h, const char *host, int port)
{
    char addr[300];

    /* libevhtp takes "ipv6:<addr>" for IPv6 binds. */
    if (strchr(host, ':') != NULL)
        snprintf(addr, sizeof(addr), "ipv6:%s", host);
    else
        snprintf(addr, sizeof(addr), "%s", host);
    return evhtp_bind_socket(h->evhtp, addr, (uint16_t)port, 1024);
}

/* ---- TLS -------------------------------------------------------------- */

/* Checks that path contains a PEM certificate (want_key false) or private
 * key and returns it, so a bad setting stops the process with a message naming
 * its variable instead of failing each handshake later. */
static void *read_pem(const char *path, bool want_key, char *err,
                      size_t errsz)
{
    const char *variable = want_key ? "HOOKGATE_TLS_KEY" : "HOOKGATE_TLS_CERT";
    FILE *f = fopen(path, "r");
    void *out;

    if (f == NULL) {
        snprintf(err, errsz, "invalid %s: cannot open %s: %s", variable, path,
                 strerror(errno));
        return NULL;
    }
    if (want_key)
        out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    else
        out = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (out == NULL)
        snprintf(err, errsz, "invalid %s: %s contains no PEM %s", variable, path,
                 want_key ? "private key (an encrypted key is not supported)"
                          : "certificate");
    ERR_clear_error();
    return out;
}

static int check_key_pair(const char *cert_path, const char *key_path,
                          char *err, size_t errsz)
{
    X509 *cert = read_pem(cert_path, false, err, errsz);
    EVP_PKEY *key = cert ? read_pem(key_path, true, err, errsz) : NULL;
    int rc = -1;

    if (cert != NULL && key != NULL) {
        if (X509_check_private_key(cert, key) == 1)
            rc = 0;
        else
            snprintf(err, errsz,
                     "invalid HOOKGATE_TLS_KEY: %s does not match the "
                     "certificate in HOOKGATE_TLS_CERT (%s)",
                     key_path, cert_path);
    }
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

int hg_http_start(hg_http *h, const char *cert_path, const char *key_path,
                  const char *host, int port)
{
    char err[512];

    if (cert_path[0] != '\0' &&
        hg_http_use_tls(h, cert_path, key_path, err, sizeof(err)) != 0) {
        hg_error(NULL, "cannot start TLS: %s", err);
        return 2;
    }
    errno = 0;
    if (hg_http_listen(h, host, port) != 0) {
        /* errno is bind()'s (or getaddrinfo's none) at this point. */
        int e = errno;

        hg_error(NULL, "cannot listen on %s:%d: %s", host, port,
                 e == EADDRINUSE ? "address already in use (another "
                                   "process listens there)"
                 : e != 0        ? strerror(e)
                                 : "invalid address");
        return 1;
    }
    return 0;
}

int hg_http_use_tls(hg_http *h, const char *cert_path, const char *key_path,
                    char *err, size_t errsz)
{
    SSL_CTX *ctx;

    if (check_key_pair(cert_path, key_path, err, errsz) != 0)
        return -1;

    h->ssl_cfg.pemfile = (char *)cert_path;
    h->ssl_cfg.privfile = (char *)key_path;
    h->ssl_cfg.ssl_opts = SSL_OP_NO_COMPRESSION |
                          SSL_OP_CIPHER_SERVER_PREFERENCE |
                          SSL_OP_NO_RENEGOTIATION;
    h->ssl_cfg.ssl_ctx_timeout = 300; /* seconds a TLS session is resumable */
    h->ssl_cfg.scache_type = evhtp_ssl_scache_type_internal;
    if (evhtp_ssl_init(h->evhtp, &h->ssl_cfg) != 0 ||
        h->evhtp->ssl_ctx == NULL) {
        snprintf(err, errsz, "invalid HOOKGATE_TLS_CERT: setting up TLS with "
                             "%s failed", cert_path);
        return -1;
    }
    ctx = h->evhtp->ssl_ctx;
    /* Checked again on the context itself, without relying on how
     * evhtp_ssl_init reports a file it failed to load. */
    if (SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        snprintf(err, errsz, "invalid HOOKGATE_TLS_KEY: OpenSSL rejected %s "
                             "with %s",
                 key_path, cert_path);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

void hg_http_stop_accepting(hg_http *h)
{
    atomic_store(&http_draining, true);
    if (h != NULL)
        evhtp_unbind_socket(h->evhtp);
}

int hg_http_active_requests(void)
{
    return active_requests;
}

void hg_http_free(hg_http *h)
{
    if (h == NULL)
        return;
    evhtp_unbind_socket(h->evhtp);
    evhtp_free(h->evhtp);
    if (h->opts.threads == 0)
        close_thread_connections();
    free(h);
}

/* ---- parsers for the fuzz targets (common/http_parse.h) ---------------- */

bool hg_http_parse_query(hg_req *r)
{
    return parse_query(r);
}

bool hg_http_match_route(const char *pattern, const char *path,
                         char params[HG_MAX_PARAMS][HG_PARAM_MAX])
{
    return match_route(pattern, path, params);
}

bool hg_http_request_id_valid(const char *s)
{
    return request_id_valid(s);
}

const char *hg_http_framing_error(evhtp_headers_t *headers,
                                  unsigned long long *length,
                                  bool *has_length)
{
    return framing_error(headers, length, has_length);
}
