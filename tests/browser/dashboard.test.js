'use strict';

// The inspector's dashboard in headless Chromium against a private Redis,
// the three hookgate processes and a receiver in this process that responds
// to some endpoints slowly, with 500, or with 410. The tests check the uPlot
// charts against the metrics series API and the failing, disabled and
// paused endpoint lists. They check the alerts, really triggered when the
// gateway has the alerts API and "unavailable" otherwise. They also check a
// live update without reload and the keyboard, and save screenshots to
// tests/.results/screenshots/.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { chromium } = require('playwright-core');

const { Api } = require('../integration/lib/api');
const { ADMIN_KEY, REPO_ROOT, freePort, scaled, setupHarness, sleep, waitFor } = require('../integration/lib/harness');
const { Receiver } = require('../integration/lib/receiver');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium contacts Google services, which are unreachable here.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WEB_DIR = path.join(REPO_ROOT, 'web');
const SCREENSHOTS = path.join(REPO_ROOT, 'tests', '.results', 'screenshots');
const SLOW_MS = 700;
// The dashboard polls every 5 s and refreshes 1.5 s after a feed record.
const UPDATE_MS = scaled(12000);

// Registered before setupHarness so the browser closes before the
// processes it talks to stop.
let context = null;
after(async () => {
  if (context) {
    await context.close();
  }
});

const harness = setupHarness('browser-dashboard');
const INTEGRATION = `it-dash-${crypto.randomBytes(3).toString('hex')}`;

let api;
let receiver;
let inspectorPort;
let key;
// Endpoint ids by receiver path name.
const endpoints = {};
let alertsRoute = false;
let page;
const pageErrors = [];
const consoleErrors = [];

function publish(type, n) {
  return api.publishAccepted(INTEGRATION, key, JSON.stringify({ type, n }));
}

async function series(query = '') {
  const res = await api.request('GET', `/api/v1/metrics/integration/${INTEGRATION}/series?time_period=last_1h${query}`, { key: ADMIN_KEY });
  assert.equal(res.status, 200, res.describe());
  return res.json();
}

function total(body, field) {
  return body.points.reduce((n, p) => n + (p[field] || 0), 0);
}

