/* SPDX-License-Identifier: MIT
 *
 * Connection states: IDLE (no hiredis context; commands fail at once with
 * UNAVAILABLE), CONNECTING (context exists, handshake queued; commands queue
 * behind it) and READY. Every command is an hg_cmd that lives until both its
 * user callback has run and hiredis no longer refers to it.
 */
#include "common/redis.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sentinel.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define WARN_EVERY_MS 10000
#define EVAL_STACK_ARGS 32
/* Deadline of each Sentinel's reply, connect included. */
#define SENTINEL_TIMEOUT_MS 1000
/* How often a connection queries the Sentinels whether its server is
 * still the primary. A planned failover (SENTINEL FAILOVER) promotes a replica
 * while the old primary keeps accepting writes until it is reconfigured,
 * some seconds later; writes in that window would be lost. */
#define SENTINEL_RECHECK_MS 1000

typedef enum conn_state { STATE_IDLE, STATE_CONNECTING, STATE_READY } conn_state;

typedef struct hg_cmd {
    hg_redis *r;
    hg_redis_cb cb;
    void *arg;
    struct event *timer; /* deadline, or the deferred failure */
    hg_redis_status deferred;
    bool done;
    bool in_hiredis;
    bool is_script;
    TAILQ_ENTRY(hg_cmd) link;
} hg_cmd;

TAILQ_HEAD(cmd_list, hg_cmd);

struct hg_redis {
    struct event_base *base;
    hg_redis_url url;
    hg_redis_options opts;
    char name[64];
    redisAsyncContext *ac;
    conn_state state;
    struct event *reconnect_timer;
    struct event *connect_timer;
    struct evdns_base *dns;
    struct evdns_getaddrinfo_request *dns_request;
    hg_sentinel_query *sentinel_query;
    /* The periodic question to the Sentinels while connected (see
     * SENTINEL_RECHECK_MS), and its timer. */
    hg_sentinel_query *recheck_query;
    struct event *recheck_timer;
    /* Server to connect to: from the URL, or the primary that a Sentinel
     * named on the last lookup. */
    char target_host[256];
    int target_port;
    int backoff_ms;
    int inflight;
    int64_t down_since_ms;
    int64_t last_warn_ms;
    int failed_attempts;
    struct cmd_list cmds;
    /* Reason the last connection attempt failed, "" once connected.
     * Readiness probes read it from other threads, hence the lock. */
    pthread_mutex_t error_lock;
    char last_error[200];
};

static void set_last_error(hg_redis *r, const char *why)
{
    pthread_mutex_lock(&r->error_lock);
    snprintf(r->last_error, sizeof(r->last_error), "%s", why);
    pthread_mutex_unlock(&r->error_lock);
}

void hg_redis_last_error(hg_redis *r, char *out, size_t cap)
{
    pthread_mutex_lock(&r->error_lock);
    snprintf(out, cap, "%s", r->last_error);
    pthread_mutex_unlock(&r->error_lock);
}

static void start_connect(hg_redis *r);
static void connect_to(hg_redis *r, const char *ip);

static bool uses_sentinel(const hg_redis *r)
{
    return r->url.sentinel_count > 0;
}

