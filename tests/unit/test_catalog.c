/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "common/catalog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HOOKGATE_SOURCE_DIR
#error "define HOOKGATE_SOURCE_DIR as the quoted path of the source tree"
#endif

#define CATALOG_PATH HOOKGATE_SOURCE_DIR "/catalog/event-types.json"
#define FIXTURES_PATH HOOKGATE_SOURCE_DIR "/catalog/sandbox-fixtures.json"
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DRAFT "https://json-schema.org/draft/2020-12/schema"

/* Prefixes of the ids that examples take from sandbox-fixtures.json. */
static const char *const fixture_prefixes[] = {"biz_", "loc_", "cus_", "svc_"};

static hg_catalog *load_catalog(void)
{
    char err[HG_CATALOG_ERR_MAX];
    hg_catalog *catalog = hg_catalog_load(CATALOG_PATH, err, sizeof(err));

    ck_assert_msg(catalog != NULL, "%s", err);
    return catalog;
}

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

    ck_assert_msg(json != NULL, "%s: %s", path, jerr.text);
    return json;
}

/* Writes text to a new temporary file and returns its path (free it). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/hg_catalog_XXXXXX");
    int fd;
    FILE *f;

    ck_assert_ptr_nonnull(path);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* Loads text as a catalog file and returns whether it loaded. err receives
 * the message. */
static bool load_text(const char *text, char *err, size_t errsz)
{
    char *path = write_temp(text);
    hg_catalog *catalog = hg_catalog_load(path, err, errsz);
    bool loaded = catalog != NULL;

    hg_catalog_free(catalog);
    unlink(path);
    free(path);
    return loaded;
}

/* A minimal entry that loads: the schema requires "type" and the example has
 * it. */
static json_t *good_entry(const char *type)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:n, s:{s:s, s:[s]}, s:{s:s}}",
                     "type", type, "title", "Title", "description",
                     "Description.", "deprecated", 0, "sunset", "schema",
                     "type", "object", "required", "type", "example", "type",
                     type);
}

/* Builds {"version": 1, "types": [first, second]}, taking the references.
 * second may be NULL. */
static json_t *catalog_of(json_t *first, json_t *second)
{
    json_t *types = json_pack("[o]", first);

    if (second != NULL)
        json_array_append_new(types, second);
    return json_pack("{s:i, s:o}", "version", 1, "types", types);
}

/* Checks that the catalog document does not load and that the message
 * contains expected. Takes the reference to document. */
static void expect_rejected(json_t *document, const char *expected)
{
    char err[HG_CATALOG_ERR_MAX];
    char *text = json_dumps(document, JSON_INDENT(2));

    ck_assert_ptr_nonnull(text);
    ck_assert_msg(!load_text(text, err, sizeof(err)), "loaded: %s", text);
    ck_assert_msg(strncmp(err, "/tmp/hg_catalog_", 16) == 0,
                  "message does not start with the path: %s", err);
    ck_assert_msg(strstr(err, expected) != NULL,
                  "message\n  \"%s\"\ndoes not contain\n  \"%s\"", err, expected);
    free(text);
    json_decref(document);
}

static bool has_fixture_prefix(const char *s)
{
    for (size_t i = 0; i < COUNT(fixture_prefixes); i++) {
        if (strncmp(s, fixture_prefixes[i], strlen(fixture_prefixes[i])) == 0)
            return true;
    }
    return false;
}

