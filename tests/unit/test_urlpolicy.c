/* SPDX-License-Identifier: MIT
 *
 * hg_url_check only parses, so none of these tests touches the network.
 */
#include "common/urlpolicy.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *result_name(hg_url_result r)
{
    switch (r) {
    case HG_URL_OK:
        return "OK";
    case HG_URL_INVALID:
        return "INVALID";
    case HG_URL_NOT_ALLOWED:
        return "NOT_ALLOWED";
    }
    return "unknown";
}

/* Checks that url gives the result want, and leaves the message in err. */
static void check_url(const char *url, bool allow_private, hg_url_result want,
                      char *err, size_t errsz)
{
    hg_url_result got;

    snprintf(err, errsz, "(no message)");
    got = hg_url_check(url, allow_private, err, errsz);
    ck_assert_msg(got == want,
                  "URL \"%s\" with allow_private=%d gave %s, expected %s: %s",
                  url ? url : "(null)", allow_private, result_name(got),
                  result_name(want), err);
}

static void check_url_error(const char *url, bool allow_private,
                            hg_url_result want, const char *message)
{
    char err[512];

    check_url(url, allow_private, want, err, sizeof(err));
    ck_assert_msg(strstr(err, message) != NULL,
                  "URL \"%s\": message \"%s\" lacks \"%s\"",
                  url ? url : "(null)", err, message);
}

static const char *const valid_urls[] = {
    "http://example.com",
    "http://example.com/",
    "https://example.com/hooks",
    "HTTPS://Example.COM/Hooks",
    "hTTp://example.com/",
    "http://example.com:8080/",
    "https://example.com:443/a/b/c?x=1&y=2",
    "https://api.example.com/v1/hooks?token=abc%20def",
    "http://example.com/path%2Fwith%2Fescapes",
    "http://example.com.:80/",
    "http://xn--bcher-kva.example/",
    "http://8.8.8.8/",
    "http://8.8.8.8:8080/hook",
    "https://1.1.1.1/",
    "http://[2606:4700::1111]/",
    "http://[2606:4700::1111]:8443/hook?a=b",
    "http://[2001:4860:4860::8888]/",
    "http://[::ffff:8.8.8.8]/",
    "http://[64:ff9b::808:808]/",
    "http://[2002:808:808::1]/",
    "http://134744072/",
    "http://localhost.example.com/",
    "http://mylocalhost/",
    "http://10.example.com/",
};

START_TEST(url_valid_accepted)
{
    char err[256];

    for (size_t i = 0; i < ARRAY_LEN(valid_urls); i++) {
        check_url(valid_urls[i], false, HG_URL_OK, err, sizeof(err));
        check_url(valid_urls[i], true, HG_URL_OK, err, sizeof(err));
    }
}
END_TEST

START_TEST(url_missing_or_empty)
{
    check_url_error(NULL, false, HG_URL_INVALID, "missing URL");
    check_url_error("", false, HG_URL_INVALID, "missing URL");
    check_url_error(NULL, true, HG_URL_INVALID, "missing URL");
}
END_TEST

START_TEST(url_too_long)
{
    static const char prefix[] = "http://example.com/";
    char url[HG_URL_MAX + 2];
    char err[256];

    memset(url, 'a', sizeof(url));
    memcpy(url, prefix, sizeof(prefix) - 1);

    url[HG_URL_MAX] = '\0';
    check_url(url, false, HG_URL_OK, err, sizeof(err));

    url[HG_URL_MAX] = 'a';
    url[HG_URL_MAX + 1] = '\0';
    check_url_error(url, false, HG_URL_INVALID,
                    "URL is longer than 2048 characters");
}
END_TEST

START_TEST(url_whitespace_and_controls)
{
    static const char *const urls[] = {
        "http://example.com/a b",     "http://example.com/\t",
        "http://example.com/\n",      "http://exa\rmple.com/",
        " http://example.com/",       "http://example.com/ ",
        "http://example.com/\x01",    "http://example.com/\x7f",
        "http://example.com/\x1b[0m",
    };

    for (size_t i = 0; i < ARRAY_LEN(urls); i++)
        check_url_error(urls[i], true, HG_URL_INVALID,
                        "whitespace or a control character");
}
END_TEST

