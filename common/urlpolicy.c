/* SPDX-License-Identifier: MIT
 *
 * The URL check only parses. It never resolves names, because the address
 * check in the open-socket callback covers whatever a name resolves to.
 */
#include "common/urlpolicy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The partner sees this; the setting belongs to the operator. */
#define ALLOW_HINT                                                            \
    "Endpoints must have a public address; the operator of this hookgate "   \
    "can allow private targets with HOOKGATE_ALLOW_PRIVATE_TARGETS=1."

static bool in_allowed(int family, const unsigned char *a);

/* An IPv4 network in host byte order. */
typedef struct v4_net {
    uint32_t addr;
    int prefix;
} v4_net;

/* Special-purpose IPv4 ranges that are not public unicast (RFC 6890 and the
 * IANA IPv4 Special-Purpose Address Registry), plus multicast and the
 * reserved 240/4, which includes the limited broadcast address. */
static const v4_net v4_blocked[] = {
    {0x00000000, 8},  /* 0.0.0.0/8, "this network" */
    {0x0a000000, 8},  /* 10.0.0.0/8, RFC 1918 */
    {0x64400000, 10}, /* 100.64.0.0/10, carrier-grade NAT, RFC 6598 */
    {0x7f000000, 8},  /* 127.0.0.0/8, loopback */
    {0xa9fe0000, 16}, /* 169.254.0.0/16, link-local */
    {0xac100000, 12}, /* 172.16.0.0/12, RFC 1918 */
    {0xc0000000, 24}, /* 192.0.0.0/24, IETF protocol assignments */
    {0xc0000200, 24}, /* 192.0.2.0/24, TEST-NET-1 */
    {0xc0586300, 24}, /* 192.88.99.0/24, 6to4 relay anycast */
    {0xc0a80000, 16}, /* 192.168.0.0/16, RFC 1918 */
    {0xc6120000, 15}, /* 198.18.0.0/15, benchmarking */
    {0xc6336400, 24}, /* 198.51.100.0/24, TEST-NET-2 */
    {0xcb007100, 24}, /* 203.0.113.0/24, TEST-NET-3 */
    {0xe0000000, 4},  /* 224.0.0.0/4, multicast */
    {0xf0000000, 4},  /* 240.0.0.0/4, reserved and broadcast */
};

/* An IPv6 network: the leading bytes of the prefix and its length in bits. */
typedef struct v6_net {
    uint8_t bytes[6];
    int prefix;
} v6_net;

/* Special-purpose IPv6 ranges that are never public unicast (RFC 6890 and
 * the IANA IPv6 Special-Purpose Address Registry). ::, ::1 and the prefixes
 * that embed an IPv4 address are handled in v6_private. */
static const v6_net v6_blocked[] = {
    /* 64:ff9b:1::/48, local-use NAT64 (RFC 8215) */
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48},
    /* 2001::/32, Teredo */
    {{0x20, 0x01, 0x00, 0x00}, 32},
    /* 2001:2::/48, benchmarking */
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48},
    /* 2001:db8::/32 and 3fff::/20 (RFC 9637), documentation */
    {{0x20, 0x01, 0x0d, 0xb8}, 32},
    {{0x3f, 0xff}, 20},
    /* fc00::/7, unique local */
    {{0xfc}, 7},
    /* fe80::/10, link-local, and fec0::/10, deprecated site-local */
    {{0xfe, 0x80}, 10},
    {{0xfe, 0xc0}, 10},
    /* ff00::/8, multicast */
    {{0xff}, 8},
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

static bool v4_private(uint32_t addr)
{
    for (size_t i = 0; i < sizeof(v4_blocked) / sizeof(v4_blocked[0]); i++) {
        uint32_t mask = UINT32_MAX << (32 - v4_blocked[i].prefix);

        if ((addr & mask) == v4_blocked[i].addr)
            return true;
    }
    return false;
}

