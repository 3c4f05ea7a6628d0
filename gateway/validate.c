/* SPDX-License-Identifier: MIT
 *
 * Field checks of the integration, endpoint, credential and recovery
 * request bodies, and the media type check of the token route. The
 * functions read only their arguments and the common parsers (URL policy,
 * type filters, secrets, ids, RFC 3339 times), so the route handlers and
 * the unit tests share one set of rules and messages.
 */
#include "gateway/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/text.h"
#include "common/typefilter.h"
#include "common/urlpolicy.h"

#define DESCRIPTION_MAX 500
#define HEADERS_MAX 20
#define HEADER_NAME_MAX 100
#define HEADER_VALUE_MAX 1000
#define ORDERING_KEY_MAX 200
#define CONNECT_TIMEOUT_MIN_MS 100
#define TIMEOUT_MIN_MS 1000
#define MAX_CONCURRENCY_MAX 1000
#define RATE_LIMIT_MAX 100000
#define GRACE_PERIOD_MAX_S (30 * 86400)
#define CREDENTIAL_NAME_MAX 100
#define INTEGRATION_NAME_MAX 200
#define KEY_LIFETIME_MIN_S 60
/* Maximum lifetime of an API key: five years of 365 days. */
#define KEY_LIFETIME_MAX_S (5LL * 365 * 86400)

/* Headers hookgate sets itself or that belong to the connection. Any name
 * starting with "proxy-" is reserved too. */
static const char *const reserved_headers[] = {
    "host", "content-type", "content-length", "content-encoding",
    "transfer-encoding", "connection", "keep-alive", "te", "trailer",
    "upgrade", "expect", "user-agent", "webhook-id", "webhook-timestamp",
    "webhook-signature", "traceparent", "tracestate", "hookgate-hops", NULL,
};

static const char *const endpoint_members[] = {
    "url", "event_types", "description", "headers", "secret", "enabled",
    "connect_timeout_ms", "timeout_ms", "max_concurrency", "rate_limit",
    "ordering_key", NULL,
};

static const char *const rotation_members[] = {
    "grace_period_s", "secret", NULL,
};

static const char *const recovery_members[] = {
    "since", "until", NULL,
};

static const char *const credential_members[] = {
    "name", "scopes", "expires_in_s", "expires_at", NULL,
};

static const char *const integration_members[] = {
    "id", "name", NULL,
};

static gw_validate_result valid(void)
{
    gw_validate_result res = {.ok = true};

    return res;
}

