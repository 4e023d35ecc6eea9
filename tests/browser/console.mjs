// The console's pictures and webhook events in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core): sign in, the overview charts drawn with the seeded data, the
// webhook events view showing a Failed event and retrying it (audited), and the label
// preview of a Completed order. Parameterised so any process serving the console can be
// tested with it (`linnstream run` in tests/admin/browser.rs, `linnstream console` in
// cluster mode):
//   BASE_URL, ADMIN_TOKEN, SCREENSHOT_DIR, CHROMIUM (default /usr/bin/chromium),
//   INSTALLATION  "namespace/name" of the seeded installation,
//   SEED          JSON: {completed: orderId, sent: how many orders were sent this hour,
//                 queue: {pending, completed, failed, ...} (the API's counts),
//                 failedEvent: {id, code, order}, label: {width, height}, user,
//                 jobs: how many jobs the installation's scheduler view lists}
// Exits non-zero on the first failed check, with a screenshot of the page at that moment.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const token = process.env.ADMIN_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const installation = process.env.INSTALLATION;
const seed = JSON.parse(process.env.SEED || '{}');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
for (const [name, value] of Object.entries({ BASE_URL: base, ADMIN_TOKEN: token, SCREENSHOT_DIR: shots, INSTALLATION: installation })) {
  if (!value) throw new Error(`${name} is not set`);
}
const [namespace, name] = installation.split('/');
const user = seed.user || 'Casey Console';
fs.mkdirSync(shots, { recursive: true });

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linnstream-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1440, height: 900 },
  timezoneId: 'UTC',
  locale: 'en-GB',
});
context.setDefaultTimeout(15000);
const page = context.pages()[0] || (await context.newPage());
const consoleErrors = [];
const outside = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) outside.push(r.url()); });

let passed = 0;
async function step(title, fn) {
  process.stdout.write(`- ${title} ... `);
  try {
    await fn();
    passed += 1;
    console.log('ok');
  } catch (e) {
    console.log('FAILED');
    await page.screenshot({ path: path.join(shots, 'console-failure.png'), fullPage: true }).catch(() => {});
    throw e;
  }
}
const shot = (file) => page.screenshot({ path: path.join(shots, `${file}.png`), fullPage: true });
const view = (v, query) => `${base}/admin/#/i/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${v}${query ? `?${query}` : ''}`;

