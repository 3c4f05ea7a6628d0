// The panel of a sink's recent captures: what the sink received, with
// headers and body. The feed only announces a capture, so the panel
// reloads the list when one arrives.

import { api } from './api.js';
import { code, formatBytes, h, replaceChildren, timeElement } from './dom.js';
import { prettyElement } from './json.js';

const CAPTURE_LIMIT = 50;
const RELOAD_DELAY_MS = 250;

export class SinkView {
  constructor({ list, status, title, clearButton, reloadButton }) {
    this.list = list;
    this.status = status;
    this.title = title;
    this.clearButton = clearButton;
    this.sinkId = null;
    this.reloadTimer = null;
    this.loadToken = 0;
    // Captures the user expanded, by id, so a reload keeps them open.
    this.expanded = new Set();

    clearButton.addEventListener('click', () => this.clear());
    reloadButton.addEventListener('click', () => this.load());
  }

  show(sinkId) {
    this.sinkId = sinkId;
    this.expanded.clear();
    replaceChildren(this.title, 'Sink ', code(sinkId));
    this.load();
  }

  hide() {
    this.sinkId = null;
    this.loadToken++;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    this.list.replaceChildren();
    this.status.textContent = '';
  }

  /** Handles a capture record of the feed. */
  onCapture(record) {
    if (record.sink_id !== this.sinkId || this.reloadTimer) {
      return;
    }
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.load();
    }, RELOAD_DELAY_MS);
  }

  async load() {
    if (!this.sinkId) {
      return;
    }
    const token = ++this.loadToken;
    let data;
    try {
      data = await api.captures(this.sinkId, CAPTURE_LIMIT);
    } catch (err) {
      if (token === this.loadToken) {
        this.list.replaceChildren();
        const message =
          err.status === 403 ? `This session cannot see sink ${this.sinkId}.` : `Loading the captures failed: ${err.message}`;
        replaceChildren(this.status, h('span', { class: 'notice notice-error', role: 'alert' }, message));
      }
      return;
    }
    if (token === this.loadToken) {
      this.render(data.captures || []);
    }
  }

  async clear() {
    if (!this.sinkId) {
      return;
    }
    this.clearButton.disabled = true;
    try {
      await api.clearCaptures(this.sinkId);
      this.expanded.clear();
      await this.load();
    } catch (err) {
      replaceChildren(this.status, h('span', { class: 'notice notice-error', role: 'alert' }, `Clearing failed: ${err.message}`));
    } finally {
      this.clearButton.disabled = false;
    }
  }

  render(captures) {
    if (captures.length === 0) {
      this.status.textContent = '';
    } else if (captures.length === 1) {
      this.status.textContent = '1 capture';
    } else {
      this.status.textContent = `${captures.length} captures`;
    }
    if (captures.length === 0) {
      replaceChildren(
        this.list,
        h('li', { class: 'empty-state small' }, 'No captures yet. Deliveries to ', code(`/sink/${this.sinkId}`), ' appear here.'),
      );
      return;
    }
    replaceChildren(this.list, captures.map((capture) => h('li', null, this.renderCapture(capture))));
  }

  renderCapture(capture) {
    const headers = capture.headers && typeof capture.headers === 'object' ? capture.headers : {};
    const webhookId = headers['webhook-id'];
    const path = capture.query ? `${capture.path}?${capture.query}` : capture.path;

    const details = h(
      'details',
      { class: 'capture', open: this.expanded.has(capture.id), dataset: { captureId: capture.id, webhookId: webhookId || '' } },
      h(
        'summary',
        null,
        h('span', { class: 'method mono' }, capture.method),
        h('span', { class: 'capture-main' }, webhookId ? code(webhookId, 'capture-webhook-id') : code(path || '/')),
        h('span', { class: 'capture-meta' }, h('span', { class: 'muted' }, formatBytes(capture.body_bytes)), timeElement(capture.received_at)),
      ),
      h(
        'div',
        { class: 'capture-body' },
        h(
          'dl',
          { class: 'meta-grid meta-compact' },
          h('div', { class: 'meta-item' }, h('dt', null, 'Path'), h('dd', null, code(path || '/'))),
          h('div', { class: 'meta-item' }, h('dt', null, 'From'), h('dd', null, code(capture.source || '—'))),
          h('div', { class: 'meta-item' }, h('dt', null, 'Capture id'), h('dd', null, code(capture.id))),
        ),
        h('h5', null, 'Headers'),
        h(
          'table',
          { class: 'headers-table', 'aria-label': 'Captured headers' },
          h(
            'tbody',
            null,
            Object.entries(headers).map(([name, value]) =>
              h('tr', { dataset: { header: name } }, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'mono' }, String(value))),
            ),
          ),
        ),
        h('h5', null, 'Body'),
        captureBody(capture),
      ),
    );
    details.addEventListener('toggle', () => {
      if (details.open) {
        this.expanded.add(capture.id);
      } else {
        this.expanded.delete(capture.id);
      }
    });
    return details;
  }
}

function captureBody(capture) {
  if (capture.body === null || capture.body === undefined || capture.body === '') {
    return h('p', { class: 'muted note' }, 'empty');
  }
  if (capture.body_encoding === 'base64') {
    return h(
      'div',
      null,
      h('p', { class: 'muted note' }, 'The body is not UTF-8; it is shown as base64.'),
      h('pre', { class: 'code-block', tabindex: '0' }, capture.body),
    );
  }
  return prettyElement(capture.body, { tabindex: '0' }) || h('pre', { class: 'code-block', tabindex: '0' }, capture.body);
}
