/* SPDX-License-Identifier: MIT
 *
 * What gateway/auth.c and gateway/oauth.c take from the gateway's main.c
 * and audit.c, for the unit tests and fuzz targets that link those files
 * without the rest of the gateway. A test that needs a configuration sets
 * gw_config itself. The parsers under test never write an audit record,
 * so reaching gw_audit is a bug.
 */
#include <stdlib.h>

#include "gateway/gateway.h"

const hg_config *gw_config;
atomic_bool gw_redis_verified;

void gw_audit(hg_req *r, const char *integration_id, const char *action,
              const char *target, json_t *details)
{
    (void)r;
    (void)integration_id;
    (void)action;
    (void)target;
    (void)details;
    abort();
}
