// End-to-end test of the support dashboard in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core). Started by tests/admin/browser.rs, which serves the
// dashboard against the Linnworks and Stream simulators with seeded orders and passes:
//   BASE_URL, ADMIN_TOKEN, SCREENSHOT_DIR, ORDERS (JSON: failed, pending, invalid, completed),
//   CHROMIUM (default /usr/bin/chromium).
// Exits non-zero on the first failed check, with a screenshot of the page at that moment.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const token = process.env.ADMIN_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const orders = JSON.parse(process.env.ORDERS || '{}');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
for (const [name, value] of Object.entries({ BASE_URL: base, ADMIN_TOKEN: token, SCREENSHOT_DIR: shots })) {
  if (!value) throw new Error(`${name} is not set`);
}
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
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

let passed = 0;
async function step(name, fn) {
  process.stdout.write(`- ${name} ... `);
  try {
    await fn();
    passed += 1;
    console.log('ok');
  } catch (e) {
    console.log('FAILED');
    await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    throw e;
  }
}
const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
const rows = () => page.locator('#orders-body tr[data-id]');
const row = (id) => page.locator(`#orders-body tr[data-id="${id}"]`);
async function chip(status) {
  await page.click(`#status-filter [data-status="${status}"]`);
  await page.waitForFunction((s) => window.location.hash.includes(s ? `status=${s}` : 'orders'), status);
}
async function noData(response, what) {
  const text = await response.text();
  for (const id of Object.values(orders)) assert.ok(!text.includes(id), `${what} leaked order ${id}`);
  assert.ok(!text.includes('WEB-'), `${what} leaked a reference`);
  return text;
}

