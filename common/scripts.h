/* SPDX-License-Identifier: MIT
 *
 * The Redis Lua scripts of common/lua, compiled in. Each process passes the
 * list it uses to hg_redis_new(), which loads them on every connect.
 */
#ifndef HG_SCRIPTS_H
#define HG_SCRIPTS_H

#include "common/redis.h"

extern hg_script hg_script_publish;
extern hg_script hg_script_endpoint_snapshot;
extern hg_script hg_script_create_integration;
extern hg_script hg_script_create_endpoint;
extern hg_script hg_script_load_delivery;
extern hg_script hg_script_record_attempt;
extern hg_script hg_script_settle;
extern hg_script hg_script_promote_due;
extern hg_script hg_script_redeliver;
extern hg_script hg_script_event_detail;
extern hg_script hg_script_delivery_detail;
extern hg_script hg_script_feed_since;
extern hg_script hg_script_sink_capture;

/* NULL-terminated list of every script. */
extern hg_script *const hg_scripts_all[];

/* Computes the SHA-1 of every script; call once before creating clients. */
void hg_scripts_init(void);

#endif
