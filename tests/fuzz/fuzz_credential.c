/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the credential parsing of gateway/auth.c: Authorization: Bearer,
 * Ocp-Apim-Subscription-Key, OAuth access tokens and scope lists, and the
 * base64 and form decoders that read the token route's client
 * credentials. An input
 * has three lines: the Authorization value, the Ocp-Apim-Subscription-Key
 * value, and "integration|client|scopes" fields for an access token that
 * is issued with gw_token_issue() and must read back unchanged. The
 * request is a bare libevhtp request marked as already replied to, so the
 * 401 and 403 responses of a rejected credential are not written.
 */
#include <stdbool.h>

#include "common/crypto.h"
#include "fuzz.h"
#include "gateway/gateway.h"

#define ADMIN_KEY "admin-key-used-only-by-the-fuzz-target"

static hg_config config;

/* Reads the credential of a request with the given header values (NULL
 * for an absent header). Returns what gw_read_credential() returns. */
static bool read_with(const char *authorization, const char *apim,
                      gw_credential *c)
{
    evhtp_headers_t *headers = evhtp_headers_new();
    evhtp_request_t req;
    hg_req r;
    bool ok;

    FUZZ_CHECK(headers != NULL);
    if (authorization != NULL)
        evhtp_headers_add_header(
            headers, evhtp_header_new("Authorization", authorization, 1, 1));
    if (apim != NULL)
        evhtp_headers_add_header(
            headers,
            evhtp_header_new("Ocp-Apim-Subscription-Key", apim, 1, 1));
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    req.headers_in = headers;
    r.req = &req;
    r.replied = true;

    ok = gw_read_credential(&r, c);
    if (r.headers_out != NULL)
        evbuffer_free(r.headers_out);
    evhtp_headers_free(headers);
    return ok;
}

/* Returns the SHA-256 (hex) of a candidate credential, or "" when there
 * is none. */
static void candidate_sha(const char *token, char sha[65])
{
    sha[0] = '\0';
    if (token != NULL && strncmp(token, "hgt_", 4) != 0)
        hg_sha256_hex(token, strlen(token), sha);
}

/* Checks a credential read from headers the fuzzer chose. It cannot forge
 * a token signature, so a token is never accepted, and any other key must
 * be the value after "Bearer " or the APIM header, identified by its
 * SHA-256. */
static void check_presented(const char *authorization, const char *apim)
{
    char bearer_sha[65], apim_sha[65], admin_sha[65];
    gw_credential c;

    if (!read_with(authorization, apim, &c))
        return;
    FUZZ_CHECK(c.kind == CRED_ADMIN || c.kind == CRED_KEY);

    candidate_sha(strncasecmp(authorization, "Bearer ", 7) == 0
                      ? authorization + 7 + strspn(authorization + 7, " ")
                      : NULL,
                  bearer_sha);
    candidate_sha(apim, apim_sha);
    FUZZ_CHECK(strcmp(c.sha256, bearer_sha) == 0 ||
               strcmp(c.sha256, apim_sha) == 0);
    hg_sha256_hex(ADMIN_KEY, strlen(ADMIN_KEY), admin_sha);
    FUZZ_CHECK((c.kind == CRED_ADMIN) == (strcmp(c.sha256, admin_sha) == 0));
}

static bool field_fits(const char *s, size_t cap)
{
    return s != NULL && s[0] != '\0' && strlen(s) < cap &&
           strchr(s, '|') == NULL;
}

