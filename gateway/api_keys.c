/* SPDX-License-Identifier: MIT
 *
 * Credentials of an integration: API keys and OAuth clients for the client
 * credentials grant, both with scopes, an optional expiry and revocation.
 * Both are shown once when created and stored only as SHA-256 hashes;
 * their records live in the integration's slot, where authorize.lua checks
 * them, and a global index maps a key or client id to its integration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/validate.h"

#define NAME_MAX_BYTES 100
#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

typedef enum credential_kind { KIND_KEY, KIND_CLIENT } credential_kind;

typedef struct credential_state {
    credential_kind kind;
    char id[HG_ID_MAX];
    char name[NAME_MAX_BYTES + 1];
    char scopes[GW_SCOPES_TEXT_MAX];
    char secret[96];      /* the key or client secret, shown once */
    char sha256[65];
    char prefix[16];
    char created_at[HG_TIME_BUF];
    char expires_at[HG_TIME_BUF];
    char expires_ms[24];
    char revoked_at[HG_TIME_BUF];
} credential_state;

static void free_state(void *p)
{
    credential_state *s = p;

    if (s != NULL)
        memset(s->secret, 0, sizeof(s->secret));
    free(s);
}

static const char *kind_name(credential_kind kind)
{
    return kind == KIND_KEY ? "key" : "client";
}

static const char *list_suffix(credential_kind kind)
{
    return kind == KIND_KEY ? "keys" : "clients";
}

static credential_kind route_kind(const hg_req *r)
{
    return strstr(r->route->pattern, "/oauth-clients") ? KIND_CLIENT
                                                       : KIND_KEY;
}

/* The path segment of the collection: "keys" or "oauth-clients". */
static const char *route_segment(credential_kind kind)
{
    return kind == KIND_KEY ? "keys" : "oauth-clients";
}

/* True for an id of this kind; the sandbox's fixed key id is one too. */
static bool credential_id_valid(credential_kind kind, const char *id)
{
    if (kind == KIND_CLIENT)
        return hg_id_valid("cli_", id);
    return hg_id_valid("key_", id) || strcmp(id, "key_sandbox") == 0;
}

/* ---- validation ------------------------------------------------------------ */

static gw_validate_result read_expiry(json_t *body, credential_state *s)
{
    long long when = 0;
    gw_validate_result res = gw_validate_key_expiry(body, hg_time_ms(), &when);

    if (!res.ok)
        return res;
    snprintf(s->expires_ms, sizeof(s->expires_ms), "%lld", when);
    if (when > 0)
        hg_time_format(when, s->expires_at);
    return res;
}

/* Reads the name, scopes and expiry of a create body. */
static bool read_body(hg_req *r, credential_state *s)
{
    json_t *body = gw_json_body(r);
    json_t *name;
    gw_validate_result res;

    if (body == NULL)
        return false;
    name = json_object_get(body, "name");
    res = gw_validate_credential_members(body);
    if (res.ok)
        res = gw_validate_credential_name(name);
    if (res.ok) {
        snprintf(s->name, sizeof(s->name), "%s",
                 name ? json_string_value(name) : "");
        res = gw_validate_scopes(json_object_get(body, "scopes"), s->scopes,
                                 sizeof(s->scopes));
    }
    if (res.ok)
        res = read_expiry(body, s);
    json_decref(body);

    if (!res.ok)
        hg_reply_problem(r, res.code, "%s", res.message);
    return res.ok;
}

/* ---- create ----------------------------------------------------------------- */

static json_t *credential_json(const credential_state *s, bool with_secret)
{
    json_t *scopes = json_array();
    char copy[32];
    char *save = NULL;

    snprintf(copy, sizeof(copy), "%s", s->scopes);
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        json_array_append_new(scopes, json_string(t));
    json_t *out = json_pack("{s:s, s:s, s:o, s:s}", "id", s->id, "name",
                            s->name, "scopes", scopes, "created_at",
                            s->created_at);
    if (s->kind == KIND_KEY)
        json_object_set_new(out, "prefix", json_string(s->prefix));
    json_object_set_new(out, "expires_at",
                        s->expires_at[0] ? json_string(s->expires_at)
                                         : json_null());
    if (s->kind == KIND_KEY && with_secret) {
        json_object_set_new(out, "key", json_string(s->secret));
    } else if (with_secret) {
        json_object_set_new(out, "client_id", json_string(s->id));
        json_object_set_new(out, "client_secret", json_string(s->secret));
    }
    return out;
}