/* Collects the ids of every fixture record into a set (object keys). */
static json_t *fixture_ids(const json_t *fixtures)
{
    static const char *const lists[] = {"locations", "customers", "services"};
    json_t *ids = json_object();
    const json_t *business = json_object_get(fixtures, "business");

    json_object_set_new(ids, json_string_value(json_object_get(business, "id")),
                        json_incref((json_t *)business));
    for (size_t i = 0; i < COUNT(lists); i++) {
        const json_t *list = json_object_get(fixtures, lists[i]);

        ck_assert_msg(json_array_size(list) > 0, "no fixture %s", lists[i]);
        for (size_t j = 0; j < json_array_size(list); j++) {
            json_t *record = json_array_get(list, j);
            const char *id = json_string_value(json_object_get(record, "id"));

            ck_assert_msg(id != NULL, "%s[%zu] has no id", lists[i], j);
            ck_assert_msg(json_object_get(ids, id) == NULL, "duplicate id %s", id);
            json_object_set(ids, id, record);
        }
    }
    return ids;
}

/* Checks that every fixture-style id in value names a fixture record and
 * returns how many there are. */
static int check_references(const char *type, const json_t *value,
                            const json_t *ids)
{
    const char *key;
    json_t *member;
    int found = 0;

    if (json_is_string(value) && has_fixture_prefix(json_string_value(value))) {
        ck_assert_msg(json_object_get(ids, json_string_value(value)) != NULL,
                      "%s: example references %s, which is no fixture", type,
                      json_string_value(value));
        return 1;
    }
    if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++)
            found += check_references(type, json_array_get(value, i), ids);
    }
    json_object_foreach ((json_t *)value, key, member)
        found += check_references(type, member, ids);
    return found;
}

/* Checks that every booked service in value repeats the fixture's name,
 * duration and price, and returns how many there are. */
static int check_service_lines(const char *type, const json_t *value,
                               const json_t *ids)
{
    static const char *const fields[] = {"name", "duration_minutes", "price"};
    const char *key;
    json_t *member;
    const char *service_id = json_string_value(json_object_get(value, "service_id"));
    int found = 0;

    if (service_id != NULL) {
        const json_t *fixture = json_object_get(ids, service_id);

        for (size_t i = 0; i < COUNT(fields); i++)
            ck_assert_msg(json_equal(json_object_get(value, fields[i]),
                                     json_object_get(fixture, fields[i])),
                          "%s: %s of %s differs from the fixture", type,
                          fields[i], service_id);
        found++;
    }
    for (size_t i = 0; json_is_array(value) && i < json_array_size(value); i++)
        found += check_service_lines(type, json_array_get(value, i), ids);
    json_object_foreach ((json_t *)value, key, member)
        found += check_service_lines(type, member, ids);
    return found;
}

/* Checks every "email" and "phone" member in value against the reserved
 * example.com domain and the fictional 555-01XX numbers of the North
 * American Numbering Plan. */
static void check_contact_data(const char *where, const json_t *value)
{
    const char *key;
    json_t *member;

    json_object_foreach ((json_t *)value, key, member) {
        const char *s = json_string_value(member);

        if (strcmp(key, "email") == 0) {
            ck_assert_msg(s != NULL && strlen(s) > 12 &&
                              strcmp(s + strlen(s) - 12, "@example.com") == 0,
                          "%s: email %s is not at example.com", where, s);
        } else if (strcmp(key, "phone") == 0 && s != NULL) {
            ck_assert_msg(strlen(s) == 12 && strncmp(s, "+1", 2) == 0 &&
                              strncmp(s + 5, "55501", 5) == 0,
                          "%s: phone %s is not a fictional 555-01XX number",
                          where, s);
        }
        check_contact_data(where, member);
    }
    for (size_t i = 0; json_is_array(value) && i < json_array_size(value); i++)
        check_contact_data(where, json_array_get(value, i));
}

START_TEST(catalog_loads)
{
    char err[HG_CATALOG_ERR_MAX];
    hg_catalog *catalog = hg_catalog_load(CATALOG_PATH, err, sizeof(err));

    ck_assert_msg(catalog != NULL, "%s", err);
    ck_assert_str_eq(err, "");
    ck_assert_uint_ge(hg_catalog_count(catalog), 10);
    hg_catalog_free(catalog);
    hg_catalog_free(NULL);
}
END_TEST