START_TEST(url_scheme_rejected)
{
    static const char *const urls[] = {
        "ftp://example.com/",   "file:///etc/passwd", "gopher://example.com/",
        "ws://example.com/",    "javascript:alert(1)", "httpx://example.com/",
        "mailto:a@example.com", "ldap://example.com/",
    };

    for (size_t i = 0; i < ARRAY_LEN(urls); i++)
        check_url_error(urls[i], true, HG_URL_INVALID,
                        "unsupported URL scheme");
}
END_TEST

START_TEST(url_scheme_missing)
{
    check_url_error("example.com", true, HG_URL_INVALID, "no scheme");
    check_url_error("//example.com/", true, HG_URL_INVALID, "no scheme");
    check_url_error("/hooks", true, HG_URL_INVALID, "no scheme");
}
END_TEST

START_TEST(url_authority_malformed)
{
    check_url_error("http:example.com", true, HG_URL_INVALID,
                    "must start with \"http://\"");
    check_url_error("http:/example.com", true, HG_URL_INVALID,
                    "must start with \"http://\"");
    check_url_error("https:\\\\example.com", true, HG_URL_INVALID,
                    "must start with \"https://\"");
}
END_TEST

START_TEST(url_host_missing)
{
    check_url_error("http://", true, HG_URL_INVALID, "invalid URL");
    check_url_error("http:///path", true, HG_URL_INVALID, "no host");
    check_url_error("http://?x=1", true, HG_URL_INVALID, "invalid URL");
    check_url_error("http://:80/", true, HG_URL_INVALID, "invalid URL");
}
END_TEST

START_TEST(url_malformed_by_libcurl)
{
    static const char *const urls[] = {
        "http://example.com:99999/", "http://example.com:http/",
        "http://[1::2::3]/",         "http://[::1/",
        "http://ex%20ample.com/",    "http://host;x/",
        "http://[v1.x]/",
    };

    for (size_t i = 0; i < ARRAY_LEN(urls); i++)
        check_url_error(urls[i], true, HG_URL_INVALID, "invalid URL");
}
END_TEST

START_TEST(url_credentials_rejected)
{
    static const char *const urls[] = {
        "http://user:pass@example.com/", "http://user@example.com/",
        "http://:pass@example.com/",     "http://@example.com/",
        "https://user:@example.com/",
    };

    for (size_t i = 0; i < ARRAY_LEN(urls); i++)
        check_url_error(urls[i], true, HG_URL_INVALID,
                        "credentials in the URL are not supported");
}
END_TEST

START_TEST(url_fragment_rejected)
{
    check_url_error("http://example.com/#top", true, HG_URL_INVALID,
                    "fragment");
    check_url_error("http://example.com/#", true, HG_URL_INVALID,
                    "fragment");
    check_url_error("http://example.com/a?b=c#d", true, HG_URL_INVALID,
                    "fragment");
}
END_TEST

START_TEST(url_zone_id_rejected)
{
    check_url_error("http://[fe80::1%25eth0]/", true, HG_URL_INVALID,
                    "IPv6 zone ID \"eth0\" is not supported");
    check_url_error("http://[fe80::1%25eth0]/", false, HG_URL_INVALID,
                    "zone ID");
    check_url_error("http://[2606:4700::1111%252]/", false, HG_URL_INVALID,
                    "zone ID");
}
END_TEST

static const char *const private_v4_urls[] = {
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/hook",
    "http://127.255.255.254/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://192.0.0.8/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://198.51.100.7/",
    "http://203.0.113.9/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://127.0.0.1./",
};

START_TEST(url_private_v4_refused)
{
    for (size_t i = 0; i < ARRAY_LEN(private_v4_urls); i++)
        check_url_error(private_v4_urls[i], false, HG_URL_NOT_ALLOWED,
                        "private, loopback or reserved address");
}
END_TEST

START_TEST(url_private_v4_allowed)
{
    char err[256];

    for (size_t i = 0; i < ARRAY_LEN(private_v4_urls); i++)
        check_url(private_v4_urls[i], true, HG_URL_OK, err, sizeof(err));
}
END_TEST

START_TEST(url_rejects_non_ascii_host)
{
    char err[512];

    check_url("http://\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa6.0.0.1/", true,
              HG_URL_INVALID, err, sizeof(err));
    ck_assert_ptr_nonnull(strstr(err, "punycode"));
    check_url("http://example.com:0/", true, HG_URL_INVALID, err,
              sizeof(err));
    ck_assert_ptr_nonnull(strstr(err, "port 0"));
    check_url("http://xn--bcher-kva.example/", false, HG_URL_OK, err,
              sizeof(err));
}
END_TEST

