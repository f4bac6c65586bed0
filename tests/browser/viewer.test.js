// SPDX-License-Identifier: MIT
// The in-browser viewer (OHIF, served by the node) shows a stored study: the viewport canvas
// gets real pixels, read over the node's DICOMweb (QIDO, series metadata, frames), with no
// page error and no failed DICOMweb request (WEB.md 5.2).
//   CF_HTTP_URL      the node, e.g. http://127.0.0.1:8080 (required)
//   CF_STUDY_UIDS    comma-separated studies to open one after the other (required)
//   CF_EXPECT_TEXT   text the viewer must show for the first study (e.g. the patient name)
//   CF_SCREENSHOTS   folder for the screenshots
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { PNG } = require('pngjs');

const BASE = process.env.CF_HTTP_URL;
const STUDIES = (process.env.CF_STUDY_UIDS || '').split(',').filter(Boolean);
const EXPECT_TEXT = process.env.CF_EXPECT_TEXT || '';
const SHOTS = process.env.CF_SCREENSHOTS || path.join(os.tmpdir(), 'cloudfilm-screens');
const skip = !BASE || STUDIES.length === 0 ? 'set CF_HTTP_URL and CF_STUDY_UIDS' : false;

// Share of pixels brighter than near-black, and the number of distinct grey levels: a
// black or flat viewport fails.
function lit(buffer) {
  const png = PNG.sync.read(buffer);
  let n = 0;
  const levels = new Set();
  for (let i = 0; i < png.data.length; i += 4) {
    const v = (png.data[i] + png.data[i + 1] + png.data[i + 2]) / 3;
    if (v > 20) n += 1;
    levels.add(Math.round(v / 8));
  }
  return { fraction: n / (png.width * png.height), levels: levels.size };
}

describe('the viewer', { skip }, () => {
  let browser;
  let page;
  const bad = [];

  before(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => bad.push(`pageerror: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 500 || (r.url().includes('/dicom-web/') && r.status() >= 400)) {
        bad.push(`${r.status()} ${r.url()}`);
      }
    });
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    if (browser) await browser.close();
  });

  for (const [index, uid] of STUDIES.entries()) {
    it(`renders study ${index + 1}`, { timeout: 180000 }, async () => {
      const frames = [];
      const onResponse = (r) => { if (r.url().includes('/frames/') && r.status() === 200) frames.push(r.url()); };
      page.on('response', onResponse);
      await page.goto(`${BASE}/viewer?StudyInstanceUIDs=${uid}`);
      const canvas = page.locator('canvas.cornerstone-canvas').first();
      await canvas.waitFor({ timeout: 120000 });
      let seen = { fraction: 0, levels: 0 };
      for (let i = 0; i < 120 && (seen.fraction < 0.05 || seen.levels < 4); i += 1) {
        const skipTour = page.getByText('Skip all');
        if (await skipTour.isVisible().catch(() => false)) await skipTour.click();
        await page.waitForTimeout(500);
        seen = lit(await canvas.screenshot());
      }
      await page.screenshot({ path: path.join(SHOTS, `viewer-${index + 1}.png`) });
      assert.ok(seen.fraction > 0.05 && seen.levels >= 4,
        `viewport still blank: ${(seen.fraction * 100).toFixed(1)}% lit, ${seen.levels} grey levels`);
      assert.ok(frames.length > 0, 'no frame was loaded over /dicom-web');
      if (index === 0 && EXPECT_TEXT) {
        await page.getByText(EXPECT_TEXT, { exact: false }).first().waitFor({ timeout: 30000 });
      }
      page.off('response', onResponse);
      assert.deepStrictEqual(bad, []);
    });
  }
});
