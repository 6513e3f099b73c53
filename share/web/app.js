// The coordinator's dashboard (zorgpad serve). Plain browser JavaScript, no
// build step, no dependencies: it reads the JSON API and builds the page with
// DOM calls. Every value goes in as a text node or an attribute value, never
// as markup, so a patient reference or a name cannot inject HTML or script.
'use strict';
(() => {
  const STATES = ['intake', 'screened', 'red_flag_review', 'treatment', 'reevaluation_due', 'gp_consultation', 'referred', 'closed', 'excluded'];
  const PHASES = ['acute', 'subacute', 'chronic'];
  const PROFILES = ['1', '2', '3', 'none'];
  const TOKEN_KEY = 'zorgpad_token';
  const PAGE = 25;

  const ui = { filters: {}, offset: 0, episode: null, busy: 0 };
  const $ = (sel) => document.querySelector(sel);

  // ---- the token: ?token=… on the first load, kept for this tab only ---------------
  (function captureToken() {
    const q = new URLSearchParams(location.search);
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
  async function api(path, options = {}) {
    const headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
    if (token()) headers['X-Zorgpad-Token'] = token();
    const r = await fetch(path, Object.assign({}, options, { headers, credentials: 'same-origin' }));
    let body = null;
    try { body = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) {
      const err = new Error((body && body.error) || r.status + ' ' + r.statusText);
      err.status = r.status;
      throw err;
    }
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

  // ---- small pieces ----------------------------------------------------------------------
  function episodeLink(id) {
    return el('a', { href: '#episode=' + encodeURIComponent(id), class: 'ep',
      on: { click: (ev) => { ev.preventDefault(); openEpisode(id); } } }, id);
  }
  function doneButton(task) {
    return el('button', { type: 'button', class: 'done', dataset: { task: task.id },
      title: 'mark task ' + task.id + ' done', on: { click: () => markDone(task.id) } }, 'done');
  }
  function letterLink(taskId, format) {
    const href = '/api/tasks/' + encodeURIComponent(taskId) + '/letter' + (format === 'text' ? '?format=text' : '');
    return el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, format === 'text' ? 'text' : 'letter');
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
      showMessage('Task ' + id + ': ' + e.message, 'error');
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
        e.task.kind === 'gp_referral' ? letterLink(e.task.id, 'html') : null),
      el('td', null, e.gp), el('td', null, e.therapist))),
    'No referrals this month.', 6);

    total('#inactive-total', o.inactive);
    fill($('#inactive tbody'), o.inactive.episodes.map((e) => el('tr', { dataset: { episode: e.id } },
      el('td', null, episodeLink(e.id)), el('td', null, e.patient), el('td', null, label(e.state)),
      el('td', null, e.last_event), el('td', { class: 'late' }, e.days_inactive), el('td', null, e.therapist),
      el('td', null, e.gp))),
    'No inactive episodes.', 7);
  }

  async function loadOverview() {
    renderOverview(await api('/api/overview' + query(Object.assign({ limit: 100 }, ui.filters))));
  }

  async function loadEpisodes() {
    const p = await api('/api/episodes' + query(Object.assign({ offset: ui.offset, limit: PAGE }, ui.filters)));
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
      letterLink(l.task, 'html'), ' · ', letterLink(l.task, 'text'))));
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
      showMessage('Episode ' + id + ': ' + e.message, 'error');
    }
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
      await Promise.all([loadOverview(), loadEpisodes()]);
      if (ui.episode && !$('#detail').hidden) renderEpisode(await api('/api/episodes/' + encodeURIComponent(ui.episode)));
    } catch (e) {
      if (e.status === 401) showTokenForm();
      showMessage(e.message, 'error');
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
    $('#prev').addEventListener('click', () => { ui.offset = Math.max(0, ui.offset - PAGE); loadEpisodes().catch((e) => showMessage(e.message, 'error')); });
    $('#next').addEventListener('click', () => { ui.offset += PAGE; loadEpisodes().catch((e) => showMessage(e.message, 'error')); });
    $('#detail-close').addEventListener('click', () => {
      $('#detail').hidden = true;
      ui.episode = null;
      history.replaceState(null, '', location.pathname + location.search);
    });
    $('#token-form').hidden = !!token();
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#token').value.trim();
      if (t) { sessionStorage.setItem(TOKEN_KEY, t); $('#token').value = ''; $('#token-form').hidden = true; showMessage('Token set for this tab.', 'ok'); refresh(); }
    });
    api('/api/diagram').then((d) => { $('#diagram').textContent = d.source; }).catch(() => {});
    refresh().then(() => {
      const m = /^#episode=(.+)$/.exec(location.hash);
      if (m) openEpisode(decodeURIComponent(m[1]));
    });
  }

  document.addEventListener('DOMContentLoaded', init);
})();
