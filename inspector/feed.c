/* SPDX-License-Identifier: MIT
 *
 * The live feed: server-sent events backed by the activity stream. One
 * reader per process follows the stream with XREAD BLOCK and fans entries
 * out to the connected clients; the SSE id of each message is its stream
 * id. A client that reconnects with Last-Event-ID (or ?since=) first
 * catches up from Redis while live entries are held back for it, so it
 * gets no gap and no repeat; if entries after its id were already trimmed,
 * it gets a "reset" message and reloads. A client whose unsent output grows
 * past CLIENT_BUFFER_MAX is disconnected and resumes from its last id.
 */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "inspector/inspector.h"

/* glibc's sys/queue.h lacks the removal-safe iterator of the BSDs. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, next)                            \
    for ((var) = TAILQ_FIRST(head);                                           \
         (var) != NULL && ((next) = TAILQ_NEXT(var, field), 1);               \
         (var) = (next))
#endif

#define READ_BLOCK_MS 5000
#define READ_BATCH 500
#define CATCH_UP_BATCH 500
#define KEEPALIVE_S 15
#define CLIENT_BUFFER_MAX (1024 * 1024)
#define HELD_MAX 10000

typedef struct stream_id {
    uint64_t ms;
    uint64_t seq;
} stream_id;

typedef struct held_msg {
    stream_id id;
    char *text;
    size_t len;
} held_msg;

typedef struct feed_client {
    struct feed_hub *hub;
    hg_req *r;
    stream_id last;
    bool catching_up;
    bool fetching;
    bool closed;
    bool dropping;     /* a close is scheduled; nothing more is sent */
    struct event *drop_ev;
    held_msg *held;
    int held_count;
    TAILQ_ENTRY(feed_client) link;
} feed_client;

TAILQ_HEAD(client_list, feed_client);

struct feed_hub {
    inspector *in;
    stream_id last;
    bool started;
    bool reading;
    bool stopping;
    struct client_list clients;
    int count;
    struct event *keepalive;
    struct event *retry;
};

static void hub_read(struct feed_hub *hub);
static void fetch_since(feed_client *c);

/* ---- stream ids -------------------------------------------------------- */

static bool parse_id(const char *s, stream_id *out)
{
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    out->ms = strtoull(s, &end, 10);
    if (*end == '\0') {
        out->seq = 0;
        return true;
    }
    if (*end != '-' || end[1] < '0' || end[1] > '9')
        return false;
    out->seq = strtoull(end + 1, &end, 10);
    return *end == '\0';
}

static bool id_after(stream_id a, stream_id b)
{
    return a.ms > b.ms || (a.ms == b.ms && a.seq > b.seq);
}

static char *format_id(stream_id id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
    return buf;
}

/* ---- messages -------------------------------------------------------- */

typedef struct entry_view {
    const char *id;
    const char *integration;
    const char *sink;
    const char *json;
    size_t json_len;
} entry_view;

static bool read_entry(const redisReply *entry, entry_view *v)
{
    const redisReply *fields = hg_reply_elem(entry, 1);

    memset(v, 0, sizeof(*v));
    v->id = hg_reply_str(entry, 0, NULL);
    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);
        size_t len;
        const char *val = hg_reply_str(fields, i + 1, &len);

        if (k == NULL || val == NULL)
            continue;
        if (strcmp(k, "i") == 0) {
            v->integration = val;
        } else if (strcmp(k, "s") == 0) {
            v->sink = val;
        } else if (strcmp(k, "j") == 0) {
            v->json = val;
            v->json_len = len;
        }
    }
    return v->id != NULL && v->json != NULL;
}

static bool visible(const feed_client *c, const entry_view *v)
{
    if (c->r == NULL)
        return false;
    if (v->sink != NULL)
        return insp_may_see_sink(c->r, v->sink);
    return insp_may_see(c->r, v->integration);
}

/* Formats one SSE message; a record never contains a newline, but each
 * line would need its own "data:" field if it did. */
