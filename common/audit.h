/* SPDX-License-Identifier: MIT
 *
 * The audit record format shared by the gateway (gateway/audit.c) and the
 * inspector: a stream entry with the fields "a" (action), "u" (actor) and
 * "j" (the record as JSON). This module builds and appends records; the
 * callers decide which streams get them.
 */
#ifndef HG_AUDIT_H
#define HG_AUDIT_H

#include <jansson.h>

#include "common/redis.h"

/* Builds the JSON text of an audit record: at, actor ("anonymous" when
 * empty), action, target, request_id, integration_id (null when NULL) and
 * details (an empty object when NULL). Takes ownership of details. Returns
 * a string to free(), or NULL when out of memory. */
char *hg_audit_record(const char *actor, const char *action,
                      const char *target, const char *request_id,
                      const char *integration_id, json_t *details);

/* Appends a record built by hg_audit_record() to stream, capped at about
 * 100000 entries. A failure is logged, not retried, because the change it
 * records has already been made. */
void hg_audit_append(hg_redis *redis, const char *stream, const char *action,
                     const char *actor, const char *record);

#endif
