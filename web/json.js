// Pretty-printing of JSON text for display. The printer re-indents the
// tokens of the original text instead of printing JSON.parse output, so
// numbers beyond double precision, string escapes, key order and duplicate
// keys appear exactly as they were published.

import { h, visibleText } from './dom.js';

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const PUNCTUATION = new Set(['{', '}', '[', ']', ':', ',']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

// Above this many tokens the output is plain text: thousands of spans make
// the page slow and add little.
const HIGHLIGHT_MAX_TOKENS = 20000;

function tokenize(text) {
  const tokens = [];
  let i = 0;

  while (i < text.length) {
    const c = text[i];
    if (WHITESPACE.has(c)) {
      i++;
    } else if (PUNCTUATION.has(c)) {
      tokens.push({ kind: c, text: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        j += text[j] === '\\' ? 2 : 1;
      }
      tokens.push({ kind: 'string', text: text.slice(i, j + 1) });
      i = j + 1;
    } else {
      const pattern = c === '-' || (c >= '0' && c <= '9') ? NUMBER : LITERAL;
      pattern.lastIndex = i;
      const match = pattern.exec(text);
      if (!match) {
        throw new SyntaxError(`unexpected character at offset ${i}`);
      }
      tokens.push({ kind: pattern === NUMBER ? 'number' : match[0], text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

/** Deepest nesting that is still indented; deeper levels share its margin. */
const MAX_INDENT = 32;
/** Deepest nesting that is pretty-printed at all; deeper text is shown raw. */
const MAX_PRETTY_DEPTH = 512;
/** Largest payload that is pretty-printed; larger ones are shown raw. */
const MAX_PRETTY_BYTES = 4 * 1024 * 1024;

/**
 * Returns the text re-indented by two spaces as [text, class] segments,
 * or null when the text is not valid JSON.
 */
export function prettySegments(text) {
  if (text.length > MAX_PRETTY_BYTES) {
    return null;
  }
  try {
    JSON.parse(text);
  } catch {
    return null;
  }

  const tokens = tokenize(text);
  const segments = [];
  let depth = 0;
  // Indentation stops growing past MAX_INDENT levels: each line would
  // otherwise repeat the depth, which makes output quadratic in the
  // nesting of hostile payloads.
  const newline = () => `\n${'  '.repeat(Math.min(depth, MAX_INDENT))}`;

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const next = tokens[i + 1];

    switch (token.kind) {
      case '{':
      case '[':
        if (next && (next.kind === '}' || next.kind === ']')) {
          segments.push([token.text + next.text, 'json-punct']);
          i++;
        } else {
          depth++;
          if (depth > MAX_PRETTY_DEPTH) {
            return null;
          }
          segments.push([token.text, 'json-punct'], [newline(), null]);
        }
        break;
      case '}':
      case ']':
        depth--;
        segments.push([newline(), null], [token.text, 'json-punct']);
        break;
      case ',':
        segments.push([',', 'json-punct'], [newline(), null]);
        break;
      case ':':
        segments.push([':', 'json-punct'], [' ', null]);
        break;
      case 'string':
        segments.push([token.text, next && next.kind === ':' ? 'json-key' : 'json-string']);
        break;
      case 'number':
        segments.push([token.text, 'json-number']);
        break;
      default:
        segments.push([token.text, token.kind === 'null' ? 'json-null' : 'json-boolean']);
    }
  }
  return segments;
}

/** Returns the pretty-printed text, or null when the text is not JSON. */
export function prettyText(text) {
  const segments = prettySegments(text);
  return segments ? segments.map((segment) => segment[0]).join('') : null;
}

/**
 * Creates a <pre> with the pretty-printed, highlighted JSON, or null when
 * the text is not JSON. Bidirectional controls and invisible characters
 * appear as marked escapes (visibleText).
 */
export function prettyElement(text, props = {}) {
  const segments = prettySegments(text);
  if (!segments) {
    return null;
  }

  const pre = h('pre', { class: 'code-block json', ...props });
  if (segments.length > HIGHLIGHT_MAX_TOKENS) {
    pre.append(visibleText(segments.map((segment) => segment[0]).join('')));
    return pre;
  }
  for (const [segmentText, className] of segments) {
    if (className) {
      pre.append(h('span', { class: className }, visibleText(segmentText)));
    } else {
      pre.append(document.createTextNode(segmentText));
    }
  }
  return pre;
}
