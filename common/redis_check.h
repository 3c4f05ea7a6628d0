/* SPDX-License-Identifier: MIT
 *
 * The Redis settings hookgate's guarantees rest on: the append-only file,
 * so accepted events survive a restart, and the noeviction policy, so a
 * full Redis refuses writes instead of dropping queued work.
 */
#ifndef HG_REDIS_CHECK_H
#define HG_REDIS_CHECK_H

#include <stdbool.h>

#include "common/redis.h"

/* Called once. checked is false when the connection failed before the
 * reply came, so the caller checks again on the next ready. problem is NULL when Redis is
 * safe or when its configuration cannot be read (CONFIG renamed or
 * refused, which managed services do; a warning is logged); otherwise a
 * sentence that names the setting and how to fix it. */
typedef void (*hg_redis_check_cb)(bool checked, const char *problem,
                                  void *arg);

/* Reads appendonly and maxmemory-policy with CONFIG GET on r. */
void hg_redis_check_durability(hg_redis *r, hg_redis_check_cb done,
                               void *arg);

/* Judges the two values; returns NULL or the problem. Exposed for tests. */
const char *hg_redis_durability_problem(const char *appendonly,
                                        const char *policy);

#endif
