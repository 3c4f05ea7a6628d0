/* SPDX-License-Identifier: MIT
 *
 * Endpoint routes: create, list, read, update, delete, enable, disable and
 * rotate the secret. Input is validated field by field (URL policy, type
 * filters, custom headers, delivery settings); secrets are sealed with
 * AES-256-GCM before they reach Redis and are shown only when created or
 * rotated. Every change bumps the integration's endpoint version so that
 * gateways re-read the endpoint list before their next publish.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/secretbox.h"
#include "common/urlpolicy.h"
#include "gateway/gateway.h"

#define DESCRIPTION_MAX 500
#define HEADERS_MAX 20
#define HEADER_NAME_MAX 100
#define HEADER_VALUE_MAX 1000
#define ORDERING_KEY_MAX 200
#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define DELETE_BATCH "500"
/* Field/value pairs an endpoint write can carry. */
#define FIELDS_MAX 32

/* Headers hookgate sets itself or that belong to the connection. */
static const char *const reserved_headers[] = {
    "host", "content-type", "content-length", "content-encoding",
    "transfer-encoding", "connection", "keep-alive", "te", "trailer",
    "upgrade", "expect", "user-agent", "webhook-id", "webhook-timestamp",
    "webhook-signature", "traceparent", "tracestate", NULL,
};

/* The fields of one endpoint write, as strings for endpoint_put.lua. */
typedef struct endpoint_input {
    char id[HG_ID_MAX];
    char secret[HG_SECRET_MAX_LEN];   /* in clear, for the response only */
    char sealed[HG_SECRETBOX_SEALED_MAX];
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
    size_t n = strlen(s);

    if (n < 4 || n > 63 || strncmp(s, "ep_", 3) != 0)
        return false;
    for (size_t i = 3; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- field validation ---------------------------------------------------- */

static bool read_url(hg_req *r, json_t *url, endpoint_input *in)
{
    char why[300];
    const char *text = json_string_value(url);
    hg_url_result res;

    if (text == NULL) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"url\" must be an http or https URL string");
        return false;
    }
    res = hg_url_check(text, gw_config->allow_private_targets, why,
                       sizeof(why));
    if (res == HG_URL_NOT_ALLOWED) {
        hg_reply_problem(r, HG_E_TARGET_NOT_ALLOWED, "%s", why);
        return false;
    }
    if (res != HG_URL_OK) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "invalid \"url\": %s", why);
        return false;
    }
    if (gw_config->https_only && strncasecmp(text, "https://", 8) != 0) {
        hg_reply_problem(r, HG_E_TARGET_NOT_ALLOWED,
                         "this deployment accepts only https endpoint URLs");
        return false;
    }
    input_set(in, "url", text);
    return true;
}

static bool read_event_types(hg_req *r, json_t *types, endpoint_input *in)
{
    char filters[HG_TYPE_FILTERS_MAX * (HG_EVENT_TYPE_MAX + 3)] = "";
    json_t *unique = json_array();
    json_t *item;
    size_t i;
    char *text;

    if (!json_is_array(types) || json_array_size(types) == 0 ||
        json_array_size(types) > HG_TYPE_FILTERS_MAX) {
        json_decref(unique);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"event_types\" must be an array of 1 to %d type "
                         "filters, such as [\"booking.*\"]",
                         HG_TYPE_FILTERS_MAX);
        return false;
    }
    json_array_foreach(types, i, item) {
        const char *f = json_string_value(item);
        bool seen = false;
        size_t k;
        json_t *prior;

        if (f == NULL || !hg_type_filter_valid(f)) {
            json_decref(unique);
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "event_types[%zu] is not a valid filter: use a "
                             "type (A-Z a-z 0-9 . _ -, up to 128), "
                             "\"prefix.*\" or \"*\"",
                             i);
            return false;
        }
        json_array_foreach(unique, k, prior) {
            seen = seen || strcmp(json_string_value(prior), f) == 0;
        }
        if (seen)
            continue;
        json_array_append(unique, item);
        if (filters[0] != '\0')
            strcat(filters, " ");
        strcat(filters, f);
    }
    text = json_dumps(unique, JSON_COMPACT);
    json_decref(unique);
    input_set(in, "event_types", text ? text : "[]");
    input_set(in, "filters", filters);
    free(text);
    return true;
}

