/* SPDX-License-Identifier: MIT */
#include "common/sink_script.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/backoff.h"
#include "common/ids.h"
#include "common/text.h"

/* Members of an answer, accepted at the top level and in each sequence
 * item. */
static const char *const answer_members[] = {
    "status",          "headers",     "body",
    "delay_ms",        "retry_after", "trickle_bytes_per_s",
    "cut_after_bytes", NULL,
};

/* Members accepted only at the top level. */
static const char *const script_members[] = {
    "sequence",
    "after",
    "failure_percent",
    "failure_status",
    "integration_id",
    "endpoint_id",
    NULL,
};

/* Headers the sink sets itself: those that frame the response or the
 * connection, where a scripted value would break the HTTP framing, and
 * those that act on the inspector's origin in a browser (cookies, the
 * content policy that sandboxes sink responses, stored data), because sinks
 * answer on the same origin as the inspector page. */
static const char *const reserved_headers[] = {
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "x-request-id",
    "server",
    "set-cookie",
    "set-cookie2",
    "content-security-policy",
    "content-security-policy-report-only",
    "x-content-type-options",
    "clear-site-data",
    "service-worker-allowed",
    "refresh",
    "strict-transport-security",
    "alt-svc",
    "nel",
    "report-to",
    "reporting-endpoints",
    "speculation-rules",
    "origin-agent-cluster",
    NULL,
};

/* Media types a browser runs as a script or applies as a style sheet when
 * a page of the origin loads the URL: with them, a sink would be a script
 * that the inspector page's "script-src 'self'" allows. Responses carry
 * nosniff, so <script> and <link> reject any other type. */
static const char *const active_media_types[] = {
    "application/ecmascript", "application/javascript",
    "application/x-ecmascript", "application/x-javascript",
    "text/ecmascript", "text/javascript", "text/javascript1.0",
    "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
    "text/javascript1.4", "text/javascript1.5", "text/jscript",
    "text/livescript", "text/x-ecmascript", "text/x-javascript",
    "text/css", "application/wasm", "text/xsl", "application/xslt+xml",
    NULL,
};

/* True when a Content-Type value names one of active_media_types. Only
 * the type and subtype count, in any case, before parameters. */
static bool is_active_media_type(const char *value)
{
    /* Browsers read a comma-separated list and use its last valid type
     * (Fetch, "extract a MIME type"), so every item is checked. */
    for (const char *item = value; item != NULL;
         item = strchr(item, ',') != NULL ? strchr(item, ',') + 1 : NULL) {
        size_t n;

        while (*item == ' ' || *item == '\t')
            item++;
        n = strcspn(item, ",; \t");
        for (int i = 0; active_media_types[i] != NULL; i++) {
            if (strlen(active_media_types[i]) == n &&
                strncasecmp(active_media_types[i], item, n) == 0)
                return true;
        }
    }
    return false;
}

/* A Location that stays on the inspector's own origin: a path that starts
 * with one "/" (not "//", which names another host, nor "/\", which
 * browsers read the same way). Sinks respond on the inspector's origin, so
 * a full URL would make it an open redirect. Spaces and control characters
 * are refused anywhere, because browsers remove tabs and line breaks from
 * a URL, so "/<tab>/host" also names another host. */
static bool location_valid(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return false;
    }
    return value[0] == '/' && value[1] != '/' && value[1] != '\\';
}

static int fail(hg_sink_error *err, const char *prefix, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(hg_sink_error *err, const char *prefix, const char *field,
                const char *fmt, ...)
{
    va_list ap;

    snprintf(err->field, sizeof(err->field), "%s%s", prefix, field);
    /* A cut may split a character of a long header name, and the field
     * goes into a JSON string. */
    err->field[hg_utf8_valid_prefix((const unsigned char *)err->field,
                                    strlen(err->field))] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static bool in_list(const char *const *list, const char *name)
{
    for (int i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], name) == 0)
            return true;
    }
    return false;
}

