/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis.h"
#include "common/views.h"

static json_t *string_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *hg_view_delivery(const redisReply *fields)
{
    json_t *out = json_object();
    const char *attempts = "0";

    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);
        const char *v = hg_reply_str(fields, i + 1, NULL);

        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "attempt_count") == 0)
            attempts = v;
        else if (strcmp(k, "retry_index") != 0)
            json_object_set_new(out, k, string_or_null(v));
    }
    json_object_set_new(out, "attempt_count", json_integer(atoll(attempts)));
    if (json_object_get(out, "reason") == NULL)
        json_object_set_new(out, "reason", json_null());
    if (json_object_get(out, "next_attempt_at") == NULL)
        json_object_set_new(out, "next_attempt_at", json_null());
    return out;
}

json_t *hg_view_attempts(const redisReply *list)
{
    json_t *attempts = json_array();

    for (size_t i = 0; list != NULL && i < list->elements; i++) {
        size_t len;
        const char *text = hg_reply_str(list, i, &len);
        json_t *a = text ? json_loadb(text, len, JSON_ALLOW_NUL, NULL) : NULL;

        if (a != NULL)
            json_array_append_new(attempts, a);
    }
    return attempts;
}

json_t *hg_view_event(const redisReply *reply, bool attempts)
{
    const redisReply *head = hg_reply_elem(reply, 0);
    json_t *out, *deliveries;

    if (head == NULL || head->type != REDIS_REPLY_ARRAY)
        return NULL;
    out = json_object();
    deliveries = json_array();
    for (size_t i = 0; i + 1 < head->elements; i += 2) {
        json_object_set_new(out, hg_reply_str(head, i, NULL),
                            string_or_null(hg_reply_str(head, i + 1, NULL)));
    }
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
