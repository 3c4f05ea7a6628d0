/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define LINE_MAX_BYTES 8192

static const char *service_name = "hookgate";
static hg_log_level min_level = HG_LOG_INFO;

/* Output descriptor: stdout, or HOOKGATE_LOG_FILE, whose descriptor number
 * stays fixed while hg_log_reopen() swaps the file behind it. */
static int log_fd = STDOUT_FILENO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static hg_log_trace_lookup trace_lookup;

/* Repeat counting: one slot per warning or error line seen within the
 * window. Lines are identical when level, message and error match (the
 * first REPEAT_TEXT_MAX - 1 and REPEAT_ERROR_MAX - 1 bytes). */
#define REPEAT_SLOTS 64
#define REPEAT_TEXT_MAX 512
#define REPEAT_ERROR_MAX 256

typedef struct repeat_slot {
    bool used;
    hg_log_level level;
    int64_t window_end_ms; /* CLOCK_MONOTONIC */
    long long dropped;
    char message[REPEAT_TEXT_MAX];
    char error[REPEAT_ERROR_MAX];
} repeat_slot;

static pthread_mutex_t repeat_lock = PTHREAD_MUTEX_INITIALIZER;
static repeat_slot repeat_slots[REPEAT_SLOTS];
static long long repeat_window_ms = 10000;

void hg_log_init(const char *service, hg_log_level level)
{
    service_name = service;
    min_level = level;
}

void hg_log_set_repeat_window(long long ms)
{
    repeat_window_ms = ms > 0 ? ms : 0;
}

void hg_log_set_trace_lookup(hg_log_trace_lookup lookup)
{
    trace_lookup = lookup;
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

/* Appends the fixed keys, then the fields of f (may be NULL). */
static size_t compose(char *line, size_t cap, hg_log_level level,
                      const hg_log_fields *f, const char *message)
{
    char now[HG_TIME_BUF];
    char number[48];
    size_t pos = 0;
    const char *trace_id = f != NULL ? f->trace_id : NULL;
    const char *span_id = f != NULL ? f->span_id : NULL;

    pos = append_raw(line, pos, cap, "{\"time\":\"");
    pos = append_raw(line, pos, cap, hg_time_format(hg_time_ms(), now));
    pos = append_raw(line, pos, cap, "\",\"level\":\"");
    pos = append_raw(line, pos, cap, level_names[level]);
    pos = append_raw(line, pos, cap, "\",\"service\":\"");
    pos = append_raw(line, pos, cap, service_name);
    pos = append_raw(line, pos, cap, "\",\"message\":\"");
    pos = append_escaped(line, pos, cap, message);
    pos = append_raw(line, pos, cap, "\"");
    if (f == NULL)
        return pos;

    if (trace_id == NULL && f->correlation_id != NULL && trace_lookup != NULL)
        trace_lookup(f->correlation_id, &trace_id, &span_id);
    pos = append_field(line, pos, cap, "integration_id", f->integration_id);
    pos = append_field(line, pos, cap, "event_id", f->event_id);
    pos = append_field(line, pos, cap, "delivery_id", f->delivery_id);
    pos = append_field(line, pos, cap, "endpoint_id", f->endpoint_id);
    pos = append_field(line, pos, cap, "correlation_id", f->correlation_id);
    pos = append_field(line, pos, cap, "trace_id", trace_id);
    pos = append_field(line, pos, cap, "span_id", span_id);
    pos = append_field(line, pos, cap, "method", f->method);
    pos = append_field(line, pos, cap, "route", f->route);
    if (f->status != 0) {
        snprintf(number, sizeof(number), ",\"status\":%d", f->status);
        pos = append_raw(line, pos, cap, number);
    }
    if (f->status != 0 || f->duration_ms != 0) {
        snprintf(number, sizeof(number), ",\"duration_ms\":%lld",
                 f->duration_ms);
        pos = append_raw(line, pos, cap, number);
    }
    pos = append_field(line, pos, cap, "error", f->error);
    pos = append_field(line, pos, cap, "error_class", f->error_class);
    return append_field(line, pos, cap, "next_attempt_at", f->next_attempt_at);
}

/* Sends one composed line; pos leaves room for the closing "}\n". */
static void emit(char *line, size_t pos)
{
    line[pos++] = '}';
    line[pos++] = '\n';
    /* A short write is not retried: logging must never block the event
     * loop for long, and a lost line is better than a stalled loop. */
    if (write(log_fd, line, pos) < 0)
        return;
}

/* ---- repeat counting -------------------------------------------------- */

/* Writes the "repeated" line of a window that ended with lines dropped. */
static void emit_repeated(const repeat_slot *slot)
{
    char line[LINE_MAX_BYTES];
    char number[48];
    hg_log_fields f = {.error = slot->error[0] ? slot->error : NULL};
    size_t cap = sizeof(line) - 2;
    size_t pos = compose(line, cap, slot->level, &f, slot->message);

    snprintf(number, sizeof(number), ",\"repeated\":%lld", slot->dropped);
    emit(line, append_raw(line, pos, cap, number));
}

/* Ends the windows that are over; the caller holds repeat_lock. */
static void sweep_locked(int64_t now_ms)
{
    for (int i = 0; i < REPEAT_SLOTS; i++) {
        repeat_slot *slot = &repeat_slots[i];

        if (!slot->used || slot->window_end_ms > now_ms)
            continue;
        if (slot->dropped > 0)
            emit_repeated(slot);
        slot->used = false;
    }
}

static void *run_flusher(void *arg)
{
    struct timespec second = {1, 0};

    (void)arg;
    for (;;) {
        nanosleep(&second, NULL);
        hg_log_flush_repeats();
    }
    return NULL;
}

/* Starts the thread that ends quiet windows, so that a count is written
 * even when no other line follows. */
static void start_flusher(void)
{
    pthread_t thread;

    if (pthread_create(&thread, NULL, run_flusher, NULL) == 0)
        pthread_detach(thread);
}

void hg_log_flush_repeats(void)
{
    pthread_mutex_lock(&repeat_lock);
    sweep_locked(hg_mono_ms());
    pthread_mutex_unlock(&repeat_lock);
}

/* Copies s into out, cut to cap - 1 bytes. */
static void copy_cut(char *out, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap - 1);

    memcpy(out, s, n);
    out[n] = '\0';
}

