// Loads an HTML report in the distribution's headless Chromium and says what a person would
// meet: console errors, uncaught exceptions, any request beyond the file itself (the report
// must be self-contained), and a full-page screenshot.
//
//   node check_html.mjs REPORT.html SCREENSHOT.png
//
// Prints one JSON object on stdout: {"title", "consoleErrors", "pageErrors", "requests",
// "details", "tables", "bodyText", "overflowX"}; exits 0 when it could load the page (the caller judges
// the findings), 2 when it could not run at all.
// SPDX-License-Identifier: Apache-2.0 OR MIT
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [html, screenshot] = process.argv.slice(2);
if (!html || !screenshot) {
  console.error('usage: node check_html.mjs REPORT.html SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const url = pathToFileURL(resolve(html)).href;
const profile = mkdtempSync(join(tmpdir(), 'ratchet-bench-chromium-'));
let context;
try {
  // A new empty profile; no sandbox (CI runs as root); nothing that reaches the network on
  // its own (component updates, sync, QUIC probes, first-run pages).
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
} catch (e) {
  rmSync(profile, { recursive: true, force: true });
  console.error(`check_html: cannot start ${executablePath}: ${e.message}`);
  process.exit(2);
}
const consoleErrors = [];
const pageErrors = [];
const requests = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // Every request but the report itself is recorded and refused: a self-contained page
  // makes none.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    requests.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  const facts = await page.evaluate(() => ({
    title: document.title,
    details: document.querySelectorAll('details').length,
    tables: document.querySelectorAll('table').length,
    bodyText: document.body.innerText,
    // How far the page is wider than the window (0 when nothing overflows sideways).
    overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...facts, consoleErrors, pageErrors, requests }));
} catch (e) {
  console.error(`check_html: ${url}: ${e.message}`);
  process.exitCode = 2;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
