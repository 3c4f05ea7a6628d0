/* SPDX-License-Identifier: MIT */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/json_intake.h"
#include "common/secretbox.h"
#include "common/sentinel.h"
#include "common/urlpolicy.h"

typedef int (*parse_fn)(hg_config *cfg, const char *value, char *err,
                        size_t errsz);

typedef struct option_def {
    const char *name;
    const char *fallback; /* default value; NULL means unset */
    unsigned services;
    parse_fn parse;
    const char *help;
} option_def;

/* Returns true for an option whose empty value means its default, as a
 * blank assignment in an env file usually does. Every process reads every
 * option, so a blank path or URL that one process does not use must not
 * stop the others. For the other options, empty is a value to check. */
static bool empty_is_default(const char *name)
{
    static const char *const names[] = {
        "HOOKGATE_SANDBOX_SINK_URL", "HOOKGATE_WEB_DIR", "HOOKGATE_CATALOG",
        "HOOKGATE_OPENAPI"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

static int parse_long(const char *value, long long lo, long long hi,
                      long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *value, double lo, double hi,
                        double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(value, &end);
    if (value[0] == '\0' || *end != '\0' || errno != 0 || !(v >= lo) ||
        !(v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *value, bool *out)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
        value[0] == '\0') {
        *out = false;
        return 0;
    }
    return -1;
}

static int parse_addr(const char *value, hg_listen_addr *out)
{
    const char *colon = strrchr(value, ':');
    const char *host = value;
    size_t host_len;
    long long port;

    if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) != 0)
        return -1;
    host_len = (size_t)(colon - value);
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof(out->host))
        return -1;
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    out->port = (int)port;
    return 0;
}

#define INT_OPTION(fn, field, lo, hi, what)                                   \
    static int fn(hg_config *cfg, const char *value, char *err, size_t errsz) \
    {                                                                         \
        long long v;                                                          \
        if (parse_long(value, lo, hi, &v) != 0) {                             \
            snprintf(err, errsz, "must be %s from %lld to %lld", what,        \
                     (long long)(lo), (long long)(hi));                       \
            return -1;                                                        \
        }                                                                     \
        cfg->field = v;                                                       \
        return 0;                                                             \
    }

#define BOOL_OPTION(fn, field)                                                \
    static int fn(hg_config *cfg, const char *value, char *err, size_t errsz) \
    {                                                                         \
        if (parse_bool(value, &cfg->field) != 0) {                            \
            snprintf(err, errsz, "must be 1, 0, true or false");                           \
            return -1;                                                        \
        }                                                                     \
        return 0;                                                             \
    }

#define ADDR_OPTION(fn, field)                                                \
    static int fn(hg_config *cfg, const char *value, char *err, size_t errsz) \
    {                                                                         \
        if (parse_addr(value, &cfg->field) != 0) {                            \
            snprintf(err, errsz, "must be host:port, as in 127.0.0.1:8080");  \
            return -1;                                                        \
        }                                                                     \
        return 0;                                                             \
    }

/* Copies value into a fixed field of size bytes, or fails with a sentence
 * in err when it does not fit. */
static int copy_option(char *field, size_t size, const char *value,
                       char *err, size_t errsz)
{
    if (strlen(value) >= size) {
        snprintf(err, errsz, "is longer than %zu bytes", size - 1);
        return -1;
    }
    strcpy(field, value);
    return 0;
}

#define STRING_OPTION(fn, field)                                              \
    static int fn(hg_config *cfg, const char *value, char *err, size_t errsz) \
    {                                                                         \
        return copy_option(cfg->field, sizeof(cfg->field), value, err,        \
                           errsz);                                            \
    }

INT_OPTION(opt_max_payload, max_payload_bytes, 1024, 64LL << 20, "bytes")
INT_OPTION(opt_threads, threads, 0, 256, "a thread count")
INT_OPTION(opt_json_depth, json_max_depth, HG_JSON_DEFAULT_MAX_DEPTH, 65536,
           "a nesting depth")
INT_OPTION(opt_redis_timeout, redis_timeout_ms, 10, 600000, "milliseconds")
INT_OPTION(opt_connect_timeout, connect_timeout_ms, 10, 600000, "milliseconds")
INT_OPTION(opt_delivery_timeout, delivery_timeout_ms, 100, 600000,
           "milliseconds")
INT_OPTION(opt_capture, response_capture_bytes, 0, 16LL << 20, "bytes")
INT_OPTION(opt_visibility, visibility_timeout_ms, 1000, 86400000,
           "milliseconds")
INT_OPTION(opt_max_inflight, max_inflight, 1, 100000, "a count")
INT_OPTION(opt_shards, work_shards, 1, 64, "a count")
INT_OPTION(opt_retention, event_retention_s, 3600, 365LL * 86400, "seconds")
INT_OPTION(opt_retry_after_max, retry_after_max_s, 1, 7 * 86400, "seconds")
INT_OPTION(opt_sched_interval, scheduler_interval_ms, 5, 60000, "milliseconds")
INT_OPTION(opt_activity, activity_maxlen, 100, 10000000, "a count")
INT_OPTION(opt_sink_captures, sink_capture_limit, 1, 100000, "a count")
INT_OPTION(opt_sink_bytes, sink_capture_bytes, 65536, 1LL << 30, "bytes")
INT_OPTION(opt_feed_max_clients, feed_max_clients, 0, 1000000, "a count")
INT_OPTION(opt_feed_keepalive, feed_keepalive_s, 1, 3600, "seconds")
INT_OPTION(opt_feed_buffer, feed_client_buffer_bytes, 65536, 64LL << 20,
           "bytes")