// The page's formatting (web/dashboard-data.js).
const FORMAT = {
  rate: (v) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`),
  ms: (v) => (v === null ? '—' : v < 1000 ? `${v.toFixed(1)} ms` : `${(v / 1000).toFixed(2)} s`),
  count: (v) => (v === null ? '—' : String(v)),
};
const LEGENDS = {
  success: [['delivery_success_rate', FORMAT.rate]],
  latency: [['p50_delivery_latency_ms', FORMAT.ms], ['p95_delivery_latency_ms', FORMAT.ms]],
  volume: [
    ['events_received', FORMAT.count],
    ['deliveries_succeeded', FORMAT.count],
    ['deliveries_failed', FORMAT.count],
    ['deliveries_dead', FORMAT.count],
  ],
};

/** Returns, per chart, the time of the shown point and the legend's values. */
function readLegends() {
  return page.evaluate(() => {
    const out = {};
    for (const plot of document.querySelectorAll('.chart-plot')) {
      const values = [...plot.querySelectorAll('.u-legend tr.u-series td.u-value')].map((td) => td.textContent);
      out[plot.dataset.chart] = { t: plot.dataset.pointT, time: values[0], values: values.slice(1) };
    }
    return out;
  });
}

/**
 * Waits until every legend shows the numbers of the series API for its
 * point, and returns the legends. The page polls, so a read between two
 * flushes may differ for a moment.
 */
async function legendsMatchApi(description) {
  return waitFor(
    async () => {
      const [legends, body] = await Promise.all([readLegends(), series()]);
      for (const [chart, fields] of Object.entries(LEGENDS)) {
        const shown = legends[chart];
        const point = body.points.find((p) => p.t === shown?.t);
        if (!point) {
          return null;
        }
        const expected = fields.map(([field, format]) => format(point[field]));
        if (JSON.stringify(expected) !== JSON.stringify(shown.values)) {
          return null;
        }
      }
      return legends;
    },
    { timeoutMs: UPDATE_MS, intervalMs: 300, description },
  );
}

async function screenshot(name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true, animations: 'disabled' });
}

async function startInspector(gatewayPort) {
  await harness.startInspector({}, { port: inspectorPort, gatewayPort });
}

before(async () => {
  const vendor = path.join(WEB_DIR, 'vendor', 'uPlot.iife.min.js');
  assert.ok(fs.existsSync(vendor), `${vendor} is missing: the build copies it (deploy/common.sh hg_build_web)`);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  inspectorPort = await freePort();
  await harness.startRedis();
  const shared = { HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}` };
  const gateway = await harness.startGateway(shared);
  await harness.startWorker({
    ...shared,
    // One retry after a second: a failing delivery counts one failed and one dead attempt.
    HOOKGATE_RETRY_SCHEDULE: '1',
    HOOKGATE_BREAKER_FAILURES: '1000',
    HOOKGATE_ALERT_EVAL_INTERVAL_MS: '500',
  });
  await startInspector(gateway.port);
  api = harness.closeLater(new Api(gateway.port));
  receiver = harness.closeLater(
    await new Receiver((index, record) => {
      const name = record.path.slice(1);
      return { status: { flaky: 500, gone: 410 }[name] || 200, delayMs: name === 'slow' ? SLOW_MS : 0 };
    }).start(),
  );

  key = (await api.createIntegration(INTEGRATION, 'Dashboard test')).api_key;
  for (const name of ['ok', 'slow', 'flaky', 'gone', 'held']) {
    const res = await api.request('POST', `/api/v1/integrations/${INTEGRATION}/endpoints`, {
      key,
      json: { url: receiver.url(`/${name}`), event_types: [`dash.${name}`] },
    });
    assert.equal(res.status, 201, res.describe());
    endpoints[name] = res.json().id;
  }
  const paused = await api.request('POST', `/api/v1/integrations/${INTEGRATION}/endpoints/${endpoints.held}/disable`, { key });
  assert.equal(paused.status, 200, paused.describe());

  // Alerts are triggered for real when the gateway has the alerts API.
  const rules = await api.request('PUT', `/api/v1/integrations/${INTEGRATION}/alert-rules`, {
    key,
    json: { error_rate_threshold: 0.05, window_s: 60, min_samples: 1 },
  });
  alertsRoute = rules.status === 200;
  assert.ok(alertsRoute || rules.status === 404, `alert rules: ${rules.describe()}`);

  const profile = fs.mkdtempSync(path.join(harness.dir, 'chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1000 },
    timeout: 30000,
  });
  context.setDefaultTimeout(scaled(10000));
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    // Without the alerts API the page reads a 404, which Chromium logs.
    if (message.type() === 'error' && !(!alertsRoute && /404/.test(message.text()))) {
      consoleErrors.push(`${message.text()} (${message.location().url})`);
    }
  });
}, { timeout: scaled(60000) });

