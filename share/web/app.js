// The coordinator's dashboard (zorgpad serve). Plain browser JavaScript, no
// build step, no dependencies: it reads the JSON API and builds the page with
// DOM calls. Every value goes in as a text node or an attribute value, never
// as markup, so a patient reference or a name cannot inject HTML or script.
//
// Dutch by default, English on request (?lang=en, or the language choice in
// the header, remembered in localStorage). Every code the API gives (states,
// phases, task kinds, checkpoints, reasons, ...) is shown in the words of
// GET /api/texts: the `words` table of the letters' strings files
// (share/letters/strings.<lang>.json), one table for the letters and the
// page. The page's own labels are the small UI table below.
//
// Views (the address's hash): the overview, and one episode at
// #/episode/ID, which opens at the top with a way back.
//
// Role-aware (GET /api/me): a gp sees the letters addressed to their GP code
// only; everyone else the overview, the episodes and the tasks of one
// practice. A coordinator, or a gp of no one practice, on a server of several
// practices (GET /api/practices) chooses the practice; every call then
// carries ?practice=CODE. What a role may not do is not shown.
'use strict';
(() => {
  const STATES = ['intake', 'screened', 'red_flag_review', 'treatment', 'reevaluation_due', 'gp_consultation', 'referred', 'closed', 'excluded'];
  const PHASES = ['acute', 'subacute', 'chronic'];
  const PROFILES = ['1', '2', '3', 'none'];
  const TOKEN_KEY = 'zorgpad_token';
  const LANG_KEY = 'zorgpad_lang';
  const PAGE = 25;
  const UNDO_MS = 8000;  // a task marked done is sent to the server when this has passed without undo

  // ---- the page's own words (labels, not codes) --------------------------------------------
  const UI = {
    nl: {
      skip: 'Naar de inhoud', sub_coordinator: 'route lage rugpijn — coördinator', sub_gp: 'route lage rugpijn — brieven voor de huisarts',
      title_coordinator: 'zorgpad — coördinator', title_gp: 'zorgpad — brieven voor de huisarts',
      practice: 'praktijk', today: 'vandaag', language: 'taal', token: 'token', token_hint: 'getoond bij de start', use: 'gebruiken',
      search: 'zoeken', search_hint: 'episode of patiëntreferentie', therapist: 'therapeut', gp: 'huisarts', state: 'zorgstatus',
      phase: 'fase', profile: 'profiel', any: 'alle', apply: 'toepassen', clear: 'wissen', counts: 'aantallen',
      urgent: 'Urgent', urgent_hint: 'Open beoordelingen van rode vlaggen en spoedoverleg met de huisarts (route §11), hoe oud ook, oudste eerst: vandaag beslissen of bellen.',
      overdue: 'Herevaluaties te laat', overdue_hint: 'Open en 7 of meer dagen over de datum (route §11), oudste eerst.',
      due: 'Deze week', due_hint: 'Open taken van zes dagen geleden tot over zes dagen.',
      waiting: 'Wacht op de huisarts', waiting_hint: 'In overleg met de huisarts, of met een open taak voor de huisarts (start-, tussen- of eindrapportage, melding rode vlaggen, terugverwijzing, spoedoverleg, overleg).',
      referred: 'Deze maand terugverwezen', inactive: 'Stilgevallen episodes',
      inactive_hint: 'Niet afgesloten en 42 dagen of langer zonder gebeurtenis (route §11): de patiënt komt misschien niet meer — sluit de episode af en bericht de huisarts. Langst stil eerst.',
      episodes: 'Episodes', prev: '← vorige', next: 'volgende →', of: 'van',
      outcomes: 'Herstel', outcomes_hint: 'Aandeel hersteld na één en na drie maanden, tegen de verwachting van de richtlijn (KNGF A.2.3: ongeveer 25 % en 50 %).',
      outcomes_table: 'De cijfers als tabel', back: '← terug naar het overzicht', episode: 'Episode',
      chart_caption: 'Pijn (NPRS, 0–10) en beperkingen (QBPDS, 0–100) per meting; de stippellijn is 30 % onder de beginwaarde, de verticale lijnen zijn de start van de behandeling en de momenten van herevaluatie.',
      timeline_caption: 'Het verloop: fase, zorgstatus, profiel, momenten van herevaluatie en andere taken; overgangen als streepjes, vandaag gestippeld.',
      tasks: 'Taken', letters: 'Brieven aan de huisarts', history: 'Verloop', letters_title: 'Brieven', status: 'status',
      status_open: 'open', status_done: 'gedaan', status_cancelled: 'vervallen',
      diagram: 'Het toestandsdiagram (getekend uit de overgangstabel)', calendar: 'Agendafeed voor de praktijkplanning:',
      confirm_title: 'Taak afvinken?', confirm_hint: 'Na het afvinken kunt u het nog 8 seconden ongedaan maken; pas daarna gaat het naar de server.',
      cancel: 'Annuleren', confirm_done: 'Afvinken', confirm_text: 'Taak #{0}: {1} — episode {2}{3}.',
      // columns
      c_task: 'taak', c_episode: 'episode', c_patient: 'patiënt', c_kind: 'soort', c_due: 'datum', c_days: 'dagen',
      c_state: 'zorgstatus', c_therapist: 'therapeut', c_checkpoint: 'moment', c_days_late: 'dagen te laat', c_since: 'sinds',
      c_gp: 'huisarts', c_gp_tasks: 'open taken huisarts', c_referred: 'terugverwezen', c_last_event: 'laatste gebeurtenis',
      c_phase: 'fase', c_profile: 'profiel', c_next: 'volgende timer', c_letter: 'brief', c_status: 'status', c_links: 'openen',
      c_group: 'groep', c_treated: 'behandeld', c_followed1: 'gevolgd ≥ 1 mnd', c_recovered1: 'hersteld < 1 mnd',
      c_followed3: 'gevolgd ≥ 3 mnd', c_recovered3: 'hersteld < 3 mnd', c_share1: '% na 1 mnd', c_share3: '% na 3 mnd',
      // cells and messages
      done: 'afvinken', done_title: 'taak {0} afvinken', pending: 'wordt afgevinkt…', ago: '{0} geleden', late: '{0} te laat', in: 'over {0}', today_cell: 'vandaag',
      no_urgent: 'Geen urgente taken.', no_overdue: 'Niets te laat.', no_due: 'Niets deze week.', no_waiting: 'Niemand wacht op de huisarts.',
      no_referred: 'Geen terugverwijzingen deze maand.', no_inactive: 'Geen stilgevallen episodes.', no_episodes: 'Geen episodes gevonden.',
      no_tasks: 'Geen taken.', no_letters: 'Nog geen brieven.', no_letters_list: 'Geen brieven.',
      first_n: '{0} (eerste {1})', episodes_count: 'episodes', profile_n: 'profiel {0}', none: 'geen', remove_filter: 'filter weghalen', only: 'alleen {0}',
      sort_by: 'sorteren op {0}', csv: 'CSV', csv_title: '{0} als CSV downloaden (wat de lijst nu toont)',
      letter_html: 'brief', letter_text: 'tekst', popup: 'De brief opent in een nieuw tabblad: sta pop-ups toe voor deze pagina.',
      letter_prefix: 'Brief: ', token_needed: 'Afvinken vraagt het token dat `zorgpad serve` bij de start toonde.',
      token_set: 'Token ingesteld voor dit tabblad.',
      marked: 'Taak {0} ({1}, {2}) afgevinkt.', toast: 'Taak #{0} afgevinkt', undo: 'Ongedaan maken', undone: 'Afvinken van taak #{0} ongedaan gemaakt: de taak staat nog open.',
      task_prefix: 'Taak {0}: ', episode_prefix: 'Episode {0}: ', not_allowed: 'Niet toegestaan: {0}{1}.', signed_in: ' (aangemeld als {0}, {1})',
      local: 'lokale toegang ({0})', gp_code: 'huisartscode', practice_cap: 'praktijk',
      may_not_see: 'Praktijk {0}: u mag praktijk \'{0}\' niet zien (aangemeld als {1}, {2}). Nu getoond: {3}.', this_practice: 'de praktijk van deze server',
      showing_instead: ' Nu getoond: {0}.',
      letters_hint: 'Brieven aan de huisarts van de episodes met uw huisartscode{0}{1}; elke brief opent in een nieuw tabblad.', in_practice: ', in praktijk {0}',
      // facts
      f_patient: 'patiënt', f_complaint: 'klacht', f_onset: 'begin klachten', f_opened: 'aangemeld', f_state: 'zorgstatus', f_phase: 'fase',
      f_profile: 'profiel', f_start: 'start behandeling', f_sessions: 'sessies', f_therapist: 'therapeut', f_gp: 'huisarts',
      recurrent: 'terugkerend', suggested: 'voorgesteld: {0}', risk: '{0} risico', raised: 'verhoogd',
      opened_course: 'aangemeld (begin klachten {0})', profile_course: 'profiel {0} ({1}{2})', reevaluation_course: 'herevaluatie: {0}{1}{2}', derived: ' (afgeleid)',
      // charts
      chart_label: 'NPRS en QBPDS van episode {0} in de tijd', no_measures: 'Nog geen metingen.', start_mark: 'start', baseline_30: '−30 %',
      lane_phase: 'fase', lane_state: 'status', lane_profile: 'profiel', lane_checkpoints: 'momenten', lane_tasks: 'taken', course_of: 'verloop van episode {0}',
      due_on: 'datum {0}', overdue_mark: ' (te laat)', today_mark: 'vandaag {0}',
      after1: 'na 1 maand', after3: 'na 3 maanden', expected: 'verwacht {0} %', practice_all: 'hele praktijk', no_therapist: 'geen therapeut',
      no_profile: 'zonder profiel', recovered_of: '{0} van {1} hersteld ({2} %)', not_followed: 'nog niemand zo lang gevolgd',
      outcomes_label: 'Aandeel hersteld {0}, per profiel en per therapeut, met de verwachting van {1} %',
      roles: { therapist: 'therapeut', practice_admin: 'praktijkbeheerder', coordinator: 'coördinator', gp: 'huisarts' },
    },
    en: {
      skip: 'Skip to the content', sub_coordinator: 'low back pain pathway — coordinator', sub_gp: 'low back pain pathway — GP letters',
      title_coordinator: 'zorgpad — coordinator', title_gp: 'zorgpad — GP letters',
      practice: 'practice', today: 'today', language: 'language', token: 'token', token_hint: 'printed at start', use: 'use',
      search: 'search', search_hint: 'episode or patient reference', therapist: 'therapist', gp: 'GP', state: 'care state',
      phase: 'phase', profile: 'profile', any: 'any', apply: 'apply', clear: 'clear', counts: 'counts',
      urgent: 'Urgent', urgent_hint: 'Open red-flag reviews and urgent calls to the GP (pathway §11), whatever their age, oldest first: decide or call today.',
      overdue: 'Overdue reevaluations', overdue_hint: 'Open 7 or more days past their due date (pathway §11), oldest first.',
      due: 'Due this week', due_hint: 'Open tasks due from six days ago to six days ahead.',
      waiting: 'Waiting on the GP', waiting_hint: 'In GP consultation, or with an open GP task (start, interim or end report, red-flag notice, referral, urgent contact, consultation).',
      referred: 'Referred this month', inactive: 'Inactive episodes',
      inactive_hint: 'Not ended and without an event for 42 days or more (pathway §11): the patient may have stopped coming — close the episode and report to the GP. Longest quiet first.',
      episodes: 'Episodes', prev: '← previous', next: 'next →', of: 'of',
      outcomes: 'Recovery', outcomes_hint: 'The share recovered after one and after three months, against the guideline\'s expectation (KNGF A.2.3: about 25 % and 50 %).',
      outcomes_table: 'The figures as a table', back: '← back to the overview', episode: 'Episode',
      chart_caption: 'Pain (NPRS, 0–10) and disability (QBPDS, 0–100) per measurement; the dotted line is 30 % below the baseline, the vertical lines the treatment start and the reevaluation checkpoints.',
      timeline_caption: 'The course: phase, care state, profile, reevaluation checkpoints and other tasks; transitions as ticks, today dashed.',
      tasks: 'Tasks', letters: 'Letters to the GP', history: 'History', letters_title: 'Letters', status: 'status',
      status_open: 'open', status_done: 'done', status_cancelled: 'cancelled',
      diagram: 'The state machine (drawn from the transition table)', calendar: 'Calendar feed for the practice scheduler:',
      confirm_title: 'Mark the task done?', confirm_hint: 'After marking it done you can undo it for 8 seconds; only then is it sent to the server.',
      cancel: 'Cancel', confirm_done: 'Mark done', confirm_text: 'Task #{0}: {1} — episode {2}{3}.',
      c_task: 'task', c_episode: 'episode', c_patient: 'patient', c_kind: 'kind', c_due: 'due', c_days: 'days',
      c_state: 'care state', c_therapist: 'therapist', c_checkpoint: 'checkpoint', c_days_late: 'days late', c_since: 'since',
      c_gp: 'GP', c_gp_tasks: 'open GP tasks', c_referred: 'referred', c_last_event: 'last event',
      c_phase: 'phase', c_profile: 'profile', c_next: 'next timer', c_letter: 'letter', c_status: 'status', c_links: 'open',
      c_group: 'group', c_treated: 'treated', c_followed1: 'followed ≥ 1 mo', c_recovered1: 'recovered < 1 mo',
      c_followed3: 'followed ≥ 3 mo', c_recovered3: 'recovered < 3 mo', c_share1: '% after 1 mo', c_share3: '% after 3 mo',
      done: 'done', done_title: 'mark task {0} done', pending: 'marking done…', ago: '{0} ago', late: '{0} late', in: 'in {0}', today_cell: 'today',
      no_urgent: 'No urgent tasks.', no_overdue: 'Nothing overdue.', no_due: 'Nothing due this week.', no_waiting: 'Nobody is waiting on the GP.',
      no_referred: 'No referrals this month.', no_inactive: 'No inactive episodes.', no_episodes: 'No episodes match.',
      no_tasks: 'No tasks.', no_letters: 'No letters yet.', no_letters_list: 'No letters.',
      first_n: '{0} (first {1})', episodes_count: 'episodes', profile_n: 'profile {0}', none: 'none', remove_filter: 'remove this filter', only: 'show only {0}',
      sort_by: 'sort by {0}', csv: 'CSV', csv_title: 'download {0} as CSV (what the list shows now)',
      letter_html: 'letter', letter_text: 'text', popup: 'The letter opens in a new tab: allow pop-ups for this page.',
      letter_prefix: 'Letter: ', token_needed: 'Marking a task done needs the token printed when `zorgpad serve` started.',
      token_set: 'Token set for this tab.',
      marked: 'Task {0} ({1}, {2}) marked done.', toast: 'Task #{0} marked done', undo: 'Undo', undone: 'Task #{0} not marked done: it stays open.',
      task_prefix: 'Task {0}: ', episode_prefix: 'Episode {0}: ', not_allowed: 'Not allowed: {0}{1}.', signed_in: ' (signed in as {0}, {1})',
      local: 'local access ({0})', gp_code: 'GP code', practice_cap: 'practice',
      may_not_see: 'Practice {0}: you may not see practice \'{0}\' (signed in as {1}, {2}). Showing {3} instead.', this_practice: 'this server\'s practice',
      showing_instead: ' Showing {0} instead.',
      letters_hint: 'Letters to the GP of the episodes addressed to your GP code{0}{1}; each opens in a new tab.', in_practice: ', in practice {0}',
      f_patient: 'patient', f_complaint: 'complaint', f_onset: 'onset', f_opened: 'opened', f_state: 'care state', f_phase: 'phase',
      f_profile: 'profile', f_start: 'treatment start', f_sessions: 'sessions', f_therapist: 'therapist', f_gp: 'GP',
      recurrent: 'recurrent', suggested: 'suggested: {0}', risk: '{0} risk', raised: 'raised',
      opened_course: 'opened (onset {0})', profile_course: 'profile {0} ({1}{2})', reevaluation_course: 'reevaluation: {0}{1}{2}', derived: ' (derived)',
      chart_label: 'NPRS and QBPDS of episode {0} over time', no_measures: 'No measurements yet.', start_mark: 'start', baseline_30: '−30 %',
      lane_phase: 'phase', lane_state: 'state', lane_profile: 'profile', lane_checkpoints: 'checkpoints', lane_tasks: 'tasks', course_of: 'course of episode {0}',
      due_on: 'due {0}', overdue_mark: ' (overdue)', today_mark: 'today {0}',
      after1: 'after 1 month', after3: 'after 3 months', expected: 'expected {0} %', practice_all: 'whole practice', no_therapist: 'no therapist',
      no_profile: 'no profile', recovered_of: '{0} of {1} recovered ({2} %)', not_followed: 'nobody followed that long yet',
      outcomes_label: 'Share recovered {0}, by profile and by therapist, with the expected {1} %',
      roles: { therapist: 'therapist', practice_admin: 'practice admin', coordinator: 'coordinator', gp: 'gp' },
    },
  };

  // ?lang= first (and remembered), then the choice remembered, else Dutch.
  const LANG = (() => {
    const asked = new URLSearchParams(location.search).get('lang');
    let kept = null;
    try { kept = localStorage.getItem(LANG_KEY); } catch (_) { /* storage refused */ }
    const lang = asked in UI ? asked : kept in UI ? kept : 'nl';
    if (asked in UI) try { localStorage.setItem(LANG_KEY, asked); } catch (_) { /* storage refused */ }
    return lang;
  })();
  function T(key, ...args) {
    const s = UI[LANG][key] !== undefined ? UI[LANG][key] : UI.en[key] !== undefined ? UI.en[key] : key;
    return String(s).replace(/\{(\d)\}/g, (_, i) => (args[i] === undefined ? '' : String(args[i])));
  }

  // The words of the codes (GET /api/texts); until they come, a code reads as itself without underscores.
  let texts = { words: {}, task_kinds: {} };
  const plain = (code) => String(code).replace(/_/g, ' ');
  const fromTable = (table, code) => (table && typeof table[code] === 'string' ? table[code] : plain(code));
  const W = {
    state: (c) => fromTable(texts.words.states, c),
    phase: (c) => fromTable(texts.words.phases, c),
    kind: (c) => fromTable(texts.task_kinds, c),
    checkpoint: (c) => fromTable(texts.words.checkpoints, c),
    event: (c) => fromTable(texts.words.triggers, c),
    complaint: (c) => fromTable(texts.words.complaints, c),
    risk: (c) => fromTable(texts.words.risks, c),
    judgement: (c) => fromTable(texts.words.judgements, c),
    profile: (p) => T('profile_n', p),
    profileMeaning: (p) => fromTable(texts.words.profiles, String(p)),
    status: (s) => T('status_' + s),
    role: (r) => (UI[LANG].roles[r] || plain(r)),
    // a terminal state's reason: a referral reason, a stop reason or an exclusion
    reason: (c) => {
      for (const t of [texts.words.referral_reasons, texts.words.stop_reasons, texts.words.exclusions])
        if (t && typeof t[c] === 'string') return t[c];
      return plain(c);
    },
    // a transition's from/to: a state, or a phase for a phase change
    move: (event, c) => (event === 'phase' ? W.phase(c) : W.state(c)),
  };

  const ui = {
    filters: {}, offset: 0, episode: null, busy: 0,
    me: null,            // GET /api/me, null until known (or when the server has no /api/me)
    practice: '',        // the practice every call names (?practice=), '' for none: the server's default
    choosing: false,     // the practice selector is shown
    can: { episodes: true, markDone: true, letters: false },
    sort: {},            // table id → { key, dir: 1 | -1 }
    lists: {},           // table id → what it shows (for sorting and CSV)
    pending: new Map(),  // task id → { timer, task, toast }: marked done, not yet sent
    today: '',
    overviewScroll: 0,
    fromOverview: false,
  };
  const $ = (sel) => document.querySelector(sel);

  // ---- the token: ?token=… on the first load, kept for this tab only ---------------
  // (?practice=CODE stays in the address: a reload shows the same practice)
  (function captureToken() {
    const q = new URLSearchParams(location.search);
    ui.practice = q.get('practice') || '';
    const t = q.get('token');
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    q.delete('token');
    const rest = q.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  })();
  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

  // ---- building the DOM safely ---------------------------------------------------------
  function append(parent, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return parent;
  }
  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = String(dv);
      else e.setAttribute(k, String(v));
    }
    return e;
  }
  const el = (tag, attrs, ...children) => append(setAttrs(document.createElement(tag), attrs), children);
  const SVGNS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, ...children) => append(setAttrs(document.createElementNS(SVGNS, tag), attrs), children);

  // The static page in the chosen language.
  function translatePage() {
    document.documentElement.lang = LANG;
    for (const e of document.querySelectorAll('[data-t]')) e.textContent = T(e.dataset.t);
    for (const e of document.querySelectorAll('[data-t-placeholder]')) e.setAttribute('placeholder', T(e.dataset.tPlaceholder));
    for (const e of document.querySelectorAll('[data-t-aria-label]')) e.setAttribute('aria-label', T(e.dataset.tAriaLabel));
    $('#lang').value = LANG;
  }

  // ---- the API ---------------------------------------------------------------------------
  // The practice goes into every address the page asks for or links to.
  function withPractice(path) {
    if (!ui.practice) return path;
    const u = new URL(path, location.origin);
    u.searchParams.set('practice', ui.practice);
    return u.pathname + u.search;
  }
  function authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    if (token()) headers['X-Zorgpad-Token'] = token();
    return headers;
  }
  function failure(status, statusText, body) {
    const err = new Error((body && body.error) || status + ' ' + statusText);
    err.status = status;
    return err;
  }
  async function api(path, options = {}) {
    const headers = authHeaders(Object.assign({ Accept: 'application/json' }, options.headers || {}));
    const r = await fetch(withPractice(path), Object.assign({}, options, { headers, credentials: 'same-origin' }));
    let body = null;
    try { body = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) throw failure(r.status, r.statusText, body);
    return body;
  }
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  function showMessage(text, kind) {
    const m = $('#message');
    m.textContent = text;
    m.className = 'message ' + (kind || '');
    m.hidden = !text;
  }
  function showTokenForm() { $('#token-form').hidden = false; }
  // An error as the page says it: a refusal names who is signed in.
  function problem(e) {
    if (e.status === 403) {
      const who = ui.me ? T('signed_in', displayName(ui.me), W.role(ui.me.role)) : '';
      return T('not_allowed', e.message, who);
    }
    if (e.status === 401) showTokenForm();
    return e.message;
  }

  // ---- small pieces ----------------------------------------------------------------------
  const episodeHref = (id) => '#/episode/' + encodeURIComponent(id);
  function episodeLink(id) {
    return el('a', { href: episodeHref(id), class: 'ep' }, id);
  }
  function doneButton(task) {
    if (!ui.can.markDone) return null;
    const pending = ui.pending.has(String(task.id));
    return el('button', { type: 'button', class: 'done' + (pending ? ' pending' : ''), dataset: { task: task.id },
      disabled: pending, title: T('done_title', task.id), on: { click: (ev) => confirmDone(task, ev.currentTarget) } },
    pending ? T('pending') : T('done'));
  }
  function letterHref(taskId, format) {
    return '/api/tasks/' + encodeURIComponent(taskId) + '/letter' + (format === 'text' ? '?format=text' : '');
  }
  function letterLink(path, format) {
    const href = withPractice(path);
    return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'letter', dataset: { format },
      on: { click: (ev) => openLetter(ev, href, format) } }, format === 'text' ? T('letter_text') : T('letter_html'));
  }
  const taskWords = (t) => W.kind(t.kind) + (t.checkpoint ? ' (' + W.checkpoint(t.checkpoint) + ')' : '');
  function total(id, list) {
    const shown = (list.tasks || list.episodes || []).length;
    $(id).textContent = list.total > shown ? T('first_n', list.total, shown) : String(list.total);
  }
  const days = (n) => (LANG === 'nl' ? n + (n === 1 ? ' dag' : ' dagen') : n + (n === 1 ? ' day' : ' days'));

  // ---- lists: sortable, exported as CSV ------------------------------------------------------
  // A list is a table of columns { key, label, cell(row) → DOM/text, text(row) → string
  // (what the cell reads: sorting and CSV), sort(row) → value (default: text), csv: false
  // for a column of buttons }. Clicking a header sorts the rows shown (aria-sort says how);
  // the CSV button downloads the rows as shown, in the order shown.
  function renderList(id, columns, rows, empty, rowAttrs) {
    ui.lists[id] = { columns, rows, empty, rowAttrs };
    drawList(id);
  }
  function sortedRows(id) {
    const { columns, rows } = ui.lists[id];
    const s = ui.sort[id];
    const col = s && columns.find((c) => c.key === s.key);
    if (!col) return rows;
    const value = (r) => (col.sort ? col.sort(r) : col.text(r));
    const coll = new Intl.Collator(LANG, { numeric: true, sensitivity: 'base' });
    return rows.map((r, i) => ({ r, i, v: value(r) })).sort((a, b) => {
      const ea = a.v === null || a.v === undefined || a.v === '', eb = b.v === null || b.v === undefined || b.v === '';
      if (ea || eb) return ea && eb ? a.i - b.i : ea ? 1 : -1;  // empty cells last, whichever way
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : coll.compare(String(a.v), String(b.v));
      return c ? c * s.dir : a.i - b.i;
    }).map((x) => x.r);
  }
  function drawList(id) {
    const table = document.getElementById(id);
    const { columns, empty, rowAttrs } = ui.lists[id];
    const s = ui.sort[id];
    const head = el('tr', null, columns.map((c) => {
      if (c.csv === false || !c.label) return el('th', null, c.label ? T(c.label) : '');
      const sorted = s && s.key === c.key;
      return el('th', { 'aria-sort': sorted ? (s.dir > 0 ? 'ascending' : 'descending') : null, dataset: { key: c.key } },
        el('button', { type: 'button', class: 'sort', title: T('sort_by', T(c.label)),
          on: { click: () => sortBy(id, c.key) } }, T(c.label),
        el('span', { class: 'arrow', 'aria-hidden': 'true' }, sorted ? (s.dir > 0 ? ' ▲' : ' ▼') : ' ↕')));
    }));
    const rows = sortedRows(id);
    const body = rows.length
      ? rows.map((r) => el('tr', rowAttrs ? rowAttrs(r) : null, columns.map((c) => el('td', c.attrs ? c.attrs(r) : null, c.cell ? c.cell(r) : c.text(r)))))
      : [el('tr', { class: 'empty' }, el('td', { colspan: columns.length }, T(empty)))];
    table.replaceChildren(el('thead', null, head), el('tbody', null, body));
  }
  function sortBy(id, key) {
    const s = ui.sort[id];
    ui.sort[id] = { key, dir: s && s.key === key ? -s.dir : 1 };
    drawList(id);
    const th = document.querySelector('#' + id + ' th[data-key="' + key + '"] button');
    if (th) th.focus();
  }

  // RFC 4180: fields separated by commas, records by CRLF; a field with a comma,
  // a quote or a line break in quotes, its quotes doubled. A field that a
  // spreadsheet would read as a formula (= + - @, tab, CR) gets a leading '.
  function csvField(v) {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    if (/[",\r\n]/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
    return s;
  }
  function listCsv(id) {
    const { columns } = ui.lists[id];
    const cols = columns.filter((c) => c.csv !== false);
    const lines = [cols.map((c) => csvField(T(c.label)))].concat(sortedRows(id).map((r) => cols.map((c) => csvField(c.text(r)))));
    return lines.map((l) => l.join(',')).join('\r\n') + '\r\n';
  }
  function downloadCsv(id, name) {
    const blob = new Blob(['\ufeff' + listCsv(id)], { type: 'text/csv;charset=utf-8' });
    const href = URL.createObjectURL(blob);
    const a = el('a', { href, download: 'zorgpad-' + name + (ui.today ? '-' + ui.today : '') + '.csv', hidden: true });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
  }
  // A CSV button at the end of each list's heading.
  function addCsvButtons() {
    const lists = { urgent: 'urgent', overdue: 'overdue', due: 'due', waiting: 'waiting', referred: 'referred',
      inactive: 'inactive', episodes: 'episodes', outcomes: 'outcomes', 'detail-tasks': 'tasks', letters: 'letters_title' };
    for (const [id, title] of Object.entries(lists)) {
      const table = document.getElementById(id);
      const section = table.closest('section');
      const heading = id === 'detail-tasks' ? table.previousElementSibling : section.querySelector('h2');
      heading.appendChild(el('button', { type: 'button', class: 'csv', dataset: { list: id }, title: T('csv_title', T(title)),
        'aria-label': T('csv_title', T(title)),
        on: { click: () => { if (ui.lists[id]) downloadCsv(id, id === 'detail-tasks' ? 'tasks-' + ui.episode : id); } } }, T('csv')));
    }
  }

  // ---- marking a task done: confirm, then 8 s to undo, then the POST ------------------------
  function confirmDone(task, button) {
    if (!token()) {
      showTokenForm();
      showMessage(T('token_needed'), 'error');
      return;
    }
    const dialog = $('#confirm');
    $('#confirm-text').textContent = T('confirm_text', task.id, taskWords(task), task.episode || ui.episode || '',
      task.patient ? ' (' + task.patient + ')' : '');
    dialog.returnValue = '';
    dialog.onclose = () => {
      if (dialog.returnValue === 'confirm') scheduleDone(task);
      else if (button && button.isConnected) button.focus();
    };
    dialog.showModal();
  }
  function markPendingButtons(id, pending) {
    for (const b of document.querySelectorAll('button.done[data-task="' + CSS.escape(String(id)) + '"]')) {
      b.disabled = pending;
      b.classList.toggle('pending', pending);
      b.textContent = pending ? T('pending') : T('done');
    }
  }
  function scheduleDone(task) {
    const id = String(task.id);
    if (ui.pending.has(id)) return;
    const undo = el('button', { type: 'button', class: 'undo', dataset: { task: id }, on: { click: () => undoDone(id) } }, T('undo'));
    const toast = el('div', { class: 'toast', role: 'status', dataset: { task: id } }, el('span', null, T('toast', id), ' — '), undo);
    $('#toasts').appendChild(toast);
    ui.pending.set(id, { task, toast, timer: setTimeout(() => sendDone(id), UNDO_MS) });
    markPendingButtons(id, true);
    undo.focus();
  }
  function undoDone(id) {
    const p = ui.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    ui.pending.delete(id);
    p.toast.remove();
    markPendingButtons(id, false);
    showMessage(T('undone', id), 'ok');
    const b = document.querySelector('button.done[data-task="' + CSS.escape(id) + '"]');
    if (b) b.focus();
  }
  async function sendDone(id) {
    const p = ui.pending.get(id);
    if (!p) return;
    ui.pending.delete(id);
    p.toast.remove();
    try {
      const r = await api('/api/tasks/' + encodeURIComponent(id) + '/done', { method: 'POST' });
      showMessage(T('marked', r.task.id, W.kind(r.task.kind), r.task.episode), 'ok');
      await refresh();
    } catch (e) {
      markPendingButtons(id, false);
      if (e.status === 401) { sessionStorage.removeItem(TOKEN_KEY); showTokenForm(); }
      showMessage(T('task_prefix', id) + problem(e), 'error');
    }
  }
  // Leaving the page inside the undo window: what was confirmed is sent.
  function flushPending() {
    for (const [id, p] of ui.pending) {
      clearTimeout(p.timer);
      fetch(withPractice('/api/tasks/' + encodeURIComponent(id) + '/done'),
        { method: 'POST', keepalive: true, credentials: 'same-origin', headers: authHeaders({ Accept: 'application/json' }) });
    }
    ui.pending.clear();
  }

  // ---- a letter in a tab of its own ----------------------------------------------------------
  // A link the browser follows itself carries no token (the page keeps it in
  // this tab's sessionStorage), so with a token the page fetches the letter
  // with it and writes it into a new tab. That tab shares the page's CSP, which
  // refuses the letter's <style> element: its rules go in as constructed
  // style sheets instead (CSSOM, which the CSP does not govern). Without a
  // token (local access on loopback) or with a modifier key, the browser
  // follows the link as it is.
  function openLetter(ev, href, format) {
    if (!token() || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    const w = window.open('', '_blank');
    if (!w) {
      showMessage(T('popup'), 'error');
      return;
    }
    w.opener = null;
    (async () => {
      const r = await fetch(href, { headers: authHeaders({ Accept: 'text/html, text/plain' }), credentials: 'same-origin' });
      const text = await r.text();
      if (!r.ok) {
        let body = null;
        try { body = JSON.parse(text); } catch (_) { /* not JSON */ }
        throw failure(r.status, r.statusText, body);
      }
      writeLetter(w, text, (r.headers.get('Content-Type') || '').startsWith('text/html') ? 'html' : 'text', href);
    })().catch((e) => {
      w.close();
      showMessage(T('letter_prefix') + problem(e), 'error');
    });
  }
  function writeLetter(w, text, format, href) {
    const d = w.document;
    const sheet = (css) => {
      const s = new w.CSSStyleSheet();
      s.replaceSync(css);
      return s;
    };
    if (format === 'html') {
      // The <style> elements come out before parsing: a parsed one already
      // counts as a CSP violation of the page. (Their text ends at the first
      // "</style", as the HTML parser ends it.)
      const css = [];
      const html = text.replace(/<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi, (_, rules) => { css.push(rules); return ''; });
      const doc = new DOMParser().parseFromString(html, 'text/html');
      doc.querySelectorAll('style, script, link').forEach((n) => n.remove());
      d.replaceChild(d.importNode(doc.documentElement, true), d.documentElement);
      d.adoptedStyleSheets = css.map(sheet);
    } else {
      const pre = d.createElement('pre');
      pre.textContent = text;
      d.title = 'letter ' + href.replace(/^\/api\/tasks\/(\d+)\/letter.*$/, '#$1');
      d.body.replaceChildren(pre);
      d.adoptedStyleSheets = [sheet('pre { white-space: pre-wrap; font: 13px/1.5 ui-monospace, Menlo, monospace; margin: 24px; }')];
    }
  }

  // ---- the overview ------------------------------------------------------------------------
  function renderCounts(o) {
    const group = (title, name, order, counts, filterable, text) => el('div', { class: 'count-group' },
      el('h3', null, title),
      el('ul', null, order.map((k) => {
        const n = counts[k] || 0;
        const active = ui.filters[name] === k;
        const chip = filterable && k !== 'none'
          ? el('button', { type: 'button', class: 'chip' + (active ? ' active' : '') + (n ? '' : ' zero'), dataset: { [name]: k },
            'aria-pressed': active ? 'true' : 'false',
            title: active ? T('remove_filter') : T('only', text(k)),
            on: { click: () => setFilter(name, active ? '' : k) } }, text(k), ' ', el('strong', null, n))
          : el('span', { class: 'chip' + (n ? '' : ' zero') }, text(k), ' ', el('strong', null, n));
        return el('li', { class: name + '-' + k }, chip);
      })));
    $('#counts').replaceChildren(
      el('div', { class: 'count-group total' }, el('h3', null, T('episodes_count')), el('p', { class: 'big' }, o.episodes)),
      group(T('state'), 'state', STATES, o.counts.state, true, W.state),
      group(T('phase'), 'phase', PHASES, o.counts.phase, true, W.phase),
      group(T('profile'), 'profile', PROFILES, o.counts.profile, true, (k) => (k === 'none' ? T('none') : W.profile(k))));
  }

  // columns shared by the lists
  const C = {
    task: { key: 'task', label: 'c_task', text: (t) => '#' + t.id, sort: (t) => t.id },
    episode: (get = (r) => r.episode) => ({ key: 'episode', label: 'c_episode', text: get, cell: (r) => episodeLink(get(r)) }),
    patient: { key: 'patient', label: 'c_patient', text: (r) => r.patient, attrs: () => ({ class: 'wrap patient' }) },
    kind: { key: 'kind', label: 'c_kind', text: (t) => W.kind(t.kind), attrs: () => ({ class: 'kind' }) },
    kindCheckpoint: { key: 'kind', label: 'c_kind', text: taskWords },
    due: { key: 'due', label: 'c_due', text: (t) => t.due },
    therapist: { key: 'therapist', label: 'c_therapist', text: (r) => r.therapist || '' },
    gp: { key: 'gp', label: 'c_gp', text: (r) => r.gp || '' },
    state: { key: 'state', label: 'c_state', text: (r) => W.state(r.state), attrs: () => ({ class: 'wrap' }) },
    done: { key: 'action', label: '', csv: false, text: () => '', cell: (t) => doneButton(t) },
  };
  const taskRow = (t) => ({ dataset: { task: t.id, episode: t.episode } });
  const epRow = (e) => ({ dataset: { episode: e.id } });

  function renderOverview(o) {
    ui.today = o.today;
    $('#today').textContent = o.today;
    total('#urgent-total', o.urgent);
    $('#urgent-panel').classList.toggle('pending', o.urgent.total > 0);
    renderList('urgent', [C.task, C.episode(), C.patient, C.kind, C.due,
      { key: 'days', label: 'c_days', sort: (t) => t.days_late, text: (t) => (t.days_late > 0 ? T('ago', days(t.days_late)) : T('today_cell')),
        attrs: (t) => ({ class: t.days_late > 0 ? 'late' : '' }) },
      C.state, C.therapist, C.done], o.urgent.tasks, 'no_urgent', taskRow);
    renderCounts(o);
    total('#overdue-total', o.overdue);
    renderList('overdue', [C.task, C.episode(), C.patient,
      { key: 'checkpoint', label: 'c_checkpoint', text: (t) => (t.checkpoint ? W.checkpoint(t.checkpoint) : '') }, C.due,
      { key: 'days', label: 'c_days_late', sort: (t) => t.days_late, text: (t) => String(t.days_late), attrs: () => ({ class: 'late' }) },
      C.therapist, C.done], o.overdue.tasks, 'no_overdue', taskRow);

    total('#due-total', o.due_this_week);
    renderList('due', [C.task, C.episode(), C.patient, C.kindCheckpoint, C.due,
      { key: 'days', label: 'c_days', sort: (t) => t.days_late,
        text: (t) => (t.days_late > 0 ? T('late', days(t.days_late)) : t.days_late === 0 ? T('today_cell') : T('in', days(-t.days_late))),
        attrs: (t) => ({ class: t.days_late > 0 ? 'late' : '' }) },
      C.therapist, C.done], o.due_this_week.tasks, 'no_due', taskRow);

    total('#gp-total', o.waiting_on_gp);
    renderList('waiting', [C.episode((e) => e.id), C.patient, C.state,
      { key: 'since', label: 'c_since', text: (e) => e.since || '' }, C.gp,
      { key: 'tasks', label: 'c_gp_tasks', text: (e) => e.tasks.map((t) => W.kind(t.kind) + ' #' + t.id).join('; '),
        cell: (e) => e.tasks.map((t) => el('span', { class: 'gp-task' }, W.kind(t.kind), ' #', t.id, ' ',
          doneButton(Object.assign({ episode: e.id, patient: e.patient }, t)))) }],
    o.waiting_on_gp.episodes, 'no_waiting', epRow);

    total('#referred-total', o.referred_this_month);
    renderList('referred', [C.episode((e) => e.id), C.patient, { key: 'referred', label: 'c_referred', text: (e) => e.referred },
      { key: 'task', label: 'c_task', text: (e) => W.kind(e.task.kind) + ' #' + e.task.id + ' (' + W.status(e.task.status) + ')',
        cell: (e) => [W.kind(e.task.kind), ' #', e.task.id, ' (', W.status(e.task.status), ') ',
          e.task.kind === 'gp_referral' ? letterLink(letterHref(e.task.id, 'html'), 'html') : null] },
      C.gp, C.therapist], o.referred_this_month.episodes, 'no_referred', epRow);

    total('#inactive-total', o.inactive);
    renderList('inactive', [C.episode((e) => e.id), C.patient, C.state, { key: 'last', label: 'c_last_event', text: (e) => e.last_event },
      { key: 'days', label: 'c_days', sort: (e) => e.days_inactive, text: (e) => String(e.days_inactive), attrs: () => ({ class: 'late' }) },
      C.therapist, C.gp], o.inactive.episodes, 'no_inactive', epRow);
  }

  // An answer for a practice no longer chosen is dropped.
  async function current(path) {
    const practice = ui.practice;
    const r = await api(path);
    return practice === ui.practice ? r : null;
  }

  async function loadOverview() {
    const o = await current('/api/overview' + query(Object.assign({ limit: 100 }, ui.filters)));
    if (o) renderOverview(o);
  }

  async function loadEpisodes() {
    const p = await current('/api/episodes' + query(Object.assign({ offset: ui.offset, limit: PAGE }, ui.filters)));
    if (!p) return;
    $('#episodes-total').textContent = String(p.total);
    renderList('episodes', [C.episode((e) => e.id), C.patient, C.state, { key: 'phase', label: 'c_phase', text: (e) => W.phase(e.phase) },
      { key: 'profile', label: 'c_profile', sort: (e) => (e.profile === null ? null : e.profile), text: (e) => (e.profile === null ? '–' : String(e.profile)) },
      C.therapist, C.gp, { key: 'next', label: 'c_next', text: (e) => e.next_due || '' }], p.episodes, 'no_episodes', epRow);
    const last = Math.min(p.offset + p.episodes.length, p.total);
    $('#page').textContent = p.total ? (p.offset + 1) + '–' + last + ' ' + T('of') + ' ' + p.total : '';
    $('#prev').disabled = p.offset === 0;
    $('#next').disabled = last >= p.total;
  }

  // The therapists and GPs to choose from (GET /api/names), the current choice kept.
  async function loadNames() {
    const n = await current('/api/names');
    if (!n) return;
    for (const [name, list] of [['therapist', n.therapists], ['gp', n.gps]]) {
      const sel = $('#filters').elements[name];
      const chosen = ui.filters[name] || '';
      const names = list.slice();
      if (chosen && !names.includes(chosen)) names.unshift(chosen);
      sel.replaceChildren(el('option', { value: '' }, T('any')), ...names.map((x) => el('option', { value: x }, x)));
      sel.value = chosen;
    }
  }

  // ---- the practice's outcomes: recovered after one and three months -------------------------
  const share = (g) => (g.followed ? g.recovered / g.followed : null);
  const pct = (x) => (x === null ? '–' : String(Math.round(100 * x)));
  function outcomeGroups(o) {
    return [{ key: 'all', name: T('practice_all'), g: o.all }]
      .concat(o.by_profile.map((p) => ({ key: 'profile-' + (p.profile === null ? 'none' : p.profile),
        name: p.profile === null ? T('no_profile') : W.profile(p.profile), g: p })))
      .concat(o.by_therapist.map((t) => ({ key: 'therapist', name: t.therapist || T('no_therapist'), g: t })));
  }
  function drawOutcomeChart(groups, period, expected) {
    const rowH = 24, L = 170, R = 150, Wd = 560, top = 30, H = top + groups.length * rowH + 26;
    const x = (v) => L + v * (Wd - L - R);
    const root = svg('svg', { viewBox: '0 0 ' + Wd + ' ' + H, width: Wd, height: H, role: 'img', class: 'outcome-svg',
      dataset: { period }, 'aria-label': T('outcomes_label', T(period === 'one_month' ? 'after1' : 'after3'), Math.round(expected * 100)) });
    root.appendChild(svg('text', { x: L, y: 14, class: 'chart-title' }, T(period === 'one_month' ? 'after1' : 'after3')));
    const axis = svg('g', { class: 'axis' });
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      axis.appendChild(svg('line', { x1: x(v), x2: x(v), y1: top - 4, y2: H - 20, class: 'grid' }));
      axis.appendChild(svg('text', { x: x(v), y: H - 6, class: 'axis-label' }, Math.round(v * 100) + ' %'));
    }
    root.appendChild(axis);
    groups.forEach((grp, i) => {
      const y = top + i * rowH;
      const g = grp.g[period], s = share(g);
      const row = svg('g', { class: 'bar-row ' + grp.key.replace(/-.*/, ''), dataset: { group: grp.key } });
      row.appendChild(svg('text', { x: L - 8, y: y + 15, class: 'group-label' + (grp.key === 'all' ? ' all' : '') }, grp.name));
      const words = s === null ? T('not_followed') : T('recovered_of', g.recovered, g.followed, pct(s));
      if (s !== null) {
        row.appendChild(svg('rect', { x: L, y: y + 4, width: Math.max(1, x(s) - L), height: rowH - 8, rx: 2,
          class: 'bar ' + (s >= expected ? 'met' : 'below') + (grp.key === 'all' ? ' all' : ''),
          dataset: { share: s.toFixed(4), recovered: g.recovered, followed: g.followed } }, svg('title', null, grp.name + ': ' + words)));
      }
      row.appendChild(svg('text', { x: Wd - R + 8, y: y + 15, class: 'bar-label' }, s === null ? '–' : pct(s) + ' % (' + g.recovered + '/' + g.followed + ')'));
      root.appendChild(row);
    });
    const ex = x(expected);
    root.appendChild(svg('line', { x1: ex, x2: ex, y1: top - 8, y2: H - 20, class: 'expected', dataset: { expected } },
      svg('title', null, T('expected', Math.round(expected * 100)))));
    root.appendChild(svg('text', { x: ex + 4, y: top - 10 + 8, class: 'expected-label' }, T('expected', Math.round(expected * 100))));
    return root;
  }
  async function loadOutcomes() {
    const o = await current('/api/outcomes');
    if (!o) return;
    const groups = outcomeGroups(o);
    $('#outcomes-chart').replaceChildren(drawOutcomeChart(groups, 'one_month', o.expected.one_month),
      drawOutcomeChart(groups, 'three_months', o.expected.three_months));
    renderList('outcomes', [{ key: 'group', label: 'c_group', text: (r) => r.name },
      { key: 'treated', label: 'c_treated', sort: (r) => r.g.treated, text: (r) => String(r.g.treated) },
      { key: 'f1', label: 'c_followed1', sort: (r) => r.g.one_month.followed, text: (r) => String(r.g.one_month.followed) },
      { key: 'r1', label: 'c_recovered1', sort: (r) => r.g.one_month.recovered, text: (r) => String(r.g.one_month.recovered) },
      { key: 's1', label: 'c_share1', sort: (r) => share(r.g.one_month), text: (r) => pct(share(r.g.one_month)) },
      { key: 'f3', label: 'c_followed3', sort: (r) => r.g.three_months.followed, text: (r) => String(r.g.three_months.followed) },
      { key: 'r3', label: 'c_recovered3', sort: (r) => r.g.three_months.recovered, text: (r) => String(r.g.three_months.recovered) },
      { key: 's3', label: 'c_share3', sort: (r) => share(r.g.three_months), text: (r) => pct(share(r.g.three_months)) }],
    groups, 'no_episodes', (r) => ({ dataset: { group: r.key } }));
  }

  // ---- one episode ---------------------------------------------------------------------------
  const dayOf = (iso) => Math.round(Date.parse(iso + 'T00:00:00Z') / 86400000);
  const isoOf = (day) => new Date(day * 86400000).toISOString().slice(0, 10);

  // Segments [from, to) of a lane from dated changes.
  function segments(changes, end) {
    const out = [];
    changes.forEach((c, i) => {
      const to = i + 1 < changes.length ? changes[i + 1].day : end;
      if (to > c.day) out.push({ from: c.day, to, value: c.value });
      else if (to === c.day && i + 1 === changes.length) out.push({ from: c.day, to: c.day + 0.5, value: c.value });
    });
    return out;
  }

  // The measurements of an episode from its log (GET /api/episodes/{id}/events):
  // every event with an NPRS or QBPDS value, at its date.
  function measurementsOf(events) {
    const out = { nprs: [], qbpds: [] };
    for (const e of events) {
      const b = e.body || {};
      const at = typeof b.at === 'string' ? b.at : e.at;
      for (const m of ['nprs', 'qbpds'])
        if (typeof b[m] === 'number') out[m].push({ day: dayOf(at), at, value: b[m], type: e.type });
    }
    return out;
  }

  // NPRS (0–10) above, QBPDS (0–100) below, on one time axis from the opening
  // to today; the treatment start and the reevaluation checkpoints as vertical
  // lines; a dotted line 30 % below each baseline (KNGF: a clinically relevant change).
  function drawMeasures(ep, m) {
    const Wd = 960, L = 64, R = 20, panelH = 110, gap = 34, top = 14;
    const H = top + 2 * panelH + gap + 30;
    const start = dayOf(ep.opened);
    let end = dayOf(ep.today);
    for (const s of [...m.nprs, ...m.qbpds]) end = Math.max(end, s.day);
    for (const t of ep.tasks) if (t.kind === 'reevaluation') end = Math.max(end, dayOf(t.due));
    end += 2;
    const x = (day) => L + ((day - start) / Math.max(1, end - start)) * (Wd - L - R);
    const root = svg('svg', { viewBox: '0 0 ' + Wd + ' ' + H, width: '100%', role: 'img', class: 'measures-svg',
      'aria-label': T('chart_label', ep.id) });
    const panels = [{ name: 'nprs', label: 'NPRS', max: 10, y0: top }, { name: 'qbpds', label: 'QBPDS', max: 100, y0: top + panelH + gap }];
    // checkpoints and the treatment start, across both panels
    const marks = svg('g', { class: 'checkpoints' });
    const vline = (day, text, cls, title) => {
      const vx = x(day);
      marks.appendChild(svg('line', { x1: vx, x2: vx, y1: top - 4, y2: top + 2 * panelH + gap, class: cls }, svg('title', null, title)));
      marks.appendChild(svg('text', { x: vx, y: H - 14, class: 'mark-label' }, text));
    };
    if (ep.treatment_start) vline(dayOf(ep.treatment_start), T('start_mark'), 'start', T('f_start') + ' ' + ep.treatment_start);
    for (const t of ep.tasks)
      if (t.kind === 'reevaluation' && t.checkpoint)
        vline(dayOf(t.due), W.checkpoint(t.checkpoint), 'checkpoint ' + t.status, W.kind(t.kind) + ' ' + W.checkpoint(t.checkpoint) + ', ' + T('due_on', t.due) + ', ' + W.status(t.status));
    root.appendChild(marks);
    for (const p of panels) {
      const y = (v) => p.y0 + panelH - (v / p.max) * panelH;
      const g = svg('g', { class: 'panel-' + p.name });
      g.appendChild(svg('rect', { x: L, y: p.y0, width: Wd - L - R, height: panelH, class: 'plot' }));
      for (const v of [0, p.max / 2, p.max]) {
        g.appendChild(svg('line', { x1: L, x2: Wd - R, y1: y(v), y2: y(v), class: 'grid' }));
        g.appendChild(svg('text', { x: L - 6, y: y(v) + 4, class: 'y-label' }, v));
      }
      g.appendChild(svg('text', { x: 6, y: p.y0 + panelH / 2 + 4, class: 'lane-label' }, p.label));
      const pts = m[p.name];
      if (pts.length) {
        const base = pts[0].value;
        if (base > 0)
          g.appendChild(svg('line', { x1: L, x2: Wd - R, y1: y(base * 0.7), y2: y(base * 0.7), class: 'target' },
            svg('title', null, p.label + ' ' + T('baseline_30') + ': ' + (Math.round(base * 7) / 10))));
        g.appendChild(svg('polyline', { points: pts.map((s) => x(s.day) + ',' + y(s.value)).join(' '), class: 'series ' + p.name }));
        for (const s of pts)
          g.appendChild(svg('circle', { cx: x(s.day), cy: y(s.value), r: 4.5, class: 'pt ' + p.name, dataset: { at: s.at, value: s.value } },
            svg('title', null, p.label + ' ' + s.value + ' — ' + s.at + ' (' + W.event(s.type) + ')')));
      } else {
        g.appendChild(svg('text', { x: L + 10, y: p.y0 + panelH / 2, class: 'empty-label' }, T('no_measures')));
      }
      root.appendChild(g);
    }
    const axisY = top + 2 * panelH + gap + 2;
    const axis = svg('g', { class: 'axis' });
    const step = end - start > 150 ? 28 : 7;
    for (let d = start; d <= end; d += step)
      axis.appendChild(svg('text', { x: x(d), y: axisY + 12, class: 'axis-label' }, isoOf(d).slice(5)));
    root.appendChild(axis);
    return root;
  }

  function drawTimeline(ep) {
    const today = dayOf(ep.today);
    const start = dayOf(ep.opened); // onset lies on or before it; the facts name it
    let end = today;
    for (const t of ep.tasks) end = Math.max(end, dayOf(t.due));
    for (const t of ep.transitions) end = Math.max(end, dayOf(t.at));
    end += 4;
    const Wd = 960, L = 104, R = 16, H = 214;
    const x = (day) => L + ((day - start) / Math.max(1, end - start)) * (Wd - L - R);
    const lanes = { phase: 28, state: 62, profile: 96, checkpoints: 132, tasks: 166 };
    const root = svg('svg', { viewBox: '0 0 ' + Wd + ' ' + H, width: '100%', role: 'img', class: 'timeline-svg',
      'aria-label': T('course_of', ep.id) });
    for (const [name, y] of Object.entries(lanes))
      root.appendChild(svg('text', { x: 8, y: y + 4, class: 'lane-label' }, T('lane_' + name)));

    const band = (lane, segs, cls, text) => {
      const g = svg('g', { class: 'lane lane-' + lane });
      for (const s of segs) {
        const x0 = x(s.from), x1 = x(s.to);
        g.appendChild(svg('rect', { x: x0, y: lanes[lane] - 11, width: Math.max(2, x1 - x0), height: 22, rx: 3,
          class: cls(s.value) }, svg('title', null, T('lane_' + lane) + ' ' + text(s.value) + ': ' + isoOf(s.from) + ' – ' + isoOf(Math.ceil(s.to)))));
        if (x1 - x0 > 7 * text(s.value).length)
          g.appendChild(svg('text', { x: x0 + 4, y: lanes[lane] + 4, class: 'seg-label' }, text(s.value)));
      }
      root.appendChild(g);
    };

    const phases = ep.transitions.filter((t) => t.event === 'phase');
    band('phase', segments([{ day: start, value: phases.length ? phases[0].from : ep.phase }]
      .concat(phases.map((t) => ({ day: dayOf(t.at), value: t.to }))), end), (v) => 'ph-' + v, W.phase);

    const moves = ep.transitions.filter((t) => t.event !== 'phase');
    band('state', segments([{ day: dayOf(ep.opened), value: 'intake' }]
      .concat(moves.map((t) => ({ day: dayOf(t.at), value: t.to }))), end), (v) => 'st-' + v, W.state);

    band('profile', segments(ep.profile_history.map((p) => ({ day: dayOf(p.at), value: String(p.profile) })), end),
      (v) => 'pf-' + v, W.profile);

    // transitions as ticks over the state lane
    const ticks = svg('g', { class: 'ticks' });
    for (const t of moves) {
      const tx = x(dayOf(t.at));
      ticks.appendChild(svg('line', { x1: tx, x2: tx, y1: lanes.state - 15, y2: lanes.state + 15, class: 'tick' },
        svg('title', null, t.at + ' ' + W.event(t.event) + ': ' + W.move(t.event, t.from) + ' → ' + W.move(t.event, t.to))));
    }
    root.appendChild(ticks);

    // checkpoints (reevaluation tasks) and the other tasks at their due dates
    const marks = svg('g', { class: 'marks' });
    for (const t of ep.tasks) {
      const tx = x(dayOf(t.due));
      const overdue = t.overdue === true; // decided by the server (adapters/overview)
      const cls = 'mark ' + t.status + (overdue ? ' overdue' : '');
      const title = svg('title', null, taskWords(t) + ', ' + T('due_on', t.due) + ', ' + W.status(t.status) +
        (overdue ? T('overdue_mark') : '') + (t.id ? ' — #' + t.id : ''));
      if (t.kind === 'reevaluation') {
        marks.appendChild(svg('circle', { cx: tx, cy: lanes.checkpoints, r: 7, class: cls }, title));
        marks.appendChild(svg('text', { x: tx, y: lanes.checkpoints - 11, class: 'mark-label' }, t.checkpoint ? W.checkpoint(t.checkpoint) : ''));
      } else {
        marks.appendChild(svg('rect', { x: tx - 5, y: lanes.tasks - 5, width: 10, height: 10, class: cls + ' kind-' + t.kind,
          transform: 'rotate(45 ' + tx + ' ' + lanes.tasks + ')' }, title));
      }
    }
    root.appendChild(marks);

    // date axis and today
    const axisY = H - 22;
    const axis = svg('g', { class: 'axis' }, svg('line', { x1: L, x2: Wd - R, y1: axisY, y2: axisY }));
    const step = end - start > 150 ? 28 : 7;
    for (let d = start; d <= end; d += step) {
      axis.appendChild(svg('line', { x1: x(d), x2: x(d), y1: axisY, y2: axisY + 4 }));
      axis.appendChild(svg('text', { x: x(d), y: axisY + 16, class: 'axis-label' }, isoOf(d).slice(5)));
    }
    root.appendChild(axis);
    const tx = x(today);
    root.appendChild(svg('line', { x1: tx, x2: tx, y1: 8, y2: axisY, class: 'today' }, svg('title', null, T('today_mark', ep.today))));
    return root;
  }

  function renderEpisode(ep, events) {
    $('#detail-id').textContent = ep.id;
    const s = ep.scores;
    const measure = (name) => {
      const b = s.baseline[name], l = s.latest[name];
      return b === null && l === null ? '–' : (b === null ? '–' : b) + ' → ' + (l === null ? '–' : l);
    };
    const facts = [
      ['f_patient', ep.patient], ['f_complaint', W.complaint(ep.complaint) + (ep.recurrent ? ', ' + T('recurrent') : '')],
      ['f_onset', ep.onset], ['f_opened', ep.opened],
      ['f_state', W.state(ep.state) + (ep.reason ? ' — ' + W.reason(ep.reason) : '')], ['f_phase', W.phase(ep.phase)],
      ['f_profile', ep.profile === null ? '–' : W.profile(ep.profile) + ' — ' + W.profileMeaning(ep.profile) +
        (ep.suggested_profile !== null && ep.suggested_profile !== ep.profile ? ' (' + T('suggested', ep.suggested_profile) + ')' : '')],
      ['f_start', ep.treatment_start || '–'], ['f_sessions', ep.sessions],
      ['f_therapist', ep.therapist || '–'], ['f_gp', ep.gp || '–'],
      ['STarT Back', s.sbst ? s.sbst.total + '/9, ' + T('risk', W.risk(s.sbst.risk)) : '–'],
      ['Örebro', s.orebro ? s.orebro.total + (s.orebro.raised ? ' (' + T('raised') + ')' : '') : '–'],
      ['NPRS', measure('nprs')], ['QBPDS', measure('qbpds')],
    ];
    $('#detail-facts').replaceChildren(...facts.map(([k, v]) => el('div', { class: 'fact' }, el('dt', null, k.startsWith('f_') ? T(k) : k), el('dd', null, v))));
    if (events) $('#chart').replaceChildren(drawMeasures(ep, measurementsOf(events)));
    $('#timeline').replaceChildren(drawTimeline(ep));
    renderList('detail-tasks', [{ key: 'task', label: 'c_task', sort: (t) => t.id || 0, text: (t) => (t.id ? '#' + t.id : '') },
      C.kind, { key: 'checkpoint', label: 'c_checkpoint', text: (t) => (t.checkpoint ? W.checkpoint(t.checkpoint) : '') }, C.due,
      { key: 'status', label: 'c_status', text: (t) => W.status(t.status), attrs: (t) => ({ class: 'status-' + t.status }) },
      { key: 'action', label: '', csv: false, text: () => '', cell: (t) => (t.status === 'open' && t.id ? doneButton(Object.assign({ episode: ep.id, patient: ep.patient }, t)) : null) }],
    ep.tasks, 'no_tasks', (t) => ({ dataset: { task: t.id } }));
    const letters = $('#detail-letters');
    letters.replaceChildren(...ep.letters.map((l) => el('li', null, W.kind(l.kind), ' (' + T('due_on', l.due) + ', ', W.status(l.status), ') ',
      letterLink(letterHref(l.task, 'html'), 'html'), ' · ', letterLink(letterHref(l.task, 'text'), 'text'))));
    if (!ep.letters.length) letters.appendChild(el('li', { class: 'empty' }, T('no_letters')));
    const course = [{ at: ep.opened, text: T('opened_course', ep.onset) }]
      .concat(ep.transitions.map((t) => ({ at: t.at, text: W.event(t.event) + ': ' + W.move(t.event, t.from) + ' → ' + W.move(t.event, t.to) })))
      .concat(ep.profile_history.map((p) => ({ at: p.at, text: T('profile_course', p.profile, W.event(p.event),
        p.suggested !== null ? ', ' + T('suggested', p.suggested) : '') })))
      .concat(ep.reevaluations.map((r) => ({ at: r.at, text: T('reevaluation_course', W.judgement(r.judgement), r.derived ? T('derived') : '',
        r.checkpoint ? ', ' + W.checkpoint(r.checkpoint) : '') })));
    course.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    $('#detail-history').replaceChildren(...course.map((h) => el('li', null, el('time', null, h.at), ' ', h.text)));
  }

  async function loadEpisode(id) {
    const path = '/api/episodes/' + encodeURIComponent(id);
    const [ep, log] = await Promise.all([current(path), current(path + '/events')]);
    if (ep && ui.episode === id) renderEpisode(ep, log ? log.events : null);
    return ep;
  }

  // ---- views: the overview, or one episode (#/episode/ID) -----------------------------------
  function episodeInHash() {
    const m = /^#\/episode\/(.+)$/.exec(location.hash);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (_) { return null; }
  }
  function showOverviewSections(on) {
    $('#filters').hidden = !on || !ui.can.episodes;
    for (const section of document.querySelectorAll('main > section')) {
      if (section.id === 'detail') section.hidden = on || !ui.can.episodes;
      else if (section.id === 'letters-panel') section.hidden = !ui.can.letters;
      else section.hidden = !on || !ui.can.episodes;
    }
  }
  async function showView() {
    const id = ui.can.episodes ? episodeInHash() : null;
    if (id === null) {
      const wasEpisode = ui.episode !== null;
      ui.episode = null;
      showOverviewSections(true);
      if (wasEpisode) window.scrollTo(0, ui.overviewScroll);
      return;
    }
    if (ui.episode === null) ui.overviewScroll = window.scrollY;
    ui.episode = id;
    $('#detail-id').textContent = id;
    showOverviewSections(false);
    window.scrollTo(0, 0);
    try {
      await loadEpisode(id);
      if (ui.episode === id) {
        window.scrollTo(0, 0);
        $('#detail-title').focus({ preventScroll: true });
      }
    } catch (e) {
      showMessage(T('episode_prefix', id) + problem(e), 'error');
    }
  }
  function backToOverview() {
    if (ui.fromOverview) history.back();
    else location.hash = '';
  }

  // ---- the letters (a gp's page) -------------------------------------------------------------------
  async function loadLetters() {
    const r = await current('/api/letters' + query({ status: $('#letters-filter').elements.status.value }));
    if (!r) return;
    $('#letters-total').textContent = String(r.total);
    // the API's own links when they are paths of this server, else the same built from the task id
    const link = (l, format) => {
      const given = format === 'text' ? l.text : l.html;
      return letterLink(typeof given === 'string' && /^\/api\//.test(given) ? given : letterHref(l.id, format), format);
    };
    renderList('letters', [C.task, { key: 'episode', label: 'c_episode', text: (l) => l.episode, attrs: () => ({ class: 'mono' }) },
      { key: 'letter', label: 'c_letter', text: taskWords }, C.due,
      { key: 'status', label: 'c_status', text: (l) => W.status(l.status), attrs: (l) => ({ class: 'status-' + l.status }) },
      { key: 'links', label: 'c_links', csv: false, text: () => '', cell: (l) => [link(l, 'html'), ' · ', link(l, 'text')] }],
    r.letters, 'no_letters_list', (l) => ({ dataset: { task: l.id, episode: l.episode } }));
  }

  // ---- who is signed in, and what they may do -------------------------------------------------------
  function displayName(me) {
    const user = String(me.user || '');
    if (me.local) return T('local', user.replace(/^local:/, ''));
    return user.replace(/^user:/, '').replace(/#\d+$/, '');
  }
  const practiceWords = (me) => (me.practice ? T('practice_cap') + ' ' + me.practice : T('this_practice'));

  // GET /api/me; a practice in the address the caller may not see (403), or a
  // server of one practice (400), is dropped with a message and asked again.
  async function loadMe() {
    try {
      const me = await api('/api/me');
      // /api/me answers about the caller whatever ?practice= says: a caller
      // held to one practice cannot choose another.
      if (me && me.practice_fixed && ui.practice && ui.practice !== me.practice) {
        const asked = ui.practice;
        choosePractice('');
        showMessage(T('may_not_see', asked, displayName(me), W.role(me.role), practiceWords(me)), 'error');
      }
      return me;
    } catch (e) {
      if (ui.practice && (e.status === 403 || e.status === 400)) {
        const asked = ui.practice;
        choosePractice('');
        const me = await api('/api/me');
        showMessage(T('practice_cap') + ' ' + asked + ': ' + problem(e).replace(/\.?$/, '.') + T('showing_instead', practiceWords(me)), 'error');
        return me;
      }
      if (e.status === 404) return null;  // a server without /api/me: the page as it was
      throw e;
    }
  }

  // The practices the caller may choose from; the selector only when there is a choice.
  async function loadPractices(me) {
    let list = [];
    if (me) {
      try {
        list = ((await api('/api/practices')).practices || []).filter((p) => typeof p === 'string' && p !== '');
      } catch (e) {
        list = [];
      }
    }
    ui.choosing = list.length > 1;
    const sel = $('#practice');
    if (ui.choosing) {
      const chosen = ui.practice || me.practice;
      if (chosen && !list.includes(chosen)) list.unshift(chosen);
      sel.replaceChildren(...list.map((p) => el('option', { value: p }, p)));
      sel.value = chosen;
      ui.practice = chosen;
    }
    $('#practice-choice').hidden = !ui.choosing;
  }

  function renderWho() {
    const me = ui.me;
    $('#who').hidden = !me;
    if (!me) return;
    $('#who').dataset.role = me.role;
    const parts = [el('strong', null, displayName(me)), ' · ', W.role(me.role)];
    if (me.gp) parts.push(' · ' + T('gp_code') + ' ', el('strong', null, me.gp));
    const practice = ui.practice || me.practice;
    if (!ui.choosing && practice) parts.push(' · ' + T('practice_cap') + ' ', el('strong', { id: 'who-practice' }, practice));
    $('#who-text').replaceChildren();
    append($('#who-text'), parts);
  }

  // Shows what the role may use and hides the rest (the server answers 403 to it anyway).
  function applyRole(me) {
    const role = me ? me.role : '';
    ui.can = {
      episodes: role !== 'gp',
      markDone: role !== 'gp',
      letters: role === 'gp',
    };
    document.body.dataset.role = role || 'unknown';
    $('.top .today').hidden = !ui.can.episodes;  // the overview tells the server's today
    showOverviewSections(ui.episode === null);
    if (ui.can.letters) {
      const practice = ui.practice || me.practice;
      $('#letters-hint').textContent = T('letters_hint', me.gp ? ' (' + me.gp + ')' : '', practice ? T('in_practice', practice) : '');
    }
    $('#sub').textContent = ui.can.letters ? T('sub_gp') : T('sub_coordinator');
    document.title = ui.can.letters ? T('title_gp') : T('title_coordinator');
    $('#calendar-link').setAttribute('href', withPractice('/calendar.ics'));
    renderWho();
  }

  // The chosen practice: kept in the address, so that a reload shows it again.
  function choosePractice(code) {
    ui.practice = code;
    const q = new URLSearchParams(location.search);
    if (code) q.set('practice', code);
    else q.delete('practice');
    const rest = q.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  function switchPractice(code) {
    choosePractice(code);
    ui.offset = 0;
    ui.filters = {};
    $('#filters').reset();
    history.replaceState(null, '', location.pathname + location.search);
    ui.episode = null;
    showMessage('');
    applyRole(ui.me);
    return refresh();
  }

  // The words of the codes, in the page's language.
  async function loadTexts() {
    try {
      const t = await api('/api/texts' + query({ lang: LANG }));
      if (t && t.words) texts = { words: t.words, task_kinds: t.task_kinds || {} };
    } catch (e) {
      if (e.status !== 404) throw e;  // a server without /api/texts: the codes as words
    }
  }

  // Who is signed in, then the page for their role.
  async function start() {
    try {
      ui.me = await loadMe();
      await Promise.all([loadPractices(ui.me), loadTexts()]);
    } catch (e) {
      ui.me = null;
      applyRole(null);
      showMessage(problem(e), 'error');
      document.body.dataset.loaded = 'true';
      return;
    }
    fillFilterChoices();
    applyRole(ui.me);
    if (ui.can.episodes) api('/api/diagram').then((d) => { $('#diagram').textContent = d.source; }).catch(() => {});
    await refresh();
    await showView();
    document.body.dataset.loaded = 'true';
  }

  // ---- filters and refresh ---------------------------------------------------------------------
  function setFilter(name, value) {
    const form = $('#filters');
    form.elements[name].value = value;
    readFilters();
    refresh();
  }
  function readFilters() {
    const data = new FormData($('#filters'));
    ui.filters = {};
    for (const [k, v] of data.entries()) if (String(v).trim() !== '') ui.filters[k] = String(v).trim();
    ui.offset = 0;
  }
  function fillFilterChoices() {
    const f = $('#filters').elements;
    f.state.replaceChildren(el('option', { value: '' }, T('any')), ...STATES.map((s) => el('option', { value: s }, W.state(s))));
    f.phase.replaceChildren(el('option', { value: '' }, T('any')), ...PHASES.map((p) => el('option', { value: p }, W.phase(p))));
    f.profile.replaceChildren(el('option', { value: '' }, T('any')), ...['1', '2', '3'].map((p) => el('option', { value: p }, W.profile(p))));
  }

  async function refresh() {
    ui.busy++;
    document.body.classList.add('busy');
    try {
      const loads = [];
      if (ui.can.episodes) loads.push(loadOverview(), loadEpisodes(), loadNames(), loadOutcomes());
      if (ui.can.letters) loads.push(loadLetters());
      await Promise.all(loads);
      if (ui.can.episodes && ui.episode) await loadEpisode(ui.episode);
    } catch (e) {
      showMessage(problem(e), 'error');
    } finally {
      if (--ui.busy === 0) document.body.classList.remove('busy');
    }
  }

  function init() {
    translatePage();
    addCsvButtons();
    // the old address of an episode (#episode=ID) still opens it
    const old = /^#episode=(.+)$/.exec(location.hash);
    if (old) history.replaceState(null, '', location.pathname + location.search + '#/episode/' + old[1]);
    $('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); readFilters(); refresh(); });
    $('#filters').addEventListener('change', (ev) => { if (ev.target.tagName === 'SELECT') { readFilters(); refresh(); } });
    $('#clear-filters').addEventListener('click', () => { $('#filters').reset(); readFilters(); refresh(); });
    $('#prev').addEventListener('click', () => { ui.offset = Math.max(0, ui.offset - PAGE); loadEpisodes().catch((e) => showMessage(problem(e), 'error')); });
    $('#next').addEventListener('click', () => { ui.offset += PAGE; loadEpisodes().catch((e) => showMessage(problem(e), 'error')); });
    $('#detail-back').addEventListener('click', backToOverview);
    // a click on an episode link inside the page: "back" can go back in history
    document.addEventListener('click', (ev) => {
      const a = ev.target.closest && ev.target.closest('a.ep');
      if (a && !episodeInHash()) ui.fromOverview = true;
    });
    window.addEventListener('hashchange', () => {
      if (!episodeInHash()) ui.fromOverview = false;
      showView();
    });
    window.addEventListener('pagehide', flushPending);
    $('#lang').addEventListener('change', () => {
      try { localStorage.setItem(LANG_KEY, $('#lang').value); } catch (_) { /* storage refused */ }
      const q = new URLSearchParams(location.search);
      q.delete('lang');
      const rest = q.toString();
      flushPending();
      location.replace(location.pathname + (rest ? '?' + rest : '') + location.hash);
    });
    $('#token-form').hidden = !!token();
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#token').value.trim();
      if (t) { sessionStorage.setItem(TOKEN_KEY, t); $('#token').value = ''; $('#token-form').hidden = true; showMessage(T('token_set'), 'ok'); start(); }
    });
    $('#practice').addEventListener('change', () => switchPractice($('#practice').value));
    $('#letters-filter').addEventListener('change', () => refresh());
    $('#letters-filter').addEventListener('submit', (ev) => { ev.preventDefault(); refresh(); });
    start();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
