/* SPDX-License-Identifier: MIT
 *
 * hookgate-gateway: the partner and developer API. It authenticates,
 * validates and stores published events in Redis, answering 202 only after
 * Redis acknowledged the write. Requests are served by one event loop per
 * worker thread, each with its own Redis connection; the main loop only
 * accepts connections and runs the sandbox setup.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/catalog.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/http.h"
#include "common/log.h"
#include "common/redis.h"
#include "common/metrics_store.h"
#include "common/scripts.h"
#include "common/service.h"
#include "gateway/gateway.h"

const hg_config *gw_config;
atomic_bool gw_redis_verified;
static hg_config config;

static hg_probe *probe;

static const char *readiness(gw_thread *t)
{
    const char *probed = hg_probe_readiness(probe);

    if (probed != NULL)
        return probed;
    if (!atomic_load(&gw_redis_verified))
        return "the Redis configuration has not been checked yet";
    return hg_redis_ready(t->redis) ? NULL : "redis is not connected";
}

static void on_healthz(hg_req *r)
{
    hg_reply_health(r, false, NULL);
}

static void on_readyz(hg_req *r)
{
    hg_reply_health(r, true, readiness(hg_req_thread(r)));
}

static void on_metrics(hg_req *r)
{
    hg_reply_metrics(r, config.metrics_token);
}

static char *openapi_text;

static void on_openapi(hg_req *r)
{
    if (openapi_text == NULL) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "this gateway has no OpenAPI description "
                         "(HOOKGATE_OPENAPI)");
        return;
    }
    hg_reply_header(r, "Cache-Control", "public, max-age=300");
    hg_reply(r, 200, "application/json", openapi_text, strlen(openapi_text));
}

/* Reads the OpenAPI description once; a missing file is logged, not
 * fatal, because the API works without it. */
static void load_openapi(void)
{
    json_error_t err;
    json_t *doc = json_load_file(config.openapi_path, 0, &err);
    hg_log_fields f = {.error = err.text};

    if (doc == NULL) {
        hg_warn(&f, "cannot read the OpenAPI description %s "
                    "(HOOKGATE_OPENAPI); GET /openapi.json answers 404",
                config.openapi_path);
        return;
    }
    openapi_text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
}

