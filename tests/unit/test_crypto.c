/* SPDX-License-Identifier: MIT */

#include "common/crypto.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secretbox.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Secrets whose keys are the bytes 0, 1, 2, ... n-1 for the n in the name. */
#define SECRET_23 "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY="
#define SECRET_24 "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
#define SECRET_25 "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA=="
#define SECRET_26 "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBk="
#define SECRET_64                                                              \
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMD" \
    "EyMzQ1Njc4OTo7PD0+Pw=="
#define SECRET_65                                                              \
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMD" \
    "EyMzQ1Njc4OTo7PD0+P0A="
#define SECRET_100                                                             \
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMD" \
    "EyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw=="

/* Key and message of the Standard Webhooks signature test vector. */
#define VECTOR_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VECTOR_MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VECTOR_TIMESTAMP 1614265330LL
#define VECTOR_BODY "{\"test\": 2432232314}"
#define VECTOR_SIGNATURE "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Parses secret and checks that it is accepted with the key 0, 1, ... n-1. */
static void check_secret_accepted(const char *secret, int n)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    const char *why = NULL;
    int rc;

    rc = hg_secret_parse(secret, key, sizeof(key), &why);
    ck_assert_msg(rc == n, "parse \"%s\" returned %d (%s), expected %d",
                  secret, rc, why ? why : "no reason", n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(key[i] == i, "parse \"%s\": key byte %d is %u", secret,
                      i, key[i]);
}

/* Parses secret and checks that it is rejected with a reason. The key buffer
 * is larger than HG_SECRET_MAX_BYTES, so that only the size limit can reject a
 * long secret. */
static void check_secret_rejected(const char *secret)
{
    uint8_t key[HG_SECRET_MAX_BYTES + 64];
    const char *why = NULL;
    int rc;

    rc = hg_secret_parse(secret, key, sizeof(key), &why);
    ck_assert_msg(rc == -1, "parse \"%s\" returned %d, expected -1", secret,
                  rc);
    ck_assert_msg(why != NULL, "parse \"%s\" gave no reason", secret);
}

/* Returns the next value of a xorshift32 generator, so that every run uses
 * the same "random" bytes and a failure can be reproduced. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* Parses the Standard Webhooks test vector secret into key. */
static int parse_vector_key(uint8_t *key, size_t cap)
{
    const char *why = NULL;

    return hg_secret_parse(VECTOR_SECRET, key, cap, &why);
}

START_TEST(sign_standard_vector)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP,
                    VECTOR_BODY, strlen(VECTOR_BODY), sig);
    ck_assert_str_eq(sig, VECTOR_SIGNATURE);
}
END_TEST

START_TEST(sign_output_length)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP,
                    VECTOR_BODY, strlen(VECTOR_BODY), sig);
    ck_assert_uint_eq(strlen(sig), HG_SIGNATURE_LEN - 1);
}
END_TEST

START_TEST(sign_changes_with_msg_id)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    hg_webhook_sign(key, (size_t)keylen, "msg_p5jXN8AQM9LWM0D4loKWxJel",
                    VECTOR_TIMESTAMP, VECTOR_BODY, strlen(VECTOR_BODY), sig);
    ck_assert_str_ne(sig, VECTOR_SIGNATURE);
}
END_TEST

START_TEST(sign_changes_with_timestamp)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP + 1,
                    VECTOR_BODY, strlen(VECTOR_BODY), sig);
    ck_assert_str_ne(sig, VECTOR_SIGNATURE);
}
END_TEST

START_TEST(sign_changes_with_body)
{
    static const char body[] = "{\"test\": 2432232315}";
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP, body,
                    strlen(body), sig);
    ck_assert_str_ne(sig, VECTOR_SIGNATURE);
}
END_TEST

START_TEST(sign_changes_with_key)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    key[keylen - 1] ^= 1;
    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP,
                    VECTOR_BODY, strlen(VECTOR_BODY), sig);
    ck_assert_str_ne(sig, VECTOR_SIGNATURE);
}
END_TEST

