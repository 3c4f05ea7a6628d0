// The integration health dashboard (at #dashboard/<integration>[/<endpoint>]):
// charts of one integration or endpoint from the metrics series API, its
// active alerts, and its failing, disabled and paused endpoints. It polls
// while it is shown, and sooner after live feed records of its integration.

import { api, unreachableText } from './api.js';
import { Chart, loadUPlot } from './dashboard-charts.js';
import {
  CHARTS,
  FAILING_WINDOW_MIN,
  PERIODS,
  alertText,
  classifyEndpoints,
  defaultIndex,
  disabledReasonText,
  formatStep,
  pointHasData,
  recentAttempts,
  seriesPoints,
} from './dashboard-data.js';
import { code, h, replaceChildren, timeElement } from './dom.js';

export const POLL_MS = 5000;
// Metrics reach Redis up to a second after an attempt, so a refresh after
// a feed record waits a little longer than that.
const FEED_REFRESH_MS = 1500;
// Endpoints whose recent attempts are read for the failing list, and how
// many of those reads run at once.
const MAX_HEALTH_ENDPOINTS = 50;
const HEALTH_CONCURRENCY = 4;

export function dashboardHash(integrationId, endpointId) {
  let hash = '#dashboard';
  if (integrationId) {
    hash += `/${encodeURIComponent(integrationId)}`;
    if (endpointId) {
      hash += `/${encodeURIComponent(endpointId)}`;
    }
  }
  return hash;
}

