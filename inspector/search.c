/* SPDX-License-Identifier: MIT
 *
 * GET /api/v1/inspector/search?q=<text>[&integration=<id>]: finds events
 * by event id (which is also the webhook-id hookgate sends), by delivery
 * id, by correlation id (the X-Request-Id of the publish request), or by
 * text in the payload, such as a booking id. Only the integrations the
 * caller may see are searched, with one search.lua call per integration,
 * all sent at once. The response is sent when the last call returned.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/text.h"
#include "common/keys.h"
#include "common/scripts.h"
#include "inspector/inspector.h"

/* Integrations searched per query, in id order. A caller who sees more
 * gets "truncated": true. */
#define SEARCH_MAX_INTEGRATIONS 1000
/* Events returned per query, and found per integration. */
#define SEARCH_MAX_RESULTS 50
#define SEARCH_MAX_RESULTS_TEXT "50"
#define QUERY_MAX 128
/* Payload search reads the payloads of this many newest events per
 * integration, and only when at most SEARCH_TEXT_INTEGRATIONS
 * integrations are searched: reading payloads costs Redis time in
 * proportion to both. A caller who sees more picks one with ?integration=. */
#define SEARCH_TEXT_EVENTS "1000"
#define SEARCH_TEXT_INTEGRATIONS 20
/* Shorter text would match most payloads. */
#define SEARCH_TEXT_MIN 3

typedef enum search_kind {
    KIND_EVENT,
    KIND_DELIVERY,
    KIND_TEXT
} search_kind;

typedef struct search_slot {
    struct search_state *s;
    char integration_id[64];
} search_slot;

typedef struct search_state {
    hg_req *r;
    search_kind kind;
    char value[QUERY_MAX + 1];
    int pending;
    bool failed;
    bool truncated;
    bool correlation;     /* the text can be a correlation id */
    bool payloads_wanted; /* the text is long enough to look for */
    bool payloads;        /* payloads are read in this search */
    json_t *results;
    search_slot *slots;
} search_state;

static void free_state(void *data)
{
    search_state *s = data;

    if (s == NULL)
        return;
    json_decref(s->results);
    free(s->slots);
    free(s);
}

/* A correlation id has the characters of an X-Request-Id the gateway
 * keeps: A-Z a-z 0-9 - _ . : */
static bool correlation_id_valid(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= HG_REQUEST_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789-_.:") == n;
}

static int compare_results(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;

    /* Event ids start with their time, so this is newest first. */
    return -strcmp(json_string_value(json_object_get(*x, "event_id")),
                   json_string_value(json_object_get(*y, "event_id")));
}

static void reply_results(hg_req *r, search_state *s)
{
    size_t n = json_array_size(s->results);
    json_t **items = calloc(n + 1, sizeof(*items));
    json_t *sorted = json_array();

    for (size_t i = 0; items != NULL && i < n; i++)
        items[i] = json_array_get(s->results, i);
    if (items != NULL)
        qsort(items, n, sizeof(*items), compare_results);
    for (size_t i = 0; items != NULL && i < n && i < SEARCH_MAX_RESULTS; i++)
        json_array_append(sorted, items[i]);
    free(items);
    hg_reply_json(r, 200,
                  json_pack("{s:o, s:b, s:b}", "results", sorted, "truncated",
                            s->truncated || n > SEARCH_MAX_RESULTS,
                            "payloads_searched", s->payloads));
}

static void on_searched(hg_redis_status status, redisReply *reply, void *arg)
{
    search_slot *slot = arg;
    search_state *s = slot->s;
    hg_req *r = s->r;

    if (status != HG_REDIS_OK || hg_reply_is_error(reply)) {
        s->failed = true;
    } else {
        for (size_t i = 0; i + 3 < reply->elements; i += 4) {
            const char *id = hg_reply_str(reply, i, NULL);
            const char *type = hg_reply_str(reply, i + 1, NULL);
            const char *at = hg_reply_str(reply, i + 2, NULL);
            const char *matched = hg_reply_str(reply, i + 3, NULL);

            if (id == NULL || matched == NULL)
                continue;
            json_array_append_new(
                s->results,
                json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "integration_id",
                          slot->integration_id, "event_id", id, "type", type,
                          "created_at", at, "matched", matched));
        }
    }
    if (--s->pending == 0 && !hg_req_done(r)) {
        if (s->failed)
            hg_reply_unavailable(r, "a search command failed");
        else
            reply_results(r, s);
    }
    hg_req_release(r);
}

