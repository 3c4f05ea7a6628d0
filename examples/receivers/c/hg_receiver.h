/* SPDX-License-Identifier: MIT
 *
 * Verification of hookgate deliveries for receivers written in C. hookgate
 * signs every delivery as Standard Webhooks specifies: webhook-signature
 * contains one or more "v1,<base64 HMAC-SHA256>" entries over
 * "<webhook-id>.<webhook-timestamp>.<body>", keyed with the bytes that the
 * base64 after "whsec_" in the endpoint secret encodes.
 *
 * The library signs with hookgate's own code (common/crypto.c, on OpenSSL),
 * so a receiver that copies it needs hg_receiver.c, hg_receiver.h,
 * common/crypto.c and common/crypto.h, and links with -lcrypto.
 */
#ifndef HG_RECEIVER_H
#define HG_RECEIVER_H

#include <stddef.h>

/* Largest accepted distance between webhook-timestamp and the receiver's
 * clock, in seconds, as Standard Webhooks recommends. */
#define HG_RECEIVER_TOLERANCE_S 300

/* Results of hg_receiver_verify: 0 for a verified delivery, a negative
 * value for each kind of failure. */
typedef enum hg_receiver_result {
    HG_RECEIVER_OK = 0,
    HG_RECEIVER_MISSING_HEADER = -1,
    HG_RECEIVER_BAD_SECRET = -2,
    HG_RECEIVER_BAD_TIMESTAMP = -3,
    HG_RECEIVER_TIMESTAMP_TOO_OLD = -4,
    HG_RECEIVER_TIMESTAMP_TOO_NEW = -5,
    HG_RECEIVER_NO_SIGNATURE = -6,
    HG_RECEIVER_NO_MATCH = -7,
    HG_RECEIVER_CRYPTO_ERROR = -8
} hg_receiver_result;

/*
 * Verifies one delivery. msg_id, timestamp and signature_header are the
 * values of the webhook-id, webhook-timestamp and webhook-signature headers
 * (NULL when a header is missing), body and len the request body exactly as
 * received. now is the receiver's clock in Unix seconds, and tolerance_s
 * the largest accepted distance of the timestamp from it.
 *
 * Returns HG_RECEIVER_OK when any v1 signature in signature_header matches
 * (compared in constant time), else a negative hg_receiver_result with a
 * reason in *why (a static string, safe to send back in a response).
 */
int hg_receiver_verify(const char *secret, const char *msg_id,
                       const char *timestamp, const char *signature_header,
                       const void *body, size_t len, long long now,
                       long long tolerance_s, const char **why);

/* Checks that secret is a usable "whsec_" secret. Returns 0, or -1 with the
 * reason in *why (a static string). */
int hg_receiver_check_secret(const char *secret, const char **why);

#endif
