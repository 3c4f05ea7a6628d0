// The live feed: one EventSource on /api/v1/inspector/stream (or its older
// alias /inspector/api/feed), with the connection state for the page.
//
// EventSource reconnects by itself after a network error, after the 2 s
// that the server sets with `retry:`, and sends Last-Event-ID, so the
// server resumes without a gap. It gives up for good on an HTTP error or a
// wrong content type, for example a 503 while Redis is away or a 401 after
// the session ended. Then this class reopens it with backoff from the last
// id it saw.
//
// A connection can also stop carrying anything without an error, for
// example behind a proxy that stalls it. The server sends a "ping" message
// every few seconds (its interval in `every_s`), so a feed that hears
// nothing for two intervals and a margin reopens the stream. A "status"
// message reports whether the server can read Redis, which an open but
// idle stream cannot show.

import { api } from './api.js';

const REOPEN_MIN_MS = 2000;
const REOPEN_MAX_MS = 30000;
// The server's default keep-alive interval, until a ping names its own.
const DEFAULT_PING_S = 15;
const SILENCE_MARGIN_MS = 5000;
const SILENCE_CHECK_MS = 2000;

export const FeedState = Object.freeze({
  CONNECTING: 'connecting',
  LIVE: 'live',
  // Connected, but the server cannot read Redis, so nothing new arrives.
  STALLED: 'stalled',
  RECONNECTING: 'reconnecting',
  OFFLINE: 'offline',
});

/** Returns the JSON data of a named message, or null when it is not JSON. */
function parseData(message) {
  try {
    return JSON.parse(message.data);
  } catch {
    return null;
  }
}

export class Feed {
  /**
   * Creates a closed feed with its callbacks. onRecord(record) gets each
   * record with its stream id in `id`. onReset() runs when the server lost
   * entries after the last id seen. onState(state) follows the connection,
   * and onUnauthorized() runs when the session ended.
   */
  constructor({ onRecord, onReset, onState, onUnauthorized }) {
    this.onRecord = onRecord;
    this.onReset = onReset;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.source = null;
    this.lastId = null;
    this.reopenTimer = null;
    this.reopenDelay = REOPEN_MIN_MS;
    this.state = FeedState.OFFLINE;
    // Incremented by open() and close(), so a reopen that was waiting for
    // the session check does nothing after them.
    this.generation = 0;
    // Base URL of the feed, chosen once by api.feedBase().
    this.base = null;
    // performance.now() of the last byte-carrying message, and the longest
    // silence that is still normal.
    this.heardAt = 0;
    this.silenceLimitMs = 2 * DEFAULT_PING_S * 1000 + SILENCE_MARGIN_MS;
    this.silenceTimer = null;
  }

  heard() {
    this.heardAt = performance.now();
  }

  watchSilence() {
    clearInterval(this.silenceTimer);
    this.heard();
    this.silenceTimer = setInterval(() => {
      if (this.source && performance.now() - this.heardAt > this.silenceLimitMs) {
        console.info('the live feed carried nothing for', Math.round(this.silenceLimitMs / 1000), 's; reopening it');
        this.source.close();
        this.source = null;
        clearInterval(this.silenceTimer);
        this.silenceTimer = null;
        this.setState(FeedState.RECONNECTING);
        this.scheduleReopen();
      }
    }, SILENCE_CHECK_MS);
  }

  setState(state) {
    if (this.state !== state) {
      this.state = state;
      this.onState(state);
    }
  }

  /**
   * Opens the feed after stream id `since`. "0-0" replays what the
   * stream still holds, which the server needs when /activity was empty.
   */
  async open(since) {
    this.close();
    const generation = this.generation;
    this.lastId = since || '0-0';
    this.setState(FeedState.CONNECTING);
    if (!this.base) {
      const base = await api.feedBase();
      if (generation !== this.generation) {
        return;
      }
      this.base = base;
    }
    this.connect();
  }

  connect() {
    // After a network error EventSource sends Last-Event-ID itself, which
    // the server prefers over `since`.
    const source = new EventSource(`${this.base}?since=${encodeURIComponent(this.lastId)}`);
    this.source = source;

    this.watchSilence();
    source.addEventListener('open', () => {
      this.heard();
      this.reopenDelay = REOPEN_MIN_MS;
      this.setState(FeedState.LIVE);
    });
    source.addEventListener('message', (message) => {
      this.heard();
      this.handleMessage(message);
    });
    source.addEventListener('ping', (message) => {
      this.heard();
      const everyS = parseData(message)?.every_s;
      if (Number.isInteger(everyS) && everyS > 0) {
        this.silenceLimitMs = 2 * everyS * 1000 + SILENCE_MARGIN_MS;
      }
    });
    source.addEventListener('status', (message) => {
      this.heard();
      const redis = parseData(message)?.redis;
      if (redis === 'unavailable') {
        this.setState(FeedState.STALLED);
      } else if (redis === 'ok' && this.state === FeedState.STALLED) {
        this.setState(FeedState.LIVE);
      }
    });
    source.addEventListener('reset', () => {
      this.heard();
      this.onReset();
    });
    // The server ends the stream of a credential that was revoked, expired
    // or signed out; opening it again could only fail.
    source.addEventListener('signed-out', () => {
      this.close();
      this.onUnauthorized();
    });
    source.addEventListener('error', () => this.handleError(source));
  }

  handleMessage(message) {
    let record;
    try {
      record = JSON.parse(message.data);
    } catch {
      console.warn('ignored a live feed message that is not JSON', message.lastEventId);
      return;
    }
    if (message.lastEventId) {
      this.lastId = message.lastEventId;
      record.id = message.lastEventId;
    }
    this.onRecord(record);
  }

  handleError(source) {
    if (source !== this.source) {
      return;
    }
    if (source.readyState !== EventSource.CLOSED) {
      this.setState(FeedState.RECONNECTING);
      return;
    }
    this.source = null;
    this.setState(FeedState.RECONNECTING);
    this.scheduleReopen();
  }

  scheduleReopen() {
    const delay = this.reopenDelay;
    this.reopenDelay = Math.min(this.reopenDelay * 2, REOPEN_MAX_MS);
    this.reopenTimer = setTimeout(() => this.reopen(), delay);
  }

  async reopen() {
    const generation = this.generation;
    this.reopenTimer = null;
    let session;
    try {
      session = await api.session();
    } catch {
      session = undefined;
    }
    if (generation !== this.generation) {
      return;
    }
    if (session === undefined) {
      // The inspector is unreachable or unavailable: keep trying.
      this.scheduleReopen();
      return;
    }
    if (!session) {
      this.close();
      this.onUnauthorized();
      return;
    }
    this.connect();
  }

  close() {
    this.generation++;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    clearInterval(this.silenceTimer);
    this.silenceTimer = null;
    if (this.source) {
      this.source.close();
      this.source = null;
    }
    this.setState(FeedState.OFFLINE);
  }
}