test('charts match the series API after real traffic', { timeout: scaled(40000) }, async () => {
  const plan = [['dash.ok', 6], ['dash.slow', 2], ['dash.flaky', 3], ['dash.gone', 1]];
  for (const [type, count] of plan) {
    for (let i = 0; i < count; i++) {
      await publish(type, i);
    }
  }
  // 8 successes; 3 failed and 3 dead attempts of flaky; 1 dead attempt of gone.
  await waitFor(
    async () => {
      const body = await series();
      return total(body, 'deliveries_succeeded') === 8 && total(body, 'deliveries_dead') === 4 ? body : null;
    },
    { timeoutMs: scaled(15000), intervalMs: 300, description: 'every attempt in the series' },
  );

  await page.goto(`http://127.0.0.1:${inspectorPort}/#key=${encodeURIComponent(ADMIN_KEY)}`);
  await page.locator('#nav-dashboard').waitFor();
  await page.locator('#nav-dashboard').click();
  await page.locator('#dashboard-view').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#nav-dashboard').getAttribute('aria-current'), 'page');
  await page.locator('#dashboard-integration').selectOption(INTEGRATION);
  await page.waitForURL(new RegExp(`#dashboard/${INTEGRATION}$`));

  for (const chart of ['success', 'latency', 'volume']) {
    await page.locator(`#chart-${chart} .uplot canvas`).first().waitFor();
  }
  const legends = await legendsMatchApi('legends equal to the series API');
  const body = await series();
  const shown = body.points.find((p) => p.t === legends.volume.t);
  assert.ok(shown.deliveries_succeeded > 0, `the legends show a step with attempts: ${JSON.stringify(shown)}`);
  // The data table lists the same point.
  const row = page.locator(`#chart-volume-table tr[data-t="${shown.t}"] td`);
  assert.deepEqual(await row.allTextContents(), LEGENDS.volume.map(([field, format]) => format(shown[field])));
  const label = await page.locator('#chart-success').getAttribute('aria-label');
  assert.match(label, new RegExp(`Success rate ${FORMAT.rate(shown.delivery_success_rate).replace('.', '\\.')}`));
  await screenshot('overview');
});

test('endpoint lists show failing, disabled and paused endpoints', { timeout: scaled(30000) }, async () => {
  const ids = async (list) => page.locator(`#${list} .health-item`).evaluateAll((items) => items.map((i) => i.dataset.endpointId).sort());
  await waitFor(
    async () => ((await ids('endpoints-failing')).includes(endpoints.flaky) ? true : null),
    { timeoutMs: UPDATE_MS, description: 'the flaky endpoint in the failing list' },
  );
  assert.deepEqual(await ids('endpoints-failing'), [endpoints.flaky]);
  assert.deepEqual(await ids('endpoints-disabled'), [endpoints.gone]);
  assert.deepEqual(await ids('endpoints-paused'), [endpoints.held]);
  assert.match(await page.locator('#endpoints-disabled .health-item').textContent(), /410 Gone/);
  assert.match(await page.locator('#endpoints-failing .health-item').textContent(), /3 failed of 3 attempts|failed of/);

  // An endpoint's own charts: a link in the list opens them.
  await page.locator(`#endpoints-failing a[href$="/${endpoints.flaky}"]`).click();
  await page.waitForURL(new RegExp(`#dashboard/${INTEGRATION}/${endpoints.flaky}$`));
  await waitFor(
    async () => {
      const rows = await page.locator('#chart-volume-table tbody tr[data-t]').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      const dead = rows.reduce((n, cells) => n + Number(cells[3] || 0), 0);
      return rows.length > 0 && rows.every((cells) => cells[0] === '—' && cells[1] === '0') && dead === 3 ? rows : null;
    },
    { timeoutMs: UPDATE_MS, description: 'the flaky endpoint\'s table: no events column, 3 dead attempts' },
  );
  await screenshot('endpoint');
  await page.locator('#dashboard-endpoint').selectOption('');
  await page.waitForURL(new RegExp(`#dashboard/${INTEGRATION}$`));
});

test('alert state comes from the alerts API', { timeout: scaled(30000) }, async () => {
  const box = page.locator('#dashboard-alerts');
  if (!alertsRoute) {
    await page.locator('#alerts-unavailable').waitFor();
    assert.match(await box.textContent(), /Alerts unavailable/);
    return;
  }
  const active = await waitFor(
    async () => {
      const res = await api.request('GET', `/api/v1/integrations/${INTEGRATION}/alerts?state=active`, { key });
      assert.equal(res.status, 200, res.describe());
      const data = res.json().data;
      return data.some((a) => a.rule === 'error_rate') ? data : null;
    },
    { timeoutMs: scaled(15000), intervalMs: 300, description: 'an error rate alert from the worker' },
  );
  await waitFor(
    async () => {
      const shown = await page.locator('#dashboard-alerts .alert-item').evaluateAll((items) => items.map((i) => i.dataset.alertId).sort());
      return shown.length > 0 && active.every((a) => shown.includes(a.id)) ? shown : null;
    },
    { timeoutMs: UPDATE_MS, description: 'the active alerts on the page' },
  );
  assert.equal(await box.getAttribute('data-state'), 'active');
  assert.match(await box.textContent(), /Error rate \d+\.\d % over 5\.0 %/);
});