/* Sends one search.lua call per integration in ids. */
static void search_integrations(hg_req *r, const char *const *ids, size_t n)
{
    search_state *s = r->data;
    char key[HG_KEY_MAX];

    if (n == 0) {
        reply_results(r, s);
        return;
    }
    s->slots = calloc(n, sizeof(*s->slots));
    if (s->slots == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    s->pending = (int)n;
    s->payloads = s->kind == KIND_TEXT && s->payloads_wanted &&
                  n <= SEARCH_TEXT_INTEGRATIONS;
    for (size_t i = 0; i < n; i++) {
        search_slot *slot = &s->slots[i];
        const char *kinds[] = {"event", "delivery", "text"};

        slot->s = s;
        snprintf(slot->integration_id, sizeof(slot->integration_id), "%s",
                 ids[i]);
        if (s->kind == KIND_EVENT)
            hg_key_id(key, ids[i], "evt", s->value);
        else if (s->kind == KIND_DELIVERY)
            hg_key_id(key, ids[i], "dlv", s->value);
        else
            hg_key_id(key, ids[i], "corr",
                      s->correlation ? s->value : "-");

        const char *argv[] = {key,
                              slot->integration_id,
                              kinds[s->kind],
                              SEARCH_MAX_RESULTS_TEXT,
                              s->value,
                              s->payloads ? SEARCH_TEXT_EVENTS : "0",
                              s->correlation ? "1" : "0"};

        hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
        hg_redis_eval(insp->redis, &hg_script_search, 0, on_searched, slot,
                      1, 7, argv, NULL);
    }
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void on_integrations(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    hg_req *r = arg;
    search_state *s = r->data;
    const char **ids = NULL;
    size_t n = 0;

    if (insp_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    ids = calloc(reply->elements + 1, sizeof(*ids));
    if (ids == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const char *id = hg_reply_str(reply, i, NULL);

        if (id != NULL && hg_integration_id_valid(id) && insp_may_see(r, id))
            ids[n++] = id;
    }
    qsort(ids, n, sizeof(*ids), compare_strings);
    if (n > SEARCH_MAX_INTEGRATIONS) {
        s->truncated = true;
        n = SEARCH_MAX_INTEGRATIONS;
    }
    search_integrations(r, ids, n);
done:
    free(ids);
    hg_req_release(r);
}

/* Accepts 1 to QUERY_MAX bytes of UTF-8 without control characters. */
static bool query_valid(const char *q)
{
    size_t n = q ? strlen(q) : 0;

    if (n == 0 || n > QUERY_MAX ||
        hg_utf8_valid_prefix((const unsigned char *)q, n) != n)
        return false;
    for (const unsigned char *c = (const unsigned char *)q; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            return false;
    }
    return true;
}

static void search_authorized(hg_req *r)
{
    const char *q = hg_req_query(r, "q");
    const char *only = hg_req_query(r, "integration");
    search_state *s;
    char event_id[HG_ID_MAX];

    if (!query_valid(q)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"q\" must be 1 to %d bytes of text without "
                         "control characters: an event id, a delivery id, a "
                         "webhook-id, a correlation id or text in a payload",
                         QUERY_MAX);
        return;
    }
    if (only != NULL && only[0] != '\0' &&
        (!hg_integration_id_valid(only) || !insp_may_see(r, only))) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "integration %s does not exist or is not visible "
                         "to this session",
                         only);
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    s->r = r;
    s->results = json_array();
    snprintf(s->value, sizeof(s->value), "%s", q);
    r->data = s;
    r->data_free = free_state;

    if (hg_id_valid("evt_", q)) {
        s->kind = KIND_EVENT;
    } else if (insp_delivery_id_valid(q, event_id, sizeof(event_id))) {
        s->kind = KIND_DELIVERY;
    } else {
        s->kind = KIND_TEXT;
        s->correlation = correlation_id_valid(q);
        s->payloads_wanted = strlen(q) >= SEARCH_TEXT_MIN;
    }

    if (only != NULL && only[0] != '\0') {
        const char *one[] = {only};

        search_integrations(r, one, 1);
        return;
    }
    if (!r->auth_admin && r->auth_integration[0] != '\0') {
        const char *own[] = {r->auth_integration};

        search_integrations(r, own, 1);
        return;
    }
    /* NOTE: the integration ids come in one SMEMBERS, as the gateway's
     * list does; that suits thousands of integrations, not millions. */
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command(insp->redis, 0, on_integrations, r, "SMEMBERS %s",
                     HG_KEY_INTEGRATIONS);
}

void insp_search(hg_req *r)
{
    insp_authorize(r, search_authorized);
}
