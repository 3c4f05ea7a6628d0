/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the request-body checks of gateway/validate.c, including the
 * custom endpoint headers, and the media type check of a Content-Type
 * value. The first line of an input is the Content-Type value. The rest is
 * a request body, which is parsed as the gateway parses bodies and passed
 * to every check. Accepted values must keep the invariants that later code relies
 * on, such as header values that cannot split a request.
 */
#include <jansson.h>
#include <stdbool.h>
#include <strings.h>

#include "common/typefilter.h"
#include "common/urlpolicy.h"
#include "fuzz.h"
#include "gateway/validate.h"

/* 2026-12-05T00:00:00Z in milliseconds, so runs are reproducible. */
#define NOW_MS 1796428800000LL
#define RETENTION_S (7LL * 86400)

static const gw_endpoint_rules rules = {
    .allow_private_targets = false,
    .https_only = false,
    .connect_timeout_max_ms = 10000,
    .timeout_max_ms = 30000,
};

/* Every result is either clean success or a failure with a code, a field
 * and a message. */
static void check_result(const gw_validate_result *res)
{
    FUZZ_CHECK(memchr(res->field, '\0', sizeof(res->field)) != NULL);
    FUZZ_CHECK(memchr(res->message, '\0', sizeof(res->message)) != NULL);
    if (res->ok) {
        FUZZ_CHECK(res->field[0] == '\0' && res->message[0] == '\0');
        return;
    }
    FUZZ_CHECK(res->code == HG_E_VALIDATION_ERROR ||
               res->code == HG_E_TARGET_NOT_ALLOWED);
    FUZZ_CHECK(res->message[0] != '\0');
}

/* An accepted "headers" object goes onto every delivery request, so no
 * name or value may end a header line or smuggle another one. */
static void check_headers(const json_t *headers)
{
    gw_validate_result res = gw_validate_headers(headers);
    const char *name;
    json_t *value;

    check_result(&res);
    if (!res.ok || headers == NULL)
        return;
    json_object_foreach((json_t *)headers, name, value) {
        size_t len = json_string_length(value);
        const char *other;
        json_t *ignored;

        FUZZ_CHECK(name[0] != '\0' && strpbrk(name, " \t\r\n:") == NULL);
        /* No two names differ only in case. */
        json_object_foreach((json_t *)headers, other, ignored) {
            (void)ignored;
            FUZZ_CHECK(other == name || strcasecmp(other, name) != 0);
        }
        FUZZ_CHECK(strncasecmp(name, "proxy-", 6) != 0);
        FUZZ_CHECK(strcasecmp(name, "host") != 0 &&
                   strcasecmp(name, "content-length") != 0 &&
                   strcasecmp(name, "webhook-signature") != 0);
        FUZZ_CHECK(json_is_string(value));
        FUZZ_CHECK(memchr(json_string_value(value), '\0', len) == NULL);
        FUZZ_CHECK(strpbrk(json_string_value(value), "\r\n") == NULL);
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)json_string_value(value)[k];

            FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7F);
        }
    }
}

static void check_event_types(const json_t *types)
{
    json_t *distinct = NULL;
    gw_validate_result res = gw_validate_event_types(types, &distinct);
    size_t i, j;

    check_result(&res);
    FUZZ_CHECK((distinct != NULL) == (res.ok && types != NULL));
    if (distinct == NULL)
        return;
    FUZZ_CHECK(json_array_size(distinct) >= 1 &&
               json_array_size(distinct) <= json_array_size(types));
    for (i = 0; i < json_array_size(distinct); i++) {
        const char *a = json_string_value(json_array_get(distinct, i));

        FUZZ_CHECK(a != NULL && hg_type_filter_valid(a));
        for (j = i + 1; j < json_array_size(distinct); j++)
            FUZZ_CHECK(strcmp(a, json_string_value(json_array_get(
                                     distinct, j))) != 0);
    }
    json_decref(distinct);
}

