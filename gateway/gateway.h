/* SPDX-License-Identifier: MIT
 *
 * Shared declarations of hookgate-gateway: the per-thread context (each
 * worker thread has its own event loop, Redis connection and caches), the
 * authentication step that every API route runs first, and the route
 * handlers.
 */
#ifndef HG_GATEWAY_H
#define HG_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/typefilter.h"
#include "common/http.h"
#include "common/redis.h"

enum {
    SCOPE_PUBLISH = 1,
    SCOPE_READ = 2,
    SCOPE_MANAGE = 4,
    SCOPE_ALL = 7,
    /* Marks the actions that support staff may take, added to the scope an
     * API key or OAuth token needs: redeliver, replay, send a test event,
     * enable or disable an endpoint. A support token with the "support"
     * role passes on it alone. Never stored in a key's scopes. */
    SCOPE_OPERATE = 8
};

#define ENDPOINT_CACHE_SLOTS 256

/* CRED_SESSION is an inspector session token ("hgs_") and CRED_SUPPORT a
 * support token ("hgst_"); gw_authorize() resolves both in Redis. */
typedef enum cred_kind {
    CRED_ADMIN,
    CRED_KEY,
    CRED_TOKEN,
    CRED_SESSION,
    CRED_SUPPORT
} cred_kind;

/* What the caller presented, after the checks that need no Redis: the
 * admin key compared, a token's signature and expiry verified. */
typedef struct gw_credential {
    cred_kind kind;
    /* API key hash (CRED_KEY, CRED_ADMIN), or the hash of a session or
     * support token (CRED_SESSION, CRED_SUPPORT). */
    char sha256[65];
    char client_id[64];         /* OAuth client (CRED_TOKEN) */
    char token_integration[64]; /* integration of the token */
    char token_scopes[64];
    long long token_expires_ms;
} gw_credential;

typedef struct endpoint_entry {
    char id[64];
    char *filters;      /* space-separated type filters */
    char *ordering_key; /* JSON Pointer, "" for none */
} endpoint_entry;

/* The endpoints and publish settings of one integration as of one version
 * of its endpoint list. The publish script rejects a match made against an
 * outdated version. */
typedef struct endpoint_snapshot {
    char integration_id[64];
    char version[32];
    bool validate_payloads;
    int count;
    endpoint_entry *endpoints;
} endpoint_snapshot;

#define IDEMPOTENCY_KEY_MAX 255

/* One publish in progress, kept as the request's data. */
typedef struct gw_publish {
    gw_credential cred;
    const char *body; /* the request's body or owned_body */
    size_t len;
    char *owned_body; /* a body made by hookgate (test events), or NULL */
    char type[HG_EVENT_TYPE_MAX + 1];
    char event_id[HG_ID_MAX];
    char received_ms[24];
    char received_at[HG_TIME_BUF];
    char body_sha256[65];
    char idempotency_key[IDEMPOTENCY_KEY_MAX + 1];
    bool has_idempotency_key;
    char traceparent[64];
    /* Hookgate deliveries the event came through (Hookgate-Hops), as
     * text: "0" for a first publish. */
    char hops[4];
    bool test;
    char only_endpoint[64]; /* non-empty: deliver to this endpoint only */
    int stale_retries;
    bool noscript_retried;
    /* The snapshot in use was read during this request, so its settings
     * (payload validation) are current, not a cached copy. */
    bool snapshot_read;
    /* The 202 repeats an earlier publish with the same Idempotency-Key,
     * so the event is not counted again. */
    bool replayed;
    /* Optional reply on success instead of 202 {"id": ...}. */
    void (*on_accepted)(hg_req *r, const char *event_id, bool replayed);
} gw_publish;

typedef struct gw_thread {
    struct event_base *base;
    hg_redis *redis;
    /* Per-integration request counters, flushed to Redis each second. */
    struct hg_metrics *metrics;
    endpoint_snapshot snapshots[ENDPOINT_CACHE_SLOTS];
} gw_thread;

extern const hg_config *gw_config;
/* Set once the Redis configuration passed the durability check at start;
 * until then API routes answer 503, so nothing is accepted into a Redis
 * that would lose it. */
