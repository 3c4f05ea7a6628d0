/* SPDX-License-Identifier: MIT
 *
 * POST /oauth/token: the OAuth 2.0 client credentials grant (RFC 6749,
 * section 4.4). A client authenticates with HTTP Basic or with client_id
 * and client_secret in the form body, and gets a short-lived bearer token
 * (HOOKGATE_TOKEN_TTL_S) signed by the gateway, so checking a token needs
 * no Redis lookup beyond the client's revocation state. Errors are
 * problem+json documents that also carry the "error" and
 * "error_description" members RFC 6749 section 5.2 defines. Failed
 * attempts are limited per client (token_client.lua), so a client secret
 * cannot be guessed at speed.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/gateway.h"
#include "gateway/validate.h"

#define FIELD_MAX GW_TOKEN_FIELD_MAX
#define FORM_MEDIA_TYPE "application/x-www-form-urlencoded"
/* Failed token requests a client may make per second. A legitimate client
 * knows its secret, so this only slows down guessing. */
#define CLIENT_FAILURES_PER_S "10"

typedef struct token_request {
    gw_token_form form;
    char integration_id[64];
} token_request;

static void free_request(void *p)
{
    token_request *t = p;

    if (t != NULL)
        memset(t->form.client_secret, 0, sizeof(t->form.client_secret));
    free(t);
}

/* Sends a problem that also carries the RFC 6749 "error" members. Every
 * 401 names the Basic scheme, which the token route accepts in a header,
 * because RFC 9110 (section 15.5.2) requires a challenge in a 401. */
static void reply_oauth_problem(hg_req *r, hg_error code, const char *error,
                                const char *description)
{
    json_t *problem = hg_problem_new(r, code, description);

    json_object_set_new(problem, "error", json_string(error));
    json_object_set_new(problem, "error_description",
                        json_string(description));
    if (hg_error_status(code) == 401)
        hg_reply_header(r, "WWW-Authenticate", "Basic realm=\"hookgate\"");
    hg_reply_header(r, "Cache-Control", "no-store");
    hg_reply_problem_json(r, code, problem);
}

/* Sends an RFC 6749 error: invalid_client is 401, the rest 400. */
static void reply_oauth_error(hg_req *r, const char *error,
                              const char *description)
{
    bool client = strcmp(error, "invalid_client") == 0;

    reply_oauth_problem(r, client ? HG_E_UNAUTHORIZED : HG_E_BAD_REQUEST,
                        error, description);
}

/* RFC 6749 defines no token error for a rate limit, so this sends
 * temporarily_unavailable, which RFC 6749 defines for the authorization
 * endpoint and is the closest in meaning. */
static void reply_client_limited(hg_req *r, long long retry_ms)
{
    token_request *t = r->data;
    long long seconds = (retry_ms + 999) / 1000;
    char value[32], description[160];
    hg_log_fields f = {.integration_id = t->integration_id,
                       .correlation_id = r->request_id};

    if (seconds < 1)
        seconds = 1;
    hg_info(&f, "token requests of client %s are limited after failed "
                "attempts",
            t->form.client_id);
    snprintf(value, sizeof(value), "%lld", seconds);
    hg_reply_header(r, "Retry-After", value);
    snprintf(description, sizeof(description),
             "too many failed attempts for this client (at most %s per "
             "second); retry after %lld s",
             CLIENT_FAILURES_PER_S, seconds);
    reply_oauth_problem(r, HG_E_RATE_LIMITED, "temporarily_unavailable",
                        description);
}

/* ---- request parsing --------------------------------------------------------- */

/* The parameters this parser reads, with their field and bit in a form,
 * and the messages for a repeat and for a value too long. */
