/* SPDX-License-Identifier: MIT
 *
 * Sinks: test endpoints at /sink/{sink_id} and /sink/{sink_id}/<rest>.
 * Each request is recorded (method, path, query, headers with credentials
 * redacted, raw body, source address, time, and whether its Standard
 * Webhooks signature verifies) before the sink sends the answer its script
 * picks; if Redis is away the sink responds 503, so hookgate retries the
 * delivery instead of losing the capture. Answers are sent by
 * sink_answer.c; the configuration routes are in sink_api.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/redact.h"
#include "common/scripts.h"
#include "common/secretbox.h"
#include "common/text.h"
#include "inspector/inspector.h"
#include "inspector/sink.h"

/* Body bytes stored per capture; the body_bytes field keeps the real
 * size. */
#define SINK_BODY_MAX (256 * 1024)
/* Signatures compared per request, so a huge header costs bounded work. */
#define SIGNATURES_MAX 16

char *sink_key(char *out, const char *sink_id, const char *suffix)
{
    snprintf(out, HG_KEY_MAX, "hg:sink:{%s}:%s", sink_id, suffix);
    return out;
}

static void sink_request_free(void *p)
{
    sink_request *s = p;

    if (s == NULL)
        return;
    sink_answer_free(s);
    hg_sink_script_clear(&s->script);
    json_decref(s->capture);
    free(s);
}

/* ---- the capture record ------------------------------------------------- */

static int add_header(evhtp_kv_t *kv, void *arg)
{
    json_t *headers = arg;
    const char *value = kv->val ? kv->val : "";
    char name[256];
    size_t n = kv->key ? strlen(kv->key) : 0;
    json_t *prior;

    if (n == 0 || n >= sizeof(name))
        return 0;
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)tolower((unsigned char)kv->key[i]);
    if (hg_redact_header_name(name))
        value = HG_REDACTED;
    if (hg_utf8_valid_prefix((const unsigned char *)value, strlen(value)) !=
        strlen(value))
        value = "[not UTF-8]";
    prior = json_object_get(headers, name);
    if (prior != NULL) {
        char *joined = NULL;

        if (asprintf(&joined, "%s, %s", json_string_value(prior), value) > 0)
            json_object_set_new(headers, name, json_string(joined));
        free(joined);
    } else {
        json_object_set_new(headers, name, json_string(value));
    }
    return 0;
}

/* Builds the capture without its signature and answer, which later steps
 * add. Returns NULL when memory runs out. */
static json_t *capture_new(hg_req *r, sink_request *s)
{
    const char *query =
        r->req->uri->query_raw ? (const char *)r->req->uri->query_raw : "";
    size_t body_len, stored;
    const char *body = hg_req_body(r, &body_len);
    char path[2048], query_text[4096], source[80];
    char *b64;
    json_t *headers = json_object(), *c;

    evhtp_kvs_for_each(r->req->headers_in, add_header, headers);
    hg_text_sanitize(hg_req_path(r), path, sizeof(path));
    hg_text_sanitize(query, query_text, sizeof(query_text));
    stored = body_len > SINK_BODY_MAX ? SINK_BODY_MAX : body_len;
    b64 = malloc(stored / 3 * 4 + 8);
    if (b64 == NULL || hg_base64_encode((const uint8_t *)body, stored, b64,
                                        stored / 3 * 4 + 8) < 0) {
        free(b64);
        json_decref(headers);
        return NULL;
    }
    c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:I, "
                  "s:b}",
                  "id", s->capture_id, "sink_id", s->sink_id, "integration_id",
                  "", "method", htparser_get_methodstr_m(r->req->method),
                  "path", path, "query", query_text, "headers", headers,
                  "source", hg_req_peer(r, source, sizeof(source)),
                  "received_at", s->received_at, "body_base64", b64,
                  "body_bytes", (json_int_t)body_len, "body_truncated",
                  body_len > SINK_BODY_MAX);
    free(b64);
    return c;
}

