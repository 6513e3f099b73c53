// The dashboard per role, in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), on a PostgreSQL server of two practices, A and B.
// Started by tests/pg/pg_browser_roles.py, which seeds the practices, adds the
// users, starts `zorgpad --practice A serve` and passes ZORGPAD_ROLES, JSON:
//   base         the server's page (http://127.0.0.1:PORT/)
//   users        {therapist, coordinator, gp, gp_a: {token, name}}; gp has no
//                practice, gp_a is a gp of A; both have GP code gp_code
//   practices    {A, B: {episodes, patients, gp_letters, other_letters, gp_episodes}}
//                (from the CLI, not from the server under test)
//   screenshots  the directory for a PNG per role
//   result       a JSON file for what the wrapper checks in the database afterwards
// Each role opens /?token=TOKEN in a browser context of its own. Checks:
// - the therapist of A: the header names them, their role and practice A; no
//   practice selector; the episode list holds A's episodes and patients
//   exactly, the page nowhere names a patient or episode of B; the overview
//   and the task buttons are there, the letters list is not. Opened with
//   ?practice=B, the page says clearly that they may not see B (the server's
//   403) and shows A;
// - the coordinator: the practice selector offers A and B, A chosen; A's
//   episodes only; after choosing B, B's episodes and patients only and none
//   of A's, the address keeps practice=B (a reload still shows B); an episode
//   of B opens with its facts, and its letter opens in a new tab with B's
//   patient; marking one of B's urgent or due tasks done takes it off the list;
// - the gp of no one practice: only the letters list (no overview, counts,
//   filters, episode list, task buttons, diagram); the letters are exactly those
//   of episodes of A addressed to their GP code, each with its html and text
//   link (carrying ?practice=); the html letter opens in a new tab, styled, as
//   the gp (the wrapper checks the audit log), the text letter too; after
//   choosing B, B's letters of their GP code;
// - the gp of A: no selector, A's letters of their GP code;
// - no script errors anywhere (but the one refused request of the therapist
//   asking for B).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const spec = JSON.parse(process.env.ZORGPAD_ROLES || 'null');
if (!spec || !spec.base || !spec.users || !spec.practices) {
  console.error('roles.test: set ZORGPAD_ROLES (run tests/pg/pg_browser_roles.py)');
  process.exit(2);
}
const A = spec.practices.A, B = spec.practices.B;
const result = {};
const failures = [];
function check(cond, what) {
  if (!cond) {
    failures.push(what);
    console.error('FAIL:', what);
  }
  return cond;
}
const same = (a, b) => JSON.stringify([...a].map(String).sort()) === JSON.stringify([...b].map(String).sort());
const t0 = Date.now();
let tLast = t0;
function lap(what) {
  const now = Date.now();
  console.log(`${what}: ${((now - tLast) / 1000).toFixed(1)} s`);
  tLast = now;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// A fresh context per role: its own sessionStorage and cookies.
async function openAs(role, extraQuery = '') {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.setDefaultTimeout(15000);
  const url = new URL(spec.base);
  url.searchParams.set('token', spec.users[role].token);
  url.searchParams.set('lang', 'en');  // the dashboard is Dutch by default; these checks read its English
  await page.goto(url.href + extraQuery);
  await page.waitForSelector('body[data-loaded="true"]');
  await idle(page);
  return { context, page, errors };
}
const idle = (page) => page.waitForFunction(() => !document.body.classList.contains('busy'));
const shown = (page, sel) => page.isVisible(sel);
const allText = (page) => page.evaluate(() => document.documentElement.textContent);
const episodes = (page) => page.$$eval('#episodes tbody tr[data-episode]', (trs) => trs.map((tr) => ({
  id: tr.dataset.episode, patient: tr.children[1].textContent })));
const letterRows = (page) => page.$$eval('#letters tbody tr[data-task]', (trs) => trs.map((tr) => ({
  task: Number(tr.dataset.task), episode: tr.dataset.episode,
  links: [...tr.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('href'), format: a.dataset.format })) })));
