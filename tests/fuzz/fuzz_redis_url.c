/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the parser of HOOKGATE_REDIS_URL. An accepted URL must have a
 * host or an absolute socket path, and a port and a database in range. Its
 * redacted form, which is what the logs show, must not depend on the
 * password, and it must parse again to the same address and user.
 */
#include <stdbool.h>

#include "common/redis_url.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    char err[256] = "", redacted[1024];
    hg_redis_url url, again;

    if (hg_redis_url_parse(text, &url, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        free(text);
        return 0;
    }
    FUZZ_CHECK((url.host[0] != '\0') != (url.unix_path[0] != '\0'));
    FUZZ_CHECK(url.unix_path[0] == '\0' || url.unix_path[0] == '/');
    FUZZ_CHECK(url.port >= 1 && url.port <= 65535);
    FUZZ_CHECK(url.db >= 0 && url.db <= 1000);

    /* The redacted form must not depend on the password. */
    hg_redis_url_redacted(&url, redacted, sizeof(redacted));
    if (url.password[0] != '\0') {
        char other[1024];

        again = url;
        snprintf(again.password, sizeof(again.password), "%s",
                 strcmp(url.password, "x") == 0 ? "y" : "x");
        hg_redis_url_redacted(&again, other, sizeof(other));
        FUZZ_CHECK(strcmp(other, redacted) == 0);
    }
    FUZZ_CHECK(hg_redis_url_parse(redacted, &again, err, sizeof(err)) == 0);
    FUZZ_CHECK(strcmp(again.host, url.host) == 0);
    FUZZ_CHECK(strcmp(again.unix_path, url.unix_path) == 0);
    FUZZ_CHECK(again.port == url.port || url.unix_path[0] != '\0');
    FUZZ_CHECK(again.db == url.db);
    if (url.host[0] != '\0')
        FUZZ_CHECK(strcmp(again.user, url.user) == 0);
    free(text);
    return 0;
}
