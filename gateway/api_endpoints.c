/* SPDX-License-Identifier: MIT
 *
 * Endpoint routes: create, list, read, update, delete, enable, disable and
 * rotate the secret. Input is validated field by field with the checks of
 * validate.c (URL policy, type filters, custom headers, delivery
 * settings); secrets are sealed with AES-256-GCM before they reach Redis
 * and are shown only when created or rotated. Every change bumps the
 * integration's endpoint version so that gateways re-read the endpoint
 * list before their next publish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/redact.h"
#include "common/scripts.h"
#include "common/secretbox.h"
#include "common/text.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/validate.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define DELETE_BATCH "500"
/* Field/value pairs an endpoint write can carry. */
#define FIELDS_MAX 32

/* The fields of one endpoint write, as strings for endpoint_put.lua. */
typedef struct endpoint_input {
    char id[HG_ID_MAX];
    const char *action; /* audit action, such as "endpoint.enable" */
    bool create;        /* 201 with the secret and Location, not 200 */
    char secret[HG_SECRET_MAX_LEN];   /* in clear, for the response only */
    char sealed[HG_SECRETBOX_SEALED_MAX];
    /* A rotation's grace period (s), the sealed secret it replaces ("" to
     * replace whatever is current), and whether the caller chose the new
     * secret. */
    long long grace_s;
    char replaced[HG_SECRETBOX_SEALED_MAX];
    bool chosen;
    char *strings[FIELDS_MAX];        /* owned copies of values */
    const char *pairs[2 * FIELDS_MAX];
    int npairs;
    int nstrings;
} endpoint_input;

static void input_free(void *p)
{
    endpoint_input *in = p;

    if (in == NULL)
        return;
    memset(in->secret, 0, sizeof(in->secret));
    for (int i = 0; i < in->nstrings; i++)
        free(in->strings[i]);
    free(in);
}

/* Adds a field; the value is copied. */
static void input_set(endpoint_input *in, const char *name, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL || in->nstrings >= FIELDS_MAX ||
        in->npairs + 2 > 2 * FIELDS_MAX) {
        free(copy);
        return;
    }
    in->strings[in->nstrings++] = copy;
    in->pairs[in->npairs++] = name;
    in->pairs[in->npairs++] = copy;
}

static void input_set_int(endpoint_input *in, const char *name, long long v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", v);
    input_set(in, name, buf);
}

bool gw_endpoint_id_valid(const char *s)
{
    return gw_validate_endpoint_id(s);
}

/* ---- field validation ---------------------------------------------------- */

static gw_endpoint_rules endpoint_rules(void)
{
    gw_endpoint_rules rules = {
        .allow_private_targets = gw_config->allow_private_targets,
        .https_only = gw_config->https_only,
        .connect_timeout_max_ms = gw_config->connect_timeout_ms,
        .timeout_max_ms = gw_config->delivery_timeout_ms,
    };

    return rules;
}

static gw_validate_result read_url(json_t *url, const gw_endpoint_rules *rules,
                                   endpoint_input *in)
{
    gw_validate_result res = gw_validate_url(url, rules);

    if (res.ok && url != NULL)
        input_set(in, "url", json_string_value(url));
    return res;
}

/* Stores the distinct filters as a JSON array and as the space-separated
 * list that the publish path matches against. */
static gw_validate_result read_event_types(json_t *types, endpoint_input *in)
{
    char filters[HG_TYPE_FILTERS_MAX * (HG_EVENT_TYPE_MAX + 3)] = "";
    json_t *distinct;
    gw_validate_result res = gw_validate_event_types(types, &distinct);
    json_t *item;
    size_t i;
    char *text;

    if (distinct == NULL)
        return res;
    json_array_foreach(distinct, i, item) {
        if (filters[0] != '\0')
            strcat(filters, " ");
        strcat(filters, json_string_value(item));
    }
    text = json_dumps(distinct, JSON_COMPACT);
    json_decref(distinct);
    input_set(in, "event_types", text ? text : "[]");
    input_set(in, "filters", filters);
    free(text);
    return res;
}

