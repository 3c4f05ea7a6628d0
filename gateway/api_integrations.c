/* SPDX-License-Identifier: MIT
 *
 * Integration routes: creation with the admin key (returning the first API
 * key, shown once and stored only as its SHA-256), reading, listing,
 * update and deletion with everything the integration holds.
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/validate.h"

#define NAME_MAX_CHARS 200
#define API_KEY_MAX 96
#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

typedef struct create_state {
    char id[64];
    char name[NAME_MAX_CHARS * 4 + 1];
    char api_key[API_KEY_MAX];
    char api_key_id[HG_ID_MAX];
    char created_at[HG_TIME_BUF];
} create_state;

static void free_create_state(void *p)
{
    create_state *s = p;

    if (s != NULL)
        memset(s->api_key, 0, sizeof(s->api_key));
    free(s);
}

static void on_created(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    create_state *s = r->data;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type == REDIS_REPLY_STATUS ||
               reply->type == REDIS_REPLY_STRING) {
        if (strcmp(reply->str, "exists") == 0) {
            hg_reply_problem(r, HG_E_CONFLICT, "integration %s already exists",
                             s->id);
        } else if (strcmp(reply->str, "purging") == 0) {
            hg_reply_problem(r, HG_E_CONFLICT,
                             "integration %s is being deleted, or its delete "
                             "was cut short; wait for the delete, or send "
                             "DELETE again to finish it, then create it",
                             s->id);
        } else if (strcmp(reply->str, "purged") == 0) {
            hg_reply_problem(r, HG_E_CONFLICT,
                             "integration %s was deleted less than %d s "
                             "ago; create it again after that",
                             s->id, PURGE_MARKER_GRACE_S);
        } else {
            hg_log_fields f = {.integration_id = s->id,
                               .correlation_id = r->request_id};
            char location[HG_KEY_MAX];

            hg_info(&f, "integration created");
            gw_audit(r, s->id, "integration.create", s->id, NULL);
            snprintf(location, sizeof(location), "/api/v1/integrations/%s",
                     s->id);
            hg_reply_header(r, "Location", location);
            hg_reply_json(r, 201,
                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", s->id,
                                    "name", s->name, "api_key", s->api_key,
                                    "api_key_id", s->api_key_id,
                                    "created_at", s->created_at));
        }
    }
    hg_req_release(r);
}

static void create_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    json_t *id, *name;
    gw_validate_result res;
    create_state *s;
    char sha256[65];
    char k_int[HG_KEY_MAX], k_api[HG_KEY_MAX];
    char k_keys[HG_KEY_MAX];

    if (body == NULL)
        return;
    id = json_object_get(body, "id");
    name = json_object_get(body, "name");
    res = gw_validate_integration_members(body);
    if (res.ok)
        res = gw_validate_integration_id(id);
    if (res.ok)
        res = gw_validate_integration_name(name);
    if (!res.ok) {
        json_decref(body);
        hg_reply_problem(r, res.code, "%s", res.message);
        return;
    }

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        json_decref(body);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    snprintf(s->id, sizeof(s->id), "%s", json_string_value(id));
    snprintf(s->name, sizeof(s->name), "%s",
             name ? json_string_value(name) : s->id);
    json_decref(body);
    r->data = s;
    r->data_free = free_create_state;
    if (hg_api_key_generate("hgk_", s->api_key, sizeof(s->api_key)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return;
    }
    hg_time_format(hg_time_ms(), s->created_at);
    hg_sha256_hex(s->api_key, strlen(s->api_key), sha256);

    char prefix[12], k_rec[HG_KEY_MAX];
    char suffix[80];

    hg_id_new("key_", s->api_key_id);
    snprintf(prefix, sizeof(prefix), "%.8s", s->api_key);
    snprintf(suffix, sizeof(suffix), "key:%s", sha256);
    const char *argv[] = {
        HG_KEY_INTEGRATIONS, hg_key(k_int, s->id, "integration"),
        hg_key_apikey(k_api, sha256), hg_key(k_keys, s->id, "keys"),
        hg_key(k_rec, s->id, suffix),
        s->id, s->name, s->created_at, sha256, "publish read manage", "0",
        s->api_key_id, "initial key", prefix,
    };
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_create_integration, 0, on_created, r,
                  5, 14, argv, NULL);
}

void gw_create_integration(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, create_authorized);
}

static const char *field_of(const redisReply *fields, size_t first,
                            const char *name)
{
    for (size_t i = first; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);

        if (k != NULL && strcmp(k, name) == 0)
            return hg_reply_str(fields, i + 1, NULL);
    }
    return NULL;
}

/* The JSON of an integration from its flat HGETALL fields from first. */
static json_t *integration_json(const redisReply *fields, size_t first)
{
    const char *op = field_of(fields, first, "operational_endpoint_id");
    const char *validate = field_of(fields, first, "validate_payloads");
    const char *notices = field_of(fields, first, "status_notices");
    const char *updated = field_of(fields, first, "updated_at");
    json_t *out = json_object();

    json_object_set_new(out, "id",
                        json_string(field_of(fields, first, "id") ?: ""));
    json_object_set_new(out, "name",
                        json_string(field_of(fields, first, "name") ?: ""));
    json_object_set_new(out, "operational_endpoint_id",
                        op && op[0] ? json_string(op) : json_null());
    json_object_set_new(out, "validate_payloads",
                        json_boolean(validate && strcmp(validate, "1") == 0));
    json_object_set_new(out, "status_notices",
                        json_boolean(notices && strcmp(notices, "1") == 0));
    json_object_set_new(out, "created_at",
                        json_string(field_of(fields, first, "created_at")
                                        ?: ""));
    json_object_set_new(out, "updated_at",
                        json_string(updated ? updated
                                            : field_of(fields, first,
                                                       "created_at")
                                                  ?: ""));
    return out;
}

