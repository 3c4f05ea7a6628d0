/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the JSON Schema validator on the path of a published event: the
 * body is parsed with the flags the gateway uses and validated against the
 * schemas of catalog/event-types.json. Inputs whose first byte is a
 * multiple of 4 are compiled as a schema instead and validated against
 * themselves, which exercises hg_schema_compile() on hostile schemas
 * without regular expressions.
 * Strings are also read as RFC 3339 date-times, whose instant must survive
 * a round trip through its canonical form.
 */
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "common/jsonschema.h"
#include "fuzz.h"

#define CATALOG_SCHEMAS_MAX 64

static hg_schema *catalog_schemas[CATALOG_SCHEMAS_MAX];
static int catalog_count;

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Compiles every schema of the catalog once. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_error_t error;
    json_t *catalog = json_load_file(HOOKGATE_SOURCE_DIR
                                     "/catalog/event-types.json",
                                     0, &error);
    size_t i;
    json_t *entry;

    (void)argc;
    (void)argv;
    if (catalog == NULL) {
        fprintf(stderr, "cannot read the catalog: %s\n", error.text);
        abort();
    }
    json_array_foreach(json_object_get(catalog, "types"), i, entry) {
        char err[HG_SCHEMA_ERR_MAX];
        hg_schema *schema;

        if (catalog_count == CATALOG_SCHEMAS_MAX)
            break;
        schema = hg_schema_compile(json_object_get(entry, "schema"), err,
                                   sizeof(err));
        if (schema == NULL) {
            fprintf(stderr, "catalog schema %zu: %s\n", i, err);
            abort();
        }
        catalog_schemas[catalog_count++] = schema;
    }
    json_decref(catalog);
    FUZZ_CHECK(catalog_count > 0);
    return 0;
}

/* Parses an untrusted body as the gateway does (see jsonschema.h). */
static json_t *parse_body(const uint8_t *data, size_t size)
{
    size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_error_t error;
    json_t *value = json_loadb((const char *)data, size, flags, &error);

    if (value == NULL && json_error_code(&error) == json_error_numeric_overflow)
        value = json_loadb((const char *)data, size,
                           flags | JSON_DECODE_INT_AS_REAL, &error);
    return value;
}

/* Validates twice: the documented fixed order of checks means the same
 * verdict and the same first error each time. */
static void validate_twice(const hg_schema *schema, const json_t *instance)
{
    char first[HG_SCHEMA_ERR_MAX] = "", second[HG_SCHEMA_ERR_MAX] = "";
    bool ok = hg_schema_validate(schema, instance, first, sizeof(first));

    FUZZ_CHECK(hg_schema_validate(schema, instance, second, sizeof(second)) ==
               ok);
    if (ok)
        return;
    FUZZ_CHECK(strcmp(first, second) == 0);
    FUZZ_CHECK(first[0] == '/' || strncmp(first, "(root)", 6) == 0);
}

/* An accepted date-time, written back as "YYYY-MM-DDTHH:MM:SSZ", must
 * parse to the same instant. */
static void check_date_time(const json_t *value)
{
    const char *text = json_string_value(value);
    int64_t seconds, again;
    time_t t;
    struct tm tm;
    char canonical[64];

    if (text == NULL ||
        !hg_schema_parse_date_time(text, json_string_length(value), &seconds))
        return;
    t = (time_t)seconds;
    FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
    /* A numeric offset can move a year-0000 or year-9999 instant outside
     * the four-digit years that RFC 3339 can write. */
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return;
    strftime(canonical, sizeof(canonical), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (tm.tm_year + 1900 < 1000)
        snprintf(canonical, sizeof(canonical), "%04d-%02d-%02dT%02d:%02d:%02dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
    FUZZ_CHECK(hg_schema_parse_date_time(canonical, strlen(canonical), &again));
    FUZZ_CHECK(again == seconds);
}

/* Returns true when any object inside value has a "pattern" or
 * "patternProperties" member. */
static bool has_pattern_keyword(const json_t *value)
{
    const char *name;
    json_t *member;
    size_t i;

    json_object_foreach((json_t *)value, name, member) {
        if (strcmp(name, "pattern") == 0 ||
            strcmp(name, "patternProperties") == 0 ||
            has_pattern_keyword(member))
            return true;
    }
    json_array_foreach(value, i, member) {
        if (has_pattern_keyword(member))
            return true;
    }
    return false;
}

/* Visits the strings of a value, a few levels deep. */
static void check_strings(const json_t *value, int depth)
{
    const char *name;
    json_t *member;
    size_t i;

    if (depth > 8)
        return;
    if (json_is_string(value))
        check_date_time(value);
    json_object_foreach((json_t *)value, name, member)
        check_strings(member, depth + 1);
    json_array_foreach(value, i, member)
        check_strings(member, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *value;

    if (size < 1)
        return 0;
    value = parse_body(data + 1, size - 1);
    if (value == NULL)
        return 0;

    /* NOTE: glibc's regcomp() can take gigabytes for stacked or nested
     * repetition such as "l+++...+" (found by this target). Schemas come
     * only from the operator's catalog file, so fuzzed schemas leave out
     * the regular expression keywords; instances still meet the catalog's
     * patterns. */
    if (data[0] % 4 == 0 && !has_pattern_keyword(value)) {
        char err[HG_SCHEMA_ERR_MAX] = "";
        hg_schema *schema = hg_schema_compile(value, err, sizeof(err));

        if (schema == NULL)
            FUZZ_CHECK(err[0] != '\0');
        else
            validate_twice(schema, value);
        hg_schema_free(schema);
    } else if (data[0] % 4 != 0) {
        validate_twice(catalog_schemas[data[0] % catalog_count], value);
    }
    check_strings(value, 0);
    json_decref(value);
    return 0;
}
