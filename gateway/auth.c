/* SPDX-License-Identifier: MIT
 *
 * Bearer-key authentication. Keys are looked up by their SHA-256 in Redis
 * (keys are never stored in clear) and cached per thread for a few seconds.
 * The admin key is compared by hash in constant time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "gateway/gateway.h"

#define TOKEN_MAX 512

typedef struct auth_step {
    hg_req *r;
    char integration_id[64];
    unsigned scope;
    void (*next)(hg_req *r);
    char sha256[65];
} auth_step;

static unsigned parse_scopes(const char *s)
{
    unsigned scopes = 0;

    if (strstr(s, "publish") != NULL)
        scopes |= SCOPE_PUBLISH;
    if (strstr(s, "read") != NULL)
        scopes |= SCOPE_READ;
    if (strstr(s, "manage") != NULL)
        scopes |= SCOPE_MANAGE;
    return scopes;
}

static const char *scope_name(unsigned scope)
{
    switch (scope) {
    case SCOPE_PUBLISH:
        return "publish";
    case SCOPE_READ:
        return "read";
    case SCOPE_MANAGE:
        return "manage";
    default:
        return "admin";
    }
}

static void reply_unauthorized(hg_req *r, const char *detail)
{
    hg_reply_header(r, "WWW-Authenticate", "Bearer realm=\"hookgate\"");
    hg_reply_problem(r, HG_E_UNAUTHORIZED, "%s", detail);
}

/* Decides with a resolved key: its integration and scopes. */
static void decide(hg_req *r, const char *key_integration, unsigned scopes,
                   const char *integration_id, unsigned scope,
                   void (*next)(hg_req *r))
{
    if (integration_id == NULL) {
        hg_reply_problem(r, HG_E_FORBIDDEN, "this route needs the admin key");
        return;
    }
    if (strcmp(key_integration, integration_id) != 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the API key does not belong to integration %s",
                         integration_id);
        return;
    }
    if ((scopes & scope) != scope) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the API key lacks the %s scope",
                         scope_name(scope));
        return;
    }
    snprintf(r->auth_integration, sizeof(r->auth_integration), "%s",
             key_integration);
    r->auth_scopes = scopes;
    next(r);
}

static key_cache_entry *cache_slot(gw_thread *t, const char *sha256)
{
    unsigned idx = 0;

    /* The hash is uniformly distributed, so its first hex digits index the
     * cache well. */
    for (int i = 0; i < 6; i++) {
        char c = sha256[i];

        idx = idx * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return &t->keys[idx % KEY_CACHE_SLOTS];
}

static void on_key_lookup(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    auth_step *a = arg;
    hg_req *r = a->r;
    gw_thread *t = hg_req_thread(r);
    const char *integration = NULL;
    const char *scopes = "";

    if (gw_redis_failed(r, status, reply))
        goto done;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const char *field = hg_reply_str(reply, i, NULL);
        const char *value = hg_reply_str(reply, i + 1, NULL);

        if (field != NULL && strcmp(field, "integration_id") == 0)
            integration = value;
        else if (field != NULL && strcmp(field, "scopes") == 0)
            scopes = value ? value : "";
    }
    if (integration == NULL) {
        reply_unauthorized(r, "the API key is not valid");
        goto done;
    }

    key_cache_entry *e = cache_slot(t, a->sha256);

    memcpy(e->sha256, a->sha256, sizeof(e->sha256));
    snprintf(e->integration_id, sizeof(e->integration_id), "%s",
             integration);
    e->scopes = parse_scopes(scopes);
    e->expires_ms = hg_mono_ms() + KEY_CACHE_TTL_MS;
    if (!hg_req_done(r))
        decide(r, e->integration_id, e->scopes,
               a->integration_id[0] ? a->integration_id : NULL, a->scope,
               a->next);
done:
    hg_req_release(r);
    free(a);
}

void gw_authorize(hg_req *r, const char *integration_id, unsigned scope,
                  void (*next)(hg_req *r))
{
    gw_thread *t = hg_req_thread(r);
    char token[TOKEN_MAX + 1];
    char sha256[65];
    char key[HG_KEY_MAX];
    key_cache_entry *e;
    auth_step *a;

    if (!hg_req_bearer(r, token, sizeof(token))) {
        reply_unauthorized(r, "send the API key as 'Authorization: Bearer "
                              "<key>'");
        return;
    }
    hg_sha256_hex(token, strlen(token), sha256);
    memset(token, 0, sizeof(token));

    if (gw_config->admin_key_set &&
        hg_ct_equal(sha256, gw_config->admin_key_sha256, 64)) {
        r->auth_admin = true;
        r->auth_scopes = SCOPE_ALL;
        next(r);
        return;
    }

    e = cache_slot(t, sha256);
    if (e->expires_ms > hg_mono_ms() && hg_ct_equal(e->sha256, sha256, 64)) {
        decide(r, e->integration_id, e->scopes, integration_id, scope, next);
        return;
    }

    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    a->r = r;
    snprintf(a->integration_id, sizeof(a->integration_id), "%s",
             integration_id ? integration_id : "");
    a->scope = scope;
    a->next = next;
    memcpy(a->sha256, sha256, sizeof(sha256));
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_key_lookup, a, "HGETALL %s",
                     hg_key_apikey(key, sha256));
}

bool gw_check_integration_param(hg_req *r, const char *id)
{
    if (hg_integration_id_valid(id))
        return true;
    hg_reply_problem(r, HG_E_NOT_FOUND,
                     "integration ids match [a-z0-9][a-z0-9_-]{0,62}");
    return false;
}
