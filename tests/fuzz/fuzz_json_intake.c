/* SPDX-License-Identifier: MIT
 *
 * Fuzzes hg_json_intake(), the one-pass check of a published event body,
 * against jansson as a second JSON parser: every text that jansson accepts
 * must not be called malformed, and the extracted "type" must be the one
 * jansson reads.
 */
#include <jansson.h>
#include <stdbool.h>

#include "common/json_intake.h"
#include "fuzz.h"

/* Checks what jansson's reading of the same bytes implies. jansson rejects
 * some texts that RFC 8259 allows (lone surrogate escapes, "\u0000" in a
 * member name, numbers beyond a double), so only its acceptance is used. */
static void compare_with_jansson(const uint8_t *data, size_t size,
                                 hg_json_intake_result res,
                                 const hg_json_intake_info *info)
{
    json_error_t error;
    json_t *value = json_loadb((const char *)data, size,
                               JSON_DECODE_ANY | JSON_ALLOW_NUL |
                                   JSON_DECODE_INT_AS_REAL,
                               &error);
    const json_t *type;
    json_t *strict;
    bool duplicates;

    /* jansson 2.14 accepts a top-level number followed by a NUL byte
     * ("22\0"), which is not JSON, so texts with a raw NUL are left out. */
    if (value == NULL || memchr(data, '\0', size) != NULL) {
        json_decref(value);
        return;
    }
    /* jansson keeps the last of repeated members, while hg_json_intake()
     * reports the first type error, so with repeats a type error may come
     * from a member that jansson dropped. */
    strict = json_loadb((const char *)data, size,
                        JSON_DECODE_ANY | JSON_ALLOW_NUL |
                            JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES,
                        &error);
    duplicates = strict == NULL;
    json_decref(strict);
    FUZZ_CHECK(res != HG_JSON_MALFORMED);
    if (res == HG_JSON_OK)
        FUZZ_CHECK(json_is_object(value));
    if (res == HG_JSON_NOT_OBJECT)
        FUZZ_CHECK(!json_is_object(value));

    type = json_object_get(value, "type");
    if (res == HG_JSON_OK && type != NULL)
        FUZZ_CHECK(json_is_string(type) &&
                   strcmp(json_string_value(type), info->type) == 0);
    if (res == HG_JSON_OK && type == NULL)
        FUZZ_CHECK(info->type[0] == '\0');
    if (res == HG_JSON_TYPE_NOT_STRING)
        FUZZ_CHECK(type != NULL && (duplicates || !json_is_string(type)));
    json_decref(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_json_intake_info info;
    hg_json_intake_result res;
    /* A copy of exactly size bytes, so a read past the end is reported. */
    char *body = size > 0 ? malloc(size) : NULL;

    if (size > 0)
        memcpy(body, data, size);
    memset(&info, 'x', sizeof(info));
    res = hg_json_intake(body, size, HG_JSON_DEFAULT_MAX_DEPTH, &info);

    FUZZ_CHECK(res >= HG_JSON_OK && res <= HG_JSON_TYPE_INVALID);
    FUZZ_CHECK((res == HG_JSON_OK) == (info.error == NULL));
    FUZZ_CHECK(info.error_offset <= size);
    FUZZ_CHECK(memchr(info.type, '\0', sizeof(info.type)) != NULL);
    if (res == HG_JSON_OK && info.type[0] != '\0')
        FUZZ_CHECK(hg_event_type_valid(info.type, strlen(info.type)));

    compare_with_jansson(data, size, res, &info);
    free(body);
    return 0;
}
