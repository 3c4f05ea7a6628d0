/* SPDX-License-Identifier: MIT
 *
 * Redis key names. Every key of one integration carries the hash tag
 * "{<integration_id>}" so that all of them share one Redis Cluster slot.
 * Keys shared by all integrations (work queue, retry schedule, activity) are
 * split into shards with tags of their own. docs/redis-keys.md describes
 * what each key holds.
 */
#ifndef HG_KEYS_H
#define HG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define HG_KEY_MAX 256

/* Consumer group that every delivery worker joins on each work shard. */
#define HG_DISPATCH_GROUP "hg-dispatch"
/* Activity stream read by the inspector's live feed. */
#define HG_KEY_ACTIVITY "hg:{act}:activity"
#define HG_KEY_INTEGRATIONS "hg:integrations"
/* Background jobs (recoveries) for the delivery workers, and their
 * consumer group. */
#define HG_KEY_JOBS "hg:{jobs}:queue"
#define HG_JOBS_GROUP "hg-jobs"
/* Audit records of changes made with the admin key or to integrations. */
#define HG_KEY_AUDIT "hg:{admin}:audit"
/* Configured sinks: sink id -> owning integration. */
#define HG_KEY_SINKS "hg:sinks"

/* Writes "hg:{<integration_id>}:<suffix>" into out (HG_KEY_MAX bytes). */
char *hg_key(char *out, const char *integration_id, const char *suffix);
/* Writes "hg:{<integration_id>}:<kind>:<id>" into out (HG_KEY_MAX bytes). */
char *hg_key_id(char *out, const char *integration_id, const char *kind,
                const char *id);
/* Writes "hg:apikey:<sha256 hex>". */
char *hg_key_apikey(char *out, const char *sha256_hex);
/* Returns the work shard of an integration: FNV-1a of its id modulo shards. */
int hg_shard_of(const char *integration_id, int shards);
/* Writes "hg:{wq<shard>}:work" and "hg:{wq<shard>}:sched". */
char *hg_key_work(char *out, int shard);
char *hg_key_sched(char *out, int shard);
/* Returns true when id is a hash tag of the keys shared by all
 * integrations ("act", "admin", "jobs", "status", or "wq" and digits).
 * An integration with such an id would share, and on deletion remove,
 * those keys. */
bool hg_key_tag_shared(const char *id);

#endif
