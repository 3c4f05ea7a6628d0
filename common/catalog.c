/* SPDX-License-Identifier: MIT
 *
 * Loads catalog/event-types.json into an array of hg_catalog_type in file
 * order, plus an index sorted by type name for lookups. The entries borrow
 * their strings and values from the parsed document, which the catalog
 * keeps until it is freed.
 */
#include "common/catalog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/typefilter.h"

/* An IMF-fixdate such as "Wed, 30 Jun 2027 00:00:00 GMT" has 29 characters.
 * The buffer is larger because the compiler checks snprintf() against the
 * full range of the struct tm fields. */
#define HTTP_DATE_SIZE 80

struct hg_catalog {
    json_t *document;
    hg_catalog_type *types;
    size_t count;
    const hg_catalog_type **sorted; /* by type, for hg_catalog_find() */
};

/* The loading state, for messages that name the file and the entry. */
struct loader {
    const char *path;
    char *err;
    size_t errsz;
};

/* Drops a UTF-8 sequence that truncation cut in half at the end of s, so
 * that a message stays valid UTF-8 for JSON responses and logs. */
static void trim_partial_utf8(char *s)
{
    size_t len = strlen(s), start = len, need;
    unsigned char lead;

    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return;
    lead = (unsigned char)s[start - 1];
    if (lead < 0xC0)
        return;
    if (lead >= 0xF0)
        need = 4;
    else if (lead >= 0xE0)
        need = 3;
    else
        need = 2;
    if (len - (start - 1) < need)
        s[start - 1] = '\0';
}

