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

#include "common/config.h"
#include "common/http.h"
#include "common/log.h"
#include "common/redis.h"
#include "common/scripts.h"
#include "common/service.h"
#include "gateway/gateway.h"

const hg_config *gw_config;
static hg_config config;

static const char *readiness(gw_thread *t)
{
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

static const hg_route routes[] = {
    {htp_method_GET, "/healthz", on_healthz},
    {htp_method_GET, "/readyz", on_readyz},
    {htp_method_POST, "/api/v1/integrations", gw_create_integration},
    {htp_method_GET, "/api/v1/integrations/{id}", gw_get_integration},
    {htp_method_POST, "/api/v1/integrations/{id}/endpoints",
     gw_create_endpoint},
    {htp_method_GET, "/api/v1/integrations/{id}/endpoints/{endpoint}",
     gw_get_endpoint},
    {htp_method_POST, "/api/v1/integrations/{id}/events", gw_publish_event},
    {htp_method_GET, "/api/v1/integrations/{id}/events/{event}",
     gw_get_event},
    {htp_method_GET, "/api/v1/integrations/{id}/events/{event}/payload",
     gw_get_event_payload},
    {htp_method_GET, "/api/v1/integrations/{id}/deliveries/{delivery}",
     gw_get_delivery},
    {htp_method_POST,
     "/api/v1/integrations/{id}/deliveries/{delivery}/redeliver",
     gw_redeliver},
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
    return t;
}

void gw_thread_free(gw_thread *t)
{
    if (t == NULL)
        return;
    hg_redis_free(t->redis);
    for (int i = 0; i < ENDPOINT_CACHE_SLOTS; i++) {
        for (int k = 0; k < t->snapshots[i].count; k++)
            free(t->snapshots[i].endpoints[k].filters);
        free(t->snapshots[i].endpoints);
    }
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

static void on_main_redis_ready(hg_redis *r, void *arg)
{
    (void)arg;
    if (config.sandbox)
        gw_sandbox_ensure(r);
}

int main(int argc, char **argv)
{
    struct event_base *base;
    hg_http *http;
    hg_redis *main_redis;
    int rc;

    rc = hg_service_init(argc, argv, "hookgate-gateway",
                         "The hookgate API: integrations, endpoints and "
                         "event publishing.",
                         HG_SVC_GATEWAY, "gateway", &config);
    if (rc >= 0)
        return rc;
    gw_config = &config;
    if (!config.admin_key_set)
        hg_warn(NULL, "HOOKGATE_ADMIN_KEY is not set: admin routes respond "
                      "401");

    base = event_base_new();
    main_redis = connect_redis(base, "gateway-main", on_main_redis_ready);
    hg_http_options o = {
        .service = "gateway",
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .max_body_bytes = config.max_payload_bytes,
        .threads = config.threads,
        .thread_init = thread_init,
        .thread_exit = thread_exit,
    };
    http = hg_http_new(base, &o);
    if (http == NULL ||
        hg_http_listen(http, config.gateway_addr.host,
                       config.gateway_addr.port) != 0) {
        hg_error(NULL, "cannot listen on %s:%d", config.gateway_addr.host,
                 config.gateway_addr.port);
        return 1;
    }
    hg_info(NULL, "gateway listening on %s:%d with %d threads",
            config.gateway_addr.host, config.gateway_addr.port,
            config.threads);

    hg_service_run(base, NULL, NULL);

    hg_http_free(http);
    hg_redis_free(main_redis);
    event_base_free(base);
    hg_info(NULL, "gateway stopped");
    return 0;
}
