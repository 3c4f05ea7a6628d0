/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the configuration parser of inspector sinks. An input is the JSON
 * configuration as a client sends it. An accepted script must stay inside
 * the documented bounds (docs/inspector.md, "Sinks"), carry only header
 * names and values that cannot break the response framing, and give an
 * answer for every request number; a rejected one must name the field and
 * leave the script empty.
 */
#include <jansson.h>
#include <stdbool.h>
#include <strings.h>

#include "common/backoff.h"
#include "common/sink_script.h"
#include "common/text.h"
#include "fuzz.h"

/* 2026-12-05T00:00:00Z, so that HTTP-dates compare reproducibly. */
#define NOW_S 1796428800LL

static void check_answer(const hg_sink_answer *a)
{
    FUZZ_CHECK(a->status >= 200 && a->status <= 599);
    FUZZ_CHECK(a->delay_ms >= 0 && a->delay_ms <= HG_SINK_DELAY_MAX_MS);
    FUZZ_CHECK(a->body_len <= HG_SINK_ANSWER_BODY_MAX);
    FUZZ_CHECK(a->body_len == 0 || a->body != NULL);
    FUZZ_CHECK(a->cut_after_bytes == -1 ||
               (a->cut_after_bytes >= 0 &&
                (size_t)a->cut_after_bytes < a->body_len));
    FUZZ_CHECK(a->trickle_bytes_per_s == 0 ||
               (long long)a->body_len * 1000 / a->trickle_bytes_per_s <=
                   HG_SINK_TRICKLE_MAX_MS);
    FUZZ_CHECK(a->header_count >= 0 && a->header_count <= HG_SINK_HEADERS_MAX);
    for (int i = 0; i < a->header_count; i++) {
        const char *name = a->header_names[i], *value = a->header_values[i];

        /* No two names differ only in case. */
        for (int k = 0; k < i; k++)
            FUZZ_CHECK(strcasecmp(a->header_names[k], name) != 0);
        /* A redirect stays on the inspector's origin, and no script type. */
        if (strcasecmp(name, "location") == 0) {
            FUZZ_CHECK(value[0] == '/' && value[1] != '/' &&
                       value[1] != '\\');
            /* Browsers drop these from URLs, so none may hide a "//". */
            for (const char *c = value; *c; c++)
                FUZZ_CHECK((unsigned char)*c > ' ' && *c != 0x7f);
        }
        if (strcasecmp(name, "content-type") == 0) {
            const char *type = value + strspn(value, " \t");
            size_t n = strcspn(type, "; \t");

            FUZZ_CHECK(!(n == 15 && strncasecmp(type, "text/javascript", n) == 0));
            FUZZ_CHECK(!(n == 8 && strncasecmp(type, "text/css", n) == 0));
        }
        FUZZ_CHECK(name[0] != '\0' && strpbrk(name, " \t\r\n:") == NULL);
        FUZZ_CHECK(strlen(value) <= HG_SINK_HEADER_VALUE_MAX);
        FUZZ_CHECK(strpbrk(value, "\r\n") == NULL);
        FUZZ_CHECK(strcasecmp(name, "content-length") != 0 &&
                   strcasecmp(name, "transfer-encoding") != 0 &&
                   strcasecmp(name, "set-cookie") != 0);
    }
    if (a->retry_after != NULL) {
        const char *p = a->retry_after + strspn(a->retry_after, " \t");
        int64_t delay;

        FUZZ_CHECK(strpbrk(a->retry_after, "\r\n") == NULL);
        FUZZ_CHECK(hg_retry_after_parse(a->retry_after, NOW_S, &delay) == 0);
        /* Delta-seconds are bounded; only an HTTP-date may lie further
         * ahead. */
        if (*p >= '0' && *p <= '9')
            FUZZ_CHECK(delay <= HG_SINK_RETRY_AFTER_MAX_S);
    }
}

static void check_script(const hg_sink_script *s)
{
    static const long long requests[] = {0, 1, 2, 99, 100, 101, 1LL << 40};
    size_t total = 0;
    hg_sink_answer failure;

    FUZZ_CHECK(s->sequence_len >= 0 && s->sequence_len <= HG_SINK_SEQUENCE_MAX);
    FUZZ_CHECK(s->failure_percent >= 0 && s->failure_percent <= 100);
    FUZZ_CHECK(s->failure_status >= 400 && s->failure_status <= 599);
    check_answer(&s->single);
    for (int i = 0; i < s->sequence_len; i++) {
        check_answer(&s->sequence[i]);
        total += s->sequence[i].body_len;
    }
    FUZZ_CHECK(total <= HG_SINK_BODIES_TOTAL_MAX);

    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        for (int draw = 0; draw < 100; draw += 33) {
            const hg_sink_answer *a =
                hg_sink_script_pick(s, requests[i], draw, &failure);

            FUZZ_CHECK(a != NULL);
            FUZZ_CHECK((a == &failure) == (draw < s->failure_percent));
            if (a != &failure)
                check_answer(a);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t error;
    json_t *config = json_loadb((const char *)data, size,
                                JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
                                    JSON_DECODE_ANY,
                                &error);
    hg_sink_script script;
    hg_sink_error err;

    if (config == NULL)
        return 0;
    if (hg_sink_script_parse(config, NOW_S, &script, &err) == 0) {
        check_script(&script);
    } else {
        /* The field is empty only for a member whose name is "". */
        FUZZ_CHECK(err.message[0] != '\0');
        FUZZ_CHECK(memchr(err.field, '\0', sizeof(err.field)) != NULL);
        /* The field and the message go into JSON strings. */
        FUZZ_CHECK(hg_utf8_valid_prefix((const unsigned char *)err.field,
                                        strlen(err.field)) ==
                   strlen(err.field));
        FUZZ_CHECK(hg_utf8_valid_prefix((const unsigned char *)err.message,
                                        strlen(err.message)) ==
                   strlen(err.message));
        FUZZ_CHECK(script.sequence == NULL && script.sequence_len == 0);
        FUZZ_CHECK(script.single.body == NULL && script.single.header_count == 0);
    }
    hg_sink_script_clear(&script);
    /* Clearing twice is allowed. */
    hg_sink_script_clear(&script);
    json_decref(config);
    return 0;
}
