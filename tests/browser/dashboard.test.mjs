// The dashboard of `zorgpad serve` in real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded), at
// 1280×800. Started by tests/cli/browser.py, which seeds a database, starts
// the server and passes:
//   ZORGPAD_URL              the page, with ?token=… (the token printed at start)
//   ZORGPAD_OVERDUE          the overdue episodes, oldest first, comma-separated
//   ZORGPAD_URGENT           the episodes of the urgent tasks, oldest first
//   ZORGPAD_INACTIVE         the inactive episodes, longest quiet first
//   ZORGPAD_HOSTILE          a patient reference full of markup, stored as is
//   ZORGPAD_FORMULA          a patient reference that starts like a spreadsheet formula
//   ZORGPAD_THERAPISTS       JSON {therapist: [their episodes]}
//   ZORGPAD_CHART_EPISODE    an episode with several measurements
//   ZORGPAD_SHOTS            a directory for the screenshots the test checks
//   ZORGPAD_SCREENSHOT       optional: write a PNG of the page there (docs/)
// Checks: the page loads without script errors, in Dutch (no code such as
// gp_consultation or lbp in the visible text), in English with ?lang=en and
// the language choice remembered; the urgent list comes first, marked red,
// oldest first; the overdue list next, oldest first; the inactive list; markup
// in a value shows as text; a header click sorts a list (aria-sort, the
// column's order) and the CSV export holds the rows shown (RFC 4180, a formula
// defused); the therapist filter is a choice of the practice's therapists and
// filters the rows; an episode opens as a view of its own (#/episode/ID) at the
// top with its timeline, its measurement chart (a point per NPRS and QBPDS
// value in its log, the checkpoints marked) and its letters, and "back" returns;
// the practice's recovery chart has a bar per profile and therapist and the
// 25 %/50 % lines; "done" asks for confirmation, can be undone (the task stays
// open: the API says so) and is sent when the undo window has passed (the
// API says done); screenshots are PNGs of 1280×800 and the chart region is
// not blank.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const url = process.env.ZORGPAD_URL;
const overdue = (process.env.ZORGPAD_OVERDUE || '').split(',').filter(Boolean);
const urgent = (process.env.ZORGPAD_URGENT || '').split(',').filter(Boolean);
const inactive = (process.env.ZORGPAD_INACTIVE || '').split(',').filter(Boolean);
const hostile = process.env.ZORGPAD_HOSTILE || '';
const formula = process.env.ZORGPAD_FORMULA || '';
const therapists = JSON.parse(process.env.ZORGPAD_THERAPISTS || '{}');
const chartEpisode = process.env.ZORGPAD_CHART_EPISODE || '';
const shots = process.env.ZORGPAD_SHOTS || tmpdir();
const screenshot = process.env.ZORGPAD_SCREENSHOT || '';
if (!url || overdue.length < 2 || urgent.length < 2 || !inactive.length || !chartEpisode || !Object.keys(therapists).length) {
  console.error('dashboard.test: set ZORGPAD_URL, ZORGPAD_OVERDUE, ZORGPAD_URGENT, ZORGPAD_INACTIVE, ZORGPAD_THERAPISTS and ' +
    'ZORGPAD_CHART_EPISODE (run tests/cli/browser.py)');
  process.exit(2);
}
const WIDTH = 1280, HEIGHT = 800;
const tokenParam = new URL(url).searchParams.get('token');
const base = new URL('/', url).href;
const t0 = Date.now();

const failures = [];
function check(cond, what) {
  if (!cond) {
    failures.push(what);
    console.error('FAIL:', what);
  }
  return cond;
}

// A PNG: its size, and its pixels when it is 8-bit RGB(A), not interlaced (what Chromium writes).
function readPng(file) {
  const buf = readFileSync(file);
  if (buf.length < 33 || buf.readUInt32BE(0) !== 0x89504e47) return null;
  let off = 8, w = 0, h = 0, depth = 0, type = 0, interlace = 0;
  const idat = [];
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off), kind = buf.toString('ascii', off + 4, off + 8), data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') { w = data.readUInt32BE(0); h = data.readUInt32BE(4); depth = data[8]; type = data[9]; interlace = data[12]; }
    else if (kind === 'IDAT') idat.push(data);
    else if (kind === 'IEND') break;
    off += 12 + len;
  }
  const bpp = type === 6 ? 4 : type === 2 ? 3 : 0;
  if (depth !== 8 || !bpp || interlace) return { w, h, bytes: buf.length, pixels: null };
  const raw = inflateSync(Buffer.concat(idat)), stride = w * bpp, out = Buffer.alloc(h * stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[y * stride + x - bpp] : 0, b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 255;
    }
  }
  return { w, h, bytes: buf.length, bpp, pixels: out };
}
// How many pixels are close to an RGB colour.
function pixelsNear(png, [r, g, b], tol = 24) {
  let n = 0;
  for (let i = 0; i < png.pixels.length; i += png.bpp)
    if (Math.abs(png.pixels[i] - r) <= tol && Math.abs(png.pixels[i + 1] - g) <= tol && Math.abs(png.pixels[i + 2] - b) <= tol) n++;
  return n;
}

