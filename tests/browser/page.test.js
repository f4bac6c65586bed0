// SPDX-License-Identifier: GPL-3.0-or-later
// Browser test of the /ui/ page: Debian's chromium driven by playwright-core against a
// running node. Environment:
//   CF_HTTP_URL        base URL of the node, e.g. http://127.0.0.1:8080 (required)
//   CF_FETCH_LINK      a cloud film link the node can fetch (required)
//   CF_FETCH_PASSWORD  its password, if it has one
//   CF_EXPECT_NAME     the patient name (as the page shows it, e.g. 张三) the link brings (required)
//   CF_UPLOAD_ZIP      a zip of DICOM files to drop onto the page (that step is skipped without it)
//   CF_FORWARD_TO      a modality name (GET /api/modalities) to forward the fetched study to
//                      (that step is skipped without it)
//   CF_SCREENSHOTS     folder for the screenshots (default: $TMPDIR/cloudfilm-screens)
// Run: cd tests/browser && npm ci && CF_HTTP_URL=... node --test page.test.js
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { PNG } = require('pngjs');

const BASE = (process.env.CF_HTTP_URL || '').replace(/\/+$/, '');
const LINK = process.env.CF_FETCH_LINK || '';
const PASSWORD = process.env.CF_FETCH_PASSWORD || '';
const EXPECT_NAME = process.env.CF_EXPECT_NAME || '';
const UPLOAD_ZIP = process.env.CF_UPLOAD_ZIP || '';
const FORWARD_TO = process.env.CF_FORWARD_TO || '';
const SHOTS = process.env.CF_SCREENSHOTS || path.join(os.tmpdir(), 'cloudfilm-screens');
const LONG = 120000; // a state the page must reach; the wait ends as soon as it does
const SHORT = 15000;

const missing = ['CF_HTTP_URL', 'CF_FETCH_LINK', 'CF_EXPECT_NAME'].filter((k) => !process.env[k]);
const skip = missing.length ? `set ${missing.join(', ')}` : false;

// Share of pixels that are not near-white, and of dark (text) pixels: a blank or unstyled
// page fails one of them.
function inkOf(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  let ink = 0;
  let dark = 0;
  const n = png.width * png.height;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
    if (r < 235 || g < 235 || b < 235) ink += 1;
    if (0.299 * r + 0.587 * g + 0.114 * b < 100) dark += 1;
  }
  return { ink: ink / n, dark: dark / n, width: png.width, height: png.height };
}

async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  const { ink, dark } = inkOf(file);
  assert.ok(ink > 0.03, `${name}: only ${(ink * 100).toFixed(2)}% of the pixels are not white`);
  assert.ok(dark > 0.002, `${name}: only ${(dark * 100).toFixed(3)}% dark (text) pixels`);
  return file;
}

// Wait until the first element matching sel exists and, if given, its text contains
// want.text or its data-<want.key> is one of want.values. (A plain argument, not a function:
// the page's CSP forbids eval, so the check cannot be built from a string in the page.)
async function waitFor(page, sel, want = {}, timeout = SHORT) {
  await page.waitForFunction(
    ([s, w]) => {
      const e = document.querySelector(s);
      if (!e) return false;
      if (w.text !== undefined && !e.textContent.includes(w.text)) return false;
      if (w.key !== undefined && !w.values.includes(e.dataset[w.key])) return false;
      return true;
    },
    [sel, want],
    { timeout, polling: 100 },
  );
}

async function studyUids(page) {
  const res = await page.request.get(`${BASE}/api/studies?limit=1000`);
  assert.equal(res.status(), 200);
  return new Set((await res.json()).studies.map((s) => s.study_uid));
}

