/* SPDX-License-Identifier: MIT
 *
 * The live feed: server-sent events backed by the activity stream. One
 * reader per process follows the stream with XREAD BLOCK and fans entries
 * out to the connected clients; the SSE id of each message is its stream
 * id. A client that reconnects with Last-Event-ID (or ?since=) first
 * catches up from Redis while live entries are held back for it, so it
 * gets no gap and no repeat; if entries after its id were already trimmed,
 * or its id is newer than any the stream generated, it gets a "reset"
 * message and reloads. A client whose unsent output grows past
 * HOOKGATE_FEED_CLIENT_BUFFER_BYTES is disconnected and resumes from its
 * last id. At most HOOKGATE_FEED_MAX_CLIENTS clients are served at once.
 *
 * Each distinct credential of the open streams is resolved again every
 * RECHECK_INTERVAL_MS, once for all its streams, and its streams end with
 * a "signed-out" message when it is no longer valid. The same per-
 * credential record contains a token bucket that limits stream opens, and
 * catch-up reads share CATCH_UP_READS_MAX slots per process, so a
 * reconnect storm cannot fill the Redis command queue.
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <time.h>

#include "common/clock.h"
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
/* A catch-up pauses while the client's unsent output is over half the
 * buffer limit, and checks it again every CATCH_UP_PACE_MS. Without this,
 * Redis outruns the client, which is dropped before it catches up. */
#define CATCH_UP_PACE_MS 10
/* Open files kept for everything but feed clients: Redis connections, the
 * listening socket, API and sink requests, static files. */
#define FD_RESERVE 256
/* Upper bound of the derived client limit (HOOKGATE_FEED_MAX_CLIENTS=0).
 * An idle client costs about 6 KiB of RSS (measured with 500 clients by
 * tests/integration/inspector-feed.test.js, normal build), and a slow one
 * up to the output buffer limit more. */
#define DEFAULT_MAX_CLIENTS 10000
/* Retry-After (seconds) of the 503 sent past the client limit. */
#define BUSY_RETRY_AFTER "5"
/* Seconds between two log lines about clients rejected for the limit. */
#define BUSY_LOG_INTERVAL_S 10
/* Catch-up reads (feed_since.lua) in flight at once per process; more
 * wait in a queue served in order. */
#define CATCH_UP_READS_MAX 16
/* Clients catching up (reading or waiting) per process; a resuming client
 * beyond it gets 503 with Retry-After CATCH_UP_RETRY_AFTER seconds. */
#define CATCH_UP_CLIENTS_MAX 256
#define CATCH_UP_RETRY_AFTER "2"
/* Stream opens per credential other than the admin key: a token bucket of
 * OPEN_BURST opens that refills OPEN_PER_S opens a second. A browser tab reconnects once every
 * 2 s at most (the "retry:" below), so ten tabs fit. */
#define OPEN_BURST 20.0
#define OPEN_PER_S 2.0
/* Each credential of an open stream is resolved again this often. */
#define RECHECK_INTERVAL_MS 5000
/* Period of the timer that starts due re-checks, frees idle credential
 * records and writes the summary of suppressed close lines. */
#define TICK_MS 500
/* Re-checks started per tick, so that the feed sends Redis about
 * 2 * RECHECK_PER_TICK credential lookups a second at most. */
#define RECHECK_PER_TICK 200
/* Credential records kept (hash table of CRED_BUCKETS chains). A record
 * lives while it has streams or its bucket is not yet full again. */
#define CRED_BUCKETS 4096
#define CREDS_MAX 65536
/* "closing a live feed client" is logged at INFO at most CLOSE_LOG_BURST
 * times per CLOSE_LOG_WINDOW_S, then at DEBUG with a count at INFO. */
#define CLOSE_LOG_BURST 20
#define CLOSE_LOG_WINDOW_S 10

/* The "status" messages: whether the shared reader can read the activity
 * stream. */
#define STATUS_DOWN "event: status\ndata: {\"redis\":\"unavailable\"}\n\n"
#define STATUS_UP "event: status\ndata: {\"redis\":\"ok\"}\n\n"

typedef insp_stream_id stream_id;

typedef struct held_msg {
    stream_id id;
    char *text;
    size_t len;
} held_msg;

/* A credential used by feed clients, keyed by kind and token hash. */
typedef struct feed_cred {
    struct feed_hub *hub;
    insp_credential cred;
    int clients;         /* open streams that use it */
    double tokens;       /* stream opens left in the bucket */
    int64_t refilled_ms; /* monotonic time of the last refill */
    int64_t next_check_ms;
    bool checking; /* a re-check is in flight and points to this record */
    LIST_ENTRY(feed_cred) link;
} feed_cred;

LIST_HEAD(cred_chain, feed_cred);

typedef struct feed_client {
    struct feed_hub *hub;
    hg_req *r;
    feed_cred *cred;
    stream_id last;
    bool catching_up;
    bool fetching;
    bool closed;
    bool dropping;     /* a close is scheduled; nothing more is sent */
    bool waiting;      /* queued for a catch-up read slot */
    struct event *drop_ev;
    struct event *pace_ev; /* waits for output to drain while catching up */
    /* Entries per catch-up read: cut to what the client took when its
     * output backed up, doubled (up to CATCH_UP_BATCH) when it took all. */
    int batch;
    /* Live messages that arrived while catching up, oldest first. Their
     * text counts against the same byte limit as unsent output. */
    held_msg *held;
    size_t held_count;
    size_t held_cap;
    size_t held_bytes;
    TAILQ_ENTRY(feed_client) link;
    TAILQ_ENTRY(feed_client) wait_link;
} feed_client;

