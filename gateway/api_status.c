/* SPDX-License-Identifier: MIT
 *
 * The operator API of the public status page, admin key only: incidents
 * (create, list, read, and updates through PATCH) and maintenance windows
 * (create, list, read, change, cancel). Everything lives under the hash
 * tag {status} (docs/redis-keys.md); the inspector reads it for /status.
 * After a change succeeded and its response was sent, a notice (incident.* or
 * maintenance.*) is queued for every integration that subscribed with
 * status_notices, in batches of NOTIFY_BATCH integrations, one script at
 * a time (status_notify.lua).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/gateway.h"
#include "gateway/validate.h"
#include "inspector/status_view.h"

#define TITLE_MAX_CHARS 200
#define TEXT_MAX_CHARS 5000
#define UPDATES_MAX 100
#define LIST_DEFAULT 20
#define LIST_MAX 100
#define WINDOW_MAX_MS (31LL * 86400 * 1000)
#define WINDOW_AHEAD_MAX_MS (366LL * 86400 * 1000)
#define NOTIFY_BATCH 100

static const char *const incident_statuses[] = {
    "investigating", "identified", "monitoring", "resolved", NULL,
};
static const char *const impacts[] = {"minor", "major", "critical", NULL};

/* ---- validation -------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(s, *list) == 0)
            return true;
    }
    return false;
}

/* Counts the code points of a string jansson already checked as UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* True when s holds a C0 control character or DEL, other than line feed
 * and tab where lines are allowed. The public page shows these texts, and
 * each control character grows sixfold as a JSON escape. */
/* True when s (valid UTF-8, as jansson gives it) has a control character:
 * C0 but line feed and tab where lines is set, DEL, or C1 (U+0080 to
 * U+009F). Bidirectional embeddings, overrides and isolates (U+202A to
 * U+202E, U+2066 to U+2069) count too, because with them the public page
 * would show text in another order than it was written. */
static bool has_control(const char *s, bool lines)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p; p++) {
        if ((*p < 0x20 || *p == 0x7F) && !(lines && (*p == '\n' || *p == '\t')))
            return true;
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return true;
        if (p[0] == 0xE2 && ((p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE) ||
                             (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9)))
            return true;
    }
    return false;
}

/* Checks an optional text member of 1 (or 0 when empty_ok) to max code
 * points without control characters (a title is one line, longer texts
 * may have line feeds and tabs); sends 422 and returns false when it is
 * invalid. required makes a missing member invalid too. */
static bool check_text(hg_req *r, const json_t *body, const char *name,
                       size_t max, bool required, bool empty_ok)
{
    const json_t *v = json_object_get(body, name);
    bool lines = max > TITLE_MAX_CHARS;
    size_t chars;

    if (v == NULL && !required)
        return true;
    if (json_is_string(v)) {
        chars = utf8_chars(json_string_value(v));
        if (strlen(json_string_value(v)) == json_string_length(v) &&
            !has_control(json_string_value(v), lines) && chars <= max &&
            (empty_ok || chars > 0))
            return true;
    }
    hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                     "\"%s\" must be a string of %d to %zu characters "
                     "without bidirectional formatting or control "
                     "characters%s",
                     name, empty_ok ? 0 : 1, max,
                     lines ? " other than line feed and tab" : "");
    return false;
}

static bool check_enum(hg_req *r, const json_t *body, const char *name,
                       const char *const *list, bool required,
                       const char *choices)
{
    const json_t *v = json_object_get(body, name);

    if (v == NULL && !required)
        return true;
    if (json_is_string(v) && in_list(json_string_value(v), list))
        return true;
    hg_reply_problem(r, HG_E_VALIDATION_ERROR, "\"%s\" must be one of %s",
                     name, choices);
    return false;
}

/* Checks "components": 1 to 4 distinct names of hg_status_components,
 * and writes the array as JSON text into out (cap bytes). */