static void on_integration(hg_redis_status status, redisReply *reply,
                           void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        hg_reply_json(r, 200, integration_json(reply, 0));
    }
    hg_req_release(r);
}

static void get_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_integration, r, "HGETALL %s",
                     hg_key(key, r->params[0], "integration"));
}

void gw_get_integration(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    gw_authorize(r, r->params[0], SCOPE_READ, get_authorized);
}

/* ---- list ------------------------------------------------------------------------ */

/* One page of the integration list: the ids of the page, then one HGETALL
 * per id (the hashes are in different cluster slots, so no script can read
 * them together). */
typedef struct list_state {
    int limit;
    char cursor[64];
    char next[64];
    size_t count;
    int pending;
    bool failed;
    char (*ids)[64];
    json_t **items;
    struct list_slot *slots;
} list_state;

/* The argument of one HGETALL callback. */
typedef struct list_slot {
    hg_req *r;
    size_t index;
} list_slot;

static void free_list_state(void *p)
{
    list_state *s = p;

    if (s == NULL)
        return;
    for (size_t i = 0; s->items != NULL && i < s->count; i++)
        json_decref(s->items[i]);
    free(s->items);
    free(s->ids);
    free(s->slots);
    free(s);
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void reply_page(hg_req *r)
{
    list_state *s = r->data;
    json_t *items = json_array();

    for (size_t i = 0; i < s->count; i++) {
        /* An integration deleted since the SMEMBERS has no hash left. */
        if (s->items[i] != NULL)
            json_array_append(items, s->items[i]);
    }
    hg_reply_json(r, 200,
                  json_pack("{s:o, s:o}", "data", items, "next_cursor",
                            s->next[0] ? json_string(s->next) : json_null()));
}

static void on_list_item(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    list_slot *slot = arg;
    hg_req *r = slot->r;
    list_state *s = r->data;

    s->pending--;
    if (s->failed || hg_req_done(r)) {
        /* already replied */
    } else if (gw_redis_failed(r, status, reply)) {
        s->failed = true;
    } else {
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
            s->items[slot->index] = integration_json(reply, 0);
        if (s->pending == 0)
            reply_page(r);
    }
    hg_req_release(r);
}

/* Keeps the ids after the cursor, up to the limit. Looking one id past
 * the limit shows whether a next page exists, so the last page is never
 * empty. */
static size_t select_page(list_state *s, const char **sorted, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        if (s->cursor[0] != '\0' && strcmp(sorted[i], s->cursor) <= 0)
            continue;
        if (count == (size_t)s->limit) {
            snprintf(s->next, sizeof(s->next), "%s", s->ids[count - 1]);
            break;
        }
        snprintf(s->ids[count++], sizeof(s->ids[0]), "%s", sorted[i]);
    }
    return count;
}

