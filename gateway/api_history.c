/* SPDX-License-Identifier: MIT
 *
 * History routes: pages of an integration's events (filters: type, time
 * range) and deliveries (filters: endpoint, status, time range), newest
 * first, with an opaque cursor for the next page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/scripts.h"
#include "common/views.h"
#include "gateway/gateway.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500

static const char *const statuses[] = {"pending", "succeeded", "failed",
                                       "dead", NULL};

/* Reads since and until (RFC 3339) into milliseconds; 0 when absent. */
static bool read_range(hg_req *r, long long *since, long long *until)
{
    const char *s = hg_req_query(r, "since");
    const char *u = hg_req_query(r, "until");

    *since = 0;
    *until = 0;
    if ((s && !gw_parse_time(s, since)) || (u && !gw_parse_time(u, until))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"since\" and \"until\" must be RFC 3339 times such "
                         "as 2026-12-01T00:00:00Z");
        return false;
    }
    if (*since && *until && *since > *until) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"since\" is later than \"until\"");
        return false;
    }
    return true;
}

static bool cursor_valid(const char *c, const char *charset, size_t max)
{
    return strlen(c) > 0 && strlen(c) <= max && strspn(c, charset) == strlen(c);
}

/* ---- events -------------------------------------------------------------- */

static void on_events(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        const char *next = hg_reply_str(reply, 0, NULL);
        json_t *items = json_array();

        for (size_t i = 1; i + 2 < reply->elements; i += 3) {
            const char *stream_id = hg_reply_str(reply, i, NULL);
            char at[HG_TIME_BUF];

            hg_time_format(atoll(stream_id ? stream_id : "0"), at);
            json_array_append_new(
                items, json_pack("{s:s, s:s, s:s}", "id",
                                 hg_reply_str(reply, i + 1, NULL), "type",
                                 hg_reply_str(reply, i + 2, NULL),
                                 "received_at", at));
        }
        hg_reply_json(r, 200,
                      json_pack("{s:o, s:o}", "data", items, "next_cursor",
                                next && next[0] ? json_string(next)
                                                : json_null()));
    }
    hg_req_release(r);
}

static void events_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *type = hg_req_query(r, "type");
    const char *cursor = hg_req_query(r, "cursor");
    long long since, until;
    char from[64] = "+", to[64] = "-", limit[16], key[HG_KEY_MAX];
    int n;

    if (!gw_query_limit(r, PAGE_DEFAULT, PAGE_MAX, &n) ||
        !read_range(r, &since, &until))
        return;
    if (type != NULL && !hg_type_filter_valid(type)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"type\" must be an event type or \"prefix.*\"");
        return;
    }
    if (cursor != NULL && !cursor_valid(cursor, "0123456789-", 40)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"cursor\" must be the next_cursor of a previous "
                         "page");
        return;
    }
    if (cursor != NULL)
        snprintf(from, sizeof(from), "(%s", cursor);
    else if (until)
        snprintf(from, sizeof(from), "%lld-18446744073709551615", until);
    if (since)
        snprintf(to, sizeof(to), "%lld-0", since);
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(key, r->params[0], "events"), from, to, limit,
                          type && strcmp(type, "*") != 0 ? type : ""};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_events_list, 0, on_events, r, 1, 5,
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
        const char *next = hg_reply_str(reply, 0, NULL);
        json_t *items = json_array();

        for (size_t i = 1; i < reply->elements; i++)
            json_array_append_new(items, hg_view_delivery(reply->element[i]));
        hg_reply_json(r, 200,
                      json_pack("{s:o, s:o}", "data", items, "next_cursor",
                                next && next[0] ? json_string(next)
                                                : json_null()));
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
    char upper[96] = "+", lower[96] = "-", limit[16], key[HG_KEY_MAX];
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
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"cursor\" must be the next_cursor of a previous "
                         "page");
        return;
    }
    /* Delivery ids start with their event's time, so a time range is a
     * range of ids. */
    if (cursor != NULL)
        snprintf(upper, sizeof(upper), "(%s", cursor);
    else if (until)
        snprintf(upper, sizeof(upper), "(dlv_%s",
                 hg_id_time_prefix(until + 1, prefix));
    if (since)
        snprintf(lower, sizeof(lower), "[dlv_%s",
                 hg_id_time_prefix(since, prefix));
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(key, r->params[0], "dlvidx"), r->params[0],
                          upper, lower, limit, endpoint ? endpoint : "",
                          state ? state : ""};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_deliveries_list, 0, on_deliveries, r,
                  1, 7, argv, NULL);
}

void gw_list_deliveries(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_READ, deliveries_authorized);
}