/* Returns true when this warning or error repeats one written within the
 * window, after counting it. Otherwise the line starts a window, unless
 * every slot is taken by a live window; such a line is written uncounted. */
static bool repeat_counted(hg_log_level level, const char *message,
                           const char *error)
{
    static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;
    int64_t now = hg_mono_ms();
    repeat_slot *free_slot = NULL;
    bool counted = false;

    if (error == NULL)
        error = "";
    pthread_mutex_lock(&repeat_lock);
    sweep_locked(now);
    for (int i = 0; i < REPEAT_SLOTS && !counted; i++) {
        repeat_slot *slot = &repeat_slots[i];

        if (!slot->used) {
            if (free_slot == NULL)
                free_slot = slot;
        } else if (slot->level == level &&
                   strncmp(slot->message, message, REPEAT_TEXT_MAX - 1) == 0 &&
                   strncmp(slot->error, error, REPEAT_ERROR_MAX - 1) == 0) {
            slot->dropped++;
            counted = true;
        }
    }
    if (!counted && free_slot != NULL) {
        free_slot->used = true;
        free_slot->level = level;
        free_slot->window_end_ms = now + repeat_window_ms;
        free_slot->dropped = 0;
        copy_cut(free_slot->message, sizeof(free_slot->message), message);
        copy_cut(free_slot->error, sizeof(free_slot->error), error);
    }
    pthread_mutex_unlock(&repeat_lock);
    if (counted)
        pthread_once(&flusher_once, start_flusher);
    return counted;
}

void hg_log_write(hg_log_level level, const hg_log_fields *f, const char *fmt,
                  ...)
{
    char line[LINE_MAX_BYTES];
    char message[2048];
    size_t cap = sizeof(line) - 2;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    if (level >= HG_LOG_WARN && repeat_window_ms > 0 &&
        repeat_counted(level, message, f != NULL ? f->error : NULL))
        return;
    emit(line, compose(line, cap, level, f, message));
}

/* ---- log file (HOOKGATE_LOG_FILE) ------------------------------------- */

int hg_log_reopen(const char *path)
{
    int fd;

    if (path == NULL || path[0] == '\0')
        return 0;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (log_fd == STDOUT_FILENO) {
        log_fd = fd;
        return 0;
    }
    /* dup2 replaces the file atomically, so a line written by another
     * thread at the same moment goes to the old file or the new one. */
    if (dup2(fd, log_fd) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    close(fd);
    return 0;
}