static void on_list_ids(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    list_state *s = r->data;
    gw_thread *t = hg_req_thread(r);
    const char **sorted = NULL;
    char key[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    sorted = calloc(reply->elements + 1, sizeof(*sorted));
    s->ids = calloc((size_t)s->limit, sizeof(*s->ids));
    s->items = calloc((size_t)s->limit, sizeof(*s->items));
    s->slots = calloc((size_t)s->limit, sizeof(*s->slots));
    if (sorted == NULL || s->ids == NULL || s->items == NULL ||
        s->slots == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < reply->elements; i++)
        sorted[i] = reply->element[i]->str;
    qsort(sorted, reply->elements, sizeof(*sorted), compare_ids);
    s->count = select_page(s, sorted, reply->elements);
    if (s->count == 0) {
        reply_page(r);
        goto done;
    }

    s->pending = (int)s->count;
    for (size_t i = 0; i < s->count; i++) {
        s->slots[i].r = r;
        s->slots[i].index = i;
        hg_req_async(r, gw_config->redis_timeout_ms + 1000);
        hg_redis_command(t->redis, 0, on_list_item, &s->slots[i],
                         "HGETALL %s", hg_key(key, s->ids[i], "integration"));
    }
done:
    free(sorted);
    hg_req_release(r);
}

static void list_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *cursor = hg_req_query(r, "cursor");
    list_state *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free_list_state;
    if (!gw_query_limit(r, PAGE_DEFAULT, PAGE_MAX, &s->limit))
        return;
    /* The query splitter decoded the value already. */
    if (cursor != NULL &&
        (snprintf(s->cursor, sizeof(s->cursor), "%s", cursor) >=
             (int)sizeof(s->cursor) ||
         !hg_integration_id_valid(s->cursor))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"cursor\" must be the next_cursor of a previous "
                         "page");
        return;
    }

    /* NOTE: the ids come in one SMEMBERS and are paged here; that suits
     * thousands of integrations, not millions. */
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_list_ids, r, "SMEMBERS %s",
                     HG_KEY_INTEGRATIONS);
}

void gw_list_integrations(hg_req *r)
{
    /* SCOPE_READ without an integration: the admin key, or an inspector
     * viewer or support credential, which read every integration. */
    gw_authorize(r, NULL, SCOPE_READ, list_authorized);
}

/* ---- update ---------------------------------------------------------------------- */

static void on_updated(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "ok") == 0) {
        gw_audit(r, r->params[0], "integration.update", r->params[0], NULL);
        hg_reply_json(r, 200, integration_json(reply, 1));
    } else if (result != NULL && strcmp(result, "no_endpoint") == 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"operational_endpoint_id\" must name an endpoint "
                         "of this integration");
    } else {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    }
    hg_req_release(r);
}

static void update_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    json_t *name, *op, *validate, *notices;
    const char *argv[16];
    char k_int[HG_KEY_MAX], k_ver[HG_KEY_MAX], now[HG_TIME_BUF];
    char name_copy[NAME_MAX_CHARS * 4 + 1], op_copy[64];
    int argc = 0;
    gw_validate_result res;

    if (body == NULL)
        return;
    /* status_notices (docs/status.md) is checked here, so the shared
     * member list of the update stays as it is. */
    notices = json_incref(json_object_get(body, "status_notices"));
    json_object_del(body, "status_notices");
    if (notices != NULL && !json_is_boolean(notices)) {
        json_decref(notices);
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"status_notices\" must be a boolean");
        return;
    }
    res = gw_validate_integration_update(body);
    if (!res.ok) {
        json_decref(notices);
        json_decref(body);
        hg_reply_problem(r, res.code, "%s", res.message);
        return;
    }
    name = json_object_get(body, "name");
    op = json_object_get(body, "operational_endpoint_id");
    validate = json_object_get(body, "validate_payloads");
    snprintf(name_copy, sizeof(name_copy), "%s",
             name ? json_string_value(name) : "");
    snprintf(op_copy, sizeof(op_copy), "%s",
             json_is_string(op) ? json_string_value(op) : "");

    argv[argc++] = hg_key(k_int, r->params[0], "integration");
    argv[argc++] = hg_key(k_ver, r->params[0], "epver");
    argv[argc++] = hg_time_format(hg_time_ms(), now);
    argv[argc++] = op_copy;
    if (name != NULL) {
        argv[argc++] = "name";
        argv[argc++] = name_copy;
    }
    if (op != NULL) {
        argv[argc++] = "operational_endpoint_id";
        argv[argc++] = op_copy;
    }
    if (validate != NULL) {
        argv[argc++] = "validate_payloads";
        argv[argc++] = json_is_true(validate) ? "1" : "0";
    }
    if (notices != NULL) {
        argv[argc++] = "status_notices";
        argv[argc++] = json_is_true(notices) ? "1" : "0";
    }
    json_decref(notices);
    json_decref(body);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_integration_update, 0, on_updated, r,
                  2, argc, argv, NULL);
}