describe('the /ui/ page', { skip }, () => {
  let browser;
  let context;
  let page;
  let jobId;
  const pageErrors = [];
  const serverErrors = [];
  const cspViolations = [];
  const dialogs = [];

  before(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on('response', (r) => { if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    page.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  });

  after(async () => {
    if (browser) await browser.close();
  });

  it('opens in Chinese for a zh-CN browser', async () => {
    const res = await page.goto(`${BASE}/ui/`);
    assert.equal(res.status(), 200);
    // docs/api.md: the page carries a CSP (which the checks below hold the page to) and nosniff.
    const headers = res.headers();
    assert.match(headers['content-security-policy'] || '', /default-src 'self'/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    assert.equal(await page.locator('label[for="fetch-link"]').textContent(), '云胶片链接');
    assert.equal(await page.locator('label[for="fetch-password"]').textContent(), '密码');
    assert.equal((await page.getByTestId('download-button').textContent()).trim(), '下载');
  });

  it('downloads the cloud film and shows the job done', async () => {
    await page.getByTestId('link-input').fill(LINK);
    await page.getByTestId('password-input').fill(PASSWORD);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/fetch'),
      page.getByTestId('download-button').click(),
    ]);
    const body = await res.json();
    assert.equal(res.status(), 202, JSON.stringify(body));
    jobId = body.job.id;
    const sel = `li[data-job="${jobId}"] [data-testid="job-state"]`;
    // Wait until the job ends, whichever way, then say how.
    await waitFor(page, sel, { key: 'state', values: ['done', 'failed', 'cancelled', 'interrupted'] }, LONG);
    const stateText = await page.locator(sel).textContent();
    const why = await page.locator(`li[data-job="${jobId}"] [data-testid="job-error"]`).allTextContents();
    assert.ok(stateText.includes('完成'), `job state "${stateText}" ${why.join(' ')}`);
    const counts = await page.locator(`li[data-job="${jobId}"] [data-testid="job-counts"]`).textContent();
    assert.match(counts, /\d+(\/\d+)? 张图像/);
  });

  it('lists the fetched study with its Chinese patient name', async () => {
    await page.waitForFunction(
      (name) => [...document.querySelectorAll('tr[data-testid="study-row"] td.name')].some((td) => td.textContent === name),
      EXPECT_NAME, { timeout: LONG, polling: 200 },
    );
    const row = page.locator('tr[data-testid="study-row"]', { has: page.locator('td.name', { hasText: EXPECT_NAME }) }).first();
    assert.match(await row.locator('td').nth(2).textContent(), /^(\d{4}-\d{2}-\d{2}|)$/);
    assert.equal((await row.getByTestId('study-delete').textContent()).trim(), '删除');
    await screenshot(page, 'ui-zh-1280.png');
  });

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a 390px screen`);
    await screenshot(page, 'ui-zh-390.png');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('switches to English and remembers it', async () => {
    await page.getByTestId('lang-switch').click();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('label[for="fetch-link"]').textContent(), 'Cloud film link');
    const sel = `li[data-job="${jobId}"] [data-testid="job-state"]`;
    assert.ok((await page.locator(sel).textContent()).includes('Done'));
    await page.reload();
    assert.equal(await page.locator('label[for="fetch-link"]').textContent(), 'Cloud film link');
    await waitFor(page, sel, { text: 'Done' });
    await waitFor(page, 'tr[data-testid="study-row"]');
    await screenshot(page, 'ui-en-1280.png');
  });

  it('imports a zip dropped onto the drop zone', { skip: UPLOAD_ZIP ? false : 'set CF_UPLOAD_ZIP' }, async () => {
    const beforeUids = await studyUids(page);
    const data = fs.readFileSync(UPLOAD_ZIP);
    const name = path.basename(UPLOAD_ZIP);
    if (data.length <= 64 * 1024 * 1024) {
      // A real drop event with a DataTransfer, as a person dragging the file would cause.
      await page.evaluate(async ([b64, fileName]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], fileName, { type: 'application/zip' }));
        const zone = document.querySelector('[data-testid="drop-zone"]');
        for (const type of ['dragenter', 'dragover', 'drop']) {
          zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
        }
      }, [data.toString('base64'), name]);
    } else {
      await page.getByTestId('upload-input').setInputFiles(UPLOAD_ZIP);
    }
    await waitFor(page, '[data-testid="upload-summary"]', { key: 'done', values: ['true'] }, LONG);
    const summary = page.getByTestId('upload-summary');
    const errors = await page.locator('#upload-errors li').allTextContents();
    assert.equal(await summary.getAttribute('data-errors'), '0', errors.join('\n'));
    const got = Number(await summary.getAttribute('data-imported')) + Number(await summary.getAttribute('data-duplicates'));
    assert.ok(got > 0, `nothing imported: ${await summary.textContent()}`);
    assert.match(await summary.textContent(), /images added/);
    const afterUids = await studyUids(page);
    const fresh = [...afterUids].filter((u) => !beforeUids.has(u));
    // Each study the zip brought shows up as a row.
    for (const uid of fresh) await waitFor(page, `tr[data-testid="study-row"][data-uid="${uid}"]`, {}, LONG);
    page.cfUploaded = fresh;
  });

  it('forwards the fetched study', { skip: FORWARD_TO ? false : 'set CF_FORWARD_TO' }, async () => {
    const row = page.locator('tr[data-testid="study-row"]', { has: page.locator('td.name', { hasText: EXPECT_NAME }) }).first();
    await row.getByTestId('study-forward-select').selectOption(FORWARD_TO);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/studies\/[0-9.]+\/send$/.test(new URL(r.url()).pathname)),
      row.getByTestId('study-forward').click(),
    ]);
    const body = await res.json();
    assert.equal(res.status(), 202, JSON.stringify(body));
    const sel = `li[data-queue="${body.job.id}"] [data-testid="queue-state"]`;
    await waitFor(page, sel, { key: 'state', values: ['done', 'failed', 'cancelled'] }, LONG);
    const why = await page.locator(`li[data-queue="${body.job.id}"]`).textContent();
    assert.equal(await page.locator(sel).getAttribute('data-state'), 'done', why);
    assert.ok((await page.locator(sel).textContent()).includes('Done'));
  });

  it('deletes a study after asking', async () => {
    // Prefer a study the upload brought, so the fetched one stays for later steps.
    let uid = (page.cfUploaded || [])[0];
    if (!uid) {
      const row = page.locator('tr[data-testid="study-row"]', { has: page.locator('td.name', { hasText: EXPECT_NAME }) }).first();
      uid = await row.getAttribute('data-uid');
    }
    const row = page.locator(`tr[data-testid="study-row"][data-uid="${uid}"]`);
    await row.getByTestId('study-delete').click();
    await row.waitFor({ state: 'detached', timeout: SHORT });
    assert.equal(dialogs.length, 1);
    assert.match(dialogs[0], /^Delete the study of /);
    assert.ok(!(await studyUids(page)).has(uid), 'the study is still in the store');
  });

  it('had no script errors, 5xx answers or CSP violations', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(serverErrors, []);
    assert.deepEqual(cspViolations, []);
  });
});
