/* SPDX-License-Identifier: MIT
 *
 * Tests of the asynchronous Redis client against a real redis-server. Each
 * test that needs a server starts its own on a free loopback port and stops
 * it by PID. Every command records each run of its callback, so the tests
 * check that the callback runs exactly once, and never inside the issuing
 * call, on every path they drive.
 *
 * Needs redis-server on PATH (tested with Redis 7.0).
 */
#include "common/redis.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/redis_check.h"
#include "common/redis_url.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Bound on a redis-server start and on a first connect of the client. */
#define READY_TIMEOUT_MS 5000
/* Bound on a reconnect. redis.c waits at most 2 s between connect attempts,
 * so this leaves room for several of them. */
#define RECONNECT_TIMEOUT_MS 10000
/* Bound on a wait for callbacks that should come within milliseconds. */
#define REPLY_TIMEOUT_MS 5000
/* Extra loop time after the last expected callback, to catch a second run. */
#define SETTLE_MS 150
/* Maximum time that one event_base_loop(EVLOOP_ONCE) call blocks. */
#define TICK_MS 20
#define STOP_TIMEOUT_MS 5000
#define TEST_TIMEOUT_S 30

/* ---- redis-server processes -------------------------------------------- */

typedef struct redis_server {
    pid_t pid; /* 0 when not running */
    int port;
    char dir[96];        /* mkdtemp working directory, empty before start */
    char unix_path[128]; /* unix socket in dir, empty when not used */
    /* Extra command-line arguments, NULL-terminated, or NULL. */
    const char *const *extra_args;
} redis_server;

static redis_server server;

/* Directory that contains the directories of all servers of a run. Check
 * skips the teardown of a failed test and ends its process without running
 * atexit handlers, so main() removes this tree after the last test. The
 * server of a failed test dies through PR_SET_PDEATHSIG. */
static char run_dir[64];