static char *activity_record(const sink_request *s)
{
    hg_req *r = s->r;
    const char *webhook_id = hg_req_header(r, "webhook-id");
    size_t body_len;
    json_t *o;
    char *text;

    hg_req_body(r, &body_len);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "kind", "capture",
                  "integration_id", s->owner, "sink_id", s->sink_id,
                  "capture_id", s->capture_id, "method",
                  htparser_get_methodstr_m(r->req->method), "received_at",
                  s->received_at, "body_bytes", (json_int_t)body_len, "status",
                  s->answer->status);
    if (o == NULL)
        return NULL;
    /* Hookgate sends the event id as webhook-id; every feed message has an
     * event_id. */
    json_object_set_new(o, "webhook_id",
                        webhook_id ? json_string(webhook_id) : json_null());
    json_object_set_new(o, "event_id",
                        webhook_id ? json_string(webhook_id) : json_null());
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* ---- signature check ---------------------------------------------------- */

typedef struct signature_check {
    const char *msg_id;
    long long timestamp;
    const char *header;
    const char *body;
    size_t body_len;
} signature_check;

/* Returns true when one of the space-separated signatures of the header
 * equals the signature made with secret. Compares in constant time. */
static bool secret_signed(const signature_check *c, const char *secret)
{
    uint8_t key[HG_SECRET_MAX_BYTES];
    char expected[HG_SIGNATURE_LEN];
    const char *why;
    const char *p = c->header;
    int keylen = hg_secret_parse(secret, key, sizeof(key), &why);
    size_t want;
    bool match = false;

    if (keylen < 0)
        return false;
    hg_webhook_sign(key, (size_t)keylen, c->msg_id, c->timestamp, c->body,
                    c->body_len, expected);
    memset(key, 0, sizeof(key));
    want = strlen(expected);
    for (int i = 0; i < SIGNATURES_MAX && *p != '\0'; i++) {
        size_t n;

        p += strspn(p, " ");
        n = strcspn(p, " ");
        if (n == want && hg_ct_equal(p, expected, want))
            match = true;
        p += n;
    }
    memset(expected, 0, sizeof(expected));
    return match;
}

static json_t *signature_json(bool checked, int verified,
                              const char *endpoint_id, json_t *skew,
                              const char *detail)
{
    return json_pack(
        "{s:b, s:o, s:o, s:o, s:s}", "checked", checked, "verified",
        verified < 0 ? json_null() : json_boolean(verified), "endpoint_id",
        endpoint_id ? json_string(endpoint_id) : json_null(),
        "timestamp_skew_s", skew, "detail", detail);
}

/* Reads the Standard Webhooks headers; returns a detail sentence when the
 * request cannot be checked, or NULL. *skew is set when the timestamp
 * parses. */
static const char *read_signature_headers(hg_req *r, signature_check *c,
                                          json_t **skew)
{
    const char *ts = hg_req_header(r, "webhook-timestamp");
    char *end;

    *skew = json_null();
    c->msg_id = hg_req_header(r, "webhook-id");
    c->header = hg_req_header(r, "webhook-signature");
    c->body = hg_req_body(r, &c->body_len);
    /* Unix seconds: 1 to 12 digits, so the skew cannot overflow. */
    if (ts != NULL && ts[0] != '\0' && strlen(ts) <= 12 &&
        strspn(ts, "0123456789") == strlen(ts)) {
        c->timestamp = strtoll(ts, &end, 10);
        json_decref(*skew);
        *skew = json_integer(hg_time_ms() / 1000 - c->timestamp);
    }
    if (c->header == NULL)
        return "the request has no webhook-signature header";
    if (c->msg_id == NULL)
        return "the request has no webhook-id header";
    if (json_is_null(*skew))
        return "the webhook-timestamp header is missing or not an integer";
    return NULL;
}

/* Checks the request against the secrets of the candidate endpoints in
 * reply (id, sealed secret, sealed previous secret, its expiry in ms, ...)
 * and returns the signature member of the capture. */
