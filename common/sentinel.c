/* SPDX-License-Identifier: MIT
 *
 * A query holds at most one hiredis context, to the Sentinel being asked.
 * Every step (the next Sentinel, the final callback) runs from the query's
 * own zero-delay timer, so no context is created or freed inside another
 * context's callback and the caller's callback never runs inside hiredis.
 */
#include "common/sentinel.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hg_sentinel_query {
    struct event_base *base;
    hg_redis_url url;
    int timeout_ms;
    hg_sentinel_cb cb;
    void *arg;
    int next;                /* index of the next Sentinel to ask */
    redisAsyncContext *ac;   /* context to the Sentinel being asked */
    struct event *deadline;  /* bounds the current Sentinel */
    struct event *step;      /* zero-delay: ask the next one, or finish */
    bool found;
    char host[64];
    int port;
    char why[256];
};

/* ---- parsing ----------------------------------------------------------- */

static int parse_port(const char *s, size_t len, int *out)
{
    int v = 0;

    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static bool is_ip(const char *host, bool v6)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) == 1;
}

/* Parses one entry s[0..len), already trimmed. */
static int parse_entry(const char *s, size_t len, hg_redis_node *node,
                       char *err, size_t errsz)
{
    const char *host = s;
    const char *colon;
    size_t host_len;
    bool v6 = len > 0 && s[0] == '[';

    if (v6) {
        const char *close = memchr(s, ']', len);

        if (close == NULL || close + 1 >= s + len || close[1] != ':') {
            snprintf(err, errsz, "\"%.*s\" must be [ipv6]:port", (int)len, s);
            return -1;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = memchr(s, ':', len);
        if (colon == NULL || memchr(colon + 1, ':', len - (size_t)(colon - s) -
                                                        1) != NULL) {
            snprintf(err, errsz,
                     "\"%.*s\" must be ip:port, with an IPv6 address in "
                     "brackets as in [::1]:26379",
                     (int)len, s);
            return -1;
        }
        host_len = (size_t)(colon - s);
    }
    if (host_len == 0 || host_len >= sizeof(node->host)) {
        snprintf(err, errsz, "\"%.*s\" has no valid address", (int)len, s);
        return -1;
    }
    memcpy(node->host, host, host_len);
    node->host[host_len] = '\0';
    if (!is_ip(node->host, v6)) {
        snprintf(err, errsz,
                 "\"%s\" is not an IP address (host names are not accepted "
                 "here, because resolving them would block)",
                 node->host);
        return -1;
    }
    if (parse_port(colon + 1, len - (size_t)(colon + 1 - s), &node->port) !=
        0) {
        snprintf(err, errsz, "the port in \"%.*s\" must be 1 to 65535",
                 (int)len, s);
        return -1;
    }
    return 0;
}

int hg_sentinel_list_parse(const char *s, hg_redis_node *out, int cap,
                           char *err, size_t errsz)
{
    int count = 0;

    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *start = s;

        while (len > 0 && (*start == ' ' || *start == '\t')) {
            start++;
            len--;
        }
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(err, errsz, "an entry is empty; list ip:port entries "
                                 "separated by commas");
            return -1;
        }
        if (count == cap) {
            snprintf(err, errsz, "lists more than %d Sentinels", cap);
            return -1;
        }
        if (parse_entry(start, len, &out[count], err, errsz) != 0)
            return -1;
        count++;
        if (comma == NULL)
            return count;
        s = comma + 1;
    }
}

int hg_sentinel_name_check(const char *name, char *err, size_t errsz)
{
    size_t len = strlen(name);

    if (len == 0 || len > 127) {
        snprintf(err, errsz, "must be 1 to 127 characters long");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (name[i] <= ' ' || name[i] > '~') {
            snprintf(err, errsz, "must be printable ASCII without blanks");
            return -1;
        }
    }
    return 0;
}

/* ---- lookup ------------------------------------------------------------- */

static void schedule_step(hg_sentinel_query *q)
{
    static const struct timeval now = {0, 0};

    evtimer_add(q->step, &now);
}

/* Forgets the current context and frees it. Its pending callback then runs
 * with a NULL reply and finds ac->data cleared. */
