/* SPDX-License-Identifier: MIT
 *
 * Sending a sink's scripted answer on the event loop: an optional delay,
 * then the answer at once, a body trickled at a fixed rate, or a body cut
 * off by closing the connection. Every wait is a libevent timer, never a
 * blocking call. An armed timer owns one reference of the request; when
 * the client goes away first, the on_close hook cancels the timer and
 * drops that reference.
 *
 * Trickled and cut-off bodies use chunked transfer encoding (the only
 * streaming form common/http offers), so a cut-off answer lacks the final
 * zero-size chunk and the client sees the body end early.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "inspector/inspector.h"
#include "inspector/sink.h"

/* Slack added to the request deadline while a delay runs. */
#define DELAY_DEADLINE_SLACK_MS 5000
/* Tick of a trickled body, and how often a cut-off checks that its output
 * left for the kernel. */
#define TRICKLE_TICK_MS 100
#define DRAIN_POLL_MS 10

enum { PHASE_DELAY, PHASE_TRICKLE, PHASE_DRAIN };

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Arms the timer for ms milliseconds. With pause, the request is paused
 * and its deadline pushed past the timer (before the response started). */
static void arm(sink_request *s, int ms, bool pause)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (s->timer == NULL)
        s->timer = evtimer_new(s->r->base, on_timer, s);
    if (s->timer == NULL) {
        hg_reply_problem(s->r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (!s->timer_holds_ref) {
        if (pause)
            hg_req_async(s->r, ms + DELAY_DEADLINE_SLACK_MS);
        else
            hg_req_hold(s->r);
        s->timer_holds_ref = true;
    }
    evtimer_add(s->timer, &tv);
}

static bool has_header(const hg_sink_answer *a, const char *name)
{
    for (int i = 0; i < a->header_count; i++) {
        if (strcasecmp(a->header_names[i], name) == 0)
            return true;
    }
    return false;
}

/* Adds the scripted headers and returns the Content-Type for the status
 * line writer. Returns NULL when the scripted headers contain it or the
 * body is empty. */
static const char *add_headers(sink_request *s)
{
    const hg_sink_answer *a = s->answer;

    for (int i = 0; i < a->header_count; i++)
        hg_reply_header(s->r, a->header_names[i], a->header_values[i]);
    if (a->retry_after != NULL)
        hg_reply_header(s->r, "Retry-After", a->retry_after);
    if (has_header(a, "Content-Type") || a->body_len == 0)
        return NULL;
    return "text/plain; charset=utf-8";
}

/* Sends the response of a sink without config: 200 with the capture id,
 * as sinks responded before they could be scripted. */
static void send_default(sink_request *s)
{
    hg_reply_json(
        s->r, 200,
        json_pack("{s:b, s:s}", "received", 1, "capture_id", s->capture_id));
}

/* Closes the connection once the partial body has left for the kernel.
 * shutdown() makes libevhtp see the end of the connection and free it
 * on its own path, so nothing is freed inside this timer's callback. */
static void drain_then_close(sink_request *s)
{
    long pending = hg_stream_write(s->r, NULL, 0);
    evutil_socket_t fd;

    if (pending < 0)
        return;
    if (pending > 0) {
        s->phase = PHASE_DRAIN;
        arm(s, DRAIN_POLL_MS, false);
        return;
    }
    fd = bufferevent_getfd(s->r->req->conn->bev);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

/* Writes the next slice of a trickled body, or the whole part of a
 * cut-off body that is sent at once. */
static void write_body(sink_request *s)
{
    const hg_sink_answer *a = s->answer;
    size_t limit =
        a->cut_after_bytes >= 0 ? (size_t)a->cut_after_bytes : a->body_len;
    size_t slice = limit - s->sent;
    int tick = TRICKLE_TICK_MS;

    if (a->trickle_bytes_per_s > 0) {
        /* Below 10 bytes per second, one byte per longer tick. */
        if (a->trickle_bytes_per_s < 1000 / TRICKLE_TICK_MS) {
            tick = 1000 / a->trickle_bytes_per_s;
            slice = 1;
        } else {
            slice = (size_t)a->trickle_bytes_per_s * TRICKLE_TICK_MS / 1000;
        }
        if (slice > limit - s->sent)
            slice = limit - s->sent;
    }
    if (slice > 0 && hg_stream_write(s->r, a->body + s->sent, slice) < 0)
        return; /* the client is gone */
    s->sent += slice;
    if (s->sent < limit) {
        s->phase = PHASE_TRICKLE;
        arm(s, tick, false);
    } else if (a->cut_after_bytes >= 0) {
        drain_then_close(s);
    } else {
        hg_stream_end(s->r);
    }
}

/* Sends the status line and headers, then the body in the answer's way. */
static void start(sink_request *s)
{
    const hg_sink_answer *a = s->answer;
    const char *content_type;

    if (!s->configured && a == &s->script.single) {
        send_default(s);
        return;
    }
    content_type = add_headers(s);
    if (a->trickle_bytes_per_s == 0 && a->cut_after_bytes < 0) {
        hg_reply(s->r, a->status, content_type, a->body, a->body_len);
        return;
    }
    hg_stream_start(s->r, a->status, content_type);
    write_body(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    sink_request *s = arg;
    hg_req *r = s->r;

    (void)fd;
    (void)what;
    /* libevent times events with the coarse monotonic clock, whose step
     * is the kernel tick (often 4 ms), so a timer can fire that much
     * early. A delay is a minimum the sink promised, so the rest is waited
     * for, still holding the timer's reference. */
    if (r->req != NULL && s->phase == PHASE_DELAY) {
        int64_t left_us = s->delay_until_us - hg_mono_us();

        if (left_us > 0) {
            struct timeval tv = {0, (suseconds_t)(left_us % 1000000)};

            tv.tv_sec = (time_t)(left_us / 1000000);
            evtimer_add(s->timer, &tv);
            return;
        }
    }
    /* The reference of this timer is dropped last, after the step armed
     * any next timer, so r outlives this callback. */
    s->timer_holds_ref = false;
    if (r->req != NULL) {
        if (s->phase == PHASE_DELAY)
            start(s);
        else if (s->phase == PHASE_TRICKLE)
            write_body(s);
        else
            drain_then_close(s);
    }
    hg_req_release(r);
}

void sink_answer_send(sink_request *s)
{
    if (s->answer->delay_ms > 0) {
        s->phase = PHASE_DELAY;
        s->delay_until_us = hg_mono_us() + (int64_t)s->answer->delay_ms * 1000;
        arm(s, s->answer->delay_ms, true);
        return;
    }
    start(s);
}

void sink_answer_on_close(hg_req *r)
{
    sink_request *s = r->data;

    if (s == NULL)
        return;
    if (s->timer != NULL)
        evtimer_del(s->timer);
    /* libevhtp's own reference is released after this hook, so this is
     * never the last one. */
    if (s->timer_holds_ref) {
        s->timer_holds_ref = false;
        hg_req_release(r);
    }
}

void sink_answer_free(sink_request *s)
{
    if (s->timer != NULL)
        event_free(s->timer);
    s->timer = NULL;
}