static const hg_route routes[] = {
    HG_ROUTE(htp_method_GET, "/healthz", on_healthz),
    HG_ROUTE(htp_method_GET, "/readyz", on_readyz),
    HG_ROUTE(htp_method_GET, "/metrics", on_metrics),
    HG_ROUTE(htp_method_GET, "/openapi.json", on_openapi),
    HG_ROUTE(htp_method_POST, "/api/v1/integrations", gw_create_integration),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations", gw_list_integrations),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}", gw_get_integration),
    HG_ROUTE(htp_method_PATCH, "/api/v1/integrations/{id}",
             gw_update_integration),
    HG_ROUTE(htp_method_DELETE, "/api/v1/integrations/{id}",
             gw_delete_integration),
    HG_ROUTE(htp_method_POST, "/api/v1/integrations/{id}/endpoints",
             gw_create_endpoint),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/endpoints",
             gw_list_endpoints),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/endpoints/{endpoint}",
             gw_get_endpoint),
    HG_ROUTE(htp_method_PATCH, "/api/v1/integrations/{id}/endpoints/{endpoint}",
             gw_update_endpoint),
    HG_ROUTE(htp_method_DELETE,
             "/api/v1/integrations/{id}/endpoints/{endpoint}",
             gw_delete_endpoint),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/endpoints/{endpoint}/enable",
             gw_enable_endpoint),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/endpoints/{endpoint}/disable",
             gw_disable_endpoint),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/endpoints/{endpoint}/rotate-secret",
             gw_rotate_secret),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/endpoints/{endpoint}/recover",
             gw_recover_endpoint),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/jobs/{job}",
             gw_get_job),
    HG_ROUTE(htp_method_POST, "/api/v1/integrations/{id}/jobs/{job}/cancel",
             gw_cancel_job),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/audit", gw_list_audit),
    HG_ROUTE(htp_method_POST, "/api/v1/integrations/{id}/keys",
             gw_create_credential),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/keys",
             gw_list_credentials),
    HG_ROUTE(htp_method_DELETE, "/api/v1/integrations/{id}/keys/{key}",
             gw_revoke_credential),
    HG_ROUTE(htp_method_POST, "/api/v1/integrations/{id}/oauth-clients",
             gw_create_credential),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/oauth-clients",
             gw_list_credentials),
    HG_ROUTE(htp_method_DELETE,
             "/api/v1/integrations/{id}/oauth-clients/{client}",
             gw_revoke_credential),
    HG_ROUTE(htp_method_POST, "/oauth/token", gw_oauth_token),
    HG_ROUTE(htp_method_GET, "/api/v1/sandbox", gw_get_sandbox),
    HG_ROUTE(htp_method_POST, "/api/v1/sandbox/reset", gw_reset_sandbox),
    HG_ROUTE(htp_method_GET, "/api/v1/event-types", gw_list_event_types),
    HG_ROUTE(htp_method_GET, "/api/v1/event-types/{type}", gw_get_event_type),
    /* The catalog was first served per integration; the route stays until
     * its sunset. */
    HG_DEPRECATED_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/event-types",
                        gw_list_event_types, "Wed, 30 Jun 2027 00:00:00 GMT"),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/endpoints/{endpoint}/test",
             gw_test_endpoint),
    HG_ROUTE(htp_method_GET, "/api/v1/audit", gw_list_global_audit),
    HG_ROUTE(htp_method_POST, "/api/v1/status/incidents",
             gw_status_incident_create),
    HG_ROUTE(htp_method_GET, "/api/v1/status/incidents",
             gw_status_incident_list),
    HG_ROUTE(htp_method_GET, "/api/v1/status/incidents/{id}",
             gw_status_incident_get),
    HG_ROUTE(htp_method_PATCH, "/api/v1/status/incidents/{id}",
             gw_status_incident_update),
    HG_ROUTE(htp_method_POST, "/api/v1/status/maintenance",
             gw_status_maintenance_create),
    HG_ROUTE(htp_method_GET, "/api/v1/status/maintenance",
             gw_status_maintenance_list),
    HG_ROUTE(htp_method_GET, "/api/v1/status/maintenance/{id}",
             gw_status_maintenance_get),
    HG_ROUTE(htp_method_PATCH, "/api/v1/status/maintenance/{id}",
             gw_status_maintenance_update),
    HG_ROUTE(htp_method_DELETE, "/api/v1/status/maintenance/{id}",
             gw_status_maintenance_delete),
    HG_ROUTE(htp_method_POST, "/api/v1/integrations/{id}/events",
             gw_publish_event),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/events",
             gw_list_events),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/deliveries",
             gw_list_deliveries),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/events/{event}",
             gw_get_event),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/events/{event}/payload",
             gw_get_event_payload),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/deliveries/{delivery}",
             gw_get_delivery),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/alerts",
             gw_list_alerts),
    HG_ROUTE(htp_method_GET, "/api/v1/integrations/{id}/alert-rules",
             gw_get_alert_rules),
    HG_ROUTE(htp_method_PUT, "/api/v1/integrations/{id}/alert-rules",
             gw_put_alert_rules),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/deliveries/{delivery}/redeliver",
             gw_redeliver),
    HG_ROUTE(htp_method_POST,
             "/api/v1/integrations/{id}/events/{event}/replay",
             gw_replay_event),
    HG_ROUTE(htp_method_GET, "/api/v1/metrics/integration/{id}",
             gw_get_integration_metrics),
    HG_ROUTE(htp_method_GET,
             "/api/v1/metrics/integration/{id}/endpoints/{endpoint}",
             gw_get_endpoint_metrics),
    HG_ROUTE(htp_method_GET, "/api/v1/metrics/integration/{id}/series",
             gw_get_metrics_series),
};

static hg_redis *connect_redis(struct event_base *base, const char *name,
                               void (*on_ready)(hg_redis *, void *))
{
    hg_redis_options o = {
        .name = name,
        .command_timeout_ms = config.redis_timeout_ms,
        .connect_timeout_ms = config.redis_timeout_ms,
        .max_inflight = 20000,
        .scripts = hg_scripts_all,
        .on_ready = on_ready,
    };

    return hg_redis_new(base, &config.redis, &o);
}