/* Returns a TCP port on 127.0.0.1 that was free a moment ago, or -1. */
static int find_free_port(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

/* Forks and execs redis-server for s. Its output goes to dir/redis.log. */
static pid_t spawn_redis(const redis_server *s)
{
    char port[16];
    char log_path[sizeof(s->dir) + 16];
    const char *argv[48];
    size_t n = 0;
    pid_t parent = getpid();
    pid_t pid;

    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(log_path, sizeof(log_path), "%s/redis.log", s->dir);
    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    if (s->unix_path[0] != '\0') {
        argv[n++] = "--unixsocket";
        argv[n++] = s->unix_path;
        argv[n++] = "--unixsocketperm";
        argv[n++] = "700";
    }
    for (size_t i = 0; s->extra_args != NULL && s->extra_args[i] != NULL;
         i++) {
        ck_assert_msg(n < ARRAY_LEN(argv) - 1,
                      "too many redis-server arguments");
        argv[n++] = s->extra_args[i];
    }
    argv[n] = NULL;

    pid = fork();
    ck_assert_msg(pid >= 0, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        /* The server dies with the test process, also when Check kills the
         * test on its timeout. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Connects with the blocking hiredis API. Returns NULL on failure. */
static redisContext *sync_connect(int port)
{
    struct timeval tv = {0, 500 * 1000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (c != NULL && c->err != 0) {
        redisFree(c);
        return NULL;
    }
    if (c != NULL)
        redisSetTimeout(c, tv);
    return c;
}

/* Returns whether a server replies on port. Any reply counts, because a
 * server with a password replies to PING with a NOAUTH error. */
static bool server_replies(int port)
{
    redisContext *c = sync_connect(port);
    redisReply *reply;

    if (c == NULL)
        return false;
    reply = redisCommand(c, "PING");
    redisFree(c);
    if (reply == NULL)
        return false;
    freeReplyObject(reply);
    return true;
}

static void print_server_log(const redis_server *s)
{
    char path[sizeof(s->dir) + 16];
    char line[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/redis.log", s->dir);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "--- %s ---\n", path);
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
}

/* Spawns the server on s->port and waits until it replies. Returns false,
 * with the server stopped, when it exits early or stays silent. */
static bool server_spawn_and_wait(redis_server *s)
{
    int64_t deadline = hg_mono_ms() + READY_TIMEOUT_MS;
    struct timespec pause = {0, 20 * 1000 * 1000};

    s->pid = spawn_redis(s);
    while (hg_mono_ms() < deadline) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return false;
        }
        if (server_replies(s->port))
            return true;
        nanosleep(&pause, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return false;
}

/* Starts a server on a free port. A port taken by another process between
 * the probe and the server's bind makes the start fail, so it tries again
 * with a new port. */
static void server_start(redis_server *s, const char *const *extra_args,
                         bool with_unix_socket)
{
    bool started = false;

    snprintf(s->dir, sizeof(s->dir), "%s/server.XXXXXX", run_dir);
    ck_assert_msg(mkdtemp(s->dir) != NULL, "mkdtemp failed: %s",
                  strerror(errno));
    s->extra_args = extra_args;
    s->unix_path[0] = '\0';
    if (with_unix_socket)
        snprintf(s->unix_path, sizeof(s->unix_path), "%s/redis.sock", s->dir);

    for (int attempt = 0; attempt < 3 && !started; attempt++) {
        s->port = find_free_port();
        ck_assert_msg(s->port > 0, "no free loopback port: %s",
                      strerror(errno));
        started = server_spawn_and_wait(s);
    }
    if (!started)
        print_server_log(s);
    ck_assert_msg(started, "redis-server did not start on 127.0.0.1:%d",
                  s->port);
}

/* Starts the server again on the port it had, as after a crash. */
static void server_restart(redis_server *s)
{
    bool started = server_spawn_and_wait(s);

    if (!started)
        print_server_log(s);
    ck_assert_msg(started, "redis-server did not restart on 127.0.0.1:%d",
                  s->port);
}

static void server_kill(redis_server *s)
{
    ck_assert_msg(s->pid > 0, "no redis-server to kill");
    ck_assert_msg(kill(s->pid, SIGKILL) == 0, "kill %d failed: %s",
                  (int)s->pid, strerror(errno));
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes a directory with everything in it. */
static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Stops the server with SIGTERM, or SIGKILL after STOP_TIMEOUT_MS, and
 * removes its directory. Does nothing when no server was started. */
static void server_stop(redis_server *s)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    int64_t deadline = hg_mono_ms() + STOP_TIMEOUT_MS;
    bool exited = false;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        while (!exited && hg_mono_ms() < deadline) {
            if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
                exited = true;
            else
                nanosleep(&pause, NULL);
        }
        if (!exited) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
        s->pid = 0;
    }
    if (s->dir[0] != '\0')
        remove_tree(s->dir);
    s->dir[0] = '\0';
}

/* Runs a command on a new blocking connection after SELECT db. */
static redisReply *sync_command(int port, int db, const char *fmt, ...)
{
    redisContext *c = sync_connect(port);
    redisReply *reply = NULL;
    va_list ap;

    if (c == NULL)
        return NULL;
    if (db != 0) {
        reply = redisCommand(c, "SELECT %d", db);
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            freeReplyObject(reply);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(reply);
    }
    va_start(ap, fmt);
    reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return reply;
}

/* Returns blocked_clients from INFO clients, or -1 when the query fails. */
static long server_blocked_clients(int port)
{
    redisReply *reply = sync_command(port, 0, "INFO clients");
    const char *field;
    long n = -1;

    if (reply == NULL)
        return -1;
    if (reply->type == REDIS_REPLY_STRING) {
        field = strstr(reply->str, "blocked_clients:");
        if (field != NULL)
            n = strtol(field + strlen("blocked_clients:"), NULL, 10);
    }
    freeReplyObject(reply);
    return n;
}

/* ---- event loop and callback records ----------------------------------- */

static struct event_base *base;
/* A persistent timer, so that EVLOOP_ONCE never blocks past TICK_MS. */
static struct event *tick;

/* Number of on_ready calls. */
static int ready_calls;
/* Number of record_reply runs over all commands of the test. */
static int callbacks_total;
/* Number of the latest callback run. Each record keeps the number of its
 * first run, which gives the order of the callbacks. */
static int callback_sequence;
/* Above zero while a test is inside an hg_redis_* call that it issued. */
static int issuing_depth;
/* True while a test is inside hg_redis_free. */
static bool in_free;

typedef struct cmd_record {
    int calls;
    int calls_while_issuing;
    int calls_in_free;
    int reply_with_failure; /* runs with a reply but a status other than OK */
    int sequence;           /* callback_sequence at the first run */
    int64_t at_ms;          /* hg_mono_ms at the first run */
    hg_redis_status status; /* status of the last run */
    bool has_reply;
    int reply_type;
    long long integer;
    size_t elements;
    size_t len;
    char str[256]; /* string, status or error text, cut to fit */
} cmd_record;

/* Runs an hg_redis_* call with issuing_depth raised, so that a callback
 * that runs inside the call is counted in calls_while_issuing. */
#define ISSUE(call)                                                           \
    do {                                                                      \
        issuing_depth++;                                                      \
        call;                                                                 \
        issuing_depth--;                                                      \
    } while (0)

static void record_reply(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    cmd_record *rec = arg;

    rec->calls++;
    callbacks_total++;
    if (issuing_depth > 0)
        rec->calls_while_issuing++;
    if (in_free)
        rec->calls_in_free++;
    if (reply != NULL && status != HG_REDIS_OK)
        rec->reply_with_failure++;
    if (rec->calls == 1) {
        rec->sequence = ++callback_sequence;
        rec->at_ms = hg_mono_ms();
    }
    rec->status = status;
    rec->has_reply = reply != NULL;
    if (reply == NULL)
        return;

    rec->reply_type = reply->type;
    rec->integer = reply->integer;
    rec->elements = reply->elements;
    rec->len = 0;
    rec->str[0] = '\0';
    if (reply->type == REDIS_REPLY_STRING ||
        reply->type == REDIS_REPLY_STATUS ||
        reply->type == REDIS_REPLY_ERROR) {
        size_t copied = reply->len;

        if (copied > sizeof(rec->str) - 1)
            copied = sizeof(rec->str) - 1;
        rec->len = reply->len;
        memcpy(rec->str, reply->str, copied);
        rec->str[copied] = '\0';
    }
}

static void count_ready(hg_redis *r, void *arg)
{
    int *count = arg;

    ck_assert_msg(hg_redis_ready(r),
                  "on_ready ran but the client is not ready");
    (*count)++;
}

static void on_tick(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    (void)arg;
}

/* Runs the loop until *count reaches want or timeout_ms passes. Returns
 * whether *count reached want. */
static bool run_until_count(const int *count, int want, int timeout_ms)
{
    int64_t deadline = hg_mono_ms() + timeout_ms;

    while (*count < want && hg_mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE);
    return *count >= want;
}

static void run_for(int ms)
{
    int64_t deadline = hg_mono_ms() + ms;

    while (hg_mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE);
}

/* Runs the loop until the server reports want blocked clients. */
static bool run_until_blocked(int port, long want, int timeout_ms)
{
    int64_t deadline = hg_mono_ms() + timeout_ms;

    while (hg_mono_ms() < deadline) {
        event_base_loop(base, EVLOOP_ONCE);
        if (server_blocked_clients(port) == want)
            return true;
    }
    return false;
}

static void wait_for_callbacks(int want)
{
    ck_assert_msg(run_until_count(&callbacks_total, want, REPLY_TIMEOUT_MS),
                  "%d of %d callbacks ran within %d ms", callbacks_total, want,
                  REPLY_TIMEOUT_MS);
}

static void assert_called_once(const cmd_record *rec, const char *label)
{
    ck_assert_msg(rec->calls == 1, "%s: callback ran %d times, expected once",
                  label, rec->calls);
    ck_assert_msg(rec->calls_while_issuing == 0,
                  "%s: callback ran inside the issuing call", label);
    ck_assert_msg(rec->reply_with_failure == 0,
                  "%s: callback got a reply with a failure status", label);
}

static void assert_status(const cmd_record *rec, hg_redis_status want,
                          const char *label)
{
    ck_assert_msg(rec->status == want, "%s: status \"%s\", expected \"%s\"",
                  label, hg_redis_status_text(rec->status),
                  hg_redis_status_text(want));
}

static void assert_reply_text(const cmd_record *rec, int type,
                              const char *text, const char *label)
{
    ck_assert_msg(rec->has_reply, "%s: callback got no reply", label);
    ck_assert_msg(rec->reply_type == type, "%s: reply type %d, expected %d",
                  label, rec->reply_type, type);
    ck_assert_msg(strcmp(rec->str, text) == 0,
                  "%s: reply \"%s\", expected \"%s\"", label, rec->str, text);
}

static void assert_reply_integer(const cmd_record *rec, long long want,
                                 const char *label)
{
    ck_assert_msg(rec->has_reply, "%s: callback got no reply", label);
    ck_assert_msg(rec->reply_type == REDIS_REPLY_INTEGER,
                  "%s: reply type %d, expected an integer", label,
                  rec->reply_type);
    ck_assert_msg(rec->integer == want, "%s: reply %lld, expected %lld", label,
                  rec->integer, want);
}

/* ---- clients ----------------------------------------------------------- */

static hg_redis_options default_options(void)
{
    hg_redis_options opts;

    memset(&opts, 0, sizeof(opts));
    opts.name = "test";
    opts.command_timeout_ms = 3000;
    opts.connect_timeout_ms = 1000;
    opts.on_ready = count_ready;
    opts.on_ready_arg = &ready_calls;
    return opts;
}

static void tcp_url(char *buf, size_t cap, int port)
{
    snprintf(buf, cap, "redis://127.0.0.1:%d", port);
}

/* Creates a client for url_text without waiting for the connection. */
static hg_redis *client_new(const char *url_text, const hg_redis_options *opts)
{
    hg_redis_url url;
    char err[256] = "";
    hg_redis *r;

    ck_assert_msg(hg_redis_url_parse(url_text, &url, err, sizeof(err)) == 0,
                  "URL \"%s\" rejected: %s", url_text, err);
    r = hg_redis_new(base, &url, opts);
    ck_assert_msg(r != NULL, "hg_redis_new returned NULL");
    ck_assert_msg(ready_calls == 0, "on_ready ran inside hg_redis_new");
    return r;
}

/* Creates a client and runs the loop until its first on_ready call. */
static hg_redis *client_connect(const char *url_text,
                                const hg_redis_options *opts)
{
    hg_redis *r = client_new(url_text, opts);

    ck_assert_msg(run_until_count(&ready_calls, 1, READY_TIMEOUT_MS),
                  "client for %s not ready within %d ms", url_text,
                  READY_TIMEOUT_MS);
    ck_assert_msg(hg_redis_ready(r), "hg_redis_ready is false after on_ready");
    return r;
}

/* Creates a client for the test's server with the default options. */
static hg_redis *client_connect_default(void)
{
    hg_redis_options opts = default_options();
    char url[64];

    tcp_url(url, sizeof(url), server.port);
    return client_connect(url, &opts);
}

/* ---- fixture ----------------------------------------------------------- */

static void setup(void)
{
    struct timeval period = {0, TICK_MS * 1000};

    /* hiredis 0.14 writes with write(2), so a write to a server that died
     * would raise SIGPIPE. The services ignore it in main() as well. */
    signal(SIGPIPE, SIG_IGN);
    memset(&server, 0, sizeof(server));
    ready_calls = 0;
    callbacks_total = 0;
    callback_sequence = 0;
    issuing_depth = 0;
    in_free = false;

    base = event_base_new();
    ck_assert_msg(base != NULL, "event_base_new failed");
    tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    ck_assert_msg(tick != NULL, "event_new failed");
    event_add(tick, &period);
}

/* Runs setup() and starts a server with the default options. */
static void setup_with_server(void)
{
    setup();
    server_start(&server, NULL, false);
}

static void teardown(void)
{
    if (tick != NULL)
        event_free(tick);
    tick = NULL;
    if (base != NULL)
        event_base_free(base);
    base = NULL;
    server_stop(&server);
}

/* ---- reply paths ------------------------------------------------------- */

START_TEST(redis_ping_replies_pong)
{
    hg_redis *r = client_connect_default();
    cmd_record ping = {0};

    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    ck_assert_int_eq(ping.calls, 0);
    ck_assert_int_eq(hg_redis_inflight(r), 1);

    wait_for_callbacks(1);
    run_for(SETTLE_MS);

    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_OK, "PING");
    assert_reply_text(&ping, REDIS_REPLY_STATUS, "PONG", "PING");
    ck_assert_int_eq(hg_redis_inflight(r), 0);
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_set_get_binary)
{
    static const char value[] = "a\0b\xff\r\nz";
    const size_t value_len = sizeof(value) - 1;
    hg_redis *r = client_connect_default();
    cmd_record set = {0};
    cmd_record get = {0};

    ISSUE(hg_redis_command(r, 0, record_reply, &set, "SET %s %b",
                           "hg:test:binary", value, value_len));
    ISSUE(hg_redis_command(r, 0, record_reply, &get, "GET %s",
                           "hg:test:binary"));
    ck_assert_int_eq(set.calls, 0);
    ck_assert_int_eq(get.calls, 0);

    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&set, "SET");
    assert_called_once(&get, "GET");
    assert_status(&set, HG_REDIS_OK, "SET");
    assert_reply_text(&set, REDIS_REPLY_STATUS, "OK", "SET");
    assert_status(&get, HG_REDIS_OK, "GET");
    ck_assert_int_eq(get.reply_type, REDIS_REPLY_STRING);
    ck_assert_uint_eq(get.len, value_len);
    ck_assert_msg(memcmp(get.str, value, value_len) == 0,
                  "GET returned other bytes than SET stored");
    ck_assert_int_lt(set.sequence, get.sequence);
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_set_get_argv)
{
    static const char value[] = "x\0y";
    const char *set_argv[] = {"SET", "hg:test:argv", value};
    const size_t set_len[] = {3, 12, sizeof(value) - 1};
    const char *get_argv[] = {"GET", "hg:test:argv"};
    hg_redis *r = client_connect_default();
    cmd_record set = {0};
    cmd_record get = {0};

    ISSUE(hg_redis_command_argv(r, 0, record_reply, &set, 3, set_argv,
                                set_len));
    ISSUE(hg_redis_command_argv(r, 0, record_reply, &get, 2, get_argv, NULL));
    ck_assert_int_eq(set.calls, 0);
    ck_assert_int_eq(get.calls, 0);

    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&set, "SET");
    assert_called_once(&get, "GET");
    assert_status(&get, HG_REDIS_OK, "GET");
    ck_assert_int_eq(get.reply_type, REDIS_REPLY_STRING);
    ck_assert_uint_eq(get.len, sizeof(value) - 1);
    ck_assert_msg(memcmp(get.str, value, sizeof(value) - 1) == 0,
                  "GET returned other bytes than SET stored");
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_error_reply_is_ok)
{
    hg_redis *r = client_connect_default();
    cmd_record unknown = {0};
    cmd_record ping = {0};

    ISSUE(hg_redis_command(r, 0, record_reply, &unknown, "NOSUCHCOMMAND %s",
                           "arg"));
    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    ck_assert_int_eq(unknown.calls, 0);

    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&unknown, "unknown command");
    assert_status(&unknown, HG_REDIS_OK, "unknown command");
    ck_assert_msg(unknown.has_reply, "unknown command: no reply");
    ck_assert_int_eq(unknown.reply_type, REDIS_REPLY_ERROR);
    ck_assert_msg(strncmp(unknown.str, "ERR unknown command", 19) == 0,
                  "unexpected error text \"%s\"", unknown.str);

    /* An error reply leaves the connection in use. */
    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_OK, "PING");
    ck_assert_int_eq(ready_calls, 1);
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_command_before_ready)
{
    hg_script answer = {.name = "answer", .source = "return 42"};
    hg_script *scripts[] = {&answer, NULL};
    hg_redis_options opts = default_options();
    cmd_record ping = {0};
    cmd_record eval = {0};
    char url[64];
    hg_redis *r;

    hg_script_prepare(&answer);
    opts.scripts = scripts;
    tcp_url(url, sizeof(url), server.port);
    r = client_new(url, &opts);

    /* Both commands queue behind the handshake, which loads the script. */
    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    ISSUE(hg_redis_eval(r, &answer, 0, record_reply, &eval, 0, 0, NULL,
                        NULL));
    ck_assert_int_eq(ping.calls, 0);
    ck_assert_int_eq(eval.calls, 0);
    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_OK, "PING");
    assert_called_once(&eval, "EVALSHA");
    assert_status(&eval, HG_REDIS_OK, "EVALSHA");
    assert_reply_integer(&eval, 42, "EVALSHA");
    ck_assert_int_eq(ready_calls, 1);
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_invalid_format_fails_once)
{
    hg_redis *r = client_connect_default();
    cmd_record invalid = {0};
    cmd_record ping = {0};

    /* hiredis rejects %q before anything is sent. */
    ISSUE(hg_redis_command(r, 0, record_reply, &invalid, "GET %q"));
    ck_assert_int_eq(invalid.calls, 0);
    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&invalid, "GET %q");
    ck_assert_msg(invalid.status != HG_REDIS_OK,
                  "GET %%q: status \"%s\", expected a failure",
                  hg_redis_status_text(invalid.status));
    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_OK, "PING");
    ck_assert_int_eq(ready_calls, 1);
    hg_redis_free(r);
}
END_TEST

