/* SPDX-License-Identifier: MIT
 *
 * Authentication and authorization of API calls. A caller presents the
 * admin key, an integration API key (Authorization: Bearer, or
 * Ocp-Apim-Subscription-Key behind Azure API Management) or an OAuth access
 * token. The admin key and token signatures are checked here; API keys and
 * the OAuth client behind a token are checked in Redis by authorize.lua,
 * which also applies the rate limits, so revocation takes effect at once
 * and limits hold across gateway processes. The inspector forwards its
 * callers' own credentials, so inspector session tokens and support tokens
 * are accepted too (see authorize_delegated below).
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
#include "common/scripts.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"

#define TOKEN_MAX 512
#define TOKEN_PREFIX "hgt_"
#define SESSION_PREFIX "hgs_"
#define SUPPORT_PREFIX "hgst_"
/* WWW-Authenticate of a credential that was presented and refused
 * (RFC 6750, section 3.1). */
#define BEARER_INVALID "Bearer realm=\"hookgate\", error=\"invalid_token\""

typedef struct auth_step {
    hg_req *r;
    gw_credential cred;
    char integration_id[64];
    bool any_integration; /* the route names no integration */
    bool existing;        /* gw_authorize_existing() */
    unsigned scope;
    void (*next)(hg_req *r);
} auth_step;

const char *gw_scope_name(unsigned scope)
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

unsigned gw_scopes_parse(const char *s)
{
    unsigned scopes = 0;
    const char *p = s;

    while (p != NULL && *p) {
        size_t n = strcspn(p, " ");

        if (n == 7 && strncmp(p, "publish", 7) == 0)
            scopes |= SCOPE_PUBLISH;
        else if (n == 4 && strncmp(p, "read", 4) == 0)
            scopes |= SCOPE_READ;
        else if (n == 6 && strncmp(p, "manage", 6) == 0)
            scopes |= SCOPE_MANAGE;
        p += n;
        while (*p == ' ')
            p++;
    }
    return scopes;
}

char *gw_scopes_format(unsigned scopes, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s",
             scopes & SCOPE_PUBLISH ? "publish" : "",
             (scopes & SCOPE_PUBLISH) && (scopes & (SCOPE_READ | SCOPE_MANAGE))
                 ? " "
                 : "",
             scopes & SCOPE_READ ? "read" : "",
             (scopes & SCOPE_READ) && (scopes & SCOPE_MANAGE) ? " " : "",
             scopes & SCOPE_MANAGE ? "manage" : "");
    return out;
}

static void reply_unauthorized(hg_req *r, hg_error code, const char *bearer,
                               const char *detail)
{
    hg_reply_header(r, "WWW-Authenticate", bearer);
    hg_reply_problem(r, code, "%s", detail);
}

/* ---- access tokens ------------------------------------------------------ */

/* A token is "hgt_" + base64url(payload) + "." + base64url(HMAC-SHA256 of
 * the payload under the token key); the payload is
 * "<integration>|<client id>|<scopes>|<expiry in ms>". */
int gw_token_issue(const char *integration_id, const char *client_id,
                   const char *scopes, int64_t expires_ms, char *out,
                   size_t cap)
{
    char payload[256];
    uint8_t mac[32];
    int plen = snprintf(payload, sizeof(payload), "%s|%s|%s|%lld",
                        integration_id, client_id, scopes,
                        (long long)expires_ms);
    size_t pos = strlen(TOKEN_PREFIX);
    int n;

    if (plen <= 0 || (size_t)plen >= sizeof(payload) || cap <= pos ||
        hg_hmac_sha256(gw_config->token_key, 32, payload, (size_t)plen, mac) !=
            0)
        return -1;
    memcpy(out, TOKEN_PREFIX, pos);
    n = hg_base64url_encode((const uint8_t *)payload, (size_t)plen, out + pos,
                            cap - pos);
    if (n < 0 || pos + (size_t)n + 2 >= cap)
        return -1;
    pos += (size_t)n;
    out[pos++] = '.';
    return hg_base64url_encode(mac, sizeof(mac), out + pos, cap - pos) < 0
               ? -1
               : 0;
}

