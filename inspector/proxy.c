/* SPDX-License-Identifier: MIT
 *
 * The partner API through the inspector: a fixed list of gateway routes
 * (reads, and the actions redeliver, replay, test event, enable and
 * disable) is forwarded to hookgate-gateway with libevent's HTTP client on
 * the inspector's event loop. The inspector checks the caller's role first,
 * validates every path parameter and the query string, and forwards the
 * caller's own credential, so the gateway checks the same rules again and
 * audits the right actor. The router rejects any other path with 404 or
 * 405.
 */
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/log.h"
#include "inspector/inspector.h"

/* Maximum request body forwarded, because the action routes take small JSON. */
#define PROXY_BODY_MAX (64 * 1024)
/* Maximum gateway response passed back. A larger one gets 502. */
#define PROXY_RESPONSE_MAX (8 * 1024 * 1024)
/* Maximum query string forwarded, in bytes as sent. */
#define PROXY_QUERY_MAX 2048
#define CREDENTIAL_MAX 512
#define URI_MAX 4096

#define LIST_INTEGRATIONS "/api/v1/integrations"

typedef struct proxy_call {
    hg_req *r;
    struct evhttp_connection *conn;
    /* The caller is an integration key listing integrations: the gateway is
     * asked for that one integration and its object is wrapped as a list
     * page. */
    bool own_integration_only;
    enum evhttp_request_error error;
    bool error_set;
} proxy_call;

static struct evdns_base *dns;

void insp_proxy_init(struct event_base *base)
{
    /* NOTE: without a usable resolv.conf, libevent resolves a host name
     * with a blocking getaddrinfo(). A numeric address needs no lookup. */
    dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (dns == NULL)
        hg_warn(NULL, "cannot read the DNS configuration; the gateway "
                      "address should be numeric");
}

void insp_proxy_free(void)
{
    if (dns != NULL)
        evdns_base_free(dns, 0);
    dns = NULL;
}

/* ---- checks ------------------------------------------------------------- */

static bool endpoint_id_valid(const char *s)
{
    size_t n = strlen(s);

    return strncmp(s, "ep_", 3) == 0 && n > 3 && n <= 63 &&
           strspn(s + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_-") == n - 3;
}

bool insp_delivery_id_valid(const char *s, char *event_id, size_t cap)
{
    const char *sep;
    size_t digits;

    if (strncmp(s, "dlv_", 4) != 0 || strlen(s) < 4 + HG_ID_BODY_LEN + 2)
        return false;
    sep = s + 4 + HG_ID_BODY_LEN;
    digits = strlen(sep + 1);
    if (*sep != '_' || digits > 6 ||
        strspn(sep + 1, "0123456789") != digits)
        return false;
    snprintf(event_id, cap, "evt_%.*s", HG_ID_BODY_LEN, s + 4);
    return hg_id_valid("evt_", event_id);
}

/* Checks each "{name}" parameter of the route by its name. */
static bool params_valid(const hg_req *r)
{
    const char *p = r->route->pattern;
    char event_id[HG_ID_MAX];

    for (int i = 0; (p = strchr(p, '{')) != NULL; i++, p++) {
        const char *v = r->params[i];
        bool ok;

        if (strncmp(p, "{id}", 4) == 0)
            ok = hg_integration_id_valid(v);
        else if (strncmp(p, "{event}", 7) == 0)
            ok = hg_id_valid("evt_", v);
        else if (strncmp(p, "{delivery}", 10) == 0)
            ok = insp_delivery_id_valid(v, event_id, sizeof(event_id));
        else if (strncmp(p, "{endpoint}", 10) == 0)
            ok = endpoint_id_valid(v);
        else
            ok = false;
        if (!ok)
            return false;
    }
    return true;
}

/* Accepts a query string that cannot change the request line or headers
 * it is copied into: printable ASCII other than space and '#'. Percent
 * escapes pass unchanged, for the gateway to decode. */
static bool query_safe(const char *q)
{
    for (const unsigned char *c = (const unsigned char *)q; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '#')
            return false;
    }
    return true;
}

/* Writes the gateway path of r: the route's pattern with its validated
 * parameters, or the caller's own integration for a non-admin list. */
