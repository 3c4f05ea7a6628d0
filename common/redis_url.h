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

typedef struct hg_redis_url {
    char host[256];        /* empty for a unix socket */
    int port;
    char unix_path[256];   /* empty for TCP */
    char user[128];
    char password[256];
    int db;
} hg_redis_url;

/* Parses s into *out; returns 0, or -1 with a sentence in err. */
int hg_redis_url_parse(const char *s, hg_redis_url *out, char *err,
                       size_t errsz);
/* Writes the URL without its password into buf. */
char *hg_redis_url_redacted(const hg_redis_url *u, char *buf, size_t cap);

#endif
