/* SPDX-License-Identifier: MIT
 *
 * The public status page, without sign-in: GET /status (web/status.html),
 * GET /status.json (version, overall state, each component's health,
 * current incidents and maintenance windows) and GET /status.ics (the
 * maintenance windows as an iCalendar feed). The response document is
 * built at most once per CACHE_MS. One refresh at a time requests the
 * gateway's /readyz, sends PING, and reads the rest with one script
 * (status_read.lua). Requests that arrive meanwhile wait for it, up to
 * WAITERS_MAX. So however often the page is requested, Redis gets at most
 * two commands and the gateway one request per CACHE_MS. The incidents and windows are
 * written by the gateway's operator API (gateway/api_status.c).
 */
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ical.h"
#include "common/log.h"
#include "common/scripts.h"
#include "inspector/inspector.h"
#include "inspector/status_view.h"

#define CACHE_MS 2000
/* Deadline of the gateway's /readyz; past it the gateway counts as down. */
#define GATEWAY_TIMEOUT_MS 1000
/* Deadline of the Redis commands of one refresh. */
#define REDIS_TIMEOUT_MS 1000
/* Requests that may wait for one refresh; more get 503. */
#define WAITERS_MAX 1024
/* At most this many incidents and windows are shown, each incident with
 * at most UPDATES_SHOWN of its latest updates. */
#define ITEMS_SHOWN 20
#define UPDATES_SHOWN 20
/* Resolved incidents stay on the page this long. */
#define RESOLVED_SHOWN_MS (24LL * 3600 * 1000)
#define PAGE_MAX_BYTES (256 * 1024)

/* States from best to worst. The overall state is the worst of the
 * components, with the adjustments in component_json() and build_doc(). */
typedef enum level {
    L_OPERATIONAL,
    L_MAINTENANCE,
    L_DEGRADED,
    L_PARTIAL,
    L_MAJOR,
} level;

static const char *const level_names[] = {
    "operational", "maintenance", "degraded", "partial_outage",
    "major_outage",
};

typedef enum part { P_GATEWAY, P_DELIVERY, P_INSPECTOR, P_REDIS } part;

typedef struct refresh {
    int pending;
    /* Gateway probe. */
    struct evhttp_connection *conn;
    int gateway_status;
    bool gateway_error;
    int64_t gateway_start_us;
    double gateway_ms;
    /* Redis. */
    int64_t ping_start_us;
    double ping_ms;
    bool ping_ok;
    bool read_ok;
    long long workers;
    json_t *incidents;
    json_t *windows;
} refresh;

static struct {
    json_t *doc;
    /* The document serialized once per refresh, as JSON and as the
     * iCalendar feed: a large document dumped per request would stall the
     * loop for every waiter of a burst. Responses send these bodies by
     * reference, so a burst of slow readers keeps one copy per refresh
     * rather than one per response. */
    hg_shared_body *json_body;
    hg_shared_body *ics_body;
    int64_t built_mono_ms;
    refresh *running;
    /* Requests waiting for the refresh, and whether each asked for the
     * iCalendar feed rather than the JSON. */
    hg_req *waiters[WAITERS_MAX];
    bool waiter_ics[WAITERS_MAX];
    int waiter_count;
} cache;

/* ---- the document ------------------------------------------------------- */

static level max_level(level a, level b)
{
    return a > b ? a : b;
}

static level impact_level(const char *impact)
{
    if (impact != NULL && strcmp(impact, "critical") == 0)
        return L_MAJOR;
    if (impact != NULL && strcmp(impact, "major") == 0)
        return L_PARTIAL;
    return L_DEGRADED;
}

