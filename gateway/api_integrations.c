/* SPDX-License-Identifier: MIT
 *
 * Integration routes: creation with the admin key (returning the first API
 * key, shown once and stored only as its SHA-256) and reading.
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/gateway.h"

#define NAME_MAX_CHARS 200
#define API_KEY_MAX 96

typedef struct create_state {
    char id[64];
    char name[NAME_MAX_CHARS * 4 + 1];
    char api_key[API_KEY_MAX];
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
        } else {
            hg_log_fields f = {.integration_id = s->id,
                               .correlation_id = r->request_id};

            hg_info(&f, "integration created");
            hg_reply_json(r, 201,
                          json_pack("{s:s, s:s, s:s, s:s}", "id", s->id,
                                    "name", s->name, "api_key", s->api_key,
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
    create_state *s;
    char sha256[65];
    char k_int[HG_KEY_MAX], k_api[HG_KEY_MAX];
    char k_keys[HG_KEY_MAX];

    if (body == NULL)
        return;
    id = json_object_get(body, "id");
    name = json_object_get(body, "name");
    if (!json_is_string(id) || !hg_integration_id_valid(json_string_value(id))) {
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"id\" must be a string matching "
                         "[a-z0-9][a-z0-9_-]{0,62}");
        return;
    }
    if (name != NULL && (!json_is_string(name) ||
                         json_string_length(name) == 0 ||
                         json_string_length(name) > NAME_MAX_CHARS)) {
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"name\" must be a string of 1 to %d bytes",
                         NAME_MAX_CHARS);
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

    const char *argv[] = {
        HG_KEY_INTEGRATIONS, hg_key(k_int, s->id, "integration"),
        hg_key_apikey(k_api, sha256), hg_key(k_keys, s->id, "apikeys"),
        s->id, s->name, s->created_at, sha256, "publish read manage", "0",
    };
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_create_integration, 0, on_created, r,
                  4, 10, argv, NULL);
}

void gw_create_integration(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, create_authorized);
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
        json_t *out = json_object();

        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            json_object_set_new(out, hg_reply_str(reply, i, NULL),
                                json_string(hg_reply_str(reply, i + 1, NULL)));
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
    hg_redis_command(t->redis, 0, on_integration, r, "HGETALL %s",
                     hg_key(key, r->params[0], "integration"));
}

void gw_get_integration(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    gw_authorize(r, r->params[0], SCOPE_READ, get_authorized);
}
