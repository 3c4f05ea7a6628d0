/* SPDX-License-Identifier: MIT
 *
 * Fuzzes hg_attempt_unpack() (common/attempt_codec.c), the reader of the
 * attempt records that the worker stores in Redis. Records come from
 * hookgate's own worker, but Redis is shared state, so a damaged record
 * must not crash the gateway or the inspector. The input is read three
 * ways:
 * - as a stored record, which must unpack to an object or be rejected;
 * - as the deflated part of a "z1:<n>:" record, which must be rejected or
 *   give an object whose first member is "attempt" with the value n;
 * - as the text of one string member, which must come back unchanged
 *   after hg_attempt_pack() and hg_attempt_unpack().
 */
#include <stdbool.h>

#include "common/attempt_codec.h"
#include "fuzz.h"

static hg_attempt_packer *packer;

static void check_first_member(const json_t *o, json_int_t number)
{
    void *it = json_object_iter((json_t *)o);

    FUZZ_CHECK(it != NULL);
    FUZZ_CHECK(strcmp(json_object_iter_key(it), "attempt") == 0);
    FUZZ_CHECK(json_integer_value(json_object_iter_value(it)) == number);
}

static void check_stored(const uint8_t *data, size_t size)
{
    json_t *o = hg_attempt_unpack((const char *)data, size);

    FUZZ_CHECK(o == NULL || json_is_object(o));
    json_decref(o);
}

static void check_packed_blob(const uint8_t *data, size_t size)
{
    char *record = malloc(size + 8);
    json_t *o;

    FUZZ_CHECK(record != NULL);
    memcpy(record, "z1:42:", 6);
    if (size > 0)
        memcpy(record + 6, data, size);
    o = hg_attempt_unpack(record, size + 6);
    if (o != NULL)
        check_first_member(o, 42);
    json_decref(o);
    free(record);
}

static void check_round_trip(const uint8_t *data, size_t size)
{
    json_t *want = json_pack("{s:s%}", "value", (const char *)data, size);
    char *text, *record;
    unsigned char *blob;
    size_t blob_len;
    json_t *got;

    /* jansson rejects text that is not UTF-8. */
    if (want == NULL)
        return;
    text = json_dumps(want, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    blob = hg_attempt_pack(packer, text, strlen(text), &blob_len);
    FUZZ_CHECK(blob != NULL);
    record = malloc(blob_len + 8);
    FUZZ_CHECK(record != NULL);
    memcpy(record, "z1:3:", 5);
    memcpy(record + 5, blob, blob_len);
    got = hg_attempt_unpack(record, blob_len + 5);
    FUZZ_CHECK(got != NULL);
    check_first_member(got, 3);
    FUZZ_CHECK(json_equal(json_object_get(got, "value"),
                          json_object_get(want, "value")));
    FUZZ_CHECK(json_object_size(got) == 2);
    json_decref(got);
    free(record);
    free(blob);
    free(text);
    json_decref(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (packer == NULL)
        packer = hg_attempt_packer_new();
    FUZZ_CHECK(packer != NULL);
    check_stored(data, size);
    check_packed_blob(data, size);
    check_round_trip(data, size);
    return 0;
}
