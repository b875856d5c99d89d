// The console's only way to the server: same-origin fetch with the
// session cookie, and the session's CSRF token on every state change.

let csrf = '';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function loadSession() {
  const r = await fetch('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const s = await r.json();
  csrf = s.csrf || '';
  return s;
}

function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  }
  const s = q.toString();
  return path + (s ? '?' + s : '');
}

async function send(method, path, params, accept) {
  const headers = { Accept: accept };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const r = await fetch(url(path, params), { method, headers, credentials: 'same-origin' });
  const text = await r.text();
  if (!r.ok) {
    let msg = text;
    try { msg = JSON.parse(text).error || text; } catch { /* not JSON */ }
    throw new ApiError(r.status, msg);
  }
  return text;
}

export async function get(path, params) {
  return JSON.parse(await send('GET', path, params, 'application/json'));
}

export async function getText(path) {
  return send('GET', path, null, 'text/plain');
}

export async function post(path, params) {
  const t = await send('POST', path, params, 'application/json');
  return t ? JSON.parse(t) : null;
}

export async function del(path, params) {
  const t = await send('DELETE', path, params, 'application/json');
  return t ? JSON.parse(t) : null;
}

export const enc = encodeURIComponent;
