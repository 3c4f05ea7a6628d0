'use strict';

// The inspector page in headless Chromium against a private Redis and the
// three hookgate processes: sign-in, the live list, the event detail,
// reconnection after an inspector restart, the sink panel and a bad key.
// The tests run in order and share one page, as a person would use it.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { chromium } = require('playwright-core');

const { Api } = require('../integration/lib/api');
const { BUILD_DIR, REPO_ROOT, freePort, setupHarness, waitFor } = require('../integration/lib/harness');

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
const SANDBOX_KEY = 'hgk_sandbox_local_development_key';
const WEB_DIR = path.join(REPO_ROOT, 'web');
const ARTIFACTS = path.join(__dirname, 'artifacts');

const LIVE_ROW_MS = 3000;
const SETTLE_MS = 10000;
const RECONNECT_MS = 20000;
const IDLE_WATCH_MS = 8000;
const OUTAGE_MS = 2500;

// Registered before setupHarness so the browser closes before the
// processes it talks to stop.
let context = null;
after(async () => {
  if (context) {
    await context.close();
  }
});

const harness = setupHarness('browser');
let api;
let inspector;
let inspectorPort;
let page;
const pageErrors = [];
const consoleErrors = [];

// Published in the live-list test and inspected by the later ones. The
// space after the first comma shows that the raw view keeps the bytes.
const published = {
  body: '{"type":"booking.created", "booking_id":"b_browser_1","guests":2,"tags":["vip","late"],"note":null,"city":"Zürich"}',
  eventId: null,
};
// Published after the inspector restart.
let laterEventId = null;

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

async function startInspector() {
  const binary = path.join(BUILD_DIR, 'inspector', 'hookgate-inspector');
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} not found: build hookgate first or set HOOKGATE_BUILD_DIR to the CMake build directory`);
  }
  const env = harness.serviceEnv({
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}`,
    HOOKGATE_SANDBOX: '1',
    HOOKGATE_WEB_DIR: WEB_DIR,
  });
  const child = harness.spawnLogged('inspector', binary, [], env, inspectorPort);
  await harness.waitReady(child, async () => (await getStatus(inspectorPort, '/readyz')) === 200);
  return child;
}

function baseUrl() {
  return `http://127.0.0.1:${inspectorPort}`;
}

function row(eventId) {
  return page.locator(`tr.event-row[data-event-id="${eventId}"]`);
}

async function publishSandbox(body) {
  return api.publishAccepted('sandbox', SANDBOX_KEY, body);
}

before(async () => {
  inspectorPort = await freePort();
  await harness.startRedis();
  // The gateway needs the inspector address for the sandbox endpoint URL.
  const shared = {
    HOOKGATE_SANDBOX: '1',
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}`,
  };
  inspector = await startInspector();
  const gateway = await harness.startGateway(shared);
  await harness.startWorker({ ...shared, HOOKGATE_RETRY_SCHEDULE: '1,1' });
  api = new Api(gateway.port);
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  const profile = fs.mkdtempSync(path.join(harness.dir, 'chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
    timeout: 30000,
  });
  context.setDefaultTimeout(10000);
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      consoleErrors.push(message.text());
    }
  });
}, { timeout: 90000 });

after(() => {
  if (api) {
    api.close();
  }
});

test('sign-in with key fragment', { timeout: 30000 }, async () => {
  await page.goto(`${baseUrl()}/#key=${SANDBOX_KEY}`);

  await page.locator('#app-view').waitFor({ state: 'visible' });
  assert.equal(new URL(page.url()).hash, '', 'the key fragment is removed from the URL');
  assert.equal(await page.locator('#identity .role').textContent(), 'integration', 'role shown');
  assert.equal(await page.locator('#identity-integration').textContent(), 'sandbox', 'integration shown');
  assert.equal(await page.locator('#sign-in-view').isHidden(), true, 'sign-in form hidden');

  await page.locator('#connection[data-state="live"]').waitFor();
  assert.equal(await page.locator('#connection-text').textContent(), 'Live', 'connection text');
  assert.equal(await page.locator('#connection').getAttribute('aria-live'), 'polite', 'connection state is announced');
});