const char *hg_redis_error_transient(const char *err)
{
    static const struct {
        const char *prefix;
        const char *reason;
    } kinds[] = {
        {"OOM ", "Redis is out of memory"},
        {"LOADING ", "Redis is loading its data"},
        {"BUSY ", "Redis is busy running a script"},
        {"MISCONF ", "Redis cannot persist its data"},
        {"READONLY ", "Redis is a replica"},
        {"MASTERDOWN ", "Redis lost its primary"},
        {"NOREPLICAS ", "Redis has too few replicas"},
        {"TRYAGAIN ", "Redis asked to try again"},
    };

    for (size_t i = 0; err != NULL && i < sizeof(kinds) / sizeof(kinds[0]);
         i++) {
        if (strncmp(err, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
            return kinds[i].reason;
    }
    return NULL;
}

const char *hg_redis_status_text(hg_redis_status s)
{
    switch (s) {
    case HG_REDIS_OK:
        return "ok";
    case HG_REDIS_TIMEOUT:
        return "Redis command timed out";
    case HG_REDIS_DISCONNECTED:
        return "Redis connection closed";
    case HG_REDIS_UNAVAILABLE:
        return "Redis is not connected";
    case HG_REDIS_OVERLOADED:
        return "too many Redis commands in flight";
    case HG_REDIS_NOSCRIPT:
        return "Redis script missing; reloading";
    case HG_REDIS_INVALID:
        return "invalid Redis command";
    }
    return "unknown";
}

/* ---- command lifecycle ------------------------------------------------ */

static void cmd_destroy(hg_cmd *c)
{
    TAILQ_REMOVE(&c->r->cmds, c, link);
    if (c->timer != NULL)
        event_free(c->timer);
    free(c);
}

/* Runs the user callback once; frees the command when hiredis is done too. */
static void cmd_complete(hg_cmd *c, hg_redis_status status, redisReply *reply)
{
    if (c->done)
        return;
    c->done = true;
    c->r->inflight--;
    if (c->timer != NULL)
        evtimer_del(c->timer);
    if (c->cb != NULL)
        c->cb(status, status == HG_REDIS_OK ? reply : NULL, c->arg);
    if (!c->in_hiredis)
        cmd_destroy(c);
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    hg_cmd *c = arg;

    (void)fd;
    (void)what;
    cmd_complete(c, c->deferred, NULL);
}

static hg_cmd *cmd_new(hg_redis *r, hg_redis_cb cb, void *arg)
{
    hg_cmd *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->r = r;
    c->cb = cb;
    c->arg = arg;
    TAILQ_INSERT_TAIL(&r->cmds, c, link);
    r->inflight++;
    return c;
}

/* Completes c on the next loop turn, never inside the issuing call. */
static void cmd_defer(hg_cmd *c, hg_redis_status status)
{
    static const struct timeval now = {0, 0};

    c->deferred = status;
    c->timer = evtimer_new(c->r->base, on_deferred, c);
    evtimer_add(c->timer, &now);
}

static void drop_connection(hg_redis *r, const char *why);

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    hg_cmd *c = arg;
    hg_redis *r = c->r;

    (void)fd;
    (void)what;
    cmd_complete(c, HG_REDIS_TIMEOUT, NULL);
    drop_connection(r, "a command exceeded its deadline");
}

static bool is_noscript(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
           strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

static void load_scripts(hg_redis *r);

static bool is_readonly(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
           strncmp(reply->str, "READONLY", 8) == 0;
}

static void on_reply(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    hg_cmd *c = privdata;
    hg_redis *r = c->r;
    redisReply *reply = reply_ptr;
    /* A failover demoted the server while this connection stayed open, so
     * the new primary must be found through the Sentinels. */
    bool demoted = uses_sentinel(r) && is_readonly(reply) && ac == r->ac;

    c->in_hiredis = false;
    if (c->done) {
        cmd_destroy(c);
    } else if (reply == NULL) {
        cmd_complete(c, HG_REDIS_DISCONNECTED, NULL);
    } else if (c->is_script && is_noscript(reply)) {
        load_scripts(c->r);
        cmd_complete(c, HG_REDIS_NOSCRIPT, NULL);
    } else {
        cmd_complete(c, HG_REDIS_OK, reply);
    }
    if (demoted && ac == r->ac)
        drop_connection(r, "a write got READONLY: the server is a replica");
}

static int effective_timeout(const hg_redis *r, int timeout_ms)
{
    return timeout_ms > 0 ? timeout_ms : r->opts.command_timeout_ms;
}

/* Returns false, after deferring the failure, when c cannot be sent now. */
static bool cmd_admit(hg_cmd *c)
{
    hg_redis *r = c->r;

    if (r->ac == NULL) {
        cmd_defer(c, HG_REDIS_UNAVAILABLE);
        return false;
    }
    if (r->inflight > r->opts.max_inflight) {
        cmd_defer(c, HG_REDIS_OVERLOADED);
        return false;
    }
    return true;
}

/* Arms the deadline of a command that hiredis accepted (rc == REDIS_OK), or
 * defers its failure. */
static void cmd_arm(hg_cmd *c, int rc, int timeout_ms)
{
    hg_redis *r = c->r;
    struct timeval tv;

    if (rc != REDIS_OK) {
        cmd_defer(c, HG_REDIS_DISCONNECTED);
        return;
    }
    c->in_hiredis = true;
    timeout_ms = effective_timeout(r, timeout_ms);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    c->timer = evtimer_new(r->base, on_deadline, c);
    evtimer_add(c->timer, &tv);
}

/* hiredis 0.14 keeps the callback of these commands for every later
 * message, so it would run more than once and after the hg_cmd is freed. */
static bool is_push_command(const char *name, size_t len)
{
    static const char *const names[] = {"subscribe",   "psubscribe",
                                        "ssubscribe",  "unsubscribe",
                                        "punsubscribe", "sunsubscribe",
                                        "monitor"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
            return true;
    }
    return false;
}

static void cmd_send(hg_cmd *c, int timeout_ms, int argc, const char **argv,
                     const size_t *argvlen)
{
    if (argc < 1 ||
        is_push_command(argv[0], argvlen ? argvlen[0] : strlen(argv[0]))) {
        hg_error(NULL, "redis %s: command not supported by this client",
                 c->r->name);
        cmd_defer(c, HG_REDIS_INVALID);
        return;
    }
    if (!cmd_admit(c))
        return;
    cmd_arm(c, redisAsyncCommandArgv(c->r->ac, on_reply, c, argc, argv,
                                     argvlen),
            timeout_ms);
}

static hg_cmd *cmd_new_or_abort(hg_redis *r, hg_redis_cb cb, void *arg)
{
    hg_cmd *c = cmd_new(r, cb, arg);

    if (c == NULL) {
        /* NOTE: out of memory leaves no way to honour the exactly-once
         * contract, so the process stops rather than lose a callback. */
        hg_error(NULL, "out of memory issuing a Redis command");
        abort();
    }
    return c;
}

void hg_redis_command_argv(hg_redis *r, int timeout_ms, hg_redis_cb cb,
                           void *arg, int argc, const char **argv,
                           const size_t *argvlen)
{
    cmd_send(cmd_new_or_abort(r, cb, arg), timeout_ms, argc, argv, argvlen);
}

void hg_redis_command(hg_redis *r, int timeout_ms, hg_redis_cb cb, void *arg,
                      const char *fmt, ...)
{
    hg_cmd *c = cmd_new_or_abort(r, cb, arg);
    va_list ap;
    char *cmd;
    int len;

    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0 || is_push_command(fmt, strcspn(fmt, " "))) {
        hg_error(NULL, "redis %s: invalid or unsupported command \"%.40s\"",
                 r->name, fmt);
        if (len >= 0)
            redisFreeCommand(cmd);
        cmd_defer(c, HG_REDIS_INVALID);
        return;
    }
    if (cmd_admit(c))
        cmd_arm(c, redisAsyncFormattedCommand(r->ac, on_reply, c, cmd,
                                              (size_t)len),
                timeout_ms);
    redisFreeCommand(cmd);
}

void hg_redis_eval(hg_redis *r, const hg_script *script, int timeout_ms,
                   hg_redis_cb cb, void *arg, int numkeys, int argc,
                   const char **argv, const size_t *argvlen)
{
    const char *stack_argv[EVAL_STACK_ARGS];
    size_t stack_len[EVAL_STACK_ARGS];
    const char **full_argv = stack_argv;
    size_t *full_len = stack_len;
    char nkeys[16];
    hg_cmd *c = cmd_new_or_abort(r, cb, arg);

    c->is_script = true;
    if (argc + 3 > EVAL_STACK_ARGS) {
        full_argv = malloc(sizeof(*full_argv) * (size_t)(argc + 3));
        full_len = malloc(sizeof(*full_len) * (size_t)(argc + 3));
        if (full_argv == NULL || full_len == NULL) {
            hg_error(NULL, "out of memory issuing a Redis script");
            abort();
        }
    }

    snprintf(nkeys, sizeof(nkeys), "%d", numkeys);
    full_argv[0] = "EVALSHA";
    full_len[0] = 7;
    full_argv[1] = script->sha1;
    full_len[1] = 40;
    full_argv[2] = nkeys;
    full_len[2] = strlen(nkeys);
    for (int i = 0; i < argc; i++) {
        full_argv[i + 3] = argv[i];
        full_len[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    /* hiredis copies the arguments into its output buffer right away. */
    cmd_send(c, timeout_ms, argc + 3, full_argv, full_len);

    if (full_argv != stack_argv) {
        free(full_argv);
        free(full_len);
    }
}

/* ---- connection ------------------------------------------------------- */

static void warn_down(hg_redis *r, const char *why)
{
    int64_t now = hg_mono_ms();
    char hinted[200];
    hg_log_fields f = {.error = why};

    /* Without AUTH, Redis rejects the first command with NOAUTH, or a
     * large one (SCRIPT LOAD) with "Protocol error: unauthenticated bulk
     * length" (observed with redis-server 7.0.15). */
    if (why != NULL && (strstr(why, "NOAUTH") != NULL ||
                        strstr(why, "unauthenticated") != NULL)) {
        snprintf(hinted, sizeof(hinted),
                 "%.100s (Redis requires a password: add it to "
                 "HOOKGATE_REDIS_URL as redis://:<password>@host:port)",
                 why);
        f.error = why = hinted;
    }
    set_last_error(r, why ? why : "");
    r->failed_attempts++;
    if (now - r->last_warn_ms < WARN_EVERY_MS) {
        hg_debug(&f, "redis %s: connect attempt %d failed", r->name,
                 r->failed_attempts);
        return;
    }
    r->last_warn_ms = now;
    hg_warn(&f, "redis %s: cannot connect (%d attempts so far); retrying",
            r->name, r->failed_attempts);
}

static void schedule_reconnect(hg_redis *r)
{
    struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};

    r->state = STATE_IDLE;
    evtimer_del(r->connect_timer);
    evtimer_add(r->reconnect_timer, &tv);
    r->backoff_ms *= 2;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
}

/* Forgets the context and frees it. hiredis then runs every pending
 * callback with a NULL reply; the disconnect callback sees that the context
 * is no longer ours and does nothing. */
static void drop_connection(hg_redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    hg_log_fields f = {.error = why};

    if (ac == NULL)
        return;
    if (r->state == STATE_READY)
        hg_warn(&f, "redis %s: dropping the connection", r->name);
    r->ac = NULL;
    schedule_reconnect(r);
    redisAsyncFree(ac);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    hg_redis *r = arg;

    (void)fd;
    (void)what;
    if (r->state != STATE_READY) {
        warn_down(r, "connect and handshake timed out");
        drop_connection(r, "connect timed out");
    }
}

/* Drops a server that a Sentinel named but that is not a primary, because
 * the Sentinels have not noticed a failover yet. The next attempt queries
 * them again. */
static void check_role(hg_redis *r, const redisReply *reply)
{
    const char *role = hg_reply_str(reply, 0, NULL);
    char why[384];

    if (role != NULL && strcmp(role, "master") == 0)
        return;
    snprintf(why, sizeof(why),
             "%s:%d is not a primary (ROLE: %.20s); asking the Sentinels "
             "again",
             r->target_host, r->target_port, role ? role : "unknown");
    warn_down(r, why);
    drop_connection(r, why);
}

static void on_handshake_reply(redisAsyncContext *ac, void *reply_ptr,
                               void *privdata)
{
    hg_redis *r = ac->data;
    redisReply *reply = reply_ptr;
    const char *step = privdata;
    char why[256];

    if (r == NULL || ac != r->ac || reply == NULL)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* The reply text of AUTH never contains the password. */
        snprintf(why, sizeof(why), "%s failed: %s", step, reply->str);
        warn_down(r, why);
        drop_connection(r, why);
        return;
    }
    if (strcmp(step, "ROLE") == 0) {
        check_role(r, reply);
        return;
    }
    if (strcmp(step, "PING") != 0)
        return;

    r->state = STATE_READY;
    r->backoff_ms = BACKOFF_MIN_MS;
    evtimer_del(r->connect_timer);
    if (r->failed_attempts > 0 || r->down_since_ms != 0) {
        hg_info(NULL, "redis %s: connected after %d failed attempts",
                r->name, r->failed_attempts);
    } else {
        hg_debug(NULL, "redis %s: connected", r->name);
    }
    r->failed_attempts = 0;
    r->down_since_ms = 0;
    set_last_error(r, "");
    if (uses_sentinel(r) && r->recheck_timer != NULL) {
        struct timeval every = {0, SENTINEL_RECHECK_MS * 1000};

        evtimer_add(r->recheck_timer, &every);
    }
    if (r->opts.on_ready != NULL)
        r->opts.on_ready(r, r->opts.on_ready_arg);
}

static void on_recheck_answer(const char *host, int port, const char *why,
                              void *arg)
{
    hg_redis *r = arg;
    char text[900];

    (void)why;
    r->recheck_query = NULL;
    /* Without a reply the connection stays: its own errors show whether
     * the server is gone. */
    if (host == NULL || r->state != STATE_READY)
        return;
    if (strcmp(host, r->target_host) != 0 || port != r->target_port) {
        snprintf(text, sizeof(text),
                 "the Sentinels name %s:%d as the primary of %s now, not "
                 "%s:%d",
                 host, port, r->url.master_name, r->target_host,
                 r->target_port);
        drop_connection(r, text);
    }
}

static void on_recheck_timer(evutil_socket_t fd, short what, void *arg)
{
    hg_redis *r = arg;
    struct timeval every = {0, SENTINEL_RECHECK_MS * 1000};

    (void)fd;
    (void)what;
    if (r->state != STATE_READY)
        return;
    if (r->recheck_query == NULL)
        r->recheck_query = hg_sentinel_query_start(r->base, &r->url,
                                                   SENTINEL_TIMEOUT_MS,
                                                   on_recheck_answer, r);
    evtimer_add(r->recheck_timer, &every);
}

static void load_scripts(hg_redis *r)
{
    if (r->ac == NULL || r->opts.scripts == NULL)
        return;
    for (hg_script *const *s = r->opts.scripts; *s != NULL; s++) {
        redisAsyncCommand(r->ac, on_handshake_reply, "SCRIPT LOAD",
                          "SCRIPT LOAD %s", (*s)->source);
    }
}

/* Queues AUTH, SELECT and SCRIPT LOAD ahead of any user command. hiredis
 * sends them once the socket connects, and Redis replies in order. */
static void queue_handshake(hg_redis *r)
{
    if (r->url.password[0] != '\0' && r->url.user[0] != '\0') {
        redisAsyncCommand(r->ac, on_handshake_reply, "AUTH", "AUTH %s %s",
                          r->url.user, r->url.password);
    } else if (r->url.password[0] != '\0') {
        redisAsyncCommand(r->ac, on_handshake_reply, "AUTH", "AUTH %s",
                          r->url.password);
    }
    if (r->url.db != 0) {
        redisAsyncCommand(r->ac, on_handshake_reply, "SELECT", "SELECT %d",
                          r->url.db);
    }
    load_scripts(r);
    if (uses_sentinel(r))
        redisAsyncCommand(r->ac, on_handshake_reply, "ROLE", "ROLE");
    redisAsyncCommand(r->ac, on_handshake_reply, "PING", "PING");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    hg_redis *r = ac->data;

    if (r == NULL || ac != r->ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback returns. */
        r->ac = NULL;
        warn_down(r, ac->errstr);
        schedule_reconnect(r);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    hg_redis *r = ac->data;
    hg_log_fields f = {.error = ac->errstr[0] ? ac->errstr : "closed"};

    (void)status;
    if (r == NULL || ac != r->ac)
        return;
    r->ac = NULL;
    r->down_since_ms = hg_mono_ms();
    hg_warn(&f, "redis %s: connection lost; reconnecting", r->name);
    schedule_reconnect(r);
}

static void connect_to(hg_redis *r, const char *ip)
{
    redisAsyncContext *ac;
    struct timeval tv = {r->opts.connect_timeout_ms / 1000,
                         (r->opts.connect_timeout_ms % 1000) * 1000};

    if (r->url.unix_path[0] != '\0')
        ac = redisAsyncConnectUnix(r->url.unix_path);
    else
        ac = redisAsyncConnect(ip, r->target_port);
    if (ac == NULL || ac->err) {
        warn_down(r, ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }

    ac->data = r;
    r->ac = ac;
    r->state = STATE_CONNECTING;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    queue_handshake(r);
    evtimer_add(r->connect_timer, &tv);
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    hg_redis *r = arg;
    char ip[INET6_ADDRSTRLEN];
    const void *addr;

    /* hg_redis_free() cancelled the lookup. libevent reports that on a
     * later loop turn, when r is already freed. */
    if (result == EVUTIL_EAI_CANCEL)
        return;
    r->dns_request = NULL;
    if (result != 0 || res == NULL) {
        warn_down(r, evutil_gai_strerror(result));
        schedule_reconnect(r);
        return;
    }
    if (res->ai_family == AF_INET6)
        addr = &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    else
        addr = &((struct sockaddr_in *)res->ai_addr)->sin_addr;
    evutil_inet_ntop(res->ai_family, addr, ip, sizeof(ip));
    evutil_freeaddrinfo(res);
    connect_to(r, ip);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

/* Resolves target_host, then connects. A host name is resolved with evdns
 * so that the loop never blocks in getaddrinfo. */
static void resolve_and_connect(hg_redis *r)
{
    struct evutil_addrinfo hints;

    if (r->url.unix_path[0] != '\0' || is_ip_literal(r->target_host)) {
        connect_to(r, r->target_host);
        return;
    }
    if (r->dns == NULL) {
        r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (r->dns != NULL)
            evdns_base_load_hosts(r->dns, NULL);
    }
    if (r->dns == NULL) {
        warn_down(r, "cannot start the DNS resolver");
        schedule_reconnect(r);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->state = STATE_CONNECTING;
    r->dns_request = evdns_getaddrinfo(r->dns, r->target_host, NULL, &hints,
                                       on_resolved, r);
}

static void on_primary_found(const char *host, int port, const char *why,
                             void *arg)
{
    hg_redis *r = arg;

    r->sentinel_query = NULL;
    if (host == NULL) {
        warn_down(r, why);
        schedule_reconnect(r);
        return;
    }
    if (strcmp(host, r->target_host) != 0 || port != r->target_port) {
        hg_info(NULL, "redis %s: Sentinel names %s:%d as the primary of %s",
                r->name, host, port, r->url.master_name);
    }
    snprintf(r->target_host, sizeof(r->target_host), "%s", host);
    r->target_port = port;
    resolve_and_connect(r);
}

/* Finds the server to connect to, then connects. With Sentinels, every
 * attempt (the first, and each one after a disconnect) queries them for
 * the current primary. */
static void start_connect(hg_redis *r)
{
    if (!uses_sentinel(r)) {
        resolve_and_connect(r);
        return;
    }
    r->state = STATE_CONNECTING;
    r->sentinel_query = hg_sentinel_query_start(r->base, &r->url,
                                                SENTINEL_TIMEOUT_MS,
                                                on_primary_found, r);
    if (r->sentinel_query == NULL) {
        warn_down(r, "out of memory starting a Sentinel lookup");
        schedule_reconnect(r);
    }
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_connect(arg);
}

hg_redis *hg_redis_new(struct event_base *base, const hg_redis_url *url,
                       const hg_redis_options *opts)
{
    hg_redis *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->base = base;
    r->url = *url;
    r->opts = *opts;
    snprintf(r->name, sizeof(r->name), "%s", opts->name ? opts->name : "");
    snprintf(r->target_host, sizeof(r->target_host), "%s", url->host);
    r->target_port = url->port;
    if (r->opts.command_timeout_ms <= 0)
        r->opts.command_timeout_ms = 5000;
    if (r->opts.connect_timeout_ms <= 0)
        r->opts.connect_timeout_ms = 5000;
    if (r->opts.max_inflight <= 0)
        r->opts.max_inflight = 10000;
    r->backoff_ms = BACKOFF_MIN_MS;
    pthread_mutex_init(&r->error_lock, NULL);
    TAILQ_INIT(&r->cmds);
    r->reconnect_timer = evtimer_new(base, on_reconnect_timer, r);
    r->connect_timer = evtimer_new(base, on_connect_timeout, r);
    r->recheck_timer = evtimer_new(base, on_recheck_timer, r);
    start_connect(r);
    return r;
}

void hg_redis_free(hg_redis *r)
{
    redisAsyncContext *ac;
    hg_cmd *c;

    if (r == NULL)
        return;
    if (r->dns_request != NULL)
        evdns_getaddrinfo_cancel(r->dns_request);
    hg_sentinel_query_cancel(r->sentinel_query);
    hg_sentinel_query_cancel(r->recheck_query);
    ac = r->ac;
    r->ac = NULL;
    if (ac != NULL) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    /* What remains are commands whose failure was deferred. */
    while ((c = TAILQ_FIRST(&r->cmds)) != NULL) {
        c->in_hiredis = false;
        if (c->done)
            cmd_destroy(c);
        else
            cmd_complete(c, HG_REDIS_DISCONNECTED, NULL);
    }
    event_free(r->reconnect_timer);
    event_free(r->connect_timer);
    if (r->recheck_timer != NULL)
        event_free(r->recheck_timer);
    if (r->dns != NULL)
        evdns_base_free(r->dns, 0);
    memset(r->url.password, 0, sizeof(r->url.password));
    pthread_mutex_destroy(&r->error_lock);
    free(r);
}

bool hg_redis_ready(const hg_redis *r)
{
    return r != NULL && r->state == STATE_READY;
}

int hg_redis_inflight(const hg_redis *r)
{
    return r->inflight;
}

void hg_script_prepare(hg_script *script)
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";

    SHA1((const unsigned char *)script->source, strlen(script->source),
         digest);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
        script->sha1[2 * i] = hex[digest[i] >> 4];
        script->sha1[2 * i + 1] = hex[digest[i] & 15];
    }
    script->sha1[40] = '\0';
}

const redisReply *hg_reply_elem(const redisReply *r, size_t i)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return NULL;
    return r->element[i];
}

const char *hg_reply_str(const redisReply *r, size_t i, size_t *len)
{
    const redisReply *e = hg_reply_elem(r, i);

    if (e == NULL ||
        (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS))
        return NULL;
    if (len != NULL)
        *len = e->len;
    return e->str;
}

bool hg_reply_is_error(const redisReply *r)
{
    return r == NULL || r->type == REDIS_REPLY_ERROR;
}
