// Pure helpers of the dashboard: the metrics series API's points as chart
// columns, the formatting shared by legends and tables, and the health of
// endpoints from their records and their recent series.

export const PERIODS = {
  last_1h: 'Last hour',
  last_24h: 'Last 24 hours',
  last_7d: 'Last 7 days',
};

// An endpoint with a failed attempt in this many of its latest minutes is
// listed as failing.
export const FAILING_WINDOW_MIN = 5;

/** Formats a share 0..1 as "97.5 %", or "—" for null. */
export function formatRate(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : '—';
}

/** Formats milliseconds as "123.4 ms", from one second on as "58.35 s", or "—" for null. */
export function formatMs(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return '—';
  }
  return value < 1000 ? `${value.toFixed(1)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** Formats an axis tick in milliseconds: "250 ms", from one second on "20 s". */
export function formatMsTick(value) {
  return value < 1000 ? `${+value.toFixed(1)} ms` : `${+(value / 1000).toFixed(1)} s`;
}

/** Formats a count, or "—" for null (no such count, as events of an endpoint). */
export function formatCount(value) {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '—';
}

const minuteFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const hourFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** Formats the start of a step: the time for minute steps, with the date for hour steps. */
export function formatStep(ms, stepS) {
  return stepS >= 3600 ? hourFormat.format(new Date(ms)) : minuteFormat.format(new Date(ms));
}

/**
 * The charts: each has its series, the point field each reads, how a value
 * is scaled for drawing (the success rate is drawn in percent) and how it
 * reads in legends and tables.
 */
export const CHARTS = [
  {
    id: 'success',
    title: 'Delivery success rate',
    description: 'Share of delivery attempts that succeeded',
    unit: '%',
    range: [0, 100],
    series: [{ field: 'delivery_success_rate', label: 'Success rate', color: '#12b76a', scale: 100, format: formatRate }],
  },
  {
    id: 'latency',
    title: 'Publish-to-delivery latency',
    description: 'Time from publish to the end of the successful attempt',
    unit: 'ms',
    series: [
      { field: 'p50_delivery_latency_ms', label: 'p50', color: '#2e90fa', format: formatMs },
      { field: 'p95_delivery_latency_ms', label: 'p95', color: '#f79009', format: formatMs },
    ],
  },
  {
    id: 'volume',
    title: 'Volume',
    description: 'Events received and delivery attempts per step',
    unit: '',
    series: [
      { field: 'events_received', label: 'Events received', color: '#7a5af8', format: formatCount },
      { field: 'deliveries_succeeded', label: 'Succeeded', color: '#12b76a', format: formatCount },
      { field: 'deliveries_failed', label: 'Failed (retrying)', color: '#f04438', format: formatCount },
      { field: 'deliveries_dead', label: 'Dead', color: '#912018', format: formatCount },
    ],
  },
];

/** Returns the points of a series response with their time in ms, oldest first. */
export function seriesPoints(series) {
  return (series?.points || []).map((p) => ({ ...p, ms: Date.parse(p.t) }));
}

/** Returns the uPlot data of one chart: [x in seconds, then one column per series]. */
export function chartColumns(chart, points) {
  const columns = [points.map((p) => p.ms / 1000)];
  for (const s of chart.series) {
    columns.push(
      points.map((p) => {
        const v = p[s.field];
        return typeof v === 'number' ? v * (s.scale || 1) : null;
      }),
    );
  }
  return columns;
}

function attemptsOf(point) {
  return (point.deliveries_succeeded || 0) + (point.deliveries_failed || 0) + (point.deliveries_dead || 0);
}

/** True when a point counted anything: an event or an attempt. */
export function pointHasData(point) {
  return attemptsOf(point) > 0 || (point.events_received || 0) > 0;
}

/**
 * Returns the index of the point legends show when no point is chosen:
 * the latest one that counted anything, else the latest one, or null.
 */
export function defaultIndex(points) {
  for (let i = points.length - 1; i >= 0; i--) {
    if (pointHasData(points[i])) {
      return i;
    }
  }
  return points.length > 0 ? points.length - 1 : null;
}

/** Sums the attempts of the latest `count` points. */
export function recentAttempts(points, count = FAILING_WINDOW_MIN) {
  const recent = points.slice(-count);
  let failed = 0;
  let attempts = 0;
  let lastFailureMs = null;
  for (const p of recent) {
    const f = (p.deliveries_failed || 0) + (p.deliveries_dead || 0);
    failed += f;
    attempts += attemptsOf(p);
    if (f > 0) {
      lastFailureMs = p.ms;
    }
  }
  return { failed, attempts, lastFailureMs };
}

/**
 * Sorts endpoints into the dashboard's lists. An endpoint is
 * - failing: enabled, with a failed attempt in its latest
 *   FAILING_WINDOW_MIN minutes (from `recent`, a Map of endpoint id to
 *   recentAttempts()),
 * - paused: disabled through the API or the inspector (reason "manual"),
 * - disabled: disabled by hookgate or by the receiver (any other reason).
 */
export function classifyEndpoints(endpoints, recent) {
  const failing = [];
  const paused = [];
  const disabled = [];
  for (const endpoint of endpoints) {
    const enabled = endpoint.enabled ?? endpoint.status === 'enabled';
    if (!enabled) {
      (endpoint.disabled_reason === 'manual' ? paused : disabled).push({ endpoint });
      continue;
    }
    const health = recent.get(endpoint.id);
    if (health && health.failed > 0) {
      failing.push({ endpoint, health });
    }
  }
  failing.sort((a, b) => b.health.failed - a.health.failed || a.endpoint.id.localeCompare(b.endpoint.id));
  return { failing, paused, disabled };
}

const DISABLED_REASONS = {
  failing: 'its deliveries kept failing',
  gone: 'the receiver answered 410 Gone',
  disabled_by_receiver: 'the receiver asked to stop deliveries',
  manual: 'disabled through the API or the inspector',
};

export function disabledReasonText(reason) {
  return DISABLED_REASONS[reason] || (reason ? `reason ${reason}` : 'no reason given');
}

const RULES = {
  error_rate: 'Error rate',
  p95_latency: 'p95 latency',
};

/** Returns "Error rate 12.0 % over 5.0 %"-style text for an alert. */
export function alertText(alert) {
  const rule = RULES[alert.rule] || alert.rule || 'Alert';
  const format = alert.rule === 'error_rate' ? formatRate : formatMs;
  return `${rule} ${format(alert.value)} over ${format(alert.threshold)}`;
}