static bool header_name_valid(const char *name)
{
    return hg_http_token_valid(name, HG_SINK_HEADER_NAME_MAX);
}

/* A field value may contain visible characters, spaces and tabs; CR, LF,
 * NUL and other controls would split or corrupt the response, and C1
 * controls are rejected like the others. */
static bool header_value_valid(const char *value, size_t len)
{
    return len <= HG_SINK_HEADER_VALUE_MAX &&
           hg_http_field_value_valid(value, len) &&
           !hg_text_has_c1_control(value, len);
}

static bool is_reserved_header(const char *name)
{
    for (int i = 0; reserved_headers[i] != NULL; i++) {
        if (strcasecmp(reserved_headers[i], name) == 0)
            return true;
    }
    return false;
}

/* Reads an integer member bounded by [lo, hi]; an absent or null member
 * keeps *out. */
static int read_int(const json_t *o, const char *name, long long lo,
                    long long hi, long long *out, const char *prefix,
                    hg_sink_error *err)
{
    const json_t *v = json_object_get(o, name);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return fail(err, prefix, name, "must be an integer from %lld to %lld",
                    lo, hi);
    *out = json_integer_value(v);
    return 0;
}

static void answer_clear(hg_sink_answer *a)
{
    free(a->retry_after);
    free(a->body);
    for (int i = 0; i < a->header_count; i++) {
        free(a->header_names[i]);
        free(a->header_values[i]);
    }
    memset(a, 0, sizeof(*a));
    a->cut_after_bytes = -1;
}

static int read_headers(const json_t *o, const char *prefix, hg_sink_answer *a,
                        hg_sink_error *err)
{
    const json_t *headers = json_object_get(o, "headers");
    const char *name;
    json_t *value;

    if (headers == NULL || json_is_null(headers))
        return 0;
    if (!json_is_object(headers))
        return fail(err, prefix, "headers",
                    "must be an object of header names to string values");
    if (json_object_size(headers) > HG_SINK_HEADERS_MAX)
        return fail(err, prefix, "headers", "may hold at most %d headers",
                    HG_SINK_HEADERS_MAX);
    json_object_foreach((json_t *)headers, name, value)
    {
        char field[HG_SINK_FIELD_MAX];

        snprintf(field, sizeof(field), "headers.%s", name);
        if (!header_name_valid(name))
            return fail(err, prefix, field,
                        "is not a valid header name: use 1 to %d token "
                        "characters (letters, digits, !#$%%&'*+-.^_`|~)",
                        HG_SINK_HEADER_NAME_MAX);
        if (is_reserved_header(name))
            return fail(err, prefix, field,
                        "is set by the sink itself and cannot be scripted");
        /* Header names are case-insensitive: both would be sent. */
        for (int i = 0; i < a->header_count; i++) {
            if (strcasecmp(a->header_names[i], name) == 0)
                return fail(err, prefix, field,
                            "is the same header as \"%s\" (names are "
                            "case-insensitive)",
                            a->header_names[i]);
        }
        if (!json_is_string(value) ||
            !header_value_valid(json_string_value(value),
                                json_string_length(value)))
            return fail(err, prefix, field,
                        "must be a string of at most %d bytes without CR, "
                        "LF, NUL or other control characters",
                        HG_SINK_HEADER_VALUE_MAX);
        if (strcasecmp(name, "content-type") == 0 &&
            is_active_media_type(json_string_value(value)))
            return fail(err, prefix, field,
                        "cannot be a script, style sheet or XSLT type: "
                        "sinks respond on the inspector's origin");
        if (strcasecmp(name, "location") == 0 &&
            !location_valid(json_string_value(value)))
            return fail(err, prefix, field,
                        "must be a path on this inspector, starting with "
                        "one \"/\" and without spaces or control characters "
                        "(such as \"/sink/other\"): sinks respond on the "
                        "inspector's origin");
        a->header_names[a->header_count] = strdup(name);
        a->header_values[a->header_count] = strdup(json_string_value(value));
        a->header_count++;
        if (a->header_names[a->header_count - 1] == NULL ||
            a->header_values[a->header_count - 1] == NULL)
            return fail(err, prefix, field, "out of memory");
    }
    return 0;
}