static bool check_components(hg_req *r, const json_t *body, bool required,
                             char *out, size_t cap)
{
    const json_t *v = json_object_get(body, "components");
    size_t n = json_array_size(v);
    bool ok = json_is_array(v) && n >= 1 && n <= HG_STATUS_COMPONENT_COUNT;
    char *text;

    out[0] = '\0';
    if (v == NULL && !required)
        return true;
    for (size_t i = 0; ok && i < n; i++) {
        const char *name = json_string_value(json_array_get(v, i));

        ok = name != NULL && in_list(name, hg_status_components);
        for (size_t k = 0; ok && k < i; k++)
            ok = strcmp(name, json_string_value(json_array_get(v, k))) != 0;
    }
    if (!ok) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"components\" must be a list of 1 to 4 distinct "
                         "names among gateway, delivery, inspector, redis");
        return false;
    }
    text = json_dumps(v, JSON_COMPACT);
    snprintf(out, cap, "%s", text ? text : "[]");
    free(text);
    return true;
}

/* Checks an optional RFC 3339 time member; *ms is -1 when it is absent.
 * Times before 1970 are rejected, because a negative *ms would read as
 * absent. */
static bool check_time(hg_req *r, const json_t *body, const char *name,
                       bool required, long long *ms)
{
    const json_t *v = json_object_get(body, name);

    *ms = -1;
    if (v == NULL && !required)
        return true;
    if (json_is_string(v) && json_string_length(v) <= 64 &&
        gw_parse_time(json_string_value(v), ms) && *ms >= 0)
        return true;
    *ms = -1;
    hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                     "\"%s\" must be an RFC 3339 date-time from 1970 on, "
                     "such as 2026-12-05T03:00:00Z",
                     name);
    return false;
}

static bool check_members(hg_req *r, const json_t *body,
                          const char *const *known)
{
    gw_validate_result res = gw_validate_members(body, known);

    if (!res.ok)
        hg_reply_problem(r, res.code, "%s", res.message);
    return res.ok;
}

/* Checks the id path parameter; sends 404 when it cannot be one. */
static bool check_id(hg_req *r, const char *prefix, const char *what)
{
    if (hg_id_valid(prefix, r->params[0]))
        return true;
    hg_reply_problem(r, HG_E_NOT_FOUND, "%s %s does not exist", what,
                     r->params[0]);
    return false;
}

/* ---- notices ------------------------------------------------------------ */

/* One notice being queued for every subscribed integration. It is owned
 * by the chain of its Redis callbacks, not by a request, and ends at the
 * first failure, which is logged. */
typedef struct notice {
    hg_redis *redis;
    char type[32];
    char *data;
    char **ids;
    size_t count;
    size_t next;
    long long queued;
    int64_t now_ms;
    char now_iso[HG_TIME_BUF];
    /* The operator request that caused the notice, for the log. */
    char request_id[HG_REQUEST_ID_MAX + 1];
} notice;

static void notice_free(notice *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->count; i++)
        free(n->ids[i]);
    free(n->ids);
    free(n->data);
    free(n);
}

static void notice_batch(notice *n);

static void on_notice_batch(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    notice *n = arg;

    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_INTEGER) {
        hg_log_fields f = {.correlation_id = n->request_id,
                           .error = status != HG_REDIS_OK
                                        ? hg_redis_status_text(status)
                                        : reply->str};

        hg_warn(&f, "queueing %s notices stopped after %zu of %zu "
                    "integrations",
                n->type, n->next, n->count);
        notice_free(n);
        return;
    }
    n->queued += reply->integer;
    if (n->next < n->count) {
        notice_batch(n);
        return;
    }
    hg_log_fields f = {.correlation_id = n->request_id};

    hg_info(&f, "%s notice queued for %lld of %zu integrations (the "
                "subscribed ones with an operational endpoint)",
            n->type, n->queued, n->count);
    notice_free(n);
}

/* Sends the next NOTIFY_BATCH integrations to status_notify.lua. */
static void notice_batch(notice *n)
{
    size_t take = n->count - n->next;
    const char **argv;
    char (*work)[HG_KEY_MAX], (*events)[HG_ID_MAX];
    char now_ms[24], retention[24];
    int argc = 0;

    if (take > NOTIFY_BATCH)
        take = NOTIFY_BATCH;
    argv = calloc(5 + 3 * take, sizeof(*argv));
    work = calloc(take, sizeof(*work));
    events = calloc(take, sizeof(*events));
    if (argv == NULL || work == NULL || events == NULL) {
        hg_warn(NULL, "out of memory queueing %s notices", n->type);
        free(argv);
        free(work);
        free(events);
        notice_free(n);
        return;
    }
    snprintf(now_ms, sizeof(now_ms), "%lld", (long long)n->now_ms);
    snprintf(retention, sizeof(retention), "%lld",
             gw_config->event_retention_s);
    argv[argc++] = n->type;
    argv[argc++] = n->data;
    argv[argc++] = now_ms;
    argv[argc++] = n->now_iso;
    argv[argc++] = retention;
    for (size_t i = 0; i < take; i++) {
        const char *id = n->ids[n->next + i];

        argv[argc++] = id;
        argv[argc++] = hg_key_work(work[i],
                                   hg_shard_of(id, gw_config->work_shards));
        argv[argc++] = hg_id_new("evt_", events[i]);
    }
    n->next += take;
    hg_redis_eval(n->redis, &hg_script_status_notify, 0, on_notice_batch, n,
                  0, argc, argv, NULL);
    free(argv);
    free(work);
    free(events);
}