static const struct {
    const char *name;
    size_t offset;
    unsigned bit;
    const char *repeated;
    const char *too_long;
} params[] = {
    {"client_id", offsetof(gw_token_form, client_id), GW_TOKEN_CLIENT_ID,
     "client_id is given twice (in the form, or in Basic and in the form)",
     "client_id is longer than 255 bytes"},
    {"client_secret", offsetof(gw_token_form, client_secret),
     GW_TOKEN_CLIENT_SECRET,
     "client_secret is given twice (in the form, or in Basic and in the "
     "form)",
     "client_secret is longer than 255 bytes"},
    {"scope", offsetof(gw_token_form, scope), GW_TOKEN_SCOPE,
     "scope is given twice", "scope is longer than 255 bytes"},
    {"grant_type", offsetof(gw_token_form, grant_type), GW_TOKEN_GRANT_TYPE,
     "grant_type is given twice", "grant_type is longer than 255 bytes"},
};

/* Stores the encoded value of the parameter name in f. Unknown
 * parameters are ignored (RFC 6749 section 3.2), whatever their length. */
static bool set_field(gw_token_form *f, const char *name, const char *value)
{
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        if (strcmp(name, params[i].name) != 0)
            continue;
        /* The bit, not a non-empty value, marks a parameter as present,
         * so an empty first value does not let a second one through. */
        if ((f->present & params[i].bit) != 0) {
            f->error = params[i].repeated;
            return false;
        }
        f->present |= params[i].bit;
        /* value was checked already, so only its length can fail. */
        if (gw_query_decode(value, (char *)f + params[i].offset,
                            FIELD_MAX) != 0) {
            f->error = params[i].too_long;
            return false;
        }
        return true;
    }
    return true;
}

/* The maximum size of a parameter name this parser reads, with its NUL.
 * A longer name is an unknown parameter. */
#define NAME_MAX_BYTES sizeof("client_secret")

bool gw_token_form_parse(const char *body, size_t len, gw_token_form *f)
{
    char *copy;
    char *save = NULL;
    bool ok;

    /* A form body has no NUL byte (gw_query_decode() rejects %00 too).
     * strndup() would stop at one, and the copy would be shorter than
     * the len bytes cleared below. */
    if (len > 0 && memchr(body, '\0', len) != NULL) {
        f->error = "the form body contains a NUL byte";
        return false;
    }
    copy = strndup(body, len);
    ok = copy != NULL;
    if (!ok)
        f->error = "out of memory";
    for (char *pair = ok ? strtok_r(copy, "&", &save) : NULL; ok && pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char name[NAME_MAX_BYTES];

        if (eq == NULL) {
            f->error = "a form pair has no \"=\": send name=value pairs "
                       "separated by \"&\"";
            ok = false;
            break;
        }
        *eq = '\0';
        /* Every pair must be well formed, known or not; a name that does
         * not fit is unknown. */
        if (gw_query_decode(pair, NULL, 0) != 0 ||
            gw_query_decode(eq + 1, NULL, 0) != 0) {
            f->error = "a form name or value has an invalid percent escape "
                       "or %00";
            ok = false;
            break;
        }
        ok = gw_query_decode(pair, name, sizeof(name)) != 0 ||
             set_field(f, name, eq + 1);
    }
    if (copy != NULL) {
        memset(copy, 0, len);
        free(copy);
    }
    return ok;
}

bool gw_token_basic_parse(const char *header, gw_token_form *f)
{
    uint8_t decoded[2 * FIELD_MAX];
    char *colon;
    int n;
    bool ok;

    header += 6;
    while (*header == ' ')
        header++;
    n = hg_base64_decode(header, strlen(header), decoded,
                         sizeof(decoded) - 1);
    /* A NUL byte would cut the pair short below. */
    ok = n > 0 && memchr(decoded, '\0', (size_t)n) == NULL;
    if (ok) {
        decoded[n] = '\0';
        colon = strchr((char *)decoded, ':');
        ok = colon != NULL;
    }
    if (ok) {
        *colon = '\0';
        ok = gw_query_decode((char *)decoded, f->client_id,
                             sizeof(f->client_id)) == 0 &&
             gw_query_decode(colon + 1, f->client_secret,
                             sizeof(f->client_secret)) == 0;
    }
    memset(decoded, 0, sizeof(decoded));
    if (!ok) {
        memset(f->client_id, 0, sizeof(f->client_id));
        memset(f->client_secret, 0, sizeof(f->client_secret));
        return false;
    }
    f->present |= GW_TOKEN_CLIENT_ID | GW_TOKEN_CLIENT_SECRET;
    return true;
}

