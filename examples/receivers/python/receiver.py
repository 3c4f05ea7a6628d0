#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Webhook receiver that verifies hookgate deliveries (Standard Webhooks).

Uses the Python standard library only. It listens on 127.0.0.1, responds
with 204 to a verified POST and with 400 and the reason as plain text
otherwise, and prints one line per request to stdout:

    <webhook-id> verified
    <webhook-id> verified, duplicate ignored
    <webhook-id> rejected: <reason>

With --verify it checks one message given on the command line and stdin
instead, which is how the Standard Webhooks test vector is run.

    WEBHOOK_SECRET=whsec_... python3 receiver.py --port 9000
"""

import argparse
import base64
import binascii
import collections
import hashlib
import hmac
import http.server
import os
import re
import signal
import sys
import threading
import time

SECRET_ENV = "WEBHOOK_SECRET"
SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300

# hookgate publishes at most HOOKGATE_MAX_PAYLOAD_BYTES, which is 1 MiB by
# default and 64 MiB at most, so larger requests are not deliveries.
MAX_BODY_BYTES = 64 << 20

# The example remembers this many webhook-ids in memory. A real receiver
# stores them with the work they caused, for longer than hookgate retries
# (about 3.1 days with the default schedule), and also receives
# redeliveries that a user triggers later.
SEEN_IDS_MAX = 4096

# Maximum length of a printed webhook-id. Longer ones are cut.
PRINTED_ID_MAX = 100

# Canonical Unix seconds: digits without a sign or a leading zero.
TIMESTAMP_RE = re.compile(r"(0|[1-9][0-9]{0,16})")


class VerificationError(Exception):
    """A delivery that failed verification; the message is the reason."""


def parse_secret(secret):
    """Return the HMAC key: the bytes that the base64 after "whsec_" encodes.

    The whole "whsec_..." string is never the key.
    """
    if not secret:
        raise VerificationError("the secret is empty: expected whsec_ followed by base64")
    if not secret.startswith(SECRET_PREFIX):
        raise VerificationError('the secret must start with "whsec_"')
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError('the part after "whsec_" is not valid padded base64') from None
    if not 24 <= len(key) <= 64:
        raise VerificationError("the secret must encode 24 to 64 bytes")
    return key


def verify(secret, msg_id, timestamp, signature_header, body, now, tolerance_s=TOLERANCE_S):
    """Verify one delivery, or raise VerificationError with the reason.

    msg_id, timestamp and signature_header are the webhook-id,
    webhook-timestamp and webhook-signature header values, None when
    missing. body is the request body as bytes, exactly as received.
    """
    if not msg_id:
        raise VerificationError("missing webhook-id header")
    if not timestamp:
        raise VerificationError("missing webhook-timestamp header")
    if not signature_header:
        raise VerificationError("missing webhook-signature header")

    # The timestamp is checked before any HMAC is computed, so a replayed
    # old message is rejected early.
    if not TIMESTAMP_RE.fullmatch(timestamp):
        raise VerificationError("invalid webhook-timestamp: expected Unix time in seconds")
    sent_at = int(timestamp)
    if sent_at < now - tolerance_s:
        raise VerificationError(
            "webhook-timestamp is too old: more than the tolerance before this receiver's clock")
    if sent_at > now + tolerance_s:
        raise VerificationError(
            "webhook-timestamp is too new: more than the tolerance after this receiver's clock")

    key = parse_secret(secret)
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()

    # The header is a space-separated list of "<version>,<signature>"
    # entries: two during a secret rotation, and possibly versions this
    # code does not know, which are skipped. Every entry is compared.
    seen_v1 = False
    matched = False
    for entry in signature_header.split(" "):
        if entry.startswith("v1,") and len(entry) > 3:
            seen_v1 = True
            if hmac.compare_digest(entry.encode(), expected.encode()):
                matched = True
    if not seen_v1:
        raise VerificationError("webhook-signature contains no v1 signature")
    if not matched:
        raise VerificationError(
            "no signature in webhook-signature matches: check the secret and that "
            "the body is verified exactly as received")


def printable_id(msg_id):
    """Return msg_id cut and with non-printable characters replaced, for output."""
    if not msg_id:
        return "-"
    return "".join(c if "\x20" < c < "\x7f" else "?" for c in msg_id[:PRINTED_ID_MAX])


class SeenIds:
    """The webhook-ids of the latest verified deliveries, oldest dropped first."""

    def __init__(self, limit):
        self.limit = limit
        self.ids = collections.OrderedDict()
        self.lock = threading.Lock()

    def seen_before(self, msg_id):
        """Remember msg_id and return whether it was seen before."""
        with self.lock:
            if msg_id in self.ids:
                return True
            self.ids[msg_id] = True
            if len(self.ids) > self.limit:
                self.ids.popitem(last=False)
            return False


class Handler(http.server.BaseHTTPRequestHandler):
    """Request handler that verifies each POST with the secret, tolerance and
    id memory stored on the server object."""

    protocol_version = "HTTP/1.1"
    server_version = "hookgate-receiver-example"

    def do_POST(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            # The body stays unread, so the connection cannot be reused.
            self.close_connection = True
            self.reply_text(411 if length is None else 413,
                            "a Content-Length of at most %d bytes is required" % MAX_BODY_BYTES)
            return
        # The signature covers the body bytes exactly as sent, so they are
        # verified as received and never parsed and re-serialised first.
        body = self.rfile.read(int(length))
        msg_id = self.headers.get("webhook-id")
        printed_id = printable_id(msg_id)
        try:
            verify(self.server.secret, msg_id, self.headers.get("webhook-timestamp"),
                   self.headers.get("webhook-signature"), body, int(time.time()),
                   self.server.tolerance_s)
        except VerificationError as err:
            print("%s rejected: %s" % (printed_id, err), flush=True)
            self.reply_text(400, str(err))
            return

        # Respond first and work later: hookgate counts a slow response as a
        # timeout and sends the event again. This example has no work to do
        # beyond the output line.
        if self.server.seen.seen_before(msg_id):
            print("%s verified, duplicate ignored" % printed_id, flush=True)
        else:
            print("%s verified" % printed_id, flush=True)
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        self.method_not_allowed()

    def do_PUT(self):
        self.method_not_allowed()

    def do_DELETE(self):
        self.method_not_allowed()

    def method_not_allowed(self):
        self.reply_text(405, "webhooks are delivered with POST", {"Allow": "POST"})

    def reply_text(self, status, text, headers=None):
        data = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # stdout carries one line per verified or rejected request only, so
        # the access log is left out.
        pass


def serve(args, secret):
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    except OSError as err:
        print("receiver.py: cannot listen on 127.0.0.1:%d: %s" % (args.port, err.strerror),
              file=sys.stderr)
        return 1
    server.secret = secret
    server.tolerance_s = args.tolerance
    server.seen = SeenIds(SEEN_IDS_MAX)

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so it runs on
        # another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("receiver.py: listening on http://127.0.0.1:%d" % args.port, file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()
    print("receiver.py: stopped", file=sys.stderr, flush=True)
    return 0


def verify_once(args, secret):
    body = sys.stdin.buffer.read()
    now = args.now if args.now is not None else int(time.time())
    try:
        verify(secret, args.id, args.timestamp, args.signature, body, now, args.tolerance)
    except VerificationError as err:
        print("rejected: %s" % err)
        return 1
    print("verified")
    return 0


def main():
    parser = argparse.ArgumentParser(
        description="Verify hookgate deliveries (Standard Webhooks signatures) with the "
                    "endpoint secret from the environment variable %s (whsec_...)." % SECRET_ENV)
    parser.add_argument("--port", type=int, help="listen on 127.0.0.1:PORT; responds with 204 to a "
                        "verified POST, else 400")
    parser.add_argument("--tolerance", type=int, default=TOLERANCE_S,
                        help="largest accepted clock difference in seconds (default %(default)s)")
    parser.add_argument("--verify", action="store_true",
                        help="check one message (body on stdin) and exit: 0 verified, 1 rejected")
    parser.add_argument("--id", help="the webhook-id value for --verify")
    parser.add_argument("--timestamp", help="the webhook-timestamp value for --verify")
    parser.add_argument("--signature", help="the webhook-signature value for --verify")
    parser.add_argument("--now", type=int, help="the clock in Unix seconds for --verify "
                        "(default: the system clock)")
    args = parser.parse_args()
    if not args.verify and args.port is None:
        parser.error("--port is required")
    if args.port is not None and not 1 <= args.port <= 65535:
        parser.error("invalid --port %d: expected 1 to 65535" % args.port)
    if not 0 <= args.tolerance <= 86400:
        parser.error("invalid --tolerance %d: expected 0 to 86400 seconds" % args.tolerance)

    secret = os.environ.get(SECRET_ENV)
    try:
        parse_secret(secret)
    except VerificationError as err:
        print("receiver.py: invalid %s: %s" % (SECRET_ENV, "it is not set" if secret is None else err),
              file=sys.stderr)
        return 2

    if args.verify:
        return verify_once(args, secret)
    return serve(args, secret)


if __name__ == "__main__":
    sys.exit(main())