START_TEST(url_private_message)
{
    char err[512];

    check_url("http://127.0.0.1:8080/hook", false, HG_URL_NOT_ALLOWED, err,
              sizeof(err));
    ck_assert_str_eq(err, "target address 127.0.0.1 is a private, loopback "
                          "or reserved address. Endpoints must have a public "
                          "address; the operator of this hookgate can allow "
                          "private targets with "
                          "HOOKGATE_ALLOW_PRIVATE_TARGETS=1.");

    check_url("http://[::1]/", false, HG_URL_NOT_ALLOWED, err, sizeof(err));
    ck_assert_ptr_nonnull(strstr(err, "target address ::1 is"));
    ck_assert_ptr_nonnull(strstr(err, "HOOKGATE_ALLOW_PRIVATE_TARGETS=1"));
}
END_TEST

/* Shorthand IPv4 forms that inet_aton accepts and libcurl 7.88 turns into
 * dotted addresses. */
static const char *const numeric_v4_urls[] = {
    "http://2130706433/",       "http://0x7f000001/",
    "http://0x7f.1/",           "http://127.1/",
    "http://0177.0.0.1/",       "http://0x7f.0.0.1/",
    "http://017700000001/",     "http://0/",
    "http://10.1/",             "http://3232235777/",
    "http://0xa9.0xfe.0xa9.0xfe/",
};

START_TEST(url_numeric_v4_refused)
{
    for (size_t i = 0; i < ARRAY_LEN(numeric_v4_urls); i++)
        check_url_error(numeric_v4_urls[i], false, HG_URL_NOT_ALLOWED,
                        "private, loopback or reserved address");
}
END_TEST

START_TEST(url_numeric_v4_allowed)
{
    char err[256];

    for (size_t i = 0; i < ARRAY_LEN(numeric_v4_urls); i++)
        check_url(numeric_v4_urls[i], true, HG_URL_OK, err, sizeof(err));
}
END_TEST

START_TEST(url_numeric_v4_names_address)
{
    check_url_error("http://0x7f.1/", false, HG_URL_NOT_ALLOWED,
                    "target address 127.0.0.1 is");
    check_url_error("http://2130706433/", false, HG_URL_NOT_ALLOWED,
                    "target address 127.0.0.1 is");
}
END_TEST

static const char *const private_v6_urls[] = {
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]:8080/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[64:ff9b:1::1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:c0a8:101::1]/",
    "http://[100::1]/",
    "http://[2001:db8::1]/",
    "http://[2001::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456:789a::1]/",
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
};

START_TEST(url_private_v6_refused)
{
    for (size_t i = 0; i < ARRAY_LEN(private_v6_urls); i++)
        check_url_error(private_v6_urls[i], false, HG_URL_NOT_ALLOWED,
                        "private, loopback or reserved address");
}
END_TEST

START_TEST(url_private_v6_allowed)
{
    char err[256];

    for (size_t i = 0; i < ARRAY_LEN(private_v6_urls); i++)
        check_url(private_v6_urls[i], true, HG_URL_OK, err, sizeof(err));
}
END_TEST

static const char *const localhost_urls[] = {
    "http://localhost/",
    "http://localhost:8080/hook",
    "http://LOCALHOST/",
    "http://LocalHost/",
    "http://localhost./",
    "http://api.localhost/",
    "http://a.b.LOCALHOST./",
    "http://.localhost/",
    "http://%6cocalhost/",
};

START_TEST(url_localhost_refused)
{
    for (size_t i = 0; i < ARRAY_LEN(localhost_urls); i++)
        check_url_error(localhost_urls[i], false, HG_URL_NOT_ALLOWED,
                        "is a loopback name");
}
END_TEST

START_TEST(url_localhost_allowed)
{
    char err[256];

    for (size_t i = 0; i < ARRAY_LEN(localhost_urls); i++)
        check_url(localhost_urls[i], true, HG_URL_OK, err, sizeof(err));
}
END_TEST