START_TEST(sign_body_with_nul)
{
    static const char body[] = "a\0b";
    static const char other[] = "a\0c";
    uint8_t key[HG_SECRET_MAX_BYTES];
    char sig_full[HG_SIGNATURE_LEN];
    char sig_other[HG_SIGNATURE_LEN];
    char sig_prefix[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP, body,
                    3, sig_full);
    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP,
                    other, 3, sig_other);
    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP, body,
                    1, sig_prefix);

    /* Changing the byte after the NUL changes the signature, and so does
     * signing only the bytes before the NUL. */
    ck_assert_str_ne(sig_full, sig_other);
    ck_assert_str_ne(sig_full, sig_prefix);
}
END_TEST

START_TEST(sign_matches_openssl_hmac)
{
    static const char body[] = "x\0y\0z";
    static const char signed_content[] = VECTOR_MSG_ID ".1614265330.x\0y\0z";
    uint8_t key[HG_SECRET_MAX_BYTES];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char expected[HG_SIGNATURE_LEN];
    char sig[HG_SIGNATURE_LEN];
    int keylen = parse_vector_key(key, sizeof(key));

    ck_assert_int_eq(keylen, 24);

    /* The signed content is "msg_id.timestamp.body", with the whole body. */
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, keylen,
                               (const unsigned char *)signed_content,
                               sizeof(signed_content) - 1, mac, &mac_len));
    ck_assert_uint_eq(mac_len, 32);
    memcpy(expected, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)expected + 3, mac, (int)mac_len);

    hg_webhook_sign(key, (size_t)keylen, VECTOR_MSG_ID, VECTOR_TIMESTAMP, body,
                    sizeof(body) - 1, sig);
    ck_assert_str_eq(sig, expected);
}
END_TEST

START_TEST(secret_accepts_min)
{
    check_secret_accepted(SECRET_24, 24);
}
END_TEST

START_TEST(secret_accepts_padded)
{
    check_secret_accepted(SECRET_25, 25);
    check_secret_accepted(SECRET_26, 26);
}
END_TEST

START_TEST(secret_accepts_max)
{
    check_secret_accepted(SECRET_64, 64);
}
END_TEST