static gw_validate_result read_description(json_t *description,
                                           endpoint_input *in)
{
    gw_validate_result res = gw_validate_description(description);

    if (res.ok && description != NULL)
        input_set(in, "description", json_string_value(description));
    return res;
}

/* Values of custom headers are stored without surrounding spaces and
 * tabs, which are not part of a field value (RFC 9110, section 5.5), so
 * that reads show what deliveries send. Values that carry credentials
 * (the names that hg_redact_header_name() matches, which no response ever
 * shows) are stored sealed like the signing secret, bound to the endpoint
 * and the header name. So a copy of the Redis data alone does not reveal
 * them. */
static gw_validate_result read_headers(hg_req *r, json_t *headers,
                                       endpoint_input *in)
{
    gw_validate_result res = gw_validate_headers(headers);
    json_t *stored;
    const char *name;
    json_t *value;
    char *text;

    if (!res.ok || headers == NULL)
        return res;
    stored = json_deep_copy(headers);
    json_object_foreach(stored, name, value) {
        char aad[HG_KEY_MAX + 160], sealed[HG_HEADER_SEALED_MAX];
        size_t len;
        const char *text_value =
            hg_http_trim_ows(json_string_value(value), &len);

        value = json_stringn(text_value, len);
        json_object_set_new(stored, name, value);
        if (!hg_redact_header_name(name))
            continue;
        hg_endpoint_header_aad(aad, sizeof(aad), r->params[0], in->id, name);
        if (hg_secretbox_seal(gw_config->endpoint_secrets_key, aad,
                              json_string_value(value), sealed,
                              sizeof(sealed)) != 0) {
            json_decref(stored);
            res.ok = false;
            res.code = HG_E_INTERNAL_ERROR;
            snprintf(res.field, sizeof(res.field), "headers");
            snprintf(res.message, sizeof(res.message),
                     "sealing the value of header \"%.100s\" failed", name);
            return res;
        }
        json_object_set_new(stored, name, json_string(sealed));
    }
    text = json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(stored);
    input_set(in, "headers", text ? text : "{}");
    free(text);
    return res;
}

static gw_validate_result read_enabled(json_t *enabled, endpoint_input *in)
{
    gw_validate_result res = gw_validate_enabled(enabled);

    if (!res.ok || enabled == NULL)
        return res;
    input_set(in, "status", json_is_true(enabled) ? "enabled" : "disabled");
    input_set(in, "disabled_reason", json_is_true(enabled) ? "" : "manual");
    return res;
}

/* A null ordering key stores "", which means no ordering. */
static gw_validate_result read_ordering_key(json_t *key, endpoint_input *in)
{
    gw_validate_result res = gw_validate_ordering_key(key);

    if (res.ok && key != NULL)
        input_set(in, "ordering_key",
                  json_is_null(key) ? "" : json_string_value(key));
    return res;
}

/* Reads the optional delivery settings; null stores "" (the default). */
static gw_validate_result read_settings(json_t *body,
                                        const gw_endpoint_rules *rules,
                                        endpoint_input *in)
{
    static const char *const names[] = {
        "connect_timeout_ms", "timeout_ms", "max_concurrency", "rate_limit",
        NULL,
    };
    gw_validate_result res = {.ok = true};

    for (int i = 0; names[i] != NULL && res.ok; i++) {
        json_t *v = json_object_get(body, names[i]);

        res = gw_validate_setting(v, names[i], rules);
        if (!res.ok || v == NULL)
            continue;
        if (json_is_null(v))
            input_set(in, names[i], "");
        else
            input_set_int(in, names[i], json_integer_value(v));
    }
    return res;
}

/* Copies a supplied secret into in->secret, or generates one when the body
 * has none. */
