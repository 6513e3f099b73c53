// The dashboard of `zorgpad serve` in real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded).
// Started by tests/cli/browser.py, which seeds a database, starts the server
// and passes:
//   ZORGPAD_URL              the page, with ?token=… (the token printed at start)
//   ZORGPAD_OVERDUE          the overdue episodes, oldest first, comma-separated
//   ZORGPAD_URGENT           the episodes of the urgent tasks, oldest first
//   ZORGPAD_INACTIVE         the inactive episodes, longest quiet first
//   ZORGPAD_HOSTILE          a patient reference full of markup, stored as is
//   ZORGPAD_SCREENSHOT       optional: write a PNG of the page there
// Checks: the page loads without script errors; the urgent list comes first
// on the page, marked red, with the urgent tasks oldest first, and marking one
// done takes it off; the overdue list comes next and holds the overdue
// episodes oldest first; the inactive list holds the inactive episodes; markup in a value
// shows as text; an episode's timeline is drawn as SVG with its letters;
// marking the first overdue task done removes it from the overdue list.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.ZORGPAD_URL;
const overdue = (process.env.ZORGPAD_OVERDUE || '').split(',').filter(Boolean);
const urgent = (process.env.ZORGPAD_URGENT || '').split(',').filter(Boolean);
const inactive = (process.env.ZORGPAD_INACTIVE || '').split(',').filter(Boolean);
const hostile = process.env.ZORGPAD_HOSTILE || '';
const screenshot = process.env.ZORGPAD_SCREENSHOT || '';
if (!url || overdue.length < 2 || urgent.length < 2 || !inactive.length) {
  console.error('dashboard.test: set ZORGPAD_URL, ZORGPAD_OVERDUE, ZORGPAD_URGENT and ZORGPAD_INACTIVE (run tests/cli/browser.py)');
  process.exit(2);
}

const failures = [];
function check(cond, what) {
  if (!cond) {
    failures.push(what);
    console.error('FAIL:', what);
  }
  return cond;
}

