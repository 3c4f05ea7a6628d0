/* SPDX-License-Identifier: MIT
 *
 * One delivery attempt: the signed Standard Webhooks request headers, the
 * decision that follows a response (success, retry and when, or dead), and
 * the JSON record of what was sent and received.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/redact.h"
#include "common/text.h"
#include "retry/retry.h"

/* Shown for a response header value that is not UTF-8. */
#define NOT_UTF8 "[not UTF-8]"

static int sign_with(const char *secret, const char *msg_id, long long ts,
                     const job *j, char *out)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    const char *why;
    int keylen = hg_secret_parse(secret, key, sizeof(key), &why);

    if (keylen < 0)
        return -1;
    hg_webhook_sign(key, (size_t)keylen, msg_id, ts, j->payload,
                    j->payload_len, out);
    memset(key, 0, sizeof(key));
    return 0;
}

/* Adds one request header line. libcurl reads "Name:" with nothing but
 * spaces or tabs after the colon as "do not send Name", and sends an empty
 * header only when it is written "Name;". */
static void add_line(attempt_request *req, const char *name,
                     const char *value)
{
    char *line = NULL;
    size_t span;
    const char *start = hg_http_trim_ows(value, &span);
    int len = (int)span;
    int n = len == 0 ? asprintf(&line, "%s;", name)
                     : asprintf(&line, "%s: %.*s", name, len, start);

    if (n < 0)
        return;
    if (req->nlines >= ATTEMPT_HEADERS_MAX) {
        free(line);
        return;
    }
    req->lines[req->nlines] = line;
    req->line_ptrs[req->nlines] = line;
    req->nlines++;
    req->line_ptrs[req->nlines] = NULL;
}

int attempt_prepare(const job *j, attempt_request *out)
{
    long long now_s = hg_time_ms() / 1000;
    char previous[HG_SIGNATURE_LEN];
    const char *name;
    json_t *value;

    memset(out, 0, sizeof(*out));
    snprintf(out->webhook_id, sizeof(out->webhook_id), "%s", j->event_id);
    snprintf(out->timestamp, sizeof(out->timestamp), "%lld", now_s);
    if (sign_with(j->secret, out->webhook_id, now_s, j, out->signature) != 0)
        return -1;
    /* During a rotation both signatures go in one header, so receivers
     * with either secret accept the message. */
    if (j->previous_secret != NULL &&
        sign_with(j->previous_secret, out->webhook_id, now_s, j, previous) ==
            0) {
        strcat(out->signature, " ");
        strcat(out->signature, previous);
    }
    /* Same trace as the publish, with this attempt's own span. */
    hg_trace_format(&j->trace, out->traceparent);

    add_line(out, "Content-Type", "application/json");
    add_line(out, "webhook-id", out->webhook_id);
    add_line(out, "webhook-timestamp", out->timestamp);
    add_line(out, "webhook-signature", out->signature);
    if (out->traceparent[0] != '\0')
        add_line(out, "traceparent", out->traceparent);
    snprintf(out->tracestate, sizeof(out->tracestate), "%s",
             j->trace.tracestate);
    if (out->tracestate[0] != '\0')
        add_line(out, "tracestate", out->tracestate);
    snprintf(out->hops, sizeof(out->hops), "%d", j->hops + 1);
    add_line(out, HG_HOPS_HEADER, out->hops);
    out->custom = json_loads(j->headers_json ? j->headers_json : "{}", 0,
                             NULL);
    json_object_foreach(out->custom, name, value) {
        if (json_is_string(value))
            add_line(out, name, json_string_value(value));
    }
    return 0;
}

void attempt_request_free(attempt_request *req)
{
    if (req == NULL)
        return;
    for (int i = 0; i < req->nlines; i++)
        free(req->lines[i]);
    json_decref(req->custom);
    free(req);
}

/* Finds a header in a raw "Name: value\r\n" block; copies its value. */
static bool find_header(const hg_http_result *res, const char *name,
                        char *out, size_t cap)
{
    const char *p = res->response_headers;
    const char *end = p + res->response_headers_len;
    size_t nlen = strlen(name);

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;

        if ((size_t)(line_end - p) > nlen && p[nlen] == ':' &&
            strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            size_t n;

            while (v < line_end && (*v == ' ' || *v == '\t'))
                v++;
            n = (size_t)(line_end - v);
            while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == ' '))
                n--;
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = line_end + 1;
    }
    return false;
}

