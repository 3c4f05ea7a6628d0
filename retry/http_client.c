/* SPDX-License-Identifier: MIT */
#include "retry/http_client.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/urlpolicy.h"

/* Response headers kept per attempt; longer header blocks are cut. */
#define HEADER_CAPTURE_MAX 16384
#define USER_AGENT "hookgate/" HOOKGATE_VERSION

typedef struct transfer {
    hg_http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    hg_http_done_cb cb;
    void *arg;
    char *resp_headers;
    size_t resp_headers_len;
    char *body;
    size_t body_len;
    size_t capture_limit;
    bool truncated;
    bool blocked;
    bool allow_private;
    bool proxied;
    const char *proxy; /* HOOKGATE_OUTBOUND_PROXY, owned by the config */
    char blocked_address[64];
    int64_t started_at_ms;
    int64_t start_us;
    char errbuf[CURL_ERROR_SIZE];
    struct event *start_failed; /* reports a failure to start */
    TAILQ_ENTRY(transfer) link;
} transfer;

TAILQ_HEAD(transfer_list, transfer);

struct hg_http_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int active;
    struct transfer_list transfers;
};

typedef struct socket_watch {
    struct event *ev;
} socket_watch;

/* ---- completion ------------------------------------------------------- */

static bool is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
        return true;
    default:
        return false;
    }
}

/* Any status line received counts as an answer, even if the connection
 * broke afterwards or the body was cut at the capture limit: the receiver
 * decided. That holds even when an earlier address of the name was
 * refused by the policy and libcurl went on to a public one. Without an
 * answer, the libcurl error names the class. */
static const char *error_class_of(const transfer *t, CURLcode rc,
                                  long status)
{
    if (status > 0)
        return NULL;
    if (t->blocked)
        return "blocked_by_policy";
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
        return "dns";
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return "timeout";
    if (is_tls_error(rc))
        return "tls";
    return "connect";
}

static void transfer_free(transfer *t)
{
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    if (t->start_failed != NULL)
        event_free(t->start_failed);
    curl_slist_free_all(t->headers);
    free(t->resp_headers);
    free(t->body);
    free(t);
}

/* Replaces the proxy's user and password in a libcurl error text, which
 * may quote the whole proxy URL ("Unsupported proxy syntax in '...'"), by
 * "***": the text goes to logs and to attempt records that partners read. */
static void scrub_proxy_credentials(char *text, const char *proxy)
{
    const char *start = strstr(proxy, "://");
    const char *at = strchr(proxy, '@');
    char out[CURL_ERROR_SIZE];
    size_t len, n = 0;
    const char *p = text, *hit;

    start = start != NULL ? start + 3 : proxy;
    if (at == NULL || at <= start)
        return;
    len = (size_t)(at - start);
    while ((hit = memmem(p, strlen(p), start, len)) != NULL &&
           n + (size_t)(hit - p) + 4 < sizeof(out)) {
        memcpy(out + n, p, (size_t)(hit - p));
        n += (size_t)(hit - p);
        memcpy(out + n, "***", 3);
        n += 3;
        p = hit + len;
    }
    snprintf(out + n, sizeof(out) - n, "%s", p);
    snprintf(text, CURL_ERROR_SIZE, "%s", out);
}

