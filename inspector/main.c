/* SPDX-License-Identifier: MIT
 *
 * hookgate-inspector: serves the inspector page, its JSON API, the live
 * feed and the sinks, on one event loop with two Redis connections (one
 * for commands, one for the feed's blocking read).
 */
#include <event2/event.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/http.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/prom.h"
#include "common/service.h"
#include "inspector/inspector.h"

inspector *insp;
static hg_config config;

static void on_healthz(hg_req *r)
{
    hg_reply_health(r, false, NULL);
}

static hg_probe *probe;
static hg_http *http;

static void on_readyz(hg_req *r)
{
    const char *reason = hg_probe_readiness(probe);

    if (reason == NULL && !hg_redis_ready(insp->redis))
        reason = "redis is not connected";
    hg_reply_health(r, true, reason);
}

/* Declared in main() before the server starts; the inspector serves on
 * one loop, so the handler reads the hub on the hub's thread. */
static hg_prom_metric *sse_clients;

static void on_metrics(hg_req *r)
{
    hg_prom_set(sse_clients, NULL, feed_hub_clients(insp->feed));
    hg_reply_metrics(r, config.metrics_token);
}

/* Live feed clients get the end of their stream at once, so they
 * reconnect to another inspector and resume with Last-Event-ID; other
 * requests get up to HOOKGATE_SHUTDOWN_TIMEOUT_MS. */
static void on_stop(struct event_base *base, void *arg)
{
    int ended;

    (void)arg;
    feed_hub_stop(insp->feed);
    hg_http_stop_accepting(http);
    ended = hg_http_end_streams();
    if (ended > 0)
        hg_info(NULL, "closed %d live feed connections", ended);
    hg_service_drain(base, http);
}

/* A sink also answers below its path; the router's parameter limit allows
 * up to three more segments. */
#define SINK_ROUTE(method)                                                    \
    HG_ROUTE(method, "/sink/{sink}", insp_sink_receive),                      \
        HG_ROUTE(method, "/sink/{sink}/{a}", insp_sink_receive),              \
        HG_ROUTE(method, "/sink/{sink}/{a}/{b}", insp_sink_receive),          \
        HG_ROUTE(method, "/sink/{sink}/{a}/{b}/{c}", insp_sink_receive)
#define PROXY_GET(pattern) HG_ROUTE(htp_method_GET, pattern, insp_proxy)
#define PROXY_POST(pattern) HG_ROUTE(htp_method_POST, pattern, insp_proxy)

static const hg_route routes[] = {
    HG_ROUTE(htp_method_GET, "/healthz", on_healthz),
    HG_ROUTE(htp_method_GET, "/readyz", on_readyz),
    HG_ROUTE(htp_method_GET, "/metrics", on_metrics),
    HG_ROUTE(htp_method_GET, "/", insp_index),
    HG_ROUTE(htp_method_GET, "/assets/{name}", insp_static),
    HG_ROUTE(htp_method_GET, "/status", insp_status_page),
    HG_ROUTE(htp_method_GET, "/status.json", insp_status_json),
    HG_ROUTE(htp_method_GET, "/status.ics", insp_status_ics),
    HG_ROUTE(htp_method_GET, "/assets/vendor/{name}", insp_static),
    HG_ROUTE(htp_method_POST, "/inspector/api/session", insp_session_create),
    HG_ROUTE(htp_method_GET, "/inspector/api/session", insp_session_get),
    HG_ROUTE(htp_method_DELETE, "/inspector/api/session", insp_session_delete),
    HG_ROUTE(htp_method_POST, "/api/v1/inspector/support-tokens",
             insp_support_token_create),
    HG_ROUTE(htp_method_GET, "/api/v1/inspector/support-tokens",
             insp_support_token_list),
    HG_ROUTE(htp_method_DELETE, "/api/v1/inspector/support-tokens/{id}",
             insp_support_token_revoke),
    HG_ROUTE(htp_method_GET, "/inspector/api/activity", insp_activity),
    HG_ROUTE(htp_method_GET, "/inspector/api/feed", insp_feed),
    HG_ROUTE(htp_method_GET, "/api/v1/inspector/stream", insp_feed),
    HG_ROUTE(htp_method_GET, "/inspector/api/integrations/{id}/events/{event}",
             insp_event),
    HG_ROUTE(htp_method_GET,
             "/inspector/api/integrations/{id}/events/{event}/payload",
             insp_event_payload),
    HG_ROUTE(htp_method_GET, "/inspector/api/sinks/{sink}/captures",
             insp_sink_captures),
    HG_ROUTE(htp_method_DELETE, "/inspector/api/sinks/{sink}/captures",
             insp_sink_clear),
    HG_ROUTE(htp_method_GET, "/api/v1/sinks", insp_sink_list),
    HG_ROUTE(htp_method_PUT, "/api/v1/sinks/{sink}", insp_sink_put),
    HG_ROUTE(htp_method_GET, "/api/v1/sinks/{sink}", insp_sink_get),
    HG_ROUTE(htp_method_DELETE, "/api/v1/sinks/{sink}", insp_sink_delete),
    HG_ROUTE(htp_method_GET, "/api/v1/sinks/{sink}/requests",
             insp_sink_requests),
    HG_ROUTE(htp_method_DELETE, "/api/v1/sinks/{sink}/requests",
             insp_sink_clear),
    HG_ROUTE(htp_method_GET, "/api/v1/inspector/search", insp_search),
    /* The partner API routes that the inspector forwards (proxy.c). */
    PROXY_GET("/api/v1/integrations"),
    PROXY_GET("/api/v1/integrations/{id}"),
    PROXY_GET("/api/v1/integrations/{id}/events"),
    PROXY_GET("/api/v1/integrations/{id}/events/{event}"),
    PROXY_GET("/api/v1/integrations/{id}/events/{event}/payload"),
    PROXY_GET("/api/v1/integrations/{id}/deliveries"),
    PROXY_GET("/api/v1/integrations/{id}/deliveries/{delivery}"),
    PROXY_GET("/api/v1/integrations/{id}/endpoints"),
    PROXY_GET("/api/v1/integrations/{id}/endpoints/{endpoint}"),
    PROXY_GET("/api/v1/event-types"),
    PROXY_GET("/api/v1/metrics/integration/{id}"),
    PROXY_GET("/api/v1/metrics/integration/{id}/series"),
    PROXY_GET("/api/v1/metrics/integration/{id}/endpoints/{endpoint}"),
    PROXY_GET("/api/v1/integrations/{id}/alerts"),
    PROXY_POST("/api/v1/integrations/{id}/deliveries/{delivery}/redeliver"),
    PROXY_POST("/api/v1/integrations/{id}/events/{event}/replay"),
    PROXY_POST("/api/v1/integrations/{id}/endpoints/{endpoint}/test"),
    PROXY_POST("/api/v1/integrations/{id}/endpoints/{endpoint}/enable"),
    PROXY_POST("/api/v1/integrations/{id}/endpoints/{endpoint}/disable"),
    SINK_ROUTE(htp_method_POST),
    SINK_ROUTE(htp_method_PUT),
    SINK_ROUTE(htp_method_PATCH),
    SINK_ROUTE(htp_method_GET),
    SINK_ROUTE(htp_method_DELETE),
    SINK_ROUTE(htp_method_OPTIONS),
};

