// A factory's card: name, attainment, totals and a uPlot chart of actual
// vs goal, with drag-to-zoom (a windowed series fetch) and live points.

import uPlot from 'uplot';
import { h, fmtNumber, fmtPercent, fmtTime } from './dom.js';

/** PLOT_HEIGHT is the chart's height in CSS pixels. */
export const PLOT_HEIGHT = 200;
/** Y_AXIS_SIZE and the padding fix the plot area: the chart's width less these. */
export const Y_AXIS_SIZE = 48;
const PAD_RIGHT = 14;
const PAD_TOP = 10;

/** measure is a canvas context for text widths. */
let measure = null;

/**
 * fitTimeLabels wraps the time axis's label function: a label that would
 * cross the chart's edge is left out (its tick and grid line stay). uPlot
 * centres each label on its tick, and the axis often ends at a round time
 * (a window ending at the latest point) whose label had only PAD_RIGHT to
 * its right and was cut.
 */
function fitTimeLabels(u) {
  const ax = u.axes[0];
  const labels = ax.values;
  ax.values = (self, splits, ...rest) => {
    const out = labels(self, splits, ...rest);
    measure ??= document.createElement('canvas').getContext('2d');
    measure.font = ax.font[0];
    const lo = -Y_AXIS_SIZE;
    const hi = self.bbox.width / uPlot.pxRatio + PAD_RIGHT;
    return out.map((text, i) => {
      if (text == null || splits[i] == null) return text;
      const half = Math.max(...String(text).split('\n').map((l) => measure.measureText(l).width)) / 2 / uPlot.pxRatio;
      const x = self.valToPos(splits[i], 'x');
      return x - half < lo || x + half > hi ? null : text;
    });
  };
}

/** plotAreaWidth is the width of the plot area of a chart drawn width CSS pixels wide. */
export function plotAreaWidth(width) {
  return Math.max(0, Math.floor(width) - Y_AXIS_SIZE - PAD_RIGHT);
}

/** theme reads the chart colours off the page's custom properties. */
export function theme() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    actual: v('--actual'),
    actualFill: v('--actual-fill'),
    goal: v('--goal'),
    grid: v('--grid'),
    axis: v('--axis'),
  };
}

/** columns turns a Series into uPlot's data: [times, actual, goal]. */
export function columns(series) {
  return [series.epochs.map(Number), series.actual.slice(), series.goal.slice()];
}

/**
 * inWindow reports whether epoch second t is in the half-open window; a
 * sliding window (last hour, day, week) has no end for live points.
 */
export function inWindow(win, t) {
  return (win.from == null || t >= win.from) && (win.to == null || win.sliding || t < win.to);
}

/** insertPoint puts a point into columns, in time order; a point at a time already there replaces it. */
function insertPoint(data, t, actual, goal) {
  const times = data[0];
  let i = times.length;
  while (i > 0 && times[i - 1] > t) i--;
  if (i > 0 && times[i - 1] === t) {
    data[1][i - 1] = actual;
    data[2][i - 1] = goal;
    return;
  }
  times.splice(i, 0, t);
  data[1].splice(i, 0, actual);
  data[2].splice(i, 0, goal);
}

function attainmentLevel(a) {
  if (a == null) return 'none';
  if (a >= 1) return 'good';
  if (a >= 0.9) return 'near';
  return 'low';
}

/**
 * Card is one factory. ctx: {zoom(card, from, to) → Promise, reset(card)}.
 */
export class Card {
  constructor(node, ctx) {
    this.id = node.id;
    this.rowId = node.rowId;
    this.ctx = ctx;
    this.plot = null;
    this.win = { from: null, to: null };
    this.rangeData = [[], [], []];
    this.zoom = null; // {from, to, data, loading}
    this.zoomSeq = 0;
    const key = `factory-${this.rowId}`;
    this.nameEl = h('h3', { id: `${key}-name` });
    this.valueEl = h('span', { class: 'value' });
    this.attEl = h('p', { class: 'attainment' }, this.valueEl, h('span', { class: 'label' }, 'attainment'));
    this.totalsEl = h('p', { class: 'totals' });
    this.plotEl = h('div', { class: 'plot', role: 'figure', tabindex: '-1' });
    this.emptyEl = h('div', { class: 'plot-empty', hidden: true }, 'No points in this range.');
    this.plotEl.append(this.emptyEl);
    this.zoomText = h('span');
    this.resetButton = h('button', { type: 'button', class: 'secondary', onclick: () => this.resetZoom() }, 'Reset zoom');
    this.zoomBar = h('div', { class: 'zoom-bar', hidden: true }, this.zoomText, this.resetButton);
    this.errorEl = h('p', { class: 'card-error', role: 'alert' });
    this.el = h(
      'article',
      { class: 'card', 'data-row-id': this.rowId, 'aria-labelledby': `${key}-name` },
      h('header', { class: 'card-head' }, this.nameEl, this.attEl),
      this.totalsEl,
      this.plotEl,
      this.zoomBar,
      this.errorEl,
    );
  }

