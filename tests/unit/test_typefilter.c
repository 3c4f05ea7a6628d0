/* SPDX-License-Identifier: MIT */

#include "common/typefilter.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Characters allowed in an event type, written out independently of the
 * code under test. */
static const char type_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz"
                                 "0123456789._-";

/* Fills buf with n copies of c followed by suffix and a NUL. */
static void fill_repeated(char *buf, char c, size_t n, const char *suffix)
{
    memset(buf, c, n);
    strcpy(buf + n, suffix);
}

START_TEST(type_valid_accepts)
{
    static const char *const types[] = {
        "booking.created", "a", "Z", "0", ".", "_", "-",
        "user.signup-v2",  "A.b_C-d.0", "invoice.payment_failed",
    };

    for (size_t i = 0; i < ARRAY_LEN(types); i++)
        ck_assert_msg(hg_event_type_valid(types[i], strlen(types[i])),
                      "type \"%s\" rejected", types[i]);
}
END_TEST

START_TEST(type_valid_max_length)
{
    char type[HG_EVENT_TYPE_MAX + 2];

    fill_repeated(type, 'a', HG_EVENT_TYPE_MAX, "");
    ck_assert(hg_event_type_valid(type, HG_EVENT_TYPE_MAX));
}
END_TEST

START_TEST(type_valid_rejects_long)
{
    char type[HG_EVENT_TYPE_MAX + 2];

    fill_repeated(type, 'a', HG_EVENT_TYPE_MAX + 1, "");
    ck_assert(!hg_event_type_valid(type, HG_EVENT_TYPE_MAX + 1));
}
END_TEST

START_TEST(type_valid_rejects_empty)
{
    ck_assert(!hg_event_type_valid("", 0));
    ck_assert(!hg_event_type_valid("booking", 0));
}
END_TEST

START_TEST(type_valid_uses_len)
{
    /* Only the first len bytes count, so a longer string can be checked in
     * part. */
    ck_assert(hg_event_type_valid("booking created", 7));
    ck_assert(!hg_event_type_valid("booking created", 8));
}
END_TEST