START_TEST(catalog_required_types)
{
    static const char *const required[] = {
        "booking.created",   "booking.updated",      "booking.rescheduled",
        "booking.cancelled", "booking.completed",    "availability.updated",
        "customer.created",  "payment.succeeded",    "payment.failed",
        "booking.confirmed",
    };
    hg_catalog *catalog = load_catalog();

    for (size_t i = 0; i < COUNT(required); i++) {
        const hg_catalog_type *t = hg_catalog_find(catalog, required[i]);

        ck_assert_msg(t != NULL, "%s is missing", required[i]);
        ck_assert_str_eq(t->type, required[i]);
        ck_assert_msg(t->title[0] != '\0', "%s has no title", required[i]);
        ck_assert_msg(strlen(t->description) > 40, "%s: description too short",
                      required[i]);
    }
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_examples_validate)
{
    hg_catalog *catalog = load_catalog();

    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);
        char err[HG_SCHEMA_ERR_MAX];
        json_t *reparsed;

        ck_assert_msg(hg_schema_validate(t->compiled, t->example, err, sizeof(err)),
                      "%s: %s", t->type, err);
        ck_assert_msg(strchr(t->example_text, '\n') == NULL, "%s: not compact",
                      t->type);
        reparsed = json_loads(t->example_text, 0, NULL);
        ck_assert_msg(json_equal(reparsed, t->example),
                      "%s: example_text differs from example", t->type);
        json_decref(reparsed);
    }
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_schema_draft)
{
    hg_catalog *catalog = load_catalog();

    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);
        const char *draft = json_string_value(json_object_get(t->schema, "$schema"));

        ck_assert_msg(draft != NULL && strcmp(draft, DRAFT) == 0,
                      "%s: $schema is %s", t->type, draft);
    }
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_deprecated_sunset)
{
    hg_catalog *catalog = load_catalog();
    const hg_catalog_type *t = hg_catalog_find(catalog, "booking.confirmed");

    ck_assert_ptr_nonnull(t);
    ck_assert(t->deprecated);
    ck_assert_str_eq(t->sunset, "2027-06-30T00:00:00Z");
    ck_assert_int_eq(t->sunset_unix, 1814313600);
    ck_assert_str_eq(t->sunset_http, "Wed, 30 Jun 2027 00:00:00 GMT");
    ck_assert_msg(strstr(t->description, "booking.updated") != NULL,
                  "description names no replacement: %s", t->description);
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_sunset_only_deprecated)
{
    hg_catalog *catalog = load_catalog();
    size_t deprecated = 0;

    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);

        if (!t->deprecated) {
            ck_assert_msg(t->sunset == NULL, "%s has a sunset", t->type);
            ck_assert_msg(t->sunset_http == NULL, "%s has a sunset", t->type);
            continue;
        }
        deprecated++;
        ck_assert_msg(t->sunset != NULL, "%s has no sunset", t->type);
        ck_assert_msg(t->sunset_http != NULL, "%s has no sunset", t->type);
    }
    ck_assert_uint_ge(deprecated, 1);
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_find_and_order)
{
    hg_catalog *catalog = load_catalog();
    size_t count = hg_catalog_count(catalog);

    ck_assert_str_eq(hg_catalog_at(catalog, 0)->type, "booking.created");
    for (size_t i = 0; i < count; i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);

        ck_assert_ptr_eq(hg_catalog_find(catalog, t->type), t);
    }
    ck_assert_ptr_null(hg_catalog_at(catalog, count));
    ck_assert_ptr_null(hg_catalog_find(catalog, "booking.deleted"));
    ck_assert_ptr_null(hg_catalog_find(catalog, "booking"));
    ck_assert_ptr_null(hg_catalog_find(catalog, ""));
    hg_catalog_free(catalog);
}
END_TEST

/* Removing an essential field from an example must fail validation with the
 * matching message, which shows that the schemas require them. */
