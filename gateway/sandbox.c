/* SPDX-License-Identifier: MIT
 *
 * Sandbox mode (HOOKGATE_SANDBOX=1): the integration "sandbox" with a
 * known API key, the endpoint ep_sandbox (every event type, to the
 * inspector's sink /sink/sandbox, signed with a documented secret), and the
 * reference data of catalog/sandbox-fixtures.json that the catalog examples
 * use. At every connect to Redis the gateway creates those that are
 * missing and keeps the others as they are, so a changed ep_sandbox or a
 * revoked sandbox key stays that way across restarts. POST
 * /api/v1/sandbox/reset deletes everything of the sandbox and writes all
 * of them again, with fixed times, so the state after a reset is always
 * the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
/* The creation time of every fixture. */
#define FIXTURE_TIME "2026-01-01T00:00:00.000Z"
#define FIXTURES_MAX_BYTES (1024 * 1024)

static char *fixtures_text; /* compact JSON, read once at start */

/* Loads catalog/sandbox-fixtures.json, next to the catalog. */
static const char *fixtures(void)
{
    char path[PATH_MAX + 64];
    const char *slash;
    json_t *doc;
    json_error_t err;

    if (fixtures_text != NULL)
        return fixtures_text;
    slash = strrchr(gw_config->catalog_path, '/');
    snprintf(path, sizeof(path), "%.*s/sandbox-fixtures.json",
             slash ? (int)(slash - gw_config->catalog_path) : 1,
             slash ? gw_config->catalog_path : ".");
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL) {
        hg_log_fields f = {.error = err.text};

        hg_warn(&f, "cannot read the sandbox fixtures %s; using none", path);
        doc = json_object();
    }
    fixtures_text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return fixtures_text ? fixtures_text : "{}";
}

/* Runs sandbox_fixtures.lua; mode "ensure" (create what is missing) at
 * start, "reset" after a purge. */
static void write_fixtures(hg_redis *redis, const char *mode, hg_redis_cb cb,
                           void *arg)
{
    const char *key = gw_config->sandbox_api_key;
    char sha256[65], prefix[12], sealed[HG_SECRETBOX_SEALED_MAX];
    char k_int[HG_KEY_MAX], k_keys[HG_KEY_MAX], k_rec[HG_KEY_MAX];
    char k_idx[HG_KEY_MAX], k_list[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    char k_ep[HG_KEY_MAX], k_fix[HG_KEY_MAX], suffix[96];

    hg_sha256_hex(key, strlen(key), sha256);
    snprintf(prefix, sizeof(prefix), "%.8s", key);
    snprintf(suffix, sizeof(suffix), "key:%s", sha256);
    if (gw_endpoint_seal(SANDBOX_ID, SANDBOX_ENDPOINT, SANDBOX_SECRET, sealed,
                         sizeof(sealed)) != 0)
        sealed[0] = '\0';

    const char *argv[] = {
        hg_key(k_int, SANDBOX_ID, "integration"),
        hg_key(k_keys, SANDBOX_ID, "keys"),
        hg_key(k_rec, SANDBOX_ID, suffix),
        hg_key(k_idx, SANDBOX_ID, "endpoints"),
        hg_key(k_list, SANDBOX_ID, "eplist"),
        hg_key(k_ver, SANDBOX_ID, "epver"),
        hg_key_id(k_ep, SANDBOX_ID, "ep", SANDBOX_ENDPOINT),
        hg_key(k_fix, SANDBOX_ID, "fixtures"),
        sha256, prefix, sealed, gw_config->sandbox_sink_url, fixtures(),
        FIXTURE_TIME, mode,
    };
    hg_redis_eval(redis, &hg_script_sandbox_fixtures, 0, cb, arg, 8, 15,
                  argv, NULL);

    /* The global indexes live outside the sandbox's slot. */
    hg_redis_command(redis, 0, NULL, NULL,
                     "HSET %s integration_id %s key_id key_sandbox",
                     hg_key_apikey(k_rec, sha256), SANDBOX_ID);
    hg_redis_command(redis, 0, NULL, NULL, "SADD %s %s", HG_KEY_INTEGRATIONS,
                     SANDBOX_ID);
}

/* The start's fixture write, kept for a second try while the purge
 * marker of a cut-short reset waits for its lease. */
static struct {
    struct event_base *base;
    hg_redis *redis;
    struct event *retry;
} ensure_state;

static void on_ensure_retry(evutil_socket_t fd, short what, void *arg);

static void on_ensured(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_log_fields f = {.integration_id = SANDBOX_ID,
                       .endpoint_id = SANDBOX_ENDPOINT};

    (void)arg;
    if (status != HG_REDIS_OK || hg_reply_is_error(reply)) {
        f.error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                                        : reply->str;
        hg_error(&f, "writing the sandbox fixtures failed");
        return;
    }
    const char *result = hg_reply_str(reply, 0, NULL);
    const redisReply *left = hg_reply_elem(reply, 1);

    if (result != NULL && strcmp(result, "purge_alive") == 0 &&
        ensure_state.base != NULL) {
        long long ms = left != NULL && left->type == REDIS_REPLY_INTEGER &&
                               left->integer > 0
                           ? left->integer
                           : PURGE_LEASE_MS;
        struct timeval later = {(time_t)(ms / 1000), (ms % 1000) * 1000};

        later.tv_sec += 1;
        hg_info(&f, "a sandbox reset is running or was cut short; checking "
                    "its purge marker again in %lld ms",
                ms + 1000);
        if (ensure_state.retry == NULL)
            ensure_state.retry = evtimer_new(ensure_state.base,
                                             on_ensure_retry, NULL);
        if (ensure_state.retry != NULL)
            evtimer_add(ensure_state.retry, &later);
        return;
    }
    hg_info(&f, "sandbox ready: endpoint %s receives every event type at %s",
            SANDBOX_ENDPOINT, gw_config->sandbox_sink_url);
}

static void on_ensure_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    write_fixtures(ensure_state.redis, "ensure", on_ensured, NULL);
}