extern atomic_bool gw_redis_verified;
struct hg_catalog;
/* The event type catalog, loaded at start; read-only and shared. */
extern const struct hg_catalog *gw_catalog;

gw_thread *gw_thread_new(struct event_base *base);
void gw_thread_free(gw_thread *t);

/* Authenticates the request, then checks that the caller may act on
 * integration_id (NULL: admin only) with scope, and applies the rate
 * limits. On success sets r->auth_* and the RateLimit headers, evaluates
 * If-Match (hg_req_preconditions_hold) and calls next(r); otherwise sends
 * 401, 403, 412, 429 or 503 itself. */
void gw_authorize(hg_req *r, const char *integration_id, unsigned scope,
                  void (*next)(hg_req *r));
/* gw_authorize() without If-Match, for a next step that only sends a
 * client error: a request that fails anyway ignores its preconditions
 * (RFC 9110, section 13.2.1). */
void gw_authorize_for_error(hg_req *r, const char *integration_id,
                            unsigned scope, void (*next)(hg_req *r));
/* Reads the credential of a publish (an event or a test event); sends 401
 * (or TOKEN_EXPIRED) and returns false when it is missing or invalid.
 * Inspector sessions and support tokens get 403 FORBIDDEN unless
 * gw_authorize() already passed them in this request (test events): then
 * c is returned as CRED_ADMIN, so publish.lua does not check them again. */
bool gw_read_credential(hg_req *r, gw_credential *c);
/* Writes the Redis keys of the credential's record and rate buckets. */
void gw_credential_keys(const gw_credential *c, const char *integration_id,
                        char *record, char *bucket, char *integration_bucket);
/* Responses to a refused principal and to a reached rate limit. */
void gw_reply_denied(hg_req *r, const gw_credential *c, const char *reason,
                     const char *scope);
void gw_reply_denied_now(hg_req *r, const gw_credential *c,
                         const char *reason, const char *scope);
void gw_reply_limited(hg_req *r, long long retry_ms, const char *which);
/* Sets r->auth_actor from the credential and the principal id. */
void gw_set_actor(hg_req *r, const gw_credential *c, const char *principal);
/* Writes an access token for a client; returns 0 or -1. */
int gw_token_issue(const char *integration_id, const char *client_id,
                   const char *scopes, int64_t expires_ms, char *out,
                   size_t cap);
const char *gw_scope_name(unsigned scope);
/* Parses and writes space-separated scope lists ("publish read"). */
unsigned gw_scopes_parse(const char *s);
char *gw_scopes_format(unsigned scopes, char *out, size_t cap);

/* Starts a publish: allocates the state as r->data, with a new event id,
 * the receive time and a fresh traceparent. Returns NULL after replying. */
gw_publish *gw_publish_new(hg_req *r);
void gw_publish_free(void *s);
/* Stores the event of r->data (credential, body, type set) and replies. */
void gw_publish_start(hg_req *r);

/* Returns the cached snapshot for an integration, or NULL. */
endpoint_snapshot *gw_snapshot_find(gw_thread *t, const char *integration_id);
/* Frees what a snapshot owns and zeroes it. */
void gw_snapshot_clear(endpoint_snapshot *s);
/* Replaces the cached snapshot from an endpoint_snapshot.lua reply. */
endpoint_snapshot *gw_snapshot_store(gw_thread *t, const char *integration_id,
                                     const redisReply *reply);

/* True for application/json and application/<name>+json, with any
 * parameters. */
bool gw_is_json_media_type(const char *content_type);
/* Parses the body of a management request as a JSON object; on failure
 * answers 415, 400 or 422 and returns NULL. */
json_t *gw_json_body(hg_req *r);

/* Answers 503 (or 500 for an error reply) and returns true when a Redis
 * command did not succeed. */
bool gw_redis_failed(hg_req *r, hg_redis_status status,
                     const redisReply *reply);

/* Reads the "limit" query parameter (default fallback, 1 to max); sends 422
 * and returns false when it is invalid. */
