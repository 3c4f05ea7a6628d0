/* SPDX-License-Identifier: MIT
 *
 * Inspector sign-in and roles. A person signs in with the admin key, an
 * integration API key (with the read scope) or a support token, and gets a
 * session cookie (HttpOnly, SameSite=Strict, Path=/, Secure behind https)
 * whose token is stored in Redis only as its SHA-256. Scripts and tests may
 * instead send any of these credentials, or a session token, as a bearer.
 * Support tokens themselves are managed in support.c.
 *
 * A session stores the hash of the credential it was opened with, and
 * credential_resolve.lua checks that credential again on every request:
 * a revoked or expired API key or support token, or a changed admin key,
 * ends its sessions at once. The session's TTL is also cut to the
 * credential's remaining life so that Redis drops it by itself.
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
#include "inspector/inspector.h"

#define SESSION_TTL_S 43200
#define SESSION_COOKIE "hg_session"
#define SESSION_PREFIX "hgs_"
#define SUPPORT_PREFIX "hgst_"
#define TOKEN_MAX 512

typedef enum cred_kind { KIND_KEY, KIND_SESSION, KIND_SUPPORT } cred_kind;

/* Who is behind a credential, as credential_resolve.lua returns it. */
typedef struct identity {
    char role[16];
    char integration_id[64];
    char principal_id[HG_ID_MAX]; /* API key id or support token id */
    char key_sha256[65];          /* admin key or API key behind it */
    char support_sha256[65];      /* support token behind it */
    char name[128];
    char scopes[64];
    long long expires_ms; /* of the key or support token; 0: never */
} identity;

typedef struct auth_step {
    hg_req *r;
    cred_kind kind;
    char sha256[65];
    bool sign_in;
    /* Called with the identity once the credential is valid. */
    void (*done)(hg_req *r, struct auth_step *a);
    void (*next)(hg_req *r);
    identity id;
} auth_step;

bool insp_redis_failed(hg_req *r, hg_redis_status status,
                       const redisReply *reply)
{
    const char *passing;

    if (status == HG_REDIS_OK && !hg_reply_is_error(reply))
        return false;
    if (status != HG_REDIS_OK) {
        hg_reply_unavailable(r, hg_redis_status_text(status));
        return true;
    }
    /* The raw error names script hashes and lines, which mean nothing to
     * a caller; the log keeps it. */
    passing = hg_redis_error_transient(reply->str);
    if (passing == NULL) {
        hg_log_fields f = {.correlation_id = r->request_id,
                           .error = reply->str};

        hg_error(&f, "Redis answered an error");
    }
    hg_reply_unavailable(r, passing ? passing : "Redis rejected a command");
    return true;
}

/* ---- roles -------------------------------------------------------------- */

bool insp_may_see_all(const hg_req *r)
{
    return r->auth_admin || strcmp(r->auth_role, "viewer") == 0 ||
           strcmp(r->auth_role, "support") == 0;
}

bool insp_may_see(const hg_req *r, const char *integration_id)
{
    if (insp_may_see_all(r))
        return true;
    return integration_id != NULL && r->auth_integration[0] != '\0' &&
           strcmp(r->auth_integration, integration_id) == 0;
}

bool insp_may_act(const hg_req *r, const char *integration_id)
{
    if (r->auth_admin || strcmp(r->auth_role, "support") == 0)
        return true;
    if (strcmp(r->auth_role, "integration") != 0 ||
        (r->auth_scopes & INSP_SCOPE_MANAGE) == 0)
        return false;
    return integration_id != NULL &&
           strcmp(r->auth_integration, integration_id) == 0;
}

bool insp_may_see_sink(const hg_req *r, const char *sink_id)
{
    if (insp_may_see_all(r))
        return true;
    return sink_id != NULL && r->auth_integration[0] != '\0' &&
           strcmp(sink_id, r->auth_integration) == 0;
}

/* Parses a space-separated scope list ("publish read manage"). */
static unsigned parse_scopes(const char *s)
{
    unsigned scopes = 0;

    while (s != NULL && *s) {
        size_t n = strcspn(s, " ");

        if (n == 7 && strncmp(s, "publish", 7) == 0)
            scopes |= INSP_SCOPE_PUBLISH;
        else if (n == 4 && strncmp(s, "read", 4) == 0)
            scopes |= INSP_SCOPE_READ;
        else if (n == 6 && strncmp(s, "manage", 6) == 0)
            scopes |= INSP_SCOPE_MANAGE;
        s += n;
        while (*s == ' ')
            s++;
    }
    return scopes;
}

