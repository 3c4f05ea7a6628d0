/* SPDX-License-Identifier: MIT
 *
 * Which URLs an endpoint may have and which addresses a delivery may connect
 * to. The URL check runs at endpoint creation; the address check runs in
 * libcurl's open-socket callback on the resolved address, so a DNS name that
 * later resolves to a private address is caught too.
 */
#ifndef HG_URLPOLICY_H
#define HG_URLPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HG_URL_MAX 2048

typedef enum hg_url_result {
    HG_URL_OK = 0,
    HG_URL_INVALID,     /* not an absolute http(s) URL with a host */
    HG_URL_NOT_ALLOWED  /* a literal private or loopback address, or a
                           name such as "localhost" */
} hg_url_result;

/* Checks an endpoint URL. With allow_private false, literal addresses in
 * private, loopback, link-local and other non-public ranges are refused, as
 * are "localhost" names. On failure, err receives a sentence naming the
 * problem. */
hg_url_result hg_url_check(const char *url, bool allow_private, char *err,
                           size_t errsz);
/* Returns true when addr is not a public unicast address: loopback, private
 * (RFC 1918, unique local), link-local, carrier-grade NAT, multicast,
 * unspecified, reserved, or an IPv4-mapped or NAT64 form of one of those. */
bool hg_addr_is_private(const struct sockaddr *addr);

#endif
