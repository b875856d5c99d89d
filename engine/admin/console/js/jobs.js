// Jobs: filter by state and listener, newest first; a job with every
// attempt and Retry / Forget; failed jobs with Retry all / Flush.
import { h, dl, table, badge, route, routeWith, fmtTime, fmtNs } from './dom.js';
import { get, post, del, enc } from './api.js';
import { view, wire } from './view.js';
import { jobsTable } from './events.js';

const PAGE = 50;
const STATES = ['', 'pending', 'running', 'done', 'failed'];

let listenerNames = null;
async function listeners() {
  if (!listenerNames) listenerNames = (await get('/api/listeners')).listeners.map((l) => l.name);
  return listenerNames;
}

function select(name, value, options, label) {
  return h('label', null, label, ' ', h('select', { name },
    options.map((o) => h('option', { value: o, selected: o === value }, o || 'all'))));
}

// filterForm builds a toolbar form whose submit goes to path with its fields.
function filterForm(ctx, path, fields, extra) {
  const form = h('form', { class: 'search' }, fields, h('button', { type: 'submit' }, 'Apply'), extra);
  const submit = (e) => {
    if (e) e.preventDefault();
    ctx.go(routeWith(path, Object.fromEntries(new FormData(form))));
  };
  form.addEventListener('submit', submit);
  form.addEventListener('change', (e) => { if (e.target.tagName === 'SELECT') submit(); });
  return form;
}

export function jobsView(rt, ctx) {
  const state = rt.params.get('state') || '', listener = rt.params.get('listener') || '', after = rt.params.get('after') || '';
  const listenerSel = select('listener', listener, ['', listener].filter((x, i, a) => a.indexOf(x) === i), 'listener');
  const form = filterForm(ctx, 'jobs', [select('state', state, STATES, 'state'), listenerSel]);
  const body = h('div');
  const el = h('section', null, h('div', { class: 'toolbar' }, h('h1', null, 'Jobs'), h('span', { class: 'grow' }), form), body);
  listeners().then((names) => {
    const sel = listenerSel.querySelector('select');
    sel.replaceChildren(...['', ...names].map((o) => h('option', { value: o, selected: o === listener }, o || 'all')));
  }).catch((err) => ctx.flash(String(err.message || err), 'error'));
  const v = view(el, async () => {
    const page = await get('/api/jobs', { order: 'newest', view: 'summary', limit: PAGE, state, listener, after });
    body.replaceChildren(jobsTable(page.jobs),
      h('nav', { class: 'pager' }, page.next ? h('a', { class: 'pill', href: routeWith('jobs', { state, listener, after: page.next }) }, 'Older →') : null));
  });
  v.paused = !!after;
  return v;
}

export function jobView(rt, ctx) {
  const id = rt.id;
  const retry = h('button', { type: 'button', 'data-action': 'retry' }, 'Retry');
  const forget = h('button', { type: 'button', class: 'danger', 'data-action': 'forget' }, 'Forget');
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  const body = h('div');
  const el = h('section', null,
    h('div', { class: 'toolbar' }, h('h1', null, 'Job ', h('code', null, id)), h('span', { class: 'grow' }), retry, forget),
    confirmBox, body);
  wire(retry, ctx, async () => {
    await post(`/api/jobs/${enc(id)}/retry`);
    ctx.flash('Retrying: the job is pending again and runs as soon as a worker is free.');
    await v.refresh();
  });
  forget.addEventListener('click', () => confirm(ctx, v, confirmBox, 'Forget this failed job? Its record is deleted.', 'Forget', async () => {
    await del(`/api/jobs/${enc(id)}`);
    ctx.go('#/failed', `Forgotten job ${id}.`);
  }));
  const v = view(el, async () => {
    const j = await get(`/api/jobs/${enc(id)}`);
    el.dataset.state = j.state;
    const can = ctx.canAct() && j.state === 'failed';
    retry.disabled = !can;
    forget.disabled = !can;
    const e = j.lastError;
    body.replaceChildren(
      dl([['state', badge(j.state)], ['listener', h('a', { href: route('listeners', j.listener) }, j.listener)],
        ['event', h('a', { href: route('events', j.eventId) }, j.eventId)], ['tries', `${j.attempt} of ${j.maxTries}`],
        j.crashes ? ['crashes', String(j.crashes)] : null, j.orderKey ? ['order key', j.orderKey] : null,
        ['run at', fmtTime(j.runAt)], ['created', fmtTime(j.createdAt)], ['updated', fmtTime(j.updatedAt)]]),
      e ? h('div', { class: 'panel error-panel' }, h('h2', null, `Last error (attempt ${e.attempt}, ${e.kind})`),
        h('pre', { class: 'error' }, e.message), e.stack ? h('pre', { class: 'stack' }, e.stack) : null) : null,
      h('h2', null, `Attempts (${(j.attempts || []).length})`),
      attempts(j.attempts || []));
  });
  return v;
}

