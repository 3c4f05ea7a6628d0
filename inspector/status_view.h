/* SPDX-License-Identifier: MIT
 *
 * The JSON of status incidents and maintenance windows from their Redis
 * hashes (hg:{status}:inc:<id> and hg:{status}:mnt:<id>, see
 * docs/redis-keys.md). Both the gateway's operator API and the inspector's
 * public status page build their responses with it, so the two cannot
 * disagree on a shape. It needs hiredis replies and jansson only.
 */
#ifndef HG_STATUS_VIEW_H
#define HG_STATUS_VIEW_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define HG_STATUS_KEY_WORKERS "hg:{status}:workers"
#define HG_STATUS_KEY_INCIDENTS "hg:{status}:incidents"
#define HG_STATUS_KEY_WINDOWS "hg:{status}:maintenance"
#define HG_STATUS_INCIDENT_PREFIX "hg:{status}:inc:"
#define HG_STATUS_WINDOW_PREFIX "hg:{status}:mnt:"

/* The components a status page reports on, in display order. */
extern const char *const hg_status_components[];
#define HG_STATUS_COMPONENT_COUNT 4

/* Returns the value of field name in a flat HGETALL reply, or NULL. */
const char *hg_status_field(const redisReply *fields, const char *name);

/* The incident object: id, title, status, impact, components, created_at,
 * updated_at, resolved_at (null while open) and updates (oldest first,
 * each {status, message, created_at}). updates may be NULL for none.
 * Returns a new reference, or NULL when fields is not an incident. */
json_t *hg_status_incident_json(const redisReply *fields,
                                const redisReply *updates);

/* The maintenance window object: id, title, description, starts_at,
 * ends_at, components, state ("scheduled", "in_progress" or "completed"
 * at now_ms), created_at and updated_at. Returns a new reference, or NULL
 * when fields is not a window. */
json_t *hg_status_window_json(const redisReply *fields, int64_t now_ms);

#endif
