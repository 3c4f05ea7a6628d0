/* SPDX-License-Identifier: MIT
 *
 * Tests of the Sentinel settings: the HOOKGATE_REDIS_SENTINELS list parser,
 * the master name check, and how hg_config_load combines them with
 * HOOKGATE_REDIS_URL. The lookup itself runs against real Sentinels in the
 * fault suite (tests/fault/).
 */
#include "common/sentinel.h"

#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"

#define SECRET_HEX                                                           \
    "6a0f5c9e1b3d7a2c4e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"

static hg_redis_node nodes[HG_REDIS_MAX_SENTINELS];
static char err[512];

static int parse(const char *s)
{
    memset(nodes, 0, sizeof(nodes));
    err[0] = '\0';
    return hg_sentinel_list_parse(s, nodes, HG_REDIS_MAX_SENTINELS, err,
                                  sizeof(err));
}

START_TEST(list_single_ipv4)
{
    ck_assert_int_eq(parse("127.0.0.1:26379"), 1);
    ck_assert_str_eq(nodes[0].host, "127.0.0.1");
    ck_assert_int_eq(nodes[0].port, 26379);
}
END_TEST

START_TEST(list_three_in_order)
{
    ck_assert_int_eq(parse("10.0.0.1:26379,10.0.0.2:26380, 10.0.0.3:1 "), 3);
    ck_assert_str_eq(nodes[0].host, "10.0.0.1");
    ck_assert_int_eq(nodes[0].port, 26379);
    ck_assert_str_eq(nodes[1].host, "10.0.0.2");
    ck_assert_int_eq(nodes[1].port, 26380);
    ck_assert_str_eq(nodes[2].host, "10.0.0.3");
    ck_assert_int_eq(nodes[2].port, 1);
}
END_TEST

START_TEST(list_ipv6_in_brackets)
{
    ck_assert_int_eq(parse("[::1]:26379,[fd00::5]:65535"), 2);
    ck_assert_str_eq(nodes[0].host, "::1");
    ck_assert_int_eq(nodes[0].port, 26379);
    ck_assert_str_eq(nodes[1].host, "fd00::5");
    ck_assert_int_eq(nodes[1].port, 65535);
}
END_TEST

START_TEST(list_rejects_bad_entries)
{
    static const char *const bad[] = {
        "",                     /* empty list */
        "127.0.0.1",            /* no port */
        "127.0.0.1:",           /* empty port */
        "127.0.0.1:0",          /* port out of range */
        "127.0.0.1:65536",      /* port out of range */
        "127.0.0.1:26379x",     /* trailing garbage */
        "127.0.0.1:-1",         /* sign */
        "127.0.0.1:26379,",     /* empty last entry */
        ",127.0.0.1:26379",     /* empty first entry */
        "127.0.0.1:1,,127.0.0.1:2",
        "sentinel.local:26379", /* host name */
        "::1:26379",            /* IPv6 without brackets */
        "[::1]26379",           /* nothing between ] and the port */
        "[::1:26379",           /* unterminated bracket */
        "[127.0.0.1]:26379",    /* IPv4 in brackets */
        ":26379",               /* no host */
        "999.0.0.1:26379",      /* not an address */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse(bad[i]) == -1, "accepted \"%s\"", bad[i]);
        ck_assert_msg(err[0] != '\0', "no message for \"%s\"", bad[i]);
    }
}
END_TEST

START_TEST(list_rejects_too_many)
{
    ck_assert_int_eq(parse("127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,"
                           "127.0.0.1:5,127.0.0.1:6,127.0.0.1:7,127.0.0.1:8"),
                     8);
    ck_assert_int_eq(parse("127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,"
                           "127.0.0.1:5,127.0.0.1:6,127.0.0.1:7,127.0.0.1:8,"
                           "127.0.0.1:9"),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "more than 8"));
}
END_TEST

START_TEST(list_rejects_long_host)
{
    char s[200];

    memset(s, '1', sizeof(s));
    memcpy(s + sizeof(s) - 7, ":26379", 7);
    ck_assert_int_eq(parse(s), -1);
}
END_TEST

START_TEST(name_check)
{
    char name[200];

    ck_assert_int_eq(hg_sentinel_name_check("mymaster", err, sizeof(err)), 0);
    ck_assert_int_eq(hg_sentinel_name_check("hookgate-primary_1.a", err,
                                            sizeof(err)),
                     0);
    ck_assert_int_eq(hg_sentinel_name_check("", err, sizeof(err)), -1);
    ck_assert_int_eq(hg_sentinel_name_check("my master", err, sizeof(err)),
                     -1);
    ck_assert_int_eq(hg_sentinel_name_check("tab\there", err, sizeof(err)),
                     -1);
    ck_assert_int_eq(hg_sentinel_name_check("caf\xc3\xa9", err, sizeof(err)),
                     -1);
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(hg_sentinel_name_check(name, err, sizeof(err)), -1);
    name[127] = '\0';
    ck_assert_int_eq(hg_sentinel_name_check(name, err, sizeof(err)), 0);
}
END_TEST

