/* SPDX-License-Identifier: MIT
 *
 * Standard Webhooks verification of hookgate deliveries, built on hookgate's
 * own secret parsing, HMAC signing and constant-time comparison
 * (common/crypto.c). See hg_receiver.h for the contract.
 */
#include "hg_receiver.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/crypto.h"

/* Unix seconds stay below 10^17 for billions of years, and the limit keeps
 * the digits far from overflowing a long long. */
#define TIMESTAMP_MAX_DIGITS 17

static bool header_missing(const char *value)
{
    return value == NULL || value[0] == '\0';
}

/* Parses webhook-timestamp. Only the canonical decimal form is accepted
 * (digits, no sign, no leading zero), because hg_webhook_sign formats the
 * number again with %lld and the signed text must match the header byte for
 * byte. */
static int parse_timestamp(const char *text, long long *out)
{
    size_t n = strlen(text);
    long long value = 0;

    if (n == 0 || n > TIMESTAMP_MAX_DIGITS || (n > 1 && text[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return 0;
}

int hg_receiver_check_secret(const char *secret, const char **why)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    int keylen;

    if (header_missing(secret)) {
        *why = "the secret is empty: expected whsec_ followed by base64";
        return -1;
    }
    keylen = hg_secret_parse(secret, key, sizeof(key), why);
    OPENSSL_cleanse(key, sizeof(key));
    return keylen < 0 ? -1 : 0;
}

int hg_receiver_verify(const char *secret, const char *msg_id,
                       const char *timestamp, const char *signature_header,
                       const void *body, size_t len, long long now,
                       long long tolerance_s, const char **why)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char expected[HG_SIGNATURE_LEN];
    size_t expected_len;
    long long sent_at;
    int keylen;
    bool seen_v1 = false;
    bool matched = false;

    if (header_missing(msg_id)) {
        *why = "missing webhook-id header";
        return HG_RECEIVER_MISSING_HEADER;
    }
    if (header_missing(timestamp)) {
        *why = "missing webhook-timestamp header";
        return HG_RECEIVER_MISSING_HEADER;
    }
    if (header_missing(signature_header)) {
        *why = "missing webhook-signature header";
        return HG_RECEIVER_MISSING_HEADER;
    }

    /* The timestamp is checked before any HMAC is computed: a replayed old
     * message is rejected without touching the key. */
    if (parse_timestamp(timestamp, &sent_at) != 0) {
        *why = "invalid webhook-timestamp: expected Unix time in seconds";
        return HG_RECEIVER_BAD_TIMESTAMP;
    }
    if (sent_at < now - tolerance_s) {
        *why = "webhook-timestamp is too old: more than the tolerance "
               "before this receiver's clock";
        return HG_RECEIVER_TIMESTAMP_TOO_OLD;
    }
    if (sent_at > now + tolerance_s) {
        *why = "webhook-timestamp is too new: more than the tolerance "
               "after this receiver's clock";
        return HG_RECEIVER_TIMESTAMP_TOO_NEW;
    }

    if (header_missing(secret)) {
        *why = "the secret is empty: expected whsec_ followed by base64";
        return HG_RECEIVER_BAD_SECRET;
    }
    keylen = hg_secret_parse(secret, key, sizeof(key), why);
    if (keylen < 0)
        return HG_RECEIVER_BAD_SECRET;
    hg_webhook_sign(key, (size_t)keylen, msg_id, sent_at, body, len,
                    expected);
    OPENSSL_cleanse(key, sizeof(key));
    expected_len = strlen(expected);
    if (expected_len == 0) {
        /* hg_webhook_sign leaves the output empty when OpenSSL fails. */
        *why = "computing the HMAC-SHA256 failed in OpenSSL";
        return HG_RECEIVER_CRYPTO_ERROR;
    }

    /* The header is a space-separated list of "<version>,<signature>"
     * entries: two during a secret rotation, and possibly versions that
     * this code does not know, which are skipped. Every entry is compared,
     * so the time taken does not reveal which one matched. */
    for (const char *p = signature_header; *p != '\0';) {
        size_t n;

        p += strspn(p, " ");
        n = strcspn(p, " ");
        if (n == 0)
            break;
        if (n > 3 && memcmp(p, "v1,", 3) == 0) {
            seen_v1 = true;
            if (n == expected_len && hg_ct_equal(p, expected, n))
                matched = true;
        }
        p += n;
    }

    if (!seen_v1) {
        *why = "webhook-signature contains no v1 signature";
        return HG_RECEIVER_NO_SIGNATURE;
    }
    if (!matched) {
        *why = "no signature in webhook-signature matches: check the "
               "secret and that the body is verified exactly as received";
        return HG_RECEIVER_NO_MATCH;
    }
    *why = NULL;
    return HG_RECEIVER_OK;
}