static bool names_component(const json_t *item, const char *name)
{
    const json_t *list = json_object_get(item, "components");
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

/* A component's state: its probe, made worse by open incidents that name
 * it, or "maintenance" during a window that names it while it is up. */
static level component_level(const refresh *f, part p, const char *name)
{
    level l = L_OPERATIONAL;
    size_t i;
    json_t *v;

    if (p == P_GATEWAY && f->gateway_status != 200)
        l = L_MAJOR;
    else if (p == P_REDIS && !f->ping_ok)
        l = L_MAJOR;
    else if (p == P_DELIVERY && (!f->read_ok || f->workers == 0))
        l = L_MAJOR;
    json_array_foreach(f->incidents, i, v)
    {
        const char *status = json_string_value(json_object_get(v, "status"));

        if (status != NULL && strcmp(status, "resolved") != 0 &&
            names_component(v, name))
            l = max_level(l, impact_level(json_string_value(
                                 json_object_get(v, "impact"))));
    }
    json_array_foreach(f->windows, i, v)
    {
        const char *state = json_string_value(json_object_get(v, "state"));

        if (l == L_OPERATIONAL && state != NULL &&
            strcmp(state, "in_progress") == 0 && names_component(v, name))
            l = L_MAINTENANCE;
    }
    return l;
}

static json_t *component_json(const refresh *f, part p, level *worst,
                              level *overall)
{
    static const char *const names[] = {"gateway", "delivery", "inspector",
                                        "redis"};
    static const char *const titles[] = {"API gateway", "Webhook delivery",
                                         "Inspector", "Data store"};
    level l = component_level(f, p, names[p]);
    json_t *c = json_pack("{s:s, s:s, s:s}", "id", names[p], "name",
                          titles[p], "status", level_names[l]);

    switch (p) {
    case P_GATEWAY:
        json_object_set_new(c, "response_ms",
                            f->gateway_status > 0
                                ? json_real(f->gateway_ms)
                                : json_null());
        break;
    case P_DELIVERY:
        json_object_set_new(c, "workers",
                            f->read_ok ? json_integer(f->workers)
                                       : json_null());
        break;
    case P_REDIS:
        json_object_set_new(c, "response_ms",
                            f->ping_ok ? json_real(f->ping_ms) : json_null());
        break;
    case P_INSPECTOR:
        break;
    }
    *worst = max_level(*worst, l);
    /* Without the gateway or Redis nothing is accepted: a major outage.
     * Delivery or the inspector alone down is a partial one. */
    if (l == L_MAJOR && (p == P_GATEWAY || p == P_REDIS))
        *overall = max_level(*overall, L_MAJOR);
    else if (l >= L_PARTIAL)
        *overall = max_level(*overall, L_PARTIAL);
    else
        *overall = max_level(*overall, l);
    return c;
}

static json_t *build_doc(refresh *f)
{
    level worst = L_OPERATIONAL, overall = L_OPERATIONAL;
    json_t *components = json_array();
    char now[HG_TIME_BUF];
    size_t i;
    json_t *v;

    for (int p = P_GATEWAY; p <= P_REDIS; p++)
        json_array_append_new(components,
                              component_json(f, (part)p, &worst, &overall));
    /* A critical incident is a major outage whatever it names. */
    json_array_foreach(f->incidents, i, v)
    {
        const char *status = json_string_value(json_object_get(v, "status"));

        if (status != NULL && strcmp(status, "resolved") != 0)
            overall = max_level(overall, impact_level(json_string_value(
                                             json_object_get(v, "impact"))));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:O, s:O}", "version",
                     HOOKGATE_VERSION, "status", level_names[overall],
                     "updated_at", hg_time_format(hg_time_ms(), now),
                     "components", components, "incidents", f->incidents,
                     "maintenance", f->windows);
}

/* ---- responses ---------------------------------------------------------- */

static void cache_headers(hg_req *r)
{
    hg_reply_header(r, "Cache-Control", "public, max-age=2");
    hg_reply_header(r, "X-Content-Type-Options", "nosniff");
    hg_reply_header(r, "Access-Control-Allow-Origin", "*");
}

/* The document has no size cap of its own: 20 incidents of 20 updates of
 * 5,000 control characters (6-byte JSON escapes) make 12 MB. */
static void reply_json(hg_req *r)
{
    cache_headers(r);
    hg_reply_shared(r, 200, "application/json", cache.json_body);
}