static bool read_request(hg_req *r, token_request *t)
{
    const char *type = hg_req_header(r, "Content-Type");
    const char *auth = hg_req_header(r, "Authorization");
    size_t len;
    const char *body = hg_req_body(r, &len);

    if (!gw_media_type_is(type, FORM_MEDIA_TYPE)) {
        reply_oauth_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE, "invalid_request",
                            "send the token request as "
                            "Content-Type: " FORM_MEDIA_TYPE);
        return false;
    }
    if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0 &&
        !gw_token_basic_parse(auth, &t->form)) {
        reply_oauth_error(r, "invalid_client",
                          "the Basic credentials are malformed");
        return false;
    }
    /* A parameter that Basic already gave counts as repeated: RFC 6749
     * allows one authentication method per request. */
    if (!gw_token_form_parse(body, len, &t->form)) {
        reply_oauth_error(r, "invalid_request", t->form.error);
        return false;
    }
    if (strcmp(t->form.grant_type, "client_credentials") != 0) {
        bool has_grant = t->form.grant_type[0] != '\0';

        reply_oauth_error(r, has_grant ? "unsupported_grant_type"
                                       : "invalid_request",
                          has_grant ? "only grant_type=client_credentials "
                                      "is supported"
                                    : "grant_type is required");
        return false;
    }
    if (t->form.client_id[0] == '\0' || t->form.client_secret[0] == '\0' ||
        !hg_id_valid("cli_", t->form.client_id)) {
        reply_oauth_error(r, "invalid_client",
                          "client authentication failed");
        return false;
    }
    return true;
}

/* ---- token issue --------------------------------------------------------------- */

typedef enum scope_check {
    SCOPE_OK,
    SCOPE_EMPTY,   /* no scope name at all */
    SCOPE_UNKNOWN, /* a name that is not a scope */
    SCOPE_EXCEEDS, /* a scope the client does not have */
} scope_check;

/* Reads the space-separated scope names of requested into *mask and
 * checks them against allowed. *unknown gets the first unknown name. */
static scope_check scope_subset(const char *requested, unsigned allowed,
                                unsigned *mask, char *unknown, size_t cap)
{
    char copy[FIELD_MAX];
    char *save = NULL;
    scope_check check = SCOPE_OK;

    *mask = 0;
    snprintf(copy, sizeof(copy), "%s", requested);
    for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        unsigned one = gw_scopes_parse(s);

        if (one == 0 && check != SCOPE_UNKNOWN) {
            snprintf(unknown, cap, "%s", s);
            check = SCOPE_UNKNOWN;
        } else if ((one & ~allowed) != 0 && check == SCOPE_OK) {
            check = SCOPE_EXCEEDS;
        }
        *mask |= one;
    }
    if (check == SCOPE_OK && *mask == 0)
        check = SCOPE_EMPTY;
    return check;
}

/* Issues a token that lives HOOKGATE_TOKEN_TTL_S and never longer than
 * its client (client_expires_ms, 0 for none). */
