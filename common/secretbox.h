/* SPDX-License-Identifier: MIT
 *
 * Encryption of endpoint secrets at rest: AES-256-GCM under the key of
 * HOOKGATE_SECRET_KEY, so a copy of the Redis data alone does not reveal a
 * secret. A sealed value is "enc1:" + base64(12-byte nonce | ciphertext |
 * 16-byte tag); the additional data binds it to one record (for example
 * "<integration>/<endpoint>"), so a sealed value copied into another
 * record does not open. Values stored before encryption existed ("whsec_"
 * in clear) are still read.
 */
#ifndef HG_SECRETBOX_H
#define HG_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_SECRETBOX_KEY_BYTES 32
#define HG_SECRETBOX_PREFIX "enc1:"
/* Longest sealed form of a "whsec_" secret, with the NUL. */
#define HG_SECRETBOX_SEALED_MAX 192

/* Parses a key given as 64 hex characters or standard base64 of 32 bytes.
 * Returns 0, or -1 with a sentence in err. */
int hg_secretbox_key_parse(const char *text, uint8_t key[HG_SECRETBOX_KEY_BYTES],
                           char *err, size_t errsz);
/* Seals plaintext (at most 1024 bytes) into out (cap bytes). Returns 0, or
 * -1 when the plaintext is longer, out is too small or OpenSSL fails. */
int hg_secretbox_seal(const uint8_t key[HG_SECRETBOX_KEY_BYTES],
                      const char *aad, const char *plaintext, char *out,
                      size_t cap);
/* Opens a sealed value into out (cap bytes); a value without the "enc1:"
 * prefix is copied as it is. Returns 0, or -1 when the value was tampered
 * with, sealed under another key or for another record, or out is too
 * small. */
int hg_secretbox_open(const uint8_t key[HG_SECRETBOX_KEY_BYTES],
                      const char *aad, const char *sealed, char *out,
                      size_t cap);
bool hg_secretbox_is_sealed(const char *value);

/* Longest sealed form of an endpoint's custom header value (at most 1000
 * bytes in clear), with the NUL. */
#define HG_HEADER_SEALED_MAX 1400
/* Writes the additional data that binds a sealed custom header value to
 * its endpoint and header: "<integration>/<endpoint>/header/<name>", the
 * name in lower case. */
void hg_endpoint_header_aad(char *out, size_t cap, const char *integration,
                            const char *endpoint, const char *name);

#endif