/* Reads four bytes starting at p as an IPv4 address in host byte order. */
static uint32_t v4_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static bool v6_in_net(const uint8_t *a, const v6_net *net)
{
    int whole = net->prefix / 8, rest = net->prefix % 8;

    if (memcmp(a, net->bytes, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return (a[whole] >> (8 - rest)) == (net->bytes[whole] >> (8 - rest));
}

static bool v6_private(const uint8_t a[16])
{
    static const uint8_t zeros[12] = {0};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};

    /* ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated
     * IPv4-compatible addresses (RFC 4291), none of them public. */
    if (memcmp(a, zeros, 12) == 0)
        return true;
    /* ::ffff:0:0:0/96, IPv4-translated addresses (RFC 2765): some stacks
     * reach the embedded IPv4 address. */
    if (memcmp(a, zeros, 8) == 0 && a[8] == 0xff && a[9] == 0xff &&
        a[10] == 0 && a[11] == 0)
        return true;

    /* ::ffff:0:0/96 (IPv4-mapped) and 64:ff9b::/96 (NAT64, RFC 6052) reach
     * the IPv4 address in the last four bytes, and 2002::/16 (6to4, RFC
     * 3056) the one in bytes 2 to 5, so those decide. */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_private(v4_at(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02)
        return v4_private(v4_at(a + 2));

    /* 100::/64, the discard prefix of RFC 6666. */
    if (a[0] == 0x01 && memcmp(a + 1, zeros, 7) == 0)
        return true;

    for (size_t i = 0; i < sizeof(v6_blocked) / sizeof(v6_blocked[0]); i++) {
        if (v6_in_net(a, &v6_blocked[i]))
            return true;
    }
    return false;
}

bool hg_addr_is_private(const struct sockaddr *addr)
{
    if (addr == NULL)
        return true;

    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;

        return v4_private(ntohl(in->sin_addr.s_addr));
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;

        return v6_private(in6->sin6_addr.s6_addr);
    }

    /* Webhooks go only to IPv4 and IPv6 addresses, so Unix sockets and
     * other families are blocked. */
    return true;
}

/* Checks the URL as text: presence, length, characters, fragment and the
 * "http://" or "https://" prefix. */
static hg_url_result check_text(const char *url, char *err, size_t errsz)
{
    size_t len;

    if (url == NULL || url[0] == '\0') {
        set_err(err, errsz, "missing URL: expected an http:// or https:// URL");
        return HG_URL_INVALID;
    }
    len = strnlen(url, HG_URL_MAX + 1);
    if (len > HG_URL_MAX) {
        set_err(err, errsz, "URL is longer than %d characters", HG_URL_MAX);
        return HG_URL_INVALID;
    }

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c == 0x7f) {
            set_err(err, errsz,
                    "URL contains whitespace or a control character at "
                    "offset %zu: percent-encode it",
                    i);
            return HG_URL_INVALID;
        }
    }

    /* A client removes the fragment before it dereferences a URI (RFC 3986,
     * section 3.5). The server never receives it, so a fragment in an
     * endpoint URL is almost certainly a mistake. */
    if (strchr(url, '#') != NULL) {
        set_err(err, errsz,
                "URL contains a fragment (\"#...\"), which is not sent to the "
                "server: remove it");
        return HG_URL_INVALID;
    }
    return HG_URL_OK;
}

/* Checks the scheme and the "//" that starts the authority. libcurl would
 * accept "http:/host" and read "http:///host" as host "host", but an http URI
 * with an empty host is invalid (RFC 9110, section 4.2.1). */
static hg_url_result check_prefix(const char *url, char *err, size_t errsz)
{
    size_t scheme_len = strcspn(url, ":/?");
    const char *rest = url + scheme_len;

    if (*rest != ':') {
        set_err(err, errsz,
                "URL has no scheme: expected an http:// or https:// URL");
        return HG_URL_INVALID;
    }
    if (!((scheme_len == 4 && strncasecmp(url, "http", 4) == 0) ||
          (scheme_len == 5 && strncasecmp(url, "https", 5) == 0))) {
        set_err(err, errsz,
                "unsupported URL scheme \"%.*s\": expected http or https",
                scheme_len > 32 ? 32 : (int)scheme_len, url);
        return HG_URL_INVALID;
    }

    if (strncmp(rest, "://", 3) != 0) {
        set_err(err, errsz,
                "URL must start with \"%.*s://\" followed by a host",
                (int)scheme_len, url);
        return HG_URL_INVALID;
    }
    if (rest[3] == '/' || rest[3] == '\\') {
        set_err(err, errsz, "URL has no host");
        return HG_URL_INVALID;
    }
    return HG_URL_OK;
}

/* Returns whether libcurl found the given part in the URL. */
static bool has_part(CURLU *h, CURLUPart part)
{
    char *value = NULL;
    CURLUcode rc = curl_url_get(h, part, &value, 0);

    curl_free(value);
    return rc == CURLUE_OK;
}

/* Parses the URL with libcurl, which later connects to it, and copies the
 * host that libcurl parsed into host. */
