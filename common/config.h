/* SPDX-License-Identifier: MIT
 *
 * Configuration from environment variables. One table lists every variable
 * with its default, its help text and the services that read it, so the
 * loader, --help and the README cannot disagree. Values are validated at
 * start; a bad value stops the process with a message naming the variable.
 */
#ifndef HG_CONFIG_H
#define HG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/backoff.h"
#include "common/log.h"
#include "common/redis_url.h"
#include "common/urlpolicy.h"

enum {
    HG_SVC_GATEWAY = 1,
    HG_SVC_RETRY = 2,
    HG_SVC_INSPECTOR = 4,
    HG_SVC_ALL = 7
};

typedef struct hg_listen_addr {
    char host[256];
    int port;
} hg_listen_addr;

typedef struct hg_config {
    hg_redis_url redis;
    hg_listen_addr gateway_addr;
    hg_listen_addr inspector_addr;
    hg_listen_addr retry_addr;
    /* Gateway address the inspector forwards partner API calls to: from
     * HOOKGATE_INSPECTOR_GATEWAY_URL, or gateway_addr when that is unset
     * (gateway_set false). */
    hg_listen_addr inspector_gateway;
    bool inspector_gateway_set;
    int inspector_gateway_timeout_ms;
    /* A delivery worker seen within this many milliseconds counts as
     * running on the status page. */
    int status_worker_stale_ms;
    /* SHA-256 hex of HOOKGATE_ADMIN_KEY; the key itself is not kept. */
    char admin_key_sha256[65];
    bool admin_key_set;
    hg_schedule schedule;
    bool allow_private_targets;
    long long max_payload_bytes;
    hg_log_level log_level;
    long long log_repeat_window_ms;
    bool sandbox;
    char sandbox_api_key[128];
    char sandbox_sink_url[512];
    int threads;
    int json_max_depth;
    int redis_timeout_ms;
    int connect_timeout_ms;
    int delivery_timeout_ms;
    long long response_capture_bytes;
    int visibility_timeout_ms;
    int max_inflight;
    int work_shards;
    long long event_retention_s;
    int retry_after_max_s;
    int scheduler_interval_ms;
    int activity_maxlen;
    int sink_capture_limit;
    long long sink_capture_bytes;
    int feed_max_clients; /* 0: derived from the open-file limit */
    int feed_keepalive_s;
    long long feed_client_buffer_bytes;
    char web_dir[PATH_MAX];
    char catalog_path[PATH_MAX];
    char openapi_path[PATH_MAX];
    /* Keys derived from HOOKGATE_SECRET_KEY; the key itself is not kept. */
    bool secret_key_set;
    uint8_t endpoint_secrets_key[32]; /* AES-256-GCM of endpoint secrets */
    uint8_t token_key[32];            /* HMAC of OAuth access tokens */
    int api_rate_limit;
    int integration_rate_limit;
    int token_ttl_s;
    int secret_grace_s;
    bool https_only;
    /* The inspector is served over https (behind a TLS proxy), so its
     * session cookie is marked Secure. */
    bool inspector_secure_cookie;
    int endpoint_max_concurrency;
    int breaker_failures;
    int breaker_probe_s;
    int breaker_probe_max_s;
    long long disable_after_s;
    /* Networks deliveries may reach despite the private-address policy. */
    struct hg_cidr *allowed_cidrs;
    int allowed_cidr_count;
    char outbound_proxy[512];
    char resolve_override[1024];
    bool allow_unsafe_redis;
    /* Store the secret key check value for this key although no stored
     * endpoint secret opens with it (HOOKGATE_SECRET_KEY_RESET). */
    bool secret_key_reset;
    /* Time a stopping process gives requests and deliveries in progress. */
    int shutdown_timeout_ms;
    /* File the log is appended to, reopened on SIGHUP; empty: stdout. */
    char log_file[PATH_MAX];
    /* PEM certificate chain and private key; both set: listen with TLS. */
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    /* Bearer token GET /metrics requires; empty: none. */
    char metrics_token[128];
    /* Connection limits of the HTTP servers (common/http.c). */
    int header_timeout_ms;
    int body_timeout_ms;
    int idle_timeout_ms;
    int max_connections; /* 0: derived from the open-file limit */
    /* Default alert rules (an integration may override each one) and
     * how often the worker evaluates them. */
    double alert_error_rate;
    long long alert_p95_ms;
    long long alert_window_s;
    long long alert_min_samples;
    double alert_resolve_ratio;
    long long alert_resolve_after_s;
    int alert_eval_interval_ms;
} hg_config;

/* Fills *cfg from the environment for the given service. Returns 0, or -1
 * after writing a sentence that names the variable into err. */
int hg_config_load(hg_config *cfg, unsigned service, char *err, size_t errsz);
/* Prints the variables that service reads, with defaults, to out. */
void hg_config_print_help(FILE *out, unsigned service);
/* Handles --help and --version; returns 1 when the process should exit 0,
 * -1 for an unknown argument (after printing usage), 0 to run. */
int hg_config_handle_args(int argc, char **argv, const char *program,
                          const char *summary, unsigned service);

#endif