void gw_sandbox_ensure(struct event_base *base, hg_redis *redis)
{
    ensure_state.base = base;
    ensure_state.redis = redis;
    write_fixtures(redis, "ensure", on_ensured, NULL);
}

/* ---- routes --------------------------------------------------------------- */

/* Checked after authentication, so that only a caller with a credential
 * for the sandbox learns whether sandbox mode is on. */
static bool sandbox_on(hg_req *r)
{
    if (gw_config->sandbox)
        return true;
    hg_reply_problem(r, HG_E_NOT_FOUND,
                     "sandbox mode is off on this hookgate "
                     "(HOOKGATE_SANDBOX=1 turns it on)");
    return false;
}

static json_t *sandbox_json(void)
{
    json_t *data = json_loads(fixtures(), 0, NULL);

    return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:o}", "enabled", 1,
                     "integration_id", SANDBOX_ID, "api_key",
                     gw_config->sandbox_api_key, "endpoint_id",
                     SANDBOX_ENDPOINT, "endpoint_secret", SANDBOX_SECRET,
                     "sink_url", gw_config->sandbox_sink_url, "fixtures",
                     data ? data : json_object());
}

static void sandbox_authorized(hg_req *r)
{
    /* The answer holds the sandbox's manage key and endpoint secret, which
     * would give a read-only support token write access. */
    if (strncmp(r->auth_actor, "support:", 8) == 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "support tokens cannot read the sandbox "
                         "credentials; use the sandbox API key or the admin "
                         "key");
        return;
    }
    if (sandbox_on(r))
        hg_reply_json(r, 200, sandbox_json());
}

void gw_get_sandbox(hg_req *r)
{
    gw_authorize(r, SANDBOX_ID, SCOPE_READ, sandbox_authorized);
}

typedef struct reset_state {
    gw_purge_counts counts;
} reset_state;

static void on_reset_written(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;
    reset_state *s = r->data;
    json_t *out;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r)) {
        hg_log_fields f = {.integration_id = SANDBOX_ID,
                           .correlation_id = r->request_id};

        hg_info(&f, "sandbox reset");
        gw_audit(r, NULL, "sandbox.reset", SANDBOX_ID,
                 gw_purge_counts_json(&s->counts));
        out = sandbox_json();
        json_object_set_new(out, "removed", gw_purge_counts_json(&s->counts));
        hg_reply_json(r, 200, out);
    }
    hg_req_release(r);
}

static void on_purged(hg_req *r, const gw_purge_counts *counts)
{
    gw_thread *t = hg_req_thread(r);
    reset_state *s = calloc(1, sizeof(*s));
    char key[HG_KEY_MAX];

    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    s->counts = *counts;
    if (r->data_free != NULL)
        r->data_free(r->data);
    r->data = s;
    r->data_free = free;
    snprintf(key, sizeof(key), "hg:sink:{%s}:captures", SANDBOX_ID);
    hg_redis_command(t->redis, 0, NULL, NULL, "DEL %s", key);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    write_fixtures(t->redis, "reset", on_reset_written, r);
}

static void reset_authorized(hg_req *r)
{
    if (sandbox_on(r))
        gw_purge_integration(r, SANDBOX_ID, true, 0, on_purged);
}

void gw_reset_sandbox(hg_req *r)
{
    gw_authorize(r, SANDBOX_ID, SCOPE_MANAGE, reset_authorized);
}