TAILQ_HEAD(client_list, feed_client);

struct feed_hub {
    inspector *in;
    stream_id last;
    bool started;
    bool reading;
    bool stopping;
    /* False while the shared reader's reads fail; the clients get a
     * "status" message at each change. */
    bool redis_down;
    struct client_list clients;
    int count;
    int max_clients;
    size_t buffer_max; /* bytes of unsent or held output per client */
    long long rejected; /* clients turned away for the limit, not yet logged */
    long long rate_limited; /* opens rejected with 429, not yet logged */
    long long catch_up_rejected; /* resuming opens rejected with 503 */
    time_t rejected_logged;
    struct event *keepalive;
    struct event *retry;
    /* Catch-up reads in flight, clients catching up, and the clients
     * waiting for a read slot, first come first served. */
    int catch_up_reads;
    int catch_up_clients;
    struct client_list waiting;
    struct event *pump;
    struct cred_chain creds[CRED_BUCKETS];
    int cred_count;
    unsigned check_cursor; /* chain where the next tick starts re-checks */
    struct event *tick;
    /* Rate limit of "closing a live feed client" lines. */
    time_t close_window;
    int close_logged;
    long long close_suppressed;
};

static void hub_read(struct feed_hub *hub);
static void fetch_since(feed_client *c);
static void fetch_more(feed_client *c);
static bool output_backed_up(feed_client *c);
static void read_since(feed_client *c);

/* ---- stream ids -------------------------------------------------------- */

/* Reads one decimal part of a stream id, at least one digit, and returns
 * the text after it, or NULL when it has no digit or exceeds UINT64_MAX. */
static const char *parse_id_part(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - digit) / 10)
            return NULL;
        v = v * 10 + digit;
    }
    if (p == s)
        return NULL;
    *out = v;
    return p;
}

bool insp_stream_id_parse(const char *s, insp_stream_id *out)
{
    insp_stream_id id = {0, 0};
    const char *end;

    if (s == NULL || (end = parse_id_part(s, &id.ms)) == NULL)
        return false;
    /* "<ms>" means "<ms>-0", as in XREAD. */
    if (*end == '-' && (end = parse_id_part(end + 1, &id.seq)) == NULL)
        return false;
    if (*end != '\0')
        return false;
    *out = id;
    return true;
}

bool insp_feed_resume_point(const char *last_event_id, const char *since,
                            bool *resume, insp_stream_id *out)
{
    /* An SSE client whose last event id is empty sends none; an empty
     * header or ?since= counts as none too. */
    const char *id = last_event_id != NULL && last_event_id[0] != '\0'
                         ? last_event_id
                         : since;

    *resume = id != NULL && id[0] != '\0';
    return !*resume || insp_stream_id_parse(id, out);
}

static bool id_after(stream_id a, stream_id b)
{
    return a.ms > b.ms || (a.ms == b.ms && a.seq > b.seq);
}

char *insp_stream_id_format(insp_stream_id id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
    return buf;
}

/* ---- messages -------------------------------------------------------- */

typedef struct entry_view {
    const char *id;
    stream_id sid;
    const char *integration;
    const char *sink;
    const char *json;
    size_t json_len;
    /* The SSE message, formatted once on first use and shared by every
     * client the entry goes to; owned by the view. */
    char *text;
    size_t text_len;
    bool text_failed;
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
    return v->id != NULL && v->json != NULL &&
           insp_stream_id_parse(v->id, &v->sid);
}

/* Reads the stream id of an entry, also of one read_entry() rejects. */
static bool entry_id(const redisReply *entry, stream_id *id)
{
    const char *text = hg_reply_str(entry, 0, NULL);

    return text != NULL && insp_stream_id_parse(text, id);
}

static bool visible(const feed_client *c, const entry_view *v)
{
    if (c->r == NULL)
        return false;
    if (v->sink != NULL)
        return insp_may_see_sink(c->r, v->sink);
    return insp_may_see(c->r, v->integration);
}

/* Returns a sink capture's record with the members every feed message
 * has, for records stored under the sink's name ("s") that lack them:
 * integration_id (the sink's name, which is its integration's) and
 * event_id (the capture's webhook-id, which is the event id, or null).
 * Returns NULL when the record is not a JSON object. */
static char *complete_capture(const entry_view *v)
{
    json_t *o = json_loadb(v->json, v->json_len, 0, NULL);
    char *text = NULL;

    if (json_is_object(o)) {
        json_t *webhook_id = json_object_get(o, "webhook_id");

        if (json_object_get(o, "integration_id") == NULL)
            json_object_set_new(o, "integration_id", json_string(v->sink));
        if (json_object_get(o, "event_id") == NULL)
            json_object_set_new(o, "event_id",
                                webhook_id ? json_incref(webhook_id)
                                           : json_null());
        text = json_dumps(o, JSON_COMPACT);
    }
    json_decref(o);
    return text;
}

