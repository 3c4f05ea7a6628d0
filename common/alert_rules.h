/* SPDX-License-Identifier: MIT
 *
 * Alert rules of one integration: thresholds of the delivery error rate and
 * of the p95 publish-to-delivery latency, the window they are measured
 * over, and the hysteresis that resolves an alert. The defaults come from
 * the configuration; an integration stores only the fields it overrides
 * (hash hg:{I}:alertrules). This module checks and merges rules and has no
 * Redis or HTTP code; the worker evaluates them in alert_eval.lua.
 */
#ifndef HG_ALERT_RULES_H
#define HG_ALERT_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

/* Bounds of each field, shared by the API checks and the documentation. */
#define HG_ALERT_ERROR_RATE_MIN 0.0001
#define HG_ALERT_P95_MS_MAX 3600000
#define HG_ALERT_WINDOW_MIN_S 5
#define HG_ALERT_WINDOW_MAX_S 3600
#define HG_ALERT_MIN_SAMPLES_MAX 1000000000
#define HG_ALERT_RESOLVE_RATIO_MIN 0.01
#define HG_ALERT_RESOLVE_AFTER_MAX_S 86400

typedef struct hg_alert_rules {
    double error_rate_threshold; /* fraction of attempts, (0, 1] */
    long long p95_latency_ms;
    long long window_s;
    long long min_samples;
    double resolve_ratio; /* fraction of the threshold, (0, 1] */
    long long resolve_after_s;
} hg_alert_rules;

/* Number of fields of hg_alert_rules, and their JSON and Redis names in
 * the order of the struct. */
#define HG_ALERT_RULE_FIELDS 6
extern const char *const hg_alert_rule_names[HG_ALERT_RULE_FIELDS];

/* Fills *out with the defaults of cfg. */
void hg_alert_rules_defaults(hg_alert_rules *out, const hg_config *cfg);

/* Applies the stored override name=value (a field of hg:{I}:alertrules) to
 * *rules. Unknown names and values that do not parse or are out of range
 * are ignored, so a bad stored value falls back to the default. */
void hg_alert_rules_set_stored(hg_alert_rules *rules, const char *name,
                               const char *value);

/* Checks a PUT body (a JSON object whose members are all optional) and
 * applies its members to *rules. A member that is null removes the
 * override and leaves its field in *rules as it is. Returns true on
 * success; otherwise writes a sentence naming the member at fault into
 * why (cap bytes) and leaves *rules unchanged. */
bool hg_alert_rules_apply_json(hg_alert_rules *rules, const json_t *body,
                               char *why, size_t cap);

/* Writes field i of rules as the decimal text that is stored in Redis and
 * passed to the evaluation script. */
void hg_alert_rules_format(const hg_alert_rules *rules, int i, char *out,
                           size_t cap);

/* Returns the rules as the JSON object of the alert-rules routes (new
 * reference). */
json_t *hg_alert_rules_json(const hg_alert_rules *rules);

#endif
