/* SPDX-License-Identifier: MIT
 *
 * Redaction of credential-bearing HTTP headers before they are stored or
 * shown: attempt request and response headers, endpoint custom headers and
 * captured sink requests. Pure functions with no I/O, so any module may use
 * them.
 */
#ifndef HG_REDACT_H
#define HG_REDACT_H

#include <stdbool.h>

#include <jansson.h>

/* The value that replaces a redacted header value. */
#define HG_REDACTED "[redacted]"

/* Returns true when a header with this name (compared case-insensitively)
 * may carry a credential: Authorization, Proxy-Authorization, Cookie,
 * Set-Cookie, X-Api-Key, Api-Key, Ocp-Apim-Subscription-Key, X-Auth-Token,
 * and any name containing "secret", "token" or "password". Webhook-Signature
 * is kept because receivers need it to verify a delivery. NULL returns
 * false. */
bool hg_redact_header_name(const char *name);

/* Replaces, in place, the value of every member of the JSON object
 * `headers` whose name hg_redact_header_name() matches with HG_REDACTED,
 * whatever the value's type (a string or an array of strings). Anything
 * that is not an object is left unchanged. */
void hg_redact_json_headers(json_t *headers);

#endif
