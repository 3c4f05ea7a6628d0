/* SPDX-License-Identifier: MIT
 *
 * The event type catalog (HOOKGATE_CATALOG): listing and reading types with
 * their JSON Schema and example, the Deprecation and Sunset headers on a
 * publish of a deprecated type, payload validation for integrations that
 * turned it on, and test events that send a catalog example (or a given
 * payload) to one endpoint through the normal delivery path.
 *
 * The catalog is public. Its former per-integration path is deprecated and
 * checks the integration and the caller as the other integration routes
 * do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/catalog.h"
#include "common/jsonschema.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/text.h"
#include "gateway/gateway.h"

/* GET /api/v1/integrations/{id}/event-types was deprecated on
 * 2026-12-04T00:00:00Z, when GET /api/v1/event-types replaced it. */
#define LEGACY_LIST_DEPRECATED_UNIX 1796342400LL
/* The document that describes the deprecated path and its replacement. */
#define LEGACY_LIST_DEPRECATION_LINK "/openapi.json"

const hg_catalog *gw_catalog;

/* Adds the headers of a deprecated resource: Deprecation with the date of
 * deprecation as "@<seconds>" (RFC 9745; left out when deprecated_unix is
 * negative, because the header has no value without a date), Sunset (RFC
 * 8594) unless sunset_http is NULL, and a Link with rel="deprecation" to
 * where the deprecation is described. */
static void deprecation_headers(hg_req *r, long long deprecated_unix,
                                const char *sunset_http, const char *link)
{
    char value[320];

    if (deprecated_unix >= 0) {
        snprintf(value, sizeof(value), "@%lld", deprecated_unix);
        hg_reply_header(r, "Deprecation", value);
    }
    if (sunset_http != NULL)
        hg_reply_header(r, "Sunset", sunset_http);
    snprintf(value, sizeof(value), "<%s>; rel=\"deprecation\"", link);
    hg_reply_header(r, "Link", value);
}

/* ---- catalog routes ---------------------------------------------------------- */

static json_t *type_summary(const hg_catalog_type *t)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:o}", "type", t->type, "title",
                     t->title, "description", t->description, "deprecated",
                     t->deprecated, "sunset",
                     t->sunset ? json_string(t->sunset) : json_null());
}

static void reply_type_list(hg_req *r, const char *cache_control)
{
    json_t *items = json_array();

    for (size_t i = 0; i < hg_catalog_count(gw_catalog); i++)
        json_array_append_new(items,
                              type_summary(hg_catalog_at(gw_catalog, i)));
    hg_reply_header(r, "Cache-Control", cache_control);
    hg_reply_json(r, 200, json_pack("{s:o}", "data", items));
}

static void on_legacy_integration(hg_redis_status status, redisReply *reply,
                                  void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_INTEGER || reply->integer == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        /* private: the request carried a credential. */
        reply_type_list(r, "private, max-age=300");
    }
    hg_req_release(r);
}

static void legacy_list_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_legacy_integration, r, "EXISTS %s",
                     hg_key(key, r->params[0], "integration"));
}

void gw_list_event_types(hg_req *r)
{
    /* The route table sends the deprecated per-integration path here too,
     * marked by its sunset. */
    if (r->route == NULL || r->route->sunset == NULL) {
        reply_type_list(r, "public, max-age=300");
        return;
    }
    /* On every response of the path, errors included: the path itself is
     * deprecated, whatever the outcome. */
    deprecation_headers(r, LEGACY_LIST_DEPRECATED_UNIX, r->route->sunset,
                        LEGACY_LIST_DEPRECATION_LINK);
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_READ, legacy_list_authorized);
}

void gw_get_event_type(hg_req *r)
{
    char name[HG_PARAM_MAX];
    const hg_catalog_type *t;
    json_t *out;

    /* Path parameters arrive percent-encoded as sent, and a client may
     * encode any character of a type name. */
    if (hg_percent_decode(r->params[0], strlen(r->params[0]), name,
                          sizeof(name), 0) < 0)
        snprintf(name, sizeof(name), "%s", r->params[0]);
    t = hg_catalog_find(gw_catalog, name);
    if (t == NULL) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "event type %s is not in the catalog; GET "
                         "/api/v1/event-types lists them",
                         name);
        return;
    }
    out = type_summary(t);
    json_object_set(out, "schema", t->schema);
    json_object_set(out, "example", t->example);
    hg_reply_header(r, "Cache-Control", "public, max-age=300");
    hg_reply_json(r, 200, out);
}

/* ---- publish hooks --------------------------------------------------------------- */

void gw_catalog_headers(hg_req *r, const char *type)
{
    const hg_catalog_type *t = hg_catalog_find(gw_catalog, type);
    char link[192];

    if (t == NULL || !t->deprecated)
        return;
    /* The catalog entry of the type names its replacement. */
    snprintf(link, sizeof(link), "/api/v1/event-types/%s", t->type);
    deprecation_headers(r, t->deprecated_at ? t->deprecated_unix : -1,
                        t->sunset_http, link);
}

/* Parses a body for validation: big integers do not fit jansson's
 * integers, so a numeric overflow is retried with integers as reals. */
static json_t *parse_for_validation(const char *body, size_t len)
{
    json_error_t err;
    size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_t *doc = json_loadb(body, len, flags, &err);

    if (doc == NULL && json_error_code(&err) == json_error_numeric_overflow)
        doc = json_loadb(body, len, flags | JSON_DECODE_INT_AS_REAL, &err);
    return doc;
}