/* ---- deadline ---------------------------------------------------------- */

START_TEST(redis_deadline_drops_connection)
{
    hg_redis *r = client_connect_default();
    cmd_record blpop = {0};
    cmd_record queued = {0};
    cmd_record after = {0};
    int64_t issued_ms;

    issued_ms = hg_mono_ms();
    ISSUE(hg_redis_command(r, 200, record_reply, &blpop, "BLPOP %s 10",
                           "hg:test:empty"));
    ISSUE(hg_redis_command(r, 0, record_reply, &queued, "PING"));
    ck_assert_int_eq(blpop.calls, 0);
    ck_assert_int_eq(queued.calls, 0);

    wait_for_callbacks(2);
    assert_status(&blpop, HG_REDIS_TIMEOUT, "BLPOP");
    assert_status(&queued, HG_REDIS_DISCONNECTED, "PING behind BLPOP");
    ck_assert_int_lt(blpop.sequence, queued.sequence);
    ck_assert_msg(blpop.at_ms - issued_ms >= 150,
                  "deadline of 200 ms fired after %lld ms",
                  (long long)(blpop.at_ms - issued_ms));
    ck_assert_msg(blpop.at_ms - issued_ms < 2000,
                  "deadline of 200 ms fired after %lld ms",
                  (long long)(blpop.at_ms - issued_ms));
    ck_assert_msg(!hg_redis_ready(r), "client still ready after a deadline");

    ck_assert_msg(run_until_count(&ready_calls, 2, RECONNECT_TIMEOUT_MS),
                  "no reconnect within %d ms", RECONNECT_TIMEOUT_MS);
    ISSUE(hg_redis_command(r, 0, record_reply, &after, "PING"));
    wait_for_callbacks(3);
    run_for(SETTLE_MS);

    assert_called_once(&blpop, "BLPOP");
    assert_called_once(&queued, "PING behind BLPOP");
    assert_called_once(&after, "PING after reconnect");
    assert_status(&after, HG_REDIS_OK, "PING after reconnect");
    assert_reply_text(&after, REDIS_REPLY_STATUS, "PONG",
                      "PING after reconnect");
    ck_assert_int_eq(ready_calls, 2);
    hg_redis_free(r);
}
END_TEST

/* A command whose callback, on its first failure, issues a PING from inside
 * the callback. */
typedef struct reissue {
    hg_redis *r;
    cmd_record first;
    cmd_record second;
    int second_calls_after_issue;
} reissue;

static void reissue_on_failure(hg_redis_status status, redisReply *reply,
                               void *arg)
{
    reissue *re = arg;

    record_reply(status, reply, &re->first);
    if (status == HG_REDIS_OK || re->first.calls != 1)
        return;
    ISSUE(hg_redis_command(re->r, 0, record_reply, &re->second, "PING"));
    re->second_calls_after_issue = re->second.calls;
}

START_TEST(redis_reissue_after_timeout)
{
    hg_redis *r = client_connect_default();
    reissue re = {.r = r};
    cmd_record after = {0};

    ISSUE(hg_redis_command(r, 200, reissue_on_failure, &re, "BLPOP %s 10",
                           "hg:test:empty"));
    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&re.first, "BLPOP");
    assert_status(&re.first, HG_REDIS_TIMEOUT, "BLPOP");
    ck_assert_int_eq(re.second_calls_after_issue, 0);
    /* redis.c drops the connection after the TIMEOUT callback returns, so
     * a PING issued inside that callback fails too. */
    assert_called_once(&re.second, "PING issued in the TIMEOUT callback");
    ck_assert_msg(re.second.status != HG_REDIS_OK,
                  "PING issued in the TIMEOUT callback got a reply");

    ck_assert_msg(run_until_count(&ready_calls, 2, RECONNECT_TIMEOUT_MS),
                  "no reconnect within %d ms", RECONNECT_TIMEOUT_MS);
    ISSUE(hg_redis_command(r, 0, record_reply, &after, "PING"));
    wait_for_callbacks(3);
    assert_status(&after, HG_REDIS_OK, "PING after reconnect");
    hg_redis_free(r);
}
END_TEST

