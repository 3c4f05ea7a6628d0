/* SPDX-License-Identifier: MIT
 *
 * Checks and merging of alert rules (see alert_rules.h).
 */
#include "common/alert_rules.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hg_alert_rule_names[HG_ALERT_RULE_FIELDS] = {
    "error_rate_threshold", "p95_latency_ms", "window_s",
    "min_samples",          "resolve_ratio",  "resolve_after_s",
};

/* One field: a fraction (is_fraction) or a whole number, with its range.
 * A fraction's lower bound is inclusive and must be above 0. */
typedef struct rule_field {
    bool is_fraction;
    double lo, hi;
} rule_field;

static const rule_field fields[HG_ALERT_RULE_FIELDS] = {
    {true, HG_ALERT_ERROR_RATE_MIN, 1},
    {false, 1, HG_ALERT_P95_MS_MAX},
    {false, HG_ALERT_WINDOW_MIN_S, HG_ALERT_WINDOW_MAX_S},
    {false, 1, HG_ALERT_MIN_SAMPLES_MAX},
    {true, HG_ALERT_RESOLVE_RATIO_MIN, 1},
    {false, 0, HG_ALERT_RESOLVE_AFTER_MAX_S},
};

void hg_alert_rules_defaults(hg_alert_rules *out, const hg_config *cfg)
{
    out->error_rate_threshold = cfg->alert_error_rate;
    out->p95_latency_ms = cfg->alert_p95_ms;
    out->window_s = cfg->alert_window_s;
    out->min_samples = cfg->alert_min_samples;
    out->resolve_ratio = cfg->alert_resolve_ratio;
    out->resolve_after_s = cfg->alert_resolve_after_s;
}

static double get_field(const hg_alert_rules *r, int i)
{
    switch (i) {
    case 0:
        return r->error_rate_threshold;
    case 1:
        return (double)r->p95_latency_ms;
    case 2:
        return (double)r->window_s;
    case 3:
        return (double)r->min_samples;
    case 4:
        return r->resolve_ratio;
    default:
        return (double)r->resolve_after_s;
    }
}

static void set_field(hg_alert_rules *r, int i, double v)
{
    switch (i) {
    case 0:
        r->error_rate_threshold = v;
        break;
    case 1:
        r->p95_latency_ms = (long long)v;
        break;
    case 2:
        r->window_s = (long long)v;
        break;
    case 3:
        r->min_samples = (long long)v;
        break;
    case 4:
        r->resolve_ratio = v;
        break;
    default:
        r->resolve_after_s = (long long)v;
        break;
    }
}

static int field_index(const char *name)
{
    for (int i = 0; i < HG_ALERT_RULE_FIELDS; i++)
        if (strcmp(hg_alert_rule_names[i], name) == 0)
            return i;
    return -1;
}

static bool in_range(int i, double v)
{
    if (!isfinite(v) || v < fields[i].lo || v > fields[i].hi)
        return false;
    return fields[i].is_fraction || v == floor(v);
}

void hg_alert_rules_set_stored(hg_alert_rules *rules, const char *name,
                               const char *value)
{
    int i = name != NULL ? field_index(name) : -1;
    char *end;
    double v;

    if (i < 0 || value == NULL || value[0] == '\0')
        return;
    errno = 0;
    v = strtod(value, &end);
    if (*end != '\0' || errno != 0 || !in_range(i, v))
        return;
    set_field(rules, i, v);
}

static void describe_range(int i, char *why, size_t cap)
{
    const rule_field *f = &fields[i];

    if (f->is_fraction)
        snprintf(why, cap, "%s must be a number from %g to %g",
                 hg_alert_rule_names[i], f->lo, f->hi);
    else
        snprintf(why, cap, "%s must be a whole number from %.0f to %.0f",
                 hg_alert_rule_names[i], f->lo, f->hi);
}

bool hg_alert_rules_apply_json(hg_alert_rules *rules, const json_t *body,
                               char *why, size_t cap)
{
    hg_alert_rules next = *rules;
    const char *name;
    json_t *value;

    if (!json_is_object(body)) {
        snprintf(why, cap, "the body must be a JSON object");
        return false;
    }
    json_object_foreach((json_t *)body, name, value)
    {
        int i = field_index(name);

        if (i < 0) {
            snprintf(why, cap,
                     "unknown field \"%s\"; the fields are "
                     "error_rate_threshold, p95_latency_ms, window_s, "
                     "min_samples, resolve_ratio and resolve_after_s",
                     name);
            return false;
        }
        if (json_is_null(value))
            continue;
        if (!json_is_number(value) || !in_range(i, json_number_value(value))) {
            describe_range(i, why, cap);
            return false;
        }
        set_field(&next, i, json_number_value(value));
    }
    *rules = next;
    return true;
}

void hg_alert_rules_format(const hg_alert_rules *rules, int i, char *out,
                           size_t cap)
{
    if (fields[i].is_fraction)
        snprintf(out, cap, "%.10g", get_field(rules, i));
    else
        snprintf(out, cap, "%.0f", get_field(rules, i));
}

json_t *hg_alert_rules_json(const hg_alert_rules *rules)
{
    json_t *out = json_object();

    for (int i = 0; i < HG_ALERT_RULE_FIELDS; i++) {
        double v = get_field(rules, i);

        json_object_set_new(
            out, hg_alert_rule_names[i],
            fields[i].is_fraction ? json_real(v) : json_integer((json_int_t)v));
    }
    return out;
}
