/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "common/redact.h"

/* Header names that carry credentials by convention. */
static const char *const credential_headers[] = {
    "authorization", "proxy-authorization", "cookie", "set-cookie",
    "x-api-key", "api-key", "ocp-apim-subscription-key", "x-auth-token",
    NULL,
};

/* Any header name containing one of these words is treated as a credential,
 * e.g. X-Secret, X-Access-Token, X-Db-Password, ApiKey or X-Session-Id. */
static const char *const credential_words[] = {
    "secret",     "token",      "password",    "passwd",
    "apikey",     "api-key",    "api_key",     "access-key",
    "access_key", "private-key", "private_key", "credential",
    "session",    NULL,
};

/* Case-insensitive substring search, because strcasestr is a GNU
 * extension. Used only for names too long for the lowered copy below. */
static bool contains_word(const char *name, const char *word)
{
    size_t wlen = strlen(word);

    for (const char *p = name; *p != '\0'; p++) {
        if (strncasecmp(p, word, wlen) == 0)
            return true;
    }
    return false;
}

bool hg_redact_header_name(const char *name)
{
    /* Every header of every attempt record passes here, so the name is
     * lowered once and searched with strstr rather than compared at each
     * position for each word. */
    char lower[128];
    size_t len;

    if (name == NULL)
        return false;
    len = strlen(name);
    for (int i = 0; credential_headers[i] != NULL; i++) {
        if (strcasecmp(name, credential_headers[i]) == 0)
            return true;
    }
    if (len >= sizeof(lower)) {
        for (int i = 0; credential_words[i] != NULL; i++) {
            if (contains_word(name, credential_words[i]))
                return true;
        }
        return false;
    }
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)name[i];

        lower[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    for (int i = 0; credential_words[i] != NULL; i++) {
        if (strstr(lower, credential_words[i]) != NULL)
            return true;
    }
    return false;
}

void hg_redact_json_headers(json_t *headers)
{
    const char *name;
    json_t *value;
    void *next;

    if (!json_is_object(headers))
        return;
    json_object_foreach_safe(headers, next, name, value) {
        if (hg_redact_header_name(name))
            json_object_set_new(headers, name, json_string(HG_REDACTED));
    }
}
