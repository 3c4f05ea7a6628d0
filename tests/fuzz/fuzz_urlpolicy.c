/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the endpoint URL check and the address policy. The URL check is
 * compared with what libcurl, which makes the delivery, parses from the
 * same URL. An accepted URL must have an http or https scheme and a host
 * that is not a loopback name. getaddrinfo() must not read that host as a
 * private numeric address. An input that starts with "cidr:" is parsed as
 * an allow list instead, and the networks must survive a round trip
 * through their text form. The address check must give an IPv4 address
 * and its IPv4-mapped IPv6 form the same verdict.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <strings.h>

#include "common/urlpolicy.h"
#include "fuzz.h"

/* Returns true when getaddrinfo() reads host (without IPv6 brackets) as a
 * numeric address that hg_addr_is_private() calls private. */
static bool numeric_private(const char *host)
{
    struct addrinfo hints, *found = NULL;
    char bare[HG_URL_MAX + 1];
    size_t len = strlen(host);
    bool is_private;

    if (len >= sizeof(bare))
        return false;
    if (host[0] == '[' && len >= 2) {
        memcpy(bare, host + 1, len - 2);
        bare[len - 2] = '\0';
    } else {
        memcpy(bare, host, len + 1);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(bare, NULL, &hints, &found) != 0)
        return false;
    is_private = hg_addr_is_private(found->ai_addr);
    freeaddrinfo(found);
    return is_private;
}

static bool loopback_name(const char *host)
{
    size_t len = strlen(host);

    if (len > 0 && host[len - 1] == '.')
        len--;
    return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (len >= 10 && strncasecmp(host + len - 10, ".localhost", 10) == 0);
}

static void check_accepted_url(const char *url)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL;

    FUZZ_CHECK(h != NULL);
    FUZZ_CHECK(curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK);
    FUZZ_CHECK(curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK);
    FUZZ_CHECK(strcasecmp(scheme, "http") == 0 ||
               strcasecmp(scheme, "https") == 0);
    FUZZ_CHECK(curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK);
    FUZZ_CHECK(host[0] != '\0');
    FUZZ_CHECK(!loopback_name(host));
    FUZZ_CHECK(!numeric_private(host));
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(h);
}

static void check_url(const char *url)
{
    char err[512] = "";
    hg_url_result strict = hg_url_check(url, false, err, sizeof(err));
    hg_url_result lax = hg_url_check(url, true, NULL, 0);

    FUZZ_CHECK(strict == HG_URL_OK || err[0] != '\0');
    /* Allowing private targets only lifts HG_URL_NOT_ALLOWED. */
    if (strict == HG_URL_OK || strict == HG_URL_NOT_ALLOWED)
        FUZZ_CHECK(lax == HG_URL_OK);
    if (strict == HG_URL_INVALID)
        FUZZ_CHECK(lax == HG_URL_INVALID);
    if (strict == HG_URL_OK)
        check_accepted_url(url);
}

/* Formats each parsed network and parses the text again. */
static void check_cidr_list(const char *text)
{
    hg_cidr *list = NULL, *again = NULL;
    int count = 0, count_again = 0;
    char err[256];

    if (hg_cidr_list_parse(text, &list, &count, err, sizeof(err)) != 0) {
        FUZZ_CHECK(list == NULL && count == 0);
        return;
    }
    for (int i = 0; i < count; i++) {
        char addr[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 8];

        FUZZ_CHECK(list[i].family == AF_INET || list[i].family == AF_INET6);
        FUZZ_CHECK(list[i].prefix >= 0 &&
                   list[i].prefix <= (list[i].family == AF_INET ? 32 : 128));
        FUZZ_CHECK(inet_ntop(list[i].family, list[i].addr, addr,
                             sizeof(addr)) != NULL);
        snprintf(one, sizeof(one), "%s/%d", addr, list[i].prefix);
        FUZZ_CHECK(hg_cidr_list_parse(one, &again, &count_again, err,
                                      sizeof(err)) == 0);
        FUZZ_CHECK(count_again == 1);
        FUZZ_CHECK(memcmp(&again[0], &list[i], sizeof(hg_cidr)) == 0);
        free(again);
    }
    free(list);
}

/* Reads 4 bytes as an IPv4 address and compares it with ::ffff:a.b.c.d. */
static void check_mapped(const uint8_t *data, size_t size)
{
    struct sockaddr_in in;
    struct sockaddr_in6 in6;

    if (size < 4)
        return;
    memset(&in, 0, sizeof(in));
    memset(&in6, 0, sizeof(in6));
    in.sin_family = AF_INET;
    memcpy(&in.sin_addr, data, 4);
    in6.sin6_family = AF_INET6;
    in6.sin6_addr.s6_addr[10] = 0xff;
    in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(in6.sin6_addr.s6_addr + 12, data, 4);
    FUZZ_CHECK(hg_addr_is_private((struct sockaddr *)&in) ==
               hg_addr_is_private((struct sockaddr *)&in6));
    FUZZ_CHECK(hg_addr_allowed((struct sockaddr *)&in, true));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);

    if (strncmp(text, "cidr:", 5) == 0)
        check_cidr_list(text + 5);
    else
        check_url(text);
    check_mapped(data, size);
    free(text);
    return 0;
}