BOOL_OPTION(opt_allow_private, allow_private_targets)
BOOL_OPTION(opt_sandbox, sandbox)
ADDR_OPTION(opt_gateway_addr, gateway_addr)
ADDR_OPTION(opt_inspector_addr, inspector_addr)
ADDR_OPTION(opt_retry_addr, retry_addr)
INT_OPTION(opt_inspector_gateway_timeout, inspector_gateway_timeout_ms, 100,
           600000, "milliseconds")
INT_OPTION(opt_status_worker_stale, status_worker_stale_ms, 1000, 3600000,
           "milliseconds")

/* Accepts "http://host:port" with an optional trailing "/", where host may
 * be an IPv6 address in brackets. The inspector speaks plain HTTP only. */
static int opt_inspector_gateway_url(hg_config *cfg, const char *value,
                                     char *err, size_t errsz)
{
    char hostport[300];
    size_t len;

    if (value[0] == '\0')
        return 0;
    if (strncmp(value, "http://", 7) != 0) {
        snprintf(err, errsz, "must start with http:// (https is not "
                             "supported), as in http://127.0.0.1:8080");
        return -1;
    }
    len = strlen(value + 7);
    if (len > 0 && value[7 + len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof(hostport) ||
        memchr(value + 7, '/', len) != NULL ||
        memchr(value + 7, '@', len) != NULL) {
        snprintf(err, errsz, "must be http://host:port without a path or "
                             "user, as in http://127.0.0.1:8080");
        return -1;
    }
    memcpy(hostport, value + 7, len);
    hostport[len] = '\0';
    if (parse_addr(hostport, &cfg->inspector_gateway) != 0) {
        snprintf(err, errsz, "must name a port, as in http://127.0.0.1:8080");
        return -1;
    }
    cfg->inspector_gateway_set = true;
    return 0;
}
static int opt_sandbox_key(hg_config *cfg, const char *value, char *err,
                           size_t errsz)
{
    if (strlen(value) < 16 || strlen(value) >= sizeof(cfg->sandbox_api_key) ||
        strpbrk(value, " \t\r\n") != NULL) {
        snprintf(err, errsz, "must be 16 to %zu characters without spaces",
                 sizeof(cfg->sandbox_api_key) - 1);
        return -1;
    }
    strcpy(cfg->sandbox_api_key, value);
    return 0;
}
/* The sandbox endpoint is registered like any other, so its URL gets the
 * same syntax check. It may be private, as the inspector's own sink is. */
static int opt_sandbox_sink(hg_config *cfg, const char *value, char *err,
                            size_t errsz)
{
    char why[256];

    if (hg_url_check(value, true, why, sizeof(why)) != HG_URL_OK) {
        snprintf(err, errsz, "must be an http or https URL: %s", why);
        return -1;
    }
    return copy_option(cfg->sandbox_sink_url, sizeof(cfg->sandbox_sink_url),
                       value, err, errsz);
}

STRING_OPTION(opt_web_dir, web_dir)
STRING_OPTION(opt_catalog, catalog_path)
STRING_OPTION(opt_openapi, openapi_path)
INT_OPTION(opt_api_rate, api_rate_limit, 0, 100000000, "requests per second")
INT_OPTION(opt_integration_rate, integration_rate_limit, 0, 100000000,
           "requests per second")
INT_OPTION(opt_token_ttl, token_ttl_s, 1, 86400, "seconds")
INT_OPTION(opt_secret_grace, secret_grace_s, 0, 30 * 86400, "seconds")
BOOL_OPTION(opt_https_only, https_only)
BOOL_OPTION(opt_inspector_secure_cookie, inspector_secure_cookie)
INT_OPTION(opt_endpoint_concurrency, endpoint_max_concurrency, 0, 10000,
           "a count")
INT_OPTION(opt_breaker_failures, breaker_failures, 1, 100000, "a count")
INT_OPTION(opt_breaker_probe, breaker_probe_s, 1, 86400, "seconds")
INT_OPTION(opt_breaker_probe_max, breaker_probe_max_s, 1, 7 * 86400,
           "seconds")
INT_OPTION(opt_disable_after, disable_after_s, 0, 365LL * 86400, "seconds")
/* Returns true for "host", "host:port", "[v6]" or "[v6]:port" with a port
 * of 1 to 65535, where host is a name or an IPv4 address. */
static bool proxy_hostport_valid(const char *s, size_t len)
{
    size_t host_end;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        /* Brackets contain an IPv6 address only: libcurl rejects
         * "[1.2.3.4]". */
        if (close == NULL || close == s + 1 ||
            memchr(s, ':', (size_t)(close - s)) == NULL)
            return false;
        for (const char *c = s + 1; c < close; c++) {
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return false;
        }
        host_end = (size_t)(close - s) + 1;
    } else {
        host_end = 0;
        while (host_end < len && (isalnum((unsigned char)s[host_end]) ||
                                  strchr(".-_", s[host_end]) != NULL))
            host_end++;
        if (host_end == 0)
            return false;
    }
    if (host_end == len)
        return true;
    if (s[host_end] != ':' || host_end + 1 == len || len - host_end - 1 > 5)
        return false;
    long port = 0;

    for (size_t i = host_end + 1; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* Accepts what libcurl reads as a proxy. That is an optional scheme that
 * it supports for proxies, in any case (none means http, and then a port
 * is required), optional user and password, a host with an optional port,
 * and at most a "/" after it. A
 * mistyped value must stop the worker, because deliveries through a proxy
 * skip the private-address check. */
static int opt_outbound_proxy(hg_config *cfg, const char *value, char *err,
                              size_t errsz)
{
    static const char *const schemes[] = {"http",   "https",  "socks4",
                                          "socks4a", "socks5", "socks5h"};
    const char *authority = value, *sep = strstr(value, "://");
    const char *at;
    size_t len;

    if (value[0] == '\0') {
        cfg->outbound_proxy[0] = '\0';
        return 0;
    }
    if (sep != NULL) {
        bool known = false;

        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
            if ((size_t)(sep - value) == strlen(schemes[i]) &&
                strncasecmp(value, schemes[i], strlen(schemes[i])) == 0)
                known = true;
        }
        if (!known) {
            snprintf(err, errsz,
                     "has an unsupported scheme: use http, https, socks4, "
                     "socks4a, socks5 or socks5h, as in "
                     "http://proxy.internal:3128");
            return -1;
        }
        authority = sep + 3;
    }
    len = strlen(authority);
    if (len > 0 && authority[len - 1] == '/')
        len--;
    /* One "@" ends the user and password; libcurl rejects a second one,
     * which must be written %40. */
    at = memchr(authority, '@', len);
    if (at != NULL && memchr(at + 1, '@', len - (size_t)(at + 1 - authority))) {
        snprintf(err, errsz, "has more than one \"@\": write an \"@\" in "
                             "the user or password as %%40");
        return -1;
    }
    if (at != NULL) {
        for (const char *c = authority; c < at; c++) {
            if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '/')
                goto invalid;
        }
        len -= (size_t)(at + 1 - authority);
        authority = at + 1;
    }
    if (!proxy_hostport_valid(authority, len))
        goto invalid;
    /* A bare word is more likely a typing mistake than a proxy on port
     * 1080, libcurl's default: without a scheme, a port is required. */
    if (sep == NULL && memchr(authority, ':', len) == NULL)
        goto invalid;
    return copy_option(cfg->outbound_proxy, sizeof(cfg->outbound_proxy),
                       value, err, errsz);
invalid:
    snprintf(err, errsz,
             "must be a proxy URL with a host and an optional port of 1 to "
             "65535 and no path, as in http://proxy.internal:3128");
    return -1;
}
INT_OPTION(opt_shutdown_timeout, shutdown_timeout_ms, 0, 3600000,
           "milliseconds")