try {
  await step('signing in', async () => {
    await page.goto(`${base}/admin/`);
    await page.waitForSelector('#token');
    await page.fill('#token', token);
    await page.fill('#name', user);
    await page.click('#sign-in');
    await page.waitForURL(/#\/i\//);
    assert.match(await page.textContent('#actor'), new RegExp(`${user} \\(token `));
  });

  await step('the overview draws orders by status and orders sent per hour with the data', async () => {
    await page.goto(view('overview'));
    await page.waitForSelector('#chart-status rect.bar');
    // One bar per status, each as tall as its count says (data-value) and taller bars for more.
    const bars = await page.$$eval('#chart-status rect.bar', (rs) => rs.map((r) => ({
      label: r.getAttribute('data-label'), value: Number(r.getAttribute('data-value')), height: Number(r.getAttribute('height')),
    })));
    assert.equal(bars.length, 7, 'seven statuses');
    const byLabel = Object.fromEntries(bars.map((b) => [b.label, b]));
    for (const [label, key] of [['Pending', 'pending'], ['Completed', 'completed'], ['Failed', 'failed'], ['Validation Failed', 'validationFailed']]) {
      assert.equal(byLabel[label].value, seed.queue[key], `${label} bar`);
      assert.equal(byLabel[label].height > 0, seed.queue[key] > 0, `${label} bar height`);
    }
    const tallest = bars.reduce((a, b) => (b.value > a.value ? b : a));
    assert.ok(bars.every((b) => b.height <= tallest.height), 'the largest count is the tallest bar');
    // 24 hourly bars; the current hour (last) holds the orders sent just now.
    const hours = await page.$$eval('#chart-24h rect.bar', (rs) => rs.map((r) => Number(r.getAttribute('data-value'))));
    assert.equal(hours.length, 24);
    assert.equal(hours[23], seed.sent, 'the current hour');
    assert.equal(hours.reduce((a, b) => a + b, 0), seed.sent);
    const lastHeight = await page.$$eval('#chart-24h rect.bar', (rs) => Number(rs[rs.length - 1].getAttribute('height')));
    assert.ok(lastHeight > 0, 'the current hour has a visible bar');
    // The 7-day line: 168 hourly points, one dot where orders were sent.
    const line = await page.getAttribute('#chart-7d path.line', 'd');
    assert.equal((line.match(/[ML]/g) || []).length, 168, '168 hourly points');
    const dots = await page.$$eval('#chart-7d circle.point', (cs) => cs.map((c) => Number(c.getAttribute('data-value'))));
    assert.deepEqual(dots, [seed.sent]);
    assert.equal((await page.textContent('#tile-sent-24h .tile-value')).trim(), String(seed.sent));
    assert.match(await page.textContent('#tile-failure-rate'), /%/);
    assert.equal((await page.textContent('#tile-webhook-backlog .tile-value')).trim(), '0');
    assert.equal(await page.locator('#overview-jobs tbody tr').count(), seed.jobs, 'every job');
    await shot('c01-overview');
  });

  await step('the webhook events view shows the failed event with its code, error and order', async () => {
    await page.goto(view('webhooks'));
    const ev = seed.failedEvent;
    const row = page.locator(`#webhooks-body tr[data-event="${ev.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'Failed');
    assert.match(await page.textContent('#webhook-path'), new RegExp(`/webhooks/${namespace}/${name}`));
    const text = await row.textContent();
    assert.match(text, new RegExp(ev.code));
    assert.match(text, new RegExp(ev.order));
    assert.match(text, new RegExp(ev.error));
    // Filter by status and by code.
    await page.click('#webhook-status-filter [data-status="Processed"]');
    await page.waitForSelector('#webhooks-body td.empty');
    await page.click('#webhook-status-filter [data-status="Failed"]');
    await row.waitFor();
    await page.fill('#webhook-code', 'NO-SUCH-CODE');
    await page.click('#webhook-code-form button[type=submit]');
    await page.waitForSelector('#webhooks-body td.empty');
    await page.goto(view('webhooks', `code=${encodeURIComponent(ev.code)}`));
    await row.waitFor();
    await shot('c02-webhook-events');
  });

  await step('retrying the failed event queues it again, audited with who did it', async () => {
    const row = page.locator(`#webhooks-body tr[data-event="${seed.failedEvent.id}"]`);
    await row.locator('button.retry').click();
    await page.click('#dialog-confirm');
    await page.waitForSelector('#retry-message');
    assert.match(await page.textContent('#retry-message'), new RegExp(`queued for retry by ${user}`));
    await shot('c03-webhook-retried');
    await page.click('#dialog-close');
    await page.waitForFunction((id) => {
      const r = document.querySelector(`#webhooks-body tr[data-event="${id}"]`);
      return r && r.getAttribute('data-status') !== 'Failed';
    }, seed.failedEvent.id);
    assert.equal(await row.locator('button.retry').count(), 0, 'no retry button once queued');
    // The audit log names the retry and who did it.
    const audit = await page.evaluate((p) => fetch(`/api/admin/installations/${p}/audit?action=Webhook`).then((r) => r.json()), `${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
    const entry = audit.entries.find((e) => e.message.includes(`webhook event ${seed.failedEvent.id} `));
    assert.ok(entry, 'an audit entry for the retry');
    assert.equal(entry.outcome, 'Success');
    assert.match(entry.actor, new RegExp(user));
  });

  await step('the order detail shows the label preview as a decoded PNG of the label size', async () => {
    await page.goto(`${base}/admin/#/i/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/order/${encodeURIComponent(seed.completed)}`);
    const img = page.locator('#label-preview');
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector('#label-preview');
      return i && i.complete && i.naturalWidth > 0;
    });
    const size = await img.evaluate((i) => ({ w: i.naturalWidth, h: i.naturalHeight }));
    assert.deepEqual(size, { w: seed.label.width, h: seed.label.height });
    await img.scrollIntoViewIfNeeded();
    await shot('c04-label-preview');
  });

  assert.deepEqual(outside, [], 'nothing is fetched from outside the console');
  assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)), [], 'no script errors');
  console.log(`${passed} passed, 0 failed`);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