/* Verifies a token's signature and splits its payload into c. Returns 0,
 * 1 when well-formed but expired, -1 when invalid. */
static int token_verify(const char *token, gw_credential *c)
{
    const char *body = token + strlen(TOKEN_PREFIX);
    const char *dot = strchr(body, '.');
    char payload[256];
    uint8_t mac[32], given[40];
    int plen, glen;
    char *fields[4];
    char *save = NULL;

    if (dot == NULL)
        return -1;
    plen = hg_base64url_decode(body, (size_t)(dot - body), (uint8_t *)payload,
                               sizeof(payload) - 1);
    glen = hg_base64url_decode(dot + 1, strlen(dot + 1), given,
                               sizeof(given));
    if (plen <= 0 || glen != 32 ||
        hg_hmac_sha256(gw_config->token_key, 32, payload, (size_t)plen,
                       mac) != 0 ||
        !hg_ct_equal(mac, given, 32))
        return -1;
    payload[plen] = '\0';

    fields[0] = strtok_r(payload, "|", &save);
    for (int i = 1; i < 4; i++)
        fields[i] = strtok_r(NULL, "|", &save);
    if (fields[3] == NULL)
        return -1;
    snprintf(c->token_integration, sizeof(c->token_integration), "%s",
             fields[0]);
    snprintf(c->client_id, sizeof(c->client_id), "%s", fields[1]);
    snprintf(c->token_scopes, sizeof(c->token_scopes), "%s", fields[2]);
    c->token_expires_ms = atoll(fields[3]);
    return hg_time_ms() >= c->token_expires_ms ? 1 : 0;
}

/* ---- credentials -------------------------------------------------------- */

/* Reads the presented credential without the publish rules of
 * gw_read_credential(). */
static bool read_credential(hg_req *r, gw_credential *c)
{
    char token[TOKEN_MAX + 1];
    const char *apim = hg_req_header(r, "Ocp-Apim-Subscription-Key");

    memset(c, 0, sizeof(*c));
    if (hg_req_bearer(r, token, sizeof(token))) {
        /* taken from Authorization */
    } else if (apim != NULL && strlen(apim) > 0 && strlen(apim) <= TOKEN_MAX &&
               strpbrk(apim, " \t") == NULL) {
        snprintf(token, sizeof(token), "%s", apim);
    } else {
        reply_unauthorized(r, HG_E_UNAUTHORIZED, "Bearer realm=\"hookgate\"",
                           "send an API key as 'Authorization: Bearer "
                           "<key>' or 'Ocp-Apim-Subscription-Key: <key>', "
                           "or an OAuth access token");
        return false;
    }

    if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0) {
        int rc = token_verify(token, c);

        memset(token, 0, sizeof(token));
        if (rc < 0) {
            reply_unauthorized(r, HG_E_UNAUTHORIZED,
                               "Bearer realm=\"hookgate\", "
                               "error=\"invalid_token\"",
                               "the access token is not valid");
            return false;
        }
        if (rc > 0) {
            reply_unauthorized(r, HG_E_TOKEN_EXPIRED,
                               "Bearer realm=\"hookgate\", "
                               "error=\"invalid_token\", "
                               "error_description=\"The access token "
                               "expired\"",
                               "the access token expired; request a new one "
                               "from POST /oauth/token");
            return false;
        }
        c->kind = CRED_TOKEN;
        return true;
    }

    hg_sha256_hex(token, strlen(token), c->sha256);
    if (gw_config->admin_key_set &&
        hg_ct_equal(c->sha256, gw_config->admin_key_sha256, 64))
        c->kind = CRED_ADMIN;
    else if (strncmp(token, SUPPORT_PREFIX, strlen(SUPPORT_PREFIX)) == 0)
        c->kind = CRED_SUPPORT;
    else if (strncmp(token, SESSION_PREFIX, strlen(SESSION_PREFIX)) == 0)
        c->kind = CRED_SESSION;
    else
        c->kind = CRED_KEY;
    memset(token, 0, sizeof(token));
    return true;
}

