/* SPDX-License-Identifier: MIT */
#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void hex_digest(const unsigned char *digest, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

void hg_sha256_hex(const void *data, size_t len, char *out)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];

    SHA256(data, len, digest);
    hex_digest(digest, out);
}

void hg_sha256_hex2(const void *a, size_t alen, const void *b, size_t blen,
                    char *out)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, a, alen) != 1 ||
        EVP_DigestUpdate(ctx, b, blen) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, NULL) != 1) {
        /* Only a broken OpenSSL gets here; abort rather than hash wrong. */
        abort();
    }
    EVP_MD_CTX_free(ctx);
    hex_digest(digest, out);
}

int hg_base64_encode(const uint8_t *data, size_t len, char *out, size_t cap)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    size_t o = 0;

    if (cap < need)
        return -1;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

static int b64_value(char c)
{
    const char *p;

    if (c == '\0')
        return -1;
    p = strchr(b64_alphabet, c);
    return p ? (int)(p - b64_alphabet) : -1;
}

int hg_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t o = 0;

    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;

        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0) {
                return -1; /* data after padding */
            } else if ((v[k] = b64_value(s[i + k])) < 0) {
                return -1;
            }
        }
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                        (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Canonical form only: the bits dropped by padding must be zero. */
        if ((pad == 1 && (bits & 0xff) != 0) ||
            (pad == 2 && (bits & 0xffff) != 0))
            return -1;
        if (o + 3 - (size_t)pad > cap)
            return -1;
        out[o++] = (uint8_t)(bits >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(bits >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)bits;
    }
    return (int)o;
}

int hg_random_bytes(void *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int hg_secret_generate(size_t nbytes, char *out, size_t cap)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    size_t plen = strlen(HG_SECRET_PREFIX);
    int n;

    if (nbytes < HG_SECRET_MIN_BYTES || nbytes > HG_SECRET_MAX_BYTES ||
        cap <= plen || hg_random_bytes(key, nbytes) != 0)
        return -1;
    memcpy(out, HG_SECRET_PREFIX, plen);
    n = hg_base64_encode(key, nbytes, out + plen, cap - plen);
    OPENSSL_cleanse(key, sizeof(key));
    return n < 0 ? -1 : 0;
}

int hg_api_key_generate(const char *prefix, char *out, size_t cap)
{
    uint8_t bytes[32];
    size_t plen = strlen(prefix);
    int n;

    if (cap <= plen || hg_random_bytes(bytes, sizeof(bytes)) != 0)
        return -1;
    memcpy(out, prefix, plen);
    n = hg_base64url_encode(bytes, sizeof(bytes), out + plen, cap - plen);
    OPENSSL_cleanse(bytes, sizeof(bytes));
    return n < 0 ? -1 : 0;
}

int hg_secret_parse(const char *secret, uint8_t *key, size_t cap,
                    const char **why)
{
    size_t plen = strlen(HG_SECRET_PREFIX);
    /* Room for much longer input, so an oversized secret gets the size
     * message rather than a decoding one. */
    uint8_t buf[4 * HG_SECRET_MAX_BYTES];
    int n;

    if (strncmp(secret, HG_SECRET_PREFIX, plen) != 0) {
        *why = "the secret must start with \"whsec_\"";
        return -1;
    }
    n = hg_base64_decode(secret + plen, strlen(secret + plen), buf,
                         sizeof(buf));
    if (n < 0) {
        *why = "the part after \"whsec_\" is not valid padded base64";
        return -1;
    }
    if (n < HG_SECRET_MIN_BYTES || n > HG_SECRET_MAX_BYTES) {
        *why = "the secret must encode 24 to 64 bytes";
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    if ((size_t)n > cap) {
        *why = "the secret is too long";
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    memcpy(key, buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof(buf));
    return n;
}

static EVP_MAC *hmac_algorithm;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/* Fetching an algorithm is costly in OpenSSL 3, so it happens once; the
 * fetched object is safe to share between threads. */
static void fetch_hmac(void)
{
    hmac_algorithm = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

void hg_webhook_sign(const uint8_t *key, size_t keylen, const char *msg_id,
                     long long timestamp, const void *body, size_t body_len,
                     char *out)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char ts[24];
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *ctx;
    int ok;

    pthread_once(&hmac_once, fetch_hmac);
    snprintf(ts, sizeof(ts), "%lld", timestamp);
    ctx = hmac_algorithm ? EVP_MAC_CTX_new(hmac_algorithm) : NULL;
    ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
         EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         EVP_MAC_update(ctx, body, body_len) &&
         EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok) {
        /* An empty signature never verifies, so a broken OpenSSL setup shows
         * up as failed verification rather than a crash. */
        out[0] = '\0';
        return;
    }

    memcpy(out, "v1,", 3);
    hg_base64_encode(mac, mac_len, out + 3, HG_SIGNATURE_LEN - 3);
}

int hg_hmac_sha256(const uint8_t *key, size_t keylen, const void *data,
                   size_t len, uint8_t out[32])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t mac_len = 0;
    EVP_MAC_CTX *ctx;
    int ok;

    pthread_once(&hmac_once, fetch_hmac);
    ctx = hmac_algorithm ? EVP_MAC_CTX_new(hmac_algorithm) : NULL;
    ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
         EVP_MAC_update(ctx, data, len) == 1 &&
         EVP_MAC_final(ctx, out, &mac_len, 32) == 1 && mac_len == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

int hg_base64url_encode(const uint8_t *data, size_t len, char *out,
                        size_t cap)
{
    int n = hg_base64_encode(data, len, out, cap);

    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=') {
            out[i] = '\0';
            return i;
        }
    }
    return n;
}

int hg_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    char buf[512];
    size_t padded = (len + 3) / 4 * 4;

    if (padded >= sizeof(buf) || len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '+' || c == '/' || c == '=')
            return -1;
        buf[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (size_t i = len; i < padded; i++)
        buf[i] = '=';
    return hg_base64_decode(buf, padded, out, cap);
}

bool hg_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
