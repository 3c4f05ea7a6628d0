/* SPDX-License-Identifier: MIT */
#include "common/http.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <evhtp/thread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"

/* Retry-After seconds sent with a 503 caused by Redis. */
#define RETRY_AFTER_UNAVAILABLE "1"
/* Idle keep-alive connections and slow request senders are closed after
 * this many seconds. */
#define READ_TIMEOUT_S 60
#define WRITE_TIMEOUT_S 60

/* Requests in progress, across all threads (for draining at shutdown). */
static _Atomic int active_requests;

struct hg_http {
    evhtp_t *evhtp;
    struct event_base *base;
    hg_http_options opts;
};

/* ---- typed wrappers over libevhtp's untyped hook setter -------------- */

typedef evhtp_res (*request_fini_hook)(evhtp_request_t *req, void *arg);
typedef evhtp_res (*headers_hook)(evhtp_request_t *req,
                                  evhtp_headers_t *headers, void *arg);
typedef evhtp_res (*read_hook)(evhtp_request_t *req, struct evbuffer *buf,
                               void *arg);
typedef evhtp_res (*connection_fini_hook)(evhtp_connection_t *conn,
                                          void *arg);

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
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : "Error";
    }
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
    bool keepalive = (req->flags & EVHTP_REQ_FLAG_KEEPALIVE) != 0;

    evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\n", http10 ? 0 : 1, status,
                        reason_phrase(status));
    if (content_type != NULL)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    if (chunked)
        evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    else
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", content_length);
    if (request_id != NULL)
        evbuffer_add_printf(out, "X-Request-Id: %s\r\n", request_id);
    if (h != NULL && h->opts.static_headers != NULL)
        evbuffer_add(out, h->opts.static_headers,
                     strlen(h->opts.static_headers));
    if (extra != NULL)
        evbuffer_add_buffer(out, extra);
    if (!keepalive)
        evbuffer_add_printf(out, "Connection: close\r\n");
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