  /** update shows the factory over the range window win (epoch seconds, null for open). */
  update(node, win, latest) {
    this.name = node.name;
    this.latest = latest; // the latest stored point; null: none; undefined: not known
    this.nameEl.textContent = node.name;
    this.summary = { ...node.summary };
    this.rangeData = columns(node.series);
    this.interval = Number(node.series.interval);
    this.win = win;
    this.zoom = null;
    this.zoomSeq++;
    this.errorEl.textContent = '';
    this.renderText();
    this.draw();
  }

  renderText() {
    const s = this.summary;
    const a = s.attainment;
    this.valueEl.textContent = a == null ? '—' : fmtPercent(a);
    this.attEl.dataset.level = attainmentLevel(a);
    this.attEl.title = a == null ? 'No goal in this range' : 'Actual ÷ goal over the range';
    const count = Number(s.count);
    this.totalsEl.textContent =
      `${fmtNumber(s.totalActual)} made of ${fmtNumber(s.totalGoal)} planned · ` +
      `${fmtNumber(count)} point${count === 1 ? '' : 's'}`;
    const d = this.data();
    const span = d[0].length ? `from ${fmtTime(d[0][0])} to ${fmtTime(d[0].at(-1))}` : 'with no points';
    this.plotEl.setAttribute(
      'aria-label',
      `Chart of actual and goal production of ${this.name}, ${d[0].length} values ${span}; attainment ${this.valueEl.textContent}.`,
    );
  }

  /** data is what the chart shows: the zoom window's when zoomed, else the range's. */
  data() {
    return this.zoom?.data ?? this.rangeData;
  }

  /** xRange is the time axis: the zoom window, else the range window, else the data. */
  xRange(dmin, dmax) {
    if (this.zoom) return [this.zoom.from, this.zoom.to];
    if (this.win.sliding) {
      // The last hour (day, week) up to the newest live point.
      const hi = Math.max(this.win.to, dmax ?? this.win.to);
      return [hi - (this.win.to - this.win.from), hi];
    }
    let lo = this.win.from ?? dmin;
    let hi = this.win.to != null ? Math.max(this.win.to, dmax ?? this.win.to) : dmax;
    if (lo == null || hi == null) {
      const now = Math.floor(Date.now() / 1000);
      return [now - 3600, now];
    }
    if (hi <= lo) {
      lo -= 60;
      hi += 60;
    }
    return [lo, hi];
  }

  options(width, t) {
    const axis = { stroke: t.axis, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 } };
    return {
      width,
      height: PLOT_HEIGHT,
      padding: [PAD_TOP, PAD_RIGHT, 0, 0],
      scales: {
        x: { time: true, range: (_u, min, max) => this.xRange(min, max) },
      },
      axes: [axis, { ...axis, size: Y_AXIS_SIZE }],
      series: [
        { label: 'Time', value: (_u, v) => (v == null ? '—' : fmtTime(v)) },
        { label: 'Actual', stroke: t.actual, fill: t.actualFill, width: 2, value: (_u, v) => (v == null ? '—' : fmtNumber(v)) },
        { label: 'Goal', stroke: t.goal, width: 2, dash: [6, 4], value: (_u, v) => (v == null ? '—' : fmtNumber(v)) },
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        // Double-click goes back to the range (uPlot's own would re-scale).
        bind: { dblclick: () => () => { this.resetZoom(); return null; } },
      },
      legend: { show: true, live: true },
      hooks: {
        init: [fitTimeLabels],
        setSelect: [
          (u) => {
            const { left, width: w } = u.select;
            if (w < 3) return;
            const from = u.posToVal(left, 'x');
            const to = u.posToVal(left + w, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.zoomTo(from, to);
          },
        ],
      },
    };
  }

  /** emptyText says why the chart has no point. */
  emptyText() {
    if (this.latest === null) return 'No points yet.';
    const w = this.zoom ?? this.win;
    if (this.latest != null && w.from != null && this.latest < w.from) return `No points in this range: the latest is from ${fmtTime(this.latest)}.`;
    return 'No points in this range.';
  }

  /** draw (re)draws the chart at the plot element's width. */
  draw() {
    const d = this.data();
    this.emptyEl.hidden = d[0].length > 0;
    if (!this.emptyEl.hidden) this.emptyEl.textContent = this.emptyText();
    if (this.plot) {
      this.plot.setData(d);
      return;
    }
    this.plot = new uPlot(this.options(this.width(), theme()), d, this.plotEl);
  }

  width() {
    return Math.max(120, Math.floor(this.plotEl.clientWidth));
  }

  /** plotWidth is the chart's plot area in CSS pixels. */
  plotWidth() {
    return plotAreaWidth(this.width());
  }

  /** resize follows the card's width. */
  resize() {
    const w = this.width();
    if (this.plot && this.plot.width !== w) this.plot.setSize({ width: w, height: PLOT_HEIGHT });
  }

  /** retheme redraws with the current theme's colours. */
  retheme() {
    this.plot?.destroy();
    this.plot = null;
    this.draw();
  }