static void on_notice_ids(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    notice *n = arg;

    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
        hg_log_fields f = {.correlation_id = n->request_id,
                           .error = hg_redis_status_text(status)};

        hg_warn(&f, "cannot list integrations for the %s notice", n->type);
        notice_free(n);
        return;
    }
    n->ids = calloc(reply->elements + 1, sizeof(*n->ids));
    for (size_t i = 0; n->ids != NULL && i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_STRING &&
            (n->ids[n->count] = strdup(reply->element[i]->str)) != NULL)
            n->count++;
    }
    if (n->count == 0) {
        notice_free(n);
        return;
    }
    notice_batch(n);
}

/* Queues a notice of type with data (its "data" member) for every
 * subscribed integration; takes ownership of data. The caller has
 * already sent its response, so a failure here is logged only.
 * NOTE: the notice is sent from this process's memory, so one that a
 * stopping gateway had not finished queueing is not sent to the rest. */
static void notice_send(hg_req *r, const char *type, json_t *data)
{
    gw_thread *t = hg_req_thread(r);
    notice *n = calloc(1, sizeof(*n));

    if (n == NULL || (n->data = json_dumps(data, JSON_COMPACT)) == NULL) {
        free(n);
        json_decref(data);
        return;
    }
    json_decref(data);
    n->redis = t->redis;
    snprintf(n->type, sizeof(n->type), "%s", type);
    snprintf(n->request_id, sizeof(n->request_id), "%s", r->request_id);
    n->now_ms = hg_time_ms();
    hg_time_format(n->now_ms, n->now_iso);
    /* NOTE: every integration is visited and the script skips those
     * without status_notices; that suits thousands of integrations. */
    hg_redis_command(n->redis, 0, on_notice_ids, n, "SMEMBERS %s",
                     HG_KEY_INTEGRATIONS);
}

/* The notice data of an incident: the incident without its update list,
 * with its latest update as "update". */
static json_t *incident_notice(const json_t *incident)
{
    json_t *data = json_deep_copy(incident);
    json_t *updates = json_object_get(data, "updates");
    size_t n = json_array_size(updates);

    json_object_set(data, "update",
                    n > 0 ? json_array_get(updates, n - 1) : json_null());
    json_object_del(data, "updates");
    return data;
}

/* ---- incidents ---------------------------------------------------------- */

static char *incident_key(char *out, const char *id, bool updates)
{
    snprintf(out, HG_KEY_MAX, "%s%s%s", HG_STATUS_INCIDENT_PREFIX, id,
             updates ? ":updates" : "");
    return out;
}

/* The JSON text of one update. */
static char *update_text(const char *status, const char *message,
                         const char *at)
{
    json_t *u = json_pack("{s:s, s:s, s:s}", "status", status, "message",
                          message, "created_at", at);
    char *text = u ? json_dumps(u, JSON_COMPACT) : NULL;

    json_decref(u);
    return text;
}

/* The state of one operator request, kept as the request's data. */
typedef struct status_state {
    char id[HG_ID_MAX];
    json_t *body;
    /* The HTTP status of the response and the notice to queue after it
     * (NULL for none), once the change is read back. */
    int reply_status;
    const char *notice;
} status_state;

static void status_state_free(void *p)
{
    status_state *s = p;

    if (s != NULL)
        json_decref(s->body);
    free(s);
}

/* Takes body as the request's data; returns NULL after replying 500. */
static status_state *status_state_new(hg_req *r, json_t *body)
{
    status_state *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        json_decref(body);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    s->body = body;
    s->reply_status = 200;
    r->data = s;
    r->data_free = status_state_free;
    return s;
}