static char *format_message(const entry_view *v, size_t *len)
{
    char *text = NULL;
    int n = asprintf(&text, "id: %s\ndata: %.*s\n\n", v->id,
                     (int)v->json_len, v->json);

    if (n < 0)
        return NULL;
    for (char *p = text + strlen(v->id) + 11; p < text + n - 2; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    *len = (size_t)n;
    return text;
}

/* ---- clients --------------------------------------------------------- */

static void client_free(feed_client *c)
{
    for (int i = 0; i < c->held_count; i++)
        free(c->held[i].text);
    free(c->held);
    if (c->drop_ev != NULL)
        event_free(c->drop_ev);
    free(c);
}

static void on_drop(evutil_socket_t fd, short what, void *arg)
{
    feed_client *c = arg;

    (void)fd;
    (void)what;
    /* Frees the request; its close hook unlinks (and may free) c. */
    if (c->r != NULL && c->r->req != NULL)
        evhtp_connection_free(c->r->req->conn);
}

/* Schedules closing the client's connection on the next loop turn: the
 * caller may be iterating over clients or over a Redis reply for it, so
 * nothing is freed here. */
static void client_drop(feed_client *c, const char *why)
{
    static const struct timeval now = {0, 0};
    hg_log_fields f = {.correlation_id = c->r ? c->r->request_id : NULL,
                       .error = why};

    if (c->dropping || c->closed)
        return;
    hg_info(&f, "closing a live feed client");
    c->dropping = true;
    c->drop_ev = evtimer_new(c->hub->in->base, on_drop, c);
    evtimer_add(c->drop_ev, &now);
}

/* Writes text to the client; drops the client when its output backs up. */
static void client_send(feed_client *c, const char *text, size_t len)
{
    long pending;

    if (c->closed || c->dropping || c->r == NULL)
        return;
    pending = hg_stream_write(c->r, text, len);
    if (pending > CLIENT_BUFFER_MAX)
        client_drop(c, "the client reads too slowly");
}

static void client_deliver(feed_client *c, const entry_view *v)
{
    stream_id id;
    char *text;
    size_t len;

    if (!parse_id(v->id, &id) || !id_after(id, c->last))
        return;
    c->last = id;
    if (!visible(c, v))
        return;
    text = format_message(v, &len);
    if (text == NULL)
        return;
    client_send(c, text, len);
    free(text);
}

static void client_hold(feed_client *c, const entry_view *v)
{
    held_msg *m;
    stream_id id;

    if (!parse_id(v->id, &id) || !visible(c, v))
        return;
    if (c->held_count >= HELD_MAX) {
        client_drop(c, "too many messages arrived while catching up");
        return;
    }
    if (c->held == NULL) {
        c->held = calloc(HELD_MAX, sizeof(*c->held));
        if (c->held == NULL)
            return;
    }
    m = &c->held[c->held_count];
    m->text = format_message(v, &m->len);
    if (m->text == NULL)
        return;
    m->id = id;
    c->held_count++;
}

/* Ends the catch-up: sends what arrived live meanwhile and is newer. */
static void client_go_live(feed_client *c)
{
    c->catching_up = false;
    for (int i = 0; i < c->held_count; i++) {
        held_msg *m = &c->held[i];

        if (!c->dropping && id_after(m->id, c->last)) {
            c->last = m->id;
            client_send(c, m->text, m->len);
        }
        free(m->text);
    }
    c->held_count = 0;
}

static void on_since(hg_redis_status status, redisReply *reply, void *arg)
{
    feed_client *c = arg;
    const char *result = hg_reply_str(reply, 0, NULL);
    const redisReply *entries = hg_reply_elem(reply, 1);
    entry_view v;

    c->fetching = false;
    if (c->closed) {
        client_free(c);
        return;
    }
    if (c->dropping)
        return;
    if (status != HG_REDIS_OK || result == NULL) {
        client_drop(c, "catching up from Redis failed");
        return;
    }
    if (strcmp(result, "reset") == 0) {
        static const char reset[] = "event: reset\ndata: {}\n\n";

        client_send(c, reset, sizeof(reset) - 1);
        c->last = c->hub->last;
        client_go_live(c);
        return;
    }
    for (size_t i = 0; entries && i < entries->elements; i++) {
        if (read_entry(hg_reply_elem(entries, i), &v))
            client_deliver(c, &v);
    }
    if (c->dropping)
        return;
    if (entries != NULL && entries->elements >= CATCH_UP_BATCH)
        fetch_since(c);
    else
        client_go_live(c);
}

static void fetch_since(feed_client *c)
{
    char from[48], count[16];
    const char *argv[] = {HG_KEY_ACTIVITY, format_id(c->last, from,
                                                     sizeof(from)),
                          count};

    snprintf(count, sizeof(count), "%d", CATCH_UP_BATCH);
    c->fetching = true;
    hg_redis_eval(c->hub->in->redis, &hg_script_feed_since, 0, on_since, c, 1,
                  3, argv, NULL);
}

static void on_client_close(hg_req *r)
{
    feed_client *c = r->data;

    if (c == NULL || c->closed)
        return;
    c->closed = true;
    TAILQ_REMOVE(&c->hub->clients, c, link);
    c->hub->count--;
    r->data = NULL;
    c->r = NULL;
    hg_req_release(r);
    if (!c->fetching)
        client_free(c);
}

static void start_stream(hg_req *r)
{
    struct feed_hub *hub = insp->feed;
    const char *since = hg_req_header(r, "Last-Event-ID");
    feed_client *c = calloc(1, sizeof(*c));
    static const char hello[] = "retry: 2000\n: connected\n\n";

    if (since == NULL)
        since = hg_req_query(r, "since");
    if (c == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (since != NULL && !parse_id(since, &c->last)) {
        free(c);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "Last-Event-ID must be a stream id such as "
                         "1700000000000-0");
        return;
    }

    c->hub = hub;
    c->r = r;
    r->data = c;
    r->on_close = on_client_close;
    hg_req_hold(r);
    TAILQ_INSERT_TAIL(&hub->clients, c, link);
    hub->count++;

    hg_reply_header(r, "Cache-Control", "no-cache");
    hg_reply_header(r, "X-Accel-Buffering", "no");
    hg_stream_start(r, 200, "text/event-stream");
    client_send(c, hello, sizeof(hello) - 1);
    if (since != NULL) {
        c->catching_up = true;
        fetch_since(c);
    } else {
        c->last = hub->last;
    }
}

void insp_feed(hg_req *r)
{
    insp_authorize(r, start_stream);
}

int feed_hub_clients(const struct feed_hub *hub)
{
    return hub->count;
}

/* ---- the shared reader --------------------------------------------------- */

static void hub_dispatch(struct feed_hub *hub, const redisReply *entries)
{
    entry_view v;
    feed_client *c, *tmp;

    for (size_t i = 0; entries && i < entries->elements; i++) {
        if (!read_entry(hg_reply_elem(entries, i), &v))
            continue;
        parse_id(v.id, &hub->last);
        TAILQ_FOREACH_SAFE(c, &hub->clients, link, tmp) {
            if (c->catching_up)
                client_hold(c, &v);
            else
                client_deliver(c, &v);
        }
    }
}

static void retry_later(struct feed_hub *hub)
{
    struct timeval tv = {0, 500 * 1000};

    evtimer_add(hub->retry, &tv);
}

static void on_hub_read(hg_redis_status status, redisReply *reply, void *arg)
{
    struct feed_hub *hub = arg;

    hub->reading = false;
    if (hub->stopping)
        return;
    if (status != HG_REDIS_OK || reply->type == REDIS_REPLY_ERROR) {
        retry_later(hub);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY)
        hub_dispatch(hub, hg_reply_elem(hg_reply_elem(reply, 0), 1));
    hub_read(hub);
}

static void on_hub_start(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    struct feed_hub *hub = arg;
    const char *id = hg_reply_str(hg_reply_elem(reply, 0), 0, NULL);

    hub->reading = false;
    if (hub->stopping)
        return;
    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
        retry_later(hub);
        return;
    }
    if (id != NULL)
        parse_id(id, &hub->last);
    hub->started = true;
    hub_read(hub);
}