/* Formats the entry's SSE message into v->text once. A record never
 * contains a newline, but each line would need its own "data:" field if
 * it did, so any is replaced by a space. */
static bool entry_message(entry_view *v)
{
    char *capture = NULL;
    const char *json = v->json;
    size_t json_len = v->json_len;
    size_t head;
    int n;

    if (v->text != NULL || v->text_failed)
        return v->text != NULL;
    if (v->sink != NULL && (capture = complete_capture(v)) != NULL) {
        json = capture;
        json_len = strlen(capture);
    }
    n = asprintf(&v->text, "id: %s\ndata: %.*s\n\n", v->id, (int)json_len,
                 json);
    free(capture);
    if (n < 0) {
        v->text = NULL;
        v->text_failed = true;
        return false;
    }
    head = strlen(v->id) + 11;
    for (char *p = v->text + head; p < v->text + n - 2; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    v->text_len = (size_t)n;
    return true;
}

/* ---- clients --------------------------------------------------------- */

static void held_clear(feed_client *c)
{
    for (size_t i = 0; i < c->held_count; i++)
        free(c->held[i].text);
    free(c->held);
    c->held = NULL;
    c->held_count = 0;
    c->held_cap = 0;
    c->held_bytes = 0;
}

static void client_free(feed_client *c)
{
    held_clear(c);
    if (c->drop_ev != NULL)
        event_free(c->drop_ev);
    if (c->pace_ev != NULL)
        event_free(c->pace_ev);
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

/* Writes the counts of log lines held back since the last report, at most
 * once every CLOSE_LOG_WINDOW_S. */
static void flush_log_counts(struct feed_hub *hub, time_t now)
{
    if (now - hub->close_window < CLOSE_LOG_WINDOW_S)
        return;
    if (hub->close_suppressed > 0)
        hg_info(NULL,
                "closed %lld more live feed clients in the last %d s; "
                "each close past %d per %d s is logged at DEBUG only",
                hub->close_suppressed, CLOSE_LOG_WINDOW_S, CLOSE_LOG_BURST,
                CLOSE_LOG_WINDOW_S);
    if (hub->rate_limited > 0)
        hg_warn(NULL,
                "rejected %lld live feed stream opens with 429 in the last "
                "%d s: a credential opened more than %g at once or %g a "
                "second",
                hub->rate_limited, CLOSE_LOG_WINDOW_S, OPEN_BURST, OPEN_PER_S);
    if (hub->catch_up_rejected > 0)
        hg_warn(NULL,
                "rejected %lld resuming live feed clients with 503 in the "
                "last %d s: %d clients were already catching up",
                hub->catch_up_rejected, CLOSE_LOG_WINDOW_S,
                CATCH_UP_CLIENTS_MAX);
    hub->catch_up_rejected = 0;
    hub->close_window = now;
    hub->close_logged = 0;
    hub->close_suppressed = 0;
    hub->rate_limited = 0;
}

static void log_close(feed_client *c, const char *why)
{
    struct feed_hub *hub = c->hub;
    char last[48];
    hg_log_fields f = {.correlation_id = c->r ? c->r->request_id : NULL,
                       .error = why};

    flush_log_counts(hub, time(NULL));
    insp_stream_id_format(c->last, last, sizeof(last));
    if (hub->close_logged < CLOSE_LOG_BURST) {
        hub->close_logged++;
        hg_info(&f, "closing a live feed client after id %s", last);
    } else {
        hub->close_suppressed++;
        hg_debug(&f, "closing a live feed client after id %s", last);
    }
}

/* Schedules closing the client's connection on the next loop turn: the
 * caller may be iterating over clients or over a Redis reply for it, so
 * nothing is freed here. */
static void client_drop(feed_client *c, const char *why)
{
    static const struct timeval now = {0, 0};

    if (c->dropping || c->closed)
        return;
    log_close(c, why);
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
    if (pending > (long)c->hub->buffer_max)
        client_drop(c, "the client reads too slowly: its unsent output "
                       "passed HOOKGATE_FEED_CLIENT_BUFFER_BYTES");
}

/* Sends a "signed-out" message and ends the response, which closes the
 * connection once the output is sent. reason is a word from
 * credential_resolve.lua or "signed_out". */
static void client_sign_out(feed_client *c, const char *reason)
{
    char text[128];
    char why[96];
    int n;

    if (c->closed || c->dropping || c->r == NULL)
        return;
    if (strpbrk(reason, "\"\\\n") != NULL || strlen(reason) > 32)
        reason = "unknown";
    n = snprintf(text, sizeof(text),
                 "event: signed-out\ndata: {\"reason\":\"%s\"}\n\n",
                 reason);
    client_send(c, text, (size_t)n);
    if (c->dropping)
        return;
    snprintf(why, sizeof(why), "the credential is no longer valid: %s",
             reason);
    log_close(c, why);
    c->dropping = true;
    hg_stream_end(c->r);
}

static void client_deliver(feed_client *c, entry_view *v)
{
    if (!id_after(v->sid, c->last))
        return;
    c->last = v->sid;
    if (!visible(c, v) || !entry_message(v))
        return;
    client_send(c, v->text, v->text_len);
}

/* Keeps a live message for a client that is still catching up. */
static void client_hold(feed_client *c, entry_view *v)
{
    held_msg *m;

    if (c->dropping || !visible(c, v) || !entry_message(v))
        return;
    if (c->held_bytes + v->text_len > c->hub->buffer_max) {
        client_drop(c, "too many messages arrived while catching up: they "
                       "passed HOOKGATE_FEED_CLIENT_BUFFER_BYTES");
        return;
    }
    if (c->held_count == c->held_cap) {
        size_t cap = c->held_cap ? c->held_cap * 2 : 16;
        held_msg *grown = realloc(c->held, cap * sizeof(*grown));

        if (grown == NULL) {
            client_drop(c, "out of memory");
            return;
        }
        c->held = grown;
        c->held_cap = cap;
    }
    m = &c->held[c->held_count];
    m->text = malloc(v->text_len);
    if (m->text == NULL) {
        client_drop(c, "out of memory");
        return;
    }
    memcpy(m->text, v->text, v->text_len);
    m->len = v->text_len;
    m->id = v->sid;
    c->held_count++;
    c->held_bytes += v->text_len;
}

static void catch_up_end(feed_client *c)
{
    if (c->catching_up) {
        c->catching_up = false;
        c->hub->catch_up_clients--;
    }
}

/* Ends the catch-up: sends what arrived live meanwhile and is newer. */
static void client_go_live(feed_client *c)
{
    catch_up_end(c);
    for (size_t i = 0; i < c->held_count; i++) {
        held_msg *m = &c->held[i];

        if (!c->dropping && id_after(m->id, c->last)) {
            c->last = m->id;
            client_send(c, m->text, m->len);
        }
    }
    held_clear(c);
}

/* Tells the client that entries after its id are gone, so it must reload
 * (GET /inspector/api/activity). The feed goes on after newest, which is
 * also the message's id, so a later reconnection resumes from there. */
static void client_reset(feed_client *c, const char *newest)
{
    char text[160];
    int n = snprintf(text, sizeof(text),
                     "event: reset\nid: %s\ndata: {\"last_id\":\"%s\"}\n\n",
                     newest, newest);

    if (n > 0 && (size_t)n < sizeof(text))
        client_send(c, text, (size_t)n);
}

static void on_since(hg_redis_status status, redisReply *reply, void *arg)
{
    feed_client *c = arg;
    struct feed_hub *hub = c->hub;
    const char *result = hg_reply_str(reply, 0, NULL);
    const redisReply *entries = hg_reply_elem(reply, 1);
    entry_view v;

    c->fetching = false;
    hub->catch_up_reads--;
    if (!TAILQ_EMPTY(&hub->waiting)) {
        static const struct timeval now = {0, 0};

        evtimer_add(hub->pump, &now);
    }
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
        const char *newest = hg_reply_str(reply, 1, NULL);
        stream_id id;

        if (newest == NULL || !insp_stream_id_parse(newest, &id)) {
            client_drop(c, "the catch-up script returned no stream id");
            return;
        }
        client_reset(c, newest);
        c->last = id;
        client_go_live(c);
        return;
    }
    for (size_t i = 0; entries && i < entries->elements; i++) {
        const redisReply *entry = hg_reply_elem(entries, i);
        stream_id id;

        if (read_entry(entry, &v))
            client_deliver(c, &v);
        else if (entry_id(entry, &id) && id_after(id, c->last))
            c->last = id; /* skipped, so the next batch starts after it */
        free(v.text);
        /* The rest of the batch is read again once the output drained,
         * so a client that reads is never dropped while catching up. */
        if (i + 1 < entries->elements && output_backed_up(c)) {
            c->batch = i + 1 < 10 ? 10 : (int)(i + 1);
            fetch_more(c);
            return;
        }
    }
    if (c->dropping)
        return;
    if (entries != NULL && entries->elements >= (size_t)c->batch) {
        c->batch = c->batch * 2 > CATCH_UP_BATCH ? CATCH_UP_BATCH
                                                 : c->batch * 2;
        fetch_more(c);
    } else {
        client_go_live(c);
    }
}

/* True when the client's unsent output is over half the buffer limit. */
static bool output_backed_up(feed_client *c)
{
    if (c->closed || c->r == NULL)
        return false;
    return hg_stream_write(c->r, NULL, 0) > (long)(c->hub->buffer_max / 2);
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetch_more(arg);
}

/* Reads the next catch-up batch once the client's output has drained
 * below half the buffer limit. */
static void fetch_more(feed_client *c)
{
    struct timeval wait = {0, CATCH_UP_PACE_MS * 1000};

    if (c->closed || c->dropping || c->r == NULL)
        return;
    if (output_backed_up(c)) {
        if (c->pace_ev == NULL)
            c->pace_ev = evtimer_new(c->hub->in->base, on_pace, c);
        if (c->pace_ev == NULL) {
            client_drop(c, "out of memory");
            return;
        }
        evtimer_add(c->pace_ev, &wait);
        return;
    }
    fetch_since(c);
}

/* Starts a catch-up read now if a slot is free and nobody waits for one,
 * or else queues the client. */
static void fetch_since(feed_client *c)
{
    struct feed_hub *hub = c->hub;

    if (hub->catch_up_reads < CATCH_UP_READS_MAX &&
        TAILQ_EMPTY(&hub->waiting)) {
        read_since(c);
    } else if (!c->waiting) {
        c->waiting = true;
        TAILQ_INSERT_TAIL(&hub->waiting, c, wait_link);
    }
}

/* Gives free catch-up read slots to the waiting clients, in order. */
static void on_pump(evutil_socket_t fd, short what, void *arg)
{
    struct feed_hub *hub = arg;
    feed_client *c;

    (void)fd;
    (void)what;
    while (hub->catch_up_reads < CATCH_UP_READS_MAX &&
           (c = TAILQ_FIRST(&hub->waiting)) != NULL) {
        TAILQ_REMOVE(&hub->waiting, c, wait_link);
        c->waiting = false;
        if (c->dropping || c->r == NULL)
            continue;
        if (output_backed_up(c))
            fetch_more(c); /* waits for the output, then queues again */
        else
            read_since(c);
    }
}

static void read_since(feed_client *c)
{
    char from[48], count[16];
    const char *argv[] = {HG_KEY_ACTIVITY,
                          insp_stream_id_format(c->last, from, sizeof(from)),
                          count};

    snprintf(count, sizeof(count), "%d", c->batch);
    c->fetching = true;
    c->hub->catch_up_reads++;
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
    if (c->waiting) {
        TAILQ_REMOVE(&c->hub->waiting, c, wait_link);
        c->waiting = false;
    }
    catch_up_end(c);
    if (c->cred != NULL)
        c->cred->clients--;
    r->data = NULL;
    c->r = NULL;
    hg_req_release(r);
    if (!c->fetching)
        client_free(c);
}

/* Sends 503 to a client beyond HOOKGATE_FEED_MAX_CLIENTS, and logs the
 * number of such clients at most every BUSY_LOG_INTERVAL_S seconds. */
static void reject_busy(struct feed_hub *hub, hg_req *r)
{
    time_t now = time(NULL);

    hub->rejected++;
    if (now - hub->rejected_logged >= BUSY_LOG_INTERVAL_S) {
        hg_log_fields f = {.correlation_id = r->request_id};

        hg_warn(&f,
                "live feed at its limit of %d clients "
                "(HOOKGATE_FEED_MAX_CLIENTS): rejected %lld client(s) with "
                "503 since the last report",
                hub->max_clients, hub->rejected);
        hub->rejected = 0;
        hub->rejected_logged = now;
    }
    hg_reply_header(r, "Retry-After", BUSY_RETRY_AFTER);
    hg_reply_problem(r, HG_E_UNAVAILABLE,
                     "the live feed already serves its maximum of %d "
                     "clients; retry after %s seconds",
                     hub->max_clients, BUSY_RETRY_AFTER);
}

/* ---- credentials ------------------------------------------------------ */

static unsigned cred_chain_of(const char *sha256)
{
    char head[4] = {sha256[0], sha256[0] ? sha256[1] : 0,
                    sha256[0] && sha256[1] ? sha256[2] : 0, 0};

    return (unsigned)strtoul(head, NULL, 16) % CRED_BUCKETS;
}

static feed_cred *cred_find(struct feed_hub *hub, insp_credential_kind kind,
                            const char *sha256)
{
    feed_cred *fc;

    LIST_FOREACH(fc, &hub->creds[cred_chain_of(sha256)], link) {
        if (fc->cred.kind == kind && strcmp(fc->cred.sha256, sha256) == 0)
            return fc;
    }
    return NULL;
}

static void cred_refill(feed_cred *fc, int64_t now)
{
    fc->tokens += (double)(now - fc->refilled_ms) * OPEN_PER_S / 1000.0;
    if (fc->tokens > OPEN_BURST)
        fc->tokens = OPEN_BURST;
    fc->refilled_ms = now;
}

/* Frees the records without streams, re-check or used-up opens. */
static void creds_collect(struct feed_hub *hub, int64_t now)
{
    for (size_t i = 0; i < CRED_BUCKETS; i++) {
        feed_cred *fc = LIST_FIRST(&hub->creds[i]);

        while (fc != NULL) {
            feed_cred *next = LIST_NEXT(fc, link);

            cred_refill(fc, now);
            if (fc->clients == 0 && !fc->checking &&
                fc->tokens >= OPEN_BURST) {
                LIST_REMOVE(fc, link);
                hub->cred_count--;
                free(fc);
            }
            fc = next;
        }
    }
}

/* Returns the record of a credential, created with a full bucket if
 * new, or NULL when CREDS_MAX records are in use. */
static feed_cred *cred_get(struct feed_hub *hub, const insp_credential *cred)
{
    int64_t now = hg_mono_ms();
    feed_cred *fc = cred_find(hub, cred->kind, cred->sha256);

    if (fc != NULL)
        return fc;
    if (hub->cred_count >= CREDS_MAX)
        creds_collect(hub, now);
    if (hub->cred_count >= CREDS_MAX)
        return NULL;
    fc = calloc(1, sizeof(*fc));
    if (fc == NULL)
        return NULL;
    fc->hub = hub;
    fc->cred = *cred;
    fc->tokens = OPEN_BURST;
    fc->refilled_ms = now;
    /* Spreads the first re-check over the second half of the interval,
     * so that credentials seen together are not checked together. */
    fc->next_check_ms = now + RECHECK_INTERVAL_MS / 2 +
                        hg_mono_us() % (RECHECK_INTERVAL_MS / 2);
    LIST_INSERT_HEAD(&hub->creds[cred_chain_of(cred->sha256)], fc, link);
    hub->cred_count++;
    return fc;
}

/* Sends 429 with the seconds until the credential may open a stream. */
static void reject_rate(struct feed_hub *hub, hg_req *r, const feed_cred *fc)
{
    char retry[24];
    long long wait_s = (long long)((1.0 - fc->tokens) / OPEN_PER_S) + 1;

    hub->rate_limited++;
    snprintf(retry, sizeof(retry), "%lld", wait_s);
    hg_reply_header(r, "Retry-After", retry);
    hg_reply_problem(r, HG_E_RATE_LIMITED,
                     "too many live feed streams opened with this "
                     "credential: at most %g at once and %g a second; "
                     "retry after %s seconds",
                     OPEN_BURST, OPEN_PER_S, retry);
}

/* Ends every stream of the credential with a "signed-out" message. */
static void cred_end_streams(feed_cred *fc, const char *reason)
{
    static const char *const kinds[] = {"admin key", "API key", "session",
                                        "support token"};
    feed_client *c, *tmp;
    int ended = 0;

    TAILQ_FOREACH_SAFE(c, &fc->hub->clients, link, tmp) {
        if (c->cred == fc && !c->dropping && !c->closed) {
            if (ended == 0) {
                hg_log_fields f = {.correlation_id = c->r->request_id};

                hg_info(&f, "ending the live feed streams of %s (%s): %s",
                        c->r->auth_actor, kinds[fc->cred.kind], reason);
            }
            client_sign_out(c, reason);
            ended++;
        }
    }
}

/* The reason sent to the streams of a credential found invalid. An API key
 * or support token whose record is gone was valid when its streams
 * opened, so it was revoked (which deletes the lookup record), or it
 * expired and Redis removed the record with its TTL. */
static const char *invalid_reason(const feed_cred *fc, const char *reason)
{
    if (reason == NULL)
        return "unknown";
    if (strcmp(reason, "unknown") != 0 ||
        (fc->cred.kind != INSP_CRED_KEY && fc->cred.kind != INSP_CRED_SUPPORT))
        return reason;
    if (fc->cred.expires_ms > 0 && hg_time_ms() >= fc->cred.expires_ms)
        return "expired";
    return "revoked";
}

static void on_cred_checked(insp_recheck_result result, const char *reason,
                            void *arg)
{
    feed_cred *fc = arg;

    fc->checking = false;
    if (fc->hub->stopping)
        return;
    if (result == INSP_RECHECK_FAILED) {
        /* Only a definite answer ends streams: a Redis outage must not
         * disconnect every client at once. */
        hg_warn(NULL,
                "checking a live feed credential again failed: %s; its "
                "streams stay open until the next check",
                reason ? reason : "unknown error");
    } else if (result == INSP_RECHECK_INVALID) {
        cred_end_streams(fc, invalid_reason(fc, reason));
    } else {
        hg_debug(NULL, "a live feed credential is still valid (%d streams)",
                 fc->clients);
    }
}

/* Starts the re-checks that are due, from a rotating chain, at most about
 * RECHECK_PER_TICK per call. */
static void recheck_due(struct feed_hub *hub, int64_t now)
{
    int started = 0;
    size_t n;

    for (n = 0; n < CRED_BUCKETS && started < RECHECK_PER_TICK; n++) {
        size_t i = (hub->check_cursor + n) % CRED_BUCKETS;
        feed_cred *fc;

        LIST_FOREACH(fc, &hub->creds[i], link) {
            if (fc->clients == 0 || fc->checking ||
                fc->cred.kind == INSP_CRED_ADMIN || now < fc->next_check_ms)
                continue;
            fc->checking = true;
            fc->next_check_ms = now + RECHECK_INTERVAL_MS;
            started++;
            insp_credential_recheck(&fc->cred, on_cred_checked, fc);
        }
    }
    hub->check_cursor = (unsigned)((hub->check_cursor + n) % CRED_BUCKETS);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct feed_hub *hub = arg;
    int64_t now = hg_mono_ms();

    (void)fd;
    (void)what;
    if (hub->stopping)
        return;
    recheck_due(hub, now);
    creds_collect(hub, now);
    flush_log_counts(hub, time(NULL));
}

void feed_hub_recheck_soon(struct feed_hub *hub)
{
    int64_t now = hg_mono_ms();

    if (hub == NULL)
        return;
    for (size_t i = 0; i < CRED_BUCKETS; i++) {
        feed_cred *fc;

        LIST_FOREACH(fc, &hub->creds[i], link) {
            if (fc->next_check_ms > now)
                fc->next_check_ms = now;
        }
    }
}

void feed_hub_end_session(struct feed_hub *hub, const char *sha256)
{
    feed_cred *fc;

    if (hub == NULL || sha256 == NULL)
        return;
    fc = cred_find(hub, INSP_CRED_SESSION, sha256);
    if (fc != NULL)
        cred_end_streams(fc, "signed_out");
}

/* ---- opening a stream ------------------------------------------------- */

/* Sends 503 to a resuming client while CATCH_UP_CLIENTS_MAX others catch
 * up. */
static void reject_catch_up_busy(struct feed_hub *hub, hg_req *r)
{
    hub->catch_up_rejected++;
    hg_reply_header(r, "Retry-After", CATCH_UP_RETRY_AFTER);
    hg_reply_problem(r, HG_E_UNAVAILABLE,
                     "the live feed already replays missed messages to %d "
                     "clients; retry after %s seconds",
                     CATCH_UP_CLIENTS_MAX, CATCH_UP_RETRY_AFTER);
}

static void send_ping(feed_client *c);

static void start_stream(hg_req *r)
{
    struct feed_hub *hub = insp->feed;
    insp_stream_id since = {0, 0};
    bool resume;
    insp_credential cred;
    feed_cred *fc;
    feed_client *c;
    static const char hello[] = "retry: 2000\n: connected\n\n";

    /* Checked first, so an invalid id costs no stream open of the
     * credential's bucket. */
    if (!insp_feed_resume_point(hg_req_header(r, "Last-Event-ID"),
                                hg_req_query(r, "since"), &resume, &since)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "invalid Last-Event-ID or since: must be a stream "
                         "id such as 1700000000000-0 or 1700000000000");
        return;
    }
    if (!insp_credential_read(r, &cred) ||
        (fc = cred_get(hub, &cred)) == NULL) {
        hg_reply_header(r, "Retry-After", BUSY_RETRY_AFTER);
        hg_reply_problem(r, HG_E_UNAVAILABLE,
                         "the live feed tracks too many credentials; retry "
                         "after %s seconds",
                         BUSY_RETRY_AFTER);
        return;
    }
    /* The admin key is resolved without Redis, so its opens cost only
     * catch-ups, which have their own bound. */
    cred_refill(fc, hg_mono_ms());
    if (fc->cred.kind != INSP_CRED_ADMIN && fc->tokens < 1.0) {
        reject_rate(hub, r, fc);
        return;
    }
    if (fc->cred.kind != INSP_CRED_ADMIN)
        fc->tokens -= 1.0;
    if (hub->count >= hub->max_clients) {
        reject_busy(hub, r);
        return;
    }
    if (resume && hub->catch_up_clients >= CATCH_UP_CLIENTS_MAX) {
        reject_catch_up_busy(hub, r);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }

    c->hub = hub;
    c->r = r;
    c->cred = fc;
    fc->clients++;
    r->data = c;
    r->on_close = on_client_close;
    hg_req_hold(r);
    TAILQ_INSERT_TAIL(&hub->clients, c, link);
    hub->count++;

    hg_reply_header(r, "Cache-Control", "no-cache");
    hg_reply_header(r, "X-Accel-Buffering", "no");
    hg_stream_start(r, 200, "text/event-stream");
    client_send(c, hello, sizeof(hello) - 1);
    /* The interval comes at once, so a client does not judge silence by
     * a default shorter than the configured interval. Opening the stream
     * read Redis for every credential but the admin key, so only that one
     * hears of an outage the reader reported before. */
    send_ping(c);
    if (hub->redis_down && fc->cred.kind == INSP_CRED_ADMIN)
        client_send(c, STATUS_DOWN, sizeof(STATUS_DOWN) - 1);
    if (resume) {
        c->last = since;
        c->catching_up = true;
        hub->catch_up_clients++;
        c->batch = CATCH_UP_BATCH;
        fetch_since(c);
    } else {
        c->last = hub->last;
    }
}