static const char *member_text(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

static void reply_incident(hg_req *r, const redisReply *fields,
                           const redisReply *updates)
{
    status_state *s = r->data;
    json_t *incident = hg_status_incident_json(fields, updates);

    if (incident == NULL) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "incident %s does not exist",
                         r->params[0]);
        return;
    }
    if (s != NULL && s->notice != NULL)
        notice_send(r, s->notice, incident_notice(incident));
    hg_reply_json(r, s != NULL ? s->reply_status : 200, incident);
}

static void on_incident_read(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r))
        reply_incident(r, hg_reply_elem(reply, 0), hg_reply_elem(reply, 1));
    hg_req_release(r);
}

static void read_incident(hg_req *r, const char *id)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];
    const char *argv[] = {incident_key(key, id, false), "one", "1"};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_incident_list, 0,
                  on_incident_read, r, 1, 3, argv, NULL);
}

static void on_incident_created(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    hg_req *r = arg;
    status_state *s = r->data;
    char location[HG_KEY_MAX];

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r)) {
        gw_audit(r, NULL, "status.incident.create", s->id,
                 json_pack("{s:s, s:s}", "status",
                           member_text(s->body, "status"), "impact",
                           member_text(s->body, "impact")));
        snprintf(location, sizeof(location), "/api/v1/status/incidents/%s",
                 s->id);
        hg_reply_header(r, "Location", location);
        s->reply_status = 201;
        s->notice = "incident.created";
        read_incident(r, s->id);
    }
    hg_req_release(r);
}

static void create_incident_authorized(hg_req *r)
{
    static const char *const members[] = {
        "title", "status", "impact", "components", "message", NULL,
    };
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    status_state *s;
    char components[256], created_ms[24], now[HG_TIME_BUF];
    char k_hash[HG_KEY_MAX], k_updates[HG_KEY_MAX];
    char *update;
    const char *state;
    int64_t ms = hg_time_ms();
    bool resolved;

    if (body == NULL)
        return;
    if (!check_members(r, body, members) ||
        !check_text(r, body, "title", TITLE_MAX_CHARS, true, false) ||
        !check_enum(r, body, "status", incident_statuses, true,
                    "investigating, identified, monitoring, resolved") ||
        !check_enum(r, body, "impact", impacts, true,
                    "minor, major, critical") ||
        !check_components(r, body, true, components, sizeof(components)) ||
        !check_text(r, body, "message", TEXT_MAX_CHARS, true, false)) {
        json_decref(body);
        return;
    }
    if ((s = status_state_new(r, body)) == NULL)
        return;
    hg_id_new("inc_", s->id);
    hg_time_format(ms, now);
    snprintf(created_ms, sizeof(created_ms), "%lld", (long long)ms);
    state = member_text(body, "status");
    resolved = strcmp(state, "resolved") == 0;
    update = update_text(state, member_text(body, "message"), now);
    if (update == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }

    const char *argv[] = {
        HG_STATUS_KEY_INCIDENTS, incident_key(k_hash, s->id, false),
        incident_key(k_updates, s->id, true),
        s->id, created_ms, now, resolved ? now : "", update,
        "status", state,
        "impact", member_text(body, "impact"),
        "title", member_text(body, "title"),
        "components", components,
        "resolved_ms", resolved ? created_ms : "0",
    };

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_incident_create, 0,
                  on_incident_created, r, 3,
                  (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
    free(update);
}

void gw_status_incident_create(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, create_incident_authorized);
}

static void get_incident_authorized(hg_req *r)
{
    read_incident(r, r->params[0]);
}

void gw_status_incident_get(hg_req *r)
{
    if (check_id(r, "inc_", "incident"))
        gw_authorize(r, NULL, SCOPE_ALL, get_incident_authorized);
}

static void on_incident_list(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;
    json_t *list;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        hg_req_release(r);
        return;
    }
    list = json_array();
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        json_t *incident = hg_status_incident_json(reply->element[i],
                                                   reply->element[i + 1]);

        if (incident != NULL)
            json_array_append_new(list, incident);
    }
    hg_reply_json(r, 200, json_pack("{s:o}", "data", list));
    hg_req_release(r);
}