static void hub_read(struct feed_hub *hub)
{
    char from[48], block[16], count[16];

    if (hub->reading)
        return;
    hub->reading = true;
    if (!hub->started) {
        /* Start after the newest entry: older ones come from the API. */
        hg_redis_command(hub->in->feed_redis, 0, on_hub_start, hub,
                         "XREVRANGE %s + - COUNT 1", HG_KEY_ACTIVITY);
        return;
    }
    snprintf(block, sizeof(block), "%d", READ_BLOCK_MS);
    snprintf(count, sizeof(count), "%d", READ_BATCH);
    const char *argv[] = {"XREAD",   "COUNT",         count,
                          "BLOCK",   block,           "STREAMS",
                          HG_KEY_ACTIVITY, format_id(hub->last, from,
                                                     sizeof(from))};
    hg_redis_command_argv(hub->in->feed_redis,
                          READ_BLOCK_MS + hub->in->cfg->redis_timeout_ms,
                          on_hub_read, hub, 8, argv, NULL);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hub_read(arg);
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct feed_hub *hub = arg;
    static const char ping[] = ": keepalive\n\n";
    feed_client *c, *tmp;

    (void)fd;
    (void)what;
    TAILQ_FOREACH_SAFE(c, &hub->clients, link, tmp)
        client_send(c, ping, sizeof(ping) - 1);
}

struct feed_hub *feed_hub_new(inspector *in)
{
    struct feed_hub *hub = calloc(1, sizeof(*hub));
    struct timeval every = {KEEPALIVE_S, 0};

    if (hub == NULL)
        return NULL;
    hub->in = in;
    TAILQ_INIT(&hub->clients);
    hub->retry = evtimer_new(in->base, on_retry, hub);
    hub->keepalive = event_new(in->base, -1, EV_PERSIST, on_keepalive, hub);
    event_add(hub->keepalive, &every);
    hub_read(hub);
    return hub;
}

void feed_hub_stop(struct feed_hub *hub)
{
    if (hub != NULL)
        hub->stopping = true;
}

void feed_hub_free(struct feed_hub *hub)
{
    feed_client *c;

    if (hub == NULL)
        return;
    while ((c = TAILQ_FIRST(&hub->clients)) != NULL) {
        TAILQ_REMOVE(&hub->clients, c, link);
        if (c->r != NULL) {
            c->r->data = NULL;
            c->r->on_close = NULL;
        }
        if (!c->fetching)
            client_free(c);
        else
            c->closed = true;
    }
    event_free(hub->retry);
    event_free(hub->keepalive);
    free(hub);
}
