/* SPDX-License-Identifier: MIT
 *
 * hookgate-retry: the delivery worker. It runs the dispatcher and the retry
 * scheduler on one event loop, and serves /healthz, /readyz and /metrics
 * on its own address, over plain HTTP only (a probe port, not for the
 * network at large). Any number of workers can run against the same Redis.
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/config.h"
#include "common/http.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/service.h"
#include "retry/retry.h"

static hg_config config;
static dispatcher *worker;
static jobs_runner *jobs;
static alert_runner *alerts;

static void on_healthz(hg_req *r)
{
    hg_reply_health(r, false, NULL);
}

static hg_probe *probe;
static hg_http *http;

static void on_readyz(hg_req *r)
{
    const char *reason = hg_probe_readiness(probe);

    if (reason == NULL)
        reason = dispatcher_readiness(worker);
    hg_reply_health(r, true, reason);
}

static void on_metrics(hg_req *r)
{
    hg_reply_metrics(r, config.metrics_token);
}

static const hg_route routes[] = {
    HG_ROUTE(htp_method_GET, "/healthz", on_healthz),
    HG_ROUTE(htp_method_GET, "/readyz", on_readyz),
    HG_ROUTE(htp_method_GET, "/metrics", on_metrics),
};

static void on_heartbeat_removed(void *arg)
{
    event_base_loopbreak(arg);
}

static void on_stopped(void *arg)
{
    retry_heartbeat_stop(on_heartbeat_removed, arg);
}

static void on_stop(struct event_base *base, void *arg)
{
    (void)arg;
    hg_http_stop_accepting(http);
    hg_info(NULL, "finishing deliveries in progress");
    dispatcher_stop(worker, on_stopped, base);
}

int main(int argc, char **argv)
{
    struct event_base *base;
    int rc;

    rc = hg_service_init(argc, argv, "hookgate-retry",
                         "The hookgate delivery worker: sends queued "
                         "deliveries, signs them and retries failures.",
                         HG_SVC_RETRY, "retry", &config);
    if (rc >= 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);

    base = event_base_new();
    worker = dispatcher_new(base, &config);
    jobs = worker ? jobs_runner_new(base, &config, worker)
                  : NULL;
    alerts = worker ? alert_runner_new(base, &config, worker) : NULL;
    probe = hg_probe_new(base, &config, "dispatch-probe", HG_DISPATCH_GROUP);
    retry_heartbeat_start(base, &config,
                          worker ? dispatcher_consumer(worker) : NULL);
    hg_http_options o = {
        .service = "retry",
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .max_body_bytes = 4096,
    };
    http = hg_http_new(base, &o);
    if (worker == NULL || http == NULL || probe == NULL) {
        hg_error(NULL, "cannot create the delivery worker (out of memory)");
        return 1;
    }
    /* The worker's port serves only probes and metrics, without TLS. It
     * logs why it cannot listen, as the other services do. */
    rc = hg_http_start(http, "", "", config.retry_addr.host,
                       config.retry_addr.port);
    if (rc != 0)
        return rc;
    hg_info(NULL,
            "retry worker listening on %s:%d; %d retries scheduled "
            "after a failure",
            config.retry_addr.host, config.retry_addr.port,
            config.schedule.count);

    rc = hg_service_run(base, on_stop, NULL);

    hg_http_free(http);
    hg_probe_free(probe);
    retry_heartbeat_free();
    alert_runner_free(alerts);
    jobs_runner_free(jobs);
    dispatcher_free(worker);
    event_base_free(base);
    curl_global_cleanup();
    hg_info(NULL, "retry worker stopped");
    return rc;
}