/* ---- server gone ------------------------------------------------------- */

START_TEST(redis_server_kill_disconnects)
{
    hg_redis *r = client_connect_default();
    cmd_record blpop = {0};
    cmd_record down_first = {0};
    cmd_record down[4];
    cmd_record after = {0};
    char label[64];

    memset(down, 0, sizeof(down));
    ISSUE(hg_redis_command(r, 20000, record_reply, &blpop, "BLPOP %s 10",
                           "hg:test:empty"));
    ck_assert_msg(run_until_blocked(server.port, 1, REPLY_TIMEOUT_MS),
                  "BLPOP did not block at the server");
    server_kill(&server);

    wait_for_callbacks(1);
    assert_status(&blpop, HG_REDIS_DISCONNECTED, "BLPOP");
    ck_assert_msg(!hg_redis_ready(r), "client still ready after the kill");

    /* Right after the disconnect the client has no connection and waits
     * for its reconnect timer, so the failure is UNAVAILABLE. */
    ISSUE(hg_redis_command(r, 0, record_reply, &down_first, "PING"));
    ck_assert_int_eq(down_first.calls, 0);
    wait_for_callbacks(2);
    assert_status(&down_first, HG_REDIS_UNAVAILABLE, "PING while down");

    /* Later commands may meet a connect attempt in progress. That attempt
     * fails, so they end DISCONNECTED instead. */
    for (size_t i = 0; i < ARRAY_LEN(down); i++) {
        ISSUE(hg_redis_command(r, 0, record_reply, &down[i], "PING"));
        ck_assert_int_eq(down[i].calls, 0);
        run_for(150);
    }
    wait_for_callbacks(2 + (int)ARRAY_LEN(down));
    for (size_t i = 0; i < ARRAY_LEN(down); i++) {
        snprintf(label, sizeof(label), "PING %zu while down", i);
        ck_assert_msg(down[i].status == HG_REDIS_UNAVAILABLE ||
                          down[i].status == HG_REDIS_DISCONNECTED,
                      "%s: status \"%s\", expected a failure", label,
                      hg_redis_status_text(down[i].status));
    }
    ck_assert_int_eq(ready_calls, 1);

    server_restart(&server);
    ck_assert_msg(run_until_count(&ready_calls, 2, RECONNECT_TIMEOUT_MS),
                  "no reconnect within %d ms of the restart",
                  RECONNECT_TIMEOUT_MS);
    ISSUE(hg_redis_command(r, 0, record_reply, &after, "PING"));
    wait_for_callbacks(3 + (int)ARRAY_LEN(down));
    run_for(SETTLE_MS);

    assert_called_once(&blpop, "BLPOP");
    assert_called_once(&down_first, "PING while down");
    for (size_t i = 0; i < ARRAY_LEN(down); i++) {
        snprintf(label, sizeof(label), "PING %zu while down", i);
        assert_called_once(&down[i], label);
    }
    assert_called_once(&after, "PING after restart");
    assert_status(&after, HG_REDIS_OK, "PING after restart");
    assert_reply_text(&after, REDIS_REPLY_STATUS, "PONG",
                      "PING after restart");
    ck_assert_int_eq(ready_calls, 2);
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_reissue_after_disconnect)
{
    hg_redis *r = client_connect_default();
    reissue re = {.r = r};

    ISSUE(hg_redis_command(r, 20000, reissue_on_failure, &re, "BLPOP %s 10",
                           "hg:test:empty"));
    ck_assert_msg(run_until_blocked(server.port, 1, REPLY_TIMEOUT_MS),
                  "BLPOP did not block at the server");
    server_kill(&server);

    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&re.first, "BLPOP");
    assert_status(&re.first, HG_REDIS_DISCONNECTED, "BLPOP");
    ck_assert_int_eq(re.second_calls_after_issue, 0);
    assert_called_once(&re.second, "PING issued in the DISCONNECTED callback");
    ck_assert_msg(re.second.status == HG_REDIS_UNAVAILABLE ||
                      re.second.status == HG_REDIS_DISCONNECTED,
                  "PING issued in the DISCONNECTED callback: status \"%s\"",
                  hg_redis_status_text(re.second.status));
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_unreachable_fails_commands)
{
    hg_redis_options opts = default_options();
    cmd_record recs[6];
    char url[64];
    char label[64];
    int port = find_free_port();
    hg_redis *r;

    ck_assert_int_gt(port, 0);
    memset(recs, 0, sizeof(recs));
    tcp_url(url, sizeof(url), port);
    r = client_new(url, &opts);

    /* The first command meets the first connect attempt. The others meet
     * the client between attempts or during later ones. */
    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        ISSUE(hg_redis_command(r, 0, record_reply, &recs[i], "PING"));
        ck_assert_int_eq(recs[i].calls, 0);
        run_for(120);
    }
    wait_for_callbacks((int)ARRAY_LEN(recs));
    run_for(SETTLE_MS);

    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        snprintf(label, sizeof(label), "PING %zu", i);
        assert_called_once(&recs[i], label);
        ck_assert_msg(recs[i].status == HG_REDIS_UNAVAILABLE ||
                          recs[i].status == HG_REDIS_DISCONNECTED,
                      "%s: status \"%s\", expected a failure", label,
                      hg_redis_status_text(recs[i].status));
    }
    ck_assert_int_eq(ready_calls, 0);
    ck_assert_msg(!hg_redis_ready(r), "client ready without a server");
    ck_assert_int_eq(hg_redis_inflight(r), 0);
    hg_redis_free(r);
    run_for(SETTLE_MS);
}
END_TEST

/* ---- overload ---------------------------------------------------------- */

START_TEST(redis_overload_rejects_excess)
{
    hg_redis_options opts = default_options();
    cmd_record recs[10];
    cmd_record after = {0};
    char url[64];
    char label[64];
    int ok = 0;
    int overloaded = 0;
    hg_redis *r;

    opts.max_inflight = 3;
    tcp_url(url, sizeof(url), server.port);
    r = client_connect(url, &opts);
    memset(recs, 0, sizeof(recs));

    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        ISSUE(hg_redis_command(r, 0, record_reply, &recs[i], "PING"));
        ck_assert_int_eq(recs[i].calls, 0);
    }
    ck_assert_int_eq(hg_redis_inflight(r), (int)ARRAY_LEN(recs));

    wait_for_callbacks((int)ARRAY_LEN(recs));
    run_for(SETTLE_MS);

    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        snprintf(label, sizeof(label), "PING %zu", i);
        assert_called_once(&recs[i], label);
        if (recs[i].status == HG_REDIS_OK)
            ok++;
        else if (recs[i].status == HG_REDIS_OVERLOADED)
            overloaded++;
    }
    /* Nothing completed while the ten were issued, so the first three took
     * the three places and the other seven were rejected. */
    ck_assert_int_eq(ok, 3);
    ck_assert_int_eq(overloaded, 7);
    for (size_t i = 0; i < 3; i++) {
        snprintf(label, sizeof(label), "PING %zu", i);
        assert_status(&recs[i], HG_REDIS_OK, label);
    }
    ck_assert_int_eq(hg_redis_inflight(r), 0);

    /* The places free up once the replies are in. */
    ISSUE(hg_redis_command(r, 0, record_reply, &after, "PING"));
    wait_for_callbacks((int)ARRAY_LEN(recs) + 1);
    assert_called_once(&after, "PING after the burst");
    assert_status(&after, HG_REDIS_OK, "PING after the burst");
    hg_redis_free(r);
}
END_TEST

/* ---- scripts ----------------------------------------------------------- */