void attempt_decide(job *j, const hg_http_result *res, const hg_config *cfg)
{
    char retry_after[128];
    char signal[64] = "";
    int64_t delay_ms;
    int64_t hinted_s;
    uint32_t random32;
    bool ok = res->error_class == NULL && res->http_status >= 200 &&
              res->http_status < 300;

    j->next_due_ms = 0;
    j->dead_reason = NULL;
    j->endpoint_action = NULL;
    j->counts_for_health = true;
    /* A receiver can end a message or switch its endpoint off with this
     * header; "disable" is honoured even on a 2xx. */
    if (res->error_class == NULL)
        find_header(res, "webhook-delivery", signal, sizeof(signal));
    if (strcasecmp(signal, "disable") == 0) {
        j->endpoint_action = "disabled_by_receiver";
        if (!ok) {
            j->outcome = OUTCOME_DEAD;
            j->dead_reason = "disabled_by_receiver";
            return;
        }
    }
    if (ok) {
        j->outcome = OUTCOME_SUCCEEDED;
        return;
    }
    if (res->error_class != NULL &&
        strcmp(res->error_class, "blocked_by_policy") == 0) {
        /* The address policy will refuse every retry too, and a refusal by
         * hookgate says nothing about the endpoint's health. */
        j->outcome = OUTCOME_DEAD;
        j->dead_reason = "blocked_by_policy";
        j->counts_for_health = false;
        return;
    }
    if (res->error_class == NULL && res->http_status == 410) {
        j->outcome = OUTCOME_DEAD;
        j->dead_reason = "gone";
        j->endpoint_action = "gone";
        return;
    }
    if (strcasecmp(signal, "abort-message") == 0) {
        j->outcome = OUTCOME_DEAD;
        j->dead_reason = "aborted_by_receiver";
        return;
    }
    if (j->manual) {
        /* A manual attempt never changes the automatic schedule. */
        j->outcome = OUTCOME_FAILED;
        return;
    }

    hg_random_bytes(&random32, sizeof(random32));
    delay_ms = hg_backoff_delay_ms(&cfg->schedule, j->retry_index, random32);
    if (delay_ms < 0) {
        j->outcome = OUTCOME_DEAD;
        j->dead_reason = "attempts_exhausted";
        return;
    }
    /* A 429 or 503 may name a time to come back. A value of 0 or a date in
     * the past keeps the normal schedule, and the ceiling stops a receiver
     * from parking a delivery for days. */
    if ((res->http_status == 429 || res->http_status == 503) &&
        find_header(res, "Retry-After", retry_after, sizeof(retry_after)) &&
        hg_retry_after_parse(retry_after, hg_time_ms() / 1000, &hinted_s) ==
            0 &&
        hinted_s > 0) {
        if (hinted_s > cfg->retry_after_max_s)
            hinted_s = cfg->retry_after_max_s;
        delay_ms = hinted_s * 1000;
    }
    j->outcome = OUTCOME_FAILED;
    j->next_due_ms = hg_time_ms() + delay_ms;
}

static json_t *parse_headers(const hg_http_result *res)
{
    json_t *out = json_object();
    const char *p = res->response_headers;
    const char *end = p + res->response_headers_len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));

        if (colon != NULL && colon > p) {
            char name[256];
            size_t nlen = (size_t)(colon - p);
            const char *v = colon + 1;
            size_t vlen;

            while (v < line_end && (*v == ' ' || *v == '\t'))
                v++;
            vlen = (size_t)(line_end - v);
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            /* A value that is not UTF-8 cannot go into JSON: it is shown
             * by a marker, as sink captures do. */
            if (hg_utf8_valid_prefix((const unsigned char *)v, vlen) != vlen) {
                v = NOT_UTF8;
                vlen = strlen(NOT_UTF8);
            }
            if (nlen < sizeof(name)) {
                json_t *prior;

                for (size_t i = 0; i < nlen; i++)
                    name[i] = (char)tolower((unsigned char)p[i]);
                name[nlen] = '\0';
                prior = json_object_get(out, name);
                if (prior != NULL) {
                    /* Repeated fields combine with ", " (RFC 9110 5.3). */
                    char *joined = NULL;

                    if (asprintf(&joined, "%s, %.*s",
                                 json_string_value(prior), (int)vlen, v) > 0)
                        json_object_set_new(out, name, json_string(joined));
                    free(joined);
                } else {
                    json_object_set_new(out, name, json_stringn(v, vlen));
                }
            }
        }
        p = line_end + 1;
    }
    return out;
}