static bool read_secret(hg_req *r, json_t *secret, endpoint_input *in)
{
    gw_validate_result res = gw_validate_secret(secret);

    if (!res.ok) {
        hg_reply_problem(r, res.code, "%s", res.message);
        return false;
    }
    if (secret != NULL && !json_is_null(secret)) {
        snprintf(in->secret, sizeof(in->secret), "%s",
                 json_string_value(secret));
        return true;
    }
    if (hg_secret_generate(HG_SECRET_DEFAULT_BYTES, in->secret,
                           sizeof(in->secret)) == 0)
        return true;
    hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
    return false;
}

/* Seals in->secret for the endpoint and adds it as the "secret" field. */
static bool seal_secret(hg_req *r, endpoint_input *in, const char *field)
{
    char aad[HG_KEY_MAX];

    snprintf(aad, sizeof(aad), "%s/%s", r->params[0], in->id);
    if (hg_secretbox_seal(gw_config->endpoint_secrets_key, aad, in->secret,
                          in->sealed, sizeof(in->sealed)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "sealing the secret failed");
        return false;
    }
    if (field != NULL)
        input_set(in, field, in->sealed);
    return true;
}

/* Validates every field present in body in a fixed order, so the first
 * invalid one is reported; with create, url and event_types are required. */
static bool read_fields(hg_req *r, json_t *body, bool create,
                        endpoint_input *in)
{
    gw_endpoint_rules rules = endpoint_rules();
    gw_validate_result res = gw_validate_endpoint_members(body, create);

    if (res.ok)
        res = read_url(json_object_get(body, "url"), &rules, in);
    if (res.ok)
        res = read_event_types(json_object_get(body, "event_types"), in);
    if (res.ok)
        res = read_description(json_object_get(body, "description"), in);
    if (res.ok)
        res = read_headers(r, json_object_get(body, "headers"), in);
    if (res.ok)
        res = read_enabled(json_object_get(body, "enabled"), in);
    if (res.ok)
        res = read_ordering_key(json_object_get(body, "ordering_key"), in);
    if (res.ok)
        res = read_settings(body, &rules, in);

    if (!res.ok)
        hg_reply_problem(r, res.code, "%s", res.message);
    return res.ok;
}

/* ---- views ----------------------------------------------------------------- */

static json_t *number_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_integer(atoll(s)) : json_null();
}

static json_t *string_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static const char *field(const redisReply *fields, size_t first,
                         const char *name)
{
    for (size_t i = first; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);

        if (k != NULL && strcmp(k, name) == 0)
            return hg_reply_str(fields, i + 1, NULL);
    }
    return NULL;
}

json_t *gw_endpoint_json(const redisReply *fields, size_t first)
{
    const char *status = field(fields, first, "status");
    const char *types = field(fields, first, "event_types");
    const char *headers = field(fields, first, "headers");
    json_t *out = json_object();

    /* A fixed member order keeps responses easy to read and to diff. */
    json_object_set_new(out, "id", string_or_null(field(fields, first, "id")));
    json_object_set_new(out, "url",
                        string_or_null(field(fields, first, "url")));
    json_object_set_new(out, "description",
                        json_string(field(fields, first, "description")
                                        ?: ""));
    json_object_set_new(out, "event_types",
                        types ? json_loads(types, 0, NULL) : json_array());
    json_object_set_new(out, "enabled",
                        json_boolean(status && strcmp(status, "enabled") == 0));
    json_object_set_new(out, "status", string_or_null(status));
    json_object_set_new(out, "disabled_reason",
                        string_or_null(field(fields, first,
                                             "disabled_reason")));
    json_object_set_new(out, "headers",
                        headers ? json_loads(headers, 0, NULL)
                                : json_object());
    /* Custom headers may hold the receiver's credentials: they are sent
     * with every delivery but never shown, not even to their owner. */
    hg_redact_json_headers(json_object_get(out, "headers"));
    json_object_set_new(out, "connect_timeout_ms",
                        number_or_null(field(fields, first,
                                             "connect_timeout_ms")));
    json_object_set_new(out, "timeout_ms",
                        number_or_null(field(fields, first, "timeout_ms")));
    json_object_set_new(out, "max_concurrency",
                        number_or_null(field(fields, first,
                                             "max_concurrency")));
    json_object_set_new(out, "rate_limit",
                        number_or_null(field(fields, first, "rate_limit")));
    json_object_set_new(out, "ordering_key",
                        string_or_null(field(fields, first, "ordering_key")));
    json_object_set_new(out, "previous_secret_expires_at",
                        string_or_null(field(fields, first,
                                             "previous_expires_at")));
    json_object_set_new(out, "created_at",
                        string_or_null(field(fields, first, "created_at")));
    json_object_set_new(out, "updated_at",
                        string_or_null(field(fields, first, "updated_at")));
    return out;
}

