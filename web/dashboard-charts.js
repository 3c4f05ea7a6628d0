// Charts of the dashboard, drawn by uPlot. uPlot is not committed: the
// build copies its browser files into web/vendor/ (see docs/inspector.md),
// and the page loads them the first time the dashboard opens.

import { h } from './dom.js';
import { chartColumns, formatMsTick, formatStep } from './dashboard-data.js';

const SCRIPT_URL = '/assets/vendor/uPlot.iife.min.js';
const STYLE_URL = '/assets/vendor/uPlot.min.css';
const HEIGHT = 190;

let loading = null;

/** Loads uPlot once and resolves to its constructor. Rejects when the files are missing. */
export function loadUPlot() {
  if (window.uPlot) {
    return Promise.resolve(window.uPlot);
  }
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      document.head.append(h('link', { rel: 'stylesheet', href: STYLE_URL }));
      const script = h('script', { src: SCRIPT_URL });
      script.addEventListener('load', () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('uPlot did not load'))));
      script.addEventListener('error', () => {
        loading = null;
        script.remove();
        reject(new Error(`${SCRIPT_URL} is not served`));
      });
      document.head.append(script);
    });
  }
  return loading;
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * One uPlot chart with a legend that shows the values of the chosen point,
 * or of the default point when none is chosen (the pointer left the plot).
 * The wrapper takes the keyboard focus: left and right arrows, Home and End
 * choose a point. Its label reads the values of the shown point.
 */
/** Labels a y-axis tick. From one second on, milliseconds are shown as seconds, so long latencies fit the 72 px axis. */
function tickLabel(value, unit) {
  if (unit === 'ms') {
    return formatMsTick(value);
  }
  return `${+value.toFixed(1)}${unit ? ` ${unit}` : ''}`;
}

export class Chart {
  constructor(UPlot, chart, root) {
    this.UPlot = UPlot;
    this.chart = chart;
    this.root = root;
    this.points = [];
    this.stepS = 60;
    this.defaultIdx = null;
    this.keyIdx = null;
    this.plot = null;
    this.onIndex = () => {};
    root.addEventListener('keydown', (key) => this.onKey(key));
    root.addEventListener('blur', () => {
      this.keyIdx = null;
      this.showDefault();
    });
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(root);
  }

  width() {
    return Math.max(240, Math.floor(this.root.clientWidth));
  }

  options() {
    const text = cssVar('--muted', '#667085');
    const grid = cssVar('--border', '#e4e7ec');
    const chart = this.chart;
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width: this.width(),
      height: HEIGHT,
      series: [
        { label: 'Time', value: (u, v) => (v == null ? '—' : formatStep(v * 1000, this.stepS)) },
        ...chart.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          points: { show: true, size: 5, fill: s.color },
          value: (u, v) => s.format(v == null ? null : v / (s.scale || 1)),
        })),
      ],
      scales: {
        x: { time: true },
        y: chart.range ? { range: chart.range } : { range: (u, min, max) => [0, Math.max(1, max ?? 1) * 1.1] },
      },
      axes: [
        axis,
        { ...axis, size: 72, values: (u, ticks) => ticks.map((t) => tickLabel(t, chart.unit)) },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      hooks: {
        setLegend: [(u) => this.legendChanged(u)],
      },
    };
  }

  /** Replaces the data: points of the series API, stepS seconds apart. */
  setData(points, stepS, defaultIdx) {
    this.points = points;
    this.stepS = stepS;
    this.defaultIdx = defaultIdx;
    if (this.keyIdx !== null && this.keyIdx >= points.length) {
      this.keyIdx = null;
    }
    const data = chartColumns(this.chart, points);
    if (!this.plot) {
      this.plot = new this.UPlot(this.options(), data, this.root);
      this.plot.root.setAttribute('aria-hidden', 'true');
    } else {
      this.plot.setData(data);
    }
    this.showDefault();
  }

  /** Shows the key-chosen point, else the default point, when the pointer is not on the plot. */
  showDefault() {
    if (!this.plot || this.plot.cursor.left >= 0) {
      this.describe();
      return;
    }
    const idx = this.keyIdx ?? this.defaultIdx;
    if (idx !== null) {
      this.plot.setLegend({ idx }, false);
    }
    this.describe();
  }

  legendChanged(u) {
    if (u.legend.idx == null && (this.keyIdx ?? this.defaultIdx) !== null) {
      u.setLegend({ idx: this.keyIdx ?? this.defaultIdx }, false);
    }
    this.describe();
  }

  /** Returns the index of the point the legend shows, or null. */
  shownIndex() {
    return this.plot?.legend.idx ?? null;
  }

  describe() {
    const idx = this.shownIndex();
    const point = idx === null ? null : this.points[idx];
    this.root.dataset.pointT = point ? point.t : '';
    if (!point) {
      this.root.setAttribute('aria-label', `${this.chart.title}: no data`);
      return;
    }
    const values = this.chart.series.map((s) => `${s.label} ${s.format(point[s.field])}`).join(', ');
    this.root.setAttribute('aria-label', `${this.chart.title} at ${formatStep(point.ms, this.stepS)}: ${values}. Arrow keys choose another time.`);
    this.onIndex(idx);
  }

  onKey(key) {
    if (!this.plot || this.points.length === 0) {
      return;
    }
    const current = this.keyIdx ?? this.shownIndex() ?? this.points.length - 1;
    const moves = {
      ArrowLeft: current - 1,
      ArrowRight: current + 1,
      Home: 0,
      End: this.points.length - 1,
    };
    if (!(key.key in moves)) {
      return;
    }
    key.preventDefault();
    this.keyIdx = Math.min(this.points.length - 1, Math.max(0, moves[key.key]));
    this.plot.setLegend({ idx: this.keyIdx }, false);
    this.describe();
  }

  /** Draws the chart again, so axes and grid take the colors of the current theme. */
  restyle() {
    if (!this.plot) {
      return;
    }
    this.plot.destroy();
    this.plot = null;
    this.setData(this.points, this.stepS, this.defaultIdx);
  }

  resize() {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 1) {
      this.plot.setSize({ width: this.width(), height: HEIGHT });
    }
  }

  destroy() {
    this.resizer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