void insp_feed(hg_req *r)
{
    struct feed_hub *hub = insp->feed;
    insp_credential cred;
    feed_cred *fc;

    /* A known credential that used up its opens gets 429 before the Redis
     * lookup of insp_authorize(), so a reconnect storm costs Redis
     * nothing. Records are created only after authorization
     * (start_stream), so an invalid token creates none. */
    if (insp_credential_read(r, &cred) &&
        (fc = cred_find(hub, cred.kind, cred.sha256)) != NULL) {
        cred_refill(fc, hg_mono_ms());
        if (fc->tokens < 1.0) {
            reject_rate(hub, r, fc);
            return;
        }
    }
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
        const redisReply *entry = hg_reply_elem(entries, i);
        stream_id id;

        /* The next XREAD starts after every entry read, also after one
         * that cannot be shown, or it would return that one forever. */
        if (entry_id(entry, &id) && id_after(id, hub->last))
            hub->last = id;
        if (!read_entry(entry, &v))
            continue;
        TAILQ_FOREACH_SAFE(c, &hub->clients, link, tmp) {
            if (c->catching_up)
                client_hold(c, &v);
            else
                client_deliver(c, &v);
        }
        free(v.text);
    }
}

/* Sends every client the reader's state as a "status" message, so a page
 * can tell an idle feed from one that cannot read. */