START_TEST(catalog_requires_essentials)
{
    static const struct {
        const char *type;
        const char *field;
    } cases[] = {
        {"booking.created", "customer_id"},   {"booking.created", "services"},
        {"booking.created", "start_at"},      {"booking.updated", "changed_fields"},
        {"booking.updated", "status"},        {"booking.rescheduled", "previous_start_at"},
        {"booking.cancelled", "cancelled_by"}, {"booking.cancelled", "location_id"},
        {"booking.completed", "completed_at"}, {"booking.confirmed", "confirmed_at"},
        {"availability.updated", "slots"},    {"customer.created", "email"},
        {"payment.succeeded", "amount"},      {"payment.failed", "failure_code"},
    };
    hg_catalog *catalog = load_catalog();

    for (size_t i = 0; i < COUNT(cases); i++) {
        const hg_catalog_type *t = hg_catalog_find(catalog, cases[i].type);
        json_t *example = json_deep_copy(t->example);
        char err[HG_SCHEMA_ERR_MAX], expected[HG_SCHEMA_ERR_MAX];

        ck_assert_int_eq(json_object_del(json_object_get(example, "data"),
                                         cases[i].field),
                         0);
        snprintf(expected, sizeof(expected),
                 "/data: missing required property \"%s\"", cases[i].field);
        ck_assert_msg(!hg_schema_validate(t->compiled, example, err, sizeof(err)),
                      "%s accepted without %s", cases[i].type, cases[i].field);
        ck_assert_str_eq(err, expected);
        json_decref(example);
    }
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_envelope_closed)
{
    hg_catalog *catalog = load_catalog();

    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);
        json_t *example = json_deep_copy(t->example);
        char err[HG_SCHEMA_ERR_MAX];

        json_object_set_new(json_object_get(example, "data"), "platform_extra",
                            json_true());
        ck_assert_msg(hg_schema_validate(t->compiled, example, err, sizeof(err)),
                      "%s: data is not open: %s", t->type, err);

        json_object_set_new(example, "extra", json_true());
        ck_assert_msg(!hg_schema_validate(t->compiled, example, err, sizeof(err)),
                      "%s: envelope accepts extra members", t->type);
        ck_assert_str_eq(err, "/extra: property is not allowed by additionalProperties");
        json_decref(example);
    }
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_schema_checks_type)
{
    hg_catalog *catalog = load_catalog();
    const hg_catalog_type *created = hg_catalog_find(catalog, "booking.created");
    const hg_catalog_type *updated = hg_catalog_find(catalog, "booking.updated");
    char err[HG_SCHEMA_ERR_MAX];

    ck_assert(!hg_schema_validate(updated->compiled, created->example, err,
                                  sizeof(err)));
    ck_assert_str_eq(err, "/type: expected \"booking.updated\", got "
                          "\"booking.created\"");
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(catalog_money_minor_units)
{
    hg_catalog *catalog = load_catalog();
    const hg_catalog_type *t = hg_catalog_find(catalog, "payment.succeeded");
    json_t *example = json_deep_copy(t->example);
    json_t *amount = json_object_get(json_object_get(example, "data"), "amount");
    char err[HG_SCHEMA_ERR_MAX];

    json_object_set_new(amount, "amount", json_real(240.5));
    ck_assert(!hg_schema_validate(t->compiled, example, err, sizeof(err)));
    ck_assert_str_eq(err, "/data/amount/amount: expected an integer, got a number");

    json_object_set_new(amount, "amount", json_integer(24000));
    json_object_set_new(amount, "currency", json_string("usd"));
    ck_assert(!hg_schema_validate(t->compiled, example, err, sizeof(err)));
    ck_assert_str_eq(err, "/data/amount/currency: expected a string matching the "
                          "pattern \"^[A-Z]{3}$\", got \"usd\"");
    json_decref(example);
    hg_catalog_free(catalog);
}
END_TEST

/* Validates every example, with one error case, many times over. Returns
 * NULL on success or a message for the first wrong result. */
static void *validate_repeatedly(void *arg)
{
    const hg_catalog *catalog = arg;
    const hg_catalog_type *payment = hg_catalog_find(catalog, "payment.failed");
    json_t *bad = json_deep_copy(payment->example);
    const char *result = NULL;

    json_object_set_new(json_object_get(bad, "data"), "failure_code",
                        json_string("stolen"));
    for (int round = 0; round < 200 && result == NULL; round++) {
        char err[HG_SCHEMA_ERR_MAX];

        for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
            const hg_catalog_type *t = hg_catalog_at(catalog, i);

            if (!hg_schema_validate(t->compiled, t->example, err, sizeof(err)))
                result = "an example failed validation";
        }
        if (hg_schema_validate(payment->compiled, bad, err, sizeof(err)) ||
            strncmp(err, "/data/failure_code: expected one of ", 36) != 0)
            result = "an invalid failure_code passed or got another error";
    }
    json_decref(bad);
    return (void *)result;
}

