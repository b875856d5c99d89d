// Overview: per listener throughput, runtime, wait and failures over the
// last hour or day, the figures now, webhooks per source and code, and
// the processes alive.
import { h, dl, table, badge, route, routeWith, fmtMs, fmtNum, fmtAge, fmtTime, fmtBytes } from './dom.js';
import { get } from './api.js';
import { lineChart } from './chart.js';
import { view } from './view.js';

const perMin = (v) => fmtNum(v, v < 10 ? 1 : 0);

export function overview(rt) {
  const range = rt.params.get('range') === '24h' ? '24h' : '1h';
  const body = h('div', { class: 'overview' });
  const el = h('section', null,
    h('div', { class: 'toolbar' },
      h('h1', null, 'Overview'),
      h('span', { class: 'grow' }),
      h('span', { class: 'muted' }, 'range '),
      ['1h', '24h'].map((r) => h('a', { href: routeWith('', { range: r }), class: ['pill', r === range && 'active'] }, r))),
    body);
  let history = null, fetchedAt = 0;
  return view(el, async () => {
    const longRange = range === '24h';
    const stale = !history || !longRange || Date.now() - fetchedAt > 60000;
    const [stats, procs, hist] = await Promise.all([
      get('/api/stats'), get('/api/processes'), stale ? get('/api/history', { range }) : Promise.resolve(history),
    ]);
    if (stale) { history = hist; fetchedAt = Date.now(); }
    body.replaceChildren(...render(stats, procs, hist));
  });
}

function render(rep, procs, hist) {
  const st = rep.stats;
  const states = st.states || {};
  const now = Date.now();
  const summary = h('div', { class: 'cards' },
    card('Queue', dl([
      ['pending', fmtNum(states.pending || 0)], ['running', fmtNum(states.running || 0)],
      ['failed', h('a', { href: '#/failed' }, fmtNum(states.failed || 0))], ['done', fmtNum(states.done || 0)],
      ['events', fmtNum(st.events)], ['oldest due', st.oldestDue ? fmtAge(st.oldestDue, now) + ' ago' : '—'],
      ['storage', st.fileBytes ? fmtBytes(st.fileBytes) : '—'],
    ])),
    card('Config', reload(rep.reload)),
    card(`Processes alive (${procs.length})`, table(['host', 'pid', 'started', 'seen'],
      procs.map((p) => h('tr', null, h('td', null, p.host), h('td', null, String(p.pid)),
        h('td', null, fmtTime(p.started)), h('td', null, fmtAge(p.seen, now) + ' ago'))), 'none')));
  const times = (hist.times || []).map((t) => new Date(t));
  const byName = new Map((hist.jobs || []).map((j) => [j.listener, j]));
  const names = [...new Set([...rep.listeners.map((l) => l.name), ...byName.keys()])];
  const infos = new Map(rep.listeners.map((l) => [l.name, l]));
  const listeners = names.map((n) => listenerCard(n, infos.get(n), byName.get(n), st, times, hist.step, now));
  return [summary,
    h('h2', null, `Listeners · last ${hist.range}`),
    h('div', { class: 'listeners' }, listeners.length ? listeners : h('p', { class: 'muted' }, 'No listeners configured.')),
    h('h2', null, `Webhooks · last ${hist.range}`),
    webhooks(hist, times)];
}

function card(title, ...content) {
  return h('article', { class: 'card' }, h('h3', null, title), content);
}

function reload(r) {
  if (!r || !r.at) return h('p', { class: 'muted' }, 'not loaded yet');
  return h('div', null,
    h('p', null, r.ok ? badge('applied', 'ok') : badge('refused', 'failed'), ' ', fmtTime(r.at)),
    r.error ? h('pre', { class: 'error' }, r.error) : null,
    r.needsRestart && r.needsRestart.length ? h('p', { class: 'muted' }, 'needs restart: ', r.needsRestart.join(', ')) : null);
}

