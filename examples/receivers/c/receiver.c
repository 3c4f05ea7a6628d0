/* SPDX-License-Identifier: MIT
 *
 * hookgate-receiver-example: a webhook receiver that verifies hookgate
 * deliveries with hg_receiver.c. It listens on 127.0.0.1 with libevent's
 * evhttp, responds with 204 to a verified POST and with 400 and the reason
 * as plain text otherwise, and prints one line per request to stdout:
 *
 *     <webhook-id> verified
 *     <webhook-id> verified, duplicate ignored
 *     <webhook-id> rejected: <reason>
 *
 * With --verify it checks one message given on the command line and stdin
 * instead, which is how the Standard Webhooks test vector is run.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hg_receiver.h"

#define PROGRAM "hookgate-receiver-example"
#define SECRET_ENV "WEBHOOK_SECRET"

/* hookgate publishes at most HOOKGATE_MAX_PAYLOAD_BYTES, which is 1 MiB by
 * default and 64 MiB at most, so larger requests are not deliveries. */
#define MAX_BODY_BYTES (64L << 20)

/* The example remembers this many webhook-ids in memory. A real receiver
 * stores them with the work they caused, for longer than hookgate retries
 * (about 3.1 days with the default schedule), and also receives
 * redeliveries that a user triggers later. */
#define SEEN_IDS_MAX 4096
#define ID_MAX 128

/* Maximum length of a printed webhook-id. Longer ones are cut, since they
 * are not hookgate event ids. */
#define PRINTED_ID_MAX 100

typedef struct options {
    long port;
    long long tolerance_s;
    bool verify_only;
    const char *msg_id;
    const char *timestamp;
    const char *signature;
    long long now;
    bool now_set;
} options;

typedef struct receiver {
    const char *secret;
    long long tolerance_s;
    char seen[SEEN_IDS_MAX][ID_MAX];
    size_t seen_next;
} receiver;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " --port N [--tolerance S]\n"
            "       " PROGRAM " --verify --id ID --timestamp T "
            "--signature SIG [--now S] [--tolerance S] < body\n"
            "\n"
            "Verifies hookgate deliveries (Standard Webhooks signatures) with\n"
            "the endpoint secret read from the environment variable "
            SECRET_ENV " (whsec_...).\n"
            "\n"
            "  --port N        listen on 127.0.0.1:N; answers 204 to a "
            "verified POST, else 400\n"
            "  --tolerance S   largest accepted clock difference in seconds "
            "(default %d)\n"
            "  --verify        check one message and exit: 0 verified, 1 "
            "rejected, 2 usage error\n"
            "  --id, --timestamp, --signature\n"
            "                  the webhook-id, webhook-timestamp and "
            "webhook-signature values\n"
            "  --now S         the clock in Unix seconds for --verify "
            "(default: the system clock)\n",
            HG_RECEIVER_TOLERANCE_S);
}

/* Parses a decimal integer in [min, max]; returns -1 for anything else. */
static int parse_number(const char *text, long long min, long long max,
                        long long *out)
{
    char *end;
    long long value;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min ||
        value > max)
        return -1;
    *out = value;
    return 0;
}

/* Fills o from argv. Returns 0, 1 after --help, or 2 for a usage error. */
static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    o->port = -1;
    o->tolerance_s = HG_RECEIVER_TOLERANCE_S;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        long long number;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(arg, "--verify") == 0) {
            o->verify_only = true;
            continue;
        }
        if (value == NULL) {
            fprintf(stderr, PROGRAM ": %s needs a value (see --help)\n", arg);
            return 2;
        }
        i++;
        if (strcmp(arg, "--port") == 0) {
            if (parse_number(value, 1, 65535, &number) != 0) {
                fprintf(stderr,
                        PROGRAM ": invalid --port \"%s\": expected 1 to "
                                "65535\n",
                        value);
                return 2;
            }
            o->port = (long)number;
        } else if (strcmp(arg, "--tolerance") == 0) {
            if (parse_number(value, 0, 86400, &number) != 0) {
                fprintf(stderr,
                        PROGRAM ": invalid --tolerance \"%s\": expected 0 to "
                                "86400 seconds\n",
                        value);
                return 2;
            }
            o->tolerance_s = number;
        } else if (strcmp(arg, "--now") == 0) {
            if (parse_number(value, 0, LLONG_MAX / 2, &o->now) != 0) {
                fprintf(stderr,
                        PROGRAM ": invalid --now \"%s\": expected Unix "
                                "seconds\n",
                        value);
                return 2;
            }
            o->now_set = true;
        } else if (strcmp(arg, "--id") == 0) {
            o->msg_id = value;
        } else if (strcmp(arg, "--timestamp") == 0) {
            o->timestamp = value;
        } else if (strcmp(arg, "--signature") == 0) {
            o->signature = value;
        } else {
            fprintf(stderr, PROGRAM ": unknown option %s (see --help)\n",
                    arg);
            return 2;
        }
    }

    if (!o->verify_only && o->port < 0) {
        fprintf(stderr, PROGRAM ": --port is required (see --help)\n");
        return 2;
    }
    return 0;
}

/* Copies a webhook-id for printing: at most PRINTED_ID_MAX characters, with
 * anything outside printable ASCII replaced, so a hostile header cannot
 * forge extra output lines. */
