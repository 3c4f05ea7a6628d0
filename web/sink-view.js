// The sinks view: the list of visible sinks, and for one sink the form
// that sets its responses (PUT /api/v1/sinks/{id}) and the requests it
// captured, with the signature check. The feed only announces a capture,
// so the view reloads the captures when one arrives.

import { api } from './api.js';
import { code, copyButton, formatBytes, h, httpStatusClass, replaceChildren, timeElement, visibleCode, visibleText } from './dom.js';
import { actionError, announce, confirmAction } from './dialog.js';
import { prettyElement } from './json.js';

const CAPTURE_LIMIT = 50;
// Body bytes a capture stores. body_truncated marks a longer body.
const CAPTURE_BODY_MAX = 262144;
const RELOAD_DELAY_MS = 250;
// The ids the server accepts for a sink. PUT rejects others with 422.
const SINK_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export class SinkView {
  constructor({ list, count, detail, openForm, openInput }) {
    this.list = list;
    this.count = count;
    this.detail = detail;
    this.session = null;
    this.sinkId = null;
    this.reloadTimer = null;
    this.loadToken = 0;
    this.capturesBox = null;
    // Visible sinks from the last list, by sink id.
    this.sinks = new Map();
    // Captures the user expanded, by id, so a reload keeps them open.
    this.expanded = new Set();

    openForm.addEventListener('submit', (submit) => {
      submit.preventDefault();
      const id = openInput.value.trim();
      if (id !== '') {
        location.hash = `#sinks/${encodeURIComponent(id)}`;
      }
    });
  }

  setSession(session) {
    this.session = session;
  }

  /** True unless the session body has can_act false. The server checks again. */
  mayChange() {
    return this.session?.can_act !== false;
  }

  /** Shows the sink list, and the sink sinkId when it is not null. */
  show(sinkId) {
    if (sinkId !== this.sinkId) {
      this.expanded.clear();
    }
    this.sinkId = sinkId;
    const listed = this.loadList();
    if (sinkId) {
      this.detail.hidden = false;
      listed.then(() => this.loadSink());
    } else {
      this.detail.hidden = true;
      this.detail.replaceChildren();
      this.capturesBox = null;
    }
  }

  hide() {
    this.sinkId = null;
    this.loadToken++;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    this.capturesBox = null;
    this.list.replaceChildren();
    this.detail.replaceChildren();
    this.count.textContent = '';
  }

  /** Handles a capture record of the feed. */
  onCapture(record) {
    if (!this.capturesBox || record.sink_id !== this.sinkId || this.reloadTimer) {
      return;
    }
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.loadCaptures();
    }, RELOAD_DELAY_MS);
  }

  async loadList() {
    let sinks;
    try {
      const body = await api.sinks();
      sinks = (body?.sinks || body?.data || []).map((sink) => ({ ...sink, id: sink.sink_id || sink.id }));
    } catch (err) {
      if (err.status !== 404 || err.code) {
        this.listLoaded = false;
        replaceChildren(this.list, h('li', { class: 'notice notice-error', role: 'alert' }, `Loading the sinks failed: ${err.message}`));
        return;
      }
      // The sinks API is not served: offer the sink named after the
      // integration, which always exists.
      sinks = [{ id: this.session?.integration_id || 'sandbox', legacy: true }];
    }
    this.sinks = new Map(sinks.map((sink) => [sink.id, sink]));
    this.listLoaded = true;
    this.count.textContent = sinks.length === 1 ? '1 sink' : `${sinks.length} sinks`;
    if (sinks.length === 0) {
      replaceChildren(this.list, h('li', { class: 'empty-state small' }, 'No sink is configured. Open one by its id to create it.'));
      return;
    }
    replaceChildren(
      this.list,
      sinks.map((sink) =>
        h(
          'li',
          { dataset: { sinkId: sink.id } },
          h(
            'a',
            { href: `#sinks/${encodeURIComponent(sink.id)}`, class: 'sink-link', 'aria-current': sink.id === this.sinkId ? 'page' : null },
            code(sink.id),
          ),
          h('span', { class: 'muted small-text' }, sink.configured ? ' configured' : ' default answers'),
        ),
      ),
    );
  }

  async loadSink() {
    const token = ++this.loadToken;
    const sinkId = this.sinkId;
    let view = null;
    let configError = null;
    // A sink that is not listed does not exist yet: the form creates it.
    if (this.sinks.has(sinkId)) {
      try {
        view = await api.sink(sinkId);
      } catch (err) {
        configError = err;
      }
    }
    if (token !== this.loadToken) {
      return;
    }
    // A sink with an invalid id cannot exist, so it has no captures to show.
    this.capturesBox = SINK_ID_PATTERN.test(sinkId) ? h('section', { class: 'card', 'aria-labelledby': 'captures-heading', id: 'captures' }) : null;
    replaceChildren(
      this.detail,
      h(
        'header',
        { class: 'detail-header' },
        h('p', { class: 'eyebrow' }, 'Sink'),
        h('h2', { class: 'detail-title', id: 'sink-title', tabindex: '-1' }, sinkId),
        h(
          'p',
          { class: 'with-copy' },
          'Receives at ',
          code(`${location.origin}/sink/${sinkId}`, 'sink-url'),
          copyButton(`${location.origin}/sink/${sinkId}`, 'Copy URL'),
        ),
      ),
      this.renderConfig(view, configError),
      this.capturesBox,
    );
    this.loadCaptures();
  }

  renderConfig(view, configError) {
    const box = h(
      'section',
      { class: 'card', 'aria-labelledby': 'sink-config-heading' },
      h('div', { class: 'card-header' }, h('h3', { id: 'sink-config-heading' }, 'Answers')),
    );
    const body = h('div', { class: 'payload-body' });
    box.append(body);
    if (configError && !(configError.status === 404)) {
      body.append(h('div', { class: 'notice notice-error', role: 'alert' }, `Loading the configuration failed: ${configError.message}`));
    }
    const current = view?.config || null;
    if (view?.counters) {
      const plural = (n) => `${n} ${n === 1 ? 'request' : 'requests'}`;
      const requests = view.counters.requests ?? 0;
      const sinceConfig = view.counters.sequence_position ?? 0;
      body.append(
        h('p', { class: 'muted note', id: 'sink-counters' }, `${plural(sinceConfig)} since the configuration was set, ${plural(requests)} in all.`),
      );
    }
    const url = `/sink/${this.sinkId}`;
    if (current) {
      body.append(
        h('details', { class: 'current-config' }, h('summary', null, 'Current configuration (JSON)'), h('pre', { class: 'code-block', id: 'sink-config-json', tabindex: '0' }, JSON.stringify(current, null, 2))),
      );
    } else if (!SINK_ID_PATTERN.test(this.sinkId)) {
      body.append(
        h('p', { class: 'notice notice-error', id: 'sink-missing' }, `"${this.sinkId}" is not a valid sink id: use 1 to 63 lowercase letters, digits, "_" or "-", starting with a letter or digit.`),
      );
      return box;
    } else if (!this.sinks.has(this.sinkId)) {
      // Only configured sinks and those named after an integration exist.
      // The list contains every one this session may see, so only a
      // session with access to all of them (no integration of its own) can
      // tell that a sink is missing, and only once the list loaded.
      const seesAll = !this.session?.integration_id;
      let text;
      if (!this.listLoaded) {
        text = ['The sink list did not load, so whether ', code(url), ' exists is not known.'];
      } else if (seesAll) {
        text = ['No such sink: requests to ', code(url), ' get 404.'];
      } else {
        text = ['No sink of this integration has this id. Another integration may own it.'];
      }
      body.append(
        h(
          'p',
          { class: 'muted note', id: 'sink-missing' },
          ...text,
          this.mayChange() && this.listLoaded ? ' Saving answers below creates the sink if the id is free.' : '',
        ),
      );
      if (!this.mayChange() || !this.listLoaded) {
        return box;
      }
    } else {
      body.append(h('p', { class: 'muted note' }, 'Not configured: the sink answers 200 with {"received": true, "capture_id": "cap_…"}.'));
    }
    body.append(this.renderForm(current || {}, view?.integration_id || this.sinks.get(this.sinkId)?.integration_id || ''));
    return box;
  }

  renderForm(current, owner) {
    const first = Array.isArray(current.sequence) && current.sequence.length > 0 ? current.sequence[0] : current;
    const statuses = Array.isArray(current.sequence) ? current.sequence.map((a) => a.status ?? 200).join(',') : String(current.status ?? 200);
    const headersText = Object.entries(first.headers || {})
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n');
    const field = (id, label, input, hint) =>
      h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('span', { class: 'hint muted', id: `${id}-hint` }, hint) : null);
    const number = (id, value, min, max) =>
      h('input', { id, name: id, type: 'number', inputmode: 'numeric', min, max, value: value ?? '', 'aria-describedby': `${id}-hint` });

    const form = h(
      'form',
      { class: 'sink-form', id: 'sink-form', novalidate: true },
      h(
        'div',
        { class: 'form-grid' },
        field('sink-statuses', 'Status sequence', h('input', { id: 'sink-statuses', name: 'statuses', value: statuses, autocomplete: 'off', 'aria-describedby': 'sink-statuses-hint' }), 'One status, or a list such as 500,500,200 for successive requests.'),
        field(
          'sink-after',
          'After the sequence',
          h(
            'select',
            { id: 'sink-after', name: 'after' },
            h('option', { value: 'repeat_last', selected: current.after !== 'cycle' }, 'Repeat the last answer'),
            h('option', { value: 'cycle', selected: current.after === 'cycle' }, 'Start again'),
          ),
        ),
        field('sink-delay', 'Delay (ms)', number('sink-delay', first.delay_ms, 0, 60000), 'Wait before answering, 0 to 60000.'),
        field('sink-retry-after', 'Retry-After', h('input', { id: 'sink-retry-after', name: 'retry_after', value: first.retry_after ?? '', autocomplete: 'off', 'aria-describedby': 'sink-retry-after-hint' }), 'Seconds or an HTTP-date; empty sends none.'),
        field('sink-trickle', 'Slow body (bytes/s)', number('sink-trickle', first.trickle_bytes_per_s, 1, 1000000), 'Sends the body at this rate; empty sends it at once.'),
        field('sink-cut', 'Cut off after (bytes)', number('sink-cut', first.cut_after_bytes, 0, 65536), 'Closes the connection after this many body bytes.'),
        field('sink-failure-percent', 'Failure percentage', number('sink-failure-percent', current.failure_percent, 0, 100), 'Share of requests answered with the failure status.'),
        field('sink-failure-status', 'Failure status', number('sink-failure-status', current.failure_status, 400, 599), '400 to 599, 500 when empty.'),
        field(
          'sink-owner',
          'Integration',
          h('input', {
            id: 'sink-owner',
            name: 'integration_id',
            value: this.session?.integration_id || owner,
            disabled: Boolean(this.session?.integration_id || owner),
            autocomplete: 'off',
            'aria-describedby': 'sink-owner-hint',
          }),
          'The integration that owns the sink; fixed once the sink exists.',
        ),
        field('sink-endpoint', 'Verify signatures of endpoint', h('input', { id: 'sink-endpoint', name: 'endpoint_id', value: current.endpoint_id ?? '', placeholder: 'ep_…', autocomplete: 'off', 'aria-describedby': 'sink-endpoint-hint' }), 'The endpoint whose secret checks the signature of each capture.'),
      ),
      field('sink-headers', 'Response headers', h('textarea', { id: 'sink-headers', name: 'headers', rows: '3', spellcheck: 'false', 'aria-describedby': 'sink-headers-hint' }, headersText), 'One "Name: value" a line.'),
      field('sink-body', 'Response body', h('textarea', { id: 'sink-body', name: 'body', rows: '4', spellcheck: 'false' }, first.body ?? '')),
      h('p', { class: 'form-error', id: 'sink-form-error', role: 'alert' }),
      this.mayChange()
        ? h(
            'div',
            { class: 'form-buttons' },
            h('button', { type: 'submit', class: 'button-primary', id: 'sink-save' }, 'Save answers'),
            // A sink that does not exist has nothing to remove (DELETE returns 404).
            this.sinks.has(this.sinkId)
              ? h('button', { type: 'button', class: 'button-ghost', id: 'sink-delete', onclick: () => this.deleteSink() }, 'Remove configuration')
              : null,
          )
        : h('p', { class: 'muted note', id: 'sink-read-only' }, 'This session can read sinks but not change them.'),
    );
    form.addEventListener('submit', (submit) => {
      submit.preventDefault();
      this.save(form);
    });
    return form;
  }

  async save(form) {
    const error = form.querySelector('#sink-form-error');
    error.textContent = '';
    let config;
    try {
      config = configFromForm(form);
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const button = form.querySelector('#sink-save');
    button.disabled = true;
    try {
      await api.putSink(this.sinkId, config);
      announce(`Sink ${this.sinkId} saved.`);
      await this.loadList();
      await this.loadSink();
    } catch (err) {
      error.textContent = actionError('Saving the sink', err);
    } finally {
      button.disabled = false;
    }
  }

  async deleteSink() {
    const confirmed = await confirmAction({
      heading: 'Remove sink configuration',
      text: `Remove the configuration of sink ${this.sinkId}? It answers 200 again, or stops existing when it is not named after an integration.`,
      confirmLabel: 'Remove',
      danger: true,
    });
    if (!confirmed) {
      return;
    }
    try {
      await api.deleteSink(this.sinkId);
      announce(`Sink ${this.sinkId} removed.`);
      await this.loadList();
      await this.loadSink();
    } catch (err) {
      announce(actionError('Removing the sink', err), 'error');
    }
  }

  async loadCaptures() {
    const box = this.capturesBox;
    if (!box || !this.sinkId) {
      return;
    }
    const token = this.loadToken;
    const sink = this.sinks.get(this.sinkId);
    let captures = [];
    let failure = null;
    try {
      // A sink that does not exist yet has no captures to load.
      const body = sink ? await api.sinkRequests(this.sinkId, CAPTURE_LIMIT, Boolean(sink.legacy)) : null;
      captures = body?.requests || body?.captures || body?.data || [];
    } catch (err) {
      failure = err.status === 403 ? `This session cannot see sink ${this.sinkId}.` : `Loading the captures failed: ${err.message}`;
    }
    if (token !== this.loadToken || box !== this.capturesBox) {
      return;
    }
    const clear = this.mayChange()
      ? h('button', { type: 'button', class: 'button-ghost button-small', id: 'captures-clear', disabled: !sink, onclick: () => this.clearCaptures() }, 'Clear')
      : null;
    const reload = h('button', { type: 'button', class: 'button-ghost button-small', id: 'captures-reload', onclick: () => this.loadCaptures() }, 'Reload');
    const header = h(
      'div',
      { class: 'card-header' },
      h('h3', { id: 'captures-heading' }, 'Captured requests'),
      h('span', { class: 'muted', id: 'captures-count' }, failure ? '' : String(captures.length)),
      h('div', { class: 'card-tools' }, reload, clear),
    );
    const list = h('ul', { class: 'captures', id: 'sink-list' });
    if (failure) {
      list.append(h('li', { class: 'notice notice-error', role: 'alert' }, failure));
    } else if (captures.length === 0) {
      list.append(h('li', { class: 'empty-state small' }, 'No captures yet. Requests to ', code(`/sink/${this.sinkId}`), ' appear here, newest first.'));
    } else {
      for (const capture of captures) {
        list.append(h('li', null, this.renderCapture(capture)));
      }
    }
    replaceChildren(box, header, list);
  }

  async clearCaptures() {
    const confirmed = await confirmAction({
      heading: 'Clear captures',
      text: `Delete every captured request of sink ${this.sinkId}?`,
      confirmLabel: 'Clear',
      danger: true,
    });
    if (!confirmed) {
      return;
    }
    try {
      await api.clearSinkRequests(this.sinkId, Boolean(this.sinks.get(this.sinkId)?.legacy));
      this.expanded.clear();
      announce(`Captures of sink ${this.sinkId} cleared.`);
      await this.loadCaptures();
    } catch (err) {
      announce(actionError('Clearing the captures', err), 'error');
    }
  }

  renderCapture(capture) {
    const headers = capture.headers && typeof capture.headers === 'object' ? capture.headers : {};
    const webhookId = headerValue(headers, 'webhook-id');
    const path = capture.query ? `${capture.path}?${capture.query}` : capture.path;
    const body = captureBody(capture);
    const id = capture.id || `${capture.received_at || capture.time}-${webhookId || path}`;
    const received = capture.received_at || capture.time;

    const details = h(
      'details',
      { class: 'capture', open: this.expanded.has(id), dataset: { captureId: id, webhookId: webhookId || '' } },
      h(
        'summary',
        null,
        h('span', { class: 'method mono' }, capture.method),
        h('span', { class: 'capture-main' }, webhookId ? visibleCode(webhookId, 'capture-webhook-id') : visibleCode(path || '/')),
        h(
          'span',
          { class: 'capture-meta' },
          answerTag(capture.answer),
          signatureTag(capture.signature),
          // body_bytes is the size received, and the stored body may be shorter.
          h(
            'span',
            { class: 'muted capture-size', title: `${typeof capture.body_bytes === 'number' ? capture.body_bytes : body.bytes?.length} bytes received` },
            formatBytes(typeof capture.body_bytes === 'number' ? capture.body_bytes : body.bytes?.length),
          ),
          capture.body_truncated ? truncatedTag() : null,
          timeElement(received),
        ),
      ),
      h(
        'div',
        { class: 'capture-body' },
        h(
          'dl',
          { class: 'meta-grid meta-compact' },
          metaItem('Path', code(path || '/')),
          metaItem('From', code(capture.source || '—')),
          metaItem('Received', timeElement(received)),
          wideMetaItem('Signature', signatureText(capture.signature)),
          capture.signature && typeof capture.signature.timestamp_skew_s === 'number'
            ? metaItem('Timestamp skew', h('span', { class: 'skew' }, `${capture.signature.timestamp_skew_s} s`))
            : null,
        ),
        h('h5', null, 'Headers'),
        h(
          'table',
          { class: 'headers-table', 'aria-label': 'Captured headers' },
          h(
            'tbody',
            null,
            Object.entries(headers).map(([name, value]) =>
              h('tr', { dataset: { header: name.toLowerCase() } }, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'mono' }, visibleText(String(value)))),
            ),
          ),
        ),
        h('h5', null, 'Body ', capture.body_truncated ? truncatedTag() : null, ' ', body.text !== null ? copyButton(body.text, 'Copy body') : null),
        body.element,
      ),
    );
    details.addEventListener('toggle', () => {
      if (details.open) {
        this.expanded.add(id);
      } else {
        this.expanded.delete(id);
      }
    });
    return details;
  }
}