static gw_validate_result invalid(hg_error code, const char *field,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static gw_validate_result invalid(hg_error code, const char *field,
                                  const char *fmt, ...)
{
    gw_validate_result res = {.ok = false, .code = code};
    va_list ap;

    snprintf(res.field, sizeof(res.field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(res.message, sizeof(res.message), fmt, ap);
    va_end(ap);
    return res;
}

static bool name_in(const char *name, const char *const *names)
{
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* jansson's object iterator takes a non-const object, so the loops over
 * members go through this cast. They only read the object. */
static json_t *drop_const(const json_t *object)
{
    return (json_t *)object;
}

gw_validate_result gw_validate_members(const json_t *body,
                                       const char *const *known)
{
    const char *name;
    json_t *value;

    json_object_foreach(drop_const(body), name, value) {
        if (!name_in(name, known))
            return invalid(HG_E_VALIDATION_ERROR, name,
                           "unknown field \"%.64s\"", name);
    }
    return valid();
}

/* ---- media types --------------------------------------------------------- */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *skip_token(const char *p)
{
    while (hg_http_tchar((unsigned char)*p))
        p++;
    return p;
}

/* Returns the end of the quoted-string that starts at p, or NULL when it
 * is not closed. */
static const char *skip_quoted(const char *p)
{
    for (p++; *p != '"'; p++) {
        if (*p == '\\')
            p++;
        if (*p == '\0')
            return NULL;
    }
    return p + 1;
}

/* Returns the end of one "name=value" parameter at p, or NULL when it is
 * malformed. */
static const char *skip_parameter(const char *p)
{
    const char *end = skip_token(p);

    if (end == p || *end != '=')
        return NULL;
    p = end + 1;
    if (*p == '"')
        return skip_quoted(p);
    end = skip_token(p);
    return end == p ? NULL : end;
}

bool gw_media_type_is(const char *value, const char *type)
{
    size_t n = strlen(type);
    const char *p;

    if (value == NULL)
        return false;
    p = skip_ows(value);
    if (strncasecmp(p, type, n) != 0)
        return false;

    /* RFC 9110: parameters = *( OWS ";" OWS [ parameter ] ), so empty
     * parameters are allowed, and anything else after the type (such as
     * more subtype characters) is not. */
    for (p += n;;) {
        p = skip_ows(p);
        if (*p == '\0')
            return true;
        if (*p != ';')
            return false;
        p = skip_ows(p + 1);
        if (*p == '\0' || *p == ';')
            continue;
        p = skip_parameter(p);
        if (p == NULL)
            return false;
    }
}

/* ---- endpoints ----------------------------------------------------------- */

bool gw_validate_endpoint_id(const char *s)
{
    size_t n = strlen(s);

    if (n < 4 || n > 63 || strncmp(s, "ep_", 3) != 0)
        return false;
    for (size_t i = 3; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

gw_validate_result gw_validate_endpoint_members(const json_t *body,
                                                bool create)
{
    const char *name;
    json_t *value;

    json_object_foreach(drop_const(body), name, value) {
        if (name_in(name, endpoint_members) &&
            (create || strcmp(name, "secret") != 0))
            continue;
        if (strcmp(name, "secret") == 0)
            return invalid(HG_E_VALIDATION_ERROR, name,
                           "\"secret\" cannot be changed with PATCH: "
                           "rotate it with POST .../rotate-secret");
        return invalid(HG_E_VALIDATION_ERROR, name,
                       "unknown field \"%.64s\"", name);
    }

    if (create && json_object_get(body, "url") == NULL)
        return invalid(HG_E_VALIDATION_ERROR, "url",
                       "\"url\" and \"event_types\" are required");
    if (create && json_object_get(body, "event_types") == NULL)
        return invalid(HG_E_VALIDATION_ERROR, "event_types",
                       "\"url\" and \"event_types\" are required");
    return valid();
}

gw_validate_result gw_validate_url(const json_t *url,
                                   const gw_endpoint_rules *rules)
{
    char reason[300];
    const char *text = json_string_value(url);
    hg_url_result verdict;

    if (url == NULL)
        return valid();
    if (text == NULL)
        return invalid(HG_E_VALIDATION_ERROR, "url",
                       "\"url\" must be an http or https URL string");

    verdict = hg_url_check(text, rules->allow_private_targets, reason,
                           sizeof(reason));
    if (verdict == HG_URL_NOT_ALLOWED)
        return invalid(HG_E_TARGET_NOT_ALLOWED, "url", "%s", reason);
    if (verdict != HG_URL_OK)
        return invalid(HG_E_VALIDATION_ERROR, "url", "invalid \"url\": %s",
                       reason);

    if (rules->https_only && strncasecmp(text, "https://", 8) != 0)
        return invalid(HG_E_TARGET_NOT_ALLOWED, "url",
                       "this deployment accepts only https endpoint URLs");
    return valid();
}

static bool array_has_string(const json_t *array, const char *s)
{
    size_t i;
    json_t *item;

    json_array_foreach(array, i, item) {
        if (strcmp(json_string_value(item), s) == 0)
            return true;
    }
    return false;
}

gw_validate_result gw_validate_event_types(const json_t *types,
                                           json_t **distinct)
{
    size_t i;
    json_t *item;

    *distinct = NULL;
    if (types == NULL)
        return valid();
    if (!json_is_array(types) || json_array_size(types) == 0 ||
        json_array_size(types) > HG_TYPE_FILTERS_MAX)
        return invalid(HG_E_VALIDATION_ERROR, "event_types",
                       "\"event_types\" must be an array of 1 to %d type "
                       "filters, such as [\"booking.*\"]",
                       HG_TYPE_FILTERS_MAX);

    *distinct = json_array();
    json_array_foreach(types, i, item) {
        const char *filter = json_string_value(item);

        if (filter == NULL || !hg_type_filter_valid(filter)) {
            json_decref(*distinct);
            *distinct = NULL;
            return invalid(HG_E_VALIDATION_ERROR, "event_types",
                           "event_types[%zu] is not a valid filter: use a "
                           "type (A-Z a-z 0-9 . _ -, up to 128), "
                           "\"prefix.*\" or \"*\"",
                           i);
        }
        if (!array_has_string(*distinct, filter))
            json_array_append_new(*distinct, json_string(filter));
    }
    return valid();
}

gw_validate_result gw_validate_description(const json_t *description)
{
    if (description == NULL)
        return valid();
    if (!json_is_string(description) ||
        json_string_length(description) > DESCRIPTION_MAX)
        return invalid(HG_E_VALIDATION_ERROR, "description",
                       "\"description\" must be a string of at most %d "
                       "bytes",
                       DESCRIPTION_MAX);
    return valid();
}

/* True for a name in reserved_headers or one that starts with "proxy-". */
static bool header_reserved(const char *name)
{
    for (int i = 0; reserved_headers[i] != NULL; i++) {
        if (strcasecmp(name, reserved_headers[i]) == 0)
            return true;
    }
    return strncasecmp(name, "proxy-", 6) == 0;
}

/* True for a string of at most HEADER_VALUE_MAX bytes without control
 * characters other than tab, C1 controls included. */
static bool header_value_valid(const json_t *value)
{
    const char *text = json_string_value(value);
    size_t len = json_string_length(value);

    return text != NULL && len <= HEADER_VALUE_MAX &&
           hg_http_field_value_valid(text, len) &&
           !hg_text_has_c1_control(text, len);
}

gw_validate_result gw_validate_headers(const json_t *headers)
{
    const char *name, *seen[HEADERS_MAX];
    size_t seen_count = 0;
    json_t *value;

    if (headers == NULL)
        return valid();
    if (!json_is_object(headers) || json_object_size(headers) > HEADERS_MAX)
        return invalid(HG_E_VALIDATION_ERROR, "headers",
                       "\"headers\" must be an object of at most %d "
                       "header names and string values",
                       HEADERS_MAX);

    json_object_foreach(drop_const(headers), name, value) {
        if (!hg_http_token_valid(name, HEADER_NAME_MAX))
            return invalid(HG_E_VALIDATION_ERROR, "headers",
                           "header name \"%.100s\" is not a valid HTTP "
                           "field name",
                           name);
        if (header_reserved(name))
            return invalid(HG_E_VALIDATION_ERROR, "headers",
                           "header \"%s\" is set by hookgate and cannot be "
                           "overridden",
                           name);
        if (!header_value_valid(value))
            return invalid(HG_E_VALIDATION_ERROR, "headers",
                           "the value of header \"%s\" must be a string of "
                           "at most %d bytes without control characters "
                           "other than tab",
                           name, HEADER_VALUE_MAX);
        /* Header names are case-insensitive: both would be sent. */
        for (size_t i = 0; i < seen_count; i++) {
            if (strcasecmp(seen[i], name) == 0)
                return invalid(HG_E_VALIDATION_ERROR, "headers",
                               "headers \"%s\" and \"%s\" are the same "
                               "header (names are case-insensitive)",
                               seen[i], name);
        }
        seen[seen_count++] = name;
    }
    return valid();
}

gw_validate_result gw_validate_enabled(const json_t *enabled)
{
    if (enabled != NULL && !json_is_boolean(enabled))
        return invalid(HG_E_VALIDATION_ERROR, "enabled",
                       "\"enabled\" must be true or false");
    return valid();
}

gw_validate_result gw_validate_ordering_key(const json_t *ordering_key)
{
    const char *pointer = json_string_value(ordering_key);

    if (ordering_key == NULL || json_is_null(ordering_key))
        return valid();
    if (pointer == NULL || pointer[0] != '/' ||
        strlen(pointer) > ORDERING_KEY_MAX)
        return invalid(HG_E_VALIDATION_ERROR, "ordering_key",
                       "\"ordering_key\" must be null or a JSON Pointer "
                       "into the event such as \"/data/booking_id\" "
                       "(at most %d characters)",
                       ORDERING_KEY_MAX);
    for (const char *t = strchr(pointer, '~'); t; t = strchr(t + 1, '~')) {
        if (t[1] != '0' && t[1] != '1')
            return invalid(HG_E_VALIDATION_ERROR, "ordering_key",
                           "\"ordering_key\" is not a valid JSON Pointer: "
                           "\"~\" must be followed by 0 or 1 (\"~0\" is "
                           "\"~\", \"~1\" is \"/\")");
    }
    return valid();
}

gw_validate_result gw_validate_setting(const json_t *value, const char *name,
                                       const gw_endpoint_rules *rules)
{
    long long min, max;

    if (strcmp(name, "connect_timeout_ms") == 0) {
        min = CONNECT_TIMEOUT_MIN_MS;
        max = rules->connect_timeout_max_ms;
    } else if (strcmp(name, "timeout_ms") == 0) {
        min = TIMEOUT_MIN_MS;
        max = rules->timeout_max_ms;
    } else if (strcmp(name, "max_concurrency") == 0) {
        min = 1;
        max = MAX_CONCURRENCY_MAX;
    } else if (strcmp(name, "rate_limit") == 0) {
        min = 1;
        max = RATE_LIMIT_MAX;
    } else {
        return invalid(HG_E_VALIDATION_ERROR, name,
                       "unknown field \"%.64s\"", name);
    }

    if (value == NULL || json_is_null(value))
        return valid();
    if (!json_is_integer(value) || json_integer_value(value) < min ||
        json_integer_value(value) > max)
        return invalid(HG_E_VALIDATION_ERROR, name,
                       "\"%s\" must be null or an integer from %lld to %lld",
                       name, min, max);
    return valid();
}

gw_validate_result gw_validate_secret(const json_t *secret)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    const char *reason = NULL;
    const char *text = json_string_value(secret);
    int parsed;

    if (secret == NULL || json_is_null(secret))
        return valid();
    if (text == NULL || strlen(text) != json_string_length(secret))
        return invalid(HG_E_VALIDATION_ERROR, "secret",
                       "invalid \"secret\": it must be a string such as "
                       "whsec_...");

    /* hg_secret_parse accepts at most 94 bytes ("whsec_" and base64 of 64
     * bytes), so the length check after it only keeps the secret within
     * the HG_SECRET_MAX_LEN buffer of the endpoint record should the
     * parser ever accept more. */
    parsed = hg_secret_parse(text, key, sizeof(key), &reason);
    memset(key, 0, sizeof(key));
    if (parsed < 0)
        return invalid(HG_E_VALIDATION_ERROR, "secret",
                       "invalid \"secret\": %s", reason);
    if (json_string_length(secret) >= HG_SECRET_MAX_LEN)
        return invalid(HG_E_VALIDATION_ERROR, "secret",
                       "invalid \"secret\": the secret is too long");
    return valid();
}

gw_validate_result gw_validate_grace_period(const json_t *grace)
{
    if (grace != NULL &&
        (!json_is_integer(grace) || json_integer_value(grace) < 0 ||
         json_integer_value(grace) > GRACE_PERIOD_MAX_S))
        return invalid(HG_E_VALIDATION_ERROR, "grace_period_s",
                       "\"grace_period_s\" must be an integer from 0 to "
                       "2592000 (30 days)");
    return valid();
}

gw_validate_result gw_validate_rotation_members(const json_t *body)
{
    return gw_validate_members(body, rotation_members);
}

/* ---- recovery jobs ------------------------------------------------------- */

/* Reads an optional RFC 3339 member; false when it is present but not a
 * time. JSON strings are not URL-encoded, so "+" is taken as it is. */
static bool read_time(const json_t *value, long long *ms)
{
    const char *text = json_string_value(value);
    int64_t parsed;

    if (value == NULL)
        return true;
    if (text == NULL || strlen(text) != json_string_length(value) ||
        hg_time_parse(text, &parsed) != 0)
        return false;
    *ms = parsed;
    return true;
}

gw_validate_result gw_validate_recovery(const json_t *body, int64_t now_ms,
                                        long long retention_s,
                                        long long *since_ms,
                                        long long *until_ms)
{
    const json_t *since = json_object_get(body, "since");
    gw_validate_result res = gw_validate_members(body, recovery_members);

    *since_ms = 0;
    *until_ms = now_ms;
    if (!res.ok)
        return res;
    if (since == NULL)
        return invalid(HG_E_VALIDATION_ERROR, "since",
                       "\"since\" is required: an RFC 3339 time such as "
                       "2026-01-01T00:00:00Z");
    if (!read_time(since, since_ms))
        return invalid(HG_E_VALIDATION_ERROR, "since",
                       "\"since\" must be an RFC 3339 time such as "
                       "2026-01-01T00:00:00Z");
    if (!read_time(json_object_get(body, "until"), until_ms))
        return invalid(HG_E_VALIDATION_ERROR, "until",
                       "\"until\" must be an RFC 3339 time such as "
                       "2026-01-01T00:00:00Z");

    if (*since_ms >= *until_ms)
        return invalid(HG_E_VALIDATION_ERROR, "since",
                       "\"since\" must be before \"until\" (default: now)");
    if (*since_ms < now_ms - retention_s * 1000)
        return invalid(HG_E_VALIDATION_ERROR, "since",
                       "\"since\" must be within the event retention of "
                       "%lld s before now: older deliveries are deleted",
                       retention_s);
    if (*until_ms > now_ms + GW_RECOVERY_FUTURE_SKEW_S * 1000LL)
        return invalid(HG_E_VALIDATION_ERROR, "until",
                       "\"until\" must not be more than %d s in the future",
                       GW_RECOVERY_FUTURE_SKEW_S);
    return valid();
}

/* ---- API keys and OAuth clients ------------------------------------------ */

gw_validate_result gw_validate_credential_members(const json_t *body)
{
    return gw_validate_members(body, credential_members);
}

/* True when value is a string of 1 to max bytes. */
static bool name_valid(const json_t *value, size_t max)
{
    return json_is_string(value) && json_string_length(value) > 0 &&
           json_string_length(value) <= max;
}

gw_validate_result gw_validate_credential_name(const json_t *name)
{
    if (name != NULL && !name_valid(name, CREDENTIAL_NAME_MAX))
        return invalid(HG_E_VALIDATION_ERROR, "name",
                       "\"name\" must be a string of 1 to %d bytes",
                       CREDENTIAL_NAME_MAX);
    return valid();
}

/* Returns the bit of one scope name (publish 1, read 2, manage 4), or 0
 * for anything else, including names with spaces or NUL bytes. */
static unsigned scope_bit(const json_t *item)
{
    static const char *const names[] = {"publish", "read", "manage"};
    const char *text = json_string_value(item);

    for (unsigned i = 0; text != NULL && i < 3; i++) {
        if (json_string_length(item) == strlen(names[i]) &&
            strcmp(text, names[i]) == 0)
            return 1u << i;
    }
    return 0;
}

gw_validate_result gw_validate_scopes(const json_t *scopes, char *out,
                                      size_t cap)
{
    unsigned mask = 0;
    size_t i;
    json_t *item;

    out[0] = '\0';
    if (!json_is_array(scopes) || json_array_size(scopes) == 0)
        return invalid(HG_E_VALIDATION_ERROR, "scopes",
                       "\"scopes\" must be a non-empty array of "
                       "\"publish\", \"read\" and \"manage\"");
    json_array_foreach(scopes, i, item) {
        unsigned bit = scope_bit(item);

        if (bit == 0)
            return invalid(HG_E_VALIDATION_ERROR, "scopes",
                           "scopes[%zu] must be \"publish\", \"read\" or "
                           "\"manage\"",
                           i);
        mask |= bit;
    }

    snprintf(out, cap, "%s%s%s%s%s", mask & 1 ? "publish" : "",
             (mask & 1) && (mask & 6) ? " " : "", mask & 2 ? "read" : "",
             (mask & 2) && (mask & 4) ? " " : "", mask & 4 ? "manage" : "");
    return valid();
}

static gw_validate_result expires_in(const json_t *seconds, int64_t now_ms,
                                     long long *expires_ms)
{
    if (!json_is_integer(seconds) ||
        json_integer_value(seconds) < KEY_LIFETIME_MIN_S ||
        json_integer_value(seconds) > KEY_LIFETIME_MAX_S)
        return invalid(HG_E_VALIDATION_ERROR, "expires_in_s",
                       "\"expires_in_s\" must be an integer from %d to "
                       "%lld seconds",
                       KEY_LIFETIME_MIN_S, KEY_LIFETIME_MAX_S);
    *expires_ms = now_ms + json_integer_value(seconds) * 1000;
    return valid();
}

static gw_validate_result expires_at(const json_t *at, int64_t now_ms,
                                     long long *expires_ms)
{
    const char *text = json_string_value(at);
    int64_t when = 0;

    if (text == NULL || hg_time_parse(text, &when) != 0 ||
        when < now_ms + KEY_LIFETIME_MIN_S * 1000LL ||
        when > now_ms + KEY_LIFETIME_MAX_S * 1000)
        return invalid(HG_E_VALIDATION_ERROR, "expires_at",
                       "\"expires_at\" must be an RFC 3339 time at "
                       "least a minute and at most five years ahead");
    *expires_ms = when;
    return valid();
}

gw_validate_result gw_validate_key_expiry(const json_t *body, int64_t now_ms,
                                          long long *expires_ms)
{
    const json_t *seconds = json_object_get(body, "expires_in_s");
    const json_t *at = json_object_get(body, "expires_at");

    *expires_ms = 0;
    if (seconds != NULL && at != NULL)
        return invalid(HG_E_VALIDATION_ERROR, "expires_at",
                       "give \"expires_in_s\" or \"expires_at\", not both");
    if (seconds != NULL)
        return expires_in(seconds, now_ms, expires_ms);
    if (at != NULL)
        return expires_at(at, now_ms, expires_ms);
    return valid();
}

/* ---- integrations -------------------------------------------------------- */

gw_validate_result gw_validate_integration_members(const json_t *body)
{
    return gw_validate_members(body, integration_members);
}

gw_validate_result gw_validate_integration_id(const json_t *id)
{
    if (!json_is_string(id) || !hg_integration_id_valid(json_string_value(id)))
        return invalid(HG_E_VALIDATION_ERROR, "id",
                       "\"id\" must be a string matching "
                       "[a-z0-9][a-z0-9_-]{0,62}");
    if (hg_key_tag_shared(json_string_value(id)))
        return invalid(HG_E_VALIDATION_ERROR, "id",
                       "\"id\" %s is reserved for keys that all "
                       "integrations share (act, admin, jobs, status and "
                       "wq followed by digits); choose another id",
                       json_string_value(id));
    return valid();
}

gw_validate_result gw_validate_integration_name(const json_t *name)
{
    if (name != NULL && !name_valid(name, INTEGRATION_NAME_MAX))
        return invalid(HG_E_VALIDATION_ERROR, "name",
                       "\"name\" must be a string of 1 to %d bytes",
                       INTEGRATION_NAME_MAX);
    return valid();
}

/* Returns the first member of an integration update with a bad value, or
 * NULL when all are valid. */
static const char *integration_update_fault(const json_t *body)
{
    const json_t *name = json_object_get(body, "name");
    const json_t *op = json_object_get(body, "operational_endpoint_id");
    const json_t *validate = json_object_get(body, "validate_payloads");

    if (name != NULL && !name_valid(name, INTEGRATION_NAME_MAX))
        return "name";
    if (op != NULL && !json_is_null(op) &&
        (!json_is_string(op) ||
         !gw_validate_endpoint_id(json_string_value(op))))
        return "operational_endpoint_id";
    if (validate != NULL && !json_is_boolean(validate))
        return "validate_payloads";
    return NULL;
}

gw_validate_result gw_validate_integration_update(const json_t *body)
{
    static const char *const members[] = {
        "name", "operational_endpoint_id", "validate_payloads", NULL,
    };
    gw_validate_result res = gw_validate_members(body, members);
    const char *fault;

    if (!res.ok)
        return res;
    fault = integration_update_fault(body);
    if (fault != NULL)
        return invalid(HG_E_VALIDATION_ERROR, fault,
                       "\"name\" must be a string of 1 to %d bytes, "
                       "\"operational_endpoint_id\" an endpoint id or null, "
                       "\"validate_payloads\" a boolean",
                       INTEGRATION_NAME_MAX);
    return valid();
}