test('feed stays live while idle', { timeout: 30000 }, async () => {
  await page.locator('#connection[data-state="live"]').waitFor();
  await page.evaluate(() => {
    window.hookgateStates = [];
    new MutationObserver(() => {
      window.hookgateStates.push(document.getElementById('connection').dataset.state);
    }).observe(document.getElementById('connection'), { attributes: true, attributeFilter: ['data-state'] });
  });

  // Longer than the inspector's Redis timeout (5 s) plus one second, the
  // deadline of the request that opened the stream.
  await new Promise((resolve) => setTimeout(resolve, IDLE_WATCH_MS));

  assert.deepEqual(await page.evaluate(() => window.hookgateStates), [], 'connection state changes while idle');
  assert.equal(await page.locator('#connection').getAttribute('data-state'), 'live', 'still live');
});

test('live list shows published event', { timeout: 30000 }, async () => {
  const before = await page.locator('tr.event-row').count();

  published.eventId = await publishSandbox(published.body);

  await row(published.eventId).waitFor({ timeout: LIVE_ROW_MS });
  assert.equal(await page.locator('tr.event-row').count(), before + 1, 'exactly one new row');
  assert.equal(
    await page.locator('tr.event-row').first().getAttribute('data-event-id'),
    published.eventId,
    'the newest event is the first row',
  );
  assert.equal(await row(published.eventId).locator('.event-type').textContent(), 'booking.created', 'event type');

  await row(published.eventId).locator('.badge[data-status="succeeded"]').waitFor({ timeout: SETTLE_MS });
  assert.equal(await row(published.eventId).locator('.badge').count(), 1, 'one delivery badge');
  assert.match(await row(published.eventId).locator('.col-attempt').textContent(), /HTTP 200/, 'latest attempt outcome');
});

test('event detail shows payload and attempt', { timeout: 30000 }, async () => {
  await row(published.eventId).locator('a.event-link').click();

  const pretty = page.locator('#payload-pretty');
  await pretty.waitFor();
  assert.equal(new URL(page.url()).hash, `#event/sandbox/${published.eventId}`, 'detail URL');
  assert.equal(await page.locator('.detail-title').textContent(), 'booking.created', 'detail title');
  assert.equal(await pretty.textContent(), JSON.stringify(JSON.parse(published.body), null, 2), 'pretty payload');
  assert.equal(await page.locator('#payload-raw').isHidden(), true, 'raw view hidden at first');

  await page.getByRole('button', { name: 'Raw', exact: true }).click();
  assert.equal(await page.locator('#payload-raw').isVisible(), true, 'raw view shown');
  assert.equal(await pretty.isHidden(), true, 'pretty view hidden');
  assert.equal(await page.locator('#payload-raw').textContent(), published.body, 'raw view is the published bytes');

  const attempt = page.locator('.delivery .attempt[data-attempt="1"]');
  assert.equal(await attempt.count(), 1, 'one attempt');
  assert.equal(await attempt.evaluate((details) => details.open), true, 'latest attempt expanded');
  assert.equal(await attempt.locator('summary .http-status').textContent(), 'HTTP 200', 'attempt HTTP status');
  assert.equal(
    await attempt.locator('.request tr[data-header="webhook-id"] td').textContent(),
    published.eventId,
    'webhook-id request header',
  );
  assert.equal(
    await attempt.locator('.request tr[data-header="content-type"] td').textContent(),
    'application/json',
    'content-type request header',
  );
  assert.match(await attempt.locator('.response-body').textContent(), /"received":true/, 'sink response body');

  await page.screenshot({ path: path.join(ARTIFACTS, 'inspector-event.png'), fullPage: true, animations: 'disabled' });
});

