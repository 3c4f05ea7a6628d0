/* SPDX-License-Identifier: MIT
 *
 * Structured logging: one JSON object per line on stdout, with the fixed keys
 * time, level, message and service, plus the ids of whatever the line is
 * about. Lines below the configured level cost one comparison. Repeats of
 * one warning or error within the repeat window are counted instead of
 * written. Callers must never pass a secret, an API key or a signature in
 * any field.
 */
#ifndef HG_LOG_H
#define HG_LOG_H

#include <stdbool.h>

typedef enum hg_log_level {
    HG_LOG_DEBUG,
    HG_LOG_INFO,
    HG_LOG_WARN,
    HG_LOG_ERROR
} hg_log_level;

/* Ids and facts attached to a line; NULL strings and zero numbers are left
 * out of the output. */
typedef struct hg_log_fields {
    const char *integration_id;
    const char *event_id;
    const char *delivery_id;
    const char *endpoint_id;
    /* The X-Request-Id of the request the line is about. When trace_id is
     * NULL and this is the request_id of a request in progress on the
     * calling thread, the line gets that request's trace_id and span_id. */
    const char *correlation_id;
    const char *trace_id;
    const char *span_id;
    const char *error;
    /* Delivery error class ("timeout", "connect", "http_status", ...). */
    const char *error_class;
    /* RFC 3339 time of the next delivery attempt. */
    const char *next_attempt_at;
    /* Request lines: the route pattern (not the raw path), the method and
     * the response status; duration_ms is written whenever status is. */
    const char *route;
    const char *method;
    int status;
    long long duration_ms;
} hg_log_fields;

/* Finds the trace of the request whose request_id is correlation_id (the
 * same pointer) on the calling thread; returns false when there is none. */
typedef bool (*hg_log_trace_lookup)(const char *correlation_id,
                                    const char **trace_id,
                                    const char **span_id);

/* Sets the service name and the minimum level. Call once before threads. */
void hg_log_init(const char *service, hg_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int hg_log_level_parse(const char *s, hg_log_level *out);
/* Sets the repeat window in milliseconds (default 10000; 0 writes every
 * repeat). Call before threads. */
void hg_log_set_repeat_window(long long ms);
/* Installs the lookup that fills trace_id and span_id from correlation_id;
 * NULL removes it. Call before threads. */
void hg_log_set_trace_lookup(hg_log_trace_lookup lookup);
/* Writes the "repeated" line of every repeat window that has ended. Every
 * line written does this too, and once a line has been counted a
 * background thread calls it every second. */
void hg_log_flush_repeats(void);
bool hg_log_enabled(hg_log_level level);
/* Writes one line. Thread-safe: the line goes out in a single write(2).
 * A warning or error whose level, message and error equal those of one
 * written less than the repeat window ago is only counted; when the window
 * has ended, one copy of the line with "repeated": <count> follows. */
void hg_log_write(hg_log_level level, const hg_log_fields *fields,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Opens path for appending (created with mode 0640) and sends the lines
 * there from now on; called again, it reopens the file, as after logrotate
 * renamed it. An empty path keeps stdout. The first call must come before
 * threads start. Returns 0, or -1 with errno set, in which case lines keep
 * going where they went before. */
int hg_log_reopen(const char *path);

#define hg_log(level, fields, ...)                                            \
    do {                                                                      \
        if (hg_log_enabled(level))                                            \
            hg_log_write(level, fields, __VA_ARGS__);                         \
    } while (0)

#define hg_debug(fields, ...) hg_log(HG_LOG_DEBUG, fields, __VA_ARGS__)
#define hg_info(fields, ...) hg_log(HG_LOG_INFO, fields, __VA_ARGS__)
#define hg_warn(fields, ...) hg_log(HG_LOG_WARN, fields, __VA_ARGS__)
#define hg_error(fields, ...) hg_log(HG_LOG_ERROR, fields, __VA_ARGS__)

#endif