bool gw_read_credential(hg_req *r, gw_credential *c)
{
    if (!read_credential(r, c))
        return false;
    if (c->kind != CRED_SESSION && c->kind != CRED_SUPPORT)
        return true;
    /* gw_authorize() sets the actor only after it passed the caller. */
    if (r->auth_actor[0] != '\0') {
        c->kind = CRED_ADMIN;
        return true;
    }
    hg_reply_problem(r, HG_E_FORBIDDEN,
                     "inspector sessions and support tokens cannot publish "
                     "events; publish with an API key that has the publish "
                     "scope");
    return false;
}

void gw_credential_keys(const gw_credential *c, const char *integration_id,
                        char *record, char *bucket, char *integration_bucket)
{
    char suffix[96];

    if (c->kind == CRED_TOKEN) {
        snprintf(suffix, sizeof(suffix), "client:%s", c->client_id);
        hg_key(record, integration_id, suffix);
        snprintf(suffix, sizeof(suffix), "rl:c:%s", c->client_id);
        hg_key(bucket, integration_id, suffix);
    } else {
        snprintf(suffix, sizeof(suffix), "key:%s", c->sha256);
        hg_key(record, integration_id, suffix);
        /* Half of the hash names the bucket: enough to be unique. */
        snprintf(suffix, sizeof(suffix), "rl:k:%.32s", c->sha256);
        hg_key(bucket, integration_id, suffix);
    }
    hg_key(integration_bucket, integration_id, "rl");
}

/* ---- rate limit headers and denials ------------------------------------ */

/* Returns the configured rate of a policy; 0 means no limit. */
static int policy_rate(const char *policy)
{
    return strcmp(policy, "integration") == 0
               ? gw_config->integration_rate_limit
               : gw_config->api_rate_limit;
}

/* The fields follow the IETF draft draft-ietf-httpapi-ratelimit-headers:
 * RateLimit-Policy lists each quota policy with its quota q per window w
 * (seconds), and RateLimit gives the remaining quota r of one policy and
 * the seconds t until it is full again. A limit of 0 means no limit here
 * and is left out, because in the draft q=0 allocates nothing. */
void gw_rate_limit_headers(hg_req *r, const char *policy,
                           long long remaining, long long reset_ms)
{
    char value[160];
    int key_rate = gw_config->api_rate_limit;
    int integration_rate = gw_config->integration_rate_limit;

    if (key_rate <= 0 && integration_rate <= 0)
        return;
    value[0] = '\0';
    if (key_rate > 0)
        snprintf(value, sizeof(value), "\"key\";q=%d;w=1", key_rate);
    if (integration_rate > 0)
        snprintf(value + strlen(value), sizeof(value) - strlen(value),
                 "%s\"integration\";q=%d;w=1", value[0] ? ", " : "",
                 integration_rate);
    hg_reply_header(r, "RateLimit-Policy", value);

    if (policy == NULL || policy[0] == '\0' || policy_rate(policy) <= 0)
        return;
    snprintf(value, sizeof(value), "\"%s\";r=%lld;t=%lld", policy,
             remaining < 0 ? 0 : remaining, (reset_ms + 999) / 1000);
    hg_reply_header(r, "RateLimit", value);
}

