/* SPDX-License-Identifier: MIT
 *
 * The Redis Lua scripts of common/lua, compiled in. Every file lua/<name>.lua
 * becomes the hg_script hg_script_<name>, declared in the generated
 * scripts_list.h. Each process passes hg_scripts_all to hg_redis_new(),
 * which loads them on every connect.
 */
#ifndef HG_SCRIPTS_H
#define HG_SCRIPTS_H

#include "common/redis.h"
#include "scripts_list.h"

/* NULL-terminated list of every script. */
extern hg_script *const hg_scripts_all[];

/* Computes the SHA-1 of every script; call once before creating clients. */
void hg_scripts_init(void);

#endif
