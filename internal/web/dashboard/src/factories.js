// The factory cards: all of them load in one GraphQL request, each chart's
// series sized to its plot area's width in CSS pixels; a range picker
// refetches; drag-to-zoom fetches one factory's window.

import { h, byId, fmtNumber, fmtTime, isoSeconds, localInput, fromLocalInput, debounce } from './dom.js';
import { Card, plotAreaWidth, PLOT_HEIGHT } from './card.js';

/** MAX_CARDS is how many factories the page shows (the API's page is at most 1000). */
export const MAX_CARDS = 100;

// One request for every card: the summary and the series of each factory
// over the same window, at the same resolution (the cards are as wide as
// each other). The server computes both in SQL for all factories at once.
export const DASHBOARD = `query Dashboard($first: Int!, $from: Time, $to: Time, $maxDataPoints: Int!, $aggregate: Aggregate!) {
  factories(first: $first) {
    totalCount
    edges {
      node {
        id
        rowId
        name
        summary(from: $from, to: $to) { count totalActual totalGoal attainment }
        series(from: $from, to: $to, maxDataPoints: $maxDataPoints, aggregate: $aggregate) { interval epochs actual goal }
      }
    }
  }
}`;

// The latest stored point of the factories shown: where the last hour (day,
// week) ends. Stored data can be old (the seed data is from January 2021),
// and a window ending now would show none of it.
export const LATEST = `query DashboardLatest($first: Int!) {
  factories(first: $first) {
    edges { node { id latest: summary { lastTime } } }
  }
}`;

// A zoom: one factory's window at the chart's resolution. With fewer raw
// points in the window than the plot has pixels, every bucket holds at most
// one point, so the chart shows the raw points; with more, one value per
// pixel, which is all the chart can draw.
export const ZOOM = `query Zoom($id: ID!, $from: Time!, $to: Time!, $maxDataPoints: Int!, $aggregate: Aggregate!) {
  node(id: $id) {
    ... on Factory {
      id
      series(from: $from, to: $to, maxDataPoints: $maxDataPoints, aggregate: $aggregate) { interval epochs actual goal }
    }
  }
}`;

/**
 * AGGREGATES are the lines the chart can draw. M4 (the default) keeps the
 * first, last, lowest and highest point of every bucket at their own times,
 * so a spike among a million points is still drawn; AVG would hide it.
 */
export const AGGREGATES = ['M4', 'LTTB', 'AVG', 'MIN', 'MAX'];
export const DEFAULT_AGGREGATE = 'M4';

const SPANS = { hour: 3600, day: 86400, week: 7 * 86400 };

/**
 * windowOf is the window [from, to) in epoch seconds of a range; null bounds
 * are open. The last hour (day, week) ends with latest, the newest stored
 * point's epoch second (included), or now when nothing is stored.
 */
export function windowOf(range, latest = null, nowMs = Date.now()) {
  const end = (latest ?? Math.floor(nowMs / 1000)) + 1; // to is exclusive: include that second
  if (range.kind in SPANS) return { from: end - SPANS[range.kind], to: end, sliding: true, anchored: latest != null };
  if (range.kind === 'custom') return { from: range.from, to: range.to };
  return { from: null, to: null };
}

/** maxDataPoints is the resolution asked for a plot area w pixels wide: at least 50, at most the API's 10000. */
export function maxDataPoints(w) {
  return Math.min(10000, Math.max(50, Math.round(w)));
}