static bool can_act(const identity *id)
{
    return strcmp(id->role, "admin") == 0 ||
           strcmp(id->role, "support") == 0 ||
           (strcmp(id->role, "integration") == 0 &&
            (parse_scopes(id->scopes) & INSP_SCOPE_MANAGE) != 0);
}

/* A test event is a publish: an integration key needs the publish scope
 * besides manage, which the gateway checks too. */
static bool can_send_test(const identity *id)
{
    unsigned both = INSP_SCOPE_MANAGE | INSP_SCOPE_PUBLISH;

    if (strcmp(id->role, "integration") == 0)
        return (parse_scopes(id->scopes) & both) == both;
    return can_act(id);
}

/* Sets r->auth_* from a resolved identity. */
static void apply_identity(hg_req *r, const identity *id)
{
    snprintf(r->auth_role, sizeof(r->auth_role), "%s", id->role);
    r->auth_expires_ms = id->expires_ms;
    if (strcmp(id->role, "admin") == 0) {
        r->auth_admin = true;
        r->auth_scopes = INSP_SCOPE_PUBLISH | INSP_SCOPE_READ |
                         INSP_SCOPE_MANAGE;
        snprintf(r->auth_actor, sizeof(r->auth_actor), "admin");
    } else if (strcmp(id->role, "integration") == 0) {
        snprintf(r->auth_integration, sizeof(r->auth_integration), "%s",
                 id->integration_id);
        r->auth_scopes = parse_scopes(id->scopes);
        snprintf(r->auth_actor, sizeof(r->auth_actor), "key:%s",
                 id->principal_id);
    } else {
        r->auth_scopes = INSP_SCOPE_READ;
        snprintf(r->auth_actor, sizeof(r->auth_actor), "support:%s",
                 id->principal_id);
    }
}

/* ---- credentials -------------------------------------------------------- */

/* Returns the first pair called name at or after h (NULL for none) in a
 * Cookie header, where pairs are separated by ';' and white space. */
static const char *next_cookie(const char *h, const char *name)
{
    size_t nlen = strlen(name);

    while (h != NULL && *h) {
        while (*h == ' ' || *h == '\t' || *h == ';')
            h++;
        if (strncmp(h, name, nlen) == 0 && h[nlen] == '=')
            return h;
        h = strchr(h, ';');
    }
    return NULL;
}

/* Copies the value of the pair at pair, whose name has nlen bytes, into
 * out. Returns false for an empty value or one of cap bytes or more. */