// RFC 4180: records by CRLF, fields by commas, quoted fields with doubled quotes.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

const userDataDir = mkdtempSync(join(tmpdir(), 'zorgpad-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: WIDTH, height: HEIGHT },
  acceptDownloads: true,
});
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.setDefaultTimeout(15000);
  const api = async (path) => {
    const u = new URL(path, base);
    u.searchParams.set('token', tokenParam);
    const r = await page.request.get(u.href);
    return r.json();
  };
  const taskStatus = async (episode, id) => {
    const r = await api('/api/tasks?episode=' + encodeURIComponent(episode) + '&limit=100');
    const t = r.tasks.find((x) => String(x.id) === String(id));
    return t ? t.status : 'missing';
  };
  const idle = () => page.waitForFunction(() => !document.body.classList.contains('busy'));
  // the visible text: no code of the API may show as it is
  const visibleText = () => page.evaluate(() => document.body.innerText);
  // (in Dutch also the English codes that are words: "treatment", "subacute")
  const rawCodes = (text, dutch = true) => [...new Set(text.match(dutch
    ? /\b[a-z]+_[a-z0-9_]+\b|\b(lbp|lrs|week\d+|subacute|treatment|followup)\b/g
    : /\b[a-z]+_[a-z0-9_]+\b|\b(lbp|lrs|week\d+|followup)\b/g) || [])];

  await page.goto(url);
  await page.waitForSelector('body[data-loaded="true"]');
  await idle();
  check(!new URL(page.url()).searchParams.has('token'), 'the token is taken out of the address bar');
  check(await page.title() === 'zorgpad — coördinator', `the dashboard loads, in Dutch (${await page.title()})`);

  // Dutch by default, every code in words.
  const nl = await api('/api/texts?lang=nl');
  check(await page.evaluate(() => document.documentElement.lang) === 'nl', 'the page says it is Dutch');
  const text = await visibleText();
  check(text.includes('Herevaluaties te laat') && text.includes('Wacht op de huisarts') && text.includes('Rode vlaggen beoordelen'),
    'Dutch words on the page');
  check(rawCodes(text).length === 0, `no raw code in the visible text (${rawCodes(text)})`);

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
  check(urgentBefore.length === 2 && urgentBefore[0].kind === nl.task_kinds.red_flag_review &&
    urgentBefore[1].kind === nl.task_kinds.gp_urgent_contact, `the urgent kinds, in words (${urgentBefore.map((r) => r.kind)})`);
  check(await page.textContent('#urgent-total') === String(urgent.length), 'the urgent count');
  // The overdue list follows, oldest first.
  check(panels[1].startsWith('Herevaluaties te laat'), `the second list is the overdue one (${panels[1]})`);
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

  // Markup in a value is shown as text, never run.
  if (hostile) {
    const cells = await page.$$eval('td', (tds, h) => tds.filter((td) => td.textContent === h).length, hostile);
    check(cells > 0, 'a patient reference with markup shows literally');
    check(await page.$$eval('main script, main img, main b', (n) => n.length) === 0, 'no element came from a value');
  }

  // Sorting: a header click orders the rows by that column, again the other way.
  const column = (id, i) => page.$$eval(`#${id} tbody tr[data-episode]`, (trs, n) => trs.map((tr) => tr.children[n].textContent), i);
  // ordered as the browser's collator orders Dutch (the page sorts with it)
  const ordered = (list) => page.evaluate((l) => {
    const coll = new Intl.Collator('nl', { numeric: true, sensitivity: 'base' });
    return l.every((v, i) => i === 0 || coll.compare(l[i - 1], v) <= 0);
  }, list);
  const patientsBefore = await column('episodes', 1);
  await page.click('#episodes th[data-key="patient"] button');
  const asc = await column('episodes', 1);
  check(await page.getAttribute('#episodes th[data-key="patient"]', 'aria-sort') === 'ascending', 'aria-sort ascending after a click');
  check(asc.length === patientsBefore.length && asc.length >= 5 && await ordered(asc),
    `the patient column ascends (${asc})`);
  await page.click('#episodes th[data-key="patient"] button');
  const desc = await column('episodes', 1);
  check(await page.getAttribute('#episodes th[data-key="patient"]', 'aria-sort') === 'descending', 'aria-sort descending after a second click');
  check(JSON.stringify(desc) === JSON.stringify([...asc].reverse()) && JSON.stringify(desc) !== JSON.stringify(asc),
    `the patient column descends (${desc})`);
  check(await page.$$eval('#episodes th[aria-sort]', (ths) => ths.length) === 1, 'one column is sorted');

  // CSV: the rows shown, in the order shown, RFC 4180, a formula defused.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.csv[data-list="episodes"]')]);
  const csvText = readFileSync(await download.path(), 'utf8').replace(/^\ufeff/, '');
  check(/\.csv$/.test(download.suggestedFilename()), `the download is a .csv (${download.suggestedFilename()})`);
  check(/\r\n$/.test(csvText) && !/[^\r]\n/.test(csvText), 'CSV records end in CRLF');
  const csv = parseCsv(csvText);
  const shown = await page.$$eval('#episodes tbody tr[data-episode]', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const heads = await page.$$eval('#episodes thead th', (ths) => ths.map((th) => (th.querySelector('button') ? th.querySelector('button').firstChild.textContent : th.textContent)));
  check(JSON.stringify(csv[0]) === JSON.stringify(heads), `the CSV header is the list's (${csv[0]} / ${heads})`);
  const defuse = (v) => (/^[=+\-@\t\r]/.test(v) ? "'" + v : v);
  check(JSON.stringify(csv.slice(1)) === JSON.stringify(shown.map((r) => r.map(defuse))),
    `the CSV rows are the rows shown, in order (${csv.length - 1} of ${shown.length})`);
  if (formula) {
    check(csvText.includes('"\'' + formula.replace(/"/g, '""') + '"'), 'the formula-like patient reference is quoted and starts with \'');
    check(!csv.some((r) => r.some((v) => /^[=+\-@]/.test(v))), 'no CSV field starts like a formula');
  }

  // The therapist filter: a choice of the practice's therapists, filtering every list.
  const tSelect = await page.$eval('#filters [name=therapist]', (s) => ({ tag: s.tagName, options: [...s.options].map((o) => o.value).filter(Boolean) }));
  check(tSelect.tag === 'SELECT' && JSON.stringify(tSelect.options) === JSON.stringify(Object.keys(therapists).sort()),
    `the therapist filter is a select of the therapists (${JSON.stringify(tSelect)})`);
  check(await page.$eval('#filters [name=gp]', (s) => s.tagName === 'SELECT' && s.options.length > 2), 'the GP filter is a select too');
  const bram = Object.keys(therapists).sort()[1];
  await page.selectOption('#filters select[name=therapist]', bram);
  await page.waitForFunction((t) => {
    const trs = [...document.querySelectorAll('#episodes tbody tr[data-episode]')];
    return trs.length && trs.every((tr) => tr.children[5].textContent === t);
  }, bram);
  await idle();
  const bramRows = await page.$$eval('#episodes tbody tr[data-episode]', (trs) => trs.map((tr) => tr.dataset.episode).sort());
  check(JSON.stringify(bramRows) === JSON.stringify([...therapists[bram]].sort()), `the therapist filter: ${bramRows} (want ${therapists[bram]})`);
  const urgentBram = await page.$$eval('#urgent tbody tr[data-task]', (trs) => trs.map((tr) => tr.children[7].textContent));
  check(urgentBram.length === 1 && urgentBram[0] === bram, `the urgent list is filtered too (${urgentBram})`);
  await page.selectOption('#filters select[name=therapist]', '');
  await page.waitForFunction(() => document.querySelectorAll('#urgent tbody tr[data-task]').length === 2);
  await idle();

  // The practice's recovery: bars per profile and therapist, the 25 % and 50 % lines.
  const outcomes = await api('/api/outcomes');
  for (const [period, expected] of [['one_month', 0.25], ['three_months', 0.5]]) {
    const chart = await page.$eval(`#outcomes-chart svg[data-period="${period}"]`, (s) => ({
      profiles: s.querySelectorAll('g.bar-row.profile').length,
      therapists: s.querySelectorAll('g.bar-row.therapist').length,
      bars: [...s.querySelectorAll('rect.bar')].map((b) => ({ group: b.parentNode.dataset.group, share: Number(b.dataset.share),
        recovered: Number(b.dataset.recovered), followed: Number(b.dataset.followed), width: Number(b.getAttribute('width')) })),
      expected: [...s.querySelectorAll('line.expected')].map((l) => ({ value: Number(l.dataset.expected), x: Number(l.getAttribute('x1')) })),
      grid: [...s.querySelectorAll('line.grid')].map((l) => Number(l.getAttribute('x1'))),
      names: [...s.querySelectorAll('text.group-label')].map((t) => t.textContent),
    }));
    const groups = [outcomes.all, ...outcomes.by_profile, ...outcomes.by_therapist].filter((g) => g[period].followed > 0);
    check(chart.profiles === outcomes.by_profile.length && chart.therapists === outcomes.by_therapist.length,
      `${period}: a row per profile and per therapist (${chart.profiles}, ${chart.therapists})`);
    check(chart.bars.length === groups.length && chart.bars.length >= 3, `${period}: a bar per group followed that long (${chart.bars.length} of ${groups.length})`);
    check(chart.bars.every((b, i) => b.followed === groups[i][period].followed && b.recovered === groups[i][period].recovered &&
      Math.abs(b.share - b.recovered / b.followed) < 1e-3), `${period}: the bars are the API's figures`);
    check(chart.bars.some((b) => b.share > 0 && b.width > 5), `${period}: a recovery shows as a bar`);
    const grid = chart.grid[1 + Math.round(expected * 4) - 1];
    check(chart.expected.length === 1 && chart.expected[0].value === expected && Math.abs(chart.expected[0].x - grid) < 0.01,
      `${period}: the expected line at ${expected * 100} % (${JSON.stringify(chart.expected)}, grid ${grid})`);
    check(chart.names.includes('profiel 1') && chart.names.includes(bram), `${period}: groups named in words (${chart.names})`);
  }
  // a screenshot of the chart region: not blank (green or amber bars, the red expected line)
  await page.locator('#outcomes-chart').scrollIntoViewIfNeeded();
  const chartShot = join(shots, 'outcomes.png');
  await page.locator('#outcomes-chart').screenshot({ path: chartShot });
  const chartPng = readPng(chartShot);
  const box = await page.locator('#outcomes-chart').boundingBox();
  if (check(chartPng && chartPng.pixels, 'the chart screenshot is a PNG')) {
    check(Math.abs(chartPng.w - Math.round(box.width)) <= 1 && Math.abs(chartPng.h - Math.round(box.height)) <= 1,
      `the chart screenshot has the chart's size (${chartPng.w}×${chartPng.h})`);
    const bars = pixelsNear(chartPng, [60, 154, 95]) + pixelsNear(chartPng, [211, 155, 42]);
    const line = pixelsNear(chartPng, [192, 54, 44]);
    check(bars > 200 && line > 20, `the chart is drawn (bar pixels ${bars}, expected-line pixels ${line})`);
  }

  // An episode opens as a view of its own, at the top, from far down the page.
  const scrolled = await page.evaluate((id) => {
    document.querySelector(`#inactive tbody tr[data-episode="${id}"] a.ep`).scrollIntoView({ block: 'end' });
    return window.scrollY;
  }, inactive[0]);
  await page.click(`#inactive tbody tr[data-episode="${inactive[0]}"] a.ep`);
  await page.waitForSelector('#detail:not([hidden]) #timeline svg');
  await page.waitForSelector('#chart svg');
  await idle();
  check(new URL(page.url()).hash === '#/episode/' + inactive[0], `the address names the episode (${new URL(page.url()).hash})`);
  check(await page.textContent('#detail-id') === inactive[0], 'the episode opens from the inactive list');
  const top = await page.evaluate(() => ({ y: window.scrollY, title: document.querySelector('#detail-title').getBoundingClientRect().top,
    urgent: !document.querySelector('#urgent-panel').hidden, focus: document.activeElement && document.activeElement.id }));
  check(scrolled > 500 && top.y < 5 && top.title >= 0 && top.title < HEIGHT / 2, `the episode opens at the top (${JSON.stringify(top)}, was at ${scrolled})`);
  check(!top.urgent, 'the overview is out of the way');
  check(top.focus === 'detail-title', 'the focus moves to the episode');
  const svgs = await page.$eval('#timeline svg', (s) => ({
    lanes: [...s.querySelectorAll('.lane rect')].length, overdueMarks: s.querySelectorAll('circle.overdue').length,
    today: s.querySelectorAll('line.today').length }));
  check(svgs.lanes >= 3 && svgs.overdueMarks === 1 && svgs.today === 1, `timeline: bands, the overdue checkpoint, today (${JSON.stringify(svgs)})`);
  const letters = await page.$$eval('#detail-letters a', (as) => as.map((a) => a.getAttribute('href')));
  check(letters.some((h) => /^\/api\/tasks\/\d+\/letter$/.test(h)), `the episode's letters are linked (${letters})`);
  const detailText = await visibleText();
  check(rawCodes(detailText).length === 0, `no raw code in the episode view (${rawCodes(detailText)})`);
  check(detailText.includes(nl.words.complaints.lbp), 'the complaint in words');
  await page.click('#detail-back');
  await page.waitForSelector('#detail', { state: 'hidden' });
  const back = await page.evaluate(() => ({ y: window.scrollY, hash: location.hash, urgent: !document.querySelector('#urgent-panel').hidden }));
  check(back.urgent && back.hash === '' && Math.abs(back.y - scrolled) < 50, `back returns to the overview where it was (${JSON.stringify(back)})`);

  // The measurement chart: a point per NPRS and QBPDS value of the log, the checkpoints marked.
  await page.evaluate((id) => { location.hash = '#/episode/' + encodeURIComponent(id); }, chartEpisode);
  await page.waitForFunction((id) => document.querySelector('#detail-id').textContent === id &&
    document.querySelector('#chart svg') && document.querySelector('#chart svg').getAttribute('aria-label').includes(id), chartEpisode);
  await idle();
  const log = await api('/api/episodes/' + encodeURIComponent(chartEpisode) + '/events');
  const ep = await api('/api/episodes/' + encodeURIComponent(chartEpisode));
  const want = { nprs: log.events.filter((e) => e.body && typeof e.body.nprs === 'number').length,
    qbpds: log.events.filter((e) => e.body && typeof e.body.qbpds === 'number').length };
  const chart = await page.$eval('#chart svg', (s) => ({
    nprs: s.querySelectorAll('circle.pt.nprs').length, qbpds: s.querySelectorAll('circle.pt.qbpds').length,
    checkpoints: s.querySelectorAll('line.checkpoint').length, start: s.querySelectorAll('line.start').length,
    values: [...s.querySelectorAll('circle.pt.nprs')].map((c) => Number(c.dataset.value)) }));
  check(want.nprs >= 3 && chart.nprs === want.nprs && chart.qbpds === want.qbpds,
    `the chart has a point per measurement (${JSON.stringify(chart)}, the log ${JSON.stringify(want)})`);
  check(JSON.stringify(chart.values) === JSON.stringify(log.events.filter((e) => e.body && typeof e.body.nprs === 'number').map((e) => e.body.nprs)),
    'the NPRS points are the log\'s values, in order');
  const checkpoints = ep.tasks.filter((t) => t.kind === 'reevaluation' && t.checkpoint).length;
  check(checkpoints >= 2 && chart.checkpoints === checkpoints && chart.start === 1,
    `the checkpoints and the treatment start are marked (${chart.checkpoints} of ${checkpoints})`);

  // Opened from its address, an episode shows at the top.
  await page.goto(base + '?fresh=1#/episode/' + encodeURIComponent(overdue[1]));  // a load of its own, not a hash change
  await page.waitForSelector('body[data-loaded="true"]');
  await page.waitForSelector('#detail:not([hidden]) #chart svg');
  check(await page.textContent('#detail-id') === overdue[1] && await page.evaluate(() => window.scrollY) < 5, 'an episode\'s address opens it at the top');
  await page.click('#detail-back');
  await page.waitForSelector('#urgent-panel:not([hidden])');
  await idle();

  // done → confirm → undo: the task stays open; done → confirm → wait: it is done.
  const undoTask = urgentBefore[0], doneTask = before[0];
  await page.click(`#due tbody button.done >> nth=0`);
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm button[value=cancel]');
  check(await page.locator('.toast').count() === 0, 'cancelling the confirmation marks nothing');
  await page.click(`#urgent tbody tr[data-task="${undoTask.task}"] button.done`);
  await page.waitForSelector('#confirm[open]');
  check((await page.textContent('#confirm-text')).includes('#' + undoTask.task), 'the confirmation names the task');
  await page.click('#confirm button[value=confirm]');
  await page.waitForSelector(`.toast[data-task="${undoTask.task}"]`);
  check((await page.textContent(`.toast[data-task="${undoTask.task}"]`)).includes('Ongedaan maken'), 'the toast offers an undo');
  const tDone = Date.now();
  await page.click(`#overdue tbody tr[data-task="${doneTask.task}"] button.done`);
  await page.click('#confirm button[value=confirm]');
  await page.waitForSelector(`.toast[data-task="${doneTask.task}"]`);
  check(await page.isDisabled(`#overdue tbody tr[data-task="${doneTask.task}"] button.done`), 'a task being marked done has its button disabled');
  await page.click(`.toast[data-task="${undoTask.task}"] button.undo`);
  check(await page.locator(`.toast[data-task="${undoTask.task}"]`).count() === 0, 'undo takes the toast away');
  check(await taskStatus(undoTask.episode, undoTask.task) === 'open' && await taskStatus(doneTask.episode, doneTask.task) === 'open',
    'nothing is sent inside the undo window');
  await page.waitForSelector(`#overdue tbody tr[data-task="${doneTask.task}"]`, { state: 'detached', timeout: 20000 });
  const waited = Date.now() - tDone;
  check(waited >= 7500, `the task went when the undo window had passed (${waited} ms)`);
  check(await taskStatus(doneTask.episode, doneTask.task) === 'done', 'done → confirm → wait: the task is done (API)');
  check(await taskStatus(undoTask.episode, undoTask.task) === 'open', 'done → confirm → undo: the task stays open (API)');
  check((await page.textContent('#message')).includes('afgevinkt'), 'the page says the task was marked done');
  const after = await rows();
  check(JSON.stringify(after.map((r) => r.episode)) === JSON.stringify(overdue.slice(1)), `after done the overdue list is ${after.map((r) => r.episode)}`);
  check(JSON.stringify((await urgentRows()).map((r) => r.task)) === JSON.stringify(urgentBefore.map((r) => r.task)), 'the undone task is still in the urgent list');

  // Screenshots: 1280×800 PNGs; the one for docs/ of the whole page.
  await page.evaluate(() => window.scrollTo(0, 0));
  const pageShot = join(shots, 'dashboard.png');
  await page.screenshot({ path: pageShot });
  const png = readPng(pageShot);
  check(png && png.w === WIDTH && png.h === HEIGHT && png.bytes > 20000, `the screenshot is a ${WIDTH}×${HEIGHT} PNG (${png && png.w}×${png && png.h}, ${png && png.bytes} bytes)`);
  if (png && png.pixels) check(pixelsNear(png, [23, 50, 77], 6) > 10000, 'the screenshot shows the page (its header)');
  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    const doc = readPng(screenshot);
    check(doc && doc.w === WIDTH && doc.h >= HEIGHT, `the docs screenshot is ${WIDTH} wide (${doc && doc.w}×${doc && doc.h})`);
  }

  // English on request, and the choice remembered.
  await page.goto(base + '?lang=en');
  await page.waitForSelector('body[data-loaded="true"]');
  await idle();
  const en = await visibleText();
  check(await page.evaluate(() => document.documentElement.lang) === 'en' && en.includes('Overdue reevaluations') &&
    en.includes('Review red flags'), 'English with ?lang=en');
  check(rawCodes(en, false).length === 0, `no raw code in the English page (${rawCodes(en, false)})`);
  await page.goto(base);
  await page.waitForSelector('body[data-loaded="true"]');
  check((await visibleText()).includes('Overdue reevaluations'), 'the language is remembered');
  await Promise.all([page.waitForNavigation(), page.selectOption('#lang', 'nl')]);
  await page.waitForSelector('body[data-loaded="true"]');
  check((await visibleText()).includes('Herevaluaties te laat'), 'the language choice switches back to Dutch');

  check(errors.length === 0, `no script errors (${errors.slice(0, 3)})`);
  check(dialogs.length === 0, `no dialog opened by injected script (${dialogs})`);
  console.log(`dashboard: ${((Date.now() - t0) / 1000).toFixed(1)} s in the browser`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('dashboard: ok');