START_TEST(secret_rejects_missing_prefix)
{
    check_secret_rejected("AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
}
END_TEST

START_TEST(secret_rejects_prefix_case)
{
    check_secret_rejected("WHSEC_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
    check_secret_rejected("Whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
}
END_TEST

START_TEST(secret_rejects_bad_chars)
{
    /* Each is SECRET_24 with one or two characters replaced by an invalid
     * one: '!', base64url '-' and '_', a space, and a two-byte UTF-8 'é'. */
    static const char *const secrets[] = {
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY!",
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY-",
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY_",
        "whsec_AAECAwQFBgcICQoL A0ODxAREhMUFRYX",
        ("whsec_AAECAwQFBgcICQoL\xc3\xa9" "0ODxAREhMUFRYX"),
    };

    for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
        check_secret_rejected(secrets[i]);
}
END_TEST

START_TEST(secret_rejects_missing_padding)
{
    /* SECRET_25 without one or both "=", and SECRET_26 without its "=". */
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA=");
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA");
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBk");
}
END_TEST

START_TEST(secret_rejects_inner_padding)
{
    /* SECRET_26 with "==" in the first quantum, "=" followed by data in the
     * last quantum, and "=" in the second position of the last quantum. */
    check_secret_rejected("whsec_AA==AwQFBgcICQoLDA0ODxAREhMUFRYXGBk=");
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB=A");
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXG=k=");
}
END_TEST

START_TEST(secret_rejects_noncanonical)
{
    /* SECRET_25 and SECRET_26 with nonzero bits in the last data character,
     * which padding drops: 'B' is 000001 and 'l' is 100101. */
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB==");
    check_secret_rejected("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBl=");
}
END_TEST

START_TEST(secret_rejects_short)
{
    check_secret_rejected(SECRET_23);
}
END_TEST

START_TEST(secret_rejects_long)
{
    check_secret_rejected(SECRET_65);
    check_secret_rejected(SECRET_100);
}
END_TEST

START_TEST(secret_rejects_empty)
{
    check_secret_rejected("whsec_");
    check_secret_rejected("");
}
END_TEST

START_TEST(secret_rejects_small_key_buffer)
{
    uint8_t key[32];
    const char *why = NULL;
    int rc;

    rc = hg_secret_parse(SECRET_64, key, sizeof(key), &why);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(generate_round_trip)
{
    static const size_t sizes[] = {HG_SECRET_MIN_BYTES,
                                   HG_SECRET_DEFAULT_BYTES, 48,
                                   HG_SECRET_MAX_BYTES};

    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        char secret[HG_SECRET_MAX_LEN];
        uint8_t key[HG_SECRET_MAX_BYTES];
        const char *why = NULL;
        int rc;

        rc = hg_secret_generate(sizes[i], secret, sizeof(secret));
        ck_assert_msg(rc == 0, "generate %zu bytes returned %d", sizes[i], rc);
        ck_assert_msg(strncmp(secret, "whsec_", 6) == 0,
                      "generated secret \"%s\" lacks the prefix", secret);

        rc = hg_secret_parse(secret, key, sizeof(key), &why);
        ck_assert_msg(rc == (int)sizes[i],
                      "generated %zu-byte secret \"%s\" parses to %d (%s)",
                      sizes[i], secret, rc, why ? why : "no reason");
    }
}
END_TEST

START_TEST(generate_differs)
{
    char first[HG_SECRET_MAX_LEN];
    char second[HG_SECRET_MAX_LEN];

    ck_assert_int_eq(hg_secret_generate(HG_SECRET_DEFAULT_BYTES, first,
                                        sizeof(first)),
                     0);
    ck_assert_int_eq(hg_secret_generate(HG_SECRET_DEFAULT_BYTES, second,
                                        sizeof(second)),
                     0);
    ck_assert_str_ne(first, second);
}
END_TEST

START_TEST(generate_rejects_sizes)
{
    char secret[HG_SECRET_MAX_LEN];

    ck_assert_int_eq(hg_secret_generate(HG_SECRET_MIN_BYTES - 1, secret,
                                        sizeof(secret)),
                     -1);
    ck_assert_int_eq(hg_secret_generate(HG_SECRET_MAX_BYTES + 1, secret,
                                        sizeof(secret)),
                     -1);
}
END_TEST

START_TEST(generate_rejects_small_buffer)
{
    /* "whsec_" + 44 characters + NUL is 51 bytes for a 32-byte key. */
    char secret[51];

    ck_assert_int_eq(hg_secret_generate(HG_SECRET_DEFAULT_BYTES, secret, 50),
                     -1);
    ck_assert_int_eq(hg_secret_generate(HG_SECRET_DEFAULT_BYTES, secret, 51),
                     0);
}
END_TEST

START_TEST(base64_round_trip)
{
    uint32_t state = 0x9e3779b9u;

    for (size_t len = 0; len <= 70; len++) {
        size_t encoded_cap = 4 * ((len + 2) / 3) + 1;
        uint8_t *data = malloc(len + 1);
        char *encoded = malloc(encoded_cap);
        uint8_t *decoded = malloc(len + 1);
        int n;

        ck_assert_ptr_nonnull(data);
        ck_assert_ptr_nonnull(encoded);
        ck_assert_ptr_nonnull(decoded);
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)next_random(&state);

        n = hg_base64_encode(data, len, encoded, encoded_cap);
        ck_assert_msg(n == (int)encoded_cap - 1,
                      "encode of %zu bytes returned %d, expected %zu", len, n,
                      encoded_cap - 1);

        n = hg_base64_decode(encoded, (size_t)n, decoded, len);
        ck_assert_msg(n == (int)len,
                      "decode of \"%s\" returned %d, expected %zu", encoded, n,
                      len);
        ck_assert_msg(memcmp(data, decoded, len) == 0,
                      "decode of \"%s\" differs from the %zu input bytes",
                      encoded, len);

        free(data);
        free(encoded);
        free(decoded);
    }
}
END_TEST

START_TEST(base64_encode_empty)
{
    char out[1] = {'x'};

    ck_assert_int_eq(hg_base64_encode((const uint8_t *)"", 0, out, 1), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(base64_rfc4648_vectors)
{
    /* RFC 4648 section 10. The empty vector is in base64_encode_empty. */
    static const struct {
        const char *data;
        const char *encoded;
    } cases[] = {
        {"f", "Zg=="},     {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *data = cases[i].data;
        const char *want = cases[i].encoded;
        char encoded[16];
        uint8_t decoded[16];
        int n;

        n = hg_base64_encode((const uint8_t *)data, strlen(data), encoded,
                             sizeof(encoded));
        ck_assert_msg(n == (int)strlen(want),
                      "encode \"%s\" returned %d, expected %zu", data, n,
                      strlen(want));
        ck_assert_msg(strcmp(encoded, want) == 0,
                      "encode \"%s\" gave \"%s\", expected \"%s\"", data,
                      encoded, want);

        n = hg_base64_decode(want, strlen(want), decoded, sizeof(decoded));
        ck_assert_msg(n == (int)strlen(data),
                      "decode \"%s\" returned %d, expected %zu", want, n,
                      strlen(data));
        ck_assert_msg(memcmp(decoded, data, strlen(data)) == 0,
                      "decode \"%s\" does not give \"%s\"", want, data);
    }
}
END_TEST

START_TEST(base64_decode_rejects_length)
{
    static const char *const inputs[] = {"Z", "Zg", "Zg=", "Zm9vY", "Zm9vYmF"};
    uint8_t out[16];

    for (size_t i = 0; i < ARRAY_LEN(inputs); i++) {
        int n = hg_base64_decode(inputs[i], strlen(inputs[i]), out,
                                 sizeof(out));

        ck_assert_msg(n == -1, "decode \"%s\" returned %d, expected -1",
                      inputs[i], n);
    }
}
END_TEST

START_TEST(base64_decode_rejects_small_buffer)
{
    uint8_t *out = malloc(6);

    ck_assert_ptr_nonnull(out);

    /* "foobar" needs 6 bytes and "foob" needs 4. */
    ck_assert_int_eq(hg_base64_decode("Zm9vYmFy", 8, out, 5), -1);
    ck_assert_int_eq(hg_base64_decode("Zm9vYmFy", 8, out, 6), 6);
    ck_assert_int_eq(hg_base64_decode("Zm9vYg==", 8, out, 3), -1);
    ck_assert_int_eq(hg_base64_decode("Zm9vYg==", 8, out, 4), 4);

    free(out);
}
END_TEST

START_TEST(base64_encode_rejects_small_buffer)
{
    char *out = malloc(9);

    ck_assert_ptr_nonnull(out);

    /* "foobar" encodes to 8 characters and "foob" to 8 with padding, so
     * both need 9 bytes with the NUL. */
    ck_assert_int_eq(hg_base64_encode((const uint8_t *)"foobar", 6, out, 8),
                     -1);
    ck_assert_int_eq(hg_base64_encode((const uint8_t *)"foobar", 6, out, 9),
                     8);
    ck_assert_int_eq(hg_base64_encode((const uint8_t *)"foob", 4, out, 8), -1);
    ck_assert_int_eq(hg_base64_encode((const uint8_t *)"foob", 4, out, 9), 8);
    ck_assert_int_eq(hg_base64_encode((const uint8_t *)"", 0, out, 0), -1);

    free(out);
}
END_TEST

START_TEST(api_key_format)
{
    char key[64];
    const char *body;

    ck_assert_int_eq(hg_api_key_generate("hgk_", key, sizeof(key)), 0);
    ck_assert_msg(strncmp(key, "hgk_", 4) == 0, "key \"%s\" lacks \"hgk_\"",
                  key);

    body = key + 4;
    ck_assert_msg(strlen(body) == 43, "key \"%s\" has %zu characters after "
                  "the prefix, expected 43", key, strlen(body));
    ck_assert_msg(strspn(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                               "vwxyz0123456789-_") == 43,
                  "key \"%s\" has a character outside base64url", key);
}
END_TEST

START_TEST(api_key_differs)
{
    char first[64];
    char second[64];

    ck_assert_int_eq(hg_api_key_generate("hgk_", first, sizeof(first)), 0);
    ck_assert_int_eq(hg_api_key_generate("hgk_", second, sizeof(second)), 0);
    ck_assert_str_ne(first, second);
}
END_TEST

START_TEST(api_key_rejects_small_buffer)
{
    /* 4 prefix characters, and the encoder needs 44 characters + NUL before
     * the padding is removed. */
    char key[49];

    ck_assert_int_eq(hg_api_key_generate("hgk_", key, 48), -1);
    ck_assert_int_eq(hg_api_key_generate("hgk_", key, 49), 0);
}
END_TEST

START_TEST(sha256_abc)
{
    char hex[HG_SHA256_HEX];

    hg_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(sha256_empty)
{
    char hex[HG_SHA256_HEX];

    hg_sha256_hex("", 0, hex);
    ck_assert_str_eq(
        hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(ct_equal_same)
{
    static const uint8_t a[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8};

    ck_assert(hg_ct_equal(a, b, sizeof(a)));
}
END_TEST

START_TEST(ct_equal_empty)
{
    ck_assert(hg_ct_equal("a", "b", 0));
}
END_TEST

START_TEST(ct_equal_differs_first)
{
    static const uint8_t a[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t b[] = {0, 2, 3, 4, 5, 6, 7, 8};

    ck_assert(!hg_ct_equal(a, b, sizeof(a)));
}
END_TEST

START_TEST(ct_equal_differs_last)
{
    static const uint8_t a[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 9};

    ck_assert(!hg_ct_equal(a, b, sizeof(a)));
}
END_TEST

/* A custom header value of the longest allowed size (1000 bytes) seals
 * into HG_HEADER_SEALED_MAX and opens back, whatever the case of the name
 * used to bind it. */
START_TEST(header_value_round_trip)
{
    uint8_t key[HG_SECRETBOX_KEY_BYTES];
    char value[1001], aad[256], sealed[HG_HEADER_SEALED_MAX];
    char opened[HG_HEADER_SEALED_MAX];

    memset(key, 7, sizeof(key));
    memset(value, 'v', 1000);
    value[1000] = '\0';
    hg_endpoint_header_aad(aad, sizeof(aad), "acme", "ep_1", "Authorization");
    ck_assert_str_eq(aad, "acme/ep_1/header/authorization");
    ck_assert_int_eq(hg_secretbox_seal(key, aad, value, sealed, sizeof(sealed)),
                     0);
    ck_assert(hg_secretbox_is_sealed(sealed));
    hg_endpoint_header_aad(aad, sizeof(aad), "acme", "ep_1", "AUTHORIZATION");
    ck_assert_int_eq(hg_secretbox_open(key, aad, sealed, opened,
                                       sizeof(opened)),
                     0);
    ck_assert_str_eq(opened, value);
}
END_TEST

/* A sealed value moved to another header or endpoint does not open. */
START_TEST(header_value_bound_to_name)
{
    uint8_t key[HG_SECRETBOX_KEY_BYTES];
    char aad[256], sealed[HG_HEADER_SEALED_MAX], opened[64];

    memset(key, 9, sizeof(key));
    hg_endpoint_header_aad(aad, sizeof(aad), "acme", "ep_1", "X-Api-Key");
    ck_assert_int_eq(hg_secretbox_seal(key, aad, "k-123", sealed,
                                       sizeof(sealed)),
                     0);
    hg_endpoint_header_aad(aad, sizeof(aad), "acme", "ep_1", "Authorization");
    ck_assert_int_eq(hg_secretbox_open(key, aad, sealed, opened,
                                       sizeof(opened)),
                     -1);
    hg_endpoint_header_aad(aad, sizeof(aad), "acme", "ep_2", "X-Api-Key");
    ck_assert_int_eq(hg_secretbox_open(key, aad, sealed, opened,
                                       sizeof(opened)),
                     -1);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *sign = tcase_create("sign");
    TCase *secret = tcase_create("secret");
    TCase *base64 = tcase_create("base64");
    TCase *misc = tcase_create("misc");
    TCase *sealed = tcase_create("sealed");

    tcase_add_test(sign, sign_standard_vector);
    tcase_add_test(sign, sign_output_length);
    tcase_add_test(sign, sign_changes_with_msg_id);
    tcase_add_test(sign, sign_changes_with_timestamp);
    tcase_add_test(sign, sign_changes_with_body);
    tcase_add_test(sign, sign_changes_with_key);
    tcase_add_test(sign, sign_body_with_nul);
    tcase_add_test(sign, sign_matches_openssl_hmac);
    suite_add_tcase(s, sign);

    tcase_add_test(secret, secret_accepts_min);
    tcase_add_test(secret, secret_accepts_padded);
    tcase_add_test(secret, secret_accepts_max);
    tcase_add_test(secret, secret_rejects_missing_prefix);
    tcase_add_test(secret, secret_rejects_prefix_case);
    tcase_add_test(secret, secret_rejects_bad_chars);
    tcase_add_test(secret, secret_rejects_missing_padding);
    tcase_add_test(secret, secret_rejects_inner_padding);
    tcase_add_test(secret, secret_rejects_noncanonical);
    tcase_add_test(secret, secret_rejects_short);
    tcase_add_test(secret, secret_rejects_long);
    tcase_add_test(secret, secret_rejects_empty);
    tcase_add_test(secret, secret_rejects_small_key_buffer);
    tcase_add_test(secret, generate_round_trip);
    tcase_add_test(secret, generate_differs);
    tcase_add_test(secret, generate_rejects_sizes);
    tcase_add_test(secret, generate_rejects_small_buffer);
    suite_add_tcase(s, secret);

    tcase_add_test(base64, base64_round_trip);
    tcase_add_test(base64, base64_encode_empty);
    tcase_add_test(base64, base64_rfc4648_vectors);
    tcase_add_test(base64, base64_decode_rejects_length);
    tcase_add_test(base64, base64_decode_rejects_small_buffer);
    tcase_add_test(base64, base64_encode_rejects_small_buffer);
    suite_add_tcase(s, base64);

    tcase_add_test(misc, api_key_format);
    tcase_add_test(misc, api_key_differs);
    tcase_add_test(misc, api_key_rejects_small_buffer);
    tcase_add_test(misc, sha256_abc);
    tcase_add_test(misc, sha256_empty);
    tcase_add_test(misc, ct_equal_same);
    tcase_add_test(misc, ct_equal_empty);
    tcase_add_test(misc, ct_equal_differs_first);
    tcase_add_test(misc, ct_equal_differs_last);
    suite_add_tcase(s, misc);

    tcase_add_test(sealed, header_value_round_trip);
    tcase_add_test(sealed, header_value_bound_to_name);
    suite_add_tcase(s, sealed);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crypto_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
