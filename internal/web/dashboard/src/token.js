// The API token: kept in localStorage, edited in the header's form.

import { byId } from './dom.js';

const KEY = 'sprocket.dashboard.apiToken';

/** createToken returns the token store: get(), set(value), onChange(fn). */
export function createToken() {
  let value = '';
  try {
    value = localStorage.getItem(KEY) ?? '';
  } catch {
    // Storage can be off (privacy settings); the token then lasts a page.
  }
  const listeners = [];
  return {
    get: () => value,
    set(v) {
      value = String(v ?? '').trim();
      try {
        if (value) localStorage.setItem(KEY, value);
        else localStorage.removeItem(KEY);
      } catch {
        // See above.
      }
      for (const fn of listeners) fn(value);
    },
    onChange(fn) {
      listeners.push(fn);
    },
  };
}

/** bindTokenForm wires the header's token form to the store. */
export function bindTokenForm(token) {
  const form = byId('token-form');
  const input = byId('token-input');
  const state = byId('token-state');
  const box = byId('token-box');
  const show = () => {
    state.textContent = token.get() ? '(set)' : '(not set)';
  };
  input.value = token.get();
  show();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    token.set(input.value);
    input.value = token.get();
    show();
  });
  byId('token-clear').addEventListener('click', () => {
    input.value = '';
    token.set('');
    show();
    input.focus();
  });
  return {
    /** open opens the token box and focuses its input. */
    open() {
      box.open = true;
      input.focus();
    },
  };
}
