// The console: a hash router over the views, a login form when there is
// no session, and a refresh every few seconds without reloading the page.
import { h, clear } from './dom.js';
import { loadSession, post } from './api.js';
import { overview } from './overview.js';
import { eventsView, eventView } from './events.js';
import { jobsView, jobView, failedView } from './jobs.js';
import { listenersView, listenerView, auditView } from './listeners.js';

const REFRESH_MS = 3000;

const views = {
  overview, events: eventsView, event: eventView, jobs: jobsView, job: jobView,
  failed: failedView, listeners: listenersView, listener: listenerView, audit: auditView,
};
const detail = { events: 'event', jobs: 'job', listeners: 'listener' };

let current = null;
let session = null;
let generation = 0;

// parseHash reads "#/events/ID?x=y" into {name, id, params}.
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let name = parts[0] || 'overview';
  const id = parts.length > 1 ? parts.slice(1).join('/') : null;
  if (id && detail[name]) name = detail[name];
  return { name, id, params: new URLSearchParams(query || '') };
}

export function flash(text, kind = 'ok') {
  const el = document.getElementById('flash');
  el.className = `flash ${kind}`;
  el.textContent = text;
  el.hidden = !text;
}

// carried is the message go() hands to the page it opens (show clears
// the flash of the page before).
let carried = '';

// ctx is what every view gets: the session and helpers.
const ctx = {
  flash,
  canAct: () => !!(session && session.canAct),
  // go opens hash, showing message there once it is open.
  go: (hash, message = '') => {
    carried = message;
    if (location.hash === hash) show(); else location.hash = hash;
  },
  refresh: () => current && current.refresh && current.refresh(),
};

async function show() {
  const gen = ++generation;
  const rt = parseHash();
  const make = views[rt.name];
  const main = document.getElementById('view');
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.view === rt.name || detail[a.dataset.view] === rt.name);
  }
  if (!make) {
    clear(main).append(h('p', { class: 'panel error' }, `No such page: ${rt.name}`));
    return;
  }
  flash(carried);
  carried = '';
  const view = make(rt, ctx);
  current = view;
  clear(main).append(view.el);
  try {
    await view.refresh();
  } catch (err) {
    if (gen === generation) flash(String(err.message || err), 'error');
  }
}

function showLogin(message) {
  const tpl = document.getElementById('login-template');
  const node = tpl.content.cloneNode(true);
  const msg = node.querySelector('[data-role=message]');
  if (message) { msg.textContent = message; msg.hidden = false; }
  clear(document.getElementById('view')).append(node);
}

async function tick() {
  if (document.hidden || !current || !current.refresh || current.paused) return;
  try {
    await current.refresh();
  } catch (err) {
    if (err.status === 401) { location.reload(); return; }
    flash(String(err.message || err), 'error');
  }
}

async function start() {
  session = await loadSession();
  const q = new URLSearchParams(location.search);
  const failed = { failed: 'Wrong token.', throttled: 'Too many failed logins: wait a minute.' }[q.get('login')];
  if (failed || q.has('login')) history.replaceState(null, '', '/' + location.hash);
  if (!session.authenticated) {
    showLogin(failed);
    return;
  }
  document.getElementById('nav').hidden = false;
  const who = document.getElementById('who');
  who.textContent = session.via === 'basic' ? 'read-only (Basic login)' : '';
  const out = document.getElementById('logout');
  if (session.via === 'session') {
    out.hidden = false;
    out.addEventListener('click', async () => {
      await post('/logout');
      location.replace('/');
    });
  }
  window.addEventListener('hashchange', show);
  setInterval(tick, REFRESH_MS);
  await show();
}

start().catch((err) => flash(String(err.message || err), 'error'));
