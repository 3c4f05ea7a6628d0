/* SPDX-License-Identifier: MIT
 *
 * Hashing, base64, random secrets and Standard Webhooks signatures, all on
 * OpenSSL. Secrets have the form "whsec_" + standard base64 of 24 to 64 random
 * bytes. Comparisons of secrets and key hashes are constant time.
 */
#ifndef HG_CRYPTO_H
#define HG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_SHA256_HEX 65
#define HG_SECRET_MIN_BYTES 24
#define HG_SECRET_MAX_BYTES 64
#define HG_SECRET_DEFAULT_BYTES 32
#define HG_SECRET_PREFIX "whsec_"
/* "whsec_" + base64 of 64 bytes + NUL. */
#define HG_SECRET_MAX_LEN 100
/* "v1," + base64 of a 32-byte HMAC + NUL. */
#define HG_SIGNATURE_LEN 48
/* Each delivery carries, next to the signature headers, the number of
 * hookgate deliveries its event came through plus one. A publish that
 * carries HG_HOPS_MAX or more is rejected, so endpoints that publish back
 * into hookgate cannot loop (or multiply) without end. */
#define HG_HOPS_HEADER "Hookgate-Hops"
#define HG_HOPS_MAX 4

/* Writes the lowercase hex SHA-256 of data into out (HG_SHA256_HEX bytes). */
void hg_sha256_hex(const void *data, size_t len, char *out);
/* Writes the lowercase hex SHA-256 of the concatenation of a and b. */
void hg_sha256_hex2(const void *a, size_t alen, const void *b, size_t blen,
                    char *out);
/* Writes standard padded base64 of data; returns its length, or -1 if out
 * (cap bytes including the NUL) is too small. */
int hg_base64_encode(const uint8_t *data, size_t len, char *out, size_t cap);
/* Decodes strict padded standard base64; returns the byte count, or -1 for
 * an invalid character, bad padding or an output larger than cap. */
int hg_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap);
/* Fills buf with cryptographically strong random bytes; -1 on failure. */
int hg_random_bytes(void *buf, size_t len);
/* Writes a new secret of nbytes random bytes ("whsec_..."); -1 on failure. */
int hg_secret_generate(size_t nbytes, char *out, size_t cap);
/* Writes a new API key: prefix followed by base64url of 32 random bytes
 * without padding. Returns 0, or -1 when out (cap bytes) is too small or the
 * random source fails. */
int hg_api_key_generate(const char *prefix, char *out, size_t cap);
/* Decodes a "whsec_" secret into key; returns the key length, or -1 with a
 * reason in *why (a static string) when the secret is not acceptable. */
int hg_secret_parse(const char *secret, uint8_t *key, size_t cap,
                    const char **why);
/* Writes "v1,<base64 HMAC-SHA256 of msg_id.timestamp.body>" into out
 * (HG_SIGNATURE_LEN bytes), as Standard Webhooks specifies. */
void hg_webhook_sign(const uint8_t *key, size_t keylen, const char *msg_id,
                     long long timestamp, const void *body, size_t body_len,
                     char *out);
/* Writes the 32-byte HMAC-SHA256 of data under key into out. Returns 0, or
 * -1 when OpenSSL fails. */
int hg_hmac_sha256(const uint8_t *key, size_t keylen, const void *data,
                   size_t len, uint8_t out[32]);
/* Writes base64url of data without padding; returns its length or -1 when
 * out (cap bytes with the NUL) is too small. */
int hg_base64url_encode(const uint8_t *data, size_t len, char *out,
                        size_t cap);
/* Decodes base64url without padding; returns the byte count or -1. */
int hg_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap);
/* Compares two buffers of equal length in constant time. */
bool hg_ct_equal(const void *a, const void *b, size_t len);

#endif
