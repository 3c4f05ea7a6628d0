/* SPDX-License-Identifier: MIT
 *
 * Sandbox mode: on every connect to Redis the gateway makes sure that the
 * integration "sandbox" exists with the configured API key, and that its
 * endpoint "ep_sandbox" (every event type) points at the inspector's sink.
 * Existing data is kept, including the endpoint's secret.
 */
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/secretbox.h"
#include "gateway/gateway.h"

#define SANDBOX_ID "sandbox"
#define SANDBOX_ENDPOINT "ep_sandbox"
/* A fixed, documented secret, so developers can verify sandbox deliveries
 * with it; base64 of "hookgate-sandbox-secret-local-dev". */
#define SANDBOX_SECRET "whsec_aG9va2dhdGUtc2FuZGJveC1zZWNyZXQtbG9jYWwtZGV2"

static void on_endpoint_ensured(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    hg_log_fields f = {.integration_id = SANDBOX_ID,
                       .endpoint_id = SANDBOX_ENDPOINT};

    (void)arg;
    if (status != HG_REDIS_OK || hg_reply_is_error(reply)) {
        f.error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                                        : reply->str;
        hg_error(&f, "sandbox endpoint setup failed");
        return;
    }
    hg_info(&f, "sandbox ready: endpoint %s receives every event type at %s",
            SANDBOX_ENDPOINT, gw_config->sandbox_sink_url);
}

static void on_integration_ensured(hg_redis_status status, redisReply *reply,
                                   void *arg)
{
    hg_redis *redis = arg;
    hg_log_fields f = {.integration_id = SANDBOX_ID};
    char sealed[HG_SECRETBOX_SEALED_MAX];
    char now[HG_TIME_BUF];
    char k_int[HG_KEY_MAX], k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    char k_ep[HG_KEY_MAX], k_list[HG_KEY_MAX];

    if (status != HG_REDIS_OK || hg_reply_is_error(reply)) {
        f.error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                                        : reply->str;
        hg_error(&f, "sandbox integration setup failed");
        return;
    }
    if (gw_endpoint_seal(SANDBOX_ID, SANDBOX_ENDPOINT, SANDBOX_SECRET, sealed,
                         sizeof(sealed)) != 0) {
        hg_error(&f, "sandbox setup failed: sealing the secret failed");
        return;
    }
    hg_time_format(hg_time_ms(), now);

    /* "ensure" keeps the creation time of an existing endpoint. */
    const char *argv[] = {
        hg_key(k_int, SANDBOX_ID, "integration"),
        hg_key(k_idx, SANDBOX_ID, "endpoints"),
        hg_key(k_ver, SANDBOX_ID, "epver"),
        hg_key_id(k_ep, SANDBOX_ID, "ep", SANDBOX_ENDPOINT),
        hg_key(k_list, SANDBOX_ID, "eplist"),
        "ensure", SANDBOX_ENDPOINT, now,
        "id", SANDBOX_ENDPOINT,
        "url", gw_config->sandbox_sink_url,
        "event_types", "[\"*\"]",
        "filters", "*",
        "status", "enabled",
        "disabled_reason", "",
        "description", "Sandbox sink in the inspector",
        "headers", "{}",
        "ordering_key", "",
        "secret", sealed,
        "previous_secret", "",
        "created_at", now,
    };
    hg_redis_eval(redis, &hg_script_endpoint_put, 0, on_endpoint_ensured,
                  NULL, 5, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
}

void gw_sandbox_ensure(hg_redis *redis)
{
    char sha256[65];
    char now[HG_TIME_BUF];
    char k_int[HG_KEY_MAX], k_api[HG_KEY_MAX], k_keys[HG_KEY_MAX];
    const char *key = gw_config->sandbox_api_key;

    hg_sha256_hex(key, strlen(key), sha256);
    hg_time_format(hg_time_ms(), now);

    char k_rec[HG_KEY_MAX], suffix[80], prefix[12];

    snprintf(suffix, sizeof(suffix), "key:%s", sha256);
    snprintf(prefix, sizeof(prefix), "%.8s", key);
    const char *argv[] = {
        HG_KEY_INTEGRATIONS, hg_key(k_int, SANDBOX_ID, "integration"),
        hg_key_apikey(k_api, sha256), hg_key(k_keys, SANDBOX_ID, "keys"),
        hg_key(k_rec, SANDBOX_ID, suffix),
        SANDBOX_ID, "Sandbox", now, sha256, "publish read manage", "1",
        "key_sandbox", "sandbox key", prefix,
    };
    hg_redis_eval(redis, &hg_script_create_integration, 0,
                  on_integration_ensured, redis, 5, 14, argv, NULL);
}
