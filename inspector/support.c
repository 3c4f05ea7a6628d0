/* SPDX-License-Identifier: MIT
 *
 * Support tokens: credentials the admin gives to support staff, with the
 * role "viewer" (read every integration) or "support" (read, plus
 * redeliver, replay, send test events, enable or disable endpoints). A
 * token is "hgst_" + 32 random bytes in base64url, shown once at creation
 * and stored only as its SHA-256: hg:support:<sha256> holds id, name,
 * role, created_at, expires_at and expires_ms, and expires with the token;
 * hg:support:index maps each id to the hash for listing and revocation.
 * Creation and revocation are written to the global audit log. auth.c and
 * the gateway accept the tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/text.h"
#include "inspector/inspector.h"

#define SUPPORT_INDEX "hg:support:index"
#define EXPIRES_MIN_S 3600LL
#define EXPIRES_MAX_S 31536000LL
#define EXPIRES_DEFAULT_S 2592000LL
#define NAME_MAX_BYTES 100

typedef struct support_state {
    char id[HG_ID_MAX];
    char token[96];
    char sha256[65];
    char name[NAME_MAX_BYTES + 1];
    char role[16];
    char created_at[HG_TIME_BUF];
    char expires_at[HG_TIME_BUF];
    char expires_ms[24];
} support_state;

static void free_state(void *p)
{
    support_state *s = p;

    if (s != NULL)
        memset(s->token, 0, sizeof(s->token));
    free(s);
}

/* Sends 403 and returns false unless the caller is the admin. */
static bool require_admin(hg_req *r)
{
    if (r->auth_admin)
        return true;
    hg_reply_problem(r, HG_E_FORBIDDEN,
                     "support tokens are managed with the admin key");
    return false;
}

static void audit(hg_req *r, const char *action, const char *id,
                  json_t *details)
{
    char *text = hg_audit_record(r->auth_actor, action, id, r->request_id,
                                 NULL, details);

    if (text == NULL)
        return;
    hg_audit_append(insp->redis, HG_KEY_AUDIT, action, r->auth_actor, text);
    free(text);
}

/* ---- create ------------------------------------------------------------- */

static bool name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > NAME_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return false;
    }
    return !hg_text_has_c1_control(name, len);
}

/* Reads and checks the create body into s. Sends 422 and returns false
 * when it is invalid. */
static bool read_body(hg_req *r, support_state *s, long long *expires_in_s)
{
    size_t len;
    const char *body = hg_req_body(r, &len);
    json_error_t jerr;
    /* A repeated member would leave open which "role" was meant. */
    json_t *json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *field;
    json_t *value;
    const char *name, *role;
    json_t *expires;
    bool ok = false;

    if (json == NULL) {
        hg_reply_problem(r, HG_E_MALFORMED_JSON,
                         "the body is not valid JSON or repeats a member: "
                         "%s at line %d",
                         jerr.text, jerr.line);
        goto out;
    }
    if (!json_is_object(json)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "send a JSON object: {\"name\": \"alice\", \"role\": "
                         "\"viewer\" or \"support\", \"expires_in_s\": "
                         "<optional seconds>}");
        goto out;
    }
    json_object_foreach(json, field, value) {
        if (strcmp(field, "name") != 0 && strcmp(field, "role") != 0 &&
            strcmp(field, "expires_in_s") != 0) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "unknown field \"%.64s\"; the fields are name, "
                             "role and expires_in_s",
                             field);
            goto out;
        }
    }
    name = json_string_value(json_object_get(json, "name"));
    role = json_string_value(json_object_get(json, "role"));
    expires = json_object_get(json, "expires_in_s");
    if (name == NULL || !name_valid(name)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"name\" must be a string of 1 to %d bytes "
                         "without control characters",
                         NAME_MAX_BYTES);
        goto out;
    }
    if (role == NULL ||
        (strcmp(role, "viewer") != 0 && strcmp(role, "support") != 0)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"role\" must be \"viewer\" or \"support\"");
        goto out;
    }
    *expires_in_s = EXPIRES_DEFAULT_S;
    if (expires != NULL) {
        if (!json_is_integer(expires) ||
            json_integer_value(expires) < EXPIRES_MIN_S ||
            json_integer_value(expires) > EXPIRES_MAX_S) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "\"expires_in_s\" must be an integer from %lld "
                             "to %lld (seconds)",
                             EXPIRES_MIN_S, EXPIRES_MAX_S);
            goto out;
        }
        *expires_in_s = json_integer_value(expires);
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->role, sizeof(s->role), "%s", role);
    ok = true;
out:
    json_decref(json);
    return ok;
}

