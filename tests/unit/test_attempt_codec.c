/* SPDX-License-Identifier: MIT */

#include "common/attempt_codec.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* A record as the worker writes it for a successful attempt. */
static const char sample[] =
    "{\"started_at\":\"2026-12-05T10:51:47.644Z\",\"duration_ms\":17,"
    "\"http_status\":200,\"error_class\":null,\"error_message\":null,"
    "\"manual\":false,\"url\":\"http://127.0.0.1:18090/hook\","
    "\"request_headers\":{\"content-type\":\"application/json\","
    "\"user-agent\":\"hookgate/0.1.0\",\"webhook-id\":"
    "\"evt_01M92X9PZX4YDFM61QEJKXNKV9\",\"webhook-timestamp\":"
    "\"1796467907\",\"webhook-signature\":"
    "\"v1,k5S13/fYNwSL4LcuQHlcApEGWa6Gl4hRncpHZtg/6Lc=\",\"traceparent\":"
    "\"00-fbcf5b622d21828e23d801fd6067514b-eddd85df58ee3b69-01\"},"
    "\"response_headers\":{\"content-length\":\"0\",\"date\":"
    "\"Sat, 05 Dec 2026 10:51:47 GMT\",\"connection\":\"keep-alive\","
    "\"keep-alive\":\"timeout=60\"},\"response_body\":\"\","
    "\"response_truncated\":false,\"response_complete\":true}";

/* Returns "z1:<number>:" followed by the packed sample, as
 * record_attempt.lua stores it; *len receives its length. */
static char *stored_record(hg_attempt_packer *p, int number, size_t *len)
{
    size_t packed_len;
    unsigned char *packed =
        hg_attempt_pack(p, sample, strlen(sample), &packed_len);
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "z1:%d:", number);
    char *record;

    ck_assert_ptr_nonnull(packed);
    record = malloc((size_t)n + packed_len);
    ck_assert_ptr_nonnull(record);
    memcpy(record, prefix, (size_t)n);
    memcpy(record + n, packed, packed_len);
    free(packed);
    *len = (size_t)n + packed_len;
    return record;
}

START_TEST(pack_round_trip)
{
    hg_attempt_packer *p = hg_attempt_packer_new();
    size_t len;
    char *record = stored_record(p, 3, &len);
    json_t *got = hg_attempt_unpack(record, len);
    json_t *want = json_loads(sample, 0, NULL);

    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(json_integer_value(json_object_get(got, "attempt")), 3);
    json_object_del(got, "attempt");
    ck_assert_msg(json_equal(got, want), "unpacked record differs");
    json_decref(got);
    json_decref(want);
    free(record);
    hg_attempt_packer_free(p);
}
END_TEST

START_TEST(pack_attempt_member_first)
{
    hg_attempt_packer *p = hg_attempt_packer_new();
    size_t len;
    char *record = stored_record(p, 12, &len);
    json_t *got = hg_attempt_unpack(record, len);
    void *iter = json_object_iter(got);

    ck_assert_ptr_nonnull(iter);
    ck_assert_str_eq(json_object_iter_key(iter), "attempt");
    ck_assert_int_eq(json_integer_value(json_object_iter_value(iter)), 12);
    json_decref(got);
    free(record);
    hg_attempt_packer_free(p);
}
END_TEST

/* The dictionary is what makes small records small: without it, deflate
 * saves about a third of this sample. */
START_TEST(pack_under_half)
{
    hg_attempt_packer *p = hg_attempt_packer_new();
    size_t len;
    unsigned char *packed = hg_attempt_pack(p, sample, strlen(sample), &len);

    ck_assert_ptr_nonnull(packed);
    ck_assert_msg(len * 2 < strlen(sample), "packed %zu of %zu bytes", len,
                  strlen(sample));
    free(packed);
    hg_attempt_packer_free(p);
}
END_TEST