static bool has_header(const hg_sink_answer *a, const char *name)
{
    for (int i = 0; i < a->header_count; i++) {
        if (strcasecmp(a->header_names[i], name) == 0)
            return true;
    }
    return false;
}

/* Reads retry_after: delta-seconds as an integer, or an HTTP-date string. */
static int read_retry_after(const json_t *o, int64_t now_s, const char *prefix,
                            hg_sink_answer *a, hg_sink_error *err)
{
    const json_t *v = json_object_get(o, "retry_after");
    char text[64];
    int64_t delay_s;

    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= HG_SINK_RETRY_AFTER_MAX_S) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
    } else if (json_is_string(v) && json_string_length(v) < sizeof(text) &&
               strlen(json_string_value(v)) == json_string_length(v) &&
               hg_retry_after_parse(json_string_value(v), now_s, &delay_s) ==
                   0 &&
               strspn(json_string_value(v), "0123456789 \t") !=
                   json_string_length(v)) {
        /* Seconds in a string, even padded with white space that the
         * header parser skips, would escape the integer's bound, so only
         * an HTTP-date is taken as a string. */
        snprintf(text, sizeof(text), "%s", json_string_value(v));
    } else {
        return fail(err, prefix, "retry_after",
                    "must be seconds as an integer from 0 to %d, or an "
                    "HTTP-date such as \"Sun, 06 Nov 1994 08:49:37 GMT\"",
                    HG_SINK_RETRY_AFTER_MAX_S);
    }
    if (has_header(a, "Retry-After"))
        return fail(err, prefix, "retry_after",
                    "conflicts with a Retry-After entry in headers; give one "
                    "of them");
    a->retry_after = strdup(text);
    return 0;
}

static int read_body(const json_t *o, const char *prefix, hg_sink_answer *a,
                     hg_sink_error *err)
{
    const json_t *v = json_object_get(o, "body");

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > HG_SINK_ANSWER_BODY_MAX)
        return fail(err, prefix, "body", "must be a string of at most %d bytes",
                    HG_SINK_ANSWER_BODY_MAX);
    a->body_len = json_string_length(v);
    a->body = malloc(a->body_len + 1);
    if (a->body == NULL)
        return fail(err, prefix, "body", "out of memory");
    memcpy(a->body, json_string_value(v), a->body_len + 1);
    return 0;
}

/* Checks the slow and cut-off settings against the body they act on. */
static int read_delivery_shape(const json_t *o, const char *prefix,
                               hg_sink_answer *a, hg_sink_error *err)
{
    long long delay = 0, rate = 0, cut = -1;

    if (read_int(o, "delay_ms", 0, HG_SINK_DELAY_MAX_MS, &delay, prefix, err) !=
            0 ||
        read_int(o, "trickle_bytes_per_s", 1, 1000000, &rate, prefix, err) !=
            0 ||
        read_int(o, "cut_after_bytes", 0, HG_SINK_ANSWER_BODY_MAX, &cut, prefix,
                 err) != 0)
        return -1;
    if (rate > 0 && a->body_len == 0)
        return fail(err, prefix, "trickle_bytes_per_s",
                    "needs a non-empty body to send slowly");
    if (rate > 0 &&
        (long long)a->body_len * 1000 / rate > HG_SINK_TRICKLE_MAX_MS)
        return fail(
            err, prefix, "trickle_bytes_per_s",
            "is too low: the body of %zu bytes would take more than "
            "%d ms; use at least %lld bytes per second",
            a->body_len, HG_SINK_TRICKLE_MAX_MS,
            ((long long)a->body_len * 1000 + HG_SINK_TRICKLE_MAX_MS - 1) /
                HG_SINK_TRICKLE_MAX_MS);
    if (cut >= 0 && (size_t)cut >= a->body_len)
        return fail(err, prefix, "cut_after_bytes",
                    "must be less than the body length (%zu bytes), so the "
                    "body is actually cut",
                    a->body_len);
    a->delay_ms = (int)delay;
    a->trickle_bytes_per_s = (int)rate;
    a->cut_after_bytes = (long)cut;
    return 0;
}