function listenerCard(name, info, jh, st, times, step, now) {
  const jobs = (info && info.jobs) || {};
  const rec = (jh && jh.recent) || {};
  const zero = times.map(() => 0);
  const series = (k) => (jh ? jh[k] : zero);
  const rate = (k) => perMinute(series(k), times, step, now);
  const oldest = st.oldestDueBy && st.oldestDueBy[name];
  return h('article', { class: 'card listener', 'data-listener': name },
    h('h3', null, h('a', { href: route('listeners', name) }, name), ' ',
      info && info.paused ? badge('paused', 'paused') : null,
      info && !info.configured ? badge('not configured', 'muted') : null),
    h('div', { class: 'figures' },
      fig('pending', fmtNum(jobs.pending || 0), routeWith('jobs', { state: 'pending', listener: name })),
      fig('running', fmtNum(jobs.running || 0), routeWith('jobs', { state: 'running', listener: name })),
      fig('failed', fmtNum(jobs.failed || 0), routeWith('failed', { listener: name })),
      fig('oldest pending', oldest ? fmtAge(oldest, now) : '—'),
      fig('finished/min', perMin(rec.perMinute || 0)),
      fig('failures/min', perMin(rec.failedPerMinute || 0)),
      fig('runtime p50/p95', `${fmtMs(rec.runtimeP50 || 0)} / ${fmtMs(rec.runtimeP95 || 0)}`),
      fig('wait p50/p95', `${fmtMs(rec.waitP50 || 0)} / ${fmtMs(rec.waitP95 || 0)}`)),
    h('p', { class: 'muted small' }, `figures: now, and the last ${rec.minutes || 5} minutes`),
    h('div', { class: 'charts' },
      lineChart({ title: 'jobs per minute', times, step, fmt: perMin,
        series: [{ label: 'finished', values: rate('count'), cls: 'c0' }, { label: 'failed', values: rate('failed'), cls: 'bad' }] }),
      lineChart({ title: 'runtime', times, step, fmt: fmtMs,
        series: [{ label: 'p50', values: series('runtimeP50'), cls: 'c0' }, { label: 'p95', values: series('runtimeP95'), cls: 'c1' }] }),
      lineChart({ title: 'wait from due to start', times, step, fmt: fmtMs,
        series: [{ label: 'p50', values: series('waitP50'), cls: 'c0' }, { label: 'p95', values: series('waitP95'), cls: 'c1' }] })));
}

// perMinute turns counts per bucket into counts per minute; the current
// bucket is only partly over, so it is divided by the part that is (at
// least a quarter of it, so its first seconds do not spike).
function perMinute(counts, times, step, now) {
  const minutes = step / 60;
  return counts.map((v, i) => {
    if (i !== counts.length - 1 || !times[i]) return v / minutes;
    const elapsed = Math.min(Math.max((now - times[i].getTime()) / 60000, minutes / 4), minutes);
    return v / elapsed;
  });
}

function fig(label, value, href) {
  return h('div', { class: 'fig' }, h('span', { class: 'label' }, label),
    href ? h('a', { class: 'value', href }, value) : h('span', { class: 'value' }, value));
}

function webhooks(hist, times) {
  const list = hist.webhooks || [];
  if (!list.length) return h('p', { class: 'muted' }, 'No webhooks received in this range.');
  const now = Date.now();
  const sources = [...new Set(list.map((w) => w.source))];
  const rows = list.map((w) => h('tr', null, h('td', null, w.source),
    h('td', null, badge(String(w.code), w.code < 300 ? 'ok' : w.code < 500 ? 'warn' : 'failed')),
    h('td', { class: 'num' }, fmtNum(w.total))));
  const charts = sources.map((src) => lineChart({
    title: `${src}: requests per minute`, times, step: hist.step, fmt: perMin,
    series: list.filter((w) => w.source === src).map((w, i) => ({
      label: String(w.code), values: perMinute(w.count, times, hist.step, now), cls: w.code >= 400 ? 'bad' : `c${i}` })),
  }));
  return h('div', { class: 'webhooks' }, table(['source', 'answer', 'requests'], rows), h('div', { class: 'charts' }, charts));
}
