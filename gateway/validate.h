/* SPDX-License-Identifier: MIT
 *
 * Checks of the JSON request bodies of the integration, endpoint,
 * credential and recovery routes, and of the media type of the token
 * route's form body. Each function decides on parsed jansson values and
 * explicit settings only, with no request, Redis or global configuration,
 * and returns the error code and the problem+json detail that the route
 * sends when a field is invalid.
 */
#ifndef HG_GATEWAY_VALIDATE_H
#define HG_GATEWAY_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

#define GW_VALIDATE_FIELD_MAX 72
#define GW_VALIDATE_MESSAGE_MAX 512
/* Room for the longest scope list, "publish read manage", and its NUL. */
#define GW_SCOPES_TEXT_MAX 32
/* How far in the future the end of a recovery window may lie, for clocks
 * that run a little ahead of the gateway's. */
#define GW_RECOVERY_FUTURE_SKEW_S 60

/* A NULL value means that the member is absent from the body. Every
 * check accepts that except gw_validate_scopes and
 * gw_validate_integration_id, whose members are always required. The
 * create-time requirement of "url" and "event_types" is checked by
 * gw_validate_endpoint_members. */

/* The outcome of one check. When ok is false, code is
 * HG_E_VALIDATION_ERROR or HG_E_TARGET_NOT_ALLOWED, field names the
 * request member at fault (cut to GW_VALIDATE_FIELD_MAX - 1 bytes), and
 * message is the problem+json detail. Both strings are empty when ok. */
typedef struct gw_validate_result {
    bool ok;
    hg_error code;
    char field[GW_VALIDATE_FIELD_MAX];
    char message[GW_VALIDATE_MESSAGE_MAX];
} gw_validate_result;

/* Deployment settings that limit an endpoint's fields. */
typedef struct gw_endpoint_rules {
    bool allow_private_targets;       /* accept private and loopback URLs */
    bool https_only;                  /* reject http:// URLs */
    long long connect_timeout_max_ms; /* upper bound of connect_timeout_ms */
    long long timeout_max_ms;         /* upper bound of timeout_ms */
} gw_endpoint_rules;

/* Checks that every member name of body, a JSON object, is in known, a
 * NULL-terminated list. The first other member gives "unknown field". */
gw_validate_result gw_validate_members(const json_t *body,
                                       const char *const *known);

/* Returns true when value, a Content-Type field value, is the media type
 * type (lower case, such as "application/x-www-form-urlencoded") in any
 * letter case, with optional RFC 9110 parameters and nothing else. */
bool gw_media_type_is(const char *value, const char *type);

/* ---- endpoints ----------------------------------------------------------- */

/* Returns true for "ep_" followed by 1 to 60 of A-Z a-z 0-9 _ -. */
bool gw_validate_endpoint_id(const char *s);

/* Checks the member names of an endpoint create (create true) or update
 * body, a JSON object: every name must be a known field, "secret" only on
 * create, and a create must have "url" and "event_types". */
gw_validate_result gw_validate_endpoint_members(const json_t *body,
                                                bool create);

/* Checks an endpoint URL: an http or https URL that hg_url_check accepts,
 * and https when rules->https_only. A private or loopback target without
 * rules->allow_private_targets, and http under https_only, give
 * HG_E_TARGET_NOT_ALLOWED. */
gw_validate_result gw_validate_url(const json_t *url,
                                   const gw_endpoint_rules *rules);

/* Checks "event_types": an array of 1 to HG_TYPE_FILTERS_MAX valid type
 * filters. When types is present and valid, *distinct is a new array of
 * the distinct filters in request order, and the caller releases it with
 * json_decref. Otherwise *distinct is NULL. */
gw_validate_result gw_validate_event_types(const json_t *types,
                                           json_t **distinct);

/* Checks "description": a string of at most 500 bytes. */
gw_validate_result gw_validate_description(const json_t *description);

/* Checks "headers": an object of at most 20 custom headers. Each name is
 * an RFC 9110 token of 1 to 100 bytes that hookgate does not set itself,
 * and each value is a string of at most 1000 bytes without CR, LF or
 * NUL. */