static bool header_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > HEADER_NAME_MAX)
        return false;
    /* RFC 9110 token characters. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL))
            return false;
    }
    return true;
}

static bool header_reserved(const char *name)
{
    for (int i = 0; reserved_headers[i] != NULL; i++) {
        if (strcasecmp(name, reserved_headers[i]) == 0)
            return true;
    }
    return strncasecmp(name, "proxy-", 6) == 0;
}

static bool read_headers(hg_req *r, json_t *headers, endpoint_input *in)
{
    const char *name;
    json_t *value;
    char *text;

    if (!json_is_object(headers) || json_object_size(headers) > HEADERS_MAX) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"headers\" must be an object of at most %d "
                         "header names and string values",
                         HEADERS_MAX);
        return false;
    }
    json_object_foreach(headers, name, value) {
        const char *v = json_string_value(value);

        if (!header_name_valid(name)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "header name \"%.100s\" is not a valid HTTP "
                             "field name",
                             name);
            return false;
        }
        if (header_reserved(name)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "header \"%s\" is set by hookgate and cannot be "
                             "overridden",
                             name);
            return false;
        }
        if (v == NULL || json_string_length(value) > HEADER_VALUE_MAX ||
            memchr(v, '\0', json_string_length(value)) != NULL ||
            strpbrk(v, "\r\n") != NULL) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "the value of header \"%s\" must be a string of "
                             "at most %d bytes without CR, LF or NUL",
                             name, HEADER_VALUE_MAX);
            return false;
        }
    }
    text = json_dumps(headers, JSON_COMPACT | JSON_SORT_KEYS);
    input_set(in, "headers", text ? text : "{}");
    free(text);
    return true;
}

/* Reads an optional integer setting; null stores "" (the default). */
static bool read_setting(hg_req *r, json_t *body, const char *name,
                         long long lo, long long hi, endpoint_input *in)
{
    json_t *v = json_object_get(body, name);

    if (v == NULL)
        return true;
    if (json_is_null(v)) {
        input_set(in, name, "");
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"%s\" must be null or an integer from %lld to %lld",
                         name, lo, hi);
        return false;
    }
    input_set_int(in, name, json_integer_value(v));
    return true;
}

static bool read_ordering_key(hg_req *r, json_t *v, endpoint_input *in)
{
    const char *s = json_string_value(v);

    if (json_is_null(v)) {
        input_set(in, "ordering_key", "");
        return true;
    }
    if (s == NULL || s[0] != '/' || strlen(s) > ORDERING_KEY_MAX) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"ordering_key\" must be null or a JSON Pointer "
                         "into the event such as \"/data/booking_id\" "
                         "(at most %d characters)",
                         ORDERING_KEY_MAX);
        return false;
    }
    input_set(in, "ordering_key", s);
    return true;
}

static bool read_secret(hg_req *r, json_t *secret, endpoint_input *in)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    const char *why = NULL;

    if (secret == NULL || json_is_null(secret)) {
        if (hg_secret_generate(HG_SECRET_DEFAULT_BYTES, in->secret,
                               sizeof(in->secret)) == 0)
            return true;
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return false;
    }
    if (!json_is_string(secret) ||
        json_string_length(secret) >= sizeof(in->secret) ||
        hg_secret_parse(json_string_value(secret), key, sizeof(key), &why) <
            0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "invalid \"secret\": %s",
                         why ? why : "it must be a string such as whsec_...");
        return false;
    }
    memset(key, 0, sizeof(key));
    snprintf(in->secret, sizeof(in->secret), "%s", json_string_value(secret));
    return true;
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

/* Validates every field present in body; with create, url and
 * event_types are required. */
static bool read_fields(hg_req *r, json_t *body, bool create,
                        endpoint_input *in)
{
    static const char *const known[] = {
        "url", "event_types", "description", "headers", "secret", "enabled",
        "connect_timeout_ms", "timeout_ms", "max_concurrency", "rate_limit",
        "ordering_key", NULL,
    };
    const char *name;
    json_t *v;

    json_object_foreach(body, name, v) {
        bool ok = false;

        for (int i = 0; known[i] != NULL && !ok; i++)
            ok = strcmp(name, known[i]) == 0;
        if (!ok || (!create && strcmp(name, "secret") == 0)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "unknown field \"%.64s\"%s", name,
                             create ? "" : " (rotate a secret with "
                                           "POST .../rotate-secret)");
            return false;
        }
    }
    if (create && (json_object_get(body, "url") == NULL ||
                   json_object_get(body, "event_types") == NULL)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"url\" and \"event_types\" are required");
        return false;
    }
    if ((v = json_object_get(body, "url")) && !read_url(r, v, in))
        return false;
    if ((v = json_object_get(body, "event_types")) &&
        !read_event_types(r, v, in))
        return false;
    if ((v = json_object_get(body, "description"))) {
        if (!json_is_string(v) ||
            json_string_length(v) > DESCRIPTION_MAX) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "\"description\" must be a string of at most %d "
                             "bytes",
                             DESCRIPTION_MAX);
            return false;
        }
        input_set(in, "description", json_string_value(v));
    }
    if ((v = json_object_get(body, "headers")) && !read_headers(r, v, in))
        return false;
    if ((v = json_object_get(body, "enabled"))) {
        if (!json_is_boolean(v)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "\"enabled\" must be true or false");
            return false;
        }
        input_set(in, "status", json_is_true(v) ? "enabled" : "disabled");
        input_set(in, "disabled_reason", json_is_true(v) ? "" : "manual");
    }
    if ((v = json_object_get(body, "ordering_key")) &&
        !read_ordering_key(r, v, in))
        return false;
    return read_setting(r, body, "connect_timeout_ms", 100,
                        gw_config->connect_timeout_ms, in) &&
           read_setting(r, body, "timeout_ms", 1000,
                        gw_config->delivery_timeout_ms, in) &&
           read_setting(r, body, "max_concurrency", 1, 1000, in) &&
           read_setting(r, body, "rate_limit", 1, 100000, in);
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
    bool create = r->route->method == htp_method_POST;

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

        if (create)
            json_object_set_new(out, "secret", json_string(in->secret));
        gw_audit(r, r->params[0], create ? "endpoint.create" : "endpoint.update",
                 in->id, NULL);
        hg_reply_json(r, create ? 201 : 200, out);
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

