/* SPDX-License-Identifier: MIT */
#include "common/secretbox.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "common/text.h"

#define NONCE_BYTES 12
#define TAG_BYTES 16
#define PLAIN_MAX 1024 /* bytes: a custom header value is at most 1000 */

int hg_secretbox_key_parse(const char *text, uint8_t key[HG_SECRETBOX_KEY_BYTES],
                           char *err, size_t errsz)
{
    size_t len = strlen(text);
    uint8_t buf[48];

    if (len == 2 * HG_SECRETBOX_KEY_BYTES) {
        for (size_t i = 0; i < HG_SECRETBOX_KEY_BYTES; i++) {
            int hi = hg_hex_value((unsigned char)text[2 * i]);
            int lo = hg_hex_value((unsigned char)text[2 * i + 1]);

            if (hi < 0 || lo < 0)
                goto invalid;
            key[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
    }
    if (hg_base64_decode(text, len, buf, sizeof(buf)) ==
        HG_SECRETBOX_KEY_BYTES) {
        memcpy(key, buf, HG_SECRETBOX_KEY_BYTES);
        OPENSSL_cleanse(buf, sizeof(buf));
        return 0;
    }
invalid:
    snprintf(err, errsz, "must be 32 bytes written as 64 hex characters or "
                         "base64; generate one with 'openssl rand -hex 32'");
    return -1;
}

bool hg_secretbox_is_sealed(const char *value)
{
    return strncmp(value, HG_SECRETBOX_PREFIX, strlen(HG_SECRETBOX_PREFIX)) ==
           0;
}

int hg_secretbox_seal(const uint8_t key[HG_SECRETBOX_KEY_BYTES],
                      const char *aad, const char *plaintext, char *out,
                      size_t cap)
{
    uint8_t box[NONCE_BYTES + PLAIN_MAX + TAG_BYTES];
    size_t plen = strlen(plaintext);
    size_t prefix = strlen(HG_SECRETBOX_PREFIX);
    EVP_CIPHER_CTX *ctx;
    int n = 0, fin = 0, ok;

    if (plen > PLAIN_MAX || cap <= prefix ||
        hg_random_bytes(box, NONCE_BYTES) != 0)
        return -1;
    ctx = EVP_CIPHER_CTX_new();
    ok = ctx != NULL &&
         EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, box) == 1 &&
         EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad,
                           (int)strlen(aad)) == 1 &&
         EVP_EncryptUpdate(ctx, box + NONCE_BYTES, &n,
                           (const uint8_t *)plaintext, (int)plen) == 1 &&
         EVP_EncryptFinal_ex(ctx, box + NONCE_BYTES + n, &fin) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES,
                             box + NONCE_BYTES + plen) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return -1;

    memcpy(out, HG_SECRETBOX_PREFIX, prefix);
    return hg_base64_encode(box, NONCE_BYTES + plen + TAG_BYTES, out + prefix,
                            cap - prefix) < 0
               ? -1
               : 0;
}

int hg_secretbox_open(const uint8_t key[HG_SECRETBOX_KEY_BYTES],
                      const char *aad, const char *sealed, char *out,
                      size_t cap)
{
    uint8_t box[NONCE_BYTES + PLAIN_MAX + TAG_BYTES + 3];
    size_t prefix = strlen(HG_SECRETBOX_PREFIX);
    EVP_CIPHER_CTX *ctx;
    int len, plen, n = 0, fin = 0, ok;

    if (!hg_secretbox_is_sealed(sealed)) {
        if (strlen(sealed) >= cap)
            return -1;
        strcpy(out, sealed);
        return 0;
    }
    len = hg_base64_decode(sealed + prefix, strlen(sealed + prefix), box,
                           sizeof(box));
    plen = len - NONCE_BYTES - TAG_BYTES;
    if (len < 0 || plen < 0 || (size_t)plen >= cap)
        return -1;

    ctx = EVP_CIPHER_CTX_new();
    ok = ctx != NULL &&
         EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, box) == 1 &&
         EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad,
                           (int)strlen(aad)) == 1 &&
         EVP_DecryptUpdate(ctx, (uint8_t *)out, &n, box + NONCE_BYTES,
                           plen) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES,
                             box + NONCE_BYTES + plen) == 1 &&
         EVP_DecryptFinal_ex(ctx, (uint8_t *)out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(out, cap);
        return -1;
    }
    out[plen] = '\0';
    return 0;
}

void hg_endpoint_header_aad(char *out, size_t cap, const char *integration,
                            const char *endpoint, const char *name)
{
    int n = snprintf(out, cap, "%s/%s/header/", integration, endpoint);

    for (size_t i = 0; n >= 0 && (size_t)n + 1 < cap && name[i] != '\0';
         i++)
        out[n++] = (char)tolower((unsigned char)name[i]);
    if (n >= 0 && (size_t)n < cap)
        out[n] = '\0';
}
