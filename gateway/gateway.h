/* SPDX-License-Identifier: MIT
 *
 * Shared declarations of hookgate-gateway: the per-thread context (each
 * worker thread has its own event loop, Redis connection and caches), the
 * authentication step that every API route runs first, and the route
 * handlers.
 */
#ifndef HG_GATEWAY_H
#define HG_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/http.h"
#include "common/redis.h"

enum {
    SCOPE_PUBLISH = 1,
    SCOPE_READ = 2,
    SCOPE_MANAGE = 4,
    SCOPE_ALL = 7
};

#define KEY_CACHE_SLOTS 1024
#define ENDPOINT_CACHE_SLOTS 256
/* A cached API key is trusted for this long, so a revoked key may work for
 * up to this many milliseconds on a gateway that saw it recently. */
#define KEY_CACHE_TTL_MS 5000

typedef struct key_cache_entry {
    char sha256[65];
    char integration_id[64];
    unsigned scopes;
    int64_t expires_ms;
} key_cache_entry;

typedef struct endpoint_entry {
    char id[64];
    char *filters; /* space-separated type filters */
} endpoint_entry;

/* The endpoints of one integration as of one version of its endpoint list.
 * The publish script rejects a match made against an outdated version. */
typedef struct endpoint_snapshot {
    char integration_id[64];
    char version[32];
    int count;
    endpoint_entry *endpoints;
} endpoint_snapshot;

typedef struct gw_thread {
    struct event_base *base;
    hg_redis *redis;
    key_cache_entry keys[KEY_CACHE_SLOTS];
    endpoint_snapshot snapshots[ENDPOINT_CACHE_SLOTS];
} gw_thread;

extern const hg_config *gw_config;

gw_thread *gw_thread_new(struct event_base *base);
void gw_thread_free(gw_thread *t);

/* Authenticates the request, then checks that the caller may act on
 * integration_id (NULL: admin only) with scope. On success calls next(r);
 * otherwise answers 401, 403 or 503 itself. */
void gw_authorize(hg_req *r, const char *integration_id, unsigned scope,
                  void (*next)(hg_req *r));

/* Returns the cached snapshot for an integration, or NULL. */
endpoint_snapshot *gw_snapshot_find(gw_thread *t, const char *integration_id);
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

/* Validates an id path parameter; answers 404 and returns false if bad. */
bool gw_check_integration_param(hg_req *r, const char *id);

/* True for "ep_" followed by 1 to 60 of A-Z a-z 0-9 _ -. */
bool gw_endpoint_id_valid(const char *s);

/* True for a delivery id: "dlv_" + an event id body + "_" + a number. */
bool gw_delivery_id_valid(const char *s);

/* Route handlers. */
void gw_create_integration(hg_req *r);
void gw_get_integration(hg_req *r);
void gw_create_endpoint(hg_req *r);
void gw_get_endpoint(hg_req *r);
void gw_publish_event(hg_req *r);
void gw_get_event(hg_req *r);
void gw_get_event_payload(hg_req *r);
void gw_get_delivery(hg_req *r);
void gw_redeliver(hg_req *r);

/* Creates the sandbox integration and endpoint if missing. */
void gw_sandbox_ensure(hg_redis *redis);

#endif