bool gw_query_limit(hg_req *r, int fallback, int max, int *out);
/* Percent-decodes a query value ("+" is a space) into out (cap bytes with
 * the NUL); -1 for a bad escape, %00, or a result that does not fit. With
 * out NULL it only checks the escapes, for any length. */
int gw_query_decode(const char *in, char *out, size_t cap);
/* The parameters of a token request (POST /oauth/token), percent-decoded.
 * A value is shorter than GW_TOKEN_FIELD_MAX bytes and has no NUL byte,
 * and an absent parameter's value is "". */
#define GW_TOKEN_FIELD_MAX 256

enum {
    GW_TOKEN_GRANT_TYPE = 1,
    GW_TOKEN_CLIENT_ID = 2,
    GW_TOKEN_CLIENT_SECRET = 4,
    GW_TOKEN_SCOPE = 8
};

typedef struct gw_token_form {
    char grant_type[GW_TOKEN_FIELD_MAX];
    char client_id[GW_TOKEN_FIELD_MAX];
    char client_secret[GW_TOKEN_FIELD_MAX];
    char scope[GW_TOKEN_FIELD_MAX];
    unsigned present; /* GW_TOKEN_* bits of the parameters sent */
    /* Why gw_token_form_parse() failed, for the caller's error response;
     * it names no value. */
    const char *error;
} gw_token_form;

/* Parses an application/x-www-form-urlencoded token request body of len
 * bytes into f. f starts zeroed, or contains the client credentials of
 * HTTP Basic with their bits in f->present. Unknown parameters (of any
 * length) and empty pairs are ignored. Returns false for a NUL byte, a
 * pair without '=', an invalid percent escape or %00 anywhere, a known
 * parameter's value too long, or a known parameter given twice (Basic
 * counts). f is then partly filled. */
bool gw_token_form_parse(const char *body, size_t len, gw_token_form *f);
/* Reads the value of an "Authorization: Basic ..." header (header points
 * at "Basic"): strict padded base64 of "<client_id>:<client_secret>", each
 * part form-encoded (RFC 6749 section 2.3.1). On success f contains both,
 * with their bits in f->present. Returns false for bad base64, a decoded
 * NUL byte, no ':', a bad escape or a part too long; f's credentials are
 * then cleared. */
bool gw_token_basic_parse(const char *header, gw_token_form *f);
/* Parses an RFC 3339 time (a decoded query value or a JSON string) into
 * milliseconds. */
bool gw_parse_time(const char *text, long long *ms);

/* Records a change in the audit log (see audit.c); takes ownership of
 * details, which may be NULL. integration_id NULL records an admin change
 * in the global log only. */
void gw_audit(hg_req *r, const char *integration_id, const char *action,
              const char *target, json_t *details);

/* The JSON of an endpoint from its flat HGETALL fields starting at index
 * first; secrets are never included. */
json_t *gw_endpoint_json(const redisReply *fields, size_t first);
/* Seals a secret for an endpoint record; returns 0 or -1. */
int gw_endpoint_seal(const char *integration_id, const char *endpoint_id,
                     const char *secret, char *out, size_t cap);

/* Validates an id path parameter; answers 404 and returns false if bad. */
bool gw_check_integration_param(hg_req *r, const char *id);

/* True for "ep_" followed by 1 to 60 of A-Z a-z 0-9 _ -. */
bool gw_endpoint_id_valid(const char *s);

/* True for a delivery id: "dlv_" + an event id body + "_" + a number. */
bool gw_delivery_id_valid(const char *s);

/* Route handlers. */
void gw_create_integration(hg_req *r);
void gw_get_integration(hg_req *r);
void gw_list_integrations(hg_req *r);
void gw_update_integration(hg_req *r);
void gw_delete_integration(hg_req *r);
void gw_create_endpoint(hg_req *r);
void gw_get_endpoint(hg_req *r);
void gw_list_endpoints(hg_req *r);
void gw_update_endpoint(hg_req *r);
void gw_delete_endpoint(hg_req *r);
void gw_enable_endpoint(hg_req *r);
void gw_disable_endpoint(hg_req *r);
void gw_rotate_secret(hg_req *r);
void gw_list_audit(hg_req *r);
void gw_list_events(hg_req *r);
void gw_list_event_types(hg_req *r);
void gw_get_event_type(hg_req *r);
void gw_test_endpoint(hg_req *r);
/* Adds Deprecation, Sunset and Link headers when type is deprecated. */
void gw_catalog_headers(hg_req *r, const char *type);
/* Checks the payload of s against its type's schema, for an integration
 * that validates payloads. Returns false with the reason in why (cap
 * bytes) when the type is not in the catalog or the payload does not
 * match. */