static void on_index_written(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;
    credential_state *s = r->data;
    char location[HG_KEY_MAX];

    if (!gw_redis_failed(r, status, reply)) {
        gw_audit(r, r->params[0],
                 s->kind == KIND_KEY ? "api_key.create" : "oauth_client.create",
                 s->id, json_pack("{s:s}", "scopes", s->scopes));
        snprintf(location, sizeof(location), "/api/v1/integrations/%s/%s/%s",
                 r->params[0], route_segment(s->kind), s->id);
        hg_reply_header(r, "Location", location);
        hg_reply_json(r, 201, credential_json(s, true));
    }
    hg_req_release(r);
}

static void on_created(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    credential_state *s = r->data;
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STRING ||
               strcmp(reply->str, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        /* The global index is in another slot, so it is a second write;
         * until it lands the credential works in the API but not for the
         * inspector or the token route. */
        if (s->kind == KIND_KEY)
            hg_key_apikey(key, s->sha256);
        else
            snprintf(key, sizeof(key), "hg:oauth:client:%s", s->id);
        hg_req_async(r, gw_config->redis_timeout_ms + 1000);
        hg_redis_command(t->redis, 0, on_index_written, r,
                         "HSET %s integration_id %s key_id %s", key,
                         r->params[0], s->id);
    }
    hg_req_release(r);
}

static void create_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    credential_state *s = calloc(1, sizeof(*s));
    char k_int[HG_KEY_MAX], k_list[HG_KEY_MAX], k_rec[HG_KEY_MAX];
    char suffix[96];

    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free_state;
    s->kind = route_kind(r);
    snprintf(s->expires_ms, sizeof(s->expires_ms), "0");
    if (!read_body(r, s))
        return;
    /* A credential grants at most its own scopes, so a key that may only
     * manage cannot create one that reads or publishes. The admin key has
     * every scope. */
    if ((gw_scopes_parse(s->scopes) & ~r->auth_scopes & SCOPE_ALL) != 0) {
        char held[GW_SCOPES_TEXT_MAX];

        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "this credential has the scopes \"%s\" and can "
                         "grant only those; ask for fewer scopes or use a "
                         "credential that has them",
                         gw_scopes_format(r->auth_scopes & SCOPE_ALL, held,
                                          sizeof(held)));
        return;
    }
    hg_id_new(s->kind == KIND_KEY ? "key_" : "cli_", s->id);
    if (hg_api_key_generate(s->kind == KIND_KEY ? "hgk_" : "hgcs_", s->secret,
                            sizeof(s->secret)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return;
    }
    hg_sha256_hex(s->secret, strlen(s->secret), s->sha256);
    snprintf(s->prefix, sizeof(s->prefix), "%.8s", s->secret);
    hg_time_format(hg_time_ms(), s->created_at);
    if (s->name[0] == '\0')
        snprintf(s->name, sizeof(s->name), "%s", s->id);

    snprintf(suffix, sizeof(suffix), "%s:%s", kind_name(s->kind),
             s->kind == KIND_KEY ? s->sha256 : s->id);
    const char *argv[] = {
        hg_key(k_int, r->params[0], "integration"),
        hg_key(k_list, r->params[0], list_suffix(s->kind)),
        hg_key(k_rec, r->params[0], suffix),
        s->id, s->kind == KIND_KEY ? s->sha256 : "1",
        "id", s->id, "name", s->name, "scopes", s->scopes,
        "prefix", s->kind == KIND_KEY ? s->prefix : "",
        "created_at", s->created_at, "expires_at", s->expires_at,
        "expires_ms", s->expires_ms, "revoked_at", "",
        "secret_sha256", s->kind == KIND_CLIENT ? s->sha256 : "",
    };
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_key_create, 0, on_created, r, 3,
                  (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
}

void gw_create_credential(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE,
                              create_authorized);
}

/* ---- list --------------------------------------------------------------------- */