void gw_update_integration(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_MANAGE, update_authorized);
}

/* ---- delete (purge) -------------------------------------------------------------- */

typedef struct purge_state {
    char integration_id[64];
    /* How long the purge marker outlives the purge, 0 to delete it. */
    int marker_grace_s;
    char cursor[32];
    /* Position of purge_shared.lua: its phase and an HSCAN cursor or a
     * stream id. */
    char shared_phase[16];
    char shared_cursor[48];
    gw_purge_counts counts;
    bool missing_ok;
    /* Holder of the purge lease: random, because the request id may come
     * from the client, and retries often repeat it. */
    char owner[HG_ID_MAX];
    void (*done)(hg_req *r, const gw_purge_counts *counts);
} purge_state;

static void purge_scan(hg_req *r);
static void purge_shared(hg_req *r);

static void finish_purge(hg_req *r)
{
    purge_state *p = r->data;
    gw_thread *t = hg_req_thread(r);
    char marker[HG_KEY_MAX], maxlen[16], record[160];

    /* Tells open inspector pages to drop the integration's rows: its
     * records are gone from the stream, but the pages still show them. */
    snprintf(maxlen, sizeof(maxlen), "%d", gw_config->activity_maxlen);
    snprintf(record, sizeof(record),
             "{\"kind\":\"integration_deleted\",\"integration_id\":\"%s\"}",
             p->integration_id);
    hg_redis_command(t->redis, 0, NULL, NULL,
                     "XADD %s MAXLEN ~ %s * i %s j %s", HG_KEY_ACTIVITY, maxlen,
                     p->integration_id, record);
    hg_key(marker, p->integration_id, "purge_lease");
    hg_redis_command(t->redis, 0, NULL, NULL, "DEL %s", marker);
    hg_key(marker, p->integration_id, "purging");
    if (p->marker_grace_s > 0)
        hg_redis_command(t->redis, 0, NULL, NULL, "SET %s done EX %d", marker,
                         p->marker_grace_s);
    else
        hg_redis_command(t->redis, 0, NULL, NULL, "DEL %s", marker);
    p->done(r, &p->counts);
}

/* Entries that one purge_shared.lua call reads: sink index fields or
 * activity records. */
#define PURGE_SHARED_BATCH "1000"

static void on_purged_shared(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;
    purge_state *p = r->data;
    const char *phase = hg_reply_str(reply, 0, NULL);
    const char *cursor = hg_reply_str(reply, 1, NULL);
    const redisReply *sinks = hg_reply_elem(reply, 2);
    const redisReply *records = hg_reply_elem(reply, 3);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    if (phase == NULL || cursor == NULL || sinks == NULL || records == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
        goto done;
    }
    p->counts.sinks += sinks->integer;
    p->counts.activity_records += records->integer;
    snprintf(p->shared_phase, sizeof(p->shared_phase), "%s", phase);
    snprintf(p->shared_cursor, sizeof(p->shared_cursor), "%s", cursor);
    if (p->shared_phase[0] == '\0')
        finish_purge(r);
    else
        purge_shared(r);
done:
    hg_req_release(r);
}

/* Removes what the integration left in shared keys, one batch per call,
 * once its own keys are gone. */
static void purge_shared(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    purge_state *p = r->data;

    if (p->shared_phase[0] == '\0') {
        snprintf(p->shared_phase, sizeof(p->shared_phase), "sinks");
        snprintf(p->shared_cursor, sizeof(p->shared_cursor), "0");
    }
    const char *argv[] = {HG_KEY_SINKS, HG_KEY_ACTIVITY, p->integration_id,
                          p->shared_phase, p->shared_cursor,
                          PURGE_SHARED_BATCH};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_purge_shared, 0, on_purged_shared, r,
                  2, 6, argv, NULL);
}

