/* SPDX-License-Identifier: MIT */
#include "common/ids.h"

#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#include "common/clock.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

char *hg_id_new(const char *prefix, char *out)
{
    unsigned char bytes[16];
    uuid_t random_part;
    uint64_t ms = (uint64_t)hg_time_ms();
    size_t plen = strlen(prefix);
    unsigned acc = 0;
    int bits = 0;
    size_t o = plen;

    /* 6 bytes of time, big-endian, then 10 random bytes from the kernel.
     * libuuid is only the fallback, because libuuid 2.38.1 reseeds
     * random(3) on every call (about 18,000 instructions per id). */
    for (int i = 0; i < 6; i++)
        bytes[i] = (unsigned char)(ms >> (8 * (5 - i)));
    if (getrandom(bytes + 6, 10, 0) != 10) {
        uuid_generate_random(random_part);
        memcpy(bytes + 6, random_part, 10);
    }

    memcpy(out, prefix, plen);
    /* 128 bits give 25.6 characters; the first character carries 3 bits. */
    acc = 0;
    bits = 2;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | bytes[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = crockford[(acc >> bits) & 31];
        }
    }
    out[o] = '\0';
    return out;
}

bool hg_integration_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '-'));

        if (!ok)
            return false;
    }
    return true;
}

bool hg_id_valid(const char *prefix, const char *s)
{
    size_t plen = strlen(prefix);

    if (strncmp(s, prefix, plen) != 0 || strlen(s + plen) != HG_ID_BODY_LEN)
        return false;
    for (const char *p = s + plen; *p; p++) {
        if (strchr(crockford, *p) == NULL)
            return false;
    }
    return true;
}

char *hg_id_time_prefix(int64_t ms, char out[11])
{
    uint64_t v = ms < 0 ? 0 : (uint64_t)ms;

    for (int i = 9; i >= 0; i--) {
        out[i] = crockford[v & 31];
        v >>= 5;
    }
    out[10] = '\0';
    return out;
}
