/* SPDX-License-Identifier: MIT */
#include "common/keys.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

char *hg_key(char *out, const char *integration_id, const char *suffix)
{
    snprintf(out, HG_KEY_MAX, "hg:{%s}:%s", integration_id, suffix);
    return out;
}

char *hg_key_id(char *out, const char *integration_id, const char *kind,
                const char *id)
{
    snprintf(out, HG_KEY_MAX, "hg:{%s}:%s:%s", integration_id, kind, id);
    return out;
}

char *hg_key_apikey(char *out, const char *sha256_hex)
{
    snprintf(out, HG_KEY_MAX, "hg:apikey:%s", sha256_hex);
    return out;
}

int hg_shard_of(const char *integration_id, int shards)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)integration_id; *p;
         p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return shards > 1 ? (int)(h % (uint32_t)shards) : 0;
}

char *hg_key_work(char *out, int shard)
{
    snprintf(out, HG_KEY_MAX, "hg:{wq%d}:work", shard);
    return out;
}

char *hg_key_sched(char *out, int shard)
{
    snprintf(out, HG_KEY_MAX, "hg:{wq%d}:sched", shard);
    return out;
}

bool hg_key_tag_shared(const char *id)
{
    static const char *const tags[] = {"act", "admin", "jobs", "status"};

    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (strcmp(id, tags[i]) == 0)
            return true;
    }
    if (strncmp(id, "wq", 2) != 0 || id[2] == '\0')
        return false;
    for (const char *c = id + 2; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
    }
    return true;
}