static bool cookie_pair_value(const char *pair, size_t nlen, char *out,
                              size_t cap)
{
    const char *v = pair + nlen + 1;
    size_t n;

    /* A user agent strips the white space around a value when it stores a
     * cookie (RFC 6265 section 5.2), so none of it can belong to the
     * token. */
    v += strspn(v, " \t");
    n = strcspn(v, ";");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

bool insp_cookie_value(const char *header, const char *name, char *out,
                       size_t cap)
{
    const char *pair = next_cookie(header, name);

    return pair != NULL && cookie_pair_value(pair, strlen(name), out, cap);
}

int insp_cookie_count(const char *header, const char *name)
{
    int count = 0;

    for (const char *pair = next_cookie(header, name); pair != NULL;
         pair = next_cookie(strchr(pair, ';'), name))
        count++;
    return count;
}

/* Returns every Cookie line of the request in a new array, which the
 * caller frees, and stores their count in *n. The lines belong to the
 * request.
 * Browsers send one line, but a proxy that turns HTTP/2 into HTTP/1.1 may
 * pass several. Returns NULL with *n 0 when there is none or memory ran
 * out. */
static const char **cookie_lines(const hg_req *r, size_t *n)
{
    size_t count = hg_req_header_all(r, "Cookie", NULL, 0);
    const char **lines = count > 0 ? calloc(count, sizeof(*lines)) : NULL;

    *n = lines != NULL ? hg_req_header_all(r, "Cookie", lines, count) : 0;
    return lines;
}

static bool cookie_value(const hg_req *r, const char *name, char *out,
                         size_t cap)
{
    size_t n;
    const char **lines = cookie_lines(r, &n);
    bool found = false;

    for (size_t i = 0; i < n && !found; i++)
        found = insp_cookie_value(lines[i], name, out, cap);
    free(lines);
    return found;
}

/* Browsers keep cookies per host, not per port, so a page on another port
 * of the inspector's host can set a second session cookie with a longer
 * path, which the browser sends first. With two, which one the user meant
 * is unknown, so neither is used. */
static bool session_cookie_ambiguous(const hg_req *r)
{
    size_t n;
    const char **lines = cookie_lines(r, &n);
    int count = 0;

    for (size_t i = 0; i < n; i++)
        count += insp_cookie_count(lines[i], SESSION_COOKIE);
    free(lines);
    return count > 1;
}

static bool is_admin_hash(const char *sha256)
{
    return insp->cfg->admin_key_set && strlen(sha256) == 64 &&
           hg_ct_equal(sha256, insp->cfg->admin_key_sha256, 64);
}

static void reply_unauthorized(hg_req *r, const char *detail)
{
    hg_reply_header(r, "WWW-Authenticate", "Bearer realm=\"hookgate\"");
    hg_reply_problem(r, HG_E_UNAUTHORIZED, "%s", detail);
}

static void reply_denied(hg_req *r, const auth_step *a, const char *why)
{
    if (strcmp(why, "scope") == 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the API key lacks the read scope, which the "
                         "inspector needs");
    } else if (a->kind == KIND_SESSION) {
        reply_unauthorized(r, "the session ended, or the credential it was "
                              "opened with was revoked or expired; sign in "
                              "again");
    } else if (strcmp(why, "expired") == 0) {
        reply_unauthorized(r, "the API key expired; create a new key");
    } else if (strcmp(why, "revoked") == 0) {
        reply_unauthorized(r, "the API key was revoked");
    } else {
        reply_unauthorized(r, "the key is not valid: sign in with the admin "
                              "key, an integration API key or a support "
                              "token");
    }
}

static void copy_field(const redisReply *reply, size_t i, char *out,
                       size_t cap)
{
    const char *v = hg_reply_str(reply, i, NULL);

    snprintf(out, cap, "%s", v ? v : "");
}

/* Reads an {"ok", role, integration_id, principal id, key_sha256, name,
 * scopes, expires_ms} reply of credential_resolve.lua. */
static void read_identity(const redisReply *reply, auth_step *a)
{
    identity *id = &a->id;
    char expires[24];

    copy_field(reply, 1, id->role, sizeof(id->role));
    copy_field(reply, 2, id->integration_id, sizeof(id->integration_id));
    copy_field(reply, 3, id->principal_id, sizeof(id->principal_id));
    copy_field(reply, 4, id->key_sha256, sizeof(id->key_sha256));
    copy_field(reply, 5, id->name, sizeof(id->name));
    copy_field(reply, 6, id->scopes, sizeof(id->scopes));
    copy_field(reply, 7, expires, sizeof(expires));
    id->expires_ms = atoll(expires);
    if (a->kind == KIND_SUPPORT)
        snprintf(id->support_sha256, sizeof(id->support_sha256), "%s",
                 a->sha256);
}

static bool identity_valid(const identity *id)
{
    if (strcmp(id->role, "admin") == 0)
        return is_admin_hash(id->key_sha256);
    if (strcmp(id->role, "integration") == 0)
        return id->integration_id[0] != '\0' && id->principal_id[0] != '\0';
    return (strcmp(id->role, "viewer") == 0 ||
            strcmp(id->role, "support") == 0) &&
           id->principal_id[0] != '\0';
}

static void on_resolved(hg_redis_status status, redisReply *reply, void *arg)
{
    auth_step *a = arg;
    hg_req *r = a->r;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied, or the client is gone */
    } else if (result != NULL && strcmp(result, "ok") == 0) {
        read_identity(reply, a);
        if (identity_valid(&a->id))
            a->done(r, a);
        else
            reply_denied(r, a, "unknown");
    } else if (result != NULL && strcmp(result, "denied") == 0) {
        const char *why = hg_reply_str(reply, 1, NULL);

        reply_denied(r, a, why ? why : "unknown");
    } else {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    }
    hg_req_release(r);
    free(a);
}

/* Resolves a credential, then calls done(r, a); a is freed after done
 * returns. Sends 401, 403 or 503 itself when the credential is refused. */