static void on_created(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    support_state *s = r->data;
    hg_log_fields f = {.correlation_id = r->request_id};

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied, or the client is gone */
    } else if (reply->type != REDIS_REPLY_STATUS &&
               reply->type != REDIS_REPLY_STRING) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(reply->str, "ok") != 0) {
        /* Two random 32-byte tokens or ids colliding is not expected. */
        hg_reply_problem(r, HG_E_CONFLICT,
                         "a support token with this id exists; retry");
    } else {
        hg_info(&f, "support token %s created with role %s", s->id, s->role);
        audit(r, "support_token.create", s->id,
              json_pack("{s:s, s:s, s:s}", "name", s->name, "role", s->role,
                        "expires_at", s->expires_at));
        hg_reply_json(r, 201,
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", s->id,
                                "name", s->name, "role", s->role,
                                "created_at", s->created_at, "expires_at",
                                s->expires_at, "token", s->token));
    }
    hg_req_release(r);
}

static void create_authorized(hg_req *r)
{
    support_state *s;
    long long expires_in_s;
    int64_t now = hg_time_ms();
    char record[HG_KEY_MAX];

    if (!require_admin(r))
        return;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free_state;
    /* Only JSON, which a form of another page cannot send. */
    if (!hg_req_is_json(r)) {
        hg_reply_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE,
                         "send the body as Content-Type: application/json");
        return;
    }
    if (!read_body(r, s, &expires_in_s))
        return;
    if (hg_api_key_generate("hgst_", s->token, sizeof(s->token)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return;
    }
    hg_id_new("sup_", s->id);
    hg_sha256_hex(s->token, strlen(s->token), s->sha256);
    hg_time_format(now, s->created_at);
    hg_time_format(now + expires_in_s * 1000, s->expires_at);
    snprintf(s->expires_ms, sizeof(s->expires_ms), "%lld",
             (long long)now + expires_in_s * 1000);
    snprintf(record, sizeof(record), "hg:support:%s", s->sha256);

    const char *argv[] = {
        record,       SUPPORT_INDEX, s->id,         s->sha256,
        s->expires_ms, "id",         s->id,         "name",
        s->name,      "role",        s->role,       "created_at",
        s->created_at, "expires_at", s->expires_at, "expires_ms",
        s->expires_ms,
    };
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_support_create, 0, on_created, r,
                  2, 17, argv, NULL);
}

void insp_support_token_create(hg_req *r)
{
    insp_authorize(r, create_authorized);
}

/* ---- list --------------------------------------------------------------- */

static void on_listed(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    json_t *tokens;

    if (insp_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    tokens = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *t = reply->element[i];
        const char *f[5];

        for (size_t k = 0; k < 5; k++)
            f[k] = hg_reply_str(t, k, NULL);
        if (f[0] == NULL || f[1] == NULL || f[2] == NULL || f[3] == NULL ||
            f[4] == NULL)
            continue;
        json_array_append_new(tokens,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
                                        f[0], "name", f[1], "role", f[2],
                                        "created_at", f[3], "expires_at",
                                        f[4]));
    }
    hg_reply_json(r, 200, json_pack("{s:o}", "support_tokens", tokens));
done:
    hg_req_release(r);
}

static void list_authorized(hg_req *r)
{
    const char *argv[] = {SUPPORT_INDEX};

    if (!require_admin(r))
        return;
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_support_list, 0, on_listed, r, 1,
                  1, argv, NULL);
}

void insp_support_token_list(hg_req *r)
{
    insp_authorize(r, list_authorized);
}

/* ---- revoke ------------------------------------------------------------- */

static void on_revoked(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);
    hg_log_fields f = {.correlation_id = r->request_id};

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied, or the client is gone */
    } else if (result != NULL && strcmp(result, "ok") == 0) {
        const char *name = hg_reply_str(reply, 1, NULL);
        const char *role = hg_reply_str(reply, 2, NULL);

        hg_info(&f, "support token %s revoked", r->params[0]);
        /* Streams opened with the token end at their next re-check. */
        feed_hub_recheck_soon(insp->feed);
        audit(r, "support_token.revoke", r->params[0],
              json_pack("{s:s, s:s}", "name", name ? name : "", "role",
                        role ? role : ""));
        hg_reply(r, 204, NULL, NULL, 0);
    } else {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "support token %s does not exist", r->params[0]);
    }
    hg_req_release(r);
}

static void revoke_authorized(hg_req *r)
{
    const char *argv[] = {SUPPORT_INDEX, r->params[0]};

    if (!require_admin(r))
        return;
    if (!hg_id_valid("sup_", r->params[0])) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "support token %.80s does not exist", r->params[0]);
        return;
    }
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_support_revoke, 0, on_revoked, r,
                  1, 2, argv, NULL);
}

void insp_support_token_revoke(hg_req *r)
{
    insp_authorize(r, revoke_authorized);
}
