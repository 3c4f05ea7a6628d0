#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Webhook receiver that verifies hookgate deliveries (Standard Webhooks),
// with Node.js built-in modules only. It listens on 127.0.0.1, responds
// with 204 to a verified POST and with 400 and the reason as plain text
// otherwise, and prints one line per request to stdout:
//
//     <webhook-id> verified
//     <webhook-id> verified, duplicate ignored
//     <webhook-id> rejected: <reason>
//
// With --verify it checks one message given on the command line and stdin
// instead, which is how the Standard Webhooks test vector is run.
//
//     WEBHOOK_SECRET=whsec_... node receiver.js --port 9000

'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const { parseArgs } = require('node:util');

const SECRET_ENV = 'WEBHOOK_SECRET';
const SECRET_PREFIX = 'whsec_';
const TOLERANCE_S = 300;

// hookgate publishes at most HOOKGATE_MAX_PAYLOAD_BYTES, which is 1 MiB by
// default and 64 MiB at most, so larger requests are not deliveries.
const MAX_BODY_BYTES = 64 * 1024 * 1024;

// The example remembers this many webhook-ids in memory. A real receiver
// stores them with the work they caused, for longer than hookgate retries
// (about 3.1 days with the default schedule), and also receives
// redeliveries that a user triggers later.
const SEEN_IDS_MAX = 4096;

// Maximum length of a printed webhook-id. Longer ones are cut.
const PRINTED_ID_MAX = 100;

// Canonical Unix seconds: digits without a sign or a leading zero.
const TIMESTAMP_RE = /^(0|[1-9][0-9]{0,16})$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A delivery that failed verification; the message is the reason. */
class VerificationError extends Error {}

/**
 * Returns the HMAC key: the bytes that the base64 after "whsec_" encodes.
 * The whole "whsec_..." string is never the key.
 */
function parseSecret(secret) {
  if (!secret) {
    throw new VerificationError('the secret is empty: expected whsec_ followed by base64');
  }
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new VerificationError('the secret must start with "whsec_"');
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  // Buffer.from(..., 'base64') skips invalid characters silently, so the
  // text is checked first.
  if (encoded.length === 0 || !BASE64_RE.test(encoded)) {
    throw new VerificationError('the part after "whsec_" is not valid padded base64');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new VerificationError('the secret must encode 24 to 64 bytes');
  }
  return key;
}

/**
 * Verifies one delivery, or throws VerificationError with the reason.
 * msgId, timestamp and signatureHeader are the webhook-id,
 * webhook-timestamp and webhook-signature header values, undefined when
 * missing. body is a Buffer of the request body exactly as received.
 */
function verify(secret, msgId, timestamp, signatureHeader, body, now, toleranceS = TOLERANCE_S) {
  if (!msgId) {
    throw new VerificationError('missing webhook-id header');
  }
  if (!timestamp) {
    throw new VerificationError('missing webhook-timestamp header');
  }
  if (!signatureHeader) {
    throw new VerificationError('missing webhook-signature header');
  }

  // The timestamp is checked before any HMAC is computed, so a replayed
  // old message is rejected early.
  if (!TIMESTAMP_RE.test(timestamp)) {
    throw new VerificationError('invalid webhook-timestamp: expected Unix time in seconds');
  }
  const sentAt = Number(timestamp);
  if (sentAt < now - toleranceS) {
    throw new VerificationError(
      "webhook-timestamp is too old: more than the tolerance before this receiver's clock",
    );
  }
  if (sentAt > now + toleranceS) {
    throw new VerificationError(
      "webhook-timestamp is too new: more than the tolerance after this receiver's clock",
    );
  }

  const key = parseSecret(secret);
  const mac = crypto.createHmac('sha256', key);
  mac.update(`${msgId}.${timestamp}.`);
  mac.update(body);
  const expected = Buffer.from(`v1,${mac.digest('base64')}`);

  // The header is a space-separated list of "<version>,<signature>"
  // entries: two during a secret rotation, and possibly versions this code
  // does not know, which are skipped. Every entry is compared.
  let seenV1 = false;
  let matched = false;
  for (const entry of signatureHeader.split(' ')) {
    if (!entry.startsWith('v1,') || entry.length <= 3) {
      continue;
    }
    seenV1 = true;
    const candidate = Buffer.from(entry);
    // timingSafeEqual needs equal lengths, and the length of a signature
    // is no secret.
    if (candidate.length === expected.length && crypto.timingSafeEqual(candidate, expected)) {
      matched = true;
    }
  }
  if (!seenV1) {
    throw new VerificationError('webhook-signature contains no v1 signature');
  }
  if (!matched) {
    throw new VerificationError(
      'no signature in webhook-signature matches: check the secret and that ' +
        'the body is verified exactly as received',
    );
  }
}

/** Returns msgId cut and with non-printable characters replaced, for output. */
function printableId(msgId) {
  if (!msgId) {
    return '-';
  }
  return msgId.slice(0, PRINTED_ID_MAX).replace(/[^\x21-\x7e]/g, '?');
}