/* Writes one VEVENT per window of the document. */
static void write_event(hg_ical *c, const json_t *w)
{
    const char *id = json_string_value(json_object_get(w, "id"));
    const char *desc = json_string_value(json_object_get(w, "description"));
    const json_t *components = json_object_get(w, "components");
    int64_t starts, ends, stamp;
    char uid[128], *names;

    if (id == NULL ||
        hg_time_parse(json_string_value(json_object_get(w, "starts_at")),
                      &starts) != 0 ||
        hg_time_parse(json_string_value(json_object_get(w, "ends_at")),
                      &ends) != 0)
        return;
    if (hg_time_parse(json_string_value(json_object_get(w, "updated_at")),
                      &stamp) != 0)
        stamp = hg_time_ms();
    snprintf(uid, sizeof(uid), "%s@hookgate", id);
    hg_ical_line(c, "BEGIN", "VEVENT");
    hg_ical_line(c, "UID", uid);
    hg_ical_time(c, "DTSTAMP", stamp);
    hg_ical_time(c, "LAST-MODIFIED", stamp);
    hg_ical_time(c, "DTSTART", starts);
    hg_ical_time(c, "DTEND", ends);
    hg_ical_text(c, "SUMMARY",
                 json_string_value(json_object_get(w, "title")) ?: "");
    if (desc != NULL && desc[0] != '\0')
        hg_ical_text(c, "DESCRIPTION", desc);
    /* The component names are a list of TEXT values, each escaped. */
    names = json_array_size(components) > 0 ? calloc(1, 256) : NULL;
    for (size_t i = 0; names != NULL && i < json_array_size(components);
         i++) {
        const char *n = json_string_value(json_array_get(components, i));

        if (n != NULL && strlen(names) + strlen(n) + 2 < 256) {
            if (names[0] != '\0')
                strcat(names, ",");
            strcat(names, n);
        }
    }
    if (names != NULL && names[0] != '\0')
        hg_ical_line(c, "CATEGORIES", names);
    free(names);
    hg_ical_line(c, "STATUS", "CONFIRMED");
    hg_ical_line(c, "TRANSP", "TRANSPARENT");
    hg_ical_line(c, "END", "VEVENT");
}

/* Returns the iCalendar feed of the windows of doc (malloc'd, its length
 * in *len), or NULL when memory runs out. */
static char *build_ics(const json_t *doc, size_t *len)
{
    hg_ical c = {0};
    const json_t *windows = json_object_get(doc, "maintenance");
    size_t i;
    json_t *w;

    hg_ical_line(&c, "BEGIN", "VCALENDAR");
    hg_ical_line(&c, "VERSION", "2.0");
    hg_ical_line(&c, "PRODID", "-//hookgate//status " HOOKGATE_VERSION "//EN");
    hg_ical_line(&c, "CALSCALE", "GREGORIAN");
    hg_ical_line(&c, "METHOD", "PUBLISH");
    hg_ical_text(&c, "X-WR-CALNAME", "hookgate maintenance");
    json_array_foreach(windows, i, w)
        write_event(&c, w);
    hg_ical_line(&c, "END", "VCALENDAR");
    if (c.failed) {
        hg_ical_free(&c);
        return NULL;
    }
    *len = c.len;
    return c.data;
}

static void reply_ics(hg_req *r)
{
    cache_headers(r);
    hg_reply_shared(r, 200, "text/calendar; charset=utf-8", cache.ics_body);
}

static void reply_cached(hg_req *r, bool ics)
{
    if (ics)
        reply_ics(r);
    else
        reply_json(r);
}

/* ---- refresh ------------------------------------------------------------ */

/* Makes doc (taken) the cached document with its two serializations;
 * keeps the previous one when memory runs out. */
static void cache_store(json_t *doc)
{
    /* The only reals are measured round trips in milliseconds: 12 digits
     * keep 0.391 from printing as 0.39100000000000001. */
    char *json_text =
        doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    size_t ics_len = 0;
    char *ics_text = json_text ? build_ics(doc, &ics_len) : NULL;
    hg_shared_body *json_body =
        ics_text ? hg_shared_body_new(json_text, strlen(json_text)) : NULL;
    hg_shared_body *ics_body =
        json_body ? hg_shared_body_new(ics_text, ics_len) : NULL;

    if (ics_body == NULL) {
        /* Each hg_shared_body_new() that failed freed its text. */
        if (ics_text == NULL)
            free(json_text);
        else if (json_body == NULL)
            free(ics_text);
        hg_shared_body_release(json_body);
        json_decref(doc);
        return;
    }
    insp_status_free();
    cache.doc = doc;
    cache.json_body = json_body;
    cache.ics_body = ics_body;
    cache.built_mono_ms = hg_mono_ms();
}

static void refresh_done(refresh *f)
{
    json_t *doc = build_doc(f);

    json_decref(f->incidents);
    json_decref(f->windows);
    free(f);
    cache.running = NULL;
    cache_store(doc);
    for (int i = 0; i < cache.waiter_count; i++) {
        hg_req *r = cache.waiters[i];

        if (!hg_req_done(r)) {
            if (cache.doc != NULL)
                reply_cached(r, cache.waiter_ics[i]);
            else
                hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        }
        hg_req_release(r);
    }
    cache.waiter_count = 0;
}