gw_thread *gw_thread_new(struct event_base *base)
{
    gw_thread *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        hg_error(NULL, "out of memory creating a gateway thread");
        abort();
    }
    t->base = base;
    t->redis = connect_redis(base, "gateway", NULL);
    t->metrics = hg_metrics_new(base, t->redis);
    return t;
}

void gw_thread_free(gw_thread *t)
{
    if (t == NULL)
        return;
    hg_metrics_free(t->metrics);
    hg_redis_free(t->redis);
    for (int i = 0; i < ENDPOINT_CACHE_SLOTS; i++)
        gw_snapshot_clear(&t->snapshots[i]);
    free(t);
}

static void *thread_init(struct event_base *base, void *arg)
{
    (void)arg;
    return gw_thread_new(base);
}

static void thread_exit(void *ctx, void *arg)
{
    (void)arg;
    gw_thread_free(ctx);
}

static hg_http *http;

/* Draining at shutdown: new connections are refused at once, requests in
 * progress get up to HOOKGATE_SHUTDOWN_TIMEOUT_MS to finish, so a client
 * is not left without a response for an event that may have been stored. */
static void on_stop(struct event_base *base, void *arg)
{
    (void)arg;
    hg_service_drain(base, http);
}

static struct event_base *main_base;
static hg_redis *main_redis;

static void on_main_redis_safe(void *arg)
{
    (void)arg;
    atomic_store(&gw_redis_verified, true);
    if (config.sandbox)
        gw_sandbox_ensure(main_base, main_redis);
}

static void on_main_redis_ready(hg_redis *r, void *arg)
{
    (void)arg;
    hg_service_check_redis(r, &config, main_base, on_main_redis_safe, NULL);
}

int main(int argc, char **argv)
{
    struct event_base *base;
    hg_catalog *catalog;
    char err[512];
    int rc;

    rc = hg_service_init(argc, argv, "hookgate-gateway",
                         "The hookgate API: integrations, endpoints and "
                         "event publishing.",
                         HG_SVC_GATEWAY, "gateway", &config);
    if (rc >= 0)
        return rc;
    gw_config = &config;
    catalog = hg_catalog_load(config.catalog_path, err, sizeof(err));
    if (catalog == NULL) {
        hg_error(NULL, "invalid HOOKGATE_CATALOG: cannot load the event "
                       "type catalog: %s", err);
        return 2;
    }
    gw_catalog = catalog;
    load_openapi();
    if (!config.admin_key_set)
        hg_warn(NULL, "HOOKGATE_ADMIN_KEY is not set: admin routes respond "
                      "401");

    base = event_base_new();
    main_base = base;
    main_redis = connect_redis(base, "gateway-main", on_main_redis_ready);
    probe = hg_probe_new(base, &config, "gateway-probe", NULL);
    hg_http_options o = {
        .service = "gateway",
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .static_headers = "API-Version: v1\r\n",
        .max_body_bytes = config.max_payload_bytes,
        .threads = config.threads,
        .thread_init = thread_init,
        .thread_exit = thread_exit,
        .on_done = gw_metrics_on_done,
    };
    http = hg_http_new(base, &o);
    if (http == NULL || probe == NULL) {
        hg_error(NULL, "cannot create the HTTP server");
        return 1;
    }
    rc = hg_http_start(http, config.tls_cert, config.tls_key,
                       config.gateway_addr.host, config.gateway_addr.port);
    if (rc != 0)
        return rc;
    hg_info(NULL, "gateway listening on %s:%d (%s) with %d threads",
            config.gateway_addr.host, config.gateway_addr.port,
            config.tls_cert[0] ? "https" : "http", config.threads);

    rc = hg_service_run(base, on_stop, NULL);

    hg_http_free(http);
    hg_probe_free(probe);
    hg_redis_free(main_redis);
    event_base_free(base);
    hg_catalog_free(catalog);
    free(openapi_text);
    hg_info(NULL, "gateway stopped");
    return rc;
}