static json_t *record_json(const redisReply *fields, credential_kind kind)
{
    credential_state s;

    memset(&s, 0, sizeof(s));
    s.kind = kind;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);
        const char *v = hg_reply_str(fields, i + 1, NULL);

        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "id") == 0)
            snprintf(s.id, sizeof(s.id), "%s", v);
        else if (strcmp(k, "name") == 0)
            snprintf(s.name, sizeof(s.name), "%s", v);
        else if (strcmp(k, "scopes") == 0)
            snprintf(s.scopes, sizeof(s.scopes), "%s", v);
        else if (strcmp(k, "prefix") == 0)
            snprintf(s.prefix, sizeof(s.prefix), "%s", v);
        else if (strcmp(k, "created_at") == 0)
            snprintf(s.created_at, sizeof(s.created_at), "%s", v);
        else if (strcmp(k, "expires_at") == 0)
            snprintf(s.expires_at, sizeof(s.expires_at), "%s", v);
        else if (strcmp(k, "revoked_at") == 0)
            snprintf(s.revoked_at, sizeof(s.revoked_at), "%s", v);
    }
    json_t *out = credential_json(&s, false);
    json_object_set_new(out, "revoked_at",
                        s.revoked_at[0] ? json_string(s.revoked_at)
                                        : json_null());
    return out;
}

static void on_list(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r)) {
        const char *next = hg_reply_str(reply, 0, NULL);
        json_t *items = json_array();

        for (size_t i = 1; i < reply->elements; i++)
            json_array_append_new(items, record_json(reply->element[i],
                                                     route_kind(r)));
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
    credential_kind kind = route_kind(r);
    const char *cursor = hg_req_query(r, "cursor");
    char key[HG_KEY_MAX], limit[16];
    int n;

    if (!gw_query_limit(r, PAGE_DEFAULT, PAGE_MAX, &n))
        return;
    if (cursor != NULL && !credential_id_valid(kind, cursor)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"cursor\" must be the next_cursor of a previous "
                         "page");
        return;
    }
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(key, r->params[0], list_suffix(kind)),
                          r->params[0], kind_name(kind),
                          cursor ? cursor : "", limit};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_key_list, 0, on_list, r, 1, 5, argv,
                  NULL);
}

void gw_list_credentials(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE,
                              list_authorized);
}

/* ---- revoke --------------------------------------------------------------------- */

static void on_revoked(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    gw_thread *t = hg_req_thread(r);
    credential_kind kind = route_kind(r);
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *suffix = hg_reply_str(reply, 1, NULL);
    char key[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result == NULL || strcmp(result, "not_found") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "%s %s does not exist",
                         kind == KIND_KEY ? "API key" : "OAuth client",
                         r->params[1]);
    } else if (strcmp(result, "already_revoked") == 0) {
        hg_reply_problem(r, HG_E_ALREADY_REVOKED, "%s %s is already revoked",
                         kind == KIND_KEY ? "API key" : "OAuth client",
                         r->params[1]);
    } else {
        /* Drops the global index too, so the inspector and the token
         * route stop accepting it; the record keeps revoked_at. */
        if (kind == KIND_KEY)
            hg_key_apikey(key, suffix ? suffix : "");
        else
            snprintf(key, sizeof(key), "hg:oauth:client:%s", r->params[1]);
        hg_redis_command(t->redis, 0, NULL, NULL, "DEL %s", key);
        gw_audit(r, r->params[0],
                 kind == KIND_KEY ? "api_key.revoke" : "oauth_client.revoke",
                 r->params[1], NULL);
        hg_reply(r, 204, NULL, NULL, 0);
    }
    hg_req_release(r);
}

static void revoke_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    credential_kind kind = route_kind(r);
    char key[HG_KEY_MAX], now[HG_TIME_BUF];
    const char *argv[] = {hg_key(key, r->params[0], list_suffix(kind)),
                          r->params[0], kind_name(kind), r->params[1],
                          hg_time_format(hg_time_ms(), now)};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_key_revoke, 0, on_revoked, r, 1, 5,
                  argv, NULL);
}

void gw_revoke_credential(hg_req *r)
{
    credential_kind kind = route_kind(r);

    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!credential_id_valid(kind, r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "%s %s does not exist",
                         kind == KIND_KEY ? "API key" : "OAuth client",
                         r->params[1]);
        return;
    }
    gw_authorize_existing(r, r->params[0], SCOPE_MANAGE, revoke_authorized);
}