static void part_done(refresh *f)
{
    if (--f->pending == 0)
        refresh_done(f);
}

static void on_ping(hg_redis_status status, redisReply *reply, void *arg)
{
    refresh *f = arg;

    f->ping_ok = status == HG_REDIS_OK && !hg_reply_is_error(reply);
    f->ping_ms = (double)(hg_mono_us() - f->ping_start_us) / 1000.0;
    part_done(f);
}

static void on_read(hg_redis_status status, redisReply *reply, void *arg)
{
    refresh *f = arg;
    const redisReply *workers = hg_reply_elem(reply, 0);
    const redisReply *incidents = hg_reply_elem(reply, 1);
    const redisReply *windows = hg_reply_elem(reply, 2);
    int64_t now = hg_time_ms();

    if (status == HG_REDIS_OK && workers != NULL &&
        workers->type == REDIS_REPLY_INTEGER && incidents != NULL &&
        windows != NULL) {
        f->read_ok = true;
        f->workers = workers->integer;
        for (size_t i = 0; i + 1 < incidents->elements; i += 2) {
            json_t *v = hg_status_incident_json(incidents->element[i],
                                                incidents->element[i + 1]);

            if (v != NULL)
                json_array_append_new(f->incidents, v);
        }
        for (size_t i = 0; i < windows->elements; i++) {
            json_t *v = hg_status_window_json(windows->element[i], now);

            if (v != NULL)
                json_array_append_new(f->windows, v);
        }
    } else {
        hg_log_fields lf = {.error = status == HG_REDIS_OK && reply
                                         ? reply->str
                                         : hg_redis_status_text(status)};

        hg_warn(&lf, "the status page cannot read incidents and workers");
    }
    part_done(f);
}

static void on_gateway_error(enum evhttp_request_error error, void *arg)
{
    refresh *f = arg;

    (void)error;
    f->gateway_error = true;
}

static void on_gateway(struct evhttp_request *up, void *arg)
{
    refresh *f = arg;
    int status = up ? evhttp_request_get_response_code(up) : 0;

    f->gateway_status = status;
    f->gateway_ms = (double)(hg_mono_us() - f->gateway_start_us) / 1000.0;
    /* A refused connection calls back without an error code, and
     * libevent 2.1.12 then does not free a connection marked
     * free-on-completion (see proxy.c): it is freed on the next turn. */
    if (status == 0 && !f->gateway_error)
        insp_gateway_conn_free_later(f->conn);
    f->conn = NULL;
    part_done(f);
}

/* Sends GET /readyz to the gateway. on_gateway runs once, with the
 * response, after an error, or when GATEWAY_TIMEOUT_MS passed. Returns
 * false when nothing was started. */
static bool probe_gateway(refresh *f)
{
    struct timeval tv = {GATEWAY_TIMEOUT_MS / 1000,
                         (GATEWAY_TIMEOUT_MS % 1000) * 1000};
    struct evhttp_request *up;
    char host[256], value[300];
    int port;

    insp_gateway_address(host, sizeof(host), &port);
    /* No DNS base: the address is numeric, or a blocking lookup would
     * stall the loop (the proxy's NOTE applies). */
    f->conn = evhttp_connection_base_new(insp->base, NULL, host,
                                         (unsigned short)port);
    up = f->conn ? evhttp_request_new(on_gateway, f) : NULL;
    if (up == NULL) {
        if (f->conn != NULL)
            evhttp_connection_free(f->conn);
        f->conn = NULL;
        return false;
    }
    evhttp_connection_set_timeout_tv(f->conn, &tv);
    evhttp_connection_set_max_body_size(f->conn, 64 * 1024);
    evhttp_request_set_error_cb(up, on_gateway_error);
    if (strchr(host, ':') != NULL)
        snprintf(value, sizeof(value), "[%s]:%d", host, port);
    else
        snprintf(value, sizeof(value), "%s:%d", host, port);
    evhttp_add_header(evhttp_request_get_output_headers(up), "Host", value);
    evhttp_add_header(evhttp_request_get_output_headers(up), "Connection",
                      "close");
    f->gateway_start_us = hg_mono_us();
    f->pending++;
    evhttp_connection_free_on_completion(f->conn);
    if (evhttp_make_request(f->conn, up, EVHTTP_REQ_GET, "/readyz") != 0) {
        /* Freed the request without a callback. */
        evhttp_connection_free(f->conn);
        f->conn = NULL;
        f->pending--;
        return false;
    }
    return true;
}