INT_OPTION(opt_header_timeout, header_timeout_ms, 100, 600000, "milliseconds")
INT_OPTION(opt_body_timeout, body_timeout_ms, 100, 3600000, "milliseconds")
INT_OPTION(opt_idle_timeout, idle_timeout_ms, 100, 3600000, "milliseconds")
INT_OPTION(opt_max_connections, max_connections, 0, 10000000, "a count")
STRING_OPTION(opt_log_file, log_file)
STRING_OPTION(opt_tls_cert, tls_cert)
STRING_OPTION(opt_tls_key, tls_key)
STRING_OPTION(opt_metrics_token, metrics_token)
INT_OPTION(opt_alert_p95, alert_p95_ms, 1, 3600000, "milliseconds")
INT_OPTION(opt_alert_window, alert_window_s, 5, 3600, "seconds")
INT_OPTION(opt_alert_min_samples, alert_min_samples, 1, 1000000000,
           "a count")
INT_OPTION(opt_alert_resolve_after, alert_resolve_after_s, 0, 86400,
           "seconds")
INT_OPTION(opt_alert_eval_interval, alert_eval_interval_ms, 50, 3600000,
           "milliseconds")

static int opt_alert_error_rate(hg_config *cfg, const char *value, char *err,
                                size_t errsz)
{
    if (parse_double(value, 0.0001, 1, &cfg->alert_error_rate) != 0) {
        snprintf(err, errsz, "must be a fraction from 0.0001 to 1");
        return -1;
    }
    return 0;
}

static int opt_alert_resolve_ratio(hg_config *cfg, const char *value,
                                   char *err, size_t errsz)
{
    if (parse_double(value, 0.01, 1, &cfg->alert_resolve_ratio) != 0) {
        snprintf(err, errsz, "must be a fraction from 0.01 to 1");
        return -1;
    }
    return 0;
}
STRING_OPTION(opt_resolve_override, resolve_override)
BOOL_OPTION(opt_allow_unsafe_redis, allow_unsafe_redis)
BOOL_OPTION(opt_secret_key_reset, secret_key_reset)