static void resolve(hg_req *r, const char *token, bool from_cookie,
                    bool sign_in, void (*done)(hg_req *r, auth_step *a),
                    void (*next)(hg_req *r))
{
    char key[HG_KEY_MAX];
    auth_step *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    a->r = r;
    a->done = done;
    a->next = next;
    a->sign_in = sign_in;
    hg_sha256_hex(token, strlen(token), a->sha256);

    if (!from_cookie && is_admin_hash(a->sha256)) {
        snprintf(a->id.role, sizeof(a->id.role), "admin");
        snprintf(a->id.key_sha256, sizeof(a->id.key_sha256), "%s", a->sha256);
        done(r, a);
        free(a);
        return;
    }
    if (from_cookie ||
        strncmp(token, SESSION_PREFIX, strlen(SESSION_PREFIX)) == 0) {
        a->kind = KIND_SESSION;
        snprintf(key, sizeof(key), "hg:session:%s", a->sha256);
    } else if (strncmp(token, SUPPORT_PREFIX, strlen(SUPPORT_PREFIX)) == 0) {
        a->kind = KIND_SUPPORT;
        snprintf(key, sizeof(key), "hg:support:%s", a->sha256);
    } else {
        a->kind = KIND_KEY;
        hg_key_apikey(key, a->sha256);
    }
    if (sign_in && a->kind == KIND_SESSION) {
        free(a);
        reply_unauthorized(r, "sign in with the admin key, an integration "
                              "API key or a support token, not a session "
                              "token");
        return;
    }

    const char *kinds[] = {"key", "session", "support"};
    const char *argv[] = {key, kinds[a->kind], a->sha256};
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_credential_resolve, 0, on_resolved,
                  a, 1, 3, argv, NULL);
}

static void authorized(hg_req *r, auth_step *a)
{
    apply_identity(r, &a->id);
    if (hg_req_preconditions_hold(r))
        a->next(r);
}

bool insp_read_token(const hg_req *r, char *token, size_t cap,
                     bool *from_cookie)
{
    /* An explicit bearer wins over a session cookie, which may be
     * stale. */
    *from_cookie = false;
    if (hg_req_bearer(r, token, cap))
        return true;
    if (session_cookie_ambiguous(r))
        return false;
    *from_cookie = cookie_value(r, SESSION_COOKIE, token, cap);
    return *from_cookie;
}

/* True for a request that a page of another origin made the browser
 * send. SameSite=Strict keeps the session cookie from other sites, but
 * not from other origins of the same site (another port on the host, a
 * sibling subdomain), so a change made with the cookie must come from
 * the inspector's own pages. Browsers tell with Sec-Fetch-Site, and older
 * ones with Origin, which must then name the host the request went to.
 * Clients that send neither are not browsers acting for a page. */
static bool cross_origin(const hg_req *r)
{
    const char *site = hg_req_header(r, "Sec-Fetch-Site");
    const char *origin = hg_req_header(r, "Origin");
    const char *host = hg_req_header(r, "Host");
    const char *sep;

    if (site != NULL)
        return strcmp(site, "same-origin") != 0;
    if (origin == NULL)
        return false;
    sep = strstr(origin, "://");
    return sep == NULL || host == NULL || strcasecmp(sep + 3, host) != 0;
}

static bool method_is_safe(const hg_req *r)
{
    return r->req == NULL || r->req->method == htp_method_GET ||
           r->req->method == htp_method_HEAD ||
           r->req->method == htp_method_OPTIONS;
}

/* Resolves the caller's bearer token or session cookie, then calls done. */
static void resolve_caller(hg_req *r, void (*done)(hg_req *r, auth_step *a),
                           void (*next)(hg_req *r))
{
    char token[TOKEN_MAX];
    bool from_cookie;

    if (!insp_read_token(r, token, sizeof(token), &from_cookie)) {
        if (session_cookie_ambiguous(r))
            reply_unauthorized(r, "the request carries more than one "
                                  SESSION_COOKIE " cookie, possibly one set "
                                  "by another site on this host; sign out "
                                  "and sign in again, and if this repeats, "
                                  "delete this site's cookies in the "
                                  "browser");
        else
            reply_unauthorized(r, "sign in with the admin key, an "
                                  "integration API key or a support token");
        return;
    }
    if (from_cookie && !method_is_safe(r) && cross_origin(r)) {
        hg_log_fields f = {.correlation_id = r->request_id};

        memset(token, 0, sizeof(token));
        hg_info(&f, "rejected a change with the session cookie from another "
                    "origin");
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "a change with the session cookie must come from "
                         "the inspector's own page (this request came from "
                         "another origin)");
        return;
    }
    resolve(r, token, from_cookie, false, done, next);
    memset(token, 0, sizeof(token));
}