/* ---- hg_config_load ---------------------------------------------------- */

static hg_config cfg;

static void env_reset(void)
{
    unsetenv("HOOKGATE_REDIS_URL");
    unsetenv("HOOKGATE_REDIS_SENTINELS");
    unsetenv("HOOKGATE_REDIS_MASTER_NAME");
    setenv("HOOKGATE_SECRET_KEY", SECRET_HEX, 1);
}

static int load(void)
{
    err[0] = '\0';
    return hg_config_load(&cfg, HG_SVC_GATEWAY, err, sizeof(err));
}

START_TEST(config_without_sentinels)
{
    env_reset();
    ck_assert_int_eq(load(), 0);
    ck_assert_int_eq(cfg.redis.sentinel_count, 0);
    ck_assert_str_eq(cfg.redis.master_name, "");
}
END_TEST

START_TEST(config_with_sentinels_keeps_url_password)
{
    env_reset();
    setenv("HOOKGATE_REDIS_URL", "redis://:pw@127.0.0.1:6379/3", 1);
    setenv("HOOKGATE_REDIS_SENTINELS", "127.0.0.1:26379,[::1]:26380", 1);
    setenv("HOOKGATE_REDIS_MASTER_NAME", "mymaster", 1);
    ck_assert_msg(load() == 0, "load failed: %s", err);
    ck_assert_int_eq(cfg.redis.sentinel_count, 2);
    ck_assert_str_eq(cfg.redis.sentinels[1].host, "::1");
    ck_assert_int_eq(cfg.redis.sentinels[1].port, 26380);
    ck_assert_str_eq(cfg.redis.master_name, "mymaster");
    ck_assert_str_eq(cfg.redis.password, "pw");
    ck_assert_int_eq(cfg.redis.db, 3);
}
END_TEST

START_TEST(config_requires_both_settings)
{
    env_reset();
    setenv("HOOKGATE_REDIS_SENTINELS", "127.0.0.1:26379", 1);
    ck_assert_int_eq(load(), -1);
    ck_assert_ptr_nonnull(strstr(err, "HOOKGATE_REDIS_MASTER_NAME is missing"));

    env_reset();
    setenv("HOOKGATE_REDIS_MASTER_NAME", "mymaster", 1);
    ck_assert_int_eq(load(), -1);
    ck_assert_ptr_nonnull(strstr(err, "HOOKGATE_REDIS_SENTINELS is missing"));
}
END_TEST