const whoText = (page) => page.$eval('#who', (w) => w.textContent.replace(/\s+/g, ' ').trim());
async function noneOf(page, practice, where) {
  const text = await allText(page);
  const named = [...practice.patients, ...practice.episodes].filter((s) => text.includes(s));
  check(named.length === 0, `${where}: the page names nothing of the other practice (${named})`);
}
// Every letter link on the page: a letter of this server, in the practice shown (none: the caller's own).
async function letterLinksOk(page, who, practice) {
  const hrefs = await page.$$eval('a[data-format]', (as) => as.map((a) => a.getAttribute('href')));
  const want = new RegExp('^/api/tasks/\\d+/letter(\\?format=text)?' + (practice ? '[?&]practice=' + practice : '') + '$');
  const bad = hrefs.filter((h) => !want.test(h));
  check(hrefs.length > 0 && bad.length === 0, `${who}: the letter links are letters${practice ? ' of practice ' + practice : ''} (${bad.slice(0, 3)})`);
}
async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(spec.screenshots, name + '.png'), fullPage: true });
}
// Clicks a letter link; returns the new tab once the letter is in it.
async function openLetter(page, selector, mustContain) {
  const [tab] = await Promise.all([page.context().waitForEvent('page'), page.click(selector)]);
  await tab.waitForFunction((words) => document.body && words.every((w) => document.body.textContent.includes(w)),
    mustContain, { timeout: 15000 });
  return tab;
}
function errorsOk(errors, role, allowed = []) {
  const left = errors.filter((e) => !allowed.some((a) => e.includes(a)));
  check(left.length === 0, `${role}: no script errors (${left.slice(0, 3)})`);
}

