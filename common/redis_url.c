/* SPDX-License-Identifier: MIT */
#include "common/redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/text.h"

static int parse_int(const char *s, size_t len, int lo, int hi, int *out)
{
    char buf[16];
    char *end;
    long v;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    v = strtol(buf, &end, 10);
    if (*end != '\0' || buf[0] < '0' || buf[0] > '9' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int copy_part(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int parse_unix(const char *rest, hg_redis_url *out, char *err,
                      size_t errsz)
{
    const char *query = strchr(rest, '?');
    size_t len = query ? (size_t)(query - rest) : strlen(rest);

    if (len == 0 || rest[0] != '/') {
        snprintf(err, errsz, "the unix socket path must be absolute, as in "
                             "unix:///run/redis.sock");
        return -1;
    }
    /* connect(2) takes at most sizeof(sun_path) - 1 bytes of path. */
    if (len >= sizeof(((struct sockaddr_un *)NULL)->sun_path) ||
        copy_part(out->unix_path, sizeof(out->unix_path), rest, len) != 0) {
        snprintf(err, errsz, "the unix socket path is longer than %zu bytes",
                 sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
        return -1;
    }
    if (query != NULL) {
        if (strncmp(query, "?db=", 4) != 0 ||
            parse_int(query + 4, strlen(query + 4), 0, 1000, &out->db) != 0) {
            snprintf(err, errsz, "the only query parameter allowed is db=N");
            return -1;
        }
    }
    return 0;
}

/* Copies len bytes of a URL's user or password to dst, percent-decoded,
 * so that a password may contain "/", "@", ":" or "#". Returns -1 when it
 * does not fit or an escape is invalid. */
static int copy_decoded(char *dst, size_t cap, const char *src, size_t len)
{
    return hg_percent_decode(src, len, dst, cap, 0) < 0 ? -1 : 0;
}

static int parse_userinfo(const char *s, size_t len, hg_redis_url *out)
{
    const char *colon = memchr(s, ':', len);

    if (colon == NULL)
        return copy_decoded(out->password, sizeof(out->password), s, len);
    if (copy_decoded(out->user, sizeof(out->user), s,
                     (size_t)(colon - s)) != 0)
        return -1;
    return copy_decoded(out->password, sizeof(out->password), colon + 1,
                        len - (size_t)(colon - s) - 1);
}

static int parse_tcp(const char *rest, hg_redis_url *out, char *err,
                     size_t errsz)
{
    const char *slash = strchr(rest, '/');
    size_t auth_len = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *at = memrchr(rest, '@', auth_len);
    const char *host = at ? at + 1 : rest;
    size_t host_len = auth_len - (size_t)(host - rest);
    const char *colon;

    /* A "/" in the password ends the authority early, so its "@" comes
     * after the first "/". */
    if (slash != NULL && strchr(slash, '@') != NULL) {
        snprintf(err, errsz, "the Redis URL has a \"/\" before its \"@\": "
                             "percent-encode \"/\" as %%2F in the user and "
                             "password (and \"@\" as %%40, \":\" as %%3A, "
                             "\"#\" as %%23, \"%%\" as %%25)");
        return -1;
    }
    if (at != NULL && (memchr(rest, '#', (size_t)(at - rest)) != NULL ||
                       memchr(rest, '?', (size_t)(at - rest)) != NULL)) {
        snprintf(err, errsz, "the user or password in the Redis URL has a "
                             "\"#\" or \"?\": percent-encode them as %%23 "
                             "and %%3F");
        return -1;
    }
    if (at != NULL && parse_userinfo(rest, (size_t)(at - rest), out) != 0) {
        snprintf(err, errsz, "the user or password in the Redis URL is too "
                             "long or has an invalid %%-escape (use %%XX "
                             "with two hex digits, not %%00)");
        return -1;
    }
    if (host_len > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', host_len);

        if (close == NULL) {
            snprintf(err, errsz, "unterminated IPv6 address in the Redis URL");
            return -1;
        }
        if (close + 1 < host + host_len && close[1] != ':') {
            snprintf(err, errsz, "only :port may follow the IPv6 address in "
                                 "the Redis URL");
            return -1;
        }
        /* Brackets hold an IPv6 address, which always has a ":". Without
         * one the host would be written back without brackets by
         * hg_redis_url_redacted() and read differently. Empty brackets
         * are left to the "no host" check. */
        if (close > host + 1 &&
            memchr(host + 1, ':', (size_t)(close - host - 1)) == NULL) {
            snprintf(err, errsz, "the brackets in the Redis URL must hold "
                                 "an IPv6 address, as in redis://[::1]:6379");
            return -1;
        }
        colon = close + 1 < host + host_len ? close + 1 : NULL;
        if (copy_part(out->host, sizeof(out->host), host + 1,
                      (size_t)(close - host - 1)) != 0) {
            snprintf(err, errsz, "the host in the Redis URL is too long");
            return -1;
        }
    } else {
        colon = memchr(host, ':', host_len);
        if (copy_part(out->host, sizeof(out->host), host,
                      colon ? (size_t)(colon - host) : host_len) != 0) {
            snprintf(err, errsz, "the host in the Redis URL is too long");
            return -1;
        }
    }
    if (out->host[0] == '\0') {
        snprintf(err, errsz, "the Redis URL has no host");
        return -1;
    }
    if (colon != NULL &&
        parse_int(colon + 1, (size_t)(host + host_len - colon - 1), 1, 65535,
                  &out->port) != 0) {
        snprintf(err, errsz, "the port in the Redis URL must be 1 to 65535");
        return -1;
    }
    if (slash != NULL && slash[1] != '\0' &&
        parse_int(slash + 1, strlen(slash + 1), 0, 1000, &out->db) != 0) {
        snprintf(err, errsz, "the database in the Redis URL must be a number");
        return -1;
    }
    return 0;
}

int hg_redis_url_parse(const char *s, hg_redis_url *out, char *err,
                       size_t errsz)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;

    if (strncmp(s, "unix://", 7) == 0)
        return parse_unix(s + 7, out, err, errsz);
    if (strncmp(s, "redis://", 8) == 0)
        return parse_tcp(s + 8, out, err, errsz);
    snprintf(err, errsz, "the Redis URL must start with redis:// or unix:// "
                         "(rediss:// is not supported by hiredis 0.14)");
    return -1;
}

char *hg_redis_url_redacted(const hg_redis_url *u, char *buf, size_t cap)
{
    if (u->unix_path[0] != '\0') {
        snprintf(buf, cap, "unix://%s?db=%d", u->unix_path, u->db);
        return buf;
    }
    /* The user is percent-encoded as the parser decodes it, an IPv6
     * address keeps its brackets, and a user without a password keeps its
     * ":" because a lone name before "@" is read as a password, so the
     * output parses again. */
    char user[3 * sizeof(u->user)];
    size_t n = 0;

    for (const unsigned char *c = (const unsigned char *)u->user; *c; c++) {
        if (isalnum(*c) || strchr("-._~", *c) != NULL)
            user[n++] = (char)*c;
        else
            n += (size_t)snprintf(user + n, sizeof(user) - n, "%%%02X", *c);
    }
    user[n] = '\0';
    snprintf(buf, cap, "redis://%s%s%s%s%s%s:%d/%d", user,
             u->password[0] ? ":***" : (u->user[0] ? ":" : ""),
             (u->user[0] || u->password[0]) ? "@" : "",
             strchr(u->host, ':') ? "[" : "", u->host,
             strchr(u->host, ':') ? "]" : "", u->port, u->db);
    return buf;
}
