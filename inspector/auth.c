/* SPDX-License-Identifier: MIT
 *
 * Inspector sign-in. A person signs in with the admin key or an integration
 * API key and gets a session cookie (HttpOnly, SameSite=Strict) whose token
 * is stored in Redis only as its SHA-256, with a 12-hour lifetime. Scripts
 * and tests may instead send the key itself as a bearer token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "inspector/inspector.h"

#define SESSION_TTL_S 43200
#define SESSION_COOKIE "hg_session"
#define TOKEN_MAX 512

typedef struct auth_step {
    hg_req *r;
    void (*next)(hg_req *r);
    bool from_session;
} auth_step;

bool insp_redis_failed(hg_req *r, hg_redis_status status,
                       const redisReply *reply)
{
    if (status == HG_REDIS_OK && !hg_reply_is_error(reply))
        return false;
    hg_reply_unavailable(r, status != HG_REDIS_OK
                                ? hg_redis_status_text(status)
                                : reply->str);
    return true;
}

bool insp_may_see(const hg_req *r, const char *integration_id)
{
    return r->auth_admin || (integration_id != NULL &&
                             strcmp(r->auth_integration, integration_id) == 0);
}

bool insp_may_see_sink(const hg_req *r, const char *sink_id)
{
    return r->auth_admin || (r->auth_integration[0] != '\0' &&
                             strcmp(sink_id, r->auth_integration) == 0);
}

/* Finds the value of one cookie in the Cookie header. */
static bool cookie_value(const hg_req *r, const char *name, char *out,
                         size_t cap)
{
    const char *h = hg_req_header(r, "Cookie");
    size_t nlen = strlen(name);

    while (h != NULL && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        if (strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            size_t n = strcspn(h + nlen + 1, ";");

            if (n == 0 || n >= cap)
                return false;
            memcpy(out, h + nlen + 1, n);
            out[n] = '\0';
            return true;
        }
        h = strchr(h, ';');
    }
    return false;
}

static bool is_admin_hash(const char *sha256)
{
    return insp->cfg->admin_key_set &&
           hg_ct_equal(sha256, insp->cfg->admin_key_sha256, 64);
}

static void reply_unauthorized(hg_req *r)
{
    hg_reply_header(r, "WWW-Authenticate", "Bearer realm=\"hookgate\"");
    hg_reply_problem(r, HG_E_UNAUTHORIZED,
                     "sign in with the admin key or an integration API key");
}

/* Reads "integration_id" and "role" from a flat HGETALL reply. */
static void read_identity(const redisReply *reply, const char **integration,
                          const char **role)
{
    *integration = NULL;
    *role = NULL;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const char *k = hg_reply_str(reply, i, NULL);
        const char *v = hg_reply_str(reply, i + 1, NULL);

        if (k != NULL && strcmp(k, "integration_id") == 0)
            *integration = v;
        else if (k != NULL && strcmp(k, "role") == 0)
            *role = v;
    }
}

static void on_identity(hg_redis_status status, redisReply *reply, void *arg)
{
    auth_step *a = arg;
    hg_req *r = a->r;
    const char *integration, *role;

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r)) {
        read_identity(reply, &integration, &role);
        if (role != NULL && strcmp(role, "admin") == 0 && a->from_session) {
            r->auth_admin = true;
            a->next(r);
        } else if (integration != NULL && integration[0] != '\0') {
            snprintf(r->auth_integration, sizeof(r->auth_integration), "%s",
                     integration);
            a->next(r);
        } else {
            reply_unauthorized(r);
        }
    }
    hg_req_release(r);
    free(a);
}

