/* SPDX-License-Identifier: MIT
 *
 * Shared declarations of hookgate-inspector: one event loop serves the
 * inspector page (web/), its JSON API, the live feed over server-sent
 * events and the sinks (test endpoints that record what they receive).
 */
#ifndef HG_INSPECTOR_H
#define HG_INSPECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Scope bits of r->auth_scopes for an integration API key; the same values
 * as the gateway's SCOPE_* bits. */
#define INSP_SCOPE_PUBLISH 1u
#define INSP_SCOPE_READ 2u
#define INSP_SCOPE_MANAGE 4u

/* Identifies the caller from a bearer (admin key, integration API key,
 * support token or session token) or else the session cookie, then calls
 * next(r); otherwise sends 401, 403 or 503 itself. On success sets
 * r->auth_role ("admin", "integration", "viewer" or "support"),
 * r->auth_actor ("admin", "key:<key id>" or "support:<token id>"),
 * r->auth_admin for the admin, and r->auth_integration with
 * r->auth_scopes for an integration key. */
void insp_authorize(hg_req *r, void (*next)(hg_req *r));
/* True when the caller may change delivery state of integration_id from
 * the page: redeliver, replay, send test events, enable or disable
 * endpoints. Admins and the "support" role may act on any integration, an
 * integration key with the manage scope on its own; "viewer" never. */
bool insp_may_act(const hg_req *r, const char *integration_id);
/* True for the callers that see every integration and sink: the admin,
 * viewer and support roles. They read the shared activity stream. */
bool insp_may_see_all(const hg_req *r);
/* True when the caller may see data of integration_id: the admin, viewer
 * and support roles see every integration, an integration key its own. */
bool insp_may_see(const hg_req *r, const char *integration_id);
/* True when the caller may see sink_id: the admin, viewer and support
 * roles see every sink, an integration only the sink named exactly like
 * it. */
bool insp_may_see_sink(const hg_req *r, const char *sink_id);
/* Sends 503 and returns true when a Redis command failed. */
bool insp_redis_failed(hg_req *r, hg_redis_status status,
                       const redisReply *reply);

/* A caller's credential as kept by the live feed to check it again later:
 * its kind and the SHA-256 (hex) of the token, never the token itself. */
typedef enum insp_credential_kind {
    INSP_CRED_ADMIN,
    INSP_CRED_KEY,
    INSP_CRED_SESSION,
    INSP_CRED_SUPPORT,
} insp_credential_kind;

typedef struct insp_credential {
    insp_credential_kind kind;
    bool from_cookie; /* the session cookie, not a bearer */
    char sha256[65];
    /* r->auth_expires_ms of the request the credential came with. */
    long long expires_ms;
} insp_credential;

typedef enum insp_recheck_result {
    INSP_RECHECK_VALID,
    INSP_RECHECK_INVALID, /* revoked, expired, signed out or unknown */
    INSP_RECHECK_FAILED,  /* Redis failed or timed out: outcome unknown */
} insp_recheck_result;

/* Called once with the outcome; reason is "revoked", "expired", "unknown"
 * or "scope" for INSP_RECHECK_INVALID, the Redis error for
 * INSP_RECHECK_FAILED, and NULL for INSP_RECHECK_VALID. */
typedef void (*insp_recheck_cb)(insp_recheck_result result,
                                const char *reason, void *arg);

/* Copies the caller's token into token (cap bytes): its bearer, or else
 * the session token of its cookie, and sets *from_cookie. Returns false
 * when the request carries neither. The caller clears token after use. */
/* Writes the host and port at which the inspector reaches the gateway
 * (HOOKGATE_INSPECTOR_GATEWAY_URL, else HOOKGATE_GATEWAY_ADDR); a gateway
 * listening on every address is reached on loopback. */
void insp_gateway_address(char *host, size_t cap, int *port);
struct evhttp_connection;
/* Frees conn on the next loop turn, outside libevent's call stack. For a
 * connection marked free-on-completion whose connect failed, which
 * libevent 2.1.12 does not free itself. */
void insp_gateway_conn_free_later(struct evhttp_connection *conn);

bool insp_read_token(const hg_req *r, char *token, size_t cap,
                     bool *from_cookie);
/* Copies the value of the first cookie called name in a Cookie header
 * value (NULL for none) into out, without the spaces and tabs around it.
 * Pairs are separated by ';' and white space (RFC 6265 section 4.2.1).
 * Returns false when no pair is called name, or the first one has an
 * empty value or one of cap bytes or more. */