void gw_reply_limited(hg_req *r, long long retry_ms, const char *which)
{
    char value[64];
    long long seconds = (retry_ms + 999) / 1000;
    const char *policy =
        which != NULL && strcmp(which, "integration") == 0 ? "integration"
                                                           : "key";
    hg_log_fields f = {.integration_id = r->auth_integration,
                       .correlation_id = r->request_id};

    if (seconds < 1)
        seconds = 1;
    hg_info(&f, "rate limit of the %s reached", policy);
    snprintf(value, sizeof(value), "%lld", seconds);
    hg_reply_header(r, "Retry-After", value);
    gw_rate_limit_headers(r, policy, 0, retry_ms);
    hg_reply_problem(r, HG_E_RATE_LIMITED,
                     "the %s rate limit of %d requests per second is "
                     "reached; retry after %lld s",
                     strcmp(policy, "integration") == 0 ? "integration"
                                                        : "per-credential",
                     policy_rate(policy), seconds);
}

static void on_key_owner(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        /* Routes without an integration in the path (the sandbox) have
         * no id to name. */
        if (reply->type == REDIS_REPLY_STRING && r->params[0][0] != '\0')
            hg_reply_problem(r, HG_E_FORBIDDEN,
                             "the API key does not belong to integration %s",
                             r->params[0]);
        else if (reply->type == REDIS_REPLY_STRING)
            hg_reply_problem(r, HG_E_FORBIDDEN,
                             "the API key belongs to another integration");
        else
            reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                               "the API key is not valid");
    }
    hg_req_release(r);
}

void gw_reply_denied(hg_req *r, const gw_credential *c, const char *reason,
                     const char *scope)
{
    if (strcmp(reason, "unknown") == 0 && c->kind == CRED_KEY) {
        gw_thread *t = hg_req_thread(r);
        char key[HG_KEY_MAX];

        /* A key that is valid for another integration gets 403, not 401;
         * the global key index says which case this is. */
        hg_req_async(r, gw_config->redis_timeout_ms + 1000);
        hg_redis_command(t->redis, 0, on_key_owner, r,
                         "HGET %s integration_id",
                         hg_key_apikey(key, c->sha256));
        return;
    }
    gw_reply_denied_now(r, c, reason, scope);
}

/* A refused credential gets error="invalid_token" whatever its kind, as
 * RFC 6750 says of an expired, revoked or unknown access token, and a
 * missing scope gets error="insufficient_scope" with the scope needed. */
void gw_reply_denied_now(hg_req *r, const gw_credential *c,
                         const char *reason, const char *scope)
{
    bool token = c->kind == CRED_TOKEN;
    char header[128];

    if (strcmp(reason, "scope") == 0) {
        snprintf(header, sizeof(header),
                 "Bearer realm=\"hookgate\", error=\"insufficient_scope\", "
                 "scope=\"%s\"",
                 scope);
        hg_reply_header(r, "WWW-Authenticate", header);
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the %s lacks the %s scope",
                         token ? "access token" : "API key", scope);
    } else if (strcmp(reason, "expired") == 0) {
        reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                           token ? "the OAuth client of this token expired; "
                                   "create a new client"
                                 : "the API key expired; create a new key");
    } else if (strcmp(reason, "revoked") == 0) {
        reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                           token ? "the OAuth client of this token was "
                                   "revoked"
                                 : "the API key was revoked");
    } else {
        reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                           token ? "the OAuth client of this token does not "
                                   "exist"
                                 : "the API key is not valid for this "
                                   "integration");
    }
}

void gw_set_actor(hg_req *r, const gw_credential *c, const char *principal)
{
    if (c->kind == CRED_ADMIN)
        snprintf(r->auth_actor, sizeof(r->auth_actor), "admin");
    else if (c->kind == CRED_TOKEN)
        snprintf(r->auth_actor, sizeof(r->auth_actor), "client:%s",
                 c->client_id);
    else if (c->kind == CRED_SUPPORT)
        snprintf(r->auth_actor, sizeof(r->auth_actor), "support:%s",
                 principal);
    else
        snprintf(r->auth_actor, sizeof(r->auth_actor), "key:%s", principal);
}

/* ---- authorize ------------------------------------------------------------ */