static void list_incidents_authorized(hg_req *r)
{
    static const char *const states[] = {"all", "active", "resolved", NULL};
    gw_thread *t = hg_req_thread(r);
    const char *state = hg_req_query(r, "state");
    char limit_text[16];
    int limit;

    if (!gw_query_limit(r, LIST_DEFAULT, LIST_MAX, &limit))
        return;
    if (state != NULL && !in_list(state, states)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"state\" must be all, active or resolved");
        return;
    }
    snprintf(limit_text, sizeof(limit_text), "%d", limit);

    const char *argv[] = {HG_STATUS_KEY_INCIDENTS, state ? state : "all",
                          limit_text};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_incident_list, 0,
                  on_incident_list, r, 1, 3, argv, NULL);
}

void gw_status_incident_list(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, list_incidents_authorized);
}

static void on_incident_updated(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    hg_req *r = arg;
    status_state *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "ok") == 0) {
        const char *state = member_text(s->body, "status");

        gw_audit(r, NULL, "status.incident.update", r->params[0],
                 json_pack("{s:s}", "status", state));
        s->notice = strcmp(state, "resolved") == 0 ? "incident.resolved"
                                                   : "incident.updated";
        reply_incident(r, hg_reply_elem(reply, 1), hg_reply_elem(reply, 2));
    } else if (result != NULL && strcmp(result, "full") == 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "incident %s reached the limit of %d updates, and "
                         "the last one must set \"status\" to resolved; "
                         "create a new incident for more updates",
                         r->params[0], UPDATES_MAX);
    } else {
        hg_reply_problem(r, HG_E_NOT_FOUND, "incident %s does not exist",
                         r->params[0]);
    }
    hg_req_release(r);
}

static void update_incident_authorized(hg_req *r)
{
    static const char *const members[] = {
        "status", "message", "title", "impact", "components", NULL,
    };
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    status_state *s;
    const char *argv[16];
    char components[256], now[HG_TIME_BUF], now_ms[24], max[16];
    char k_hash[HG_KEY_MAX], k_updates[HG_KEY_MAX];
    char *update;
    int argc = 0;
    int64_t ms = hg_time_ms();

    if (body == NULL)
        return;
    if (!check_members(r, body, members) ||
        !check_enum(r, body, "status", incident_statuses, true,
                    "investigating, identified, monitoring, resolved") ||
        !check_text(r, body, "message", TEXT_MAX_CHARS, true, false) ||
        !check_text(r, body, "title", TITLE_MAX_CHARS, false, false) ||
        !check_enum(r, body, "impact", impacts, false,
                    "minor, major, critical") ||
        !check_components(r, body, false, components, sizeof(components))) {
        json_decref(body);
        return;
    }
    if ((s = status_state_new(r, body)) == NULL)
        return;
    hg_time_format(ms, now);
    snprintf(now_ms, sizeof(now_ms), "%lld", (long long)ms);
    snprintf(max, sizeof(max), "%d", UPDATES_MAX);
    update = update_text(member_text(body, "status"),
                         member_text(body, "message"), now);
    if (update == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    argv[argc++] = incident_key(k_hash, r->params[0], false);
    argv[argc++] = incident_key(k_updates, r->params[0], true);
    argv[argc++] = member_text(body, "status");
    argv[argc++] = update;
    argv[argc++] = now;
    argv[argc++] = now_ms;
    argv[argc++] = max;
    if (json_object_get(body, "title") != NULL) {
        argv[argc++] = "title";
        argv[argc++] = member_text(body, "title");
    }
    if (json_object_get(body, "impact") != NULL) {
        argv[argc++] = "impact";
        argv[argc++] = member_text(body, "impact");
    }
    if (components[0] != '\0') {
        argv[argc++] = "components";
        argv[argc++] = components;
    }
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_incident_update, 0,
                  on_incident_updated, r, 2, argc, argv, NULL);
    free(update);
}

void gw_status_incident_update(hg_req *r)
{
    if (check_id(r, "inc_", "incident"))
        gw_authorize(r, NULL, SCOPE_ALL, update_incident_authorized);
}

/* ---- maintenance windows ------------------------------------------------ */

static char *window_key(char *out, const char *id)
{
    snprintf(out, HG_KEY_MAX, "%s%s", HG_STATUS_WINDOW_PREFIX, id);
    return out;
}

