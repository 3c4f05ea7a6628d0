/* SPDX-License-Identifier: MIT
 *
 * Authorization helpers of auth.c beyond those declared in gateway.h: the
 * variant of gw_authorize for routes that act inside one integration, and
 * the RateLimit headers of a named limit.
 */
#ifndef HG_GATEWAY_AUTH_H
#define HG_GATEWAY_AUTH_H

#include "gateway/gateway.h"

/* Runs gw_authorize, and for the admin key also checks that
 * integration_id exists and sends 404 NOT_FOUND when it does not. Other
 * credentials need no check because their records live inside the
 * integration, so a missing integration already gives 401 or 403. */
void gw_authorize_existing(hg_req *r, const char *integration_id,
                           unsigned scope, void (*next)(hg_req *r));

/* Sets RateLimit-Policy with every configured limit ("key" per API key or
 * OAuth client, "integration" for all credentials of an integration), and
 * RateLimit with the state of policy: remaining requests and the time
 * until its bucket is full again. A limit set to 0 is left out, and
 * nothing is sent when neither is set. policy NULL or "" sets only
 * RateLimit-Policy. */
void gw_rate_limit_headers(hg_req *r, const char *policy,
                           long long remaining, long long reset_ms);

#endif