void insp_authorize(hg_req *r, void (*next)(hg_req *r))
{
    resolve_caller(r, authorized, next);
}

/* ---- checking a credential again ---------------------------------------- */

bool insp_credential_read(const hg_req *r, insp_credential *out)
{
    char token[TOKEN_MAX];
    bool from_cookie;

    memset(out, 0, sizeof(*out));
    if (!insp_read_token(r, token, sizeof(token), &from_cookie))
        return false;
    hg_sha256_hex(token, strlen(token), out->sha256);
    out->from_cookie = from_cookie;
    out->expires_ms = r->auth_expires_ms;
    /* The same order of checks as resolve(). */
    if (!from_cookie && is_admin_hash(out->sha256))
        out->kind = INSP_CRED_ADMIN;
    else if (from_cookie ||
             strncmp(token, SESSION_PREFIX, strlen(SESSION_PREFIX)) == 0)
        out->kind = INSP_CRED_SESSION;
    else if (strncmp(token, SUPPORT_PREFIX, strlen(SUPPORT_PREFIX)) == 0)
        out->kind = INSP_CRED_SUPPORT;
    else
        out->kind = INSP_CRED_KEY;
    memset(token, 0, sizeof(token));
    return true;
}

typedef struct recheck_step {
    cred_kind kind;
    char sha256[65];
    insp_recheck_cb cb;
    void *arg;
} recheck_step;

static void on_rechecked(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    recheck_step *s = arg;
    const char *result = NULL;

    if (status != HG_REDIS_OK) {
        s->cb(INSP_RECHECK_FAILED, hg_redis_status_text(status), s->arg);
    } else if (hg_reply_is_error(reply)) {
        s->cb(INSP_RECHECK_FAILED, reply->str, s->arg);
    } else if ((result = hg_reply_str(reply, 0, NULL)) == NULL) {
        s->cb(INSP_RECHECK_FAILED, "unexpected store reply", s->arg);
    } else if (strcmp(result, "ok") == 0) {
        auth_step a = {.kind = s->kind};

        snprintf(a.sha256, sizeof(a.sha256), "%s", s->sha256);
        read_identity(reply, &a);
        if (identity_valid(&a.id))
            s->cb(INSP_RECHECK_VALID, NULL, s->arg);
        else
            s->cb(INSP_RECHECK_INVALID, "unknown", s->arg);
    } else if (strcmp(result, "denied") == 0) {
        const char *why = hg_reply_str(reply, 1, NULL);

        s->cb(INSP_RECHECK_INVALID, why ? why : "unknown", s->arg);
    } else {
        s->cb(INSP_RECHECK_FAILED, "unexpected store reply", s->arg);
    }
    free(s);
}

void insp_credential_recheck(const insp_credential *cred, insp_recheck_cb cb,
                             void *arg)
{
    static const char *const kinds[] = {"key", "session", "support"};
    char key[HG_KEY_MAX];
    recheck_step *s;

    /* The admin key comes from the configuration, which does not change
     * while the process runs. */
    if (cred->kind == INSP_CRED_ADMIN) {
        cb(is_admin_hash(cred->sha256) ? INSP_RECHECK_VALID
                                       : INSP_RECHECK_INVALID,
           is_admin_hash(cred->sha256) ? NULL : "unknown", arg);
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cb(INSP_RECHECK_FAILED, "out of memory", arg);
        return;
    }
    s->cb = cb;
    s->arg = arg;
    snprintf(s->sha256, sizeof(s->sha256), "%s", cred->sha256);
    if (cred->kind == INSP_CRED_SESSION) {
        s->kind = KIND_SESSION;
        snprintf(key, sizeof(key), "hg:session:%s", s->sha256);
    } else if (cred->kind == INSP_CRED_SUPPORT) {
        s->kind = KIND_SUPPORT;
        snprintf(key, sizeof(key), "hg:support:%s", s->sha256);
    } else {
        s->kind = KIND_KEY;
        hg_key_apikey(key, s->sha256);
    }

    const char *argv[] = {key, kinds[s->kind], s->sha256};
    hg_redis_eval(insp->redis, &hg_script_credential_resolve, 0, on_rechecked,
                  s, 1, 3, argv, NULL);
}