static void reply_window(hg_req *r, const redisReply *fields, json_t *extra)
{
    status_state *s = r->data;
    json_t *window = hg_status_window_json(fields, hg_time_ms());

    if (window == NULL) {
        json_decref(extra);
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "maintenance window %s does not exist",
                         r->params[0]);
        return;
    }
    if (extra != NULL)
        json_object_update(window, extra);
    json_decref(extra);
    if (s != NULL && s->notice != NULL)
        notice_send(r, s->notice, json_deep_copy(window));
    hg_reply_json(r, s != NULL ? s->reply_status : 200, window);
}

static void on_window_put(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    hg_req *r = arg;
    status_state *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);
    bool created = s->reply_status == 201;
    char location[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "ok") == 0) {
        gw_audit(r, NULL,
                 created ? "status.maintenance.create"
                         : "status.maintenance.update",
                 s->id, NULL);
        if (created) {
            snprintf(location, sizeof(location),
                     "/api/v1/status/maintenance/%s", s->id);
            hg_reply_header(r, "Location", location);
        }
        s->notice = created ? "maintenance.scheduled" : "maintenance.updated";
        reply_window(r, hg_reply_elem(reply, 1), NULL);
    } else if (result != NULL && strcmp(result, "bad_range") == 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"ends_at\" must be later than \"starts_at\"");
    } else if (result != NULL && strcmp(result, "ended") == 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"ends_at\" must be in the future");
    } else if (result != NULL && strcmp(result, "too_long") == 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "a maintenance window may last at most 31 days");
    } else {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "maintenance window %s does not exist", s->id);
    }
    hg_req_release(r);
}

/* Validates a window body (create: every member but "description"
 * required) and stores it with status_maintenance_put.lua. */
static void put_window(hg_req *r, bool create)
{
    static const char *const members[] = {
        "title", "description", "starts_at", "ends_at", "components", NULL,
    };
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    status_state *s;
    const char *argv[20];
    char components[256], now[HG_TIME_BUF], now_ms[24];
    char starts_ms[24] = "", ends_ms[24] = "", longest_ms[24];
    char starts_at[HG_TIME_BUF], ends_at[HG_TIME_BUF];
    char k_hash[HG_KEY_MAX];
    long long starts, ends;
    int64_t ms = hg_time_ms();
    int argc = 0;

    if (body == NULL)
        return;
    if (!check_members(r, body, members) ||
        !check_text(r, body, "title", TITLE_MAX_CHARS, create, false) ||
        !check_text(r, body, "description", TEXT_MAX_CHARS, false, true) ||
        !check_time(r, body, "starts_at", create, &starts) ||
        !check_time(r, body, "ends_at", create, &ends) ||
        !check_components(r, body, create, components, sizeof(components))) {
        json_decref(body);
        return;
    }
    const char *fault =
        json_object_size(body) == 0 ? "the body must change at least one "
                                      "member"
        : starts >= 0 && ends >= 0 && ends <= starts
            ? "\"ends_at\" must be later than \"starts_at\""
        : ends >= 0 && ends <= ms ? "\"ends_at\" must be in the future"
        : starts >= 0 && ends >= 0 && ends - starts > WINDOW_MAX_MS
            ? "a maintenance window may last at most 31 days"
        : starts > ms + WINDOW_AHEAD_MAX_MS
            ? "\"starts_at\" must be within 366 days from now"
            : NULL;

    if (fault != NULL) {
        json_decref(body);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "%s", fault);
        return;
    }
    if ((s = status_state_new(r, body)) == NULL)
        return;
    if (create) {
        hg_id_new("mnt_", s->id);
        s->reply_status = 201;
    } else {
        snprintf(s->id, sizeof(s->id), "%.*s", (int)sizeof(s->id) - 1,
                 r->params[0]);
    }
    hg_time_format(ms, now);
    snprintf(now_ms, sizeof(now_ms), "%lld", (long long)ms);
    if (starts >= 0) {
        snprintf(starts_ms, sizeof(starts_ms), "%lld", starts);
        hg_time_format(starts, starts_at);
    }
    if (ends >= 0) {
        snprintf(ends_ms, sizeof(ends_ms), "%lld", ends);
        hg_time_format(ends, ends_at);
    }
    argv[argc++] = HG_STATUS_KEY_WINDOWS;
    argv[argc++] = window_key(k_hash, s->id);
    argv[argc++] = create ? "create" : "update";
    argv[argc++] = s->id;
    argv[argc++] = now;
    argv[argc++] = now_ms;
    argv[argc++] = starts_ms;
    argv[argc++] = ends_ms;
    snprintf(longest_ms, sizeof(longest_ms), "%lld", WINDOW_MAX_MS);
    argv[argc++] = longest_ms;
    if (starts >= 0) {
        argv[argc++] = "starts_at";
        argv[argc++] = starts_at;
    }
    if (ends >= 0) {
        argv[argc++] = "ends_at";
        argv[argc++] = ends_at;
    }
    if (json_object_get(body, "title") != NULL) {
        argv[argc++] = "title";
        argv[argc++] = member_text(body, "title");
    }
    if (json_object_get(body, "description") != NULL || create) {
        argv[argc++] = "description";
        argv[argc++] = member_text(body, "description")
                           ? member_text(body, "description")
                           : "";
    }
    if (components[0] != '\0') {
        argv[argc++] = "components";
        argv[argc++] = components;
    }
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_maintenance_put, 0,
                  on_window_put, r, 2, argc, argv, NULL);
}

