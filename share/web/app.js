// The coordinator's dashboard (zorgpad serve). Plain browser JavaScript, no
// build step, no dependencies: it reads the JSON API and builds the page with
// DOM calls. Every value goes in as a text node or an attribute value, never
// as markup, so a patient reference or a name cannot inject HTML or script.
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
  const PAGE = 25;

  const ui = {
    filters: {}, offset: 0, episode: null, busy: 0,
    me: null,            // GET /api/me, null until known (or when the server has no /api/me)
    practice: '',        // the practice every call names (?practice=), '' for none: the server's default
    choosing: false,     // the practice selector is shown
    can: { episodes: true, markDone: true, letters: false },
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
      const who = ui.me ? ' (signed in as ' + displayName(ui.me) + ', ' + label(ui.me.role) + ')' : '';
      return 'Not allowed: ' + e.message + who + '.';
    }
    if (e.status === 401) showTokenForm();
    return e.message;
  }

  // ---- small pieces ----------------------------------------------------------------------
  function episodeLink(id) {
    return el('a', { href: '#episode=' + encodeURIComponent(id), class: 'ep',
      on: { click: (ev) => { ev.preventDefault(); openEpisode(id); } } }, id);
  }
  function doneButton(task) {
    if (!ui.can.markDone) return null;
    return el('button', { type: 'button', class: 'done', dataset: { task: task.id },
      title: 'mark task ' + task.id + ' done', on: { click: () => markDone(task.id) } }, 'done');
  }
  function letterHref(taskId, format) {
    return '/api/tasks/' + encodeURIComponent(taskId) + '/letter' + (format === 'text' ? '?format=text' : '');
  }
  function letterLink(path, format) {
    const href = withPractice(path);
    return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'letter', dataset: { format },
      on: { click: (ev) => openLetter(ev, href, format) } }, format === 'text' ? 'text' : 'letter');
  }
  const label = (code) => String(code).replace(/_/g, ' ');
  function fill(tbody, rows, empty, columns) {
    tbody.replaceChildren(...(rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: columns }, empty))]));
  }
  function total(id, list) {
    const shown = (list.tasks || list.episodes || []).length;
    $(id).textContent = list.total > shown ? list.total + ' (first ' + shown + ')' : String(list.total);
  }

  async function markDone(id) {
    if (!token()) {
      showTokenForm();
      showMessage('Marking a task done needs the token printed when `zorgpad serve` started.', 'error');
      return;
    }
    try {
      const r = await api('/api/tasks/' + encodeURIComponent(id) + '/done', { method: 'POST' });
      showMessage('Task ' + r.task.id + ' (' + label(r.task.kind) + ', ' + r.task.episode + ') marked done.', 'ok');
      await refresh();
    } catch (e) {
      if (e.status === 401) { sessionStorage.removeItem(TOKEN_KEY); showTokenForm(); }
      showMessage('Task ' + id + ': ' + problem(e), 'error');
    }
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
      showMessage('The letter opens in a new tab: allow pop-ups for this page.', 'error');
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
      showMessage('Letter: ' + problem(e), 'error');
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
    const group = (title, name, order, counts, filterable, text = label) => el('div', { class: 'count-group' },
      el('h3', null, title),
      el('ul', null, order.map((k) => {
        const n = counts[k] || 0;
        const active = ui.filters[name] === k;
        const chip = filterable && k !== 'none'
          ? el('button', { type: 'button', class: 'chip' + (active ? ' active' : '') + (n ? '' : ' zero'), dataset: { [name]: k },
            title: active ? 'remove this filter' : 'show only ' + label(k),
            on: { click: () => setFilter(name, active ? '' : k) } }, text(k), ' ', el('strong', null, n))
          : el('span', { class: 'chip' + (n ? '' : ' zero') }, text(k), ' ', el('strong', null, n));
        return el('li', { class: name + '-' + k }, chip);
      })));
    $('#counts').replaceChildren(
      el('div', { class: 'count-group total' }, el('h3', null, 'episodes'), el('p', { class: 'big' }, o.episodes)),
      group('care state', 'state', STATES, o.counts.state, true),
      group('phase', 'phase', PHASES, o.counts.phase, true),
      group('profile', 'profile', PROFILES, o.counts.profile, true, (k) => (k === 'none' ? 'none' : 'profile ' + k)));
  }

  function renderOverview(o) {
    $('#today').textContent = o.today;
    total('#urgent-total', o.urgent);
    $('#urgent-panel').classList.toggle('pending', o.urgent.total > 0);
    fill($('#urgent tbody'), o.urgent.tasks.map((t) => el('tr', { dataset: { task: t.id, episode: t.episode } },
      el('td', null, '#' + t.id), el('td', null, episodeLink(t.episode)), el('td', null, t.patient),
      el('td', { class: 'kind' }, label(t.kind)), el('td', null, t.due),
      el('td', { class: t.days_late > 0 ? 'late' : '' }, t.days_late > 0 ? t.days_late + ' ago' : 'today'),
      el('td', null, label(t.state)), el('td', null, t.therapist), el('td', null, doneButton(t)))),
    'No urgent tasks.', 9);
    renderCounts(o);
    total('#overdue-total', o.overdue);
    fill($('#overdue tbody'), o.overdue.tasks.map((t) => el('tr', { dataset: { task: t.id, episode: t.episode } },
      el('td', null, '#' + t.id), el('td', null, episodeLink(t.episode)), el('td', null, t.patient),
      el('td', null, t.checkpoint ? label(t.checkpoint) : ''), el('td', null, t.due),
      el('td', { class: 'late' }, t.days_late), el('td', null, t.therapist), el('td', null, doneButton(t)))),
    'Nothing overdue.', 8);

    total('#due-total', o.due_this_week);
    fill($('#due tbody'), o.due_this_week.tasks.map((t) => el('tr', { dataset: { task: t.id, episode: t.episode } },
      el('td', null, '#' + t.id), el('td', null, episodeLink(t.episode)), el('td', null, t.patient),
      el('td', null, label(t.kind), t.checkpoint ? ' (' + label(t.checkpoint) + ')' : ''), el('td', null, t.due),
      el('td', { class: t.days_late > 0 ? 'late' : '' }, t.days_late > 0 ? t.days_late + ' late'
        : t.days_late === 0 ? 'today' : 'in ' + -t.days_late),
      el('td', null, t.therapist), el('td', null, doneButton(t)))),
    'Nothing due this week.', 8);

    total('#gp-total', o.waiting_on_gp);
    fill($('#waiting tbody'), o.waiting_on_gp.episodes.map((e) => el('tr', { dataset: { episode: e.id } },
      el('td', null, episodeLink(e.id)), el('td', null, e.patient), el('td', null, label(e.state)),
      el('td', null, e.since || ''), el('td', null, e.gp),
      el('td', null, e.tasks.map((t) => el('span', { class: 'gp-task' }, label(t.kind), ' #', t.id, ' ', doneButton(t)))))),
    'Nobody is waiting on the GP.', 6);

    total('#referred-total', o.referred_this_month);
    fill($('#referred tbody'), o.referred_this_month.episodes.map((e) => el('tr', { dataset: { episode: e.id } },
      el('td', null, episodeLink(e.id)), el('td', null, e.patient), el('td', null, e.referred),
      el('td', null, label(e.task.kind), ' #', e.task.id, ' (', e.task.status, ') ',
        e.task.kind === 'gp_referral' ? letterLink(letterHref(e.task.id, 'html'), 'html') : null),
      el('td', null, e.gp), el('td', null, e.therapist))),
    'No referrals this month.', 6);

    total('#inactive-total', o.inactive);
    fill($('#inactive tbody'), o.inactive.episodes.map((e) => el('tr', { dataset: { episode: e.id } },
      el('td', null, episodeLink(e.id)), el('td', null, e.patient), el('td', null, label(e.state)),
      el('td', null, e.last_event), el('td', { class: 'late' }, e.days_inactive), el('td', null, e.therapist),
      el('td', null, e.gp))),
    'No inactive episodes.', 7);
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
    fill($('#episodes tbody'), p.episodes.map((e) => el('tr', { dataset: { episode: e.id } },
      el('td', null, episodeLink(e.id)), el('td', null, e.patient), el('td', null, label(e.state)),
      el('td', null, e.phase), el('td', null, e.profile === null ? '–' : e.profile), el('td', null, e.therapist),
      el('td', null, e.gp), el('td', null, e.next_due || ''))),
    'No episodes match.', 8);
    const last = Math.min(p.offset + p.episodes.length, p.total);
    $('#page').textContent = p.total ? (p.offset + 1) + '–' + last + ' of ' + p.total : '';
    $('#prev').disabled = p.offset === 0;
    $('#next').disabled = last >= p.total;
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

  function drawTimeline(ep) {
    const today = dayOf(ep.today);
    const start = dayOf(ep.opened); // onset lies on or before it; the facts name it
    let end = today;
    for (const t of ep.tasks) end = Math.max(end, dayOf(t.due));
    for (const t of ep.transitions) end = Math.max(end, dayOf(t.at));
    end += 4;
    const W = 960, L = 104, R = 16, H = 214;
    const x = (day) => L + ((day - start) / Math.max(1, end - start)) * (W - L - R);
    const lanes = { phase: 28, state: 62, profile: 96, checkpoints: 132, tasks: 166 };
    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', class: 'timeline-svg',
      'aria-label': 'course of episode ' + ep.id });
    for (const [name, y] of Object.entries(lanes))
      root.appendChild(svg('text', { x: 8, y: y + 4, class: 'lane-label' }, name));

    const band = (lane, segs, cls, text) => {
      const g = svg('g', { class: 'lane lane-' + lane });
      for (const s of segs) {
        const x0 = x(s.from), x1 = x(s.to);
        g.appendChild(svg('rect', { x: x0, y: lanes[lane] - 11, width: Math.max(2, x1 - x0), height: 22, rx: 3,
          class: cls(s.value) }, svg('title', null, lane + ' ' + text(s.value) + ': ' + isoOf(s.from) + ' – ' + isoOf(Math.ceil(s.to)))));
        if (x1 - x0 > 8 * text(s.value).length)
          g.appendChild(svg('text', { x: x0 + 4, y: lanes[lane] + 4, class: 'seg-label' }, text(s.value)));
      }
      root.appendChild(g);
    };

    const phases = ep.transitions.filter((t) => t.event === 'phase');
    band('phase', segments([{ day: start, value: phases.length ? phases[0].from : ep.phase }]
      .concat(phases.map((t) => ({ day: dayOf(t.at), value: t.to }))), end), (v) => 'ph-' + v, label);

    const moves = ep.transitions.filter((t) => t.event !== 'phase');
    band('state', segments([{ day: dayOf(ep.opened), value: 'intake' }]
      .concat(moves.map((t) => ({ day: dayOf(t.at), value: t.to }))), end), (v) => 'st-' + v, label);

    band('profile', segments(ep.profile_history.map((p) => ({ day: dayOf(p.at), value: String(p.profile) })), end),
      (v) => 'pf-' + v, (v) => 'profile ' + v);

    // transitions as ticks over the state lane
    const ticks = svg('g', { class: 'ticks' });
    for (const t of moves) {
      const tx = x(dayOf(t.at));
      ticks.appendChild(svg('line', { x1: tx, x2: tx, y1: lanes.state - 15, y2: lanes.state + 15, class: 'tick' },
        svg('title', null, t.at + ' ' + label(t.event) + ': ' + label(t.from) + ' → ' + label(t.to))));
    }
    root.appendChild(ticks);

    // checkpoints (reevaluation tasks) and the other tasks at their due dates
    const marks = svg('g', { class: 'marks' });
    for (const t of ep.tasks) {
      const tx = x(dayOf(t.due));
      const overdue = t.overdue === true; // decided by the server (adapters/overview)
      const cls = 'mark ' + t.status + (overdue ? ' overdue' : '');
      const title = svg('title', null, label(t.kind) + (t.checkpoint ? ' ' + label(t.checkpoint) : '') + ', due ' + t.due +
        ', ' + t.status + (overdue ? ' (overdue)' : '') + (t.id ? ' — task #' + t.id : ''));
      if (t.kind === 'reevaluation') {
        marks.appendChild(svg('circle', { cx: tx, cy: lanes.checkpoints, r: 7, class: cls }, title));
        marks.appendChild(svg('text', { x: tx, y: lanes.checkpoints - 11, class: 'mark-label' }, t.checkpoint || ''));
      } else {
        marks.appendChild(svg('rect', { x: tx - 5, y: lanes.tasks - 5, width: 10, height: 10, class: cls + ' kind-' + t.kind,
          transform: 'rotate(45 ' + tx + ' ' + lanes.tasks + ')' }, title));
      }
    }
    root.appendChild(marks);

    // date axis and today
    const axisY = H - 22;
    const axis = svg('g', { class: 'axis' }, svg('line', { x1: L, x2: W - R, y1: axisY, y2: axisY }));
    const step = end - start > 150 ? 28 : 7;
    for (let d = start; d <= end; d += step) {
      axis.appendChild(svg('line', { x1: x(d), x2: x(d), y1: axisY, y2: axisY + 4 }));
      axis.appendChild(svg('text', { x: x(d), y: axisY + 16, class: 'axis-label' }, isoOf(d).slice(5)));
    }
    root.appendChild(axis);
    const tx = x(today);
    root.appendChild(svg('line', { x1: tx, x2: tx, y1: 8, y2: axisY, class: 'today' }, svg('title', null, 'today ' + ep.today)));
    return root;
  }

  function renderEpisode(ep) {
    $('#detail-id').textContent = ep.id;
    const s = ep.scores;
    const measure = (name) => {
      const b = s.baseline[name], l = s.latest[name];
      return b === null && l === null ? '–' : (b === null ? '–' : b) + ' → ' + (l === null ? '–' : l);
    };
    const facts = [
      ['patient', ep.patient], ['complaint', ep.complaint + (ep.recurrent ? ', recurrent' : '')],
      ['onset', ep.onset], ['opened', ep.opened],
      ['state', label(ep.state) + (ep.reason ? ' — ' + label(ep.reason) : '')], ['phase', ep.phase],
      ['profile', ep.profile === null ? '–' : ep.profile + (ep.suggested_profile !== null ? ' (suggested ' + ep.suggested_profile + ')' : '')],
      ['treatment start', ep.treatment_start || '–'], ['sessions', ep.sessions],
      ['therapist', ep.therapist || '–'], ['GP', ep.gp || '–'],
      ['STarT Back', s.sbst ? s.sbst.total + '/9, ' + s.sbst.risk + ' risk' : '–'],
      ['Örebro', s.orebro ? s.orebro.total + (s.orebro.raised ? ' (raised)' : '') : '–'],
      ['NPRS', measure('nprs')], ['QBPDS', measure('qbpds')],
    ];
    $('#detail-facts').replaceChildren(...facts.map(([k, v]) => el('div', { class: 'fact' }, el('dt', null, k), el('dd', null, v))));
    $('#timeline').replaceChildren(drawTimeline(ep));
    fill($('#detail-tasks tbody'), ep.tasks.map((t) => el('tr', { dataset: { task: t.id } },
      el('td', null, t.id ? '#' + t.id : ''), el('td', null, label(t.kind)), el('td', null, t.checkpoint ? label(t.checkpoint) : ''),
      el('td', null, t.due), el('td', { class: 'status-' + t.status }, t.status),
      el('td', null, t.status === 'open' && t.id ? doneButton(t) : null))), 'No tasks.', 6);
    const letters = $('#detail-letters');
    letters.replaceChildren(...ep.letters.map((l) => el('li', null, label(l.kind), ' (due ', l.due, ', ', l.status, ') ',
      letterLink(letterHref(l.task, 'html'), 'html'), ' · ', letterLink(letterHref(l.task, 'text'), 'text'))));
    if (!ep.letters.length) letters.appendChild(el('li', { class: 'empty' }, 'No letters yet.'));
    const course = [{ at: ep.opened, text: 'opened (onset ' + ep.onset + ')' }]
      .concat(ep.transitions.map((t) => ({ at: t.at, text: label(t.event) + ': ' + label(t.from) + ' → ' + label(t.to) })))
      .concat(ep.profile_history.map((p) => ({ at: p.at, text: 'profile ' + p.profile + ' (' + p.event + (p.suggested !== null ? ', suggested ' + p.suggested : '') + ')' })))
      .concat(ep.reevaluations.map((r) => ({ at: r.at, text: 'reevaluation: ' + r.judgement + (r.derived ? ' (derived)' : '') + (r.checkpoint ? ', ' + label(r.checkpoint) : '') })));
    course.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    $('#detail-history').replaceChildren(...course.map((h) => el('li', null, el('time', null, h.at), ' ', h.text)));
  }

  async function openEpisode(id) {
    ui.episode = id;
    try {
      renderEpisode(await api('/api/episodes/' + encodeURIComponent(id)));
      $('#detail').hidden = false;
      history.replaceState(null, '', location.pathname + location.search + '#episode=' + encodeURIComponent(id));
      $('#detail').scrollIntoView({ behavior: 'smooth', block: 'start' });
    } catch (e) {
      showMessage('Episode ' + id + ': ' + problem(e), 'error');
    }
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
    fill($('#letters tbody'), r.letters.map((l) => el('tr', { dataset: { task: l.id, episode: l.episode } },
      el('td', null, '#' + l.id), el('td', { class: 'mono' }, l.episode),
      el('td', null, label(l.kind), l.checkpoint ? ' (' + label(l.checkpoint) + ')' : ''), el('td', null, l.due),
      el('td', { class: 'status-' + l.status }, l.status),
      el('td', null, link(l, 'html'), ' · ', link(l, 'text')))),
    'No letters.', 6);
  }

  // ---- who is signed in, and what they may do -------------------------------------------------------
  function displayName(me) {
    const user = String(me.user || '');
    if (me.local) return 'local access (' + user.replace(/^local:/, '') + ')';
    return user.replace(/^user:/, '').replace(/#\d+$/, '');
  }

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
        showMessage('Practice ' + asked + ': you may not see practice \'' + asked + '\' (signed in as ' + displayName(me) +
          ', ' + me.role + '). Showing ' + (me.practice ? 'practice ' + me.practice : 'this server\'s practice') + ' instead.', 'error');
      }
      return me;
    } catch (e) {
      if (ui.practice && (e.status === 403 || e.status === 400)) {
        const asked = ui.practice;
        choosePractice('');
        const me = await api('/api/me');
        showMessage('Practice ' + asked + ': ' + problem(e).replace(/\.?$/, '.') + ' Showing ' +
          (me.practice ? 'practice ' + me.practice : 'this server\'s practice') + ' instead.', 'error');
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
    const parts = [el('strong', null, displayName(me)), ' · ', label(me.role)];
    if (me.gp) parts.push(' · GP code ', el('strong', null, me.gp));
    const practice = ui.practice || me.practice;
    if (!ui.choosing && practice) parts.push(' · practice ', el('strong', { id: 'who-practice' }, practice));
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
    $('#filters').hidden = !ui.can.episodes;
    $('.top .today').hidden = !ui.can.episodes;  // the overview tells the server's today
    for (const section of document.querySelectorAll('main > section')) {
      if (section.id === 'letters-panel') section.hidden = !ui.can.letters;
      else if (section.id === 'detail') section.hidden = section.hidden || !ui.can.episodes;
      else section.hidden = !ui.can.episodes;
    }
    if (ui.can.letters) {
      const practice = ui.practice || me.practice;
      $('#letters-hint').textContent = 'Letters to the GP of the episodes addressed to your GP code' +
        (me.gp ? ' (' + me.gp + ')' : '') + (practice ? ', in practice ' + practice : '') + '; each opens in a new tab.';
    }
    $('.top .sub').textContent = 'low back pain pathway — ' + (ui.can.letters ? 'GP letters' : 'coordinator');
    document.title = 'zorgpad — ' + (ui.can.letters ? 'GP letters' : 'coordinator');
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
    ui.episode = null;
    $('#detail').hidden = true;
    history.replaceState(null, '', location.pathname + location.search);
    showMessage('');
    applyRole(ui.me);
    return refresh();
  }

  // Who is signed in, then the page for their role.
  async function start() {
    try {
      ui.me = await loadMe();
      await loadPractices(ui.me);
    } catch (e) {
      ui.me = null;
      applyRole(null);
      showMessage(problem(e), 'error');
      document.body.dataset.loaded = 'true';
      return;
    }
    applyRole(ui.me);
    if (ui.can.episodes) api('/api/diagram').then((d) => { $('#diagram').textContent = d.source; }).catch(() => {});
    await refresh();
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

  async function refresh() {
    ui.busy++;
    document.body.classList.add('busy');
    try {
      const loads = [];
      if (ui.can.episodes) loads.push(loadOverview(), loadEpisodes());
      if (ui.can.letters) loads.push(loadLetters());
      await Promise.all(loads);
      if (ui.can.episodes && ui.episode && !$('#detail').hidden) {
        const ep = await current('/api/episodes/' + encodeURIComponent(ui.episode));
        if (ep) renderEpisode(ep);
      }
    } catch (e) {
      showMessage(problem(e), 'error');
    } finally {
      if (--ui.busy === 0) document.body.classList.remove('busy');
      document.body.dataset.loaded = 'true';
    }
  }

  function init() {
    const stateSel = $('#filters').elements.state, phaseSel = $('#filters').elements.phase;
    for (const s of STATES) stateSel.appendChild(el('option', { value: s }, label(s)));
    for (const p of PHASES) phaseSel.appendChild(el('option', { value: p }, p));
    $('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); readFilters(); refresh(); });
    $('#clear-filters').addEventListener('click', () => { $('#filters').reset(); readFilters(); refresh(); });
    $('#prev').addEventListener('click', () => { ui.offset = Math.max(0, ui.offset - PAGE); loadEpisodes().catch((e) => showMessage(problem(e), 'error')); });
    $('#next').addEventListener('click', () => { ui.offset += PAGE; loadEpisodes().catch((e) => showMessage(problem(e), 'error')); });
    $('#detail-close').addEventListener('click', () => {
      $('#detail').hidden = true;
      ui.episode = null;
      history.replaceState(null, '', location.pathname + location.search);
    });
    $('#token-form').hidden = !!token();
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#token').value.trim();
      if (t) { sessionStorage.setItem(TOKEN_KEY, t); $('#token').value = ''; $('#token-form').hidden = true; showMessage('Token set for this tab.', 'ok'); start(); }
    });
    $('#practice').addEventListener('change', () => switchPractice($('#practice').value));
    $('#letters-filter').addEventListener('change', () => refresh());
    $('#letters-filter').addEventListener('submit', (ev) => { ev.preventDefault(); refresh(); });
    start().then(() => {
      const m = /^#episode=(.+)$/.exec(location.hash);
      if (m && ui.can.episodes) openEpisode(decodeURIComponent(m[1]));
    });
  }

  document.addEventListener('DOMContentLoaded', init);
})();
