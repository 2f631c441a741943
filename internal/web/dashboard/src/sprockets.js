// The sprocket catalogue: a table, a create form and an edit form per row,
// over the GraphQL mutations. The server's validation errors (BAD_USER_INPUT
// with extensions.field) are shown next to their fields.

import { h, byId, fmtNumber } from './dom.js';
import { fieldKey } from './api.js';

const NODE = 'id rowId teeth pitchDiameter outsideDiameter pitch';

export const SPROCKETS = `query Sprockets {
  sprockets(first: 1000) { totalCount edges { node { ${NODE} } } }
}`;
export const CREATE = `mutation CreateSprocket($input: SprocketInput!) {
  createSprocket(input: $input) { ${NODE} }
}`;
export const UPDATE = `mutation UpdateSprocket($id: ID!, $input: SprocketPatch!) {
  updateSprocket(id: $id, input: $input) { ${NODE} }
}`;

/** FIELDS are the form's inputs, in the API's names. */
export const FIELDS = [
  { name: 'teeth', label: 'Teeth', integer: true },
  { name: 'pitchDiameter', label: 'Pitch diameter' },
  { name: 'outsideDiameter', label: 'Outside diameter' },
  { name: 'pitch', label: 'Pitch' },
];

/**
 * check reads the form's values: the obvious mistakes (empty, not a number,
 * teeth not whole) are caught here; ranges are the server's to judge, and
 * its messages are shown as they come.
 */
export function check(raw) {
  const values = {};
  const errors = new Map();
  for (const f of FIELDS) {
    const text = String(raw[f.name] ?? '').trim();
    if (text === '') {
      errors.set(f.name, 'Required.');
      continue;
    }
    const n = Number(text);
    if (!Number.isFinite(n)) {
      errors.set(f.name, 'Enter a number.');
    } else if (f.integer && !Number.isInteger(n)) {
      errors.set(f.name, 'Enter a whole number.');
    } else {
      values[f.name] = n;
    }
  }
  return { values, errors };
}

/**
 * sprocketForm builds a create or edit form. onSubmit(values) returns a
 * promise; its ApiError is shown on the form.
 */