static void create_window_authorized(hg_req *r)
{
    put_window(r, true);
}

void gw_status_maintenance_create(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, create_window_authorized);
}

static void update_window_authorized(hg_req *r)
{
    put_window(r, false);
}

void gw_status_maintenance_update(hg_req *r)
{
    if (check_id(r, "mnt_", "maintenance window"))
        gw_authorize(r, NULL, SCOPE_ALL, update_window_authorized);
}

static void on_window_read(hg_redis_status status, redisReply *reply,
                           void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r))
        reply_window(r, hg_reply_elem(reply, 0), NULL);
    hg_req_release(r);
}

static void get_window_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];
    const char *argv[] = {window_key(key, r->params[0]), "one", "0", "1"};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_maintenance_list, 0,
                  on_window_read, r, 1, 4, argv, NULL);
}

void gw_status_maintenance_get(hg_req *r)
{
    if (check_id(r, "mnt_", "maintenance window"))
        gw_authorize(r, NULL, SCOPE_ALL, get_window_authorized);
}

static void on_window_list(hg_redis_status status, redisReply *reply,
                           void *arg)
{
    hg_req *r = arg;
    int64_t now = hg_time_ms();
    json_t *list;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        hg_req_release(r);
        return;
    }
    list = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        json_t *window = hg_status_window_json(reply->element[i], now);

        if (window != NULL)
            json_array_append_new(list, window);
    }
    hg_reply_json(r, 200, json_pack("{s:o}", "data", list));
    hg_req_release(r);
}

static void list_windows_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    const char *state = hg_req_query(r, "state");
    char limit_text[16], now_ms[24];
    int limit;

    if (!gw_query_limit(r, LIST_DEFAULT, LIST_MAX, &limit))
        return;
    if (state != NULL && strcmp(state, "all") != 0 &&
        strcmp(state, "current") != 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"state\" must be all or current");
        return;
    }
    snprintf(limit_text, sizeof(limit_text), "%d", limit);
    snprintf(now_ms, sizeof(now_ms), "%lld", (long long)hg_time_ms());

    const char *argv[] = {HG_STATUS_KEY_WINDOWS, state ? state : "all",
                          now_ms, limit_text};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_maintenance_list, 0,
                  on_window_list, r, 1, 4, argv, NULL);
}

void gw_status_maintenance_list(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, list_windows_authorized);
}

static void on_window_deleted(hg_redis_status status, redisReply *reply,
                              void *arg)
{
    hg_req *r = arg;
    status_state *s = r->data;
    char now[HG_TIME_BUF];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "maintenance window %s does not exist",
                         r->params[0]);
    } else {
        gw_audit(r, NULL, "status.maintenance.cancel", r->params[0], NULL);
        s->notice = "maintenance.cancelled";
        reply_window(r, reply,
                     json_pack("{s:s}", "cancelled_at",
                               hg_time_format(hg_time_ms(), now)));
    }
    hg_req_release(r);
}

static void delete_window_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];
    const char *argv[] = {HG_STATUS_KEY_WINDOWS, window_key(key, r->params[0]),
                          r->params[0]};

    if (status_state_new(r, NULL) == NULL)
        return;
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_status_maintenance_delete, 0,
                  on_window_deleted, r, 2, 3, argv, NULL);
}

void gw_status_maintenance_delete(hg_req *r)
{
    if (check_id(r, "mnt_", "maintenance window"))
        gw_authorize(r, NULL, SCOPE_ALL, delete_window_authorized);
}