START_TEST(type_valid_rejects_chars)
{
    static const struct {
        const char *type;
        size_t len;
    } cases[] = {
        {"booking created", 15},   {"booking/created", 15},
        {"booking.*", 9},          {"*", 1},
        {"booking\xc3\xa9", 9},    {"\x80", 1},
        {"\xff", 1},               {"book\0ing", 8},
        {"booking\t", 8},          {"booking\n", 8},
        {"booking:created", 15},   {"booking+created", 15},
        {" booking", 8},           {"booking ", 8},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        ck_assert_msg(!hg_event_type_valid(cases[i].type, cases[i].len),
                      "type case %zu (\"%s\", len %zu) accepted", i,
                      cases[i].type, cases[i].len);
}
END_TEST

START_TEST(type_valid_every_byte)
{
    for (int b = 0; b < 256; b++) {
        char type[3] = {'a', (char)b, 'a'};
        bool allowed = b != 0 && strchr(type_chars, b) != NULL;
        bool got = hg_event_type_valid(type, 3);

        ck_assert_msg(got == allowed, "byte 0x%02x: valid is %d, expected %d",
                      b, got, allowed);
    }
}
END_TEST

START_TEST(filter_valid_accepts)
{
    static const char *const filters[] = {
        "booking.created", "booking.*", "*", "a.*", "booking.payment.*",
        "a",
    };

    for (size_t i = 0; i < ARRAY_LEN(filters); i++)
        ck_assert_msg(hg_type_filter_valid(filters[i]),
                      "filter \"%s\" rejected", filters[i]);
}
END_TEST

START_TEST(filter_valid_max_length)
{
    char filter[HG_EVENT_TYPE_MAX + 8];

    fill_repeated(filter, 'a', HG_EVENT_TYPE_MAX, "");
    ck_assert(hg_type_filter_valid(filter));

    fill_repeated(filter, 'a', HG_EVENT_TYPE_MAX, ".*");
    ck_assert(hg_type_filter_valid(filter));
}
END_TEST

START_TEST(filter_valid_rejects_long)
{
    char filter[HG_EVENT_TYPE_MAX + 8];

    fill_repeated(filter, 'a', HG_EVENT_TYPE_MAX + 1, "");
    ck_assert(!hg_type_filter_valid(filter));

    fill_repeated(filter, 'a', HG_EVENT_TYPE_MAX + 1, ".*");
    ck_assert(!hg_type_filter_valid(filter));
}
END_TEST

START_TEST(filter_valid_rejects)
{
    /* "book.*.*" is rejected because the part before the last ".*" must be a
     * type, and '*' is not a type character. */
    static const char *const filters[] = {
        ".*",         "booking*",   "book.*.*",  "",
        " ",          "**",         "*.*",       "booking.**",
        "*booking",   "booking. *", "booking.*.", "booking.created ",
        " booking.*", "booking/*",  "book*ing",
    };

    for (size_t i = 0; i < ARRAY_LEN(filters); i++)
        ck_assert_msg(!hg_type_filter_valid(filters[i]),
                      "filter \"%s\" accepted", filters[i]);
}
END_TEST

START_TEST(filter_match_table)
{
    static const struct {
        const char *filter;
        const char *type;
        bool match;
    } cases[] = {
        {"*", "booking.created", true},
        {"*", "a", true},
        {"*", "booking", true},
        {"booking.*", "booking.created", true},
        {"booking.*", "booking.a.b", true},
        {"booking.*", "booking.x", true},
        {"booking.*", "booking", false},
        {"booking.*", "booking.", false},
        {"booking.*", "bookings.created", false},
        {"booking.*", "xbooking.created", false},
        {"booking.*", "Booking.created", false},
        {"booking.*", "book", false},
        {"booking.*", "user.created", false},
        {"booking.payment.*", "booking.payment.failed", true},
        {"booking.payment.*", "booking.created", false},
        {"booking.created", "booking.created", true},
        {"booking.created", "Booking.created", false},
        {"booking.created", "booking.CREATED", false},
        {"booking.created", "booking.created.v2", false},
        {"booking.created", "booking.create", false},
        {"booking.created", "booking", false},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        bool got = hg_type_filter_match(cases[i].filter, cases[i].type);

        ck_assert_msg(got == cases[i].match,
                      "filter \"%s\" on type \"%s\": match is %d, expected %d",
                      cases[i].filter, cases[i].type, got, cases[i].match);
    }
}
END_TEST

START_TEST(filter_match_longest_type)
{
    char filter[HG_EVENT_TYPE_MAX + 8];
    char type[HG_EVENT_TYPE_MAX + 8];

    /* The type has the maximum length of 128 characters. */
    fill_repeated(filter, 'a', HG_EVENT_TYPE_MAX - 2, ".*");
    fill_repeated(type, 'a', HG_EVENT_TYPE_MAX - 2, ".b");
    ck_assert(hg_type_filter_match(filter, type));
}
END_TEST

START_TEST(list_match_table)
{
    static const struct {
        const char *list;
        const char *type;
        bool match;
    } cases[] = {
        {"booking.created", "booking.created", true},
        {"booking.created user.created", "user.created", true},
        {"booking.created user.created", "booking.created", true},
        {"booking.created user.created", "user.deleted", false},
        {"user.created booking.*", "booking.paid", true},
        {"user.created booking.*", "booking", false},
        {"user.created *", "anything.at.all", true},
        {"*", "booking.created", true},
        {"booking.created   user.created", "user.created", true},
        {"   booking.created", "booking.created", true},
        {"booking.created   ", "booking.created", true},
        {"  booking.*   user.created  ", "booking.paid", true},
        {"  booking.*   user.created  ", "user.deleted", false},
        {"", "booking.created", false},
        {" ", "booking.created", false},
        {"    ", "booking.created", false},
        {"booking.created user", "user.created", false},
        {"booking.createduser.created", "user.created", false},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        bool got = hg_type_filter_list_match(cases[i].list, cases[i].type);

        ck_assert_msg(got == cases[i].match,
                      "list \"%s\" on type \"%s\": match is %d, expected %d",
                      cases[i].list, cases[i].type, got, cases[i].match);
    }
}
END_TEST

START_TEST(list_match_long_filters)
{
    char list[3 * HG_EVENT_TYPE_MAX + 16];
    char type[HG_EVENT_TYPE_MAX + 8];

    /* Valid filters of maximum length: a 128-character type, and a
     * 128-character prefix followed by ".*", which is 130 characters. */
    fill_repeated(list, 'b', HG_EVENT_TYPE_MAX, " ");
    fill_repeated(list + strlen(list), 'a', HG_EVENT_TYPE_MAX, ".*");

    fill_repeated(type, 'b', HG_EVENT_TYPE_MAX, "");
    ck_assert(hg_type_filter_list_match(list, type));

    /* No valid type matches the 130-character filter, so a longer type shows
     * that the list does not drop that filter. */
    fill_repeated(type, 'a', HG_EVENT_TYPE_MAX, ".b");
    ck_assert(hg_type_filter_list_match(list, type));

    fill_repeated(type, 'a', HG_EVENT_TYPE_MAX, "");
    ck_assert(!hg_type_filter_list_match(list, type));
}
END_TEST

static Suite *typefilter_suite(void)
{
    Suite *s = suite_create("typefilter");
    TCase *type = tcase_create("type");
    TCase *filter = tcase_create("filter");
    TCase *list = tcase_create("list");

    tcase_add_test(type, type_valid_accepts);
    tcase_add_test(type, type_valid_max_length);
    tcase_add_test(type, type_valid_rejects_long);
    tcase_add_test(type, type_valid_rejects_empty);
    tcase_add_test(type, type_valid_uses_len);
    tcase_add_test(type, type_valid_rejects_chars);
    tcase_add_test(type, type_valid_every_byte);
    suite_add_tcase(s, type);

    tcase_add_test(filter, filter_valid_accepts);
    tcase_add_test(filter, filter_valid_max_length);
    tcase_add_test(filter, filter_valid_rejects_long);
    tcase_add_test(filter, filter_valid_rejects);
    tcase_add_test(filter, filter_match_table);
    tcase_add_test(filter, filter_match_longest_type);
    suite_add_tcase(s, filter);

    tcase_add_test(list, list_match_table);
    tcase_add_test(list, list_match_long_filters);
    suite_add_tcase(s, list);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(typefilter_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