static int opt_allowed_cidrs(hg_config *cfg, const char *value, char *err,
                             size_t errsz)
{
    return hg_cidr_list_parse(value, &cfg->allowed_cidrs,
                              &cfg->allowed_cidr_count, err, errsz);
}

/* Derives one purpose-bound key from the master key, so the endpoint
 * secrets key and the token key never coincide. */
static void derive_key(const uint8_t master[32], const char *purpose,
                       uint8_t out[32])
{
    hg_hmac_sha256(master, 32, purpose, strlen(purpose), out);
}

static int opt_secret_key(hg_config *cfg, const char *value, char *err,
                          size_t errsz)
{
    uint8_t master[HG_SECRETBOX_KEY_BYTES];

    if (hg_secretbox_key_parse(value, master, err, errsz) != 0)
        return -1;
    derive_key(master, "hookgate endpoint secrets v1",
               cfg->endpoint_secrets_key);
    derive_key(master, "hookgate oauth tokens v1", cfg->token_key);
    memset(master, 0, sizeof(master));
    cfg->secret_key_set = true;
    return 0;
}

static int opt_redis_url(hg_config *cfg, const char *value, char *err,
                         size_t errsz)
{
    return hg_redis_url_parse(value, &cfg->redis, err, errsz);
}

/* Read after HOOKGATE_REDIS_URL, whose parser clears cfg->redis. */
static int opt_redis_sentinels(hg_config *cfg, const char *value, char *err,
                               size_t errsz)
{
    int n;

    cfg->redis.sentinel_count = 0;
    if (value[0] == '\0')
        return 0;
    n = hg_sentinel_list_parse(value, cfg->redis.sentinels,
                               HG_REDIS_MAX_SENTINELS, err, errsz);
    if (n < 0)
        return -1;
    cfg->redis.sentinel_count = n;
    return 0;
}

static int opt_redis_master_name(hg_config *cfg, const char *value, char *err,
                                 size_t errsz)
{
    if (value[0] == '\0')
        return 0;
    if (hg_sentinel_name_check(value, err, errsz) != 0)
        return -1;
    snprintf(cfg->redis.master_name, sizeof(cfg->redis.master_name), "%s",
             value);
    return 0;
}

/* Both Sentinel settings or neither, and never with a unix socket URL. */
static int check_sentinel_settings(const hg_config *cfg, char *err,
                                   size_t errsz)
{
    bool have_list = cfg->redis.sentinel_count > 0;
    bool have_name = cfg->redis.master_name[0] != '\0';

    if (have_list != have_name) {
        snprintf(err, errsz,
                 "%s is missing: set both HOOKGATE_REDIS_SENTINELS and "
                 "HOOKGATE_REDIS_MASTER_NAME for Sentinel discovery, or "
                 "neither",
                 have_list ? "HOOKGATE_REDIS_MASTER_NAME"
                           : "HOOKGATE_REDIS_SENTINELS");
        return -1;
    }
    if (have_list && cfg->redis.unix_path[0] != '\0') {
        snprintf(err, errsz,
                 "invalid HOOKGATE_REDIS_URL: with HOOKGATE_REDIS_SENTINELS "
                 "it must be a redis:// URL (its password and database "
                 "apply to the primary); a unix socket cannot be combined "
                 "with Sentinel discovery");
        return -1;
    }
    return 0;
}

static int opt_admin_key(hg_config *cfg, const char *value, char *err,
                         size_t errsz)
{
    if (strlen(value) < 16) {
        snprintf(err, errsz, "must be at least 16 characters long");
        return -1;
    }
    hg_sha256_hex(value, strlen(value), cfg->admin_key_sha256);
    cfg->admin_key_set = true;
    return 0;
}

static int opt_schedule(hg_config *cfg, const char *value, char *err,
                        size_t errsz)
{
    return hg_schedule_parse(value, &cfg->schedule, err, errsz);
}

static int opt_log_level(hg_config *cfg, const char *value, char *err,
                         size_t errsz)
{
    if (hg_log_level_parse(value, &cfg->log_level) != 0) {
        snprintf(err, errsz, "must be debug, info, warn or error");
        return -1;
    }
    return 0;
}

/* Applied at once, because service start-up passes only the level to
 * hg_log_init(); the value stays in cfg for --help and tests. */
static int opt_log_repeat_window(hg_config *cfg, const char *value, char *err,
                                 size_t errsz)
{
    long long v;

    if (parse_long(value, 0, 3600000, &v) != 0) {
        snprintf(err, errsz, "must be milliseconds from 0 to 3600000");
        return -1;
    }
    cfg->log_repeat_window_ms = v;
    hg_log_set_repeat_window(v);
    return 0;
}

