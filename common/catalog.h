/* SPDX-License-Identifier: MIT
 *
 * The event type catalog (catalog/event-types.json): for each event type a
 * title, a description, a deprecation state, a JSON Schema and an example
 * payload. Loading checks the whole file and rejects it on the first
 * problem, so a loaded catalog always has valid types, compiled schemas and
 * examples that match them.
 *
 * A loaded catalog is read-only: every function here only reads it, so
 * threads may share it without locking until hg_catalog_free(). That holds
 * for the jansson values too, as long as callers only read them (jansson
 * 2.14 documents read-only access from several threads as safe).
 */
#ifndef HG_CATALOG_H
#define HG_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/jsonschema.h"

/* The only "version" of the file format that hg_catalog_load() accepts. */
#define HG_CATALOG_VERSION 1

/* Suggested size of the err buffer of hg_catalog_load(). It fits most
 * messages in full, and a longer message is cut to the buffer size. */
#define HG_CATALOG_ERR_MAX 1024

/* One event type. Every pointer is owned by the catalog and stays valid until
 * hg_catalog_free(). */
typedef struct hg_catalog_type {
    const char *type;        /* such as "booking.created" */
    const char *title;       /* short, for listings */
    const char *description; /* one or more sentences */
    bool deprecated;
    /* When the type was deprecated, as written in the file (RFC 3339), or
     * NULL when the file has no date. Only a deprecated type has one. */
    const char *deprecated_at;
    /* The same instant in seconds since the Unix epoch, 0 without it; the
     * Deprecation header of RFC 9745 sends it as "@<seconds>". */
    int64_t deprecated_unix;
    /* Sunset instant as written in the file (RFC 3339), or NULL. Only a
     * deprecated type has one. */
    const char *sunset;
    /* The same instant in seconds since the Unix epoch, 0 without sunset. */
    int64_t sunset_unix;
    /* The same instant as an IMF-fixdate ("Wed, 30 Jun 2027 00:00:00 GMT"),
     * the value of the Sunset header of RFC 8594, or NULL without sunset. */
    const char *sunset_http;
    const hg_schema *compiled; /* compiled from schema */
    json_t *schema;            /* the JSON Schema, not to be modified */
    json_t *example;           /* an example payload, not to be modified */
    const char *example_text;  /* example as compact JSON, NUL-terminated */
} hg_catalog_type;

typedef struct hg_catalog hg_catalog;

/* Reads and checks the catalog file at path. The file is rejected when it is
 * not valid JSON (duplicate member names included) or when "version" is not
 * HG_CATALOG_VERSION. It is also rejected when an entry of "types" has:
 * - an invalid type name (see hg_event_type_valid()) or one that an earlier
 *   entry has,
 * - a schema that does not compile,
 * - an example that is not an object whose "type" is the entry's type, or
 *   that does not validate against the schema,
 * - a sunset that is neither an RFC 3339 date-time nor null, or a sunset on
 *   a type that is not deprecated,
 * - a deprecated_at (optional) that is neither an RFC 3339 date-time nor
 *   null, that is set on a type that is not deprecated, or that is later
 *   than the sunset,
 * - a missing member or one that the format does not define.
 * Returns NULL on failure and writes to err (errsz bytes) a message that
 * starts with path and names the entry, such as
 * "catalog/event-types.json: types[3] (booking.created): ...". Free the
 * result with hg_catalog_free(). */
hg_catalog *hg_catalog_load(const char *path, char *err, size_t errsz);

/* Frees a catalog and everything it owns. Accepts NULL. */
void hg_catalog_free(hg_catalog *catalog);

/* Returns the entry for type, or NULL when the catalog has none. */
const hg_catalog_type *hg_catalog_find(const hg_catalog *catalog,
                                       const char *type);

/* Returns the number of types. */
size_t hg_catalog_count(const hg_catalog *catalog);

/* Returns the type at index i in file order, or NULL when i is not below
 * hg_catalog_count(). */
const hg_catalog_type *hg_catalog_at(const hg_catalog *catalog, size_t i);

#endif