static void hub_set_redis_down(struct feed_hub *hub, bool down)
{
    feed_client *c, *tmp;

    if (hub->redis_down == down)
        return;
    hub->redis_down = down;
    TAILQ_FOREACH_SAFE(c, &hub->clients, link, tmp) {
        if (down)
            client_send(c, STATUS_DOWN, sizeof(STATUS_DOWN) - 1);
        else
            client_send(c, STATUS_UP, sizeof(STATUS_UP) - 1);
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
        hub_set_redis_down(hub, true);
        retry_later(hub);
        return;
    }
    hub_set_redis_down(hub, false);
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
        hub_set_redis_down(hub, true);
        retry_later(hub);
        return;
    }
    hub_set_redis_down(hub, false);
    if (id != NULL)
        insp_stream_id_parse(id, &hub->last);
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
    insp_stream_id_format(hub->last, from, sizeof(from));
    /* After failed reads the first one does not block, so the clients
     * hear that Redis is back without waiting for a new entry. */
    if (hub->redis_down) {
        const char *argv[] = {"XREAD", "COUNT", count, "STREAMS",
                              HG_KEY_ACTIVITY, from};

        hg_redis_command_argv(hub->in->feed_redis,
                              hub->in->cfg->redis_timeout_ms, on_hub_read,
                              hub, 6, argv, NULL);
        return;
    }
    const char *argv[] = {"XREAD", "COUNT",   count,           "BLOCK",
                          block,   "STREAMS", HG_KEY_ACTIVITY, from};
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

