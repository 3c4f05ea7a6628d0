/* SPDX-License-Identifier: MIT */
#include "common/service.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>

#include "common/log.h"
#include "common/scripts.h"

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

void hg_service_run(struct event_base *base,
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
}