/* Returns how many pairs of the Cookie header are called name. */
int insp_cookie_count(const char *header, const char *name);
bool insp_cookie_value(const char *header, const char *name, char *out,
                       size_t cap);
/* Reads the caller's bearer or else session cookie into out, the same way
 * insp_authorize() picks it. Returns false when the request has none. */
bool insp_credential_read(const hg_req *r, insp_credential *out);
/* Resolves a credential read by insp_credential_read() again, with one
 * Redis command under the configured deadline, and calls cb exactly once.
 * An admin key credential is valid without a lookup, and cb then runs
 * before this function returns. */
void insp_credential_recheck(const insp_credential *cred, insp_recheck_cb cb,
                             void *arg);

/* Sessions. */
void insp_session_create(hg_req *r);
void insp_session_get(hg_req *r);
void insp_session_delete(hg_req *r);

/* Support tokens (admin only): create, list, revoke. */
void insp_support_token_create(hg_req *r);
void insp_support_token_list(hg_req *r);
void insp_support_token_revoke(hg_req *r);

/* JSON API. */
void insp_activity(hg_req *r);
void insp_event(hg_req *r);
void insp_event_payload(hg_req *r);

/* Sinks (sink_api.c): configuration and captures; the captures and clear
 * routes also serve the older /inspector/api/sinks/{sink}/captures. */
void insp_sink_list(hg_req *r);
void insp_sink_put(hg_req *r);
void insp_sink_get(hg_req *r);
void insp_sink_delete(hg_req *r);
void insp_sink_requests(hg_req *r);
void insp_sink_captures(hg_req *r);
void insp_sink_clear(hg_req *r);

/* A sink at /sink/{sink}: records the request, then sends the answer its
 * script picks (sink.c). */
void insp_sink_receive(hg_req *r);

/* Partner API routes forwarded to the gateway (proxy.c), and the search
 * across integrations (search.c). insp_proxy_init() runs once before the
 * loop and insp_proxy_free() after it. */
void insp_proxy_init(struct event_base *base);
void insp_proxy_free(void);
void insp_proxy(hg_req *r);
void insp_search(hg_req *r);
/* True for "dlv_" + an event id body + "_" + 1 to 6 digits; writes the
 * delivery's event id into event_id. */
bool insp_delivery_id_valid(const char *s, char *event_id, size_t cap);

/* The public status page (status.c), without sign-in: the page itself,
 * its JSON and the maintenance windows as iCalendar, built at most once
 * every two seconds. insp_status_free() runs after the loop. */
void insp_status_page(hg_req *r);
void insp_status_json(hg_req *r);
void insp_status_ics(hg_req *r);
void insp_status_free(void);

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
/* Makes every credential with open streams due for its re-check at the
 * next tick (500 ms), after a revocation in this process; the re-checks
 * still go out at most RECHECK_PER_TICK at a time. */
void feed_hub_recheck_soon(struct feed_hub *hub);
/* Ends at once the live feed streams of this process that use the session
 * whose token hashes to sha256 (hex), after a "signed-out" message. */
void feed_hub_end_session(struct feed_hub *hub, const char *sha256);

/* A position in the activity stream: the Redis stream id "<ms>-<seq>". */
typedef struct insp_stream_id {
    uint64_t ms;
    uint64_t seq;
} insp_stream_id;

/* Bytes of the longest formatted stream id, with its NUL. */
#define INSP_STREAM_ID_MAX 42

/* Parses "<ms>-<seq>", or "<ms>" for "<ms>-0" as XREAD reads it. Both
 * parts are decimal digits only, with a value of at most UINT64_MAX.
 * Returns false for anything else and then leaves *out unchanged. */
bool insp_stream_id_parse(const char *s, insp_stream_id *out);
/* Writes id as "<ms>-<seq>" into buf (cap bytes) and returns buf. */
char *insp_stream_id_format(insp_stream_id id, char *buf, size_t cap);
/* Reads where a live feed client resumes: the Last-Event-ID header, or
 * the "since" query parameter when the header is absent or empty (NULL
 * for an absent value). Sets *resume to whether a non-empty id was given
 * and *out to it. Returns false for an invalid id. */
bool insp_feed_resume_point(const char *last_event_id, const char *since,
                            bool *resume, insp_stream_id *out);

#endif