static void refresh_start(void)
{
    refresh *f = calloc(1, sizeof(*f));
    char now[24], stale[24], since[24], items[16], updates[16];
    int64_t ms = hg_time_ms();

    if (f == NULL || (f->incidents = json_array()) == NULL ||
        (f->windows = json_array()) == NULL) {
        if (f != NULL)
            json_decref(f->incidents);
        free(f);
        return;
    }
    cache.running = f;
    /* Held until every part was started, so none can finish the refresh
     * early. */
    f->pending = 1;
    probe_gateway(f);

    f->pending += 2;
    f->ping_start_us = hg_mono_us();
    hg_redis_command(insp->redis, REDIS_TIMEOUT_MS, on_ping, f, "PING");
    snprintf(now, sizeof(now), "%lld", (long long)ms);
    snprintf(stale, sizeof(stale), "%d", insp->cfg->status_worker_stale_ms);
    snprintf(since, sizeof(since), "%lld",
             (long long)(ms - RESOLVED_SHOWN_MS));
    snprintf(items, sizeof(items), "%d", ITEMS_SHOWN);
    snprintf(updates, sizeof(updates), "%d", UPDATES_SHOWN);

    const char *argv[] = {HG_STATUS_KEY_WORKERS, HG_STATUS_KEY_INCIDENTS,
                          HG_STATUS_KEY_WINDOWS, now, stale, since, items,
                          updates};

    hg_redis_eval(insp->redis, &hg_script_status_read, REDIS_TIMEOUT_MS,
                  on_read, f, 3, 8, argv, NULL);
    part_done(f);
}

/* Replies from the cache when it is fresh, else waits for a refresh. */
static void serve(hg_req *r, bool ics)
{
    if (cache.doc != NULL && cache.running == NULL &&
        hg_mono_ms() - cache.built_mono_ms < CACHE_MS) {
        reply_cached(r, ics);
        return;
    }
    if (cache.waiter_count >= WAITERS_MAX) {
        hg_reply_header(r, "Retry-After", "1");
        hg_reply_problem(r, HG_E_UNAVAILABLE,
                         "too many status requests at once; try again");
        return;
    }
    hg_req_async(r, GATEWAY_TIMEOUT_MS + REDIS_TIMEOUT_MS + 1000);
    cache.waiter_ics[cache.waiter_count] = ics;
    cache.waiters[cache.waiter_count++] = r;
    if (cache.running == NULL)
        refresh_start();
    if (cache.running == NULL) {
        /* Out of memory, so this request gets its error now. */
        cache.waiter_count--;
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        hg_req_release(r);
    }
}

void insp_status_json(hg_req *r)
{
    serve(r, false);
}

void insp_status_ics(hg_req *r)
{
    serve(r, true);
}

/* NOTE: read with blocking calls like the other files of web/ (static.c):
 * one small file that stays in the page cache. */
void insp_status_page(hg_req *r)
{
    char path[PATH_MAX + 32];
    struct stat st;
    char *data = NULL;
    int fd;

    snprintf(path, sizeof(path), "%s/status.html", insp->cfg->web_dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size <= PAGE_MAX_BYTES)
        data = malloc((size_t)st.st_size + 1);
    if (data == NULL ||
        read(fd, data, (size_t)st.st_size) != (ssize_t)st.st_size) {
        if (fd >= 0)
            close(fd);
        free(data);
        hg_reply_problem(r, HG_E_NOT_FOUND, "the status page is not "
                                            "installed");
        return;
    }
    close(fd);
    hg_reply_header(r, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; "
                    "frame-ancestors 'none'; base-uri 'none'");
    hg_reply_header(r, "X-Content-Type-Options", "nosniff");
    hg_reply_header(r, "Referrer-Policy", "no-referrer");
    hg_reply_header(r, "X-Frame-Options", "DENY");
    hg_reply_header(r, "Cache-Control", "no-cache");
    hg_reply(r, 200, "text/html; charset=utf-8", data, (size_t)st.st_size);
    free(data);
}

void insp_status_free(void)
{
    json_decref(cache.doc);
    cache.doc = NULL;
    /* Responses still being written keep their own references. */
    hg_shared_body_release(cache.json_body);
    cache.json_body = NULL;
    hg_shared_body_release(cache.ics_body);
    cache.ics_body = NULL;
}