static json_t *request_headers(const attempt_request *req)
{
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s}", "content-type",
                            "application/json", "user-agent",
                            "hookgate/" HOOKGATE_VERSION, "webhook-id",
                            req->webhook_id, "webhook-timestamp",
                            req->timestamp, "webhook-signature",
                            req->signature);
    const char *name;
    json_t *value;

    if (req->traceparent[0] != '\0')
        json_object_set_new(out, "traceparent",
                            json_string(req->traceparent));
    if (req->tracestate[0] != '\0')
        json_object_set_new(out, "tracestate", json_string(req->tracestate));
    if (req->hops[0] != '\0')
        json_object_set_new(out, "hookgate-hops", json_string(req->hops));
    json_object_foreach(req->custom, name, value) {
        char lower[128];
        size_t n = strlen(name);

        if (n >= sizeof(lower))
            continue;
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)tolower((unsigned char)name[i]);
        /* The value as it went out, without surrounding whitespace (see
         * add_line). */
        if (json_is_string(value)) {
            size_t len;
            const char *start =
                hg_http_trim_ows(json_string_value(value), &len);

            json_object_set_new(out, lower, json_stringn(start, len));
        } else {
            json_object_set(out, lower, value);
        }
    }
    return out;
}

int attempt_describe(job *j, const attempt_request *req,
                     const hg_http_result *res)
{
    char started[HG_TIME_BUF];
    json_t *o = json_object();
    json_t *summary;
    char *summary_text;

    hg_time_format(res->started_at_ms, started);
    json_object_set_new(o, "started_at", json_string(started));
    json_object_set_new(o, "duration_ms", json_integer(res->duration_ms));
    json_object_set_new(o, "http_status",
                        res->http_status > 0 ? json_integer(res->http_status)
                                             : json_null());
    j->error_class = res->error_class != NULL ? res->error_class
                     : res->http_status >= 300 || res->http_status < 200
                         ? "http_status"
                         : NULL;
    json_object_set_new(o, "error_class",
                        j->error_class ? json_string(j->error_class)
                                       : json_null());
    json_object_set_new(o, "error_message",
                        res->error_message[0]
                            ? json_string(res->error_message)
                            : json_null());
    json_object_set_new(o, "manual", json_boolean(j->manual));
    json_object_set_new(o, "url", json_string(j->url));
    /* Credentials in either direction are redacted before the attempt is
     * stored, so Redis and every view see only "[redacted]". */
    json_object_set_new(o, "request_headers",
                        req ? request_headers(req) : json_object());
    json_object_set_new(o, "response_headers", parse_headers(res));
    hg_redact_json_headers(json_object_get(o, "request_headers"));
    hg_redact_json_headers(json_object_get(o, "response_headers"));
    hg_json_set_body(o, "response_body", res->response_body,
                     res->response_body_len, res->response_truncated);
    json_object_set_new(o, "response_truncated",
                        json_boolean(res->response_truncated));
    json_object_set_new(o, "response_complete",
                        json_boolean(res->response_complete));

    summary = json_pack("{s:O, s:O, s:I, s:s}", "http_status",
                        json_object_get(o, "http_status"), "error_class",
                        json_object_get(o, "error_class"), "duration_ms",
                        (json_int_t)res->duration_ms, "started_at", started);
    j->attempt_json = json_dumps(o, JSON_COMPACT);
    summary_text = json_dumps(summary, JSON_COMPACT);
    json_decref(o);
    json_decref(summary);
    if (j->attempt_json == NULL || summary_text == NULL) {
        free(summary_text);
        return -1;
    }
    /* The activity record splices these members into its own object. */
    summary_text[strlen(summary_text) - 1] = '\0';
    j->activity_fields = strdup(summary_text + 1);
    free(summary_text);
    return j->activity_fields ? 0 : -1;
}