static void on_authorized(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    auth_step *a = arg;
    hg_req *r = a->r;
    const char *result = hg_reply_str(reply, 0, NULL);
    const redisReply *n1 = hg_reply_elem(reply, 1);
    const redisReply *n3 = hg_reply_elem(reply, 3);
    const redisReply *n4 = hg_reply_elem(reply, 4);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    if (result != NULL && strcmp(result, "ok") == 0 && n3 && n4) {
        const char *principal = hg_reply_str(reply, 1, NULL);
        const char *scopes = hg_reply_str(reply, 2, NULL);
        const char *policy = hg_reply_str(reply, 5, NULL);

        snprintf(r->auth_integration, sizeof(r->auth_integration), "%s",
                 a->integration_id);
        r->auth_scopes = gw_scopes_parse(scopes ? scopes : "");
        /* These are the OAuth client's scopes; a token may have fewer. */
        if (a->cred.kind == CRED_TOKEN && a->cred.token_scopes[0] != '\0')
            r->auth_scopes &= gw_scopes_parse(a->cred.token_scopes);
        gw_set_actor(r, &a->cred, principal ? principal : "");
        gw_rate_limit_headers(r, policy, n3->integer, n4->integer);
        a->next(r);
    } else if (result != NULL && strcmp(result, "limited") == 0 && n1) {
        gw_reply_limited(r, n1->integer, hg_reply_str(reply, 2, NULL));
    } else if (result != NULL && strcmp(result, "denied") == 0) {
        const char *why = hg_reply_str(reply, 1, NULL);

        gw_reply_denied(r, &a->cred, why ? why : "unknown",
                        gw_scope_name(a->scope));
    } else {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    }
done:
    hg_req_release(r);
    free(a);
}

static void on_integration_checked(hg_redis_status status,
                                   redisReply *reply, void *arg)
{
    auth_step *a = arg;
    hg_req *r = a->r;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        a->next(r);
    } else {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         a->integration_id);
    }
    hg_req_release(r);
    free(a);
}

static auth_step *auth_step_new(hg_req *r, const gw_credential *c,
                                const char *integration_id, unsigned scope,
                                void (*next)(hg_req *r))
{
    auth_step *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    a->r = r;
    a->cred = *c;
    a->any_integration = integration_id == NULL;
    snprintf(a->integration_id, sizeof(a->integration_id), "%s",
             integration_id ? integration_id : "");
    a->scope = scope;
    a->next = next;
    return a;
}

/* The admin key is checked without Redis and reaches any integration id,
 * so only its requests need this lookup. Other credentials are records
 * inside the integration, so they fail authorization when it is gone. */
static void admin_check_integration(hg_req *r, const gw_credential *c,
                                    const char *integration_id,
                                    void (*next)(hg_req *r))
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];
    auth_step *a = auth_step_new(r, c, integration_id, SCOPE_ALL, next);

    if (a == NULL)
        return;
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_integration_checked, a, "EXISTS %s",
                     hg_key(key, integration_id, "integration"));
}

static void pass_admin(hg_req *r, const gw_credential *c,
                       const char *integration_id, bool existing,
                       void (*next)(hg_req *r))
{
    r->auth_admin = true;
    r->auth_scopes = SCOPE_ALL;
    gw_set_actor(r, c, NULL);
    if (existing && integration_id != NULL)
        admin_check_integration(r, c, integration_id, next);
    else
        next(r);
}

/* Checks an API key or the OAuth client of a token with authorize.lua,
 * which also charges the rate limits. */
