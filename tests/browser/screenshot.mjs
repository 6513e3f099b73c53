// Takes the screenshot of the dashboard in docs/ (docs/serve.md says how):
//   node tests/browser/screenshot.mjs URL OUT.png
// URL is the page of a running `zorgpad serve` (add #/episode/ID for an
// episode's view); the whole page at 1280 wide. Not a test: nothing is checked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, out] = process.argv.slice(2);
if (!url || !out) {
  console.error('usage: node screenshot.mjs URL OUT.png');
  process.exit(2);
}
const userDataDir = mkdtempSync(join(tmpdir(), 'zorgpad-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 800 },
});
try {
  const page = context.pages()[0] || await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-loaded="true"]');
  await page.waitForFunction(() => !document.body.classList.contains('busy'));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: out, fullPage: true });
  console.log('wrote', out);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
