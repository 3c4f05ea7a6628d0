// The live feed: one EventSource on /api/v1/inspector/stream (or its older
// alias /inspector/api/feed), with the connection state for the page.
//
// EventSource reconnects by itself after a network error, after the 2 s
// that the server sets with `retry:`, and sends Last-Event-ID, so the
// server resumes without a gap. It gives up for good on an HTTP error or a
// wrong content type, for example a 503 while Redis is away or a 401 after
// the session ended. Then this class reopens it with backoff from the last
// id it saw.

import { api } from './api.js';

const REOPEN_MIN_MS = 2000;
const REOPEN_MAX_MS = 30000;

export const FeedState = Object.freeze({
  CONNECTING: 'connecting',
  LIVE: 'live',
  RECONNECTING: 'reconnecting',
  OFFLINE: 'offline',
});

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

    source.addEventListener('open', () => {
      this.reopenDelay = REOPEN_MIN_MS;
      this.setState(FeedState.LIVE);
    });
    source.addEventListener('message', (message) => this.handleMessage(message));
    source.addEventListener('reset', () => this.onReset());
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
    if (this.source) {
      this.source.close();
      this.source = null;
    }
    this.setState(FeedState.OFFLINE);
  }
}
