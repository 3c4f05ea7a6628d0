/* SPDX-License-Identifier: MIT
 *
 * Internal parsers of common/http.c that read untrusted request data: the
 * query string, the request path against a route pattern, the X-Request-Id
 * header and the Content-Length framing check. They are exported only so
 * that the fuzz targets of tests/fuzz call the code that serves requests;
 * routes use the accessors of common/http.h instead.
 */
#ifndef HG_HTTP_PARSE_H
#define HG_HTTP_PARSE_H

#include <stdbool.h>

#include "common/http.h"

/* Splits r->req->uri->query_raw into r->query, r->query_count and
 * r->query_text, as hg_req_query() describes. r owns the results, which
 * the request's release frees. Returns false when out of memory. */
bool hg_http_parse_query(hg_req *r);

/* Matches path against a route pattern such as "/api/v1/x/{id}" and fills
 * params with the parameters on success. */
bool hg_http_match_route(const char *pattern, const char *path,
                         char params[HG_MAX_PARAMS][HG_PARAM_MAX]);

/* Returns true when an X-Request-Id value is kept as the request id: 1 to
 * HG_REQUEST_ID_MAX of A-Z a-z 0-9 - _ . : */
bool hg_http_request_id_valid(const char *s);

/* Returns a sentence naming a framing error of headers (conflicting or
 * non-decimal Content-Length, Content-Length with Transfer-Encoding), or
 * NULL. Without an error, *has_length is true when *length was set. */
const char *hg_http_framing_error(evhtp_headers_t *headers,
                                  unsigned long long *length,
                                  bool *has_length);

#endif