test('feed reconnects after inspector restart', { timeout: 60000 }, async () => {
  await page.locator('a.back-link').click();
  await page.locator('#list-view').waitFor({ state: 'visible' });
  await page.locator('#connection[data-state="live"]').waitFor();
  await page.evaluate(() => {
    window.hookgateTestMarker = 'same document';
  });

  await harness.stop(inspector);
  try {
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#connection-text').textContent(), 'Reconnecting…', 'reconnecting text');
    // EventSource retries every 2 s, and a failed retry must not look live.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    assert.equal(await page.locator('#connection').getAttribute('data-state'), 'reconnecting', 'still reconnecting while down');
  } finally {
    // Later tests need the inspector even when this check failed.
    inspector = await startInspector();
  }

  await page.locator('#connection[data-state="live"]').waitFor({ timeout: RECONNECT_MS });
  assert.equal(await page.locator('#connection-text').textContent(), 'Live', 'live text after restart');

  laterEventId = await publishSandbox('{"type":"booking.cancelled","booking_id":"b_browser_2"}');
  await row(laterEventId).waitFor({ timeout: LIVE_ROW_MS });
  await row(laterEventId).locator('.badge[data-status="succeeded"]').waitFor({ timeout: SETTLE_MS });
  assert.equal(await page.evaluate(() => window.hookgateTestMarker), 'same document', 'the page did not reload');
  assert.equal(await row(published.eventId).count(), 1, 'the earlier event is still listed');
});

test('sink panel lists capture', { timeout: 30000 }, async () => {
  assert.ok(laterEventId, 'the restart test published its event');
  const capture = page.locator(`#sink-list details.capture[data-webhook-id="${published.eventId}"]`);
  const laterCapture = page.locator(`#sink-list details.capture[data-webhook-id="${laterEventId}"]`);
  await capture.waitFor();
  // The panel reloads when the feed announces a capture.
  await laterCapture.waitFor({ timeout: LIVE_ROW_MS });
  assert.equal(await page.locator('#sink-list details.capture').count(), 2, 'two captures');
  assert.equal(
    await page.locator('#sink-list details.capture').first().getAttribute('data-webhook-id'),
    laterEventId,
    'the newest capture is first',
  );
  assert.equal(await capture.locator('summary .method').textContent(), 'POST', 'capture method');

  await capture.locator('summary').click();
  assert.equal(
    await capture.locator('tr[data-header="webhook-id"] td').textContent(),
    published.eventId,
    'captured webhook-id header',
  );
  assert.equal(
    await capture.locator('pre').textContent(),
    JSON.stringify(JSON.parse(published.body), null, 2),
    'captured body',
  );

  await page.screenshot({ path: path.join(ARTIFACTS, 'inspector-main.png'), animations: 'disabled' });
});

test('bad key shows error and no data', { timeout: 30000 }, async () => {
  await context.clearCookies();

  await page.goto(`${baseUrl()}/`);
  await page.locator('#sign-in-view').waitFor({ state: 'visible' });
  await page.locator('#key-input').fill('hgk_not_a_valid_key_0000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();

  const error = page.locator('#sign-in-error');
  await waitFor(async () => (await error.textContent()) !== '', { timeoutMs: 5000, what: 'the sign-in error' });
  assert.match(await error.textContent(), /not accepted/, 'error message');
  assert.equal(await page.locator('#app-view').isHidden(), true, 'no list shown');
  assert.equal(await page.locator('#session-bar').isHidden(), true, 'no session bar');
  assert.equal(await page.locator('tr.event-row').count(), 0, 'no event rows');
  assert.equal(await page.locator('#sink-list li').count(), 0, 'no captures');

  await page.goto(`${baseUrl()}/#key=hgk_not_a_valid_key_1111111111`);
  await waitFor(async () => /not accepted/.test(await error.textContent()), {
    timeoutMs: 5000,
    what: 'the sign-in error after a fragment key',
  });
  assert.equal(new URL(page.url()).hash, '', 'the bad key fragment is removed too');
  assert.equal(await page.locator('tr.event-row').count(), 0, 'no event rows after a fragment key');
});

test('page has no script or CSP errors', () => {
  assert.deepEqual(pageErrors, [], 'uncaught script errors');
  const policyErrors = consoleErrors.filter((text) => /Content Security Policy/i.test(text));
  assert.deepEqual(policyErrors, [], 'Content Security Policy violations');
});