START_TEST(config_rejects_bad_list)
{
    env_reset();
    setenv("HOOKGATE_REDIS_SENTINELS", "127.0.0.1", 1);
    setenv("HOOKGATE_REDIS_MASTER_NAME", "mymaster", 1);
    ck_assert_int_eq(load(), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid HOOKGATE_REDIS_SENTINELS"));
}
END_TEST

START_TEST(config_rejects_unix_socket)
{
    env_reset();
    setenv("HOOKGATE_REDIS_URL", "unix:///run/redis.sock", 1);
    setenv("HOOKGATE_REDIS_SENTINELS", "127.0.0.1:26379", 1);
    setenv("HOOKGATE_REDIS_MASTER_NAME", "mymaster", 1);
    ck_assert_int_eq(load(), -1);
    ck_assert_ptr_nonnull(strstr(err, "unix socket"));
}
END_TEST


/* ---- lookup against a fake Sentinel on loopback --------------------------- */

/* A Sentinel that sends one fixed reply to whatever it is asked. */
typedef struct fake_sentinel {
    int listen_fd;
    int client_fd;
    const char *reply;
    size_t reply_len;
    struct event *accept_ev;
    struct event *read_ev;
} fake_sentinel;

/* The outcome of one lookup. */
typedef struct lookup_result {
    struct event_base *base;
    bool done;
    char host[128];
    int port;
    char why[512];
} lookup_result;

static void on_fake_read(evutil_socket_t fd, short what, void *arg)
{
    fake_sentinel *f = arg;
    char buf[512];

    (void)what;
    if (read(fd, buf, sizeof(buf)) > 0)
        ck_assert_int_eq(write(fd, f->reply, f->reply_len),
                         (ssize_t)f->reply_len);
}

static void on_fake_accept(evutil_socket_t fd, short what, void *arg)
{
    fake_sentinel *f = arg;

    (void)what;
    f->client_fd = accept(fd, NULL, NULL);
    ck_assert_int_ge(f->client_fd, 0);
    f->read_ev = event_new(event_get_base(f->accept_ev), f->client_fd,
                           EV_READ | EV_PERSIST, on_fake_read, f);
    event_add(f->read_ev, NULL);
}

static void on_lookup(const char *host, int port, const char *why, void *arg)
{
    lookup_result *res = arg;

    res->done = true;
    snprintf(res->host, sizeof(res->host), "%s", host ? host : "");
    res->port = port;
    snprintf(res->why, sizeof(res->why), "%s", why ? why : "");
    event_base_loopbreak(res->base);
}

/* Asks a fake Sentinel that answers reply (reply_len bytes) for the
 * primary of "mymaster" and fills *res. */
static void lookup_with_reply(const char *reply, size_t reply_len,
                              lookup_result *res)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    fake_sentinel f = {.client_fd = -1, .reply = reply,
                       .reply_len = reply_len};
    hg_redis_url url;
    struct timeval limit = {5, 0};

    memset(res, 0, sizeof(*res));
    res->base = event_base_new();
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(f.listen_fd, (struct sockaddr *)&addr, len), 0);
    ck_assert_int_eq(listen(f.listen_fd, 4), 0);
    ck_assert_int_eq(
        getsockname(f.listen_fd, (struct sockaddr *)&addr, &len), 0);
    f.accept_ev = event_new(res->base, f.listen_fd, EV_READ, on_fake_accept,
                            &f);
    event_add(f.accept_ev, NULL);

    memset(&url, 0, sizeof(url));
    snprintf(url.sentinels[0].host, sizeof(url.sentinels[0].host),
             "127.0.0.1");
    url.sentinels[0].port = ntohs(addr.sin_port);
    url.sentinel_count = 1;
    snprintf(url.master_name, sizeof(url.master_name), "mymaster");
    ck_assert_ptr_nonnull(
        hg_sentinel_query_start(res->base, &url, 1000, on_lookup, res));
    event_base_loopexit(res->base, &limit);
    event_base_dispatch(res->base);

    if (f.read_ev != NULL)
        event_free(f.read_ev);
    event_free(f.accept_ev);
    if (f.client_fd >= 0)
        close(f.client_fd);
    close(f.listen_fd);
    event_base_free(res->base);
    ck_assert_msg(res->done, "the lookup did not call back");
}

START_TEST(lookup_returns_address)
{
    static const char reply[] =
        "*2\r\n$8\r\n10.0.0.7\r\n$4\r\n6380\r\n";
    lookup_result res;

    lookup_with_reply(reply, sizeof(reply) - 1, &res);
    ck_assert_str_eq(res.host, "10.0.0.7");
    ck_assert_int_eq(res.port, 6380);
}
END_TEST

START_TEST(lookup_rejects_nul_in_host)
{
    /* "10.0.0.7" followed by a NUL and more bytes, 11 bytes in all: read
     * as a C string it would silently become 10.0.0.7. */
    static const char reply[] =
        "*2\r\n$11\r\n10.0.0.7\0x1\r\n$4\r\n6380\r\n";
    lookup_result res;

    lookup_with_reply(reply, sizeof(reply) - 1, &res);
    ck_assert_str_eq(res.host, "");
    ck_assert_ptr_nonnull(strstr(res.why, "not host and port"));
}
END_TEST

static Suite *sentinel_suite(void)
{
    Suite *s = suite_create("sentinel");
    TCase *list = tcase_create("list");
    TCase *config = tcase_create("config");
    TCase *lookup = tcase_create("lookup");

    tcase_add_test(list, list_single_ipv4);
    tcase_add_test(list, list_three_in_order);
    tcase_add_test(list, list_ipv6_in_brackets);
    tcase_add_test(list, list_rejects_bad_entries);
    tcase_add_test(list, list_rejects_too_many);
    tcase_add_test(list, list_rejects_long_host);
    tcase_add_test(list, name_check);
    suite_add_tcase(s, list);

    tcase_add_test(config, config_without_sentinels);
    tcase_add_test(config, config_with_sentinels_keeps_url_password);
    tcase_add_test(config, config_requires_both_settings);
    tcase_add_test(config, config_rejects_bad_list);
    tcase_add_test(config, config_rejects_unix_socket);
    suite_add_tcase(s, config);

    tcase_add_test(lookup, lookup_returns_address);
    tcase_add_test(lookup, lookup_rejects_nul_in_host);
    suite_add_tcase(s, lookup);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(sentinel_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