/* ---- sessions ----------------------------------------------------------- */

typedef struct session_state {
    char token[96];
    identity id;
} session_state;

static void free_session_state(void *p)
{
    session_state *s = p;

    if (s != NULL)
        memset(s->token, 0, sizeof(s->token));
    free(s);
}

static json_t *identity_json(const identity *id)
{
    bool integration = strcmp(id->role, "integration") == 0;
    bool admin = strcmp(id->role, "admin") == 0;

    return json_pack("{s:s, s:o, s:b, s:b, s:o}", "role", id->role,
                     "integration_id",
                     integration ? json_string(id->integration_id)
                                 : json_null(),
                     "can_act", can_act(id), "can_send_test",
                     can_send_test(id), "name",
                     admin || id->name[0] == '\0' ? json_null()
                                                  : json_string(id->name));
}

/* The cookie is Secure when the inspector is configured as served over
 * https, or when the TLS proxy in front reports (X-Forwarded-Proto) that
 * the request came over https. A forged header only makes the cookie
 * stricter. */
static bool cookie_secure(const hg_req *r)
{
    const char *proto = hg_req_header(r, "X-Forwarded-Proto");

    return insp->cfg->inspector_secure_cookie ||
           (proto != NULL && strcasecmp(proto, "https") == 0);
}

/* Seconds a new session lives: 12 hours, or less when the credential
 * behind it expires sooner. */
static long long session_ttl_s(const identity *id)
{
    long long left;

    if (id->expires_ms <= 0)
        return SESSION_TTL_S;
    left = (id->expires_ms - hg_time_ms()) / 1000;
    if (left < 1)
        return 1;
    return left < SESSION_TTL_S ? left : SESSION_TTL_S;
}

static void on_session_stored(hg_redis_status status, redisReply *reply,
                              void *arg)
{
    hg_req *r = arg;
    session_state *s = r->data;
    char cookie[320];

    /* EXPIRE finds no key when the HSET before it failed (for example
     * with Redis out of memory): no session exists to hand out. */
    if (status == HG_REDIS_OK && reply != NULL &&
        reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        hg_reply_unavailable(r, "the session could not be stored in Redis");
    } else if (!insp_redis_failed(r, status, reply) && !hg_req_done(r)) {
        hg_log_fields f = {.integration_id = s->id.integration_id[0]
                                                 ? s->id.integration_id
                                                 : NULL,
                           .correlation_id = r->request_id};

        hg_info(&f, "inspector sign-in as %s (%s)", s->id.role,
                r->auth_actor);
        snprintf(cookie, sizeof(cookie),
                 SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; "
                                "Max-Age=%lld%s",
                 s->token, session_ttl_s(&s->id),
                 cookie_secure(r) ? "; Secure" : "");
        hg_reply_header(r, "Set-Cookie", cookie);
        hg_reply_json(r, 200, identity_json(&s->id));
    }
    memset(cookie, 0, sizeof(cookie));
    hg_req_release(r);
}

static void store_session(hg_req *r, auth_step *a)
{
    session_state *s = r->data;
    char sha256[65];
    char key[HG_KEY_MAX];
    char ttl[24];

    s->id = a->id;
    apply_identity(r, &s->id);
    if (hg_api_key_generate(SESSION_PREFIX, s->token, sizeof(s->token)) !=
        0) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "random source failed");
        return;
    }
    hg_sha256_hex(s->token, strlen(s->token), sha256);
    snprintf(key, sizeof(key), "hg:session:%s", sha256);
    snprintf(ttl, sizeof(ttl), "%lld", session_ttl_s(&s->id));

    const char *argv[] = {
        "HSET",           key,
        "role",           s->id.role,
        "integration_id", s->id.integration_id,
        "key_sha256",     s->id.key_sha256,
        "support_sha256", s->id.support_sha256,
        "name",           s->id.name,
    };
    /* MULTI is not needed: a session without its expiry would only live
     * longer, and EXPIRE follows on the same connection. It is also
     * checked against its credential on every request. */
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command_argv(insp->redis, 0, NULL, NULL, 12, argv, NULL);
    hg_redis_command(insp->redis, 0, on_session_stored, r, "EXPIRE %s %s",
                     key, ttl);
}

