/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/attempt_codec.h"
#include "common/redact.h"
#include "common/redis.h"
#include "common/views.h"

static json_t *string_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* Fields of a delivery hash shown as they are; the rest (attempt ids,
 * work stream names, lane keys) are internal. */
static const char *const delivery_fields[] = {
    "id", "event_id", "endpoint_id", "status", "reason", "next_attempt_at",
    "created_at", "updated_at", NULL,
};

json_t *hg_view_delivery(const redisReply *fields)
{
    json_t *out = json_object();
    const char *attempts = "0";
    bool test = false, ordered = false;

    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);
        const char *v = hg_reply_str(fields, i + 1, NULL);

        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "attempt_count") == 0)
            attempts = v;
        else if (strcmp(k, "test") == 0)
            test = strcmp(v, "1") == 0;
        else if (strcmp(k, "lane") == 0)
            ordered = v[0] != '\0';
        for (int f = 0; delivery_fields[f] != NULL; f++) {
            if (strcmp(k, delivery_fields[f]) == 0)
                json_object_set_new(out, k, string_or_null(v));
        }
    }
    json_object_set_new(out, "attempt_count", json_integer(atoll(attempts)));
    json_object_set_new(out, "test", json_boolean(test));
    /* True while the delivery waits its turn behind earlier events with
     * the same ordering key, or is the one holding that turn. */
    json_object_set_new(out, "ordered", json_boolean(ordered));
    for (int f = 0; delivery_fields[f] != NULL; f++) {
        if (json_object_get(out, delivery_fields[f]) == NULL)
            json_object_set_new(out, delivery_fields[f], json_null());
    }
    return out;
}

json_t *hg_view_attempts(const redisReply *list)
{
    json_t *attempts = json_array();

    for (size_t i = 0; list != NULL && i < list->elements; i++) {
        size_t len;
        const char *text = hg_reply_str(list, i, &len);
        json_t *a = text ? hg_attempt_unpack(text, len) : NULL;

        if (a == NULL)
            continue;
        /* The delivery worker redacts before storing; this also covers
         * attempts recorded by older versions. */
        hg_redact_json_headers(json_object_get(a, "request_headers"));
        hg_redact_json_headers(json_object_get(a, "response_headers"));
        json_array_append_new(attempts, a);
    }
    return attempts;
}

/* Fields of an event hash shown as they are; the others (payload,
 * received_ms, the delivery id list) are internal or have their own
 * route. */
static const char *const event_fields[] = {
    "id", "type", "received_at", "correlation_id", "traceparent", NULL,
};

json_t *hg_view_event(const redisReply *reply, bool attempts)
{
    const redisReply *head = hg_reply_elem(reply, 0);
    json_t *out, *deliveries;
    bool test = false;

    if (head == NULL || head->type != REDIS_REPLY_ARRAY)
        return NULL;
    out = json_object();
    deliveries = json_array();
    for (size_t i = 0; i + 1 < head->elements; i += 2) {
        const char *k = hg_reply_str(head, i, NULL);
        const char *v = hg_reply_str(head, i + 1, NULL);

        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "test") == 0)
            test = strcmp(v, "1") == 0;
        for (int f = 0; event_fields[f] != NULL; f++) {
            if (strcmp(k, event_fields[f]) == 0)
                json_object_set_new(out, k, string_or_null(v));
        }
    }
    for (int f = 0; event_fields[f] != NULL; f++) {
        if (json_object_get(out, event_fields[f]) == NULL)
            json_object_set_new(out, event_fields[f], json_null());
    }
    json_object_set_new(out, "test", json_boolean(test));
    for (size_t i = 1; i < reply->elements; i++) {
        const redisReply *pair = hg_reply_elem(reply, i);
        json_t *d = hg_view_delivery(hg_reply_elem(pair, 0));

        if (attempts)
            json_object_set_new(d, "attempts",
                                hg_view_attempts(hg_reply_elem(pair, 1)));
        json_array_append_new(deliveries, d);
    }
    json_object_set_new(out, "deliveries", deliveries);
    return out;
}
