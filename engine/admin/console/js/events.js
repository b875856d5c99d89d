// Events: newest first, paged, searchable; an event with its headers,
// payload, jobs and a Replay button.
import { h, dl, table, badge, route, routeWith, fmtTime, fmtBytes, pretty } from './dom.js';
import { get, post, enc } from './api.js';
import { view, wire } from './view.js';

const PAGE = 50;

export function eventsView(rt, ctx) {
  const q = rt.params.get('q') || '';
  const after = rt.params.get('after') || '';
  const input = h('input', { type: 'search', name: 'q', value: q, placeholder: 'evt_… · delivery = … · source = … · data.id = task_01…', size: 48 });
  const form = h('form', { class: 'search', role: 'search' }, input, h('button', { type: 'submit' }, 'Search'),
    q || after ? h('a', { href: '#/events', class: 'pill' }, 'Newest') : null);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.go(routeWith('events', { q: input.value.trim() }));
  });
  const body = h('div');
  const el = h('section', null, h('div', { class: 'toolbar' }, h('h1', null, 'Events'), h('span', { class: 'grow' }), form),
    h('p', { class: 'muted small' }, 'Search: an event id (else a delivery id), ', h('code', null, 'delivery = ID'), ', ',
      h('code', null, 'source = NAME'), ', or a payload field such as ', h('code', null, 'data.id = task_01…'), '.'),
    body);
  const v = view(el, async () => {
    const page = await search(q, after);
    const rows = page.summaries.map((e) => h('tr', { 'data-event': e.id },
      h('td', null, h('a', { href: route('events', e.id) }, e.id)),
      h('td', null, e.name), h('td', null, e.source),
      h('td', null, e.deliveryId ? h('code', { class: 'clip', title: e.deliveryId }, e.deliveryId) : '—'),
      h('td', { class: 'nowrap' }, fmtTime(e.receivedAt)),
      h('td', null, h('code', { class: 'preview' }, e.preview), h('span', { class: 'muted small' }, ` ${fmtBytes(e.bytes)}`))));
    body.replaceChildren(table(['event', 'name', 'source', 'delivery', 'received', 'payload'], rows,
      q ? 'No event matches (a search looks at a bounded number of events per page: use Older to go on).' : 'No events yet.'),
    pager(page.next, q));
  });
  v.paused = !!after; // a later page holds still; the first follows new events
  return v;
}

// A search examines a bounded stretch of events per call; go on to older
// stretches (each call stays fast) until a page is full or enough was
// examined for one look, then offer to go on.
const ROUNDS = 10;

async function search(q, after) {
  const out = { summaries: [], next: '' };
  let cursor = after;
  for (let round = 0; round < (q ? ROUNDS : 1); round++) {
    const page = await get('/api/events', { order: 'newest', view: 'summary', limit: PAGE - out.summaries.length, q, after: cursor });
    out.summaries.push(...page.summaries);
    out.next = page.next || '';
    if (!out.next || out.summaries.length >= PAGE) break;
    cursor = out.next;
  }
  return out;
}

function pager(next, q) {
  return h('nav', { class: 'pager' }, next ? h('a', { href: routeWith('events', { q, after: next }), class: 'pill' },
    q ? 'Search older events →' : 'Older →') : null);
}

const hidden = /signature|secret|token|authorization|cookie|api-?key|password/i;

export function eventView(rt, ctx) {
  const id = rt.id;
  const body = h('div');
  const replay = h('button', { type: 'button', disabled: !ctx.canAct() }, 'Replay');
  const el = h('section', null,
    h('div', { class: 'toolbar' }, h('h1', null, 'Event ', h('code', null, id)), h('span', { class: 'grow' }), replay), body);
  wire(replay, ctx, async () => {
    const res = await post(`/api/events/${enc(id)}/replay`);
    ctx.flash(`Replayed: ${res.jobs.length} new job(s).`);
    await v.refresh();
  });
  const v = view(el, async () => {
    const d = await get(`/api/events/${enc(id)}`);
    const ev = d.event;
    const headers = Object.entries(ev.headers || {}).filter(([k]) => !hidden.test(k)).sort();
    body.replaceChildren(
      dl([['id', ev.id], ['name', ev.name], ['source', ev.source], ['delivery', ev.deliveryId || '—'],
        ['received', fmtTime(ev.receivedAt)],
        ev.parent ? ['emitted by', h('a', { href: route('events', ev.parent) }, ev.parent)] : null]),
      h('h2', null, 'Headers'),
      table(['header', 'value'], headers.map(([k, val]) => h('tr', null, h('td', null, h('code', null, k)), h('td', null, val))),
        'No headers kept (signatures and credentials never are).'),
      h('h2', null, 'Payload'),
      h('pre', { class: 'payload' }, pretty(ev.payload)),
      h('h2', null, 'Jobs'),
      jobsTable(d.jobs));
  });
  return v;
}

export function jobsTable(jobs) {
  return table(['job', 'listener', 'state', 'tries', 'updated', 'last error'], jobs.map((j) => h('tr', { 'data-job': j.id },
    h('td', null, h('a', { href: route('jobs', j.id) }, j.id)),
    h('td', null, j.listener), h('td', null, badge(j.state)),
    h('td', { class: 'num' }, `${j.attempt}/${j.maxTries}`),
    h('td', { class: 'nowrap' }, fmtTime(j.updatedAt)),
    h('td', { class: 'error' }, j.lastError ? `${j.lastError.kind}: ${j.lastError.message.split('\n')[0]}` : ''))), 'No jobs.');
}