static json_t *check_signature(sink_request *s, const redisReply *reply)
{
    signature_check c = {0};
    json_t *skew;
    const char *problem = read_signature_headers(s->r, &c, &skew);
    const char *first = NULL;
    char plain[HG_SECRET_MAX_LEN], aad[HG_KEY_MAX], detail[256];
    bool opened = false;

    if (problem != NULL)
        return signature_json(false, -1, NULL, skew, problem);
    if (!insp->cfg->secret_key_set)
        return signature_json(false, -1, NULL, skew,
                              "HOOKGATE_SECRET_KEY is not set in the "
                              "inspector, so endpoint secrets cannot be "
                              "opened");
    for (size_t i = 0; reply && i + 3 < reply->elements; i += 4) {
        const char *id = hg_reply_str(reply, i, NULL);
        const char *sealed[2] = {hg_reply_str(reply, i + 1, NULL),
                                 hg_reply_str(reply, i + 2, NULL)};
        const char *expires = hg_reply_str(reply, i + 3, NULL);

        if (id == NULL)
            continue;
        if (first == NULL)
            first = id;
        snprintf(aad, sizeof(aad), "%s/%s", s->owner, id);
        for (int k = 0; k < 2; k++) {
            /* The previous secret signs only until its expiry. */
            if (sealed[k] == NULL || sealed[k][0] == '\0' ||
                (k == 1 && (expires == NULL || atoll(expires) <= hg_time_ms())))
                continue;
            if (hg_secretbox_open(insp->cfg->endpoint_secrets_key, aad,
                                  sealed[k], plain, sizeof(plain)) != 0)
                continue;
            opened = true;
            if (secret_signed(&c, plain)) {
                memset(plain, 0, sizeof(plain));
                snprintf(detail, sizeof(detail),
                         "verified with the %s secret of %s",
                         k == 0 ? "current" : "previous", id);
                return signature_json(true, 1, id, skew, detail);
            }
        }
    }
    memset(plain, 0, sizeof(plain));
    if (first == NULL) {
        snprintf(detail, sizeof(detail),
                 "no endpoint of integration %s points at /sink/%s", s->owner,
                 s->sink_id);
        return signature_json(false, -1, NULL, skew, detail);
    }
    if (!opened)
        return signature_json(false, -1, first, skew,
                              "the endpoint secret does not open: is "
                              "HOOKGATE_SECRET_KEY the same as the "
                              "gateway's?");
    snprintf(detail, sizeof(detail),
             "no signature matches a secret of the endpoints pointing at "
             "this sink (first: %s)",
             first);
    return signature_json(true, 0, first, skew, detail);
}

/* ---- steps -------------------------------------------------------------- */

static void on_stored(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_request *s = r->data;

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r))
        sink_answer_send(s);
    hg_req_release(r);
}

static void store(sink_request *s)
{
    hg_req *r = s->r;
    char k_list[HG_KEY_MAX], k_bytes[HG_KEY_MAX], k_stats[HG_KEY_MAX];
    char limit[24], bytes[24], ttl[16], maxlen[16], answer[8];
    char *capture_text, *record;

    json_object_set_new(s->capture, "integration_id", json_string(s->owner));
    json_object_set_new(s->capture, "request_number", json_integer(s->number));
    json_object_set_new(s->capture, "answer",
                        json_pack("{s:i}", "status", s->answer->status));
    capture_text = json_dumps(s->capture, JSON_COMPACT);
    record = activity_record(s);
    if (capture_text == NULL || record == NULL) {
        free(capture_text);
        free(record);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "failed to encode capture");
        return;
    }
    snprintf(limit, sizeof(limit), "%d", insp->cfg->sink_capture_limit);
    snprintf(bytes, sizeof(bytes), "%lld", insp->cfg->sink_capture_bytes);
    snprintf(ttl, sizeof(ttl), "%d", SINK_CAPTURE_TTL_S);
    snprintf(maxlen, sizeof(maxlen), "%d", insp->cfg->activity_maxlen);
    snprintf(answer, sizeof(answer), "%d", s->answer->status);

    const char *argv[] = {sink_key(k_list, s->sink_id, "captures"),
                          sink_key(k_bytes, s->sink_id, "bytes"),
                          sink_key(k_stats, s->sink_id, "stats"),
                          HG_KEY_ACTIVITY,
                          capture_text,
                          limit,
                          bytes,
                          ttl,
                          record,
                          maxlen,
                          s->owner,
                          answer};
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_capture, 0, on_stored, r, 4, 12,
                  argv, NULL);
    free(capture_text);
    free(record);
}

static void on_endpoints(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_request *s = r->data;

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r)) {
        json_object_set_new(s->capture, "signature", check_signature(s, reply));
        store(s);
    }
    hg_req_release(r);
}

/* Looks up the endpoints whose secrets may have signed the request, or
 * records at once why the signature is not checked. */