/** Runs fn over items with at most `limit` calls at once. */
async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class DashboardView {
  constructor({ root, integrationSelect, endpointSelect, periodSelect, updated, message, alerts, health, charts }) {
    this.root = root;
    this.integrationSelect = integrationSelect;
    this.endpointSelect = endpointSelect;
    this.periodSelect = periodSelect;
    this.updated = updated;
    this.message = message;
    this.alertsBox = alerts;
    this.healthBox = health;
    this.chartsBox = charts;
    this.session = null;
    this.integrationId = null;
    this.endpointId = null;
    this.period = 'last_1h';
    this.endpoints = [];
    this.charts = null;
    this.cards = new Map();
    this.timer = null;
    this.feedTimer = null;
    this.generation = 0;
    this.visible = false;

    replaceChildren(
      periodSelect,
      Object.entries(PERIODS).map(([value, label]) => h('option', { value }, label)),
    );
    periodSelect.value = this.period;
    integrationSelect.addEventListener('change', () => {
      location.hash = dashboardHash(integrationSelect.value, null);
    });
    endpointSelect.addEventListener('change', () => {
      location.hash = dashboardHash(this.integrationId, endpointSelect.value || null);
    });
    periodSelect.addEventListener('change', () => {
      this.period = periodSelect.value;
      this.refresh();
    });
    this.buildCards();
    // uPlot draws on a canvas with colors read once, so a theme change redraws.
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      for (const card of this.cards.values()) {
        card.view?.restyle();
      }
    });
  }

  setSession(session) {
    this.session = session;
  }

  /** Builds the chart cards: title, plot, and a data table for screen readers and the keyboard. */
  buildCards() {
    for (const chart of CHARTS) {
      const plot = h('div', {
        class: 'chart-plot',
        id: `chart-${chart.id}`,
        role: 'img',
        tabindex: '0',
        'aria-label': `${chart.title}: loading`,
        dataset: { chart: chart.id },
      });
      const table = h('table', { class: 'chart-table', id: `chart-${chart.id}-table` });
      const card = h(
        'figure',
        { class: 'panel chart-card', 'aria-labelledby': `chart-${chart.id}-title` },
        h(
          'figcaption',
          { class: 'chart-caption' },
          h('h2', { id: `chart-${chart.id}-title` }, chart.title),
          h('span', { class: 'muted small-text' }, chart.description),
        ),
        plot,
        h('details', { class: 'chart-data' }, h('summary', null, `${chart.title}: data table`), h('div', { class: 'table-wrap' }, table)),
      );
      this.cards.set(chart.id, { chart, plot, table, card, view: null });
      this.chartsBox.append(card);
    }
  }

  /** Shows the dashboard of an integration (null: the first one) and endpoint (null: all). */
  async show(integrationId, endpointId) {
    this.visible = true;
    clearTimeout(this.timer);
    const own = this.session?.integration_id || null;
    this.integrationId = own || integrationId || null;
    this.endpointId = endpointId || null;
    const failure = await this.loadIntegrations();
    if (!this.visible) {
      return;
    }
    if (!this.integrationId && failure) {
      this.showUnavailable(failure);
      return;
    }
    if (!this.integrationId) {
      this.showMessage('No integration to show yet. Create one with POST /api/v1/integrations.');
      return;
    }
    this.integrationSelect.value = this.integrationId;
    this.endpoints = [];
    this.fillEndpointSelect();
    this.refresh();
  }

  hide() {
    this.visible = false;
    this.generation++;
    clearTimeout(this.timer);
    clearTimeout(this.feedTimer);
    this.timer = null;
    this.feedTimer = null;
  }

  /** Called for each live feed record: refreshes soon when it concerns the shown integration. */
  onRecord(record) {
    if (!this.visible || record.integration_id !== this.integrationId || this.feedTimer) {
      return;
    }
    this.feedTimer = setTimeout(() => {
      this.feedTimer = null;
      this.refresh();
    }, FEED_REFRESH_MS);
  }

  /**
   * Shows why the integration list failed in place of the panels' loading
   * text, and calls show again after POLL_MS.
   */
  showUnavailable(err) {
    const reason = unreachableText(err) || `Loading the integrations failed: ${err.message}`;
    this.showMessage(`${reason} The dashboard tries again every ${POLL_MS / 1000} s.`, 'error');
    this.alertsBox.dataset.state = 'unavailable';
    replaceChildren(this.alertsBox, h('h2', { id: 'dashboard-alerts-heading' }, 'Active alerts'), h('p', { class: 'muted' }, 'Not available.'));
    replaceChildren(this.healthBox, h('h2', { id: 'dashboard-health-heading' }, 'Endpoints'), h('p', { class: 'muted' }, 'Not available.'));
    const endpointId = this.endpointId;
    this.timer = setTimeout(() => this.show(null, endpointId), POLL_MS);
  }

  showMessage(text, kind = 'muted') {
    replaceChildren(this.message, text ? h('p', { class: kind === 'error' ? 'notice notice-error' : 'muted note', role: kind === 'error' ? 'alert' : null }, text) : null);
  }

  /** Fills the integration select. Returns the error of the integration list, or null. */
  async loadIntegrations() {
    const own = this.session?.integration_id;
    let ids = [];
    let failure = null;
    if (own) {
      ids = [own];
    } else {
      try {
        const body = await api.integrations();
        ids = (body?.data || []).map((i) => i.id).filter(Boolean).sort();
      } catch (err) {
        failure = err;
        this.showMessage(`Loading the integrations failed: ${err.message}`, 'error');
      }
    }
    if (this.integrationId && !ids.includes(this.integrationId)) {
      ids.unshift(this.integrationId);
    }
    if (!this.integrationId && ids.length > 0) {
      this.integrationId = ids[0];
    }
    replaceChildren(this.integrationSelect, ids.map((id) => h('option', { value: id }, id)));
    this.integrationSelect.disabled = Boolean(own);
    return failure;
  }

  fillEndpointSelect() {
    const ids = this.endpoints.map((e) => e.id);
    if (this.endpointId && !ids.includes(this.endpointId)) {
      ids.unshift(this.endpointId);
    }
    replaceChildren(
      this.endpointSelect,
      h('option', { value: '' }, 'All endpoints'),
      ids.map((id) => h('option', { value: id }, id)),
    );
    this.endpointSelect.value = this.endpointId || '';
  }

  /** Reloads everything now and plans the next poll. A newer refresh drops the responses of an older one. */
  async refresh() {
    if (!this.visible || !this.integrationId) {
      return;
    }
    clearTimeout(this.timer);
    const generation = ++this.generation;
    const current = () => generation === this.generation && this.visible;
    const integrationId = this.integrationId;
    try {
      await Promise.all([this.refreshCharts(integrationId, current), this.refreshAlerts(integrationId, current), this.refreshHealth(integrationId, current)]);
      if (current()) {
        this.updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
        this.root.dataset.refreshes = String(Number(this.root.dataset.refreshes || 0) + 1);
      }
    } finally {
      if (current()) {
        this.timer = setTimeout(() => this.refresh(), POLL_MS);
      }
    }
  }

  async refreshCharts(integrationId, current) {
    let series;
    try {
      series = await api.metricsSeries(integrationId, { time_period: this.period, endpoint_id: this.endpointId || undefined });
    } catch (err) {
      if (current()) {
        const unreachable = unreachableText(err);
        let text = `Loading the metrics failed: ${err.message}`;
        if (unreachable) {
          text = `${unreachable} The dashboard tries again every ${POLL_MS / 1000} s.`;
        } else if (err.status === 404 && !err.code) {
          text = 'Metrics are not available: this inspector does not forward the metrics series API.';
        }
        this.showMessage(text, 'error');
      }
      return;
    }
    if (!current()) {
      return;
    }
    this.showMessage('');
    const points = seriesPoints(series);
    const stepS = series.step_s || 60;
    const idx = defaultIndex(points);
    this.root.dataset.period = series.time_period || this.period;
    await this.drawCharts(points, stepS, idx, current);
    for (const card of this.cards.values()) {
      this.fillTable(card, points, stepS);
    }
  }

  async drawCharts(points, stepS, idx, current) {
    let UPlot;
    try {
      UPlot = await loadUPlot();
    } catch (err) {
      if (current()) {
        this.showMessage(`Charts are not available (${err.message}); the data tables below each chart still show the numbers.`, 'error');
      }
      return;
    }
    if (!current()) {
      return;
    }
    for (const card of this.cards.values()) {
      if (!card.view) {
        card.view = new Chart(UPlot, card.chart, card.plot);
      }
      card.view.setData(points, stepS, idx);
    }
  }

  /** Fills a chart's data table with the steps that counted anything, newest first. */
  fillTable(card, points, stepS) {
    const rows = points.filter(pointHasData).reverse();
    replaceChildren(
      card.table,
      h('caption', { class: 'visually-hidden' }, `${card.chart.title} per ${stepS >= 3600 ? 'hour' : 'minute'}, newest first`),
      h(
        'thead',
        null,
        h('tr', null, h('th', { scope: 'col' }, 'Time'), card.chart.series.map((s) => h('th', { scope: 'col' }, s.label))),
      ),
      h(
        'tbody',
        null,
        rows.length === 0
          ? h('tr', null, h('td', { colspan: String(card.chart.series.length + 1), class: 'muted' }, 'Nothing was measured in this period.'))
          : rows.map((p) =>
              h(
                'tr',
                { dataset: { t: p.t } },
                h('th', { scope: 'row' }, h('time', { datetime: p.t }, formatStep(p.ms, stepS))),
                card.chart.series.map((s) => h('td', null, s.format(p[s.field]))),
              ),
            ),
      ),
    );
  }

  async refreshAlerts(integrationId, current) {
    let alerts;
    let unavailable = null;
    try {
      const body = await api.alerts(integrationId, { state: 'active' });
      alerts = (body?.data || []).filter((a) => a.state !== 'resolved');
    } catch (err) {
      unavailable = err.status === 404 ? 'Alerts unavailable: this hookgate does not evaluate alerts.' : `Alerts unavailable: ${err.message}`;
    }
    if (!current()) {
      return;
    }
    const heading = h('h2', { id: 'dashboard-alerts-heading' }, 'Active alerts');
    if (unavailable) {
      this.alertsBox.dataset.state = 'unavailable';
      replaceChildren(this.alertsBox, heading, h('p', { class: 'muted', id: 'alerts-unavailable' }, unavailable));
      return;
    }
    this.alertsBox.dataset.state = alerts.length > 0 ? 'active' : 'none';
    replaceChildren(
      this.alertsBox,
      heading,
      alerts.length === 0
        ? h('p', { class: 'muted' }, 'No active alerts.')
        : h(
            'ul',
            { class: 'alert-list' },
            alerts.map((alert) =>
              h(
                'li',
                { class: 'alert-item', dataset: { alertId: alert.id || '', rule: alert.rule || '' } },
                h('span', { class: 'tag tag-bad' }, 'Triggered'),
                h('span', { class: 'alert-text' }, alertText(alert)),
                alert.endpoint_id ? code(alert.endpoint_id) : h('span', { class: 'muted' }, 'whole integration'),
                timeElement(alert.triggered_at),
              ),
            ),
          ),
    );
  }

  async refreshHealth(integrationId, current) {
    let endpoints;
    try {
      const body = await api.endpoints(integrationId);
      endpoints = body?.data || [];
    } catch (err) {
      if (current()) {
        replaceChildren(this.healthBox, h('h2', null, 'Endpoints'), h('p', { class: 'notice notice-error' }, `Loading the endpoints failed: ${err.message}`));
      }
      return;
    }
    const recent = new Map();
    const enabled = endpoints.filter((e) => e.enabled ?? e.status === 'enabled').slice(0, MAX_HEALTH_ENDPOINTS);
    await eachLimited(enabled, HEALTH_CONCURRENCY, async (endpoint) => {
      try {
        const series = await api.metricsSeries(integrationId, { time_period: 'last_1h', endpoint_id: endpoint.id });
        recent.set(endpoint.id, recentAttempts(seriesPoints(series)));
      } catch (err) {
        console.info(`recent attempts of ${endpoint.id} not available: ${err.message}`);
      }
    });
    if (!current()) {
      return;
    }
    const idsBefore = this.endpoints.map((e) => e.id).join(' ');
    this.endpoints = endpoints;
    if (idsBefore !== endpoints.map((e) => e.id).join(' ')) {
      this.fillEndpointSelect();
    }
    this.renderHealth(classifyEndpoints(endpoints, recent), endpoints.length);
  }

  endpointLink(endpoint) {
    return h('a', { href: dashboardHash(this.integrationId, endpoint.id), class: 'endpoint-link' }, code(endpoint.id));
  }

  renderHealth({ failing, paused, disabled }, total) {
    const list = (id, title, items, describe) =>
      h(
        'section',
        { class: 'health-group', id, 'aria-labelledby': `${id}-heading`, dataset: { count: String(items.length) } },
        h('h3', { id: `${id}-heading` }, `${title} `, h('span', { class: 'muted count' }, String(items.length))),
        items.length === 0
          ? h('p', { class: 'muted small-text' }, 'None.')
          : h(
              'ul',
              { class: 'health-list' },
              items.map((item) =>
                h(
                  'li',
                  { class: 'health-item', dataset: { endpointId: item.endpoint.id } },
                  this.endpointLink(item.endpoint),
                  h('span', { class: 'health-url muted', title: item.endpoint.url || '' }, item.endpoint.url || ''),
                  h('span', { class: 'health-detail' }, describe(item)),
                ),
              ),
            ),
      );
    replaceChildren(
      this.healthBox,
      h('h2', { id: 'dashboard-health-heading' }, 'Endpoints ', h('span', { class: 'muted count' }, String(total))),
      list('endpoints-failing', 'Failing', failing, ({ health }) => [
        `${health.failed} failed of ${health.attempts} attempts in ${FAILING_WINDOW_MIN} min`,
        health.lastFailureMs !== null ? [', latest in the step of ', timeElement(new Date(health.lastFailureMs).toISOString())] : null,
      ]),
      list('endpoints-disabled', 'Disabled', disabled, ({ endpoint }) => disabledReasonText(endpoint.disabled_reason)),
      list('endpoints-paused', 'Paused', paused, ({ endpoint }) => disabledReasonText(endpoint.disabled_reason)),
    );
  }
}