function attempts(list) {
  return table(['#', 'started', 'duration', 'outcome', 'error'], list.slice().reverse().map((a) => h('tr', { 'data-attempt': a.n },
    h('td', { class: 'num' }, String(a.n)), h('td', null, fmtTime(a.startedAt)), h('td', { class: 'num' }, fmtNs(a.duration)),
    h('td', null, badge(a.outcome)),
    h('td', null, a.error ? [h('pre', { class: 'error' }, `${a.error.kind}: ${a.error.message}`),
      a.error.stack ? h('pre', { class: 'stack' }, a.error.stack) : null] : ''))), 'No attempt has run yet.');
}

// confirm shows a question with a button that runs fn; the page holds
// still meanwhile.
function confirm(ctx, v, box, question, label, fn) {
  const was = v.paused;
  v.paused = true;
  const yes = h('button', { type: 'button', class: 'danger', 'data-action': 'confirm' }, label);
  const no = h('button', { type: 'button', class: 'link' }, 'Cancel');
  const close = () => { box.hidden = true; box.replaceChildren(); v.paused = was; };
  wire(yes, ctx, async () => { try { await fn(); } finally { close(); } });
  no.addEventListener('click', close);
  box.replaceChildren(h('p', null, question), yes, ' ', no);
  box.hidden = false;
}

export function failedView(rt, ctx) {
  const listener = rt.params.get('listener') || '', error = rt.params.get('error') || '', after = rt.params.get('after') || '';
  const listenerSel = select('listener', listener, ['', listener].filter((x, i, a) => a.indexOf(x) === i), 'listener');
  const errInput = h('label', null, 'error contains ', h('input', { type: 'search', name: 'error', value: error, size: 24 }));
  const form = filterForm(ctx, 'failed', [listenerSel, errInput]);
  const retryAll = h('button', { type: 'button', 'data-action': 'retry-all', disabled: !ctx.canAct() }, 'Retry all');
  const flush = h('button', { type: 'button', class: 'danger', 'data-action': 'flush', disabled: !ctx.canAct() }, 'Flush');
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  const body = h('div');
  const el = h('section', null, h('div', { class: 'toolbar' }, h('h1', null, 'Failed jobs'), h('span', { class: 'grow' }), form),
    h('div', { class: 'toolbar' }, retryAll, flush), confirmBox, body);
  listeners().then((names) => {
    listenerSel.querySelector('select').replaceChildren(...['', ...names].map((o) => h('option', { value: o, selected: o === listener }, o || 'all')));
  }).catch((err) => ctx.flash(String(err.message || err), 'error'));
  const which = [listener && `of listener ${listener}`, error && `whose error contains "${error}"`].filter(Boolean).join(' ');
  const params = { listener, error };
  retryAll.addEventListener('click', () => confirm(ctx, v, confirmBox, `Retry every failed job ${which || '(all of them)'}?`, 'Yes, retry them', async () => {
    const r = await post('/api/failed/retry', params);
    ctx.flash(`Retrying ${r.count} job(s).`);
    await v.refresh();
  }));
  flush.addEventListener('click', () => confirm(ctx, v, confirmBox, `Delete every failed job ${which || '(all of them)'}? This cannot be undone.`, 'Yes, flush them', async () => {
    const r = await del('/api/failed', params);
    ctx.flash(`Flushed ${r.count} job(s).`);
    await v.refresh();
  }));
  const v = view(el, async () => {
    const page = await get('/api/jobs', { state: 'failed', order: 'newest', view: 'summary', limit: PAGE, listener, error, after });
    body.replaceChildren(jobsTable(page.jobs),
      h('nav', { class: 'pager' }, page.next ? h('a', { class: 'pill', href: routeWith('failed', { listener, error, after: page.next }) }, 'Older →') : null));
  });
  v.paused = !!after;
  return v;
}