static endpoint_input *input_new(hg_req *r)
{
    endpoint_input *in = calloc(1, sizeof(*in));

    if (in == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
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

    if (body == NULL || (in = input_new(r)) == NULL) {
        json_decref(body);
        return;
    }
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
    gw_authorize(r, r->params[0], SCOPE_MANAGE, create_authorized);
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

    if (body == NULL || (in = input_new(r)) == NULL) {
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
        gw_authorize(r, r->params[0], SCOPE_MANAGE, update_authorized);
}

static void set_status(hg_req *r, bool enable)
{
    endpoint_input *in = input_new(r);

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
        gw_authorize(r, r->params[0], SCOPE_MANAGE, enable_authorized);
}

void gw_disable_endpoint(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize(r, r->params[0], SCOPE_MANAGE, disable_authorized);
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
        gw_authorize(r, r->params[0], SCOPE_READ, get_authorized);
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
        gw_authorize(r, r->params[0], SCOPE_READ, list_authorized);
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
        gw_authorize(r, r->params[0], SCOPE_MANAGE, delete_authorized);
}

/* ---- secret rotation --------------------------------------------------------- */

static void on_rotated(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    endpoint_input *in = r->data;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STATUS &&
               reply->type != REDIS_REPLY_STRING) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(reply->str, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         in->id);
    } else {
        gw_audit(r, r->params[0], "endpoint.rotate_secret", in->id,
                 json_pack("{s:s}", "previous_expires_at", in->pairs[1]));
        hg_reply_json(r, 200,
                      json_pack("{s:s, s:s, s:s}", "id", in->id, "secret",
                                in->secret, "previous_expires_at",
                                in->pairs[1]));
    }
    hg_req_release(r);
}

static void rotate_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    size_t len;
    json_t *body = NULL;
    json_t *grace;
    endpoint_input *in;
    long long grace_s = gw_config->secret_grace_s;
    int64_t expires_ms;
    char key[HG_KEY_MAX], expires_text[24], expires_at[HG_TIME_BUF];
    char now[HG_TIME_BUF];

    hg_req_body(r, &len);
    if (len > 0 && (body = gw_json_body(r)) == NULL)
        return;
    if ((in = input_new(r)) == NULL) {
        json_decref(body);
        return;
    }
    snprintf(in->id, sizeof(in->id), "%.63s", r->params[1]);
    grace = json_object_get(body, "grace_period_s");
    if (grace != NULL && (!json_is_integer(grace) ||
                          json_integer_value(grace) < 0 ||
                          json_integer_value(grace) > 30 * 86400)) {
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"grace_period_s\" must be an integer from 0 to "
                         "2592000 (30 days)");
        return;
    }
    if (grace != NULL)
        grace_s = json_integer_value(grace);
    if (!read_secret(r, json_object_get(body, "secret"), in) ||
        !seal_secret(r, in, NULL)) {
        json_decref(body);
        return;
    }
    json_decref(body);

    expires_ms = hg_time_ms() + grace_s * 1000;
    snprintf(expires_text, sizeof(expires_text), "%lld",
             (long long)expires_ms);
    input_set(in, "previous_expires_at",
              hg_time_format(expires_ms, expires_at));
    const char *argv[] = {hg_key_id(key, r->params[0], "ep", in->id),
                          in->sealed, expires_text, expires_at,
                          hg_time_format(hg_time_ms(), now)};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_rotate, 0, on_rotated, r, 1,
                  5, argv, NULL);
}

void gw_rotate_secret(hg_req *r)
{
    if (check_endpoint_params(r))
        gw_authorize(r, r->params[0], SCOPE_MANAGE, rotate_authorized);
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