/* Issues a token for the fields and reads it back. */
static void check_token_round_trip(char *fields)
{
    char *save = NULL, token[600], header[620];
    char *integration = strtok_r(fields, "|", &save);
    char *client = strtok_r(NULL, "|", &save);
    char *scopes = strtok_r(NULL, "", &save);
    long long expires_ms = hg_time_ms() + 3600 * 1000;
    gw_credential c;

    if (!field_fits(integration, sizeof(c.token_integration)) ||
        !field_fits(client, sizeof(c.client_id)) ||
        !field_fits(scopes, sizeof(c.token_scopes)))
        return;
    if (gw_token_issue(integration, client, scopes, expires_ms, token,
                       sizeof(token)) != 0)
        return;
    snprintf(header, sizeof(header), "Bearer %s", token);
    if (strlen(token) > 512) {
        FUZZ_CHECK(!read_with(header, NULL, &c));
        return;
    }
    FUZZ_CHECK(read_with(header, NULL, &c));
    FUZZ_CHECK(c.kind == CRED_TOKEN);
    FUZZ_CHECK(strcmp(c.token_integration, integration) == 0);
    FUZZ_CHECK(strcmp(c.client_id, client) == 0);
    FUZZ_CHECK(strcmp(c.token_scopes, scopes) == 0);
    FUZZ_CHECK(c.token_expires_ms == expires_ms);

    /* The same token with the first character of its signature changed
     * is rejected. */
    strchr(token, '.')[1] ^= 1;
    snprintf(header, sizeof(header), "Bearer %s", token);
    FUZZ_CHECK(!read_with(header, NULL, &c));
}

static void check_scopes(const char *text)
{
    char formatted[64];
    unsigned scopes = gw_scopes_parse(text);

    FUZZ_CHECK((scopes & ~(unsigned)SCOPE_ALL) == 0);
    gw_scopes_format(scopes, formatted, sizeof(formatted));
    FUZZ_CHECK(gw_scopes_parse(formatted) == scopes);
}

/* Checks the decoders behind "Authorization: Basic" and the form body of
 * the token route: strict base64 must give back its input when encoded
 * again, and a form-decoded value, percent-encoded again, must decode to
 * the same text. */
static void check_encodings(const char *text)
{
    size_t len = strlen(text);
    uint8_t *bytes = malloc(len + 1);
    char *again = malloc(2 * len + 8), *decoded = malloc(len + 1);
    int n;

    FUZZ_CHECK(bytes != NULL && again != NULL && decoded != NULL);
    n = hg_base64_decode(text, len, bytes, len + 1);
    if (n >= 0) {
        FUZZ_CHECK(hg_base64_encode(bytes, (size_t)n, again, 2 * len + 8) ==
                   (int)len);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }
    n = hg_base64url_decode(text, len, bytes, len + 1);
    if (n >= 0) {
        FUZZ_CHECK(hg_base64url_encode(bytes, (size_t)n, again,
                                       2 * len + 8) == (int)len);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }

    if (gw_query_decode(text, decoded, len + 1) == 0) {
        size_t pos = 0;

        FUZZ_CHECK(strlen(decoded) <= len);
        free(again);
        again = malloc(3 * strlen(decoded) + 1);
        FUZZ_CHECK(again != NULL);
        for (const char *p = decoded; *p != '\0'; p++)
            pos += (size_t)snprintf(again + pos, 4, "%%%02X",
                                    (unsigned char)*p);
        again[pos] = '\0';
        FUZZ_CHECK(gw_query_decode(again, (char *)bytes, len + 1) == 0);
        FUZZ_CHECK(strcmp((char *)bytes, decoded) == 0);
    }
    if (gw_is_json_media_type(text))
        FUZZ_CHECK(strncasecmp(text, "application/", 12) == 0);
    free(bytes);
    free(again);
    free(decoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *authorization = fuzz_next_line(&data, &size);
    char *apim = fuzz_next_line(&data, &size);
    char *fields = fuzz_strndup(data, size);

    if (gw_config == NULL) {
        memset(config.token_key, 0x5a, sizeof(config.token_key));
        hg_sha256_hex(ADMIN_KEY, strlen(ADMIN_KEY), config.admin_key_sha256);
        config.admin_key_set = true;
        gw_config = &config;
    }
    check_presented(authorization, apim[0] != '\0' ? apim : NULL);
    check_scopes(fields);
    check_encodings(authorization);
    check_encodings(fields);
    check_token_round_trip(fields);
    free(authorization);
    free(apim);
    free(fields);
    return 0;
}
