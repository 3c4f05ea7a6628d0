/* SPDX-License-Identifier: MIT
 *
 * Redis Sentinel discovery: parsing of HOOKGATE_REDIS_SENTINELS and
 * HOOKGATE_REDIS_MASTER_NAME, and an asynchronous lookup of the current
 * primary with SENTINEL get-master-addr-by-name. The lookup only finds an
 * address; hg_redis connects to it and checks its role.
 */
#ifndef HG_SENTINEL_H
#define HG_SENTINEL_H

#include <stddef.h>

#include "common/redis_url.h"

struct event_base;
typedef struct hg_sentinel_query hg_sentinel_query;

/* Parses a comma-separated list of ip:port entries (an IPv6 address in
 * brackets, as in [::1]:26379) into out[0..cap). Blanks around entries are
 * ignored. Returns the number of entries (at least 1), or -1 with a
 * sentence in err. Host names are rejected: the lookup must not block the
 * event loop, and hiredis 0.14 resolves names with blocking getaddrinfo. */
int hg_sentinel_list_parse(const char *s, hg_redis_node *out, int cap,
                           char *err, size_t errsz);

/* Checks a master name as Sentinel's configuration accepts it: 1 to 127
 * printable ASCII characters without blanks. Returns 0, or -1 with err. */
int hg_sentinel_name_check(const char *name, char *err, size_t errsz);

/* Called once per query with the primary's address, or with host NULL and
 * a reason when no Sentinel returned one. host is valid only during the
 * call. Runs from a timer on the loop, never inside hg_sentinel_query_start
 * and never inside a hiredis callback. */
typedef void (*hg_sentinel_cb)(const char *host, int port, const char *why,
                               void *arg);

/* Asks the Sentinels of url, one after another, each bounded by timeout_ms,
 * until one names the primary of url->master_name. The query frees itself
 * after its callback returns. Returns NULL only when memory runs out. */
hg_sentinel_query *hg_sentinel_query_start(struct event_base *base,
                                           const hg_redis_url *url,
                                           int timeout_ms, hg_sentinel_cb cb,
                                           void *arg);

/* Stops a query whose callback has not run yet; the callback never runs.
 * Accepts NULL. */
void hg_sentinel_query_cancel(hg_sentinel_query *q);

#endif