/* ---- create and update ------------------------------------------------------- */

static void on_put(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    endpoint_input *in = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);
    char location[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "no_integration") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else if (result == NULL || strcmp(result, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         in->id);
    } else {
        json_t *out = gw_endpoint_json(reply, 1);

        gw_audit(r, r->params[0], in->action, in->id, NULL);
        if (in->create) {
            json_object_set_new(out, "secret", json_string(in->secret));
            snprintf(location, sizeof(location),
                     "/api/v1/integrations/%s/endpoints/%s", r->params[0],
                     in->id);
            hg_reply_header(r, "Location", location);
        }
        hg_reply_json(r, in->create ? 201 : 200, out);
    }
    hg_req_release(r);
}

static void put_endpoint(hg_req *r, const char *mode)
{
    gw_thread *t = hg_req_thread(r);
    endpoint_input *in = r->data;
    char k_int[HG_KEY_MAX], k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    char k_ep[HG_KEY_MAX], k_list[HG_KEY_MAX], now[HG_TIME_BUF];
    const char *argv[5 + 3 + 2 * FIELDS_MAX];
    int argc = 0;

    argv[argc++] = hg_key(k_int, r->params[0], "integration");
    argv[argc++] = hg_key(k_idx, r->params[0], "endpoints");
    argv[argc++] = hg_key(k_ver, r->params[0], "epver");
    argv[argc++] = hg_key_id(k_ep, r->params[0], "ep", in->id);
    argv[argc++] = hg_key(k_list, r->params[0], "eplist");
    argv[argc++] = mode;
    argv[argc++] = in->id;
    argv[argc++] = hg_time_format(hg_time_ms(), now);
    for (int i = 0; i < in->npairs; i++)
        argv[argc++] = in->pairs[i];
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_put, 0, on_put, r, 5, argc,
                  argv, NULL);
}

static endpoint_input *input_new(hg_req *r, const char *action)
{
    endpoint_input *in = calloc(1, sizeof(*in));

    if (in == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    in->action = action;
    r->data = in;
    r->data_free = input_free;
    return in;
}

static void create_authorized(hg_req *r)
{
    json_t *body = gw_json_body(r);
    endpoint_input *in;
    char now[HG_TIME_BUF];
    bool ok;

    if (body == NULL || (in = input_new(r, "endpoint.create")) == NULL) {
        json_decref(body);
        return;
    }
    in->create = true;
    hg_id_new("ep_", in->id);
    input_set(in, "id", in->id);
    input_set(in, "status", "enabled");
    input_set(in, "disabled_reason", "");
    input_set(in, "description", "");
    input_set(in, "headers", "{}");
    input_set(in, "ordering_key", "");
    input_set(in, "created_at", hg_time_format(hg_time_ms(), now));
    ok = read_fields(r, body, true, in) &&
         read_secret(r, json_object_get(body, "secret"), in) &&
         seal_secret(r, in, "secret");
    json_decref(body);
    if (ok)
        put_endpoint(r, "create");
}

void gw_create_endpoint(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    gw_authorize_existing(r, r->params[0], SCOPE_MANAGE, create_authorized);
}

static bool check_endpoint_params(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return false;
    if (!gw_endpoint_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
        return false;
    }
    return true;
}

static void update_authorized(hg_req *r)
{
    json_t *body = gw_json_body(r);
    endpoint_input *in;
    bool ok;

    if (body == NULL || (in = input_new(r, "endpoint.update")) == NULL) {
        json_decref(body);
        return;
    }
    snprintf(in->id, sizeof(in->id), "%.63s", r->params[1]);
    ok = read_fields(r, body, false, in);
    json_decref(body);
    if (ok)
        put_endpoint(r, "update");
}

void gw_update_endpoint(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE,
                              update_authorized);
}