static void issue_token(hg_req *r, const char *scopes,
                        long long client_expires_ms)
{
    token_request *t = r->data;
    char token[512], scope_text[32];
    unsigned allowed, granted;
    scope_check check = SCOPE_OK;
    char unknown[48] = "";
    int64_t now = hg_time_ms();
    int64_t expires = now + (int64_t)gw_config->token_ttl_s * 1000;
    long long lifetime_s;

    allowed = gw_scopes_parse(scopes);
    granted = allowed;
    if ((t->form.present & GW_TOKEN_SCOPE) != 0)
        check = scope_subset(t->form.scope, allowed, &granted, unknown,
                             sizeof(unknown));
    if (check == SCOPE_EMPTY) {
        reply_oauth_error(r, "invalid_scope",
                          "scope is empty: omit it to get every scope of the "
                          "client, or list scopes separated by spaces");
        return;
    }
    if (check == SCOPE_UNKNOWN) {
        char detail[160];

        snprintf(detail, sizeof(detail),
                 "scope \"%s\" is unknown: scopes are read, publish and "
                 "manage, separated by spaces",
                 unknown);
        reply_oauth_error(r, "invalid_scope", detail);
        return;
    }
    if (check == SCOPE_EXCEEDS || granted == 0) {
        reply_oauth_error(r, "invalid_scope",
                          "the requested scope exceeds the client's scopes");
        return;
    }
    if (client_expires_ms > 0 && client_expires_ms < expires)
        expires = client_expires_ms;
    lifetime_s = (expires - now) / 1000;
    if (lifetime_s < 1)
        lifetime_s = 1;

    gw_scopes_format(granted, scope_text, sizeof(scope_text));
    if (gw_token_issue(t->integration_id, t->form.client_id, scope_text,
                       expires, token, sizeof(token)) != 0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "signing the token failed");
        return;
    }
    snprintf(r->auth_actor, sizeof(r->auth_actor), "client:%.63s",
             t->form.client_id);
    /* The token itself is never recorded, only that one was issued. */
    gw_audit(r, t->integration_id, "token.issue", t->form.client_id,
             json_pack("{s:s, s:I}", "scope", scope_text, "expires_in_s",
                       (json_int_t)lifetime_s));
    hg_reply_header(r, "Cache-Control", "no-store");
    hg_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:I, s:s}", "access_token", token,
                            "token_type", "Bearer", "expires_in",
                            (json_int_t)lifetime_s, "scope", scope_text));
    memset(token, 0, sizeof(token));
}

static void on_client(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);
    const redisReply *wait = hg_reply_elem(reply, 1);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r))
        goto done;
    if (result != NULL && strcmp(result, "ok") == 0) {
        const char *scopes = hg_reply_str(reply, 1, NULL);
        const char *expires = hg_reply_str(reply, 2, NULL);

        issue_token(r, scopes ? scopes : "", expires ? atoll(expires) : 0);
    } else if (result != NULL && strcmp(result, "limited") == 0 && wait &&
               wait->type == REDIS_REPLY_INTEGER) {
        reply_client_limited(r, wait->integer);
    } else if (result != NULL && strcmp(result, "revoked") == 0) {
        reply_oauth_error(r, "invalid_client", "the OAuth client was revoked");
    } else if (result != NULL && strcmp(result, "expired") == 0) {
        reply_oauth_error(r, "invalid_client", "the OAuth client expired");
    } else {
        reply_oauth_error(r, "invalid_client",
                          "client authentication failed");
    }
done:
    hg_req_release(r);
}

static void on_client_index(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    hg_req *r = arg;
    token_request *t = r->data;
    gw_thread *t_ctx = hg_req_thread(r);
    char record[HG_KEY_MAX], bucket[HG_KEY_MAX], suffix[96], given[65];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STRING ||
               !hg_integration_id_valid(reply->str)) {
        reply_oauth_error(r, "invalid_client", "client authentication failed");
    } else {
        snprintf(t->integration_id, sizeof(t->integration_id), "%s",
                 reply->str);
        snprintf(suffix, sizeof(suffix), "client:%.63s", t->form.client_id);
        hg_key(record, t->integration_id, suffix);
        snprintf(suffix, sizeof(suffix), "rl:tf:%.63s", t->form.client_id);
        hg_key(bucket, t->integration_id, suffix);
        hg_sha256_hex(t->form.client_secret, strlen(t->form.client_secret),
                      given);

        const char *argv[] = {record, bucket, given, CLIENT_FAILURES_PER_S};
        hg_req_async(r, gw_config->redis_timeout_ms + 1000);
        hg_redis_eval(t_ctx->redis, &hg_script_token_client, 0, on_client, r,
                      2, 4, argv, NULL);
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
    snprintf(key, sizeof(key), "hg:oauth:client:%.63s", t->form.client_id);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t_ctx->redis, 0, on_client_index, r,
                     "HGET %s integration_id", key);
}