/* Raises the open-file soft limit to the hard limit, because every feed
 * client uses a socket. Returns the number of clients to serve, which is
 * HOOKGATE_FEED_MAX_CLIENTS or else DEFAULT_MAX_CLIENTS. Either is capped
 * at the open-file limit minus FD_RESERVE, or half the limit if more. */
static int feed_client_limit(const hg_config *cfg)
{
    struct rlimit rl;
    long long files, room, limit;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        hg_warn(NULL, "getrlimit(RLIMIT_NOFILE) failed: %s; assuming 1024 "
                      "open files",
                strerror(errno));
        rl.rlim_cur = 1024;
        rl.rlim_max = 1024;
    } else if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = {rl.rlim_max, rl.rlim_max};

        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
        else
            hg_warn(NULL,
                    "raising the open-file limit from %llu to %llu failed: "
                    "%s",
                    (unsigned long long)rl.rlim_cur,
                    (unsigned long long)rl.rlim_max, strerror(errno));
    }
    files = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX
                ? INT_MAX
                : (long long)rl.rlim_cur;
    room = files - FD_RESERVE;
    if (room < files / 2)
        room = files / 2;
    limit = cfg->feed_max_clients;
    if (limit == 0) {
        limit = room < DEFAULT_MAX_CLIENTS ? room : DEFAULT_MAX_CLIENTS;
    } else if (limit > room) {
        hg_warn(NULL,
                "HOOKGATE_FEED_MAX_CLIENTS=%d needs more than the open-file "
                "limit of %lld allows; serving %lld live feed clients",
                cfg->feed_max_clients, files, room);
        limit = room;
    }
    hg_info(NULL,
            "open-file limit %lld: serving up to %lld live feed clients, "
            "keep-alive every %d s, output buffer limit %lld bytes per client",
            files, limit, cfg->feed_keepalive_s,
            cfg->feed_client_buffer_bytes);
    return (int)limit;
}

