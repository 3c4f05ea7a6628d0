/* SPDX-License-Identifier: MIT
 *
 * Structured logging: one JSON object per line on stdout, with the fixed keys
 * time, level, message and service, plus the ids of whatever the line is
 * about. Lines below the configured level cost one comparison. Callers must
 * never pass a secret, an API key or a signature in any field.
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
    const char *correlation_id;
    const char *trace_id;
    const char *error;
    int http_status;
    long long duration_ms;
} hg_log_fields;

/* Sets the service name and the minimum level. Call once before threads. */
void hg_log_init(const char *service, hg_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int hg_log_level_parse(const char *s, hg_log_level *out);
bool hg_log_enabled(hg_log_level level);
/* Writes one line. Thread-safe: the line goes out in a single write(2). */
void hg_log_write(hg_log_level level, const hg_log_fields *fields,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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