static hg_url_result check_parts(CURLU *h, const char *url, char *host,
                                 size_t hostsz, char *err, size_t errsz)
{
    char *scheme = NULL, *value = NULL;
    CURLUcode rc = curl_url_set(h, CURLUPART_URL, url, 0);
    bool web;

    if (rc != CURLUE_OK) {
        set_err(err, errsz, "invalid URL: %s", curl_url_strerror(rc));
        return HG_URL_INVALID;
    }

    /* check_prefix has already looked at the scheme, but this is the
     * scheme that libcurl will use. */
    rc = curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
    web = rc == CURLUE_OK &&
          (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0);
    curl_free(scheme);
    if (!web) {
        set_err(err, errsz, "unsupported URL scheme: expected http or https");
        return HG_URL_INVALID;
    }

    if (has_part(h, CURLUPART_USER) || has_part(h, CURLUPART_PASSWORD)) {
        set_err(err, errsz,
                "credentials in the URL are not supported: remove the part "
                "before \"@\"");
        return HG_URL_INVALID;
    }

    if (curl_url_get(h, CURLUPART_ZONEID, &value, 0) == CURLUE_OK) {
        set_err(err, errsz,
                "IPv6 zone ID \"%s\" is not supported in a URL", value);
        curl_free(value);
        return HG_URL_INVALID;
    }

    rc = curl_url_get(h, CURLUPART_HOST, &value, 0);
    if (rc != CURLUE_OK || value[0] == '\0' || strlen(value) >= hostsz) {
        set_err(err, errsz, "URL has no host");
        curl_free(value);
        return HG_URL_INVALID;
    }
    strcpy(host, value);
    curl_free(value);

    /* Internationalised names must arrive in their ASCII (punycode) form:
     * the resolver would otherwise decide what a name like "①②⑦.0.0.1"
     * means, after this check ran. */
    for (const char *p = host; *p; p++) {
        if ((unsigned char)*p >= 0x80) {
            set_err(err, errsz,
                    "the host name must be ASCII; write an international "
                    "name in its punycode form (xn--...)");
            return HG_URL_INVALID;
        }
    }
    if (curl_url_get(h, CURLUPART_PORT, &value, 0) == CURLUE_OK) {
        bool zero = strtol(value, NULL, 10) == 0;

        curl_free(value);
        if (zero) {
            set_err(err, errsz, "port 0 is not a valid port");
            return HG_URL_INVALID;
        }
    }
    return HG_URL_OK;
}

static bool localhost_name(const char *name, size_t len)
{
    static const char suffix[] = ".localhost";
    size_t n = sizeof(suffix) - 1;

    if (len == n - 1 && strncasecmp(name, suffix + 1, n - 1) == 0)
        return true;
    return len >= n && strncasecmp(name + len - n, suffix, n) == 0;
}

/* Checks an IPv6 host, which libcurl returns in brackets. */
static hg_url_result check_v6_host(const char *host, char *err, size_t errsz)
{
    struct sockaddr_in6 sa6;
    char text[INET6_ADDRSTRLEN + 2];
    size_t len = strlen(host);

    if (len < 3 || len - 2 >= sizeof(text) || host[len - 1] != ']') {
        set_err(err, errsz, "invalid IPv6 address \"%s\" in URL", host);
        return HG_URL_INVALID;
    }
    memcpy(text, host + 1, len - 2);
    text[len - 2] = '\0';

    memset(&sa6, 0, sizeof(sa6));
    sa6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &sa6.sin6_addr) != 1) {
        set_err(err, errsz, "invalid IPv6 address \"%s\" in URL", text);
        return HG_URL_INVALID;
    }

    if (v6_private(sa6.sin6_addr.s6_addr) &&
        !in_allowed(AF_INET6, sa6.sin6_addr.s6_addr)) {
        set_err(err, errsz,
                "target address %s is a private, loopback or reserved "
                "address. " ALLOW_HINT,
                text);
        return HG_URL_NOT_ALLOWED;
    }
    return HG_URL_OK;
}

/* Checks a host that is a name or an IPv4 address. inet_aton accepts the
 * shorthand forms ("127.1", "0x7f.0.0.1", "2130706433") that libcurl 7.88
 * also turns into addresses, so none of those can bypass the check. A single
 * trailing dot marks a fully qualified name and is ignored. */
