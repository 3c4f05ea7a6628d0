/* SPDX-License-Identifier: MIT
 *
 * POST /oauth/token: the OAuth 2.0 client credentials grant (RFC 6749,
 * section 4.4). A client authenticates with HTTP Basic or with client_id
 * and client_secret in the form body, and gets a short-lived bearer token
 * (HOOKGATE_TOKEN_TTL_S) signed by the gateway, so checking a token needs
 * no Redis lookup beyond the client's revocation state. Errors are
 * problem+json documents that also carry the "error" and
 * "error_description" members RFC 6749 section 5.2 defines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "gateway/gateway.h"

#define FIELD_MAX 256

typedef struct token_request {
    char client_id[FIELD_MAX];
    char client_secret[FIELD_MAX];
    char scope[FIELD_MAX];
    char grant_type[FIELD_MAX];
    char integration_id[64];
    bool basic;
    bool has_scope;
} token_request;

static void free_request(void *p)
{
    token_request *t = p;

    if (t != NULL)
        memset(t->client_secret, 0, sizeof(t->client_secret));
    free(t);
}

/* Sends an RFC 6749 error: invalid_client is 401, the rest 400. */
static void reply_oauth_error(hg_req *r, const char *error,
                              const char *description)
{
    token_request *t = r->data;
    bool client = strcmp(error, "invalid_client") == 0;
    hg_error code = client ? HG_E_UNAUTHORIZED : HG_E_BAD_REQUEST;
    json_t *problem = hg_problem_new(r, code, description);

    json_object_set_new(problem, "error", json_string(error));
    json_object_set_new(problem, "error_description",
                        json_string(description));
    if (client && t != NULL && t->basic)
        hg_reply_header(r, "WWW-Authenticate", "Basic realm=\"hookgate\"");
    hg_reply_header(r, "Cache-Control", "no-store");
    hg_reply_problem_json(r, code, problem);
}

/* ---- request parsing --------------------------------------------------------- */

static bool set_field(token_request *t, const char *name, const char *value)
{
    char *dst = NULL;

    if (strcmp(name, "client_id") == 0)
        dst = t->client_id;
    else if (strcmp(name, "client_secret") == 0)
        dst = t->client_secret;
    else if (strcmp(name, "scope") == 0) {
        dst = t->scope;
        t->has_scope = true;
    } else if (strcmp(name, "grant_type") == 0)
        dst = t->grant_type;
    if (dst == NULL)
        return true; /* RFC 6749 3.2: unknown parameters are ignored */
    if (dst[0] != '\0' || strlen(value) >= FIELD_MAX)
        return false; /* repeated or too long */
    strcpy(dst, value);
    return true;
}

static bool parse_form(const char *body, size_t len, token_request *t)
{
    char *copy = strndup(body, len);
    char *save = NULL;
    bool ok = copy != NULL;

    for (char *pair = ok ? strtok_r(copy, "&", &save) : NULL; ok && pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char name[64], value[FIELD_MAX];

        if (eq == NULL) {
            ok = false;
            break;
        }
        *eq = '\0';
        ok = gw_query_decode(pair, name, sizeof(name)) == 0 &&
             gw_query_decode(eq + 1, value, sizeof(value)) == 0 &&
             set_field(t, name, value);
        memset(value, 0, sizeof(value));
    }
    if (copy != NULL) {
        memset(copy, 0, len);
        free(copy);
    }
    return ok;
}

/* Reads "Authorization: Basic base64(id:secret)"; each part is
 * form-encoded as RFC 6749 section 2.3.1 requires. */
static bool parse_basic(const char *header, token_request *t)
{
    uint8_t decoded[2 * FIELD_MAX];
    char pair[2 * FIELD_MAX], *colon;
    int n;

    header += 6;
    while (*header == ' ')
        header++;
    n = hg_base64_decode(header, strlen(header), decoded,
                         sizeof(decoded) - 1);
    if (n <= 0)
        return false;
    memcpy(pair, decoded, (size_t)n);
    pair[n] = '\0';
    memset(decoded, 0, sizeof(decoded));
    colon = strchr(pair, ':');
    if (colon == NULL)
        return false;
    *colon = '\0';
    t->basic = true;
    n = gw_query_decode(pair, t->client_id, sizeof(t->client_id)) == 0 &&
        gw_query_decode(colon + 1, t->client_secret,
                        sizeof(t->client_secret)) == 0;
    memset(pair, 0, sizeof(pair));
    return n != 0;
}