function sprocketForm({ prefix, values = {}, submitLabel, onSubmit, onCancel, openToken }) {
  const inputs = new Map();
  const errorEls = new Map();
  const formError = h('p', { class: 'form-error', role: 'alert', id: `${prefix}-form-error` });
  const ok = h('p', { class: 'form-ok', role: 'status' });
  const submit = h('button', { type: 'submit' }, submitLabel);
  const fields = FIELDS.map((f) => {
    const id = `${prefix}-${f.name}`;
    const input = h('input', {
      id,
      name: f.name,
      type: 'text',
      inputmode: f.integer ? 'numeric' : 'decimal',
      autocomplete: 'off',
      required: true,
      'aria-describedby': `${id}-error`,
      value: values[f.name] == null ? '' : String(values[f.name]),
    });
    const err = h('p', { class: 'field-error', id: `${id}-error` });
    inputs.set(f.name, input);
    errorEls.set(f.name, err);
    return h('div', { class: 'field' }, h('label', { for: id }, f.label), input, err);
  });
  const form = h(
    'form',
    { class: 'sprocket-form', id: `${prefix}-form`, novalidate: true },
    h('div', { class: 'fields' }, fields),
    h(
      'div',
      { class: 'buttons' },
      submit,
      onCancel ? h('button', { type: 'button', class: 'secondary', onclick: onCancel }, 'Cancel') : null,
    ),
    formError,
    ok,
  );

  function setErrors(map) {
    let first = null;
    for (const f of FIELDS) {
      const msg = map.get(f.name) ?? '';
      errorEls.get(f.name).textContent = msg;
      const input = inputs.get(f.name);
      if (msg) {
        input.setAttribute('aria-invalid', 'true');
        first ??= input;
      } else {
        input.removeAttribute('aria-invalid');
      }
    }
    return first;
  }

  function showApiError(err) {
    const byKey = err.fieldErrors();
    const mapped = new Map();
    const rest = [];
    for (const [key, msg] of byKey) {
      const f = FIELDS.find((x) => fieldKey(x.name) === key);
      if (f) mapped.set(f.name, msg);
      else rest.push(msg);
    }
    const first = setErrors(mapped);
    if (err.unauthenticated) {
      formError.replaceChildren(
        h('strong', null, 'Not saved: the server needs a valid API token (UNAUTHENTICATED). '),
        err.message,
        ' ',
        h('button', { type: 'button', class: 'secondary', onclick: openToken }, 'Set the API token'),
      );
    } else if (mapped.size === 0 || rest.length > 0) {
      formError.textContent = `Not saved: ${rest.length ? rest.join(' ') : err.message}`;
    } else {
      formError.textContent = '';
    }
    first?.focus();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    ok.textContent = '';
    formError.textContent = '';
    const raw = Object.fromEntries(FIELDS.map((f) => [f.name, inputs.get(f.name).value]));
    const { values: parsed, errors } = check(raw);
    if (errors.size > 0) {
      setErrors(errors)?.focus();
      return;
    }
    setErrors(new Map());
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const message = await onSubmit(parsed);
      if (message) ok.textContent = message;
    } catch (err) {
      if (typeof err?.fieldErrors === 'function') showApiError(err);
      else formError.textContent = `Not saved: ${err?.message ?? err}`;
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  return {
    el: form,
    reset() {
      for (const input of inputs.values()) input.value = '';
      setErrors(new Map());
    },
    focus() {
      inputs.get(FIELDS[0].name).focus();
    },
  };
}

export function createSprockets({ api, openToken }) {
  const body = byId('sprockets-body');
  const status = byId('sprockets-status');
  const createHost = byId('create-sprocket');
  /** @type {Map<string, object>} id -> node */
  const rows = new Map();
  let state = 'idle';
  let editing = null; // {id, tr, button}
  let tbody = null;

  const create = sprocketForm({
    prefix: 'create',
    submitLabel: 'Add sprocket',
    openToken,
    onSubmit: async (input) => {
      const data = await api('CreateSprocket', CREATE, { input });
      const node = data.createSprocket;
      rows.set(node.id, node);
      render(node.id);
      create.reset();
      return `Sprocket ${node.rowId} added.`;
    },
  });
  createHost.append(create.el);

  // Catalogue values are shown as stored, unrounded.
  function cells(node) {
    return [String(node.rowId), ...FIELDS.map((f) => String(node[f.name]))].map((v) => h('td', null, v));
  }

  function closeEdit(focus) {
    if (!editing) return;
    const { tr, button } = editing;
    editing = null;
    tr.remove();
    button.setAttribute('aria-expanded', 'false');
    if (focus) button.focus();
  }

  function openEdit(node, row, button) {
    const wasSame = editing?.id === node.id;
    closeEdit(false);
    if (wasSame) {
      button.focus();
      return;
    }
    const prefix = `edit-${node.rowId}`;
    const form = sprocketForm({
      prefix,
      values: node,
      submitLabel: 'Save',
      openToken,
      onCancel: () => closeEdit(true),
      onSubmit: async (input) => {
        const data = await api('UpdateSprocket', UPDATE, { id: node.id, input });
        const updated = data.updateSprocket;
        rows.set(updated.id, updated);
        closeEdit(false);
        render(updated.id);
        status.textContent = `Sprocket ${updated.rowId} saved.`;
        tbody.querySelector(`tr[data-id="${CSS.escape(updated.id)}"] button`)?.focus();
        return '';
      },
    });
    const tr = h(
      'tr',
      { class: 'edit-row', id: `${prefix}-row` },
      h('td', { colspan: 6 }, h('h4', { class: 'sr-only' }, `Edit sprocket ${node.rowId}`), form.el),
    );
    row.after(tr);
    button.setAttribute('aria-expanded', 'true');
    button.setAttribute('aria-controls', tr.id);
    editing = { id: node.id, tr, button };
    form.focus();
  }

  function render(highlight) {
    closeEdit(false);
    const nodes = [...rows.values()].sort((a, b) => Number(a.rowId) - Number(b.rowId));
    if (nodes.length === 0) {
      tbody = null;
      body.replaceChildren(
        h('div', { class: 'state' }, h('p', null, h('strong', null, 'No sprockets yet.')), h('p', null, 'Add the first with the form below.')),
      );
      return;
    }
    tbody = h(
      'tbody',
      null,
      nodes.map((node) => {
        const tr = h('tr', { 'data-id': node.id, 'data-row-id': node.rowId, class: node.id === highlight ? 'just-changed' : null }, cells(node));
        const button = h(
          'button',
          { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-label': `Edit sprocket ${node.rowId}` },
          'Edit',
        );
        button.addEventListener('click', () => openEdit(node, tr, button));
        tr.append(h('td', { class: 'actions' }, button));
        return tr;
      }),
    );
    body.replaceChildren(
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'sprocket-table' },
          h('caption', { class: 'sr-only' }, 'Sprocket catalogue'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'ID'),
              FIELDS.map((f) => h('th', { scope: 'col' }, f.label)),
              h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
            ),
          ),
          tbody,
        ),
      ),
    );
  }

  async function load() {
    state = 'loading';
    status.textContent = 'Loading sprockets…';
    try {
      const data = await api('Sprockets', SPROCKETS);
      rows.clear();
      for (const e of data.sprockets.edges ?? []) if (e?.node) rows.set(e.node.id, e.node);
      const total = Number(data.sprockets.totalCount ?? rows.size);
      status.textContent =
        total > rows.size ? `Showing the first ${fmtNumber(rows.size)} of ${fmtNumber(total)} sprockets.` : '';
      state = 'ready';
      render();
    } catch (err) {
      state = 'error';
      status.textContent = '';
      body.replaceChildren(
        h(
          'div',
          { class: 'state error', role: 'alert' },
          h('p', { class: 'message' }, `Could not load the sprockets: ${err.message}`),
          h('button', { type: 'button', onclick: () => load() }, 'Retry'),
        ),
      );
    }
  }

  return {
    load,
    get state() {
      return state;
    },
    rows: () => [...rows.values()],
  };
}
