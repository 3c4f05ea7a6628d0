'use strict';

// Reading raw HTTP/1.1 responses that a test wrote to a plain socket, for
// the hostile-input and connection-limit tests.

const assert = require('node:assert/strict');

/**
 * Splits raw response bytes into { status, headers, body } objects. Bodies
 * are read by Content-Length, which every hookgate response without
 * chunked encoding has.
 */
function parseResponses(raw) {
  const responses = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      break;
    }
    const lines = rest.slice(0, end).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]);
    if (!match) {
      break;
    }
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] || 0);
    const body = rest.slice(end + 4, end + 4 + length);
    responses.push({ status: Number(match[1]), headers, body });
    rest = rest.slice(end + 4 + length);
  }
  return responses;
}

/** Asserts that a parsed response is problem+json and returns the problem. */
function problemOf(response) {
  assert.equal(response.headers['content-type'], 'application/problem+json');
  return JSON.parse(response.body);
}

module.exports = { parseResponses, problemOf };