/* Threads share one loaded catalog without locking. */
START_TEST(catalog_threads_share)
{
    hg_catalog *catalog = load_catalog();
    pthread_t threads[8];

    for (size_t i = 0; i < COUNT(threads); i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, validate_repeatedly,
                                        catalog),
                         0);
    for (size_t i = 0; i < COUNT(threads); i++) {
        void *result;

        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_msg(result == NULL, "thread %zu: %s", i, (const char *)result);
    }
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(fixtures_ids_exist)
{
    hg_catalog *catalog = load_catalog();
    json_t *fixtures = load_json(FIXTURES_PATH);
    json_t *ids = fixture_ids(fixtures);

    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);

        ck_assert_msg(check_references(t->type, t->example, ids) > 0,
                      "%s: example references no fixture", t->type);
    }
    json_decref(ids);
    json_decref(fixtures);
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(fixtures_services_match)
{
    hg_catalog *catalog = load_catalog();
    json_t *fixtures = load_json(FIXTURES_PATH);
    json_t *ids = fixture_ids(fixtures);
    int lines = 0;

    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);

        lines += check_service_lines(t->type, t->example, ids);
    }
    ck_assert_int_ge(lines, 6);
    json_decref(ids);
    json_decref(fixtures);
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(fixtures_customer_matches)
{
    static const char *const fields[] = {
        "id", "business_id", "first_name", "last_name", "email", "phone", "address",
    };
    hg_catalog *catalog = load_catalog();
    json_t *fixtures = load_json(FIXTURES_PATH);
    json_t *ids = fixture_ids(fixtures);
    const hg_catalog_type *t = hg_catalog_find(catalog, "customer.created");
    const json_t *data = json_object_get(t->example, "data");
    const json_t *fixture =
        json_object_get(ids, json_string_value(json_object_get(data, "id")));

    ck_assert_ptr_nonnull(fixture);
    for (size_t i = 0; i < COUNT(fields); i++)
        ck_assert_msg(json_equal(json_object_get(data, fields[i]),
                                 json_object_get(fixture, fields[i])),
                      "customer.created: %s differs from the fixture", fields[i]);
    json_decref(ids);
    json_decref(fixtures);
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(fixtures_fictional_contacts)
{
    hg_catalog *catalog = load_catalog();
    json_t *fixtures = load_json(FIXTURES_PATH);

    check_contact_data("sandbox-fixtures.json", fixtures);
    for (size_t i = 0; i < hg_catalog_count(catalog); i++) {
        const hg_catalog_type *t = hg_catalog_at(catalog, i);

        check_contact_data(t->type, t->example);
    }
    json_decref(fixtures);
    hg_catalog_free(catalog);
}
END_TEST

START_TEST(broken_good_entry_loads)
{
    char err[HG_CATALOG_ERR_MAX];
    json_t *document = catalog_of(good_entry("a.b"), good_entry("a.c"));
    char *text = json_dumps(document, 0);

    ck_assert_msg(load_text(text, err, sizeof(err)), "%s", err);
    free(text);
    json_decref(document);
}
END_TEST

START_TEST(broken_duplicate_type)
{
    expect_rejected(catalog_of(good_entry("a.b"), good_entry("a.b")),
                    ": types[1] (a.b): duplicate type, types[0] defines it "
                    "already");
}
END_TEST

START_TEST(broken_example_mismatch)
{
    json_t *entry = good_entry("a.b");

    json_array_append_new(
        json_object_get(json_object_get(entry, "schema"), "required"),
        json_string("id"));
    expect_rejected(catalog_of(good_entry("a.a"), entry),
                    ": types[1] (a.b): the example does not validate against "
                    "the schema: (root): missing required property \"id\"");
}
END_TEST

START_TEST(broken_example_type)
{
    json_t *entry = good_entry("a.b");

    json_object_set_new(json_object_get(entry, "example"), "type",
                        json_string("a.c"));
    expect_rejected(catalog_of(entry, NULL),
                    ": types[0] (a.b): the example's \"type\" must be \"a.b\"");
}
END_TEST

START_TEST(broken_type_name)
{
    expect_rejected(catalog_of(good_entry("a.a"), good_entry("booking created")),
                    ": types[1] (booking created): invalid type name; a type is "
                    "1 to 128 characters of A-Z a-z 0-9 . _ -");
}
END_TEST

START_TEST(broken_type_missing)
{
    json_t *entry = good_entry("a.b");

    json_object_del(entry, "type");
    expect_rejected(catalog_of(entry, NULL),
                    ": types[0]: missing \"type\", a string");
}
END_TEST

START_TEST(broken_sunset)
{
    static const char *const sunsets[] = {
        "2027-06-31T00:00:00Z", "2027-06-30", "next year", "2027-06-30T00:00:00",
    };

    for (size_t i = 0; i < COUNT(sunsets); i++) {
        json_t *entry = good_entry("a.b");

        json_object_set_new(entry, "deprecated", json_true());
        json_object_set_new(entry, "sunset", json_string(sunsets[i]));
        expect_rejected(catalog_of(entry, NULL),
                        ": types[0] (a.b): invalid \"sunset\"; expected an RFC "
                        "3339 date-time");
    }
}
END_TEST

START_TEST(broken_sunset_type)
{
    json_t *entry = good_entry("a.b");

    json_object_set_new(entry, "deprecated", json_true());
    json_object_set_new(entry, "sunset", json_integer(1814313600));
    expect_rejected(catalog_of(entry, NULL),
                    ": types[0] (a.b): invalid \"sunset\"");
}
END_TEST

START_TEST(broken_sunset_not_deprecated)
{
    json_t *entry = good_entry("a.b");

    json_object_set_new(entry, "sunset", json_string("2027-06-30T00:00:00Z"));
    expect_rejected(catalog_of(entry, NULL),
                    ": types[0] (a.b): \"sunset\" is set but \"deprecated\" is "
                    "false");
}
END_TEST

START_TEST(broken_sunset_offset)
{
    char err[HG_CATALOG_ERR_MAX];
    char *path;
    hg_catalog *catalog;
    json_t *entry = good_entry("a.b");
    json_t *document = catalog_of(entry, NULL);
    char *text;

    json_object_set_new(entry, "deprecated", json_true());
    json_object_set_new(entry, "sunset", json_string("2027-06-30T02:30:00+02:00"));
    text = json_dumps(document, 0);
    path = write_temp(text);
    catalog = hg_catalog_load(path, err, sizeof(err));

    ck_assert_msg(catalog != NULL, "%s", err);
    ck_assert_str_eq(hg_catalog_find(catalog, "a.b")->sunset_http,
                     "Wed, 30 Jun 2027 00:30:00 GMT");
    hg_catalog_free(catalog);
    unlink(path);
    free(path);
    free(text);
    json_decref(document);
}
END_TEST

START_TEST(broken_schema)
{
    json_t *entry = good_entry("a.b");

    json_object_set_new(json_object_get(entry, "schema"), "requird",
                        json_pack("[s]", "id"));
    expect_rejected(catalog_of(entry, NULL),
                    ": types[0] (a.b): invalid schema: (root): unknown keyword "
                    "\"requird\"");
}
END_TEST

START_TEST(broken_entry_fields)
{
    static const struct {
        const char *member;
        const char *expected;
    } cases[] = {
        {"title", ": types[0] (a.b): missing \"title\", a non-empty string"},
        {"description",
         ": types[0] (a.b): missing \"description\", a non-empty string"},
        {"deprecated", ": types[0] (a.b): missing \"deprecated\", a boolean"},
        {"sunset",
         ": types[0] (a.b): missing \"sunset\", an RFC 3339 date-time or null"},
        {"schema", ": types[0] (a.b): missing \"schema\", an object"},
        {"example", ": types[0] (a.b): missing \"example\", an object"},
    };

    for (size_t i = 0; i < COUNT(cases); i++) {
        json_t *entry = good_entry("a.b");

        json_object_del(entry, cases[i].member);
        expect_rejected(catalog_of(entry, NULL), cases[i].expected);
    }
}
END_TEST

START_TEST(broken_unknown_member)
{
    json_t *entry = good_entry("a.b");

    json_object_set_new(entry, "sunet", json_null());
    expect_rejected(catalog_of(entry, NULL),
                    ": types[0] (a.b): unknown member \"sunet\"");
}
END_TEST

START_TEST(broken_entry_not_object)
{
    expect_rejected(catalog_of(good_entry("a.b"), json_string("a.c")),
                    ": types[1]: an entry must be an object");
}
END_TEST

START_TEST(broken_top_level)
{
    json_t *document = catalog_of(good_entry("a.b"), NULL);

    json_object_set_new(document, "version", json_integer(2));
    expect_rejected(document, ": \"version\" must be 1");

    document = catalog_of(good_entry("a.b"), NULL);
    json_object_set_new(document, "comment", json_string("x"));
    expect_rejected(document, ": unknown top-level member \"comment\"");

    expect_rejected(json_pack("{s:i}", "version", 1),
                    ": missing \"types\", an array of entries");
    expect_rejected(json_array(), ": the top-level value must be an object");
}
END_TEST

/* A message cut inside a multi-byte character must stay valid UTF-8, which
 * json_string() checks. */
START_TEST(broken_message_utf8)
{
    char long_type[2 * 150 + 1] = "";
    json_t *document;
    char *text, *path;

    for (int i = 0; i < 150; i++)
        strcat(long_type, "\xc3\xa9");
    document = catalog_of(good_entry(long_type), NULL);
    text = json_dumps(document, 0);
    path = write_temp(text);

    for (size_t size = 1; size < 400; size += 7) {
        char err[400];
        json_t *message;

        ck_assert_ptr_null(hg_catalog_load(path, err, size));
        ck_assert_msg(strlen(err) < size, "size %zu: %s", size, err);
        message = json_string(err);
        ck_assert_msg(message != NULL, "size %zu: invalid UTF-8 in \"%s\"", size,
                      err);
        json_decref(message);
    }
    unlink(path);
    free(path);
    free(text);
    json_decref(document);
}
END_TEST

START_TEST(broken_json)
{
    char err[HG_CATALOG_ERR_MAX];

    ck_assert(!load_text("{\"version\": 1, \"version\": 1, \"types\": []}", err,
                         sizeof(err)));
    ck_assert_msg(strstr(err, ": invalid JSON at line 1, column ") != NULL, "%s",
                  err);
    ck_assert_msg(strstr(err, "duplicate object key") != NULL, "%s", err);
    ck_assert(!load_text("{\"version\": 1,", err, sizeof(err)));
    ck_assert_msg(strstr(err, ": invalid JSON at line 1") != NULL, "%s", err);
}
END_TEST

START_TEST(broken_missing_file)
{
    char err[HG_CATALOG_ERR_MAX];

    ck_assert_ptr_null(hg_catalog_load("/nonexistent/event-types.json", err,
                                       sizeof(err)));
    ck_assert_msg(strncmp(err, "/nonexistent/event-types.json: unable to open",
                          45) == 0,
                  "%s", err);
}
END_TEST

/* The real catalog with a negative cancellation fee in one example. */
START_TEST(broken_real_example)
{
    json_t *document = load_json(CATALOG_PATH);
    json_t *types = json_object_get(document, "types");
    json_t *data = NULL;

    for (size_t i = 0; i < json_array_size(types); i++) {
        json_t *entry = json_array_get(types, i);

        if (strcmp(json_string_value(json_object_get(entry, "type")),
                   "booking.cancelled") == 0)
            data = json_object_get(json_object_get(entry, "example"), "data");
    }
    ck_assert_ptr_nonnull(data);
    json_object_set_new(data, "cancellation_fee",
                        json_pack("{s:i, s:s}", "amount", -1, "currency", "USD"));
    expect_rejected(document,
                    "(booking.cancelled): the example does not validate against "
                    "the schema: /data/cancellation_fee: matches none of the 2 "
                    "schemas in oneOf "
                    "(closest: schema 0, which fails with \"/data/"
                    "cancellation_fee/amount: expected a number >= 0, got -1\")");
}
END_TEST

static Suite *catalog_suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *catalog = tcase_create("catalog");
    TCase *fixtures = tcase_create("fixtures");
    TCase *broken = tcase_create("broken");

    tcase_add_test(catalog, catalog_loads);
    tcase_add_test(catalog, catalog_required_types);
    tcase_add_test(catalog, catalog_examples_validate);
    tcase_add_test(catalog, catalog_schema_draft);
    tcase_add_test(catalog, catalog_deprecated_sunset);
    tcase_add_test(catalog, catalog_sunset_only_deprecated);
    tcase_add_test(catalog, catalog_find_and_order);
    tcase_add_test(catalog, catalog_requires_essentials);
    tcase_add_test(catalog, catalog_envelope_closed);
    tcase_add_test(catalog, catalog_schema_checks_type);
    tcase_add_test(catalog, catalog_money_minor_units);
    tcase_add_test(catalog, catalog_threads_share);
    suite_add_tcase(s, catalog);

    tcase_add_test(fixtures, fixtures_ids_exist);
    tcase_add_test(fixtures, fixtures_services_match);
    tcase_add_test(fixtures, fixtures_customer_matches);
    tcase_add_test(fixtures, fixtures_fictional_contacts);
    suite_add_tcase(s, fixtures);

    tcase_add_test(broken, broken_good_entry_loads);
    tcase_add_test(broken, broken_duplicate_type);
    tcase_add_test(broken, broken_example_mismatch);
    tcase_add_test(broken, broken_example_type);
    tcase_add_test(broken, broken_type_name);
    tcase_add_test(broken, broken_type_missing);
    tcase_add_test(broken, broken_sunset);
    tcase_add_test(broken, broken_sunset_type);
    tcase_add_test(broken, broken_sunset_not_deprecated);
    tcase_add_test(broken, broken_sunset_offset);
    tcase_add_test(broken, broken_schema);
    tcase_add_test(broken, broken_entry_fields);
    tcase_add_test(broken, broken_unknown_member);
    tcase_add_test(broken, broken_entry_not_object);
    tcase_add_test(broken, broken_top_level);
    tcase_add_test(broken, broken_message_utf8);
    tcase_add_test(broken, broken_json);
    tcase_add_test(broken, broken_missing_file);
    tcase_add_test(broken, broken_real_example);
    suite_add_tcase(s, broken);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(catalog_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