/** Remembers msgId in seen (a Map in insertion order) and returns whether it was there. */
function seenBefore(seen, msgId) {
  if (seen.has(msgId)) {
    return true;
  }
  seen.set(msgId, true);
  if (seen.size > SEEN_IDS_MAX) {
    seen.delete(seen.keys().next().value);
  }
  return false;
}

function replyText(res, status, text, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

function handle(options, seen, req, res) {
  if (req.method !== 'POST') {
    replyText(res, 405, 'webhooks are delivered with POST', { Allow: 'POST' });
    return;
  }
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (tooLarge) {
      replyText(res, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
      return;
    }
    // The signature covers the body bytes exactly as sent, so they are
    // verified as received and never parsed and re-serialised first.
    const body = Buffer.concat(chunks);
    const msgId = req.headers['webhook-id'];
    const printedId = printableId(msgId);
    try {
      verify(
        options.secret,
        msgId,
        req.headers['webhook-timestamp'],
        req.headers['webhook-signature'],
        body,
        Math.floor(Date.now() / 1000),
        options.toleranceS,
      );
    } catch (err) {
      if (!(err instanceof VerificationError)) {
        throw err;
      }
      console.log(`${printedId} rejected: ${err.message}`);
      replyText(res, 400, err.message);
      return;
    }

    // Respond first and work later: hookgate counts a slow response as a
    // timeout and sends the event again. This example has no work to do
    // beyond the output line.
    if (seenBefore(seen, msgId)) {
      console.log(`${printedId} verified, duplicate ignored`);
    } else {
      console.log(`${printedId} verified`);
    }
    res.writeHead(204);
    res.end();
  });
}

function serve(options) {
  const seen = new Map();
  const server = http.createServer((req, res) => handle(options, seen, req, res));
  const stop = () => {
    server.close(() => process.stderr.write('receiver.js: stopped\n'));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  server.on('error', (err) => {
    process.stderr.write(`receiver.js: cannot listen on 127.0.0.1:${options.port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(options.port, '127.0.0.1', () => {
    process.stderr.write(`receiver.js: listening on http://127.0.0.1:${options.port}\n`);
  });
}

function verifyOnce(options, values) {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    const now = values.now !== undefined ? Number(values.now) : Math.floor(Date.now() / 1000);
    try {
      verify(options.secret, values.id, values.timestamp, values.signature, Buffer.concat(chunks), now, options.toleranceS);
    } catch (err) {
      if (!(err instanceof VerificationError)) {
        throw err;
      }
      console.log(`rejected: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    console.log('verified');
  });
}

const USAGE = `Usage: node receiver.js --port N [--tolerance S]
       node receiver.js --verify --id ID --timestamp T --signature SIG [--now S] [--tolerance S] < body

Verifies hookgate deliveries (Standard Webhooks signatures) with the endpoint
secret read from the environment variable ${SECRET_ENV} (whsec_...).

  --port N        listen on 127.0.0.1:N; answers 204 to a verified POST, else 400
  --tolerance S   largest accepted clock difference in seconds (default ${TOLERANCE_S})
  --verify        check one message and exit: 0 verified, 1 rejected, 2 usage error
  --id, --timestamp, --signature
                  the webhook-id, webhook-timestamp and webhook-signature values
  --now S         the clock in Unix seconds for --verify (default: the system clock)
`;

function usageError(message) {
  process.stderr.write(`receiver.js: ${message} (see --help)\n`);
  process.exit(2);
}

/** Parses a decimal option value in [min, max], or exits with a usage error. */
function integerOption(name, text, min, max) {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    usageError(`invalid --${name} "${text}": expected ${min} to ${max}`);
  }
  return Number(text);
}

function main() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        tolerance: { type: 'string' },
        verify: { type: 'boolean' },
        id: { type: 'string' },
        timestamp: { type: 'string' },
        signature: { type: 'string' },
        now: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    usageError(err.message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.verify && values.port === undefined) {
    usageError('--port is required');
  }
  const options = {
    secret: process.env[SECRET_ENV],
    port: values.port !== undefined ? integerOption('port', values.port, 1, 65535) : undefined,
    toleranceS: values.tolerance !== undefined ? integerOption('tolerance', values.tolerance, 0, 86400) : TOLERANCE_S,
  };
  if (values.now !== undefined) {
    integerOption('now', values.now, 0, Number.MAX_SAFE_INTEGER);
  }
  try {
    parseSecret(options.secret);
  } catch (err) {
    const why = options.secret === undefined ? 'it is not set' : err.message;
    process.stderr.write(`receiver.js: invalid ${SECRET_ENV}: ${why}\n`);
    process.exit(2);
  }

  if (values.verify) {
    verifyOnce(options, values);
  } else {
    serve(options);
  }
}

if (require.main === module) {
  main();
}

module.exports = { VerificationError, parseSecret, verify };
