/* SPDX-License-Identifier: MIT */
#include "common/service.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>

#include "common/log.h"
#include "common/redis_check.h"
#include "common/scripts.h"
#include "common/urlpolicy.h"

typedef struct stop_state {
    struct event_base *base;
    void (*on_stop)(struct event_base *base, void *arg);
    void *arg;
    int signals;
} stop_state;

int hg_service_init(int argc, char **argv, const char *program,
                    const char *summary, unsigned service,
                    const char *log_name, hg_config *cfg)
{
    char err[512];
    int rc = hg_config_handle_args(argc, argv, program, summary, service);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (hg_config_load(cfg, service, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", program, err);
        return 2;
    }
    hg_log_init(log_name, cfg->log_level);
    hg_urlpolicy_allow(cfg->allowed_cidrs, cfg->allowed_cidr_count);
    hg_scripts_init();
    /* A peer that closes early must give EPIPE, not end the process. */
    signal(SIGPIPE, SIG_IGN);
    return -1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    stop_state *s = arg;

    (void)what;
    if (s->signals++ > 0) {
        hg_warn(NULL, "received signal %d again; stopping now", (int)sig);
        event_base_loopbreak(s->base);
        return;
    }
    hg_info(NULL, "received signal %d; stopping", (int)sig);
    if (s->on_stop != NULL)
        s->on_stop(s->base, s->arg);
    else
        event_base_loopbreak(s->base);
}

static int exit_code;

void hg_service_fail(struct event_base *base)
{
    exit_code = 1;
    event_base_loopbreak(base);
}

typedef struct redis_guard {
    const hg_config *cfg;
    struct event_base *base;
    void (*safe)(void *arg);
    void *arg;
} redis_guard;

static void on_redis_checked(bool checked, const char *problem, void *arg)
{
    redis_guard *g = arg;

    if (!checked) {
        free(g);
        return;
    }
    if (problem != NULL && !g->cfg->allow_unsafe_redis) {
        hg_error(NULL, "refusing to run: %s", problem);
        hg_service_fail(g->base);
    } else {
        if (problem != NULL)
            hg_warn(NULL, "running anyway (HOOKGATE_ALLOW_UNSAFE_REDIS=1): "
                          "%s",
                    problem);
        if (g->safe != NULL)
            g->safe(g->arg);
    }
    free(g);
}

void hg_service_check_redis(hg_redis *r, const hg_config *cfg,
                            struct event_base *base,
                            void (*safe)(void *arg), void *arg)
{
    redis_guard *g = malloc(sizeof(*g));

    if (g == NULL) {
        hg_error(NULL, "out of memory checking Redis");
        abort();
    }
    *g = (redis_guard){cfg, base, safe, arg};
    hg_redis_check_durability(r, on_redis_checked, g);
}

int hg_service_run(struct event_base *base,
                    void (*on_stop)(struct event_base *base, void *arg),
                    void *arg)
{
    stop_state s = {base, on_stop, arg, 0};
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, &s);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, &s);

    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(base);
    event_free(sigterm);
    event_free(sigint);
    return exit_code;
}