/**
 * Builds a PUT body from the sink form. A list of statuses becomes a
 * sequence whose items share the other response fields, because the
 * server rejects response fields next to a sequence.
 */
function configFromForm(form) {
  const value = (name) => form.elements[name].value.trim();
  const integer = (name, label) => {
    const text = value(name);
    if (text === '') {
      return undefined;
    }
    if (!/^\d+$/.test(text)) {
      throw new Error(`${label} must be a whole number.`);
    }
    return Number(text);
  };

  const statuses = value('statuses')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((text) => {
      if (!/^\d{3}$/.test(text)) {
        throw new Error(`Status sequence: "${text}" is not a status such as 200.`);
      }
      return Number(text);
    });
  if (statuses.length === 0) {
    statuses.push(200);
  }

  const headers = {};
  for (const line of form.elements.headers.value.split('\n')) {
    if (line.trim() === '') {
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new Error(`Response headers: "${line.trim()}" is not "Name: value".`);
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }

  const answer = {};
  if (Object.keys(headers).length > 0) {
    answer.headers = headers;
  }
  if (form.elements.body.value !== '') {
    answer.body = form.elements.body.value;
  }
  const retryAfter = value('retry_after');
  if (retryAfter !== '') {
    answer.retry_after = /^\d+$/.test(retryAfter) ? Number(retryAfter) : retryAfter;
  }
  const fields = [
    ['sink-delay', 'delay_ms', 'Delay'],
    ['sink-trickle', 'trickle_bytes_per_s', 'Slow body'],
    ['sink-cut', 'cut_after_bytes', 'Cut off after'],
  ];
  for (const [name, key, label] of fields) {
    const n = integer(name, label);
    if (n !== undefined) {
      answer[key] = n;
    }
  }

  const config = {};
  if (statuses.length === 1) {
    Object.assign(config, { status: statuses[0] }, answer);
  } else {
    config.sequence = statuses.map((status) => ({ status, ...answer }));
    config.after = value('after');
  }
  const percent = integer('sink-failure-percent', 'Failure percentage');
  if (percent !== undefined) {
    config.failure_percent = percent;
  }
  const failureStatus = integer('sink-failure-status', 'Failure status');
  if (failureStatus !== undefined) {
    config.failure_status = failureStatus;
  }
  if (value('endpoint_id') !== '') {
    config.endpoint_id = value('endpoint_id');
  }
  // The owner is sent only when the sink has none yet.
  if (!form.elements.integration_id.disabled && value('integration_id') !== '') {
    config.integration_id = value('integration_id');
  }
  return config;
}

function metaItem(label, ...values) {
  return h('div', { class: 'meta-item' }, h('dt', null, label), h('dd', null, values));
}

function wideMetaItem(label, ...values) {
  const item = metaItem(label, ...values);
  item.classList.add('meta-wide');
  return item;
}

function headerValue(headers, name) {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) {
      return String(value);
    }
  }
  return null;
}