__attribute__((format(printf, 2, 3))) static bool
load_fail(const struct loader *ld, const char *fmt, ...)
{
    char message[HG_CATALOG_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    trim_partial_utf8(message);
    if (ld->errsz > 0) {
        snprintf(ld->err, ld->errsz, "%s: %s", ld->path, message);
        trim_partial_utf8(ld->err);
    }
    return false;
}

/* Fails naming entry i by index, and by type once its type is known. */
__attribute__((format(printf, 4, 5))) static bool
entry_fail(const struct loader *ld, size_t i, const char *type,
           const char *fmt, ...)
{
    char message[HG_CATALOG_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    trim_partial_utf8(message);
    if (type != NULL)
        return load_fail(ld, "types[%zu] (%s): %s", i, type, message);
    return load_fail(ld, "types[%zu]: %s", i, message);
}

/* Formats unix_seconds as an IMF-fixdate (RFC 9110 section 5.6.7). Day and
 * month names are spelt out here because strftime() would localise them. */
static bool format_http_date(int64_t unix_seconds, char *out)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)unix_seconds;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return false;
    snprintf(out, HTTP_DATE_SIZE, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return true;
}

/* Rejects members that the entry format does not define, so that a misspelt
 * "sunset" or "deprecated" cannot be ignored silently. */
static bool check_entry_members(const struct loader *ld, size_t i,
                                const char *type, const json_t *entry)
{
    static const char *const known[] = {
        "type",          "title",  "description", "deprecated",
        "deprecated_at", "sunset", "schema",      "example",
    };
    const char *key;
    const json_t *value;

    json_object_foreach ((json_t *)entry, key, value) {
        bool found = false;

        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            found = found || strcmp(key, known[k]) == 0;
        if (!found)
            return entry_fail(ld, i, type,
                              "unknown member \"%s\"; an entry has type, "
                              "title, description, deprecated, "
                              "deprecated_at (optional), sunset, schema and "
                              "example",
                              key);
    }
    return true;
}

static bool read_type_name(const struct loader *ld, size_t i,
                           const json_t *entry, hg_catalog_type *t)
{
    const json_t *type = json_object_get(entry, "type");

    if (!json_is_string(type))
        return entry_fail(ld, i, NULL, "missing \"type\", a string");
    if (!hg_event_type_valid(json_string_value(type), json_string_length(type)))
        return entry_fail(ld, i, json_string_value(type),
                          "invalid type name; a type is 1 to %d characters of "
                          "A-Z a-z 0-9 . _ -",
                          HG_EVENT_TYPE_MAX);
    t->type = json_string_value(type);
    return true;
}

static bool read_text_fields(const struct loader *ld, size_t i,
                             const json_t *entry, hg_catalog_type *t)
{
    const json_t *title = json_object_get(entry, "title");
    const json_t *description = json_object_get(entry, "description");
    const json_t *deprecated = json_object_get(entry, "deprecated");

    if (!json_is_string(title) || json_string_length(title) == 0)
        return entry_fail(ld, i, t->type, "missing \"title\", a non-empty string");
    if (!json_is_string(description) || json_string_length(description) == 0)
        return entry_fail(ld, i, t->type,
                          "missing \"description\", a non-empty string");
    if (!json_is_boolean(deprecated))
        return entry_fail(ld, i, t->type, "missing \"deprecated\", a boolean");

    t->title = json_string_value(title);
    t->description = json_string_value(description);
    t->deprecated = json_is_true(deprecated);
    return true;
}

static bool read_sunset(const struct loader *ld, size_t i, const json_t *entry,
                        hg_catalog_type *t)
{
    const json_t *sunset = json_object_get(entry, "sunset");
    char http_date[HTTP_DATE_SIZE];

    if (sunset == NULL)
        return entry_fail(ld, i, t->type,
                          "missing \"sunset\", an RFC 3339 date-time or null");
    if (json_is_null(sunset))
        return true;
    if (!json_is_string(sunset) ||
        !hg_schema_parse_date_time(json_string_value(sunset),
                                   json_string_length(sunset), &t->sunset_unix) ||
        !format_http_date(t->sunset_unix, http_date))
        return entry_fail(ld, i, t->type,
                          "invalid \"sunset\"; expected an RFC 3339 date-time "
                          "such as \"2027-06-30T00:00:00Z\" (years 0000 to 9999 "
                          "in UTC) or null");
    if (!t->deprecated)
        return entry_fail(ld, i, t->type,
                          "\"sunset\" is set but \"deprecated\" is false; "
                          "deprecate the type or set \"sunset\" to null");

    t->sunset = json_string_value(sunset);
    t->sunset_http = strdup(http_date);
    if (t->sunset_http == NULL)
        return entry_fail(ld, i, t->type, "out of memory");
    return true;
}

/* Reads the optional "deprecated_at"; runs after read_sunset(). */
static bool read_deprecated_at(const struct loader *ld, size_t i,
                               const json_t *entry, hg_catalog_type *t)
{
    const json_t *at = json_object_get(entry, "deprecated_at");

    if (at == NULL || json_is_null(at))
        return true;
    if (!json_is_string(at) ||
        !hg_schema_parse_date_time(json_string_value(at),
                                   json_string_length(at), &t->deprecated_unix))
        return entry_fail(ld, i, t->type,
                          "invalid \"deprecated_at\"; expected an RFC 3339 "
                          "date-time such as \"2026-12-04T00:00:00Z\" or "
                          "null");
    if (!t->deprecated)
        return entry_fail(ld, i, t->type,
                          "\"deprecated_at\" is set but \"deprecated\" is "
                          "false; deprecate the type or remove "
                          "\"deprecated_at\"");
    if (t->sunset != NULL && t->deprecated_unix > t->sunset_unix)
        return entry_fail(ld, i, t->type,
                          "\"deprecated_at\" is later than \"sunset\"");
    t->deprecated_at = json_string_value(at);
    return true;
}

static bool read_schema(const struct loader *ld, size_t i, const json_t *entry,
                        hg_catalog_type *t)
{
    char message[HG_SCHEMA_ERR_MAX];
    json_t *schema = json_object_get(entry, "schema");

    if (!json_is_object(schema))
        return entry_fail(ld, i, t->type, "missing \"schema\", an object");
    t->compiled = hg_schema_compile(schema, message, sizeof(message));
    if (t->compiled == NULL)
        return entry_fail(ld, i, t->type, "invalid schema: %s", message);
    t->schema = schema;
    return true;
}

static bool read_example(const struct loader *ld, size_t i,
                         const json_t *entry, hg_catalog_type *t)
{
    char message[HG_SCHEMA_ERR_MAX];
    json_t *example = json_object_get(entry, "example");
    const char *example_type;

    if (!json_is_object(example))
        return entry_fail(ld, i, t->type, "missing \"example\", an object");
    example_type = json_string_value(json_object_get(example, "type"));
    if (example_type == NULL || strcmp(example_type, t->type) != 0)
        return entry_fail(ld, i, t->type,
                          "the example's \"type\" must be \"%s\"", t->type);
    if (!hg_schema_validate(t->compiled, example, message, sizeof(message)))
        return entry_fail(ld, i, t->type,
                          "the example does not validate against the schema: "
                          "%s",
                          message);

    t->example = example;
    t->example_text = json_dumps(example, JSON_COMPACT);
    if (t->example_text == NULL)
        return entry_fail(ld, i, t->type, "out of memory");
    return true;
}

static bool read_entry(const struct loader *ld, size_t i, const json_t *entry,
                       hg_catalog_type *t)
{
    if (!json_is_object(entry))
        return entry_fail(ld, i, NULL, "an entry must be an object");
    return read_type_name(ld, i, entry, t) &&
           check_entry_members(ld, i, t->type, entry) &&
           read_text_fields(ld, i, entry, t) && read_sunset(ld, i, entry, t) &&
           read_deprecated_at(ld, i, entry, t) &&
           read_schema(ld, i, entry, t) && read_example(ld, i, entry, t);
}

/* Orders by type name, then by position in the file, so that the first of two
 * duplicates sorts first. */
static int compare_types(const void *a, const void *b)
{
    const hg_catalog_type *x = *(const hg_catalog_type *const *)a;
    const hg_catalog_type *y = *(const hg_catalog_type *const *)b;
    int order = strcmp(x->type, y->type);

    if (order != 0)
        return order;
    return x < y ? -1 : x > y;
}

static bool build_index(const struct loader *ld, hg_catalog *catalog)
{
    catalog->sorted = calloc(catalog->count + 1, sizeof(*catalog->sorted));
    if (catalog->sorted == NULL)
        return load_fail(ld, "out of memory");
    for (size_t i = 0; i < catalog->count; i++)
        catalog->sorted[i] = &catalog->types[i];
    qsort(catalog->sorted, catalog->count, sizeof(*catalog->sorted),
          compare_types);

    for (size_t i = 1; i < catalog->count; i++) {
        const hg_catalog_type *first = catalog->sorted[i - 1];
        const hg_catalog_type *again = catalog->sorted[i];

        if (strcmp(first->type, again->type) == 0)
            return entry_fail(ld, (size_t)(again - catalog->types), again->type,
                              "duplicate type, types[%zu] defines it already",
                              (size_t)(first - catalog->types));
    }
    return true;
}

static bool check_top_level(const struct loader *ld, const json_t *document)
{
    const char *key;
    const json_t *value;
    const json_t *version = json_object_get(document, "version");

    if (!json_is_object(document))
        return load_fail(ld, "the top-level value must be an object");
    if (!json_is_integer(version) ||
        json_integer_value(version) != HG_CATALOG_VERSION)
        return load_fail(ld, "\"version\" must be %d", HG_CATALOG_VERSION);
    if (!json_is_array(json_object_get(document, "types")))
        return load_fail(ld, "missing \"types\", an array of entries");
    json_object_foreach ((json_t *)document, key, value) {
        if (strcmp(key, "version") != 0 && strcmp(key, "types") != 0)
            return load_fail(ld,
                             "unknown top-level member \"%s\"; the file has "
                             "only version and types",
                             key);
    }
    return true;
}

static bool load_entries(const struct loader *ld, hg_catalog *catalog)
{
    const json_t *types = json_object_get(catalog->document, "types");
    size_t count = json_array_size(types);

    catalog->types = calloc(count + 1, sizeof(*catalog->types));
    if (catalog->types == NULL)
        return load_fail(ld, "out of memory");
    for (size_t i = 0; i < count; i++) {
        /* Count first, so hg_catalog_free() releases a partial entry. */
        catalog->count = i + 1;
        if (!read_entry(ld, i, json_array_get(types, i), &catalog->types[i]))
            return false;
    }
    return build_index(ld, catalog);
}

hg_catalog *hg_catalog_load(const char *path, char *err, size_t errsz)
{
    struct loader ld = {.path = path, .err = err, .errsz = errsz};
    json_error_t jerr;
    hg_catalog *catalog;

    if (errsz > 0)
        err[0] = '\0';
    catalog = calloc(1, sizeof(*catalog));
    if (catalog == NULL) {
        load_fail(&ld, "out of memory");
        return NULL;
    }

    catalog->document = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (catalog->document == NULL) {
        if (json_error_code(&jerr) == json_error_cannot_open_file)
            load_fail(&ld, "%s", jerr.text);
        else
            load_fail(&ld, "invalid JSON at line %d, column %d: %s", jerr.line,
                      jerr.column, jerr.text);
        hg_catalog_free(catalog);
        return NULL;
    }

    if (!check_top_level(&ld, catalog->document) ||
        !load_entries(&ld, catalog)) {
        hg_catalog_free(catalog);
        return NULL;
    }
    return catalog;
}

void hg_catalog_free(hg_catalog *catalog)
{
    if (catalog == NULL)
        return;
    for (size_t i = 0; i < catalog->count; i++) {
        hg_catalog_type *t = &catalog->types[i];

        hg_schema_free((hg_schema *)t->compiled);
        free((char *)t->sunset_http);
        free((char *)t->example_text);
    }
    free(catalog->sorted);
    free(catalog->types);
    json_decref(catalog->document);
    free(catalog);
}

static int compare_key(const void *key, const void *element)
{
    const hg_catalog_type *t = *(const hg_catalog_type *const *)element;

    return strcmp(key, t->type);
}

const hg_catalog_type *hg_catalog_find(const hg_catalog *catalog,
                                       const char *type)
{
    const hg_catalog_type *const *found =
        bsearch(type, catalog->sorted, catalog->count,
                sizeof(*catalog->sorted), compare_key);

    return found != NULL ? *found : NULL;
}

size_t hg_catalog_count(const hg_catalog *catalog)
{
    return catalog->count;
}

const hg_catalog_type *hg_catalog_at(const hg_catalog *catalog, size_t i)
{
    return i < catalog->count ? &catalog->types[i] : NULL;
}