static void authorize_principal(hg_req *r, const gw_credential *c,
                                const char *integration_id, unsigned scope,
                                void (*next)(hg_req *r))
{
    gw_thread *t = hg_req_thread(r);
    char record[HG_KEY_MAX], bucket[HG_KEY_MAX], ibucket[HG_KEY_MAX];
    char rate[16], irate[16];
    auth_step *a;

    /* Keys and tokens need the scope of the route as before; the marker of
     * support actions is not one of their scopes. */
    scope &= ~(unsigned)SCOPE_OPERATE;
    if (integration_id == NULL) {
        hg_reply_problem(r, HG_E_FORBIDDEN, "this route needs the admin key");
        return;
    }
    if (c->kind == CRED_TOKEN &&
        strcmp(c->token_integration, integration_id) != 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the access token does not belong to integration %s",
                         integration_id);
        return;
    }

    a = auth_step_new(r, c, integration_id, scope, next);
    if (a == NULL)
        return;
    gw_credential_keys(c, integration_id, record, bucket, ibucket);
    snprintf(rate, sizeof(rate), "%d", gw_config->api_rate_limit);
    snprintf(irate, sizeof(irate), "%d", gw_config->integration_rate_limit);

    const char *argv[] = {record, bucket, ibucket, gw_scope_name(scope),
                          c->kind == CRED_TOKEN ? c->token_scopes : "",
                          rate, irate};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_authorize, 0, on_authorized, a, 3, 7,
                  argv, NULL);
}

/* ---- inspector sessions and support tokens ------------------------------ */

/* Passes a support token (or a session opened with one) of role "viewer"
 * or "support". Both read every integration; only "support" passes the
 * routes marked SCOPE_OPERATE. Nothing else: no endpoint changes, secrets,
 * keys, publishing or admin routes.
 * NOTE: support tokens have no rate limit. They are few, made by the
 * admin for staff, and their actions are audited. */
static void pass_support(hg_req *r, auth_step *a, const char *role,
                         const char *token_id)
{
    bool may_operate = strcmp(role, "support") == 0;
    unsigned needed = a->scope & ~(unsigned)SCOPE_OPERATE;
    const char *integration_id = a->any_integration ? NULL : a->integration_id;

    if (needed != SCOPE_READ &&
        !(may_operate && (a->scope & SCOPE_OPERATE) != 0)) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "a support token with the %s role may not do this: "
                         "the viewer role only reads, and the support role "
                         "may also redeliver, replay, send test events and "
                         "enable or disable endpoints",
                         role);
        return;
    }
    a->cred.kind = CRED_SUPPORT;
    gw_set_actor(r, &a->cred, token_id);
    r->auth_scopes = SCOPE_READ | (may_operate ? SCOPE_OPERATE : 0);
    if (integration_id != NULL)
        snprintf(r->auth_integration, sizeof(r->auth_integration), "%s",
                 integration_id);
    /* Like the admin key, a support token is not a record inside the
     * integration, so its existence is checked here. */
    if (a->existing && integration_id != NULL)
        admin_check_integration(r, &a->cred, integration_id, a->next);
    else
        a->next(r);
}

/* Continues with what credential_resolve.lua found behind a session or
 * support token. An admin session passes as the admin key while that key
 * is still the configured one. An integration session is checked again as
 * its API key, with that key's scopes and rate limits. */
static void pass_resolved(hg_req *r, auth_step *a, const redisReply *reply)
{
    const char *role = hg_reply_str(reply, 1, NULL);
    const char *principal = hg_reply_str(reply, 3, NULL);
    const char *key_sha256 = hg_reply_str(reply, 4, NULL);
    const char *integration_id = a->any_integration ? NULL : a->integration_id;
    gw_credential c = a->cred;

    if (role == NULL || principal == NULL || key_sha256 == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(role, "admin") == 0) {
        if (!gw_config->admin_key_set || strlen(key_sha256) != 64 ||
            !hg_ct_equal(key_sha256, gw_config->admin_key_sha256, 64)) {
            reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                               "the admin key of this inspector session "
                               "changed; sign in again");
            return;
        }
        c.kind = CRED_ADMIN;
        pass_admin(r, &c, integration_id, a->existing, a->next);
    } else if (strcmp(role, "integration") == 0) {
        c.kind = CRED_KEY;
        snprintf(c.sha256, sizeof(c.sha256), "%s", key_sha256);
        authorize_principal(r, &c, integration_id, a->scope, a->next);
    } else if (strcmp(role, "viewer") == 0 || strcmp(role, "support") == 0) {
        pass_support(r, a, role, principal);
    } else {
        reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                           "the credential has an unknown role");
    }
}

