/* SPDX-License-Identifier: MIT
 *
 * The API error codes. Every problem+json answer carries one of these codes;
 * the code, its HTTP status and its title come from the one table below, so a
 * code can never drift from its status. HTTP status is kept apart from any
 * library control code.
 */
#ifndef HG_ERRORS_H
#define HG_ERRORS_H

#define HG_ERROR_TABLE(X)                                                     \
    X(VALIDATION_ERROR, 422, "The request is invalid")                        \
    X(MALFORMED_JSON, 400, "The body is not valid JSON")                      \
    X(BAD_REQUEST, 400, "The request is malformed")                           \
    X(UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported media type")                  \
    X(PAYLOAD_TOO_LARGE, 413, "The body is too large")                        \
    X(UNAUTHORIZED, 401, "Authentication is required")                        \
    X(TOKEN_EXPIRED, 401, "The access token expired")                         \
    X(FORBIDDEN, 403, "The credentials do not allow this action")             \
    X(NOT_FOUND, 404, "Not found")                                            \
    X(METHOD_NOT_ALLOWED, 405, "Method not allowed")                          \
    X(PRECONDITION_FAILED, 412, "The precondition failed")                    \
    X(CONFLICT, 409, "The request conflicts with the current state")          \
    X(ALREADY_REVOKED, 409, "The credential is already revoked")              \
    X(IDEMPOTENCY_KEY_REUSED, 422,                                            \
      "The Idempotency-Key was already used with a different body")           \
    X(TARGET_NOT_ALLOWED, 422, "The endpoint URL is not allowed")             \
    X(RATE_LIMITED, 429, "Too many requests")                                 \
    X(UNAVAILABLE, 503, "The service is temporarily unavailable")             \
    X(INTERNAL_ERROR, 500, "Internal error")

typedef enum hg_error {
#define HG_ERROR_ENUM(name, status, title) HG_E_##name,
    HG_ERROR_TABLE(HG_ERROR_ENUM)
#undef HG_ERROR_ENUM
    HG_E_COUNT
} hg_error;

/* Returns the stable code string, such as "VALIDATION_ERROR". */
const char *hg_error_code(hg_error e);
/* Returns the HTTP status that answers this error. */
int hg_error_status(hg_error e);
/* Returns a short human title for the problem+json "title" member. */
const char *hg_error_title(hg_error e);

#endif