static const option_def options[] = {
    {"HOOKGATE_REDIS_URL", "redis://127.0.0.1:6379/0", HG_SVC_ALL,
     opt_redis_url,
     "Redis to use: redis://[user:password@]host:port/db or unix:///path"},
    {"HOOKGATE_REDIS_SENTINELS", "", HG_SVC_ALL, opt_redis_sentinels,
     "Redis Sentinels (ip:port, comma-separated, IPv6 as [::1]:26379) asked "
     "for the primary's address before every connect; host and port of "
     "HOOKGATE_REDIS_URL are then ignored, its password and database still "
     "apply. Empty: connect to HOOKGATE_REDIS_URL"},
    {"HOOKGATE_REDIS_MASTER_NAME", "", HG_SVC_ALL, opt_redis_master_name,
     "name of the primary the Sentinels monitor (required with "
     "HOOKGATE_REDIS_SENTINELS)"},
    {"HOOKGATE_GATEWAY_ADDR", "127.0.0.1:8080",
     HG_SVC_GATEWAY | HG_SVC_INSPECTOR, opt_gateway_addr,
     "address the gateway API listens on (host:port); the inspector "
     "forwards partner API calls there unless "
     "HOOKGATE_INSPECTOR_GATEWAY_URL is set"},
    {"HOOKGATE_INSPECTOR_GATEWAY_URL", "", HG_SVC_INSPECTOR,
     opt_inspector_gateway_url,
     "gateway the inspector forwards partner API calls to, as "
     "http://host:port, when it does not listen at HOOKGATE_GATEWAY_ADDR"},
    {"HOOKGATE_INSPECTOR_GATEWAY_TIMEOUT_MS", "10000", HG_SVC_INSPECTOR,
     opt_inspector_gateway_timeout,
     "milliseconds the inspector waits for the gateway (connect and "
     "response) before it responds 503"},
    {"HOOKGATE_STATUS_WORKER_STALE_MS", "10000", HG_SVC_INSPECTOR,
     opt_status_worker_stale,
     "milliseconds after its last heartbeat that a delivery worker still "
     "counts as running on the status page"},
    {"HOOKGATE_INSPECTOR_ADDR", "127.0.0.1:8081",
     HG_SVC_INSPECTOR | HG_SVC_GATEWAY, opt_inspector_addr,
     "address the inspector listens on (host:port)"},
    {"HOOKGATE_INSPECTOR_SECURE_COOKIE", "0", HG_SVC_INSPECTOR,
     opt_inspector_secure_cookie,
     "1 marks the inspector's session cookie Secure, for an inspector "
     "served over https by a TLS proxy (also done for requests with "
     "X-Forwarded-Proto: https)"},
    {"HOOKGATE_RETRY_ADDR", "127.0.0.1:8082", HG_SVC_RETRY, opt_retry_addr,
     "address of the delivery worker's /healthz, /readyz and /metrics "
     "(host:port)"},
    {"HOOKGATE_ADMIN_KEY", NULL, HG_SVC_GATEWAY | HG_SVC_INSPECTOR,
     opt_admin_key,
     "admin API key (at least 16 characters); unset: admin routes answer 401"},
    {"HOOKGATE_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,50400,72000,86400",
     HG_SVC_RETRY, opt_schedule,
     "seconds before each retry, comma-separated; each gets up to 20 % "
     "jitter"},
    {"HOOKGATE_ALLOW_PRIVATE_TARGETS", "0", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_allow_private,
     "1 allows endpoints on loopback and private addresses"},
    {"HOOKGATE_MAX_PAYLOAD_BYTES", "1048576",
     HG_SVC_GATEWAY | HG_SVC_INSPECTOR, opt_max_payload,
     "largest accepted event body in bytes; larger bodies answer 413 (sinks "
     "accept twice this)"},
    {"HOOKGATE_LOG_LEVEL", "info", HG_SVC_ALL, opt_log_level,
     "debug, info, warn or error"},
    {"HOOKGATE_LOG_REPEAT_WINDOW_MS", "10000", HG_SVC_ALL,
     opt_log_repeat_window,
     "milliseconds during which a repeated identical warning or error is "
     "counted instead of written; 0 writes every line"},
    {"HOOKGATE_SANDBOX", "0", HG_SVC_GATEWAY | HG_SVC_INSPECTOR, opt_sandbox,
     "1 creates the sandbox integration and its endpoint at start"},
    {"HOOKGATE_SANDBOX_API_KEY", "hgk_sandbox_local_development_key",
     HG_SVC_GATEWAY, opt_sandbox_key,
     "API key of the sandbox integration (sandbox mode only)"},
    {"HOOKGATE_SANDBOX_SINK_URL", NULL, HG_SVC_GATEWAY, opt_sandbox_sink,
     "URL of the sandbox endpoint; unset means the inspector's "
     "/sink/sandbox"},
    {"HOOKGATE_THREADS", "0", HG_SVC_GATEWAY, opt_threads,
     "gateway event loops (threads); 0 means one per CPU core"},
    {"HOOKGATE_JSON_MAX_DEPTH", "512", HG_SVC_GATEWAY, opt_json_depth,
     "deepest nesting of objects and arrays accepted in an event body"},
    {"HOOKGATE_REDIS_TIMEOUT_MS", "5000", HG_SVC_ALL, opt_redis_timeout,
     "deadline of each Redis command in milliseconds"},
    {"HOOKGATE_CONNECT_TIMEOUT_MS", "10000", HG_SVC_RETRY | HG_SVC_GATEWAY,
     opt_connect_timeout,
     "connect timeout of a delivery in milliseconds, and the largest "
     "connect_timeout_ms an endpoint may set"},
    {"HOOKGATE_DELIVERY_TIMEOUT_MS", "30000", HG_SVC_RETRY | HG_SVC_GATEWAY,
     opt_delivery_timeout,
     "total timeout of a delivery in milliseconds, and the largest "
     "timeout_ms an endpoint may set"},
    {"HOOKGATE_RESPONSE_CAPTURE_BYTES", "65536", HG_SVC_RETRY, opt_capture,
     "response body bytes stored per attempt; the rest is not read"},
    {"HOOKGATE_VISIBILITY_TIMEOUT_MS", "120000", HG_SVC_RETRY, opt_visibility,
     "idle time after which a crashed worker's deliveries are taken over"},
    {"HOOKGATE_MAX_INFLIGHT", "512", HG_SVC_RETRY, opt_max_inflight,
     "deliveries one worker sends at the same time"},
    {"HOOKGATE_WORK_SHARDS", "1", HG_SVC_ALL, opt_shards,
     "number of work queue shards; must be equal in every process"},
    {"HOOKGATE_EVENT_RETENTION_S", "1209600", HG_SVC_ALL, opt_retention,
     "seconds events, deliveries and attempts are kept"},
    {"HOOKGATE_RETRY_AFTER_MAX_S", "3600", HG_SVC_RETRY, opt_retry_after_max,
     "ceiling for a receiver's Retry-After, in seconds"},
    {"HOOKGATE_SCHEDULER_INTERVAL_MS", "100", HG_SVC_RETRY,
     opt_sched_interval, "how often due retries are moved to the work queue"},
    {"HOOKGATE_ACTIVITY_MAXLEN", "100000", HG_SVC_ALL, opt_activity,
     "approximate length of the live activity stream"},
    {"HOOKGATE_SINK_CAPTURES", "100", HG_SVC_INSPECTOR, opt_sink_captures,
     "requests kept per sink"},
    {"HOOKGATE_SINK_BYTES", "16777216", HG_SVC_INSPECTOR, opt_sink_bytes,
     "bytes of stored captures kept per sink; the oldest go first"},
    {"HOOKGATE_FEED_MAX_CLIENTS", "0", HG_SVC_INSPECTOR, opt_feed_max_clients,
     "maximum number of live feed (SSE) connections at once; a further "
     "client gets 503. 0 derives it from the open-file limit: that limit "
     "minus 256 (at least half the limit), at most 10000. A value above "
     "what the open-file limit allows is lowered to it"},
    {"HOOKGATE_FEED_KEEPALIVE_S", "15", HG_SVC_INSPECTOR, opt_feed_keepalive,
     "seconds between keep-alive comments on idle live feed connections"},
    {"HOOKGATE_FEED_CLIENT_BUFFER_BYTES", "1048576", HG_SVC_INSPECTOR,
     opt_feed_buffer,
     "unsent live feed output in bytes past which a slow client is "
     "disconnected (it resumes with Last-Event-ID)"},
    {"HOOKGATE_WEB_DIR", HOOKGATE_DEFAULT_WEB_DIR, HG_SVC_INSPECTOR,
     opt_web_dir, "directory of the inspector page"},
    {"HOOKGATE_CATALOG", HOOKGATE_DEFAULT_CATALOG, HG_SVC_GATEWAY,
     opt_catalog,
     "event type catalog (JSON): schemas, examples, deprecations"},
    {"HOOKGATE_OPENAPI", HOOKGATE_DEFAULT_OPENAPI, HG_SVC_GATEWAY,
     opt_openapi, "OpenAPI description served at /openapi.json"},
    {"HOOKGATE_SECRET_KEY", NULL,
     HG_SVC_GATEWAY | HG_SVC_RETRY | HG_SVC_INSPECTOR, opt_secret_key,
     "required: 32 bytes as 64 hex characters or base64; encrypts endpoint "
     "secrets and signs access tokens (the inspector uses it to verify "
     "signatures on sink captures)"},
    {"HOOKGATE_API_RATE_LIMIT", "100", HG_SVC_GATEWAY, opt_api_rate,
     "requests per second per API key or OAuth client (0: no limit)"},
    {"HOOKGATE_INTEGRATION_RATE_LIMIT", "1000", HG_SVC_GATEWAY,
     opt_integration_rate,
     "requests per second per integration, all credentials together (0: no "
     "limit)"},
    {"HOOKGATE_TOKEN_TTL_S", "900", HG_SVC_GATEWAY, opt_token_ttl,
     "lifetime of OAuth access tokens in seconds"},
    {"HOOKGATE_SECRET_GRACE_S", "86400", HG_SVC_GATEWAY, opt_secret_grace,
     "default grace period of a rotated endpoint secret in seconds"},
    {"HOOKGATE_HTTPS_ONLY", "0", HG_SVC_GATEWAY, opt_https_only,
     "1 accepts only https endpoint URLs"},
    {"HOOKGATE_ENDPOINT_MAX_CONCURRENCY", "20", HG_SVC_RETRY,
     opt_endpoint_concurrency,
     "deliveries in flight per endpoint across all workers, unless the "
     "endpoint sets max_concurrency (0: no cap)"},
    {"HOOKGATE_BREAKER_FAILURES", "10", HG_SVC_RETRY, opt_breaker_failures,
     "consecutive failures that open an endpoint's circuit breaker"},
    {"HOOKGATE_BREAKER_PROBE_S", "30", HG_SVC_RETRY, opt_breaker_probe,
     "seconds before an open breaker sends one trial delivery (doubling)"},
    {"HOOKGATE_BREAKER_PROBE_MAX_S", "600", HG_SVC_RETRY,
     opt_breaker_probe_max, "longest wait between trial deliveries"},
    {"HOOKGATE_DISABLE_AFTER_S", "432000", HG_SVC_RETRY, opt_disable_after,
     "seconds of continuous failure after which an endpoint is disabled "
     "(0: never)"},
    {"HOOKGATE_ALLOWED_CIDRS", "", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_allowed_cidrs,
     "comma-separated networks deliveries may reach even though they are "
     "private, such as 10.20.0.0/16"},
    {"HOOKGATE_OUTBOUND_PROXY", "", HG_SVC_RETRY, opt_outbound_proxy,
     "proxy for deliveries (http://host:port; also https, socks4, socks4a, "
     "socks5, socks5h; host:port means http); the proxy then owns the "
     "address policy"},
    {"HOOKGATE_RESOLVE_OVERRIDE", "", HG_SVC_RETRY, opt_resolve_override,
     "for tests: comma-separated host:port:address entries that replace DNS "
     "(libcurl CURLOPT_RESOLVE)"},
    {"HOOKGATE_ALLOW_UNSAFE_REDIS", "0", HG_SVC_RETRY | HG_SVC_GATEWAY,
     opt_allow_unsafe_redis,
     "1 starts even when Redis may lose or evict queued work (no AOF, an "
     "eviction policy)"},
    {"HOOKGATE_SECRET_KEY_RESET", "0",
     HG_SVC_GATEWAY | HG_SVC_RETRY | HG_SVC_INSPECTOR, opt_secret_key_reset,
     "1 accepts a new HOOKGATE_SECRET_KEY after the old one was lost: with "
     "hg:secret_key_check deleted, this process stores it for its key "
     "although no stored endpoint secret opens with it"},
    {"HOOKGATE_SHUTDOWN_TIMEOUT_MS", "20000", HG_SVC_ALL,
     opt_shutdown_timeout,
     "milliseconds a process waits, after SIGTERM or SIGINT, for requests "
     "and deliveries in progress before it exits"},
    {"HOOKGATE_HEADER_TIMEOUT_MS", "10000", HG_SVC_ALL, opt_header_timeout,
     "milliseconds a client has to send a request's line and headers, from "
     "the connection's start or from the first byte of a later request; "
     "then it gets 408 and the connection closes"},
    {"HOOKGATE_BODY_TIMEOUT_MS", "30000", HG_SVC_ALL, opt_body_timeout,
     "milliseconds a client has to send a request body after its headers; "
     "then it gets 408 and the connection closes"},
    {"HOOKGATE_IDLE_TIMEOUT_MS", "60000", HG_SVC_ALL, opt_idle_timeout,
     "milliseconds a keep-alive connection may wait for its next request "
     "before it is closed"},
    {"HOOKGATE_MAX_CONNECTIONS", "0", HG_SVC_ALL, opt_max_connections,
     "open client connections per process; a further connection gets 503 "
     "and is closed at once. 0 derives it from the open-file limit: that "
     "limit minus 256, at least half the limit"},
    {"HOOKGATE_LOG_FILE", "", HG_SVC_ALL, opt_log_file,
     "file the log lines are appended to, reopened on SIGHUP (for "
     "logrotate); empty: standard output"},
    {"HOOKGATE_TLS_CERT", "", HG_SVC_GATEWAY | HG_SVC_INSPECTOR, opt_tls_cert,
     "PEM certificate chain; with HOOKGATE_TLS_KEY, the process listens "
     "with TLS (1.2 or later) and the inspector's session cookie is Secure"},
    {"HOOKGATE_TLS_KEY", "", HG_SVC_GATEWAY | HG_SVC_INSPECTOR, opt_tls_key,
     "PEM private key of HOOKGATE_TLS_CERT"},
    {"HOOKGATE_METRICS_TOKEN", "", HG_SVC_ALL, opt_metrics_token,
     "bearer token that GET /metrics requires; empty: /metrics needs no "
     "credential"},
    {"HOOKGATE_ALERT_ERROR_RATE", "0.05", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_alert_error_rate,
     "default alert threshold of the error rate (failed attempts / all "
     "attempts in the window), as a fraction"},
    {"HOOKGATE_ALERT_P95_MS", "1000", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_alert_p95,
     "default alert threshold of the p95 publish-to-delivery latency, in "
     "milliseconds"},
    {"HOOKGATE_ALERT_WINDOW_S", "300", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_alert_window, "default alert window in seconds (5 to 3600)"},
    {"HOOKGATE_ALERT_MIN_SAMPLES", "10", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_alert_min_samples,
     "default number of attempts a window needs before an alert can "
     "trigger"},
    {"HOOKGATE_ALERT_RESOLVE_RATIO", "0.8", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_alert_resolve_ratio,
     "default fraction of the threshold the value must stay below for an "
     "alert to resolve"},
    {"HOOKGATE_ALERT_RESOLVE_AFTER_S", "60", HG_SVC_GATEWAY | HG_SVC_RETRY,
     opt_alert_resolve_after,
     "default seconds the value must stay below the resolve level before "
     "an alert resolves"},
    {"HOOKGATE_ALERT_EVAL_INTERVAL_MS", "10000", HG_SVC_RETRY,
     opt_alert_eval_interval,
     "how often the worker evaluates the alert rules, in milliseconds"},
};

