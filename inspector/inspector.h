/* SPDX-License-Identifier: MIT
 *
 * Shared declarations of hookgate-inspector: one event loop serves the
 * inspector page (web/), its JSON API, the live feed over server-sent
 * events and the sinks (test endpoints that record what they receive).
 */
#ifndef HG_INSPECTOR_H
#define HG_INSPECTOR_H

#include <stdbool.h>

#include "common/config.h"
#include "common/http.h"
#include "common/redis.h"

struct event_base;

typedef struct inspector {
    struct event_base *base;
    const hg_config *cfg;
    hg_redis *redis;      /* ordinary commands */
    hg_redis *feed_redis; /* the feed's blocking XREAD */
    struct feed_hub *feed;
} inspector;

extern inspector *insp;

/* Identifies the caller from the session cookie or a bearer key (admin key
 * or integration API key), then calls next(r); otherwise sends 401 or 503 itself.
 * On success r->auth_admin or r->auth_integration is set. */
void insp_authorize(hg_req *r, void (*next)(hg_req *r));
/* True when the caller may see data of integration_id. */
bool insp_may_see(const hg_req *r, const char *integration_id);
/* True when the caller may see sink_id: admins see every sink, an
 * integration only the sink named exactly like it. */
bool insp_may_see_sink(const hg_req *r, const char *sink_id);
/* Sends 503 and returns true when a Redis command failed. */
bool insp_redis_failed(hg_req *r, hg_redis_status status,
                       const redisReply *reply);

/* Sessions. */
void insp_session_create(hg_req *r);
void insp_session_get(hg_req *r);
void insp_session_delete(hg_req *r);

/* JSON API. */
void insp_activity(hg_req *r);
void insp_event(hg_req *r);
void insp_event_payload(hg_req *r);
void insp_sink_captures(hg_req *r);
void insp_sink_clear(hg_req *r);

/* Sinks: records the request and responds 200. */
void insp_sink_receive(hg_req *r);

/* Static files of the page. */
void insp_static(hg_req *r);
void insp_index(hg_req *r);

/* Live feed. */
struct feed_hub *feed_hub_new(inspector *in);
/* Makes pending Redis callbacks of the hub do nothing; call before the
 * Redis clients are freed, and free the hub after them. */
void feed_hub_stop(struct feed_hub *hub);
void feed_hub_free(struct feed_hub *hub);
void insp_feed(hg_req *r);
int feed_hub_clients(const struct feed_hub *hub);

#endif