try {
  // ---- the therapist of A -------------------------------------------------------------------
  {
    const { context, page, errors } = await openAs('therapist');
    check(!new URL(page.url()).searchParams.has('token'), 'therapist: the token is taken out of the address bar');
    const who = await whoText(page);
    check(who.includes(spec.users.therapist.name) && who.includes('therapist'), `therapist: the header names them and their role (${who})`);
    check(await page.textContent('#who-practice').catch(() => null) === 'A', 'therapist: the header names practice A');
    check(!(await shown(page, '#practice-choice')), 'therapist: no practice selector');
    const eps = await episodes(page);
    check(same(eps.map((e) => e.id), A.episodes), `therapist: A's episodes (${eps.map((e) => e.id)}; want ${A.episodes})`);
    check(same(eps.map((e) => e.patient), A.patients), `therapist: A's patients (${eps.map((e) => e.patient)})`);
    await noneOf(page, B, 'therapist');
    for (const sel of ['#urgent-panel', '#counts', '#filters', '#episodes'])
      check(await shown(page, sel), `therapist: ${sel} is shown`);
    check(!(await shown(page, '#letters-panel')), 'therapist: no letters list of a gp');
    check(await page.locator('button.done:visible').count() > 0, 'therapist: task buttons are there');
    check(await page.locator('#referred a[data-format]').count() > 0, 'therapist: a referral of this month links its letter');
    await letterLinksOk(page, 'therapist', '');
    await shot(page, 'therapist');
    errorsOk(errors, 'therapist');
    await context.close();
  }
  lap('therapist');
  // The therapist asks for B in the address: the server refuses (403), the page says so and shows A.
  {
    const { context, page, errors } = await openAs('therapist', '&practice=B');
    const message = await page.textContent('#message');
    check(await shown(page, '#message') && /may not see practice 'B'/.test(message) && /Showing practice A/.test(message),
      `therapist with ?practice=B: a clear message (${message})`);
    check(!new URL(page.url()).searchParams.has('practice'), 'therapist with ?practice=B: the address drops practice=B');
    const eps = await episodes(page);
    check(same(eps.map((e) => e.id), A.episodes), `therapist with ?practice=B: A's episodes (${eps.map((e) => e.id)})`);
    await noneOf(page, B, 'therapist with ?practice=B');
    await shot(page, 'therapist-asks-for-B');
    errorsOk(errors, 'therapist with ?practice=B', ['status of 403']);
    await context.close();
  }

  lap('therapist asking for B');
  // ---- the coordinator ----------------------------------------------------------------------
  {
    const { context, page, errors } = await openAs('coordinator');
    const who = await whoText(page);
    check(who.includes(spec.users.coordinator.name) && who.includes('coordinator'), `coordinator: the header (${who})`);
    check(await shown(page, '#practice-choice'), 'coordinator: the practice selector is shown');
    const options = await page.$$eval('#practice option', (os) => os.map((o) => o.value));
    check(same(options, ['A', 'B']), `coordinator: the selector offers A and B (${options})`);
    check(await page.inputValue('#practice') === 'A', 'coordinator: practice A (the served one) is chosen first');
    let eps = await episodes(page);
    check(same(eps.map((e) => e.id), A.episodes), `coordinator: A's episodes first (${eps.map((e) => e.id)})`);
    await noneOf(page, B, 'coordinator on A');
    for (const sel of ['#urgent-panel', '#counts', '#filters', '#episodes'])
      check(await shown(page, sel), `coordinator: ${sel} is shown`);

    // Choosing B.
    await page.selectOption('#practice', 'B');
    await page.waitForFunction((want) => {
      const ids = [...document.querySelectorAll('#episodes tbody tr[data-episode]')].map((tr) => tr.dataset.episode).sort();
      return JSON.stringify(ids) === JSON.stringify(want);
    }, [...B.episodes].sort());
    await idle(page);
    eps = await episodes(page);
    check(same(eps.map((e) => e.patient), B.patients), `coordinator on B: B's patients (${eps.map((e) => e.patient)})`);
    await noneOf(page, A, 'coordinator on B');
    check(new URL(page.url()).searchParams.get('practice') === 'B', 'coordinator: the address keeps practice=B');
    check(await page.locator('#referred a[data-format]').count() > 0, 'coordinator on B: a referral of this month links its letter');
    await letterLinksOk(page, 'coordinator on B', 'B');
    check(await page.getAttribute('#calendar-link', 'href') === '/calendar.ics?practice=B', 'coordinator on B: the calendar link names B');

    // An episode of B, and its letter in a new tab.
    const ep = B.gp_episodes[0];
    await page.click(`#episodes tbody tr[data-episode="${ep}"] a.ep`);
    await page.waitForSelector('#detail:not([hidden]) #timeline svg');
    const patient = B.patients[B.episodes.indexOf(ep)];
    check(await page.textContent('#detail-id') === ep, `coordinator: episode ${ep} of B opens`);
    check((await page.textContent('#detail-facts')).includes(patient), `coordinator: its facts name ${patient}`);
    const hrefs = await page.$$eval('#detail-letters a', (as) => as.map((a) => a.getAttribute('href')));
    check(hrefs.length > 0 && hrefs.every((h) => /^\/api\/tasks\/\d+\/letter\?(format=text&)?practice=B$/.test(h)),
      `coordinator: the letter links name practice B (${hrefs})`);
    if (hrefs.length) {
      const tab = await openLetter(page, '#detail-letters a[data-format="html"]', [patient, ep]);
      await tab.close();
    }
    await page.click('#detail-back');
    await page.waitForSelector('#detail', { state: 'hidden' });

    // Marking one of B's tasks done.
    const button = page.locator('#urgent button.done, #due button.done, #overdue button.done').first();
    if (check(await button.count() === 1, 'coordinator: B has a task to mark done')) {
      const task = Number(await button.getAttribute('data-task'));
      await button.click();
      await page.click('#confirm button[value=confirm]');  // confirmed, then sent when the 8 s to undo it have passed
      await page.waitForFunction((id) => document.querySelector('#message').textContent.includes('marked done') &&
        !document.querySelector(`#urgent tr[data-task="${id}"], #due tr[data-task="${id}"], #overdue tr[data-task="${id}"]`), task,
      { timeout: 25000 });
      result.coordinator_done = task;
    }
    await shot(page, 'coordinator-B');

    // A reload keeps B.
    await page.reload();
    await page.waitForSelector('body[data-loaded="true"]');
    await idle(page);
    eps = await episodes(page);
    check(same(eps.map((e) => e.id), B.episodes) && await page.inputValue('#practice') === 'B',
      `coordinator: a reload still shows B (${eps.map((e) => e.id)})`);
    errorsOk(errors, 'coordinator');
    await context.close();
  }

  lap('coordinator');
  // ---- the gp of no one practice --------------------------------------------------------------
  {
    const { context, page, errors } = await openAs('gp');
    const who = await whoText(page);
    check(who.includes(spec.users.gp.name) && /\bgp\b/.test(who) && who.includes(spec.gp_code), `gp: the header names them, gp, their GP code (${who})`);
    check(await shown(page, '#letters-panel'), 'gp: the letters list is shown');
    for (const sel of ['#urgent-panel', '#counts', '#filters', '#episodes', '#overdue', '#diagram-panel', '#detail'])
      check(!(await shown(page, sel)), `gp: ${sel} is not shown`);
    check(await page.locator('button.done').count() === 0, 'gp: no task buttons');
    check(await page.locator('#episodes tbody tr[data-episode]').count() === 0, 'gp: no episode list');
    check(await shown(page, '#practice-choice') && await page.inputValue('#practice') === 'A',
      'gp of no one practice: the selector, practice A first');
    let rows = await letterRows(page);
    check(same(rows.map((r) => r.task), A.gp_letters), `gp: A's letters to ${spec.gp_code} (${rows.map((r) => r.task)}; want ${A.gp_letters})`);
    check(rows.every((r) => A.gp_episodes.includes(r.episode)), `gp: only episodes addressed to them (${rows.map((r) => r.episode)})`);
    check(!rows.some((r) => A.other_letters.includes(r.task)), 'gp: no letter to another GP');
    check(rows.every((r) => r.links.length === 2 &&
      r.links[0].href === `/api/tasks/${r.task}/letter?practice=A` && r.links[1].href === `/api/tasks/${r.task}/letter?format=text&practice=A`),
    `gp: each letter links its html and text form in practice A (${JSON.stringify(rows[0] && rows[0].links)})`);
    check(await page.textContent('#letters-total') === String(A.gp_letters.length), 'gp: the letters count');
    await letterLinksOk(page, 'gp', 'A');
    await noneOf(page, B, 'gp on A');
    const others = A.patients.filter((p, i) => !A.gp_episodes.includes(A.episodes[i]));
    const text = await allText(page);
    check(!others.some((p) => text.includes(p)), 'gp: no patient of another GP is named');
    await shot(page, 'gp');

    // The html letter opens in a new tab, with its styles; then the text form.
    if (rows.length) {
      const first = rows[0];
      const patient = A.patients[A.episodes.indexOf(first.episode)];
      const tab = await openLetter(page, `#letters tr[data-task="${first.task}"] a[data-format="html"]`, [patient, first.episode]);
      const look = await tab.evaluate(() => ({
        sheet: document.querySelector('.sheet') ? getComputedStyle(document.querySelector('.sheet')).backgroundColor : null,
        body: getComputedStyle(document.body).backgroundColor, title: document.title }));
      check(look.sheet === 'rgb(255, 255, 255)' && look.body === 'rgb(232, 232, 232)' && look.title !== '',
        `gp: the letter keeps its styles in the new tab (${JSON.stringify(look)})`);
      await tab.close();
      result.gp_letter = { task: first.task, episode: first.episode };
      const textTab = await openLetter(page, `#letters tr[data-task="${first.task}"] a[data-format="text"]`, [patient, first.episode]);
      check(await textTab.$('pre') !== null, 'gp: the text letter shows as plain text');
      await textTab.close();
      check(!(await shown(page, '#message')), `gp: no error opening the letters (${await page.textContent('#message')})`);
    }

    // Practice B: B's letters to the same GP code.
    await page.selectOption('#practice', 'B');
    await page.waitForFunction((want) => {
      const ids = [...document.querySelectorAll('#letters tbody tr[data-task]')].map((tr) => Number(tr.dataset.task)).sort((a, b) => a - b);
      return JSON.stringify(ids) === JSON.stringify(want);
    }, [...B.gp_letters].sort((a, b) => a - b));
    await idle(page);
    rows = await letterRows(page);
    check(rows.every((r) => B.gp_episodes.includes(r.episode) && r.links[0].href.endsWith('practice=B')),
      `gp on B: B's letters to ${spec.gp_code} (${rows.map((r) => r.episode)})`);
    await noneOf(page, A, 'gp on B');
    await shot(page, 'gp-B');
    errorsOk(errors, 'gp');
    await context.close();
  }

  lap('gp');
  // ---- a gp of practice A -----------------------------------------------------------------------
  {
    const { context, page, errors } = await openAs('gp_a');
    check(!(await shown(page, '#practice-choice')), 'gp of A: no practice selector');
    check(await page.textContent('#who-practice').catch(() => null) === 'A', 'gp of A: the header names practice A');
    const rows = await letterRows(page);
    check(same(rows.map((r) => r.task), A.gp_letters), `gp of A: A's letters to ${spec.gp_code} (${rows.map((r) => r.task)})`);
    check(rows.every((r) => r.links[0].href === `/api/tasks/${r.task}/letter`), 'gp of A: the links name no practice (it is theirs)');
    check(!(await shown(page, '#episodes')) && await page.locator('button.done').count() === 0, 'gp of A: no episodes, no task buttons');
    await noneOf(page, B, 'gp of A');
    await shot(page, 'gp-of-A');
    errorsOk(errors, 'gp of A');
    await context.close();
  }
  lap('gp of A');
} finally {
  await browser.close();
  writeFileSync(spec.result, JSON.stringify(result));
}

if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log(`roles: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
