/* SPDX-License-Identifier: MIT
 *
 * Endpoint routes: registration (URL policy, type filters, a supplied or
 * generated Standard Webhooks secret, shown at creation only) and reading.
 * Every change bumps the integration's endpoint version so that gateways
 * re-read the endpoint list before their next publish.
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/typefilter.h"
#include "common/urlpolicy.h"
#include "gateway/gateway.h"

#define DESCRIPTION_MAX 500

typedef struct endpoint_state {
    char id[HG_ID_MAX];
    char url[HG_URL_MAX + 1];
    char *types_json;
    char filters[HG_TYPE_FILTERS_MAX * (HG_EVENT_TYPE_MAX + 3)];
    char secret[HG_SECRET_MAX_LEN];
    char description[DESCRIPTION_MAX + 1];
    char created_at[HG_TIME_BUF];
} endpoint_state;

static void free_endpoint_state(void *p)
{
    endpoint_state *s = p;

    if (s == NULL)
        return;
    memset(s->secret, 0, sizeof(s->secret));
    free(s->types_json);
    free(s);
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

/* Validates "event_types" into s->filters and s->types_json. */
static bool read_event_types(hg_req *r, json_t *types, endpoint_state *s)
{
    json_t *unique = json_array();
    size_t i;
    json_t *item;

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
        if (s->filters[0] != '\0')
            strcat(s->filters, " ");
        strcat(s->filters, f);
    }
    s->types_json = json_dumps(unique, JSON_COMPACT);
    json_decref(unique);
    return true;
}

static bool read_url(hg_req *r, json_t *url, endpoint_state *s)
{
    char why[300];
    hg_url_result res;

    if (!json_is_string(url)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"url\" must be an http or https URL string");
        return false;
    }
    res = hg_url_check(json_string_value(url),
                       gw_config->allow_private_targets, why, sizeof(why));
    if (res == HG_URL_NOT_ALLOWED) {
        hg_reply_problem(r, HG_E_TARGET_NOT_ALLOWED, "%s", why);
        return false;
    }
    if (res != HG_URL_OK) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "invalid \"url\": %s", why);
        return false;
    }
    snprintf(s->url, sizeof(s->url), "%s", json_string_value(url));
    return true;
}

static bool read_secret(hg_req *r, json_t *secret, endpoint_state *s)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    const char *why = NULL;

    if (secret == NULL || json_is_null(secret)) {
        if (hg_secret_generate(HG_SECRET_DEFAULT_BYTES, s->secret,
                               sizeof(s->secret)) == 0)
            return true;
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return false;
    }
    if (!json_is_string(secret) ||
        json_string_length(secret) >= sizeof(s->secret) ||
        hg_secret_parse(json_string_value(secret), key, sizeof(key), &why) <
            0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "invalid \"secret\": %s",
                         why ? why : "it must be a string such as whsec_...");
        return false;
    }
    memset(key, 0, sizeof(key));
    snprintf(s->secret, sizeof(s->secret), "%s", json_string_value(secret));
    return true;
}

static void on_endpoint_created(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    hg_req *r = arg;
    endpoint_state *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (result == NULL || strcmp(result, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        hg_log_fields f = {.integration_id = r->params[0],
                           .endpoint_id = s->id,
                           .correlation_id = r->request_id};

        hg_info(&f, "endpoint created");
        hg_reply_json(r, 201,
                      json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "id",
                                s->id, "url", s->url, "event_types",
                                json_loads(s->types_json, 0, NULL), "secret",
                                s->secret, "status", "enabled",
                                "description", s->description, "created_at",
                                s->created_at));
    }
    hg_req_release(r);
}

static void create_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    json_t *description;
    endpoint_state *s;
    char k_int[HG_KEY_MAX], k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    char k_ep[HG_KEY_MAX];

    if (body == NULL)
        return;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        json_decref(body);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free_endpoint_state;
    description = json_object_get(body, "description");
    if (description != NULL &&
        (!json_is_string(description) ||
         json_string_length(description) > DESCRIPTION_MAX)) {
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"description\" must be a string of at most %d "
                         "bytes",
                         DESCRIPTION_MAX);
        return;
    }
    if (!read_url(r, json_object_get(body, "url"), s) ||
        !read_event_types(r, json_object_get(body, "event_types"), s) ||
        !read_secret(r, json_object_get(body, "secret"), s)) {
        json_decref(body);
        return;
    }
    snprintf(s->description, sizeof(s->description), "%s",
             description ? json_string_value(description) : "");
    json_decref(body);
    hg_id_new("ep_", s->id);
    hg_time_format(hg_time_ms(), s->created_at);

    const char *argv[] = {
        hg_key(k_int, r->params[0], "integration"),
        hg_key(k_idx, r->params[0], "endpoints"),
        hg_key(k_ver, r->params[0], "epver"),
        hg_key_id(k_ep, r->params[0], "ep", s->id),
        s->id, s->url, s->types_json, s->filters, s->secret, s->created_at,
        s->description, "0",
    };
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_create_endpoint, 0,
                  on_endpoint_created, r, 4, 12, argv, NULL);
}

void gw_create_endpoint(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    gw_authorize(r, r->params[0], SCOPE_MANAGE, create_authorized);
}

static void on_endpoint(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
    } else {
        json_t *out = json_object();

        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const char *field = hg_reply_str(reply, i, NULL);
            const char *value = hg_reply_str(reply, i + 1, NULL);

            if (strcmp(field, "secret") == 0)
                continue;
            if (strcmp(field, "event_types") == 0)
                json_object_set_new(out, field, json_loads(value, 0, NULL));
            else
                json_object_set_new(out, field, json_string(value));
        }
        hg_reply_json(r, 200, out);
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
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!gw_endpoint_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
        return;
    }
    gw_authorize(r, r->params[0], SCOPE_READ, get_authorized);
}
