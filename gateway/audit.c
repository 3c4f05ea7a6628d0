/* SPDX-License-Identifier: MIT
 *
 * The audit log: every change made through the API is recorded with who
 * (the caller's actor), what (action and target), when, and the request id,
 * in a stream per integration (hg:{I}:audit), and in the global stream
 * hg:{admin}:audit for changes made with the admin key or to integrations
 * as a whole. Records are written after the change succeeded; a Redis
 * failure at that moment is logged, not retried. The routes that list the
 * records are in api_history.c.
 */
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/keys.h"
#include "gateway/gateway.h"

void gw_audit(hg_req *r, const char *integration_id, const char *action,
              const char *target, json_t *details)
{
    gw_thread *t = hg_req_thread(r);
    char stream[HG_KEY_MAX];
    char *text = hg_audit_record(r->auth_actor, action, target, r->request_id,
                                 integration_id, details);

    if (text == NULL)
        return;
    if (integration_id != NULL)
        hg_audit_append(t->redis, hg_key(stream, integration_id, "audit"),
                        action, r->auth_actor, text);
    if (integration_id == NULL || r->auth_admin ||
        strncmp(action, "integration.", 12) == 0)
        hg_audit_append(t->redis, HG_KEY_AUDIT, action, r->auth_actor, text);
    free(text);
}