/* Sends the keep-alive: a comment, which keeps proxies from closing the
 * idle connection, and a "ping" message with the interval, which lets a
 * page notice a connection that stopped carrying anything. */
static void send_ping(feed_client *c)
{
    char ping[96];
    int len = snprintf(ping, sizeof(ping),
                       ": keepalive\nevent: ping\ndata: {\"every_s\":%d}\n\n",
                       c->hub->in->cfg->feed_keepalive_s);

    client_send(c, ping, (size_t)len);
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct feed_hub *hub = arg;
    feed_client *c, *tmp;

    (void)fd;
    (void)what;
    TAILQ_FOREACH_SAFE(c, &hub->clients, link, tmp)
        send_ping(c);
}

struct feed_hub *feed_hub_new(inspector *in)
{
    struct feed_hub *hub = calloc(1, sizeof(*hub));
    struct timeval every = {in->cfg->feed_keepalive_s, 0};
    struct timeval tick = {0, TICK_MS * 1000};

    if (hub == NULL)
        return NULL;
    hub->in = in;
    hub->max_clients = feed_client_limit(in->cfg);
    hub->buffer_max = (size_t)in->cfg->feed_client_buffer_bytes;
    TAILQ_INIT(&hub->clients);
    TAILQ_INIT(&hub->waiting);
    for (size_t i = 0; i < CRED_BUCKETS; i++)
        LIST_INIT(&hub->creds[i]);
    hub->close_window = time(NULL);
    hub->retry = evtimer_new(in->base, on_retry, hub);
    hub->pump = evtimer_new(in->base, on_pump, hub);
    hub->keepalive = event_new(in->base, -1, EV_PERSIST, on_keepalive, hub);
    hub->tick = event_new(in->base, -1, EV_PERSIST, on_tick, hub);
    event_add(hub->keepalive, &every);
    event_add(hub->tick, &tick);
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
    for (size_t i = 0; i < CRED_BUCKETS; i++) {
        feed_cred *fc;

        while ((fc = LIST_FIRST(&hub->creds[i])) != NULL) {
            LIST_REMOVE(fc, link);
            free(fc);
        }
    }
    event_free(hub->retry);
    event_free(hub->pump);
    event_free(hub->keepalive);
    event_free(hub->tick);
    free(hub);
}