/** Creates the tag of the sink's response status, or null without one. */
function answerTag(answer) {
  if (typeof answer?.status !== 'number') {
    return null;
  }
  return h('span', { class: `http-status capture-answer ${httpStatusClass(answer.status)}`, title: 'Status of the sink\'s response' }, `responded ${answer.status}`);
}

function truncatedTag() {
  return h('span', { class: 'tag tag-warning', dataset: { truncated: 'true' }, title: `The inspector kept only the first ${formatBytes(CAPTURE_BODY_MAX)} of this body` }, 'truncated');
}

function signatureTag(signature) {
  if (!signature || !signature.checked) {
    return null;
  }
  if (signature.verified === true) {
    return h('span', { class: 'tag tag-ok', dataset: { signature: 'verified' } }, 'signature ok');
  }
  if (signature.verified === false) {
    return h('span', { class: 'tag tag-bad', dataset: { signature: 'failed' } }, 'signature failed');
  }
  return h('span', { class: 'tag', dataset: { signature: 'unknown' } }, 'signature unchecked');
}

function signatureText(signature) {
  if (!signature || !signature.checked) {
    return h('span', { class: 'muted', dataset: { signature: 'not-checked' } }, signature?.detail || 'not checked');
  }
  let state = 'not decided';
  let marker = 'unknown';
  if (signature.verified === true) {
    state = 'verified';
    marker = 'verified';
  } else if (signature.verified === false) {
    state = 'not verified';
    marker = 'failed';
  }
  // The detail names the endpoint when the server sends one.
  let explanation = '';
  if (signature.detail) {
    explanation = `: ${signature.detail}`;
  } else if (signature.endpoint_id) {
    explanation = ` with ${signature.endpoint_id}`;
  }
  return h('span', { dataset: { signature: marker } }, state, explanation);
}

