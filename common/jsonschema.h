/* SPDX-License-Identifier: MIT
 *
 * A JSON Schema (draft 2020-12) validator for a documented subset of the
 * keywords, on jansson values. A schema is compiled once, which rejects any
 * keyword outside the subset and precompiles regular expressions, and the
 * compiled schema then validates instances and reports the first error with
 * the JSON Pointer of the failing location.
 *
 * Supported keywords: type, enum, const, properties, required,
 * additionalProperties, patternProperties, items, prefixItems, minItems,
 * maxItems, uniqueItems, minLength, maxLength, pattern, minimum, maximum,
 * exclusiveMinimum, exclusiveMaximum, multipleOf, format, oneOf, anyOf,
 * allOf, not, $defs (at the root only), $ref (only "#/$defs/name"),
 * minProperties and maxProperties. The annotations $schema, $id, title,
 * description, examples, default, $comment and deprecated are accepted and
 * ignored, except that $schema must name draft 2020-12. Every other keyword
 * is a compile error, so a misspelt keyword cannot silently pass.
 *
 * Semantics that differ from a full implementation:
 * - "pattern" and "patternProperties" use POSIX extended regular expressions
 *   (regcomp with REG_EXTENDED | REG_NOSUB), not ECMA-262. The ECMA-262
 *   class escapes \d \D \w \W \s \S are compile errors; write [0-9],
 *   [[:alnum:]_] or [[:space:]] instead. Lookaround and (?:...) fail to
 *   compile. Matching is unanchored, as in JSON Schema. Patterns are
 *   compiled and run under the C.UTF-8 LC_CTYPE locale, switched per thread
 *   with uselocale(), so "." and bracket expressions match code points
 *   whatever the process locale is. Where the C library has no C.UTF-8
 *   locale, the thread's current locale applies, which matches bytes in the
 *   "C" locale.
 * - "minLength" and "maxLength" count Unicode code points.
 * - "format" checks five formats, and other formats are annotations that
 *   always pass. date-time is RFC 3339 section 5.6 and date is its
 *   full-date. email is a dot-atom local part and a host name, so quoted
 *   local parts, IP literals and non-ASCII addresses fail. uri is an
 *   absolute URI: a scheme, ":" and RFC 3986 characters with valid percent
 *   escapes, without a check of the structure after the scheme. uuid is
 *   8-4-4-4-12 hexadecimal digits.
 * - Numbers compare by value, so 1 and 1.0 are equal for enum, const and
 *   uniqueItems, and "integer" matches JSON integers and reals with a zero
 *   fractional part. "multipleOf" divides the shortest decimal forms of the
 *   two numbers exactly, so 0.3 is a multiple of 0.1.
 *
 * Parsing instances: jansson's default json_loads() fails on an integer
 * outside the int64 range ("too big integer"). Parse untrusted bodies with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, and when the error code is
 * json_error_numeric_overflow parse again with JSON_DECODE_INT_AS_REAL
 * added. That flag turns every integer into a double, so integers beyond
 * 2^53 lose precision in minimum, maximum, multipleOf, enum and const, but
 * still match "integer". JSON_REJECT_DUPLICATES rejects duplicate member
 * names, which parsers resolve differently (the first or the last wins), so
 * a receiver could otherwise use a member that was never validated.
 * JSON_ALLOW_NUL admits "\u0000" in string values, which the validator
 * handles by length (jansson 2.14 always rejects NUL in member names).
 *
 * A compiled schema is immutable, so several threads may validate with it at
 * the same time.
 */
#ifndef HG_JSONSCHEMA_H
#define HG_JSONSCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maximum nesting of arrays and objects in an instance, where a top-level
 * array or object is level 1. A deeper instance is invalid. */
#define HG_SCHEMA_MAX_DEPTH 256
/* Maximum nesting of subschemas in a schema document, checked at compile. */
#define HG_SCHEMA_MAX_SCHEMA_DEPTH 64
/* Maximum number of $ref followed one after another at a single instance
 * location. Only a $ref cycle that never descends into the instance reaches
 * it, and validation then fails instead of recursing without end. */
#define HG_SCHEMA_MAX_REF_CHAIN 32
/* Maximum number of subschemas applied one inside another while validating,
 * which bounds the stack that one validation uses. */
#define HG_SCHEMA_MAX_EVAL_DEPTH 2048

/* Suggested size of err. It fits most messages in full, and a longer
 * message is cut to the buffer size. */
#define HG_SCHEMA_ERR_MAX 512

typedef struct hg_schema hg_schema;

/* Compiles schema (an object or a boolean). The caller keeps ownership of
 * schema: the compiled form keeps its own deep copy. Returns NULL on failure
 * and writes to err (errsz bytes, may be 0) a sentence that starts with the
 * JSON Pointer of the failing subschema, such as
 * "/properties/id: unknown keyword \"patern\"". Also returns NULL with
 * "out of memory" when allocation fails. Free the result with
 * hg_schema_free(). */
hg_schema *hg_schema_compile(const json_t *schema, char *err, size_t errsz);

/* Frees a compiled schema. Accepts NULL. */
void hg_schema_free(hg_schema *schema);

/* Validates instance against schema. Returns true when it is valid. When it
 * is not, writes to err (errsz bytes, may be 0) the first error found, as
 * the JSON Pointer of the instance location, ": " and a sentence, such as
 * "/data/services/0/price/amount: expected an integer, got a string". The
 * root location is written as "(root)" because its pointer is the empty
 * string. When anyOf or oneOf matches nothing, the message adds the error of
 * the subschema that failed deepest in the instance.
 *
 * The order of checks is fixed, so an instance always gets the same error.
 * type, enum and const come first, then the keywords for the instance's JSON
 * type, then $ref, allOf, anyOf, oneOf and not. In an object, required comes
 * before properties, which are checked in schema order, and other members
 * follow in instance order.
 *
 * An instance nested deeper than HG_SCHEMA_MAX_DEPTH, a NULL instance and a
 * validation stopped by HG_SCHEMA_MAX_REF_CHAIN or HG_SCHEMA_MAX_EVAL_DEPTH
 * are invalid. Never modifies instance. */
bool hg_schema_validate(const hg_schema *schema, const json_t *instance,
                        char *err, size_t errsz);

/* Parses an RFC 3339 date-time (section 5.6, with "T"/"t", "Z"/"z" or a
 * numeric offset, and optional fractional seconds) of exactly len bytes.
 * Returns false when s is not one. Otherwise stores in *unix_seconds (may be
 * NULL) the instant in seconds since the Unix epoch, with fractional seconds
 * truncated and a leap second (":60") counted as second 59 of its minute. This
 * is the check behind format "date-time". */
bool hg_schema_parse_date_time(const char *s, size_t len,
                               int64_t *unix_seconds);

#endif