bool gw_payload_valid(const gw_publish *s, const char *integration_id,
                      char *why, size_t cap);
void gw_recover_endpoint(hg_req *r);
void gw_get_job(hg_req *r);
void gw_cancel_job(hg_req *r);
void gw_list_deliveries(hg_req *r);
void gw_create_credential(hg_req *r);
void gw_list_credentials(hg_req *r);
void gw_revoke_credential(hg_req *r);
void gw_oauth_token(hg_req *r);
void gw_list_global_audit(hg_req *r);
void gw_publish_event(hg_req *r);
void gw_get_event(hg_req *r);
void gw_get_event_payload(hg_req *r);
void gw_get_delivery(hg_req *r);
void gw_redeliver(hg_req *r);
void gw_replay_event(hg_req *r);
void gw_get_integration_metrics(hg_req *r);
void gw_get_endpoint_metrics(hg_req *r);
void gw_list_alerts(hg_req *r);
void gw_get_alert_rules(hg_req *r);
void gw_put_alert_rules(hg_req *r);
/* GET /api/v1/metrics/integration/{id}/series (docs/metrics.md). */
void gw_get_metrics_series(hg_req *r);
/* Counts a finished request in its integration's metrics (on_done hook of
 * the HTTP server). */
void gw_metrics_on_done(hg_req *r, int status, long long duration_us);

/* The status page's operator API (api_status.c), admin key only. */
void gw_status_incident_create(hg_req *r);
void gw_status_incident_list(hg_req *r);
void gw_status_incident_get(hg_req *r);
void gw_status_incident_update(hg_req *r);
void gw_status_maintenance_create(hg_req *r);
void gw_status_maintenance_list(hg_req *r);
void gw_status_maintenance_get(hg_req *r);
void gw_status_maintenance_update(hg_req *r);
void gw_status_maintenance_delete(hg_req *r);

/* What deleting an integration removed. */
typedef struct gw_purge_counts {
    long long events, deliveries, attempts, endpoints, keys;
    long long api_keys, oauth_clients;
    long long sinks, activity_records;
} gw_purge_counts;

/* The purge marker hg:{I}:purging blocks creating the id again: "running"
 * without an expiry while a purge runs (a purge cut short by a crash keeps
 * the id blocked until a delete of the id resumes it), then "done" for
 * PURGE_MARKER_GRACE_S, longer than the metric flushes of requests in
 * flight take. */
#define PURGE_MARKER_GRACE_S 60

/* Lease of the request that runs a purge (hg:{I}:purge_lease), refreshed
 * at every batch. A delete of the id meanwhile gets 409; one sent after a
 * crash resumes the purge once the lease expired. Milliseconds. */
#define PURGE_LEASE_MS 30000

/* Deletes an integration and everything it holds, then calls done (which
 * replies); sends 503 itself on failure, and 404 for a missing integration
 * unless missing_ok. The purge marker outlives it by marker_grace_s
 * seconds (0: removed at once). Uses r->data. */
void gw_purge_integration(hg_req *r, const char *integration_id,
                          bool missing_ok, int marker_grace_s,
                          void (*done)(hg_req *r, const gw_purge_counts *c));

json_t *gw_purge_counts_json(const gw_purge_counts *counts);

/* Writes the sandbox fixtures at start (sandbox mode only). While a
 * sandbox reset that was cut short still holds its purge lease, it tries
 * again on base once the lease can have expired. */
void gw_sandbox_ensure(struct event_base *base, hg_redis *redis);
void gw_get_sandbox(hg_req *r);
void gw_reset_sandbox(hg_req *r);

#endif
