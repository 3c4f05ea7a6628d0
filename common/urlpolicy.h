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
/* A network such as 10.20.0.0/16 or fd00::/8. */
typedef struct hg_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
} hg_cidr;

/* Parses comma-separated networks (spaces allowed; a bare address is a
 * /32 or /128) into a new array (caller frees). Returns 0, or -1 with a
 * sentence in err. An empty string gives no networks. */
int hg_cidr_list_parse(const char *s, hg_cidr **out, int *count, char *err,
                       size_t errsz);
/* Returns true when a network includes loopback, link-local (such as the
 * cloud metadata address 169.254.169.254) or "this network" addresses. */
bool hg_cidr_reaches_local(const hg_cidr *c);
/* Sets the networks that are allowed although private, for every later
 * check in this process. Call once at start, before threads. */
void hg_urlpolicy_allow(const hg_cidr *networks, int count);
/* Returns true when a delivery may connect to addr: a public address, any
 * address with allow_private, or one inside an allowed network. */
bool hg_addr_allowed(const struct sockaddr *addr, bool allow_private);

/* Returns true when addr is not a public unicast address: loopback, private
 * (RFC 1918, unique local), link-local, carrier-grade NAT, multicast,
 * unspecified, reserved, or an IPv4-mapped or NAT64 form of one of those. */
bool hg_addr_is_private(const struct sockaddr *addr);

#endif
