// DOM and formatting helpers of the inspector page. Server data only ever
// reaches the document as text nodes or attribute values, never as markup.

/**
 * Creates an element. `props` sets attributes, except `class`, `dataset`,
 * `on<event>` handlers and a few properties that have no attribute form.
 * Children are nodes or strings, which are inserted as text. Null,
 * undefined and false children are skipped, and arrays are flattened.
 */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);

  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (name === 'class') {
      element.className = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'open' || name === 'hidden' || name === 'disabled') {
      element[name] = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(parent, child);
    } else if (child instanceof Node) {
      parent.append(child);
    } else {
      parent.append(document.createTextNode(String(child)));
    }
  }
}

/** Replaces every child of `element` with `children`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error(`element #${id} is missing from index.html`);
  }
  return element;
}

// ---- times ---------------------------------------------------------------

const exactFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  timeZoneName: 'short',
});

/** Parses an RFC 3339 time, or returns null for missing or invalid input. */
export function parseTime(text) {
  if (typeof text !== 'string' || text === '') {
    return null;
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** Formats a distance in time such as "12 s ago" or "in 3 min". */
export function relativeTime(ms, now = Date.now()) {
  const abs = Math.floor(Math.abs(ms - now) / 1000);
  let text;

  if (abs < 2) {
    return ms > now ? 'now' : 'just now';
  } else if (abs < 60) {
    text = `${abs} s`;
  } else if (abs < 3600) {
    text = `${Math.floor(abs / 60)} min`;
  } else if (abs < 86400) {
    text = `${Math.floor(abs / 3600)} h`;
  } else {
    text = `${Math.floor(abs / 86400)} d`;
  }
  return ms < now ? `${text} ago` : `in ${text}`;
}

export function exactTime(ms) {
  return `${exactFormat.format(new Date(ms))} (${new Date(ms).toISOString()})`;
}

/**
 * Creates a <time> element that shows a relative time and the exact time
 * on hover. refreshTimes() keeps the relative text current.
 */
/**
 * Returns a <time> that shows text relative to now. With upcoming, a time
 * that has passed reads "due": a retry that the circuit breaker or a rate
 * limit moved later keeps its old time until the next record arrives.
 */
export function timeElement(text, fallback = '—', { upcoming = false } = {}) {
  const ms = parseTime(text);
  if (ms === null) {
    return h('span', { class: 'muted' }, fallback);
  }
  const dataset = upcoming ? { ts: String(ms), upcoming: '1' } : { ts: String(ms) };
  return h(
    'time',
    { datetime: new Date(ms).toISOString(), title: exactTime(ms), dataset },
    shownTime(ms, Date.now(), upcoming),
  );
}

function shownTime(ms, now, upcoming) {
  return upcoming && ms <= now ? 'due' : relativeTime(ms, now);
}

export function refreshTimes(root = document) {
  const now = Date.now();
  for (const element of root.querySelectorAll('time[data-ts]')) {
    const text = shownTime(Number(element.dataset.ts), now, element.dataset.upcoming === '1');
    if (element.textContent !== text) {
      element.textContent = text;
    }
  }
}

// ---- values ----------------------------------------------------------------

export const STATUSES = ['pending', 'succeeded', 'failed', 'dead'];

/** Creates a status badge. Unknown statuses get a neutral look. */
export function statusBadge(status, extraText) {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h(
    'span',
    { class: `badge badge-${known}`, dataset: { status: String(status) } },
    String(status || 'unknown'),
    extraText ? h('span', { class: 'badge-extra' }, extraText) : null,
  );
}

export function httpStatusClass(code) {
  if (typeof code !== 'number') {
    return 'http-none';
  }
  if (code >= 200 && code < 300) {
    return 'http-2xx';
  }
  if (code >= 300 && code < 400) {
    return 'http-3xx';
  }
  return code >= 500 ? 'http-5xx' : 'http-4xx';
}

export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    return '—';
  }
  if (n < 1024) {
    return `${n} B`;
  }
  if (n < 1024 * 1024) {
    return `${(n / 1024).toFixed(1)} KiB`;
  }
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    return '—';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

// Bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066
// to U+2069) and invisible characters (U+00AD, U+200B to U+200D, U+2060,
// U+FEFF). They reorder or hide the text around them, so that
// "bk_<U+202E>gnp.exe" reads as "bk_exe.png". Also the other
// default-ignorable and blank-looking characters that can hide text: U+034F, U+115F, U+1160, U+17B4, U+17B5, U+180B to U+180F,
// U+2061 to U+2064, U+2800, U+3164, U+FFA0, U+FFF9 to U+FFFB and the tag
// characters U+E0000 to U+E007F.
const HIDDEN_CHAR =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u2800\u3164\uFEFF\uFFA0\uFFF9-\uFFFB\u{E0000}-\u{E007F}]/u;
const HIDDEN_CHARS = new RegExp(HIDDEN_CHAR.source, 'gu');

/**
 * Returns text with each bidirectional control or invisible character
 * replaced by a marked \uXXXX escape, as a DocumentFragment, or the text
 * itself when it has none. It is for display only, so copy buttons and
 * downloads must use the original text.
 */
export function visibleText(text) {
  if (!HIDDEN_CHAR.test(text)) {
    return text;
  }
  const fragment = document.createDocumentFragment();
  let start = 0;
  for (const match of text.matchAll(HIDDEN_CHARS)) {
    fragment.append(text.slice(start, match.index));
    const hex = match[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    fragment.append(h('span', { class: 'hidden-char', title: `U+${hex}: invisible or text direction character`, dataset: { char: hex } }, escapeOf(match[0])));
    start = match.index + match[0].length;
  }
  fragment.append(text.slice(start));
  return fragment;
}

/**
 * Returns the JavaScript escape of one character: \uXXXX, or \u{XXXXX}
 * above U+FFFF, where four digits would read as another character and a
 * digit.
 */
function escapeOf(character) {
  const hex = character.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
  return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex}`;
}

/** Returns text with each character that visibleText() marks escaped, for attributes. */
export function escapeHidden(text) {
  return String(text).replace(HIDDEN_CHARS, escapeOf);
}

/** Creates code() for text from a request, with hidden characters marked as visibleText() does. */
export function visibleCode(text, extraClass = '') {
  return h('code', { class: `mono ${extraClass}`.trim(), title: escapeHidden(text) }, visibleText(String(text)));
}

/** Creates a monospace identifier with its full value in the title, for cut-off ids. */
export function code(text, extraClass = '') {
  return h('code', { class: `mono ${extraClass}`.trim(), title: String(text) }, String(text));
}

/**
 * Creates a small button that copies `text` to the clipboard and confirms
 * it in its own label, which screen readers announce. `accessibleName`
 * replaces the default name, "label: text".
 */
// Longest copied text that the button's accessible name repeats; a screen
// reader would read a whole payload otherwise.
const COPY_LABEL_TEXT_MAX = 80;

export function copyButton(text, label = 'Copy', accessibleName = null) {
  const name = accessibleName || (text.length <= COPY_LABEL_TEXT_MAX ? `${label}: ${text}` : label);
  const button = h('button', { type: 'button', class: 'button-ghost button-small copy', 'aria-label': name }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
    setTimeout(() => {
      button.textContent = label;
    }, 1500);
  });
  return button;
}