static void check_url(const json_t *url)
{
    gw_validate_result res = gw_validate_url(url, &rules);

    check_result(&res);
    if (res.ok && url != NULL)
        FUZZ_CHECK(hg_url_check(json_string_value(url), false, NULL, 0) ==
                   HG_URL_OK);
}

static void check_endpoint(const json_t *body)
{
    static const char *const settings[] = {
        "connect_timeout_ms", "timeout_ms", "max_concurrency", "rate_limit",
    };
    gw_validate_result res;

    res = gw_validate_endpoint_members(body, true);
    check_result(&res);
    res = gw_validate_endpoint_members(body, false);
    check_result(&res);
    check_url(json_object_get(body, "url"));
    check_event_types(json_object_get(body, "event_types"));
    check_headers(json_object_get(body, "headers"));
    res = gw_validate_description(json_object_get(body, "description"));
    check_result(&res);
    res = gw_validate_enabled(json_object_get(body, "enabled"));
    check_result(&res);
    res = gw_validate_ordering_key(json_object_get(body, "ordering_key"));
    check_result(&res);
    res = gw_validate_secret(json_object_get(body, "secret"));
    check_result(&res);
    res = gw_validate_grace_period(json_object_get(body, "grace_period_s"));
    check_result(&res);
    res = gw_validate_rotation_members(body);
    check_result(&res);
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        res = gw_validate_setting(json_object_get(body, settings[i]),
                                  settings[i], &rules);
        check_result(&res);
    }
}

static void check_credential(const json_t *body)
{
    char scopes[GW_SCOPES_TEXT_MAX];
    long long expires_ms;
    gw_validate_result res;

    res = gw_validate_credential_members(body);
    check_result(&res);
    res = gw_validate_credential_name(json_object_get(body, "name"));
    check_result(&res);

    res = gw_validate_scopes(json_object_get(body, "scopes"), scopes,
                             sizeof(scopes));
    check_result(&res);
    FUZZ_CHECK(res.ok == (scopes[0] != '\0'));

    res = gw_validate_key_expiry(body, NOW_MS, &expires_ms);
    check_result(&res);
    if (res.ok && expires_ms != 0)
        FUZZ_CHECK(expires_ms >= NOW_MS + 60000 &&
                   expires_ms <= NOW_MS + 5LL * 365 * 86400 * 1000);
    if (!res.ok)
        FUZZ_CHECK(expires_ms == 0);
}

static void check_integration_and_recovery(const json_t *body)
{
    long long since_ms, until_ms;
    gw_validate_result res;

    res = gw_validate_integration_members(body);
    check_result(&res);
    res = gw_validate_integration_id(json_object_get(body, "id"));
    check_result(&res);
    res = gw_validate_integration_name(json_object_get(body, "name"));
    check_result(&res);
    res = gw_validate_integration_update(body);
    check_result(&res);

    res = gw_validate_recovery(body, NOW_MS, RETENTION_S, &since_ms,
                               &until_ms);
    check_result(&res);
    if (res.ok)
        FUZZ_CHECK(since_ms < until_ms &&
                   since_ms >= NOW_MS - RETENTION_S * 1000 &&
                   until_ms <= NOW_MS + GW_RECOVERY_FUTURE_SKEW_S * 1000LL);
}

/* A matching Content-Type starts with the media type after optional
 * white space. */
static void check_media_type(const char *value)
{
    const char *type = "application/x-www-form-urlencoded";
    const char *p = value + strspn(value, " \t");

    if (gw_media_type_is(value, type))
        FUZZ_CHECK(strncasecmp(p, type, strlen(type)) == 0);
    if (gw_media_type_is(value, "application/json"))
        FUZZ_CHECK(strncasecmp(p, "application/json", 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *content_type = fuzz_next_line(&data, &size);
    json_error_t error;
    json_t *body;

    check_media_type(content_type);
    free(content_type);

    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
                      &error);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    check_endpoint(body);
    check_credential(body);
    check_integration_and_recovery(body);
    if (json_is_string(json_object_get(body, "id")))
        (void)gw_validate_endpoint_id(
            json_string_value(json_object_get(body, "id")));
    json_decref(body);
    return 0;
}
