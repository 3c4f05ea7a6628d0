/* SPDX-License-Identifier: MIT
 *
 * The stored form of a delivery attempt record. The worker builds the
 * record as compact JSON and stores it raw-deflated with a preset
 * dictionary of the fields and headers every record repeats, which cuts a
 * typical 700-byte record to about 220 bytes. record_attempt.lua stores
 * "z1:<attempt number>:<deflated JSON>"; records from before this format
 * are plain JSON objects and are still read.
 */
#ifndef HG_ATTEMPT_CODEC_H
#define HG_ATTEMPT_CODEC_H

#include <stddef.h>

#include <jansson.h>

/* Largest JSON text that hg_attempt_pack() and hg_attempt_unpack() take,
 * in bytes. A record contains 16 KiB of response headers at most, and a
 * captured body of HOOKGATE_RESPONSE_CAPTURE_BYTES (16 MiB at most) that
 * JSON escaping can grow six times, so a larger one is damaged. */
#define HG_ATTEMPT_UNPACKED_MAX ((size_t)128 << 20)

/* A reusable deflate state of about 256 KiB, one per event loop. */
typedef struct hg_attempt_packer hg_attempt_packer;

hg_attempt_packer *hg_attempt_packer_new(void);
void hg_attempt_packer_free(hg_attempt_packer *p);

/* Deflates the JSON text json (len bytes) with the preset dictionary.
 * Returns a malloc'ed buffer of *out_len bytes that the caller frees, or
 * NULL when zlib fails. */
unsigned char *hg_attempt_pack(hg_attempt_packer *p, const char *json,
                               size_t len, size_t *out_len);

/* Parses one stored record, packed or plain JSON, into a new object whose
 * first member is "attempt". Returns NULL for a damaged record. */
json_t *hg_attempt_unpack(const char *record, size_t len);

#endif
