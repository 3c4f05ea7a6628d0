/* SPDX-License-Identifier: MIT
 *
 * History routes: pages of an integration's events (filters: type, time
 * range), deliveries (filters: endpoint, status, time range) and audit
 * records (filters: action prefix, actor, time range), newest first, with
 * an opaque cursor for the next page.
 *
 * A request examines at most a fixed number of records (see the list
 * scripts). With filters, a page can then hold fewer items than the
 * limit, even none, and still have a next_cursor, from which the next
 * request continues the scan. next_cursor is null only when nothing older
 * matches, so a client that follows it always reaches the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/scripts.h"
#include "common/views.h"
#include "gateway/gateway.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500
#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 500
/* Milliseconds up to 999999999999999 (year 33658), beyond any record. */
#define TIME_MS_DIGITS_MAX 15
/* The largest sequence number of a stream id, the inclusive upper bound of
 * a millisecond. */
#define STREAM_SEQ_MAX "18446744073709551615"

static const char *const statuses[] = {"pending", "succeeded", "failed",
                                       "dead", NULL};

/* ---- query parameters ------------------------------------------------- */

/* Parses a time bound: an RFC 3339 time or milliseconds since the Unix
 * epoch. */
static bool parse_time_bound(const char *text, long long *ms)
{
    size_t n = strlen(text);

    if (n > 0 && n <= TIME_MS_DIGITS_MAX &&
        strspn(text, "0123456789") == n) {
        *ms = strtoll(text, NULL, 10);
        return true;
    }
    return gw_parse_time(text, ms);
}

/* Reads since and until into milliseconds, -1 when absent. Times before
 * the epoch count as the epoch, the oldest time a record can have. */
static bool read_range(hg_req *r, long long *since, long long *until)
{
    const char *s = hg_req_query(r, "since");
    const char *u = hg_req_query(r, "until");

    *since = -1;
    *until = -1;
    if ((s != NULL && !parse_time_bound(s, since)) ||
        (u != NULL && !parse_time_bound(u, until))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"since\" and \"until\" must be RFC 3339 times "
                         "such as 2026-12-01T00:00:00Z (send a \"+\" in an "
                         "offset as %%2B) or milliseconds since the Unix "
                         "epoch");
        return false;
    }
    if (s != NULL && u != NULL && *since > *until) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"since\" is later than \"until\"");
        return false;
    }
    if (s != NULL && *since < 0)
        *since = 0;
    if (u != NULL && *until < 0)
        *until = 0;
    return true;
}

/* True for 1 to 20 decimal digits whose value fits 64 bits. */
static bool u64_text_valid(const char *s, size_t n)
{
    char digits[21];

    if (n == 0 || n > 20 || strspn(s, "0123456789") < n)
        return false;
    memcpy(digits, s, n);
    digits[n] = '\0';
    errno = 0;
    strtoull(digits, NULL, 10);
    return errno == 0;
}

/* True for a stream id "<ms>-<seq>" other than 0-0, which no entry has
 * and which Redis rejects as an exclusive bound. */
static bool stream_id_valid(const char *s)
{
    const char *dash = strchr(s, '-');

    return dash != NULL && u64_text_valid(s, (size_t)(dash - s)) &&
           u64_text_valid(dash + 1, strlen(dash + 1)) &&
           strcmp(s, "0-0") != 0;
}

static void reply_bad_cursor(hg_req *r)
{
    hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                     "\"cursor\" must be the next_cursor of a previous "
                     "page");
}

/* Writes the newest stream id of a page into from: after the cursor, or
 * at the end of the millisecond until, or "+". */
static bool stream_upper_bound(hg_req *r, long long until, char *from,
                               size_t cap)
{
    const char *cursor = hg_req_query(r, "cursor");

    if (cursor != NULL) {
        if (!stream_id_valid(cursor)) {
            reply_bad_cursor(r);
            return false;
        }
        snprintf(from, cap, "(%s", cursor);
    } else if (until >= 0) {
        snprintf(from, cap, "%lld-%s", until, STREAM_SEQ_MAX);
    } else {
        snprintf(from, cap, "+");
    }
    return true;
}

/* ---- pages --------------------------------------------------------------- */

/* Sends a page from a list script's reply: items and reply element 0, the
 * next cursor. A nil reply means the integration does not exist. Takes
 * ownership of items. */
static void reply_page(hg_req *r, const redisReply *reply, json_t *items)
{
    const char *next = hg_reply_str(reply, 0, NULL);

    if (reply->type == REDIS_REPLY_NIL) {
        json_decref(items);
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
        return;
    }
    hg_reply_json(r, 200,
                  json_pack("{s:o, s:o}", "data", items, "next_cursor",
                            next && next[0] ? json_string(next)
                                            : json_null()));
}

/* ---- events -------------------------------------------------------------- */

static void on_events(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        json_t *items = json_array();

        for (size_t i = 1; i + 3 < reply->elements; i += 4) {
            const char *stream_id = hg_reply_str(reply, i, NULL);
            const char *received = hg_reply_str(reply, i + 3, NULL);
            char at[HG_TIME_BUF];

            /* The stream id starts with the event's time unless the
             * entry stores that time in a field of its own. */
            if (!received || !received[0])
                received = stream_id;
            hg_time_format(atoll(received ? received : "0"), at);
            json_array_append_new(
                items, json_pack("{s:s, s:s, s:s}", "id",
                                 hg_reply_str(reply, i + 1, NULL), "type",
                                 hg_reply_str(reply, i + 2, NULL),
                                 "received_at", at));
        }
        reply_page(r, reply, items);
    }
    hg_req_release(r);
}

