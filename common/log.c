/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

#define LINE_MAX_BYTES 8192

static const char *service_name = "hookgate";
static hg_log_level min_level = HG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void hg_log_init(const char *service, hg_log_level level)
{
    service_name = service;
    min_level = level;
}

int hg_log_level_parse(const char *s, hg_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (hg_log_level)i;
            return 0;
        }
    }
    return -1;
}

bool hg_log_enabled(hg_log_level level)
{
    return level >= min_level;
}

/* Appends s as a JSON string body (without quotes); stops at the buffer end. */
static size_t append_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
    }
    return pos;
}

static size_t append_raw(char *buf, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (pos + n >= cap)
        n = cap - pos - 1;
    memcpy(buf + pos, s, n);
    return pos + n;
}

static size_t append_field(char *buf, size_t pos, size_t cap, const char *key,
                           const char *value)
{
    if (value == NULL || value[0] == '\0')
        return pos;
    pos = append_raw(buf, pos, cap, ",\"");
    pos = append_raw(buf, pos, cap, key);
    pos = append_raw(buf, pos, cap, "\":\"");
    pos = append_escaped(buf, pos, cap, value);
    return append_raw(buf, pos, cap, "\"");
}

void hg_log_write(hg_log_level level, const hg_log_fields *f, const char *fmt,
                  ...)
{
    char line[LINE_MAX_BYTES];
    char message[2048];
    char now[HG_TIME_BUF];
    char number[32];
    size_t pos = 0;
    size_t cap = sizeof(line) - 2;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    pos = append_raw(line, pos, cap, "{\"time\":\"");
    pos = append_raw(line, pos, cap, hg_time_format(hg_time_ms(), now));
    pos = append_raw(line, pos, cap, "\",\"level\":\"");
    pos = append_raw(line, pos, cap, level_names[level]);
    pos = append_raw(line, pos, cap, "\",\"service\":\"");
    pos = append_raw(line, pos, cap, service_name);
    pos = append_raw(line, pos, cap, "\",\"message\":\"");
    pos = append_escaped(line, pos, cap, message);
    pos = append_raw(line, pos, cap, "\"");

    if (f != NULL) {
        pos = append_field(line, pos, cap, "integration_id", f->integration_id);
        pos = append_field(line, pos, cap, "event_id", f->event_id);
        pos = append_field(line, pos, cap, "delivery_id", f->delivery_id);
        pos = append_field(line, pos, cap, "endpoint_id", f->endpoint_id);
        pos = append_field(line, pos, cap, "correlation_id", f->correlation_id);
        pos = append_field(line, pos, cap, "trace_id", f->trace_id);
        pos = append_field(line, pos, cap, "error", f->error);
        if (f->http_status != 0) {
            snprintf(number, sizeof(number), ",\"http_status\":%d",
                     f->http_status);
            pos = append_raw(line, pos, cap, number);
        }
        if (f->duration_ms != 0) {
            snprintf(number, sizeof(number), ",\"duration_ms\":%lld",
                     f->duration_ms);
            pos = append_raw(line, pos, cap, number);
        }
    }

    line[pos++] = '}';
    line[pos++] = '\n';
    /* A short write to stdout is not retried: logging must never block the
     * event loop for long, and a lost line is better than a stalled loop. */
    if (write(STDOUT_FILENO, line, pos) < 0)
        return;
}
