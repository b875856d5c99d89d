// Listeners: settings, state, the last reload, Pause / Resume; one
// listener with its script; the audit list of operator actions.
import { h, dl, table, badge, route, routeWith, fmtTime, fmtAge, fmtNum } from './dom.js';
import { get, getText, post, enc } from './api.js';
import { view, wire } from './view.js';

function pauseButton(ctx, l, after) {
  const b = h('button', { type: 'button', 'data-action': l.paused ? 'resume' : 'pause', 'data-listener': l.name,
    class: l.paused ? '' : 'danger', disabled: !ctx.canAct() }, l.paused ? 'Resume' : 'Pause');
  return wire(b, ctx, async () => {
    const res = await post(`/api/listeners/${enc(l.name)}/${l.paused ? 'resume' : 'pause'}`);
    ctx.flash(res.paused ? `${l.name} is paused: its jobs wait until you resume it.` : `${l.name} runs again.`);
    await after();
  });
}

function stateCell(l) {
  return l.paused ? [badge('paused'), ' since ', fmtTime(l.pausedAt)] : badge('running', 'ok');
}

function reloadPanel(r) {
  if (!r || !r.at) return h('p', { class: 'muted' }, 'Config not loaded yet.');
  return h('div', { class: ['panel', !r.ok && 'error-panel'] },
    h('p', null, 'Last reload ', fmtTime(r.at), ': ', r.ok ? badge('applied', 'ok') : badge('refused', 'failed'),
      r.ok ? '' : ' — the last good version keeps serving.'),
    r.error ? h('pre', { class: 'error' }, r.error) : null,
    r.needsRestart && r.needsRestart.length ? h('p', null, 'Changed settings that need a restart: ', r.needsRestart.join(', ')) : null);
}

export function listenersView(rt, ctx) {
  const body = h('div');
  const el = h('section', null, h('div', { class: 'toolbar' }, h('h1', null, 'Listeners')), body);
  const v = view(el, async () => {
    const rep = await get('/api/listeners');
    const now = Date.now();
    const rows = rep.listeners.map((l) => {
      const j = l.jobs || {};
      return h('tr', { 'data-listener': l.name },
        h('td', null, h('a', { href: route('listeners', l.name) }, l.name)), h('td', null, stateCell(l)),
        h('td', null, l.configured ? (l.on || []).join(', ') : h('span', { class: 'muted' }, 'not configured')),
        h('td', { class: 'num' }, l.tries ? String(l.tries) : ''), h('td', null, l.timeout || ''),
        h('td', null, l.concurrency ? String(l.concurrency) : ''), h('td', null, l.rate || ''),
        h('td', { class: 'num' }, h('a', { href: routeWith('jobs', { state: 'pending', listener: l.name }) }, fmtNum(j.pending || 0))),
        h('td', { class: 'num' }, fmtNum(j.running || 0)),
        h('td', { class: 'num' }, h('a', { href: routeWith('failed', { listener: l.name }) }, fmtNum(j.failed || 0))),
        h('td', null, l.oldestDue ? fmtAge(l.oldestDue, now) : '—'),
        h('td', null, pauseButton(ctx, l, () => v.refresh())));
    });
    body.replaceChildren(reloadPanel(rep.reload),
      table(['listener', 'state', 'on', 'tries', 'timeout', 'concurrency', 'rate', 'pending', 'running', 'failed', 'oldest due', ''], rows,
        'No listeners.'));
  });
  return v;
}

export function listenerView(rt, ctx) {
  const name = rt.id;
  const body = h('div');
  const script = h('pre', { class: 'script' }, '…');
  const el = h('section', null, h('div', { class: 'toolbar' }, h('h1', null, 'Listener ', h('code', null, name))), body,
    h('h2', null, 'Script'), script);
  let loaded = false;
  const v = view(el, async () => {
    const [l, rep] = await Promise.all([get(`/api/listeners/${enc(name)}`), get('/api/config/status')]);
    const j = l.jobs || {};
    body.replaceChildren(
      h('div', { class: 'toolbar' }, stateCell(l), h('span', { class: 'grow' }), pauseButton(ctx, l, () => v.refresh())),
      dl([['script', l.script || '—'], ['on', (l.on || []).join(', ') || '—'],
        l.when ? ['when', JSON.stringify(l.when)] : null, ['tries', String(l.tries || '—')],
        ['backoff', (l.backoff || []).join(', ') || '—'], ['timeout', l.timeout || '—'], l.delay ? ['delay', l.delay] : null,
        ['concurrency', l.concurrency ? String(l.concurrency) : 'workers'], ['rate', l.rate || 'none'],
        l.orderBy ? ['order by', l.orderBy] : null,
        ['jobs', `${fmtNum(j.pending || 0)} pending · ${fmtNum(j.running || 0)} running · ${fmtNum(j.failed || 0)} failed · ${fmtNum(j.done || 0)} done`]]),
      reloadPanel(rep));
    if (!loaded && l.configured) {
      loaded = true;
      script.textContent = await getText(`/api/listeners/${enc(name)}/script`);
    } else if (!l.configured) {
      script.textContent = 'This listener is no longer configured; its jobs are still in the queue.';
    }
  });
  return v;
}

export function auditView(rt) {
  const before = rt.params.get('before') || '';
  const body = h('div');
  const el = h('section', null, h('div', { class: 'toolbar' }, h('h1', null, 'Audit'),
    h('span', { class: 'muted' }, 'every operator action: when, what, from where')), body);
  const v = view(el, async () => {
    const page = await get('/api/audit', { limit: 100, before });
    body.replaceChildren(table(['at', 'action', 'target', 'count', 'from'], page.entries.map((e) => h('tr', null,
      h('td', null, fmtTime(e.at)), h('td', null, badge(e.action, 'muted')), h('td', null, e.target),
      h('td', { class: 'num' }, String(e.count)), h('td', { class: 'small' }, e.actor))), 'No operator actions yet.'),
    h('nav', { class: 'pager' }, page.next ? h('a', { class: 'pill', href: routeWith('audit', { before: page.next }) }, 'Older →') : null));
  });
  v.paused = !!before;
  return v;
}