static void close_context(hg_sentinel_query *q)
{
    redisAsyncContext *ac = q->ac;

    if (ac == NULL)
        return;
    q->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

static void query_free(hg_sentinel_query *q)
{
    close_context(q);
    event_free(q->deadline);
    event_free(q->step);
    free(q);
}

/* Records why the current Sentinel gave no answer and moves on. */
static void sentinel_failed(hg_sentinel_query *q, const char *why)
{
    const hg_redis_node *s = &q->url.sentinels[q->next - 1];

    evtimer_del(q->deadline);
    snprintf(q->why, sizeof(q->why), "Sentinel %s%s%s:%d: %s",
             strchr(s->host, ':') ? "[" : "", s->host,
             strchr(s->host, ':') ? "]" : "", s->port, why);
    schedule_step(q);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    hg_sentinel_query *q = ac->data;

    if (q == NULL || ac != q->ac || status == REDIS_OK)
        return;
    /* hiredis frees the context after this callback returns. */
    q->ac = NULL;
    sentinel_failed(q, ac->errstr);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    hg_sentinel_query *q = ac->data;

    (void)status;
    if (q == NULL || ac != q->ac)
        return;
    q->ac = NULL;
    sentinel_failed(q, ac->errstr[0] ? ac->errstr : "connection closed");
}

/* Reads the reply: a two-element array of address and port, or nil when
 * this Sentinel does not monitor the name. */
static void on_answer(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    hg_sentinel_query *q = ac->data;
    redisReply *reply = reply_ptr;
    const redisReply *host;
    const redisReply *port;
    char why[200];

    (void)privdata;
    if (q == NULL || ac != q->ac || reply == NULL)
        return;
    close_context(q);
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "error reply: %.150s", reply->str);
        sentinel_failed(q, why);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        snprintf(why, sizeof(why), "does not monitor a master named \"%s\"",
                 q->url.master_name);
        sentinel_failed(q, why);
        return;
    }
    host = reply->element[0];
    port = reply->element[1];
    /* A NUL inside the host would cut it short as a C string. */
    if (host->type != REDIS_REPLY_STRING || port->type != REDIS_REPLY_STRING ||
        host->len == 0 || host->len >= sizeof(q->host) ||
        memchr(host->str, '\0', host->len) != NULL ||
        parse_port(port->str, port->len, &q->port) != 0) {
        sentinel_failed(q, "returned an address that is not host and port");
        return;
    }
    memcpy(q->host, host->str, host->len);
    q->host[host->len] = '\0';
    q->found = true;
    evtimer_del(q->deadline);
    schedule_step(q);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    hg_sentinel_query *q = arg;
    char why[64];

    (void)fd;
    (void)what;
    close_context(q);
    snprintf(why, sizeof(why), "no answer within %d ms", q->timeout_ms);
    sentinel_failed(q, why);
}

/* Connects to the next Sentinel and sends the question; returns false when
 * the context could not even be created. */
static bool ask_next(hg_sentinel_query *q)
{
    const hg_redis_node *s = &q->url.sentinels[q->next++];
    struct timeval tv = {q->timeout_ms / 1000, (q->timeout_ms % 1000) * 1000};
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);

    if (ac == NULL || ac->err) {
        sentinel_failed(q, ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        return false;
    }
    ac->data = q;
    q->ac = ac;
    redisLibeventAttach(ac, q->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (redisAsyncCommand(ac, on_answer, NULL,
                          "SENTINEL get-master-addr-by-name %s",
                          q->url.master_name) != REDIS_OK) {
        close_context(q);
        sentinel_failed(q, "cannot send the command");
        return false;
    }
    evtimer_add(q->deadline, &tv);
    return true;
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    hg_sentinel_query *q = arg;
    char why[sizeof(q->why) + 64];

    (void)fd;
    (void)what;
    if (q->found) {
        q->cb(q->host, q->port, NULL, q->arg);
        query_free(q);
        return;
    }
    if (q->next < q->url.sentinel_count) {
        /* A failure inside ask_next schedules this step again. */
        ask_next(q);
        return;
    }
    snprintf(why, sizeof(why), "no Sentinel named the primary; last: %s",
             q->why);
    q->cb(NULL, 0, why, q->arg);
    query_free(q);
}

hg_sentinel_query *hg_sentinel_query_start(struct event_base *base,
                                           const hg_redis_url *url,
                                           int timeout_ms, hg_sentinel_cb cb,
                                           void *arg)
{
    hg_sentinel_query *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->base = base;
    q->url = *url;
    /* Sentinels are queried without credentials; the password is for the
     * data nodes only and this copy need not keep it. */
    memset(q->url.password, 0, sizeof(q->url.password));
    q->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    q->cb = cb;
    q->arg = arg;
    snprintf(q->why, sizeof(q->why), "no Sentinel is configured");
    q->deadline = evtimer_new(base, on_deadline, q);
    q->step = evtimer_new(base, on_step, q);
    if (q->deadline == NULL || q->step == NULL) {
        if (q->deadline != NULL)
            event_free(q->deadline);
        if (q->step != NULL)
            event_free(q->step);
        free(q);
        return NULL;
    }
    schedule_step(q);
    return q;
}

void hg_sentinel_query_cancel(hg_sentinel_query *q)
{
    if (q != NULL)
        query_free(q);
}