static void req_free(hg_req *r)
{
    active_requests--;
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

static evhtp_res on_request_fini(evhtp_request_t *req, void *arg)
{
    hg_req *r = arg;

    (void)req;
    r->req = NULL;
    if (r->deadline != NULL)
        evtimer_del(r->deadline);
    if (r->on_close != NULL)
        r->on_close(r);
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
    char *out = s;

    for (const char *p = s; *p != '\0'; p++) {
        int hi = *p == '%' ? hg_hex_value((unsigned char)p[1]) : -1;
        int lo = hi >= 0 ? hg_hex_value((unsigned char)p[2]) : -1;

        if (*p == '+') {
            *out++ = ' ';
        } else if (lo >= 0 && (hi | lo) != 0) {
            *out++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
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

static void log_access(const hg_req *r, int status)
{
    hg_log_fields f = {.correlation_id = r->request_id,
                       .http_status = status,
                       .duration_ms = (hg_mono_us() - r->start_us) / 1000};
    const char *method = r->req ? htparser_get_methodstr_m(r->req->method)
                                : "-";

    if (status >= 500)
        hg_warn(&f, "%s %s answered %d", method, hg_req_path(r), status);
    else
        hg_debug(&f, "%s %s answered %d", method, hg_req_path(r), status);
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

void hg_reply_json(hg_req *r, int status, json_t *json)
{
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;

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
    if (len > 0) {
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
    evbuffer_add(bufferevent_get_output(r->req->conn->bev), "0\r\n\r\n", 5);
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

static void dispatch(hg_req *r)
{
    const hg_http_options *o = &r->server->opts;
    const char *path = hg_req_path(r);
    htp_method method = r->req->method;
    bool path_known = false;
    char allow[160] = "";

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
        allow_add(allow, sizeof(allow),
                  htparser_get_methodstr_m(route->method));
        if (route->method == htp_method_GET)
            allow_add(allow, sizeof(allow), "HEAD");
    }
    if (path_known) {
        hg_reply_header(r, "Allow", allow);
        hg_reply_problem(r, HG_E_METHOD_NOT_ALLOWED,
                         "%s is not allowed on %s; allowed: %s",
                         htparser_get_methodstr_m(method), path, allow);
        return;
    }
    hg_reply_problem(r, HG_E_NOT_FOUND, "no route matches %s", path);
}

static void on_request(evhtp_request_t *req, void *arg)
{
    hg_http *h = arg;
    hg_req *r = calloc(1, sizeof(*r));

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
    r->head = req->method == htp_method_HEAD;
    /* One reference for libevhtp's request, released by the fini hook, and
     * one for this function. */
    r->refs = 2;
    choose_request_id(req, r->request_id);
    set_request_fini_hook(req, on_request_fini, r);

    if (parse_query(r))
        dispatch(r);
    else
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
    hg_req_release(r);
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
    struct evbuffer *body = evbuffer_new();

    choose_request_id(req, request_id);
    problem_body(body, code, detail, request_id);

    req->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    write_head(req, hg_error_status(code), "application/problem+json",
               evbuffer_get_length(body), false, request_id, NULL);
    if (req->method != htp_method_HEAD)
        evbuffer_add_buffer(bufferevent_get_output(req->conn->bev), body);
    evbuffer_free(body);

    evbuffer_drain(req->buffer_in, evbuffer_get_length(req->buffer_in));
    set_request_read_hook(req, drain_body, NULL);
    start_linger(req);
    req->cb = on_rejected_complete;
    req->cbarg = NULL;
    hg_info(NULL, "rejected a request before its body: %s", detail);
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

/* Checks the message framing: one Content-Length of digits only, and not
 * together with Transfer-Encoding. Ambiguous framing is how requests are
 * smuggled past a proxy (RFC 9112, section 6.3). */
static const char *framing_error(evhtp_headers_t *headers,
                                 unsigned long long *length, bool *has_length)
{
    const char *cl = NULL;
    bool te = false;
    evhtp_kv_t *kv;

    *has_length = false;
    TAILQ_FOREACH(kv, headers, next) {
        if (strcasecmp(kv->key, "Content-Length") == 0) {
            if (cl != NULL && strcmp(cl, kv->val) != 0)
                return "the request has conflicting Content-Length headers";
            cl = kv->val;
        } else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
            te = true;
        }
    }
    if (cl == NULL)
        return NULL;
    if (te)
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

    if (error != NULL)
        return reject_early(req, HG_E_BAD_REQUEST, error);
    if (has_length && h->opts.max_body_bytes > 0 &&
        length > (unsigned long long)h->opts.max_body_bytes)
        return reject_too_large(req, h);
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

/* Open connections of the calling thread's loop, so that stopping the
 * server can close them; libevhtp itself leaves them allocated. */
typedef struct open_conn {
    evhtp_connection_t *conn;
    LIST_ENTRY(open_conn) link;
} open_conn;

static _Thread_local LIST_HEAD(open_list, open_conn) open_conns =
    LIST_HEAD_INITIALIZER(open_conns);

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg)
{
    open_conn *o = arg;

    (void)conn;
    LIST_REMOVE(o, link);
    free(o);
    return EVHTP_RES_OK;
}

static evhtp_res on_accept(evhtp_connection_t *conn, void *arg)
{
    open_conn *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return EVHTP_RES_ERROR;
    o->conn = conn;
    LIST_INSERT_HEAD(&open_conns, o, link);
    set_connection_fini_hook(conn, on_connection_fini, o);
    set_headers_hook(conn, on_headers, arg);
    set_read_hook(conn, on_read, arg);
    return EVHTP_RES_OK;
}

/* Closes every connection of the calling thread (at shutdown only). */
static void close_thread_connections(void)
{
    open_conn *o;

    while ((o = LIST_FIRST(&open_conns)) != NULL)
        evhtp_connection_free(o->conn); /* its fini hook unlinks o */
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
    struct timeval read_timeout = {READ_TIMEOUT_S, 0};
    struct timeval write_timeout = {WRITE_TIMEOUT_S, 0};

    if (h == NULL)
        return NULL;
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

void hg_http_stop_accepting(hg_http *h)
{
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