static void finish(transfer *t, CURLcode rc)
{
    hg_http_client *c = t->client;
    hg_http_result res;
    long status = 0;

    memset(&res, 0, sizeof(res));
    if (t->proxied)
        scrub_proxy_credentials(t->errbuf, t->proxy);
    if (t->easy != NULL)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    /* A 1xx response is interim (RFC 9110, section 15.2), so without a
     * final response after it the receiver has not responded. */
    if (status < 200)
        status = 0;
    res.http_status = status;
    res.error_class = error_class_of(t, rc, status);
    if (res.error_class != NULL) {
        if (t->blocked) {
            snprintf(res.error_message, sizeof(res.error_message),
                     "refused to connect: the host resolved to a private, "
                     "loopback or reserved address; the operator can allow "
                     "it with HOOKGATE_ALLOWED_CIDRS or "
                     "HOOKGATE_ALLOW_PRIVATE_TARGETS=1");
            snprintf(res.blocked_address, sizeof(res.blocked_address), "%s",
                     t->blocked_address);
        } else
            snprintf(res.error_message, sizeof(res.error_message), "%s",
                     t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    }
    res.started_at_ms = t->started_at_ms;
    res.duration_ms = (hg_mono_us() - t->start_us) / 1000;
    res.response_headers = t->resp_headers ? t->resp_headers : "";
    res.response_headers_len = t->resp_headers_len;
    res.response_body = t->body ? t->body : "";
    res.response_body_len = t->body_len;
    res.response_truncated = t->truncated;
    res.response_complete = rc == CURLE_OK || t->truncated;
    if (!res.response_complete && res.error_class == NULL)
        snprintf(res.error_message, sizeof(res.error_message),
                 "the response ended early: %.200s",
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));

    TAILQ_REMOVE(&c->transfers, t, link);
    c->active--;
    if (t->easy != NULL)
        curl_multi_remove_handle(c->multi, t->easy);
    t->cb(&res, t->arg);
    transfer_free(t);
}

static void drain_messages(hg_http_client *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        transfer *t = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish(t, msg->data.result);
    }
}

/* ---- libevent glue ---------------------------------------------------- */

static void on_socket_ready(evutil_socket_t fd, short what, void *arg)
{
    hg_http_client *c = arg;
    int flags = 0;
    int running;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    drain_messages(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    hg_http_client *c = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_messages(c);
}

static int on_socket_change(CURL *easy, curl_socket_t fd, int what,
                            void *userp, void *socketp)
{
    hg_http_client *c = userp;
    socket_watch *w = socketp;
    short events = EV_PERSIST;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_free(w->ev);
            free(w);
        }
        curl_multi_assign(c->multi, fd, NULL);
        return 0;
    }
    if (w == NULL) {
        w = calloc(1, sizeof(*w));
        if (w == NULL)
            return -1;
        curl_multi_assign(c->multi, fd, w);
    } else {
        event_free(w->ev);
    }
    if (what & CURL_POLL_IN)
        events |= EV_READ;
    if (what & CURL_POLL_OUT)
        events |= EV_WRITE;
    w->ev = event_new(c->base, fd, events, on_socket_ready, c);
    event_add(w->ev, NULL);
    return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    hg_http_client *c = userp;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    (void)multi;
    if (timeout_ms < 0)
        evtimer_del(c->timer);
    else
        evtimer_add(c->timer, &tv);
    return 0;
}

/* ---- per-transfer callbacks ------------------------------------------- */

/* Keeps at most capture_limit bytes. Returning less than offered makes
 * libcurl stop reading, so a huge or endless answer costs nothing more. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;
    size_t room = t->capture_limit - t->body_len;

    if (n > room) {
        t->truncated = true;
        n = room;
    }
    if (n > 0) {
        char *grown = realloc(t->body, t->body_len + n);

        if (grown == NULL)
            return 0;
        t->body = grown;
        memcpy(t->body + t->body_len, data, n);
        t->body_len += n;
    }
    return t->truncated ? 0 : size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;

    /* A new status line starts a new header block (after 1xx answers). */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->resp_headers_len = 0;
        return n;
    }
    if (t->resp_headers_len + n > HEADER_CAPTURE_MAX)
        return n;
    if (t->resp_headers == NULL) {
        t->resp_headers = malloc(HEADER_CAPTURE_MAX);
        if (t->resp_headers == NULL)
            return n;
    }
    memcpy(t->resp_headers + t->resp_headers_len, data, n);
    t->resp_headers_len += n;
    return n;
}

static void format_address(const struct sockaddr *sa, char *out, size_t cap)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)
                              ->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)
                              ->sin_addr;

    if (inet_ntop(sa->sa_family, a, out, (socklen_t)cap) == NULL)
        snprintf(out, cap, "(unknown)");
}