static void find_signers(sink_request *s, const char *endpoint_id)
{
    hg_req *r = s->r;
    char k_list[HG_KEY_MAX], sink_path[HG_PARAM_MAX + 8];

    if (hg_req_header(r, "webhook-signature") == NULL) {
        json_object_set_new(s->capture, "signature", check_signature(s, NULL));
        store(s);
        return;
    }
    snprintf(sink_path, sizeof(sink_path), "/sink/%s", s->sink_id);
    const char *argv[] = {hg_key(k_list, s->owner, "eplist"), s->owner,
                          endpoint_id, sink_path, hg_req_path(r)};
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_endpoints, 0, on_endpoints, r, 1,
                  5, argv, NULL);
}

/* Parses the stored script and picks the answer of this request. */
static void choose_answer(sink_request *s, const char *config)
{
    hg_sink_error err;
    json_t *json;
    uint32_t draw = 0;

    s->configured = config[0] != '\0';
    if (s->configured) {
        json = json_loads(config, JSON_ALLOW_NUL, NULL);
        if (hg_sink_script_parse(json, hg_time_ms() / 1000, &s->script, &err) !=
            0) {
            hg_log_fields f = {.integration_id = s->owner,
                               .correlation_id = s->r->request_id};

            /* Only a config stored by another version gets here. */
            hg_warn(&f,
                    "sink %s has an invalid stored config (%s: %s); "
                    "answering 200",
                    s->sink_id, err.field, err.message);
            hg_sink_script_default(&s->script);
        }
        json_decref(json);
    } else {
        hg_sink_script_default(&s->script);
    }
    hg_random_bytes(&draw, sizeof(draw));
    s->answer = hg_sink_script_pick(&s->script, s->number, (int)(draw % 100),
                                    &s->failure);
}

static void on_found(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_request *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result == NULL || strcmp(result, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "sink %s does not exist: configure it with PUT "
                         "/api/v1/sinks/%s, or use a sink named after an "
                         "integration",
                         s->sink_id, s->sink_id);
    } else {
        const char *owner = hg_reply_str(reply, 1, NULL);
        const char *config = hg_reply_str(reply, 2, NULL);
        const redisReply *n = hg_reply_elem(reply, 3);
        const char *endpoint = hg_reply_str(reply, 4, NULL);

        snprintf(s->owner, sizeof(s->owner), "%s", owner ? owner : "");
        s->number = n && n->type == REDIS_REPLY_INTEGER ? n->integer : 1;
        choose_answer(s, config ? config : "");
        find_signers(s, endpoint ? endpoint : "");
    }
    hg_req_release(r);
}

void insp_sink_receive(hg_req *r)
{
    sink_request *s;
    char k_config[HG_KEY_MAX], k_int[HG_KEY_MAX], k_seq[HG_KEY_MAX];
    char k_stats[HG_KEY_MAX], ttl[16];

    /* A sink responds on the inspector's own origin with content that a
     * partner scripts. A sandboxed document has an opaque origin and runs
     * no script, so it cannot reach the page's session. */
    hg_reply_header(r, "Content-Security-Policy",
                    "sandbox; default-src 'none'");
    hg_reply_header(r, "X-Content-Type-Options", "nosniff");
    if (!hg_integration_id_valid(r->params[0])) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "sink ids match [a-z0-9][a-z0-9_-]{0,62}");
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    s->r = r;
    hg_sink_script_default(&s->script);
    r->data = s;
    r->data_free = sink_request_free;
    r->on_close = sink_answer_on_close;
    snprintf(s->sink_id, sizeof(s->sink_id), "%s", r->params[0]);
    hg_id_new("cap_", s->capture_id);
    hg_time_format(hg_time_ms(), s->received_at);
    s->capture = capture_new(r, s);
    if (s->capture == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "failed to encode capture");
        return;
    }

    snprintf(ttl, sizeof(ttl), "%d", SINK_CAPTURE_TTL_S);
    const char *argv[] = {sink_key(k_config, s->sink_id, "config"),
                          hg_key(k_int, s->sink_id, "integration"),
                          sink_key(k_seq, s->sink_id, "seq"),
                          sink_key(k_stats, s->sink_id, "stats"),
                          s->sink_id,
                          ttl};
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_receive, 0, on_found, r, 4, 6,
                  argv, NULL);
}