/* The inspector opens endpoint secrets to check the signatures that sinks
 * receive, so it stops at start when its key is not the others' key. */
static void on_redis_ready(hg_redis *r, void *arg)
{
    hg_service_check_secret_key(r, &config, arg);
}

static hg_redis *connect_redis(struct event_base *base, const char *name,
                               bool check_key)
{
    hg_redis_options o = {
        .name = name,
        .command_timeout_ms = config.redis_timeout_ms,
        .connect_timeout_ms = config.redis_timeout_ms,
        .max_inflight = 20000,
        .scripts = hg_scripts_all,
        .on_ready = check_key ? on_redis_ready : NULL,
        .on_ready_arg = base,
    };

    return hg_redis_new(base, &config.redis, &o);
}

/* A missing page would only show as 404 for "/" while /readyz returns
 * 200, so the inspector does not start without it. */
static bool web_dir_ready(void)
{
    char index[PATH_MAX];
    struct stat st;
    int n = snprintf(index, sizeof(index), "%s/index.html", config.web_dir);

    if (n > 0 && (size_t)n < sizeof(index) && stat(index, &st) == 0 &&
        S_ISREG(st.st_mode) && access(index, R_OK) == 0)
        return true;
    hg_error(NULL,
             "invalid HOOKGATE_WEB_DIR: %s has no readable index.html; set "
             "it to the inspector page's directory (web/ of the source, or "
             "where it was installed)",
             config.web_dir);
    return false;
}

int main(int argc, char **argv)
{
    struct event_base *base;
    int rc;
    inspector state = {0};

    rc = hg_service_init(argc, argv, "hookgate-inspector",
                         "The hookgate inspector: live view of events and "
                         "deliveries, and test sinks.",
                         HG_SVC_INSPECTOR, "inspector", &config);
    if (rc >= 0)
        return rc;
    if (!web_dir_ready())
        return 2;

    base = event_base_new();
    insp = &state;
    state.base = base;
    state.cfg = &config;
    state.redis = connect_redis(base, "inspector", true);
    state.feed_redis = connect_redis(base, "inspector-feed", false);
    state.feed = feed_hub_new(&state);
    probe = hg_probe_new(base, &config, "inspector-probe", NULL);
    insp_proxy_init(base);
    sse_clients = hg_prom_declare(hg_prom_default(), HG_PROM_GAUGE,
                                  "hookgate_sse_clients",
                                  "Open live feed (server-sent events) "
                                  "streams of this inspector.",
                                  0, NULL, 0, NULL);
    hg_http_options o = {
        .service = "inspector",
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        /* A sink must accept any delivery the gateway accepted. */
        .max_body_bytes = 2 * config.max_payload_bytes,
        .method_hint = "The inspector forwards only some partner routes: "
                       "publish events and change integrations, endpoints "
                       "and keys at the gateway (HOOKGATE_GATEWAY_ADDR)",
    };
    http = hg_http_new(base, &o);
    if (http == NULL || probe == NULL) {
        hg_error(NULL, "cannot create the HTTP server");
        return 1;
    }
    rc = hg_http_start(http, config.tls_cert, config.tls_key,
                       config.inspector_addr.host, config.inspector_addr.port);
    if (rc != 0)
        return rc;
    hg_info(NULL, "inspector listening on %s:%d (%s), serving %s",
            config.inspector_addr.host, config.inspector_addr.port,
            config.tls_cert[0] ? "https" : "http", config.web_dir);

    rc = hg_service_run(base, on_stop, NULL);

    hg_http_free(http);
    hg_probe_free(probe);
    feed_hub_stop(state.feed);
    hg_redis_free(state.feed_redis);
    hg_redis_free(state.redis);
    feed_hub_free(state.feed);
    insp_proxy_free();
    insp_status_free();
    event_base_free(base);
    hg_info(NULL, "inspector stopped");
    return rc;
}