/**
 * Returns the offset where an incomplete UTF-8 sequence of 1 to 3 bytes
 * ends `bytes`, or bytes.length when the last sequence is not cut short.
 */
function incompleteTailOffset(bytes) {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back];
    if (byte >= 0x80 && byte <= 0xbf) {
      continue;
    }
    let length = 0;
    if (byte >= 0xc2 && byte <= 0xdf) {
      length = 2;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
    }
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/**
 * Decodes UTF-8 bytes, or returns null when they are not UTF-8. A cut
 * body may end inside a character, so with `cut` its incomplete final
 * sequence is dropped, as the server's hg_json_set_body does.
 */
function decodeUtf8(bytes, cut) {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const end = cut ? incompleteTailOffset(bytes) : bytes.length;
  try {
    return decoder.decode(bytes.subarray(0, end));
  } catch {
    return null;
  }
}

/** Decodes a capture body: { bytes, text (null unless UTF-8), element }. */
function captureBody(capture) {
  let bytes = null;
  let text = null;
  if (typeof capture.body_base64 === 'string') {
    const binary = atob(capture.body_base64);
    bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    text = decodeUtf8(bytes, capture.body_truncated === true);
  } else if (typeof capture.body === 'string' && capture.body_encoding !== 'base64') {
    text = capture.body;
  }

  let element;
  if (bytes !== null && bytes.length === 0) {
    element = h('p', { class: 'muted note' }, 'empty');
  } else if (text === null) {
    const raw = typeof capture.body_base64 === 'string' ? capture.body_base64 : capture.body || '';
    element = h(
      'div',
      null,
      h('p', { class: 'muted note' }, 'The body is not UTF-8; it is shown as base64.'),
      h('pre', { class: 'code-block', tabindex: '0' }, raw),
    );
  } else if (text === '') {
    element = h('p', { class: 'muted note' }, 'empty');
  } else {
    element = prettyElement(text, { tabindex: '0' }) || h('pre', { class: 'code-block', tabindex: '0' }, visibleText(text));
  }
  return { bytes, text, element };
}