/* Parses one answer object; prefix is prepended to field names in errors
 * ("" at the top level, "sequence[2]." in a sequence). */
static int parse_answer(const json_t *o, bool top_level, int64_t now_s,
                        const char *prefix, hg_sink_answer *a,
                        hg_sink_error *err)
{
    const char *name;
    json_t *value;
    long long status = 200;

    answer_clear(a);
    if (!json_is_object(o)) {
        /* Names the item itself: "sequence[2]", or "(body)" at the top. */
        int n = prefix[0] ? (int)strlen(prefix) - 1 : 0;

        snprintf(err->field, sizeof(err->field), "%.*s", n, prefix);
        if (n == 0)
            snprintf(err->field, sizeof(err->field), "(body)");
        snprintf(err->message, sizeof(err->message), "must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)o, name, value)
    {
        if (!in_list(answer_members, name) &&
            !(top_level && in_list(script_members, name)))
            return fail(err, prefix, name, "is not a known field");
    }
    if (read_int(o, "status", 200, 599, &status, prefix, err) != 0 ||
        read_headers(o, prefix, a, err) != 0 ||
        read_retry_after(o, now_s, prefix, a, err) != 0 ||
        read_body(o, prefix, a, err) != 0 ||
        read_delivery_shape(o, prefix, a, err) != 0)
        return -1;
    a->status = (int)status;
    if ((status == 204 || status == 205 || status == 304) && a->body_len > 0)
        return fail(err, prefix, "body",
                    "must be empty with status %lld, which has no body",
                    status);
    return 0;
}

static bool has_answer_member(const json_t *o)
{
    for (int i = 0; answer_members[i] != NULL; i++) {
        const json_t *v = json_object_get(o, answer_members[i]);

        if (v != NULL && !json_is_null(v))
            return true;
    }
    return false;
}

static int parse_sequence(const json_t *seq, int64_t now_s, hg_sink_script *out,
                          hg_sink_error *err)
{
    size_t total = 0;

    if (!json_is_array(seq) || json_array_size(seq) == 0 ||
        json_array_size(seq) > HG_SINK_SEQUENCE_MAX)
        return fail(err, "", "sequence",
                    "must be an array of 1 to %d answer objects",
                    HG_SINK_SEQUENCE_MAX);
    out->sequence = calloc(json_array_size(seq), sizeof(*out->sequence));
    if (out->sequence == NULL)
        return fail(err, "", "sequence", "out of memory");
    for (size_t i = 0; i < json_array_size(seq); i++) {
        char prefix[32];

        snprintf(prefix, sizeof(prefix), "sequence[%zu].", i);
        out->sequence_len++;
        if (parse_answer(json_array_get(seq, i), false, now_s, prefix,
                         &out->sequence[i], err) != 0)
            return -1;
        total += out->sequence[i].body_len;
    }
    if (total > HG_SINK_BODIES_TOTAL_MAX)
        return fail(err, "", "sequence",
                    "holds %zu body bytes in all; the limit is %d", total,
                    HG_SINK_BODIES_TOTAL_MAX);
    return 0;
}

/* Same rule as the gateway's endpoint ids: "ep_" and 1 to 60 letters,
 * digits, "_" or "-". */
static bool endpoint_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n < 4 || n > 63 || strncmp(s, "ep_", 3) != 0)
        return false;
    return strspn(s + 3, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-") == n - 3;
}

static int read_id(const json_t *config, const char *name, bool endpoint,
                   char *out, size_t cap, hg_sink_error *err)
{
    const json_t *v = json_object_get(config, name);
    const char *s = json_string_value(v);

    /* An empty string means "not given", as forms send it. */
    if (v == NULL || json_is_null(v) || (s != NULL && s[0] == '\0'))
        return 0;
    if (s == NULL || strlen(s) >= cap ||
        (endpoint ? !endpoint_id_valid(s) : !hg_integration_id_valid(s)))
        return fail(err, "", name,
                    endpoint ? "must be an endpoint id such as \"ep_...\""
                             : "must be an integration id matching "
                               "[a-z0-9][a-z0-9_-]{0,62}");
    snprintf(out, cap, "%s", s);
    return 0;
}

static int read_after(const json_t *config, hg_sink_script *out,
                      hg_sink_error *err)
{
    const json_t *v = json_object_get(config, "after");
    const char *s = json_string_value(v);

    if (v == NULL || json_is_null(v))
        return 0;
    if (s != NULL && strcmp(s, "repeat_last") == 0)
        out->after = HG_SINK_AFTER_REPEAT_LAST;
    else if (s != NULL && strcmp(s, "cycle") == 0)
        out->after = HG_SINK_AFTER_CYCLE;
    else
        return fail(err, "", "after", "must be \"repeat_last\" or \"cycle\"");
    if (out->sequence_len == 0)
        return fail(err, "", "after", "applies only with a sequence");
    return 0;
}

static int parse_script(const json_t *config, int64_t now_s,
                        hg_sink_script *out, hg_sink_error *err)
{
    const json_t *seq = json_object_get(config, "sequence");
    long long percent = 0, failure_status = 500;

    if (!json_is_object(config))
        return fail(err, "", "(body)", "must be a JSON object");
    if (parse_answer(config, true, now_s, "", &out->single, err) != 0)
        return -1;
    if (seq != NULL && !json_is_null(seq)) {
        if (has_answer_member(config))
            return fail(err, "", "sequence",
                        "replaces the top-level answer; move status, "
                        "headers, body and the other answer fields into "
                        "the sequence items");
        if (parse_sequence(seq, now_s, out, err) != 0)
            return -1;
    }
    if (read_after(config, out, err) != 0 ||
        read_int(config, "failure_percent", 0, 100, &percent, "", err) != 0 ||
        read_int(config, "failure_status", 400, 599, &failure_status, "",
                 err) != 0 ||
        read_id(config, "integration_id", false, out->integration_id,
                sizeof(out->integration_id), err) != 0 ||
        read_id(config, "endpoint_id", true, out->endpoint_id,
                sizeof(out->endpoint_id), err) != 0)
        return -1;
    out->failure_percent = (int)percent;
    out->failure_status = (int)failure_status;
    return 0;
}

void hg_sink_script_default(hg_sink_script *out)
{
    memset(out, 0, sizeof(*out));
    out->single.status = 200;
    out->single.cut_after_bytes = -1;
    out->failure_status = 500;
}

int hg_sink_script_parse(const json_t *config, int64_t now_s,
                         hg_sink_script *out, hg_sink_error *err)
{
    hg_sink_script_default(out);
    memset(err, 0, sizeof(*err));
    if (parse_script(config, now_s, out, err) != 0) {
        hg_sink_script_clear(out);
        return -1;
    }
    return 0;
}

void hg_sink_script_clear(hg_sink_script *s)
{
    answer_clear(&s->single);
    for (int i = 0; i < s->sequence_len; i++)
        answer_clear(&s->sequence[i]);
    free(s->sequence);
    hg_sink_script_default(s);
}

const hg_sink_answer *hg_sink_script_pick(const hg_sink_script *s, long long n,
                                          int draw_percent,
                                          hg_sink_answer *failure)
{
    long long index;

    if (draw_percent < s->failure_percent) {
        memset(failure, 0, sizeof(*failure));
        failure->status = s->failure_status;
        failure->cut_after_bytes = -1;
        return failure;
    }
    if (s->sequence_len == 0)
        return &s->single;
    index = n < 1 ? 0 : n - 1;
    if (index >= s->sequence_len)
        index = s->after == HG_SINK_AFTER_CYCLE ? index % s->sequence_len
                                                : s->sequence_len - 1;
    return &s->sequence[index];
}
