// The confirmation dialog of actions that change something, and the status
// line that reports their results. The dialog is a modal <dialog>, so the
// focus stays inside it and Escape cancels.

import { byId, h, replaceChildren } from './dom.js';

const STATUS_CLEAR_MS = 12000;

const dialog = byId('confirm-dialog');
const title = byId('confirm-title');
const message = byId('confirm-message');
const extra = byId('confirm-extra');
const okButton = byId('confirm-ok');
const cancelButton = byId('confirm-cancel');
const form = byId('confirm-form');
const statusLine = byId('action-status');

let pending = null;
let statusTimer = null;

function finish(confirmed) {
  const resolve = pending;
  pending = null;
  if (dialog.open) {
    dialog.close();
  }
  resolve?.(confirmed);
}

form.addEventListener('submit', (submit) => {
  submit.preventDefault();
  finish(true);
});
cancelButton.addEventListener('click', () => finish(false));
// Escape fires "cancel" and then "close", so the close handler covers both.
// close() only queues the event, so it can arrive after the next
// confirmation opened the dialog again. That confirmation must stay open.
dialog.addEventListener('close', () => {
  if (!dialog.open) {
    finish(false);
  }
});

/**
 * Asks the user to confirm an action. Resolves to true when confirmed,
 * false when cancelled. `content` is an optional node with inputs that the
 * caller reads after confirmation.
 */
export function confirmAction({ heading, text, confirmLabel = 'Confirm', content = null, danger = false }) {
  if (pending) {
    finish(false);
  }
  replaceChildren(title, heading);
  replaceChildren(message, text);
  replaceChildren(extra, content);
  okButton.textContent = confirmLabel;
  okButton.classList.toggle('button-danger', danger);
  const opener = document.activeElement;
  return new Promise((resolve) => {
    pending = (confirmed) => {
      if (opener instanceof HTMLElement && opener.isConnected) {
        opener.focus();
      }
      resolve(confirmed);
    };
    dialog.showModal();
    // Cancel gets the focus, so an Enter pressed twice on the opener does
    // not confirm the action it opened.
    (content?.querySelector('select, input, textarea') || cancelButton).focus();
  });
}

const NOTICE_CLASS = { ok: 'notice notice-ok', info: 'notice notice-info', error: 'notice notice-error' };

/** Shows a message in the status line. `kind` is "ok", "info" or "error". */
export function announce(text, kind = 'ok') {
  clearTimeout(statusTimer);
  replaceChildren(statusLine, h('div', { class: NOTICE_CLASS[kind] || NOTICE_CLASS.error, dataset: { kind } }, text));
  statusTimer = setTimeout(() => statusLine.replaceChildren(), STATUS_CLEAR_MS);
}

/** Returns the message for a failed action, with a clear text for 403. */
export function actionError(action, err) {
  if (err.status === 403) {
    return `${action} is not allowed for this session: ${err.detail || err.title}`;
  }
  if (err.status === 404 && !err.code) {
    return `${action} failed: the inspector does not serve this action (HTTP 404).`;
  }
  if (err.field) {
    return `${action} failed: ${err.field}: ${err.detail || err.title}`;
  }
  return `${action} failed: ${err.message}`;
}