static void printable_id(const char *id, char *out, size_t cap)
{
    size_t n = 0;

    if (id == NULL || id[0] == '\0') {
        snprintf(out, cap, "-");
        return;
    }
    while (id[n] != '\0' && n < PRINTED_ID_MAX && n + 1 < cap) {
        unsigned char c = (unsigned char)id[n];

        out[n] = c > 0x20 && c < 0x7f ? (char)c : '?';
        n++;
    }
    out[n] = '\0';
}

/* Remembers id and returns whether it was seen before. Only verified ids
 * are remembered, so a forged request cannot mark a real event as done. */
static bool seen_before(receiver *rx, const char *id)
{
    if (strlen(id) >= ID_MAX)
        return false;
    for (size_t i = 0; i < SEEN_IDS_MAX; i++) {
        if (strcmp(rx->seen[i], id) == 0)
            return true;
    }
    snprintf(rx->seen[rx->seen_next], ID_MAX, "%s", id);
    rx->seen_next = (rx->seen_next + 1) % SEEN_IDS_MAX;
    return false;
}

static void reply_text(struct evhttp_request *req, int status,
                       const char *reason_phrase, const char *text)
{
    struct evbuffer *body = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (body != NULL)
        evbuffer_add_printf(body, "%s\n", text);
    evhttp_send_reply(req, status, reason_phrase, body);
    if (body != NULL)
        evbuffer_free(body);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    receiver *rx = arg;
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    struct evbuffer *input = evhttp_request_get_input_buffer(req);
    const char *msg_id = evhttp_find_header(headers, "webhook-id");
    const char *why = NULL;
    size_t len;
    const unsigned char *body;
    char shown[PRINTED_ID_MAX + 1];
    int rc;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "POST");
        reply_text(req, 405, "Method Not Allowed",
                   "webhooks are delivered with POST");
        return;
    }

    /* The signature covers the body bytes exactly as sent, so they are
     * verified as received and never parsed and re-serialised first. */
    len = evbuffer_get_length(input);
    body = len > 0 ? evbuffer_pullup(input, -1) : (const unsigned char *)"";
    rc = hg_receiver_verify(rx->secret, msg_id,
                            evhttp_find_header(headers, "webhook-timestamp"),
                            evhttp_find_header(headers, "webhook-signature"),
                            body, len, (long long)time(NULL), rx->tolerance_s,
                            &why);
    printable_id(msg_id, shown, sizeof(shown));
    if (rc != HG_RECEIVER_OK) {
        printf("%s rejected: %s\n", shown, why);
        reply_text(req, 400, "Bad Request", why);
        return;
    }

    /* Respond first and work later: hookgate counts a slow response as a
     * timeout and sends the event again. This example has no work to do
     * beyond the output line. */
    if (seen_before(rx, msg_id))
        printf("%s verified, duplicate ignored\n", shown);
    else
        printf("%s verified\n", shown);
    evhttp_send_reply(req, 204, "No Content", NULL);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    (void)sig;
    (void)events;
    event_base_loopbreak(arg);
}

static int serve(const options *o, const char *secret)
{
    static receiver rx; /* the id memory is too large for the stack */
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct event *sigint, *sigterm;

    if (http == NULL) {
        fprintf(stderr, PROGRAM ": cannot create the HTTP server\n");
        return 1;
    }
    rx.secret = secret;
    rx.tolerance_s = o->tolerance_s;
    evhttp_set_max_body_size(http, MAX_BODY_BYTES);
    evhttp_set_gencb(http, on_request, &rx);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)o->port) != 0) {
        fprintf(stderr, PROGRAM ": cannot listen on 127.0.0.1:%ld: %s\n",
                o->port, strerror(errno));
        evhttp_free(http);
        event_base_free(base);
        return 1;
    }

    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    fprintf(stderr, PROGRAM ": listening on http://127.0.0.1:%ld\n", o->port);

    event_base_dispatch(base);

    fprintf(stderr, PROGRAM ": stopped\n");
    event_free(sigint);
    event_free(sigterm);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}

/* Reads all of stdin into a malloc'd buffer; returns NULL on failure. */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, stdin);

        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *grown = cap < (size_t)MAX_BODY_BYTES ? realloc(buf, cap * 2)
                                                       : NULL;

            if (grown == NULL) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (buf == NULL || ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int verify_once(const options *o, const char *secret)
{
    const char *why = NULL;
    size_t len = 0;
    char *body = read_stdin(&len);
    long long now = o->now_set ? o->now : (long long)time(NULL);
    int rc;

    if (body == NULL) {
        fprintf(stderr, PROGRAM ": reading the body from stdin failed\n");
        return 2;
    }
    rc = hg_receiver_verify(secret, o->msg_id, o->timestamp, o->signature,
                            body, len, now, o->tolerance_s, &why);
    free(body);
    if (rc != HG_RECEIVER_OK) {
        printf("rejected: %s\n", why);
        return 1;
    }
    printf("verified\n");
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    const char *secret = getenv(SECRET_ENV);
    const char *why = NULL;
    int rc = parse_options(argc, argv, &o);

    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (secret == NULL || hg_receiver_check_secret(secret, &why) != 0) {
        fprintf(stderr, PROGRAM ": invalid " SECRET_ENV ": %s\n",
                secret == NULL ? "it is not set" : why);
        return 2;
    }

    /* Output lines go to pipes and log files, so each is flushed at once. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o.verify_only)
        return verify_once(&o, secret);
    return serve(&o, secret);
}