/* Resolves a session token or a presented key, then calls next(r). */
static void resolve(hg_req *r, const char *token, bool from_session,
                    void (*next)(hg_req *r))
{
    char sha256[65];
    char key[HG_KEY_MAX];
    auth_step *a;

    hg_sha256_hex(token, strlen(token), sha256);
    if (!from_session && is_admin_hash(sha256)) {
        r->auth_admin = true;
        next(r);
        return;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    a->r = r;
    a->next = next;
    a->from_session = from_session;
    if (from_session)
        snprintf(key, sizeof(key), "hg:session:%s", sha256);
    else
        hg_key_apikey(key, sha256);
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command(insp->redis, 0, on_identity, a, "HGETALL %s", key);
}

void insp_authorize(hg_req *r, void (*next)(hg_req *r))
{
    char token[TOKEN_MAX];
    bool from_session = false;

    /* An explicit bearer key wins over a session cookie, which may be
     * stale. */
    if (hg_req_bearer(r, token, sizeof(token))) {
        from_session = false;
    } else if (cookie_value(r, SESSION_COOKIE, token, sizeof(token))) {
        from_session = true;
    } else {
        reply_unauthorized(r);
        return;
    }
    resolve(r, token, from_session, next);
    memset(token, 0, sizeof(token));
}

/* ---- sessions ----------------------------------------------------------- */

typedef struct session_state {
    char token[96];
    char role[16];
    char integration_id[64];
} session_state;

static void free_session_state(void *p)
{
    session_state *s = p;

    if (s != NULL)
        memset(s->token, 0, sizeof(s->token));
    free(s);
}

static void on_session_stored(hg_redis_status status, redisReply *reply,
                              void *arg)
{
    hg_req *r = arg;
    session_state *s = r->data;
    char cookie[256];

    if (!insp_redis_failed(r, status, reply)) {
        hg_log_fields f = {.integration_id = s->integration_id[0]
                                                 ? s->integration_id
                                                 : NULL,
                           .correlation_id = r->request_id};

        hg_info(&f, "inspector sign-in as %s", s->role);
        snprintf(cookie, sizeof(cookie),
                 SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; "
                                "Max-Age=%d",
                 s->token, SESSION_TTL_S);
        hg_reply_header(r, "Set-Cookie", cookie);
        hg_reply_json(r, 200,
                      json_pack("{s:s, s:o}", "role", s->role,
                                "integration_id",
                                s->integration_id[0]
                                    ? json_string(s->integration_id)
                                    : json_null()));
    }
    hg_req_release(r);
}

static void store_session(hg_req *r)
{
    session_state *s = r->data;
    char sha256[65];
    char key[HG_KEY_MAX];
    char ttl[16];

    if (hg_api_key_generate("hgs_", s->token, sizeof(s->token)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return;
    }
    hg_sha256_hex(s->token, strlen(s->token), sha256);
    snprintf(key, sizeof(key), "hg:session:%s", sha256);
    snprintf(ttl, sizeof(ttl), "%d", SESSION_TTL_S);

    const char *argv[] = {"HSET", key, "role", s->role, "integration_id",
                          s->integration_id};
    /* MULTI is not needed: a session without its expiry would only live
     * longer, and EXPIRE follows on the same connection. */
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command_argv(insp->redis, 0, NULL, NULL, 6, argv, NULL);
    hg_redis_command(insp->redis, 0, on_session_stored, r, "EXPIRE %s %s",
                     key, ttl);
}

static void on_key_checked(hg_req *r)
{
    session_state *s = r->data;

    if (r->auth_admin) {
        snprintf(s->role, sizeof(s->role), "admin");
    } else {
        snprintf(s->role, sizeof(s->role), "integration");
        snprintf(s->integration_id, sizeof(s->integration_id), "%s",
                 r->auth_integration);
    }
    store_session(r);
}

void insp_session_create(hg_req *r)
{
    size_t len;
    const char *body = hg_req_body(r, &len);
    json_t *json = json_loadb(body, len, 0, NULL);
    const char *key = json_string_value(json_object_get(json, "key"));
    char header[TOKEN_MAX + 16];
    session_state *s;

    if (key == NULL || strlen(key) == 0 || strlen(key) >= TOKEN_MAX ||
        strpbrk(key, " \t\r\n") != NULL) {
        json_decref(json);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "send {\"key\": \"<admin key or API key>\"}");
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        json_decref(json);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free_session_state;

    /* The key is checked exactly as a bearer key would be. */
    snprintf(header, sizeof(header), "%s", key);
    json_decref(json);
    resolve(r, header, false, on_key_checked);
    memset(header, 0, sizeof(header));
}

static void reply_identity(hg_req *r)
{
    hg_reply_json(r, 200,
                  json_pack("{s:s, s:o}", "role",
                            r->auth_admin ? "admin" : "integration",
                            "integration_id",
                            r->auth_admin ? json_null()
                                          : json_string(r->auth_integration)));
}

void insp_session_get(hg_req *r)
{
    insp_authorize(r, reply_identity);
}

void insp_session_delete(hg_req *r)
{
    char token[TOKEN_MAX];
    char sha256[65];

    if (cookie_value(r, SESSION_COOKIE, token, sizeof(token))) {
        char key[HG_KEY_MAX];

        hg_sha256_hex(token, strlen(token), sha256);
        memset(token, 0, sizeof(token));
        snprintf(key, sizeof(key), "hg:session:%s", sha256);
        hg_redis_command(insp->redis, 0, NULL, NULL, "DEL %s", key);
    }
    hg_reply_header(r, "Set-Cookie", SESSION_COOKIE "=; Path=/; HttpOnly; "
                                     "SameSite=Strict; Max-Age=0");
    hg_reply(r, 204, NULL, NULL, 0);
}