START_TEST(redis_noscript_reloads_scripts)
{
    hg_script answer = {.name = "answer", .source = "return 42"};
    hg_script *scripts[] = {&answer, NULL};
    hg_redis_options opts = default_options();
    cmd_record before = {0};
    cmd_record flush = {0};
    cmd_record missing = {0};
    cmd_record reloaded = {0};
    char url[64];
    hg_redis *r;

    hg_script_prepare(&answer);
    opts.scripts = scripts;
    tcp_url(url, sizeof(url), server.port);
    r = client_connect(url, &opts);

    ISSUE(hg_redis_eval(r, &answer, 0, record_reply, &before, 0, 0, NULL,
                        NULL));
    ck_assert_int_eq(before.calls, 0);
    wait_for_callbacks(1);
    assert_status(&before, HG_REDIS_OK, "EVALSHA before the flush");
    assert_reply_integer(&before, 42, "EVALSHA before the flush");

    ISSUE(hg_redis_command(r, 0, record_reply, &flush, "SCRIPT FLUSH"));
    wait_for_callbacks(2);
    assert_status(&flush, HG_REDIS_OK, "SCRIPT FLUSH");
    assert_reply_text(&flush, REDIS_REPLY_STATUS, "OK", "SCRIPT FLUSH");

    ISSUE(hg_redis_eval(r, &answer, 0, record_reply, &missing, 0, 0, NULL,
                        NULL));
    ck_assert_int_eq(missing.calls, 0);
    wait_for_callbacks(3);
    assert_status(&missing, HG_REDIS_NOSCRIPT, "EVALSHA after the flush");
    ck_assert_msg(!missing.has_reply, "NOSCRIPT callback got a reply");

    ISSUE(hg_redis_eval(r, &answer, 0, record_reply, &reloaded, 0, 0, NULL,
                        NULL));
    wait_for_callbacks(4);
    run_for(SETTLE_MS);

    assert_called_once(&before, "EVALSHA before the flush");
    assert_called_once(&flush, "SCRIPT FLUSH");
    assert_called_once(&missing, "EVALSHA after the flush");
    assert_called_once(&reloaded, "EVALSHA after the reload");
    assert_status(&reloaded, HG_REDIS_OK, "EVALSHA after the reload");
    assert_reply_integer(&reloaded, 42, "EVALSHA after the reload");
    /* The reload runs on the open connection. */
    ck_assert_int_eq(ready_calls, 1);
    hg_redis_free(r);
}
END_TEST

typedef struct script_retry {
    hg_redis *r;
    const hg_script *script;
    cmd_record first;
    cmd_record retry;
} script_retry;

static void retry_on_noscript(hg_redis_status status, redisReply *reply,
                              void *arg)
{
    script_retry *sr = arg;

    record_reply(status, reply, &sr->first);
    if (status != HG_REDIS_NOSCRIPT)
        return;
    ISSUE(hg_redis_eval(sr->r, sr->script, 0, record_reply, &sr->retry, 0, 0,
                        NULL, NULL));
}

START_TEST(redis_noscript_retry_in_callback)
{
    hg_script answer = {.name = "answer", .source = "return 42"};
    hg_script *scripts[] = {&answer, NULL};
    hg_redis_options opts = default_options();
    script_retry sr = {.script = &answer};
    cmd_record flush = {0};
    char url[64];

    hg_script_prepare(&answer);
    opts.scripts = scripts;
    tcp_url(url, sizeof(url), server.port);
    sr.r = client_connect(url, &opts);

    ISSUE(hg_redis_command(sr.r, 0, record_reply, &flush, "SCRIPT FLUSH"));
    ISSUE(hg_redis_eval(sr.r, &answer, 0, retry_on_noscript, &sr, 0, 0, NULL,
                        NULL));
    wait_for_callbacks(3);
    run_for(SETTLE_MS);

    assert_called_once(&flush, "SCRIPT FLUSH");
    assert_called_once(&sr.first, "EVALSHA after the flush");
    assert_status(&sr.first, HG_REDIS_NOSCRIPT, "EVALSHA after the flush");
    /* The reload was queued before the callback ran, so the retry issued
     * inside it finds the script. */
    assert_called_once(&sr.retry, "EVALSHA retried in the callback");
    assert_status(&sr.retry, HG_REDIS_OK, "EVALSHA retried in the callback");
    assert_reply_integer(&sr.retry, 42, "EVALSHA retried in the callback");
    hg_redis_free(sr.r);
}
END_TEST

START_TEST(redis_eval_keys_and_args)
{
    hg_script concat = {.name = "concat",
                        .source = "return KEYS[1] .. ':' .. ARGV[1]"};
    hg_script count = {.name = "count",
                       .source = "return #KEYS * 1000 + #ARGV"};
    hg_script *scripts[] = {&concat, &count, NULL};
    hg_redis_options opts = default_options();
    const char *pair[] = {"key", "value"};
    const char *many[40];
    char many_text[40][8];
    cmd_record pair_rec = {0};
    cmd_record many_rec = {0};
    char url[64];
    hg_redis *r;

    hg_script_prepare(&concat);
    hg_script_prepare(&count);
    opts.scripts = scripts;
    tcp_url(url, sizeof(url), server.port);
    r = client_connect(url, &opts);
    for (size_t i = 0; i < ARRAY_LEN(many); i++) {
        snprintf(many_text[i], sizeof(many_text[i]), "a%zu", i);
        many[i] = many_text[i];
    }

    ISSUE(hg_redis_eval(r, &concat, 0, record_reply, &pair_rec, 1, 2, pair,
                        NULL));
    /* 40 arguments do not fit the 32 entries that redis.c keeps on the
     * stack, so this call takes the heap path. */
    ISSUE(hg_redis_eval(r, &count, 0, record_reply, &many_rec, 2,
                        (int)ARRAY_LEN(many), many, NULL));
    wait_for_callbacks(2);
    run_for(SETTLE_MS);

    assert_called_once(&pair_rec, "EVALSHA with a key and an argument");
    assert_status(&pair_rec, HG_REDIS_OK,
                  "EVALSHA with a key and an argument");
    assert_reply_text(&pair_rec, REDIS_REPLY_STRING, "key:value",
                      "EVALSHA with a key and an argument");
    assert_called_once(&many_rec, "EVALSHA with 40 arguments");
    assert_status(&many_rec, HG_REDIS_OK, "EVALSHA with 40 arguments");
    assert_reply_integer(&many_rec, 2038, "EVALSHA with 40 arguments");
    hg_redis_free(r);
}
END_TEST

/* ---- free -------------------------------------------------------------- */

START_TEST(redis_free_completes_pending)
{
    hg_redis *r = client_connect_default();
    cmd_record blpop = {0};
    cmd_record ping = {0};

    ISSUE(hg_redis_command(r, 20000, record_reply, &blpop, "BLPOP %s 10",
                           "hg:test:empty"));
    ck_assert_msg(run_until_blocked(server.port, 1, REPLY_TIMEOUT_MS),
                  "BLPOP did not block at the server");
    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    ck_assert_int_eq(blpop.calls, 0);
    ck_assert_int_eq(ping.calls, 0);

    in_free = true;
    hg_redis_free(r);
    in_free = false;

    ck_assert_int_eq(blpop.calls_in_free, 1);
    ck_assert_int_eq(ping.calls_in_free, 1);
    run_for(SETTLE_MS);
    assert_called_once(&blpop, "BLPOP");
    assert_called_once(&ping, "PING");
    assert_status(&blpop, HG_REDIS_DISCONNECTED, "BLPOP");
    assert_status(&ping, HG_REDIS_DISCONNECTED, "PING");
}
END_TEST

START_TEST(redis_free_completes_deferred)
{
    hg_redis_options opts = default_options();
    cmd_record recs[3];
    char url[64];
    char label[64];
    hg_redis *r;

    /* With one place, the first PING goes to hiredis and the other two
     * wait in the loop for their OVERLOADED callbacks. */
    opts.max_inflight = 1;
    tcp_url(url, sizeof(url), server.port);
    r = client_connect(url, &opts);
    memset(recs, 0, sizeof(recs));
    for (size_t i = 0; i < ARRAY_LEN(recs); i++)
        ISSUE(hg_redis_command(r, 0, record_reply, &recs[i], "PING"));

    in_free = true;
    hg_redis_free(r);
    in_free = false;

    run_for(SETTLE_MS);
    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        snprintf(label, sizeof(label), "PING %zu", i);
        assert_called_once(&recs[i], label);
        ck_assert_msg(recs[i].calls_in_free == 1,
                      "%s: callback did not run inside hg_redis_free", label);
        assert_status(&recs[i], HG_REDIS_DISCONNECTED, label);
    }
}
END_TEST

typedef struct free_reissue {
    hg_redis *r;
    cmd_record first;
    cmd_record second;
} free_reissue;

static void reissue_during_free(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    free_reissue *fr = arg;

    record_reply(status, reply, &fr->first);
    ISSUE(hg_redis_command(fr->r, 0, record_reply, &fr->second, "PING"));
}