static hg_url_result check_name_host(const char *host, char *err, size_t errsz)
{
    char name[HG_URL_MAX + 1], text[INET_ADDRSTRLEN];
    size_t len = strlen(host);
    struct sockaddr_in sa;

    if (len > 0 && host[len - 1] == '.')
        len--;
    memcpy(name, host, len);
    name[len] = '\0';

    if (localhost_name(name, len)) {
        set_err(err, errsz,
                "target host \"%s\" is a loopback name. " ALLOW_HINT, host);
        return HG_URL_NOT_ALLOWED;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (inet_aton(name, &sa.sin_addr) == 0)
        return HG_URL_OK;

    if (v4_private(ntohl(sa.sin_addr.s_addr)) &&
        !in_allowed(AF_INET, (const unsigned char *)&sa.sin_addr)) {
        inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
        set_err(err, errsz,
                "target address %s is a private, loopback or reserved "
                "address. " ALLOW_HINT,
                text);
        return HG_URL_NOT_ALLOWED;
    }
    return HG_URL_OK;
}

hg_url_result hg_url_check(const char *url, bool allow_private, char *err,
                           size_t errsz)
{
    char host[HG_URL_MAX + 1];
    hg_url_result result;
    CURLU *h;

    result = check_text(url, err, errsz);
    if (result == HG_URL_OK)
        result = check_prefix(url, err, errsz);
    if (result != HG_URL_OK)
        return result;

    h = curl_url();
    if (h == NULL) {
        set_err(err, errsz, "failed to check URL: out of memory");
        return HG_URL_INVALID;
    }
    result = check_parts(h, url, host, sizeof(host), err, errsz);
    curl_url_cleanup(h);
    if (result != HG_URL_OK || allow_private)
        return result;

    if (host[0] == '[')
        return check_v6_host(host, err, errsz);
    return check_name_host(host, err, errsz);
}

/* ---- allowed networks ------------------------------------------------- */

static const hg_cidr *allowed_networks;
static int allowed_count;

static int parse_one_cidr(const char *text, hg_cidr *out)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    int max;
    char *end;

    if (len == 0 || len >= sizeof(addr))
        return -1;
    memcpy(addr, text, len);
    addr[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    out->prefix = max;
    if (slash != NULL) {
        long p = strtol(slash + 1, &end, 10);

        if (slash[1] == '\0' || *end != '\0' || p < 0 || p > max)
            return -1;
        out->prefix = (int)p;
    }
    return 0;
}

int hg_cidr_list_parse(const char *s, hg_cidr **out, int *count, char *err,
                       size_t errsz)
{
    char *copy = strdup(s), *save = NULL;
    hg_cidr *list = NULL;
    int n = 0;

    *out = NULL;
    *count = 0;
    if (copy == NULL)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        hg_cidr *grown;

        while (*t == ' ')
            t++;
        for (char *e = t + strlen(t); e > t && e[-1] == ' '; e--)
            e[-1] = '\0';
        if (*t == '\0')
            continue;
        grown = realloc(list, sizeof(*list) * (size_t)(n + 1));
        if (grown == NULL || parse_one_cidr(t, &grown[n]) != 0) {
            set_err(err, errsz,
                    "\"%.64s\" is not a network such as 10.20.0.0/16 or "
                    "fd00::/8",
                    t);
            free(grown ? grown : list);
            free(copy);
            return -1;
        }
        list = grown;
        n++;
    }
    free(copy);
    *out = list;
    *count = n;
    return 0;
}

void hg_urlpolicy_allow(const hg_cidr *networks, int count)
{
    allowed_networks = networks;
    allowed_count = count;
}

static bool in_network(int family, const unsigned char *a, const hg_cidr *c)
{
    int full = c->prefix / 8, rest = c->prefix % 8;

    if (family != c->family || memcmp(a, c->addr, (size_t)full) != 0)
        return false;
    return rest == 0 ||
           ((a[full] ^ c->addr[full]) & (unsigned char)(0xff << (8 - rest))) ==
               0;
}

static bool networks_overlap(const hg_cidr *a, const hg_cidr *b)
{
    const hg_cidr *wider = a->prefix <= b->prefix ? a : b;
    const hg_cidr *other = wider == a ? b : a;

    return in_network(other->family, other->addr, wider);
}

bool hg_cidr_reaches_local(const hg_cidr *c)
{
    /* Loopback, "this network" and link-local, in IPv4, IPv6 and as
     * IPv4-mapped IPv6 addresses. */
    static const hg_cidr local[] = {
        {AF_INET, {127}, 8},
        {AF_INET, {0}, 8},
        {AF_INET, {169, 254}, 16},
        {AF_INET6, {[15] = 1}, 128},
        {AF_INET6, {0}, 128},
        {AF_INET6, {0xfe, 0x80}, 10},
        {AF_INET6, {[10] = 0xff, [11] = 0xff, [12] = 127}, 104},
        {AF_INET6, {[10] = 0xff, [11] = 0xff, [12] = 169, [13] = 254}, 112},
    };

    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        if (networks_overlap(c, &local[i]))
            return true;
    }
    return false;
}

static bool in_allowed(int family, const unsigned char *a)
{
    for (int i = 0; i < allowed_count; i++) {
        if (in_network(family, a, &allowed_networks[i]))
            return true;
    }
    return false;
}

bool hg_addr_allowed(const struct sockaddr *addr, bool allow_private)
{
    if (allow_private || !hg_addr_is_private(addr))
        return true;
    if (addr->sa_family == AF_INET)
        return in_allowed(AF_INET, (const unsigned char *)&(
                                       (const struct sockaddr_in *)addr)
                                       ->sin_addr);
    if (addr->sa_family == AF_INET6)
        return in_allowed(AF_INET6, ((const struct sockaddr_in6 *)addr)
                                        ->sin6_addr.s6_addr);
    return false;
}