test('new events update the charts without a reload', { timeout: scaled(30000) }, async () => {
  await page.evaluate(() => {
    window.dashboardMarker = 'same page';
  });
  const before = await series();
  const succeeded = total(before, 'deliveries_succeeded');
  for (let i = 0; i < 5; i++) {
    await publish('dash.ok', 100 + i);
  }
  await waitFor(
    async () => (total(await series(), 'deliveries_succeeded') === succeeded + 5 ? true : null),
    { timeoutMs: scaled(10000), intervalMs: 200, description: '5 more successes in the series' },
  );
  const legends = await legendsMatchApi('legends with the new successes');
  const shown = (await series()).points.find((p) => p.t === legends.volume.t);
  assert.ok(shown.deliveries_succeeded >= 5, `the shown step has the new successes: ${JSON.stringify(shown)}`);
  assert.equal(await page.evaluate(() => window.dashboardMarker), 'same page', 'the page was not reloaded');
  await screenshot('live');
});

test('charts can be read with the keyboard', { timeout: scaled(20000) }, async () => {
  const chart = page.locator('#chart-volume');
  await chart.focus();
  // The dashboard reads new data every 5 s and soon after live feed
  // records. Once the minute moved on, new data shifts which time a step
  // index shows, so a refresh between the two key presses makes one
  // reading wrong. The presses are tried up to three times; a page that
  // does not move one step at a time fails every try.
  let reading = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await chart.getAttribute('data-point-t');
    await page.keyboard.press('Home');
    const first = await chart.getAttribute('data-point-t');
    await page.keyboard.press('ArrowRight');
    const next = await chart.getAttribute('data-point-t');
    reading = { before, first, next, age: Date.now() - Date.parse(first) };
    if (first !== before && Date.parse(next) - Date.parse(first) === 60000) {
      break;
    }
    await sleep(500);
  }
  const { before, first, next, age } = reading;
  assert.ok(age > 58 * 60000, `Home shows a step about an hour old: ${first}`);
  assert.ok(age <= 60 * 60000, `Home shows a step of the last hour: ${first}`);
  assert.notEqual(first, before, 'Home moves to the first step');
  assert.equal(Date.parse(next) - Date.parse(first), 60000, `ArrowRight shows the next step: ${JSON.stringify(reading)}`);
  assert.match(await chart.getAttribute('aria-label'), /^Volume at .+: Events received 0, Succeeded 0/);
  // Tab reaches the data tables' toggles after the charts.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'SUMMARY');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#chart-volume').locator('xpath=..').locator('details').evaluate((d) => d.open), true);
});

test('narrow dark layout has no horizontal scroll', { timeout: scaled(20000) }, async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 640, height: 1000 });
  await waitFor(
    async () => {
      const widths = await page.evaluate(() => [...document.querySelectorAll('.chart-plot .uplot')].map((u) => u.getBoundingClientRect().right));
      return widths.length === 3 && widths.every((right) => right <= 640) ? widths : null;
    },
    { timeoutMs: scaled(5000), description: 'the charts to fit 640 px' },
  );
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 640, `the page is ${scrollWidth} px wide at 640 px`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot('narrow-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 1000 });
});

test('a malformed fragment shows the list instead of failing', { timeout: scaled(20000) }, async () => {
  for (const hash of ['#dashboard/%E0%A4%A', '#event/%E0%A4%A/x', '#sinks/%']) {
    await page.evaluate((h) => {
      location.hash = h;
    }, hash);
    await waitFor(async () => ((await page.locator('#list-view').isVisible()) ? true : null), {
      timeoutMs: scaled(5000),
      description: `the list view for ${hash}`,
    });
  }
  await page.evaluate(() => {
    location.hash = '#dashboard';
  });
});

test('the page logged no errors', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(consoleErrors, []);
});