void insp_session_create(hg_req *r)
{
    size_t len;
    const char *body;
    json_error_t err;
    json_t *json;
    const char *key;
    char token[TOKEN_MAX];
    session_state *s;

    /* An HTML form can only send form or text/plain bodies, so requiring
     * JSON keeps another site from signing a browser in with its own key. */
    if (!hg_req_is_json(r)) {
        hg_reply_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE,
                         "send the body as Content-Type: application/json");
        return;
    }
    body = hg_req_body(r, &len);
    json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    /* The parser's message can quote the input, which contains the key, so
     * only the position is reported. */
    if (json == NULL) {
        hg_reply_problem(r, HG_E_MALFORMED_JSON,
                         "the body is not valid JSON or repeats a member, "
                         "at line %d, column %d",
                         err.line, err.column);
        return;
    }
    key = json_string_value(json_object_get(json, "key"));
    if (key == NULL || strlen(key) == 0 || strlen(key) >= TOKEN_MAX ||
        strpbrk(key, " \t\r\n") != NULL) {
        json_decref(json);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "send {\"key\": \"<admin key, integration API key "
                         "or support token>\"}");
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

    /* The key is checked exactly as a bearer would be. */
    snprintf(token, sizeof(token), "%s", key);
    json_decref(json);
    resolve(r, token, false, true, store_session, NULL);
    memset(token, 0, sizeof(token));
}

static void reply_identity(hg_req *r, auth_step *a)
{
    apply_identity(r, &a->id);
    hg_reply_json(r, 200, identity_json(&a->id));
}

void insp_session_get(hg_req *r)
{
    resolve_caller(r, reply_identity, NULL);
}

/* Deletes the session of token and ends its live feed streams. */
static void end_session(char *token)
{
    char key[HG_KEY_MAX];
    char sha256[65];

    hg_sha256_hex(token, strlen(token), sha256);
    memset(token, 0, strlen(token));
    snprintf(key, sizeof(key), "hg:session:%s", sha256);
    hg_redis_command(insp->redis, 0, NULL, NULL, "DEL %s", key);
    feed_hub_end_session(insp->feed, sha256);
}

/* Clears the session cookie at "/" and at every path that the request's
 * path starts with. A browser sends a cookie set with any of those paths
 * to this route, so a second cookie planted with a longer path (see
 * session_cookie_ambiguous) is cleared too, as long as it was set without
 * a Domain attribute. */
static void clear_session_cookies(hg_req *r)
{
    const char *path = hg_req_path(r);
    char cookie[HG_KEY_MAX + 128], prefix[HG_KEY_MAX];
    size_t len = path != NULL ? strlen(path) : 0;

    for (size_t end = 1; end <= len && end < sizeof(prefix); end++) {
        /* Each prefix that ends just before or just after a "/", or at the
         * end: "/", "/inspector", "/inspector/", and so on. */
        if (end < len && path[end] != '/' && path[end - 1] != '/')
            continue;
        memcpy(prefix, path, end);
        prefix[end] = '\0';
        snprintf(cookie, sizeof(cookie),
                 SESSION_COOKIE "=; Path=%s; HttpOnly; SameSite=Strict; "
                                "Max-Age=0%s",
                 prefix, cookie_secure(r) ? "; Secure" : "");
        hg_reply_header(r, "Set-Cookie", cookie);
    }
}

void insp_session_delete(hg_req *r)
{
    char token[TOKEN_MAX];

    /* Every session cookie the browser sent ends, so none of them outlives
     * a sign-out (see session_cookie_ambiguous). */
    size_t n;
    const char **lines = cookie_lines(r, &n);

    for (size_t i = 0; i < n; i++) {
        for (const char *pair = next_cookie(lines[i], SESSION_COOKIE);
             pair != NULL;
             pair = next_cookie(strchr(pair, ';'), SESSION_COOKIE)) {
            if (cookie_pair_value(pair, strlen(SESSION_COOKIE), token,
                                  sizeof(token)))
                end_session(token);
        }
    }
    free(lines);
    /* A session token can also be sent as a bearer; other bearer
     * credentials have no session to end. */
    if (hg_req_bearer(r, token, sizeof(token)) &&
        strncmp(token, SESSION_PREFIX, strlen(SESSION_PREFIX)) == 0)
        end_session(token);
    clear_session_cookies(r);
    hg_reply(r, 204, NULL, NULL, 0);
}
