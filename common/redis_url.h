/* SPDX-License-Identifier: MIT
 *
 * Parsing of HOOKGATE_REDIS_URL: "redis://[user:password@]host:port/db" or
 * "unix:///path/to/socket[?db=N]". The password stays in the struct only for
 * the AUTH command and is never logged; hg_redis_url_redacted() gives the
 * form that may appear in logs.
 */
#ifndef HG_REDIS_URL_H
#define HG_REDIS_URL_H

#include <stddef.h>

/* Most Sentinels HOOKGATE_REDIS_SENTINELS may list. */
#define HG_REDIS_MAX_SENTINELS 8

/* One Sentinel: an IP address literal (no brackets) and a port. */
typedef struct hg_redis_node {
    char host[64];
    int port;
} hg_redis_node;

typedef struct hg_redis_url {
    char host[256];        /* empty for a unix socket */
    int port;
    char unix_path[256];   /* empty for TCP */
    char user[128];
    char password[256];
    int db;
    /* Sentinels asked for the primary's address before each connect, in
     * this order; none when sentinel_count is 0. host and port above are
     * then not used. */
    hg_redis_node sentinels[HG_REDIS_MAX_SENTINELS];
    int sentinel_count;
    char master_name[128];
} hg_redis_url;

/* Parses s into *out; returns 0, or -1 with a sentence in err. */
int hg_redis_url_parse(const char *s, hg_redis_url *out, char *err,
                       size_t errsz);
/* Writes the URL without its password into buf. */
char *hg_redis_url_redacted(const hg_redis_url *u, char *buf, size_t cap);

#endif