static void apply_defaults(hg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = HG_LOG_INFO;
    hg_schedule_default(&cfg->schedule);
}

int hg_config_load(hg_config *cfg, unsigned service, char *err, size_t errsz)
{
    char why[512];

    apply_defaults(cfg);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const option_def *o = &options[i];
        const char *value = getenv(o->name);

        if (value == NULL || (value[0] == '\0' && empty_is_default(o->name)))
            value = o->fallback;
        if (value == NULL)
            continue;
        why[0] = '\0';
        if (o->parse(cfg, value, why, sizeof(why)) != 0) {
            snprintf(err, errsz, "invalid %s: %s", o->name, why);
            return -1;
        }
    }

    if (check_sentinel_settings(cfg, err, errsz) != 0)
        return -1;
    if (service & HG_SVC_RETRY &&
        cfg->visibility_timeout_ms <= cfg->delivery_timeout_ms + 5000) {
        snprintf(err, errsz,
                 "invalid HOOKGATE_VISIBILITY_TIMEOUT_MS: must exceed "
                 "HOOKGATE_DELIVERY_TIMEOUT_MS by more than 5000 ms, so a "
                 "delivery still in progress is never taken over");
        return -1;
    }
    if (service & HG_SVC_RETRY) {
        /* A delivery must outlive its last retry, jitter included, or its
         * record would expire while it is still scheduled. */
        long long span = 0;

        for (int i = 0; i < cfg->schedule.count; i++)
            span += cfg->schedule.delay_s[i];
        span = span * (100 + HG_JITTER_PERCENT) / 100 + 3600;
        if (cfg->event_retention_s < span) {
            snprintf(err, errsz,
                     "invalid HOOKGATE_EVENT_RETENTION_S: must be at least "
                     "%lld s, the retry schedule with jitter plus an hour, "
                     "so no delivery expires while a retry is pending",
                     span);
            return -1;
        }
    }
    if ((service & HG_SVC_RETRY) &&
        cfg->breaker_probe_s > cfg->breaker_probe_max_s) {
        snprintf(err, errsz,
                 "invalid HOOKGATE_BREAKER_PROBE_S: %lld s is more than "
                 "HOOKGATE_BREAKER_PROBE_MAX_S (%lld s), the longest wait "
                 "between probes; raise HOOKGATE_BREAKER_PROBE_MAX_S or lower "
                 "HOOKGATE_BREAKER_PROBE_S",
                 (long long)cfg->breaker_probe_s,
                 (long long)cfg->breaker_probe_max_s);
        return -1;
    }
    if ((service & (HG_SVC_GATEWAY | HG_SVC_RETRY)) && !cfg->secret_key_set) {
        snprintf(err, errsz,
                 "HOOKGATE_SECRET_KEY is required: 32 bytes as 64 hex "
                 "characters or base64; generate one with 'openssl rand -hex "
                 "32' and give every process the same value");
        return -1;
    }
    if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0')) {
        snprintf(err, errsz,
                 "%s is missing: set both HOOKGATE_TLS_CERT and "
                 "HOOKGATE_TLS_KEY for TLS, or neither for plain HTTP",
                 cfg->tls_cert[0] ? "HOOKGATE_TLS_KEY" : "HOOKGATE_TLS_CERT");
        return -1;
    }
    /* A session cookie sent over TLS must never travel over plain HTTP. */
    if (cfg->tls_cert[0] != '\0')
        cfg->inspector_secure_cookie = true;
    if (cfg->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        cfg->threads = n > 0 ? (int)n : 1;
    }
    if (cfg->sandbox_sink_url[0] == '\0') {
        snprintf(cfg->sandbox_sink_url, sizeof(cfg->sandbox_sink_url),
                 "http://%s:%d/sink/sandbox", cfg->inspector_addr.host,
                 cfg->inspector_addr.port);
    }
    return 0;
}

void hg_config_print_help(FILE *out, unsigned service)
{
    fprintf(out, "Environment variables:\n");
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const option_def *o = &options[i];

        if (!(o->services & service))
            continue;
        fprintf(out, "  %s\n      %s (default: %s)\n", o->name, o->help,
                o->fallback ? o->fallback : "unset");
    }
}

int hg_config_handle_args(int argc, char **argv, const char *program,
                          const char *summary, unsigned service)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", program, HOOKGATE_VERSION);
            return 1;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: %s [--help] [--version]\n\n%s\n\n", program,
                   summary);
            hg_config_print_help(stdout, service);
            return 1;
        }
        fprintf(stderr, "%s: unknown argument '%s'; try --help\n", program,
                argv[i]);
        return -1;
    }
    return 0;
}