START_TEST(pack_reused_packer)
{
    hg_attempt_packer *p = hg_attempt_packer_new();

    for (int i = 1; i <= 3; i++) {
        size_t len;
        char *record = stored_record(p, i, &len);
        json_t *got = hg_attempt_unpack(record, len);

        ck_assert_ptr_nonnull(got);
        ck_assert_int_eq(json_integer_value(json_object_get(got, "attempt")),
                         i);
        json_decref(got);
        free(record);
    }
    hg_attempt_packer_free(p);
}
END_TEST

/* Records stored before packing are plain JSON with their number. */
START_TEST(unpack_plain_json)
{
    const char *old = "{\"attempt\":2,\"http_status\":500}";
    json_t *got = hg_attempt_unpack(old, strlen(old));

    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(json_integer_value(json_object_get(got, "attempt")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(got, "http_status")),
                     500);
    json_decref(got);
}
END_TEST

START_TEST(unpack_damaged)
{
    hg_attempt_packer *p = hg_attempt_packer_new();
    size_t len;
    char *record = stored_record(p, 1, &len);
    static const char *const bad[] = {
        "", "[1]", "\"text\"", "{", "z1:", "z1::", "z1:0:x", "z1:-1:x",
        "z1:x:abc", "z1:12345678901:x", "z1:1", "z1:1:not deflate",
        "z1: 5:x", "z1:+5:x",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *got = hg_attempt_unpack(bad[i], strlen(bad[i]));

        ck_assert_msg(got == NULL, "\"%s\" was accepted", bad[i]);
    }
    /* Cut short, and with a byte too many after the stream's end. */
    ck_assert_ptr_null(hg_attempt_unpack(record, len - 5));
    record = realloc(record, len + 1);
    record[len] = 'x';
    ck_assert_ptr_null(hg_attempt_unpack(record, len + 1));
    ck_assert_ptr_null(hg_attempt_unpack(NULL, 0));
    free(record);
    hg_attempt_packer_free(p);
}
END_TEST

/* A stream that inflates beyond HG_ATTEMPT_UNPACKED_MAX is rejected rather
 * than allocated. It is deflated from a 1 MiB block of spaces, repeated. */
START_TEST(unpack_size_cap)
{
    size_t block = (size_t)1 << 20;
    size_t blocks = HG_ATTEMPT_UNPACKED_MAX / block + 1;
    char *text = malloc(block);
    size_t cap = 4 << 20, len;
    unsigned char *record = malloc(cap);
    z_stream z;

    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(record);
    memset(text, ' ', block);
    text[0] = '{';
    memcpy(record, "z1:1:", 5);
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -15, 8,
                                  Z_DEFAULT_STRATEGY),
                     Z_OK);
    z.next_out = record + 5;
    z.avail_out = (uInt)(cap - 5);
    /* "{", spaces and "}": valid JSON if the cap let it through. */
    for (size_t i = 0; i < blocks; i++) {
        if (i + 1 == blocks)
            text[block - 1] = '}';
        z.next_in = (Bytef *)text;
        z.avail_in = (uInt)block;
        ck_assert_int_eq(deflate(&z, i + 1 == blocks ? Z_FINISH : Z_NO_FLUSH),
                         i + 1 == blocks ? Z_STREAM_END : Z_OK);
        text[0] = ' ';
    }
    len = 5 + z.total_out;
    deflateEnd(&z);
    ck_assert_ptr_null(hg_attempt_unpack((const char *)record, len));
    free(record);
    free(text);
}
END_TEST

static Suite *attempt_codec_suite(void)
{
    Suite *s = suite_create("attempt_codec");
    TCase *pack = tcase_create("pack");
    TCase *unpack = tcase_create("unpack");

    tcase_add_test(pack, pack_round_trip);
    tcase_add_test(pack, pack_attempt_member_first);
    tcase_add_test(pack, pack_under_half);
    tcase_add_test(pack, pack_reused_packer);
    suite_add_tcase(s, pack);

    tcase_add_test(unpack, unpack_plain_json);
    tcase_add_test(unpack, unpack_damaged);
    tcase_add_test(unpack, unpack_size_cap);
    suite_add_tcase(s, unpack);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(attempt_codec_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