try {
  await step('an anonymous visitor gets the sign-in page and the API answers 401', async () => {
    await page.goto(`${base}/admin/`);
    assert.match(page.url(), /\/admin\/login$/);
    await page.waitForSelector('#token');
    await shot('01-sign-in');
    const api = await fetch(`${base}/api/admin/installations/shop/acme/orders`);
    assert.equal(api.status, 401);
    await noData(api, 'the API without a token');
    const wrong = await fetch(`${base}/api/admin/installations/shop/acme/orders`, { headers: { Authorization: 'Bearer not-the-admin-token-123' } });
    assert.equal(wrong.status, 401);
    await noData(wrong, 'the API with a wrong token');
  });

  await step('a wrong token is refused on the sign-in page', async () => {
    await page.fill('#token', 'not-the-admin-token-123');
    await page.fill('#name', 'Sam Support');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/admin/login') && r.request().method() === 'POST'),
      page.click('#sign-in'),
    ]);
    assert.equal(response.status(), 401);
    assert.equal((await page.textContent('#login-error')).trim(), 'That admin token is not valid.');
    assert.equal(await page.inputValue('#name'), 'Sam Support', 'the name is kept');
    assert.equal((await context.cookies()).filter((c) => c.name === 'linnstream_admin_session').length, 0);
    await noData(response, 'the refused sign-in');
    await shot('02-sign-in-refused');
  });

  await step('signing in shows the order queue', async () => {
    await page.fill('#token', token);
    await page.click('#sign-in');
    await page.waitForURL(/#\/i\/shop\/acme\/orders/);
    await page.waitForSelector(`#orders-body tr[data-id="${orders.pending}"]`);
    const cookie = (await context.cookies()).find((c) => c.name === 'linnstream_admin_session');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!cookie.value.includes(token), 'the cookie does not hold the token');
    assert.equal(await rows().count(), 5);
    assert.match(await page.textContent('#actor'), /Sam Support \(token admin\)/);
    for (const [id, status] of [[orders.failed, 'Failed'], [orders.pending, 'Pending'], [orders.invalid, 'ValidationFailed'], [orders.completed, 'Completed']]) {
      assert.equal(await row(id).getAttribute('data-status'), status, `order ${id}`);
    }
    assert.match(await row(orders.failed).textContent(), /400/, 'the HTTP status is shown');
    await shot('03-order-queue');
  });

  await step('filtering to Validation Failed shows the reason', async () => {
    await chip('ValidationFailed');
    await page.waitForFunction(() => document.querySelectorAll('#orders-body tr[data-id]').length === 1);
    const text = await row(orders.invalid).textContent();
    assert.match(text, /Missing delivery address fields/);
    assert.match(text, /Postcode/);
    await shot('04-validation-failed');
    await row(orders.invalid).click();
    await page.waitForSelector('#last-error');
    const reason = await page.textContent('#last-error');
    assert.match(reason, /Missing delivery address fields: the delivery address lacks Postcode/);
    assert.match(await page.textContent('#timeline'), /Validate/);
    await shot('05-order-detail-validation-failed');
  });

  await step('searching by order number and by reference finds the order', async () => {
    await page.goto(`${base}/admin/#/i/shop/acme/orders`);
    await page.waitForSelector(`#orders-body tr[data-id="${orders.pending}"]`);
    await page.fill('#search', orders.pendingReference.toLowerCase());
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#orders-body tr[data-id]').length === 1);
    assert.equal(await rows().first().getAttribute('data-id'), orders.pending);
    await page.fill('#search', String(orders.pendingNumber));
    await page.press('#search', 'Enter');
    await page.waitForFunction((n) => window.location.hash.includes(`search=${n}`), String(orders.pendingNumber));
    await page.waitForFunction(() => document.querySelectorAll('#orders-body tr[data-id]').length === 1);
    assert.equal(await rows().first().getAttribute('data-id'), orders.pending);
  });

  await step('resending a failed order makes it Completed', async () => {
    await page.goto(`${base}/admin/#/i/shop/acme/orders?status=Failed`);
    await page.waitForSelector(`#orders-body tr[data-id="${orders.failed}"]`);
    await row(orders.failed).locator('input[type=checkbox]').check();
    assert.match(await page.textContent('#selected-info'), /1 selected/);
    await page.click('#resend-failed');
    await page.waitForSelector('#dialog-confirm');
    assert.match(await page.textContent('#dialog'), /Resend 1 Failed order/);
    await shot('06-resend-confirm');
    await page.click('#dialog-confirm');
    await page.waitForSelector('#dialog-close');
    const result = await page.textContent('#dialog');
    assert.match(result, /Resend: 1 of 1 done/);
    assert.match(result, /Completed/);
    await shot('07-resend-result');
    await page.click('#dialog-close');
    // The queue refreshes itself: the order leaves the Failed filter and shows Completed.
    await page.waitForFunction((id) => !document.querySelector(`#orders-body tr[data-id="${id}"]`), orders.failed);
    await chip('');
    await page.waitForFunction((id) => document.querySelector(`#orders-body tr[data-id="${id}"]`)?.dataset.status === 'Completed', orders.failed);
    assert.match(await row(orders.failed).textContent(), /Completed/);
    await shot('08-queue-after-resend');
  });

  await step('deleting a Pending order is refused with the guide\'s message', async () => {
    await chip('Pending');
    await page.waitForSelector(`#orders-body tr[data-id="${orders.pending}"]`);
    await row(orders.pending).locator('input[type=checkbox]').check();
    await page.click('#delete-completed');
    await page.waitForSelector('#dialog-confirm');
    assert.match(await page.textContent('#dialog'), /cannot be undone/);
    await page.click('#dialog-confirm');
    await page.waitForSelector('#action-error');
    const message = await page.textContent('#action-error');
    assert.match(message, /^Only Completed orders can be deleted; Pending, Failed or In Progress orders cannot be deleted/);
    assert.match(message, /is Pending/);
    await shot('09-delete-refused');
    await page.click('#dialog-close');
    await page.waitForFunction((id) => document.querySelector(`#orders-body tr[data-id="${id}"]`)?.dataset.status === 'Pending', orders.pending);
  });

  await step('an order\'s timeline leads to the audit log of one correlation id', async () => {
    await page.goto(`${base}/admin/#/i/shop/acme/order/${orders.failed}`);
    await page.waitForSelector('#timeline');
    const timeline = await page.textContent('#timeline');
    assert.match(timeline, /Resend|Send/);
    assert.match(timeline, /Sam Support \(token admin\)/);
    assert.match(await page.textContent('#tracking-link'), /^http/);
    await shot('10-order-timeline');
    const link = page.locator('#timeline a.correlation').first();
    const correlation = (await link.textContent()).trim();
    await link.click();
    await page.waitForSelector('#correlation-banner');
    await page.waitForSelector('#audit-body tr[data-correlation]');
    const found = await page.$$eval('#audit-body tr[data-correlation]', (trs) => trs.map((t) => t.dataset.correlation));
    assert.ok(found.length >= 1);
    assert.ok(found.every((c) => c === correlation), `only ${correlation}: ${found}`);
    assert.match(await page.textContent('#audit-body'), /Success/);
    await shot('11-audit-correlation');
  });

  await step('the audit log filters by action', async () => {
    await page.goto(`${base}/admin/#/i/shop/acme/audit`);
    await page.waitForSelector('#audit-body tr[data-correlation]');
    await shot('12-audit-log');
    await page.selectOption('#f-action', 'Delete');
    await page.click('#audit-filters button[type=submit]');
    await page.waitForFunction(() => window.location.hash.includes('action=Delete'));
    await page.waitForFunction(() => {
      const r = document.querySelectorAll('#audit-body tr[data-correlation]');
      return r.length === 1 && r[0].textContent.includes('Only Completed orders can be deleted');
    });
  });

  await step('the scheduler flags the overdue master-data job', async () => {
    await page.click('#nav a[data-view="jobs"]');
    await page.waitForSelector('tr[data-overdue="sync-master-data-identifiers"]');
    const warning = await page.textContent('tr[data-overdue="sync-master-data-identifiers"]');
    assert.match(warning, /overdue/);
    assert.match(warning, /Linnworks answered 503/);
    assert.match(await page.textContent('tr[data-job="fetch-orders"]'), /Disabled/);
    assert.match(await page.textContent('tr[data-job="sync-master-data-postal-services"]'), /On schedule/);
    assert.match(await page.textContent('#overdue-banner'), /sync-master-data-identifiers/);
    await shot('13-scheduler');
  });

  await step('writes without the session\'s CSRF token are refused', async () => {
    const status = await page.evaluate(async (id) => {
      const r = await fetch('/api/admin/installations/shop/acme/orders/send', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ orderIds: [id] }),
      });
      return r.status;
    }, orders.pending);
    assert.equal(status, 403);
  });

  await step('the queue fits a warehouse tablet and a phone', async () => {
    await page.setViewportSize({ width: 800, height: 1100 });
    await page.goto(`${base}/admin/#/i/shop/acme/orders`);
    await page.waitForSelector(`#orders-body tr[data-id="${orders.pending}"]`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no sideways scrolling of the page on a tablet (${overflow}px)`);
    await shot('14-tablet-orders');
    await page.goto(`${base}/admin/#/i/shop/acme/order/${orders.completed}`);
    await page.waitForSelector('#order-title');
    await shot('15-tablet-order');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/admin/#/i/shop/acme/orders`);
    await page.waitForSelector(`#orders-body tr[data-id="${orders.pending}"]`);
    await shot('16-phone-orders');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  await step('signing out ends the session; a forged cookie gets the sign-in page', async () => {
    await page.goto(`${base}/admin/#/i/shop/acme/orders`);
    await page.waitForSelector('#logout button');
    await page.click('#logout button');
    await page.waitForURL(/\/admin\/login$/);
    await page.goto(`${base}/admin/`);
    assert.match(page.url(), /\/admin\/login$/);
    const status = await page.evaluate(() => fetch('/api/admin/installations').then((r) => r.status));
    assert.equal(status, 401);
    await context.addCookies([{ name: 'linnstream_admin_session', value: 'v1.99999999999.YWRtaW4..AAAAAAAAAAAAAAAAAAAAAA.AAAA', url: base }]);
    await page.goto(`${base}/admin/`);
    assert.match(page.url(), /\/admin\/login$/);
    assert.ok(!(await page.content()).includes(orders.pending));
  });

  // Refused calls (401, 403, 409) are logged by Chromium as failed loads; anything else is a bug.
  assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)), [], 'no script errors');
  console.log(`${passed} passed, 0 failed`);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