const userDataDir = mkdtempSync(join(tmpdir(), 'zorgpad-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1360, height: 1000 },
});
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.setDefaultTimeout(15000);

  await page.goto(url);
  await page.waitForSelector('body[data-loaded="true"]');
  check(!new URL(page.url()).searchParams.has('token'), 'the token is taken out of the address bar');
  check(await page.title() === 'zorgpad — coordinator', 'the dashboard loads');

  // The urgent tasks come first on the page (spec §11), marked, oldest first.
  const panels = await page.$$eval('main section.panel h2', (hs) => hs.map((h) => h.textContent.replace(/\s+/g, ' ').trim()));
  check(/^! Urgent\b/.test(panels[0]), `the first list is the urgent one (${panels[0]})`);
  check(await page.$eval('main > *', (s) => s.id) === 'urgent-panel', 'nothing comes before the urgent list, not even the counts');
  const marked = await page.$eval('#urgent-panel', (p) => ({
    pending: p.classList.contains('pending'), border: getComputedStyle(p).borderTopColor,
    mark: getComputedStyle(p.querySelector('.alarm-mark')).backgroundColor }));
  check(marked.pending && marked.border === 'rgb(192, 54, 44)' && marked.mark === 'rgb(192, 54, 44)',
    `the urgent list is marked red while a task is open (${JSON.stringify(marked)})`);
  const urgentRows = () => page.$$eval('#urgent tbody tr[data-task]', (trs) => trs.map((tr) => ({
    task: tr.dataset.task, episode: tr.dataset.episode, kind: tr.children[3].textContent, due: tr.children[4].textContent })));
  const urgentBefore = await urgentRows();
  check(JSON.stringify(urgentBefore.map((r) => r.episode)) === JSON.stringify(urgent),
    `urgent tasks oldest first: ${urgentBefore.map((r) => r.episode)} (want ${urgent})`);
  check(urgentBefore.length === 2 && urgentBefore[0].kind === 'red flag review' && urgentBefore[1].kind === 'gp urgent contact',
    `the urgent kinds (${urgentBefore.map((r) => r.kind)})`);
  check(await page.textContent('#urgent-total') === String(urgent.length), 'the urgent count');
  // The overdue list follows, oldest first.
  check(panels[1].startsWith('Overdue reevaluations'), `the second list is the overdue one (${panels[1]})`);
  const rows = () => page.$$eval('#overdue tbody tr[data-task]', (trs) => trs.map((tr) => ({
    task: tr.dataset.task, episode: tr.dataset.episode, due: tr.children[4].textContent })));
  const before = await rows();
  check(JSON.stringify(before.map((r) => r.episode)) === JSON.stringify(overdue),
    `overdue episodes oldest first: ${before.map((r) => r.episode)} (want ${overdue})`);
  check(before.every((r, i) => i === 0 || before[i - 1].due <= r.due), 'overdue rows by due date');
  check(await page.textContent('#overdue-total') === String(overdue.length), 'the overdue count');

  // Inactive episodes: longest quiet first.
  const inactiveRows = await page.$$eval('#inactive tbody tr[data-episode]', (trs) => trs.map((tr) => tr.dataset.episode));
  check(JSON.stringify(inactiveRows) === JSON.stringify(inactive), `inactive episodes: ${inactiveRows} (want ${inactive})`);
  check(await page.textContent('#inactive-total') === String(inactive.length), 'the inactive count');

  // Markup in a value is shown as text, never run.
  if (hostile) {
    const cells = await page.$$eval('td', (tds, h) => tds.filter((td) => td.textContent === h).length, hostile);
    check(cells > 0, 'a patient reference with markup shows literally');
    check(await page.$$eval('main script, main img, main b', (n) => n.length) === 0, 'no element came from a value');
  }

  // One episode: facts, the SVG timeline, its letters.
  await page.click(`#overdue tbody tr[data-task="${before[0].task}"] a.ep`);
  await page.waitForSelector('#detail:not([hidden]) #timeline svg');
  check(await page.textContent('#detail-id') === overdue[0], 'the episode opens from the overdue list');
  const svg = await page.$eval('#timeline svg', (s) => ({
    lanes: [...s.querySelectorAll('.lane rect')].length,
    overdueMarks: s.querySelectorAll('circle.overdue').length,
    today: s.querySelectorAll('line.today').length,
  }));
  check(svg.lanes >= 3 && svg.overdueMarks === 1 && svg.today === 1,
    `timeline: phase/state/profile bands, the overdue checkpoint, today (${JSON.stringify(svg)})`);
  const letters = await page.$$eval('#detail-letters a', (as) => as.map((a) => a.getAttribute('href')));
  check(letters.some((h) => /^\/api\/tasks\/\d+\/letter$/.test(h)), `the episode's letters are linked (${letters})`);
  if (letters.length) {
    const r = await page.request.get(new URL(letters[0], url).href);
    check(r.status() === 200 && (await r.text()).includes('<html'), 'a letter link opens the letter');
  }

  // Marking the first overdue task done takes it off the list.
  await page.click(`#overdue tbody tr[data-task="${before[0].task}"] button.done`);
  await page.waitForSelector(`#overdue tbody tr[data-task="${before[0].task}"]`, { state: 'detached' });
  const after = await rows();
  check(JSON.stringify(after.map((r) => r.episode)) === JSON.stringify(overdue.slice(1)),
    `after done the overdue list is ${after.map((r) => r.episode)}`);
  check((await page.textContent('#message')).includes('marked done'), 'the page says the task was marked done');
  check(await page.textContent('#overdue-total') === String(overdue.length - 1), 'the overdue count went down');

  // Marking an urgent task done takes it off the urgent list.
  await page.click(`#urgent tbody tr[data-task="${urgentBefore[0].task}"] button.done`);
  await page.waitForSelector(`#urgent tbody tr[data-task="${urgentBefore[0].task}"]`, { state: 'detached' });
  const urgentAfter = await urgentRows();
  check(JSON.stringify(urgentAfter.map((r) => r.episode)) === JSON.stringify(urgent.slice(1)),
    `after done the urgent list is ${urgentAfter.map((r) => r.episode)}`);
  check(await page.textContent('#urgent-total') === String(urgent.length - 1), 'the urgent count went down');

  // A filter narrows every list.
  await page.selectOption('#filters select[name=state]', 'reevaluation_due');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('#episodes tbody tr[data-episode]')]
    .every((tr) => tr.children[2].textContent === 'reevaluation due'));
  const states = await page.$$eval('#episodes tbody tr[data-episode]', (trs) => trs.map((tr) => tr.children[2].textContent));
  check(states.length > 0, `the state filter keeps the episodes in reevaluation_due (${states.length})`);

  if (screenshot) {
    await page.selectOption('#filters select[name=state]', '');
    await page.click('#filters button[type=submit]');
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  check(errors.length === 0, `no script errors (${errors.slice(0, 3)})`);
  check(dialogs.length === 0, `no dialog opened by injected script (${dialogs})`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('dashboard: ok');