export function createFactories({ api, live }) {
  const grid = byId('cards');
  const status = byId('factories-status');
  const form = byId('range-form');
  const customFields = byId('range-custom-fields');
  const fromInput = byId('range-from');
  const toInput = byId('range-to');
  const rangeError = byId('range-error');
  const rangeNote = byId('range-note');
  // Each factory's latest stored point (epoch seconds, null: none), when
  // the range asked for them: what an empty card says.
  let latestById = new Map();
  const aggregateSelect = byId('aggregate');

  /** @type {Map<string, Card>} */
  const cards = new Map();
  let range = { kind: 'all' };
  let aggregate = AGGREGATES.includes(aggregateSelect?.value) ? aggregateSelect.value : DEFAULT_AGGREGATE;
  let state = 'idle'; // loading, ready, empty, error
  let seq = 0;
  let lastWidth = 0; // the plot width the cards were fetched for
  let lastError = null;

  const ctx = {
    zoom: async (card, from, to) => {
      const data = await api('Zoom', ZOOM, {
        id: card.id,
        from: isoSeconds(from),
        to: isoSeconds(to),
        maxDataPoints: maxDataPoints(card.plotWidth()),
        aggregate,
      });
      if (!data.node) throw new Error('the factory no longer exists');
      return data.node.series;
    },
  };

  function skeleton() {
    return h(
      'div',
      { class: 'card skeleton', 'aria-hidden': 'true' },
      h('div', { class: 'bar' }),
      h('div', { class: 'bar small' }),
      h('div', { class: 'plot' }),
    );
  }

  /** plotWidth measures the plot area a card has now (a skeleton's when there is no card). */
  function plotWidth() {
    let el = grid.querySelector('.card .plot');
    let probe = null;
    if (!el) {
      probe = skeleton();
      grid.append(probe);
      el = probe.querySelector('.plot');
    }
    const w = plotAreaWidth(el.clientWidth);
    probe?.remove();
    return w;
  }

  function showState(kind, ...content) {
    for (const c of cards.values()) c.destroy();
    cards.clear();
    grid.replaceChildren(h('div', { class: `state ${kind}`, role: kind === 'error' ? 'alert' : null }, ...content));
  }

  /** load fetches every card for the current range. */
  async function load() {
    const mine = ++seq;
    state = 'loading';
    lastError = null;
    grid.setAttribute('aria-busy', 'true');
    status.textContent = 'Loading factories…';
    if (cards.size === 0) grid.replaceChildren(skeleton(), skeleton(), skeleton());
    const width = plotWidth();
    let data;
    let win;
    try {
      let latest = null;
      latestById = new Map();
      if (range.kind in SPANS) {
        const found = await api('DashboardLatest', LATEST, { first: MAX_CARDS });
        for (const e of found.factories.edges ?? []) {
          const t = e?.node?.latest?.lastTime;
          if (!e?.node) continue;
          latestById.set(e.node.id, t == null ? null : Date.parse(t) / 1000);
          if (t != null) latest = Math.max(latest ?? -Infinity, Date.parse(t) / 1000);
        }
        if (mine !== seq) return;
      }
      win = windowOf(range, latest);
      rangeNote.hidden = !win.sliding;
      rangeNote.textContent = !win.sliding
        ? ''
        : win.anchored
          ? `The last ${range.kind} of stored data: up to the latest point, ${fmtTime(win.to - 1)}.`
          : `No point is stored yet: the last ${range.kind} up to now.`;
      data = await api('Dashboard', DASHBOARD, {
        first: MAX_CARDS,
        from: win.from == null ? null : isoSeconds(win.from),
        to: win.to == null ? null : isoSeconds(win.to),
        maxDataPoints: maxDataPoints(width),
        aggregate,
      });
    } catch (err) {
      if (mine !== seq) return;
      state = 'error';
      lastError = err;
      grid.setAttribute('aria-busy', 'false');
      status.textContent = '';
      showState(
        'error',
        h('p', { class: 'message' }, `Could not load the factories: ${err.message}`),
        err.unauthenticated ? h('p', null, 'Set a valid API token (at the top of the page) and retry.') : null,
        h('button', { type: 'button', onclick: () => load() }, 'Retry'),
      );
      live.sync([]);
      return;
    }
    if (mine !== seq) return;
    lastWidth = width;
    render(data.factories, win);
  }

  function render(conn, win) {
    const nodes = (conn.edges ?? []).map((e) => e?.node).filter(Boolean);
    grid.setAttribute('aria-busy', 'false');
    if (nodes.length === 0) {
      state = 'empty';
      status.textContent = '';
      showState(
        'empty',
        h('p', null, h('strong', null, 'No factories yet.')),
        h(
          'p',
          null,
          'Create one with the GraphQL mutation ',
          h('code', null, 'createFactory'),
          ' or with ',
          h('code', null, 'POST /v1/factories'),
          '; it appears here when you reload or retry.',
        ),
        h('button', { type: 'button', onclick: () => load() }, 'Check again'),
      );
      live.sync([]);
      return;
    }
    // Drop what is not a card (skeletons, states) and cards of factories gone.
    for (const el of [...grid.children]) if (!el.classList.contains('card') || el.classList.contains('skeleton')) el.remove();
    const ids = new Set(nodes.map((n) => n.id));
    for (const [id, c] of cards) {
      if (!ids.has(id)) {
        c.destroy();
        cards.delete(id);
      }
    }
    for (const node of nodes) {
      let c = cards.get(node.id);
      if (!c) {
        c = new Card(node, ctx);
        cards.set(node.id, c);
      }
      grid.append(c.el); // in the server's order
      // Unknown (undefined) unless the range asked, or the card shows the
      // whole series and it is empty.
      const whole = win.from == null && win.to == null;
      const latest = latestById.has(node.id) ? latestById.get(node.id) : whole && Number(node.summary.count) === 0 ? null : undefined;
      c.update(node, win, latest);
    }
    state = 'ready';
    const total = Number(conn.totalCount ?? nodes.length);
    status.textContent =
      total > nodes.length
        ? `Showing the first ${fmtNumber(nodes.length)} of ${fmtNumber(total)} factories.`
        : `${fmtNumber(nodes.length)} ${nodes.length === 1 ? 'factory' : 'factories'}.`;
    live.sync([...cards.keys()]);
  }

  /** addPoint takes a live point of a factory. */
  function addPoint(id, p) {
    cards.get(id)?.addPoint(p);
  }

  // The range picker: presets refetch at once; custom waits for its form.
  function selected() {
    return form.querySelector('input[name="range"]:checked')?.value ?? 'all';
  }
  // The aggregate control refetches every card with the chosen line.
  aggregateSelect?.addEventListener('change', () => {
    if (!AGGREGATES.includes(aggregateSelect.value) || aggregateSelect.value === aggregate) return;
    aggregate = aggregateSelect.value;
    load();
  });
  form.addEventListener('change', (e) => {
    if (e.target.name !== 'range') return;
    const kind = selected();
    customFields.hidden = kind !== 'custom';
    rangeError.textContent = '';
    if (kind === 'custom') {
      // Start from what the charts show.
      let lo = Infinity;
      let hi = -Infinity;
      for (const c of cards.values()) {
        const t = c.data()[0];
        if (t.length) {
          lo = Math.min(lo, t[0]);
          hi = Math.max(hi, t.at(-1));
        }
      }
      const now = Math.floor(Date.now() / 1000);
      if (!fromInput.value) fromInput.value = localInput(Number.isFinite(lo) ? lo : now - 86400);
      if (!toInput.value) toInput.value = localInput(Number.isFinite(hi) ? hi + 1 : now);
      return;
    }
    range = { kind };
    load();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (selected() !== 'custom') return;
    const from = fromLocalInput(fromInput.value);
    const to = fromLocalInput(toInput.value);
    fromInput.removeAttribute('aria-invalid');
    toInput.removeAttribute('aria-invalid');
    if (!Number.isFinite(from) || !Number.isFinite(to)) {
      rangeError.textContent = 'Give both a start and an end.';
      (Number.isFinite(from) ? toInput : fromInput).setAttribute('aria-invalid', 'true');
      return;
    }
    if (to <= from) {
      rangeError.textContent = 'The end must be after the start.';
      toInput.setAttribute('aria-invalid', 'true');
      return;
    }
    rangeError.textContent = '';
    range = { kind: 'custom', from, to };
    load();
  });

  // Cards follow the page's width; a much wider or narrower plot refetches
  // at the new resolution.
  const refetchForWidth = debounce(() => {
    if (state !== 'ready' || lastWidth === 0) return;
    const w = plotWidth();
    if (Math.abs(w - lastWidth) / lastWidth > 0.25) load();
  }, 400);
  const resize = debounce(() => {
    for (const c of cards.values()) c.resize();
    refetchForWidth();
  }, 100);
  new ResizeObserver(resize).observe(grid);

  // Canvas colours are read once per chart: redraw on a theme change.
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    for (const c of cards.values()) c.retheme();
  });

  return {
    load,
    addPoint,
    get state() {
      return state;
    },
    get error() {
      return lastError;
    },
    get range() {
      return { ...range };
    },
    get aggregate() {
      return aggregate;
    },
    cards: () => [...cards.values()],
    card: (rowId) => [...cards.values()].find((c) => c.rowId === rowId),
    plotWidth,
    PLOT_HEIGHT,
  };
}
