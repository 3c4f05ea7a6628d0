/* SPDX-License-Identifier: MIT
 *
 * Alerts of an integration: the list of alert records and the rules that
 * raise them. The delivery worker evaluates the rules and writes the
 * records (retry/alerts.c, alert_eval.lua). These routes only read the
 * records, and store the rules an integration overrides (see
 * docs/alerts.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_rules.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"

#define ALERTS_PAGE_DEFAULT 50
#define ALERTS_PAGE_MAX 200

/* ---- list --------------------------------------------------------------- */

static void on_alerts(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    json_t *data;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        hg_req_release(r);
        return;
    }
    data = json_array();
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        size_t len = 0;
        const char *text = hg_reply_str(reply, i, &len);
        json_t *alert = text ? json_loadb(text, len, 0, NULL) : NULL;

        if (alert != NULL)
            json_array_append_new(data, alert);
    }
    /* Values and thresholds are ratios and milliseconds; 12 digits keep
     * 0.05 from printing as 0.050000000000000003. */
    hg_reply_json_digits(r, 200, json_pack("{s:o}", "data", data), 12);
    hg_req_release(r);
}

static void list_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *state = hg_req_query(r, "state");
    char key[HG_KEY_MAX], limit[16];
    int n;

    if (state == NULL)
        state = "all";
    if (strcmp(state, "active") != 0 && strcmp(state, "resolved") != 0 &&
        strcmp(state, "all") != 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"state\" must be active, resolved or all");
        return;
    }
    if (!gw_query_limit(r, ALERTS_PAGE_DEFAULT, ALERTS_PAGE_MAX, &n))
        return;
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {hg_key(key, r->params[0], "alerts"), r->params[0],
                          state, limit};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_alert_list, 0, on_alerts, r, 1, 4, argv,
                  NULL);
}

void gw_list_alerts(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize_existing(r, r->params[0], SCOPE_READ, list_authorized);
}

/* ---- rules -------------------------------------------------------------- */

/* Sends the effective rules: the defaults with the stored overrides, given
 * as flat field and value pairs from index first of reply. */
static void reply_rules(hg_req *r, const redisReply *reply, size_t first)
{
    hg_alert_rules rules;

    hg_alert_rules_defaults(&rules, gw_config);
    for (size_t i = first; i + 1 < reply->elements; i += 2)
        hg_alert_rules_set_stored(&rules, hg_reply_str(reply, i, NULL),
                                  hg_reply_str(reply, i + 1, NULL));
    /* Thresholds are short decimals such as 0.05. */
    hg_reply_json_digits(r, 200, hg_alert_rules_json(&rules), 12);
}

static void on_rules(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r))
        reply_rules(r, reply, 0);
    hg_req_release(r);
}

static void get_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_rules, r, "HGETALL %s",
                     hg_key(key, r->params[0], "alertrules"));
}

void gw_get_alert_rules(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize_existing(r, r->params[0], SCOPE_READ, get_authorized);
}

static void on_rules_stored(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result == NULL || strcmp(result, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        gw_audit(r, r->params[0], "alert_rules.update", r->params[0],
                 r->data != NULL ? json_incref(r->data) : NULL);
        reply_rules(r, reply, 1);
    }
    hg_req_release(r);
}

static void free_json(void *body)
{
    json_decref(body);
}

static void put_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    hg_alert_rules checked;
    char why[256], k_int[HG_KEY_MAX], k_rules[HG_KEY_MAX];
    char values[HG_ALERT_RULE_FIELDS][32];
    const char *argv[2 + 2 * HG_ALERT_RULE_FIELDS];
    int argc = 0;

    if (body == NULL)
        return;
    hg_alert_rules_defaults(&checked, gw_config);
    if (!hg_alert_rules_apply_json(&checked, body, why, sizeof(why))) {
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "%s", why);
        return;
    }
    argv[argc++] = hg_key(k_int, r->params[0], "integration");
    argv[argc++] = hg_key(k_rules, r->params[0], "alertrules");
    for (int i = 0; i < HG_ALERT_RULE_FIELDS; i++) {
        const json_t *value = json_object_get(body, hg_alert_rule_names[i]);

        if (value == NULL)
            continue;
        /* An empty value makes the script remove the override. */
        if (json_is_null(value))
            values[i][0] = '\0';
        else
            hg_alert_rules_format(&checked, i, values[i], sizeof(values[i]));
        argv[argc++] = hg_alert_rule_names[i];
        argv[argc++] = values[i];
    }
    /* Kept for the audit record; freed with the request. */
    r->data = body;
    r->data_free = free_json;
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_alert_rules_put, 0, on_rules_stored, r,
                  2, argc, argv, NULL);
}

void gw_put_alert_rules(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize_existing(r, r->params[0], SCOPE_MANAGE, put_authorized);
}