json_t *gw_purge_counts_json(const gw_purge_counts *p)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "events", (json_int_t)p->events, "deliveries",
                     (json_int_t)p->deliveries, "attempts",
                     (json_int_t)p->attempts, "endpoints",
                     (json_int_t)p->endpoints, "api_keys",
                     (json_int_t)p->api_keys, "oauth_clients",
                     (json_int_t)p->oauth_clients, "redis_keys",
                     (json_int_t)p->keys, "sinks", (json_int_t)p->sinks,
                     "activity_records", (json_int_t)p->activity_records);
}

static void on_integration_purged(hg_req *r, const gw_purge_counts *p)
{
    hg_log_fields f = {.integration_id = r->params[0],
                       .correlation_id = r->request_id};
    json_t *removed = gw_purge_counts_json(p);

    hg_info(&f, "integration deleted: %lld events, %lld deliveries, %lld "
                "attempts, %lld sinks and %lld activity records removed",
            p->events, p->deliveries, p->attempts, p->sinks,
            p->activity_records);
    gw_audit(r, NULL, "integration.delete", r->params[0],
             json_deep_copy(removed));
    hg_reply_json(r, 200,
                  json_pack("{s:s, s:b, s:o}", "id", r->params[0], "deleted",
                            1, "removed", removed));
}

static void on_purged_batch(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    hg_req *r = arg;
    purge_state *p = r->data;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r)) {
        const redisReply *e[4];

        for (int i = 0; i < 4; i++)
            e[i] = hg_reply_elem(reply, (size_t)i);
        if (e[0] && e[1] && e[2] && e[3]) {
            p->counts.events += e[0]->integer;
            p->counts.deliveries += e[1]->integer;
            p->counts.attempts += e[2]->integer;
            p->counts.endpoints += e[3]->integer;
        }
        if (strcmp(p->cursor, "0") == 0)
            purge_shared(r);
        else
            purge_scan(r);
    }
    hg_req_release(r);
}

static void on_scanned(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    purge_state *p = r->data;
    gw_thread *t = hg_req_thread(r);
    const char *cursor = hg_reply_str(reply, 0, NULL);
    const redisReply *keys = hg_reply_elem(reply, 1);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r) ||
        cursor == NULL || keys == NULL)
        goto done;
    snprintf(p->cursor, sizeof(p->cursor), "%s", cursor);
    if (keys->elements == 0) {
        if (strcmp(p->cursor, "0") == 0)
            purge_shared(r);
        else
            purge_scan(r);
        goto done;
    }

    const char **argv = calloc(keys->elements, sizeof(*argv));

    if (argv == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < keys->elements; i++)
        argv[i] = keys->element[i]->str;
    p->counts.keys += (long long)keys->elements;
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_purge_batch, 0, on_purged_batch, r,
                  (int)keys->elements, (int)keys->elements, argv, NULL);
    free(argv);
done:
    hg_req_release(r);
}

/* NOTE: SCAN walks the whole keyspace, so deleting an integration takes
 * time in proportion to the size of the database, in batches that never
 * block Redis for long. */
static void purge_scan(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    purge_state *p = r->data;
    char pattern[HG_KEY_MAX], lease[HG_KEY_MAX];

    snprintf(pattern, sizeof(pattern), "hg:{%s}:*", p->integration_id);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    /* This purge is still alive: a delete sent meanwhile gets 409. */
    hg_redis_command(t->redis, 0, NULL, NULL, "PEXPIRE %s %d",
                     hg_key(lease, p->integration_id, "purge_lease"),
                     PURGE_LEASE_MS);
    hg_redis_command(t->redis, 0, on_scanned, r, "SCAN %s MATCH %s COUNT 1000",
                     p->cursor, pattern);
}