static void on_resolved(hg_redis_status status, redisReply *reply,
                        void *arg)
{
    auth_step *a = arg;
    hg_req *r = a->r;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "ok") == 0) {
        pass_resolved(r, a, reply);
    } else if (result != NULL && strcmp(result, "denied") == 0) {
        reply_unauthorized(r, HG_E_UNAUTHORIZED, BEARER_INVALID,
                           a->cred.kind == CRED_SUPPORT
                               ? "the support token is not valid: it "
                                 "expired, was revoked or never existed"
                               : "the inspector session ended or its "
                                 "credential was revoked or expired; sign "
                                 "in again");
    } else {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    }
    hg_req_release(r);
    free(a);
}

/* Resolves an inspector session token or a support token in Redis. The
 * underlying credential is checked on every request, so revoking an API
 * key or a support token ends the sessions opened with it at once. */
static void authorize_delegated(hg_req *r, const gw_credential *c,
                                const char *integration_id, unsigned scope,
                                bool existing, void (*next)(hg_req *r))
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];
    bool support = c->kind == CRED_SUPPORT;
    auth_step *a = auth_step_new(r, c, integration_id, scope, next);

    if (a == NULL)
        return;
    a->existing = existing;
    snprintf(key, sizeof(key), "hg:%s:%s", support ? "support" : "session",
             c->sha256);

    const char *argv[] = {key, support ? "support" : "session", c->sha256};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_credential_resolve, 0, on_resolved, a,
                  1, 3, argv, NULL);
}

/* Runs the route's step once the caller is authorized and, for the admin
 * key and support tokens, the integration is known to exist. */
static void after_authorization(hg_req *r)
{
    if (hg_req_preconditions_hold(r))
        r->authorized_next(r);
}

static void authorize(hg_req *r, const char *integration_id, unsigned scope,
                      bool existing, bool preconditions,
                      void (*next)(hg_req *r))
{
    gw_credential c;

    if (preconditions) {
        r->authorized_next = next;
        next = after_authorization;
    }

    if (!atomic_load(&gw_redis_verified)) {
        hg_reply_problem(r, HG_E_UNAVAILABLE,
                         "the gateway is starting: the Redis configuration "
                         "has not been checked yet");
        return;
    }
    if (!read_credential(r, &c))
        return;
    if (c.kind == CRED_ADMIN)
        pass_admin(r, &c, integration_id, existing, next);
    else if (c.kind == CRED_SESSION || c.kind == CRED_SUPPORT)
        authorize_delegated(r, &c, integration_id, scope, existing, next);
    else
        authorize_principal(r, &c, integration_id, scope, next);
}

void gw_authorize(hg_req *r, const char *integration_id, unsigned scope,
                  void (*next)(hg_req *r))
{
    authorize(r, integration_id, scope, false, true, next);
}

void gw_authorize_existing(hg_req *r, const char *integration_id,
                           unsigned scope, void (*next)(hg_req *r))
{
    authorize(r, integration_id, scope, true, true, next);
}

void gw_authorize_for_error(hg_req *r, const char *integration_id,
                            unsigned scope, void (*next)(hg_req *r))
{
    authorize(r, integration_id, scope, false, false, next);
}

bool gw_check_integration_param(hg_req *r, const char *id)
{
    if (hg_integration_id_valid(id))
        return true;
    hg_reply_problem(r, HG_E_NOT_FOUND,
                     "integration ids match [a-z0-9][a-z0-9_-]{0,62}");
    return false;
}
