'use strict';

// The public status page (/status on the inspector) in headless Chromium,
// against a private Redis and the three hookgate processes. Without any
// sign-in, the page renders the version, the four components, an open
// incident with its updates and a scheduled maintenance window. The test
// saves a screenshot to tests/.results/screenshots/.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { chromium } = require('playwright-core');

const { Api } = require('../integration/lib/api');
const { ADMIN_KEY, BUILD_DIR, REPO_ROOT, freePort, scaled, setupHarness } = require('../integration/lib/harness');

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

// Registered before setupHarness so the browser closes before the
// processes it talks to stop.
let context = null;
after(async () => {
  if (context) {
    await context.close();
  }
});

const harness = setupHarness('browser-status');
let api;
let inspectorPort;
let page;
let incident;
let window_;
const pageErrors = [];
const consoleErrors = [];

function getStatus(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

async function admin(method, urlPath, json) {
  const res = await api.request(method, urlPath, { key: ADMIN_KEY, json });
  assert.ok(res.status < 300, `${method} ${urlPath}: ${res.describe()}`);
  return res.json();
}

before(async () => {
  inspectorPort = await freePort();
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}` });
  await harness.startWorker();
  const binary = path.join(BUILD_DIR, 'inspector', 'hookgate-inspector');
  const env = harness.serviceEnv({
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}`,
    HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${gateway.port}`,
    HOOKGATE_WEB_DIR: WEB_DIR,
  });
  const child = harness.spawnLogged('inspector', binary, [], env, inspectorPort);
  await harness.waitReady(child, async () => (await getStatus(inspectorPort, '/readyz')) === 200);
  api = new Api(gateway.port);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });

  incident = await admin('POST', '/api/v1/status/incidents', {
    title: 'Slow webhook deliveries to some partners',
    status: 'identified',
    impact: 'minor',
    components: ['delivery'],
    message: 'Deliveries to a few hosts take longer than usual.',
  });
  await admin('PATCH', `/api/v1/status/incidents/${incident.id}`, {
    status: 'monitoring',
    message: 'A fix is deployed; we are watching the queue drain.',
  });
  window_ = await admin('POST', '/api/v1/status/maintenance', {
    title: 'Data store upgrade',
    description: 'Deliveries pause for up to two minutes.\nEvents are accepted throughout.',
    starts_at: new Date(Date.now() + 86400e3).toISOString(),
    ends_at: new Date(Date.now() + 86400e3 + 3600e3).toISOString(),
    components: ['redis', 'delivery'],
  });

  const profile = fs.mkdtempSync(path.join(harness.dir, 'chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
    timeout: 30000,
  });
  context.setDefaultTimeout(scaled(10000));
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      consoleErrors.push(`${message.text()} (${message.location().url})`);
    }
  });
}, { timeout: scaled(90000) });

after(() => api?.close());

test('status page renders everything', { timeout: scaled(60000) }, async () => {
  const version = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: inspectorPort, path: '/status.json', agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text).version));
    }).on('error', reject);
  });
  await page.goto(`http://127.0.0.1:${inspectorPort}/status`);
  await page.locator('#main[aria-busy="false"]').waitFor();

  assert.equal(await page.title(), 'hookgate status');
  assert.equal(await page.locator('#version').textContent(), version);

  const components = page.locator('li.component');
  assert.deepEqual(await components.evaluateAll((items) => items.map((li) => li.dataset.component)), [
    'gateway',
    'delivery',
    'inspector',
    'redis',
  ]);
  // The minor incident degrades delivery; the others are up.
  assert.equal(await page.locator('li.component[data-component="gateway"]').getAttribute('data-status'), 'operational');
  assert.equal(await page.locator('li.component[data-component="delivery"]').getAttribute('data-status'), 'degraded');
  assert.equal(await page.locator('#overall').getAttribute('data-status'), 'degraded');
  await page.locator('li.component[data-component="delivery"] .component-detail', { hasText: '1 worker running' }).waitFor();

  const card = page.locator(`article.incident[data-incident="${incident.id}"]`);
  await card.waitFor();
  assert.equal(await card.locator('h3').textContent(), 'Slow webhook deliveries to some partners');
  const updates = await card.locator('.update-message').allTextContents();
  assert.deepEqual(updates, [
    'A fix is deployed; we are watching the queue drain.',
    'Deliveries to a few hosts take longer than usual.',
  ]);

  const win = page.locator(`article.window[data-window="${window_.id}"]`);
  await win.waitFor();
  assert.equal(await win.locator('h3').textContent(), 'Data store upgrade');
  assert.match(await win.locator('.description').textContent(), /Events are accepted throughout\./);
  assert.equal(await page.locator('a[href="/status.ics"]').count(), 1);

  await page.screenshot({ path: path.join(SCREENSHOTS, 'status-page.png'), fullPage: true, animations: 'disabled' });
  assert.ok(fs.statSync(path.join(SCREENSHOTS, 'status-page.png')).size > 1000, 'the screenshot was written');
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(consoleErrors, []);
});