static void events_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *type = hg_req_query(r, "type");
    long long since, until;
    char from[64], to[64] = "-", limit[16];
    char k_events[HG_KEY_MAX], k_int[HG_KEY_MAX];
    int n;

    if (!gw_query_limit(r, PAGE_DEFAULT, PAGE_MAX, &n) ||
        !read_range(r, &since, &until))
        return;
    if (type != NULL && !hg_type_filter_valid(type)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"type\" must be an event type or \"prefix.*\"");
        return;
    }
    if (!stream_upper_bound(r, until, from, sizeof(from)))
        return;
    if (since >= 0)
        snprintf(to, sizeof(to), "%lld-0", since);
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(k_events, r->params[0], "events"),
                          hg_key(k_int, r->params[0], "integration"),
                          from, to, limit,
                          type && strcmp(type, "*") != 0 ? type : ""};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_events_list, 0, on_events, r, 2, 6,
                  argv, NULL);
}

void gw_list_events(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_READ, events_authorized);
}

/* ---- deliveries ------------------------------------------------------------ */

static void on_deliveries(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        json_t *items = json_array();

        for (size_t i = 1; i < reply->elements; i++)
            json_array_append_new(items, hg_view_delivery(reply->element[i]));
        reply_page(r, reply, items);
    }
    hg_req_release(r);
}

static bool status_valid(const char *s)
{
    for (int i = 0; statuses[i] != NULL; i++) {
        if (strcmp(s, statuses[i]) == 0)
            return true;
    }
    return false;
}

static void deliveries_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *endpoint = hg_req_query(r, "endpoint_id");
    const char *state = hg_req_query(r, "status");
    const char *cursor = hg_req_query(r, "cursor");
    long long since, until;
    char upper[96] = "+", lower[96] = "-", limit[16];
    char k_idx[HG_KEY_MAX], k_int[HG_KEY_MAX];
    char prefix[11];
    int n;

    if (!gw_query_limit(r, PAGE_DEFAULT, PAGE_MAX, &n) ||
        !read_range(r, &since, &until))
        return;
    if ((endpoint && !gw_endpoint_id_valid(endpoint)) ||
        (state && !status_valid(state))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"endpoint_id\" must be an endpoint id and "
                         "\"status\" one of pending, succeeded, failed, "
                         "dead");
        return;
    }
    if (cursor != NULL && !gw_delivery_id_valid(cursor)) {
        reply_bad_cursor(r);
        return;
    }
    /* Delivery ids start with their event's time, so a time range is a
     * range of ids. */
    if (cursor != NULL)
        snprintf(upper, sizeof(upper), "(%s", cursor);
    else if (until >= 0)
        snprintf(upper, sizeof(upper), "(dlv_%s",
                 hg_id_time_prefix(until + 1, prefix));
    if (since >= 0)
        snprintf(lower, sizeof(lower), "[dlv_%s",
                 hg_id_time_prefix(since, prefix));
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(k_idx, r->params[0], "dlvidx"),
                          hg_key(k_int, r->params[0], "integration"),
                          r->params[0], upper, lower, limit,
                          endpoint ? endpoint : "", state ? state : ""};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_deliveries_list, 0, on_deliveries, r,
                  2, 8, argv, NULL);
}

void gw_list_deliveries(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_READ, deliveries_authorized);
}

/* ---- audit records ------------------------------------------------------- */

static void on_audit(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        json_t *items = json_array();

        for (size_t i = 1; i < reply->elements; i++) {
            size_t len;
            const char *text = hg_reply_str(reply, i, &len);
            json_t *item = text ? json_loadb(text, len, 0, NULL) : NULL;

            if (item != NULL)
                json_array_append_new(items, item);
        }
        reply_page(r, reply, items);
    }
    hg_req_release(r);
}

/* Lists the records of an audit stream; integration_key is the hash of
 * the integration whose log it is, or NULL for the global log. */
static void list_audit_stream(hg_req *r, const char *stream,
                              const char *integration_key)
{
    gw_thread *t = hg_req_thread(r);
    const char *action = hg_req_query(r, "action");
    const char *actor = hg_req_query(r, "actor");
    long long since, until;
    char from[64], to[64] = "-", limit[16];
    const char *argv[7];
    int n, argc = 0, nkeys;

    if (!gw_query_limit(r, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, &n) ||
        !read_range(r, &since, &until) ||
        !stream_upper_bound(r, until, from, sizeof(from)))
        return;
    if (since >= 0)
        snprintf(to, sizeof(to), "%lld-0", since);
    snprintf(limit, sizeof(limit), "%d", n);
    argv[argc++] = stream;
    if (integration_key != NULL)
        argv[argc++] = integration_key;
    nkeys = argc;
    argv[argc++] = from;
    argv[argc++] = to;
    argv[argc++] = limit;
    argv[argc++] = action ? action : "";
    argv[argc++] = actor ? actor : "";
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_audit_list, 0, on_audit, r, nkeys,
                  argc, argv, NULL);
}

static void audit_authorized(hg_req *r)
{
    char stream[HG_KEY_MAX], integration[HG_KEY_MAX];

    list_audit_stream(r, hg_key(stream, r->params[0], "audit"),
                      hg_key(integration, r->params[0], "integration"));
}

void gw_list_audit(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_MANAGE, audit_authorized);
}

static void global_audit_authorized(hg_req *r)
{
    list_audit_stream(r, HG_KEY_AUDIT, NULL);
}

void gw_list_global_audit(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, global_audit_authorized);
}