static void set_status(hg_req *r, bool enable)
{
    endpoint_input *in =
        input_new(r, enable ? "endpoint.enable" : "endpoint.disable");

    if (in == NULL)
        return;
    snprintf(in->id, sizeof(in->id), "%.63s", r->params[1]);
    input_set(in, "status", enable ? "enabled" : "disabled");
    input_set(in, "disabled_reason", enable ? "" : "manual");
    put_endpoint(r, "update");
}

static void enable_authorized(hg_req *r)
{
    set_status(r, true);
}

static void disable_authorized(hg_req *r)
{
    set_status(r, false);
}

void gw_enable_endpoint(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE | SCOPE_OPERATE,
                              enable_authorized);
}

void gw_disable_endpoint(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE | SCOPE_OPERATE,
                              disable_authorized);
}

/* ---- read and list ---------------------------------------------------------- */

static void on_endpoint(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
    } else {
        hg_reply_json(r, 200, gw_endpoint_json(reply, 0));
    }
    hg_req_release(r);
}

static void get_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_endpoint, r, "HGETALL %s",
                     hg_key_id(key, r->params[0], "ep", r->params[1]));
}

void gw_get_endpoint(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize_existing(r, r->params[0], SCOPE_READ,
                              get_authorized);
}

static void on_list(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        const char *next = hg_reply_str(reply, 0, NULL);
        json_t *items = json_array();

        for (size_t i = 1; i < reply->elements; i++) {
            const redisReply *e = hg_reply_elem(reply, i);

            if (e != NULL && e->elements > 0)
                json_array_append_new(items, gw_endpoint_json(e, 0));
        }
        hg_reply_json(r, 200,
                      json_pack("{s:o, s:o}", "data", items, "next_cursor",
                                next && next[0] ? json_string(next)
                                                : json_null()));
    }
    hg_req_release(r);
}

static void list_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *cursor = hg_req_query(r, "cursor");
    char key[HG_KEY_MAX], limit[16];
    int n;

    if (!gw_query_limit(r, PAGE_DEFAULT, PAGE_MAX, &n))
        return;
    if (cursor != NULL && !gw_endpoint_id_valid(cursor)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"cursor\" must be the next_cursor of a previous "
                         "page");
        return;
    }
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(key, r->params[0], "eplist"), r->params[0],
                          cursor ? cursor : "", limit};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_list, 0, on_list, r, 1, 4,
                  argv, NULL);
}

void gw_list_endpoints(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize_existing(r, r->params[0], SCOPE_READ,
                              list_authorized);
}

/* ---- delete ------------------------------------------------------------------ */

typedef struct delete_state {
    long long ended;
    bool found;
} delete_state;

static void delete_batch(hg_req *r);