START_TEST(redis_free_reissue_in_callback)
{
    hg_redis *r = client_connect_default();
    free_reissue fr = {.r = r};

    ISSUE(hg_redis_command(r, 20000, reissue_during_free, &fr, "BLPOP %s 10",
                           "hg:test:empty"));
    ck_assert_msg(run_until_blocked(server.port, 1, REPLY_TIMEOUT_MS),
                  "BLPOP did not block at the server");

    in_free = true;
    hg_redis_free(r);
    in_free = false;

    run_for(SETTLE_MS);
    assert_called_once(&fr.first, "BLPOP");
    assert_status(&fr.first, HG_REDIS_DISCONNECTED, "BLPOP");
    /* A command issued by a callback that runs inside hg_redis_free also
     * completes before hg_redis_free returns. */
    assert_called_once(&fr.second, "PING issued during hg_redis_free");
    ck_assert_int_eq(fr.second.calls_in_free, 1);
    assert_status(&fr.second, HG_REDIS_DISCONNECTED,
                  "PING issued during hg_redis_free");
}
END_TEST

START_TEST(redis_free_null_is_noop)
{
    hg_redis_free(NULL);
}
END_TEST

START_TEST(redis_error_transient_kinds)
{
    static const char *const passing[] = {
        "OOM command not allowed when used memory > 'maxmemory'. script: x",
        "LOADING Redis is loading the dataset in memory",
        "BUSY Redis is busy running a script.",
        "MISCONF Redis is configured to save RDB snapshots",
        "READONLY You can't write against a read only replica.",
        "MASTERDOWN Link with MASTER is down",
        "NOREPLICAS Not enough good replicas to write.",
        "TRYAGAIN Multiple keys request during rehashing of slot",
    };
    static const char *const lasting[] = {
        "ERR unknown command", "WRONGTYPE Operation against a key",
        "NOSCRIPT No matching script", "OOM", "oom command not allowed", "",
    };

    for (size_t i = 0; i < ARRAY_LEN(passing); i++)
        ck_assert_msg(hg_redis_error_transient(passing[i]) != NULL, "%s",
                      passing[i]);
    for (size_t i = 0; i < ARRAY_LEN(lasting); i++)
        ck_assert_msg(hg_redis_error_transient(lasting[i]) == NULL, "%s",
                      lasting[i]);
    ck_assert_ptr_null(hg_redis_error_transient(NULL));
    ck_assert_str_eq(hg_redis_error_transient(passing[0]),
                     "Redis is out of memory");
}
END_TEST

/* ---- callbacks that issue commands ------------------------------------- */

#define CHAIN_LENGTH 4

typedef struct chain {
    hg_redis *r;
    cmd_record recs[CHAIN_LENGTH];
    int calls_after_issue[CHAIN_LENGTH];
} chain;

typedef struct chain_link {
    chain *owner;
    int index;
} chain_link;

static chain_link chain_links[CHAIN_LENGTH];

static void chain_reply(hg_redis_status status, redisReply *reply, void *arg)
{
    chain_link *link = arg;
    chain *ch = link->owner;
    int next = link->index + 1;

    record_reply(status, reply, &ch->recs[link->index]);
    if (status != HG_REDIS_OK || next >= CHAIN_LENGTH)
        return;
    ISSUE(hg_redis_command(ch->r, 0, chain_reply, &chain_links[next],
                           "INCR %s", "hg:test:chain"));
    ch->calls_after_issue[next] = ch->recs[next].calls;
}

START_TEST(redis_callback_issues_command)
{
    chain ch;
    char label[64];

    memset(&ch, 0, sizeof(ch));
    ch.r = client_connect_default();
    for (int i = 0; i < CHAIN_LENGTH; i++) {
        chain_links[i].owner = &ch;
        chain_links[i].index = i;
    }

    ISSUE(hg_redis_command(ch.r, 0, chain_reply, &chain_links[0], "INCR %s",
                           "hg:test:chain"));
    wait_for_callbacks(CHAIN_LENGTH);
    run_for(SETTLE_MS);

    for (int i = 0; i < CHAIN_LENGTH; i++) {
        snprintf(label, sizeof(label), "INCR %d", i);
        assert_called_once(&ch.recs[i], label);
        assert_status(&ch.recs[i], HG_REDIS_OK, label);
        assert_reply_integer(&ch.recs[i], i + 1, label);
        ck_assert_int_eq(ch.calls_after_issue[i], 0);
    }
    hg_redis_free(ch.r);
}
END_TEST

/* ---- connection options ------------------------------------------------ */

START_TEST(redis_select_db_from_url)
{
    hg_redis_options opts = default_options();
    cmd_record set = {0};
    redisReply *in_db3;
    redisReply *in_db0;
    char url[64];
    hg_redis *r;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", server.port);
    r = client_connect(url, &opts);
    ISSUE(hg_redis_command(r, 0, record_reply, &set, "SET %s %s",
                           "hg:test:db", "three"));
    wait_for_callbacks(1);
    assert_status(&set, HG_REDIS_OK, "SET");
    hg_redis_free(r);

    in_db3 = sync_command(server.port, 3, "GET %s", "hg:test:db");
    in_db0 = sync_command(server.port, 0, "GET %s", "hg:test:db");
    ck_assert_ptr_nonnull(in_db3);
    ck_assert_ptr_nonnull(in_db0);
    ck_assert_int_eq(in_db3->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(in_db3->str, "three");
    ck_assert_int_eq(in_db0->type, REDIS_REPLY_NIL);
    freeReplyObject(in_db3);
    freeReplyObject(in_db0);
}
END_TEST

START_TEST(redis_unix_socket_with_db)
{
    hg_redis_options opts = default_options();
    cmd_record set = {0};
    redisReply *in_db2;
    char url[300];
    hg_redis *r;

    server_start(&server, NULL, true);
    snprintf(url, sizeof(url), "unix://%s?db=2", server.unix_path);
    r = client_connect(url, &opts);
    ISSUE(hg_redis_command(r, 0, record_reply, &set, "SET %s %s",
                           "hg:test:unix", "two"));
    wait_for_callbacks(1);
    assert_called_once(&set, "SET");
    assert_status(&set, HG_REDIS_OK, "SET");
    hg_redis_free(r);

    in_db2 = sync_command(server.port, 2, "GET %s", "hg:test:unix");
    ck_assert_ptr_nonnull(in_db2);
    ck_assert_int_eq(in_db2->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(in_db2->str, "two");
    freeReplyObject(in_db2);
}
END_TEST

static const char *const requirepass_args[] = {"--requirepass", "s3cret",
                                               NULL};

START_TEST(redis_auth_password)
{
    hg_redis_options opts = default_options();
    cmd_record ping = {0};
    char url[96];
    hg_redis *r;

    server_start(&server, requirepass_args, false);
    snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d", server.port);
    r = client_connect(url, &opts);
    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    wait_for_callbacks(1);
    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_OK, "PING");
    assert_reply_text(&ping, REDIS_REPLY_STATUS, "PONG", "PING");
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_auth_user_password)
{
    static const char *const acl_args[] = {
        "--user", "alice", "on", ">s3cret", "~*", "&*", "+@all", NULL};
    hg_redis_options opts = default_options();
    cmd_record whoami = {0};
    char url[96];
    hg_redis *r;

    server_start(&server, acl_args, false);
    snprintf(url, sizeof(url), "redis://alice:s3cret@127.0.0.1:%d",
             server.port);
    r = client_connect(url, &opts);
    ISSUE(hg_redis_command(r, 0, record_reply, &whoami, "ACL WHOAMI"));
    wait_for_callbacks(1);
    assert_called_once(&whoami, "ACL WHOAMI");
    assert_status(&whoami, HG_REDIS_OK, "ACL WHOAMI");
    ck_assert_int_eq(whoami.reply_type, REDIS_REPLY_STRING);
    ck_assert_str_eq(whoami.str, "alice");
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_auth_wrong_password)
{
    hg_redis_options opts = default_options();
    cmd_record recs[4];
    char url[96];
    char label[64];
    hg_redis *r;

    server_start(&server, requirepass_args, false);
    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d", server.port);
    r = client_new(url, &opts);
    memset(recs, 0, sizeof(recs));

    /* The first PING queues behind the failing AUTH. The others meet the
     * client between attempts or during later handshakes. */
    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        ISSUE(hg_redis_command(r, 0, record_reply, &recs[i], "PING"));
        ck_assert_int_eq(recs[i].calls, 0);
        run_for(150);
    }
    wait_for_callbacks((int)ARRAY_LEN(recs));
    run_for(SETTLE_MS);

    for (size_t i = 0; i < ARRAY_LEN(recs); i++) {
        snprintf(label, sizeof(label), "PING %zu", i);
        assert_called_once(&recs[i], label);
        ck_assert_msg(recs[i].status == HG_REDIS_UNAVAILABLE ||
                          recs[i].status == HG_REDIS_DISCONNECTED,
                      "%s: status \"%s\", expected a failure", label,
                      hg_redis_status_text(recs[i].status));
    }
    ck_assert_int_eq(ready_calls, 0);
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_ipv6_literal_url)
{
    static const char *const ipv6_args[] = {"--bind", "127.0.0.1", "::1",
                                            NULL};
    hg_redis_options opts = default_options();
    cmd_record ping = {0};
    char url[64];
    hg_redis *r;

    /* This --bind comes after the default one and replaces it. */
    server_start(&server, ipv6_args, false);
    snprintf(url, sizeof(url), "redis://[::1]:%d", server.port);
    r = client_connect(url, &opts);
    ISSUE(hg_redis_command(r, 0, record_reply, &ping, "PING"));
    wait_for_callbacks(1);
    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_OK, "PING");
    assert_reply_text(&ping, REDIS_REPLY_STATUS, "PONG", "PING");
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_connect_timeout_drops)
{
    hg_redis_options opts = default_options();
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    cmd_record ping = {0};
    int64_t issued_ms;
    char url[64];
    hg_redis *r;
    int listener = socket(AF_INET, SOCK_STREAM, 0);

    /* The kernel completes the TCP handshake for a listening socket that
     * never accepts, so the client connects but gets no reply to its PING
     * handshake. */
    ck_assert_int_ge(listener, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(
        bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(listener, 8), 0);
    ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&addr, &len), 0);

    opts.connect_timeout_ms = 300;
    tcp_url(url, sizeof(url), ntohs(addr.sin_port));
    r = client_new(url, &opts);
    issued_ms = hg_mono_ms();
    ISSUE(hg_redis_command(r, 5000, record_reply, &ping, "PING"));
    ck_assert_int_eq(ping.calls, 0);

    wait_for_callbacks(1);
    run_for(SETTLE_MS);

    assert_called_once(&ping, "PING");
    assert_status(&ping, HG_REDIS_DISCONNECTED, "PING");
    ck_assert_msg(ping.at_ms - issued_ms >= 250,
                  "connect timeout of 300 ms fired after %lld ms",
                  (long long)(ping.at_ms - issued_ms));
    ck_assert_msg(ping.at_ms - issued_ms < 3000,
                  "connect timeout of 300 ms fired after %lld ms",
                  (long long)(ping.at_ms - issued_ms));
    ck_assert_int_eq(ready_calls, 0);
    hg_redis_free(r);
    close(listener);
}
END_TEST

