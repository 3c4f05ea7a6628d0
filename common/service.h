/* SPDX-License-Identifier: MIT
 *
 * The start and stop steps that all three processes share: arguments,
 * configuration, logging, scripts, a loop that runs until SIGTERM or
 * SIGINT, draining at shutdown, and the readiness probe behind /readyz.
 */
#ifndef HG_SERVICE_H
#define HG_SERVICE_H

#include <stdbool.h>

#include "common/config.h"
#include "common/http.h"
#include "common/redis.h"

struct event_base;

/* Handles --help and --version, loads the configuration into cfg, starts
 * logging as service and prepares the Redis scripts. Returns -1 when the
 * process should go on, or the exit code to return from main. */
int hg_service_init(int argc, char **argv, const char *program,
                    const char *summary, unsigned service,
                    const char *log_name, hg_config *cfg);
/* Runs base until SIGTERM or SIGINT; SIGHUP reopens HOOKGATE_LOG_FILE.
 * On the first stop signal, calls
 * on_stop(base, arg), which must end the loop when it is done; with a NULL
 * on_stop the loop ends at once. Returns the exit code: 0, or 1 after
 * hg_service_fail. */
int hg_service_run(struct event_base *base,
                    void (*on_stop)(struct event_base *base, void *arg),
                    void *arg);

/* Returns true from the first SIGTERM or SIGINT on, when /readyz responds
 * 503 "shutting down" so load balancers stop sending. Thread-safe. */
bool hg_service_stopping(void);

/* Stops accepting on http, then ends the loop of base once no request is
 * in progress or after the configured HOOKGATE_SHUTDOWN_TIMEOUT_MS. */
void hg_service_drain(struct event_base *base, hg_http *http);

/* Readiness probe: its own Redis connection sends PING every second and,
 * when group is not NULL, checks with XINFO GROUPS that group exists on
 * every work shard. Created and freed on the main loop. */
typedef struct hg_probe hg_probe;
hg_probe *hg_probe_new(struct event_base *base, const hg_config *cfg,
                       const char *name, const char *group);
/* Returns NULL when ready, else a sentence saying why not: shutting down,
 * no recent PING reply (with the last connection error, if any), or the
 * group missing. Thread-safe; the text stays valid until the calling
 * thread's next call. */
const char *hg_probe_readiness(const hg_probe *p);
void hg_probe_free(hg_probe *p);

/* Ends the loop of base at once; hg_service_run then returns 1. */
void hg_service_fail(struct event_base *base);

/* Checks that the Redis behind r keeps queued work (see redis_check.h).
 * When it does, or HOOKGATE_ALLOW_UNSAFE_REDIS allows the risk, calls
 * safe(arg) (safe may be NULL); otherwise logs the problem and fails the
 * service. Nothing is called when the connection drops first. */
void hg_service_check_redis(hg_redis *r, const hg_config *cfg,
                            struct event_base *base,
                            void (*safe)(void *arg), void *arg);

/* Runs only the HOOKGATE_SECRET_KEY part of hg_service_check_redis, for a
 * process that needs the key but not the durability of queued work: fails
 * the service when the key differs from the one the other processes
 * sealed with. Does nothing when no key is set. */
void hg_service_check_secret_key(hg_redis *r, const hg_config *cfg,
                                 struct event_base *base);

#endif