static bool upstream_path(const hg_req *r, bool own_only, char *out,
                          size_t cap)
{
    const char *p = r->route->pattern;
    size_t n = 0;
    int i = 0;

    if (own_only)
        return snprintf(out, cap, "%s/%s", LIST_INTEGRATIONS,
                        r->auth_integration) < (int)cap;
    while (*p && n + 1 < cap) {
        if (*p == '{') {
            int w = snprintf(out + n, cap - n, "%s", r->params[i++]);

            if (w < 0 || (size_t)w >= cap - n)
                return false;
            n += (size_t)w;
            p = strchr(p, '}') + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return *p == '\0';
}

/* ---- the gateway's response --------------------------------------------- */

static const char *const copied_headers[] = {
    "Retry-After", "Deprecation", "Sunset", "Link", "Location",
    "WWW-Authenticate",
};

static bool header_copied(const char *name)
{
    if (strncasecmp(name, "RateLimit", 9) == 0)
        return true;
    for (size_t i = 0; i < sizeof(copied_headers) / sizeof(copied_headers[0]);
         i++) {
        if (strcasecmp(name, copied_headers[i]) == 0)
            return true;
    }
    return false;
}

static void reply_bad_gateway(hg_req *r, const char *detail)
{
    json_t *problem = hg_problem_new(r, HG_E_INTERNAL_ERROR, detail);
    char *text;

    /* 502 has no code of its own in the error table. */
    json_object_set_new(problem, "status", json_integer(502));
    json_object_set_new(problem, "title", json_string("Bad gateway"));
    json_object_set_new(problem, "code", json_string("BAD_GATEWAY"));
    text = json_dumps(problem, JSON_COMPACT);
    json_decref(problem);
    if (text != NULL)
        hg_reply(r, 502, "application/problem+json", text, strlen(text));
    free(text);
}

static void reply_failure(proxy_call *c)
{
    hg_req *r = c->r;
    hg_log_fields f = {.correlation_id = r->request_id};

    if (c->error_set && c->error == EVREQ_HTTP_DATA_TOO_LONG) {
        f.error = "response too large";
        hg_warn(&f, "the gateway's response to %s exceeds 8 MiB",
                hg_req_path(r));
        reply_bad_gateway(r, "the gateway's response exceeds the inspector's "
                             "limit of 8 MiB");
        return;
    }
    f.error = !c->error_set                       ? "no response"
              : c->error == EVREQ_HTTP_TIMEOUT    ? "timed out"
              : c->error == EVREQ_HTTP_EOF        ? "connection closed"
              : c->error == EVREQ_HTTP_INVALID_HEADER ? "invalid response"
                                                  : "connection failed";
    hg_warn(&f, "forwarding %s to the gateway failed", hg_req_path(r));
    hg_reply_header(r, "Retry-After", "5");
    hg_reply_problem(r, HG_E_UNAVAILABLE,
                     "the gateway did not respond (%s); try again later",
                     f.error);
}

/* Wraps the gateway's integration object as a one-item list page. */
static void reply_own_integration(hg_req *r, const char *body, size_t len)
{
    json_t *item = json_loadb(body, len, 0, NULL);

    if (item == NULL) {
        reply_bad_gateway(r, "the gateway's response is not JSON");
        return;
    }
    hg_reply_json(r, 200,
                  json_pack("{s:[o], s:n}", "data", item, "next_cursor"));
}

static void on_error(enum evhttp_request_error error, void *arg)
{
    proxy_call *c = arg;

    c->error = error;
    c->error_set = true;
}

static void on_connection_unused(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evhttp_connection_free(arg);
}

void insp_gateway_conn_free_later(struct evhttp_connection *conn)
{
    struct timeval now = {0, 0};

    event_base_once(insp->base, -1, EV_TIMEOUT, on_connection_unused, conn,
                    &now);
}

static void on_response(struct evhttp_request *up, void *arg)
{
    proxy_call *c = arg;
    hg_req *r = c->r;
    int status = up ? evhttp_request_get_response_code(up) : 0;

    if (hg_req_done(r)) {
        /* the deadline already replied, or the client left */
    } else if (status == 0) {
        reply_failure(c);
    } else if (status < 200 || status > 599) {
        /* libevent returns an interim 1xx as if it were final. Neither it
         * nor a status outside HTTP's range may reach the client as the
         * gateway's response. */
        hg_log_fields f = {.correlation_id = r->request_id,
                           .error = "invalid status"};

        hg_warn(&f, "the gateway answered %s with status %d",
                hg_req_path(r), status);
        reply_bad_gateway(r, "the gateway answered with a status that is not "
                             "a final HTTP status");
    } else {
        struct evkeyvalq *in = evhttp_request_get_input_headers(up);
        struct evbuffer *buf = evhttp_request_get_input_buffer(up);
        size_t len = evbuffer_get_length(buf);
        const char *type = evhttp_find_header(in, "Content-Type");
        const char *body = (const char *)evbuffer_pullup(buf, -1);

        if (c->own_integration_only && status == 200) {
            reply_own_integration(r, body, len);
        } else {
            for (struct evkeyval *h = in->tqh_first; h != NULL;
                 h = h->next.tqe_next) {
                if (header_copied(h->key))
                    hg_reply_header(r, h->key, h->value);
            }
            hg_reply(r, status, len > 0 ? type : NULL, body, len);
        }
    }
    /* libevent 2.1.12 does not free a connection marked free-on-completion
     * when connecting failed (refused or timed out; seen as a leak under
     * ASan), which is the one case that calls back without an error code. */
    if (status == 0 && !c->error_set)
        insp_gateway_conn_free_later(c->conn);
    free(c);
    hg_req_release(r);
}

/* ---- forwarding --------------------------------------------------------- */

void insp_gateway_address(char *host, size_t cap, int *port)
{
    const hg_config *cfg = insp->cfg;
    const hg_listen_addr *a =
        cfg->inspector_gateway_set ? &cfg->inspector_gateway
                                   : &cfg->gateway_addr;

    /* A gateway listening on every address is reached on loopback. */
    if (strcmp(a->host, "0.0.0.0") == 0)
        snprintf(host, cap, "127.0.0.1");
    else if (strcmp(a->host, "::") == 0)
        snprintf(host, cap, "::1");
    else
        snprintf(host, cap, "%s", a->host);
    *port = a->port;
}

static void add_request_headers(hg_req *r, struct evhttp_request *up,
                                const char *host, int port,
                                const char *credential)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(up);
    char value[CREDENTIAL_MAX + 16];
    const char *h;

    if (strchr(host, ':') != NULL)
        snprintf(value, sizeof(value), "[%s]:%d", host, port);
    else
        snprintf(value, sizeof(value), "%s:%d", host, port);
    evhttp_add_header(out, "Host", value);
    snprintf(value, sizeof(value), "Bearer %s", credential);
    evhttp_add_header(out, "Authorization", value);
    evhttp_add_header(out, "X-Request-Id", r->request_id);
    evhttp_add_header(out, "Accept", "application/json");
    /* NOTE: one connection per forwarded request, closed after the
     * response, so libevent frees it (a kept-alive client connection is
     * never freed on completion). That costs a TCP handshake per request,
     * which is small on loopback. */
    evhttp_add_header(out, "Connection", "close");
    h = hg_req_header(r, "traceparent");
    if (h != NULL && strlen(h) <= 128 && query_safe(h))
        evhttp_add_header(out, "traceparent", h);
    h = hg_req_header(r, "Content-Type");
    if (r->req->method == htp_method_POST && h != NULL && strlen(h) <= 256 &&
        strpbrk(h, "\r\n") == NULL)
        evhttp_add_header(out, "Content-Type", h);
}

/* Sends the request to the gateway. libevent calls on_response once, with
 * the response, after an error, or when the connection's timeout passed. */
static void forward(hg_req *r, const char *uri, const char *credential,
                    const void *body, size_t body_len, bool own_only)
{
    struct evhttp_connection *conn;
    struct evhttp_request *up;
    proxy_call *c = calloc(1, sizeof(*c));
    char host[256];
    int port, timeout_ms = insp->cfg->inspector_gateway_timeout_ms;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    if (c == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    c->r = r;
    c->own_integration_only = own_only;
    insp_gateway_address(host, sizeof(host), &port);
    conn = evhttp_connection_base_new(insp->base, dns, host,
                                      (unsigned short)port);
    c->conn = conn;
    up = conn ? evhttp_request_new(on_response, c) : NULL;
    if (up == NULL) {
        if (conn != NULL)
            evhttp_connection_free(conn);
        free(c);
        hg_reply_unavailable(r, "cannot open a connection to the gateway");
        return;
    }
    evhttp_connection_set_timeout_tv(conn, &tv);
    evhttp_connection_set_max_body_size(conn, PROXY_RESPONSE_MAX);
    evhttp_request_set_error_cb(up, on_error);
    add_request_headers(r, up, host, port, credential);
    if (body_len > 0)
        evbuffer_add(evhttp_request_get_output_buffer(up), body, body_len);

    r->timeout_detail = "the gateway did not respond in time";
    hg_req_async(r, timeout_ms + 500);
    /* Set before the request starts, because a refused connection to a
     * local address fails, and calls on_response, inside
     * evhttp_make_request(). Neither c nor conn may be used after it. */
    evhttp_connection_free_on_completion(conn);
    if (evhttp_make_request(conn, up,
                            r->req->method == htp_method_POST
                                ? EVHTTP_REQ_POST
                                : EVHTTP_REQ_GET,
                            uri) != 0) {
        /* evhttp_make_request frees the request on failure and calls no
         * callback, so nothing completed and freed the connection. */
        evhttp_connection_free(conn);
        hg_reply_unavailable(r, "cannot send the request to the gateway");
        free(c);
        hg_req_release(r);
    }
}

static void proxy_authorized(hg_req *r)
{
    bool action = r->route->method == htp_method_POST;
    bool list = strcmp(r->route->pattern, LIST_INTEGRATIONS) == 0;
    bool own_only = list && !r->auth_admin && r->auth_integration[0] != '\0';
    const char *query = r->req->uri ? (const char *)r->req->uri->query_raw
                                    : NULL;
    const char *body = NULL;
    size_t body_len = 0;
    char credential[CREDENTIAL_MAX], path[URI_MAX], uri[URI_MAX];
    bool from_cookie;

    if (!params_valid(r)) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "no resource matches %s",
                         hg_req_path(r));
        return;
    }
    if (strstr(r->route->pattern, "{id}") != NULL &&
        !(action ? insp_may_act(r, r->params[0])
                 : insp_may_see(r, r->params[0]))) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         action ? "these credentials may not change integration %s"
                                : "these credentials cannot see integration %s",
                         r->params[0]);
        return;
    }
    if (query != NULL &&
        (strlen(query) > PROXY_QUERY_MAX || !query_safe(query))) {
        hg_reply_problem(r, HG_E_BAD_REQUEST,
                         "the query string must be at most %d bytes of "
                         "printable ASCII without spaces or '#'",
                         PROXY_QUERY_MAX);
        return;
    }
    if (action) {
        body = hg_req_body(r, &body_len);
        if (body_len > PROXY_BODY_MAX) {
            hg_reply_problem(r, HG_E_PAYLOAD_TOO_LARGE,
                             "the body is %zu bytes; the inspector forwards "
                             "at most %d",
                             body_len, PROXY_BODY_MAX);
            return;
        }
    }
    if (!upstream_path(r, own_only, path, sizeof(path)) ||
        snprintf(uri, sizeof(uri), "%s%s%s", path,
                 query && *query && !own_only ? "?" : "",
                 query && !own_only ? query : "") >= (int)sizeof(uri)) {
        hg_reply_problem(r, HG_E_BAD_REQUEST, "the request URI is too long");
        return;
    }
    /* The caller's own credential: its bearer token as sent, or the
     * session token of its cookie. */
    if (!insp_read_token(r, credential, sizeof(credential), &from_cookie)) {
        hg_reply_problem(r, HG_E_UNAUTHORIZED,
                         "the credential cannot be forwarded; sign in again");
        return;
    }
    forward(r, uri, credential, body, body_len, own_only);
    memset(credential, 0, sizeof(credential));
}

void insp_proxy(hg_req *r)
{
    insp_authorize(r, proxy_authorized);
}