static void on_deleted(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    delete_state *d = r->data;
    const redisReply *ended = hg_reply_elem(reply, 0);
    const redisReply *remaining = hg_reply_elem(reply, 1);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (ended == NULL || ended->type != REDIS_REPLY_INTEGER) {
        if (d->found)
            goto finished;
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
    } else {
        d->found = true;
        d->ended += ended->integer;
        if (remaining != NULL && remaining->integer > 0)
            delete_batch(r);
        else
            goto finished;
    }
    hg_req_release(r);
    return;
finished:
    gw_audit(r, r->params[0], "endpoint.delete", r->params[1],
             json_pack("{s:I}", "deliveries_ended", (json_int_t)d->ended));
    hg_reply_json(r, 200,
                  json_pack("{s:s, s:b, s:I}", "id", r->params[1], "deleted",
                            1, "deliveries_ended", (json_int_t)d->ended));
    hg_req_release(r);
}

static void delete_batch(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char k_ep[HG_KEY_MAX], k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    char k_list[HG_KEY_MAX], k_pending[HG_KEY_MAX], suffix[96];
    char now[HG_TIME_BUF], maxlen[16];

    snprintf(suffix, sizeof(suffix), "ep:%.63s:pending", r->params[1]);
    snprintf(maxlen, sizeof(maxlen), "%d", gw_config->activity_maxlen);
    const char *argv[] = {
        hg_key_id(k_ep, r->params[0], "ep", r->params[1]),
        hg_key(k_idx, r->params[0], "endpoints"),
        hg_key(k_ver, r->params[0], "epver"),
        hg_key(k_list, r->params[0], "eplist"),
        hg_key(k_pending, r->params[0], suffix),
        HG_KEY_ACTIVITY,
        r->params[0],
        hg_time_format(hg_time_ms(), now),
        DELETE_BATCH,
        maxlen,
        r->params[1],
    };
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_delete, 0, on_deleted, r, 6,
                  11, argv, NULL);
}

static void delete_authorized(hg_req *r)
{
    delete_state *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = d;
    r->data_free = free;
    delete_batch(r);
}

void gw_delete_endpoint(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE,
                              delete_authorized);
}

/* ---- secret rotation --------------------------------------------------------- */

static void on_rotated(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    endpoint_input *in = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *dropped = hg_reply_str(reply, 1, NULL);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(result, "changed") == 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "the secret of endpoint %s changed during this "
                         "rotation; retry it",
                         in->id);
    } else if (strcmp(result, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         in->id);
    } else {
        json_t *dropped_at = dropped != NULL && dropped[0] != '\0'
                                 ? json_string(dropped)
                                 : json_null();

        gw_audit(r, r->params[0], "endpoint.rotate_secret", in->id,
                 json_pack("{s:s, s:O}", "previous_expires_at", in->pairs[1],
                           "dropped_secret_expires_at", dropped_at));
        hg_reply_json(r, 200,
                      json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", in->id,
                                "secret", in->secret, "previous_expires_at",
                                in->pairs[1], "previous_secret_expires_at",
                                in->pairs[1], "dropped_secret_expires_at",
                                dropped_at));
    }
    hg_req_release(r);
}

/* Stores the sealed new secret. With in->replaced set, the script stores
 * it only while that is still the current secret. */
static void rotate_store(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    endpoint_input *in = r->data;
    int64_t now_ms = hg_time_ms();
    int64_t expires_ms = now_ms + in->grace_s * 1000;
    char key[HG_KEY_MAX], expires_text[24], expires_at[HG_TIME_BUF];
    char now[HG_TIME_BUF], now_text[24];

    snprintf(expires_text, sizeof(expires_text), "%lld",
             (long long)expires_ms);
    input_set(in, "previous_expires_at",
              hg_time_format(expires_ms, expires_at));
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now_ms);
    const char *argv[] = {hg_key_id(key, r->params[0], "ep", in->id),
                          in->sealed, expires_text, expires_at,
                          hg_time_format(now_ms, now), now_text,
                          in->replaced};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_rotate, 0, on_rotated, r, 1,
                  7, argv, NULL);
}

/* Returns whether two "whsec_" secrets decode to the same key, which
 * signs alike whatever the text. */