static bool read_request(hg_req *r, token_request *t)
{
    const char *type = hg_req_header(r, "Content-Type");
    const char *auth = hg_req_header(r, "Authorization");
    size_t len;
    const char *body = hg_req_body(r, &len);

    if (type == NULL ||
        strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
        hg_reply_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE,
                         "send the token request as "
                         "application/x-www-form-urlencoded");
        return false;
    }
    if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0 &&
        !parse_basic(auth, t)) {
        reply_oauth_error(r, "invalid_client",
                          "the Basic credentials are malformed");
        return false;
    }
    /* A parameter that Basic already gave counts as repeated: RFC 6749
     * allows one authentication method per request. */
    if (!parse_form(body, len, t)) {
        reply_oauth_error(r, "invalid_request",
                          "the form body is malformed, repeats a parameter, "
                          "or sends client credentials twice");
        return false;
    }
    if (strcmp(t->grant_type, "client_credentials") != 0) {
        reply_oauth_error(r, t->grant_type[0] ? "unsupported_grant_type"
                                              : "invalid_request",
                          t->grant_type[0] ? "only grant_type="
                                             "client_credentials is supported"
                                           : "grant_type is required");
        return false;
    }
    if (t->client_id[0] == '\0' || t->client_secret[0] == '\0' ||
        !hg_id_valid("cli_", t->client_id)) {
        reply_oauth_error(r, "invalid_client",
                          "client authentication failed");
        return false;
    }
    return true;
}

/* ---- token issue --------------------------------------------------------------- */

static unsigned scope_subset(const char *requested, unsigned allowed,
                             bool *ok)
{
    char copy[FIELD_MAX];
    char *save = NULL;
    unsigned mask = 0;

    *ok = true;
    snprintf(copy, sizeof(copy), "%s", requested);
    for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        unsigned one = gw_scopes_parse(s);

        if (one == 0 || (one & ~allowed) != 0)
            *ok = false;
        mask |= one;
    }
    return mask;
}

static void on_client(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    token_request *t = r->data;
    const char *sha = hg_reply_str(reply, 0, NULL);
    const char *scopes = hg_reply_str(reply, 1, NULL);
    const char *revoked = hg_reply_str(reply, 2, NULL);
    char given[65], token[512], scope_text[32];
    unsigned allowed, granted;
    bool scope_ok = true;
    int64_t expires;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    hg_sha256_hex(t->client_secret, strlen(t->client_secret), given);
    if (sha == NULL || !hg_ct_equal(sha, given, 64) ||
        (revoked != NULL && revoked[0] != '\0')) {
        reply_oauth_error(r, "invalid_client",
                          "client authentication failed");
        goto done;
    }
    allowed = gw_scopes_parse(scopes ? scopes : "");
    granted = t->has_scope ? scope_subset(t->scope, allowed, &scope_ok)
                           : allowed;
    if (!scope_ok || granted == 0) {
        reply_oauth_error(r, "invalid_scope",
                          "the requested scope exceeds the client's scopes");
        goto done;
    }
    gw_scopes_format(granted, scope_text, sizeof(scope_text));
    expires = hg_time_ms() + (int64_t)gw_config->token_ttl_s * 1000;
    if (gw_token_issue(t->integration_id, t->client_id, scope_text, expires,
                       token, sizeof(token)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "signing the token failed");
        goto done;
    }
    snprintf(r->auth_actor, sizeof(r->auth_actor), "client:%.63s", t->client_id);
    hg_reply_header(r, "Cache-Control", "no-store");
    hg_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:i, s:s}", "access_token", token,
                            "token_type", "Bearer", "expires_in",
                            gw_config->token_ttl_s, "scope", scope_text));
    memset(token, 0, sizeof(token));
done:
    hg_req_release(r);
}

static void on_client_index(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    hg_req *r = arg;
    token_request *t = r->data;
    gw_thread *t_ctx = hg_req_thread(r);
    char key[HG_KEY_MAX], suffix[96];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STRING ||
               !hg_integration_id_valid(reply->str)) {
        reply_oauth_error(r, "invalid_client", "client authentication failed");
    } else {
        snprintf(t->integration_id, sizeof(t->integration_id), "%s",
                 reply->str);
        snprintf(suffix, sizeof(suffix), "client:%.63s", t->client_id);
        hg_req_async(r, gw_config->redis_timeout_ms + 1000);
        hg_redis_command(t_ctx->redis, 0, on_client, r,
                         "HMGET %s secret_sha256 scopes revoked_at",
                         hg_key(key, t->integration_id, suffix));
    }
    hg_req_release(r);
}

void gw_oauth_token(hg_req *r)
{
    gw_thread *t_ctx = hg_req_thread(r);
    token_request *t = calloc(1, sizeof(*t));
    char key[HG_KEY_MAX];

    if (t == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = t;
    r->data_free = free_request;
    if (!read_request(r, t))
        return;
    snprintf(key, sizeof(key), "hg:oauth:client:%.63s", t->client_id);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t_ctx->redis, 0, on_client_index, r,
                     "HGET %s integration_id", key);
}