START_TEST(url_small_err_buffer)
{
    char err[8];

    memset(err, '#', sizeof(err));
    ck_assert_int_eq(hg_url_check("ftp://x/", false, err, sizeof(err)),
                     HG_URL_INVALID);
    ck_assert_int_eq(strlen(err), sizeof(err) - 1);
    ck_assert_int_eq(hg_url_check("http://127.0.0.1/", false, NULL, 0),
                     HG_URL_NOT_ALLOWED);
}
END_TEST

/* Builds a sockaddr for text, which must be a valid IPv4 or IPv6 address. */
static void make_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

        in6->sin6_family = AF_INET6;
        ck_assert_msg(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1,
                      "bad test address %s", text);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;

        in->sin_family = AF_INET;
        ck_assert_msg(inet_pton(AF_INET, text, &in->sin_addr) == 1,
                      "bad test address %s", text);
    }
}

static const struct {
    const char *addr;
    bool is_private;
} addr_cases[] = {
    /* IPv4 special-purpose ranges and their edges */
    {"0.0.0.0", true},
    {"0.255.255.255", true},
    {"1.0.0.0", false},
    {"9.255.255.255", false},
    {"10.0.0.0", true},
    {"10.255.255.255", true},
    {"11.0.0.0", false},
    {"100.63.255.255", false},
    {"100.64.0.0", true},
    {"100.127.255.255", true},
    {"100.128.0.0", false},
    {"126.255.255.255", false},
    {"127.0.0.1", true},
    {"127.255.255.255", true},
    {"128.0.0.0", false},
    {"169.253.255.255", false},
    {"169.254.0.1", true},
    {"169.254.169.254", true},
    {"169.255.0.0", false},
    {"172.15.255.255", false},
    {"172.16.0.0", true},
    {"172.31.255.255", true},
    {"172.32.0.0", false},
    {"192.0.0.0", true},
    {"192.0.0.255", true},
    {"192.0.1.0", false},
    {"192.0.2.1", true},
    {"192.0.3.0", false},
    {"192.88.99.1", true},
    {"192.88.100.0", false},
    {"192.167.255.255", false},
    {"192.168.0.1", true},
    {"192.168.255.255", true},
    {"192.169.0.0", false},
    {"198.17.255.255", false},
    {"198.18.0.0", true},
    {"198.19.255.255", true},
    {"198.20.0.0", false},
    {"198.51.100.1", true},
    {"198.51.101.0", false},
    {"203.0.113.1", true},
    {"203.0.114.0", false},
    {"223.255.255.255", false},
    {"224.0.0.0", true},
    {"239.255.255.255", true},
    {"240.0.0.0", true},
    {"255.255.255.255", true},
    {"8.8.8.8", false},
    {"1.1.1.1", false},
    {"93.184.216.34", false},
    /* IPv6 */
    {"::", true},
    {"::1", true},
    /* ::/96 is reserved as a whole, IPv4-compatible forms included. */
    {"::2", true},
    {"::127.0.0.1", true},
    {"::8.8.8.8", true},
    /* ::ffff:0:0:0/96, IPv4-translated. */
    {"::ffff:0:7f00:1", true},
    {"::ffff:0:808:808", true},
    {"::ffff:127.0.0.1", true},
    {"::ffff:10.1.2.3", true},
    {"::ffff:192.168.0.1", true},
    {"::ffff:8.8.8.8", false},
    {"64:ff9b::7f00:1", true},
    {"64:ff9b::a9fe:a9fe", true},
    {"64:ff9b::808:808", false},
    {"64:ff9b:1::808:808", true},
    {"2002:7f00:1::", true},
    {"2002:a00:1:1::1", true},
    {"2002:c0a8:101::", true},
    {"2002:808:808::1", false},
    {"100::", true},
    {"100::ffff:ffff:ffff:ffff", true},
    {"100:0:0:1::", false},
    {"2001::", true},
    {"2001:0:ffff:ffff::1", true},
    {"2001:1::1", false},
    {"2001:2::1", true},
    {"2001:2:0:ffff::1", true},
    {"2001:3::1", false},
    {"2001:db8::1", true},
    {"2001:db8:ffff::1", true},
    {"2001:db9::1", false},
    {"3fff::1", true},
    {"3fff:fff::1", true},
    {"3fff:1000::1", false},
    {"fbff:ffff::1", false},
    {"fc00::1", true},
    {"fd00::1", true},
    {"fdff:ffff::1", true},
    {"fe00::1", false},
    {"fe80::1", true},
    {"febf:ffff::1", true},
    {"fec0::1", true},
    {"feff:ffff::1", true},
    {"ff00::1", true},
    {"ff02::1", true},
    {"2606:4700::1111", false},
    {"2001:4860:4860::8888", false},
    {"2a00:1450:4001::200e", false},
};