static void on_purge_started(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;
    purge_state *p = r->data;
    gw_thread *t = hg_req_thread(r);
    const char *result = hg_reply_str(reply, 0, NULL);
    const redisReply *nkeys = hg_reply_elem(reply, 1);
    const redisReply *nclients = hg_reply_elem(reply, 2);
    char key[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    if (result != NULL && strcmp(result, "not_found") == 0 && p->missing_ok) {
        finish_purge(r);
        goto done;
    }
    if (result != NULL && strcmp(result, "busy") == 0) {
        char retry_after[24];

        snprintf(retry_after, sizeof(retry_after), "%lld",
                 nkeys != NULL && nkeys->type == REDIS_REPLY_INTEGER &&
                         nkeys->integer > 0
                     ? (nkeys->integer + 999) / 1000
                     : 1LL);
        hg_reply_header(r, "Retry-After", retry_after);
        hg_reply_problem(r, HG_E_CONFLICT,
                         "a delete of integration %s is already running; "
                         "wait for it to finish, or send DELETE again after "
                         "Retry-After if it stopped",
                         p->integration_id);
        goto done;
    }
    if (result == NULL || strcmp(result, "ok") != 0 || !nkeys || !nclients) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         p->integration_id);
        goto done;
    }
    p->counts.api_keys = nkeys->integer;
    p->counts.oauth_clients = nclients->integer;
    /* The global indexes are in other slots; each is its own command. */
    hg_redis_command(t->redis, 0, NULL, NULL, "SREM %s %s",
                     HG_KEY_INTEGRATIONS, p->integration_id);
    for (size_t i = 3; i < reply->elements; i++) {
        const char *item = hg_reply_str(reply, i, NULL);

        if (item == NULL)
            continue;
        if ((long long)i < 3 + p->counts.api_keys)
            hg_key_apikey(key, item);
        else
            snprintf(key, sizeof(key), "hg:oauth:client:%s", item);
        hg_redis_command(t->redis, 0, NULL, NULL, "DEL %s", key);
    }
    snprintf(p->cursor, sizeof(p->cursor), "0");
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_scanned, r,
                     "SCAN 0 MATCH hg:{%s}:* COUNT 1000", p->integration_id);
done:
    hg_req_release(r);
}

/* Replies to the delete of an integration whose id is a shared key tag:
 * 404 when it does not exist, and 409 when an earlier version created it,
 * because its scan would match the shared keys of every integration. */
static void on_reserved_checked(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_INTEGER || reply->integer == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "integration %s shares its key tag with keys of "
                         "all integrations, so it cannot be deleted here; "
                         "see the CHANGELOG for its manual removal",
                         r->params[0]);
    }
    hg_req_release(r);
}

void gw_purge_integration(hg_req *r, const char *integration_id,
                          bool missing_ok, int marker_grace_s,
                          void (*done)(hg_req *r, const gw_purge_counts *c))
{
    gw_thread *t = hg_req_thread(r);
    purge_state *p;
    char k_int[HG_KEY_MAX], k_keys[HG_KEY_MAX], k_clients[HG_KEY_MAX];
    char k_marker[HG_KEY_MAX], k_lease[HG_KEY_MAX], k_endpoints[HG_KEY_MAX];
    char lease_ms[16];

    /* Only the integration delete route gets here with such an id (the
     * sandbox's id is not one), so r->params[0] names it. */
    if (hg_key_tag_shared(integration_id)) {
        hg_req_async(r, gw_config->redis_timeout_ms + 1000);
        hg_redis_command(t->redis, 0, on_reserved_checked, r, "EXISTS %s",
                         hg_key(k_int, integration_id, "integration"));
        return;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = p;
    r->data_free = free;
    snprintf(p->integration_id, sizeof(p->integration_id), "%s",
             integration_id);
    p->done = done;
    p->missing_ok = missing_ok;
    p->marker_grace_s = marker_grace_s;
    hg_id_new("prg_", p->owner);
    snprintf(lease_ms, sizeof(lease_ms), "%d", PURGE_LEASE_MS);
    const char *argv[] = {hg_key(k_int, integration_id, "integration"),
                          hg_key(k_keys, integration_id, "keys"),
                          hg_key(k_clients, integration_id, "clients"),
                          hg_key(k_marker, integration_id, "purging"),
                          hg_key(k_lease, integration_id, "purge_lease"),
                          hg_key(k_endpoints, integration_id, "endpoints"),
                          p->owner,
                          lease_ms};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_integration_purge, 0,
                  on_purge_started, r, 6, 8, argv, NULL);
}

static void delete_authorized(hg_req *r)
{
    gw_purge_integration(r, r->params[0], false, PURGE_MARKER_GRACE_S,
                         on_integration_purged);
}

void gw_delete_integration(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, NULL, SCOPE_ALL, delete_authorized);
}