/* Refuses connections to non-public addresses after DNS resolution, so a
 * name that resolves (or rebinds) to a private address is caught too. */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    transfer *t = clientp;

    (void)purpose;
    /* Through a proxy this sees the proxy's address, and the proxy
     * decides where requests may go. */
    if (!t->proxied && !hg_addr_allowed(&address->addr, t->allow_private)) {
        t->blocked = true;
        format_address(&address->addr, t->blocked_address,
                       sizeof(t->blocked_address));
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static int configure(transfer *t, const hg_http_request *req)
{
    CURL *e = t->easy;
    int rc = 0;

    for (const char *const *h = req->headers; h && *h; h++)
        t->headers = curl_slist_append(t->headers, *h);
    /* An empty Expect header stops libcurl from waiting for 100 Continue
     * before sending bodies over 1 KiB. */
    t->headers = curl_slist_append(t->headers, "Expect:");

    rc |= curl_easy_setopt(e, CURLOPT_URL, req->url);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                           (curl_off_t)req->body_len);
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                           req->connect_timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->total_timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* An empty proxy also stops libcurl from taking one from the
     * environment (http_proxy), which would bypass the address policy. */
    rc |= curl_easy_setopt(e, CURLOPT_PROXY, req->proxy ? req->proxy : "");
    /* An empty list also stops libcurl from reading NO_PROXY: a host
     * listed there would be reached directly, and with a proxy set the
     * socket callback no longer checks addresses. */
    rc |= curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    if (req->resolve != NULL)
        rc |= curl_easy_setopt(e, CURLOPT_RESOLVE, req->resolve);
    return rc;
}

static void on_start_failed(evutil_socket_t fd, short what, void *arg)
{
    transfer *t = arg;

    (void)fd;
    (void)what;
    finish(t, CURLE_FAILED_INIT);
}

void hg_http_client_send(hg_http_client *c, const hg_http_request *req,
                         hg_http_done_cb cb, void *arg)
{
    static const struct timeval now = {0, 0};
    transfer *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        hg_error(NULL, "out of memory starting a delivery");
        abort();
    }
    t->client = c;
    t->cb = cb;
    t->arg = arg;
    t->capture_limit = req->capture_limit;
    t->allow_private = req->allow_private;
    t->proxied = req->proxy != NULL && req->proxy[0] != '\0';
    t->proxy = req->proxy;
    t->started_at_ms = hg_time_ms();
    t->start_us = hg_mono_us();
    TAILQ_INSERT_TAIL(&c->transfers, t, link);
    c->active++;

    t->easy = curl_easy_init();
    if (t->easy == NULL || configure(t, req) != 0 ||
        curl_multi_add_handle(c->multi, t->easy) != CURLM_OK) {
        snprintf(t->errbuf, sizeof(t->errbuf), "cannot start the request");
        if (t->easy != NULL)
            curl_easy_cleanup(t->easy);
        t->easy = NULL;
        t->start_failed = evtimer_new(c->base, on_start_failed, t);
        evtimer_add(t->start_failed, &now);
    }
}

/* ---- client lifecycle -------------------------------------------------- */

hg_http_client *hg_http_client_new(struct event_base *base)
{
    hg_http_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->base = base;
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, on_timer, c);
    TAILQ_INIT(&c->transfers);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket_change);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

int hg_http_client_active(const hg_http_client *c)
{
    return c->active;
}

void hg_http_client_free(hg_http_client *c)
{
    transfer *t;

    if (c == NULL)
        return;
    while ((t = TAILQ_FIRST(&c->transfers)) != NULL) {
        snprintf(t->errbuf, sizeof(t->errbuf), "the worker is stopping");
        finish(t, CURLE_ABORTED_BY_CALLBACK);
    }
    curl_multi_cleanup(c->multi);
    event_free(c->timer);
    free(c);
}