gw_validate_result gw_validate_headers(const json_t *headers);

/* Checks "enabled": true or false. */
gw_validate_result gw_validate_enabled(const json_t *enabled);

/* Checks "ordering_key": null, or a JSON Pointer of at most 200 bytes. */
gw_validate_result gw_validate_ordering_key(const json_t *ordering_key);

/* Checks a delivery setting, null or an integer in its range:
 * connect_timeout_ms 100 to rules->connect_timeout_max_ms, timeout_ms
 * 1000 to rules->timeout_max_ms, max_concurrency 1 to 1000 and rate_limit
 * 1 to 100000. Any other name is an unknown field. */
gw_validate_result gw_validate_setting(const json_t *value, const char *name,
                                       const gw_endpoint_rules *rules);

/* Checks a supplied endpoint secret: "whsec_" and padded base64 of 24 to
 * 64 bytes. Absence and JSON null are valid and mean that the caller
 * generates a secret. */
gw_validate_result gw_validate_secret(const json_t *secret);

/* Checks "grace_period_s" of a secret rotation: an integer from 0 to
 * 2592000 (30 days). */
gw_validate_result gw_validate_grace_period(const json_t *grace);

/* Checks the member names of a secret rotation body: "grace_period_s" and
 * "secret". */
gw_validate_result gw_validate_rotation_members(const json_t *body);

/* ---- recovery jobs ------------------------------------------------------- */

/* Checks a recovery body, a JSON object with "since" (required) and
 * "until" (default now_ms), both RFC 3339 times: since must be before
 * until, at most retention_s seconds before now_ms (older deliveries are
 * deleted), and until at most GW_RECOVERY_FUTURE_SKEW_S after now_ms. On
 * success writes both times in milliseconds since the epoch. */
gw_validate_result gw_validate_recovery(const json_t *body, int64_t now_ms,
                                        long long retention_s,
                                        long long *since_ms,
                                        long long *until_ms);

/* ---- API keys and OAuth clients ------------------------------------------ */

/* Checks the "name" of an API key or OAuth client: a string of 1 to 100
 * bytes. */
gw_validate_result gw_validate_credential_name(const json_t *name);

/* Checks "scopes", which is required: a non-empty array of "publish",
 * "read" and "manage", repeats allowed. On success the distinct scopes go
 * to out (cap bytes, at least GW_SCOPES_TEXT_MAX), separated by spaces in
 * the order publish, read, manage. On failure out is the empty string. */
gw_validate_result gw_validate_scopes(const json_t *scopes, char *out,
                                      size_t cap);

/* Checks the member names of an API key or OAuth client body: "name",
 * "scopes", "expires_in_s" and "expires_at". */
gw_validate_result gw_validate_credential_members(const json_t *body);

/* Checks the expiry members of an API key or OAuth client body: at most
 * one of
 * "expires_in_s" (60 to 157680000 seconds, five years of 365 days) and
 * "expires_at" (an RFC 3339 time at least 60 s and at most five years
 * after now_ms). Writes the expiry in milliseconds since the epoch to
 * *expires_ms, 0 when neither is given or on failure. */
gw_validate_result gw_validate_key_expiry(const json_t *body, int64_t now_ms,
                                          long long *expires_ms);

/* ---- integrations -------------------------------------------------------- */

/* Checks the member names of an integration create body: "id" and
 * "name". */
gw_validate_result gw_validate_integration_members(const json_t *body);

/* Checks the "id" of a new integration: a string matching
 * [a-z0-9][a-z0-9_-]{0,62}. NULL (absent) is an error. */
gw_validate_result gw_validate_integration_id(const json_t *id);

/* Checks the "name" of a new integration: a string of 1 to 200 bytes. */
gw_validate_result gw_validate_integration_name(const json_t *name);

/* Checks an integration update body, a JSON object: only "name" (a string
 * of 1 to 200 bytes), "operational_endpoint_id" (an endpoint id or null)
 * and "validate_payloads" (a boolean) may appear. */
gw_validate_result gw_validate_integration_update(const json_t *body);

#endif