bool gw_payload_valid(const gw_publish *s, const char *integration_id,
                      char *why, size_t cap)
{
    const hg_catalog_type *t = hg_catalog_find(gw_catalog, s->type);
    char reason[512];
    json_t *doc;
    bool ok;

    if (t == NULL) {
        snprintf(why, cap,
                 "event type %s is not in the catalog, and payload "
                 "validation is on for integration %s",
                 s->type, integration_id);
        return false;
    }
    doc = parse_for_validation(s->body, s->len);
    if (doc == NULL) {
        snprintf(why, cap,
                 "the payload cannot be checked against the schema of %s: "
                 "it repeats a member name",
                 s->type);
        return false;
    }
    ok = hg_schema_validate(t->compiled, doc, reason, sizeof(reason));
    json_decref(doc);
    if (!ok)
        snprintf(why, cap, "the payload does not match the schema of %s: %s",
                 s->type, reason);
    return ok;
}

/* ---- test events --------------------------------------------------------------- */

static void on_test_accepted(hg_req *r, const char *event_id, bool replayed)
{
    gw_publish *s = r->data;
    char delivery[HG_ID_MAX + 8];

    (void)replayed;
    snprintf(delivery, sizeof(delivery), "dlv_%s_0", event_id + 4);
    gw_audit(r, r->params[0], "endpoint.test", r->params[1],
             json_pack("{s:s, s:s}", "event_id", event_id, "type", s->type));
    hg_reply_json(r, 202,
                  json_pack("{s:s, s:s, s:s, s:s, s:b}", "event_id", event_id,
                            "delivery_id", delivery, "endpoint_id",
                            r->params[1], "type", s->type, "test", 1));
}

/* Returns the catalog example of a test event as a new string, with its
 * top-level "id" and "created_at" strings set to the event's id and time.
 * Receivers drop a repeated body id as a duplicate, so every test event
 * needs its own. NULL when out of memory. */
static char *example_body(const hg_catalog_type *t, const gw_publish *s)
{
    json_t *doc = json_loads(t->example_text, 0, NULL);
    char *text;

    if (!json_is_object(doc)) {
        json_decref(doc);
        return strdup(t->example_text);
    }
    if (json_is_string(json_object_get(doc, "id")))
        json_object_set_new(doc, "id", json_string(s->event_id));
    if (json_is_string(json_object_get(doc, "created_at")))
        json_object_set_new(doc, "created_at", json_string(s->received_at));
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* Takes the payload of a test: the given "payload" object, or the catalog
 * example of "type" (default booking.created). */
static bool test_payload(hg_req *r, json_t *body, gw_publish *s)
{
    json_t *payload = json_object_get(body, "payload");
    json_t *type = json_object_get(body, "type");
    const char *name = json_string_value(type);
    const hg_catalog_type *t;

    if (type != NULL && (name == NULL ||
                         !hg_event_type_valid(name, strlen(name)))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"type\" must be 1 to 128 characters of "
                         "A-Z a-z 0-9 . _ -");
        return false;
    }
    if (payload != NULL) {
        const char *inner = json_string_value(json_object_get(payload,
                                                              "type"));

        if (!json_is_object(payload)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "\"payload\" must be a JSON object");
            return false;
        }
        if (name != NULL && inner != NULL && strcmp(inner, name) != 0) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "\"type\" is %s but the payload's \"type\" "
                             "is %.128s: give the same type in both, or "
                             "only one of them",
                             name, inner);
            return false;
        }
        if (name == NULL)
            name = inner;
        if (name == NULL) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "give the test event a type: \"type\", or a "
                             "\"type\" member of the payload");
            return false;
        }
        s->owned_body = json_dumps(payload, JSON_COMPACT);
    } else {
        if (name == NULL)
            name = "booking.created";
        t = hg_catalog_find(gw_catalog, name);
        if (t == NULL) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "event type %s has no catalog example; send a "
                             "\"payload\" instead",
                             name);
            return false;
        }
        s->owned_body = example_body(t, s);
    }
    if (s->owned_body == NULL || !hg_event_type_valid(name, strlen(name))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "invalid test event type");
        return false;
    }
    snprintf(s->type, sizeof(s->type), "%s", name);
    s->body = s->owned_body;
    s->len = strlen(s->owned_body);
    return true;
}

/* Builds and stores the test event once the caller is authorized, so that
 * nothing about the body, the endpoint or the integration reaches a caller
 * without a valid credential. publish.lua checks that the endpoint exists
 * and is enabled. */
static void test_authorized(hg_req *r)
{
    gw_publish *s;
    json_t *body = NULL;
    size_t len;

    if ((s = gw_publish_new(r)) == NULL || !gw_read_credential(r, &s->cred))
        return;
    hg_req_body(r, &len);
    if (len > 0 && (body = gw_json_body(r)) == NULL)
        return;
    if (!test_payload(r, body, s)) {
        json_decref(body);
        return;
    }
    json_decref(body);
    s->test = true;
    snprintf(s->only_endpoint, sizeof(s->only_endpoint), "%.63s", r->params[1]);
    s->on_accepted = on_test_accepted;
    gw_publish_start(r);
}

void gw_test_endpoint(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!gw_endpoint_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
        return;
    }
    gw_authorize(r, r->params[0], SCOPE_PUBLISH | SCOPE_OPERATE,
                 test_authorized);
}
