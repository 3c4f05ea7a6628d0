/* SPDX-License-Identifier: MIT
 *
 * Asynchronous Redis client on a libevent loop, built on hiredis 0.14. It
 * owns one connection and adds what hiredis lacks: a deadline on every
 * command, a callback that runs exactly once per command on every path
 * (reply, error reply, deadline, disconnect, not connected, overload), a
 * bound on commands in flight, and reconnection with backoff. Scripts are
 * loaded on every (re)connect before any other command is sent.
 *
 * One hg_redis belongs to one thread and one event base. Callbacks never run
 * inside the call that issued the command; they run later on the loop.
 */
#ifndef HG_REDIS_H
#define HG_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>

#include "common/redis_url.h"

struct event_base;
typedef struct hg_redis hg_redis;

typedef enum hg_redis_status {
    HG_REDIS_OK = 0,      /* reply is set; it may be an error reply */
    HG_REDIS_TIMEOUT,     /* no reply before the deadline; the connection
                             was dropped, as a stuck connection cannot be
                             trusted for later commands either */
    HG_REDIS_DISCONNECTED,/* the connection closed before the reply came */
    HG_REDIS_UNAVAILABLE, /* not connected when the command was issued */
    HG_REDIS_OVERLOADED,  /* too many commands in flight on this client */
    HG_REDIS_NOSCRIPT,    /* the script was missing (SCRIPT FLUSH); it is
                             being reloaded and the command may be retried */
    HG_REDIS_INVALID      /* not sent: the format string is invalid, or the
                             command is SUBSCRIBE, MONITOR or a relative,
                             which this client does not support */
} hg_redis_status;

/* Runs once per command. reply is NULL unless status is HG_REDIS_OK, and it
 * is freed by hiredis when the callback returns: copy what you keep. */
typedef void (*hg_redis_cb)(hg_redis_status status, redisReply *reply,
                            void *arg);

typedef struct hg_script {
    const char *name;
    const char *source;
    char sha1[41];
} hg_script;

typedef struct hg_redis_options {
    const char *name;          /* shown in log lines */
    int command_timeout_ms;    /* default deadline of a command */
    int connect_timeout_ms;    /* deadline of connect plus handshake */
    int max_inflight;          /* past this, commands fail OVERLOADED */
    hg_script *const *scripts; /* NULL-terminated; loaded on connect */
    /* Called on the loop each time the connection becomes ready. */
    void (*on_ready)(hg_redis *r, void *arg);
    void *on_ready_arg;
} hg_redis_options;

/* Creates the client and starts connecting. url is copied. Returns NULL only
 * when memory runs out. */
hg_redis *hg_redis_new(struct event_base *base, const hg_redis_url *url,
                       const hg_redis_options *opts);
/* Completes every pending command with HG_REDIS_DISCONNECTED (their
 * callbacks run inside this call), closes the connection and frees r.
 * Accepts NULL. Must not be called from inside one of r's callbacks. */
void hg_redis_free(hg_redis *r);
/* True when connected, authenticated and the scripts are loaded. */
bool hg_redis_ready(const hg_redis *r);
/* Copies the reason the last connection attempt failed into out, "" when
 * the client is connected or has not failed yet. Any thread may call it. */
void hg_redis_last_error(hg_redis *r, char *out, size_t cap);
/* Commands issued and not yet completed. */
int hg_redis_inflight(const hg_redis *r);
const char *hg_redis_status_text(hg_redis_status s);
/* Returns the reason Redis rejected a command for a passing cause (out of
 * memory, loading its data, busy with a script, a replica or a primary
 * without replicas), or NULL when the error reply err is of another kind.
 * These come before a command writes, or at a script's first write, so a
 * retry is safe.
 * NOTE: for MISCONF or READONLY arising between two writes of one script
 * that order is assumed, not verified. */
const char *hg_redis_error_transient(const char *err);

/* Sends a command. timeout_ms <= 0 means the client's default; cb may be
 * NULL when the outcome does not matter. */
void hg_redis_command_argv(hg_redis *r, int timeout_ms, hg_redis_cb cb,
                           void *arg, int argc, const char **argv,
                           const size_t *argvlen);
/* printf-like form of hiredis: %s strings, %b binary (pointer and length). */
void hg_redis_command(hg_redis *r, int timeout_ms, hg_redis_cb cb, void *arg,
                      const char *fmt, ...);
/* Runs a loaded script with EVALSHA. argv holds numkeys keys followed by the
 * arguments; argvlen may be NULL for NUL-terminated strings. */
void hg_redis_eval(hg_redis *r, const hg_script *script, int timeout_ms,
                   hg_redis_cb cb, void *arg, int numkeys, int argc,
                   const char **argv, const size_t *argvlen);

/* Fills in sha1 of each script; call once at start. */
void hg_script_prepare(hg_script *script);

/* Reply helpers: return NULL / -1 when the element is missing or of another
 * type. */
const redisReply *hg_reply_elem(const redisReply *r, size_t i);
const char *hg_reply_str(const redisReply *r, size_t i, size_t *len);
bool hg_reply_is_error(const redisReply *r);

#endif