/* ---- URL parsing ------------------------------------------------------- */

typedef struct url_case {
    const char *text;
    const char *host;
    int port;
    const char *unix_path;
    const char *user;
    const char *password;
    int db;
} url_case;

static const url_case valid_urls[] = {
    {"redis://127.0.0.1:6380/3", "127.0.0.1", 6380, "", "", "", 3},
    {"redis://cache.internal", "cache.internal", 6379, "", "", "", 0},
    {"redis://cache:7000/", "cache", 7000, "", "", "", 0},
    {"redis://alice:s3cret@cache:7000/1", "cache", 7000, "", "alice",
     "s3cret", 1},
    {"redis://:s3cret@cache:7000", "cache", 7000, "", "", "s3cret", 0},
    {"redis://s3cret@cache", "cache", 6379, "", "", "s3cret", 0},
    {"redis://alice:p@ss@cache", "cache", 6379, "", "alice", "p@ss", 0},
    {"redis://hg2:ab%2Fcd%2Bef%3D@cache:7000", "cache", 7000, "", "hg2",
     "ab/cd+ef=", 0},
    {"redis://al%40ice:p%25w%3a%23@cache", "cache", 6379, "", "al@ice",
     "p%w:#", 0},
    {"redis://[::1]:6380", "::1", 6380, "", "", "", 0},
    {"redis://[::1]", "::1", 6379, "", "", "", 0},
    {"redis://[2001:db8::7]:6390/5", "2001:db8::7", 6390, "", "", "", 5},
    {"redis://h:65535/1000", "h", 65535, "", "", "", 1000},
    {"unix:///tmp/x.sock?db=2", "", 6379, "/tmp/x.sock", "", "", 2},
    {"unix:///tmp/x.sock", "", 6379, "/tmp/x.sock", "", "", 0},
};

START_TEST(url_parse_valid)
{
    const url_case *c = &valid_urls[_i];
    hg_redis_url url;
    char err[256] = "";
    int rc;

    rc = hg_redis_url_parse(c->text, &url, err, sizeof(err));
    ck_assert_msg(rc == 0, "\"%s\" rejected: %s", c->text, err);
    ck_assert_msg(strcmp(url.host, c->host) == 0,
                  "\"%s\": host \"%s\", expected \"%s\"", c->text, url.host,
                  c->host);
    ck_assert_msg(url.port == c->port, "\"%s\": port %d, expected %d",
                  c->text, url.port, c->port);
    ck_assert_msg(strcmp(url.unix_path, c->unix_path) == 0,
                  "\"%s\": unix path \"%s\", expected \"%s\"", c->text,
                  url.unix_path, c->unix_path);
    ck_assert_msg(strcmp(url.user, c->user) == 0,
                  "\"%s\": user \"%s\", expected \"%s\"", c->text, url.user,
                  c->user);
    ck_assert_msg(strcmp(url.password, c->password) == 0,
                  "\"%s\": password \"%s\", expected \"%s\"", c->text,
                  url.password, c->password);
    ck_assert_msg(url.db == c->db, "\"%s\": db %d, expected %d", c->text,
                  url.db, c->db);
}
END_TEST

typedef struct url_reject {
    const char *text;
    const char *message; /* part of the expected error message */
} url_reject;

static const url_reject invalid_urls[] = {
    {"127.0.0.1:6379", "must start with redis://"},
    {"cache.internal", "must start with redis://"},
    {"", "must start with redis://"},
    {"rediss://cache:6379", "rediss:// is not supported"},
    {"redis://cache:0", "port"},
    {"redis://cache:70000", "port"},
    {"redis://cache:", "port"},
    {"redis://cache:-1", "port"},
    {"redis://cache:+80", "port"},
    {"redis://cache:80x", "port"},
    {"redis://cache:6379/x", "database"},
    {"redis://cache:6379/-1", "database"},
    {"redis://cache:6379/1001", "database"},
    {"redis://cache:6379/1/2", "database"},
    {"redis://", "no host"},
    {"redis://:6379", "no host"},
    {"redis://alice:s3cret@:6379", "no host"},
    {"redis://alice:s3cret@", "no host"},
    {"redis://[]:6379", "no host"},
    {"redis://[::1:6379", "unterminated IPv6"},
    {"redis://[cache]:6379", "must hold an IPv6 address"},
    {"redis://@[[x]/", "must hold an IPv6 address"},
    {"unix://relative.sock", "must be absolute"},
    {"unix://", "must be absolute"},
    {"unix://?db=1", "must be absolute"},
    {"unix:///tmp/x.sock?db=x", "db=N"},
    {"unix:///tmp/x.sock?db=", "db=N"},
    {"unix:///tmp/x.sock?db=1001", "db=N"},
    {"unix:///tmp/x.sock?timeout=1", "db=N"},
    {"redis://hg2:ab/cd@cache:7000", "percent-encode \"/\" as %2F"},
    {"redis://u:p%2@cache", "invalid %-escape"},
    {"redis://u:p%zz@cache", "invalid %-escape"},
    {"redis://u:p%00@cache", "invalid %-escape"},
    {"redis://:p#x@cache", "percent-encode them as %23"},
    {"redis://:p?x@cache", "percent-encode them as %23"},
};

START_TEST(url_parse_invalid)
{
    const url_reject *c = &invalid_urls[_i];
    hg_redis_url url;
    char err[256] = "";
    int rc;

    rc = hg_redis_url_parse(c->text, &url, err, sizeof(err));
    ck_assert_msg(rc == -1, "\"%s\" accepted, expected a rejection", c->text);
    ck_assert_msg(strstr(err, c->message) != NULL,
                  "\"%s\": message \"%s\" lacks \"%s\"", c->text, err,
                  c->message);
}
END_TEST

START_TEST(url_parse_long_parts)
{
    char text[1024];
    char longest[300];
    hg_redis_url url;
    char err[256] = "";

    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';

    snprintf(text, sizeof(text), "redis://%s:6379", longest);
    ck_assert_int_eq(hg_redis_url_parse(text, &url, err, sizeof(err)), -1);
    snprintf(text, sizeof(text), "redis://:%s@cache:6379", longest);
    ck_assert_int_eq(hg_redis_url_parse(text, &url, err, sizeof(err)), -1);
    snprintf(text, sizeof(text), "unix:///%s", longest);
    ck_assert_int_eq(hg_redis_url_parse(text, &url, err, sizeof(err)), -1);
}
END_TEST

