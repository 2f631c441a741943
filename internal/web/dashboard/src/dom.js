// Small DOM helpers. Text always goes in through textContent (h's string
// children), never as HTML: factory names and server messages are data.

/**
 * h creates an element: h('button', {type: 'button', onclick: fn}, 'Text').
 * A prop that is null, undefined or false is left out; true sets an empty
 * attribute; on* props with a function add a listener.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'value') {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** byId returns the element with the id, or throws (the page is ours). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: no #${id} in the page`);
  return el;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** fmtNumber writes a count or measure with at most two decimals. */
export const fmtNumber = (n) => numberFormat.format(n);
/** fmtPercent writes a ratio (1 = 100 %). */
export const fmtPercent = (r) => percentFormat.format(r);
/** fmtTime writes epoch seconds as a local date and time. */
export const fmtTime = (s) => timeFormat.format(new Date(s * 1000));

/** isoSeconds writes epoch seconds as the API's Time: RFC 3339 in UTC. */
export function isoSeconds(s) {
  return new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** localInput writes epoch seconds for a datetime-local input. */
export function localInput(s) {
  const d = new Date(s * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** fromLocalInput reads a datetime-local value (local time) as epoch seconds, or NaN. */
export function fromLocalInput(v) {
  if (!v) return NaN;
  return Math.floor(new Date(v).getTime() / 1000);
}

/** debounce calls fn once calls stop coming for ms. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