START_TEST(addr_private_table)
{
    for (size_t i = 0; i < ARRAY_LEN(addr_cases); i++) {
        struct sockaddr_storage ss;
        bool got;

        make_addr(addr_cases[i].addr, &ss);
        got = hg_addr_is_private((const struct sockaddr *)&ss);
        ck_assert_msg(got == addr_cases[i].is_private,
                      "hg_addr_is_private(%s) is %d, expected %d",
                      addr_cases[i].addr, got, addr_cases[i].is_private);
    }
}
END_TEST

START_TEST(addr_other_family_private)
{
    struct sockaddr_un un;
    struct sockaddr_storage unspec;

    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    memset(&unspec, 0, sizeof(unspec));
    unspec.ss_family = AF_UNSPEC;

    ck_assert(hg_addr_is_private((const struct sockaddr *)&un));
    ck_assert(hg_addr_is_private((const struct sockaddr *)&unspec));
    ck_assert(hg_addr_is_private(NULL));
}
END_TEST

START_TEST(cidr_list_parsed)
{
    hg_cidr *list = NULL;
    int n = -1;
    char err[200] = "";

    ck_assert_int_eq(hg_cidr_list_parse(" 10.20.0.0/16, fd00::/8 ,"
                                         "192.0.2.7,, ::1",
                                         &list, &n, err, sizeof(err)),
                     0);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(list[0].family, AF_INET);
    ck_assert_int_eq(list[0].prefix, 16);
    ck_assert_int_eq(list[1].family, AF_INET6);
    ck_assert_int_eq(list[1].prefix, 8);
    ck_assert_int_eq(list[2].prefix, 32);
    ck_assert_int_eq(list[3].prefix, 128);
    free(list);

    ck_assert_int_eq(hg_cidr_list_parse("", &list, &n, err, sizeof(err)), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(list);
}
END_TEST

START_TEST(cidr_list_rejected)
{
    static const char *const bad[] = {
        "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8",
        "example.com", "10.0.0.0/8x", "/8", "10.0.0.0/8,nope", "1.2.3.4 /8",
    };

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        hg_cidr *list = (hg_cidr *)1;
        int n = -1;
        char err[200] = "";

        ck_assert_msg(hg_cidr_list_parse(bad[i], &list, &n, err,
                                         sizeof(err)) == -1,
                      "accepted \"%s\"", bad[i]);
        ck_assert_ptr_null(list);
        ck_assert_int_eq(n, 0);
        ck_assert_msg(strstr(err, "is not a network") != NULL,
                      "message for \"%s\": %s", bad[i], err);
    }
}
END_TEST

static bool allowed(const char *text, bool allow_private)
{
    struct sockaddr_storage ss;

    make_addr(text, &ss);
    return hg_addr_allowed((const struct sockaddr *)&ss, allow_private);
}

