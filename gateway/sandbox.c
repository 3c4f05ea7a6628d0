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
#include "gateway/gateway.h"

#define SANDBOX_ID "sandbox"
#define SANDBOX_ENDPOINT "ep_sandbox"

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
    char secret[HG_SECRET_MAX_LEN];
    char now[HG_TIME_BUF];
    char k_int[HG_KEY_MAX], k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    char k_ep[HG_KEY_MAX];

    if (status != HG_REDIS_OK || hg_reply_is_error(reply)) {
        f.error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                                        : reply->str;
        hg_error(&f, "sandbox integration setup failed");
        return;
    }
    if (hg_secret_generate(HG_SECRET_DEFAULT_BYTES, secret,
                           sizeof(secret)) != 0) {
        hg_error(&f, "sandbox setup failed: random source failed");
        return;
    }
    hg_time_format(hg_time_ms(), now);

    const char *argv[] = {
        hg_key(k_int, SANDBOX_ID, "integration"),
        hg_key(k_idx, SANDBOX_ID, "endpoints"),
        hg_key(k_ver, SANDBOX_ID, "epver"),
        hg_key_id(k_ep, SANDBOX_ID, "ep", SANDBOX_ENDPOINT),
        SANDBOX_ENDPOINT, gw_config->sandbox_sink_url, "[\"*\"]", "*", secret,
        now, "Sandbox sink in the inspector", "1",
    };
    hg_redis_eval(redis, &hg_script_create_endpoint, 0, on_endpoint_ensured,
                  NULL, 4, 12, argv, NULL);
    memset(secret, 0, sizeof(secret));
}

void gw_sandbox_ensure(hg_redis *redis)
{
    char sha256[65];
    char now[HG_TIME_BUF];
    char k_int[HG_KEY_MAX], k_api[HG_KEY_MAX], k_keys[HG_KEY_MAX];
    const char *key = gw_config->sandbox_api_key;

    hg_sha256_hex(key, strlen(key), sha256);
    hg_time_format(hg_time_ms(), now);

    const char *argv[] = {
        HG_KEY_INTEGRATIONS, hg_key(k_int, SANDBOX_ID, "integration"),
        hg_key_apikey(k_api, sha256), hg_key(k_keys, SANDBOX_ID, "apikeys"),
        SANDBOX_ID, "Sandbox", now, sha256, "publish read manage", "1",
    };
    hg_redis_eval(redis, &hg_script_create_integration, 0,
                  on_integration_ensured, redis, 4, 10, argv, NULL);
}