static bool same_secret(const char *a, const char *b)
{
    uint8_t ka[HG_SECRET_MAX_BYTES], kb[HG_SECRET_MAX_BYTES];
    const char *reason = NULL;
    int la = hg_secret_parse(a, ka, sizeof(ka), &reason);
    int lb = hg_secret_parse(b, kb, sizeof(kb), &reason);
    bool same = la > 0 && la == lb && hg_ct_equal(ka, kb, (size_t)la);

    memset(ka, 0, sizeof(ka));
    memset(kb, 0, sizeof(kb));
    return same;
}

/* Rotates from the current secret just read, so that a rotation that
 * races another one gets 409 rather than a secret that the other one
 * replaced or dropped at once. Rejects a chosen secret that is already
 * the current one, because the caller would take the old secret for
 * retired. */
static void on_current_secret(hg_redis_status status, redisReply *reply,
                              void *arg)
{
    hg_req *r = arg;
    endpoint_input *in = r->data;
    const char *current = hg_reply_str(reply, 0, NULL);
    char aad[HG_KEY_MAX], plain[HG_SECRET_MAX_LEN];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (current == NULL) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         in->id);
    } else if (strlen(current) >= sizeof(in->replaced)) {
        /* Longer than any value this version seals, so it cannot be the
         * new secret: rotate without the comparison. */
        rotate_store(r);
    } else {
        snprintf(aad, sizeof(aad), "%s/%s", r->params[0], in->id);
        if (in->chosen &&
            hg_secretbox_open(gw_config->endpoint_secrets_key, aad, current,
                              plain, sizeof(plain)) == 0 &&
            same_secret(plain, in->secret)) {
            hg_reply_problem(r, HG_E_CONFLICT,
                             "the new secret is the current secret of "
                             "endpoint %s; send another one, or send no "
                             "secret to have one generated",
                             in->id);
        } else {
            snprintf(in->replaced, sizeof(in->replaced), "%s", current);
            rotate_store(r);
        }
        memset(plain, 0, sizeof(plain));
    }
    hg_req_release(r);
}

static void rotate_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    size_t len;
    json_t *body = NULL;
    json_t *grace, *secret;
    gw_validate_result res;
    endpoint_input *in;
    char key[HG_KEY_MAX];

    hg_req_body(r, &len);
    if (len > 0 && (body = gw_json_body(r)) == NULL)
        return;
    if ((in = input_new(r, "endpoint.rotate_secret")) == NULL) {
        json_decref(body);
        return;
    }
    snprintf(in->id, sizeof(in->id), "%.63s", r->params[1]);
    grace = json_object_get(body, "grace_period_s");
    res = gw_validate_rotation_members(body);
    if (res.ok)
        res = gw_validate_grace_period(grace);
    if (!res.ok) {
        json_decref(body);
        hg_reply_problem(r, res.code, "%s", res.message);
        return;
    }
    in->grace_s = grace != NULL ? json_integer_value(grace)
                                : gw_config->secret_grace_s;
    secret = json_object_get(body, "secret");
    in->chosen = secret != NULL && !json_is_null(secret);
    if (!read_secret(r, secret, in) || !seal_secret(r, in, NULL)) {
        json_decref(body);
        return;
    }
    json_decref(body);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_current_secret, r, "HMGET %s secret",
                     hg_key_id(key, r->params[0], "ep", in->id));
}

void gw_rotate_secret(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE,
                              rotate_authorized);
}

/* ---- sandbox ------------------------------------------------------------------ */

int gw_endpoint_seal(const char *integration_id, const char *endpoint_id,
                     const char *secret, char *out, size_t cap)
{
    char aad[HG_KEY_MAX];

    snprintf(aad, sizeof(aad), "%s/%s", integration_id, endpoint_id);
    return hg_secretbox_seal(gw_config->endpoint_secrets_key, aad, secret,
                             out, cap);
}