  /** zoomTo fetches [from, to) (epoch seconds) at full detail and shows it. */
  async zoomTo(from, to) {
    from = Math.floor(from);
    to = Math.max(Math.ceil(to), from + 2);
    const seq = ++this.zoomSeq;
    this.zoom = { from, to, data: null, loading: true };
    this.zoomBar.hidden = false;
    this.zoomText.textContent = `Loading ${fmtTime(from)} – ${fmtTime(to)}…`;
    this.errorEl.textContent = '';
    this.draw();
    try {
      const series = await this.ctx.zoom(this, from, to);
      if (seq !== this.zoomSeq) return;
      this.zoom = { from, to, data: columns(series), loading: false, interval: Number(series.interval) };
      const n = this.zoom.data[0].length;
      this.zoomText.textContent = `Zoomed to ${fmtTime(from)} – ${fmtTime(to)}: ${n} value${n === 1 ? '' : 's'}.`;
    } catch (err) {
      if (seq !== this.zoomSeq) return;
      this.zoom = null;
      this.zoomBar.hidden = true;
      this.errorEl.textContent = `Zoom failed: ${err.message}`;
    }
    this.renderText();
    this.draw();
  }

  /** resetZoom goes back to the range. */
  resetZoom() {
    if (!this.zoom) return;
    const hadFocus = document.activeElement === this.resetButton;
    this.zoomSeq++;
    this.zoom = null;
    this.zoomBar.hidden = true;
    this.renderText();
    this.draw();
    if (hadFocus) this.plotEl.focus();
  }

  /**
   * addPoint takes a point recorded live. It joins the range's data (and the
   * zoom window's, when it falls there) and the summary, approximately: a
   * point that replaced an earlier one (an upsert) is counted again, and a
   * point inside a bucket is drawn beside it; the next fetch is exact.
   */
  addPoint(p) {
    const t = Number(p.epoch);
    if (this.latest !== undefined) this.latest = Math.max(this.latest ?? t, t);
    if (!inWindow(this.win, t)) {
      if (this.data()[0].length === 0) this.draw(); // the empty text names the latest point
      return false;
    }
    insertPoint(this.rangeData, t, p.actual, p.goal);
    const s = this.summary;
    s.count = Number(s.count) + 1;
    s.totalActual += p.actual;
    s.totalGoal += p.goal;
    s.attainment = s.totalGoal === 0 ? null : s.totalActual / s.totalGoal;
    if (this.zoom?.data && t >= this.zoom.from && t < this.zoom.to) insertPoint(this.zoom.data, t, p.actual, p.goal);
    this.renderText();
    this.draw();
    return true;
  }

  /** snapshot is the card's state, for tests and debugging. */
  snapshot() {
    const d = this.data();
    // The highest actual value uPlot was given to draw, and where.
    let peak = null;
    const pd = this.plot?.data;
    if (pd) for (let i = 0; i < pd[1].length; i++) if (pd[1][i] != null && (peak == null || pd[1][i] > pd[1][peak])) peak = i;
    return {
      id: this.id,
      rowId: this.rowId,
      name: this.name,
      points: d[0].length,
      plotted: this.plot ? this.plot.data[0].length : 0,
      firstEpoch: d[0][0] ?? null,
      lastEpoch: d[0].at(-1) ?? null,
      zoomed: !!this.zoom,
      zoomLoading: !!this.zoom?.loading,
      attainment: this.summary?.attainment ?? null,
      count: Number(this.summary?.count ?? 0),
      plotWidth: this.plotWidth(),
      // The plot area uPlot drew: its overlay covers exactly that.
      overWidth: this.plot ? Math.round(this.plot.over.getBoundingClientRect().width) : 0,
      peakActual: peak == null ? null : pd[1][peak],
      peakEpoch: peak == null ? null : pd[0][peak],
      // The top of the y axis uPlot drew.
      yMax: this.plot?.scales?.y?.max ?? null,
      timeLabels: this.timeLabels(),
    };
  }

  /**
   * timeLabels are the time axis's labels as uPlot drew them: each line's
   * text and its left and right edge on the canvas, in CSS pixels, and the
   * canvas's width.
   */
  timeLabels() {
    const u = this.plot;
    const ax = u?.axes?.[0];
    if (!ax?._splits || !ax._values) return { width: 0, labels: [] };
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = ax.font?.[0] ?? '12px system-ui';
    const left = u.bbox.left / uPlot.pxRatio;
    const labels = [];
    ax._splits.forEach((v, i) => {
      const text = ax._values[i];
      if (v == null || text == null || text === '') return;
      const x = left + u.valToPos(v, 'x');
      for (const line of String(text).split('\n')) {
        const w = ctx.measureText(line).width;
        labels.push({ text: line, left: x - w / 2, right: x + w / 2 });
      }
    });
    return { width: u.width, labels };
  }

  destroy() {
    this.zoomSeq++;
    this.plot?.destroy();
    this.plot = null;
    this.el.remove();
  }
}
