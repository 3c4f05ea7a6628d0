/* SPDX-License-Identifier: MIT
 *
 * The event type catalog (HOOKGATE_CATALOG): listing and reading types with
 * their JSON Schema and example, the Deprecation and Sunset headers on a
 * publish of a deprecated type, payload validation for integrations that
 * turned it on, and test events that send a catalog example (or a given
 * payload) to one endpoint through the normal delivery path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/catalog.h"
#include "common/jsonschema.h"
#include "common/log.h"
#include "gateway/gateway.h"

const hg_catalog *gw_catalog;

/* ---- catalog routes ---------------------------------------------------------- */

static json_t *type_summary(const hg_catalog_type *t)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:o}", "type", t->type, "title",
                     t->title, "description", t->description, "deprecated",
                     t->deprecated, "sunset",
                     t->sunset ? json_string(t->sunset) : json_null());
}

void gw_list_event_types(hg_req *r)
{
    json_t *items = json_array();

    for (size_t i = 0; i < hg_catalog_count(gw_catalog); i++)
        json_array_append_new(items,
                              type_summary(hg_catalog_at(gw_catalog, i)));
    hg_reply_header(r, "Cache-Control", "public, max-age=300");
    hg_reply_json(r, 200, json_pack("{s:o}", "data", items));
}

void gw_get_event_type(hg_req *r)
{
    const hg_catalog_type *t = hg_catalog_find(gw_catalog, r->params[0]);
    json_t *out;

    if (t == NULL) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "event type %s is not in the catalog; GET "
                         "/api/v1/event-types lists them",
                         r->params[0]);
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

    if (t == NULL || !t->deprecated)
        return;
    /* RFC 9745 and RFC 8594; the link names where the type is described. */
    hg_reply_header(r, "Deprecation", "true");
    if (t->sunset_http != NULL)
        hg_reply_header(r, "Sunset", t->sunset_http);
    char link[256];

    snprintf(link, sizeof(link), "</api/v1/event-types/%s>; rel=\"deprecation\"",
             t->type);
    hg_reply_header(r, "Link", link);
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

bool gw_validate_payload(hg_req *r, const endpoint_snapshot *snap)
{
    gw_publish *s = r->data;
    const hg_catalog_type *t;
    char why[512];
    json_t *doc;
    bool ok;

    if (!snap->validate_payloads)
        return true;
    t = hg_catalog_find(gw_catalog, s->type);
    if (t == NULL) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "event type %s is not in the catalog, and payload "
                         "validation is on for integration %s",
                         s->type, r->params[0]);
        return false;
    }
    doc = parse_for_validation(s->body, s->len);
    if (doc == NULL) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "the payload cannot be checked against the schema "
                         "of %s: it repeats a member name",
                         s->type);
        return false;
    }
    ok = hg_schema_validate(t->compiled, doc, why, sizeof(why));
    json_decref(doc);
    if (!ok)
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "the payload does not match the schema of %s: %s",
                         s->type, why);
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

/* Refuses a test to an endpoint that does not exist or is disabled. */
static bool check_test_endpoint(hg_req *r, const endpoint_snapshot *snap)
{
    gw_publish *s = r->data;

    for (int i = 0; i < snap->count; i++) {
        if (strcmp(snap->endpoints[i].id, s->only_endpoint) == 0)
            return gw_validate_payload(r, snap);
    }
    hg_reply_problem(r, HG_E_NOT_FOUND,
                     "endpoint %s does not exist or is disabled; enable it "
                     "to send it a test event",
                     s->only_endpoint);
    return false;
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
        if (name == NULL)
            name = inner;
        if (name == NULL || (inner != NULL && strcmp(inner, name) != 0)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "give the test event a type: \"type\", or a "
                             "\"type\" member of the payload (the same one "
                             "when both are given)");
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
        s->owned_body = strdup(t->example_text);
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

void gw_test_endpoint(hg_req *r)
{
    gw_publish *s;
    json_t *body = NULL;
    size_t len;

    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!gw_endpoint_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
        return;
    }
    if ((s = gw_publish_new(r)) == NULL || !gw_read_credential(r, &s->cred))
        return;
    if (s->cred.kind == CRED_TOKEN &&
        strcmp(s->cred.token_integration, r->params[0]) != 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the access token does not belong to integration %s",
                         r->params[0]);
        return;
    }
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
    s->validate = check_test_endpoint;
    s->on_accepted = on_test_accepted;
    gw_set_actor(r, &s->cred, "");
    gw_publish_start(r);
}
