/* SPDX-License-Identifier: MIT
 *
 * JSON views of stored records, shared by the gateway API and the inspector
 * so both show an event, a delivery and an attempt the same way. Inputs are
 * the replies of event_detail.lua and delivery_detail.lua.
 */
#ifndef HG_VIEWS_H
#define HG_VIEWS_H

#include <hiredis/hiredis.h>
#include <jansson.h>

/* Builds a delivery from its flat HGETALL reply: attempt_count as a number,
 * empty reason and next_attempt_at as null. */
json_t *hg_view_delivery(const redisReply *fields);
/* Parses stored attempt records (see attempt_codec.h) into an array,
 * leaving out damaged ones. */
json_t *hg_view_attempts(const redisReply *list);
/* Builds an event with its deliveries from an event_detail.lua reply, or
 * returns NULL when the event does not exist. The event has the fields of
 * a fixed list, "test" as a boolean, and "deliveries". With attempts, each
 * delivery carries its "attempts" array. */
json_t *hg_view_event(const redisReply *reply, bool attempts);

#endif