typedef struct redact_case {
    const char *text;
    const char *want;
} redact_case;

static const redact_case redactions[] = {
    {"redis://alice:s3cret@cache:7000/1", "redis://alice:***@cache:7000/1"},
    {"redis://al%40ice:p%2Fw@cache:7000/1",
     "redis://al%40ice:***@cache:7000/1"},
    {"redis://:s3cret@cache", "redis://:***@cache:6379/0"},
    {"redis://s3cret@cache:6380", "redis://:***@cache:6380/0"},
    {"redis://cache", "redis://cache:6379/0"},
    /* A user without a password keeps its ":", or it would read back as
     * the password. */
    {"redis://alice:@cache", "redis://alice:@cache:6379/0"},
    {"unix:///tmp/x.sock?db=2", "unix:///tmp/x.sock?db=2"},
};

START_TEST(url_redacted_hides_password)
{
    const redact_case *c = &redactions[_i];
    hg_redis_url url;
    char err[256] = "";
    char buf[512];
    char small[24];

    ck_assert_msg(hg_redis_url_parse(c->text, &url, err, sizeof(err)) == 0,
                  "\"%s\" rejected: %s", c->text, err);
    hg_redis_url_redacted(&url, buf, sizeof(buf));
    ck_assert_str_eq(buf, c->want);
    ck_assert_msg(strstr(buf, "s3cret") == NULL,
                  "redacted form \"%s\" contains the password", buf);

    /* A short buffer truncates the output. */
    hg_redis_url_redacted(&url, small, sizeof(small));
    ck_assert_uint_lt(strlen(small), sizeof(small));
    ck_assert_msg(strstr(small, "s3cret") == NULL,
                  "truncated form \"%s\" contains the password", small);
}
END_TEST

/* ---- runner ------------------------------------------------------------ */

typedef struct check_record {
    int calls;
    bool checked;
    char problem[512];
} check_record;

static void record_check(bool checked, const char *problem, void *arg)
{
    check_record *rec = arg;

    rec->calls++;
    callbacks_total++;
    rec->checked = checked;
    snprintf(rec->problem, sizeof(rec->problem), "%s",
             problem ? problem : "");
}

/* Sets a configuration value and waits for the answer. */
static void config_set(hg_redis *r, const char *name, const char *value)
{
    cmd_record set = {0};
    int before = callbacks_total;

    ISSUE(hg_redis_command(r, 0, record_reply, &set, "CONFIG SET %s %s", name,
                           value));
    wait_for_callbacks(before + 1);
    assert_reply_text(&set, REDIS_REPLY_STATUS, "OK", "CONFIG SET");
}

static void run_check(hg_redis *r, check_record *rec)
{
    int before = callbacks_total;

    memset(rec, 0, sizeof(*rec));
    hg_redis_check_durability(r, record_check, rec);
    wait_for_callbacks(before + 1);
    run_for(SETTLE_MS);
    ck_assert_int_eq(rec->calls, 1);
}

START_TEST(redis_durability_checked)
{
    hg_redis *r = client_connect_default();
    check_record rec;

    /* The test server runs without an append-only file. */
    run_check(r, &rec);
    ck_assert(rec.checked);
    ck_assert_msg(strstr(rec.problem, "appendonly no") != NULL &&
                      strstr(rec.problem, "HOOKGATE_ALLOW_UNSAFE_REDIS") !=
                          NULL,
                  "problem: %s", rec.problem);

    config_set(r, "appendonly", "yes");
    config_set(r, "maxmemory-policy", "volatile-lru");
    run_check(r, &rec);
    ck_assert_msg(strstr(rec.problem, "maxmemory-policy") != NULL,
                  "problem: %s", rec.problem);

    config_set(r, "maxmemory-policy", "noeviction");
    run_check(r, &rec);
    ck_assert_str_eq(rec.problem, "");
    hg_redis_free(r);
}
END_TEST

START_TEST(redis_durability_without_server)
{
    hg_redis *r = client_connect_default();
    check_record rec = {0};
    int before;

    /* The connection goes away before the answer: nothing was judged. */
    server_stop(&server);
    run_for(SETTLE_MS);
    before = callbacks_total;
    hg_redis_check_durability(r, record_check, &rec);
    wait_for_callbacks(before + 1);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert(!rec.checked);
    hg_redis_free(r);
    ck_assert_int_eq(rec.calls, 1);
}
END_TEST

START_TEST(redis_durability_judged)
{
    ck_assert_ptr_null(hg_redis_durability_problem("yes", "noeviction"));
    ck_assert_ptr_nonnull(hg_redis_durability_problem("no", "noeviction"));
    ck_assert_ptr_nonnull(hg_redis_durability_problem("yes", "allkeys-lru"));
    ck_assert_ptr_nonnull(hg_redis_durability_problem("yes", "volatile-ttl"));
    /* An unreadable value is not judged. */
    ck_assert_ptr_null(hg_redis_durability_problem("yes", NULL));
    ck_assert_ptr_null(hg_redis_durability_problem(NULL, NULL));
}
END_TEST

static Suite *redis_suite(void)
{
    Suite *s = suite_create("redis");
    TCase *client = tcase_create("client");
    TCase *servers = tcase_create("servers");
    TCase *url = tcase_create("url");

    tcase_set_timeout(client, TEST_TIMEOUT_S);
    tcase_add_checked_fixture(client, setup_with_server, teardown);
    tcase_add_test(client, redis_ping_replies_pong);
    tcase_add_test(client, redis_set_get_binary);
    tcase_add_test(client, redis_set_get_argv);
    tcase_add_test(client, redis_error_reply_is_ok);
    tcase_add_test(client, redis_command_before_ready);
    tcase_add_test(client, redis_invalid_format_fails_once);
    tcase_add_test(client, redis_deadline_drops_connection);
    tcase_add_test(client, redis_reissue_after_timeout);
    tcase_add_test(client, redis_server_kill_disconnects);
    tcase_add_test(client, redis_reissue_after_disconnect);
    tcase_add_test(client, redis_overload_rejects_excess);
    tcase_add_test(client, redis_noscript_reloads_scripts);
    tcase_add_test(client, redis_noscript_retry_in_callback);
    tcase_add_test(client, redis_eval_keys_and_args);
    tcase_add_test(client, redis_free_completes_pending);
    tcase_add_test(client, redis_free_completes_deferred);
    tcase_add_test(client, redis_free_reissue_in_callback);
    tcase_add_test(client, redis_callback_issues_command);
    tcase_add_test(client, redis_select_db_from_url);
    tcase_add_test(client, redis_durability_checked);
    tcase_add_test(client, redis_durability_without_server);
    suite_add_tcase(s, client);

    /* These tests start a server of their own, or none. */
    tcase_set_timeout(servers, TEST_TIMEOUT_S);
    tcase_add_checked_fixture(servers, setup, teardown);
    tcase_add_test(servers, redis_unreachable_fails_commands);
    tcase_add_test(servers, redis_unix_socket_with_db);
    tcase_add_test(servers, redis_auth_password);
    tcase_add_test(servers, redis_auth_user_password);
    tcase_add_test(servers, redis_auth_wrong_password);
    tcase_add_test(servers, redis_ipv6_literal_url);
    tcase_add_test(servers, redis_connect_timeout_drops);
    tcase_add_test(servers, redis_free_null_is_noop);
    tcase_add_test(servers, redis_error_transient_kinds);
    suite_add_tcase(s, servers);

    tcase_add_loop_test(url, url_parse_valid, 0, (int)ARRAY_LEN(valid_urls));
    tcase_add_loop_test(url, url_parse_invalid, 0,
                        (int)ARRAY_LEN(invalid_urls));
    tcase_add_test(url, url_parse_long_parts);
    tcase_add_test(url, redis_durability_judged);
    tcase_add_loop_test(url, url_redacted_hides_password, 0,
                        (int)ARRAY_LEN(redactions));
    suite_add_tcase(s, url);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(redis_suite());
    int failed;

    hg_log_init("test_redis", HG_LOG_WARN);
    snprintf(run_dir, sizeof(run_dir), "/tmp/hg-test-redis.XXXXXX");
    if (mkdtemp(run_dir) == NULL) {
        fprintf(stderr, "mkdtemp %s failed: %s\n", run_dir, strerror(errno));
        return EXIT_FAILURE;
    }
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_tree(run_dir);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