START_TEST(cidr_reaches_local)
{
    static const struct {
        const char *network;
        bool local;
    } cases[] = {
        {"10.0.0.0/8", false},        {"172.16.0.0/12", false},
        {"192.168.0.0/16", false},    {"fc00::/7", false},
        {"100.64.0.0/10", false},     {"0.0.0.0/0", true},
        {"::/0", true},               {"127.0.0.0/8", true},
        {"127.0.0.1", true},          {"169.254.169.254", true},
        {"169.254.0.0/16", true},     {"128.0.0.0/1", true},
        {"0.0.0.0/8", true},          {"::1", true},
        {"fe80::/10", true},          {"::ffff:0:0/96", true},
        {"::ffff:10.0.0.0/104", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hg_cidr *list = NULL;
        int n = 0;
        char err[128];

        ck_assert_int_eq(hg_cidr_list_parse(cases[i].network, &list, &n, err,
                                            sizeof(err)),
                         0);
        ck_assert_int_eq(n, 1);
        ck_assert_msg(hg_cidr_reaches_local(&list[0]) == cases[i].local,
                      "%s: expected %s", cases[i].network,
                      cases[i].local ? "local" : "not local");
        free(list);
    }
}
END_TEST

START_TEST(allowed_networks_open_ranges)
{
    hg_cidr *list = NULL;
    int n = 0;
    char err[200];

    /* Before any network is allowed, only public addresses pass. */
    ck_assert(!allowed("10.20.1.1", false));
    ck_assert(allowed("8.8.8.8", false));
    ck_assert(allowed("10.20.1.1", true));

    ck_assert_int_eq(hg_cidr_list_parse("10.20.0.0/16,127.0.0.1,fd00:1::/32,"
                                        "172.16.0.0/13",
                                        &list, &n, err, sizeof(err)),
                     0);
    hg_urlpolicy_allow(list, n);
    ck_assert(allowed("10.20.0.0", false));
    ck_assert(allowed("10.20.255.255", false));
    ck_assert(!allowed("10.21.0.0", false));
    ck_assert(!allowed("10.19.255.255", false));
    ck_assert(allowed("127.0.0.1", false));
    ck_assert(!allowed("127.0.0.2", false));
    ck_assert(allowed("fd00:1::5", false));
    ck_assert(!allowed("fd00:2::5", false));
    /* A prefix that is not a multiple of 8 bits. */
    ck_assert(allowed("172.23.255.255", false));
    ck_assert(!allowed("172.24.0.0", false));
    /* The IPv4 networks do not open the IPv6 forms of the same address. */
    ck_assert(!allowed("::ffff:127.0.0.1", false));
    ck_assert(!allowed("::1", false));
    ck_assert(!allowed("169.254.169.254", false));
    ck_assert(allowed("8.8.8.8", false));

    /* The URL check honours the same networks. */
    ck_assert_int_eq(hg_url_check("http://10.20.3.4/hook", false, err,
                                  sizeof(err)),
                     HG_URL_OK);
    ck_assert_int_eq(hg_url_check("http://10.21.3.4/hook", false, err,
                                  sizeof(err)),
                     HG_URL_NOT_ALLOWED);
    ck_assert_int_eq(hg_url_check("http://[fd00:1::9]/hook", false, err,
                                  sizeof(err)),
                     HG_URL_OK);
    hg_urlpolicy_allow(NULL, 0);
    free(list);
}
END_TEST

static Suite *urlpolicy_suite(void)
{
    Suite *s = suite_create("urlpolicy");
    TCase *syntax = tcase_create("syntax");
    TCase *targets = tcase_create("targets");
    TCase *addrs = tcase_create("addresses");

    tcase_add_test(syntax, url_valid_accepted);
    tcase_add_test(syntax, url_missing_or_empty);
    tcase_add_test(syntax, url_too_long);
    tcase_add_test(syntax, url_whitespace_and_controls);
    tcase_add_test(syntax, url_scheme_rejected);
    tcase_add_test(syntax, url_rejects_non_ascii_host);
    tcase_add_test(syntax, url_scheme_missing);
    tcase_add_test(syntax, url_authority_malformed);
    tcase_add_test(syntax, url_host_missing);
    tcase_add_test(syntax, url_malformed_by_libcurl);
    tcase_add_test(syntax, url_credentials_rejected);
    tcase_add_test(syntax, url_fragment_rejected);
    tcase_add_test(syntax, url_zone_id_rejected);
    tcase_add_test(syntax, url_small_err_buffer);
    suite_add_tcase(s, syntax);

    tcase_add_test(targets, url_private_v4_refused);
    tcase_add_test(targets, url_private_v4_allowed);
    tcase_add_test(targets, url_private_message);
    tcase_add_test(targets, url_numeric_v4_refused);
    tcase_add_test(targets, url_numeric_v4_allowed);
    tcase_add_test(targets, url_numeric_v4_names_address);
    tcase_add_test(targets, url_private_v6_refused);
    tcase_add_test(targets, url_private_v6_allowed);
    tcase_add_test(targets, url_localhost_refused);
    tcase_add_test(targets, url_localhost_allowed);
    suite_add_tcase(s, targets);

    tcase_add_test(addrs, addr_private_table);
    tcase_add_test(addrs, addr_other_family_private);
    tcase_add_test(addrs, cidr_list_parsed);
    tcase_add_test(addrs, cidr_list_rejected);
    tcase_add_test(addrs, cidr_reaches_local);
    tcase_add_test(addrs, allowed_networks_open_ranges);
    suite_add_tcase(s, addrs);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(urlpolicy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
